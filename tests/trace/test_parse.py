"""parse_trace and read_header on real lines of every event type, both text formats, and errors."""

from __future__ import annotations

import gzip
import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from kmodel.errors import TraceFormatError
from kmodel.trace import EVENT_ARGS, LostEvents, TraceEvent, parse_trace, read_header
from kmodel.trace.parse import (
    CONSOLE_MSG_MAX,
    EXPECTED_LINE,
    LineScanner,
    console_message,
    open_trace,
)

from .samples import (
    ALL_REAL_LINES,
    BDEV_WRITE_PAGE_RET,
    BIO_COMPLETE,
    BIO_QUEUE,
    BIO_REMAP,
    CONSOLE,
    END_SWAP_BIO_READ,
    RQ_COMPLETE,
    RQ_ERROR,
    RQ_ISSUE,
    SIGNAL,
    SWAP_WRITEPAGE,
    SWAP_WRITEPAGE_RET,
    UNKNOWN_CALLER_RET,
    WRITE_FOLIO,
    one,
    parse_text,
)


def error(text: str) -> TraceFormatError:
    with pytest.raises(TraceFormatError) as info:
        parse_text(text)
    return info.value


# -- the columns ------------------------------------------------------------------------------


def test_kprobe_columns_and_args() -> None:
    ev = one(SWAP_WRITEPAGE)
    assert (ev.comm, ev.pid, ev.tgid, ev.cpu, ev.flags) == ("memhog", 156, 156, 0, ".....")
    assert ev.ts_us == 4_313_022
    assert ev.timestamp == pytest.approx(4.313022)
    assert ev.name == "swap_writepage"
    assert dict(ev.args) == {
        "probe": "swap_writepage+0x0/0xa0",
        "page": "0xffffea00000a6ec0",
        "wbc": "0xffffc900005038c8",
        "pflags": "0xfffffc00c0405",
        "entry": "0x1",
        "sync_mode": "0",
        "wbc_bits": "0x8",
    }
    assert ev.arg_int("page") == 0xFFFFEA00000A6EC0
    assert ev.arg_int("sync_mode") == 0
    assert (ev.path, ev.lineno) == ("t.trace", 1)
    assert not ev.in_softirq and not ev.in_hardirq


def test_idle_task_has_no_tgid_and_runs_in_softirq() -> None:
    ev = one(END_SWAP_BIO_READ)
    assert (ev.comm, ev.pid, ev.tgid, ev.flags) == ("<idle>", 0, None, "..s1.")
    assert ev.in_softirq and not ev.in_hardirq
    assert ev.arg_int("bi_status") == 0
    assert ev.arg_int("waiter") == 0


def test_comm_with_slash_dash_colon_and_spaces() -> None:
    assert one(RQ_COMPLETE).comm == "ksoftirqd/1"
    line = RQ_COMPLETE.replace("     ksoftirqd/1-21     ", " kworker/u4:1-45-4500   ")
    ev = one(line)
    assert (ev.comm, ev.pid) == ("kworker/u4:1-45", 4500)
    ev = one(RQ_COMPLETE.replace("     ksoftirqd/1-21     ", "     Web Content-21     "))
    assert (ev.comm, ev.pid) == ("Web Content", 21)


def test_hardirq_flags() -> None:
    ev = one(CONSOLE.replace("dNs1.", "d.h1."))
    assert ev.in_hardirq and not ev.in_softirq
    assert one(CONSOLE.replace("dNs1.", "d.H1.")).in_softirq


def test_events_share_their_task_context() -> None:
    first, second = parse_text(f"{SWAP_WRITEPAGE}\n{WRITE_FOLIO}\n")
    assert isinstance(first, TraceEvent) and isinstance(second, TraceEvent)
    assert first.context is second.context


# -- each event type ----------------------------------------------------------------------------


def test_kretprobe_caller_and_callee() -> None:
    ev = one(SWAP_WRITEPAGE_RET)
    assert dict(ev.args) == {
        "caller": "pageout",
        "caller_offset": "0xd1/0x250",
        "callee": "swap_writepage",
        "ret": "0",
    }


