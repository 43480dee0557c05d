"""Swap I/O in Linux 6.12: reading and writing folios of swap, and their completions.

Linux 6.12.118 mm/page_io.c, all of it, in the kernel's order. Against 6.1.176: zero-filled
folios never reach the disk (the zeromap), zswap is called directly (no frontswap), there
is no ``rw_page`` (brd and zram take bios), synchronous I/O uses an on-stack bio and
``submit_bio_wait`` instead of polling ``bi_private``, the completions are split into
``__end_swap_bio_{read,write}`` (shared by the synchronous paths) and ``PG_error`` is gone.
``struct swap_iocb **plug`` is a one-element list (:data:`SwapPlug`), as for 6.1.
The trace events carry the names and arguments of the 6.12 capture's kprobes
(:mod:`kmodel.capture.probes612`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kmodel.block.bio import bio_add_page, bio_alloc, bio_first_page_all, bio_put
from kmodel.block.blk_core import submit_bio
from kmodel.errors import KernelBug
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, REQ_SWAP, Bio, BlkStatus
from kmodel.include.linux.mm_types import PAGE_SIZE
from kmodel.include.linux.page_flags import (
    ClearPageReclaim,
    PageLocked,
    PageSwapCache,
    PageUptodate,
    PageWorkingset,
    SetPageUptodate,
)
from kmodel.include.linux.sched import get_task_struct, put_task_struct
from kmodel.include.linux.swap import SWAP_CLUSTER_MAX, SwpFlags
from kmodel.include.linux.writeback import wbc_to_write_flags
from kmodel.lib.ratelimit import pr_alert_ratelimited, pr_err_ratelimited
from kmodel.mm import page_io as page_io_61
from kmodel.mm.filemap import folio_end_writeback, folio_unlock
from kmodel.mm.page_io import EIOCBQUEUED, MAJOR, MINOR, SwapPlug
from kmodel.mm.page_writeback import folio_mark_dirty, folio_start_writeback, set_page_dirty
from kmodel.mm.swapfile import folio_free_swap
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.block.bio import bio_init, submit_bio_wait
from kmodel.v6_12.mm.swapfile import swap_dev_pos, swap_folio_sector, swap_zeromap_batch
from kmodel.v6_12.mm.vmstat import VmEvent612
from kmodel.v6_12.mm.zswap import zswap_load, zswap_store

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.swap import SwapFile, SwapInfo
    from kmodel.include.linux.writeback import WritebackControl
    from kmodel.kernel import Kernel

#: The ``struct writeback_control *`` a trace shows (reclaim's, on pageout's stack).
_WBC = 0xFFFFC900005038C8


def _bio_dev(bio: Bio) -> str:
    dev = bio.bi_bdev.dev
    return f"{MAJOR(dev)}:{MINOR(dev)}:{bio.bi_sector}"


def _trace_bio(k: Kernel, name: str, bio: Bio) -> None:
    """The kprobe of an end_io function: the bio and its first page (probes612 ``_bio``)."""
    page = bio_first_page_all(bio)
    k.trace(name, bio=bio.addr, bi_status=int(bio.bi_status), sector=bio.bi_sector,
            size=bio.bi_size, opf=bio.bi_opf, dev=bio.bi_bdev.dev, page=page.addr,
            pflags=page.flags)


def _folio_end_writeback(k: Kernel, folio: Folio) -> None:
    """``folio_end_writeback`` with its kprobe (the shared function has no 6.12 probe)."""
    k.trace("folio_end_writeback", folio=folio.addr, pflags=folio.flags, entry=folio.private)
    with k.call("folio_end_writeback"):
        folio_end_writeback(k, folio)


def __end_swap_bio_write(k: Kernel, bio: Bio) -> None:
    """End a swap-out write: on error re-dirty, warn, clear PG_reclaim; end writeback.

    Linux 6.12.118 mm/page_io.c:30-50. No PG_error (6.12 has none).
    """
    folio = bio_first_page_all(bio)
    _trace_bio(k, "__end_swap_bio_write", bio)
    with k.call("__end_swap_bio_write"):
        if bio.bi_status:  # EW-1
            folio_mark_dirty(k, folio)  # re-dirty so that reclaim keeps the folio
            pr_alert_ratelimited(k, "__end_swap_bio_write",
                                 f"Write-error on swap-device ({_bio_dev(bio)})\n")
            ClearPageReclaim(folio)
        # EW-2: success changes no flag before writeback ends.
        _folio_end_writeback(k, folio)  # EW-3


def end_swap_bio_write(k: Kernel, bio: Bio) -> None:
    """The asynchronous write's ``bi_end_io``: end it, put the bio (EW-4).

    Linux 6.12.118 mm/page_io.c:52-56.
    """
    _trace_bio(k, "end_swap_bio_write", bio)
    with k.call("end_swap_bio_write"):
        __end_swap_bio_write(k, bio)
        bio_put(k, bio)  # EW-4


def __end_swap_bio_read(k: Kernel, bio: Bio) -> None:
    """End a swap-in read: uptodate on success, a warning on error; unlock the folio.

    Linux 6.12.118 mm/page_io.c:58-70. An error leaves the folio !uptodate (no PG_error):
    do_swap_page maps that to SIGBUS.
    """
    folio = bio_first_page_all(bio)
    _trace_bio(k, "__end_swap_bio_read", bio)
    with k.call("__end_swap_bio_read"):
        if bio.bi_status:  # ER-1
            pr_alert_ratelimited(k, "__end_swap_bio_read",
                                 f"Read-error on swap-device ({_bio_dev(bio)})\n")
        else:
            SetPageUptodate(folio)  # ER-2: folio_mark_uptodate
        folio_unlock(k, folio)  # ER-3


def end_swap_bio_read(k: Kernel, bio: Bio) -> None:
    """The asynchronous read's ``bi_end_io``: end it, put the bio (ER-4).

    Linux 6.12.118 mm/page_io.c:72-76.
    """
    _trace_bio(k, "end_swap_bio_read", bio)
    with k.call("end_swap_bio_read"):
        __end_swap_bio_read(k, bio)
        bio_put(k, bio)  # ER-4


#: 6.12's ``generic_swapfile_activate`` (mm/page_io.c:78-173) is 6.1's line for line
#: but for the ``sis->pages``/``highest_bit`` updates swapon makes in the model.
generic_swapfile_activate = page_io_61.generic_swapfile_activate


def is_folio_zero_filled(folio: Folio) -> bool:
    """Whether every byte of the folio is zero (ZM-1).

    Linux 6.12.118 mm/page_io.c:175-203 (last word first, then the rest: the order changes
    nothing observable). A folio's ``data`` shorter than the page is zero-padded.
    """
    data = folio.data or b""
    return not any(data)


def swap_zeromap_folio_set(k: Kernel, folio: Folio) -> None:
    """Mark the folio's slots as zero-filled; count SWPOUT_ZERO (mm/page_io.c:205-223)."""
    entry = folio.swap
    for i in range(folio.nr_pages):
        k.zeromap.add((entry.type, entry.offset + i))
    k.count_vm_event(VmEvent612.SWPOUT_ZERO, folio.nr_pages)


