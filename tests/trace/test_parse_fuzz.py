"""Bad input gives events or TraceFormatError, never another exception.

Random bytes, every truncation of real lines, random edits of real lines; the values that come
out must also survive `arg_int` on every arg and `format_event`.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmodel.errors import TraceFormatError
from kmodel.trace import LostEvents, TraceEvent, format_event, parse_trace

from .samples import ALL_REAL_LINES

LOST_AND_HEADER = [
    "CPU:1 [LOST 42 EVENTS]",
    "CPU:0 [LOST EVENTS]",
    "CPU:1 [7 EVENTS DROPPED]",
    "# entries-in-buffer/entries-written: 100/130   #P:2",
    "version = 6",
    "cpus=2",
]
LINES = ALL_REAL_LINES + LOST_AND_HEADER
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check(items: list[TraceEvent | LostEvents]) -> None:
    """What a consumer does with the items must not fail in another way either."""
    for item in items:
        assert isinstance(item, TraceEvent | LostEvents)
        if isinstance(item, TraceEvent):
            assert isinstance(format_event(item), str)
            for key in item.args:
                with contextlib.suppress(TraceFormatError):
                    item.arg_int(key)


def parse_or_error(source: Path | io.StringIO) -> None:
    try:
        items = list(parse_trace(source, name="fuzz"))
    except TraceFormatError as e:
        assert e.path in ("fuzz", str(source))
        assert e.lineno >= 1
        return
    check(items)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.trace.txt"
    path.write_bytes(data)
    parse_or_error(path)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    parse_or_error(io.StringIO(text))


def test_every_truncation_of_every_real_line() -> None:
    for line in LINES:
        for end in range(len(line) + 1):
            parse_or_error(io.StringIO(line[:end] + "\n"))


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete"]),
        st.integers(0, 400),
        st.sampled_from(list(" -+=()[]:./,|<>0123456789xaZ\t\x00\x85\u00e9\udcff")),
    ),
    min_size=1,
    max_size=4,
)


def edit(line: str, edits: list[tuple[str, int, str]]) -> str:
    for op, at, char in edits:
        at %= len(line) + 1
        if op == "replace":
            line = line[:at] + char + line[at + 1 :]
        elif op == "insert":
            line = line[:at] + char + line[at:]
        else:
            line = line[:at] + line[at + 1 :]
    return line


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LINES), EDITS)
def test_random_edits_of_real_lines(line: str, edits: list[tuple[str, int, str]]) -> None:
    parse_or_error(io.StringIO(edit(line, edits) + "\n"))


@FUZZ
@given(st.lists(st.sampled_from(LINES), max_size=8), st.integers(0, 2000))
def test_random_mixes_cut_anywhere(tmp_path: Path, lines: list[str], cut: int) -> None:
    text = "\n".join(lines).encode()
    path = tmp_path / "mix.trace.txt"
    path.write_bytes(text[: cut % (len(text) + 1)])
    parse_or_error(path)


def test_long_pathological_lines_fail_fast() -> None:
    """No regex backtracking blow-up: these fail in well under a second each."""
    for line in [
        " " * 100_000,
        "-1 " * 30_000,
        "a-1 [0] " * 10_000,
        "x-1 (1) [0] ..... 1.000000" * 5_000,
        "(" * 50_000,
    ]:
        parse_or_error(io.StringIO(line + "\n"))
