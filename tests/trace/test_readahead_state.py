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
def test_planted_readahead_state_bug_diverges_at_its_window(
        mutation: ModelMutation, lineno: int, fault: int) -> None:
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
