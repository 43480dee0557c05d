"""Swap-in: swap_readpage, end_swap_bio_read and the fault around them (mm/page_io.c)."""

from __future__ import annotations

import pytest

from kmodel import (
    BlkStatus,
    DeterministicExecutor,
    Folio,
    KernelBug,
    Machine,
    PageFlags,
    SwapEntry,
    TaskState,
    VmEvent,
    VmFault,
    swap_readpage,
)
from kmodel.arch.x86.mm.fault import BUS_ADRERR, SIGBUS
from kmodel.mm.vmscan import ReclaimResult
from tests.helpers import PAGE, cached, pattern, read_error, slot_of, swapped_out, write_error

branch = pytest.mark.branch


@branch("ER-1", "ER-3", "DS-5", "DS-7", "PR-1", "DEV-1")
def test_read_error_gives_sigbus_after_retry_ER_1_DS_5_DS_7() -> None:
    m, t, addr, rec = swapped_out(8)
    slot = slot_of(m, t, addr + 3 * PAGE)
    read_error(m, slot)
    m.k.swapin_readahead_hits = 0  # no hits yet (swap_state.c:62 boots them at 4): a window of 1
    # Sequential faults grow the readahead window (hits), so page 3 is read
    # asynchronously as part of a 4-page request, as in the real readerr trace.
    for i in range(3):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    rec.events.clear()
    assert m.load(t, addr + 3 * PAGE) is None
    folio = cached(m, slot)
    assert folio is not None
    assert folio.flags & PageFlags.PG_error
    assert not folio.flags & PageFlags.PG_uptodate
    assert not folio.flags & PageFlags.PG_locked
    # The readahead completed asynchronously while the fault waited: MAJOR|RETRY first,
    # then the retried fault found the folio !uptodate: SIGBUS (as in the real trace).
    assert rec.rets("do_swap_page") == [0x404, 0x2]
    assert t.signals == [(SIGBUS, BUS_ADRERR, addr + 3 * PAGE)]
    assert f"Read-error on swap-device (254:0:{slot * 8})" in rec.console()
    # DEV-1: the whole merged request failed: every bio in it saw the error.
    statuses = {int(e.arg("bi_status")) for e in rec.of("end_swap_bio_read")}
    assert statuses == {int(BlkStatus.BLK_STS_IOERR)}
    assert len(rec.of("end_swap_bio_read")) == 4
    assert len(rec.of("block_rq_complete")) == 1
    assert len([x for x in rec.console() if x.startswith("Read-error")]) == 4
    assert m.quiescent()


@branch("ER-1", "PR-1")
def test_read_error_alerts_are_rate_limited_to_10_per_5s_PR_1() -> None:
    m, t, addr, rec = swapped_out(33, page_cluster=0)
    m.k.jiffies = 1  # a running kernel's jiffies; at 0 the state stays unarmed (begin 0)
    for i in range(33):
        read_error(m, slot_of(m, t, addr + i * PAGE))
    for i in range(32):
        assert m.load(t, addr + i * PAGE) is None
    alerts = [line for line in rec.console() if line.startswith("Read-error")]
    assert len(alerts) == 10
    assert m.k.ratelimits["end_swap_bio_read"].missed == 22
    # After 5 s (HZ=250) the suppressed count is reported and printing resumes.
    m.k.jiffies += 5 * 250 + 10
    assert m.load(t, addr + 32 * PAGE) is None
    assert rec.console()[-2:] == [
        "end_swap_bio_read: 22 callbacks suppressed",
        f"Read-error on swap-device (254:0:{slot_of(m, t, addr + 32 * PAGE) * 8})",
    ]


@branch("ER-1", "DEV-1")
def test_medium_error_status_reaches_end_swap_bio_read_ER_1() -> None:
    m, t, addr, rec = swapped_out(4, page_cluster=0)
    read_error(m, slot_of(m, t, addr), BlkStatus.BLK_STS_MEDIUM)
    assert m.load(t, addr) is None
    assert [int(e.arg("bi_status")) for e in rec.of("end_swap_bio_read")] == [7]


