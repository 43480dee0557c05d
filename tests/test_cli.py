"""The ``kmodel`` command imports only what the subcommand run uses."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kmodel
from kmodel.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "kmodel" / "data" / "traces" / "basic.trace.txt"


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_command_table_matches_what_the_packages_register() -> None:
    """Every registered subcommand is in COMMANDS, with its module and its help line."""
    full = _subcommands(build_parser())
    helps = {a.dest: a.help for a in full._choices_actions}
    assert helps == {name: help_ for name, (_, help_) in COMMANDS.items()}
    for name, (module, _) in COMMANDS.items():
        assert full.choices[name].get_default("func").__module__ == module


def _modules_after(argv: list[str]) -> set[str]:
    """The kmodel and Hypothesis modules a fresh interpreter holds after ``kmodel ARGV``."""
    code = ("import sys\nfrom kmodel.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('kmodel', 'hypothesis')), file=sys.stderr)")
    err = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         check=True, cwd=ROOT).stderr
    return set(err.split())


def test_version_imports_no_layer() -> None:
    assert _modules_after(["--version"]) == {"kmodel", "kmodel.cli"}


def test_version_imports_neither_typing_nor_shutil() -> None:
    """~2 ms each of ``kmodel --version`` (issue 12's start-up ratio)."""
    code = ("import sys\nfrom kmodel.cli import main\ntry:\n    main(['--version'])\n"
            "except SystemExit:\n    pass\n"
            "print([m for m in ('typing', 'shutil') if m in sys.modules], file=sys.stderr)")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stderr
    assert err.splitlines()[-1] == "[]"


def test_check_loads_neither_the_qemu_harness_nor_hypothesis() -> None:
    loaded = _modules_after(["check", str(TRACE)])
    assert "kmodel.trace.check" in loaded
    harness = {"kmodel.capture.cli", "kmodel.capture.run", "kmodel.capture.qemu",
               "kmodel.capture.initramfs", "kmodel.capture.kernel"}
    assert not loaded & harness
    assert not {m for m in loaded if m.startswith(("kmodel.testing", "hypothesis"))}


@pytest.mark.parametrize("columns", [None, "11", "37", "38", "39", "200"])
def test_version_without_argparse_prints_what_argparse_prints(columns: str | None) -> None:
    """``kmodel --version`` (no argparse) and argparse's version action: the same output
    and exit status at every width, the text wrapped (by argparse) or not."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    runs = []
    for call in ("main(['--version'])", "build_parser(()).parse_args(['--version'])"):
        code = ("import sys\nfrom kmodel.cli import build_parser, main\n"
                f"try:\n    {call}\nexcept SystemExit as e:\n    sys.exit(e.code)\n"
                "sys.exit(9)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, cwd=ROOT, check=False)
        runs.append((done.returncode, done.stdout, done.stderr))
    assert runs[0] == runs[1]
    assert runs[0][0] == 0
    version = f"kmodel {kmodel.__version__} (models Linux {kmodel.KERNEL_VERSION})"
    wrapped = columns is not None and int(columns) - 2 < len(version)
    assert (runs[0][1] == version + "\n") == (not wrapped)


def test_version_alone_imports_no_argparse() -> None:
    assert "argparse" not in _stdlib_after(["--version"])
    assert "argparse" in _stdlib_after(["--vers"])  # an abbreviation: argparse's


def _stdlib_after(argv: list[str]) -> set[str]:
    code = ("import sys\nfrom kmodel.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nprint(' '.join(sys.modules), file=sys.stderr)")
    err = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         check=True, cwd=ROOT).stderr
    return set(err.split())


def _collector_after(argv: list[str]) -> str:
    """``kmodel ARGV`` run as a process's command (``main()`` reads ``sys.argv``): whether
    the garbage collector is on after it, whether start-up's objects were frozen, whether
    the checker was imported at start-up."""
    code = ("import gc, sys\nfrom kmodel.cli import main\n"
            "sys.argv[1:] = sys.argv[2:]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(gc.isenabled(), gc.get_freeze_count() > 1000, "
            "'kmodel.trace.check' in sys.modules, file=sys.stderr)")
    return subprocess.run([sys.executable, "-c", code, "kmodel", *argv], capture_output=True,
                          text=True, check=True, cwd=ROOT).stderr.split("\n")[-2]


@pytest.mark.parametrize("argv", [["check", str(TRACE)], ["check", "--help"], ["--version"],
                                  ["check", "/nonexistent.trace.txt"]])
def test_the_collector_is_on_again_after_start_up(argv: list[str]) -> None:
    """The collector is off during start-up only; a check's modules are imported then."""
    enabled, frozen, checker = _collector_after(argv).split()
    assert enabled == "True"
    assert frozen == "True"
    assert checker == str(argv[0] == "check" and argv[1] != "--help")


def test_main_called_in_process_leaves_the_collector_alone() -> None:
    import gc

    before = gc.get_freeze_count()
    assert main(["check", "--max-divergences", "1", str(TRACE)]) == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == before


def test_simulate_loads_the_emitter_not_the_checker(tmp_path: Path) -> None:
    loaded = _modules_after(["simulate", "--scenario", "basic", "--events", "100", "-o",
                             str(tmp_path / "t.txt")])
    assert "kmodel.trace.simulate" in loaded
    assert "kmodel.trace.check" not in loaded


def test_help_lists_every_subcommand_without_importing_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name, (_, help_) in COMMANDS.items():
        assert f"{name}" in out and help_.split()[0] in out
    assert _modules_after(["--help"]) == {"kmodel", "kmodel.cli"}


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["chek"])
    assert exc.value.code == 2
    assert "invalid choice: 'chek'" in capsys.readouterr().err


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_a_reader_gone_away_is_no_traceback() -> None:
    # `kmodel check T | head`: the read end of the output pipe is closed before kmodel
    # writes (closed here before it starts, so the write fails whatever the timing)
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kmodel", "check",
             str(ROOT / "tests" / "data" / "traces" / "basic.trace.txt")],
            stdout=w, stderr=subprocess.PIPE, check=False, timeout=120)
    finally:
        os.close(w)
    assert proc.returncode == 141  # 128 + SIGPIPE, as a shell reports a command it killed
    assert b"Traceback" not in proc.stderr and b"Error" not in proc.stderr, proc.stderr
