"""Edge paths of the swap path, each reached the way the kernel reaches it."""

from __future__ import annotations

import pytest

from kmodel import (
    BadRange,
    DeterministicExecutor,
    FaultAttr,
    KernelBug,
    Machine,
    PageFlags,
    SwapFileInode,
    SwpFlags,
    TaskState,
    VmEvent,
    VmFault,
    generic_swapfile_activate,
)
from kmodel.include.linux.blk_types import REQ_OP_WRITE
from kmodel.mm.vmscan import ReclaimResult, pageout
from tests.helpers import PAGE, Recorder, drain, pattern, slot_of, swapped_out
from tests.mm.test_page_io_fs import FakeSwapFile

branch = pytest.mark.branch


@branch("ER-4", "FI-1", "RD-11")
def test_sync_read_failed_at_submit_wakes_nobody_ER_4() -> None:
    """fail_make_request ends the bio inside submit_bio, in the reader's own context:
    blk_wake_io_task only marks the (polling) waiter running."""
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    m.bdev.make_it_fail = True
    m.k.fail_make_request = FaultAttr(probability=100, verbose=0)
    wakeups = t.wakeups
    assert m.load(t, addr) is None
    (done,) = rec.of("end_swap_bio_read")
    assert done.arg("waiter") != 0 and not done.softirq
    assert t.wakeups == wakeups  # __set_current_state(TASK_RUNNING), no wake_up_process
    assert t.usage == 1 and t.state == TaskState.TASK_RUNNING


@branch("WP-3", "WP-4", "EW-1")
def test_zram_write_error_falls_back_to_a_bio_WP_4() -> None:
    m = Machine(DeterministicExecutor(), disk="zram")
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"ram")
    m.bdev.submit_errors.append(BadRange(8, 16, REQ_OP_WRITE))
    rec = Recorder()
    m.k.tracer = rec
    assert m.reclaim() == [ReclaimResult.KEPT]
    assert rec.rets("bdev_write_page") == [-5]  # bdev_write_page ended the writeback
    (done,) = rec.of("end_swap_bio_write")  # the bio fallback failed at submit too
    assert done.arg("bi_status") == 10
    (folio,) = m.k.swap_cache.values()
    assert folio.writeback_starts == 2
    assert folio.flags & PageFlags.PG_dirty and folio.flags & PageFlags.PG_error


def test_brd_write_error_ends_writeback_twice_like_the_kernel() -> None:
    """brd_rw_page calls page_endio even on error, and bdev_write_page ends writeback
    again: 6.1's folio_end_writeback BUG()s. The model reproduces that latent bug."""
    m = Machine(DeterministicExecutor(), disk="brd")
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"ram")
    m.bdev.submit_errors.append(BadRange(8, 16, REQ_OP_WRITE))
    with pytest.raises(KernelBug, match="folio_end_writeback without writeback"):
        m.reclaim()


def test_swap_full_keeps_pages_in_memory() -> None:
    m = Machine(DeterministicExecutor(), nr_pages=3)  # header + 2 slots
    t = m.spawn()
    addr = m.mmap(t, 3)
    for i in range(3):
        m.store(t, addr + i * PAGE, pattern(i))
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2 + [ReclaimResult.KEPT]
    drain(m)
    assert m.si.inuse_pages == 2


def test_reclaim_skips_a_locked_folio() -> None:
    ex = DeterministicExecutor()
    m, t, addr, rec = swapped_out(2, executor=ex, page_cluster=1)
    m.k.ra_prev_offset = 0
    seen: list[list[ReclaimResult]] = []
    ex.chooser = lambda pending: (seen.append(m.reclaim(m.swap_cache_folios())),  # type: ignore[assignment]
                                  (pending[0], None))[1]
    assert m.load(t, addr) == pattern(0)
    assert seen and ReclaimResult.KEPT in seen[0]  # the folio being read is locked


def test_readahead_window_stops_at_the_end_of_the_swap_area() -> None:
    m, t, addr, rec = swapped_out(3, nr_pages=4)  # slots 1..3, max 4
    m.load(t, addr)
    m.k.swapin_readahead_hits = 6
    m.load(t, addr + 2 * PAGE)
    offsets = [int(e.arg("entry")) for e in rec.of("__read_swap_cache_async")]
    assert max(offsets) == 3


def test_vma_readahead_follows_the_fault_direction() -> None:
    m, t, addr, rec = swapped_out(16, disk="ssd")
    for i in reversed(range(16)):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    assert m.k.vm_events[VmEvent.SWAP_RA] > 0
    assert m.k.vm_events[VmEvent.SWAP_RA_HIT] > 0


def test_vma_readahead_skips_present_pages() -> None:
    m, t, addr, rec = swapped_out(8, disk="ssd")
    m.load(t, addr + 4 * PAGE)
    m.load(t, addr + 5 * PAGE)
    m.load(t, addr + 3 * PAGE)
    rec.events.clear()
    m.load(t, addr + 2 * PAGE)
    m.load(t, addr + 6 * PAGE)
    for i in range(8):
        assert m.load(t, addr + i * PAGE) == pattern(i)


def test_readahead_allocation_failure_skips_the_page() -> None:
    m, t, addr, rec = swapped_out(4)
    m.k.swapin_readahead_hits = 0  # no hits yet (swap_state.c:62 boots them at 4): a window of 1
    m.load(t, addr)
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=1, verbose=0)
    m.k.fail_page_alloc.relax()  # order 0, GFP_HIGHUSER_MOVABLE: past the default filters
    rec.events.clear()
    assert m.load(t, addr + PAGE) == pattern(1)
    # Window [2, 3]: the first allocation (the target's, in the loop) failed and was
    # skipped; the target was then read by read_swap_cache_async after the loop.
    pages = [int(e.arg("page")) for e in rec.of("__read_swap_cache_async_ret")]
    assert pages[0] == 0 and all(pages[1:])
    assert m.k.vm_events[VmEvent.SWAP_RA] == 1


