"""Swap-in through the swap cache and readahead, as in Linux 6.12.

Linux 6.12.118 mm/swap_state.c. Against 6.1.176: ``__read_swap_cache_async`` takes a NUMA
policy ``(mpol, ilx)`` and ``skip_if_exists``, and allocates its folio once, before
claiming the slot; readahead reads the target through ``__read_swap_cache_async`` and
``swap_read_folio(folio, NULL)`` itself (``read_swap_cache_async`` lost ``do_poll``:
synchronous is now a property of the swap area). The NUMA policy does not change what the
model allocates: ``mpol`` is a stable stand-in address (:data:`MPOL_DEFAULT_ADDR`) and
``ilx`` what ``get_vma_policy`` gives under a non-interleaving policy (0; VMA readahead
offsets it per page). The real captures show other ``ilx`` values (their tasks interleave:
``vm_pgoff`` plus the page index, and the model has no ``vm_pgoff``): compare neither.
The swap cache itself
(``add_to_swap_cache``, ``swap_cache_get_folio``, the readahead window) is unchanged for
order-0 folios and is 6.1's (:mod:`kmodel.mm.swap_state`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.block.blk_core import blk_finish_plug, blk_start_plug
from kmodel.include.linux.mm_types import PAGE_SHIFT, PAGE_SIZE, Folio, SwapEntry
from kmodel.include.linux.page_flags import PageFlags, SetPageReadahead
from kmodel.mm.page_alloc import vma_alloc_folio
from kmodel.mm.swap_state import (
    GFP_HIGHUSER_MOVABLE,
    PMD_SHIFT,
    SWAP_RA_ORDER_CEILING,
    ReadResult,
    __swapin_nr_pages,
    add_to_swap_cache,
    swap_use_vma_readahead,
    swapin_nr_pages,
)
from kmodel.mm.swapfile import EEXIST, __swp_swapcount
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.swapfile import swapcache_prepare

if TYPE_CHECKING:
    from kmodel.include.linux.mm import VMFault
    from kmodel.include.linux.mm_types import VMArea
    from kmodel.kernel import Kernel
    from kmodel.mm.page_io import SwapPlug


#: ``get_vma_policy`` of a task with no mempolicy: ``&preferred_node_policy[numa_node_id()]``
#: (mm/mempolicy.c, a kernel-image address; any stable value stands for it here).
MPOL_DEFAULT_ADDR = 0xFFFFFFFF82E5C2A0
_U64 = (1 << 64) - 1


def __read_swap_cache_async(k: Kernel, entry: SwapEntry, *, ilx: int = 0,
                            skip_if_exists: bool = False) -> ReadResult:
    """Find or create the swap cache folio for ``entry`` (RA-1..RA-5).

    Linux 6.12.118 mm/swap_state.c:432-546.
    """
    k.trace("__read_swap_cache_async", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE,
            mpol=MPOL_DEFAULT_ADDR, ilx=ilx & _U64, skip_if_exists=int(skip_if_exists))
    with k.call("__read_swap_cache_async"):
        result = _read_swap_cache_async_body(k, entry, skip_if_exists)
    k.trace("__read_swap_cache_async_ret", folio=result.folio.addr if result.folio else 0)
    return result


def _read_swap_cache_async_body(k: Kernel, entry: SwapEntry,
                                skip_if_exists: bool) -> ReadResult:
    new_folio: Folio | None = None
    while True:
        folio = k.swap_cache.get((entry.type, entry.offset))  # filemap_get_folio
        if folio is not None:  # RA-1: got_folio
            folio.refcount += 1
            return _put_and_return(ReadResult(folio, False), new_folio)
        if not __swp_swapcount(k, entry) and k.swap_slot_cache_enabled:  # RA-2
            return _put_and_return(ReadResult(None, False), new_folio)
        if new_folio is None:
            new_folio = vma_alloc_folio(k, GFP_HIGHUSER_MOVABLE)  # folio_alloc_mpol(gfp_mask, ...)
            if new_folio is None:
                return ReadResult(None, False)
        err = swapcache_prepare(k, entry, 1)
        if not err:
            break
        if err != -EEXIST:
            return _put_and_return(ReadResult(None, False), new_folio)
        if skip_if_exists:  # RA-5: the zswap writeback path must not wait on itself
            return _put_and_return(ReadResult(None, False), new_folio)
        # RA-3: another task is adding the folio; schedule_timeout_uninterruptible(1).
        k.executor.sleep_tick(k, k.current)
    # RA-4: the entry is ours; mem_cgroup_swapin_charge_folio always succeeds here.
    new_folio.flags |= PageFlags.PG_locked | PageFlags.PG_swapbacked
    add_to_swap_cache(k, new_folio, entry)
    new_folio.flags |= PageFlags.PG_lru  # folio_add_lru
    return ReadResult(new_folio, True)


def _put_and_return(result: ReadResult, new_folio: Folio | None) -> ReadResult:
    """``put_and_return`` (swap_state.c:541-545): drop an unused new folio."""
    if new_folio is not None:
        new_folio.refcount -= 1  # folio_put
        new_folio.freed = True
    return result


def read_swap_cache_async(k: Kernel, entry: SwapEntry, vma: VMArea | None, addr: int,
                          plug: SwapPlug | None) -> Folio | None:
    """Find or create the folio and start reading it if new (RA-6).

    Linux 6.12.118 mm/swap_state.c:558-575 (the madvise/shmem entry; the fault path's
    readahead calls ``__read_swap_cache_async`` itself).
    """
    from kmodel.v6_12.mm.page_io import swap_read_folio

    k.trace("read_swap_cache_async", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE,
            vma=vma.addr if vma else 0, addr=addr, plug=0xFFFFC90000503D10 if plug else 0)
    with k.call("read_swap_cache_async"):
        result = __read_swap_cache_async(k, entry)
        if result.new_page_allocated and result.folio is not None:  # RA-6
            swap_read_folio(k, result.folio, plug)
    k.trace("read_swap_cache_async_ret", folio=result.folio.addr if result.folio else 0)
    return result.folio


def _readahead_one(k: Kernel, entry: SwapEntry, splug: SwapPlug, is_target: bool,
                   ilx: int = 0) -> None:
    from kmodel.v6_12.mm.page_io import swap_read_folio

    result = __read_swap_cache_async(k, entry, ilx=ilx)
    if result.folio is None:
        return
    if result.new_page_allocated:
        swap_read_folio(k, result.folio, splug)  # CR-3
        if not is_target:
            SetPageReadahead(result.folio)  # folio_set_readahead
            k.count_vm_event(VmEvent.SWAP_RA)
    result.folio.refcount -= 1  # folio_put


def _read_target(k: Kernel, entry: SwapEntry) -> Folio | None:
    """``skip:`` — the target, likely read above: no plug (CR-4)."""
    from kmodel.v6_12.mm.page_io import swap_read_folio

    result = __read_swap_cache_async(k, entry)
    if result.new_page_allocated and result.folio is not None:
        swap_read_folio(k, result.folio, None)
    return result.folio


def swap_cluster_readahead(k: Kernel, entry: SwapEntry) -> Folio | None:
    """Read the aligned ``page-cluster`` window around ``entry``, then the target.

    Linux 6.12.118 mm/swap_state.c:656-708 (CR-1..CR-4).
    """
    from kmodel.v6_12.mm.page_io import swap_read_unplug

    k.trace("swap_cluster_readahead", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE,
            mpol=MPOL_DEFAULT_ADDR, ilx=0)  # the default policy: *ilx = 0
    with k.call("swap_cluster_readahead"):
        entry_offset = offset = entry.offset
        si = k.swap_info_of(entry.type)
        splug: SwapPlug = [None]
        mask = swapin_nr_pages(k, offset) - 1
        if mask:  # CR-1 when mask == 0: goto skip
            start_offset = offset & ~mask  # CR-2
            end_offset = offset | mask
            if not start_offset:  # First page is swap header.
                start_offset += 1
            if end_offset >= si.max:
                end_offset = si.max - 1
            plug = blk_start_plug(k)
            for offset in range(start_offset, end_offset + 1):
                _readahead_one(k, SwapEntry(entry.type, offset), splug, offset == entry_offset)
            blk_finish_plug(k, plug)
            swap_read_unplug(k, splug[0])
        folio = _read_target(k, entry)  # CR-4
    k.trace("swap_cluster_readahead_ret", folio=folio.addr if folio else 0)
    return folio


def swap_vma_ra_win(k: Kernel, vmf: VMFault) -> tuple[int, int, int]:
    """The VMA readahead window: (win, start, end) (mm/swap_state.c:745-781)."""
    vma = vmf.vma
    max_win = 1 << min(k.page_cluster, SWAP_RA_ORDER_CEILING)
    if max_win == 1:
        return 1, 0, 0
    faddr = vmf.address
    prev_faddr, prev_win, hits = vma.ra_addr, vma.ra_win, vma.ra_hits
    win = __swapin_nr_pages(prev_faddr >> PAGE_SHIFT, faddr >> PAGE_SHIFT, hits, max_win,
                            prev_win)
    vma.ra_addr, vma.ra_win, vma.ra_hits = faddr, win, 0  # SWAP_RA_VAL(faddr, win, 0)
    if win == 1:
        return 1, 0, 0
    if faddr == prev_faddr + PAGE_SIZE:
        left = faddr
    elif prev_faddr == faddr + PAGE_SIZE:
        left = faddr - (win << PAGE_SHIFT) + PAGE_SIZE
    else:
        left = faddr - (((win - 1) // 2) << PAGE_SHIFT)
    right = left + (win << PAGE_SHIFT)
    left = max(left, 0)
    pmd = faddr & ~((1 << PMD_SHIFT) - 1)
    start = max(left, vma.vm_start, pmd)
    end = min(right, vma.vm_end, pmd + (1 << PMD_SHIFT))
    return win, start, end


def swap_vma_readahead(k: Kernel, targ_entry: SwapEntry, vmf: VMFault) -> Folio | None:
    """Read swap PTEs around the faulting address, then the target (CR-5).

    Linux 6.12.118 mm/swap_state.c:799-858.
    """
    from kmodel.v6_12.mm.page_io import swap_read_unplug

    vma = vmf.vma
    win, start, end = swap_vma_ra_win(k, vmf)
    if win != 1:
        splug: SwapPlug = [None]
        plug = blk_start_plug(k)
        ilx = -((vmf.address - start) >> PAGE_SHIFT)  # targ_ilx (0) - PFN_DOWN(...)
        for addr in range(start, end, PAGE_SIZE):
            pte = vma.vm_mm.ptes.get(addr)
            if not isinstance(pte, int):  # !is_swap_pte
                continue
            _readahead_one(k, SwapEntry.from_pte(pte), splug, addr == vmf.address,
                           ilx + ((addr - start) >> PAGE_SHIFT))
        blk_finish_plug(k, plug)
        swap_read_unplug(k, splug[0])
    return _read_target(k, targ_entry)


def swapin_readahead(k: Kernel, entry: SwapEntry, vmf: VMFault) -> Folio | None:
    """VMA or cluster readahead, by configuration (CR-5). swap_state.c:872-886."""
    k.trace("swapin_readahead", entry=entry.val, gfp=GFP_HIGHUSER_MOVABLE, vmf=vmf.addr)
    with k.call("swapin_readahead"):
        if swap_use_vma_readahead(k):  # CR-5
            folio = swap_vma_readahead(k, entry, vmf)
        else:
            folio = swap_cluster_readahead(k, entry)
    k.trace("swapin_readahead_ret", folio=folio.addr if folio else 0)
    return folio
