"""Streaming parser for ftrace text: tracefs `trace`/`trace_pipe` output and `trace-cmd report`.

One precompiled regex splits a line into its columns; args are split with `str` methods and
checked against `EVENT_ARGS` for known events. Lines are read one at a time, so traces of any
size (and `sys.stdin`, and `.gz` files) stream. Bad input raises `TraceFormatError` naming the
file, the line and what was expected, never anything else.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from kmodel.errors import TraceFormatError
from kmodel.trace.events import (
    BLOCK_EVENTS,
    EVENT_ARGS,
    KPROBE_KEYS,
    KRETPROBE_KEYS,
    LostEvents,
    TaskContext,
    TraceEvent,
    TraceHeader,
)

__all__ = ["parse_trace", "read_header"]

Source = str | os.PathLike[str] | TextIO

EXPECTED_LINE = "expected 'comm-pid (tgid) [cpu] flags timestamp: event: args'"

# comm is right-aligned to 16 columns and may hold spaces, dashes and slashes: take the shortest
# prefix followed by -PID. Leading blanks are possessive and every repeat is bounded, so a bad
# line fails in linear time. Numbers are bounded so int() never sees more than it can take.
_LINE = re.compile(
    r"\s*+(?P<ctx>(?P<comm>.{0,64}?)-(?P<pid>\d{1,10})\s+"
    r"(?:\((?:\s{0,10}(?P<tgid>\d{1,10})|-------)\)\s+)?"
    r"\[(?P<cpu>\d{1,6})\](?:\s+(?P<flags>[^\s\[\]]{4,6}))?)"
    r"\s+(?P<sec>\d{1,12})\.(?P<usec>\d{6})\d{0,3}: (?P<name>[^\s:]+): *(?P<args>[^\r\n]*)"
    r"[\r\n]*\Z",
    re.ASCII,
)
_ENTRIES = re.compile(
    r"#\s*entries-in-buffer/entries-written:\s*(\d{1,20})/(\d{1,20})(?:\s+#P:(\d{1,6}))?\s*\Z",
    re.ASCII,
)
_LOST = re.compile(
    r"CPU:(\d{1,6}) \[(?:LOST (\d{1,20}) EVENTS|LOST EVENTS|(\d{1,20}) EVENTS DROPPED"
    r"|EVENTS DROPPED)\]\s*\Z",
    re.ASCII,
)
_TRACE_CMD_HEADER = re.compile(r"(?:version = (\d{1,6})|cpus=(\d{1,6})|CPU \d{1,6} is empty)\Z")
_LOOSE_TIMESTAMP = re.compile(r".{0,80}?\[\d{1,6}\](?:\s+[^\s\[\]]{4,6})?\s+(\S{1,40}?): ")

_CONTEXT_CACHE_MAX = 1 << 16


class _ArgsError(ValueError):
    """Args that do not match their event's format; the parser adds file and line."""


ArgsParser = Callable[[str], dict[str, str]]


def _kv_slow(text: str, into: dict[str, str]) -> dict[str, str] | None:
    """Split key=value args whose values may hold spaces (`comm=Web Content`), or None.

    `into` may hold some of `text`'s args from a failed fast pass: they are set again, in the
    same order, and a "" key from a token "=value" is dropped (such a token continues a value).
    """
    into.pop("", None)
    key = None
    for token in text.split():
        k, sep, v = token.partition("=")
        if sep and k:
            into[k] = v
            key = k
        elif key is None:
            return None
        else:
            into[key] += " " + token
    return into


def _kv(text: str, into: dict[str, str]) -> dict[str, str] | None:
    """Add `text`'s key=value args to `into`; None if `text` is not key=value args."""
    if not text:
        return into
    try:
        into.update([token.split("=", 1) for token in text.split(" ")])  # type: ignore[misc]
    except ValueError:  # a token without "=": a value with spaces, or not key=value at all
        return _kv_slow(text, into)
    if "" in into:  # a token "=value"
        return _kv_slow(text, into)
    return into


