"""Shared helpers for the model's tests: a trace recorder and a swapped-out machine."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kmodel import (
    BadRange,
    BlkStatus,
    DeterministicExecutor,
    Executor,
    Folio,
    Machine,
    ModelEvent,
    Task,
)
from kmodel.executor.base import PendingIO
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE

PAGE = 4096


class Recorder:
    """Collects the model's trace events."""

    def __init__(self) -> None:
        self.events: list[ModelEvent] = []

    def __call__(self, event: ModelEvent) -> None:
        self.events.append(event)

    def of(self, name: str) -> list[ModelEvent]:
        """Events with this name, in order."""
        return [e for e in self.events if e.name == name]

    def names(self) -> list[str]:
        """Every event name, in order."""
        return [e.name for e in self.events]

    def rets(self, name: str) -> list[int]:
        """The ``ret`` of every ``<name>_ret`` event."""
        return [int(e.arg("ret")) for e in self.of(name + "_ret")]

    def console(self) -> list[str]:
        """Console lines printed."""
        return [str(e.arg("msg")) for e in self.of("console")]


def pattern(i: int) -> bytes:
    """A per-page pattern like the capture workload's."""
    return f"page {i:05d} ".encode() * 4


def swapped_out(nr: int = 8, *, disk: str = "virtio", executor: Executor | None = None,
                page_cluster: int = 3, **kw: object) -> tuple[Machine, Task, int, Recorder]:
    """A machine whose task has ``nr`` pages written, reclaimed and written to swap.

    Writes complete (the deterministic executor's queue is drained) and a second reclaim
    pass frees the clean pages, so every PTE is a swap PTE. Tracing starts afterwards.
    """
    m = Machine(executor if executor is not None else DeterministicExecutor(), disk=disk,
                page_cluster=page_cluster, **kw)  # type: ignore[arg-type]
    t = m.spawn()
    addr = m.mmap(t, nr)
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    m.reclaim()
    drain(m)
    m.reclaim()
    assert not m.mapped_folios(t), "every page should be swapped out"
    rec = Recorder()
    m.k.tracer = rec
    return m, t, addr, rec


def drain(m: Machine) -> None:
    """Complete everything pending (deterministic executor) or wait (threaded)."""
    ex = m.k.executor
    if isinstance(ex, DeterministicExecutor):
        ex.complete_all(m.k)
    elif hasattr(ex, "drain"):
        ex.drain(m.k)


def read_error(m: Machine, slot: int, status: BlkStatus = BlkStatus.BLK_STS_IOERR) -> None:
    """Reads of ``slot`` fail at completion (QEMU blkdebug / scsi_debug style)."""
    m.bdev.completion_errors.append(BadRange(slot * 8, slot * 8 + 8, REQ_OP_READ, status))


def write_error(m: Machine, slot: int, *, at_submit: bool = False) -> None:
    """Writes of ``slot`` fail at completion, or at submission like dm-flakey."""
    bad = BadRange(slot * 8, slot * 8 + 8, REQ_OP_WRITE)
    (m.bdev.submit_errors if at_submit else m.bdev.completion_errors).append(bad)


def slot_of(m: Machine, task: Task, addr: int) -> int:
    """The swap slot a task's swap PTE points at."""
    from kmodel import SwapEntry

    assert task.mm is not None
    pte = task.mm.ptes[addr]
    assert isinstance(pte, int), f"{addr:#x} is not swapped out"
    return SwapEntry.from_pte(pte).offset


def cached(m: Machine, slot: int) -> Folio | None:
    """The swap cache folio of a slot, if any."""
    return m.k.swap_cache.get((0, slot))


def pending(m: Machine) -> list[PendingIO]:
    """Pending I/O of the machine's executor."""
    return m.k.executor.pending


def start_until_asleep(m: Machine, task: Task, action: Callable[[], object]) -> threading.Thread:
    """Run ``action`` on a thread; return once ``task`` sleeps with I/O in flight (<= 10 s)."""
    from kmodel import TaskState

    thread = threading.Thread(target=action)
    thread.start()
    for _ in range(10_000):
        if task.state == TaskState.TASK_UNINTERRUPTIBLE and m.k.executor.pending:
            return thread
        thread.join(0.001)
    raise AssertionError(f"{task.comm} never slept on its read")


def wait_until(condition: Callable[[], bool], thread: threading.Thread, what: str) -> None:
    """Return once ``condition`` holds while ``thread`` runs (<= 10 s), else fail naming it.

    Waiting for the state itself, not for a time, keeps coverage off the OS scheduler.
    """
    for _ in range(10_000):
        if condition():
            return
        thread.join(0.001)
    raise AssertionError(f"never happened: {what}")
