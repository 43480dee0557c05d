"""Swap I/O: reading and writing pages of swap, and their completions.

Linux 6.1.176 mm/page_io.c, all of it, in the kernel's order. ``struct swap_iocb **plug``
is a one-element list (:data:`SwapPlug`): Python has no pointer to a local.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, cast

import attrs

from kmodel.block.bdev import bdev_read_page, bdev_write_page
from kmodel.block.bio import bio_add_page, bio_alloc, bio_first_page_all, bio_get, bio_put
from kmodel.block.blk_core import blk_io_schedule, submit_bio
from kmodel.errors import KernelBug
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, REQ_SWAP, Bio, BlkStatus
from kmodel.include.linux.mm_types import PAGE_SIZE
from kmodel.include.linux.page_flags import (
    ClearPageReclaim,
    ClearPageUptodate,
    PageLocked,
    PageSwapCache,
    PageUptodate,
    PageWorkingset,
    SetPageError,
    SetPageUptodate,
)
from kmodel.include.linux.sched import (
    TaskState,
    get_task_struct,
    put_task_struct,
    set_current_state,
    wake_up_process,
)
from kmodel.include.linux.swap import SWAP_CLUSTER_MAX, SwpFlags
from kmodel.include.linux.writeback import wbc_to_write_flags
from kmodel.lib.ratelimit import pr_alert_ratelimited, pr_err_ratelimited
from kmodel.mm.filemap import end_page_writeback, folio_end_writeback, folio_unlock, unlock_page
from kmodel.mm.frontswap import frontswap_load, frontswap_store
from kmodel.mm.page_writeback import (
    folio_mark_dirty,
    folio_start_writeback,
    set_page_dirty,
    set_page_writeback,
)
from kmodel.mm.swapfile import add_swap_extent, folio_free_swap, swap_page_sector
from kmodel.mm.vmstat import VmEvent

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.sched import Task
    from kmodel.include.linux.swap import SwapFile, SwapInfo
    from kmodel.include.linux.writeback import WritebackControl
    from kmodel.kernel import Kernel

EINVAL = 22
EIOCBQUEUED = 529

_sio_ids = itertools.count(1)


def MAJOR(dev: int) -> int:
    """``MAJOR(dev)`` (include/linux/kdev_t.h:10)."""
    return dev >> 20


def MINOR(dev: int) -> int:
    """``MINOR(dev)`` (include/linux/kdev_t.h:11)."""
    return dev & ((1 << 20) - 1)


def end_swap_bio_write(k: Kernel, bio: Bio) -> None:
    """Complete a swap-out write: on error re-dirty and warn; end writeback; put the bio.

    Linux 6.1.176 mm/page_io.c:31-53.
    """
    page = bio_first_page_all(bio)
    k.trace("end_swap_bio_write", bio=bio.addr, bi_status=int(bio.bi_status),
            sector=bio.bi_sector, size=bio.bi_size, opf=bio.bi_opf, dev=bio.bi_bdev.dev,
            page=page.addr, pflags=page.flags)
    with k.call("end_swap_bio_write"):
        if bio.bi_status:  # EW-1
            SetPageError(page)
            set_page_dirty(k, page)  # re-dirty so that reclaim keeps the page
            pr_alert_ratelimited(
                k, "end_swap_bio_write",
                f"Write-error on swap-device ({MAJOR(bio.bi_bdev.dev)}:"
                f"{MINOR(bio.bi_bdev.dev)}:{bio.bi_sector})\n",
            )
            ClearPageReclaim(page)
        # EW-2: success changes no flag before writeback ends.
        end_page_writeback(k, page)  # EW-3
        bio_put(k, bio)


def end_swap_bio_read(k: Kernel, bio: Bio) -> None:
    """Complete a swap-in read: mark the folio uptodate or failed, unlock it, wake the waiter.

    Linux 6.1.176 mm/page_io.c:55-78.
    """
    page = bio_first_page_all(bio)
    waiter = bio.bi_private
    k.trace("end_swap_bio_read", bio=bio.addr, bi_status=int(bio.bi_status),
            sector=bio.bi_sector, size=bio.bi_size, opf=bio.bi_opf, dev=bio.bi_bdev.dev,
            waiter=_task_addr(waiter), page=page.addr, pflags=page.flags)
    with k.call("end_swap_bio_read"):
        if bio.bi_status:  # ER-1
            SetPageError(page)
            ClearPageUptodate(page)
            pr_alert_ratelimited(
                k, "end_swap_bio_read",
                f"Read-error on swap-device ({MAJOR(bio.bi_bdev.dev)}:"
                f"{MINOR(bio.bi_bdev.dev)}:{bio.bi_sector})\n",
            )
        else:
            SetPageUptodate(page)  # ER-2
        unlock_page(k, page)  # ER-3 (out:)
        bio.bi_private = None  # WRITE_ONCE: the synchronous reader polls this (RD-11).
        bio_put(k, bio)
        if waiter is not None:  # ER-4
            blk_wake_io_task(k, waiter)
            put_task_struct(waiter)
        # ER-5: an asynchronous read has no waiter to wake.


def _task_addr(task: Task | None) -> int:
    return 0 if task is None else 0xFFFF888003000000 + task.pid * 0x2000


def blk_wake_io_task(k: Kernel, waiter: Task) -> None:
    """Wake the synchronous reader, or just mark it running if it polls itself.

    Linux 6.1.176 include/linux/blkdev.h:1441-1452.
    """
    if waiter is k.current and not k.ctx.softirq:
        waiter.state = TaskState.TASK_RUNNING  # __set_current_state
    else:
        wake_up_process(k, waiter)


@attrs.define(eq=False)
class SwapFileInode:
    """The inode of a swap file: ``i_blkbits`` and the ``bmap`` of each logical block.

    ``blocks[i]`` is the physical block of logical block ``i`` (0 = a hole).
    """

    i_blkbits: int
    blocks: list[int]

    @property
    def i_size(self) -> int:
        """``i_size_read(inode)``."""
        return len(self.blocks) << self.i_blkbits


def generic_swapfile_activate(k: Kernel, sis: SwapInfo, inode: SwapFileInode) -> tuple[int, int]:
    """Map a swap file's blocks into page-sized extents; return (nr_extents, span).

    Linux 6.1.176 mm/page_io.c:80-175. A hole gives -EINVAL ("swapfile has holes");
    runs that are not page-aligned or contiguous on disk are skipped, as in the kernel.
    """
    from kmodel.lib.ratelimit import _log

    blkbits = inode.i_blkbits
    blocks_per_page = PAGE_SIZE >> blkbits
    probe_block = 0
    page_no = 0
    last_block = inode.i_size >> blkbits
    lowest_block = (1 << 64) - 1
    highest_block = 0
    nr_extents = 0
    while probe_block + blocks_per_page <= last_block and page_no < sis.max:
        first_block = inode.blocks[probe_block]  # bmap(inode, &first_block)
        if not first_block:
            _log(k, "err", "swapon: swapfile has holes\n")
            return -EINVAL, 0
        if first_block & (blocks_per_page - 1):  # must be PAGE_SIZE aligned on disk
            probe_block += 1
            continue
        contiguous = True
        for block_in_page in range(1, blocks_per_page):
            block = inode.blocks[probe_block + block_in_page]
            if not block:
                _log(k, "err", "swapon: swapfile has holes\n")
                return -EINVAL, 0
            if block != first_block + block_in_page:  # discontiguity
                probe_block += 1
                contiguous = False
                break
        if not contiguous:
            continue
        first_block >>= 12 - blkbits
        if page_no:  # exclude the header page
            lowest_block = min(lowest_block, first_block)
            highest_block = max(highest_block, first_block)
        nr_extents += add_swap_extent(sis, page_no, 1, first_block)
        page_no += 1
        probe_block += blocks_per_page
    span = (1 + highest_block - lowest_block) & ((1 << 64) - 1)  # sector_t arithmetic
    if page_no == 0:
        page_no = 1  # force Empty message
    sis.max = page_no
    return nr_extents, span


def swap_writepage(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    """Write a swap cache folio out, unless it is stale or frontswap takes it.

    Linux 6.1.176 mm/page_io.c:181-209.
    """
    k.trace("swap_writepage", page=folio.addr, wbc=0xFFFFC900005038C8, pflags=folio.flags,
            entry=folio.private, sync_mode=int(wbc.sync_mode), wbc_bits=wbc.bits)
    with k.call("swap_writepage"):
        ret = _swap_writepage(k, folio, wbc)
    k.trace("swap_writepage_ret", ret=ret)
    return ret


def _swap_writepage(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    if folio_free_swap(k, folio):  # SW-1
        folio_unlock(k, folio)
        return 0
    ret = k.arch_prepare_to_swap_ret  # arch_prepare_to_swap(&folio->page)
    if ret:  # SW-2
        folio_mark_dirty(k, folio)
        folio_unlock(k, folio)
        return ret
    if frontswap_store(k, folio) == 0:  # SW-3
        folio_start_writeback(k, folio)
        folio_unlock(k, folio)
        folio_end_writeback(k, folio)
        return 0
    return __swap_writepage(k, folio, wbc)  # SW-4


def count_swpout_vm_event(k: Kernel, folio: Folio) -> None:
    """Count a page (or THP) swapped out (CS-1, CS-2). page_io.c:211-218."""
    if folio.nr_pages > 1:  # PageTransHuge  # CS-1
        k.count_vm_event(VmEvent.THP_SWPOUT)
    k.count_vm_event(VmEvent.PSWPOUT, folio.nr_pages)  # CS-2


@attrs.define(eq=False)
class SwapIocb:
    """``struct swap_iocb``: a kiocb and up to SWAP_CLUSTER_MAX pages (page_io.c:239-244)."""

    ki_filp: SwapFile
    ki_pos: int
    write: bool
    pages: list[Folio] = attrs.field(factory=list)
    len: int = 0
    id: int = attrs.field(factory=lambda: next(_sio_ids))

    def describe(self) -> str:
        """One line for reports and reproducers."""
        op = "write" if self.write else "read"
        return f"swap_iocb {op} pos={self.ki_pos} pages={len(self.pages)}"

    def default_status(self) -> BlkStatus:
        """A queued swap-file I/O succeeds unless the caller says otherwise."""
        return BlkStatus.BLK_STS_OK

    def complete(self, k: Kernel, status: BlkStatus | None = None) -> None:
        """``ki_complete`` from the filesystem's completion context (WU-2, RU-2)."""
        ret = self.len if not status else -5
        with k.softirq(0, ("iomap_dio_complete_work",)):
            if self.write:
                sio_write_complete(k, self, ret)
            else:
                sio_read_complete(k, self, ret)