def _probe_head(text: str) -> tuple[str, str] | None:
    """Split `(inner) rest` into inner and rest; None if `text` does not start like a probe."""
    if text[:1] != "(":
        return None
    end = text.find(")")
    if end < 0:
        return None
    rest = text[end + 1 :]
    if rest and rest[0] != " ":
        return None
    return text[1:end], rest[1:]


def _probe_args(text: str) -> dict[str, str] | None:
    """Args of a kprobe `(func+0x0/0xa0) k=v...` or kretprobe `(caller+off <- callee) k=v...`."""
    head = _probe_head(text)
    if head is None:
        return None
    inner, rest = head
    caller, arrow, callee = inner.partition(" <- ")
    if arrow:
        if not caller or not callee or " " in callee:
            return None
        symbol, _, offset = caller.partition("+")
        args = {"caller": symbol, "caller_offset": offset, "callee": callee}
    elif inner and " " not in inner:
        args = {"probe": inner}
    else:
        return None
    return _kv(rest, args)


def _parse_generic(text: str) -> dict[str, str]:
    """An unknown event: kprobe/kretprobe args, key=value args, or `{"raw": text}`."""
    if text[:1] == "(":
        args = _probe_args(text)
        if args is not None:
            return args
    args = _kv(text, {})
    return {"raw": text} if args is None else args


def _fixed_keys(name: str, keys: tuple[str, ...], expected: str) -> ArgsParser:
    """A parser for a known kprobe, kretprobe or key=value tracepoint with args `keys`."""
    is_probe = keys[:1] == KPROBE_KEYS or keys[:3] == KRETPROBE_KEYS
    message = f"{name}: expected '{expected}'"

    def parse(text: str) -> dict[str, str]:
        args = _probe_args(text) if is_probe else _kv(text, {})
        if args is None or tuple(args) != keys:
            raise _ArgsError(message)
        return args

    return parse


def _key_text(keys: tuple[str, ...]) -> str:
    return " ".join(f"{k}=..." for k in keys)


def _dev(text: str, prefix: str, into: dict[str, str]) -> bool:
    major, comma, minor = text.partition(",")
    into[prefix + "dev"] = text
    into[prefix + "major"] = major
    into[prefix + "minor"] = minor
    return bool(comma) and major.isdecimal() and minor.isdecimal()


def _is_int(text: str) -> bool:
    return (text[1:] if text[:1] == "-" else text).isdecimal()


def _bracketed(text: str) -> tuple[list[str], str] | None:
    """Split `a b c [last]` into the blank-separated head and `last` (which may hold spaces)."""
    head, sep, last = text.partition(" [")
    if not sep or not last.endswith("]"):
        return None
    return head.split(), last[:-1]


