"""Folio locking, bit waits and wakeups, writeback end, ``page_endio``.

Linux 6.1.176 mm/filemap.c. The wait queue of a folio is ``folio.waiters`` (the kernel
hashes folios into shared queues; one queue per folio gives the same wakeups).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.block.blk_core import sched_submit_work
from kmodel.errors import KernelBug
from kmodel.include.linux.mm import FaultFlag, fault_flag_allow_retry_first
from kmodel.include.linux.page_flags import (
    ClearPageReclaim,
    ClearPageUptodate,
    PageFlags,
    PageLocked,
    PageReclaim,
    PageWaiters,
    PageWriteback,
    SetPageError,
    SetPageUptodate,
)
from kmodel.include.linux.sched import (
    TaskState,
    set_current_state,
    signal_pending_state,
    wake_up_process,
)

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel

PG_locked = PageFlags.PG_locked
PG_writeback = PageFlags.PG_writeback


def folio_wake_bit(k: Kernel, folio: Folio, bit: int) -> None:
    """Wake the tasks waiting for ``bit`` of ``folio`` (FM-1). filemap.c:1156-1215.

    PG_waiters is cleared once nobody waits any more.
    """
    woken = [w for w in folio.waiters if w[1] == bit]
    folio.waiters = [w for w in folio.waiters if w[1] != bit]
    for task, _ in woken:
        wake_up_process(k, task)
    if not folio.waiters:
        folio.flags &= ~PageFlags.PG_waiters


#: include/uapi/asm-generic/errno-base.h:8.
EINTR = 4


def folio_wait_bit_common(k: Kernel, folio: Folio, bit: int, *, exclusive: bool,
                          state: TaskState = TaskState.TASK_UNINTERRUPTIBLE) -> int:
    """Sleep until ``bit`` is clear; with ``exclusive`` (lock), take it. filemap.c:1245-1380.

    This is where a task gives control to the executor (``io_schedule``). A killable sleep
    (``state`` TASK_KILLABLE) ends without the bit when SIGKILL is pending (1319-1321):
    0, or -EINTR then (1374-1378).
    """
    task = k.current
    ret = 0
    with k.call("folio_wait_bit_common"):
        while True:
            set_current_state(k, state)
            if not folio.flags & bit:
                if not exclusive:
                    break
                folio.flags |= bit  # test_and_set_bit_lock won
                break
            if (task, bit) not in folio.waiters:
                folio.waiters.append((task, bit))
            folio.flags |= PageFlags.PG_waiters
            if signal_pending_state(state, task):  # not woken, interrupted: finish_wait
                folio.waiters.remove((task, bit))  # PG_waiters stays, as in the kernel
                ret = -EINTR
                break
            with k.call("io_schedule"):
                sched_submit_work(k)
                k.executor.schedule(k, task)
        # finish_wait: folio_wake_bit already took the woken task off the queue.
        set_current_state(k, TaskState.TASK_RUNNING)
    return ret


def folio_trylock(folio: Folio) -> bool:
    """``folio_trylock``: take PG_locked if it is free."""
    if folio.flags & PG_locked:
        return False
    folio.flags |= PG_locked
    return True


def __folio_lock(k: Kernel, folio: Folio) -> None:
    """Sleep for the lock (filemap.c:1685-1689)."""
    folio_wait_bit_common(k, folio, PG_locked, exclusive=True)


def folio_lock(k: Kernel, folio: Folio) -> None:
    """``folio_lock`` (pagemap.h:950-955)."""
    if not folio_trylock(folio):
        __folio_lock(k, folio)


def __folio_lock_killable(k: Kernel, folio: Folio) -> int:
    """Sleep for the lock unless SIGKILL comes (filemap.c:1692-1696): 0 or -EINTR."""
    return folio_wait_bit_common(k, folio, PG_locked, exclusive=True,
                                 state=TaskState.TASK_KILLABLE)


def folio_wait_locked(k: Kernel, folio: Folio) -> None:
    """Wait for the folio to be unlocked without taking the lock (pagemap.h:1056-1060)."""
    if PageLocked(folio):
        folio_wait_bit_common(k, folio, PG_locked, exclusive=False)


def folio_wait_locked_killable(k: Kernel, folio: Folio) -> int:
    """``folio_wait_locked``, ended by SIGKILL (pagemap.h:1062-1067): 0 or -EINTR."""
    if not PageLocked(folio):
        return 0
    return folio_wait_bit_common(k, folio, PG_locked, exclusive=False,
                                 state=TaskState.TASK_KILLABLE)


def folio_unlock(k: Kernel, folio: Folio) -> None:
    """Release the lock and wake waiters (FM-1). filemap.c:1547-1555."""
    if not PageLocked(folio):
        raise KernelBug(f"folio_unlock of unlocked {folio!r}")  # VM_BUG_ON_FOLIO
    folio.flags &= ~PG_locked
    if PageWaiters(folio):  # FM-1
        folio_wake_bit(k, folio, PG_locked)


unlock_page = folio_unlock  # mm/folio-compat.c:20-24


def __folio_lock_or_retry(k: Kernel, folio: Folio, flags: int) -> bool:
    """Lock, or wait for the unlock and tell the caller to retry (FM-2).

    Linux 6.1.176 mm/filemap.c:1736-1767. With FAULT_FLAG_ALLOW_RETRY the mmap lock is
    dropped and the fault retried; the model has no mmap lock to drop.
    """
    if fault_flag_allow_retry_first(flags):  # FM-2
        if flags & FaultFlag.FAULT_FLAG_RETRY_NOWAIT:
            return False
        # mmap_read_unlock(mm) first, in the kernel
        if flags & FaultFlag.FAULT_FLAG_KILLABLE:
            folio_wait_locked_killable(k, folio)  # SIGKILL pending: back without waiting
        else:
            folio_wait_locked(k, folio)
        return False
    if flags & FaultFlag.FAULT_FLAG_KILLABLE:
        if __folio_lock_killable(k, folio):
            return False  # mmap_read_unlock(mm), in the kernel
    else:
        __folio_lock(k, folio)
    return True


def folio_lock_or_retry(k: Kernel, folio: Folio, flags: int) -> bool:
    """``folio_lock_or_retry`` (pagemap.h:1035-1040)."""
    return folio_trylock(folio) or __folio_lock_or_retry(k, folio, flags)


def folio_end_writeback(k: Kernel, folio: Folio) -> None:
    """End writeback: clear PG_reclaim (rotate), clear PG_writeback, wake (FM-3).

    Linux 6.1.176 mm/filemap.c:1620-1646. Clearing a writeback that was not set is the
    kernel's BUG() after ``__folio_end_writeback``.
    """
    if PageReclaim(folio):  # FM-3
        ClearPageReclaim(folio)  # folio_rotate_reclaimable: LRU order is not modelled
    if not PageWriteback(folio):
        raise KernelBug(f"folio_end_writeback without writeback: {folio!r}")
    folio.flags &= ~PG_writeback  # __folio_end_writeback
    if PageWaiters(folio):
        folio_wake_bit(k, folio, PG_writeback)


def end_page_writeback(k: Kernel, folio: Folio) -> None:
    """``end_page_writeback`` (mm/folio-compat.c:26-30), traced like the kprobe."""
    k.trace("end_page_writeback", page=folio.addr, pflags=folio.flags, entry=folio.private)
    with k.call("end_page_writeback"):
        folio_end_writeback(k, folio)


def folio_wait_writeback(k: Kernel, folio: Folio) -> None:
    """Wait for writeback to finish (mm/page-writeback.c:3054-3061)."""
    while PageWriteback(folio):
        folio_wait_bit_common(k, folio, PG_writeback, exclusive=False)


def page_endio(k: Kernel, folio: Folio, is_write: bool, err: int) -> None:
    """Finish a synchronous ``rw_page`` I/O (filemap.c:1655-1678)."""
    if not is_write:
        if not err:
            SetPageUptodate(folio)
        else:
            ClearPageUptodate(folio)
            SetPageError(folio)
        folio_unlock(k, folio)
    else:
        if err:
            SetPageError(folio)  # mapping_set_error: no address_space errors modelled
        folio_end_writeback(k, folio)
