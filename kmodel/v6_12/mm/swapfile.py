"""6.12's swap-map helpers that take a number of pages (mTHP), on the shared swap map.

Linux 6.12.118 mm/swapfile.c; mm/swap.h's inlines ``swap_dev_pos`` (38-41) and
``swap_zeromap_batch`` (89-107) fold in here. The slot allocator,
counts and extents are 6.1's (:mod:`kmodel.mm.swapfile`): these functions keep 6.12's
names and ``nr`` arguments and apply the per-slot 6.1 operation to each of the ``nr``
slots, after 6.12's all-or-nothing check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.include.linux.mm_types import PAGE_SHIFT, SwapEntry
from kmodel.include.linux.swap import SWAP_HAS_CACHE
from kmodel.mm import swapfile as swapfile_61
from kmodel.mm.swapfile import EEXIST, ENOENT

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.swap import SwapInfo
    from kmodel.kernel import Kernel


def swap_dev_pos(entry: SwapEntry) -> int:
    """The byte position of a slot in the swap file (mm/swap.h:38-41)."""
    return entry.offset << PAGE_SHIFT


def swap_folio_sector(k: Kernel, folio: Folio) -> int:
    """The disk sector of the folio's slot through the swap extents.

    Linux 6.12.118 mm/swapfile.c:328-339 (6.1's swap_page_sector, renamed).
    """
    return swapfile_61.swap_page_sector(k, folio)


def swapcache_prepare(k: Kernel, entry: SwapEntry, nr: int) -> int:
    """Claim ``nr`` slots for the swap cache, all or none: -EEXIST, -ENOENT or 0.

    Linux 6.12.118 mm/swapfile.c:3770-3773 and 3660-3729 (__swap_duplicate with
    SWAP_HAS_CACHE): every slot is checked before any is changed.
    """
    sis = k.swap_info_of(entry.type)
    for i in range(nr):
        count = sis.swap_map[entry.offset + i]
        has_cache = count & SWAP_HAS_CACHE
        if not count & ~SWAP_HAS_CACHE and not has_cache:
            return -ENOENT
        if has_cache:
            return -EEXIST
    for i in range(nr):
        sis.swap_map[entry.offset + i] |= SWAP_HAS_CACHE
    return 0


def swapcache_clear(k: Kernel, si: SwapInfo, entry: SwapEntry, nr: int) -> None:
    """Drop SWAP_HAS_CACHE of ``nr`` slots (mm/swapfile.c:3775-3780)."""
    for i in range(nr):
        swapfile_61.swapcache_clear(k, si, SwapEntry(entry.type, entry.offset + i))


def swap_free_nr(k: Kernel, entry: SwapEntry, nr_pages: int) -> None:
    """Drop one map reference of each of ``nr_pages`` slots (mm/swapfile.c:1631-1646)."""
    for i in range(nr_pages):
        swapfile_61.swap_free(k, SwapEntry(entry.type, entry.offset + i))


def swap_zeromap_batch(k: Kernel, entry: SwapEntry, max_nr: int) -> tuple[int, bool]:
    """How many slots from ``entry`` share its zeromap bit, and that bit.

    Linux 6.12.118 mm/swap.h:89-107 (``*is_zeromap`` is the second value).
    """
    first_bit = (entry.type, entry.offset) in k.zeromap
    if max_nr <= 1:
        return max_nr, first_bit
    nr = 1
    while nr < max_nr and ((entry.type, entry.offset + nr) in k.zeromap) == first_bit:
        nr += 1
    return nr, first_bit
