"""Streaming parser for ftrace text: tracefs `trace`/`trace_pipe` output and `trace-cmd report`.

One precompiled regex splits a line into its columns; a known event's args (`EVENT_ARGS`) are
matched by one more regex built from its print format, an unknown event's are split with `str`
methods. Lines are read one at a time, so traces of any size (and `sys.stdin`, and `.gz` files)
stream. Bad input raises `TraceFormatError` naming the file, the line and what was expected,
never anything else.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, TextIO, cast

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

__all__ = ["LineScanner", "open_trace", "parse_event_line", "parse_trace", "read_header"]

Source = str | os.PathLike[str] | TextIO | BinaryIO

EXPECTED_LINE = "expected 'comm-pid (tgid) [cpu] flags timestamp: event: args'"

# comm is right-aligned to 16 columns and may hold spaces, dashes and slashes: take the shortest
# prefix followed by -PID. Leading blanks are possessive and comm is bounded, so a bad line fails
# in linear time; numbers are bounded so int() never sees more digits than it takes.
# Groups: context columns, comm, pid, tgid, cpu, flags, seconds, microseconds, event, args.
_LINE = re.compile(
    r"\s*+((.{0,64}?)-(\d{1,10})\s+(?:\((?:\s{0,10}(\d{1,10})|-------)\)\s+)?"
    r"\[(\d{1,6})\](?:\s+([^\s\[\]]{4,6}))?)"
    r"\s+(\d{1,12})\.(\d{6})\d{0,3}: ([^\s:]+): *(.*)"
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
_ARGS_CACHE_MAX = 1 << 12


class _ArgsError(ValueError):
    """Args that do not match their event's format; the parser adds file and line."""


ArgsParser = Callable[[str], dict[str, str]]
SlowParser = Callable[[str], dict[str, str] | None]
ArgsChecker = Callable[[str], object]
Matcher = Callable[[str], "re.Match[str] | None"]


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


def _values(keys: tuple[str, ...]) -> str:
    return " ".join(f"{key}=(?P<{key}>[^ ]*)" for key in keys)


_DEV = r"(?P<dev>(?P<major>\d+),(?P<minor>\d+)) (?P<rwbs>\S+) "
_SECTORS = r"(?P<sector>\d+) \+ (?P<nr_sector>\d+) "

# Block print formats (include/trace/events/block.h): the regex, and the shape for messages.
_BLOCK_FORMATS = {
    "bio": (
        _DEV + _SECTORS + r"\[(?P<comm>.*)\]",
        "MAJ,MIN RWBS SECTOR + NR_SECTOR [COMM]",
    ),
    "bio_complete": (
        _DEV + _SECTORS + r"\[(?P<error>-?\d+)\]",
        "MAJ,MIN RWBS SECTOR + NR_SECTOR [ERROR]",
    ),
    "remap": (
        _DEV
        + _SECTORS
        + r"<- \((?P<old_dev>(?P<old_major>\d+),(?P<old_minor>\d+))\) (?P<old_sector>\d+)",
        "MAJ,MIN RWBS SECTOR + NR_SECTOR <- (MAJ,MIN) SECTOR",
    ),
    "rq": (
        _DEV + r"(?P<bytes>\d+) \((?P<cmd>[^()]*)\) " + _SECTORS + r"\[(?P<comm>.*)\]",
        "MAJ,MIN RWBS BYTES (CMD) SECTOR + NR_SECTOR [COMM]",
    ),
    "rq_completion": (
        _DEV + r"\((?P<cmd>[^()]*)\) " + _SECTORS + r"\[(?P<error>-?\d+)\]",
        "MAJ,MIN RWBS (CMD) SECTOR + NR_SECTOR [ERROR]",
    ),
    "split": (
        _DEV + r"(?P<sector>\d+) / (?P<new_sector>\d+) \[(?P<comm>.*)\]",
        "MAJ,MIN RWBS SECTOR / NEW_SECTOR [COMM]",
    ),
}


