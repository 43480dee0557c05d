"""Swap areas: extents, sectors, slot counts, allocation, ``folio_free_swap``, swapon.

Linux 6.1.176 mm/swapfile.c. The slot allocator is simplified (lowest free slot from a
rotating hint, no clusters, no per-CPU slot cache); counts and SWAP_HAS_CACHE follow
``__swap_duplicate``/``__swap_entry_free`` exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.errors import KernelBug, KmodelError
from kmodel.include.linux.mm_types import PAGE_SHIFT, SwapEntry
from kmodel.include.linux.page_flags import PageFlags, PageLocked, PageSwapCache, PageWriteback
from kmodel.include.linux.swap import SWAP_HAS_CACHE, SwapExtent, SwapInfo, SwpFlags

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.swap import SwapFile
    from kmodel.kernel import Kernel

EEXIST = 17
ENOENT = 2
ENOMEM = 12


def add_swap_extent(sis: SwapInfo, start_page: int, nr_pages: int, start_block: int) -> int:
    """Append an extent, merging with the last when contiguous (swapfile.c:2198-2235).

    Returns 1 for a new extent, 0 for a merge.
    """
    if sis.extents:
        se = sis.extents[-1]
        if se.start_page + se.nr_pages != start_page:
            raise KernelBug("add_swap_extent out of order")  # BUG_ON
        if se.start_block + se.nr_pages == start_block:
            se.nr_pages += nr_pages
            return 0
    sis.extents.append(SwapExtent(start_page, nr_pages, start_block))
    return 1


def offset_to_swap_extent(sis: SwapInfo, offset: int) -> SwapExtent:
    """The extent holding slot ``offset`` (mm/swapfile.c:208-225)."""
    for se in sis.extents:
        if se.start_page <= offset < se.start_page + se.nr_pages:
            return se
    raise KernelBug(f"swap offset {offset} in no extent")  # BUG()


def swap_page_sector(k: Kernel, folio: Folio) -> int:
    """The first 512-byte sector of the folio's slot (SE-1). swapfile.c:228-239."""
    entry = folio.swap
    sis = k.swap_info_of(entry.type)
    se = offset_to_swap_extent(sis, entry.offset)
    sector = se.start_block + (entry.offset - se.start_page)  # SE-1
    return sector << (PAGE_SHIFT - 9)


def __swap_count(k: Kernel, entry: SwapEntry) -> int:
    """Map count without the cache bit (mm/swapfile.c:1447-1460)."""
    return k.swap_info_of(entry.type).swap_map[entry.offset] & ~SWAP_HAS_CACHE


__swp_swapcount = __swap_count  # no continuation pages (counts stay below SWAP_MAP_MAX)


def swapcache_prepare(k: Kernel, entry: SwapEntry) -> int:
    """Claim the slot for the swap cache: ``__swap_duplicate(entry, SWAP_HAS_CACHE)``.

    Linux 6.1.176 mm/swapfile.c:3293-3391: -EEXIST if another task holds it, -ENOENT if
    the slot is free.
    """
    sis = k.swap_info_of(entry.type)
    count = sis.swap_map[entry.offset]
    has_cache = count & SWAP_HAS_CACHE
    count &= ~SWAP_HAS_CACHE
    if has_cache:
        return -EEXIST
    if not count:
        return -ENOENT
    sis.swap_map[entry.offset] = count | SWAP_HAS_CACHE
    return 0


def _free_slot_if_unused(sis: SwapInfo, offset: int) -> None:
    if sis.swap_map[offset] == 0:
        sis.inuse_pages -= 1  # swap_entry_free: the slot goes back to the allocator


def swapcache_clear(k: Kernel, sis: SwapInfo, entry: SwapEntry) -> None:
    """Drop SWAP_HAS_CACHE taken by ``swapcache_prepare`` (mm/swapfile.c:3393-3405)."""
    sis.swap_map[entry.offset] &= ~SWAP_HAS_CACHE
    _free_slot_if_unused(sis, entry.offset)


def put_swap_folio(k: Kernel, folio: Folio, entry: SwapEntry) -> None:
    """The swap cache gives up the slot (mm/swapfile.c:1348-1390, order 0)."""
    swapcache_clear(k, k.swap_info_of(entry.type), entry)


