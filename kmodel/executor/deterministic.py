"""Deterministic completion: pending I/O waits until the caller completes it.

A single thread runs everything. When a task sleeps, :meth:`schedule` completes pending
I/O chosen by ``chooser`` (FIFO by default) until the task is runnable; tests and
Hypothesis choose what completes, when, and with which status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kmodel.errors import KmodelError
from kmodel.executor.base import Deadlock, Executor, PendingIO
from kmodel.include.linux.sched import TaskState

if TYPE_CHECKING:
    from kmodel.include.linux.blk_types import BlkStatus
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel

#: Picks the next I/O to complete and its status (None: the device's default); or returns
#: None after making progress itself (completing I/O, running another task's steps).
Chooser = Callable[[list[PendingIO]], "tuple[PendingIO, BlkStatus | None] | None"]


def fifo(pending: list[PendingIO]) -> tuple[PendingIO, BlkStatus | None]:
    """Complete the oldest pending I/O with the device's status."""
    return pending[0], None


class DeterministicExecutor(Executor):
    """Completions happen only when asked for, in the order asked for."""

    def __init__(self, chooser: Chooser = fifo) -> None:
        super().__init__()
        self._pending: list[PendingIO] = []
        self.chooser = chooser

    @property
    def pending(self) -> list[PendingIO]:
        """I/O submitted and not yet completed, oldest first."""
        return list(self._pending)

    def submit(self, k: Kernel, io: PendingIO) -> None:
        """Queue ``io``."""
        self._pending.append(io)

    def complete(self, k: Kernel, io: PendingIO | None = None,
                 status: BlkStatus | None = None) -> PendingIO:
        """Complete ``io`` (default: the oldest) with ``status`` (default: the device's)."""
        if not self._pending:
            raise KmodelError("no pending I/O to complete")
        if io is None:
            io = self._pending[0]
        if io not in self._pending:
            raise KmodelError(f"I/O {io.describe()} is not pending")
        self._pending.remove(io)
        with k.lock:
            io.complete(k, status)
        self.completed += 1
        return io

    def complete_all(self, k: Kernel) -> int:
        """Complete everything pending (and anything completions submit), FIFO."""
        n = 0
        while self._pending:
            self.complete(k)
            n += 1
        return n

    def sleep_tick(self, k: Kernel, task: Task) -> None:
        """One jiffy passes; the oldest pending I/O (if any) completes meanwhile."""
        k.jiffies += 1
        if self._pending:
            choice = self.chooser(list(self._pending))
            if choice is not None:
                self.complete(k, *choice)

    def schedule(self, k: Kernel, task: Task) -> None:
        """Complete chosen I/O until ``task`` is runnable."""
        while task.state != TaskState.TASK_RUNNING:
            if not self._pending:
                raise Deadlock(f"{task!r} sleeps and no I/O is pending")
            choice = self.chooser(list(self._pending))
            if choice is not None:
                self.complete(k, *choice)
