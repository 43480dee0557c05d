"""The 6.12 model takes the paths a real 6.12.118 kernel took, event for event.

``kmodel check`` does not read 6.12 traces yet; this compares *shapes*: the sequence of probed
events inside one ``swap_writepage`` or ``swap_read_folio`` call (in the task that made it), and
inside one completion (softirq), as the real captures in ``tests/data/traces/v6_12`` show them
and as the model emits them for the same scenario. Both sides must have the same set of shapes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

from kmodel import DeterministicExecutor, Machine, ModelEvent
from tests.helpers import PAGE, drain

TRACES = Path(__file__).resolve().parent.parent / "data" / "traces" / "v6_12"
LINE = re.compile(r"^\s*(?P<comm>.+?)-(?P<pid>\d+)\s+\(.*?\)\s+\[(?P<cpu>\d+)\]\s+"
                  r"(?P<flags>\S{5})\s+[\d.]+: (?P<name>[\w.]+):")

OUT = ("swap_writepage", "swap_writepage_ret",
       {"zswap_store", "zswap_store_ret", "__swap_writepage", "swap_writepage_bdev_sync",
        "__end_swap_bio_write", "folio_end_writeback"})
IN = ("swap_read_folio", "swap_read_folio_ret",
      {"zswap_load", "zswap_load_ret", "swap_read_folio_bdev_sync", "__end_swap_bio_read"})
ENDS = {"end_swap_bio_write", "__end_swap_bio_write", "folio_end_writeback",
        "end_swap_bio_read", "__end_swap_bio_read"}

Event = tuple[str, str, bool]  # (task or cpu key, event name, softirq)


def _real(name: str) -> list[Event]:
    events = []
    for line in (TRACES / f"{name}.trace.txt").read_text().splitlines():
        m = LINE.match(line)
        if m is None:
            continue
        softirq = m["flags"][2] == "s"
        key = f"cpu{m['cpu']}" if softirq else m["pid"]
        events.append((key, m["name"], softirq))
    return events


def _model(events: Iterable[ModelEvent]) -> list[Event]:
    return [(f"cpu{e.cpu}" if e.softirq else str(e.pid), e.name, e.softirq) for e in events]


def shapes(events: list[Event]) -> set[tuple[str, ...]]:
    """Every call shape (OUT, IN in process context) and completion shape (softirq)."""
    found: set[tuple[str, ...]] = set()
    open_: dict[tuple[str, str], list[str]] = {}
    ends: dict[str, list[str]] = defaultdict(list)
    for key, name, softirq in events:
        for first, last, inner in (OUT, IN):
            if not softirq and name == first:
                open_[(key, first)] = [name]
            elif not softirq and (key, first) in open_ and (name in inner or name == last):
                open_[(key, first)].append(name)
                if name == last:
                    found.add(tuple(open_.pop((key, first))))
        if softirq:
            if name in ("end_swap_bio_write", "end_swap_bio_read") and ends[key]:
                found.add(tuple(ends.pop(key)))
            if name in ENDS:
                ends[key].append(name)
    found |= {tuple(seq) for seq in ends.values() if seq}
    return found


def _run(disk: str, *, zero_every: int, zswap: bool = False) -> list[Event]:
    """Swap 32 pages out and back in; every ``zero_every``-th is all zeroes (a real
    workload's untouched pages: every capture swaps some out)."""
    m = Machine(DeterministicExecutor(), disk=disk, page_cluster=3, kernel="6.12")
    m.k.zswap = {} if zswap else None
    events: list[ModelEvent] = []
    m.k.tracer = events.append
    t = m.spawn()
    addr = m.mmap(t, 32)
    for i in range(32):
        zero = zero_every and i % zero_every == 0
        m.store(t, addr + i * PAGE, b"" if zero else b"page %d" % i)
    m.reclaim()
    drain(m)
    m.reclaim()
    for i in range(32):
        m.load(t, addr + i * PAGE)
    drain(m)
    return _model(events)


@pytest.mark.parametrize(("scenario", "disk", "zero_every", "zswap"),
                         [("zeromap", "virtio", 2, False), ("basic", "virtio", 4, False),
                          ("zram", "zram", 4, False), ("brd", "brd", 4, False),
                          ("ssd", "ssd", 4, False), ("readerr_blkdebug", "virtio", 4, False),
                          ("zswap", "virtio", 0, True)])
def test_model_paths_have_the_real_kernels_shapes(scenario: str, disk: str, zero_every: int,
                                                   zswap: bool) -> None:
    real = shapes(_real(scenario))
    model = shapes(_run(disk, zero_every=zero_every, zswap=zswap))
    assert real, f"no swap paths found in {scenario}.trace.txt"
    assert model == real, (f"{scenario}: only in the model {sorted(model - real)}; "
                           f"only in the real trace {sorted(real - model)}")


def _fault_flags(lines: Iterable[str]) -> set[tuple[int, int]]:
    """(fault_flags, ret) of every user-space do_swap_page (FAULT_FLAG_USER) in a trace."""
    pairs = set()
    flags: dict[str, int] = {}
    for line in lines:
        m = LINE.match(line)
        if m is None:
            continue
        if m["name"] == "do_swap_page":
            flags[m["pid"]] = int(re.search(r"fault_flags=(\w+)", line)[1], 16)  # type: ignore[index]
        elif m["name"] == "do_swap_page_ret" and m["pid"] in flags:
            value = flags.pop(m["pid"])
            if value & 0x40:
                pairs.add((value, int(re.search(r"ret=(\w+)", line)[1], 16)))  # type: ignore[index]
    return pairs


def test_model_faults_carry_the_real_kernels_fault_flags() -> None:
    """First try under the VMA lock (0x1a54 read, 0x1a55 write), the retry after a major
    0x404 with FAULT_FLAG_TRIED and without the VMA lock (0xa74/0xa75): every (flags, ret) the
    model gives was seen in the real 6.12 captures."""
    real: set[tuple[int, int]] = set()
    for trace in sorted(TRACES.glob("*.trace.txt")):
        real |= _fault_flags(trace.read_text().splitlines())
    m = Machine(DeterministicExecutor(), disk="virtio", page_cluster=3, kernel="6.12")
    events: list[ModelEvent] = []
    t = m.spawn()
    addr = m.mmap(t, 32)
    for i in range(32):
        m.store(t, addr + i * PAGE, b"page %d" % i)
    m.reclaim()
    drain(m)
    m.reclaim()
    m.k.tracer = events.append
    for i in range(32):
        if i % 2:
            m.store(t, addr + i * PAGE, b"new %d" % i)
        else:
            m.load(t, addr + i * PAGE)
    lines = [f"x-{e.pid} (x) [000] ..... 1.0: {e.name}: "
             + " ".join(f"{k}={v:#x}" for k, v in e.args if isinstance(v, int))
             for e in events if e.name in ("do_swap_page", "do_swap_page_ret")]
    model = _fault_flags(lines)
    assert {(0x1A54, 0x404), (0xA74, 0x0), (0x1A55, 0x404), (0xA75, 0x0)} <= model
    assert model <= real, f"fault flags/returns the real kernel never showed: {model - real}"


def test_model_page_flags_are_the_real_kernels_but_for_lru_batching() -> None:
    """Every ``pflags`` the model traces (in 6.12's bit layout) occurs at the same probe in
    the real captures, once PG_lru and PG_active are masked: 6.12 (MGLRU on in Debian 13)
    sets PG_active on a faulted-in folio and PG_lru only when the per-CPU lru_add batch
    drains; the model, like its 6.1 side, puts folios on the LRU at once (no LRU order)."""
    from kmodel.v6_12.include.linux.page_flags import PAGEFLAGS_MASK_6_12, PageFlags612

    mask = PAGEFLAGS_MASK_6_12 & ~(PageFlags612.PG_lru | PageFlags612.PG_active)
    real: dict[str, set[int]] = defaultdict(set)
    for scenario in ("basic", "zeromap", "ssd", "zram", "readerr_blkdebug"):
        for line in (TRACES / f"{scenario}.trace.txt").read_text().splitlines():
            m = LINE.match(line)
            flags = re.search(r"pflags=(\w+)", line)
            if m is not None and flags is not None:
                real[m["name"]].add(int(flags[1], 16) & mask)
    model: dict[str, set[int]] = defaultdict(set)
    for disk in ("virtio", "ssd", "zram"):
        m = Machine(DeterministicExecutor(), disk=disk, page_cluster=3, kernel="6.12")
        events: list[ModelEvent] = []
        t = m.spawn()
        addr = m.mmap(t, 32)
        for i in range(32):
            m.store(t, addr + i * PAGE, b"" if i % 4 == 0 else b"page %d" % i)
        m.k.tracer = events.append
        m.reclaim()
        drain(m)
        m.reclaim()
        for i in range(32):
            m.load(t, addr + i * PAGE)
        drain(m)
        for e in events:
            if any(key == "pflags" for key, _ in e.args):
                model[e.name].add(int(e.arg("pflags")) & mask)
    assert len(model) >= 10
    for name, values in model.items():
        assert values <= real[name], (
            f"{name}: pflags {sorted(map(hex, values - real[name]))} never seen in the real "
            f"traces ({sorted(map(hex, real[name]))})")
