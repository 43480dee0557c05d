"""Other recorders' output as ftrace text: ``trace-cmd report -R``, ``trace.dat``, bpftrace.

``kmodel check`` reads ftrace text (tracefs ``trace``, ``trace-cmd report``). This module turns
the other common recordings of the same events into that text, one line for one line, so the
parser, the checker and ``--perfetto`` see one format:

- ``trace-cmd report -R``: raw fields (``__probe_ip=…``, ``dev=265289728``) back into the
  events' print formats (Linux 6.1.176 kernel/trace/trace_probe.c:__set_print_fmt,
  include/trace/events/block.h);
- ``trace-cmd report`` text: a 6.12 request event's ioprio class by name, as tracefs prints
  it (:func:`report_lines`);
- a binary ``trace.dat``: ``trace-cmd report`` is run on it, its text converted as above and
  its probe locations named from the file's kallsyms as tracefs names them;
- bpftrace ``-f json`` NDJSON of the script :func:`bpftrace_script` writes, whose ``printf``
  lines carry each event's columns; lines that are not JSON (a ``-c`` child's output) and
  bpftrace's other messages are skipped.

A file is sniffed by its first 64 KiB (:func:`recording_kind`); standard input too, its head
replayed before the rest (:func:`open_stream`).

For ``-R`` a skipped input line becomes a blank line, so line numbers in errors and divergences
are the input's own (for a ``trace.dat``: those of ``trace-cmd report``'s output); bpftrace's
events are put in time order first (see :func:`bpftrace_lines`).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, cast

from kmodel.errors import TraceFormatError

if TYPE_CHECKING:
    import subprocess

# json, shutil, subprocess and kmodel.capture.probes are imported where they are used: every
# `kmodel check` of a file imports this module to sniff its kind, and a text trace needs none
# of them (~8 ms of start-up). Likewise the regexes of the converters (trace-cmd, bpftrace)
# are kept as text and compiled on first use (``re.compile``'s cache): a text trace's check
# compiles only _REPORT_HEAD and _EVENT_NAME (~1 ms of start-up for the 19 others).

__all__ = [
    "EVENTS_ONLY_6_1",
    "EVENTS_ONLY_6_12",
    "TRACE_DAT_MAGIC",
    "ConvertedLines",
    "bpftrace_lines",
    "bpftrace_script",
    "events_kernel",
    "head_kernel",
    "kind_of_head",
    "open_recording",
    "open_stream",
    "raw_report_lines",
    "recording_kind",
    "trace_dat_lines",
]

#: The first bytes of a trace-cmd ``trace.dat`` (trace-cmd Documentation/trace-cmd.dat.v7.5).
TRACE_DAT_MAGIC = b"\x17\x08Dtracing"

INSTALL_TRACE_CMD = ("trace-cmd is not installed: it reads trace.dat files. Install it "
                     "(Debian/Ubuntu: apt-get install trace-cmd; Fedora: dnf install trace-cmd), "
                     "or give kmodel the text of 'trace-cmd report -i FILE'")

#: The tag that starts each line of kmodel's bpftrace script.
BPF_TAG = "kmodel"
#: The tag of a header line the script prints (``kmodel-header<TAB># kernel: 6.12``).
BPF_HEADER_TAG = "kmodel-header"

_SNIFF_BYTES = 1 << 16
#: ``trace-cmd report``'s first line (``cpus=2``), after any ``#`` header lines.
_REPORT_HEAD = re.compile(rb"\A(?:#[^\n]*\n)*cpus=\d+\n")


def recording_kind(path: str) -> str:
    """``trace.dat``, ``bpftrace``, ``trace-cmd -R`` or ``text`` (tracefs / trace-cmd report).

    Only a regular file is looked into: reading the head of a pipe (``<(trace-cmd report)``)
    would take it from the parser; a pipe is read as text. Standard input is sniffed by
    :func:`open_stream`, which keeps the head it reads.
    """
    if not os.path.isfile(path):
        return "text"
    with open(path, "rb") as file:
        head = file.read(_SNIFF_BYTES)
    return kind_of_head(head)


def kind_of_head(head: bytes) -> str:
    """The :func:`recording_kind` of a recording whose first bytes are *head*."""
    if head.startswith(TRACE_DAT_MAGIC):
        return "trace.dat"
    if b'\n{"type": ' in b"\n" + head:
        return "bpftrace"
    if b" __probe_ip=" in head or b" __probe_func=" in head:
        return "trace-cmd -R"
    if _REPORT_HEAD.search(head):
        return "trace-cmd"
    return "text"


@contextlib.contextmanager
def open_recording(path: str, name: str) -> Iterator[Iterable[str] | None]:
    """The converted lines of a recording at `path`, or None if it is ftrace text already."""
    kind = recording_kind(path)
    if kind == "text":
        yield None
    elif kind == "trace-cmd":
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            yield report_lines(file)
    elif kind == "trace.dat":
        with trace_dat_lines(path, name) as lines:
            yield lines
    else:
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            if kind == "bpftrace":
                yield bpftrace_lines(file, name)
            else:
                yield raw_report_lines(file, name)


# -- standard input ----------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"


class ConvertedLines:
    """Converted lines as a read-only text stream: what ``check_trace`` and ``parse_trace``
    take as an open stream (they iterate it; ``read`` returns the rest at once)."""

    def __init__(self, lines: Iterable[str], name: str) -> None:
        """*lines*: the converted lines, in order; *name*: the stream's name in errors."""
        self._lines = iter(lines)
        self.name = name

    def __iter__(self) -> Iterator[str]:
        """The lines not read yet."""
        return self._lines

    def read(self, size: int = -1) -> str:
        """The rest of the lines, joined."""
        return "".join(self._lines)