def test_kretprobe_from_unknown_caller() -> None:
    ev = one(UNKNOWN_CALLER_RET)
    assert ev.args["caller"] == "[unknown/kretprobe'd]"
    assert ev.args["caller_offset"] == ""
    assert ev.args["callee"] == "__swap_writepage"


def test_negative_return_value() -> None:
    assert one(BDEV_WRITE_PAGE_RET).arg_int("ret") == -95


def test_block_bio_queue() -> None:
    assert dict(one(BIO_QUEUE).args) == {
        "dev": "254,0",
        "major": "254",
        "minor": "0",
        "rwbs": "W",
        "sector": "16",
        "nr_sector": "8",
        "comm": "memhog",
    }


def test_block_bio_remap() -> None:
    ev = one(BIO_REMAP)
    assert dict(ev.args) == {
        "dev": "254,0",
        "major": "254",
        "minor": "0",
        "rwbs": "R",
        "sector": "88",
        "nr_sector": "8",
        "old_dev": "253,0",
        "old_major": "253",
        "old_minor": "0",
        "old_sector": "88",
    }


def test_block_rq_issue() -> None:
    ev = one(RQ_ISSUE)
    assert dict(ev.args) == {
        "dev": "254,0",
        "major": "254",
        "minor": "0",
        "rwbs": "R",
        "bytes": "12288",
        "cmd": "",
        "sector": "72",
        "nr_sector": "24",
        "comm": "memhog",
    }
    assert ev.arg_int("bytes") == 12288


def test_block_rq_complete_and_error() -> None:
    assert dict(one(RQ_COMPLETE).args) == {
        "dev": "254,0",
        "major": "254",
        "minor": "0",
        "rwbs": "W",
        "cmd": "",
        "sector": "248",
        "nr_sector": "16",
        "error": "0",
    }
    ev = one(RQ_ERROR)
    assert ev.arg_int("error") == -5
    assert (ev.arg_int("sector"), ev.arg_int("nr_sector")) == (320, 64)


def test_block_bio_complete() -> None:
    ev = one(BIO_COMPLETE)
    assert (ev.args["dev"], ev.args["rwbs"], ev.args["error"]) == ("253,0", "R", "0")
    assert ev.arg_int("sector") == 88


def test_block_comm_and_command_with_spaces() -> None:
    ev = one(BIO_QUEUE.replace("[memhog]", "[Web Content]"))
    assert ev.args["comm"] == "Web Content"
    ev = one(RQ_ISSUE.replace("()", "(12 00 00 00 24 00)"))
    assert ev.args["cmd"] == "12 00 00 00 24 00"


def test_console_message() -> None:
    assert dict(one(CONSOLE).args) == {"msg": "Read-error on swap-device (254:0:320)"}


def test_signal_generate() -> None:
    ev = one(SIGNAL)
    assert ev.arg_int("sig") == 7
    assert ev.arg_int("code") == -6
    assert ev.args["comm"] == "memhog"


def test_signal_generate_comm_with_spaces() -> None:
    ev = one(SIGNAL.replace("comm=memhog", "comm=Web Content"))
    assert ev.args["comm"] == "Web Content"
    assert ev.arg_int("pid") == 156


def test_mm_vmscan_write_folio_hashed_pointer_is_not_an_int() -> None:
    ev = one(WRITE_FOLIO)
    assert ev.args["flags"] == "RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"
    assert ev.arg_int("pfn") == 0x2997
    with pytest.raises(TraceFormatError, match="expected an integer page="):
        ev.arg_int("page")


def test_every_real_line_matches_its_vocabulary_entry() -> None:
    for line in ALL_REAL_LINES:
        ev = one(line)
        assert tuple(ev.args) == EVENT_ARGS[ev.name], line


# -- unknown events ----------------------------------------------------------------------------


def test_unknown_event_with_key_value_args() -> None:
    line = SIGNAL.replace("signal_generate: ", "sched_wakeup: ").replace("code=-6 ", "")
    ev = one(line)
    assert ev.name == "sched_wakeup"
    assert ev.args["errno"] == "0" and "code" not in ev.args