@branch("ER-2", "ER-3", "ER-5", "RD-9", "RD-7", "RD-10", "RD-12")
def test_async_read_sets_uptodate_before_unlock_ER_2_ER_5_RD_9() -> None:
    m, t, addr, rec = swapped_out(8)
    seen: list[tuple[bool, bool]] = []

    def on_event(e: object) -> None:
        rec(e)  # type: ignore[arg-type]
        # At the moment the waiter is woken (unlock), the folio must already be uptodate.
        if getattr(e, "name", "") == "end_swap_bio_read":
            folio = next(f for f in m.k.swap_cache.values() if f.addr == e.arg("page"))  # type: ignore[attr-defined]
            seen.append((bool(folio.flags & PageFlags.PG_locked),
                         bool(folio.flags & PageFlags.PG_uptodate)))

    m.k.tracer = on_event
    assert m.load(t, addr) == pattern(0)  # window [0, 1]: slot 1 read asynchronously
    assert seen and all(locked and not uptodate for locked, uptodate in seen)
    for e in rec.of("end_swap_bio_read"):
        assert e.arg("waiter") == 0  # ER-5/RD-9: asynchronous reads have no waiter
        assert e.arg("bi_status") == 0
    reads = rec.of("swap_readpage")
    assert {e.arg("synchronous") for e in reads} == {0}
    # RD-7: each bio reads the slot's sector.
    queued = {int(e.arg("sector")) for e in rec.of("block_bio_queue")}
    assert queued == {int(SwapEntry.from_val(int(e.arg("entry"))).offset) * 8 for e in reads}
    assert rec.rets("swap_readpage") == [0] * len(reads)  # RD-12
    assert not rec.of("bdev_read_page")  # virtio is not SWP_SYNCHRONOUS_IO
    assert m.k.vm_events[VmEvent.PSWPIN] == len(reads)  # RD-10
    assert m.quiescent()


@branch("RD-10", "RD-12", "BIO-1")
def test_async_read_bio_holds_one_reference_while_in_flight_RD_10_RD_12() -> None:
    ex = DeterministicExecutor()
    m, t, addr, rec = swapped_out(4, executor=ex, page_cluster=2)
    m.k.tracer = None
    bios = []

    def chooser(pending: list) -> tuple:  # type: ignore[type-arg]
        for io in pending:
            bios.extend(io.bios)
        return pending[0], None

    ex.chooser = chooser
    assert m.load(t, addr) == pattern(0)
    # Every bio of the readahead request had exactly one reference left when it was
    # chosen: bio_get + submit, then swap_readpage's bio_put (RD-12).
    assert bios and all(b.freed and b.bi_cnt == 0 for b in bios)


@branch("RD-8", "RD-11", "ER-4", "CR-1", "RA-5")
def test_synchronous_read_waits_and_is_woken_RD_8_RD_11_ER_4() -> None:
    m, t, addr, rec = swapped_out(4, page_cluster=0)
    wakeups = t.wakeups
    assert m.load(t, addr + PAGE) == pattern(1)
    (read,) = rec.of("swap_readpage")
    assert read.arg("synchronous") == 1  # CR-1: window of one page → do_poll
    (done,) = rec.of("end_swap_bio_read")
    assert done.arg("waiter") != 0  # RD-8: bi_private = current
    assert done.softirq and done.cpu == 1
    assert t.wakeups == wakeups + 1  # ER-4: blk_wake_io_task → wake_up_process
    assert t.usage == 1  # get_task_struct balanced by put_task_struct
    assert t.state == TaskState.TASK_RUNNING
    assert rec.rets("do_swap_page") == [VmFault.VM_FAULT_MAJOR]  # no retry: read was sync
    assert m.quiescent()


@branch("RD-11", "ER-4")
def test_synchronous_read_completed_inline_needs_no_sleep_RD_11() -> None:
    from kmodel import InlineExecutor

    m, t, addr, rec = swapped_out(4, page_cluster=0, executor=InlineExecutor())
    wakeups = t.wakeups
    assert m.load(t, addr) == pattern(0)
    # The completion ran before the wait loop: the waiter was already running.
    assert t.wakeups == wakeups
    assert t.usage == 1


@branch("RD-1")
def test_reading_an_unlocked_page_is_a_kernel_bug_RD_1() -> None:
    m, t, addr, rec = swapped_out(2)
    folio = Folio(flags=PageFlags.PG_swapbacked | PageFlags.PG_swapcache)
    folio.private = SwapEntry(0, 1).val
    with m.k.running(t), pytest.raises(KernelBug, match="not locked"):
        swap_readpage(m.k, folio, False, None)
    folio.flags |= PageFlags.PG_locked | PageFlags.PG_uptodate
    with m.k.running(t), pytest.raises(KernelBug, match="already uptodate"):
        swap_readpage(m.k, folio, False, None)
    folio.flags &= ~(PageFlags.PG_swapcache | PageFlags.PG_uptodate)
    with m.k.running(t), pytest.raises(KernelBug, match="not in swap cache"):
        swap_readpage(m.k, folio, False, None)