def _block_format(keys: tuple[str, ...]) -> str:
    if "old_sector" in keys:
        return "remap"
    if "new_sector" in keys:
        return "split"
    if "bytes" in keys:
        return "rq"
    if "cmd" in keys:
        return "rq_completion"
    return "bio_complete" if keys[-1] == "error" else "bio"


def _known(
    keys: tuple[str, ...], pattern: str, message: str, slow: SlowParser | None
) -> tuple[ArgsParser, ArgsChecker, Matcher]:
    """A parser for a known event: one regex with a group per key, in print order; and a
    checker that raises what the parser raises, without building the args.

    `slow` parses what the regex cannot, such as values with spaces (`comm=Web Content`).
    """
    fullmatch = re.compile(pattern).fullmatch

    def parse(text: str) -> dict[str, str]:
        m = fullmatch(text)
        if m is not None:
            return m.groupdict()  # every group takes part: no None values
        args = None if slow is None else slow(text)
        if args is None or tuple(args) != keys:
            raise _ArgsError(message)
        return args

    def check(text: str) -> object:
        return fullmatch(text) or parse(text)

    return parse, check, fullmatch


def _memo(parse: ArgsParser) -> ArgsParser:
    """Reuse the args of a text seen before (kretprobes repeat: `(pageout+0xd1/0x250 <- ...`)."""
    seen: dict[str, dict[str, str]] = {}

    def parse_memo(text: str) -> dict[str, str]:
        args = seen.get(text)
        if args is None:
            if len(seen) >= _ARGS_CACHE_MAX:
                seen.clear()
            seen[text] = args = parse(text)
        return args

    return parse_memo


def _key_text(keys: tuple[str, ...]) -> str:
    return " ".join(f"{k}=..." for k in keys)


def _parsers() -> tuple[dict[str, ArgsParser], dict[str, ArgsChecker], dict[str, Matcher]]:
    """The args parser of every known event, a checker of its args for events whose args
    are not needed (raising what the parser would raise), and the args regex of the events
    whose parser is that regex's `groupdict` when it matches."""
    parsers: dict[str, ArgsParser] = {"console": lambda text: {"msg": text}}
    checkers: dict[str, ArgsChecker] = {"console": len}
    matchers: dict[str, Matcher] = {}
    for name, keys in EVENT_ARGS.items():
        if name in BLOCK_EVENTS:
            pattern, shape = _BLOCK_FORMATS[_block_format(keys)]
            parsers[name], checkers[name], matchers[name] = _known(
                keys, pattern, f"{name}: expected '{shape}'", None
            )
        elif keys[:1] == KPROBE_KEYS:
            pattern = r"\((?P<probe>[^ ()]+)\) " + _values(keys[1:])
            shape = f"(symbol+offset/size) {_key_text(keys[1:])}"
            parsers[name], checkers[name], matchers[name] = _known(
                keys, pattern, f"{name}: expected '{shape}'", _probe_args
            )
        elif keys[:3] == KRETPROBE_KEYS:
            pattern = (
                r"\((?P<caller>[^ ()+]+)\+?(?P<caller_offset>[^ ()]*) <- (?P<callee>[^ ()]+)\) "
                + _values(keys[3:])
            )
            shape = f"(caller+offset/size <- callee) {_key_text(keys[3:])}"
            message = f"{name}: expected '{shape}'"
            parsers[name] = checkers[name] = _memo(
                _known(keys, pattern, message, _probe_args)[0]
            )
        elif name != "console":
            message = f"{name}: expected '{_key_text(keys)}'"
            parsers[name], checkers[name], matchers[name] = _known(
                keys, _values(keys), message, lambda text: _kv(text, {})
            )
    return parsers, checkers, matchers


_PARSERS, _CHECKERS, _MATCHERS = _parsers()