#: ``struct swap_iocb **``: a one-element list a callee may fill.
SwapPlug = list[SwapIocb | None]


def _swap_file(sis: SwapInfo) -> SwapFile:
    # SWP_FS_OPS is set by swapon exactly when the area has a file.
    return cast("SwapFile", sis.swap_file)


def _page_file_offset(folio: Folio) -> int:
    return folio.swap.offset * PAGE_SIZE


def sio_write_complete(k: Kernel, sio: SwapIocb, ret: int) -> None:
    """Finish a swap-file write (WC-1..WC-3). page_io.c:260-293."""
    if ret != sio.len:  # WC-1: may be temporary (swap over NFS): no PG_error
        pr_err_ratelimited(
            k, "sio_write_complete",
            f"Write error {ret} on dio swapfile ({_page_file_offset(sio.pages[0])})\n",
        )
        for page in sio.pages:
            set_page_dirty(k, page)
            ClearPageReclaim(page)
    else:  # WC-2
        for page in sio.pages:
            count_swpout_vm_event(k, page)
    for page in sio.pages:  # WC-3
        end_page_writeback(k, page)


def swap_writepage_fs(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    """Queue a page into the plugged swap-file write (WF-1..WF-5). page_io.c:295-334."""
    sio: SwapIocb | None = None
    sis = k.swap_info_of(folio.swap.type)
    swap_file = _swap_file(sis)
    pos = _page_file_offset(folio)
    set_page_writeback(k, folio)  # WF-1
    unlock_page(k, folio)
    if wbc.swap_plug is not None:
        sio = wbc.swap_plug[0]
    if sio is not None and (sio.ki_filp is not swap_file or sio.ki_pos + sio.len != pos):
        swap_write_unplug(k, sio)  # WF-2
        sio = None
    if sio is None:  # WF-3
        sio = SwapIocb(swap_file, pos, write=True)
    sio.pages.append(folio)
    sio.len += PAGE_SIZE * folio.nr_pages
    if len(sio.pages) == SWAP_CLUSTER_MAX or wbc.swap_plug is None:  # WF-4
        swap_write_unplug(k, sio)
        sio = None
    if wbc.swap_plug is not None:  # WF-5
        wbc.swap_plug[0] = sio
    return 0


def __swap_writepage(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    """Write a locked swap cache page: FS ops, ``rw_page``, or a bio. page_io.c:336-371."""
    k.trace("__swap_writepage", page=folio.addr, wbc=0xFFFFC900005038C8, pflags=folio.flags,
            entry=folio.private)
    with k.call("__swap_writepage"):
        ret = _swap_writepage_body(k, folio, wbc)
    k.trace("__swap_writepage_ret", ret=ret)
    return ret


def _swap_writepage_body(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    if not PageSwapCache(folio):  # WP-1: VM_BUG_ON_PAGE
        raise KernelBug(f"__swap_writepage of a page not in the swap cache: {folio!r}")
    sis = k.swap_info_of(folio.swap.type)
    if sis.flags & SwpFlags.SWP_FS_OPS:  # WP-2
        return swap_writepage_fs(k, folio, wbc)
    ret = bdev_write_page(k, sis.bdev, swap_page_sector(k, folio), folio, wbc)
    if not ret:  # WP-3
        count_swpout_vm_event(k, folio)
        return 0
    # WP-4
    bio = bio_alloc(k, sis.bdev, 1, REQ_OP_WRITE | REQ_SWAP | wbc_to_write_flags(wbc))
    bio.bi_sector = swap_page_sector(k, folio)
    bio.bi_end_io = end_swap_bio_write
    bio_add_page(bio, folio, PAGE_SIZE * folio.nr_pages, 0)
    count_swpout_vm_event(k, folio)
    set_page_writeback(k, folio)
    unlock_page(k, folio)
    submit_bio(k, bio)
    return 0


def swap_write_unplug(k: Kernel, sio: SwapIocb) -> None:
    """Issue a plugged swap-file write (WU-1, WU-2). page_io.c:373-383."""
    ret = sio.ki_filp.swap_rw(sio, True)
    if ret != -EIOCBQUEUED:  # WU-1
        sio_write_complete(k, sio, ret)
    else:  # WU-2: the filesystem completes it later
        k.executor.submit(k, sio)


def sio_read_complete(k: Kernel, sio: SwapIocb, ret: int) -> None:
    """Finish a swap-file read (RC-1, RC-2). page_io.c:385-409."""
    if ret == sio.len:  # RC-1
        for page in sio.pages:
            SetPageUptodate(page)
            unlock_page(k, page)
        k.count_vm_event(VmEvent.PSWPIN, len(sio.pages))
    else:  # RC-2
        for page in sio.pages:
            SetPageError(page)
            ClearPageUptodate(page)
            unlock_page(k, page)
        pr_alert_ratelimited(k, "sio_read_complete", "Read-error on swap-device\n")


def swap_readpage_fs(k: Kernel, folio: Folio, plug: SwapPlug | None) -> None:
    """Queue a page into the plugged swap-file read (RF-1..RF-4). page_io.c:411-446."""
    sis = k.swap_info_of(folio.swap.type)
    swap_file = _swap_file(sis)
    sio: SwapIocb | None = None
    pos = _page_file_offset(folio)
    if plug is not None:
        sio = plug[0]
    if sio is not None and (sio.ki_filp is not swap_file or sio.ki_pos + sio.len != pos):
        swap_read_unplug(k, sio)  # RF-1
        sio = None
    if sio is None:  # RF-2
        sio = SwapIocb(swap_file, pos, write=False)
    sio.pages.append(folio)
    sio.len += PAGE_SIZE * folio.nr_pages
    if len(sio.pages) == SWAP_CLUSTER_MAX or plug is None:  # RF-3
        swap_read_unplug(k, sio)
        sio = None
    if plug is not None:  # RF-4
        plug[0] = sio


def swap_readpage(k: Kernel, folio: Folio, synchronous: bool, plug: SwapPlug | None) -> int:
    """Read a locked, !uptodate folio from swap; wait for it if ``synchronous``.

    Linux 6.1.176 mm/page_io.c:448-525. Returns 0 even when the read fails: errors
    surface only through the folio's flags (RD-12).
    """
    k.trace("swap_readpage", page=folio.addr, synchronous=int(synchronous),
            plug=0xFFFFC90000503D10 if plug is not None else 0, pflags=folio.flags,
            entry=folio.private)
    with k.call("swap_readpage"):
        ret = _swap_readpage(k, folio, synchronous, plug)
    k.trace("swap_readpage_ret", ret=ret)
    return ret


def _swap_readpage(k: Kernel, folio: Folio, synchronous: bool, plug: SwapPlug | None) -> int:
    sis = k.swap_info_of(folio.swap.type)
    workingset = PageWorkingset(folio)
    # RD-1: VM_BUG_ON_PAGE preconditions.
    if not PageSwapCache(folio) and not synchronous:
        raise KernelBug(f"swap_readpage: {folio!r} not in swap cache and not synchronous")
    if not PageLocked(folio):
        raise KernelBug(f"swap_readpage: {folio!r} not locked")
    if PageUptodate(folio):
        raise KernelBug(f"swap_readpage: {folio!r} already uptodate")
    if workingset:  # RD-2: delayacct_thrashing_start, psi_memstall_enter
        k.memstall += 1
    ret = 0
    try:
        if frontswap_load(k, folio) == 0:  # RD-3
            SetPageUptodate(folio)
            unlock_page(k, folio)
            return ret
        if sis.flags & SwpFlags.SWP_FS_OPS:  # RD-4
            swap_readpage_fs(k, folio, plug)
            return ret
        if sis.flags & SwpFlags.SWP_SYNCHRONOUS_IO:
            ret = bdev_read_page(k, sis.bdev, swap_page_sector(k, folio), folio)
            if not ret:  # RD-5
                k.count_vm_event(VmEvent.PSWPIN)
                return ret
            # RD-6: the driver has no rw_page (or failed): fall back to a bio.
        ret = 0
        bio = bio_alloc(k, sis.bdev, 1, REQ_OP_READ)  # RD-7
        bio.bi_sector = swap_page_sector(k, folio)
        bio.bi_end_io = end_swap_bio_read
        bio_add_page(bio, folio, PAGE_SIZE * folio.nr_pages, 0)
        if synchronous:  # RD-8: keep the task valid for the OOM killer's retry check
            bio.bi_private = get_task_struct(k.current)
        # RD-9: an asynchronous read leaves bi_private NULL.
        k.count_vm_event(VmEvent.PSWPIN)  # RD-10
        bio_get(bio)
        submit_bio(k, bio)
        while synchronous:  # RD-11
            set_current_state(k, TaskState.TASK_UNINTERRUPTIBLE)
            if bio.bi_private is None:  # READ_ONCE
                break
            blk_io_schedule(k)
        set_current_state(k, TaskState.TASK_RUNNING)
        bio_put(k, bio)  # RD-12
        return ret
    finally:
        if workingset:  # RD-2: psi_memstall_leave
            k.memstall -= 1


def swap_read_unplug(k: Kernel, sio: SwapIocb | None) -> None:
    """Issue the plugged swap-file read, if any (include/linux/swap.h:~530 inline)."""
    if sio is not None:
        __swap_read_unplug(k, sio)


def __swap_read_unplug(k: Kernel, sio: SwapIocb) -> None:
    """Issue a plugged swap-file read (RU-1, RU-2). page_io.c:527-537."""
    ret = sio.ki_filp.swap_rw(sio, False)
    if ret != -EIOCBQUEUED:  # RU-1
        sio_read_complete(k, sio, ret)
    else:  # RU-2
        k.executor.submit(k, sio)
