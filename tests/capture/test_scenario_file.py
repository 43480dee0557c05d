"""Custom scenarios from a TOML file: parsing, errors with file and line, the guest script."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kmodel.capture import cli, guest, run, scenario_file
from kmodel.capture.scenarios import Outcome
from kmodel.errors import KmodelError

GOOD = """\
# two custom scenarios
[[scenario]]
name = "ssd_pc1"
summary = "SSD, page-cluster 1"
rotational = "0"
setup = '''
PC0=$(cat /proc/sys/vm/page-cluster)
echo 1 > /proc/sys/vm/page-cluster
'''
teardown = "echo $PC0 > /proc/sys/vm/page-cluster"
expect = ['(?m)^# page-cluster: 1$', 'swap_readpage:']

[[scenario]]
name = "oom2"
outcome = "oom"
workload = "-m 4"
hogs = 2
misses_allowed = true
setup = "echo 1M > $CG/memory.swap.max"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_good_file_gives_scenarios_with_defaults(tmp_path: Path) -> None:
    first, second = scenario_file.load(_write(tmp_path, GOOD))
    assert first.name == "ssd_pc1" and first.outcome is Outcome.OK
    assert first.device == "@ktswap" and first.rotational == "0" and first.workload == "-m 1"
    assert first.setup.splitlines() == [
        "PC0=$(cat /proc/sys/vm/page-cluster)",
        "echo 1 > /proc/sys/vm/page-cluster",
    ]
    assert first.expect == ("(?m)^# page-cluster: 1$", "swap_readpage:")
    assert second.outcome is Outcome.OOM and second.hogs == 2 and second.misses_allowed
    assert second.summary == "custom scenario from mine.toml"


def test_custom_scenario_becomes_a_guest_script(tmp_path: Path) -> None:
    chosen = scenario_file.load(_write(tmp_path, GOOD))
    files = guest.guest_files(["/mod/a.ko"], list(chosen))
    script = files["/scen/ssd_pc1.sh"]
    assert "ROT=0" in script and "HOGS=1" in script
    assert "echo 1 > /proc/sys/vm/page-cluster" in script
    assert "HOGS=2" in files["/scen/oom2.sh"]
    assert "run_scenario ssd_pc1" in files["/init"] and "run_scenario oom2" in files["/init"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[scenario]]\nname = "x"\nfoo = 1\n', r"mine.toml:3: unknown key 'foo'; expected one of"),
        ('[[scenario]]\nname = "Bad-Name"\n', r"mine.toml:2: name must be a string matching"),
        ('[[scenario]]\nname = "basic"\n', r"mine.toml:2: scenario 'basic' is built in"),
        (
            '[[scenario]]\nname = "x"\noutcome = "boom"\n',
            r"mine.toml:3: outcome must be one of ok, read_error, write_error, oom, not 'boom'",
        ),
        ('[[scenario]]\nname = "x"\n\nexpect = ["(["]\n', r"mine.toml:4: expect: bad regular"),
        ('[[scenario]]\nname = "x"\nforbid = "y"\n', r"mine.toml:3: forbid must be a list"),
        ('[[scenario]]\nname = "x"\nsetup = 3\n', r"mine.toml:3: setup must be a string, not int"),
        ('[[scenario]]\nname = "x"\nhogs = 3\n', r"mine.toml:3: hogs must be 1 or 2"),
        (
            '[[scenario]]\nname = "x"\nmisses_allowed = "yes"\n',
            r"mine.toml:3: misses_allowed must be true or false",
        ),
        (
            '[[scenario]]\nname = "x"\n[[scenario]]\nname = "x"\n',
            r"mine.toml:4: scenario 'x' is defined twice",
        ),
        ('name = "x"\n', r"mine.toml:1: unknown top-level key 'name'"),
        ("# nothing\n", r"mine.toml:1: no \[\[scenario\]\] table"),
        ('[[scenario]]\nname = "x\n', r"mine.toml:2: not valid TOML"),
    ],
)
def test_bad_file_names_file_line_and_expectation(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(KmodelError, match=message):
        scenario_file.load(_write(tmp_path, text))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KmodelError, match=r"none.toml: cannot read the scenario file"):
        scenario_file.load(tmp_path / "none.toml")


def _capture_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kmodel")
    cli.register(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


def test_cli_runs_the_file_scenarios_or_the_named_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, GOOD)
    args = _capture_args(["capture", "--scenario-file", str(path)])
    assert [s.name for s in cli._chosen(args)] == ["ssd_pc1", "oom2"]
    args = _capture_args(["capture", "--scenario-file", str(path), "--scenario", "oom2,basic"])
    assert [s.name for s in cli._chosen(args)] == ["basic", "oom2"]


def test_cli_bad_scenario_file_is_exit_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, '[[scenario]]\nname = "x"\nhogs = 0\n')
    args = _capture_args(["capture", "--scenario-file", str(path), "-o", str(tmp_path)])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "mine.toml:3: hogs must be 1 or 2" in err and "Traceback" not in err


def test_cli_report_fails_on_a_divergent_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checked = run.Checked(
        False, "t: DIVERGENT: 1 divergence(s) in 9 events", 1, ("line 7: x",), 9, 0
    )
    report = run.Report("basic", 1.0, (), check=checked, events=9)

    def fake_capture(*args: object, **kwargs: object) -> run.Capture:
        return run.Capture(
            run.Kernel("linux-image-x", "1", Path("v"), Path("m")), 0.1, 5.0, (report,)
        )

    monkeypatch.setattr(run, "capture", fake_capture)
    args = _capture_args(["capture", "--scenario", "basic", "-o", str(tmp_path)])
    assert args.func(args) == 1
    captured = capsys.readouterr()
    assert "kmodel check: t: DIVERGENT: 1 divergence(s) in 9 events" in captured.out
    assert "line 7: x" in captured.out
    assert "0 scenario(s) failed, 1 trace(s) divergent" in captured.err
