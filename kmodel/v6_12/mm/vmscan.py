"""Reclaim of anonymous folios in Linux 6.12: ``pageout`` through 6.12's ``swap_writepage``.

Linux 6.12.118 mm/vmscan.c:638-702 (pageout), 1049-1500 (shrink_folio_list), reduced to
one anonymous folio at a time as for 6.1 (:mod:`kmodel.mm.vmscan`, whose unmapping,
results and call chains this module reuses). ``swap_aops.writepage`` is 6.12's
``swap_writepage``; a write that returned AOP_WRITEPAGE_ACTIVATE would keep the folio
(PAGE_ACTIVATE), but that needs memcg's zswap writeback switch, which is not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.errors import KernelBug
from kmodel.include.linux.page_flags import PageFlags, PageSwapCache, PageWriteback, SetPageReclaim
from kmodel.include.linux.writeback import WbSyncMode, WritebackControl
from kmodel.mm.filemap import folio_trylock, folio_unlock
from kmodel.mm.page_writeback import folio_clear_dirty_for_io
from kmodel.mm.swap_state import add_to_swap, delete_from_swap_cache
from kmodel.mm.vmscan import PageoutT, ReclaimResult, try_to_unmap
from kmodel.v6_12.mm.page_io import swap_writepage

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel
    from kmodel.mm.page_io import SwapPlug


def pageout(k: Kernel, folio: Folio, plug: SwapPlug | None) -> PageoutT:
    """Write a dirty locked folio through 6.12's ``swap_writepage`` (PO-1).

    Linux 6.12.118 mm/vmscan.c:638-702.
    """
    with k.call("pageout"):
        if folio_clear_dirty_for_io(k, folio):
            wbc = WritebackControl(sync_mode=WbSyncMode.WB_SYNC_NONE, for_reclaim=True,
                                   swap_plug=plug)
            SetPageReclaim(folio)  # folio_set_reclaim
            swap_writepage(k, folio, wbc)  # PO-1: mapping->a_ops->writepage
            if not PageWriteback(folio):
                folio.flags &= ~PageFlags.PG_reclaim  # synchronous write (or none at all)
            k.trace("mm_vmscan_write_folio", page=folio.addr, pfn=folio.pfn,
                    flags="RECLAIM_WB_ANON|RECLAIM_WB_ASYNC")
            return PageoutT.PAGE_SUCCESS
        return PageoutT.PAGE_CLEAN


def shrink_folio(k: Kernel, folio: Folio, plug: SwapPlug | None = None) -> ReclaimResult:
    """One pass of 6.12's ``shrink_folio_list`` over one anonymous folio.

    Linux 6.12.118 mm/vmscan.c:1049-1500, reduced exactly as 6.1's
    :func:`kmodel.mm.vmscan.shrink_folio`: add to swap, unmap, write out if dirty, free
    once clean and off writeback (a later pass after an asynchronous write).
    """
    folio.refcount += 1  # isolated from the LRU: folio_isolate_lru clears PG_lru
    folio.flags &= ~PageFlags.PG_lru
    result = _shrink_folio(k, folio, plug)
    folio.refcount -= 1  # putback, or the final folio_put of a freed folio
    if result != ReclaimResult.FREED:
        folio.flags |= PageFlags.PG_lru
    else:
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
        if not folio_trylock(folio):  # written synchronously (or zeromap, zswap): free now
            return ReclaimResult.KEPT
    if (PageWriteback(folio) or folio.flags & PageFlags.PG_dirty or folio.mapcount
            or not PageSwapCache(folio)):
        folio_unlock(k, folio)  # failed or skipped write, or SW-1 dropped the slot
        return ReclaimResult.KEPT
    # __remove_mapping: only if nobody else holds a reference (folio_ref_freeze(1 + nr)).
    if folio.refcount != 2:
        folio_unlock(k, folio)
        return ReclaimResult.KEPT
    delete_from_swap_cache(k, folio)
    folio_unlock(k, folio)
    return ReclaimResult.FREED
