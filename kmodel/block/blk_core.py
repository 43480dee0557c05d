"""Bio submission, plugging and request completion.

Linux 6.1.176 block/blk-core.c:468-505 (fail_make_request, should_fail_bio),
711-790 (submit_bio_noacct), 840-855 (submit_bio), 1209-1218 (blk_io_schedule),
1078-1208 (blk_start_plug/blk_finish_plug); block/blk-mq.c:2982-3070 (blk_mq_submit_bio:
plug merging), 885-1060 (blk_update_request/blk_mq_end_request).

Request-based devices (virtio-blk, sd) merge contiguous bios submitted under one plug
into one request, which completes with one status for all its bios (DEV-1); bio-based
devices (dm, brd, zram) see each bio alone.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import attrs

from kmodel.block.bio import bio_endio
from kmodel.include.linux.blk_types import (
    REQ_OP_MASK,
    REQ_OP_READ,
    REQ_OP_WRITE,
    REQ_SYNC,
    Bio,
    BlkStatus,
)
from kmodel.lib.fault_inject import should_fail
from kmodel.mm.vmstat import VmEvent

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.kernel import Kernel

BLK_MAX_REQUEST_COUNT = 32

#: errno a request's status maps to (blk_status_to_errno, block/blk-core.c:150-200).
_STATUS_ERRNO = {
    BlkStatus.BLK_STS_OK: 0,
    BlkStatus.BLK_STS_NOTSUPP: -95,
    BlkStatus.BLK_STS_TIMEOUT: -110,
    BlkStatus.BLK_STS_NOSPC: -28,
    BlkStatus.BLK_STS_TRANSPORT: -67,
    BlkStatus.BLK_STS_TARGET: -121,
    BlkStatus.BLK_STS_NEXUS: -6,
    BlkStatus.BLK_STS_MEDIUM: -61,
    BlkStatus.BLK_STS_PROTECTION: -84,
    BlkStatus.BLK_STS_RESOURCE: -12,
    BlkStatus.BLK_STS_IOERR: -5,
    BlkStatus.BLK_STS_DM_REQUEUE: -5,
    BlkStatus.BLK_STS_AGAIN: -11,
}

_rq_ids = itertools.count(1)


def blk_status_to_errno(status: BlkStatus) -> int:
    """``blk_status_to_errno`` (block/blk-core.c:192-200)."""
    return _STATUS_ERRNO[status]


def rwbs(opf: int) -> str:
    """The ``rwbs`` column of block tracepoints for the swap path's ops and REQ_SYNC.

    The kernel's ``blk_fill_rwbs``: the op, then ``S`` for REQ_SYNC — 6.12's
    ``submit_bio_wait`` sets it on a synchronous swap bio (``WS`` in the 6.12 captures).
    """
    # blk_fill_rwbs: Linux 6.1.176 kernel/trace/blktrace.c (lines 1880 to 1918), 6.12.118 the
    # same file (1880 to 1913); not under the citation test's extracted source directories.
    text = "W" if opf & REQ_OP_MASK == REQ_OP_WRITE else "R"
    return text + "S" if opf & REQ_SYNC else text


@attrs.define(eq=False)
class Request:
    """``struct request``: contiguous bios of one op, completed together (DEV-1)."""

    bdev: BlockDevice
    op: int
    sector: int
    nr_sectors: int
    bios: list[Bio]
    cpu: int
    id: int = attrs.field(factory=lambda: next(_rq_ids))
    #: ``req->bio``: the first bio ``blk_update_request`` has not ended yet (an index).
    done: int = 0

    def describe(self) -> str:
        """One line for reports and reproducers."""
        return f"{self.bdev.name} {rwbs(self.op)} {self.sector} + {self.nr_sectors}"

    def default_status(self) -> BlkStatus:
        """What the device returns unless a test chooses: its completion-time bad ranges."""
        return self.bdev.error_at(
            self.bdev.completion_errors, self.op, self.sector, self.nr_sectors
        )

    def complete(self, k: Kernel, status: BlkStatus | None = None) -> None:
        """Complete the request in softirq context on its CPU.

        ``blk_mq_end_request`` → ``blk_update_request``: every bio gets the status,
        its data moves, and ``bio_endio`` runs (block/blk-mq.c:885-1060).
        """
        chain = ("blk_done_softirq", "blk_complete_reqs", "virtblk_done", "blk_mq_end_request",
                 "blk_update_request")
        with k.softirq(self.bdev.irq_cpu, chain):
            self.end(k, self.default_status() if status is None else status)

    def end(self, k: Kernel, status: BlkStatus, good_bytes: int = 0) -> None:
        """End the request in the current context with the device's ``status``.

        ``blk_mq_end_request`` → ``blk_update_request`` over all its bytes (block/blk-mq.c:
        1050-1055); an ``sd`` disk's failed command goes through ``scsi_io_completion``
        instead, where ``good_bytes`` is what ``sd_done`` found transferred before the error.
        """
        if not self.bdev.request_based:
            # A bio-based driver ends each bio itself (brd, zram: bio_endio in ->submit_bio).
            for bio in self.bios:
                _transfer(bio, status)
                bio.bi_status = status
                bio_endio(k, bio)
            return
        if status and self.bdev.driver == "sd":
            scsi_io_completion(k, self, status, good_bytes)
            return
        blk_update_request(k, self, status, self.nr_sectors << 9)  # blk_mq_end_request


def blk_update_request(k: Kernel, rq: Request, error: BlkStatus, nr_bytes: int) -> bool:
    """Complete ``nr_bytes`` of the request's bios; True while bytes remain.

    Linux 6.1.176 block/blk-mq.c:885-975. ``rq.done`` is ``req->bio``: the index of the first
    bio not yet ended (the model keeps ``rq.bios`` whole).
    """
    err = blk_status_to_errno(error)
    k.trace("block_rq_complete", dev=_devstr(rq.bdev), rwbs=rwbs(rq.op), sector=rq.sector,
            nr_sector=nr_bytes >> 9, error=err)
    if rq.done == len(rq.bios):
        return False
    if error:
        blk_print_req_error(k, rq, error)
        k.trace("block_rq_error", dev=_devstr(rq.bdev), rwbs=rwbs(rq.op), sector=rq.sector,
                nr_sector=nr_bytes >> 9, error=err)
    total_bytes = 0
    while rq.done < len(rq.bios):  # DEV-1: every bio the bytes cover gets the status
        bio = rq.bios[rq.done]
        bio_bytes = min(bio.bi_size, nr_bytes)
        if bio_bytes == bio.bi_size:
            rq.done += 1
        _req_bio_endio(k, bio, bio_bytes, error)
        total_bytes += bio_bytes
        nr_bytes -= bio_bytes
        if not nr_bytes:
            break
    if rq.done == len(rq.bios):
        return False
    rq.sector += total_bytes >> 9
    rq.nr_sectors -= total_bytes >> 9
    return True


def _req_bio_endio(k: Kernel, bio: Bio, nbytes: int, error: BlkStatus) -> None:
    """``req_bio_endio`` (block/blk-mq.c:760-783) for the swap path's ops."""
    if error:
        bio.bi_status = error
    if nbytes == bio.bi_size:
        _transfer(bio, error)  # the model moves a bio's data when its last byte completes
        bio.bi_size = 0  # bio_advance: the iterator is consumed, bi_sector kept
    else:
        bio.bi_sector += nbytes >> 9  # bio_advance_iter
        bio.bi_size -= nbytes
    if bio.bi_size == 0:
        bio_endio(k, bio)


