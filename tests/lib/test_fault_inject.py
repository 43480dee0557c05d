"""should_fail (lib/fault-inject.c), driven through fail_make_request on swap writes."""

from __future__ import annotations

import pytest

from kmodel import DeterministicExecutor, FaultAttr, KmodelError, Machine
from tests.helpers import PAGE, Recorder, pattern

branch = pytest.mark.branch


def failures(attr: FaultAttr, nr: int = 8, *, fail_nth: int = 0, filt: bool = False) -> list[int]:
    """Which of ``nr`` swap writes (by slot) fail_make_request fails."""
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, nr)
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    m.bdev.make_it_fail = True
    m.k.fail_make_request = attr
    rec = Recorder()
    m.k.tracer = rec
    kswapd = m.spawn("kswapd0")
    kswapd.fail_nth = fail_nth
    kswapd.make_it_fail = filt
    m.reclaim(direct=kswapd)
    return [int(e.arg("sector")) // 8 for e in rec.of("end_swap_bio_write")
            if e.arg("bi_status")]


@branch("FI-2")
def test_fail_nth_fails_exactly_the_nth_call_FI_2() -> None:
    # fail_nth skips every other check: probability 0 does not matter.
    assert failures(FaultAttr(probability=0), fail_nth=3) == [3]


@branch("FI-2")
def test_probability_zero_never_fails_FI_2() -> None:
    assert failures(FaultAttr(probability=0, times=-1)) == []


@branch("FI-2")
def test_task_filter_needs_make_it_fail_FI_2() -> None:
    attr = FaultAttr(probability=100, times=-1, task_filter=True)
    assert failures(attr) == []
    assert failures(FaultAttr(probability=100, times=-1, task_filter=True), filt=True) == list(
        range(1, 9))


@branch("FI-2")
def test_times_limits_failures_and_minus_one_is_unlimited_FI_2() -> None:
    attr = FaultAttr(probability=100, times=2)
    assert failures(attr) == [1, 2]
    assert attr.times == 0
    assert failures(FaultAttr(probability=100, times=-1)) == list(range(1, 9))


@branch("FI-2")
def test_space_lets_bytes_through_first_FI_2() -> None:
    attr = FaultAttr(probability=100, times=-1, space=3 * 4096 + 1)
    assert failures(attr) == [4, 5, 6, 7, 8]
    assert attr.space == 1


@branch("FI-2")
def test_interval_fails_every_nth_FI_2() -> None:
    assert failures(FaultAttr(probability=100, times=-1, interval=3)) == [3, 6]


@branch("FI-2")
def test_probability_draws_from_0_to_99_FI_2() -> None:
    import random

    attr = FaultAttr(probability=50, times=-1, rng=random.Random(7))
    draws = random.Random(7)
    expected = [i + 1 for i in range(8) if draws.randrange(100) < 50]
    assert failures(attr) == expected


@branch("FI-2")
def test_verbose_zero_reports_nothing_FI_2() -> None:
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"x")
    m.bdev.make_it_fail = True
    m.k.fail_make_request = FaultAttr(probability=100, verbose=0)
    m.reclaim()
    assert not [line for _, line in m.k.printk_log if "FAULT_INJECTION" in line]


def test_impossible_fault_attrs_are_rejected() -> None:
    with pytest.raises(KmodelError, match=r"probability must be 0\.\.100"):
        FaultAttr(probability=101)
    with pytest.raises(KmodelError, match="times must be -1"):
        FaultAttr(times=-2)
    with pytest.raises(KmodelError, match="interval"):
        FaultAttr(interval=-1)
