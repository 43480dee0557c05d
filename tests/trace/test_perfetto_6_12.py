"""``kmodel check --perfetto`` of Linux 6.12 traces: the timeline 6.1 traces get, validated the
way tests/trace/test_perfetto_valid.py validates 6.1's (tracks named, slices paired, every
event an instant on its task, divergences on their task at their time)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.trace import TraceEvent
from kmodel.trace.check_6_12 import check_trace_6_12
from tests.trace.test_perfetto_valid import Json, validate

V612 = Path(__file__).resolve().parents[1] / "data" / "traces" / "v6_12"


def _perfetto(tmp_path: Path, trace: Path) -> tuple[Json, list[TraceEvent], list[int]]:
    out = tmp_path / "out.json"
    status = main(["check", str(trace), "--perfetto", str(out)])
    events: list[TraceEvent] = []
    report = check_trace_6_12(trace, tee=lambda e: events.append(e)
                              if isinstance(e, TraceEvent) else None)
    assert status == (0 if report.conformant else 1)
    return json.loads(out.read_text()), events, [d.lineno for d in report.divergences]


def _slices(doc: Json, cat: str) -> int:
    return sum(e["ph"] == "b" and e["cat"] == cat for e in doc["traceEvents"])


@pytest.mark.parametrize(("name", "bios"), [("basic", True), ("readerr_blkdebug", True),
                                            ("writeerr_flakey", True), ("zram", True),
                                            ("zswap", False)])
def test_perfetto_output_of_6_12_captures_is_valid(tmp_path: Path, name: str,
                                                   bios: bool) -> None:
    doc, events, divergences = _perfetto(tmp_path, V612 / f"{name}.trace.txt")
    assert len(events) > 1500
    assert validate(doc, events, divergences) == []
    # 6.12's zram takes bios (on-stack, ended by __end_swap_bio_*); zswap keeps every page.
    assert (_slices(doc, "bio") > 0) == bios
    assert _slices(doc, "fault") > 0
    # Every bio ends at its completion: end_swap_bio_* (async) or __end_swap_bio_* (sync).
    ends = [e for e in doc["traceEvents"] if e["ph"] == "e" and e["cat"] == "bio"]
    assert ends and not any(e["args"].get("unfinished") for e in ends) if bios else not ends


def _tampered(tmp_path: Path) -> Path:
    """writeerr_flakey (6.12) with its first failed write claiming success: divergent."""
    text = (V612 / "writeerr_flakey.trace.txt").read_text()
    m = re.search(r"__end_swap_bio_write: .*? bi_status=(?!0 )\d+ ", text)
    assert m is not None
    start = m.start() + m.group(0).index("bi_status=")
    path = tmp_path / "tampered.trace.txt"
    path.write_text(text[:start] + "bi_status=0" + text[m.end() - 1:])
    return path


def test_6_12_divergences_sit_on_their_task_track(tmp_path: Path) -> None:
    doc, events, divergences = _perfetto(tmp_path, _tampered(tmp_path))
    assert divergences
    assert validate(doc, events, divergences) == []
    shown = [e for e in doc["traceEvents"] if e.get("cat") == "divergence"]
    assert all(e["s"] == "t" for e in shown)  # on a task's track, not a global instant


def test_every_event_is_written_after_the_last_divergence(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    trace = _tampered(tmp_path)
    assert main(["check", str(trace), "--max-divergences", "1", "--perfetto", str(out)]) == 1
    doc = json.loads(out.read_text())
    events: list[TraceEvent] = []
    check_trace_6_12(trace, tee=lambda e: events.append(e) if isinstance(e, TraceEvent)
                     else None)
    plain = [e for e in doc["traceEvents"] if e["ph"] == "i" and e.get("cat") != "divergence"]
    assert len(plain) == len(events)
