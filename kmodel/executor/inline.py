"""Inline completion: the driver completes I/O before ``submit_bio`` returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.executor.base import Deadlock, Executor, PendingIO
from kmodel.include.linux.sched import TaskState

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


class InlineExecutor(Executor):
    """Every submitted I/O completes at once, with the device's own status."""

    def submit(self, k: Kernel, io: PendingIO) -> None:
        """Complete ``io`` now (a softirq that runs on the submitting CPU at once)."""
        io.complete(k)
        self.completed += 1

    def schedule(self, k: Kernel, task: Task) -> None:
        """Nothing is ever in flight, so a sleeping task could only sleep forever."""
        if task.state != TaskState.TASK_RUNNING:
            raise Deadlock(f"{task!r} sleeps with no I/O in flight (inline executor)")
