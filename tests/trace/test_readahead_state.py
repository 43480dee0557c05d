"""G2: the 6.1 readahead state carried through an untrimmed real trace.

``swapin_readahead_hits`` and swapin_nr_pages' ``prev_offset`` and ``last_readahead_pages``
(mm/swap_state.c:62, 573-575) are global, and every change of them is in code a trace shows: a
fault whose swap cache lookup finds a page with PG_readahead (a hit), and each cluster
readahead's ``swapin_nr_pages``. The checker keeps the model's state from one fault's replay
to the next (kmodel/trace/replay.py ``Replayer.ra``), and each page's PG_readahead as the
model's readahead left it, so the model predicts each window exactly; after a cut (a trimmed
trace, lost events, missed probe hits, a fault not replayed) the window is any the model gives
from some state, and the next windows re-synchronise the state.

Each planted bug is one of the mutation run's G2 survivors (docs/mutation.md): it makes the
whole fault-injection capture ``fi_function`` (pc 3, one CPU, untrimmed) diverge at a cluster
readahead fault whose window the carried state decides, where it conformed before.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from kmodel.kernel import Kernel
from kmodel.trace import CheckReport, check_trace
from kmodel.trace.parse import read_kprobe_profile
from tests.trace.model_mutations import ModelMutation, planted

FI = Path(__file__).parents[1] / "data" / "traces" / "fi"
WHOLE = FI / "whole" / "fi_function.trace.txt.xz"
TRIMMED = FI / "fi_function.trace.txt"
MISSED = read_kprobe_profile(FI / "fi_function.kprobe_profile.txt")
CARRIED = "the state carried through the trace"


def _mutant(name: str, function: str, old: str, new: str) -> ModelMutation:
    return ModelMutation(name, "kmodel.mm.swap_state", function, old, new, name)


#: __swapin_nr_pages without its hits == 0 case (swap_state.c:548), the brief's example.
PAGES_NE_2 = _mutant("pages_ne_2", "__swapin_nr_pages", "if pages == 2:", "if pages != 2:")
#: _readahead_one without SetPageReadahead (swap_state.c:650): no hit is ever counted.
NO_SET_READAHEAD = _mutant("no_set_readahead", "_readahead_one",
                           "SetPageReadahead(result.folio)", "pass")
#: swap_cache_get_folio counting a hit for a page without PG_readahead (swap_state.c:364).
HIT_NEGATED = _mutant("hit_negated", "swap_cache_get_folio",
                      "    if readahead:\n        k.count_vm_event",
                      "    if not readahead:\n        k.count_vm_event")
#: swapin_nr_pages not remembering its window (swap_state.c:587).
NO_LAST = _mutant("no_last", "swapin_nr_pages", "k.ra_last_pages = pages", "pass")


def _lines() -> list[str]:
    with lzma.open(WHOLE, "rt") as f:
        return f.read().splitlines()


def _check(path: Path = WHOLE) -> CheckReport:
    return check_trace(str(path), missed=MISSED)


TRACES = Path(__file__).parents[1] / "data" / "traces"
#: The untrimmed 6.1 captures (and the 6.1 counting-clock ones), each with its kprobe_profile.
UNTRIMMED = [*sorted((FI / "whole").glob("*.trace.txt.xz")),
             *sorted((TRACES / "slots").glob("*.trace.txt.xz")),
             *sorted((TRACES / "clocks").glob("*.trace.txt*"))]
#: Boot values of ``swapin_readahead_hits`` the model Kernel is given: 0, Linux's 4
#: (mm/swap_state.c:62 ``ATOMIC_INIT(4)``) and another. A trace never shows the state at its
#: start, so no verdict may depend on it (issue 10).
BOOT_HITS = (0, 4, 7)


def _boot_hits(monkeypatch: pytest.MonkeyPatch, hits: int) -> None:
    """Every model Kernel built from here on starts with ``swapin_readahead_hits = hits``."""
    init = Kernel.__init__

    def patched(self: Kernel, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.swapin_readahead_hits = hits

    monkeypatch.setattr(Kernel, "__init__", patched)


def _profile(trace: Path) -> dict[str, int]:
    return read_kprobe_profile(FI / f"{trace.name.split('.')[0]}.kprobe_profile.txt"
                               if trace.parent.name == "whole" else
                               trace.parent / f"{trace.name.split('.')[0]}.kprobe_profile.txt")


def _check_any(trace: Path) -> CheckReport:
    with (lzma.open(trace, "rt") if trace.suffix == ".xz" else trace.open()) as f:
        return check_trace(f, name=trace.name.removesuffix(".xz"), missed=_profile(trace))


@pytest.mark.parametrize("trace", UNTRIMMED, ids=lambda p: p.name.split(".")[0])
def test_no_verdict_depends_on_the_model_kernels_boot_readahead_state(
        trace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = []
    for hits in BOOT_HITS:
        _boot_hits(monkeypatch, hits)
        reports.append(_check_any(trace))
    for hits, report in zip(BOOT_HITS, reports, strict=True):
        assert report.conformant, (hits, report.verdict)
        # the same checks and unknowns, windows predicted from the carried state included
        assert report.counts == reports[0].counts, hits


def _cut(tmp_path: Path, lines: list[str], events: int) -> Path:
    """The trace without its first ``events`` events (its header kept): a capture that
    began later, mid-run."""
    head = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    path = tmp_path / f"cut{events}.trace.txt"
    path.write_text("\n".join([*head, *body[events:]]) + "\n")
    return path


MKREQ_WRITE = FI / "whole" / "fi_mkreq_write.trace.txt.xz"


@pytest.mark.parametrize("faults", [0, 5])
def test_a_trace_cut_at_its_start_conforms_whatever_the_boot_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faults: int) -> None:
    with lzma.open(MKREQ_WRITE, "rt") as f:
        lines = f.read().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    returns = [i for i, line in enumerate(body) if " do_swap_page_ret: " in line]
    first = next(i for i, line in enumerate(body) if " do_swap_page: " in line)
    # 300 events (swap-outs only, before the first fault), or through the return of the
    # trace's 6th fault (one CPU: no fault is open there), 2,086 events
    events = 300 if faults == 0 else returns[faults] + 1
    assert events < first if faults == 0 else " do_swap_page: " in body[events]
    path = _cut(tmp_path, lines, events)
    missed = read_kprobe_profile(FI / "fi_mkreq_write.kprobe_profile.txt")
    reports = []
    for hits in BOOT_HITS:
        _boot_hits(monkeypatch, hits)
        reports.append(check_trace(str(path), missed=missed))
    whole = 173  # the whole trace's windows predicted from the carried state
    for hits, report in zip(BOOT_HITS, reports, strict=True):
        assert report.conformant, (hits, report.verdict)
        assert report.counts == reports[0].counts, hits
        # the first window after the cut is enumerated; the state is carried from it on
        assert 0 < report.counts["checks:readahead-state"] <= whole
        with planted(PAGES_NE_2):
            planted_report = check_trace(str(path), missed=missed)
        assert planted_report.verdict_kind == "divergent", hits
        assert CARRIED in planted_report.divergences[0].message


def test_whole_trace_predicts_windows_from_the_carried_state() -> None:
    report = _check()
    assert report.conformant, report.verdict
    # all 7 cluster readaheads of the trace but the first (the state is not known before it)
    assert report.counts["checks:readahead-state"] == 6


def test_trimmed_trace_does_not_carry_the_state() -> None:
    # the trim drops other slots' faults: every window is any some state gives
    report = _check(TRIMMED)
    assert report.conformant, report.verdict
    assert "checks:readahead-state" not in report.counts
    with planted(PAGES_NE_2):
        assert _check(TRIMMED).conformant  # what the carried state catches, enumeration cannot


@pytest.mark.parametrize(("mutation", "lineno", "fault"), [
    (PAGES_NE_2, 1943, 1926),
    (NO_SET_READAHEAD, 1989, 1986),
    (HIT_NEGATED, 1989, 1986),
    (NO_LAST, 2021, 2016),
], ids=lambda v: v.name if isinstance(v, ModelMutation) else str(v))
@pytest.mark.parametrize("boot_hits", BOOT_HITS)
def test_planted_readahead_state_bug_diverges_at_its_window(
        mutation: ModelMutation, lineno: int, fault: int, boot_hits: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _boot_hits(monkeypatch, boot_hits)  # the trace does not show it: the same divergence
    lines = _lines()
    with planted(mutation):
        report = _check()
    assert report.verdict_kind == "divergent"
    first = report.divergences[0]
    assert first.lineno == lineno
    assert first.related == (fault,)
    assert " do_swap_page: " in lines[fault - 1]
    # the fault read its page through cluster readahead: its window is the carried state's
    assert " swap_cluster_readahead: " in "\n".join(lines[fault - 1:lineno])
    assert CARRIED in first.message


def test_missed_hits_of_a_fault_probe_stop_the_carry() -> None:
    missed = {**MISSED, "do_swap_page": 1}
    report = check_trace(str(WHOLE), missed=missed)
    assert report.conformant
    assert "checks:readahead-state" not in report.counts
    with planted(PAGES_NE_2):
        assert check_trace(str(WHOLE), missed=missed).conformant


def test_lost_events_cut_the_state_and_the_next_windows_resynchronise(tmp_path: Path) -> None:
    lines = _lines()
    fault = 1926  # the second cluster readahead's fault (the first planted divergence)
    assert " do_swap_page: " in lines[fault - 1]
    cut = [*lines[:fault - 1], "CPU:0 [LOST 1 EVENTS]", *lines[fault - 1:]]
    path = tmp_path / "fi_function.trace.txt"
    path.write_text("\n".join(cut) + "\n")
    report = _check(path)
    assert report.conformant, report.verdict
    # that fault's window is enumerated; the state is re-synchronised from it
    assert report.counts["checks:readahead-state"] == 5
    with planted(PAGES_NE_2):
        planted_report = _check(path)
    assert planted_report.verdict_kind == "divergent"
    # no longer at that fault (line 1943 + 1), at a later window of the re-synchronised state
    assert planted_report.divergences[0].lineno > 1944
    assert CARRIED in planted_report.divergences[0].message


# -- G6: 6.1 VMA readahead (swap_vma_readahead) --------------------------------------------

SSD = Path(__file__).parents[1] / "data" / "traces" / "ssd.trace.txt"

#: swap_use_vma_readahead giving no answer (None, falsy): cluster readahead on an SSD.
NO_VMA_READAHEAD = _mutant("no_vma_readahead", "swap_use_vma_readahead",
                           "return k.enable_vma_readahead and not k.nr_rotate_swap",
                           "return None")
#: swap_ra_clamp_pfn without the PMD (swap_state.c:704-707): the window starts at the fault.
NO_PMD_CLAMP = _mutant("no_pmd_clamp", "swap_vma_readahead",
                       "pmd = faddr & ~((1 << PMD_SHIFT) - 1)", "pmd = faddr")


def test_vma_readahead_faults_are_replayed() -> None:
    report = check_trace(str(SSD))
    assert report.conformant, report.verdict
    # 41 before VMA readahead was replayed (every fault through swap_vma_readahead)
    assert report.counts["unknown:fault-not-replayable"] == 5


def test_cluster_readahead_on_an_ssd_diverges_at_the_first_vma_readahead() -> None:
    with planted(NO_VMA_READAHEAD):
        report = check_trace(str(SSD))
    first = report.divergences[0]
    assert (first.lineno, first.related) == (976, (974,))
    assert "the model emits swap_cluster_readahead" in first.message


def test_a_window_not_clamped_to_the_pmd_diverges() -> None:
    with planted(NO_PMD_CLAMP):
        report = check_trace(str(SSD))
    first = report.divergences[0]
    # a fault 36 pages before its PMD's end read the PTE before it (-1..+1)
    assert (first.lineno, first.related) == (2095, (2094,))
    assert "reads no window around this fault holding the 3 PTEs" in first.message


def test_swap_ra_order_ceiling_deleted_is_a_model_raised_divergence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from kmodel.mm import swap_state

    monkeypatch.delattr(swap_state, "SWAP_RA_ORDER_CEILING")
    report = check_trace(str(SSD))
    first = report.divergences[0]
    assert first.lineno == 974 and first.kind == "model-raised"
    assert "NameError" in first.message and "swap_vma_readahead" in first.message
