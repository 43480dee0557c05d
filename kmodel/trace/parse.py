"""Streaming parser for ftrace text: tracefs `trace`/`trace_pipe` output and `trace-cmd report`.

One precompiled regex splits a line into its columns; a known event's args (`EVENT_ARGS`) are
matched by one more regex built from its print format, an unknown event's are split with `str`
methods. Lines are read one at a time, so traces of any size (and `sys.stdin`, and `.gz` files)
stream. Bad input raises `TraceFormatError` naming the file, the line and what was expected,
never anything else.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, BinaryIO, TextIO, cast

from kmodel.errors import TraceFormatError
from kmodel.trace.events import (
    ARG_TYPES,
    BLOCK_EVENTS,
    EVENT_ARGS,
    KPROBE_KEYS,
    KRETPROBE_KEYS,
    MAX_SWAPFILES,
    UNKNOWN_CALLER,
    LostEvents,
    TaskContext,
    TraceEvent,
    TraceHeader,
)

__all__ = [
    "CONSOLE_MSG_MAX",
    "LINE_MAX",
    "LineScanner",
    "console_message",
    "open_trace",
    "parse_event_line",
    "parse_trace",
    "read_header",
    "read_kprobe_profile",
]

Source = str | os.PathLike[str] | TextIO | BinaryIO

EXPECTED_LINE = "expected 'comm-pid (tgid) [cpu] flags timestamp: event: args'"

#: The longest line read, in bytes with its newline. tracefs prints an event into one
#: ``trace_seq`` of PAGE_SIZE (4096) bytes (Linux 6.1.176 include/linux/trace_seq.h:14-19):
#: twice that is no trace line, and a longer one (``/dev/zero``) is an error, not read whole.
LINE_MAX = 8192

class _LineError(ValueError):
    """A line too long, or cut by the end of the input: `relative` counts the lines from the
    last complete one the reader has seen (1: the line being read)."""

    def __init__(self, relative: int, message: str) -> None:
        super().__init__(message)
        self.relative = relative


_TOO_LONG = (f"line longer than {LINE_MAX} bytes: no tracefs line is (one event fits in a "
             "PAGE_SIZE trace_seq); not a text trace?")
_CUT = "the input ends inside this line (no newline after it): a cut trace"


# comm is right-aligned to 16 columns and may hold spaces, dashes and slashes: take the shortest
# prefix followed by -PID. Leading blanks are possessive and comm is bounded, so a bad line fails
# in linear time; numbers are bounded so int() never sees more digits than it takes.
# Groups: context columns, comm, pid, tgid, cpu, flags, seconds, microseconds, event, args.
_LINE = re.compile(
    r"\s*+((.{0,64}?)-(\d{1,10})\s+(?:\((?:\s{0,10}(\d{1,10})|-------)\)\s+)?"
    r"\[(\d{1,6})\](?:\s+([^\s\[\]]{4,6}))?)"
    r"\s+(0|[1-9]\d{0,19})(?:\.(?=\d{6}))?(\d{6}|)\d{0,3}: ([^\s:]+): *(.*)"
)
# The timestamp: SECONDS.MICROSECONDS[NNN] of the nanosecond clocks (local, global, mono,
# mono_raw, boot, tai), or one integer of the counting clocks (counter, uptime: jiffies,
# x86-tsc, perf), which Linux 6.1.176 prints as "%llu" (kernel/trace/trace_output.c:590-603):
# then the microseconds group is empty, and the timestamp's digits are the count.
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

_CONTEXT_CACHE_MAX = 1 << 12  # a trace of many pids stays near a one-pid trace's memory
#: Texts memoized per kretprobe parser (`_memo`). Its hits are the few texts that repeat
#: (the same caller, callee and return value); a pointer-returning probe's texts hardly
#: repeat and filled 4,096 entries (~0.5 KiB each) per probe: the checker's memory then
#: grew from 100k to 1M events. The hit rate is the same with 256 as with 4,096 on the
#: simulated 100k-event trace (75.2%) and on the real basic, hogs2, fork and
#: writeerr_flakey traces (76.6-86.2%).
_ARGS_CACHE_MAX = 1 << 8


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


#: Values each integer type prints, as a regex that only matches values in range (longer
#: ones fall to the slow path, which checks their range), and the range with its name.
_STRICT = {
    "x64": r"0x[0-9a-f]{1,16}",
    "x32": r"0x[0-9a-f]{1,8}",
    "u8": r"\d{1,2}",
    "u12": r"\d{1,3}",
    "u20": r"\d{1,6}",
    "u32": r"\d{1,9}",
    "u64": r"\d{1,19}",
    "s32": r"-?\d{1,9}",
    # swp_entry_t.val below MAX_SWAPFILES << SWP_TYPE_SHIFT = 0x6800000000000000
    "swp": r"0x(?:[0-9a-f]{1,15}|[0-5][0-9a-f]{15}|6[0-7][0-9a-f]{14})",
}
_RANGES = {
    "x64": (0, (1 << 64) - 1, "an unsigned 64-bit value, 0x0..0xffffffffffffffff"),
    "x32": (0, (1 << 32) - 1, "an unsigned 32-bit value, 0x0..0xffffffff"),
    "u8": (0, 255, "an unsigned 8-bit value, 0..255"),
    "u12": (0, (1 << 12) - 1, "a major number, 0..4095"),
    "u20": (0, (1 << 20) - 1, "a minor number, 0..1048575"),
    "u32": (0, (1 << 32) - 1, "an unsigned 32-bit value, 0..4294967295"),
    "u64": (0, (1 << 64) - 1, "an unsigned 64-bit value, 0..18446744073709551615"),
    "s32": (-(1 << 31), (1 << 31) - 1, "a signed 32-bit value, -2147483648..2147483647"),
    "swp": (0, (1 << 64) - 1, "a swap entry (swp_entry_t.val), 0x0..0xffffffffffffffff"),
}
_SWP_TYPE_SHIFT = 58  # BITS_PER_XA_VALUE (63) - MAX_SWAPFILES_SHIFT (5): swapops.h:27
_INT_TEXT = re.compile(r"-?(?:0[xX][0-9a-fA-F]{1,32}|\d{1,40})", re.ASCII)

#: Integer types of the block tracepoints' args (include/trace/events/block.h: dev_t's
#: MAJOR is 12 bits and MINOR 20, sector_t is u64, nr_sector and bytes unsigned int,
#: error int).
_BLOCK_TYPES = {
    "major": "u12", "minor": "u20", "old_major": "u12", "old_minor": "u20",
    "sector": "u64", "old_sector": "u64", "new_sector": "u64",
    "nr_sector": "u32", "bytes": "u32", "error": "s32",
}


def _check_values(name: str, args: dict[str, str], types: dict[str, str]) -> dict[str, str]:
    """Raise `_ArgsError` for a value its type cannot print: not an integer, out of range
    (negative, wider than the field), or a swap entry of no swap area."""
    for key, kind in types.items():
        text = args[key]
        lo, hi, what = _RANGES[kind]
        try:
            value = int(text, 0) if _INT_TEXT.fullmatch(text) else None
        except ValueError:  # "010": leading zeros, which no kernel prints either
            value = None
        if value is None or not lo <= value <= hi:
            raise _ArgsError(f"{name}: {key}={text[:40]!r}: expected {what}")
        if kind == "swp" and value >> _SWP_TYPE_SHIFT >= MAX_SWAPFILES:
            raise _ArgsError(
                f"{name}: {key}={text!r} is no swap slot: its swap type "
                f"{value >> _SWP_TYPE_SHIFT} is not below MAX_SWAPFILES ({MAX_SWAPFILES}, "
                "include/linux/swap.h:125-128)")
    return args


def _values(keys: tuple[str, ...], types: dict[str, str]) -> str:
    return " ".join(
        f"{key}=(?P<{key}>{_STRICT[types[key]] if key in types else '[^ ]*'})" for key in keys
    )


def _block_formats(num: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Block print formats (include/trace/events/block.h): the regex, with `num[type]` for
    each integer type, and the shape for messages."""
    u12, u20, u32, u64, s32 = (num[t] for t in ("u12", "u20", "u32", "u64", "s32"))
    dev = rf"(?P<dev>(?P<major>{u12}),(?P<minor>{u20})) (?P<rwbs>\S+) "
    sectors = rf"(?P<sector>{u64}) \+ (?P<nr_sector>{u32}) "
    return {
        "bio": (
            dev + sectors + r"\[(?P<comm>.*)\]",
            "MAJ,MIN RWBS SECTOR + NR_SECTOR [COMM]",
        ),
        "bio_complete": (
            dev + sectors + rf"\[(?P<error>{s32})\]",
            "MAJ,MIN RWBS SECTOR + NR_SECTOR [ERROR]",
        ),
        "remap": (
            dev + sectors + rf"<- \((?P<old_dev>(?P<old_major>{u12}),(?P<old_minor>{u20}))\) "
            rf"(?P<old_sector>{u64})",
            "MAJ,MIN RWBS SECTOR + NR_SECTOR <- (MAJ,MIN) SECTOR",
        ),
        "rq": (
            dev + rf"(?P<bytes>{u32}) \((?P<cmd>[^()]*)\) " + sectors + r"\[(?P<comm>.*)\]",
            "MAJ,MIN RWBS BYTES (CMD) SECTOR + NR_SECTOR [COMM]",
        ),
        "rq_completion": (
            dev + r"\((?P<cmd>[^()]*)\) " + sectors + rf"\[(?P<error>{s32})\]",
            "MAJ,MIN RWBS (CMD) SECTOR + NR_SECTOR [ERROR]",
        ),
        "split": (
            dev + rf"(?P<sector>{u64}) / (?P<new_sector>{u64}) \[(?P<comm>.*)\]",
            "MAJ,MIN RWBS SECTOR / NEW_SECTOR [COMM]",
        ),
    }


