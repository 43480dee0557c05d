"""``kmodel check --perfetto`` output checked against the trace-event format's semantics.

Perfetto's own trace processor is not usable here: the ``perfetto`` PyPI package (0.59.1, a
355 kB pure-Python wheel) downloads the ``trace_processor`` binary from get.perfetto.dev at
run time. So this validator checks what the viewer relies on (the Trace Event Format
document, and Perfetto's JSON importer): metadata names every track used; complete slices on
one thread do not overlap; every async slice (cat, id) has one begin and one end, in order,
on one track; each event of the trace is an instant on its own task's track; each divergence
is an instant on the track of the task whose line it names, at that line's time.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kmodel.cli import main
from kmodel.trace import TraceEvent, check_trace, parse_trace

TRACES = Path(__file__).parents[2] / "kmodel" / "data" / "traces"

Json = dict[str, Any]


def _tampered(tmp_path: Path) -> Path:
    """writeerr_flakey with its first failed write claiming success: divergent."""
    text = (TRACES / "writeerr_flakey.trace.txt").read_text()
    m = re.search(r"end_swap_bio_write: .*? bi_status=(?!0 )\d+ ", text)
    assert m is not None
    start = m.start() + m.group(0).index("bi_status=")
    end = m.end() - 1
    path = tmp_path / "tampered.trace.txt"
    path.write_text(text[:start] + "bi_status=0" + text[end:])
    return path


def _track(event: TraceEvent) -> tuple[int, int]:
    """Where the writer must put a task's events: (tgid, pid), the idle task per CPU."""
    if event.pid == 0:
        return 0, 10_000_000 + event.cpu
    return (event.tgid if event.tgid is not None else event.pid), event.pid


def validate(doc: Json, events: list[TraceEvent], divergences: list[int]) -> list[str]:
    """What in `doc` a trace-event viewer would reject or show wrongly (empty: nothing)."""
    problems: list[str] = []
    items: list[Json] = doc.get("traceEvents", [])
    if not isinstance(items, list) or not items:
        return ["no traceEvents list"]
    processes = {e["pid"] for e in items if e.get("ph") == "M" and e["name"] == "process_name"}
    threads = {(e["pid"], e["tid"]) for e in items
               if e.get("ph") == "M" and e["name"] == "thread_name"}
    by_line = {e.lineno: e for e in events}
    slices: dict[tuple[int, int], list[tuple[int, int]]] = {}
    asyncs: dict[tuple[str, int], list[Json]] = {}
    instants: list[Json] = []
    for n, e in enumerate(items):
        ph = e.get("ph")
        if ph not in ("M", "X", "i", "b", "e"):
            problems.append(f"item {n}: phase {ph!r}")
            continue
        if ph == "M":
            continue
        if not isinstance(e.get("ts"), int | float) or e["ts"] < 0:
            problems.append(f"item {n}: ts {e.get('ts')!r}")
        if e["pid"] not in processes:
            problems.append(f"item {n}: pid {e['pid']} has no process_name")
        if (e["pid"], e["tid"]) not in threads:
            problems.append(f"item {n}: track {e['pid']}/{e['tid']} has no thread_name")
        if ph == "X":
            if e.get("dur", -1) < 0:
                problems.append(f"item {n}: complete slice without a duration")
            slices.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
        elif ph == "i":
            if e.get("s") not in ("t", "p", "g"):
                problems.append(f"item {n}: instant scope {e.get('s')!r}")
            instants.append(e)
        else:
            asyncs.setdefault((e["cat"], e["id"]), []).append(e)
    for track, spans in slices.items():
        spans.sort()
        for (a0, a1), (b0, _) in itertools.pairwise(spans):
            if b0 < a1:
                problems.append(f"track {track}: slices [{a0}, {a1}) and [{b0}, ...) overlap")
    for key, pair in asyncs.items():
        phases = [p["ph"] for p in pair]
        if phases != ["b", "e"]:
            problems.append(f"async {key}: phases {phases}, expected one begin then one end")
            continue
        begin, end = pair
        if (begin["pid"], begin["tid"], begin["name"]) != (end["pid"], end["tid"], end["name"]):
            problems.append(f"async {key}: ends on another track or name")
        if end["ts"] < begin["ts"]:
            problems.append(f"async {key}: ends at {end['ts']} before it begins {begin['ts']}")
        line = end["args"].get("line")
        if key[0] == "bio" and line is not None:
            closer = by_line[line]
            dev = closer.arg_int("dev")
            if (not closer.name.lstrip("_").startswith("end_swap_bio_")  # 6.12: __end_...
                    or begin["name"].split()[0] != f"{dev >> 20},{dev & 0xFFFFF}"
                    or begin["name"].split()[2] != str(closer.arg_int("sector"))):
                problems.append(f"bio {key}: {begin['name']!r} ended by line {line} "
                                f"{closer.name} of another bio")
    plain = [e for e in instants if e.get("cat") != "divergence" and e["name"] != "lost events"]
    if len(plain) != len(events):
        problems.append(f"{len(plain)} event instants for {len(events)} trace events")
    for inst, event in zip(plain, events, strict=False):
        if inst["name"] != event.name or (inst["pid"], inst["tid"]) != _track(event):
            problems.append(f"line {event.lineno} {event.name}: instant {inst['name']} on "
                            f"{inst['pid']}/{inst['tid']}, expected {_track(event)}")
            break
    shown = {}
    for inst in instants:
        if inst.get("cat") == "divergence":
            line = inst["args"]["line"]
            shown[line] = inst
            event = by_line.get(line)
            if event is not None and ((inst["pid"], inst["tid"]) != _track(event)
                                      or inst["ts"] != event.ts_us):
                problems.append(f"divergence at line {line}: on {inst['pid']}/{inst['tid']} "
                                f"at {inst['ts']}, expected {_track(event)} at {event.ts_us}")
    if sorted(shown) != sorted(divergences):
        problems.append(f"divergences shown at lines {sorted(shown)}, reported {divergences}")
    return problems