def test_unknown_event_with_free_text_is_raw() -> None:
    ev = one(CONSOLE.replace("console:", "tracing_mark_write:"))
    assert dict(ev.args) == {"raw": "Read-error on swap-device (254:0:320)"}


def test_unknown_kprobe_and_kretprobe() -> None:
    ev = one(SWAP_WRITEPAGE.replace("swap_writepage: ", "my_probe: "))
    assert ev.args["probe"] == "swap_writepage+0x0/0xa0"
    ev = one(SWAP_WRITEPAGE_RET.replace("swap_writepage_ret: ", "my_ret: "))
    assert (ev.args["caller"], ev.args["callee"], ev.args["ret"]) == (
        "pageout",
        "swap_writepage",
        "0",
    )


def test_unknown_event_without_args() -> None:
    assert dict(one(CONSOLE.split(" console: ")[0] + " my_event: ").args) == {}


# -- headers, lost events, both formats ---------------------------------------------------------


def test_read_header_of_every_real_trace(real_traces: list[Path]) -> None:
    for path in real_traces:
        header = read_header(path)
        assert header.tracer == "nop"
        assert header.cpus == 2
        assert header.entries_in_buffer is not None
        assert header.entries_in_buffer <= (header.entries_written or 0)
        assert all(comment.startswith("#") for comment in header.comments)


def test_header_comments_before_the_tracer_line() -> None:
    text = f"# kmodel capture: scenario=basic\n# tracer: nop\n# not kept\n{SIGNAL}\n"
    header = read_header(io.StringIO(text))
    assert header.comments == ("# kmodel capture: scenario=basic",)


def test_every_line_of_every_real_trace_is_an_event(real_traces: list[Path]) -> None:
    for path in real_traces:
        text = path.read_text().splitlines()
        lines = [line for line in text if not line.startswith("#")]
        items = list(parse_trace(path))
        assert all(isinstance(item, TraceEvent) for item in items)
        assert len(items) == len(lines)
        assert (read_header(path).entries_in_buffer or 0) >= len(lines)  # fixtures are trimmed
        assert items[0].lineno == text.index(lines[0]) + 1
        names = Counter(item.name for item in items if isinstance(item, TraceEvent))
        assert set(names) <= set(EVENT_ARGS), path


def test_overwritten_buffer_is_reported_as_lost_events() -> None:
    text = (
        "# tracer: nop\n#\n# entries-in-buffer/entries-written: 100/130   #P:2\n#\n"
        f"{SWAP_WRITEPAGE}\n"
    )
    items = parse_text(text)
    assert items[0] == LostEvents("t.trace", 3, None, 30)
    assert isinstance(items[1], TraceEvent)
    header = read_header(io.StringIO(text))
    assert (header.entries_in_buffer, header.entries_written, header.overwritten) == (100, 130, 30)


def test_tracefs_lost_events_reach_the_consumer_in_order() -> None:
    text = f"{SWAP_WRITEPAGE}\nCPU:1 [LOST 42 EVENTS]\n{RQ_COMPLETE}\nCPU:0 [LOST EVENTS]\n"
    items = parse_text(text)
    assert [type(item).__name__ for item in items] == [
        "TraceEvent",
        "LostEvents",
        "TraceEvent",
        "LostEvents",
    ]
    assert items[1] == LostEvents("t.trace", 2, 1, 42)
    assert items[3] == LostEvents("t.trace", 4, 0, None)


TRACE_CMD = """\
version = 6
CPU 0 is empty
cpus=2
CPU:1 [7 EVENTS DROPPED]
          memhog-156   [000]     4.313022: swap_writepage:       (swap_writepage+0x0/0xa0) \
page=0xffffea00000a6ec0 wbc=0xffffc900005038c8 pflags=0xfffffc00c0405 entry=0x1 sync_mode=0 \
wbc_bits=0x8
          <idle>-0     [001] ..s1.     4.320751: block_rq_complete:    254,0 W () 248 + 16 [0]
           <...>-3979  [001]   217.975284123: swapin_readahead_ret: \
(do_swap_page+0x16e/0x9f0 <- swapin_readahead) page=0xffffea00000a5900
CPU:0 [EVENTS DROPPED]
"""