def _block_parser(name: str, keys: tuple[str, ...]) -> ArgsParser:
    """A parser for a block tracepoint's print format (include/trace/events/block.h)."""
    has_cmd = "cmd" in keys
    has_bytes = "bytes" in keys
    last = keys[-1]  # comm, error or old_sector
    words = {
        "comm": "[COMM]",
        "error": "[ERROR]",
        "old_sector": "<- (MAJ,MIN) SECTOR",
    }
    shape = " ".join(
        [
            "MAJ,MIN RWBS",
            *(["BYTES"] if has_bytes else []),
            *(["(CMD)"] if has_cmd else []),
            "SECTOR / NEW_SECTOR" if "new_sector" in keys else "SECTOR + NR_SECTOR",
            words[last],
        ]
    )
    message = f"{name}: expected '{shape}'"
    middle = "/" if "new_sector" in keys else "+"
    count_key = "new_sector" if "new_sector" in keys else "nr_sector"

    def parse(text: str) -> dict[str, str]:
        args: dict[str, str] = {}
        if last == "old_sector":
            fields = text.split()
            if len(fields) != 8 or fields[5] != "<-" or not fields[6].startswith("("):
                raise _ArgsError(message)
            if not fields[6].endswith(")"):
                raise _ArgsError(message)
            dev, rwbs, sector, plus, count = fields[:5]
            tail = fields[7]
        else:
            cmd = ""
            if has_cmd:
                before, sep, rest = text.partition(" (")
                cmd, sep2, after = rest.partition(") ")
                if not sep or not sep2:
                    raise _ArgsError(message)
                text = before + " " + after
            split = _bracketed(text)
            if split is None:
                raise _ArgsError(message)
            fields, tail = split
            nbytes = ""
            if has_bytes:
                if len(fields) != 6 or not fields[2].isdecimal():
                    raise _ArgsError(message)
                nbytes = fields.pop(2)
            if len(fields) != 5:
                raise _ArgsError(message)
            dev, rwbs, sector, plus, count = fields
        ok = _dev(dev, "", args)
        args["rwbs"] = rwbs
        if has_bytes:
            args["bytes"] = nbytes
        if has_cmd:
            args["cmd"] = cmd
        args["sector"] = sector
        args[count_key] = count
        if last == "old_sector":
            ok = _dev(fields[6][1:-1], "old_", args) and ok
            ok = ok and tail.isdecimal()
        elif last == "error":
            ok = ok and _is_int(tail)
        args[last] = tail
        if not (ok and plus == middle and sector.isdecimal() and count.isdecimal()):
            raise _ArgsError(message)
        return args

    return parse


def _parsers() -> dict[str, ArgsParser]:
    parsers: dict[str, ArgsParser] = {}
    for name, keys in EVENT_ARGS.items():
        if name in BLOCK_EVENTS:
            parsers[name] = _block_parser(name, keys)
        elif keys[:1] == KPROBE_KEYS:
            expected = f"(symbol+offset/size) {_key_text(keys[1:])}"
            parsers[name] = _fixed_keys(name, keys, expected)
        elif keys[:3] == KRETPROBE_KEYS:
            expected = f"(caller+offset/size <- callee) {_key_text(keys[3:])}"
            parsers[name] = _fixed_keys(name, keys, expected)
        elif keys != ("msg",):
            parsers[name] = _fixed_keys(name, keys, _key_text(keys))
    parsers["console"] = lambda text: {"msg": text}
    return parsers


_PARSERS = _parsers()


class _Header:
    """The header fields seen so far."""

    def __init__(self) -> None:
        self.tracer: str | None = None
        self.entries: tuple[int, int] | None = None
        self.cpus: int | None = None
        self.version: int | None = None

    def freeze(self) -> TraceHeader:
        in_buffer, written = self.entries if self.entries is not None else (None, None)
        return TraceHeader(self.tracer, in_buffer, written, self.cpus, self.version)


def _bad_line(path: str, lineno: int, line: str) -> TraceFormatError:
    """The error for a line that is no event: say which part is wrong where we can tell."""
    loose = _LOOSE_TIMESTAMP.match(line)
    if loose is not None and re.fullmatch(r"\d+\.\d{6,9}", loose.group(1), re.ASCII) is None:
        message = (
            f"bad timestamp {loose.group(1)!r}: expected SECONDS.MICROSECONDS "
            f"(trace_clock global/local/mono); {EXPECTED_LINE}"
        )
        return TraceFormatError(path, lineno, message, line)
    return TraceFormatError(path, lineno, EXPECTED_LINE, line)