# The fast regexes take only values in range (_STRICT); the slow path takes up to 40 digits
# and checks each value's range (_BLOCK_TYPES), for a message naming the field.
_BLOCK_FORMATS = _block_formats(_STRICT)
_LENIENT = {"u12": r"\d{1,40}", "u20": r"\d{1,40}", "u32": r"\d{1,40}", "u64": r"\d{1,40}",
            "s32": r"-?\d{1,40}"}
_BLOCK_LENIENT = _block_formats(_LENIENT)


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
    name: str, keys: tuple[str, ...], pattern: str, message: str, slow: SlowParser | None,
    types: dict[str, str],
) -> tuple[ArgsParser, ArgsChecker, Matcher]:
    """A parser for a known event: one regex with a group per key, in print order; and a
    checker that raises what the parser raises, without building the args.

    `slow` parses what the regex cannot, such as values with spaces (`comm=Web Content`) or
    integers the regex does not take (`types`: the integer args), whose range it checks.
    """
    fullmatch = re.compile(pattern).fullmatch

    def parse(text: str) -> dict[str, str]:
        m = fullmatch(text)
        if m is not None:
            return m.groupdict()  # every group takes part: no None values
        args = None if slow is None else slow(text)
        if args is None or tuple(args) != keys:
            raise _ArgsError(message)
        return _check_values(name, args, types)

    def check(text: str) -> object:
        return fullmatch(text) or parse(text)

    return parse, check, fullmatch