def scsi_io_completion(k: Kernel, rq: Request, blk_stat: BlkStatus, good_bytes: int) -> None:
    """A failed SCSI disk command ends its request in two steps (``scsi_io_completion``).

    The ``good_bytes`` ``sd_done`` counted end with BLK_STS_OK first (``scsi_end_request``:
    a ``block_rq_complete`` of ``good_bytes``, 0 when nothing was transferred); then
    ``scsi_io_completion_action`` gives up (ACTION_FAIL) and ends the rest
    (``scsi_rq_err_bytes``: all of it) with ``blk_stat``, the status it derived from the
    result and the sense data. Retries (ACTION_RETRY and the like) are not modelled:
    ``blk_stat`` is the final one.
    """
    # Linux 6.1.176 drivers/scsi/scsi_lib.c, scsi_io_completion (lines 973 to 1015: the first
    # scsi_end_request at 994 to 997), scsi_io_completion_action (704 to 826, ACTION_FAIL at
    # 840 to 862), scsi_rq_err_bytes (650 to 657); not under the citation test's extracted
    # source directories (tests/ksrc.py CITED_DIRS).
    if not blk_update_request(k, rq, BlkStatus.BLK_STS_OK, good_bytes):
        return
    blk_update_request(k, rq, blk_stat, rq.nr_sectors << 9)