def _other_line(path: str, lineno: int, line: str, header: _Header) -> LostEvents | None:
    """A line that is not an event: blank, header, comment or lost-events marker."""
    text = line.strip()
    if not text:
        return None
    if text[0] == "#":
        if text.startswith("# tracer:"):
            header.tracer = text[len("# tracer:") :].strip()
        entries = _ENTRIES.match(text)
        if entries is not None:
            in_buffer, written, cpus = entries.groups()
            header.entries = (int(in_buffer), int(written))
            if cpus is not None:
                header.cpus = int(cpus)
            if int(written) > int(in_buffer):
                return LostEvents(path, lineno, None, int(written) - int(in_buffer))
        return None
    lost = _LOST.match(text)
    if lost is not None:
        cpu, tracefs_count, trace_cmd_count = lost.groups()
        count = tracefs_count or trace_cmd_count
        return LostEvents(path, lineno, int(cpu), None if count is None else int(count))
    trace_cmd = _TRACE_CMD_HEADER.match(text)
    if trace_cmd is not None:
        version, cpus = trace_cmd.groups()
        if version is not None:
            header.version = int(version)
        if cpus is not None:
            header.cpus = int(cpus)
        return None
    raise _bad_line(path, lineno, line)


def _not_utf8(path: str, lineno: int, line: str) -> TraceFormatError | None:
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as e:
        return TraceFormatError(path, lineno, f"not UTF-8 text: {e.reason}", line)
    return None


def _events(
    lines: Iterable[str], path: str, header: _Header, stop_at_event: bool = False
) -> Iterator[TraceEvent | LostEvents]:
    """Parse `lines`; with `stop_at_event`, stop before the first event (header only)."""
    match = _LINE.match
    parsers = _PARSERS
    generic = _parse_generic
    contexts: dict[str, TaskContext] = {}
    lineno = 0
    try:
        for lineno, line in enumerate(lines, 1):
            if not line.isascii():
                error = _not_utf8(path, lineno, line)
                if error is not None:
                    raise error
            m = match(line)
            if m is None:
                if stop_at_event and _LOST.match(line.strip()):
                    return
                lost = _other_line(path, lineno, line, header)
                if lost is not None:
                    yield lost
                continue
            if stop_at_event:
                return
            ctx, comm, pid, tgid, cpu, flags, sec, usec, name, text = m.groups()
            context = contexts.get(ctx)
            if context is None:
                if len(contexts) >= _CONTEXT_CACHE_MAX:
                    contexts.clear()
                context = TaskContext(
                    comm, int(pid), None if tgid is None else int(tgid), int(cpu), flags or ""
                )
                contexts[ctx] = context
            try:
                args = parsers.get(name, generic)(text)
            except _ArgsError as e:
                raise TraceFormatError(path, lineno, str(e), line) from None
            yield TraceEvent(path, lineno, context, int(sec + usec), name, args)
    except (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        message = f"unreadable input after this line: {e}"
        raise TraceFormatError(path, lineno + 1, message) from None


@contextlib.contextmanager
def _open(source: Source, name: str | None) -> Iterator[tuple[Iterable[str], str]]:
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path.endswith(".gz"):
            file: TextIO = gzip.open(  # noqa: SIM115
                path, "rt", encoding="utf-8", errors="surrogateescape"
            )
        else:
            file = open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        with file:
            yield file, name or path
    else:
        yield source, name or str(getattr(source, "name", "<stream>"))


def parse_trace(source: Source, *, name: str | None = None) -> Iterator[TraceEvent | LostEvents]:
    """Yield the events of an ftrace text trace, and `LostEvents` where events were lost.

    `source` is a path (`.gz` is decompressed) or an open text stream such as `sys.stdin`;
    `name` names it in errors (default: the path or the stream's name). The header's
    `entries-written > entries-in-buffer` is yielded as `LostEvents(cpu=None)`.
    Raises TraceFormatError for a line that is no event, header, comment or lost marker, and
    for a known event (`EVENT_ARGS`) whose args do not match its format.
    """
    with _open(source, name) as (lines, path):
        yield from _events(lines, path, _Header())


def read_header(source: Source, *, name: str | None = None) -> TraceHeader:
    """The header of a trace: reads up to its first event (consuming that far from a stream)."""
    header = _Header()
    with _open(source, name) as (lines, path):
        for _ in _events(lines, path, header, stop_at_event=True):
            pass
    return header.freeze()
