"""The 6.12 checker, as the 6.1 one (test_model_raised.py): a 6.12 model that raises while
``kmodel check`` runs it on a real 6.12 capture is a divergence of kind ``model-raised`` at
that event, checking stops, no traceback; an exception out of the checker's own code is an
internal error (CheckerBug, exit 2), not a divergence.

Each test plants a bug in a function of kmodel/v6_12 (tests/trace/model_mutations.py) and
checks a committed real 6.12 capture.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.trace import check_6_12, check_trace
from kmodel.trace.check_6_12 import Checker612, parse_event_line_6_12
from kmodel.trace.report import MODEL_RAISED, MODEL_RUNAWAY, CheckerBug
from tests.trace.model_mutations import ModelMutation, planted

V612 = Path(__file__).resolve().parents[1] / "data" / "traces" / "v6_12"
FLAKEY = V612 / "readerr_flakey.trace.txt"
BASIC = V612 / "basic.trace.txt"

#: The error branch of the 6.12 model's completion of a read (ER-1) uses a name it never set:
#: met only where the oracle runs ``__end_swap_bio_read`` on a failed bio (no replay fails one).
READ_ERROR_NAMEERROR = ModelMutation(
    "end_swap_bio_read_612_error_nameerror", "kmodel.v6_12.mm.page_io", "__end_swap_bio_read",
    'f"Read-error on swap-device ({_bio_dev(bio)})\\n"',
    'f"Read-error on swap-device ({_bio_dev(undefined_bio)})\\n"',
    "6.12 __end_swap_bio_read's error branch reads a name it never set")

#: A 6.12 model function returning None to its model caller, met in a read's replay.
READ_REPLAY_NONE = ModelMutation(
    "swap_read_folio_612_none", "kmodel.v6_12.mm.page_io", "_swap_read_folio",
    "workingset = PageWorkingset(folio)", "workingset = PageWorkingset(None)",
    "6.12 swap_read_folio tests the flags of None")

#: A 6.12 model bug met only in a fault's replay (kmodel/v6_12/mm/memory.py do_swap_page).
FAULT_NAMEERROR = ModelMutation(
    "do_swap_page_612_nameerror", "kmodel.v6_12.mm.memory", "do_swap_page",
    'k.trace("do_swap_page"', 'k.trace(undefined_name, "do_swap_page"',
    "6.12 do_swap_page uses a name it never set")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _first(lines: list[str], pattern: str) -> int:
    """The line number (from 1) of the first line matching ``pattern``."""
    return next(i for i, line in enumerate(lines, 1) if re.search(pattern, line))


def test_model_raising_in_a_completion_is_a_divergence_at_its_line() -> None:
    lines = _lines(FLAKEY)
    clean = check_trace(FLAKEY)
    assert clean.conformant
    with planted(READ_ERROR_NAMEERROR):
        report = check_trace(FLAKEY)
    assert report.verdict_kind == "divergent"
    (div,) = report.divergences  # checking stops: the model's state is no longer trusted
    # the first failed read's completion: the first place the planted branch runs
    assert div.lineno == _first(lines, r" __end_swap_bio_read: .* bi_status=[1-9]")
    assert div.kind == MODEL_RAISED and div.branches == ()
    assert div.line == lines[div.lineno - 1]
    assert report.stopped_at == div.lineno
    assert "NameError: name 'undefined_bio' is not defined in __end_swap_bio_read " \
           "(kmodel/v6_12/mm/page_io.py:" in div.message, div.message
    assert div.message.endswith("(Linux 6.12.118 model)")
    # every line is still read (and counted): checking stopped, reading did not
    assert report.counts["events"] == clean.counts["events"]


def test_model_raising_in_a_read_replay_is_a_divergence_at_the_read() -> None:
    lines = _lines(BASIC)
    with planted(READ_REPLAY_NONE):
        report = check_trace(BASIC)
    (div,) = report.divergences
    assert div.kind == MODEL_RAISED
    assert div.lineno == _first(lines, r" swap_read_folio: ")  # the replayed call's first event
    assert "AttributeError: 'NoneType' object has no attribute 'flags'" in div.message
    assert "kmodel/include/linux/page_flags.py:" in div.message  # where the model raised
    assert report.stopped_at == div.lineno


def test_model_raising_in_a_fault_replay_is_a_divergence_at_the_fault() -> None:
    lines = _lines(BASIC)
    with planted(FAULT_NAMEERROR):
        report = check_trace(BASIC, max_divergences=3)
    (div,) = report.divergences  # one, though three were allowed: checking stopped
    assert div.kind == MODEL_RAISED and div.branches == ()
    assert div.lineno == _first(lines, r" do_swap_page: ")
    assert "NameError: name 'undefined_name' is not defined in do_swap_page " \
           "(kmodel/v6_12/mm/memory.py:" in div.message, div.message


def test_model_raising_goes_through_the_cli_as_divergent(
        capsys: pytest.CaptureFixture[str]) -> None:
    with planted(READ_ERROR_NAMEERROR):
        status = main(["check", "--json", str(FLAKEY)])
    out, err = capsys.readouterr()
    assert status == 1, err
    assert "Traceback" not in out + err
    (div,) = json.loads(out)["files"][0]["divergences"]
    assert div["kind"] == MODEL_RAISED and "NameError" in div["message"]


def test_the_events_path_reports_the_same_line() -> None:
    with planted(READ_ERROR_NAMEERROR):
        from_file = check_trace(FLAKEY)
        events = [parse_event_line_6_12(line, str(FLAKEY), i)
                  for i, line in enumerate(_lines(FLAKEY), 1) if not line.startswith("#")]
        from_events = check_trace(iter(events), name="events", kernel="6.12")
    assert [(d.kind, d.lineno) for d in from_events.divergences] == \
        [(d.kind, d.lineno) for d in from_file.divergences]


def _planted_in(module: types.ModuleType, source: str) -> Callable[..., object]:
    """The function ``source`` defines, run as code of ``module`` (its globals)."""
    namespace: dict[str, object] = {}
    exec(compile(source, f"<planted in {module.__name__}>", "exec"), module.__dict__, namespace)
    (func,) = namespace.values()
    assert isinstance(func, types.FunctionType)
    return types.FunctionType(func.__code__, module.__dict__, func.__name__)


def test_an_exception_of_the_6_12_checker_is_an_internal_error_not_a_divergence(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    broken = _planted_in(check_6_12, "def broken(self, ev, line):\n"
                                     "    raise ZeroDivisionError('planted in the checker')\n")
    monkeypatch.setattr(Checker612, "_completion", broken)
    with pytest.raises(CheckerBug) as caught:
        check_trace(BASIC)
    text = str(caught.value)
    lineno = _first(_lines(BASIC), r" __end_swap_bio_(read|write): ")
    assert text.startswith(f"{BASIC}:{lineno}: internal error of kmodel's checker in broken "
                           "(kmodel.trace.check_6_12, line 2)"), text
    assert "ZeroDivisionError: planted in the checker" in text
    assert main(["check", str(BASIC)]) == 2
    out, err = capsys.readouterr()
    assert "internal error of kmodel's checker" in err and "Traceback" not in out + err


#: A 6.12 do_swap_page whose loop never ends (each turn enters a model function, as a wait
#: that never sleeps would): met in every fault's replay.
FAULT_RUNAWAY = ModelMutation(
    "do_swap_page_612_runaway", "kmodel.v6_12.mm.memory", "do_swap_page",
    'k.trace("do_swap_page"',
    'any(k.call("spin").__enter__() for _ in iter(int, 1)) or k.trace("do_swap_page"',
    "6.12 do_swap_page loops for ever")


def test_a_6_12_model_that_never_ends_is_a_runaway_divergence_at_the_fault() -> None:
    assert check_trace(BASIC).conformant
    with planted(FAULT_RUNAWAY):
        report = check_trace(BASIC)
    (div,) = report.divergences
    assert div.kind == MODEL_RUNAWAY
    assert div.lineno == _first(_lines(BASIC), r" do_swap_page: ")
    assert "calls without ending" in div.message and "kmodel/v6_12/mm/memory.py" in div.message