def swap_free(k: Kernel, entry: SwapEntry) -> None:
    """Drop one map reference of a slot (mm/swapfile.c:1336-1346)."""
    sis = k.swap_info_of(entry.type)
    if not sis.swap_map[entry.offset] & ~SWAP_HAS_CACHE:
        raise KernelBug(f"swap_free of unused {entry}")  # "Unused swap offset entry"
    sis.swap_map[entry.offset] -= 1
    _free_slot_if_unused(sis, entry.offset)


def swap_duplicate(k: Kernel, entry: SwapEntry) -> None:
    """One more PTE refers to the slot (mm/swapfile.c:3371-3380; fork, unmap)."""
    k.swap_info_of(entry.type).swap_map[entry.offset] += 1


def get_swap_page(k: Kernel, sis: SwapInfo) -> SwapEntry | None:
    """Allocate a free slot, SWAP_HAS_CACHE set (``scan_swap_map_slots``, mm/swapfile.c:800-1000).

    Simplified: the lowest free slot from a rotating hint, no clusters.
    """
    for i in range(sis.max - 1):
        offset = 1 + (sis.cluster_next - 1 + i) % (sis.max - 1)
        if sis.swap_map[offset] == 0:
            sis.swap_map[offset] = SWAP_HAS_CACHE
            sis.inuse_pages += 1
            sis.cluster_next = offset + 1 if offset + 1 < sis.max else 1
            return SwapEntry(sis.type, offset)
    return None


def folio_swapped(k: Kernel, folio: Folio) -> bool:
    """Whether any PTE still refers to the folio's slot (mm/swapfile.c:1569-1580)."""
    return __swap_count(k, folio.swap) != 0


def folio_free_swap(k: Kernel, folio: Folio) -> bool:
    """Free the swap slot of an unmapped, clean-able swap cache folio.

    Linux 6.1.176 mm/swapfile.c:1592-1625: true when it removed the folio from the swap
    cache (and re-dirtied it), false when the folio must keep its slot.
    """
    from kmodel.mm.swap_state import delete_from_swap_cache

    if not PageLocked(folio):
        raise KernelBug(f"folio_free_swap on unlocked {folio!r}")
    if not PageSwapCache(folio):
        return False
    if PageWriteback(folio):
        return False
    if folio_swapped(k, folio):
        return False
    delete_from_swap_cache(k, folio)
    folio.flags |= PageFlags.PG_dirty  # folio_set_dirty
    return True


def swapon(
    k: Kernel,
    bdev: BlockDevice,
    *,
    nr_pages: int | None = None,
    swap_file: SwapFile | None = None,
    extents: list[tuple[int, int, int]] | None = None,
    solidstate: bool | None = None,
    synchronous: bool | None = None,
) -> SwapInfo:
    """Enable a swap area (mm/swapfile.c:2995-3260, sys_swapon), reduced to what I/O needs.

    A block device gets one extent from slot 0 at sector 0 (setup_swap_extents,
    swapfile.c:2272-2276); a swap file passes its extents (see generic_swapfile_activate).
    SWP_SYNCHRONOUS_IO comes from the driver (brd, zram: ``bdev.rw_page``), SWP_SOLIDSTATE
    from the queue's rotational flag; rotational areas bump ``nr_rotate_swap``.
    """
    if nr_pages is None:
        nr_pages = bdev.nr_sectors >> (PAGE_SHIFT - 9)
    if nr_pages < 2:
        raise KmodelError(f"swap area of {nr_pages} pages: need the header page and one slot")
    flags = SwpFlags.SWP_USED | SwpFlags.SWP_WRITEOK
    if swap_file is not None:
        flags |= SwpFlags.SWP_FS_OPS | SwpFlags.SWP_ACTIVATED
    else:
        flags |= SwpFlags.SWP_BLKDEV
    if solidstate if solidstate is not None else not bdev.rotational:
        flags |= SwpFlags.SWP_SOLIDSTATE
    if synchronous if synchronous is not None else bdev.rw_page:
        flags |= SwpFlags.SWP_SYNCHRONOUS_IO
    sis = SwapInfo(
        type=len(k.swap_info), flags=flags, bdev=bdev, max=nr_pages,
        swap_map=[0] * nr_pages, swap_file=swap_file,
    )
    if extents is None:
        add_swap_extent(sis, 0, sis.max, 0)
    else:
        for start_page, n, start_block in extents:
            add_swap_extent(sis, start_page, n, start_block)
    if not flags & SwpFlags.SWP_SOLIDSTATE:
        k.nr_rotate_swap += 1
    k.swap_info.append(sis)
    return sis
