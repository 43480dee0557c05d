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
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, Bio, BlkStatus
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


def rwbs(op: int) -> str:
    """The ``rwbs`` column of block tracepoints for the swap path's ops."""
    return "W" if op == REQ_OP_WRITE else "R"


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
        if status is None:
            status = self.default_status()
        chain = ("blk_done_softirq", "blk_complete_reqs", "virtblk_done", "blk_mq_end_request",
                 "blk_update_request")
        with k.softirq(self.bdev.irq_cpu, chain):
            err = blk_status_to_errno(status)
            if status:
                k.trace("block_rq_error", dev=_devstr(self.bdev), rwbs=rwbs(self.op),
                        sector=self.sector, nr_sector=self.nr_sectors, error=err)
            k.trace("block_rq_complete", dev=_devstr(self.bdev), rwbs=rwbs(self.op),
                    sector=self.sector, nr_sector=self.nr_sectors, error=err)
            for bio in self.bios:  # DEV-1: every merged bio gets the status
                _transfer(bio, status)
                bio.bi_status = status
                if self.bdev.request_based:
                    bio.bi_size = 0  # bio_advance: the iterator is consumed, bi_sector kept
                bio_endio(k, bio)


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
    k.trace("block_rq_issue", dev=_devstr(rq.bdev), rwbs=rwbs(rq.op), bytes=rq.nr_sectors * 512,
            sector=rq.sector, nr_sector=rq.nr_sectors, comm=k.current.comm)
    k.executor.submit(k, rq)


def blk_mq_submit_bio(k: Kernel, bio: Bio) -> None:
    """Queue a bio: merge into a plugged request or start one (block/blk-mq.c:2982-3070)."""
    bdev = bio.bi_bdev
    nr = bio.bi_size >> 9
    k.trace("block_bio_queue", dev=_devstr(bdev), rwbs=rwbs(bio.op), sector=bio.bi_sector,
            nr_sector=nr, comm=k.current.comm)
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
    before submit_bio returns. A dm-flakey style device fails its bad ranges the same way
    (its map function ends the bio with BLK_STS_IOERR, drivers/md/dm-flakey.c:357-400).
    """
    with k.call("submit_bio_noacct"):
        status = BlkStatus.BLK_STS_OK
        if should_fail_bio(k, bio):  # FI-1
            status = BlkStatus.BLK_STS_IOERR
        else:
            status = bio.bi_bdev.error_at(
                bio.bi_bdev.submit_errors, bio.op, bio.bi_sector, bio.bi_size >> 9
            )
            if not status:
                blk_mq_submit_bio(k, bio)
                return
            k.trace("block_bio_queue", dev=_devstr(bio.bi_bdev), rwbs=rwbs(bio.op),
                    sector=bio.bi_sector, nr_sector=bio.bi_size >> 9, comm=k.current.comm)
        bio.bi_status = status  # end_io: bio->bi_status = status; bio_endio(bio)
        bio_endio(k, bio)


def submit_bio(k: Kernel, bio: Bio) -> None:
    """Account and submit a bio (blk-core.c:840-855)."""
    with k.call("submit_bio"):
        if bio.op == REQ_OP_READ:
            k.count_vm_event(VmEvent.PGPGIN, bio.bi_size >> 9)
        elif bio.op == REQ_OP_WRITE:
            k.count_vm_event(VmEvent.PGPGOUT, bio.bi_size >> 9)
        submit_bio_noacct(k, bio)


def blk_io_schedule(k: Kernel) -> None:
    """Sleep for I/O: this is where control passes to the executor (blk-core.c:1209-1218)."""
    k.executor.schedule(k, k.current)
