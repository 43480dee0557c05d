"""Other recorders' output checks like the tracefs trace of the same run.

LIVE: ``tests/data/recorders`` holds one ring buffer of the capture guest read three ways
(tracefs ``trace``; ``trace-cmd report`` and ``report -R`` of a ``trace-cmd extract`` made in
the guest; see its README). A ``trace.dat`` is checked live where one is at hand
(``KMODEL_TRACE_DAT_DIR``: ``NAME.trace.dat`` beside ``NAME.trace.txt`` of the same buffer).

LIVE 6.12: ``tests/data/recorders/v6_12`` (its README): a 6.12.118 run's tracefs trace, its
``trace.dat`` read by kmodel (kallsyms-named), ``report`` and ``report -R``; another run's
bpftrace NDJSON beside its tracefs trace.

GENERATED: besides the live recordings, other recordings here are made by this test from real
tracefs captures (the bundled traces), following the tools' own format sources — labelled as
such:

- ``trace-cmd report -R``: libtraceevent 1.7.1 (Debian 12) src/event-parse.c print_field /
  print_field_raw: ``name=value`` per field in the event's format order; a field the print
  format prints directly keeps that conversion (``0x`` + ``%Lx`` for x64 probe args), others
  are raw (``dev_t`` in decimal, ``char[]`` as text); kprobes lead with ``__probe_ip``,
  kretprobes with ``__probe_func`` and ``__probe_ret_ip`` (kernel/trace/trace_probe.c).
- bpftrace ``-f json``: one ``{"type": "printf", "data": ...}`` object per printf (bpftrace
  0.17 src/output.cpp JsonOutput), the data filled from the printf formats of
  :func:`kmodel.trace.recorders.bpftrace_script` itself; ``attached_probes`` first, a map
  last, and a child's plain output lines in between.
"""

from __future__ import annotations

import json
import lzma
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kmodel.errors import KmodelError, TraceFormatError
from kmodel.trace import check_trace
from kmodel.trace.check import CheckReport
from kmodel.trace.parse import parse_event_line
from kmodel.trace.recorders import (
    TRACE_DAT_MAGIC,
    bpftrace_lines,
    bpftrace_script,
    raw_report_lines,
    recording_kind,
)
from kmodel.trace.requests import RequestCheck

TRACES = Path(__file__).parents[2] / "kmodel" / "data" / "traces"
SLOTS = Path(__file__).parents[1] / "data" / "traces" / "slots"
ERROR_SCENARIOS = ["readerr_blkdebug", "writeerr_flakey"]

_TEXT = re.compile(r".*?\d\.\d{6}: ([^:\s]+): ?(.*)\Z")


def _events(path: Path) -> Iterator[tuple[str, str, str]]:
    """(line, event name, args text) of each event line of a tracefs trace; ("", "", "") else."""
    for line in path.read_text().splitlines():
        m = _TEXT.match(line)
        if line.startswith("#") or m is None:
            yield line, "", ""
        else:
            yield line, m.group(1), m.group(2)


def _tampered(tmp_path: Path, name: str) -> Path:
    """A copy of a real error trace whose first failed bio claims success: divergent."""
    out, done = [], False
    for line in (TRACES / f"{name}.trace.txt").read_text().splitlines(keepends=True):
        if not done and "end_swap_bio_" in line and " bi_status=0 " not in line:
            line = re.sub(r" bi_status=\d+ ", " bi_status=0 ", line)
            done = True
        out.append(line)
    assert done
    path = tmp_path / f"{name}.tampered.trace.txt"
    path.write_text("".join(out))
    return path


def _same(a: CheckReport, b: CheckReport) -> None:
    assert a.conformant == b.conformant
    assert [(d.lineno, d.branches, d.message) for d in a.divergences] == [
        (d.lineno, d.branches, d.message) for d in b.divergences]
    assert a.counts["checks"] == b.counts["checks"]


# -- live: one ring buffer, three ways ---------------------------------------------------------

LIVE = Path(__file__).parents[1] / "data" / "recorders"


def _unxz(name: str, tmp_path: Path) -> Path:
    out = tmp_path / name.removesuffix(".xz")
    out.write_bytes(lzma.decompress((LIVE / name).read_bytes()))
    return out


@pytest.mark.parametrize("name", ERROR_SCENARIOS)
@pytest.mark.parametrize("form", ["report.txt", "report-R.txt"])
def test_live_trace_cmd_report_gives_the_tracefs_verdict(tmp_path: Path, name: str,
                                                         form: str) -> None:
    tracefs = check_trace(_unxz(f"{name}.trace.txt.xz", tmp_path))
    report = check_trace(_unxz(f"{name}.{form}.xz", tmp_path))
    assert tracefs.counts["checks"] > 1000
    _same_verdict(tracefs, report)