def _groups(m: re.Match[str] | None) -> dict[str, str] | None:
    return None if m is None else m.groupdict()


#: The kretprobe trampoline's symbols (rethook on x86 since 5.19; kretprobe before): a
#: return address there is another kretprobe's on the caller. tracefs prints it as
#: ``[unknown/kretprobe'd]`` (Linux 6.1.176 kernel/trace/trace_output.c:352-353);
#: trace-cmd's report and other symbolisers print the trampoline's name.
_TRAMPOLINES = frozenset(("arch_rethook_trampoline", "rethook_trampoline",
                          "kretprobe_trampoline", "__kretprobe_trampoline"))


def _untrampolined(parse: ArgsParser) -> ArgsParser:
    """A kretprobe's args with a trampoline caller read as tracefs prints it."""

    def parse_caller(text: str) -> dict[str, str]:
        args = parse(text)
        if args["caller"] in _TRAMPOLINES:
            args = {**args, "caller": UNKNOWN_CALLER, "caller_offset": ""}
        return args

    return parse_caller


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


def _lenient_block(form: str) -> SlowParser:
    """The slow path of a block event: its lenient regex, compiled on first use."""
    fullmatch: Matcher | None = None

    def slow(text: str) -> dict[str, str] | None:
        nonlocal fullmatch
        if fullmatch is None:
            fullmatch = re.compile(_BLOCK_LENIENT[form][0]).fullmatch
        return _groups(fullmatch(text))

    return slow


Built = tuple[ArgsParser, ArgsChecker, Matcher | None]


def _build(name: str) -> Built:
    """The args parser of a known event, a checker of its args for when they are not needed
    (raising what the parser would raise), and its args regex if its parser is that regex's
    `groupdict` when it matches (None: a kretprobe, whose parser memoizes)."""
    keys = EVENT_ARGS[name]
    types = dict(ARG_TYPES.get(name, {}))
    if name in BLOCK_EVENTS:
        form = _block_format(keys)
        pattern, shape = _BLOCK_FORMATS[form]
        types = {k: t for k, t in _BLOCK_TYPES.items() if k in keys}
        return _known(name, keys, pattern, f"{name}: expected '{shape}'",
                      _lenient_block(form), types)
    if keys[:1] == KPROBE_KEYS:
        pattern = r"\((?P<probe>[^ ()]+)\) " + _values(keys[1:], types)
        shape = f"(symbol+offset/size) {_key_text(keys[1:])}"
        return _known(name, keys, pattern, f"{name}: expected '{shape}'", _probe_args, types)
    if keys[:3] == KRETPROBE_KEYS:
        pattern = (
            r"\((?P<caller>[^ ()+]+)\+?(?P<caller_offset>[^ ()]*) <- (?P<callee>[^ ()]+)\) "
            + _values(keys[3:], types)
        )
        shape = f"(caller+offset/size <- callee) {_key_text(keys[3:])}"
        message = f"{name}: expected '{shape}'"
        parse = _memo(_untrampolined(_known(name, keys, pattern, message, _probe_args, types)[0]))
        return parse, parse, None
    message = f"{name}: expected '{_key_text(keys)}'"
    return _known(name, keys, _values(keys, types), message, lambda text: _kv(text, {}), types)


#: Each known event's parsers, built (its regexes compiled) when an event of its name is
#: first parsed: a trace holds about half of the known events, and a command that imports
#: the parser without parsing compiles none (~9 ms of start-up).
_BUILT: dict[str, Built] = {}
#: Known events that have an args regex (`_build`'s third value): all but the kretprobes.
_HAS_MATCHER = frozenset(
    name for name, keys in EVENT_ARGS.items()
    if name != "console" and keys[:3] != KRETPROBE_KEYS
)


