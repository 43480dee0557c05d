"""The capture and probes subcommands: registration, user errors without tracebacks."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kmodel.capture import cli, hosttools, scenarios


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kmodel")
    cli.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


def test_list_prints_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["capture", "--list"]) == 0
    out = capsys.readouterr().out
    for s in scenarios.SCENARIOS:
        assert s.name in out
    lines = out.splitlines()
    for s in scenarios.STATUS_SCENARIOS:  # listed, and said to be outside the default set
        line = next(line for line in lines if line.startswith(s.name + " "))
        assert "not in the default set" in line


def test_unknown_scenario_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert _run(["capture", "--scenario", "basic,nope", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario(s): nope" in err and "Traceback" not in err


def test_missing_tools_are_named_with_the_install_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        hosttools, "missing_packages", lambda: [("qemu-system-x86_64", "qemu-system-x86")]
    )
    assert (
        _run(["capture", "--scenario", "basic", "-o", str(tmp_path), "--cache", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert "qemu-system-x86_64 (package qemu-system-x86)" in err
    assert "scripts/setup-capture.sh" in err
    assert "apt-get install -y --no-install-recommends qemu-system-x86" in err


def test_probes_prints_a_tracefs_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["probes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!/bin/sh")
    assert "pahole" in out and "/sys/kernel/btf/vmlinux" in out
    assert "echo 'p:kt/end_swap_bio_read end_swap_bio_read " in out


def test_probes_with_missing_pahole_file_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _run(["probes", "--pahole", str(tmp_path / "none.txt")]) == 2
    assert "kmodel probes: error:" in capsys.readouterr().err


def test_default_cache_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMODEL_CACHE", "/somewhere")
    assert cli.default_cache() == Path("/somewhere")
    monkeypatch.delenv("KMODEL_CACHE")
    assert cli.default_cache() == Path.home() / ".cache" / "kmodel"
