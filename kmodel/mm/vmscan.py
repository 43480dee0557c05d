"""Reclaim of anonymous pages: unmap to swap PTEs, ``pageout``, free clean pages.

Linux 6.1.176 mm/vmscan.c:1237-1300 (pageout), 1640-2050 (shrink_folio_list), reduced to
one anonymous folio at a time: no LRU lists, no memcg, no THP split.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from kmodel.errors import KernelBug
from kmodel.include.linux.page_flags import PageFlags, PageSwapCache, PageWriteback, SetPageReclaim
from kmodel.include.linux.writeback import WbSyncMode, WritebackControl
from kmodel.mm.filemap import folio_trylock, folio_unlock
from kmodel.mm.page_io import swap_writepage
from kmodel.mm.page_writeback import folio_clear_dirty_for_io
from kmodel.mm.swap_state import add_to_swap, delete_from_swap_cache
from kmodel.mm.swapfile import swap_duplicate

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel
    from kmodel.mm.page_io import SwapPlug

#: kswapd's call chain down to shrink_folio_list (as in the seed's gdb backtraces).
KSWAPD_CHAIN = ("kswapd", "balance_pgdat", "shrink_node", "shrink_node_memcgs",
                "shrink_lruvec", "shrink_list", "shrink_inactive_list", "shrink_folio_list")
#: Direct reclaim from a charging task hitting memory.max.
DIRECT_RECLAIM_CHAIN = ("try_charge_memcg", "try_to_free_mem_cgroup_pages",
                        "do_try_to_free_pages", "shrink_node", "shrink_node_memcgs",
                        "shrink_lruvec", "shrink_list", "shrink_inactive_list",
                        "shrink_folio_list")

class PageoutT(enum.Enum):
    """``pageout_t`` (vmscan.c:1225-1234)."""

    PAGE_KEEP = "keep"
    PAGE_ACTIVATE = "activate"
    PAGE_SUCCESS = "success"
    PAGE_CLEAN = "clean"


class ReclaimResult(enum.Enum):
    """What ``shrink_folio_list`` did with one folio."""

    FREED = "freed"
    WRITEBACK_STARTED = "writeback"
    KEPT = "kept"


def pageout(k: Kernel, folio: Folio, plug: SwapPlug | None) -> PageoutT:
    """Write a dirty locked folio through ``swap_writepage`` (PO-1). vmscan.c:1237-1300.

    ``swap_writepage`` never returns AOP_WRITEPAGE_ACTIVATE, so PAGE_ACTIVATE is not
    reachable here; its errors (SW-2) are handled by the caller keeping the folio dirty.
    """
    with k.call("pageout"):
        if folio_clear_dirty_for_io(k, folio):
            wbc = WritebackControl(sync_mode=WbSyncMode.WB_SYNC_NONE, for_reclaim=True,
                                   swap_plug=plug)
            SetPageReclaim(folio)
            swap_writepage(k, folio, wbc)  # PO-1
            if not PageWriteback(folio):
                folio.flags &= ~PageFlags.PG_reclaim  # synchronously written (or not at all)
            k.trace("mm_vmscan_write_folio", page=folio.addr, pfn=folio.pfn,
                    flags="RECLAIM_WB_ANON|RECLAIM_WB_ASYNC")
            return PageoutT.PAGE_SUCCESS
        return PageoutT.PAGE_CLEAN


def try_to_unmap(k: Kernel, folio: Folio) -> None:
    """Replace every PTE of the folio with its swap PTE (mm/rmap.c:1450-1800, try_to_unmap_one)."""
    entry = folio.swap
    for mm, addr in folio.rmap:
        swap_duplicate(k, entry)  # swap_duplicate(entry) per unmapped PTE
        mm.ptes[addr] = entry.to_pte(exclusive=len(folio.rmap) == 1)
        mm.writable.discard(addr)
        folio.refcount -= 1
    folio.rmap.clear()
    folio.mapcount = 0


def shrink_folio(k: Kernel, folio: Folio, plug: SwapPlug | None = None) -> ReclaimResult:
    """One pass of ``shrink_folio_list`` over one anonymous folio (mm/vmscan.c:1640-2050).

    Adds it to swap, unmaps it, writes it out if dirty, and frees it once clean and off
    writeback (a later pass for an asynchronous write). Reclaim holds its own reference
    (isolate_lru_folios) for the pass; a freed folio ends with no reference at all.
    """
    folio.refcount += 1  # isolated from the LRU: folio_isolate_lru clears PG_lru
    folio.flags &= ~PageFlags.PG_lru
    result = _shrink_folio(k, folio, plug)
    folio.refcount -= 1  # putback_lru_page, or the final folio_put of a freed folio
    if result != ReclaimResult.FREED:
        folio.flags |= PageFlags.PG_lru
    if result == ReclaimResult.FREED:
        if folio.refcount:
            raise KernelBug(f"freed folio still referenced: {folio!r}")
        folio.freed = True
    return result


def _shrink_folio(k: Kernel, folio: Folio, plug: SwapPlug | None) -> ReclaimResult:
    if not folio_trylock(folio):
        return ReclaimResult.KEPT
    if PageWriteback(folio):  # under writeback: come back later
        folio_unlock(k, folio)
        return ReclaimResult.KEPT
    if not PageSwapCache(folio) and not add_to_swap(k, folio):
        folio_unlock(k, folio)
        return ReclaimResult.KEPT
    if folio.rmap:
        try_to_unmap(k, folio)
    if folio.flags & PageFlags.PG_dirty:
        pageout(k, folio, plug)  # PAGE_SUCCESS: the folio comes back unlocked
        if PageWriteback(folio):
            return ReclaimResult.WRITEBACK_STARTED
        if not folio_trylock(folio):  # written synchronously: try to free it at once
            return ReclaimResult.KEPT
    if (PageWriteback(folio) or folio.flags & PageFlags.PG_dirty or folio.mapcount
            or not PageSwapCache(folio)):
        folio_unlock(k, folio)  # failed or skipped write, or SW-1 dropped the slot
        return ReclaimResult.KEPT
    # __remove_mapping (vmscan.c:1290-1360): only if nobody else holds a reference —
    # folio_ref_freeze(folio, 1 + nr) expects just ours and the swap cache's.
    if folio.refcount != 2:
        folio_unlock(k, folio)
        return ReclaimResult.KEPT
    delete_from_swap_cache(k, folio)
    folio_unlock(k, folio)
    return ReclaimResult.FREED
