"""``___ratelimit`` (lib/ratelimit.c) and fail_dump's own, disabled-by-default state."""

from __future__ import annotations

import pytest

from kmodel import DeterministicExecutor, FaultAttr, Machine
from kmodel.lib.ratelimit import RatelimitState, ___ratelimit
from tests.helpers import PAGE, pattern

branch = pytest.mark.branch
HZ = 250


def _lines(m: Machine, start: str) -> list[str]:
    return [line for _, line in m.k.printk_log if line.startswith(start)]


@branch("PR-1")
def test_the_window_is_re_armed_while_begin_is_zero_PR_1() -> None:
    """At jiffies 0 ``begin = jiffies`` leaves begin 0: the window starts only at the first
    call with jiffies != 0, so a call 5 s later is still inside it and suppressed."""
    k = Machine().k
    rs = RatelimitState(interval=5 * HZ)
    assert [___ratelimit(k, rs, "f") for _ in range(11)] == [True] * 10 + [False]
    assert rs.begin == 0
    k.jiffies = 5 * HZ + 10
    assert not ___ratelimit(k, rs, "f")  # begin = jiffies now; the window has just begun
    assert rs.begin == 5 * HZ + 10 and rs.missed == 2
    assert k.printk_log == []
    k.jiffies += 5 * HZ + 1
    assert ___ratelimit(k, rs, "f")
    assert [line for _, line in k.printk_log] == ["f: 2 callbacks suppressed"]


def _failing_writes(attr: FaultAttr, nr: int) -> Machine:
    """``nr`` swap writes, each failed by fail_make_request with ``attr``."""
    m = Machine(DeterministicExecutor())
    m.k.jiffies = 1
    t = m.spawn()
    addr = m.mmap(t, nr)
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    m.bdev.make_it_fail = True
    m.k.fail_make_request = attr
    m.reclaim()
    return m


@branch("PR-1", "FI-2")
def test_fail_dump_prints_every_notice_by_default_PR_1() -> None:
    """fault attrs start with RATELIMIT_STATE_INIT_DISABLED: 24 failures, 24 notices."""
    m = _failing_writes(FaultAttr(probability=100, times=-1, verbose=1), 12)
    m.k.jiffies += 6 * HZ
    m.bdev.make_it_fail = True
    t = m.spawn()
    addr = m.mmap(t, 12)
    for i in range(12):
        m.store(t, addr + i * PAGE, pattern(i))
    m.reclaim(m.mapped_folios(t))
    assert len(_lines(m, "FAULT_INJECTION: forcing a failure.")) == 24
    assert _lines(m, "name fail_make_request, interval 1, probability 100, space 0, times -1")
    assert _lines(m, "fail_dump:") == []  # no "fail_dump: N callbacks suppressed"


@branch("PR-1", "FI-2")
def test_verbose_ratelimit_knobs_limit_fail_dump_PR_1() -> None:
    """``verbose_ratelimit_interval_ms``/``_burst`` set the attr's own state."""
    attr = FaultAttr(probability=100, times=-1, verbose=1)
    attr.ratelimit_state.interval = 5 * HZ  # debugfs stores the value as given (jiffies)
    attr.ratelimit_state.burst = 3
    m = _failing_writes(attr, 5)
    assert len(_lines(m, "FAULT_INJECTION")) == 3
    assert attr.ratelimit_state.missed == 2
    m.k.jiffies += 5 * HZ + 1
    t = m.spawn()
    m.store(t, m.mmap(t, 1), b"x")
    m.reclaim(m.mapped_folios(t))
    assert _lines(m, "fail_dump:") == ["fail_dump: 2 callbacks suppressed"]
    assert len(_lines(m, "FAULT_INJECTION")) == 4
