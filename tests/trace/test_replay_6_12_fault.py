"""``do_swap_page`` of real Linux 6.12.118 captures replayed on the 6.12 model
(:meth:`kmodel.trace.replay_6_12.Replayer612.fault`): trace mutants flagged at their line
with the branch that decides them, planted bugs in the model's ``do_swap_page`` caught by
the unmodified captures, inputs counted unknown rather than checked."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from kmodel.include.linux.mm import VmFault
from kmodel.trace import check_trace
from kmodel.trace.check_6_12 import check_trace_6_12
from kmodel.trace.report import CheckReport, Divergence
from kmodel.v6_12.mm import memory as memory_612

V612 = Path(__file__).resolve().parents[1] / "data" / "traces" / "v6_12"
TRACES = sorted(V612.glob("*.trace.txt"))


def _lines(name: str) -> list[str]:
    return (V612 / f"{name}.trace.txt").read_text().splitlines(keepends=True)


def _report(lines: list[str]) -> CheckReport:
    return check_trace_6_12(io.StringIO("".join(lines)), name="mutant")


def _check(lines: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    return [(d.lineno, d.branches) for d in _report(lines).divergences]


def _first(lines: list[str], pattern: str, after: int = 0) -> int:
    return next(i for i, line in enumerate(lines) if i >= after and re.search(pattern, line))


def _fault(lines: list[str], inner: str | None, ret: str, after: int = 0) -> tuple[int, int]:
    """(index of a ``do_swap_page`` line, index of its ``do_swap_page_ret`` with ``ret``)
    of a task whose fault has ``inner`` as its next own event (None: no event between)."""
    i = after
    while True:
        i = _first(lines, r": do_swap_page: ", i)
        pid = re.search(r"-(\d+) ", lines[i])[1]  # type: ignore[index]
        j = _first(lines, rf"-{pid} .*: (do_swap_page_ret|swapin_readahead|swap_read_folio):",
                   i + 1)
        end = _first(lines, rf"-{pid} .*: do_swap_page_ret: ", i + 1)
        shape = None if j == end else re.search(r": (\w+): ", lines[j])[1]  # type: ignore[index]
        if shape == inner and lines[end].rstrip().endswith(f"ret={ret}"):
            return i, end
        i += 1


def _fault_replayed(report: CheckReport) -> None:
    assert "unknown:not-mapped-6.12:do_swap_page" not in report.counts
    assert "unknown:not-mapped-6.12:do_swap_page_ret" not in report.counts


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name.removesuffix(".trace.txt"))
def test_every_fault_of_a_real_6_12_capture_is_replayed(path: Path) -> None:
    report = check_trace(path)
    assert report.divergences == [], report.format()
    _fault_replayed(report)


# -- trace mutants ----------------------------------------------------------------------


def test_mutant_readahead_fault_without_major_is_flagged_DS_4() -> None:
    lines = _lines("basic")
    _, j = _fault(lines, "swapin_readahead", "0x4")
    lines[j] = lines[j].replace("ret=0x4", "ret=0x0")
    assert _check(lines)[0] == (j + 1, ("DS-4",))


def test_mutant_cache_hit_fault_returning_major_is_flagged_DS_4() -> None:
    """A fault that found its folio in the swap cache read nothing: no VM_FAULT_MAJOR."""
    lines = _lines("basic")
    _, j = _fault(lines, None, "0x0")
    lines[j] = lines[j].replace("ret=0x0", "ret=0x4")
    assert _check(lines)[0] == (j + 1, ("DS-4",))


def test_mutant_fault_on_a_failed_read_mapping_it_is_flagged_DS_7() -> None:
    """readerr_dmerror: swapin_readahead returns a folio whose read failed; the model's
    do_swap_page returns VM_FAULT_SIGBUS (DS-7), not a mapped page."""
    lines = _lines("readerr_dmerror")
    _, j = _fault(lines, "swapin_readahead", "0x2")
    assert _check(lines) == []
    lines[j] = lines[j].replace("ret=0x2", "ret=0x4")
    assert _check(lines)[0] == (j + 1, ("DS-7",))


def test_mutant_swapin_readahead_with_another_gfp_is_flagged_DS_2() -> None:
    lines = _lines("basic")
    i, _ = _fault(lines, "swapin_readahead", "0x4")
    k = _first(lines, r": swapin_readahead: ", i)
    lines[k] = lines[k].replace("gfp=0x100cca", "gfp=0x100dca")
    assert _check(lines)[0] == (k + 1, ("DS-2",))


def test_mutant_swapin_readahead_of_another_entry_is_flagged_DS_2() -> None:
    """swapin_readahead reads ahead around the faulting PTE's entry, no other."""
    lines = _lines("basic")
    i, _ = _fault(lines, "swapin_readahead", "0x4")
    k = _first(lines, r": swapin_readahead: ", i)
    entry = re.search(r"entry=(0x[0-9a-f]+)", lines[k])[1]  # type: ignore[index]
    lines[k] = lines[k].replace(f"entry={entry}", f"entry={int(entry, 16) + 1:#x}")
    assert (k + 1, ("DS-2",)) in _check(lines)


