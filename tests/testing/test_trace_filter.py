"""The fuzz hot path's shortcuts change nothing observable: a tracer that names the events it
wants gets exactly those events of an unfiltered run (same numbers, contexts, chains);
page-flag operators give the values enum's gave, and the helpers clear the same bits."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kmodel.executor.deterministic import DeterministicExecutor
from kmodel.include.linux import blk_types, mm_types
from kmodel.include.linux.mm_types import Folio
from kmodel.include.linux.page_flags import (
    NR_PAGEFLAGS,
    PAGEFLAGS_MASK,
    ClearPageReclaim,
    ClearPageUptodate,
    PageFlags,
    PageSwapCache,
    SetPageReadahead,
    TestClearPageReadahead,
)
from kmodel.kernel import ModelEvent
from kmodel.sim import Machine
from kmodel.testing.coverage import BRANCH_EVENTS
from kmodel.testing.machines import SwapIOMachine
from kmodel.testing.machines_6_12 import SwapIOMachine612

PAGE = 4096


def _workload(kernel: str, tracer: Callable[[ModelEvent], None],
              monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap pages out and fault them back in, with I/O left pending across a fault."""
    # Page frames and bios are numbered by module-level counters: start each run at 0.
    monkeypatch.setattr(mm_types, "_pfns", itertools.count(0x1000))
    monkeypatch.setattr(mm_types, "_vma_ids", itertools.count(0))
    monkeypatch.setattr(blk_types, "_bio_ids", itertools.count(1))
    m = Machine(DeterministicExecutor(), kernel=kernel, nr_pages=256)
    m.k.tracer = tracer
    task = m.spawn()
    base = m.mmap(task, 12)
    for i in range(12):
        m.store(task, base + i * PAGE, bytes([i + 1]) * 8)
    m.reclaim()
    m.k.executor.complete_all(m.k)  # type: ignore[attr-defined]
    m.reclaim()
    for i in (3, 4, 0, 11):
        assert m.load(task, base + i * PAGE) is not None


@pytest.mark.parametrize("kernel", ["6.1", "6.12"])
def test_filtered_tracer_gets_the_same_events_as_an_unfiltered_one(
        kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    every: list[ModelEvent] = []
    _workload(kernel, every.append, monkeypatch)
    names = {ev.name for ev in every}
    wanted = frozenset(sorted(names)[::2])  # half the names the run emits
    assert names - wanted and wanted

    got: list[ModelEvent] = []

    def tracer(ev: ModelEvent) -> None:
        got.append(ev)

    tracer.trace_events = wanted  # type: ignore[attr-defined]
    _workload(kernel, tracer, monkeypatch)
    # attrs equality: seq, args (6.12 pflags renumbered), pid, comm, cpu, softirq, chain.
    assert got == [ev for ev in every if ev.name in wanted]
    assert len(got) < len(every)


def test_the_fuzz_machine_asks_for_every_event_its_hook_reads() -> None:
    wanted = SwapIOMachine._on_event.trace_events  # type: ignore[attr-defined]
    assert wanted >= BRANCH_EVENTS
    assert wanted >= {"swap_writepage", "bdev_write_page", "bdev_write_page_ret",
                      "bdev_read_page_ret"}


_BITS = [int(flag) for flag in PageFlags.__members__.values()]
_VALUES = [0, 1, 5, PAGEFLAGS_MASK, 1 << NR_PAGEFLAGS | 3, (1 << 40) | (1 << 18) | 1]


def test_page_flag_operators_give_the_int_values() -> None:
    members = list(PageFlags.__members__.values())
    for a in members:
        for b in members + _VALUES:
            for got, want in ((a & b, int(a) & int(b)), (a | b, int(a) | int(b)),
                              (a ^ b, int(a) ^ int(b)), (b & a, int(b) & int(a)),
                              (b | a, int(b) | int(a)), (b ^ a, int(b) ^ int(a))):
                assert type(got) is int and got == want, (a, b)
    # ~ is enum's: the complement within the page flags' bits.
    assert int(~PageFlags.PG_reclaim) == PAGEFLAGS_MASK ^ int(PageFlags.PG_reclaim)
    assert isinstance(~PageFlags.PG_locked, PageFlags)


@pytest.mark.parametrize("flags", _VALUES)
def test_page_flag_helpers_change_the_bits_enum_changed(flags: int) -> None:
    folio = Folio(flags=flags)
    ClearPageReclaim(folio)
    assert folio.flags == flags & int(~PageFlags.PG_reclaim)  # high bits cleared too
    folio = Folio(flags=flags)
    ClearPageUptodate(folio)
    assert folio.flags == flags & int(~PageFlags.PG_uptodate)
    folio = Folio(flags=flags)
    SetPageReadahead(folio)
    assert folio.flags == flags | int(PageFlags.PG_readahead)
    assert TestClearPageReadahead(folio) is True
    assert folio.flags == (flags | int(PageFlags.PG_readahead)) & int(~PageFlags.PG_readahead)
    assert TestClearPageReadahead(folio) is False
    both = int(PageFlags.PG_swapbacked) | int(PageFlags.PG_swapcache)
    assert PageSwapCache(Folio(flags=flags)) is (flags & both == both)


def _state(machine: SwapIOMachine) -> tuple[object, ...]:
    return (sorted(machine.ends.items()), sorted(machine.wb_ends.items()),
            sorted(machine.write_failed), machine.read_errors, machine._rw_write_page,
            sorted(getattr(machine, "failed_reads", ())), sorted(type(machine).branches))


def _recording(base: type[SwapIOMachine]) -> type[SwapIOMachine]:
    """``base`` handed every event (its own ``_on_event`` names none), noting the names of
    those that changed what the machine records."""

    def _on_event(self: SwapIOMachine, ev: ModelEvent) -> None:
        before = _state(self)
        base._on_event(self, ev)
        recorder = type(self)
        recorder.seen.add(ev.name)  # type: ignore[attr-defined]
        if _state(self) != before:
            recorder.acting.add(ev.name)  # type: ignore[attr-defined]

    return type("Recording" + base.__name__, (base,), {
        "steps": 0, "branches": set(), "seen": set(), "acting": set(), "_on_event": _on_event})


@pytest.mark.parametrize("kernel", ["6.1", "6.12"])
def test_events_the_fuzz_machine_is_not_handed_change_nothing_it_records(kernel: str) -> None:
    base: type[SwapIOMachine] = SwapIOMachine612 if kernel == "6.12" else SwapIOMachine
    wanted = base._on_event.trace_events  # type: ignore[attr-defined]
    machine = _recording(base)
    run_state_machine_as_test(machine, settings=settings(  # type: ignore[no-untyped-call]
        settings.default, max_examples=40, stateful_step_count=30, database=None,
        derandomize=True, phases=[Phase.generate]))
    seen, acting = machine.seen, machine.acting  # type: ignore[attr-defined]
    assert acting, "no event changed anything"
    assert acting <= wanted, sorted(acting - wanted)
    assert seen - wanted, "every event was wanted: nothing filtered"
