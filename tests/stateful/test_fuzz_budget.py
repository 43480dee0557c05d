"""``kmodel fuzz --seconds N`` stops within one example of its budget, on a fake clock.

No timing is measured: ``run`` takes the clock, and the tests count the examples run.
"""

from __future__ import annotations

import re

import pytest
from hypothesis.stateful import invariant

from kmodel.cli import build_parser
from kmodel.testing import machines
from kmodel.testing.cli import run


def _args(*argv: str) -> object:
    return build_parser(["fuzz"]).parse_args(["fuzz", "--no-db", "--machine", "virtio", *argv])


def test_budget_is_checked_before_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    """A clock that advances 1 s per reading (0: start, 1: the round's check, 2-4: three
    examples' checks): the budget of 5 s is spent at the example after, so the round (100
    examples under ``ci``) stops after three, and the report's reading is 6."""
    ticks = iter(range(1000))
    status = run(_args("--seconds", "5", "--profile", "ci"),  # type: ignore[arg-type]
                 clock=lambda: float(next(ticks)))
    out = capsys.readouterr().out
    assert status == 0
    assert re.search(r"^1 rounds, 3 examples, \d+ steps in 6\.0s", out, re.M), out


def test_examples_cut_short_by_hypothesis_are_not_failures(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Under ``nightly`` (80 steps) Hypothesis ends some examples early (StopTest, its
    buffer is full); they are not failures, so the budget still stops the round: readings
    2-39 start 38 examples, the 40th reading stops it."""
    ticks = iter(range(1000))
    args = build_parser(["fuzz"]).parse_args(
        ["fuzz", "--no-db", "--machine", "swapio", "--seconds", "40", "--profile", "nightly"])
    status = run(args, clock=lambda: float(next(ticks)))
    out = capsys.readouterr().out
    assert status == 0
    assert re.search(r"^1 rounds, 38 examples, \d+ steps in 41\.0s", out, re.M), out
    assert machines.SwapIOMachine.failed_examples == 0


def test_budget_runs_from_the_command_start(capsys: pytest.CaptureFixture[str]) -> None:
    """``kmodel.cli.main`` stamps ``args.started``: time spent before ``run`` (imports)
    counts, so a budget already spent by then runs no example."""
    args = _args("--seconds", "5", "--profile", "ci")
    args.started = -5.0  # type: ignore[attr-defined]
    ticks = iter(range(1000))
    status = run(args, clock=lambda: float(next(ticks)))  # type: ignore[arg-type]
    assert status == 0
    assert re.search(r"^0 rounds, 0 examples, 0 steps", capsys.readouterr().out, re.M)


class _FailsOnFirstStep(machines.VirtioMachine):  # type: ignore[misc,valid-type]
    """Breaks an invariant as soon as a step has run (a failure that shrinks quickly)."""

    @invariant()
    def planted(self) -> None:
        if self.m is not None and self.users:
            raise machines.InvariantViolation("planted failure")


def test_a_failure_found_is_shrunk_and_reported_past_the_budget(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Once an example has failed, the budget no longer stops the round: the clock jumps
    past it at the first failure, and the minimal failure is still reported."""
    monkeypatch.setattr(machines, "VirtioMachine", _FailsOnFirstStep)

    def clock() -> float:
        return 1000.0 if _FailsOnFirstStep.failed_examples else 0.0

    status = run(_args("--seconds", "60", "--profile", "ci"), clock=clock)  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert status == 1
    assert "FAILED in round 1" in captured.err and "planted failure" in captured.err
    assert "reproduce: kmodel fuzz --machine virtio" in captured.err
    assert _FailsOnFirstStep.failed_examples > 1  # the first failure, then the shrinker's
