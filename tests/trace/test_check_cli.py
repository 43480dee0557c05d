"""``kmodel check`` on the command line: exit status, text and JSON reports, bad input."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.trace.cli import bundled_traces
from tests.trace.mutations import MUTATIONS
from tests.trace.test_check import REAL_TRACES, ROOT, _lines, _readerr


def _mutant(tmp_path: Path, name: str = "hide_read_error") -> tuple[Path, int]:
    mutant = MUTATIONS[name](_lines(_readerr()))
    return mutant.write(tmp_path), mutant.lineno


def test_conformant_trace_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(REAL_TRACES[0])]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].endswith("0 divergences")


def test_no_files_checks_the_bundled_traces(capsys: pytest.CaptureFixture[str]) -> None:
    bundled = bundled_traces()
    assert bundled, "kmodel/data/traces holds no *.trace.txt"
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    for path in bundled:
        assert f"{path}: conformant" in out


def test_divergent_trace_exits_1_naming_line_branch_and_source(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, lineno = _mutant(tmp_path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:{lineno}: divergence [ER-1, PR-1] (mm/page_io.c:60" in out
    assert "allowed are only: console: Read-error on swap-device (" in out
    assert "DIVERGENT: 1 divergence(s)" in out


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, lineno = _mutant(tmp_path, "sigbus_to_success")
    assert main(["check", "--json", str(REAL_TRACES[0]), str(path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "divergent"
    good, bad = data["files"]
    assert (good["verdict"], bad["verdict"]) == ("conformant", "divergent")
    (div,) = bad["divergences"]
    assert (div["lineno"], div["branches"][0], div["allowed"][0]) == (lineno, "DS-7",
                                                                     "0x2 (SIGBUS)")


def test_max_divergences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(_readerr())
    for name in ("read_status_0_to_10", "hide_read_error", "queue_sector"):
        lines = list(MUTATIONS[name](lines).lines)
    path = tmp_path / "three.trace.txt"
    path.write_text("".join(lines))
    assert main(["check", "--json", "--max-divergences", "2", str(path)]) == 1
    (report,) = json.loads(capsys.readouterr().out)["files"]
    assert len(report["divergences"]) == 2
    assert report["stopped_at"] is not None


def test_bad_max_divergences_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--max-divergences", "0"])
    assert exit_.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.trace.txt")]) == 2
    err = capsys.readouterr().err
    assert "nope.trace.txt" in err and "Traceback" not in err


def test_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(8))
def test_fuzzed_bytes_exit_2_with_file_and_line(seed: int, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    path = tmp_path / "fuzz.trace.txt"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(4000)))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "Traceback" not in err


@pytest.mark.parametrize("seed", range(8))
def test_corrupted_real_trace_never_crashes(seed: int, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    data = bytearray(REAL_TRACES[0].read_bytes())
    for _ in range(20):
        data[rng.randrange(len(data))] = rng.randrange(32, 127)
    path = tmp_path / "corrupt.trace.txt"
    path.write_bytes(bytes(data))
    status = main(["check", str(path)])
    err = capsys.readouterr().err
    assert status in (0, 1, 2)
    if status == 2:
        assert f"{path}:" in err


def test_truncated_line_exits_2_naming_the_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(REAL_TRACES[0])
    index = next(i for i, line in enumerate(lines) if "swap_readpage: " in line)
    lines[index] = lines[index][: lines[index].index(" synchronous=")] + "\n"
    path = tmp_path / "truncated.trace.txt"
    path.write_text("".join(lines))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{index + 1}:" in err and "Traceback" not in err


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.trace.txt"
    bad.write_bytes(b"\xff\xfe not a trace\n")
    assert main(["check", str(bad), str(REAL_TRACES[0])]) == 2
    captured = capsys.readouterr()
    assert "conformant" in captured.out
    assert str(bad) in captured.err


def _perfetto_events(out: Path) -> list[dict[str, object]]:
    doc = json.loads(out.read_text())
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    events: list[dict[str, object]] = doc["traceEvents"]
    return events


def _assert_pairs_match(events: list[dict[str, object]]) -> None:
    """Every async "b" has exactly one later "e" with its category and id, and vice versa."""
    open_: dict[tuple[object, object], object] = {}
    for e in events:
        assert {"ph", "pid", "name"} <= e.keys(), e
        key = (e.get("cat"), e.get("id"))
        if e["ph"] == "b":
            assert key not in open_, e
            open_[key] = e["ts"]
        elif e["ph"] == "e":
            assert key in open_, e
            assert e["ts"] >= open_.pop(key)  # type: ignore[operator]
    assert not open_, f"unclosed slices: {sorted(map(str, open_))}"


def test_perfetto_writes_the_checked_trace(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    trace = bundled_traces()[0]
    out = tmp_path / "trace.json"
    assert main(["check", str(trace), "--perfetto", str(out)]) == 0
    assert "conformant" in capsys.readouterr().out
    events = _perfetto_events(out)
    _assert_pairs_match(events)
    instants = [e for e in events if e["ph"] == "i" and e.get("cat") != "divergence"]
    lines = _lines(trace)
    assert len(instants) == sum(1 for line in lines if line.strip() and line[0] != "#")
    assert {e["ph"] for e in events} >= {"M", "i", "b", "e", "X"}
    assert not [e for e in events if e.get("cat") == "divergence"]


def test_perfetto_shows_divergences_at_their_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path, lineno = _mutant(tmp_path)
    out = tmp_path / "mutant.json"
    assert main(["check", str(path), "--perfetto", str(out)]) == 1
    capsys.readouterr()
    events = _perfetto_events(out)
    _assert_pairs_match(events)
    (div,) = [e for e in events if e.get("cat") == "divergence"]
    assert div["args"]["line"] == lineno  # type: ignore[index]


def test_perfetto_takes_one_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.json"
    paths = [str(p) for p in REAL_TRACES[:2]]
    assert main(["check", *paths, "--perfetto", str(out)]) == 2
    assert "exactly one FILE" in capsys.readouterr().err
    assert not out.exists()


def test_perfetto_unwritable_output_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing-dir" / "x.json"
    assert main(["check", str(REAL_TRACES[0]), "--perfetto", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--perfetto" in err and "Traceback" not in err


# -- standard input, one pass ---------------------------------------------------------------


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, REAL_TRACES[0].read_bytes())
    assert main(["check", "-"]) == 0
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert verdict.startswith("<stdin>: conformant: ")


def test_dash_with_perfetto_reads_standard_input_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Once --perfetto read the file a second time: from stdin, an empty timeline."""
    trace = bundled_traces()[0]
    _stdin(monkeypatch, trace.read_bytes())
    out = tmp_path / "stdin.json"
    assert main(["check", "-", "--perfetto", str(out)]) == 0
    assert "<stdin>: conformant" in capsys.readouterr().out
    events = _perfetto_events(out)
    _assert_pairs_match(events)
    instants = [e for e in events if e["ph"] == "i" and e.get("cat") != "divergence"]
    assert len(instants) == sum(1 for line in _lines(trace) if line.strip() and line[0] != "#")