def test_live_raw_report_is_recognised_and_keeps_its_line_count(tmp_path: Path) -> None:
    raw = _unxz("readerr_blkdebug.report-R.txt.xz", tmp_path)
    assert recording_kind(str(raw)) == "trace-cmd -R"
    with raw.open() as file:
        lines = list(raw_report_lines(file, str(raw)))
    assert len(lines) == len(raw.read_text().splitlines())
    report = _unxz("readerr_blkdebug.report.txt.xz", tmp_path).read_text().splitlines()
    # Every converted line is trace-cmd's own report line (its padding aside) but for the
    # dropped events.
    kept = [(a, b) for a, b in zip(lines, report, strict=True) if a.strip()]
    assert all(a.split() == b.split() for a, b in kept)
    assert len(report) - len(kept) == sum("mm_vmscan_write_folio:" in b for b in report)


def test_live_bpftrace_ndjson_gives_the_tracefs_verdict_of_the_same_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One run: tracefs kprobes and kmodel's bpftrace script (bpftrace 0.17 -f json) together.
    # The tracefs side also recorded block_rq_complete/block_rq_error, which the bpftrace
    # script does not, and bpftrace cuts console lines at 64 bytes: the request completions
    # they show are checked there (kmodel/trace/requests.py), 27 outcomes more.
    tracefs_path = _unxz("readerr_blkdebug.bpftrace-run.trace.txt.xz", tmp_path)
    with_requests = check_trace(tracefs_path)
    assert with_requests.conformant
    monkeypatch.setattr(RequestCheck, "feed", lambda self, ev, ctx: False)
    tracefs = check_trace(tracefs_path)
    assert with_requests.counts["checks"] == tracefs.counts["checks"] + 27
    ndjson = _unxz("readerr_blkdebug.bpftrace.ndjson.xz", tmp_path)
    assert recording_kind(str(ndjson)) == "bpftrace"
    bpf = check_trace(ndjson)
    assert tracefs.counts["checks"] > 1000
    _same_verdict(tracefs, bpf)
    assert {k: v for k, v in bpf.counts.items() if k.startswith("skipped:")} == {
        k: v for k, v in tracefs.counts.items() if k.startswith("skipped:")}


TRACE_DAT_DIR = os.environ.get("KMODEL_TRACE_DAT_DIR")


@pytest.mark.skipif(TRACE_DAT_DIR is None or shutil.which("trace-cmd") is None,
                    reason="KMODEL_TRACE_DAT_DIR (live NAME.trace.dat + NAME.trace.txt) and "
                           "trace-cmd (apt-get install trace-cmd) are needed")
def test_live_trace_dat_gives_the_tracefs_verdict() -> None:
    assert TRACE_DAT_DIR is not None
    dats = sorted(Path(TRACE_DAT_DIR).glob("*.trace.dat"))
    assert dats
    for dat in dats:
        tracefs = check_trace(dat.with_name(dat.name.replace(".trace.dat", ".trace.txt")))
        _same_verdict(tracefs, check_trace(dat))


def _same_verdict(a: CheckReport, b: CheckReport) -> None:
    """Same verdict, divergences (by message, line numbers aside) and checked outcomes."""
    assert a.conformant == b.conformant
    assert [(d.branches, re.sub(r"line \d+", "line N", d.message)) for d in a.divergences] == [
        (d.branches, re.sub(r"line \d+", "line N", d.message)) for d in b.divergences]
    assert a.counts["checks"] == b.counts["checks"]


# -- trace-cmd report -R -----------------------------------------------------------------------

_RECLAIM = {"RECLAIM_WB_ANON": 0x1, "RECLAIM_WB_FILE": 0x2, "RECLAIM_WB_SYNC": 0x4,
            "RECLAIM_WB_ASYNC": 0x8, "RECLAIM_WB_MIXED": 0x10}
_ADDR = 0xFFFFFFFF81000000


def _ip(symbol: str) -> str:
    """A stand-in kernel text address per symbol (the text trace has only the names)."""
    return f"{_ADDR + (sum(map(ord, symbol)) << 8):x}"


