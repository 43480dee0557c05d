"""A model that raises while ``kmodel check`` runs it on a real trace is a divergence at that
event (kind ``model-raised``), not a traceback; an exception out of the checker's own code is an
internal error with a clear message, not a divergence.

The mutation run (docs/mutation.md) met 49 mutants of the model that crashed ``kmodel check``:
a deleted assignment (NameError), a ``return None`` (TypeError, AttributeError). Each test here
plants such a bug in the model and checks a committed real trace.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.trace import check_trace
from kmodel.trace.check import Checker
from kmodel.trace.parse import parse_trace
from kmodel.trace.report import DIVERGED, MODEL_RAISED, CheckerBug
from tests.trace.model_mutations import ModelMutation, planted

BASIC = Path(__file__).resolve().parents[1] / "data" / "traces" / "basic.trace.txt"
LINES = BASIC.read_text().splitlines()

#: A deleted assignment in the oracle's completion (kmodel/mm/page_io.py end_swap_bio_read).
READ_END_NAMEERROR = ModelMutation(
    "end_swap_bio_read_no_waiter", "kmodel.mm.page_io", "end_swap_bio_read",
    "waiter = bio.bi_private", "pass", "end_swap_bio_read reads a name it never set")

#: A function of the model returning None to its model caller (kmodel/block/bio.py
#: bio_first_page_all): the completion then reads ``None.flags``.
FIRST_PAGE_NONE = ModelMutation(
    "bio_first_page_all_none", "kmodel.block.bio", "bio_first_page_all",
    "return cast(\"Folio\", bio.page)", "return None", "bio_first_page_all returns None")

#: A model bug met only in a fault's replay (kmodel/mm/memory.py do_swap_page).
FAULT_NAMEERROR = ModelMutation(
    "do_swap_page_nameerror", "kmodel.mm.memory", "do_swap_page",
    'k.trace("do_swap_page"', 'k.trace(undefined_name, "do_swap_page"',
    "do_swap_page uses a name it never set")


def _planted_in(module: types.ModuleType, source: str) -> Callable[..., object]:
    """The function ``source`` defines, run as code of ``module`` (its globals: a frame of
    ``module``, as a bug in that module's own code would raise from)."""
    namespace: dict[str, object] = {}
    exec(compile(source, f"<planted in {module.__name__}>", "exec"), module.__dict__, namespace)
    (func,) = namespace.values()
    assert callable(func)
    return types.FunctionType(func.__code__, module.__dict__, func.__name__)  # type: ignore[attr-defined]


def _first(name: str) -> int:
    """The line number of the first ``name`` event of basic.trace.txt."""
    return next(i for i, line in enumerate(LINES, 1) if f" {name}: " in line)


def test_model_raising_in_a_completion_is_a_divergence_at_its_line() -> None:
    assert check_trace(BASIC).conformant
    with planted(READ_END_NAMEERROR):
        report = check_trace(BASIC)
    assert report.verdict_kind == "divergent"
    (div,) = report.divergences  # checking stops: the model's state is no longer trusted
    assert div.kind == MODEL_RAISED
    assert " end_swap_bio_read: " in LINES[div.lineno - 1]
    assert div.line == LINES[div.lineno - 1]
    assert report.stopped_at == div.lineno
    assert "NameError: name 'waiter' is not defined" in div.message
    assert "in end_swap_bio_read (kmodel/mm/page_io.py:" in div.message
    assert report.counts["events"] == sum(1 for _ in parse_trace(BASIC))  # the whole file


def test_model_returning_none_to_the_model_is_a_divergence() -> None:
    with planted(FIRST_PAGE_NONE):
        report = check_trace(BASIC)
    assert report.divergences, "a model whose bio has no page conforms"
    div = report.divergences[0]
    assert div.kind == MODEL_RAISED
    assert "AttributeError" in div.message and "'NoneType'" in div.message, div.message
    assert "kmodel/mm/page_io.py:" in div.message  # raised in the caller, end_swap_bio_*


def test_model_raising_in_a_replay_is_a_divergence_at_the_fault() -> None:
    with planted(FAULT_NAMEERROR):
        report = check_trace(BASIC, max_divergences=3)
    assert report.divergences
    first = report.divergences[0]
    assert first.kind == MODEL_RAISED
    assert " do_swap_page: " in LINES[first.lineno - 1]  # the fault's first event
    assert "NameError: name 'undefined_name' is not defined in do_swap_page " \
           "(kmodel/mm/memory.py:" in first.message, first.message
    assert first.branches == ()  # no branch of the model was reached: none is named
    assert "tie" not in first.message


def test_model_raising_goes_through_the_cli_as_divergent(
        capsys: pytest.CaptureFixture[str]) -> None:
    with planted(READ_END_NAMEERROR):
        status = main(["check", "--json", str(BASIC)])
    out, err = capsys.readouterr()
    assert status == 1, err
    assert "Traceback" not in out + err
    data = json.loads(out)
    (div,) = data["files"][0]["divergences"]
    assert div["kind"] == MODEL_RAISED and "NameError" in div["message"]


def test_an_exception_of_the_checker_is_an_internal_error_not_a_divergence(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from kmodel.trace import check

    broken = _planted_in(check, "def broken(self, ev):\n"
                                "    raise ZeroDivisionError('planted in the checker')\n")
    monkeypatch.setattr(Checker, "_end_swap_bio_read", broken)
    # the handler table is built per Checker from the bound methods: a new one sees the patch
    with pytest.raises(CheckerBug) as caught:
        check_trace(BASIC)
    text = str(caught.value)
    lineno = _first("end_swap_bio_read")
    assert text.startswith(f"{BASIC}:{lineno}: internal error of kmodel's checker in broken "
                           "(kmodel.trace.check, line 2)"), text
    assert "ZeroDivisionError: planted in the checker" in text
    assert LINES[lineno - 1].strip()[:100] in text
    assert main(["check", str(BASIC)]) == 2
    out, err = capsys.readouterr()
    assert "internal error of kmodel's checker" in err and "Traceback" not in out + err


def test_an_exception_of_the_checker_in_a_replay_is_no_divergence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The replay's own code (kmodel/trace/replay.py) called back from the model raises: the
    innermost kmodel frame is the checker's, so it is an internal error, not model-raised."""
    from kmodel.trace import replay

    broken = _planted_in(replay, "def broken(self, ev):\n"
                                 "    raise KeyError('planted in the replay')\n")
    monkeypatch.setattr(replay._Run, "_on_event", broken)
    with pytest.raises(CheckerBug, match="internal error of kmodel's checker in broken"):
        check_trace(BASIC)


def test_divergence_kinds_in_text_and_json() -> None:
    with planted(READ_END_NAMEERROR):
        report = check_trace(BASIC)
    (div,) = report.divergences
    assert div.format().startswith(f"{BASIC}:{div.lineno}: divergence (model-raised)\n")
    assert json.loads(report.to_json())["divergences"][0]["kind"] == MODEL_RAISED
    edited = check_trace(iter(parse_trace(BASIC)), name="events")
    assert edited.conformant  # the events path: the same, without a model bug
    with planted(READ_END_NAMEERROR):
        events = check_trace(iter(parse_trace(BASIC)), name="events")
    assert [(d.kind, d.lineno) for d in events.divergences] == [(MODEL_RAISED, div.lineno)]
    assert DIVERGED != MODEL_RAISED


#: ``return None`` at the model's boundary: do_swap_page's return value, which the replay
#: compares with the trace's do_swap_page_ret (the checker died comparing None before).
FAULT_RETURNS_NONE = ModelMutation(
    "do_swap_page_returns_none", "kmodel.mm.memory", "_do_swap_page",
    "        swapcache_clear(k, si, entry)\n    return ret",
    "        swapcache_clear(k, si, entry)\n    return None", "_do_swap_page returns None")


def test_a_model_returning_none_to_the_checker_is_a_divergence() -> None:
    with planted(FAULT_RETURNS_NONE):
        report = check_trace(BASIC, max_divergences=1)
    assert report.divergences, "a do_swap_page returning None conforms"
    first = report.divergences[0]
    assert " do_swap_page_ret: " in LINES[first.lineno - 1]
    assert "the model's do_swap_page_ret has ret=None, which no probe prints" in first.message


#: ``return None`` out of __swapin_nr_pages: the replay runs swapin_nr_pages over the
#: readahead states to learn the windows the model allows (the checker died sorting None
#: windows: a crash of the mutation run at c3a9697).
NO_WINDOW = ModelMutation(
    "swapin_nr_pages_none", "kmodel.mm.swap_state", "__swapin_nr_pages",
    "return max(pages, last_ra)", "return None", "__swapin_nr_pages returns None")


def test_a_model_giving_no_readahead_window_diverges_at_the_fault() -> None:
    with planted(NO_WINDOW):
        report = check_trace(BASIC, max_divergences=1)
    assert report.divergences, "a model without readahead windows conforms"
    first = report.divergences[0]
    assert " do_swap_page: " in LINES[first.lineno - 1]
    assert "swapin_nr_pages returns None in every readahead state" in first.message


#: ``return None`` out of swap_page_sector, which the replay asks for the sector a fault's
#: bios must show (the checker died subtracting None: a crash of the mutation run at c3a9697).
NO_SECTOR = ModelMutation(
    "swap_page_sector_none", "kmodel.mm.swapfile", "swap_page_sector",
    "return sector << (PAGE_SHIFT - 9)", "return None", "swap_page_sector returns None")


def test_a_model_giving_no_sector_diverges() -> None:
    with planted(NO_SECTOR):  # every divergence: the replays come after the first 20
        report = check_trace(BASIC, max_divergences=1 << 20)
    replays = [d for d in report.divergences if "is None, no sector" in d.message]
    assert replays, [d.message for d in report.divergences[:3]]
    assert all(" do_swap_page: " in LINES[d.lineno - 1] or " swap_writepage: "
               in LINES[d.lineno - 1] for d in replays)
