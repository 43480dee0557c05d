"""Swap-out: swap_writepage, __swap_writepage, end_swap_bio_write (mm/page_io.c), pageout."""

from __future__ import annotations

import pytest

from kmodel import (
    DeterministicExecutor,
    Folio,
    KernelBug,
    Machine,
    PageFlags,
    VmEvent,
    WritebackControl,
    __swap_writepage,
)
from kmodel.include.linux.blk_types import REQ_OP_WRITE, REQ_SWAP
from kmodel.mm.swap_state import add_to_swap
from kmodel.mm.swapfile import swap_duplicate
from kmodel.mm.vmscan import ReclaimResult, pageout
from tests.helpers import PAGE, Recorder, cached, drain, pattern, write_error

branch = pytest.mark.branch


def machine_with_pages(nr: int, **kw: object) -> tuple[Machine, int, Recorder]:
    m = Machine(DeterministicExecutor(), **kw)  # type: ignore[arg-type]
    t = m.spawn()
    addr = m.mmap(t, nr)
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    rec = Recorder()
    m.k.tracer = rec
    return m, addr, rec


@branch("EW-1", "EW-3", "FM-3", "PR-1", "BIO-2")
def test_write_error_redirties_and_keeps_the_page_EW_1() -> None:
    m, addr, rec = machine_with_pages(4)
    write_error(m, 2)  # the second page reclaimed goes to slot 2
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 4
    drain(m)
    folio = cached(m, 2)
    assert folio is not None
    assert folio.flags & PageFlags.PG_dirty
    assert folio.flags & PageFlags.PG_error
    assert not folio.flags & PageFlags.PG_reclaim
    assert not folio.flags & PageFlags.PG_writeback
    (ended,) = [e for e in rec.of("end_page_writeback") if e.arg("page") == folio.addr]
    flags = int(ended.arg("pflags"))
    assert flags & PageFlags.PG_dirty and flags & PageFlags.PG_error
    assert not flags & PageFlags.PG_reclaim  # cleared before end_page_writeback
    assert "Write-error on swap-device (254:0:16)" in rec.console()
    # EW-1 keeps the page: reclaim writes it again instead of freeing it.
    results = m.reclaim()
    assert ReclaimResult.WRITEBACK_STARTED in results
    assert folio.writeback_starts == 2
    assert m.k.executor.pending  # the retry is in flight
    m.bdev.completion_errors.clear()  # the device recovers
    drain(m)
    m.reclaim()
    assert folio.freed
    assert m.bdev.storage[16] == folio.data
    assert m.quiescent()


@branch("EW-1")
def test_write_error_at_submit_completes_in_the_submitter_EW_1() -> None:
    m, addr, rec = machine_with_pages(2, disk="dm")
    write_error(m, 1, at_submit=True)
    m.reclaim()
    (done,) = [e for e in rec.of("end_swap_bio_write") if e.arg("sector") == 8]
    assert done.arg("bi_status") == 10
    assert not done.softirq and done.comm == "kswapd0"  # dm-flakey: submitter's context
    assert "submit_bio_noacct" in done.chain
    assert int(done.arg("size")) == 4096  # dm keeps the bio's size


@branch("EW-2", "EW-3", "SW-4", "WP-4", "CS-2", "PO-1", "BIO-1")
def test_write_success_ends_writeback_clean_EW_2_WP_4() -> None:
    m, addr, rec = machine_with_pages(3)
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 3
    writes = rec.of("swap_writepage")
    assert all(e.arg("wbc_bits") == 0x8 for e in writes)  # PO-1: wbc.for_reclaim
    assert rec.rets("swap_writepage") == [0, 0, 0]
    assert rec.rets("__swap_writepage") == [0, 0, 0]
    assert rec.rets("bdev_write_page") == [-95] * 3  # virtio has no rw_page
    assert [e.arg("sector") for e in rec.of("block_bio_queue")] == [8, 16, 24]
    assert m.k.vm_events[VmEvent.PSWPOUT] == 3  # CS-2, counted at submission
    assert m.k.vm_events[VmEvent.THP_SWPOUT] == 0
    (rq,) = m.k.executor.pending  # one plugged, merged request
    assert all(b.bi_cnt == 1 for b in rq.bios)  # type: ignore[attr-defined]
    drain(m)
    for e in rec.of("end_swap_bio_write"):
        assert int(e.arg("opf")) == REQ_OP_WRITE | REQ_SWAP  # 0x100001, as in real traces
    for e in rec.of("end_page_writeback"):
        flags = int(e.arg("pflags"))
        assert flags & PageFlags.PG_writeback and not flags & PageFlags.PG_dirty
        assert flags & PageFlags.PG_reclaim  # EW-2: no flag change before writeback ends
    assert all(b.freed for b in rq.bios)  # type: ignore[attr-defined]
    assert m.reclaim() == [ReclaimResult.FREED] * 3
    assert m.quiescent()


