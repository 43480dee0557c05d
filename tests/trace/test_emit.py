"""format_event / write_trace: the tracefs text of every event type, and real-trace round trips."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.trace import (
    EVENT_ARGS,
    LostEvents,
    TaskContext,
    TraceEvent,
    TraceHeader,
    format_event,
    format_header,
    parse_trace,
    read_header,
    write_trace,
)

from .samples import ALL_REAL_LINES, SWAP_WRITEPAGE, one


def content(item: TraceEvent | LostEvents) -> object:
    """An item without where it was read from."""
    return attrs.evolve(item, path="", lineno=0)


def test_format_event_reproduces_each_real_line_exactly() -> None:
    for line in ALL_REAL_LINES:
        assert format_event(one(line)) == line


def test_round_trip_of_every_real_trace_is_exact(real_traces: list[Path]) -> None:
    for path in real_traces:
        original = path.read_text()
        out = io.StringIO()
        write_trace(parse_trace(path), out, header=read_header(path))
        assert out.getvalue() == original, path
        again = list(parse_trace(io.StringIO(out.getvalue())))
        assert [content(item) for item in again] == [content(item) for item in parse_trace(path)]


def test_header_like_the_real_traces(real_traces: list[Path]) -> None:
    path = real_traces[0]
    header_lines = [line for line in path.read_text().splitlines(keepends=True) if line[0] == "#"]
    assert format_header(read_header(path)) == "".join(header_lines)


def test_header_without_entry_counts() -> None:
    text = format_header(TraceHeader(tracer="nop"))
    assert text.startswith("# tracer: nop\n#\n#      ")
    assert "entries-in-buffer" not in text
    assert read_header(io.StringIO(text)) == TraceHeader(tracer="nop")


def test_lost_events_are_written_and_read_back() -> None:
    ev = one(SWAP_WRITEPAGE)
    items: list[TraceEvent | LostEvents] = [
        ev,
        LostEvents("x", 0, 1, 42),
        LostEvents("x", 0, 0, None),
        ev,
    ]
    out = io.StringIO()
    write_trace(items, out)
    lines = out.getvalue().splitlines()
    assert lines[-3:-1] == ["CPU:1 [LOST 42 EVENTS]", "CPU:0 [LOST EVENTS]"]
    assert [content(item) for item in parse_trace(io.StringIO(out.getvalue()))] == [
        content(item) for item in items
    ]


def test_overwritten_marker_is_carried_by_the_header() -> None:
    header = TraceHeader("nop", 10, 25, 2)
    out = io.StringIO()
    write_trace([LostEvents("x", 3, None, 15), one(SWAP_WRITEPAGE)], out, header=header)
    items = list(parse_trace(io.StringIO(out.getvalue())))
    assert items[0] == LostEvents("<stream>", 3, None, 15)
    assert read_header(io.StringIO(out.getvalue())) == header


def test_trace_cmd_events_are_written_as_tracefs() -> None:
    line = "           <...>-3979  [001]   217.975284: swap_writepage_ret: " + (
        "(pageout+0xd1/0x250 <- swap_writepage) ret=0"
    )
    ev = one(line)
    assert format_event(ev) == (
        "           <...>-3979    (-------) [001]    217.975284: swap_writepage_ret: "
        "(pageout+0xd1/0x250 <- swap_writepage) ret=0"
    )
    assert content(one(format_event(ev))) == content(ev)


def test_generic_and_raw_args() -> None:
    context = TaskContext("kworker/u4:1", 45, None, 1, "d.h1.")
    ev = TraceEvent("x", 1, context, 5_000_001, "sched_foo", {"a": "1", "comm": "Web Content"})
    assert format_event(ev) == (
        "    kworker/u4:1-45      (-------) [001] d.h1.     5.000001: sched_foo: "
        "a=1 comm=Web Content"
    )
    raw = attrs.evolve(ev, name="tracing_mark_write", args={"raw": "B|12|work"})
    assert format_event(raw).endswith(": tracing_mark_write: B|12|work")
    assert content(one(format_event(raw))) == content(raw)


COMMS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:_<>.-",
    min_size=1,
    max_size=15,
)
VALUES = st.text(alphabet="0123456789abcdefx|_-", min_size=1, max_size=18)
KEYS = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True).filter(lambda k: k != "raw")
NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True).filter(
    lambda n: n not in EVENT_ARGS
)
SYMBOLS = st.from_regex(r"[a-z_]{1,20}", fullmatch=True)
PROBES = st.from_regex(r"[a-z_]{1,20}\+0x[0-9a-f]{1,3}/0x[0-9a-f]{1,4}", fullmatch=True)
MESSAGES = st.text(alphabet="abc XYZ:()-019", min_size=1).map(str.strip).filter(bool)
CONTEXTS = st.builds(
    TaskContext,
    comm=COMMS,
    pid=st.integers(0, 4_194_304),
    tgid=st.none() | st.integers(1, 4_194_304),
    cpu=st.integers(0, 255),
    flags=st.sampled_from([".....", "d.s1.", "dNh2.", ".N...", "..s.."]),
)


@st.composite
def unknown_args(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """An unknown event: a kprobe, a kretprobe or a key=value tracepoint."""
    kind = draw(st.sampled_from(["kprobe", "kretprobe", "tracepoint"]))
    args: dict[str, str] = {}
    if kind == "kprobe":
        args = {"probe": draw(PROBES)}
    elif kind == "kretprobe":
        args = {"caller": draw(SYMBOLS), "caller_offset": "0x1/0x2", "callee": draw(SYMBOLS)}
    keys = KEYS.filter(lambda k: k not in args)
    args.update(draw(st.dictionaries(keys, VALUES, max_size=6)))
    return draw(NAMES), args


@st.composite
def bio_queue_args(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    # dev_t: a 12-bit major and a 20-bit minor; sector_t: u64 (the parser checks the ranges)
    major, minor = draw(st.integers(0, 4095)), draw(st.integers(0, (1 << 20) - 1))
    sector = draw(st.integers(0, (1 << 64) - 1))
    return "block_bio_queue", {
        "dev": f"{major},{minor}",
        "major": str(major),
        "minor": str(minor),
        "rwbs": draw(st.sampled_from(["R", "W", "WS", "RA", "FWFS"])),
        "sector": str(sector),
        "nr_sector": "8",
        "comm": draw(COMMS),
    }


@st.composite
def events(draw: st.DrawFn) -> TraceEvent:
    name, args = draw(
        unknown_args() | bio_queue_args() | MESSAGES.map(lambda msg: ("console", {"msg": msg}))
    )
    ts_us = draw(st.integers(0, 10**12))
    return TraceEvent("<gen>", 1, draw(CONTEXTS), ts_us, name, args)


@settings(max_examples=120, deadline=None)
@given(events())
def test_format_then_parse_gives_the_event_back(event: TraceEvent) -> None:
    assert content(one(format_event(event))) == content(event)
