# SPDX-License-Identifier: GPL-2.0-only
"""Request completions of a 6.1 trace against the model's (gap G3 of docs/mutation.md).

No kernel counterpart. A request that ends prints, in the context that ends it and before
its first bio's completion (Linux 6.1.176 block/blk-mq.c:885-960, ``blk_update_request``):
``block_rq_complete`` (when that tracepoint is recorded), ``blk_print_req_error``'s console
line ``I/O error, dev vdd, sector 104 op 0x1:(WRITE) flags 0x2000000 phys_seg 39 prio
class 2`` when it failed (block/blk-mq.c:796-808, ratelimited), then ``req_bio_endio`` of
each bio in order: the first ``end_swap_bio_*`` of that context is the request's first bio.

The checker maps the trace's request to a model :class:`~kmodel.block.blk_core.Request`
and runs the model's own ``Request.end`` (``blk_update_request``) on it with the trace's
status; the model then emits its ``block_rq_complete``, console line and ``block_rq_error``,
which must be the trace's. Inputs, taken from the trace: the status (the completion's
``bi_status``), the first bio's sector and ``bi_opf`` (its probe), the disk's name (the
console line's ``dev``: no probe maps a ``dev_t`` to a name) and ``phys_seg`` (physical
segments: adjacent page frames merge into one segment, ``blk_rq_map_sg``; the model has no
physical memory layout, so the model request is built with that many bios). The op, the
flags, the sector, the errno and the status's name are the model's.

The ratelimit of ``blk_print_req_error`` (PR-1) is the model's, with jiffies from the
trace's time: every line the trace prints must be one the model lets through. Only printed
lines are fed to it; that keeps its state exact (a window opens at a call that prints), but
a state from before the trace began is unknown, so a model suppression is then counted
unknown, not divergent. A failed request whose line the ratelimit suppressed is not seen
(no ``block_rq_complete`` in most captures), so a missing line is not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from kmodel.block.bdev import BlockDevice
from kmodel.block.blk_core import Request
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.blk_types import REQ_OP_MASK, Bio
from kmodel.include.linux.mm_types import PAGE_SIZE
from kmodel.kernel import Kernel, ModelEvent
from kmodel.trace.oracle import blk_status_of

if TYPE_CHECKING:
    from kmodel.trace.check import Checker, CtxKey, _Event

__all__ = ["REQUEST_EVENTS", "RequestCheck", "parse_req_error"]

#: The events this module reads.
REQUEST_EVENTS = frozenset(("console", "block_rq_complete", "block_rq_error",
                            "end_swap_bio_read", "end_swap_bio_write"))
#: ``blk_print_req_error``'s format (block/blk-mq.c:799-807).
_REQ_ERROR = re.compile(
    r"(?P<name>[A-Za-z/ ]+) error, dev (?P<dev>\S+), sector (?P<sector>\d+) op "
    r"(?P<op>0x[0-9a-f]+):\((?P<opname>[A-Z_]+)\) flags (?P<flags>0x[0-9a-f]+) "
    r"phys_seg (?P<phys_seg>\d+) prio class (?P<prio>\d+)$")
_BRANCHES = ("DEV-1", "PR-1")
#: The block majors of SCSI disks (``sd``, include/uapi/linux/major.h: SCSI_DISK0_MAJOR 8,
#: SCSI_DISK1_MAJOR..SCSI_DISK7_MAJOR 65-71, SCSI_DISK8_MAJOR..SCSI_DISK15_MAJOR 128-135):
#: the trace's device number says which driver ends the request (an input).
_SCSI_DISK_MAJORS = frozenset((8, *range(65, 72), *range(128, 136)))
_MAX_PENDING = 1 << 8


def parse_req_error(msg: str) -> dict[str, str] | None:
    """The fields of a ``blk_print_req_error`` console line, or None for another message."""
    m = _REQ_ERROR.match(msg)
    return m.groupdict() if m else None


class RequestCheck:
    """Request completions of one trace, checked by the model's ``Request.end``."""

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.k = Kernel(executor=InlineExecutor())
        self._events: list[ModelEvent] = []
        self.k.tracer = self._events.append
        #: Request events of a context waiting for the first bio completion there.
        self._pending: dict[CtxKey, list[_Event]] = {}
        self.checked = 0

    def wrap(self, handler: Callable[[_Event], None]) -> Callable[[_Event], None]:
        """The checker's handler of an event of :data:`REQUEST_EVENTS`, read here first."""
        feed = self.feed

        def read_first(ev: _Event) -> None:
            c = ev.context
            if not feed(ev, (c.cpu, c.pid, c.flags[2:3])):  # check.py's _ctx
                handler(ev)

        return read_first

    def feed(self, ev: _Event, ctx: CtxKey) -> bool:
        """Read ``ev``; True when it was a request event this module consumed."""
        name = ev.name
        if name == "console":
            if parse_req_error(ev.args["msg"]) is None:
                return False
        elif name in ("end_swap_bio_read", "end_swap_bio_write"):
            pending = self._pending.pop(ctx, None)
            if pending is not None:
                self._complete(pending, ev)
            return False
        if ctx not in self._pending and len(self._pending) >= _MAX_PENDING:
            self._not_swap(self._pending.pop(next(iter(self._pending))))
        self._pending.setdefault(ctx, []).append(ev)
        return True

    def finish(self) -> None:
        """Request events no swap bio completion followed: not a swap request."""
        for pending in self._pending.values():
            self._not_swap(pending)
        self._pending.clear()

    def _unknown(self, why: str, n: int = 1) -> None:
        self.checker._count_unknown(why, n)

    def _not_swap(self, pending: list[_Event]) -> None:
        """Request events not tied to a swap bio's completion: as before this module, a
        console line is another kernel message (skipped), a block_rq_* event ignored."""
        skipped = self.checker._skipped
        for ev in pending:
            if ev.name == "console":
                skipped["console (other message)"] = skipped.get("console (other message)",
                                                                 0) + 1

    def _model_request(self, first: _Event, name: str, start: int, nr_sectors: int,
                       nr_bios: int) -> Request:
        """The trace's request as a model one: ``nr_bios`` bios with the first swap bio's
        ``bi_opf``, from ``start`` (inputs); its op, status name and errno the model's."""
        dev = first.arg_int("dev")
        bdev = BlockDevice(dev >> 20, dev & 0xFFFFF, name, 0, request_based=True,
                           driver="sd" if dev >> 20 in _SCSI_DISK_MAJORS else "virtio_blk")
        opf = first.arg_int("opf")
        bios = [Bio(bi_bdev=bdev, bi_opf=opf, bi_sector=start + i * (PAGE_SIZE >> 9),
                    bi_size=PAGE_SIZE) for i in range(max(nr_bios, 1))]
        return Request(bdev, opf & REQ_OP_MASK, start, nr_sectors, bios, first.cpu)

    def _good_bytes(self, pending: list[_Event], first: _Event,
                    status: int) -> tuple[int, list[_Event]]:
        """A SCSI disk's failed command ends its request in two blk_update_request calls
        (the model's ``scsi_io_completion``), each with its ``block_rq_complete``: the good
        bytes with error 0, then the rest, from the sector the first left, with the errno.
        Return the good sectors (the driver's count: an input, as the status is) and the
        request's events; events before them belong to another request (not compared).
        Other devices, and a bio that succeeded, end in one call: (0, ``pending``)."""
        dev = first.arg_int("dev")
        completes = [i for i, e in enumerate(pending) if e.name == "block_rq_complete"]
        if not status or dev >> 20 not in _SCSI_DISK_MAJORS or len(completes) < 2:
            return 0, pending
        ok, failed = pending[completes[-2]], pending[completes[-1]]
        if (ok.arg_int("error") != 0 or failed.arg_int("error") == 0
                or ok.arg_int("sector") + ok.arg_int("nr_sector") != failed.arg_int("sector")):
            return 0, pending
        self._not_swap(pending[:completes[-2]])
        return ok.arg_int("nr_sector"), pending[completes[-2]:]

    def _complete(self, pending: list[_Event], first: _Event) -> None:
        """Run the model's ``blk_update_request`` on the trace's request; compare."""
        status = first.arg_int("bi_status")
        good, pending = self._good_bytes(pending, first, status)
        lines = [parse_req_error(e.args["msg"]) for e in pending if e.name == "console"]
        line = lines[0] if lines else None
        bio_sector = first.arg_int("sector")
        ranges = [(e.arg_int("sector"), e.arg_int("nr_sector")) for e in pending
                  if e.name != "console"]
        start, nr = ranges[0] if ranges else (bio_sector, PAGE_SIZE >> 9)
        nr += ranges[1][1] if good else 0
        if (line is not None and int(line["sector"]) != start + good) or not (
                start <= bio_sector < start + max(nr, 1)):
            # The request's first bio is no swap bio, or the trace dropped it (a trimmed
            # trace): which request this bio was in is not known.
            self._not_swap(pending)
            return
        rq = self._model_request(first, line["dev"] if line is not None else "?", start, nr,
                                 int(line["phys_seg"]) + good // (PAGE_SIZE >> 9)
                                 if line is not None else max(nr >> 3, 1))
        k = self.k
        k.jiffies = first.ts_us * Kernel.HZ // 1_000_000 + 1
        self._events.clear()
        rq.end(k, blk_status_of(status), good << 9)
        k.printk_log.clear()
        model = [e for e in self._events if e.name != "bio_endio"]
        checker = self.checker
        for ev in pending:
            want = next((m for m in model if m.name == ev.name), None)
            if want is not None:
                model.remove(want)
            checker.checks += 1
            self.checked += 1
            if ev.name == "console":
                got = ev.args["msg"]
                if want is None:
                    if not checker.ratelimit_known:
                        self._unknown("ratelimit-state")
                        continue
                    if status:
                        why = (f"the model's blk_print_req_error with bi_status={status} prints "
                               f"nothing (ratelimit at jiffies {k.jiffies})")
                        branches = _BRANCHES
                    else:  # the bio succeeded: blk_update_request gives it the request's status
                        why = ("the bio succeeded (bi_status=0), so the model's request did and "
                               "printed no error")
                        branches = ("DEV-1", "ER-2" if first.name == "end_swap_bio_read"
                                    else "EW-2")
                    checker._diverge(
                        first, f"the trace prints {got!r} (line {ev.lineno}) for the request "
                        f"this bio begins; {why}", ["no console line for this request"],
                        branches, None, (ev.lineno,))
                    continue
                if str(want.arg("msg")) != got:
                    checker._diverge(
                        first, f"the model's blk_print_req_error prints {want.arg('msg')!r} "
                        f"for the request this bio begins; the trace printed {got!r} "
                        f"(line {ev.lineno})", [f"console: {want.arg('msg')}"], _BRANCHES,
                        None, (ev.lineno,))
                continue
            # block_rq_complete / block_rq_error: the op, sector and errno are the model's.
            if want is None:
                checker._diverge(
                    first, f"the trace shows {ev.name} (line {ev.lineno}) for the request "
                    f"this bio begins; the model's blk_update_request with bi_status={status}"
                    f" emits none", [f"no {ev.name}"], _BRANCHES, None, (ev.lineno,))
                continue
            for key in ("rwbs", "error"):  # sector, nr_sector: the inputs it was built from
                seen = ev.args.get(key)
                value = want.arg(key)
                if seen is None:
                    continue
                same = (("W" in str(value)) == ("W" in seen) if key == "rwbs"
                        else str(value) == seen.strip("[]"))
                if not same:
                    checker._diverge(
                        first, f"the model's {ev.name} for the request this bio begins has "
                        f"{key}={value}; the trace's (line {ev.lineno}) {key}={seen}",
                        [f"{ev.name}: {key}={value}"], _BRANCHES, None, (ev.lineno,))
                    break
        # Of the checks, these need events only a tracefs recording has (block_rq_*, whole
        # console lines): kmodel capture compares its recorders' checks without them.
        checker.report.counts["checks:requests"] = self.checked
