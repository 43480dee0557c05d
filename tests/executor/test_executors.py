"""The three executors give the same results; each hands control over where it should."""

from __future__ import annotations

import threading

import pytest

from kmodel import (
    BlkStatus,
    DeterministicExecutor,
    InlineExecutor,
    KmodelError,
    Machine,
    ThreadedExecutor,
    VmEvent,
)
from tests.helpers import PAGE, drain, pattern, read_error, slot_of

EXECUTORS = [InlineExecutor, DeterministicExecutor, ThreadedExecutor]


def run(executor: object, disk: str) -> tuple[list[bytes | None], dict[str, int]]:
    m = Machine(executor, disk=disk)  # type: ignore[arg-type]
    t = m.spawn()
    addr = m.mmap(t, 24)
    for i in range(24):
        m.store(t, addr + i * PAGE, pattern(i))
    m.reclaim()
    drain(m)
    m.reclaim()
    read_error(m, slot_of(m, t, addr + 17 * PAGE))
    data = [m.load(t, addr + i * PAGE) for i in range(24)]
    drain(m)
    counters = {e.value: n for e, n in m.k.vm_events.items()}
    assert m.quiescent()
    if isinstance(executor, ThreadedExecutor):
        executor.shutdown()
    return data, counters


@pytest.mark.parametrize("disk", ["virtio", "zram", "dm"])
def test_executors_agree(disk: str) -> None:
    results = [run(cls(), disk) for cls in EXECUTORS]
    assert results[0] == results[1] == results[2]
    data, counters = results[0]
    assert data[0] == pattern(0) and data[23] == pattern(23)
    assert None in data  # the read error reached someone
    assert counters["pswpout"] == 24


def test_threaded_completions_run_on_another_thread() -> None:
    ex = ThreadedExecutor()
    m = Machine(ex, page_cluster=0)
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, b"x")
    threads: set[str] = set()
    m.k.tracer = lambda e: threads.add(threading.current_thread().name) if e.softirq else None
    m.reclaim()
    ex.drain(m.k)
    m.reclaim()
    assert m.load(t, addr) == b"x"
    ex.shutdown()
    assert threads == {"kmodel-softirq"}


def test_deterministic_executor_completes_in_the_chosen_order_with_the_chosen_status() -> None:
    ex = DeterministicExecutor()
    m = Machine(ex)
    t = m.spawn()
    addr = m.mmap(t, 3)
    for i in range(3):
        m.store(t, addr + i * PAGE, pattern(i))
    for folio in m.mapped_folios(t):
        m.reclaim([folio])  # one plug each: three requests
    first, second, third = ex.pending
    ex.complete(m.k, third)
    ex.complete(m.k, first, BlkStatus.BLK_STS_IOERR)
    assert ex.pending == [second]
    with pytest.raises(KmodelError, match="is not pending"):
        ex.complete(m.k, first)
    ex.complete_all(m.k)
    with pytest.raises(KmodelError, match="no pending I/O"):
        ex.complete(m.k)
    assert m.k.vm_events[VmEvent.PSWPOUT] == 3
    assert any("Write-error" in line for _, line in m.k.printk_log)
