"""The executor a state machine drives: deterministic, with hooks at sleeps and wakeups.

:class:`FuzzExecutor` is a :class:`~kmodel.executor.DeterministicExecutor` whose sleeping
task first offers the machine a turn (``on_sleep``: another task may run to completion, as
the scheduler would pick it while this one sleeps), and whose wakeups are reported at the
instant ``wake_up_process`` runs (``on_wake``), so a test sees the state a woken task would
see if it ran at once on another CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kmodel.executor.base import Deadlock
from kmodel.executor.deterministic import Chooser, DeterministicExecutor, fifo
from kmodel.include.linux.sched import TaskState

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel

Hook = Callable[["Kernel", "Task"], None]


def _running(task: Task) -> bool:
    return task.state == TaskState.TASK_RUNNING


class FuzzExecutor(DeterministicExecutor):
    """Deterministic completions with ``on_sleep``/``on_wake`` hooks and a livelock bound."""

    def __init__(self, chooser: Chooser = fifo, *, max_ticks: int = 1000) -> None:
        super().__init__(chooser)
        self.on_sleep: Hook | None = None
        self.on_wake: Hook | None = None
        #: Tasks inside :meth:`schedule`, innermost last.
        self.sleeping: list[Task] = []
        self.max_ticks = max_ticks
        self.ticks = 0

    def schedule(self, k: Kernel, task: Task) -> None:
        """Let the machine run something else, then complete chosen I/O until woken."""
        self.sleeping.append(task)
        try:
            while task.state != TaskState.TASK_RUNNING:
                if self.on_sleep is not None:
                    self.on_sleep(k, task)
                    if _running(task):  # the other task's I/O woke this one
                        break
                pending = self.pending
                if not pending:
                    raise Deadlock(f"{task!r} sleeps and no I/O is pending")
                choice = self.chooser(pending)
                if choice is not None:
                    self.complete(k, *choice)
        finally:
            self.sleeping.remove(task)

    def wake(self, k: Kernel, task: Task) -> None:
        """Report the wakeup to the machine while the waker is still running."""
        if self.on_wake is not None:
            self.on_wake(k, task)

    def sleep_tick(self, k: Kernel, task: Task) -> None:
        """One jiffy; a single-threaded run that keeps ticking can never make progress."""
        super().sleep_tick(k, task)
        self.ticks += 1
        if self.ticks > self.max_ticks:
            raise Deadlock(f"{task!r} still waiting after {self.ticks} ticks (livelock)")
