"""``struct block_device`` with sector storage, and ``bdev_read_page``/``bdev_write_page``.

Linux 6.1.176 block/bdev.c:323-400. A device is either ``rw_page``-capable (brd, zram:
``SWP_SYNCHRONOUS_IO``, no bios) or not (virtio-blk, sd, dm: -EOPNOTSUPP, bio path).
Error injection follows the devices used by ``kmodel capture``: ``submit_errors`` end a
bio at submission like dm-flakey; ``completion_errors`` fail the request at completion
like QEMU blkdebug (BLK_STS_IOERR) or scsi_debug medium errors (BLK_STS_MEDIUM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kmodel.errors import KmodelError
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, BlkStatus

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.writeback import WritebackControl
    from kmodel.kernel import Kernel

EOPNOTSUPP = 95
EIO = 5
SECTORS_PER_PAGE = 8


@attrs.frozen
class BadRange:
    """Sectors ``[start, end)`` that fail for ``op`` (None: both), with ``status``."""

    start: int
    end: int
    op: int | None = None
    status: BlkStatus = BlkStatus.BLK_STS_IOERR

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise KmodelError(f"bad sector range [{self.start}, {self.end}): need 0 <= start < end")
        if self.status == BlkStatus.BLK_STS_OK:
            raise KmodelError("a bad range needs a failing blk_status_t, not BLK_STS_OK")

    def hits(self, op: int, sector: int, nr_sectors: int) -> bool:
        """Whether an I/O of ``op`` on ``[sector, sector + nr_sectors)`` touches the range."""
        return (self.op is None or self.op == op) and sector < self.end and self.start < (
            sector + nr_sectors
        )


@attrs.define(eq=False)
class BlockDevice:
    """A whole disk: ``dev_t`` numbers, contents, and how its I/O behaves."""

    major: int
    minor: int
    name: str
    nr_sectors: int
    rw_page: bool = False
    #: The driver: "virtio_blk", "sd", "dm-flakey", "brd" or "zram" (rw_page error handling).
    driver: str = "virtio_blk"
    request_based: bool = True
    rotational: bool = True
    #: ``/sys/block/<dev>/make-it-fail`` (``bd_make_it_fail``) for fail_make_request.
    make_it_fail: bool = False
    submit_errors: list[BadRange] = attrs.field(factory=list)
    completion_errors: list[BadRange] = attrs.field(factory=list)
    #: Contents, one entry per page-sized block: first sector -> data.
    storage: dict[int, bytes] = attrs.field(factory=dict, repr=False)
    max_sectors: int = 2560
    #: A bio-based driver whose bios complete later, not inside submit_bio: zram with a
    #: backing device (CONFIG_ZRAM_WRITEBACK) reading a written-back page.
    async_bio: bool = False
    #: Device mapper: bios are remapped to this device (a linear/flakey table at 0).
    remap_to: BlockDevice | None = None
    #: Which CPU takes this device's completion interrupt.
    irq_cpu: int = 1

    @property
    def dev(self) -> int:
        """``bd_dev`` as the kernel encodes dev_t (MAJOR << 20 | MINOR)."""
        return (self.major << 20) | self.minor

    @property
    def addr(self) -> int:
        """A stable fake ``struct block_device *`` for traces."""
        return 0xFFFF888004C25780 + (self.dev & 0xFFFF) * 0x400

    def error_at(self, ranges: list[BadRange], op: int, sector: int, nr: int) -> BlkStatus:
        """The status the first matching bad range gives, else BLK_STS_OK."""
        for bad in ranges:
            if bad.hits(op, sector, nr):
                return bad.status
        return BlkStatus.BLK_STS_OK


def _rw_page(k: Kernel, bdev: BlockDevice, sector: int, folio: Folio, op: int) -> int:
    """The driver's ``rw_page``: copy synchronously, then ``page_endio``.

    drivers/block/brd.c:318-329 (``brd_rw_page``: page_endio even on error);
    drivers/block/zram/zram_drv.c:1669-1710 (zram_rw_page: on error no page_endio, so
    the caller resubmits the I/O as a bio).
    """
    from kmodel.mm.filemap import page_endio

    err = 0
    if bdev.error_at(bdev.completion_errors + bdev.submit_errors, op, sector, 8):
        err = -EIO
    elif op == REQ_OP_WRITE:
        bdev.storage[sector] = folio.data or b""
    else:
        folio.data = bdev.storage.get(sector)
    if err and bdev.driver == "zram":
        return err
    page_endio(k, folio, op == REQ_OP_WRITE, err)
    return err


def bdev_read_page(k: Kernel, bdev: BlockDevice, sector: int, folio: Folio) -> int:
    """Start reading a page without a bio, if the driver has ``rw_page``.

    Linux 6.1.176 block/bdev.c:340-356.
    """
    with k.call("bdev_read_page"):
        k.trace("bdev_read_page", bdev=bdev.addr, sector=sector, page=folio.addr, dev=bdev.dev)
        result = -EOPNOTSUPP
        if bdev.rw_page:
            result = _rw_page(k, bdev, sector, folio, REQ_OP_READ)
    k.trace("bdev_read_page_ret", ret=result)
    return result


def bdev_write_page(
    k: Kernel, bdev: BlockDevice, sector: int, folio: Folio, wbc: WritebackControl
) -> int:
    """Start writing a page without a bio, if the driver has ``rw_page``.

    Linux 6.1.176 block/bdev.c:377-400: on success the page is unlocked and under
    writeback (already ended by page_endio); on a driver error writeback ends, page locked.
    brd's rw_page ends writeback itself even on error (page_endio), so a brd write error
    ends it twice: the kernel's BUG() in folio_end_writeback, a KernelBug here.
    """
    from kmodel.mm.filemap import end_page_writeback, unlock_page
    from kmodel.mm.page_writeback import set_page_writeback

    with k.call("bdev_write_page"):
        k.trace("bdev_write_page", bdev=bdev.addr, sector=sector, page=folio.addr, dev=bdev.dev)
        result = -EOPNOTSUPP
        if bdev.rw_page:
            set_page_writeback(k, folio)
            result = _rw_page(k, bdev, sector, folio, REQ_OP_WRITE)
            if result:
                end_page_writeback(k, folio)
            else:
                unlock_page(k, folio)  # clean_page_buffers: the swap cache has no buffers
    k.trace("bdev_write_page_ret", ret=result)
    return result
