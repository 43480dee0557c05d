"""The 6.12 model's events carry the names and arguments of the 6.12 capture's kprobes
(:mod:`kmodel.capture.probes612`), so a 6.12 trace and the model speak the same events."""

from __future__ import annotations

from kmodel import DeterministicExecutor, Machine, ModelEvent, SwapEntry
from kmodel.capture.probes612 import PROBES
from kmodel.v6_12.mm.swap_state import read_swap_cache_async
from tests.helpers import PAGE, drain, pattern
from tests.mm.test_page_io_fs import FakeSwapFile

#: Event name -> the probe's argument names, in order.
PROBED = {p.function: tuple(a.name for a in p.args) for p in PROBES}
PROBED |= {p.function + "_ret": tuple(a.name for a in p.ret) for p in PROBES if p.ret is not None}


def _workload(m: Machine, *, zero: bool = False) -> None:
    t = m.spawn()
    addr = m.mmap(t, 4)
    for i in range(4):
        m.store(t, addr + i * PAGE, b"" if zero and i == 1 else pattern(i))
    m.reclaim()
    drain(m)
    m.reclaim()
    for i in range(4):
        m.load(t, addr + i * PAGE)
    with m.k.running(t), m.k.lock:
        m.reclaim()
        drain(m)
        m.reclaim()
        assert t.mm is not None
        pte = t.mm.ptes[addr]
        if isinstance(pte, int):
            read_swap_cache_async(m.k, SwapEntry.from_pte(pte), None, addr, None)
    drain(m)


def _events() -> list[ModelEvent]:
    events: list[ModelEvent] = []
    for kw in ({"disk": "virtio"}, {"disk": "zram"}, {"disk": "ssd"},
               {"swap_file": FakeSwapFile()}):
        for zswap in (False, True):
            m = Machine(DeterministicExecutor(), kernel="6.12", **kw)  # type: ignore[arg-type]
            m.k.zswap = {} if zswap else None
            m.k.tracer = events.append
            _workload(m, zero=True)
    return events


def test_every_probed_event_has_the_probes_arguments() -> None:
    events = _events()
    seen: dict[str, tuple[str, ...]] = {}
    for ev in events:
        if ev.name in PROBED:
            seen.setdefault(ev.name, tuple(key for key, _ in ev.args))
    for name, args in seen.items():
        assert args == PROBED[name], f"{name}: model {args}, probes612 {PROBED[name]}"
    # Every probed event of the swap path is emitted (add_swap_extent is swapon's, 6.1's).
    assert set(PROBED) - set(seen) == {"add_swap_extent", "add_swap_extent_ret"}
