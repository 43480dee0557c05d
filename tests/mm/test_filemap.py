"""Folio lock, waits and wakeups, writeback end (mm/filemap.c), pageout (mm/vmscan.c)."""

from __future__ import annotations

import pytest

from kmodel import (
    Deadlock,
    DeterministicExecutor,
    FaultFlag,
    InlineExecutor,
    KernelBug,
    Machine,
    PageFlags,
    TaskState,
    end_page_writeback,
    folio_lock,
    folio_lock_or_retry,
    folio_unlock,
    handle_mm_fault,
)
from kmodel.include.linux.sched import SIGKILL
from kmodel.mm.filemap import folio_wait_writeback
from tests.helpers import PAGE, cached, pattern, slot_of, swapped_out

branch = pytest.mark.branch


@branch("FM-1", "DS-5")
def test_unlock_wakes_every_lock_waiter_FM_1() -> None:
    """Two threads fault the same page; both sleep on the folio lock held by the read."""
    ex = DeterministicExecutor()
    m, a, addr, rec = swapped_out(2, executor=ex)
    b = m.clone_thread(a, cpu=1)
    order: list[str] = []

    def chooser(pending: list) -> tuple:  # type: ignore[type-arg]
        if not order:
            order.append("B faults while A waits")
            assert m.fault(b, addr) == 0  # B also waits, then retries; page mapped
            return None  # type: ignore[return-value]
        folio = next(iter(m.k.swap_cache.values()))
        assert folio.flags & PageFlags.PG_waiters
        assert len(folio.waiters) == 2
        order.append("complete")
        return pending[0], None

    ex.chooser = chooser
    assert m.load(a, addr) == pattern(0)
    assert order == ["B faults while A waits", "complete"]
    folio = cached(m, slot_of(m, a, addr + PAGE)) or next(iter(m.k.swap_cache.values()))
    assert not folio.waiters and not folio.flags & PageFlags.PG_waiters
    assert a.state == b.state == TaskState.TASK_RUNNING
    assert a.wakeups >= 1 and b.wakeups >= 1


@branch("FM-2")
def test_retry_nowait_returns_at_once_FM_2() -> None:
    ex = DeterministicExecutor()
    m, t, addr, rec = swapped_out(2, executor=ex)
    flags = FaultFlag.FAULT_FLAG_ALLOW_RETRY | FaultFlag.FAULT_FLAG_RETRY_NOWAIT
    with m.k.running(t), m.k.lock:
        ret = handle_mm_fault(m.k, t, addr, flags)
    assert ret == 0x404  # MAJOR | RETRY without sleeping
    assert ex.pending  # the read is still in flight
    assert t.wakeups == 0


@branch("FM-2")
def test_without_allow_retry_the_fault_sleeps_for_the_lock_FM_2() -> None:
    m, t, addr, rec = swapped_out(2)
    with m.k.running(t), m.k.lock:
        ret = handle_mm_fault(m.k, t, addr, FaultFlag.FAULT_FLAG_USER)
    assert ret == 0x4  # MAJOR: locked after sleeping, no retry
    assert m.load(t, addr) == pattern(0)


_KILLABLE_RETRY = (FaultFlag.FAULT_FLAG_ALLOW_RETRY | FaultFlag.FAULT_FLAG_KILLABLE
                   | FaultFlag.FAULT_FLAG_USER)


@branch("FM-2")
def test_a_pending_sigkill_ends_the_killable_wait_for_the_unlock_FM_2() -> None:
    # the memcg OOM killer's SIGKILL came during the fault (a real 6.1 capture: 0x404)
    ex = DeterministicExecutor()
    m, t, addr, rec = swapped_out(2, executor=ex)
    t.signals.append((SIGKILL, 0x80, 0))
    with m.k.running(t), m.k.lock:
        ret = handle_mm_fault(m.k, t, addr, _KILLABLE_RETRY)
    assert ret == 0x404  # MAJOR | RETRY, back without sleeping
    assert ex.pending and t.wakeups == 0 and t.state == TaskState.TASK_RUNNING
    # the wait queued, set PG_waiters, and left the queue (finish_wait): the bit stays
    (folio,) = [f for f in m.k.swap_cache.values() if f.flags & PageFlags.PG_waiters]
    assert folio.flags & PageFlags.PG_locked and not folio.waiters
    with m.k.lock:
        ex.complete_all(m.k)
    assert not folio.flags & (PageFlags.PG_locked | PageFlags.PG_waiters)  # the unlock's wake


@branch("FM-2")
def test_a_pending_sigkill_makes_the_killable_lock_fail_without_allow_retry_FM_2() -> None:
    m, t, addr, rec = swapped_out(2, executor=DeterministicExecutor())
    t.signals.append((SIGKILL, 0x80, 0))
    flags = FaultFlag.FAULT_FLAG_KILLABLE | FaultFlag.FAULT_FLAG_USER
    with m.k.running(t), m.k.lock:
        ret = handle_mm_fault(m.k, t, addr, flags)
    assert ret == 0x404  # __folio_lock_killable: -EINTR, so RETRY


@branch("FM-2")
def test_a_signal_that_is_not_fatal_does_not_end_the_killable_wait_FM_2() -> None:
    m, t, addr, rec = swapped_out(2)
    t.signals.append((7, 0, 0))  # a SIGBUS of an earlier fault, not SIGKILL
    with m.k.running(t), m.k.lock:
        ret = handle_mm_fault(m.k, t, addr, _KILLABLE_RETRY)
    assert ret == 0x404  # slept for the unlock, then RETRY as ALLOW_RETRY says
    assert t.wakeups == 1


@branch("FM-3", "EW-3")
def test_end_writeback_clears_reclaim_and_wakes_waiters_FM_3() -> None:
    ex = DeterministicExecutor()
    m = Machine(ex)
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"w")
    m.reclaim()
    (folio,) = m.k.swap_cache.values()
    assert folio.flags & PageFlags.PG_reclaim and folio.flags & PageFlags.PG_writeback
    with m.k.running(t), m.k.lock:
        folio_wait_writeback(m.k, folio)  # sleeps; the executor completes the write
    assert not folio.flags & (PageFlags.PG_writeback | PageFlags.PG_reclaim)
    assert t.wakeups == 1
    with m.k.running(t), pytest.raises(KernelBug, match="without writeback"):
        end_page_writeback(m.k, folio)


def test_sleeping_with_nothing_in_flight_is_a_deadlock() -> None:
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"x")
    folio = m.mapped_folios(t)[0]
    with m.k.running(t):
        folio_lock(m.k, folio)
        with pytest.raises(Deadlock, match="no I/O is pending"):
            folio_lock(m.k, folio)
    m2 = Machine(InlineExecutor())
    t2 = m2.spawn()
    a2 = m2.mmap(t2, 1)
    m2.store(t2, a2, b"y")
    f2 = m2.mapped_folios(t2)[0]
    with m2.k.running(t2):
        assert folio_lock_or_retry(m2.k, f2, 0)
        with pytest.raises(Deadlock, match="inline executor"):
            folio_lock(m2.k, f2)
        folio_unlock(m2.k, f2)
        with pytest.raises(KernelBug, match="unlocked"):
            folio_unlock(m2.k, f2)
