"""6.12 swap-in: swap_read_folio, its sync/async bio paths, __end_swap_bio_read."""

from __future__ import annotations

import pytest

from kmodel import BlkStatus, DeterministicExecutor, KernelBug, Machine, PageFlags, SwapEntry
from kmodel.arch.x86.mm.fault import BUS_ADRERR, SIGBUS
from kmodel.include.linux.swap import SWAP_HAS_CACHE
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.page_io import swap_read_folio
from kmodel.v6_12.mm.swap_state import __read_swap_cache_async
from tests.helpers import PAGE, cached, pattern, read_error, slot_of
from tests.v6_12.helpers import swapped_out_612

branch = pytest.mark.branch


@branch("ER-1", "ER-3", "ER-4", "RD-8", "RB-1", "DS-5", "DS-7")
def test_async_read_error_leaves_the_folio_not_uptodate_and_sigbus_ER_1_DS_7() -> None:
    m, addr, rec = swapped_out_612(8)
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr + 3 * PAGE)
    read_error(m, slot)
    m.k.swapin_readahead_hits = 0  # no hits yet (6.12's swap_state.c:65 boots them at 4)
    for i in range(3):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    rec.events.clear()
    assert m.load(t, addr + 3 * PAGE) is None
    folio = cached(m, slot)
    assert folio is not None
    assert not folio.flags & PageFlags.PG_error  # 6.12 has no PG_error
    assert not folio.flags & PageFlags.PG_uptodate
    assert not folio.flags & PageFlags.PG_locked  # ER-3
    assert rec.rets("do_swap_page") == [0x404, 0x2]  # MAJOR|RETRY, then SIGBUS
    assert t.signals == [(SIGBUS, BUS_ADRERR, addr + 3 * PAGE)]
    assert f"Read-error on swap-device (254:0:{slot * 8})" in rec.console()
    # The asynchronous bios end in softirq through end_swap_bio_read, which puts them.
    ends = rec.of("end_swap_bio_read")
    assert len(ends) == 4 and all(e.softirq for e in ends)
    assert {int(e.arg("bi_status")) for e in ends} == {int(BlkStatus.BLK_STS_IOERR)}
    assert [e.chain[-1] for e in rec.of("__end_swap_bio_read")] == ["end_swap_bio_read"] * 4
    assert m.quiescent()  # ER-4: every bio put


@branch("ER-2", "ER-3", "ER-4", "RB-1", "RD-8", "DS-4")
def test_async_read_marks_the_folio_uptodate_and_unlocks_it_ER_2_RB_1() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr)
    assert m.load(t, addr) == pattern(0)
    (queued,) = rec.of("block_bio_queue")
    assert queued.chain[-3:] == ("swap_read_folio_bdev_async", "submit_bio", "submit_bio_noacct")
    (end,) = rec.of("__end_swap_bio_read")
    assert end.arg("pflags") & 1  # locked (bit 0) until __end_swap_bio_read unlocks it
    assert not int(end.arg("pflags")) & (1 << 3)  # 6.12's PG_uptodate is bit 3
    assert m.k.vm_events[VmEvent.PSWPIN] == 1
    assert m.k.vm_events[VmEvent.PGMAJFAULT] == 1
    (folio,) = m.mapped_folios(t)
    assert folio.flags & PageFlags.PG_uptodate and not folio.flags & PageFlags.PG_locked
    assert slot_of(m, t, addr + PAGE) != slot  # the other page is still out
    assert m.quiescent()


@branch("RD-7", "RS-1", "DS-1", "BW-2", "BW-3", "ER-2")
def test_synchronous_read_sleeps_in_submit_bio_wait_RS_1_BW_2() -> None:
    m, addr, rec = swapped_out_612(2, disk="ssd", synchronous=True)
    t = m.task  # type: ignore[attr-defined]
    usage, wakeups = t.usage, t.wakeups
    assert m.load(t, addr + PAGE) == pattern(1)
    assert t.wakeups == wakeups + 1  # complete() woke it from io_schedule
    assert t.usage == usage  # get_task_struct / put_task_struct balanced
    assert rec.rets("submit_bio_wait") == [0]
    assert not rec.of("end_swap_bio_read")  # the on-stack bio has no end_io of the path
    (end,) = rec.of("__end_swap_bio_read")
    assert end.chain[-1] == "swap_read_folio_bdev_sync" and not end.softirq
    assert rec.of("block_rq_complete")[0].softirq
    assert not m.k.executor.live_bios  # the on-stack bio is never bio_put
    assert not m.k.swap_cache  # DS-1: the cache was skipped
    assert m.si.swap_map[2] == 0  # slot freed, SWAP_HAS_CACHE claim given back