def test_trace_cmd_report_format() -> None:
    items = parse_text(TRACE_CMD)
    assert items[0] == LostEvents("t.trace", 4, 1, 7)
    write, complete, ret = items[1:4]
    assert isinstance(write, TraceEvent)
    assert (write.comm, write.pid, write.tgid, write.cpu, write.flags) == (
        "memhog",
        156,
        None,
        0,
        "",
    )
    assert write.args["probe"] == "swap_writepage+0x0/0xa0"
    assert dict(write.args) == dict(one(SWAP_WRITEPAGE).args)
    assert isinstance(complete, TraceEvent) and complete.in_softirq
    assert complete.args["sector"] == "248"
    assert isinstance(ret, TraceEvent)
    assert ret.comm == "<...>"
    assert ret.ts_us == 217_975_284  # nanoseconds are cut to microseconds
    assert items[4] == LostEvents("t.trace", 8, 0, None)
    header = read_header(io.StringIO(TRACE_CMD))
    assert (header.version, header.cpus, header.tracer) == (6, 2, None)


def test_blank_and_comment_lines_are_skipped() -> None:
    assert len(parse_text(f"\n# a comment\n   \n{SIGNAL}\n\n")) == 1


# -- sources ----------------------------------------------------------------------------------


def test_gzip_file_by_extension(tmp_path: Path) -> None:
    path = tmp_path / "t.trace.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write(f"# tracer: nop\n{SWAP_WRITEPAGE}\n{BIO_QUEUE}\n")
    items = list(parse_trace(path))
    assert [item.name for item in items if isinstance(item, TraceEvent)] == [
        "swap_writepage",
        "block_bio_queue",
    ]
    assert read_header(str(path)).tracer == "nop"


def test_truncated_gzip_file_is_a_trace_format_error(tmp_path: Path) -> None:
    path = tmp_path / "t.trace.gz"
    path.write_bytes(gzip.compress(f"{SWAP_WRITEPAGE}\n".encode() * 2000)[:-40])
    with pytest.raises(TraceFormatError, match="unreadable input"):
        list(parse_trace(path))


def test_streams_without_reading_ahead() -> None:
    """The first events arrive before a bad line far below is read."""

    def lines() -> Iterator[str]:
        yield SWAP_WRITEPAGE + "\n"
        raise AssertionError("read ahead")

    items = parse_trace(lines())  # type: ignore[arg-type]
    first = next(items)
    assert isinstance(first, TraceEvent) and first.path == "<stream>"


def test_binary_stream_that_is_not_utf8() -> None:
    stdin = io.BytesIO(f"{SIGNAL}\n".encode() * 3 + b"\xff\xfe\n")
    with pytest.raises(TraceFormatError, match="not UTF-8") as info:
        list(parse_trace(stdin, name="<stdin>"))
    assert (info.value.path, info.value.lineno) == ("<stdin>", 4)
    assert not stdin.closed


def test_text_stream_that_is_not_utf8() -> None:
    stdin = io.TextIOWrapper(io.BytesIO(f"{SIGNAL}\n".encode() + b"\xff\xfe\n"), encoding="utf-8")
    with pytest.raises(TraceFormatError, match="unreadable input") as info:
        list(parse_trace(stdin, name="<stdin>"))
    assert info.value.path == "<stdin>"


def test_stream_name_in_errors() -> None:
    e = error_in(io.StringIO("garbage\n"), name="<stdin>")
    assert (e.path, e.lineno) == ("<stdin>", 1)


def error_in(source: io.StringIO, name: str) -> TraceFormatError:
    with pytest.raises(TraceFormatError) as info:
        list(parse_trace(source, name=name))
    return info.value


# -- errors -----------------------------------------------------------------------------------