def test_lost_events_inside_a_fault_leave_it_unknown() -> None:
    lines = _lines("basic")
    i, j = _fault(lines, "swapin_readahead", "0x4")
    lines[j] = lines[j].replace("ret=0x4", "ret=0x0")  # would be DS-4
    lines.insert(i + 1, "CPU:0 [LOST 3 EVENTS]\n")
    report = _report(lines)
    assert report.divergences == []
    assert report.counts["unknown:not-replayed-6.12:call-cut-by-lost-events:do_swap_page"] >= 1


def test_a_fault_cut_by_the_trace_end_is_unknown() -> None:
    lines = _lines("basic")
    i, _ = _fault(lines, "swapin_readahead", "0x4")
    report = _report(lines[:i + 1])
    assert report.divergences == []
    assert report.counts["unknown:not-replayed-6.12:call-cut-by-end:do_swap_page"] == 1


def test_a_cache_hit_without_the_folio_in_the_trace_is_an_input() -> None:
    """A cached folio the trace never showed: its state (uptodate, unlocked) is assumed,
    and the fault's return counted unknown, not checked."""
    lines = _lines("basic")
    i, j = _fault(lines, None, "0x0")
    head = [line for line in lines if line.startswith("#")]
    report = _report(head + lines[i:j + 1])
    assert report.divergences == []
    assert report.counts["unknown:fault-cached-folio-state-assumed"] == 1


# -- planted bugs in the 6.12 model's do_swap_page ----------------------------------------


def _diverges(trace: str) -> Divergence:
    report = check_trace(V612 / f"{trace}.trace.txt")
    assert report.verdict_kind == "divergent", report.format()
    return report.divergences[0]


def test_planted_bug_wrong_return_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """do_swap_page forgetting VM_FAULT_MAJOR after a read (DS-4)."""
    out = memory_612._out
    monkeypatch.setattr(memory_612, "_out", lambda k, clear, si, entry, nr, ret: out(
        k, clear, si, entry, nr, ret & ~VmFault.VM_FAULT_MAJOR))
    first = _diverges("basic")
    assert first.branches == ("DS-4",) and ": do_swap_page_ret: " in first.line


def test_planted_bug_missing_folio_unlock(monkeypatch: pytest.MonkeyPatch) -> None:
    """do_swap_page mapping the folio without folio_unlock: the next fault of that folio
    (the trace shows it found in the swap cache) sleeps on the lock for good."""
    monkeypatch.setattr(memory_612, "folio_unlock", lambda k, folio: None)
    first = _diverges("basic")
    assert first.branches == ("DS-5",) and ": do_swap_page_ret: " in first.line
    assert "sleeps here on a folio lock" in first.message


def test_planted_bug_skipped_swap_cache_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """No swap_cache_get_folio: a fault the trace shows served from the swap cache reads
    ahead in the model (DS-2)."""
    monkeypatch.setattr(memory_612, "swap_cache_get_folio", lambda k, entry, vma, addr: None)
    first = _diverges("basic")
    assert first.branches == ("DS-2",) and ": do_swap_page_ret: " in first.line


def test_planted_bug_lock_never_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """folio_lock_or_retry always taking the lock: a fault that waited for its read and
    returned VM_FAULT_RETRY diverges (DS-5, FM-2)."""
    monkeypatch.setattr(memory_612, "folio_lock_or_retry", lambda k, folio, flags: True)
    first = _diverges("basic")
    assert first.branches == ("DS-5", "FM-2") and ": do_swap_page_ret: " in first.line


def test_planted_bug_synchronous_io_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """DS-1 never taken (every swap count looks shared): zram's faults, which read their
    folio themselves, diverge where the model reads ahead."""
    monkeypatch.setattr(memory_612, "__swap_count", lambda k, entry: 2)
    first = _diverges("zram")
    assert first.branches == ("DS-1", "DS-2") and ": swap_read_folio: " in first.line