def _tables(parsers: dict[str, ArgsParser], checkers: dict[str, ArgsChecker],
            matchers: dict[str, Matcher]) -> None:
    """Fill the three tables with every known event's parser, checker and args regex; those
    not built yet are stubs that build them on first call and put them in these tables in
    their place (the tables' users look them up per event: no stub is called twice)."""

    def install(name: str) -> Built:
        built = _BUILT.get(name)
        if built is None:
            built = _BUILT[name] = _build(name)
            _PARSERS[name], _CHECKERS[name] = built[0], built[1]  # the module's tables too
            if built[2] is not None:
                _MATCHERS[name] = built[2]
        parsers[name], checkers[name] = built[0], built[1]
        if built[2] is not None:
            matchers[name] = built[2]
        return built

    for name in EVENT_ARGS:
        if name == "console":
            continue
        built = _BUILT.get(name)
        if built is not None:
            parsers[name], checkers[name] = built[0], built[1]
            if built[2] is not None:
                matchers[name] = built[2]
            continue

        def parse(text: str, name: str = name) -> dict[str, str]:
            return install(name)[0](text)

        def check(text: str, name: str = name) -> object:
            return install(name)[1](text)

        def match(text: str, name: str = name) -> re.Match[str] | None:
            fullmatch = install(name)[2]
            assert fullmatch is not None
            return fullmatch(text)

        parsers[name], checkers[name] = parse, check
        if name in _HAS_MATCHER:
            matchers[name] = match


#: The tables of `_tables` for module-level use (`check_6_12` parses args with them).
_PARSERS: dict[str, ArgsParser] = {"console": lambda text: {"msg": text}}
_CHECKERS: dict[str, ArgsChecker] = {"console": len}
_MATCHERS: dict[str, Matcher] = {}
_tables(_PARSERS, _CHECKERS, _MATCHERS)


#: The longest message a console event carries, in bytes: printk formats a record into at most
#: LOG_LINE_MAX bytes with its NUL (Linux 6.1.176 kernel/printk/printk.c:385-398, 2190-2191;
#: PREFIX_MAX is 32 without CONFIG_PRINTK_CALLER, 48 with it) and printk_sprint hands the text,
#: its trailing newline stripped, to the tracepoint (printk.c:2118-2146).
CONSOLE_MSG_MAX = 1024 - 32 - 1

#: Put before each line that continues a console event's message (`_Continuations`), by the
#: reader, so that the line says so itself wherever it goes. No trace line starts with a NUL
#: (a console message is a C string): one that does is an error (`_NUL_LINE`).
_MARK = "\x00"
_MARK_B = b"\x00"
_CONSOLE_B = b": console: "
_NUL_LINE = "a NUL byte at the start of a line: no trace line holds one (not a text trace?)"


class _Continuations:
    """Which lines continue the message of a ``console:`` event.

    The console tracepoint prints its message verbatim, embedded newlines included: only one
    trailing newline is cut (Linux 6.1.176 include/trace/events/printk.h:10-33). So the lines
    after a console event, up to the next event or lost-events marker, are the rest of its
    message, whatever they hold (a blank line, ``#PF: ...``, ``name fail_make_request, ...``).
    A line continues one if the line before it is a console event or continues one, it is no
    event and no lost marker, and the message stays within CONSOLE_MSG_MAX; anything else is
    read as it would be without a console event before it (a bad line is still an error).
    """

    __slots__ = ("opening", "size")

    def __init__(self) -> None:
        #: The open message's length so far; -1: the last line ended no console message.
        self.size = -1
        #: A line holding ``: console: `` that `after` took, not matched yet: whether it is a
        #: console event matters only if the line after it is no event (rarely), so it is
        #: matched then (one regex match per console event, not two).
        self.opening: str | bytes | None = None

    def after(self, line: str | bytes) -> None:
        """`line`, which holds ``: console: ``, was read and continues no message."""
        self.opening = line
        self.size = 0

    def continues(self, line: str) -> bool:
        """Whether `line`, the line after a console message's last line (or after a line
        given to `after`), continues that message."""
        m = _LINE.match(line)
        if m is not None:
            self.opening = None
            self.size = len(m[10]) if m[9] == "console" else -1
            return False
        size = self.size
        opening = self.opening
        if opening is not None:
            self.opening = None
            if isinstance(opening, bytes):
                opening = opening.decode("utf-8", "surrogateescape")
            o = _LINE.match(opening)
            size = len(o[10]) if o is not None and o[9] == "console" else -1
        if size >= 0 and _LOST.match(line.strip()) is None:
            size += 1 + len(line.rstrip("\r\n"))
            if size <= CONSOLE_MSG_MAX:
                self.size = size
                return True
        self.size = -1
        return False


class _Message:
    """The args of the console event parsed last, which lines marked as continuing its message
    extend (``msg_rest``); an event whose args are only checked (`skip`) has none."""

    __slots__ = ("args",)

    def __init__(self) -> None:
        self.args: dict[str, str] | None = None

    def parse(self, text: str) -> dict[str, str]:
        self.args = args = {"msg": text}
        return args

    def skip(self, text: str) -> object:
        self.args = None
        return text

    def more(self, line: str) -> None:
        """Add a marked continuation line to the message."""
        args = self.args
        if args is not None:
            text = line[1:].rstrip("\n")
            rest = args.get("msg_rest")
            args["msg_rest"] = text if rest is None else f"{rest}\n{text}"