class _Header:
    """The header fields seen so far."""

    def __init__(self, keep_comments: bool = False) -> None:
        self.tracer: str | None = None
        self.entries: tuple[int, int] | None = None
        self.cpus: int | None = None
        self.version: int | None = None
        self.comments: list[str] | None = [] if keep_comments else None

    def freeze(self) -> TraceHeader:
        in_buffer, written = self.entries if self.entries is not None else (None, None)
        comments = tuple(self.comments or ())
        return TraceHeader(self.tracer, in_buffer, written, self.cpus, self.version, comments)


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
        elif header.tracer is None and header.comments is not None:
            header.comments.append(line.rstrip("\r\n"))
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


def _context(contexts: dict[str, TaskContext], m: re.Match[str]) -> TaskContext:
    """The shared context of a line's columns (`m` matched `_LINE`), made on first sight."""
    ctx, comm, pid, tgid, cpu, flags = m.group(1, 2, 3, 4, 5, 6)
    context = contexts.get(ctx)
    if context is None:
        if len(contexts) >= _CONTEXT_CACHE_MAX:
            contexts.clear()
        context = TaskContext(
            comm, int(pid), None if tgid is None else int(tgid), int(cpu), flags or ""
        )
        contexts[ctx] = context
    return context


def _events(
    lines: Iterable[str], path: str, header: _Header, stop_at_event: bool = False
) -> Iterator[TraceEvent | LostEvents]:
    """Parse `lines`; with `stop_at_event`, stop before the first event (header only)."""
    match = _LINE.match
    parsers = _PARSERS
    generic = _parse_generic
    contexts: dict[str, TaskContext] = {}
    get_context = contexts.get
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
            ctx, sec, usec, name, text = m.group(1, 7, 8, 9, 10)
            context = get_context(ctx) or _context(contexts, m)
            try:
                args = parsers.get(name, generic)(text)
            except _ArgsError as e:
                raise TraceFormatError(path, lineno, str(e), line) from None
            yield TraceEvent(path, lineno, context, int(sec + usec), name, args)
    except (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        message = f"unreadable input after this line: {e}"
        raise TraceFormatError(path, lineno + 1, message) from None


class LineScanner:
    """`parse_trace` one line at a time, for a consumer that needs only some events whole.

    `kmodel check` reads the lines itself (`lines`, `path`) and, per line: `match` it (None:
    `other` handles a header, comment or lost marker); `context` gives the event's shared
    `TaskContext`; `event` builds the `TraceEvent`, or `skip` only checks the args of an event
    the consumer does not need. Same values and same `TraceFormatError`s as `parse_trace`
    (`not_utf8` for a line that is not ASCII, `unreadable` for input that cannot be read).
    """

    #: What an args parser raises; `bad_args` turns it into the TraceFormatError.
    ArgsError = _ArgsError

    def __init__(self, path: str) -> None:
        self.path = path
        self.header = _Header()
        self.match = _LINE.match
        self.parsers: dict[str, ArgsParser] = _PARSERS
        #: Known events' args checkers (raise ArgsError as the parser would, build nothing).
        self.checkers: dict[str, ArgsChecker] = _CHECKERS
        #: Known events' args regexes: where one matches, its `groupdict()` is what the
        #: parser returns (a shortcut past the parser's call; elsewhere, call the parser).
        self.matchers: dict[str, Matcher] = _MATCHERS
        self.contexts: dict[str, TaskContext] = {}

    def not_utf8(self, lineno: int, line: str) -> None:
        """Raise if a line that is not ASCII is not UTF-8 either."""
        error = _not_utf8(self.path, lineno, line)
        if error is not None:
            raise error

    def other(self, lineno: int, line: str) -> LostEvents | None:
        """A line that is not an event: blank, header, comment or lost-events marker."""
        return _other_line(self.path, lineno, line, self.header)

    def context(self, m: re.Match[str]) -> TaskContext:
        """The shared context of an event's columns."""
        return self.contexts.get(m[1]) or _context(self.contexts, m)

    def event(self, lineno: int, line: str, m: re.Match[str]) -> TraceEvent:
        """The event of a matched line."""
        sec, usec, name, text = m.group(7, 8, 9, 10)
        try:
            args = _PARSERS.get(name, _parse_generic)(text)
        except _ArgsError as e:
            raise TraceFormatError(self.path, lineno, str(e), line) from None
        return TraceEvent(self.path, lineno, self.context(m), int(sec + usec), name, args)

    def bad_args(self, lineno: int, line: str, error: Exception) -> TraceFormatError:
        """The error for a known event whose args do not match its format."""
        return TraceFormatError(self.path, lineno, str(error), line)

    def skip(self, lineno: int, line: str, name: str, text: str) -> None:
        """Check the args of an event without building it (unknown events have any args)."""
        check = _CHECKERS.get(name)
        if check is not None:
            try:
                check(text)
            except _ArgsError as e:
                raise TraceFormatError(self.path, lineno, str(e), line) from None

    def unreadable(self, lineno: int, error: Exception) -> TraceFormatError:
        """The error for input that cannot be read after line `lineno`."""
        message = f"unreadable input after this line: {error}"
        return TraceFormatError(self.path, lineno + 1, message)


#: What reading a trace may raise past its last good line (`LineScanner.unreadable`).
UNREADABLE = (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile)


def parse_event_line(line: str, path: str = "<line>", lineno: int = 1) -> TraceEvent:
    """The event of one trace line (TraceFormatError if it is no event)."""
    scanner = LineScanner(path)
    m = scanner.match(line)
    if m is None:
        raise _bad_line(path, lineno, line)
    return scanner.event(lineno, line, m)


@contextlib.contextmanager
def open_trace(source: Source, name: str | None) -> Iterator[tuple[Iterable[str], str]]:
    """The lines of `source` (as `parse_trace` takes it) and the name errors give it."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        from kmodel.trace.recorders import open_recording  # trace.dat, report -R, bpftrace

        with open_recording(path, name or path) as converted:
            if converted is not None:
                yield converted, name or path
                return
        if path.endswith(".gz"):
            file: TextIO = gzip.open(  # noqa: SIM115
                path, "rt", encoding="utf-8", errors="surrogateescape"
            )
        else:
            file = open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
        with file:
            yield file, name or path
    elif isinstance(source, io.BufferedIOBase | io.RawIOBase):  # sys.stdin.buffer
        text = io.TextIOWrapper(source, encoding="utf-8", errors="surrogateescape")
        try:
            yield text, name or str(getattr(source, "name", "<stream>"))
        finally:
            text.detach()  # the caller's stream stays open
    else:
        yield cast(TextIO, source), name or str(getattr(source, "name", "<stream>"))


def parse_trace(source: Source, *, name: str | None = None) -> Iterator[TraceEvent | LostEvents]:
    """Yield the events of an ftrace text trace, and `LostEvents` where events were lost.

    `source` is a path (`.gz` is decompressed), or an open stream such as `sys.stdin`, or a
    binary one such as `sys.stdin.buffer` (bytes that are not UTF-8 are then reported at their
    line; a text stream's decoder reports them at the line it was reading, or before);
    `name` names it in errors (default: the path or the stream's name). The header's
    `entries-written > entries-in-buffer` is yielded as `LostEvents(cpu=None)`.
    Raises TraceFormatError for a line that is no event, header, comment or lost marker, and
    for a known event (`EVENT_ARGS`) whose args do not match its format.
    """
    with open_trace(source, name) as (lines, path):
        yield from _events(lines, path, _Header())


def read_header(source: Source, *, name: str | None = None) -> TraceHeader:
    """The header of a trace: reads up to its first event (consuming that far from a stream)."""
    header = _Header(keep_comments=True)
    with open_trace(source, name) as (lines, path):
        for _ in _events(lines, path, header, stop_at_event=True):
            pass
    return header.freeze()