def swap_zeromap_folio_clear(k: Kernel, folio: Folio) -> None:
    """Clear the zeromap bits of the folio's slots (mm/page_io.c:225-235)."""
    entry = folio.swap
    for i in range(folio.nr_pages):
        k.zeromap.discard((entry.type, entry.offset + i))


def swap_writepage(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    """Write a swap cache folio out, unless stale, zero-filled or taken by zswap.

    Linux 6.12.118 mm/page_io.c:241-290. ``mem_cgroup_zswap_writeback_enabled`` is
    always true here (no memcg is modelled): AOP_WRITEPAGE_ACTIVATE is not reachable.
    """
    k.trace("swap_writepage", page=folio.addr, wbc=_WBC, pflags=folio.flags,
            entry=folio.private, sync_mode=int(wbc.sync_mode), wbc_bits=wbc.bits)
    with k.call("swap_writepage"):
        ret = _swap_writepage(k, folio, wbc)
    k.trace("swap_writepage_ret", ret=ret)
    return ret


def _swap_writepage(k: Kernel, folio: Folio, wbc: WritebackControl) -> int:
    if folio_free_swap(k, folio):  # SW-1
        folio_unlock(k, folio)
        return 0
    ret = k.arch_prepare_to_swap_ret  # arch_prepare_to_swap(folio)
    if ret:  # SW-2
        folio_mark_dirty(k, folio)
        folio_unlock(k, folio)
        return ret
    if is_folio_zero_filled(folio):  # ZM-1: no I/O, no writeback
        swap_zeromap_folio_set(k, folio)
        folio_unlock(k, folio)
        return 0
    swap_zeromap_folio_clear(k, folio)  # ZM-2
    if zswap_store(k, folio):  # SW-3: no writeback either
        folio_unlock(k, folio)
        return 0
    __swap_writepage(k, folio, wbc)  # SW-4
    return 0


def count_swpout_vm_event(k: Kernel, folio: Folio) -> None:
    """Count a folio swapped out (CS-1, CS-2). Linux 6.12.118 mm/page_io.c:292-302.

    ``count_mthp_stat`` (per-order sysfs counters) is not modelled.
    """
    if folio.nr_pages >= 512:  # folio_test_pmd_mappable  # CS-1
        k.count_vm_event(VmEvent.THP_SWPOUT)
    k.count_vm_event(VmEvent.PSWPOUT, folio.nr_pages)  # CS-2


@attrs.define(eq=False)
class SwapIocb(page_io_61.SwapIocb):
    """``struct swap_iocb`` (mm/page_io.c:323-328); completes with 6.12's functions."""

    def complete(self, k: Kernel, status: BlkStatus | None = None) -> None:
        """``ki_complete`` from the filesystem's completion context (WU-2, RU-2)."""
        ret = self.len if not status else -5
        with k.softirq(0, ("iomap_dio_complete_work",)):
            if self.write:
                sio_write_complete(k, self, ret)
            else:
                sio_read_complete(k, self, ret)


def _swap_file(sis: SwapInfo) -> SwapFile:
    return page_io_61._swap_file(sis)


def sio_write_complete(k: Kernel, sio: SwapIocb, ret: int) -> None:
    """Finish a swap-file write (WC-1, WC-3). Linux 6.12.118 mm/page_io.c:344-372.

    Unlike 6.1 the pages were counted at submission (WF-1), not here.
    """
    if ret != sio.len:  # WC-1: may be temporary (swap over NFS)
        pr_err_ratelimited(
            k, "sio_write_complete",
            f"Write error {ret} on dio swapfile ({swap_dev_pos(sio.pages[0].swap)})\n",
        )
        for page in sio.pages:
            set_page_dirty(k, page)
            ClearPageReclaim(page)
    for page in sio.pages:  # WC-3: end_page_writeback(page) = folio_end_writeback(folio)
        _folio_end_writeback(k, page)


def swap_writepage_fs(k: Kernel, folio: Folio, wbc: WritebackControl) -> None:
    """Queue a folio into the plugged swap-file write (WF-1..WF-5). page_io.c:374-410."""
    sio: SwapIocb | None = None
    sis = k.swap_info_of(folio.swap.type)
    swap_file = _swap_file(sis)
    pos = swap_dev_pos(folio.swap)
    count_swpout_vm_event(k, folio)  # WF-1
    folio_start_writeback(k, folio)
    folio_unlock(k, folio)
    if wbc.swap_plug is not None:
        sio = _sio_or_none(wbc.swap_plug[0])
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


def _sio612(sio: page_io_61.SwapIocb) -> SwapIocb:
    if not isinstance(sio, SwapIocb):
        raise KernelBug(f"a 6.1 swap_iocb on a 6.12 kernel: {sio.describe()}")
    return sio


def _sio_or_none(sio: page_io_61.SwapIocb | None) -> SwapIocb | None:
    return None if sio is None else _sio612(sio)


def swap_writepage_bdev_sync(k: Kernel, folio: Folio, wbc: WritebackControl,
                             sis: SwapInfo) -> None:
    """Write a folio with an on-stack bio and wait for it (WS-1).

    Linux 6.12.118 mm/page_io.c:412-431: the write ends in this task, through
    ``__end_swap_bio_write``, before ``swap_writepage`` returns.
    """
    k.trace("swap_writepage_bdev_sync", folio=folio.addr, pflags=folio.flags,
            entry=folio.private)
    with k.call("swap_writepage_bdev_sync"):
        bio = bio_init(sis.bdev, REQ_OP_WRITE | REQ_SWAP | wbc_to_write_flags(wbc))  # WS-1
        bio.bi_sector = swap_folio_sector(k, folio)
        bio_add_page(bio, folio, PAGE_SIZE * folio.nr_pages, 0)  # bio_add_folio_nofail
        count_swpout_vm_event(k, folio)
        folio_start_writeback(k, folio)
        folio_unlock(k, folio)
        submit_bio_wait(k, bio)
        __end_swap_bio_write(k, bio)


def swap_writepage_bdev_async(k: Kernel, folio: Folio, wbc: WritebackControl,
                              sis: SwapInfo) -> None:
    """Write a folio with an allocated bio ended by ``end_swap_bio_write`` (WA-1).

    Linux 6.12.118 mm/page_io.c:433-450 (inlined in Debian's build: no probe, a frame).
    """
    with k.call("swap_writepage_bdev_async"):
        bio = bio_alloc(k, sis.bdev, 1, REQ_OP_WRITE | REQ_SWAP | wbc_to_write_flags(wbc))
        bio.bi_sector = swap_folio_sector(k, folio)  # WA-1
        bio.bi_end_io = end_swap_bio_write
        bio_add_page(bio, folio, PAGE_SIZE * folio.nr_pages, 0)
        count_swpout_vm_event(k, folio)
        folio_start_writeback(k, folio)
        folio_unlock(k, folio)
        submit_bio(k, bio)


def __swap_writepage(k: Kernel, folio: Folio, wbc: WritebackControl) -> None:
    """Write a locked swap cache folio: swap file, synchronous or asynchronous bio.

    Linux 6.12.118 mm/page_io.c:452-473.
    """
    k.trace("__swap_writepage", folio=folio.addr, pflags=folio.flags, entry=folio.private,
            wbc=_WBC)
    with k.call("__swap_writepage"):
        if not PageSwapCache(folio):  # WP-1: VM_BUG_ON_FOLIO
            raise KernelBug(f"__swap_writepage of a folio not in the swap cache: {folio!r}")
        sis = k.swap_info_of(folio.swap.type)
        if sis.flags & SwpFlags.SWP_FS_OPS:  # WP-2
            swap_writepage_fs(k, folio, wbc)
        elif sis.flags & SwpFlags.SWP_SYNCHRONOUS_IO:  # WP-3
            swap_writepage_bdev_sync(k, folio, wbc, sis)
        else:  # WP-4
            swap_writepage_bdev_async(k, folio, wbc, sis)


def swap_write_unplug(k: Kernel, sio: page_io_61.SwapIocb) -> None:
    """Issue a plugged swap-file write (WU-1, WU-2). page_io.c:475-485."""
    sio6 = _sio612(sio)
    ret = sio6.ki_filp.swap_rw(sio6, True)
    if ret != -EIOCBQUEUED:  # WU-1
        sio_write_complete(k, sio6, ret)
    else:  # WU-2: the filesystem calls ki_complete later
        k.executor.submit(k, sio6)


def sio_read_complete(k: Kernel, sio: SwapIocb, ret: int) -> None:
    """Finish a swap-file read (RC-1, RC-2). Linux 6.12.118 mm/page_io.c:487-509."""
    if ret == sio.len:  # RC-1
        for folio in sio.pages:
            SetPageUptodate(folio)
            folio_unlock(k, folio)
        k.count_vm_event(VmEvent.PSWPIN, len(sio.pages))
    else:  # RC-2: unlock only; the folios stay !uptodate
        for folio in sio.pages:
            folio_unlock(k, folio)
        pr_alert_ratelimited(k, "sio_read_complete", "Read-error on swap-device\n")


def swap_read_folio_zeromap(k: Kernel, folio: Folio) -> bool:
    """Serve a zero-filled slot from the zeromap: zero the folio, mark it uptodate (ZM-3).

    Linux 6.12.118 mm/page_io.c:511-539 (inlined: no probe). A large folio partly in the
    zeromap (the WARN at 522-524) cannot occur: the model swaps in order-0 folios only.
    """
    is_zeromap = swap_zeromap_batch(k, folio.swap, folio.nr_pages)[1]
    if not is_zeromap:  # ZM-4
        return False
    k.count_vm_event(VmEvent612.SWPIN_ZERO, folio.nr_pages)  # ZM-3
    folio.data = bytes(0)  # folio_zero_range
    SetPageUptodate(folio)
    return True


def swap_read_folio_fs(k: Kernel, folio: Folio, plug: SwapPlug | None) -> None:
    """Queue a folio into the plugged swap-file read (RF-1..RF-4). page_io.c:541-573."""
    sis = k.swap_info_of(folio.swap.type)
    swap_file = _swap_file(sis)
    sio: SwapIocb | None = None
    pos = swap_dev_pos(folio.swap)
    if plug is not None:
        sio = _sio_or_none(plug[0])
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


def swap_read_folio_bdev_sync(k: Kernel, folio: Folio, sis: SwapInfo) -> None:
    """Read a folio with an on-stack bio and wait for it (RS-1).

    Linux 6.12.118 mm/page_io.c:575-593: ``submit_bio_wait``, then
    ``__end_swap_bio_read`` in this task (no ``bi_private`` polling, no bio_put).
    """
    k.trace("swap_read_folio_bdev_sync", folio=folio.addr, pflags=folio.flags,
            entry=folio.private)
    with k.call("swap_read_folio_bdev_sync"):
        bio = bio_init(sis.bdev, REQ_OP_READ)  # RS-1
        bio.bi_sector = swap_folio_sector(k, folio)
        bio_add_page(bio, folio, PAGE_SIZE * folio.nr_pages, 0)
        task = get_task_struct(k.current)  # keep current valid for the OOM killer
        k.count_vm_event(VmEvent.PSWPIN, folio.nr_pages)
        submit_bio_wait(k, bio)
        __end_swap_bio_read(k, bio)
        put_task_struct(task)


def swap_read_folio_bdev_async(k: Kernel, folio: Folio, sis: SwapInfo) -> None:
    """Read a folio with an allocated bio ended by ``end_swap_bio_read`` (RB-1).

    Linux 6.12.118 mm/page_io.c:595-606 (inlined in Debian's build: no probe, a frame).
    """
    with k.call("swap_read_folio_bdev_async"):
        bio = bio_alloc(k, sis.bdev, 1, REQ_OP_READ)  # RB-1
        bio.bi_sector = swap_folio_sector(k, folio)
        bio.bi_end_io = end_swap_bio_read
        bio_add_page(bio, folio, PAGE_SIZE * folio.nr_pages, 0)
        k.count_vm_event(VmEvent.PSWPIN, folio.nr_pages)
        submit_bio(k, bio)


def swap_read_folio(k: Kernel, folio: Folio, plug: SwapPlug | None) -> None:
    """Read a locked, !uptodate folio: zeromap, zswap, swap file, sync or async bio.

    Linux 6.12.118 mm/page_io.c:608-656. Returns nothing: a failed read leaves the folio
    unlocked and !uptodate. Synchronous exactly when the area is SWP_SYNCHRONOUS_IO.
    """
    k.trace("swap_read_folio", folio=folio.addr, pflags=folio.flags, entry=folio.private,
            plug=0xFFFFC90000503D10 if plug is not None else 0)
    with k.call("swap_read_folio"):
        _swap_read_folio(k, folio, plug)
    k.trace("swap_read_folio_ret")  # void: the kretprobe only marks the return


def _swap_read_folio(k: Kernel, folio: Folio, plug: SwapPlug | None) -> None:
    sis = k.swap_info_of(folio.swap.type)
    synchronous = bool(sis.flags & SwpFlags.SWP_SYNCHRONOUS_IO)
    workingset = PageWorkingset(folio)
    # RD-1: VM_BUG_ON_FOLIO preconditions.
    if not PageSwapCache(folio) and not synchronous:
        raise KernelBug(f"swap_read_folio: {folio!r} not in swap cache and not synchronous")
    if not PageLocked(folio):
        raise KernelBug(f"swap_read_folio: {folio!r} not locked")
    if PageUptodate(folio):
        raise KernelBug(f"swap_read_folio: {folio!r} already uptodate")
    if workingset:  # RD-2: delayacct_thrashing_start, psi_memstall_enter
        k.memstall += 1
    if swap_read_folio_zeromap(k, folio):  # RD-3
        folio_unlock(k, folio)
    elif zswap_load(k, folio):  # RD-4
        folio_unlock(k, folio)
    else:
        # RD-5: zswap_folio_swapin (zswap shrinker protection: not modelled).
        if sis.flags & SwpFlags.SWP_FS_OPS:  # RD-6
            swap_read_folio_fs(k, folio, plug)
        elif synchronous:  # RD-7
            swap_read_folio_bdev_sync(k, folio, sis)
        else:  # RD-8
            swap_read_folio_bdev_async(k, folio, sis)
    if workingset:  # finish: psi_memstall_leave
        k.memstall -= 1


def swap_read_unplug(k: Kernel, sio: page_io_61.SwapIocb | None) -> None:
    """Issue the plugged swap-file read, if any (mm/swap.h:16-20, an inline)."""
    if sio is not None:
        __swap_read_unplug(k, sio)


def __swap_read_unplug(k: Kernel, sio: page_io_61.SwapIocb) -> None:
    """Issue a plugged swap-file read (RU-1, RU-2). page_io.c:658-668."""
    sio6 = _sio612(sio)
    ret = sio6.ki_filp.swap_rw(sio6, False)
    if ret != -EIOCBQUEUED:  # RU-1
        sio_read_complete(k, sio6, ret)
    else:  # RU-2
        k.executor.submit(k, sio6)