def console_message(args: Mapping[str, str]) -> str:
    """The whole message of a console event's `args`: ``msg`` (its first line, which the
    event's line shows) and ``msg_rest`` (the lines that continue it, if any), rejoined."""
    rest = args.get("msg_rest")
    return args["msg"] if rest is None else f"{args['msg']}\n{rest}"


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
    if loose is not None and re.fullmatch(r"\d+(?:\.\d{6,9})?", loose.group(1), re.ASCII) is None:
        message = (
            f"bad timestamp {loose.group(1)!r}: expected SECONDS.MICROSECONDS (trace_clock "
            f"global/local/mono...) or an integer (counter/uptime/x86-tsc); {EXPECTED_LINE}"
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


def _backwards(path: str, lineno: int, line: str, cpu: int, ts: int,
               prev: int, counting: bool = False) -> TraceFormatError:
    """A CPU's event before its previous one: the ring buffer records a clock that went back
    as a delta of 0 (Linux 6.1.176 kernel/trace/ring_buffer.c:2903-2919), so no tracer prints
    one CPU's events out of time order."""
    def show(t: int) -> str:
        return str(t) if counting else f"{t // 1_000_000}.{t % 1_000_000:06d}"

    return TraceFormatError(
        path, lineno,
        f"timestamp {show(ts)} is before {show(prev)}, that of the previous event of CPU "
        f"{cpu}: each CPU's events are recorded in time order", line)


def _clocks_mixed(path: str, lineno: int, line: str, counting: bool) -> TraceFormatError:
    return TraceFormatError(
        path, lineno,
        f"{'an integer' if counting else 'a SECONDS.MICROSECONDS'} timestamp after "
        f"{'SECONDS.MICROSECONDS' if counting else 'integer'} ones: a trace has one clock "
        "(trace_clock cannot change while the ring buffer holds events)", line)


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
    """Parse `lines`; with `stop_at_event`, stop before the first event (header only).

    A console event is yielded when its message is whole: before the next item, or at the end.
    """
    match = _LINE.match
    message = _Message()
    held: TraceEvent | None = None  # a console event whose message may go on
    parsers: dict[str, ArgsParser] = {"console": message.parse}
    _tables(parsers, {}, {})
    generic = _parse_generic
    contexts: dict[str, TaskContext] = {}
    get_context = contexts.get
    last_ts: dict[int, int] = {}  # CPU -> its last timestamp
    counting: bool | None = None  # an integer clock (counter, uptime, ...): no time unit
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
                if line[:1] == _MARK:  # the rest of a console event's message
                    message.more(line)
                    continue
                lost = _other_line(path, lineno, line, header)
                if lost is not None:
                    if held is not None:
                        yield held
                        held = None
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
            ts = int(sec + usec)
            prev = last_ts.get(context.cpu)
            if prev is None:  # the CPU's first event: the clock's kind, one for all
                if counting is None:
                    counting = not usec
                elif counting != (not usec):
                    raise _clocks_mixed(path, lineno, line, not usec)
            elif ts < prev:
                raise _backwards(path, lineno, line, context.cpu, ts, prev, bool(counting))
            last_ts[context.cpu] = ts
            if held is not None:
                yield held
                held = None
            if name == "console":
                held = TraceEvent(path, lineno, context, ts, name, args)
                continue
            yield TraceEvent(path, lineno, context, ts, name, args)
    except unreadable() as e:
        raise _unreadable(path, lineno, e) from None
    if held is not None:
        yield held


class LineScanner:
    """`parse_trace` one line at a time, for a consumer that needs only some events whole.

    `kmodel check` reads the lines itself (`lines`, `path`) and, per line: `match` it (None:
    `other` handles a header, comment or lost marker); `context` gives the event's shared
    `TaskContext`; `event` builds the `TraceEvent`, or `skip` only checks the args of an event
    the consumer does not need. Same values and same `TraceFormatError`s as `parse_trace`
    (`not_utf8` for a line that is not ASCII, `unreadable` for input that cannot be read).

    A line that continues a console event's message (`open_trace` marks it) goes to `other`,
    which adds it to the event's args as ``msg_rest`` (`console_message`) and returns None:
    the event's ``msg`` is its first line, handled when that line is read, and the rest of the
    message is in its args once the lines after it are read.
    """

    #: What an args parser raises; `bad_args` turns it into the TraceFormatError.
    ArgsError = _ArgsError

    def __init__(self, path: str) -> None:
        self.path = path
        self.header = _Header()
        self.match = _LINE.match
        self._message = _Message()
        #: The console parser of a scanner keeps the args its message's next lines extend.
        self.parsers: dict[str, ArgsParser] = {"console": self._message.parse}
        #: Known events' args checkers (raise ArgsError as the parser would, build nothing).
        self.checkers: dict[str, ArgsChecker] = {"console": self._message.skip}
        #: Known events' args regexes: where one matches, its `groupdict()` is what the
        #: parser returns (a shortcut past the parser's call; elsewhere, call the parser).
        self.matchers: dict[str, Matcher] = {}
        _tables(self.parsers, self.checkers, self.matchers)  # built on first use
        self.contexts: dict[str, TaskContext] = {}
        #: Whether the trace's clock counts (an integer timestamp): set at the first event.
        self.counting: bool | None = None

    def not_utf8(self, lineno: int, line: str) -> None:
        """Raise if a line that is not ASCII is not UTF-8 either."""
        error = _not_utf8(self.path, lineno, line)
        if error is not None:
            raise error

    def other(self, lineno: int, line: str) -> LostEvents | None:
        """A line that is not an event: blank, header, comment, lost-events marker, or the
        rest of a console event's message."""
        if line[:1] == _MARK:
            self._message.more(line)
            return None
        return _other_line(self.path, lineno, line, self.header)

    def context(self, m: re.Match[str]) -> TaskContext:
        """The shared context of an event's columns."""
        return self.contexts.get(m[1]) or _context(self.contexts, m)

    def event(self, lineno: int, line: str, m: re.Match[str]) -> TraceEvent:
        """The event of a matched line."""
        sec, usec, name, text = m.group(7, 8, 9, 10)
        try:
            args = self.parsers.get(name, _parse_generic)(text)
        except _ArgsError as e:
            raise TraceFormatError(self.path, lineno, str(e), line) from None
        return TraceEvent(self.path, lineno, self.context(m), int(sec + usec), name, args)

    def bad_args(self, lineno: int, line: str, error: Exception) -> TraceFormatError:
        """The error for a known event whose args do not match its format."""
        return TraceFormatError(self.path, lineno, str(error), line)

    def skip(self, lineno: int, line: str, name: str, text: str) -> None:
        """Check the args of an event without building it (unknown events have any args)."""
        check = self.checkers.get(name)
        if check is not None:
            try:
                check(text)
            except _ArgsError as e:
                raise TraceFormatError(self.path, lineno, str(e), line) from None

    def unreadable(self, lineno: int, error: Exception) -> TraceFormatError:
        """The error for input that cannot be read after line `lineno`."""
        return _unreadable(self.path, lineno, error)

    def count_rest(self, lines: Iterable[str], lineno: int) -> int:
        """Read the `lines` after line `lineno` to the end: their number of events.

        For a check that stopped early: every line is still read (bad lines are errors, as
        anywhere), but only the line's columns, not its args, are parsed.
        """
        match = self.match
        self._message.args = None  # the events after here are not built
        events = 0
        try:
            for lineno, line in enumerate(lines, lineno + 1):  # noqa: B020
                if not line.isascii():
                    self.not_utf8(lineno, line)
                if match(line) is None:
                    self.other(lineno, line)
                else:
                    events += 1
        except unreadable() as e:
            raise _unreadable(self.path, lineno, e) from None
        return events

    def time_order(self, lineno: int, line: str, cpu: str, ts: str, prev: str) -> None:
        """Raise if timestamp digits `ts` (`_LINE`'s seconds and microseconds) are before
        `prev`, those of the CPU's previous event; the caller saw `ts < prev` as strings."""
        if len(ts) < len(prev) or (len(ts) == len(prev) and ts < prev):
            raise _backwards(self.path, lineno, line, int(cpu), int(ts), int(prev),
                             bool(self.counting))

    def clock(self, lineno: int, line: str, usec: str) -> bool:
        """At a CPU's first event (`usec`: its `_LINE` microseconds group): whether the trace's
        clock counts (counter, uptime, x86-tsc: an integer, no time unit) rather than keeps
        time; the same for every event, or a `TraceFormatError`."""
        counting = not usec
        if self.counting is None:
            self.counting = counting
        elif counting != self.counting:
            raise _clocks_mixed(self.path, lineno, line, counting)
        return counting


def _unreadable(path: str, lineno: int, error: Exception) -> TraceFormatError:
    if isinstance(error, _LineError):
        return TraceFormatError(path, lineno + error.relative, str(error))
    return TraceFormatError(path, lineno + 1, f"unreadable input after this line: {error}")


_UNREADABLE: tuple[type[Exception], ...] | None = None
if TYPE_CHECKING:  # at run time, module __getattr__ below
    UNREADABLE: tuple[type[Exception], ...]


def unreadable() -> tuple[type[Exception], ...]:
    """What reading a trace may raise past its last good line (`LineScanner.unreadable`),
    for ``except unreadable()``: evaluated only when an exception is being handled, so
    gzip and lzma (~1 ms of start-up) are imported only then or to open a compressed file
    (their errors come only from a file they opened)."""
    global _UNREADABLE
    if _UNREADABLE is None:
        import gzip
        import lzma

        _UNREADABLE = (UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile,
                       lzma.LZMAError, _LineError)
    return _UNREADABLE


def __getattr__(name: str) -> object:
    """``UNREADABLE``, the tuple of :func:`unreadable` (imported by name by check_6_12)."""
    if name == "UNREADABLE":
        return unreadable()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PROFILE_LINE = re.compile(r"\s*(\S{1,256})\s+(\d{1,20})\s+(\d{1,20})\s*", re.ASCII)


def read_kprobe_profile(path: str | os.PathLike[str]) -> dict[str, int]:
    """Missed hits per probe from a tracefs ``kprobe_profile`` (``EVENT HITS MISSES`` lines,
    Linux 6.1.176 kernel/trace/trace_kprobe.c:1236-1254): probe name -> misses."""
    name = os.fspath(path)
    missed: dict[str, int] = {}
    with open(name, "rb") as file:
        for lineno, raw in enumerate(iter(lambda: file.readline(LINE_MAX + 1), b""), 1):
            line = raw.decode("utf-8", "replace")
            if not line.strip():
                continue
            m = _PROFILE_LINE.fullmatch(line)
            if m is None or len(raw) > LINE_MAX:
                raise TraceFormatError(name, lineno, "expected 'EVENT HITS MISSES' (a tracefs "
                                       "kprobe_profile)", line)
            probe = m[1].rpartition("/")[2]  # "kt/do_swap_page" or "do_swap_page"
            missed[probe] = missed.get(probe, 0) + int(m[3])
            if len(missed) > 4096:
                raise TraceFormatError(name, lineno, "more than 4096 probes: not a "
                                       "kprobe_profile of kmodel's probes?")
    return missed


def parse_event_line(line: str, path: str = "<line>", lineno: int = 1) -> TraceEvent:
    """The event of one trace line (TraceFormatError if it is no event)."""
    scanner = LineScanner(path)
    m = scanner.match(line)
    if m is None:
        raise _bad_line(path, lineno, line)
    return scanner.event(lineno, line, m)


class _LineBounds(io.BufferedIOBase):
    """The bytes of a binary stream, for a TextIOWrapper, with lines bounded: a line longer
    than LINE_MAX bytes, and a last line without its newline (a cut file), raise `_LineError`.

    Checked per chunk the text layer reads, not per line (the hot loop pays nothing): from
    each newline, the next one must be at most LINE_MAX bytes on, which `bytes.rfind` over a
    LINE_MAX window finds at C speed. The text layer reads a chunk only when it has handed out
    every complete line before, so the reader's own line count locates the error.

    Also per chunk: the lines that continue a console event's message get `_MARK` in front
    (`_mark`). A chunk without ``: console: `` (found by `bytes.__contains__`, at C speed)
    and without an open message is handed on as read.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._read = getattr(raw, "read1", raw.read)  # read1: what a pipe has, no waiting
        self._open = 0  # bytes of the current line so far
        self._blank = True  # the current line holds only blanks so far
        self._line = b""  # the bytes handed on of the line not yet ended
        self._held = b""  # the start of a line not handed on: its mark is not decided yet
        self._console_open = False  # `_line` is a console event's line, its end not read yet
        self._messages = _Continuations()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self.read1(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        while True:
            data = self._checked(size)
            if data is None:  # a non-blocking stream without data
                return data  # type: ignore[return-value]  # as BufferedIOBase.read1 does
            if not data:  # the end
                held, self._held = self._held, b""
                return held
            if _MARK_B in data:
                self._no_nul(data)
            line = self._line
            if not (self._held or self._console_open or self._messages.size >= 0
                    or _CONSOLE_B in data or _CONSOLE_B in line[-10:] + data[:10]):
                end = data.rfind(b"\n")
                self._line = data[end + 1 :] if end >= 0 else line + data
                return data
            data = self._mark(data)
            if data:
                return data

    def _no_nul(self, data: bytes) -> None:
        """Raise for a NUL that starts a line (`_MARK` is the reader's own)."""
        if data[:1] == _MARK_B and not self._line and not self._held:
            at = 0
        else:
            at = data.find(b"\n" + _MARK_B) + 1
            if at == 0:
                return
        raise _LineError(data.count(b"\n", 0, at) + 1, _NUL_LINE)

    def _mark(self, data: bytes) -> bytes:
        """`data` with `_MARK` before each line that continues a console event's message.

        A line whose mark is not decided yet (its end not read) is held back for the next
        read; `_line` keeps the open line's start for a console event split between reads.
        """
        base = len(self._line)  # handed on already
        buf = self._line + self._held + data if base or self._held else data
        self._held = b""
        self._console_open = False
        messages = self._messages
        parts: list[bytes] = []
        last = base  # buf[last:pos] is not in `parts` yet
        pos = 0  # a line start, or 0
        hold = len(buf)
        while True:
            if messages.size >= 0:  # `pos` starts the line after a message's line
                end = buf.find(b"\n", pos)
                if end < 0:
                    hold = pos
                    break
                if messages.continues(buf[pos : end + 1].decode("utf-8", "surrogateescape")):
                    parts.append(buf[last:pos])
                    parts.append(_MARK_B)
                    last = pos
                pos = end + 1
                continue
            at = buf.find(_CONSOLE_B, pos)
            if at < 0:
                break
            start = buf.rfind(b"\n", 0, at) + 1
            end = buf.find(b"\n", at)
            if end < 0:
                self._console_open = True  # decided when its end is read
                break
            messages.after(buf[start : end + 1])
            pos = end + 1
        self._held = buf[hold:]
        end = buf.rfind(b"\n", 0, hold)
        self._line = buf[end + 1 : hold]
        if not parts and buf is data and hold == len(buf):
            return data  # nothing marked, nothing held: no copy
        parts.append(buf[last:hold])
        return b"".join(parts)

    def _checked(self, size: int) -> bytes | None:
        """The next chunk, its line lengths checked (None: a non-blocking stream, no data)."""
        data: bytes | None = self._read(size if size and size > 0 else 1 << 16)
        if not data:
            if data is not None and not self._blank:
                raise _LineError(1, _CUT)
            return data
        last = data.rfind(b"\n")
        if last < 0:
            self._open += len(data)
            self._blank = self._blank and not data.strip()
            if self._open > LINE_MAX:
                raise _LineError(1, _TOO_LONG)
            return data
        pos = data.find(b"\n")
        if self._open + pos + 1 > LINE_MAX:
            raise _LineError(1, _TOO_LONG)
        while last - pos > LINE_MAX:
            nxt = data.rfind(b"\n", pos + 1, pos + LINE_MAX + 1)
            if nxt < 0:
                raise _LineError(data.count(b"\n", 0, pos + 1) + 1, _TOO_LONG)
            pos = nxt
        self._open = len(data) - last - 1
        self._blank = not data[last + 1 :].strip()
        if self._open > LINE_MAX:
            raise _LineError(data.count(b"\n") + 1, _TOO_LONG)
        return data


def _text(binary: BinaryIO) -> io.TextIOWrapper:
    text = io.TextIOWrapper(
        cast(BinaryIO, _LineBounds(binary)), encoding="utf-8", errors="surrogateescape"
    )
    text._CHUNK_SIZE = 1 << 16  # type: ignore[attr-defined]  # fewer, larger reads
    return text


def _bounded_text_lines(stream: Iterable[str], path: str) -> Iterator[str]:
    """Lines of a text stream (a StringIO, any iterable of lines), bounded like `_LineBounds`
    bounds a binary one: a stream with ``readline`` is never read past LINE_MAX + 1; and
    marked like it: a line that continues a console event's message starts with `_MARK`."""
    readline = getattr(stream, "readline", None)
    lines = iter(stream) if readline is None else iter(lambda: readline(LINE_MAX + 1), "")
    for lineno, line in enumerate(_marked_lines(lines, path), 1):
        size = len(line) - (line[:1] == _MARK)
        if size > LINE_MAX or (size == LINE_MAX and line[-1] != "\n"):
            raise TraceFormatError(path, lineno, _TOO_LONG)
        yield line


def _marked_lines(lines: Iterable[str], path: str) -> Iterator[str]:
    """`lines` with `_MARK` before each line that continues a console event's message."""
    messages = _Continuations()
    for lineno, line in enumerate(lines, 1):
        if line[:1] == _MARK:
            raise TraceFormatError(path, lineno, _NUL_LINE, line)
        if messages.size >= 0:
            if messages.continues(line):
                line = _MARK + line
        elif ": console: " in line:
            messages.after(line)
        yield line


_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"


def compression(path: str) -> str | None:
    """``gzip`` or ``xz`` when the file's first bytes say it is compressed that way (whatever
    its name), else None."""
    try:
        with open(path, "rb") as f:
            magic = f.read(len(_XZ_MAGIC))
    except OSError:
        return None  # open_compressed reports it
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    return "xz" if magic == _XZ_MAGIC else None


def open_compressed(path: str) -> BinaryIO:
    """A regular file's bytes, decompressed when it is gzip or xz (:func:`compression`)."""
    kind = compression(path)
    if kind == "gzip":
        import gzip

        return cast(BinaryIO, gzip.open(path, "rb"))
    if kind == "xz":
        import lzma

        return cast(BinaryIO, lzma.open(path, "rb"))
    return open(path, "rb")


def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False  # open() reports it


@contextlib.contextmanager
def open_trace(source: Source, name: str | None) -> Iterator[tuple[Iterable[str], str]]:
    """The lines of `source` (as `parse_trace` takes it) and the name errors give it.

    Lines are bounded (LINE_MAX); a file or binary stream must end with a newline (a last line
    without one was cut).
    """
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if _regular_file(path):  # sniffing a pipe or a device would eat what it reads
            from kmodel.trace.recorders import open_recording  # trace.dat, report -R, bpftrace

            with open_recording(path, name or path) as converted:
                if converted is not None:
                    yield _marked_lines(converted, name or path), name or path
                    return
        binary = open_compressed(path) if _regular_file(path) else open(path, "rb")  # noqa: SIM115
        with binary:
            text = _text(binary)
            yield text, name or path
            text.detach()  # `binary` is closed by its own `with`
    elif isinstance(source, io.BufferedIOBase | io.RawIOBase):  # sys.stdin.buffer
        path = name or str(getattr(source, "name", "<stream>"))
        text = _text(cast(BinaryIO, source))
        try:
            yield text, path
        finally:
            text.detach()  # the caller's stream stays open
    else:
        path = name or str(getattr(source, "name", "<stream>"))
        yield _bounded_text_lines(cast(TextIO, source), path), path


def parse_trace(source: Source, *, name: str | None = None) -> Iterator[TraceEvent | LostEvents]:
    """Yield the events of an ftrace text trace, and `LostEvents` where events were lost.

    `source` is a path (gzip or xz is decompressed), or an open stream such as `sys.stdin`, or a
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
