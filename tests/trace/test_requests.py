# SPDX-License-Identifier: GPL-2.0-only
"""Gap G3 (docs/mutation.md): request completions of 6.1 traces against the model's
``Request.end`` (kmodel/trace/requests.py). Planted model bugs in kmodel/block/blk_core.py,
and edited real traces, diverge at the completion that ends the request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmodel.block import blk_core
from kmodel.include.linux.blk_types import BlkStatus
from kmodel.trace import check_trace
from kmodel.trace.requests import parse_req_error
from tests.trace.model_mutations import ModelMutation, planted

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"
WRITEERR = TRACES / "writeerr_blkdebug.trace.txt"
READERR = TRACES / "readerr_blkdebug.trace.txt"
MKREQ_WRITE = TRACES / "fi" / "fi_mkreq_write.trace.txt"

#: Survivors of the mutation run at c3a9697 (docs/mutation.md, G3), blk_print_req_error's line.
FLAGS_MASK = ModelMutation(
    "req_error_flags_mask", "kmodel.block.blk_core", "blk_print_req_error",
    "& ~0xFF", "& ~0xFE", "blk_print_req_error keeps the op's low bit in the flags")
OP_NAME = ModelMutation(
    "req_error_op_name", "kmodel.block.blk_core", "blk_print_req_error",
    "rq.op == REQ_OP_WRITE", "rq.op != REQ_OP_WRITE", "READ and WRITE swapped")


def _line(path: Path, pattern: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                if re.search(pattern, line))


def test_real_traces_check_their_request_completions() -> None:
    """Every "I/O error" line of the write-error capture is compared (none skipped), and
    the trimmed fail_make_request capture's block_rq_complete events are checked."""
    report = check_trace(WRITEERR)
    assert report.conformant, [d.message for d in report.divergences]
    assert report.counts.get("skipped:console (other message)", 0) == 0
    assert sum(1 for line in WRITEERR.read_text().splitlines()
               if "console: I/O error" in line) == 10
    report = check_trace(READERR)
    assert report.conformant
    # The one other console line left is "blk_print_req_error: 8 callbacks suppressed".
    assert report.counts.get("skipped:console (other message)", 0) == 1
    assert check_trace(MKREQ_WRITE).conformant


def _first_alert_diverges(path: Path, mutation: ModelMutation, *shown: str) -> None:
    """The planted ``mutation`` diverges at the first "I/O error" line's bio completion (the
    line after it), its message showing each of ``shown``."""
    lineno = _line(path, r"console: I/O error") + 1
    with planted(mutation):
        first = check_trace(path, max_divergences=1).divergences
    assert first, f"{mutation.what}: conformant"
    assert first[0].lineno == lineno, (first[0].lineno, first[0].message)
    for text in shown:
        assert text in first[0].message, first[0].message


def test_req_error_flags_model_bug() -> None:
    _first_alert_diverges(WRITEERR, FLAGS_MASK, "flags 0x2000001", "flags 0x2000000")


def test_req_error_op_model_bug() -> None:
    _first_alert_diverges(READERR, OP_NAME, "op 0x0:(WRITE)")


def test_req_error_trace_edit(tmp_path: Path) -> None:
    """The first failed write request printed as a READ in the real trace."""
    lines = WRITEERR.read_text().splitlines(keepends=True)
    lineno = _line(WRITEERR, r"console: I/O error")
    lines[lineno - 1] = lines[lineno - 1].replace("op 0x1:(WRITE)", "op 0x0:(READ)")
    edited = tmp_path / "writeerr-read.trace.txt"
    edited.write_text("".join(lines))
    first = check_trace(edited, max_divergences=1).divergences
    assert first and first[0].lineno == lineno + 1, [d.message for d in first]
    assert "blk_print_req_error prints 'I/O error, dev vdd, sector 104 op 0x1:(WRITE)" in (
        first[0].message)