def _raw_fields(event: str, text: str) -> str:
    """The ``-R`` fields of one event whose tracefs args are `text`."""
    if text.startswith("("):
        where, _, rest = text[1:].partition(") ")
        caller, arrow, callee = where.partition(" <- ")
        if arrow:
            return f" __probe_func={_ip(callee)} __probe_ret_ip={_ip(caller)} {rest}"
        return f" __probe_ip={_ip(where)} {rest}"
    ev = parse_event_line(f"x-1 [000] 1.000000: {event}: {text}")
    a = ev.args
    if event == "mm_vmscan_write_folio":
        flags = sum(_RECLAIM[f] for f in a["flags"].split("|"))
        return f" pfn={a['pfn']} reclaim_flags={flags}"
    if event == "console":
        return f" msg={a['msg']}"
    if event == "signal_generate":
        return (f" sig={a['sig']} errno={a['errno']} code={a['code']} comm={a['comm']} "
                f"pid={a['pid']} group={a['grp']} result={a['res']}")
    dev = str(int(a["major"]) << 20 | int(a["minor"]))
    if event == "block_bio_queue":
        return (f" dev={dev} sector={a['sector']} nr_sector={a['nr_sector']} rwbs={a['rwbs']} "
                f"comm={a['comm']}")
    if event == "block_bio_complete":
        return (f" dev={dev} sector={a['sector']} nr_sector={a['nr_sector']} "
                f"error={a['error']} rwbs={a['rwbs']}")
    if event == "block_bio_remap":
        old = str(int(a["old_major"]) << 20 | int(a["old_minor"]))
        return (f" dev={dev} sector={a['sector']} nr_sector={a['nr_sector']} old_dev={old} "
                f"old_sector={a['old_sector']} rwbs={a['rwbs']}")
    if event == "block_rq_issue":
        return (f" dev={dev} sector={a['sector']} nr_sector={a['nr_sector']} "
                f"bytes={a['bytes']} rwbs={a['rwbs']} comm={a['comm']} cmd={a['cmd']}")
    raise AssertionError(f"no -R form for {event}")


def _trace_cmd_raw(src: Path, out: Path) -> Path:
    """``trace-cmd report -R`` text of the run in `src`, one line per line of `src`."""
    lines = []
    for line, event, text in _events(src):
        if not event:
            lines.append("cpus=2" if line.startswith("# tracer") else "")
            continue
        ev = parse_event_line(line)
        c = ev.context
        head = f"{c.comm:>16}-{c.pid:<5} [{c.cpu:03d}] {ev.ts_us // 10**6:5d}.{ev.ts_us % 10**6:06d}"
        lines.append(f"{head}: {event + ':':<22}{_raw_fields(event, text)}")
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("name", ERROR_SCENARIOS)
def test_trace_cmd_raw_report_gives_the_tracefs_verdict(tmp_path: Path, name: str) -> None:
    src = TRACES / f"{name}.trace.txt"
    raw = _trace_cmd_raw(src, tmp_path / f"{name}.report-R.txt")
    assert recording_kind(str(raw)) == "trace-cmd -R"
    _same(check_trace(src), check_trace(raw))


def test_trace_cmd_raw_report_of_a_divergent_run_gives_the_same_divergences(
        tmp_path: Path) -> None:
    src = _tampered(tmp_path, "writeerr_flakey")
    expected = check_trace(src)
    assert not expected.conformant
    _same(expected, check_trace(_trace_cmd_raw(src, tmp_path / "t.report-R.txt")))


def test_raw_fields_that_do_not_fit_the_event_are_an_error_naming_the_line() -> None:
    lines = ["cpus=2\n", "  memhog-1   [000]    1.000000: block_bio_queue:  dev=1 sector=2\n"]
    with pytest.raises(TraceFormatError, match=r"r\.txt:2: block_bio_queue: expected the raw"):
        list(raw_report_lines(lines, "r.txt"))


def test_raw_probe_fields_become_the_report_probe_columns() -> None:
    lines = ["  a-1 [000] 1.000000: swap_readpage_ret:  __probe_func=ffffffff81290f40 "
             "__probe_ret_ip=ffffffff81299dd1 ret=0\n",
             "  a-1 [000] 1.000000: kt_other: __probe_ip=ffffffff81290f40\n"]
    assert list(raw_report_lines(lines, "r")) == [
        "  a-1 [000] 1.000000: swap_readpage_ret: (ffffffff81290f40 <- ffffffff81299dd1) ret=0\n",
        "  a-1 [000] 1.000000: kt_other: (ffffffff81290f40)\n"]


# -- bpftrace -f json --------------------------------------------------------------------------

_PRINTF = re.compile(r'printf\("kmodel %llu %d %d %d %s\\t([^:]+): (.*)\\n", ')
_CONV = re.compile(r"%(?:ll)?[uxds]")


def _script_formats(script: str | None = None) -> dict[str, str]:
    """Event name -> the args format of its printf in kmodel's bpftrace script."""
    return dict(m.groups() for m in _PRINTF.finditer(script or bpftrace_script()))