#: ``blk_errors[].name`` (block/blk-core.c:150-177) for the statuses devices return.
_STATUS_NAME = {
    BlkStatus.BLK_STS_NOTSUPP: "operation not supported",
    BlkStatus.BLK_STS_TIMEOUT: "timeout",
    BlkStatus.BLK_STS_NOSPC: "critical space allocation",
    BlkStatus.BLK_STS_TRANSPORT: "recoverable transport",
    BlkStatus.BLK_STS_TARGET: "critical target",
    BlkStatus.BLK_STS_NEXUS: "critical nexus",
    BlkStatus.BLK_STS_MEDIUM: "critical medium",
    BlkStatus.BLK_STS_PROTECTION: "protection",
    BlkStatus.BLK_STS_RESOURCE: "kernel resource",
    BlkStatus.BLK_STS_IOERR: "I/O",
    BlkStatus.BLK_STS_DM_REQUEUE: "I/O",
    BlkStatus.BLK_STS_AGAIN: "nonblocking retry",
}


def blk_print_req_error(k: Kernel, rq: Request, status: BlkStatus) -> None:
    """``I/O error, dev vda, sector 320 op 0x0:(READ) ...`` (block/blk-mq.c:796-808)."""
    from kmodel.lib.ratelimit import printk_ratelimited

    flags = rq.bios[rq.done].bi_opf & ~0xFF
    op = "WRITE" if rq.op == REQ_OP_WRITE else "READ"
    printk_ratelimited(
        k, "blk_print_req_error", "err",
        f"{_STATUS_NAME[status]} error, dev {rq.bdev.name}, sector {rq.sector} op "
        f"{rq.op:#x}:({op}) flags {flags:#x} phys_seg {len(rq.bios) - rq.done} prio class 2\n",
    )


def _devstr(bdev: BlockDevice) -> str:
    return f"{bdev.major},{bdev.minor}"


def _transfer(bio: Bio, status: BlkStatus) -> None:
    """The DMA: a successful write stores the page; a successful read fills it."""
    if status or bio.page is None:
        return
    if bio.op == REQ_OP_WRITE:
        bio.bi_bdev.storage[bio.bi_sector] = bio.page.data or b""
    else:
        bio.page.data = bio.bi_bdev.storage.get(bio.bi_sector)


@attrs.define(eq=False)
class BlkPlug:
    """``struct blk_plug``: requests held back until ``blk_finish_plug``."""

    mq_list: list[Request] = attrs.field(factory=list)


def blk_start_plug(k: Kernel) -> BlkPlug | None:
    """Plug the current task unless already plugged (block/blk-core.c:1078-1129).

    Returns the plug to finish, or None if an outer plug was already in place.
    """
    if k.plug is not None:
        return None
    plug = BlkPlug()
    k.plug = plug
    return plug


def blk_finish_plug(k: Kernel, plug: BlkPlug | None) -> None:
    """Flush the plugged requests to the driver (block/blk-core.c:1200-1208)."""
    if plug is None or k.plug is not plug:
        return
    blk_flush_plug(k, plug)
    k.plug = None


def blk_flush_plug(k: Kernel, plug: BlkPlug) -> None:
    """Dispatch every plugged request, in order.

    ``blk_mq_flush_plug_list``, block/blk-mq.c:2811-2860.
    """
    requests, plug.mq_list = plug.mq_list, []
    for rq in requests:
        _issue(k, rq)


def _issue(k: Kernel, rq: Request) -> None:
    bdev = rq.bdev
    if not bdev.request_based and not bdev.async_bio:
        # A bio-based driver that does its I/O in ->submit_bio (brd, zram): the bio
        # ends before submit_bio returns, in the submitter's context.
        rq.end(k, bdev.error_at(bdev.submit_errors + bdev.completion_errors, rq.op,
                                rq.sector, rq.nr_sectors))
        return
    if bdev.request_based:
        k.trace("block_rq_issue", dev=_devstr(bdev), rwbs=rwbs(rq.op),
                bytes=rq.nr_sectors * 512, sector=rq.sector, nr_sector=rq.nr_sectors,
                comm=k.current.comm)
    k.executor.submit(k, rq)


def blk_mq_submit_bio(k: Kernel, bio: Bio) -> None:
    """Queue a bio: merge into a plugged request or start one (block/blk-mq.c:2982-3070)."""
    bdev = bio.bi_bdev
    nr = bio.bi_size >> 9
    plug = k.plug
    if plug is not None and bdev.request_based and plug.mq_list:
        last = plug.mq_list[-1]
        if (
            last.bdev is bdev
            and last.op == bio.op
            and last.sector + last.nr_sectors == bio.bi_sector
            and last.nr_sectors + nr <= bdev.max_sectors
        ):
            last.bios.append(bio)  # bio_attempt_back_merge
            last.nr_sectors += nr
            return
    rq = Request(bdev, bio.op, bio.bi_sector, nr, [bio], bdev.irq_cpu)
    if plug is not None and bdev.request_based:
        if len(plug.mq_list) >= BLK_MAX_REQUEST_COUNT:
            blk_flush_plug(k, plug)
        plug.mq_list.append(rq)
        return
    _issue(k, rq)