def test_perfetto_from_a_fifo(tmp_path: Path) -> None:
    """A FIFO can be read once: a second pass would block for ever."""
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "fifo.json"
    trace = bundled_traces()[0]
    script = f"cat {trace} > {fifo} & exec {sys.executable} -m kmodel check {fifo} --perfetto {out}"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert f"{fifo}: conformant" in done.stdout
    events = _perfetto_events(out)
    instants = [e for e in events if e["ph"] == "i" and e.get("cat") != "divergence"]
    assert len(instants) == sum(1 for line in _lines(trace) if line.strip() and line[0] != "#")


# -- what the verdict says -------------------------------------------------------------------


def test_events_read_counts_the_whole_file_when_stopping_early(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(_readerr())
    for name in ("read_status_0_to_10", "hide_read_error", "queue_sector"):
        lines = list(MUTATIONS[name](lines).lines)
    path = tmp_path / "three.trace.txt"
    path.write_text("".join(lines))
    assert main(["check", "--json", "--max-divergences", "1", str(path)]) == 1
    (report,) = json.loads(capsys.readouterr().out)["files"]
    assert report["stopped_at"] < len(lines) - 100  # stopped well before the end
    events = sum(1 for line in lines if line.strip() and not line.startswith("#"))
    assert report["counts"]["events"] == events
    assert f"{events} events read" in report["summary"]


def test_min_checked_fails_a_trace_checked_less(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    trace = str(REAL_TRACES[0])
    assert main(["check", "--json", trace]) == 0
    share = json.loads(capsys.readouterr().out)["files"][0]["checked_share"]
    assert 0 < share < 100
    assert main(["check", "--min-checked", f"{share - 1:.2f}", trace]) == 0
    capsys.readouterr()
    assert main(["check", "--min-checked", f"{min(100.0, share + 1):.2f}", trace]) == 3
    assert f"{trace}: UNDER-CHECKED: {share:.1f}% of events checked" in capsys.readouterr().out


def test_min_checked_takes_a_percentage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--min-checked", "101"])
    assert exit_.value.code == 2 and "percentage" in capsys.readouterr().err


# -- probe hits the kernel missed --------------------------------------------------------------


def _drop_writeback_ends(tmp_path: Path, count: int) -> tuple[Path, list[int]]:
    """A real trace without `count` of its end_page_writeback lines, as if the probe missed
    them; its kprobe_profile (beside it) says nothing was missed."""
    source = ROOT / "tests" / "data" / "traces" / "basic.trace.txt"
    lines = _lines(source)
    dropped = [i for i, line in enumerate(lines) if " end_page_writeback: " in line][5:5 + count]
    kept = [line for i, line in enumerate(lines) if i not in set(dropped)]
    path = tmp_path / "basic.trace.txt"
    path.write_text("".join(kept))
    shutil.copy(source.with_name("basic.kprobe_profile.txt"), tmp_path)
    return path, dropped


def _missed_profile(path: Path, probe: str, missed: int) -> str:
    out = []
    for line in path.read_text().splitlines():
        name, hits, _ = line.split()
        out.append(f"  {name:<44} {hits:>15} {missed if name == probe else 0:>15}")
    return "\n".join(out) + "\n"


def test_lost_probe_hits_diverge_without_the_profile(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _drop_writeback_ends(tmp_path, 3)
    assert main(["check", str(path)]) == 1
    assert "divergence [" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["beside", "beside-trace-cmd", "--kprobe-profile"])
def test_missed_probe_hits_are_unknown_not_divergent(how: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _drop_writeback_ends(tmp_path, 3)
    profile = _missed_profile(tmp_path / "basic.kprobe_profile.txt", "end_page_writeback", 3)
    if how.startswith("beside"):
        (tmp_path / "basic.kprobe_profile.txt").write_text(profile)
        if how == "beside-trace-cmd":  # kmodel capture --recorder trace-cmd's text, one run
            path = path.rename(tmp_path / "basic.trace-cmd.txt")
        args = [str(path)]
    else:
        given = tmp_path / "profile.txt"
        given.write_text(profile)
        args = [str(path), "--kprobe-profile", str(given)]
    assert main(["check", *args]) == 0
    out = capsys.readouterr().out
    assert "missed probe hits (kprobe_profile): end_page_writeback 3" in out
    assert "unknown (not checkable): " in out and "missed-hit:end_page_writeback" in out
    verdict = out.strip().splitlines()[-1]
    assert f"{path}: conformant: " in verdict and ", 3 missed probe hits, 0 divergences" in verdict


def test_a_bad_kprobe_profile_is_an_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _drop_writeback_ends(tmp_path, 0)
    (tmp_path / "basic.kprobe_profile.txt").write_text("  do_swap_page  12  -1\n")
    assert main(["check", str(path)]) == 2
    assert "basic.kprobe_profile.txt:1: expected 'EVENT HITS MISSES'" in capsys.readouterr().err


def test_lost_events_markers_are_counted(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(REAL_TRACES[0])
    lines.insert(len(lines) // 2, "CPU:1 [LOST 42 EVENTS]\n")
    path = tmp_path / "lost.trace.txt"
    path.write_text("".join(lines))
    assert main(["check", str(path)]) in (0, 3)
    out = capsys.readouterr().out
    assert "events ftrace lost (CPU:N [LOST M EVENTS]): 42" in out
    assert ", 42 missed probe hits" in out


# -- several files in parallel ------------------------------------------------------------------


def test_parallel_jobs_give_the_same_reports_in_the_same_order(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad, _ = _mutant(tmp_path)
    broken = tmp_path / "broken.trace.txt"
    broken.write_text("not a trace\n")
    files = [str(REAL_TRACES[0]), str(bad), str(broken), str(REAL_TRACES[1])]
    serial = main(["check", *files])
    out_serial = capsys.readouterr()
    parallel = main(["check", "-j", "2", *files])
    out_parallel = capsys.readouterr()
    assert serial == parallel == 2
    assert out_parallel.out == out_serial.out
    assert out_parallel.err == out_serial.err
