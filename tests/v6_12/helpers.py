"""Helpers for the 6.12 tests: machines running the 6.12 model."""

from __future__ import annotations

from kmodel import DeterministicExecutor, Machine
from tests.helpers import PAGE, Recorder, drain, pattern

KERNEL = "6.12"


def machine(nr: int = 0, **kw: object) -> tuple[Machine, int, Recorder]:
    """A 6.12 machine whose task has ``nr`` distinct non-zero pages stored; tracing on."""
    kw.setdefault("kernel", KERNEL)
    kw.setdefault("executor", DeterministicExecutor())
    m = Machine(**kw)  # type: ignore[arg-type]
    t = m.spawn()
    addr = m.mmap(t, max(nr, 1))
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    rec = Recorder()
    m.k.tracer = rec
    m.task = t  # type: ignore[attr-defined]
    return m, addr, rec


def swapped_out_612(nr: int = 8, **kw: object) -> tuple[Machine, int, Recorder]:
    """A 6.12 machine whose task's ``nr`` pages are all swapped out; tracing on."""
    m, addr, rec = machine(nr, **kw)
    m.reclaim()
    drain(m)
    m.reclaim()
    assert not m.mapped_folios(m.task), "every page should be swapped out"  # type: ignore[attr-defined]
    rec.events.clear()
    return m, addr, rec