def test_fault_that_lost_the_race_backs_out() -> None:
    """A second thread's fault on the same PTE, queued behind the first one's read, finds
    the PTE already mapped when it gets the lock (pte_same fails)."""
    ex = DeterministicExecutor()
    m, a, addr, rec = swapped_out(2, executor=ex, page_cluster=0)
    b = m.clone_thread(a)
    from kmodel import FaultFlag, handle_mm_fault

    results: list[int] = []

    def chooser(pending: list) -> None:  # type: ignore[type-arg]
        ex.complete(m.k, pending[0])
        return None

    ex.chooser = chooser
    pte = a.mm.ptes[addr]  # type: ignore[union-attr]
    assert m.load(a, addr) == pattern(0)
    a.mm.ptes[addr] = m.mapped_folios(a)[0]  # type: ignore[union-attr]
    from kmodel import VMFault, do_swap_page

    with m.k.running(b), m.k.lock:
        vma = a.mm.find_vma(addr)  # type: ignore[union-attr]
        assert vma is not None
        results.append(do_swap_page(m.k, VMFault(b, vma, addr, FaultFlag.FAULT_FLAG_USER, pte)))
        results.append(handle_mm_fault(m.k, b, addr, FaultFlag.FAULT_FLAG_USER))
    assert results == [0, 0]  # pte_unmap_same failed; then the page is present


@pytest.mark.parametrize("stable", [False, True])
def test_stable_writes_keep_a_page_under_writeback_unmodified(stable: bool) -> None:
    """A write fault on an exclusive swap PTE whose page is still under writeback: with
    SWP_STABLE_WRITES the page may not change during the I/O, so the fault copies it."""
    ex = DeterministicExecutor()
    m = Machine(ex, page_cluster=0)
    if stable:
        m.si.flags |= SwpFlags.SWP_STABLE_WRITES
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"old")
    m.reclaim()  # unmapped, writeback in flight
    (under_io,) = m.k.swap_cache.values()
    assert under_io.flags & PageFlags.PG_writeback
    assert m.store(t, addr, b"new") & VmFault.VM_FAULT_WRITE
    mapped = t.mm.ptes[addr]  # type: ignore[union-attr]
    assert (mapped is not under_io) == stable
    assert under_io.data == (b"old" if stable else b"new")
    drain(m)
    assert m.load(t, addr) == b"new"


def test_kernel_bugs_on_impossible_page_states() -> None:
    from kmodel.mm.page_writeback import folio_clear_dirty_for_io, folio_start_writeback
    from kmodel.mm.swapfile import add_swap_extent, folio_free_swap, swap_free

    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"x")
    folio = m.mapped_folios(t)[0]
    with m.k.running(t):
        with pytest.raises(KernelBug, match="unlocked"):
            folio_start_writeback(m.k, folio)
        with pytest.raises(KernelBug, match="unlocked"):
            folio_clear_dirty_for_io(m.k, folio)
        with pytest.raises(KernelBug, match="unlocked"):
            folio_free_swap(m.k, folio)
        folio.flags |= PageFlags.PG_locked
        assert not folio_free_swap(m.k, folio)  # not in the swap cache
        folio_start_writeback(m.k, folio)
        with pytest.raises(KernelBug, match="twice"):
            folio_start_writeback(m.k, folio)
        from kmodel import SwapEntry

        with pytest.raises(KernelBug, match="unused"):
            swap_free(m.k, SwapEntry(0, 5))
        with pytest.raises(KernelBug, match="out of order"):
            add_swap_extent(m.si, 7, 1, 100)


def test_swap_file_activation_edge_cases() -> None:
    from kmodel import Kernel, make_disk, swapon

    k = Kernel(executor=DeterministicExecutor())
    sis = swapon(k, make_disk("ssd"), nr_pages=8, extents=[])
    # A hole inside a page's blocks (1 KiB blocks).
    assert generic_swapfile_activate(k, sis, SwapFileInode(10, [8, 9, 0, 11])) == (-22, 0)
    sis2 = swapon(k, make_disk("ssd"), nr_pages=8, extents=[(0, 1, 0)])
    assert sis2.extents[0].nr_pages == 1
    sis3 = swapon(k, make_disk("ssd"), nr_pages=8, extents=[])
    # No page at all: lowest_block stays (sector_t)-1, so span wraps to 2 as in C.
    assert generic_swapfile_activate(k, sis3, SwapFileInode(12, [])) == (0, 2)
    assert sis3.max == 1  # "force Empty message"


@branch("WF-4")
def test_pageout_without_a_plug_issues_the_swap_file_write_at_once_WF_4() -> None:
    f = FakeSwapFile()
    m = Machine(DeterministicExecutor(), swap_file=f)
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"x")
    from kmodel.mm.swap_state import add_to_swap
    from kmodel.mm.vmscan import try_to_unmap

    folio = m.mapped_folios(t)[0]
    folio.flags |= PageFlags.PG_locked
    with m.k.running(m.spawn()), m.k.lock:
        assert add_to_swap(m.k, folio)
        try_to_unmap(m.k, folio)
        pageout(m.k, folio, None)
    assert f.calls == [(True, PAGE, 1)]
    assert m.k.executor.pending == []
    assert slot_of(m, t, addr) == 1
