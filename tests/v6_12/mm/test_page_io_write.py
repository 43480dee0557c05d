"""6.12 swap-out: swap_writepage, __swap_writepage, the bio writes and their completions."""

from __future__ import annotations

import pytest

from kmodel import DeterministicExecutor, Folio, KernelBug, Machine, PageFlags, WritebackControl
from kmodel.mm.vmscan import ReclaimResult
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.page_io import __swap_writepage
from tests.helpers import Recorder, drain, pattern, write_error
from tests.v6_12.helpers import machine

branch = pytest.mark.branch


@branch("EW-1", "EW-3", "EW-4", "WA-1", "WP-4")
def test_write_error_redirties_without_pg_error_EW_1() -> None:
    m, addr, rec = machine(1)
    write_error(m, 1)
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED]
    (folio,) = m.k.swap_cache.values()
    assert folio.flags & PageFlags.PG_writeback and folio.flags & PageFlags.PG_reclaim
    drain(m)
    assert folio.flags & PageFlags.PG_dirty
    assert not folio.flags & PageFlags.PG_error  # 6.12 has no PG_error
    assert not folio.flags & (PageFlags.PG_reclaim | PageFlags.PG_writeback)  # EW-3
    assert "Write-error on swap-device (254:0:8)" in rec.console()
    (end,) = rec.of("end_swap_bio_write")
    assert end.softirq and rec.of("__end_swap_bio_write")[0].chain[-1] == "end_swap_bio_write"
    assert m.quiescent()  # EW-4: the bio was put
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED]  # written again


@branch("EW-2", "EW-3", "WA-1", "WP-4", "CS-2", "PO-1", "SW-4")
def test_write_success_ends_writeback_clean_EW_2() -> None:
    m, addr, rec = machine(3)
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 3
    assert rec.rets("swap_writepage") == [0, 0, 0]
    assert [e.chain[-1] for e in rec.of("block_bio_queue")] == ["submit_bio_noacct"] * 3
    (rq,) = m.k.executor.pending  # merged under the reclaim plug
    drain(m)
    for folio in m.k.swap_cache.values():
        assert not folio.flags & (PageFlags.PG_writeback | PageFlags.PG_dirty)
    assert m.k.vm_events[VmEvent.PSWPOUT] == 3
    assert m.reclaim() == [ReclaimResult.FREED] * 3
    assert m.bdev.storage[16] == pattern(1)
    assert m.quiescent()


@branch("WP-3", "WS-1", "BW-1", "EW-2")
def test_zram_write_is_a_synchronous_bio_WP_3_WS_1() -> None:
    m, addr, rec = machine(2, disk="zram")
    assert m.reclaim() == [ReclaimResult.FREED] * 2  # writeback ended before return
    assert len(rec.of("swap_writepage_bdev_sync")) == 2
    assert rec.rets("submit_bio_wait") == [0, 0]
    assert not rec.of("end_swap_bio_write")  # __end_swap_bio_write, called directly
    assert [e.chain[-1] for e in rec.of("__end_swap_bio_write")] == [
        "swap_writepage_bdev_sync"] * 2
    assert m.bdev.storage[8] == pattern(0)
    assert m.k.vm_events[VmEvent.PSWPOUT] == 2


@branch("WS-1", "BW-2", "BW-3")
def test_synchronous_write_to_a_request_device_sleeps_until_done_WS_1_BW_2() -> None:
    m, addr, rec = machine(1, disk="ssd", synchronous=True)
    assert m.reclaim() == [ReclaimResult.FREED]
    kswapd = m.k.tasks[-1]
    assert kswapd.wakeups == 1  # slept in io_schedule, woken by complete()
    assert rec.rets("submit_bio_wait") == [0]
    assert rec.of("block_rq_issue") and rec.of("block_rq_complete")[0].softirq


@branch("EW-1", "WS-1", "BW-3")
def test_synchronous_write_error_keeps_the_folio_dirty_EW_1_BW_3() -> None:
    m, addr, rec = machine(1, disk="zram")
    write_error(m, 1)
    assert m.reclaim() == [ReclaimResult.KEPT]
    assert rec.rets("submit_bio_wait") == [-5]
    (folio,) = m.k.swap_cache.values()
    assert folio.flags & PageFlags.PG_dirty and not folio.flags & PageFlags.PG_writeback
    assert "Write-error on swap-device (252:0:8)" in rec.console()


@branch("SW-1")
def test_stale_swap_cache_folio_is_dropped_without_io_SW_1() -> None:
    m = Machine(DeterministicExecutor(), page_cluster=0, kernel="6.12")
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"one")
    m.reclaim()
    drain(m)
    m.reclaim()
    assert m.load(t, addr) == b"one"
    (folio,) = m.k.swap_cache.values()
    folio.flags |= PageFlags.PG_dirty
    m.exit(t)
    rec = Recorder()
    m.k.tracer = rec
    assert m.reclaim([folio]) == [ReclaimResult.KEPT]
    assert rec.rets("swap_writepage") == [0]
    assert not rec.of("__swap_writepage")
    assert not m.k.swap_cache
    assert m.si.inuse_pages == 0


@branch("SW-2")
def test_arch_prepare_to_swap_failure_keeps_the_folio_dirty_SW_2() -> None:
    m, addr, rec = machine(1)
    m.k.arch_prepare_to_swap_ret = -12
    assert m.reclaim() == [ReclaimResult.KEPT]
    assert rec.rets("swap_writepage") == [-12]
    (folio,) = m.k.swap_cache.values()
    assert folio.flags & PageFlags.PG_dirty and not folio.flags & PageFlags.PG_locked
    assert not m.k.executor.pending


@branch("WP-1")
def test_writing_a_folio_outside_the_swap_cache_is_a_kernel_bug_WP_1() -> None:
    m, addr, rec = machine(1)
    folio = Folio(flags=PageFlags.PG_locked | PageFlags.PG_swapbacked)
    with m.k.running(m.spawn()), pytest.raises(KernelBug, match="not in the swap cache"):
        __swap_writepage(m.k, folio, WritebackControl())
