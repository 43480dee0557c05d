"""Threaded completion: a worker thread completes I/O, like softirq on another CPU.

Model code runs under the kernel's lock (``k.lock``), a big kernel lock: a task holds it
while it runs and gives it up only while asleep in :meth:`schedule`, so interleavings
happen exactly at the kernel's sleeping points, as without preemption. A sleeping task
waits on a condition variable of that lock until ``wake_up_process`` marks it runnable —
the kernel's set_current_state/wake protocol, so a wakeup before the sleep is not lost.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING

from kmodel.executor.base import Deadlock, Executor, PendingIO
from kmodel.include.linux.sched import TaskState

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


class ThreadedExecutor(Executor):
    """Completions on a daemon worker thread; sleeping tasks really block."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        super().__init__()
        self.timeout = timeout
        self._queue: queue.Queue[tuple[Kernel, PendingIO] | None] = queue.Queue()
        self._inflight: list[PendingIO] = []
        self._cond: threading.Condition | None = None
        self._worker = threading.Thread(target=self._run, name="kmodel-softirq", daemon=True)
        self._started = False
        self.errors: list[BaseException] = []
        #: Completions wait while this is clear: tests hold I/O in flight with it.
        self.gate = threading.Event()
        self.gate.set()

    def _condition(self, k: Kernel) -> threading.Condition:
        if self._cond is None:
            self._cond = threading.Condition(k.lock)
        return self._cond

    @property
    def pending(self) -> list[PendingIO]:
        """I/O submitted and not yet completed."""
        return list(self._inflight)

    def submit(self, k: Kernel, io: PendingIO) -> None:
        """Hand ``io`` to the worker thread."""
        self._condition(k)
        if not self._started:
            self._started = True
            self._worker.start()
        self._inflight.append(io)
        self._queue.put((k, io))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            k, io = item
            self.gate.wait()
            with self._condition(k):
                try:
                    io.complete(k)
                except BaseException as exc:  # reported to the waiting side
                    self.errors.append(exc)
                self._inflight.remove(io)
                self.completed += 1
                self._condition(k).notify_all()

    def schedule(self, k: Kernel, task: Task) -> None:
        """Block this thread (releasing the kernel lock) until ``task`` is woken."""
        cond = self._condition(k)
        with cond:
            while task.state != TaskState.TASK_RUNNING:
                if self.errors:
                    raise self.errors[0]
                if not cond.wait(self.timeout):
                    raise Deadlock(f"{task!r} not woken within {self.timeout}s")

    def sleep_tick(self, k: Kernel, task: Task) -> None:
        """One jiffy passes; other threads run meanwhile (the kernel lock is released)."""
        cond = self._condition(k)
        with cond:
            k.jiffies += 1
            cond.wait(0.004)

    def wake(self, k: Kernel, task: Task) -> None:
        """Wake every sleeper; each re-checks its own state."""
        cond = self._condition(k)
        with cond:
            cond.notify_all()

    def drain(self, k: Kernel) -> None:
        """Wait until every submitted I/O has completed."""
        cond = self._condition(k)
        with cond:
            while self._inflight:
                if self.errors:
                    raise self.errors[0]
                if not cond.wait(self.timeout):
                    raise Deadlock(f"I/O still in flight after {self.timeout}s")

    def shutdown(self) -> None:
        """Stop the worker thread."""
        if self._started:
            self._queue.put(None)
            self._worker.join(self.timeout)