def _perfetto(tmp_path: Path, trace: Path) -> tuple[Json, list[TraceEvent], list[int]]:
    out = tmp_path / "out.json"
    status = main(["check", str(trace), "--perfetto", str(out)])
    report = check_trace(trace)
    assert status == (0 if report.conformant else 1)
    events = [e for e in parse_trace(trace) if isinstance(e, TraceEvent)]
    return json.loads(out.read_text()), events, [d.lineno for d in report.divergences]


@pytest.mark.parametrize("name", ["basic", "readerr_blkdebug", "writeerr_flakey", "zram"])
def test_perfetto_output_of_real_traces_is_valid(tmp_path: Path, name: str) -> None:
    doc, events, divergences = _perfetto(tmp_path, TRACES / f"{name}.trace.txt")
    assert validate(doc, events, divergences) == []
    bios = sum(e["ph"] == "b" and e["cat"] == "bio" for e in doc["traceEvents"])
    assert (bios > 0) == (name != "zram")  # zram completes in rw_page: no bios


def test_divergences_sit_on_their_task_track(tmp_path: Path) -> None:
    doc, events, divergences = _perfetto(tmp_path, _tampered(tmp_path))
    assert divergences
    assert validate(doc, events, divergences) == []


def test_the_validator_catches_what_a_viewer_would_show_wrongly(tmp_path: Path) -> None:
    doc, events, divergences = _perfetto(tmp_path, _tampered(tmp_path))
    items = doc["traceEvents"]
    ends = [e for e in items if e["ph"] == "e" and e["cat"] == "bio"]
    ends[0]["ts"] = -1
    items.remove(ends[1])
    div = next(e for e in items if e.get("cat") == "divergence")
    div["tid"] += 1
    problems = validate(doc, events, divergences)
    kinds = Counter(p.split(":")[0].split(" ")[0] for p in problems)
    assert kinds["item"] >= 1 and kinds["async"] >= 1 and kinds["divergence"] == 1, problems