def test_error_names_file_line_and_expected_shape(tmp_path: Path) -> None:
    path = tmp_path / "bad.trace.txt"
    path.write_text(f"# tracer: nop\n{SWAP_WRITEPAGE}\nthis is not a trace line\n")
    with pytest.raises(TraceFormatError) as info:
        list(parse_trace(path))
    e = info.value
    assert (e.path, e.lineno, e.line) == (str(path), 3, "this is not a trace line\n")
    assert "expected 'comm-pid (tgid) [cpu] flags timestamp: event: args'" in e.message
    assert str(e).startswith(f"{path}:3: expected")


def test_truncated_line() -> None:
    e = error(SWAP_WRITEPAGE[:60] + "\n")
    assert e.lineno == 1 and "expected 'comm-pid" in e.message


def test_bad_timestamp() -> None:
    e = error(SWAP_WRITEPAGE.replace("4.313022", "4.3130") + "\n")
    assert "bad timestamp '4.3130'" in e.message
    assert "or an integer (counter/uptime/x86-tsc)" in e.message


def test_block_bio_queue_without_plus() -> None:
    e = error(BIO_QUEUE.replace(" + ", " ") + "\n")
    assert e.message == "block_bio_queue: expected 'MAJ,MIN RWBS SECTOR + NR_SECTOR [COMM]'"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (BIO_REMAP.replace("(253,0)", "253,0"), "block_bio_remap: expected"),
        (RQ_ISSUE.replace("12288 ", ""), "block_rq_issue: expected"),
        (RQ_COMPLETE.replace("[0]", "[x]"), "'MAJ,MIN RWBS (CMD) SECTOR + NR_SECTOR [ERROR]'"),
        (BIO_COMPLETE.replace("253,0", "253:0"), "block_bio_complete: expected"),
        (SWAP_WRITEPAGE.replace(" entry=0x1", ""), "swap_writepage: expected '(symbol+offset"),
        (SWAP_WRITEPAGE.replace("(swap_writepage+0x0/0xa0) ", ""), "swap_writepage: expected"),
        (SWAP_WRITEPAGE_RET.replace(" <- ", " "), "swap_writepage_ret: expected '(caller"),
        (SIGNAL.replace("grp=0 ", ""), "signal_generate: expected 'sig=... errno=..."),
        (WRITE_FOLIO.replace("pfn=", "pfn "), "mm_vmscan_write_folio: expected"),
    ],
)
def test_known_event_whose_args_do_not_match_its_format(line: str, expected: str) -> None:
    e = error(f"{SIGNAL}\n{line}\n")
    assert e.lineno == 2
    assert expected in e.message
    assert e.line == line + "\n"


def test_non_utf8_bytes_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "bin.trace.txt"
    path.write_bytes(f"{SIGNAL}\n".encode() + b"\xff\xfe garbage\n")
    with pytest.raises(TraceFormatError, match="not UTF-8") as info:
        list(parse_trace(path))
    assert info.value.lineno == 2


def test_lost_marker_with_bad_count_is_an_error() -> None:
    assert error("CPU:1 [LOST many EVENTS]\n").lineno == 1


def test_docs_list_the_vocabulary() -> None:
    """docs/trace-format.md's event table says what EVENT_ARGS says."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "trace-format.md"
    listed: dict[str, tuple[str, ...]] = {}
    for row in doc.read_text().splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if row.startswith("| `") and len(cells) == 2:
            for name in re.findall(r"`(\w+)`", cells[0].split(" — ")[0]):
                listed[name] = tuple(cells[1].split())
    assert {name: listed.get(name) for name in EVENT_ARGS} == dict(EVENT_ARGS)


# -- console messages of several lines --------------------------------------------------------

FI_NOTICE = (
    "          memhog-95      (     95) [000] d....     3.312171: console: "
    "FAULT_INJECTION: forcing a failure.\n"
    "name fail_make_request, interval 1, probability 100, space 0, times 3\n"
)
DATA = Path(__file__).resolve().parents[1] / "data" / "traces"


class _Chunks(io.RawIOBase):
    """A binary stream that hands out `size` bytes per read, as a pipe may."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.pos = data, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self.data[self.pos : self.pos + min(self.size, len(buffer))]
        buffer[: len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)

    def read1(self, size: int = -1) -> bytes:
        chunk = self.data[self.pos : self.pos + self.size]
        self.pos += len(chunk)
        return chunk