def _fill(fmt: str, values: list[str]) -> str:
    """C printf of `fmt` with `values` (the tracefs text of each value)."""
    it = iter(values)

    def one(m: re.Match[str]) -> str:
        value = next(it)
        conv = m.group(0)[-1]
        return value if conv == "s" else format(int(value, 0), "x" if conv == "x" else "d")

    return _CONV.sub(one, fmt)


def _printf_data(formats: dict[str, str], event: str, text: str) -> str | None:
    fmt = formats.get(event)
    if fmt is None:
        return None  # an event kmodel's script does not record
    if event == "block_bio_queue":
        m = re.fullmatch(r"(\d+),(\d+) (\S+) (\d+) \+ (\d+) \[(.*)\]", text)
        assert m is not None, text
        return _fill(fmt, list(m.groups()))
    if event == "block_bio_remap":
        m = re.fullmatch(r"(\d+),(\d+) (\S+) (\d+) \+ (\d+) <- \((\d+),(\d+)\) (\d+)", text)
        assert m is not None, text
        return _fill(fmt, list(m.groups()))
    if event.startswith("block_"):  # bio_complete; rq_complete, rq_error (6.12: the ioprio)
        m = re.fullmatch(r"(\d+),(\d+) (\S+) (?:\(\) )?(\d+) \+ (\d+) "
                         r"(?:(\w+),(\d+),(\d+) )?\[(-?\d+)\]", text)
        assert m is not None, text
        values = [v for v in m.groups() if v is not None]
        if m.group(6) is not None:  # the class by number, as the script prints it
            values[5] = str({"none": 0, "rt": 1, "be": 2, "idle": 3, "invalid": 7}[m.group(6)])
        return _fill(fmt, values)
    keys = re.findall(r"(\w+)=(?:0x)?%", fmt)
    if not keys and fmt == "%s":
        return _fill(fmt, [text])  # console: the message
    args = dict(re.findall(r"(\w+)=(\S+)", text.partition(")")[2]))
    values = [args[k] for k in keys]
    if fmt.startswith("(%s <- "):  # a kretprobe: its caller first (tracefs: symbol+off/size)
        caller = re.match(r"\(([^ +()]+)", text)
        assert caller is not None, text
        values.insert(0, caller.group(1))
    return _fill(fmt, values)


_COLUMNS = re.compile(r"\s*(.*)-(\d+)\s+\(\s*(\d+|-+)\)\s+\[(\d+)\]\s+(?:\S+\s+)?"
                      r"(\d+)\.(\d{6}): ")


def _bpftrace_ndjson(src: Path, out: Path, script: str | None = None) -> Path:
    """What ``bpftrace -f json`` prints for kmodel's script (default: the 6.1 one) over the
    run in `src`."""
    formats = _script_formats(script)
    lines = [json.dumps({"type": "attached_probes", "data": {"probes": 31}})]
    for n, (line, event, text) in enumerate(_events(src)):
        data = _printf_data(formats, event, text) if event else None
        if n % 97 == 0:
            lines.append(f"memhog: touched {n} pages")  # the -c child's stdout
        if data is None:
            continue
        c = _COLUMNS.match(line)
        assert c is not None, line
        comm, pid, tgid, cpu, sec, usec = c.groups()
        ns = int(sec) * 1_000_000_000 + int(usec) * 1000 + 123
        tgid = "0" if tgid.startswith("-") else tgid
        record = f"kmodel {ns} {int(cpu)} {pid} {tgid} {comm}\t{event}: {data}\n"
        lines.append(json.dumps({"type": "printf", "data": record}))
    lines.append(json.dumps({"type": "map", "data": {"@": {}}}))
    out.write_text("\n".join(lines) + "\n")
    return out


def test_the_script_prints_every_probe_and_the_checked_tracepoints() -> None:
    formats = _script_formats()
    assert formats["end_swap_bio_read"].startswith("(end_swap_bio_read+0x0) bio=0x%llx "
                                                   "bi_status=%u sector=%llu size=%u opf=0x%x")
    # The caller as tracefs prints it: the return address the kernel put in the registers.
    assert formats["swap_readpage_ret"] == "(%s <- swap_readpage) ret=%d"
    assert ('(%s <- swap_readpage) ret=%d\\n", nsecs, cpu, tid, pid, comm, ksym(reg("ip")), '
            in bpftrace_script())
    assert formats["block_bio_queue"] == "%d,%d %s %llu + %u [%s]"
    assert "console" in formats


@pytest.mark.parametrize("name", ERROR_SCENARIOS)
def test_bpftrace_ndjson_gives_the_tracefs_verdict(tmp_path: Path, name: str) -> None:
    src = TRACES / f"{name}.trace.txt"
    ndjson = _bpftrace_ndjson(src, tmp_path / f"{name}.ndjson")
    assert recording_kind(str(ndjson)) == "bpftrace"
    expected, got = check_trace(src), check_trace(ndjson)
    assert expected.conformant and got.conformant
    assert got.counts["checks"] == expected.counts["checks"]


