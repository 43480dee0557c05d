"""Bios, submission, requests and fail_make_request (block/)."""

from __future__ import annotations

import pytest

from kmodel import (
    BlkStatus,
    DeterministicExecutor,
    FaultAttr,
    KernelBug,
    Machine,
    PageFlags,
    bio_alloc,
    bio_endio,
    bio_get,
    bio_put,
    make_disk,
)
from kmodel.include.linux.blk_types import REQ_OP_WRITE
from kmodel.mm.vmscan import ReclaimResult
from tests.helpers import PAGE, Recorder, cached, drain, pattern, swapped_out

branch = pytest.mark.branch


@branch("BIO-1")
def test_bio_refcount_frees_at_zero_and_a_second_put_is_a_bug_BIO_1() -> None:
    m = Machine(DeterministicExecutor())
    bio = bio_alloc(m.k, m.bdev, 1, REQ_OP_WRITE)
    assert bio.bi_cnt == 1 and bio.id in m.k.executor.live_bios
    bio_get(bio)
    bio_put(m.k, bio)
    assert not bio.freed
    bio_put(m.k, bio)
    assert bio.freed and bio.id not in m.k.executor.live_bios
    with pytest.raises(KernelBug, match="bio_put on freed"):
        bio_put(m.k, bio)
    with pytest.raises(KernelBug, match="bio_get on freed"):
        bio_get(bio)


@branch("BIO-2")
def test_bio_endio_calls_end_io_exactly_once_BIO_2() -> None:
    m = Machine(DeterministicExecutor())
    calls = []
    bio = bio_alloc(m.k, m.bdev, 1, REQ_OP_WRITE)
    bio.bi_end_io = lambda k, b: calls.append(b)
    bio_get(bio)
    bio_endio(m.k, bio)
    assert calls == [bio]
    with pytest.raises(KernelBug, match="bio_endio twice"):
        bio_endio(m.k, bio)


@branch("DEV-1")
def test_merged_bios_fail_together_DEV_1() -> None:
    m, t, addr, rec = swapped_out(8)
    m.k.swapin_readahead_hits = 0  # no hits yet (swap_state.c:62 boots them at 4): a window of 1
    m.load(t, addr)  # window [1]; prev_offset 1
    m.k.swapin_readahead_hits = 2  # window of 4: slots [4..7] in one plugged request
    rec.events.clear()
    m.k.executor.chooser = lambda pending: (pending[0], BlkStatus.BLK_STS_MEDIUM)  # type: ignore[attr-defined]
    assert m.load(t, addr + 4 * PAGE) is None
    (rq,) = rec.of("block_rq_complete")
    assert rq.arg("nr_sector") == 32 and rq.arg("error") == -61
    assert [e.arg("bi_status") for e in rec.of("end_swap_bio_read")] == [7] * 4


@branch("FI-1", "EW-1")
def test_fail_make_request_ends_the_write_in_the_submitter_FI_1() -> None:
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 3)
    for i in range(3):
        m.store(t, addr + i * PAGE, pattern(i))
    m.bdev.make_it_fail = True
    m.k.fail_make_request = FaultAttr(probability=100, interval=2, times=-1, verbose=1)
    rec = Recorder()
    m.k.tracer = rec
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED, ReclaimResult.KEPT,
                           ReclaimResult.WRITEBACK_STARTED]
    (failed,) = rec.of("end_swap_bio_write")
    assert failed.arg("bi_status") == 10 and not failed.softirq
    assert "submit_bio_noacct" in failed.chain
    assert "FAULT_INJECTION: forcing a failure." in rec.console()
    folio = cached(m, 2)
    assert folio is not None and folio.flags & PageFlags.PG_dirty
    assert len(m.k.executor.pending) == 2  # the others went to the device
    drain(m)
    assert m.quiescent()


@branch("FI-1")
def test_fail_make_request_needs_the_device_switch_FI_1() -> None:
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"x")
    m.k.fail_make_request = FaultAttr(probability=100, times=-1)
    m.reclaim()
    drain(m)
    assert m.reclaim() == [ReclaimResult.FREED]  # make-it-fail is off for this disk


def test_request_based_completion_consumes_size_but_keeps_sector() -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    m.load(t, addr)
    (e,) = rec.of("end_swap_bio_read")
    assert e.arg("size") == 0 and e.arg("sector") == 8


def test_unknown_disk_kind_is_a_clear_error() -> None:
    from kmodel import KmodelError

    with pytest.raises(KmodelError, match="unknown disk kind 'floppy'"):
        make_disk("floppy")
    with pytest.raises(KmodelError, match="at least 2 pages"):
        make_disk("virtio", nr_pages=1)
