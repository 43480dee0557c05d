"""The executor protocol: the model's only door to time and concurrency.

The core calls three things: ``submit`` when a driver receives I/O, ``schedule`` when a
task sleeps (``blk_io_schedule``, ``io_schedule`` in ``folio_wait_bit_common``), and
``wake`` when ``wake_up_process`` makes a sleeping task runnable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from kmodel.errors import KernelBug

if TYPE_CHECKING:
    from kmodel.include.linux.blk_types import Bio, BlkStatus
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


class Deadlock(KernelBug):
    """A task sleeps and nothing pending can ever wake it."""


class PendingIO(Protocol):
    """I/O handed to a driver: a block request, or a queued swap-file kiocb."""

    id: int

    def describe(self) -> str:
        """One line for reports and reproducers."""
        ...

    def default_status(self) -> BlkStatus:
        """The status the device gives unless the caller chooses one."""
        ...

    def complete(self, k: Kernel, status: BlkStatus | None = None) -> None:
        """Run the completion (softirq context) with ``status`` or the default."""
        ...


class Executor:
    """Base of the three executors: bookkeeping shared by all of them."""

    def __init__(self) -> None:
        #: Bios allocated and not yet freed, by id: empty when the system is quiescent.
        self.live_bios: dict[int, Bio] = {}
        self.completed: int = 0

    def submit(self, k: Kernel, io: PendingIO) -> None:
        """A driver received ``io``."""
        raise NotImplementedError

    def schedule(self, k: Kernel, task: Task) -> None:
        """``task`` sleeps until ``task.state`` is TASK_RUNNING again."""
        raise NotImplementedError

    def sleep_tick(self, k: Kernel, task: Task) -> None:
        """``schedule_timeout_uninterruptible(1)``: let one jiffy pass."""
        k.jiffies += 1

    def wake(self, k: Kernel, task: Task) -> None:
        """``task`` was made runnable (called by ``wake_up_process``)."""

    @property
    def pending(self) -> list[PendingIO]:
        """I/O submitted and not yet completed."""
        return []