def test_bpftrace_ndjson_of_a_divergent_run_gives_the_same_divergences(tmp_path: Path) -> None:
    src = _tampered(tmp_path, "writeerr_flakey")
    expected, got = check_trace(src), check_trace(_bpftrace_ndjson(src, tmp_path / "t.ndjson"))
    assert not expected.conformant

    def key(report: CheckReport) -> list[tuple[tuple[str, ...], str, str]]:
        # Line numbers are each file's own: the NDJSON has other lines around the events.
        return [(d.branches, re.sub(r"line \d+", "line N", d.message),
                 _TEXT.match(d.line.strip()).group(1))  # type: ignore[union-attr]
                for d in report.divergences]

    assert key(got) == key(expected)
    assert got.counts["checks"] == expected.counts["checks"]


def test_bpftrace_lines_are_events_in_time_order_without_other_lines() -> None:
    lines = ['{"type": "attached_probes", "data": {"probes": 2}}\n', "child says hi\n",
             "{not json\n",
             json.dumps({"type": "printf", "data": "kmodel 20354274999 1 146 145 mem hog\t"
                                                   "swap_readpage_ret: (x) ret=0\n"}) + "\n",
             json.dumps({"type": "printf", "data": "kmodel 20354273000 0 7 7 a\tb: c\n"}) + "\n"]
    assert list(bpftrace_lines(lines, "t")) == [
        "               a-7       (      7) [000]    20.354273: b: c\n",
        "         mem hog-146     (    145) [001]    20.354274: swap_readpage_ret: (x) ret=0\n"]


def test_bpftrace_lost_events_become_lost_markers_for_the_cpus_seen() -> None:
    lines = [json.dumps({"type": "printf", "data": "kmodel 1000 1 2 2 a\tx: y\n"}),
             json.dumps({"type": "lost_events", "data": {"events": 5}})]
    assert list(bpftrace_lines(lines, "t"))[1] == "CPU:1 [LOST EVENTS]\n"


def test_a_foreign_printf_is_an_error_naming_the_line() -> None:
    lines = ['{"type": "printf", "data": "hello\\n"}\n']
    with pytest.raises(TraceFormatError, match=r"t:1: a printf that is not kmodel's"):
        list(bpftrace_lines(lines, "t"))


# -- trace.dat ---------------------------------------------------------------------------------


def _trace_dat(tmp_path: Path) -> Path:
    path = tmp_path / "trace.dat"
    path.write_bytes(TRACE_DAT_MAGIC + b"\x00" * 64)
    return path


def test_a_trace_dat_without_trace_cmd_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(KmodelError, match=r"trace\.dat:1: a trace-cmd trace\.dat file; trace-cmd "
                                          r"is not installed.*apt-get install trace-cmd"):
        check_trace(_trace_dat(tmp_path))


@pytest.mark.skipif(shutil.which("trace-cmd") is None,
                    reason="trace-cmd not installed (apt-get install trace-cmd)")
def test_a_broken_trace_dat_reports_trace_cmd_s_error(tmp_path: Path) -> None:
    with pytest.raises(KmodelError, match=r"'trace-cmd report' failed \(exit \d+, 0 lines\)"):
        check_trace(_trace_dat(tmp_path))


def test_text_traces_are_not_converted(tmp_path: Path) -> None:
    assert recording_kind(os.fspath(TRACES / "basic.trace.txt")) == "text"