class _Rejoined(io.RawIOBase):
    """A binary stream whose head was read already: the head's bytes, then the rest's."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        read1 = getattr(self._rest, "read1", self._rest.read)
        data = read1(len(view))
        view[:len(data)] = data
        return len(data)


def read_head(stream: BinaryIO, size: int = _SNIFF_BYTES) -> bytes:
    """Up to *size* first bytes of *stream* (fewer only at its end), read as they come."""
    read1 = getattr(stream, "read1", stream.read)
    chunks: list[bytes] = []
    got = 0
    while got < size:
        data = read1(size - got)
        if not data:
            break
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


#: Probe events that only one kernel line's probe set records (kmodel.capture.probes against
#: kmodel.capture.probes612; tests/trace/test_kernel_detect.py holds these to those sets).
EVENTS_ONLY_6_12 = frozenset({
    "__end_swap_bio_read", "__end_swap_bio_write", "folio_end_writeback", "swap_read_folio",
    "swap_read_folio_bdev_sync", "swap_read_folio_ret", "swap_writepage_bdev_sync",
    "zswap_load", "zswap_load_ret", "zswap_store", "zswap_store_ret",
})
EVENTS_ONLY_6_1 = frozenset({
    "__frontswap_load", "__frontswap_load_ret", "__frontswap_store", "__frontswap_store_ret",
    "__swap_duplicate", "__swap_duplicate_ret", "__swap_entry_free_locked",
    "__swap_entry_free_locked_ret", "folio_alloc_swap", "folio_alloc_swap_ret",
    "__swap_writepage_ret", "bdev_read_page", "bdev_read_page_ret", "bdev_write_page",
    "bdev_write_page_ret", "end_page_writeback", "swap_readpage", "swap_readpage_ret",
})
#: An event line's name, after its timestamp (tracefs, trace-cmd report).
_EVENT_NAME = re.compile(r" \d+(?:\.\d+)?: ([\w.]+): ", re.ASCII)


def events_kernel(lines: Iterable[str]) -> str | None:
    """The kernel line (``6.1``, ``6.12``) whose probe set alone records the first such event
    of *lines*, for a trace whose header names no kernel; None if no line tells."""
    for line in lines:
        m = _EVENT_NAME.search(line)
        if m is not None:
            if m.group(1) in EVENTS_ONLY_6_12:
                return "6.12"
            if m.group(1) in EVENTS_ONLY_6_1:
                return "6.1"
    return None


def head_kernel(head: bytes, name: str) -> str | None:
    """The kernel line (``6.1``, ``6.12``) the ``# kernel:`` header line in *head* names, as
    ``check_6_12.trace_kernel`` reads it from a file, else the one its first events tell
    (:func:`events_kernel`); None when neither does."""
    lines = head.split(b"\n")[:-1]  # the complete lines
    for lineno, line in enumerate(lines, 1):
        if lineno > 64 or not line.startswith(b"#"):  # check_6_12.HEADER_LINES_MAX
            break
        if line.startswith(b"# kernel:"):
            from kmodel.trace.check_6_12 import kernel_of_release

            release = line[len(b"# kernel:"):].decode("utf-8", "replace")
            return kernel_of_release(release, f"{name}:{lineno}: ")
    return events_kernel(line.decode("utf-8", "replace") for line in lines)


@contextlib.contextmanager
def open_stream(stream: BinaryIO, name: str) -> Iterator[tuple[BinaryIO | ConvertedLines,
                                                                str | None]]:
    """A binary stream (standard input) as ``check_trace`` reads it, whatever the recording,
    and the kernel line its header names (None if it names none).

    The first 64 KiB are read and sniffed as :func:`recording_kind` sniffs a file's; the
    stream given back replays them before the rest, so the input is read once. Text comes
    back as a binary stream, ``trace-cmd report -R`` and bpftrace NDJSON as their converted
    lines, gzip or xz decompressed first. A ``trace.dat`` is copied to a temporary file for
    ``trace-cmd report -i`` (which reads its sections by offset), deleted after.
    """
    head = read_head(stream)
    whole = io.BufferedReader(_Rejoined(head, stream), 1 << 16)
    if head.startswith(_GZIP_MAGIC):
        import gzip

        with gzip.GzipFile(fileobj=whole, mode="rb") as unzipped, \
                open_stream(cast(BinaryIO, unzipped), name) as inner:
            yield inner
        return
    if head.startswith(_XZ_MAGIC):
        import lzma

        with lzma.LZMAFile(whole, mode="rb") as unpacked, \
                open_stream(cast(BinaryIO, unpacked), name) as inner:
            yield inner
        return
    kind = kind_of_head(head)
    if kind == "text":
        yield cast(BinaryIO, whole), head_kernel(head, name)
    elif kind == "trace.dat":
        import shutil
        import tempfile

        with tempfile.NamedTemporaryFile(prefix="kmodel-stdin-", suffix=".trace.dat") as spool:
            shutil.copyfileobj(whole, spool, 1 << 20)
            spool.flush()
            with trace_dat_lines(spool.name, name) as lines:
                yield ConvertedLines(lines, name), None
    else:
        text = io.TextIOWrapper(whole, encoding="utf-8", errors="surrogateescape")
        try:
            lines = (bpftrace_lines(text, name) if kind == "bpftrace"
                     else report_lines(text) if kind == "trace-cmd"
                     else raw_report_lines(text, name))
            first = next(lines, None)  # bpftrace: the script's '# kernel:' line, if any
            found = head_kernel(head, name)  # -R, report: the header lines as they are
            if found is None and first is not None and first.startswith("# kernel:"):
                from kmodel.trace.check_6_12 import kernel_of_release

                found = kernel_of_release(first[len("# kernel:"):], f"{name}:1: ")
            rest = lines if first is None else itertools.chain((first,), lines)
            yield ConvertedLines(rest, name), found
        finally:
            text.detach()  # the caller's stream stays open


# -- trace.dat ---------------------------------------------------------------------------------


@contextlib.contextmanager
def trace_dat_lines(path: str, name: str) -> Iterator[Iterator[str]]:
    """The lines of ``trace-cmd report -i path``, streamed; a clear error without trace-cmd."""
    import shutil
    import subprocess

    exe = shutil.which("trace-cmd")
    if exe is None:
        raise TraceFormatError(name, 1, f"a trace-cmd trace.dat file; {INSTALL_TRACE_CMD}")
    symbols = _kallsyms(exe, path)
    proc = subprocess.Popen(
        [exe, "report", "-i", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        encoding="utf-8", errors="surrogateescape")
    assert proc.stdout is not None and proc.stderr is not None  # both are PIPE
    try:
        yield _report_lines(proc, name, symbols)
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
        proc.stderr.close()


class Symbols:
    """A kernel's text symbols (``/proc/kallsyms``' t/T/w/W), to name an address as ``%pS``
    does: ``name+0xOFF/0xSIZE``, the size up to the next symbol (kernel/kallsyms.c)."""

    def __init__(self, lines: Iterable[str]) -> None:
        """*lines*: ``ADDRESS TYPE NAME [MODULE]``, as kallsyms prints them."""
        table: dict[int, str] = {}
        for line in lines:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tTwW" and len(parts[1]) == 1:
                try:
                    table.setdefault(int(parts[0], 16), parts[2])
                except ValueError:
                    continue
        self.addresses = sorted(table)
        self.names = [table[a] for a in self.addresses]

    def name(self, address: int, offset: bool = True) -> str | None:
        """``name+0xoff/0xsize`` (or ``name`` with *offset* False); None outside the text."""
        import bisect

        at = bisect.bisect_right(self.addresses, address) - 1
        if at < 0 or at + 1 >= len(self.addresses):
            return None
        start = self.addresses[at]
        if not offset:
            return self.names[at]
        return f"{self.names[at]}+0x{address - start:x}/0x{self.addresses[at + 1] - start:x}"


def _kallsyms(exe: str, path: str) -> Symbols | None:
    """The kallsyms a ``trace.dat`` carries (``trace-cmd dump --kallsyms``); None if none."""
    import subprocess

    try:
        out = subprocess.run([exe, "dump", "--kallsyms", "-i", path], capture_output=True,
                             text=True, errors="surrogateescape", check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    symbols = Symbols(out.stdout.splitlines()) if out.returncode == 0 else None
    return symbols if symbols is not None and symbols.addresses else None


def _report_lines(proc: subprocess.Popen[str], name: str,
                  symbols: Symbols | None = None) -> Iterator[str]:
    assert proc.stdout is not None and proc.stderr is not None
    lines = 0
    for lines, line in enumerate(report_lines(proc.stdout, symbols), 1):  # noqa: B007
        yield line
    status = proc.wait()
    if status != 0 or lines == 0:  # trace-cmd 3.1.6 exits 0, silent, on a damaged trace.dat
        why = proc.stderr.read().strip().replace("\n", "; ")
        raise TraceFormatError(name, 1, f"'trace-cmd report' failed (exit {status}, "
                               f"{lines} lines): {why or 'no message'}")


# -- trace-cmd report --------------------------------------------------------------------------

#: Linux 6.12.118 include/trace/events/block.h:16-21 IOPRIO_CLASS_STRINGS, by class value
#: (include/uapi/linux/ioprio.h:28-36).
IOPRIO_CLASSES = {0: "none", 1: "rt", 2: "be", 3: "idle", 7: "invalid"}
# A 6.12 request event's ioprio as libtraceevent 1.7.1 (Debian 12's trace-cmd 3.1.6) prints
# it: the class's __print_symbolic names enum constants it cannot resolve, so it prints the
# value in hex (``0x2,0,4``) where tracefs prints ``be,0,4``.
_HEX_IOPRIO_CLASS = r"( \d+ \+ \d+ )0x([0-9a-f]+)(,\d+,\d+ \[)"


def _ioprio_class(m: re.Match[str]) -> str:
    value = int(m.group(2), 16)
    return f"{m.group(1)}{IOPRIO_CLASSES.get(value, m.group(2) and f'0x{value:x}')}{m.group(3)}"


# A probe's location as libtraceevent prints the kprobe's print_fmt: "(%lx)" of __probe_ip,
# a kretprobe's "(%lx <- %lx)" of __probe_func, __probe_ret_ip.
_HEX_PROBE = r"(: \S+: +)\(([0-9a-f]{8,16})(?: <- ([0-9a-f]{8,16}))?\)"


def _probe_symbols(m: re.Match[str], symbols: Symbols) -> str:
    """tracefs's print_kprobe_event / print_kretprobe_event location (Linux 6.12.118
    kernel/trace/trace_kprobe.c:1571, 1601-1606): ``(ip sym+off)``, ``(ret_ip sym+off <-
    func sym)``; an address outside the symbols stays as trace-cmd printed it."""
    head, first, second = m.groups()
    if second is None:
        where = symbols.name(int(first, 16))
        return f"{head}({where})" if where else m.group(0)
    caller, func = symbols.name(int(second, 16)), symbols.name(int(first, 16), offset=False)
    return f"{head}({caller} <- {func})" if caller and func else m.group(0)


def report_lines(lines: Iterable[str], symbols: Symbols | None = None) -> Iterator[str]:
    """``trace-cmd report`` lines as tracefs prints their events: a 6.12 request event's
    ioprio class by name (``be``) where libtraceevent printed its value (``0x2``); with
    *symbols* (a ``trace.dat``'s kallsyms) probe locations by name, a kretprobe's caller
    first, as tracefs prints them (trace-cmd prints addresses, the function first)."""
    ioprio_sub, probe_sub = re.compile(_HEX_IOPRIO_CLASS).sub, re.compile(_HEX_PROBE).sub
    for line in lines:
        if ": block_rq_" in line:
            line = ioprio_sub(_ioprio_class, line, count=1)
        elif symbols is not None:
            line = probe_sub(lambda m: _probe_symbols(m, symbols), line, count=1)
        yield line


# -- trace-cmd report -R -----------------------------------------------------------------------

# comm-pid [cpu] (flags) timestamp: event-name (padded): the raw fields.
_REPORT_LINE = r"(.*?\[\d{1,6}\].*?\s\d{1,12}\.\d{6,9}: )([^\s:]+):\s*(.*?)\n?\Z"


def _dev(text: str) -> str:
    """``MAJOR,MINOR`` of a raw dev_t (Linux 6.1.176 include/linux/kdev_t.h:10-12)."""
    value = int(text)
    return f"{value >> 20},{value & 0xFFFFF}"


def _fields(*names: str) -> str:
    """A regex taking the raw `names=value` fields in order (values may hold spaces)."""
    return " ".join(rf"{n}=(?P<{n}>.*?)" for n in names) + r"\Z"


# Tracepoints as trace-cmd -R prints them (fields in TP_STRUCT__entry order) and the
# print format tracefs uses (include/trace/events/block.h, signal.h, printk.h).
_BIO = _fields("dev", "sector", "nr_sector", "rwbs", "comm")
_RAW_TRACEPOINTS: dict[str, tuple[str, str]] = {
    "block_bio_queue": (_BIO, "{dev} {rwbs} {sector} + {nr_sector} [{comm}]"),
    "block_bio_backmerge": (_BIO, "{dev} {rwbs} {sector} + {nr_sector} [{comm}]"),
    "block_bio_frontmerge": (_BIO, "{dev} {rwbs} {sector} + {nr_sector} [{comm}]"),
    "block_getrq": (_BIO, "{dev} {rwbs} {sector} + {nr_sector} [{comm}]"),
    "block_bio_complete": (_fields("dev", "sector", "nr_sector", "error", "rwbs"),
                           "{dev} {rwbs} {sector} + {nr_sector} [{error}]"),
    "block_bio_remap": (_fields("dev", "sector", "nr_sector", "old_dev", "old_sector", "rwbs"),
                        "{dev} {rwbs} {sector} + {nr_sector} <- ({old_dev}) {old_sector}"),
    "block_rq_complete": (_fields("dev", "sector", "nr_sector", "error", "rwbs", "cmd"),
                          "{dev} {rwbs} ({cmd}) {sector} + {nr_sector} [{error}]"),
    # Linux 6.12.118 adds the ioprio (include/trace/events/block.h:101-118, 145-160, 208-226).
    "block_rq_complete 6.12": (_fields("dev", "sector", "nr_sector", "error", "ioprio", "rwbs",
                                       "cmd"),
                               "{dev} {rwbs} ({cmd}) {sector} + {nr_sector} {ioprio} [{error}]"),
    "block_rq_error 6.12": (_fields("dev", "sector", "nr_sector", "error", "ioprio", "rwbs",
                                    "cmd"),
                            "{dev} {rwbs} ({cmd}) {sector} + {nr_sector} {ioprio} [{error}]"),
    "block_rq_issue 6.12": (_fields("dev", "sector", "nr_sector", "bytes", "ioprio", "rwbs",
                                    "comm", "cmd"),
                            "{dev} {rwbs} {bytes} ({cmd}) {sector} + {nr_sector} {ioprio} "
                            "[{comm}]"),
    "block_rq_insert 6.12": (_fields("dev", "sector", "nr_sector", "bytes", "ioprio", "rwbs",
                                     "comm", "cmd"),
                             "{dev} {rwbs} {bytes} ({cmd}) {sector} + {nr_sector} {ioprio} "
                             "[{comm}]"),
    "block_rq_error": (_fields("dev", "sector", "nr_sector", "error", "rwbs", "cmd"),
                       "{dev} {rwbs} ({cmd}) {sector} + {nr_sector} [{error}]"),
    "block_rq_issue": (_fields("dev", "sector", "nr_sector", "bytes", "rwbs", "comm", "cmd"),
                       "{dev} {rwbs} {bytes} ({cmd}) {sector} + {nr_sector} [{comm}]"),
    "block_rq_insert": (_fields("dev", "sector", "nr_sector", "bytes", "rwbs", "comm", "cmd"),
                        "{dev} {rwbs} {bytes} ({cmd}) {sector} + {nr_sector} [{comm}]"),
    "signal_generate": (_fields("sig", "errno", "code", "comm", "pid", "group", "result"),
                        "sig={sig} errno={errno} code={code} comm={comm} pid={pid} "
                        "grp={group} res={result}"),
    "console": (_fields("msg"), "{msg}"),
}
#: Raw events whose print format needs what the raw fields do not hold: not converted.
#: mm_vmscan_write_folio prints page=%p of pfn_to_page(pfn), a hashed kernel pointer.
RAW_DROPPED = frozenset(("mm_vmscan_write_folio",))

_KPROBE = r"__probe_ip=([0-9a-f]{1,16})(?: (.*))?\Z"
_KRETPROBE = r"__probe_func=([0-9a-f]{1,16}) __probe_ret_ip=([0-9a-f]{1,16})(?: (.*))?\Z"


def _raw_args(name: str, fields: str) -> str | None:
    """The tracefs args text of raw `fields` of event `name`; None to drop the event."""
    kprobe = re.match(_KPROBE, fields)
    if kprobe is not None:  # trace_probe.c: "(%lx)" then the args' own formats
        ip, rest = kprobe.groups()
        return f"({ip}) {rest}" if rest else f"({ip})"
    kretprobe = re.match(_KRETPROBE, fields)
    if kretprobe is not None:  # "(%lx <- %lx)" of __probe_func, __probe_ret_ip
        func, ret_ip, rest = kretprobe.groups()
        return f"({func} <- {ret_ip}) {rest}" if rest else f"({func} <- {ret_ip})"
    if name in RAW_DROPPED:
        return None
    known = _RAW_TRACEPOINTS.get(name)
    if known is None:
        return fields  # an event kmodel does not know: its fields as they are
    if " ioprio=" in fields and f"{name} 6.12" in _RAW_TRACEPOINTS:
        known = _RAW_TRACEPOINTS[f"{name} 6.12"]
    pattern, fmt = known
    m = re.match(pattern, fields)
    if m is None:
        raise ValueError(f"expected the raw fields {pattern!r}")
    values = m.groupdict()
    for key in ("dev", "old_dev"):
        if key in values:
            values[key] = _dev(values[key])
    if "ioprio" in values:  # IOPRIO_PRIO_CLASS, _HINT, _LEVEL (include/uapi/linux/ioprio.h)
        prio = int(values["ioprio"])
        klass = (prio >> 13) & 7
        values["ioprio"] = (f"{IOPRIO_CLASSES.get(klass, f'0x{klass:x}')},"
                            f"{(prio >> 3) & 0x3FF},{prio & 7}")
    return fmt.format(**values)


def raw_report_lines(lines: Iterable[str], name: str) -> Iterator[str]:
    """``trace-cmd report -R`` lines as ``trace-cmd report`` prints them (others unchanged)."""
    report_line = re.compile(_REPORT_LINE).match
    for lineno, line in enumerate(lines, 1):
        m = report_line(line)
        if m is None:
            yield line
            continue
        head, event, fields = m.groups()
        try:
            args = _raw_args(event, fields)
        except ValueError as exc:
            raise TraceFormatError(name, lineno, f"{event}: {exc}", line) from None
        yield "\n" if args is None else f"{head}{event}: {args}\n"


# -- bpftrace ----------------------------------------------------------------------------------

_REGISTERS = {"%di": "arg0", "%si": "arg1", "%dx": "arg2", "%cx": "arg3", "%r8": "arg4",
              "%r9": "arg5", "$retval": "retval"}
# Fetch type -> (bpftrace type, printf conversion); trace_probe.c prints x64 as 0x%Lx ...
_TYPES = {"u8": ("uint8", "%u"), "u16": ("uint16", "%u"), "u32": ("uint32", "%u"),
          "u64": ("uint64", "%llu"), "s8": ("int8", "%d"), "s16": ("int16", "%d"),
          "s32": ("int32", "%d"), "s64": ("int64", "%lld"), "x8": ("uint8", "0x%x"),
          "x16": ("uint16", "0x%x"), "x32": ("uint32", "0x%x"), "x64": ("uint64", "0x%llx")}
_DEREF = r"\+(\d+)\((.*)\)\Z"

# Tracepoints the checker reads, printed in their tracefs print formats (block.h, printk.h).
# A request completion's cmd is always "" (include/trace/events/block.h: 6.1.176 :125,
# 6.12.118 :142 ``__get_str(cmd)[0] = '\0'``): printed as the constant "()". 6.12 adds the
# ioprio, printed CLASS,HINT,LEVEL (:145-152) with the class as a number (``0x2``), which
# :func:`bpftrace_lines` names as tracefs does (:func:`report_lines`' IOPRIO_CLASSES).
_DEV = "args->dev >> 20, args->dev & 0xfffff"
_RQ_ERROR = f"{_DEV}, args->rwbs, args->sector, args->nr_sector, args->error"
_RQ_ERROR_612 = (f"{_DEV}, args->rwbs, args->sector, args->nr_sector, (args->ioprio >> 13) & 7, "
                 "(args->ioprio >> 3) & 0x3ff, args->ioprio & 7, args->error")
_BPF_TRACEPOINTS = (
    ("block", "block_bio_queue", "%d,%d %s %llu + %u [%s]",
     f"{_DEV}, args->rwbs, args->sector, args->nr_sector, args->comm"),
    ("block", "block_bio_remap", "%d,%d %s %llu + %u <- (%d,%d) %llu",
     f"{_DEV}, args->rwbs, args->sector, args->nr_sector, args->old_dev >> 20, "
     "args->old_dev & 0xfffff, args->old_sector"),
    ("block", "block_bio_complete", "%d,%d %s %llu + %u [%d]", _RQ_ERROR),
    ("block", "block_rq_complete", "%d,%d %s () %llu + %u [%d]", _RQ_ERROR),
    ("block", "block_rq_error", "%d,%d %s () %llu + %u [%d]", _RQ_ERROR),
    ("printk", "console", "%s", "str(args->msg)"),
)
#: The 6.12 print formats where they differ (the request events' ioprio).
_BPF_TRACEPOINTS_612 = {
    "block_rq_complete": ("%d,%d %s () %llu + %u 0x%x,%u,%u [%d]", _RQ_ERROR_612),
    "block_rq_error": ("%d,%d %s () %llu + %u 0x%x,%u,%u [%d]", _RQ_ERROR_612),
}


def _fetch(expr: str, ftype: str | None) -> str:
    """The bpftrace expression of a kprobe fetch arg (`ftype` None: an address, 64 bits)."""
    bpf_type = _TYPES[ftype][0] if ftype else "uint64"
    deref = re.match(_DEREF, expr)
    if deref is not None:
        offset, inner = deref.groups()
        return f"*({bpf_type} *)({_fetch(inner, None)} + {offset})"
    return f"({bpf_type}){_REGISTERS[expr]}"


def _bpf_probe(line: str) -> str:
    """One bpftrace probe for one ``kprobe_events`` line, printing what tracefs would."""
    kind_event, func, *args = line.split()
    kind, _, event = kind_event.partition(":")
    event = event.rpartition("/")[2]
    fmts, exprs = [], []
    for arg in args:
        key, _, fetch = arg.partition("=")
        expr, _, ftype = fetch.rpartition(":")
        fmts.append(f"{key}={_TYPES[ftype][1]}")
        exprs.append(_fetch(expr, ftype))
    if kind.startswith("r"):
        # The caller, as tracefs prints it (without +offset/size): the kernel sets the
        # registers' ip to the return address before the return handlers run (Linux 6.1.176
        # kernel/kprobes.c:2042, 6.12.118 kernel/trace/rethook.c:293). The 6.12 checker reads
        # it (swap_writepage returning to pageout).
        where, probe = f"(%s <- {func})", "kretprobe"
        exprs.insert(0, 'ksym(reg("ip"))')
    else:
        where, probe = f"({func}+0x0)", "kprobe"
    text = " ".join([where, *fmts])
    values = "".join(f", {e}" for e in exprs)
    return (f"{probe}:{func}\n{{\n  printf(\"{BPF_TAG} %llu %d %d %d %s\\t{event}: {text}\\n\", "
            f"nsecs, cpu, tid, pid, comm{values});\n}}\n")


def bpftrace_script(lines: Iterable[str] | None = None, kernel: str | None = None) -> str:
    """A bpftrace script recording the events of `lines` (``kprobe_events``) and tracepoints.

    Run it with ``bpftrace -f json SCRIPT > trace.ndjson``; ``kmodel check trace.ndjson``.
    `kernel` (``6.1``, ``6.12``): the kernel line the probes are for; the script's ``BEGIN``
    prints it as the trace's ``# kernel:`` header line, which tells ``kmodel check`` which
    model checks it.
    """
    from kmodel.capture import probes

    kprobe_lines = probes.kprobe_events() if lines is None else list(lines)
    out = ["#!/usr/bin/env bpftrace",
           "// kmodel's swap-path events; run: bpftrace -f json THIS > trace.ndjson",
           "// Each printf is one event: tag, ns, cpu, tid, tgid, comm, TAB, event: args."]
    if kernel is not None:
        out.append(f"BEGIN\n{{\n  printf(\"{BPF_HEADER_TAG}\\t# kernel: {kernel}\\n\");\n}}\n")
    out += [_bpf_probe(line) for line in kprobe_lines]
    for system, event, fmt, values in _BPF_TRACEPOINTS:
        if kernel == "6.12":
            fmt, values = _BPF_TRACEPOINTS_612.get(event, (fmt, values))
        out.append(f"tracepoint:{system}:{event}\n{{\n  printf(\"{BPF_TAG} %llu %d %d %d %s"
                   f"\\t{event}: {fmt}\\n\", nsecs, cpu, tid, pid, comm, {values});\n}}\n")
    return "\n".join(out)


def _bpf_event(data: str) -> tuple[int, str] | None:
    """(ns, tracefs line) of one printf of kmodel's script; None if it is not one."""
    head, tab, body = data.rstrip("\n").partition("\t")
    parts = head.split(" ", 5)
    if not tab or len(parts) != 6 or parts[0] != BPF_TAG:
        return None
    _, ns, cpu, tid, tgid, comm = parts
    ns_int = int(ns)
    if body.startswith("block_rq_"):
        body = re.sub(_HEX_IOPRIO_CLASS, _ioprio_class, body, count=1)
    return ns_int, (f"{comm:>16}-{tid:<7} ({tgid:>7}) [{int(cpu):03d}] "
                    f"{ns_int // 1_000_000_000:5d}.{ns_int // 1000 % 1_000_000:06d}: {body}\n")


def bpftrace_lines(lines: Iterable[str] | TextIO, name: str) -> Iterator[str]:
    """bpftrace ``-f json`` NDJSON of :func:`bpftrace_script` as tracefs text lines, by time.

    bpftrace prints each CPU's perf buffer in turn, so its lines are in time order per CPU
    only: the events are read whole and sorted by timestamp (stable: a CPU's own order
    holds), and the text's line N is the Nth event in time, not line N of the NDJSON.
    Lines that are not JSON objects (a ``-c`` child's output) and bpftrace's other messages
    (``attached_probes``, maps) are skipped; the script's header lines (``# kernel: 6.12``)
    come first. ``lost_events`` becomes a lost-events marker,
    after the events read before it, for every CPU seen so far (bpftrace does not say which).
    """
    import json

    events: list[tuple[int, int, str]] = []
    header: list[str] = []  # the script's header lines (BEGIN), before every event
    cpus: dict[str, None] = {}
    last_ns = 0
    for lineno, line in enumerate(lines, 1):
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "printf" and isinstance(msg.get("data"), str) and msg["data"].startswith(
                BPF_HEADER_TAG + "\t# "):
            header.append(msg["data"].partition("\t")[2].rstrip("\n") + "\n")
        elif kind == "printf" and isinstance(msg.get("data"), str):
            try:
                event = _bpf_event(msg["data"])
            except ValueError:
                event = None
            if event is None:
                raise TraceFormatError(
                    name, lineno, "a printf that is not kmodel's bpftrace script's, expected "
                    f"'{BPF_TAG} NS CPU TID TGID COMM<TAB>EVENT: ARGS'", line)
            last_ns = max(last_ns, event[0])
            cpus.setdefault(event[1].split("[", 1)[1][:3], None)
            events.append((event[0], len(events), event[1]))
        elif kind == "lost_events":
            events += [(last_ns, len(events), f"CPU:{int(c)} [LOST EVENTS]\n") for c in cpus]
    events.sort()
    yield from header
    for _, _, text in events:
        yield text
