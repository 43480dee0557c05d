"""The swap cache and swap-in readahead.

Linux 6.1.176 mm/swap_state.c. The swap cache is ``k.swap_cache`` keyed by
(type, offset), standing in for the per-area XArrays of ``swapper_spaces``.
``read_swap_cache_async`` and ``swap_vma_readahead`` are inlined in Debian's build, so
the model, like the kernel, emits no trace event of its own for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kmodel.errors import KernelBug
from kmodel.include.linux.mm_types import PAGE_SHIFT, Folio, SwapEntry
from kmodel.include.linux.page_flags import (
    PageFlags,
    PageLocked,
    PageUptodate,
    SetPageReadahead,
    TestClearPageReadahead,
)
from kmodel.mm.page_alloc import vma_alloc_folio
from kmodel.mm.swapfile import (
    EEXIST,
    __swp_swapcount,
    get_swap_page,
    put_swap_folio,
    swapcache_prepare,
)
from kmodel.mm.vmstat import VmEvent

if TYPE_CHECKING:
    from kmodel.include.linux.mm import VMFault
    from kmodel.include.linux.mm_types import VMArea
    from kmodel.kernel import Kernel
    from kmodel.mm.page_io import SwapPlug

SWAP_RA_ORDER_CEILING = 5
#: GFP_HIGHUSER_MOVABLE on this config, as the fault path passes it (0x100cca in traces).
GFP_HIGHUSER_MOVABLE = 0x100CCA
PMD_SHIFT = 21


def add_to_swap_cache(k: Kernel, folio: Folio, entry: SwapEntry) -> int:
    """Insert a locked folio for ``entry`` (swap_state.c:88-137): PG_swapcache, private."""
    if not PageLocked(folio):
        raise KernelBug(f"add_to_swap_cache of unlocked {folio!r}")
    key = (entry.type, entry.offset)
    folio.refcount += 1  # folio_ref_add(folio, nr)
    folio.flags |= PageFlags.PG_swapcache
    folio.private = entry.val  # set_page_private(folio_page(folio, i), entry.val + i)
    k.swap_cache[key] = folio
    return 0


def __delete_from_swap_cache(k: Kernel, folio: Folio, entry: SwapEntry) -> None:
    """Remove from the swap cache (swap_state.c:139-169)."""
    del k.swap_cache[(entry.type, entry.offset)]
    folio.private = 0
    folio.flags &= ~PageFlags.PG_swapcache


def delete_from_swap_cache(k: Kernel, folio: Folio) -> None:
    """Remove, give back the slot's cache reference, drop the cache's folio reference.

    Linux 6.1.176 mm/swap_state.c:231-244.
    """
    entry = folio.swap
    __delete_from_swap_cache(k, folio, entry)
    put_swap_folio(k, folio, entry)
    folio.refcount -= 1  # folio_ref_sub(folio, nr)


def add_to_swap(k: Kernel, folio: Folio) -> bool:
    """Allocate a slot and add the folio to the swap cache, dirty (swap_state.c:174-225)."""
    if not PageLocked(folio) or not PageUptodate(folio):
        raise KernelBug(f"add_to_swap of {folio!r}: must be locked and uptodate")
    if not k.swap_info:
        return False
    sis = max(k.swap_info, key=lambda s: s.prio)
    entry = get_swap_page(k, sis)
    if entry is None:
        return False
    add_to_swap_cache(k, folio, entry)
    folio.flags |= PageFlags.PG_dirty  # folio_mark_dirty: noop_dirty_folio
    return True


def swap_use_vma_readahead(k: Kernel) -> bool:
    """VMA readahead unless disabled or any swap area is rotational (swap_state.c:317-320)."""
    return k.enable_vma_readahead and not k.nr_rotate_swap


def swap_cache_get_folio(k: Kernel, entry: SwapEntry, vma: VMArea | None,
                         addr: int) -> Folio | None:
    """Look up the swap cache and account a readahead hit (swap_state.c:328-375)."""
    folio = k.swap_cache.get((entry.type, entry.offset))
    if folio is None:
        return None
    folio.refcount += 1  # filemap_get_folio takes a reference
    vma_ra = swap_use_vma_readahead(k)
    readahead = TestClearPageReadahead(folio)
    if vma is not None and vma_ra:
        if readahead:
            vma.ra_hits = min(vma.ra_hits + 1, 0xFF)  # SWAP_RA_HITS_MAX
        vma.ra_addr = addr
    if readahead:
        k.count_vm_event(VmEvent.SWAP_RA_HIT)
        if vma is None or not vma_ra:
            k.swapin_readahead_hits += 1
    return folio


@attrs.define
class ReadResult:
    """What ``__read_swap_cache_async`` returns: the page and ``*new_page_allocated``."""

    folio: Folio | None
    new_page_allocated: bool


def __read_swap_cache_async(k: Kernel, entry: SwapEntry, vma: VMArea | None,
                            addr: int) -> ReadResult:
    """Find or create the swap cache folio for ``entry`` (RA-1..RA-4).

    Linux 6.1.176 mm/swap_state.c:412-508. With the deterministic executor a task never
    finds the slot claimed by another task mid-insert (the claim and the insert happen
    without sleeping in between), so RA-3 is reached only through the threaded executor.
    """
    k.trace("__read_swap_cache_async", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE,
            vma=vma.addr if vma else 0, addr=addr)
    with k.call("__read_swap_cache_async"):
        result = _read_swap_cache_async_body(k, entry, vma, addr)
    k.trace("__read_swap_cache_async_ret", page=result.folio.addr if result.folio else 0)
    return result


def _read_swap_cache_async_body(k: Kernel, entry: SwapEntry, vma: VMArea | None,
                                addr: int) -> ReadResult:
    while True:
        folio = k.swap_cache.get((entry.type, entry.offset))  # filemap_get_folio
        if folio is not None:  # RA-1
            folio.refcount += 1
            return ReadResult(folio, False)
        if not __swp_swapcount(k, entry) and k.swap_slot_cache_enabled:  # RA-2
            return ReadResult(None, False)
        folio = vma_alloc_folio(k, GFP_HIGHUSER_MOVABLE)
        if folio is None:
            return ReadResult(None, False)
        err = swapcache_prepare(k, entry)
        if not err:
            break
        if err != -EEXIST:
            return ReadResult(None, False)
        # RA-3: another task is adding the page; schedule_timeout_uninterruptible(1).
        k.executor.sleep_tick(k, k.current)
    # RA-4
    folio.flags |= PageFlags.PG_locked | PageFlags.PG_swapbacked  # __folio_set_locked...
    add_to_swap_cache(k, folio, entry)
    folio.flags |= PageFlags.PG_lru  # folio_add_lru
    return ReadResult(folio, True)


def read_swap_cache_async(k: Kernel, entry: SwapEntry, vma: VMArea | None, addr: int,
                          do_poll: bool, plug: SwapPlug | None) -> Folio | None:
    """Find or create the folio and start reading it if new (RA-5). swap_state.c:516-529."""
    from kmodel.mm.page_io import swap_readpage

    with k.call("read_swap_cache_async"):  # inlined in 6.1's build: no probe, a frame
        result = __read_swap_cache_async(k, entry, vma, addr)
        if result.new_page_allocated and result.folio is not None:  # RA-5
            swap_readpage(k, result.folio, do_poll, plug)
    return result.folio


def __swapin_nr_pages(prev_offset: int, offset: int, hits: int, max_pages: int,
                      prev_win: int) -> int:
    """The readahead window from the hit history (swap_state.c:531-569)."""
    pages = hits + 2
    if pages == 2:
        if offset != prev_offset + 1 and offset != prev_offset - 1:
            pages = 1
    else:
        roundup = 4
        while roundup < pages:
            roundup <<= 1
        pages = roundup
    pages = min(pages, max_pages)
    last_ra = prev_win // 2
    return max(pages, last_ra)


def swapin_nr_pages(k: Kernel, offset: int) -> int:
    """Cluster readahead window (swap_state.c:571-590)."""
    max_pages = 1 << k.page_cluster
    if max_pages <= 1:
        return 1
    hits, k.swapin_readahead_hits = k.swapin_readahead_hits, 0  # atomic_xchg
    pages = __swapin_nr_pages(k.ra_prev_offset, offset, hits, max_pages, k.ra_last_pages)
    if not hits:
        k.ra_prev_offset = offset
    k.ra_last_pages = pages
    return pages


def _readahead_one(k: Kernel, entry: SwapEntry, vma: VMArea | None, addr: int,
                   splug: SwapPlug, is_target: bool) -> None:
    from kmodel.mm.page_io import swap_readpage

    result = __read_swap_cache_async(k, entry, vma, addr)
    if result.folio is None:
        return
    if result.new_page_allocated:
        swap_readpage(k, result.folio, False, splug)  # CR-3
        if not is_target:
            SetPageReadahead(result.folio)
            k.count_vm_event(VmEvent.SWAP_RA)
    result.folio.refcount -= 1  # put_page


def swap_cluster_readahead(k: Kernel, entry: SwapEntry, vmf: VMFault) -> Folio | None:
    """Read the aligned ``page-cluster`` window around ``entry``, then the target.

    Linux 6.1.176 mm/swap_state.c:610-662 (CR-1..CR-4).
    """
    from kmodel.block.blk_core import blk_finish_plug, blk_start_plug
    from kmodel.mm.page_io import swap_read_unplug

    k.trace("swap_cluster_readahead", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE, vmf=vmf.addr)
    with k.call("swap_cluster_readahead"):
        entry_offset = offset = entry.offset
        si = k.swap_info_of(entry.type)
        splug: SwapPlug = [None]
        do_poll = True
        mask = swapin_nr_pages(k, offset) - 1
        if mask:  # CR-1 when mask == 0
            do_poll = False
            start_offset = offset & ~mask  # CR-2
            end_offset = offset | mask
            if not start_offset:  # First page is swap header.
                start_offset += 1
            if end_offset >= si.max:
                end_offset = si.max - 1
            plug = blk_start_plug(k)
            for offset in range(start_offset, end_offset + 1):
                _readahead_one(k, SwapEntry(entry.type, offset), vmf.vma, vmf.address, splug,
                               offset == entry_offset)
            blk_finish_plug(k, plug)  # CR-4
            swap_read_unplug(k, splug[0])
        folio = read_swap_cache_async(k, entry, vmf.vma, vmf.address, do_poll, None)
    k.trace("swap_cluster_readahead_ret", page=folio.addr if folio else 0)
    return folio


def swap_vma_readahead(k: Kernel, fentry: SwapEntry, vmf: VMFault) -> Folio | None:
    """Read swap PTEs around the faulting address, then the target (CR-5).

    Linux 6.1.176 mm/swap_state.c:712-786 (swap_ra_info) and 788-841.
    """
    from kmodel.block.blk_core import blk_finish_plug, blk_start_plug
    from kmodel.mm.page_io import swap_read_unplug

    vma = vmf.vma
    max_win = 1 << min(k.page_cluster, SWAP_RA_ORDER_CEILING)
    win = 1
    if max_win > 1:
        faddr = vmf.address
        fpfn = faddr >> PAGE_SHIFT
        pfn = vma.ra_addr >> PAGE_SHIFT
        win = __swapin_nr_pages(pfn, fpfn, vma.ra_hits, max_win, vma.ra_win)
        vma.ra_addr, vma.ra_win, vma.ra_hits = faddr, win, 0
    if win > 1:
        if fpfn == pfn + 1:
            lpfn, rpfn = fpfn, fpfn + win
        elif pfn == fpfn + 1:
            lpfn, rpfn = fpfn - win + 1, fpfn + 1
        else:
            left = (win - 1) // 2
            lpfn, rpfn = fpfn - left, fpfn + win - left
        pmd = faddr & ~((1 << PMD_SHIFT) - 1)
        start = max(lpfn, vma.vm_start >> PAGE_SHIFT, pmd >> PAGE_SHIFT)  # swap_ra_clamp_pfn
        end = min(rpfn, vma.vm_end >> PAGE_SHIFT, (pmd + (1 << PMD_SHIFT)) >> PAGE_SHIFT)
        splug: SwapPlug = [None]
        plug = blk_start_plug(k)
        for pfn_i in range(start, end):
            pte = vma.vm_mm.ptes.get(pfn_i << PAGE_SHIFT)
            if not isinstance(pte, int):  # !is_swap_pte
                continue
            _readahead_one(k, SwapEntry.from_pte(pte), vma, vmf.address, splug, pfn_i == fpfn)
        blk_finish_plug(k, plug)
        swap_read_unplug(k, splug[0])
    return read_swap_cache_async(k, fentry, vma, vmf.address, win == 1, None)


def swapin_readahead(k: Kernel, entry: SwapEntry, vmf: VMFault) -> Folio | None:
    """VMA or cluster readahead, by configuration (CR-5). swap_state.c:850-855."""
    k.trace("swapin_readahead", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE, vmf=vmf.addr)
    with k.call("swapin_readahead"):
        if swap_use_vma_readahead(k):  # CR-5
            folio = swap_vma_readahead(k, entry, vmf)
        else:
            folio = swap_cluster_readahead(k, entry, vmf)
    k.trace("swapin_readahead_ret", page=folio.addr if folio else 0)
    return folio