def should_fail_bio(k: Kernel, bio: Bio) -> bool:
    """``should_fail_request(bdev_whole(bdev), bi_size)`` (blk-core.c:473-505)."""
    return bio.bi_bdev.make_it_fail and should_fail(k, k.fail_make_request, bio.bi_size)


def submit_bio_noacct(k: Kernel, bio: Bio) -> None:
    """Check and queue a bio; a failed check ends it here with BLK_STS_IOERR (FI-1).

    Linux 6.1.176 block/blk-core.c:711-790. The end_io runs in the submitter's context,
    before submit_bio returns. A device-mapper device (``bdev.remap_to``) maps the bio:
    dm-flakey fails its bad ranges at map time (``submit_errors``), else a clone goes to
    the underlying device (drivers/md/dm-flakey.c:357-400, drivers/md/dm.c clone_endio).
    """
    with k.call("submit_bio_noacct"):
        bdev = bio.bi_bdev
        if should_fail_bio(k, bio):  # FI-1
            bio.bi_status = BlkStatus.BLK_STS_IOERR  # end_io:
            bio_endio(k, bio)
            return
        k.trace("block_bio_queue", dev=_devstr(bdev), rwbs=rwbs(bio.bi_opf), sector=bio.bi_sector,
                nr_sector=bio.bi_size >> 9, comm=k.current.comm)
        if bdev.remap_to is None:
            blk_mq_submit_bio(k, bio)
            return
        status = bdev.error_at(bdev.submit_errors, bio.op, bio.bi_sector, bio.bi_size >> 9)
        if status:  # flakey_map: DM_MAPIO_KILL
            bio.bi_status = status
            bio_endio(k, bio)
            return
        _dm_clone_and_map(k, bio, bdev.remap_to)


def _dm_clone_and_map(k: Kernel, bio: Bio, target: BlockDevice) -> None:
    """Remap a clone of ``bio`` to ``target``; its completion ends the original bio.

    The original keeps its sector and size (only the clone's iterator is consumed);
    dm-flakey's end_io fails reads in its bad ranges (``completion_errors``).
    """
    from kmodel.block.bio import bio_alloc, bio_put

    dm = bio.bi_bdev
    clone = bio_alloc(k, target, 1, bio.bi_opf)
    clone.bi_sector, clone.bi_size, clone.page = bio.bi_sector, bio.bi_size, bio.page
    clone.bi_orig = bio

    def clone_endio(k: Kernel, c: Bio) -> None:
        status = c.bi_status or dm.error_at(dm.completion_errors, bio.op, bio.bi_sector,
                                            bio.bi_size >> 9)
        bio_put(k, c)
        bio.bi_status = status
        bio_endio(k, bio)

    clone.bi_end_io = clone_endio
    k.trace("block_bio_remap", dev=_devstr(target), rwbs=rwbs(bio.bi_opf), sector=bio.bi_sector,
            nr_sector=bio.bi_size >> 9, old_dev=_devstr(dm), old_sector=bio.bi_sector)
    submit_bio_noacct(k, clone)


def submit_bio(k: Kernel, bio: Bio) -> None:
    """Account and submit a bio (blk-core.c:840-855)."""
    with k.call("submit_bio"):
        if bio.op == REQ_OP_READ:
            k.count_vm_event(VmEvent.PGPGIN, bio.bi_size >> 9)
        elif bio.op == REQ_OP_WRITE:
            k.count_vm_event(VmEvent.PGPGOUT, bio.bi_size >> 9)
        submit_bio_noacct(k, bio)


def sched_submit_work(k: Kernel) -> None:
    """A task about to sleep flushes its plug first.

    kernel/sched/core.c:6588-6619 (sched_submit_work).
    """
    plug = k.plug
    if plug is not None and plug.mq_list:
        blk_flush_plug(k, plug)


def blk_io_schedule(k: Kernel) -> None:
    """Sleep for I/O: this is where control passes to the executor (blk-core.c:1209-1218)."""
    sched_submit_work(k)
    k.executor.schedule(k, k.current)
