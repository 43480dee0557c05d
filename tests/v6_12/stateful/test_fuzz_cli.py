"""``kmodel fuzz --kernel 6.12``: the same runner, the 6.12 machines, on a fake clock."""

from __future__ import annotations

import re

import pytest
from hypothesis.stateful import invariant

from kmodel.cli import build_parser
from kmodel.testing import machines_6_12
from kmodel.testing.cli import run


def _args(*argv: str) -> object:
    return build_parser(["fuzz"]).parse_args(
        ["fuzz", "--no-db", "--kernel", "6.12", "--machine", "virtio", *argv])


def test_fuzz_runs_the_6_12_machine(capsys: pytest.CaptureFixture[str]) -> None:
    ticks = iter(range(1000))
    status = run(_args("--seconds", "5", "--profile", "ci"),  # type: ignore[arg-type]
                 clock=lambda: float(next(ticks)))
    out = capsys.readouterr().out
    assert status == 0
    assert "machine virtio (SwapIOMachine612_virtio)" in out
    assert re.search(r"^1 rounds, 3 examples, \d+ steps", out, re.M), out


class _FailsOnFirstStep(machines_6_12.VirtioMachine612):  # type: ignore[misc,valid-type]
    @invariant()
    def planted(self) -> None:
        if self.m is not None and self.users:
            raise machines_6_12.InvariantViolation("planted 6.12 failure")


def test_a_6_12_failure_is_reported_with_its_kernel(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machines_6_12, "VirtioMachine612", _FailsOnFirstStep)

    def clock() -> float:
        return 1000.0 if _FailsOnFirstStep.failed_examples else 0.0

    status = run(_args("--seconds", "60", "--profile", "ci"), clock=clock)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert status == 1
    assert "planted 6.12 failure" in err
    assert "reproduce: kmodel fuzz --kernel 6.12 --machine virtio" in err
