"""A model that never ends on a real trace's inputs is a divergence of kind ``model-runaway``
at the event, not a checker that never ends.

The second mutation run (docs/mutation.md) timed out on 4 mutants: ``folio_wait_bit_common``
looping without sleeping (its ``set_current_state`` or its ``schedule`` deleted) and
``__swapin_nr_pages``' roundup loop never ending. The checker's model runs have a budget
counted in model calls (a replay) or in Python steps (the readahead windows), 100 times the
most the committed real traces take; each test plants one of those loops.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType

import pytest

from kmodel.trace import check_trace
from kmodel.trace.parse import read_kprobe_profile
from kmodel.trace.report import (
    CALL_LIMIT,
    MEASURED_MAX_CALLS,
    MODEL_RUNAWAY,
    STEP_LIMIT,
    CallBudget,
    ModelRunaway,
    StepBudget,
)
from tests.trace.model_mutations import ModelMutation, planted

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"
BASIC = TRACES / "basic.trace.txt"
HOGS2 = TRACES / "conditions" / "hogs2.trace.txt"

#: folio_wait_bit_common never schedules: nothing completes the I/O it waits for.
NO_SCHEDULE = ModelMutation(
    "folio_wait_bit_common_no_schedule", "kmodel.mm.filemap", "folio_wait_bit_common",
    "k.executor.schedule(k, task)", "pass", "folio_wait_bit_common does not schedule")

#: __swapin_nr_pages' roundup never grows: a loop with no call in it.
ROUNDUP = ModelMutation(
    "swapin_nr_pages_roundup", "kmodel.mm.swap_state", "__swapin_nr_pages",
    "roundup <<= 1", "pass", "__swapin_nr_pages' roundup loop never ends")


def test_a_model_wait_that_never_ends_is_a_runaway_divergence() -> None:
    # hogs2: two tasks fault on the same page; the second waits for the first's read
    missed = read_kprobe_profile(TRACES / "conditions" / "hogs2.kprobe_profile.txt")
    assert check_trace(HOGS2, missed=missed).conformant
    with planted(NO_SCHEDULE):
        report = check_trace(HOGS2, missed=missed)
    assert report.verdict_kind == "divergent"
    runaway = [d for d in report.divergences if d.kind == MODEL_RUNAWAY]
    assert runaway, [d.kind for d in report.divergences]
    div = runaway[0]
    assert div.line == HOGS2.read_text().splitlines()[div.lineno - 1]
    # the fault whose read the model waits for: an event of a replayed fault
    assert any(f" {name}: " in div.line for name in (
        "do_swap_page", "swap_readpage", "swapin_readahead", "__read_swap_cache_async",
        "do_swap_page_ret", "swap_readpage_ret", "swapin_readahead_ret"))
    assert f"made {CALL_LIMIT + 1:,} calls without ending" in div.message
    assert "(in folio_wait_bit_common, kmodel/mm/filemap.py:" in div.message


def test_a_model_loop_with_no_call_in_it_is_a_runaway_divergence() -> None:
    with planted(ROUNDUP):
        report = check_trace(BASIC)
    runaway = [d for d in report.divergences if d.kind == MODEL_RUNAWAY]
    assert runaway, [(d.kind, d.message) for d in report.divergences]
    div = runaway[0]
    assert " do_swap_page: " in div.line  # the first cluster-readahead fault
    assert f"made {STEP_LIMIT + 1:,} steps without ending" in div.message
    assert "(in __swapin_nr_pages, kmodel/mm/swap_state.py:" in div.message


def test_the_budgets_are_far_above_every_committed_trace() -> None:
    # every committed real trace is conformant with them (tests/trace/test_real_traces*);
    # here: the limits are 100 times the measured maxima, and count, not time.
    assert CALL_LIMIT == 100 * MEASURED_MAX_CALLS >= 10_000
    chain = CallBudget(("handle_mm_fault",), limit=3)
    for func in ("a", "b", "c"):
        chain.append(func)
    with pytest.raises(ModelRunaway):
        chain.append("d")
    assert chain == ["handle_mm_fault", "a", "b", "c"]


def test_step_budget_puts_an_installed_tracer_back() -> None:
    seen: list[str] = []

    def tracer(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            seen.append(frame.f_code.co_name)

    def model_like() -> int:
        return 1

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with StepBudget(limit=1000) as budget:
            model_like()  # counted by the budget, not seen by the suspended tracer
        assert sys.gettrace() is tracer
        model_like()
    finally:
        sys.settrace(previous)
    assert seen.count("model_like") == 1
    assert budget.steps >= 1