@branch("BW-1", "RS-1", "RD-7")
def test_synchronous_read_from_zram_needs_no_sleep_BW_1() -> None:
    m, addr, rec = swapped_out_612(2, disk="zram")
    t = m.task  # type: ignore[attr-defined]
    wakeups = t.wakeups
    assert m.load(t, addr) == pattern(0)
    assert t.wakeups == wakeups  # the bio ended inside submit_bio: done before the wait
    assert [e.name for e in rec.events if "bdev" in e.name] == ["swap_read_folio_bdev_sync"]
    assert rec.rets("submit_bio_wait") == [0]


@branch("BW-3", "ER-1", "DS-7", "DS-8")
def test_synchronous_read_error_returns_eio_and_gives_sigbus_BW_3() -> None:
    m, addr, rec = swapped_out_612(2, disk="zram")
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr)
    read_error(m, slot)
    assert m.load(t, addr) is None
    assert rec.rets("submit_bio_wait") == [-5]
    assert t.signals == [(SIGBUS, BUS_ADRERR, addr)]
    assert f"Read-error on swap-device (252:0:{slot * 8})" in rec.console()
    assert not m.si.swap_map[slot] & SWAP_HAS_CACHE  # need_clear_cache: claim dropped
    assert m.si.swap_map[slot] == 1  # the PTE still refers to the slot
    m.bdev.completion_errors.clear()
    assert m.load(t, addr) == pattern(0)  # DS-8: a retry succeeds


@branch("RD-1")
def test_reading_an_unlocked_folio_is_a_kernel_bug_RD_1() -> None:
    m, addr, rec = swapped_out_612(1)
    t = m.task  # type: ignore[attr-defined]
    entry = SwapEntry(0, slot_of(m, t, addr))
    with m.k.running(t), m.k.lock:
        result = __read_swap_cache_async(m.k, entry)
        folio = result.folio
        assert folio is not None
        folio.flags &= ~PageFlags.PG_locked
        with pytest.raises(KernelBug, match="not locked"):
            swap_read_folio(m.k, folio, None)
        folio.flags |= PageFlags.PG_locked | PageFlags.PG_uptodate
        with pytest.raises(KernelBug, match="already uptodate"):
            swap_read_folio(m.k, folio, None)
        folio.flags &= ~(PageFlags.PG_uptodate | PageFlags.PG_swapcache)
        with pytest.raises(KernelBug, match="not in swap cache and not synchronous"):
            swap_read_folio(m.k, folio, None)


@branch("RD-2")
def test_workingset_read_is_a_memory_stall_RD_2() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    stalls: list[int] = []
    m.k.tracer = lambda e: stalls.append(m.k.memstall) if e.name == "block_bio_queue" else None
    entry = SwapEntry(0, slot_of(m, t, addr))
    with m.k.running(t), m.k.lock:
        result = __read_swap_cache_async(m.k, entry)
        folio = result.folio
        assert folio is not None and result.new_page_allocated
        folio.flags |= PageFlags.PG_workingset
        swap_read_folio(m.k, folio, None)
    assert stalls == [1]  # inside psi_memstall_enter/leave while submitting
    assert m.k.memstall == 0
    m.k.executor.complete_all(m.k)  # type: ignore[attr-defined]
    assert folio.data == pattern(0)


def test_a_6_1_machine_is_untouched_by_the_6_12_model() -> None:
    m = Machine(DeterministicExecutor())
    assert m.k.version == "6.1"
    assert m.ops.release == "6.1.176"