def _summary(items: list[TraceEvent | LostEvents]) -> list[tuple[object, ...]]:
    return [
        (item.lineno, item.name, console_message(item.args) if item.name == "console" else "")
        if isinstance(item, TraceEvent) else (item.lineno, "lost", item.count)
        for item in items
    ]


def test_console_message_continues_on_the_lines_after_it() -> None:
    items = parse_text(FI_NOTICE + END_SWAP_BIO_READ + "\n" + CONSOLE + "\n")
    notice, completion, alert = items
    assert isinstance(notice, TraceEvent) and isinstance(alert, TraceEvent)
    assert notice.args["msg"] == "FAULT_INJECTION: forcing a failure."
    assert notice.args["msg_rest"] == (
        "name fail_make_request, interval 1, probability 100, space 0, times 3")
    assert console_message(notice.args) == FI_NOTICE.split(": console: ", 1)[1].rstrip("\n")
    assert isinstance(completion, TraceEvent) and completion.lineno == 3
    assert dict(alert.args) == {"msg": "Read-error on swap-device (254:0:320)"}
    assert console_message(alert.args) == alert.args["msg"]


MESSAGE_TRACE = (
    FI_NOTICE
    + "\n"  # a blank line of the message
    + "#PF: error_code(0x0002) - not-present page\n"  # a line like a comment
    + "CPU:1 [LOST 42 EVENTS]\n"  # a lost marker ends the message
    + CONSOLE + "\n"
    + "anon 253952\n"
    + "file 0\n"
    + SIGNAL + "\n"
    + CONSOLE.replace("Read-error", "Write-error") + "\n"
)
MESSAGE_SUMMARY = [
    (1, "console", "FAULT_INJECTION: forcing a failure.\nname fail_make_request, interval 1, "
                   "probability 100, space 0, times 3\n\n#PF: error_code(0x0002) - not-present page"),
    (5, "lost", 42),
    (6, "console", "Read-error on swap-device (254:0:320)\nanon 253952\nfile 0"),
    (9, "signal_generate", ""),
    (10, "console", "Write-error on swap-device (254:0:320)"),
]


def test_message_lines_blank_comment_like_and_ended_by_a_lost_marker() -> None:
    assert _summary(parse_text(MESSAGE_TRACE)) == MESSAGE_SUMMARY


def test_message_lines_of_a_file_a_gzip_file_and_a_binary_stream(tmp_path: Path) -> None:
    path = tmp_path / "m.trace.txt"
    path.write_text(MESSAGE_TRACE)
    gz = tmp_path / "m.trace.txt.gz"
    gz.write_bytes(gzip.compress(MESSAGE_TRACE.encode()))
    assert _summary(list(parse_trace(path))) == MESSAGE_SUMMARY
    assert _summary(list(parse_trace(gz))) == MESSAGE_SUMMARY
    stream = io.BytesIO(MESSAGE_TRACE.replace("\n", "\r\n").encode())
    assert _summary(list(parse_trace(stream, name="s"))) == MESSAGE_SUMMARY


@pytest.mark.parametrize("size", [*range(1, 24), 37, 64, 101, 150, 4096])
def test_message_lines_split_between_reads_anywhere(size: int) -> None:
    """The reader marks lines per chunk it reads: a console line or a line of its message cut
    by the chunk's end is decided when its end is read."""
    stream = _Chunks(MESSAGE_TRACE.encode(), size)
    assert _summary(list(parse_trace(cast(BinaryIO, stream), name="s"))) == MESSAGE_SUMMARY
    assert stream.pos == len(stream.data)


def test_a_bad_line_after_another_event_is_still_an_error() -> None:
    e = error(FI_NOTICE + END_SWAP_BIO_READ + "\nfile 0\n")
    assert (e.lineno, EXPECTED_LINE in str(e)) == (4, True)
    e = error(SWAP_WRITEPAGE + "\nFAULT_INJECTION: forcing a failure.\n")
    assert e.lineno == 2