def test_request_errno_model_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Survivor: BLK_STS_OK's errno 0 -> -1 (blk_status_to_errno): block_rq_complete's [0]."""
    monkeypatch.setitem(blk_core._STATUS_ERRNO, BlkStatus.BLK_STS_OK, -1)
    lineno = _line(MKREQ_WRITE, r"block_rq_complete:") + 1
    first = check_trace(MKREQ_WRITE, max_divergences=1).divergences
    assert first and first[0].lineno == lineno, [d.message for d in first]
    assert "block_rq_complete for the request this bio begins has error=-1" in (
        first[0].message)


def test_request_errno_trace_edit(tmp_path: Path) -> None:
    """A request that completed with -EIO while its bio shows bi_status=0: the model's
    blk_update_request gives every bio the request's status, so this is no 6.1 kernel."""
    lines = MKREQ_WRITE.read_text().splitlines(keepends=True)
    lineno = _line(MKREQ_WRITE, r"block_rq_complete:")
    lines[lineno - 1] = lines[lineno - 1].replace("[0]", "[-5]")
    edited = tmp_path / "mkreq-eio.trace.txt"
    edited.write_text("".join(lines))
    first = check_trace(edited, max_divergences=1).divergences
    assert first and first[0].lineno == lineno + 1, [d.message for d in first]
    assert "error=0; the trace's" in first[0].message


def test_req_error_ratelimit_is_the_models(tmp_path: Path) -> None:
    """Eleven "I/O error" lines within 5 s (eleven tasks' requests failing, each ended in its
    own softirq context): the model's printk_ratelimited (burst 10 per 5 s) lets ten through;
    the eleventh is a divergence at its request's first bio (PR-1)."""
    lines = WRITEERR.read_text().splitlines(keepends=True)
    lineno = _line(WRITEERR, r"console: I/O error")
    msg = lines[lineno - 1].split("console: ")[1]
    completion = lines[lineno].split(": end_swap_bio_write: ")[1]
    head = [line for line in lines if line.startswith("#")]
    events = []
    for i in range(11):
        pid, ts = 700 + i, f"{69.9 + i * 1e-3:.6f}"
        events.append(f"          kw-{pid}     (    {pid}) [000] d.s1.    {ts}: console: {msg}")
        events.append(f"          kw-{pid}     (    {pid}) [000] ..s1.    {ts}: "
                      f"end_swap_bio_write: {completion}")
    edited = tmp_path / "writeerr-11.trace.txt"
    edited.write_text("".join(head + events))
    report = check_trace(edited)
    ours = [d for d in report.divergences if "blk_print_req_error" in d.message]
    assert [d.lineno for d in ours] == [len(head) + 22], [d.message for d in report.divergences]
    assert "prints nothing (ratelimit" in ours[0].message, ours[0].message


def test_parse_req_error() -> None:
    got = parse_req_error("I/O error, dev vdc, sector 320 op 0x0:(READ) flags 0x0 phys_seg 8 "
                          "prio class 2")
    assert got is not None and got["sector"] == "320" and got["phys_seg"] == "8"
    assert parse_req_error("Read-error on swap-device (254:32:320)") is None


def _unxz(name: str, tmp_path: Path) -> Path:
    import lzma

    out = tmp_path / name.removesuffix(".xz")
    out.write_bytes(lzma.decompress((TRACES.parent / "recorders" / name).read_bytes()))
    return out


def test_request_error_errno_model_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Survivor: BLK_STS_IOERR's errno -5 -> -6; the tracefs trace of the bpftrace run
    records block_rq_complete and block_rq_error of its failed read request ([-5])."""
    trace = _unxz("readerr_blkdebug.bpftrace-run.trace.txt.xz", tmp_path)
    assert check_trace(trace).conformant
    monkeypatch.setitem(blk_core._STATUS_ERRNO, BlkStatus.BLK_STS_IOERR, -6)
    first = check_trace(trace, max_divergences=1).divergences
    assert first, "a failed request with errno -6 conforms"
    assert "error=-6; the trace's" in first[0].message and "error=-5" in first[0].message


def test_request_error_event_model_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Survivor: Request.end's (now blk_update_request's) ``k.trace("block_rq_error", ...)``
    deleted."""
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(blk_core.blk_update_request))
    call = source.index('k.trace("block_rq_error"')
    mutated = source[:call] + "pass  # " + source[call:].replace("\n", " ", 1)
    namespace: dict[str, object] = {}
    exec(compile(mutated, blk_core.__file__, "exec"), vars(blk_core), namespace)
    monkeypatch.setattr(blk_core, "blk_update_request", namespace["blk_update_request"])
    trace = _unxz("readerr_blkdebug.bpftrace-run.trace.txt.xz", tmp_path)
    lineno = _line(trace, r"block_rq_error:")
    first = check_trace(trace, max_divergences=1).divergences
    assert first, "a failed request without block_rq_error conforms"
    assert "the trace shows block_rq_error (line " + str(lineno) + ")" in first[0].message, (
        first[0].message)
