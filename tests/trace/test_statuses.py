# SPDX-License-Identifier: GPL-2.0-only
"""Requests that fail with block statuses other than BLK_STS_IOERR (issue 10; the errno
survivors of docs/mutation.md): real 6.1.176 captures of scsi_debug (tests/data/traces/
statuses/) fail a request with BLK_STS_MEDIUM, BLK_STS_PROTECTION and BLK_STS_TARGET, one of
QEMU blkdebug with BLK_STS_IOERR, all with the block tracepoints recorded, and the model's
``blk_status_to_errno``, ``blk_errors[]`` names and SCSI completion path
(``scsi_io_completion``: good bytes first, then the failed rest) are held to each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmodel.block import blk_core
from kmodel.block.bdev import BlockDevice
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.blk_types import Bio, BlkStatus
from kmodel.kernel import Kernel, ModelEvent
from kmodel.trace import check_trace
from tests.trace.model_mutations import ModelMutation, planted

STATUSES = Path(__file__).resolve().parents[1] / "data" / "traces" / "statuses"
TRACES = sorted(STATUSES.glob("*.trace.txt"))
#: fixture -> (the status its device fails a request with, that status's errno as the trace
#: prints it; blk_status_to_errno, Linux 6.1.176 block/blk-core.c:150-200).
FAILED = {
    "readerr_scsi": (BlkStatus.BLK_STS_MEDIUM, -61),  # -ENODATA
    "readerr_scsi_dif": (BlkStatus.BLK_STS_PROTECTION, -84),  # -EILSEQ
    "writeerr_scsi_wp": (BlkStatus.BLK_STS_TARGET, -121),  # -EREMOTEIO
    "readerr_blkdebug": (BlkStatus.BLK_STS_IOERR, -5),  # -EIO; virtio-blk, not SCSI
}
#: The captures whose disk is a SCSI disk (scsi_debug's sda).
SCSI = [p for p in TRACES if "scsi" in p.name]

#: scsi_io_completion without its first scsi_end_request (the good bytes' completion).
NO_GOOD_BYTES = ModelMutation(
    "scsi_no_good_bytes", "kmodel.block.blk_core", "scsi_io_completion",
    "if not blk_update_request(k, rq, BlkStatus.BLK_STS_OK, good_bytes):",
    "if False:", "a failed SCSI command ends its request in one blk_update_request")


def _failed_request(path: Path) -> tuple[int, int]:
    """Line numbers of the failed request's block_rq_complete and of its first bio's
    completion (where the checker reports the request)."""
    lines = path.read_text().splitlines()
    rq = next(i for i, line in enumerate(lines, 1)
              if re.search(r"block_rq_complete: .* \[-[1-9]\d*\]$", line))
    bio = next(i for i, line in enumerate(lines[rq:], rq + 1)
               if re.search(r"end_swap_bio_(read|write): .* bi_status=[1-9]", line))
    return rq, bio


def test_every_status_has_its_fixture() -> None:
    assert sorted(p.name.removesuffix(".trace.txt") for p in TRACES) == sorted(FAILED)


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
def test_status_capture_is_conformant_and_its_requests_checked(trace: Path) -> None:
    """Unplanted: conformant; the failed request's bios show the status, its
    block_rq_complete/block_rq_error the errno, and both are among the checked outcomes."""
    status, errno = FAILED[trace.name.removesuffix(".trace.txt")]
    text = trace.read_text()
    assert f"bi_status={int(status)} " in text
    assert re.search(rf"block_rq_error: .* \[{errno}\]$", text, re.M)
    report = check_trace(trace)
    assert report.conformant, [d.message for d in report.divergences[:3]]
    assert report.counts["checks:requests"] > 0


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
@pytest.mark.parametrize("delta", [1, -1])
def test_planted_errno_diverges_at_the_failed_request(
        trace: Path, delta: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong errno for the fixture's status (the survivors' const+1/const-1 mutants of
    ``_STATUS_ERRNO``) diverges at the failed request's first bio completion, naming the
    trace's block_rq_complete line."""
    status, errno = FAILED[trace.name.removesuffix(".trace.txt")]
    assert blk_core.blk_status_to_errno(status) == errno
    monkeypatch.setitem(blk_core._STATUS_ERRNO, status, errno + delta)
    rq_line, bio_line = _failed_request(trace)
    first = check_trace(trace, max_divergences=1).divergences
    assert first, f"a request failing with errno {errno + delta} conforms"
    assert first[0].lineno == bio_line, (first[0].lineno, first[0].message)
    assert (f"block_rq_complete for the request this bio begins has error={errno + delta}; "
            f"the trace's (line {rq_line}) error={errno}") in first[0].message, first[0].message


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
def test_planted_status_name_diverges(trace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """blk_print_req_error's status name (``blk_errors[].name``) is the model's."""
    status, _ = FAILED[trace.name.removesuffix(".trace.txt")]
    name = blk_core._STATUS_NAME[status]
    monkeypatch.setitem(blk_core._STATUS_NAME, status, "critical " + name)
    _, bio_line = _failed_request(trace)
    first = check_trace(trace, max_divergences=1).divergences
    assert first and first[0].lineno == bio_line, [d.message for d in first]
    assert f"the trace printed '{name} error, dev " in first[0].message, first[0].message


@pytest.mark.parametrize("trace", SCSI, ids=lambda p: p.name)
def test_scsi_good_bytes_completion_is_the_models(trace: Path) -> None:
    """A SCSI disk's failed command first ends its good bytes (0 here) with BLK_STS_OK —
    the trace's ``block_rq_complete: 8,0 R () 320 + 0 [0]`` before the failed one. Without
    that step in the model, the trace's [0] meets the model's failed completion."""
    rq_line, bio_line = _failed_request(trace)
    lines = trace.read_text().splitlines()
    good = max(i for i, line in enumerate(lines[:rq_line - 1], 1)
               if "block_rq_complete:" in line)
    assert re.search(r"block_rq_complete: 8,0 [RW] \(\) \d+ \+ 0 \[0\]$", lines[good - 1])
    with planted(NO_GOOD_BYTES):
        first = check_trace(trace, max_divergences=1).divergences
    assert first and first[0].lineno == bio_line, [d.message for d in first]
    assert f"the trace's (line {good}) error=0" in first[0].message, first[0].message


def test_virtio_failed_request_ends_in_one_update() -> None:
    """readerr_blkdebug's virtio-blk request fails in one blk_update_request: one
    block_rq_complete, with the errno; no good-bytes step, in the trace as in the model."""
    trace = STATUSES / "readerr_blkdebug.trace.txt"
    rq_line, _ = _failed_request(trace)
    lines = trace.read_text().splitlines()
    assert not any(re.search(r"block_rq_complete: 254,\d+ R \(\) \d+ \+ 0 \[0\]$", line)
                   for line in lines)
    assert re.search(r"block_rq_complete: 254,\d+ R \(\) 320 \+ 64 \[-5\]$", lines[rq_line - 1])


def _ended(driver: str, good_bytes: int) -> tuple[list[tuple[int, int, int]], list[Bio]]:
    """End a two-bio read request at sector 320 with BLK_STS_PROTECTION; return the
    (sector, nr_sector, error) of each block_rq_complete and the bios."""
    k = Kernel(executor=InlineExecutor())
    events: list[tuple[int, int, int]] = []

    def tracer(e: ModelEvent) -> None:
        if e.name == "block_rq_complete":
            events.append((int(e.arg("sector")), int(e.arg("nr_sector")), int(e.arg("error"))))

    k.tracer = tracer
    bdev = BlockDevice(8 if driver == "sd" else 254, 0, "x", 1024, driver=driver)
    bios = [Bio(bi_bdev=bdev, bi_opf=0, bi_sector=320 + 8 * i, bi_size=4096) for i in range(2)]
    blk_core.Request(bdev, 0, 320, 16, bios, 0).end(k, BlkStatus.BLK_STS_PROTECTION,
                                                    good_bytes)
    return events, bios


def test_virtio_request_ends_in_one_update() -> None:
    """Not a SCSI disk: blk_mq_end_request, one blk_update_request over all bytes."""
    events, bios = _ended("virtio_blk", 0)
    assert events == [(320, 16, -84)]
    assert [(b.bi_status, b.bi_size) for b in bios] == [(BlkStatus.BLK_STS_PROTECTION, 0)] * 2


def test_scsi_failed_command_ends_good_bytes_first() -> None:
    """scsi_io_completion: sd_done's good bytes end with BLK_STS_OK (a whole bio: it
    succeeds; part of one: bio_advance moves it on, unended), then the rest fails, from
    the sector the first step left (blk_update_request's ``__sector``)."""
    events, bios = _ended("sd", 0)
    assert events == [(320, 0, 0), (320, 16, -84)]
    assert all(b.bi_status == BlkStatus.BLK_STS_PROTECTION for b in bios)
    events, bios = _ended("sd", 4096)
    assert events == [(320, 8, 0), (328, 8, -84)]
    assert [b.bi_status for b in bios] == [BlkStatus.BLK_STS_OK, BlkStatus.BLK_STS_PROTECTION]
    events, bios = _ended("sd", 512)
    assert events == [(320, 1, 0), (321, 15, -84)]
    assert [(b.bi_status, b.bi_sector, b.bi_size) for b in bios] == [
        (BlkStatus.BLK_STS_PROTECTION, 321, 0), (BlkStatus.BLK_STS_PROTECTION, 328, 0)]


def test_update_of_an_ended_request_ends_nothing() -> None:
    """blk_update_request on a request with no bio left: its tracepoint, then false."""
    k = Kernel(executor=InlineExecutor())
    bdev = BlockDevice(254, 0, "x", 1024)
    rq = blk_core.Request(bdev, 0, 320, 8, [Bio(bi_bdev=bdev, bi_opf=0, bi_sector=320,
                                                  bi_size=4096)], 0)
    assert not blk_core.blk_update_request(k, rq, BlkStatus.BLK_STS_OK, 4096)
    assert not blk_core.blk_update_request(k, rq, BlkStatus.BLK_STS_IOERR, 4096)
    assert k.printk_log == []  # no bio left: no "I/O error" line