def test_a_pipe_is_read_as_text_without_losing_its_head(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    text = (TRACES / "readerr_blkdebug.trace.txt").read_text()
    writer = subprocess.Popen(["cp", str(TRACES / "readerr_blkdebug.trace.txt"), str(fifo)])
    try:
        report = check_trace(fifo)
    finally:
        writer.wait()
    assert recording_kind(str(tmp_path)) == "text"  # not a regular file: not looked into
    _same_verdict(check_trace(TRACES / "readerr_blkdebug.trace.txt"), report)
    assert report.counts["events"] == sum(
        1 for line in text.splitlines() if line.strip() and not line.startswith("#"))


# -- standard input: every format through a pipe ------------------------------------------------


def _pipe_check(data: bytes, *args: str) -> tuple[int, str, str]:
    """``kmodel check - ARGS`` in a subprocess, `data` written to its standard input."""
    import sys

    proc = subprocess.run([sys.executable, "-m", "kmodel", "check", "-", *args], input=data,
                          capture_output=True, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _file_check(path: Path, *args: str) -> tuple[int, str]:
    """``kmodel check PATH ARGS``: the status and its output with PATH named ``<stdin>``."""
    import sys

    proc = subprocess.run([sys.executable, "-m", "kmodel", "check", str(path), *args],
                          capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout.replace(str(path), "<stdin>")


@pytest.mark.parametrize("fixture", ["readerr_blkdebug.bpftrace.ndjson.xz",
                                     "readerr_blkdebug.report-R.txt.xz",
                                     "readerr_blkdebug.report.txt.xz",
                                     "writeerr_flakey.report-R.txt.xz"])
def test_live_recordings_piped_to_check_dash_read_as_the_file(tmp_path: Path,
                                                                fixture: str) -> None:
    path = _unxz(fixture, tmp_path)
    data = path.read_bytes()
    file_report = check_trace(path)
    assert file_report.conformant and file_report.counts["checks"] > 1000
    status, out, err = _pipe_check(data)
    assert (status, out, err) == (*_file_check(path), "")
    # gzip-compressed on the pipe too, and with --perfetto in the same single pass.
    import gzip

    status, out, err = _pipe_check(gzip.compress(data), "--perfetto", str(tmp_path / "p.json"))
    assert (status, out, err) == (*_file_check(path), "")
    events = json.loads((tmp_path / "p.json").read_text())["traceEvents"]
    assert sum(1 for e in events if e.get("ph") == "i") >= file_report.counts["events"]


def test_a_divergent_bpftrace_recording_piped_gives_the_file_s_divergences(
        tmp_path: Path) -> None:
    src = _tampered(tmp_path, "writeerr_flakey")
    ndjson = _bpftrace_ndjson(src, tmp_path / "t.ndjson")
    file_report = check_trace(ndjson)
    assert not file_report.conformant
    status, out, _ = _pipe_check(ndjson.read_bytes(), "--json")
    assert status == 1
    (piped,) = json.loads(out)["files"]
    assert [(d["lineno"], d["message"]) for d in piped["divergences"]] == [
        (d.lineno, d.message) for d in file_report.divergences]


def test_a_6_12_capture_piped_is_checked_on_the_6_12_model_from_its_header() -> None:
    src = Path(__file__).parents[1] / "data" / "traces" / "v6_12" / "readerr_blkdebug.trace.txt"
    status, out, err = _pipe_check(src.read_bytes())
    # Read as 6.1 (no '# kernel:' line seen), its 6.12 probe events would be a format error.
    assert (status, out, err) == (*_file_check(src), "")
    assert status == 0


def test_a_trace_dat_piped_is_spooled_for_trace_cmd(tmp_path: Path) -> None:
    data = TRACE_DAT_MAGIC + b"\x00" * 64
    status, _, err = _pipe_check(data)
    assert status == 2
    if shutil.which("trace-cmd") is None:
        assert "<stdin>:1: a trace-cmd trace.dat file; trace-cmd is not installed" in err
    else:  # trace-cmd ran on the spooled copy and refused it
        assert "<stdin>:1: 'trace-cmd report' failed (exit " in err


@pytest.mark.skipif(not os.environ.get("KMODEL_TRACE_DAT_DIR") or shutil.which("trace-cmd")
                    is None, reason="KMODEL_TRACE_DAT_DIR (a live NAME.trace.dat) and trace-cmd")
def test_live_trace_dat_piped_reads_as_the_file() -> None:
    for dat in sorted(Path(os.environ["KMODEL_TRACE_DAT_DIR"]).glob("*.trace.dat")):
        status, out, err = _pipe_check(dat.read_bytes())
        assert (status, out, err) == (*_file_check(dat), "")


class _Trickle:
    """A pipe that hands out at most 7 bytes a read."""

    def __init__(self, data: bytes) -> None:
        import io

        self._data = io.BytesIO(data)

    def read1(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 7) if size >= 0 else 7)

    read = read1


def test_the_sniffed_head_is_read_whole_and_replayed_before_the_rest() -> None:
    from kmodel.trace.recorders import open_stream, read_head

    data = (TRACES / "readerr_blkdebug.trace.txt").read_bytes()
    assert read_head(_Trickle(data), 1000) == data[:1000]  # type: ignore[arg-type]
    with open_stream(_Trickle(data), "t") as (stream, kernel):  # type: ignore[arg-type]
        assert kernel == "6.1"  # a 6.1 capture: no '# kernel:' line, 6.1's probes
        assert stream.read() == data


# -- trace-cmd report of a 6.12 run: what libtraceevent prints otherwise than tracefs ----------
# Lines from a live 6.12.118 capture (kmodel capture --kernel 6.12 --recorder trace-cmd), read
# with Debian 12's trace-cmd 3.1.6: the same ring buffer's tracefs line follows each.

_RQ_REPORT = ("          memhog-224   [000]     9.934558: block_rq_issue:       254,32 W 45056 () "
              "8 + 88 0x2,0,4 [memhog]\n")
_RQ_RAW = ("          memhog-224   [000]     9.934558: block_rq_issue:        dev=266338336 "
           "sector=8 nr_sector=88 bytes=45056 ioprio=16388 rwbs=W comm=memhog cmd=\n")
_RQ_TRACEFS = "254,32 W 45056 () 8 + 88 be,0,4 [memhog]"


def test_a_6_12_request_s_ioprio_class_is_named_as_tracefs_names_it() -> None:
    from kmodel.trace.recorders import report_lines

    (line,) = report_lines([_RQ_REPORT])
    assert line.endswith(f"block_rq_issue:       {_RQ_TRACEFS}\n")
    (raw,) = raw_report_lines([_RQ_RAW], "t")
    assert raw.endswith(f"block_rq_issue: {_RQ_TRACEFS}\n")
    # A class the table does not name stays hex, as __print_symbolic prints it.
    (odd,) = report_lines([_RQ_REPORT.replace("0x2,0,4", "0x5,0,4")])
    assert " 0x5,0,4 [" in odd


def test_a_report_s_head_is_sniffed_as_trace_cmd_report(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("# kernel: 6.12.118\ncpus=2\n" + _RQ_REPORT)
    assert recording_kind(str(path)) == "trace-cmd"
    path.write_text("cpus=2\n" + _RQ_RAW.replace("dev=", "__probe_ip=ffffffff81 dev="))
    assert recording_kind(str(path)) == "trace-cmd -R"


def test_probe_locations_of_a_trace_dat_are_named_from_its_kallsyms() -> None:
    from kmodel.trace.recorders import Symbols, report_lines

    symbols = Symbols(["ffffffff8133dbc0 t pageout", "ffffffff8133de30 T shrink_folio_list",
                       "ffffffff813cba10 T swap_writepage", "ffffffff813cbd20 T x",
                       "ffffffff813ce6f0 T add_swap_extent", "ffffffff813ce7f0 T y",
                       "ffffffff82000000 D data_is_not_text"])
    ret = ("          memhog-224   [000]     9.921460: swap_writepage_ret:   (ffffffff813cbb24 "
           "<- ffffffff8133dce6) ret=0\n")
    entry = ("          swapon-201   [000]     9.288965: add_swap_extent:      (ffffffff813ce6f4) "
             "type=0 start_page=0 nr_pages=16384 start_block=0\n")
    got = list(report_lines([ret, entry], symbols))
    # tracefs: "(pageout+0x126/0x270 <- swap_writepage)", "(add_swap_extent+0x4/0x100)".
    assert "swap_writepage_ret:   (pageout+0x126/0x270 <- swap_writepage) ret=0\n" in got[0]
    assert "add_swap_extent:      (add_swap_extent+0x4/0x100) type=0 " in got[1]
    unknown = ret.replace("ffffffff8133dce6", "ffffffff90000000")  # past the last symbol
    assert list(report_lines([unknown], symbols)) == [unknown]


# -- live 6.12: tests/data/recorders/v6_12 (kmodel capture --kernel 6.12 --recorder ...) -------

LIVE_612 = LIVE / "v6_12"


def _unxz_612(name: str, tmp_path: Path) -> Path:
    out = tmp_path / name.removesuffix(".xz")
    out.write_bytes(lzma.decompress((LIVE_612 / name).read_bytes()))
    return out


def _columns(path: Path) -> list[tuple[str, ...]]:
    """(comm-pid, cpu, time, event, args) of each event line, tracefs or trace-cmd report."""
    out = []
    for line in path.read_text().splitlines():
        m = re.match(r"\s*(\S+-\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:\S{5}\s+)?"
                     r"(\d+\.\d+): (\S+):\s+(.*)\Z", line)
        if m is not None:
            out.append(m.groups())
    return out


def test_live_6_12_trace_dat_named_from_its_kallsyms_is_the_tracefs_trace(
        tmp_path: Path) -> None:
    trace = _unxz_612("readerr_blkdebug.trace.txt.xz", tmp_path)
    named = _unxz_612("readerr_blkdebug.trace-cmd.txt.xz", tmp_path)  # the capture's text
    ours, theirs = _columns(trace), _columns(named)
    assert len(ours) == len(theirs) == 3578

    def hashed(cols: tuple[str, ...]) -> tuple[str, ...]:  # page=%p: hashed in tracefs only
        return (*cols[:4], re.sub(r"^page=\S+ ", "page=P ", cols[4]))

    assert [hashed(c) for c in ours] == [hashed(c) for c in theirs]
    expected, got = check_trace(trace), check_trace(named)
    assert expected.conformant and got.conformant
    assert got.counts["checks"] == expected.counts["checks"] > 4000


def test_live_6_12_report_text_and_raw_report_check_like_tracefs_without_callers(
        tmp_path: Path) -> None:
    """``trace-cmd report`` text has no symbols: its kretprobes name no caller, and the 6.12
    checker then replays no swap-out through pageout — as the tracefs trace of the same ring
    buffer with every caller blanked."""
    from kmodel.capture.recorders import header_lines

    trace = _unxz_612("readerr_blkdebug.trace.txt.xz", tmp_path)
    head = header_lines(trace.read_text())
    blanked = tmp_path / "blanked.trace.txt"
    blanked.write_text(re.sub(r"(_ret: )\(\S+ <- ", r"\1([unknown/kretprobe'd] <- ",
                              trace.read_text()))
    expected = check_trace(blanked)
    assert expected.conformant
    assert expected.counts["checks"] < check_trace(trace).counts["checks"]
    for name in ("readerr_blkdebug.report.txt.xz", "readerr_blkdebug.report-R.txt.xz"):
        text = _unxz_612(name, tmp_path)
        assert recording_kind(str(text)) == ("trace-cmd -R" if "-R" in name else "trace-cmd")
        text.write_text(head + text.read_text())
        got = check_trace(text)
        assert got.conformant
        assert got.counts["checks"] == expected.counts["checks"]
        # Piped: the header's '# kernel: 6.12.118' read from the sniffed head.
        status, out, err = _pipe_check(text.read_bytes())
        assert (status, out, err) == (*_file_check(text), "")


def test_live_6_12_bpftrace_ndjson_checks_like_the_tracefs_trace_of_its_run(
        tmp_path: Path) -> None:
    from kmodel.capture.recorders import header_lines

    trace = _unxz_612("readerr_blkdebug.bpftrace-run.trace.txt.xz", tmp_path)
    ndjson = _unxz_612("readerr_blkdebug.bpftrace.ndjson.xz", tmp_path)
    with ndjson.open() as lines:
        body = list(bpftrace_lines(lines, "n"))
    assert body[0] == "# kernel: 6.12\n"  # the script's BEGIN
    text = tmp_path / "bpftrace.txt"  # as kmodel capture writes NAME.bpftrace.txt
    text.write_text(header_lines(trace.read_text()) + "".join(body[1:]))
    expected, got = check_trace(trace), check_trace(text)
    assert expected.conformant and got.conformant
    assert got.counts["checks"] == expected.counts["checks"] > 3000
    # Read directly it is checked on the 6.12 model (its own '# kernel:' line), without the
    # capture's header lines (page-cluster, zswap, swap disk: inputs then): fewer outcomes.
    direct = check_trace(ndjson)
    assert direct.conformant and 3000 < direct.counts["checks"] < got.counts["checks"]
    status, out, err = _pipe_check(ndjson.read_bytes())
    assert (status, out, err) == (*_file_check(ndjson), "")


# -- a kretprobe trampoline named -------------------------------------------------------------


def test_a_trampoline_caller_reads_as_tracefs_prints_it(tmp_path: Path) -> None:
    # tracefs prints a return address in the kretprobe trampoline (another kretprobe on the
    # caller) as "[unknown/kretprobe'd]"; trace-cmd's report names the symbol (a live 6.1
    # trace-cmd boot: arch_rethook_trampoline+0x0/0x60 for 660 of hogs2's returns). The slot
    # ledger's caller of a slot free is then unknown, not a put_swap_folio the model lacks.
    real = SLOTS / "basic.trace.txt.xz"
    text = lzma.decompress(real.read_bytes()).decode()
    assert text.count("(put_swap_folio+0xc1/0x370 <- ") > 100
    reports = []
    for caller in ("arch_rethook_trampoline+0x0/0x60", "[unknown/kretprobe'd]"):
        path = tmp_path / f"{caller[:5]}.trace.txt"
        path.write_text(text.replace("(put_swap_folio+0xc1/0x370 <- ", f"({caller} <- "))
        reports.append(check_trace(path))
    named, unknown = reports
    assert named.conformant and named.counts == unknown.counts
    line = ("memhog-262 (262) [000] ...1. 38.599101: __swap_entry_free_locked_ret: "
            "(arch_rethook_trampoline+0x0/0x60 <- __swap_entry_free_locked) ret=1")
    event = parse_event_line(line)
    assert event.args["caller"] == "[unknown/kretprobe'd]" and event.args["caller_offset"] == ""