@branch("RD-2")
def test_workingset_read_is_a_memory_stall_RD_2() -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    stalls: list[int] = []
    m.k.tracer = lambda e: stalls.append(m.k.memstall) if e.name == "block_bio_queue" else None
    entry = SwapEntry(0, slot_of(m, t, addr))
    from kmodel.mm.swap_state import __read_swap_cache_async

    with m.k.running(t), m.k.lock:
        result = __read_swap_cache_async(m.k, entry, None, addr)
        folio = result.folio
        assert folio is not None and result.new_page_allocated
        folio.flags |= PageFlags.PG_workingset
        swap_readpage(m.k, folio, True, None)
    assert stalls == [1]  # inside psi_memstall_enter/leave while submitting
    assert m.k.memstall == 0
    assert folio.data == pattern(0)


@branch("RD-3", "SW-3")
def test_frontswap_stores_and_loads_without_io_RD_3_SW_3() -> None:
    from kmodel import InlineExecutor, Machine

    m = Machine(InlineExecutor(), page_cluster=0)
    m.k.frontswap = {}
    t = m.spawn()
    addr = m.mmap(t, 2)
    m.store(t, addr, b"zswapped")
    from tests.helpers import Recorder

    rec = Recorder()
    m.k.tracer = rec
    assert m.reclaim() == [ReclaimResult.FREED]
    assert not rec.of("block_bio_queue")  # SW-3: no I/O, writeback started and ended
    assert rec.rets("swap_writepage") == [0]
    assert len(rec.of("end_page_writeback")) == 0  # folio_end_writeback, not the kprobe
    assert m.load(t, addr) == b"zswapped"
    assert not rec.of("block_bio_queue")  # RD-3: frontswap_load hit
    assert rec.rets("swap_readpage") == [0]
    assert m.k.vm_events[VmEvent.PSWPIN] == 0 and m.k.vm_events[VmEvent.PSWPOUT] == 0


@branch("RD-5", "DS-1", "WP-3")
def test_zram_reads_without_a_bio_RD_5_DS_1() -> None:
    m, t, addr, rec = swapped_out(4, disk="zram")
    assert m.load(t, addr + PAGE) == pattern(1)
    assert rec.rets("bdev_read_page") == [0]
    assert not rec.of("block_bio_queue")
    (read,) = rec.of("swap_readpage")
    assert read.arg("synchronous") == 1
    # DS-1: skip the swap cache: the page was never added to it.
    assert not rec.of("swapin_readahead")
    assert not m.k.swap_cache
    assert m.k.vm_events[VmEvent.PSWPIN] == 1
    assert m.si.swap_map[1] == 0 or all(c in (0, 1) for c in m.si.swap_map)


@branch("RD-6", "ER-1", "DS-1")
def test_zram_read_error_falls_back_to_a_bio_RD_6() -> None:
    m, t, addr, rec = swapped_out(2, disk="zram")
    slot = slot_of(m, t, addr)
    read_error(m, slot)
    assert m.load(t, addr) is None
    assert rec.rets("bdev_read_page") == [-5]
    # The rw_page failure falls through to a bio, which fails too: ER-1, then SIGBUS.
    (done,) = rec.of("end_swap_bio_read")
    assert done.arg("bi_status") == 10
    assert done.arg("waiter") != 0
    assert rec.rets("do_swap_page") == [VmFault.VM_FAULT_SIGBUS]
    # DS-1's claim on the slot was dropped: the entry is still referenced by the PTE only.
    assert m.si.swap_map[slot] == 1


@branch("RD-6")
def test_synchronous_io_device_without_rw_page_uses_a_bio_RD_6() -> None:
    m, t, addr, rec = swapped_out(2, synchronous=True)
    assert m.load(t, addr) == pattern(0)
    assert rec.rets("bdev_read_page") == [-95]
    assert len(rec.of("end_swap_bio_read")) == 1


@branch("ER-1", "EW-1")
def test_alerts_print_major_and_minor_of_the_device_ER_1() -> None:
    from kmodel import InlineExecutor, make_disk

    for major, minor in ((8, 16), (259, 3)):
        bdev = make_disk("scsi", nr_pages=16)
        bdev.major, bdev.minor = major, minor
        m = Machine(InlineExecutor(), bdev=bdev)
        t = m.spawn()
        addr = m.mmap(t, 1)
        m.store(t, addr, b"x")
        write_error(m, 1)
        m.reclaim()
        assert ("alert", f"Write-error on swap-device ({major}:{minor}:8)") in m.k.printk_log
