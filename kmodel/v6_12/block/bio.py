"""On-stack bios and ``submit_bio_wait``: how 6.12's swap path does synchronous I/O.

Linux 6.12.118 block/bio.c:245-285 (bio_init), 1453-1481 (submit_bio_wait);
block/blk.h:83-93 (blk_wait_io); kernel/sched/completion.c folds in here
(``complete``, ``wait_for_completion_io``: the only completion the swap path waits on).
6.1's swap path has neither: its synchronous reader polled ``bi_private`` (6.1 RD-11).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kmodel.block.blk_core import blk_io_schedule, blk_status_to_errno, submit_bio
from kmodel.include.linux.blk_types import REQ_SYNC, Bio
from kmodel.include.linux.sched import TaskState, set_current_state, wake_up_process

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


@attrs.define(eq=False)
class Completion:
    """``struct completion``: a count of ``complete`` calls and the task waiting."""

    done: int = 0
    waiter: Task | None = None


def complete(k: Kernel, x: Completion) -> None:
    """Signal the completion and wake its waiter (BW-2).

    Linux 6.12.118 kernel/sched/completion.c:16-48 (complete_with_flags, complete).
    """
    x.done += 1
    if x.waiter is not None:  # swake_up_locked
        wake_up_process(k, x.waiter)


def wait_for_completion_io(k: Kernel, x: Completion) -> None:
    """Sleep in io_schedule until the completion is signalled (BW-1, BW-2).

    Linux 6.12.118 kernel/sched/completion.c:80-105 (``do_wait_for_common``). The hung-task
    timeout of ``blk_wait_io`` only re-enters this wait: the model has no hung-task timer.
    """
    if not x.done:  # BW-2: sleep until complete()
        x.waiter = k.current  # __prepare_to_swait
        while True:  # do { ... } while (!x->done), under x->wait.lock
            set_current_state(k, TaskState.TASK_UNINTERRUPTIBLE)
            blk_io_schedule(k)  # io_schedule_timeout
            if x.done:
                break
        x.waiter = None  # __finish_swait
        set_current_state(k, TaskState.TASK_RUNNING)
    # BW-1: already done (a bio-based driver ended the bio inside submit_bio).
    x.done -= 1


def bio_init(bdev: BlockDevice, opf: int) -> Bio:
    """Initialise a bio on the caller's stack: one reference, not from a bio set.

    Linux 6.12.118 block/bio.c:245-285. Such a bio is never ``bio_put``: it ends with
    its caller's frame, so it is not counted among the executor's live bios.
    """
    return Bio(bi_bdev=bdev, bi_opf=opf)


def submit_bio_wait(k: Kernel, bio: Bio) -> int:
    """Submit a bio and sleep until it completes; return its errno (BW-1..BW-3).

    Linux 6.12.118 block/bio.c:1469-1481.
    """
    done = Completion()  # DECLARE_COMPLETION_ONSTACK_MAP

    def submit_bio_wait_endio(k: Kernel, bio: Bio) -> None:
        """``complete(bio->bi_private)`` (block/bio.c:1453-1456)."""
        complete(k, done)

    k.trace("submit_bio_wait", bio=bio.addr)
    with k.call("submit_bio_wait"):
        # Python: Bio.bi_private holds a Task; the on-stack completion is bound to the
        # end_io function instead, which reads it as C reads bio->bi_private.
        bio.bi_end_io = submit_bio_wait_endio
        bio.bi_opf |= REQ_SYNC
        submit_bio(k, bio)
        with k.call("blk_wait_io"), k.call("wait_for_completion_io"):
            wait_for_completion_io(k, done)
        ret = blk_status_to_errno(bio.bi_status)  # BW-3
    k.trace("submit_bio_wait_ret", ret=ret)
    return ret
