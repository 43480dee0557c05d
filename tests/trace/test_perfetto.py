"""The Perfetto (Chrome trace-event JSON) writer: structure, pairing and track order."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from kmodel.trace import parse_trace
from kmodel.trace.perfetto import write_perfetto
from kmodel.trace.simulate import simulate

from .conftest import real_trace_paths


def _write(text: str, divergences: list[tuple[int, str]], tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "trace.json"
    write_perfetto(parse_trace(io.StringIO(text), name="t"), divergences, out)
    doc = json.loads(out.read_text())
    events: list[dict[str, Any]] = doc["traceEvents"]
    return events


def _simulated(name: str = "readerr_blkdebug", events: int = 3000) -> str:
    out = io.StringIO()
    simulate(name, out, events=events)
    return out.getvalue()


def _check_structure(events: list[dict[str, Any]]) -> None:
    """Required keys; every "b" has one matching later "e"; ts never falls on a track."""
    open_: dict[tuple[str, int], int] = {}
    last_ts: dict[tuple[int, int], int] = defaultdict(int)
    for e in events:
        assert {"ph", "pid", "name"} <= e.keys(), e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and "name" in e["args"]
            continue
        assert isinstance(e["ts"], int) and "tid" in e, e
        track = (e["pid"], e["tid"])
        assert e["ts"] >= last_ts[track], e
        last_ts[track] = e["ts"]
        if e["ph"] == "b":
            assert (e["cat"], e["id"]) not in open_
            open_[(e["cat"], e["id"])] = e["ts"]
        elif e["ph"] == "e":
            assert e["ts"] >= open_.pop((e["cat"], e["id"]))
        elif e["ph"] == "X":
            assert e["dur"] >= 1
        else:
            assert e["ph"] == "i" and e["s"] in "tg", e
    assert not open_


def test_simulated_trace_has_cpu_task_bio_and_fault_tracks(tmp_path: Path) -> None:
    events = _write(_simulated(), [], tmp_path)
    _check_structure(events)
    names = {e["args"]["name"] for e in events if e["ph"] == "M"}
    assert {"CPU 0", "CPU 1", "swapper/1", "block I/O"} <= names
    assert any(n.startswith("memhog-") for n in names)
    cats = {e.get("cat") for e in events if e["ph"] == "b"}
    assert cats == {"bio", "fault"}
    errors = [e for e in events if e["ph"] == "e" and e["args"].get("bi_status") == "10"]
    assert errors  # the failed reads' bios end with their status


def test_real_traces_keep_the_structure(tmp_path: Path) -> None:
    for path in real_trace_paths():
        _check_structure(_write(path.read_text(), [], tmp_path))


def test_divergences_are_instants_at_their_line(tmp_path: Path) -> None:
    text = _simulated("basic", 300)
    lines = text.splitlines()
    lineno = next(i for i, x in enumerate(lines, 1) if "end_swap_bio_write" in x)
    events = _write(text, [(lineno, "bi_status differs"), (10_000_000, "after the end")], tmp_path)
    _check_structure(events)
    found = [e for e in events if e.get("cat") == "divergence"]
    assert [e["args"]["message"] for e in found] == ["bi_status differs", "after the end"]
    at_line = found[0]
    assert at_line["s"] == "t" and at_line["tid"] == 10_000_001  # swapper/1: the softirq
    ts = lines[lineno - 1].split(": ", 1)[0].rsplit(" ", 1)[1]
    assert at_line["ts"] == int(ts.replace(".", ""))


def test_unfinished_slices_are_closed_at_the_end(tmp_path: Path) -> None:
    text = _simulated("basic", 300)
    cut = "\n".join(x for x in text.splitlines() if "end_swap_bio" not in x and "_ret:" not in x)
    events = _write(cut, [], tmp_path)
    _check_structure(events)
    assert any(e["ph"] == "e" and e["args"].get("unfinished") for e in events)


def test_open_bio_slices_are_bounded(tmp_path: Path, monkeypatch: Any) -> None:
    """Bios that never complete: at most OPEN_MAX slices stay open; the oldest end early."""
    monkeypatch.setattr("kmodel.trace.perfetto.OPEN_MAX", 8)
    text = "".join(
        f"          memhog-7       (      7) [000] .....    1.{i:06d}: block_bio_queue: "
        f"254,0 R {8 * i} + 8 [memhog]\n" for i in range(50))
    events = _write(text, [], tmp_path)
    _check_structure(events)
    assert sum(1 for e in events if e["ph"] == "e") == 50
    open_, most = 0, 0
    for e in events:
        open_ += {"b": 1, "e": -1}.get(e["ph"], 0)
        most = max(most, open_)
    assert most == 8 + 1  # a new slice begins, then the oldest ends