def test_a_bad_line_after_a_message_of_console_msg_max_bytes_is_an_error() -> None:
    head = CONSOLE.split(": console: ", 1)[0] + ": console: "
    first = "x" * 100
    lines = ["y" * 99] * ((CONSOLE_MSG_MAX - 100) // 100)  # each adds 100 bytes with its "\n"
    last = "z" * (CONSOLE_MSG_MAX - 100 - 100 * len(lines) - 1)  # exactly CONSOLE_MSG_MAX
    text = head + first + "\n" + "".join(f"{line}\n" for line in [*lines, last])
    (ev,) = parse_text(text)
    assert isinstance(ev, TraceEvent) and len(console_message(ev.args)) == CONSOLE_MSG_MAX
    e = error(text + "one byte too many\n")
    assert e.lineno == len(lines) + 3 and EXPECTED_LINE in str(e)


def test_a_line_that_starts_with_a_nul_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nul.trace.txt"
    path.write_bytes((FI_NOTICE + "\x00name\n").encode())
    with pytest.raises(TraceFormatError, match="NUL") as info:
        list(parse_trace(path))
    assert info.value.lineno == 3
    path.write_bytes(b"\x00" + FI_NOTICE.encode())
    with pytest.raises(TraceFormatError, match="NUL") as info:
        list(parse_trace(path))
    assert info.value.lineno == 1
    assert "NUL" in str(error(CONSOLE + "\n\x00x\n")) and error(CONSOLE + "\n\x00x\n").lineno == 2


def test_line_scanner_adds_the_message_lines_to_the_event_it_built(tmp_path: Path) -> None:
    """`kmodel check`'s way: its handler has the first line; the rest follows in the args."""
    path = tmp_path / "m.trace.txt"
    path.write_text(MESSAGE_TRACE)
    scanner = LineScanner(str(path))
    built = []
    with open_trace(path, None) as (lines, _):
        for lineno, line in enumerate(lines, 1):
            m = scanner.match(line)
            if m is None:
                scanner.other(lineno, line)
            elif m[9] == "console" and lineno != 6:
                built.append(scanner.event(lineno, line, m))
            else:
                scanner.skip(lineno, line, m[9], m[10])  # line 6: checked only, not built
    assert [console_message(ev.args) for ev in built] == [
        MESSAGE_SUMMARY[0][2], MESSAGE_SUMMARY[4][2]]


@pytest.mark.parametrize("trace", sorted((DATA / "fi").glob("*.trace.txt"))
                         + sorted((DATA / "conditions").glob("*.trace.txt")), ids=lambda p: p.name)
def test_real_messages_of_several_lines_are_whole_as_the_kernel_logged_them(trace: Path) -> None:
    """Every console message of several lines in the committed captures is what the kernel
    logged (`dmesg`, each line after the record's time): whole, or its first lines where the
    syslog read, which prefixes every line into a CONSOLE_LOG_MAX buffer, dropped the lines
    that did not fit (Linux 6.1.176 kernel/printk/printk.c:1316-1380, 1596-1605)."""
    dmesg = trace.with_name(trace.name.replace(".trace.", ".dmesg.")).read_text()
    records = re.findall(r"^(\[ *\d+\.\d+\] )?(.*)$", dmesg, flags=re.MULTILINE)
    messages = [console_message(item.args) for item in parse_trace(trace)
                if isinstance(item, TraceEvent) and "msg_rest" in item.args]
    at = 0
    for message in messages:  # in the order logged
        lines = message.split("\n")
        at = next(i for i in range(at, len(records)) if records[i][1] == lines[0])
        stamp = records[at][0]
        logged = [text for time, text in records[at : at + len(lines)] if time == stamp]
        assert len(logged) >= 2 and logged == lines[: len(logged)], (message, logged)
        # Only a record too long for the syslog read's buffer lost lines.
        assert len(logged) == len(lines) or len(stamp) * len(lines) + len(message) > 1024, message
        at += len(logged)
    if trace.name.startswith("fi_mkreq"):
        notices = [m for m in messages if m.startswith("FAULT_INJECTION: forcing a failure.\n")]
        assert notices and len(notices) == dmesg.count("FAULT_INJECTION: forcing a failure.")