@branch("SW-1")
def test_stale_swap_cache_page_is_dropped_without_io_SW_1() -> None:
    m = Machine(DeterministicExecutor(), page_cluster=0)
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"one")
    m.reclaim()
    drain(m)
    m.reclaim()
    assert m.load(t, addr) == b"one"  # back in memory, still in the swap cache
    (folio,) = m.k.swap_cache.values()
    m.store(t, addr, b"two")  # dirty again
    m.exit(t)  # no PTE refers to the slot any more
    rec = Recorder()
    m.k.tracer = rec
    assert m.reclaim([folio]) == [ReclaimResult.KEPT]
    assert rec.rets("swap_writepage") == [0]
    assert not rec.of("__swap_writepage")
    assert not m.k.swap_cache  # folio_free_swap removed it
    assert folio.flags & PageFlags.PG_dirty and not folio.flags & PageFlags.PG_locked
    assert m.si.inuse_pages == 0


@branch("SW-2")
def test_arch_prepare_to_swap_failure_keeps_the_page_dirty_SW_2() -> None:
    m, addr, rec = machine_with_pages(1)
    m.k.arch_prepare_to_swap_ret = -12
    assert m.reclaim() == [ReclaimResult.KEPT]
    assert rec.rets("swap_writepage") == [-12]
    (folio,) = m.k.swap_cache.values()
    assert folio.flags & PageFlags.PG_dirty and not folio.flags & PageFlags.PG_locked
    assert not m.k.executor.pending


@branch("WP-3", "CS-2")
def test_zram_write_uses_rw_page_WP_3() -> None:
    m, addr, rec = machine_with_pages(2, disk="zram")
    assert m.reclaim() == [ReclaimResult.FREED] * 2  # synchronous write: freed at once
    assert rec.rets("bdev_write_page") == [0, 0]
    assert rec.rets("__swap_writepage") == [0, 0]
    assert not rec.of("block_bio_queue")
    assert m.k.vm_events[VmEvent.PSWPOUT] == 2
    assert m.bdev.storage[8] == pattern(0)


@branch("WP-1")
def test_writing_a_page_outside_the_swap_cache_is_a_kernel_bug_WP_1() -> None:
    m, addr, rec = machine_with_pages(1)
    folio = Folio(flags=PageFlags.PG_locked | PageFlags.PG_swapbacked)
    with m.k.running(m.spawn()), pytest.raises(KernelBug, match="not in the swap cache"):
        __swap_writepage(m.k, folio, WritebackControl())


@branch("CS-1", "CS-2")
def test_thp_swapout_counts_every_subpage_CS_1() -> None:
    m = Machine(DeterministicExecutor())
    thp = Folio(flags=PageFlags.PG_locked | PageFlags.PG_uptodate | PageFlags.PG_swapbacked
                | PageFlags.PG_head, nr_pages=512, data=b"huge")
    with m.k.running(m.spawn()), m.k.lock:
        assert add_to_swap(m.k, thp)
        swap_duplicate(m.k, thp.swap)  # the PTE that try_to_unmap replaced
        assert pageout(m.k, thp, None).value == "success"
    assert m.k.vm_events[VmEvent.THP_SWPOUT] == 1
    assert m.k.vm_events[VmEvent.PSWPOUT] == 512
    (rq,) = m.k.executor.pending
    assert rq.nr_sectors == 512 * 8  # type: ignore[attr-defined]


@branch("PO-1")
def test_pageout_of_a_clean_folio_writes_nothing_PO_1() -> None:
    m, addr, rec = machine_with_pages(1)
    folio = m.mapped_folios()[0]
    folio.flags &= ~PageFlags.PG_dirty
    folio.flags |= PageFlags.PG_locked
    with m.k.running(m.spawn()), m.k.lock:
        assert pageout(m.k, folio, None).value == "clean"
    assert not rec.of("swap_writepage")


def test_reclaim_skips_a_folio_under_writeback() -> None:
    m, addr, rec = machine_with_pages(2)
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2
    assert m.reclaim() == [ReclaimResult.KEPT] * 2  # still under writeback: come back later
    drain(m)
    assert m.reclaim() == [ReclaimResult.FREED] * 2


@branch("SW-3", "RD-3")
def test_frontswap_rejection_falls_through_to_the_device_SW_3() -> None:
    m = Machine(DeterministicExecutor(), page_cluster=0)
    m.k.frontswap = {}
    m.k.frontswap_store_fail = True  # e.g. zswap pool full
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"device")
    m.reclaim()
    drain(m)
    m.reclaim()
    assert m.k.frontswap == {}
    assert m.load(t, addr) == b"device"  # frontswap_load missed: read from the device
    assert m.k.vm_events[VmEvent.PSWPIN] == 1


def test_bad_ranges_are_validated() -> None:
    from kmodel import BadRange, BlkStatus, KmodelError

    with pytest.raises(KmodelError, match="need 0 <= start < end"):
        BadRange(8, 8)
    with pytest.raises(KmodelError, match="not BLK_STS_OK"):
        BadRange(0, 8, None, BlkStatus.BLK_STS_OK)
