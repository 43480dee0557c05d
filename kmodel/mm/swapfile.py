"""Swap areas: extents, sectors, slot counts, allocation, ``folio_free_swap``, swapon.

Linux 6.1.176 mm/swapfile.c. The slot allocator is simplified (lowest free slot from a
rotating hint, no clusters, no per-CPU slot cache); counts and SWAP_HAS_CACHE follow
``__swap_duplicate``/``__swap_entry_free_locked`` exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.errors import KernelBug, KmodelError
from kmodel.include.linux.mm_types import PAGE_SHIFT, SwapEntry
from kmodel.include.linux.page_flags import PageFlags, PageLocked, PageSwapCache, PageWriteback
from kmodel.include.linux.swap import (
    SWAP_HAS_CACHE,
    SWAP_MAP_BAD,
    SWAP_MAP_MAX,
    SwapExtent,
    SwapInfo,
    SwpFlags,
)

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.swap import SwapFile
    from kmodel.kernel import Kernel

EEXIST = 17
EINVAL = 22
ENOENT = 2
ENOMEM = 12
#: shmem's count (include/linux/swap.h:228); no shmem is modelled.
SWAP_MAP_SHMEM = 0xBF


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


def __swap_duplicate(k: Kernel, entry: SwapEntry, usage: int) -> int:
    """Take a reference of ``usage`` (1, SWAP_HAS_CACHE, SWAP_MAP_SHMEM) on a slot.

    Linux 6.1.176 mm/swapfile.c:3293-3349. No count continuation pages are modelled
    (add_swap_count_continuation): a count at SWAP_MAP_MAX gives -ENOMEM.
    """
    k.trace("__swap_duplicate", entry=entry.val, usage=usage)
    p = k.swap_info_of(entry.type)  # get_swap_device
    offset = entry.offset
    count = p.swap_map[offset]
    if count & ~SWAP_HAS_CACHE == SWAP_MAP_BAD:  # swap_count(count) == SWAP_MAP_BAD
        k.trace("__swap_duplicate_ret", ret=-ENOENT)
        return -ENOENT
    has_cache = count & SWAP_HAS_CACHE
    count &= ~SWAP_HAS_CACHE
    err = 0
    if usage == SWAP_HAS_CACHE:
        if not has_cache and count:  # set SWAP_HAS_CACHE if there is no cache and entry is used
            has_cache = SWAP_HAS_CACHE
        elif has_cache:  # someone else added cache
            err = -EEXIST
        else:  # no users remaining
            err = -ENOENT
    elif count or has_cache:
        if count < SWAP_MAP_MAX:
            count += usage
        elif count > SWAP_MAP_MAX:
            err = -EINVAL
        else:  # swap_count_continued: no continuation page in the model
            err = -ENOMEM
    else:
        err = -ENOENT  # unused swap entry
    p.swap_map[offset] = count | has_cache  # WRITE_ONCE
    k.trace("__swap_duplicate_ret", ret=err)
    return err


def swapcache_prepare(k: Kernel, entry: SwapEntry) -> int:
    """Claim the slot for the swap cache: ``__swap_duplicate(entry, SWAP_HAS_CACHE)``.

    Linux 6.1.176 mm/swapfile.c:3388-3391: -EEXIST if another task holds it, -ENOENT if
    the slot is free.
    """
    with k.call("swapcache_prepare"):  # inlined in 6.1's build: a return lands in its caller
        return __swap_duplicate(k, entry, SWAP_HAS_CACHE)


def __swap_entry_free_locked(k: Kernel, p: SwapInfo, offset: int, usage: int) -> int:
    """Drop ``usage`` (1 or SWAP_HAS_CACHE) of a slot; return what is left.

    Linux 6.1.176 mm/swapfile.c:1184-1222. A slot left unused keeps SWAP_HAS_CACHE in
    swap_map until ``free_swap_slot`` gives it back (the caller calls it on a 0 return).
    """
    k.trace("__swap_entry_free_locked", type=p.type, offset=offset, usage=usage)
    count = p.swap_map[offset]
    has_cache = count & SWAP_HAS_CACHE
    count &= ~SWAP_HAS_CACHE
    if usage == SWAP_HAS_CACHE:
        has_cache = 0  # VM_BUG_ON(!has_cache): CONFIG_DEBUG_VM is off in Debian's build
    elif count == SWAP_MAP_SHMEM:
        count = 0
    elif count <= SWAP_MAP_MAX:  # no COUNT_CONTINUED in the model
        count -= 1
    usage = count | has_cache
    if usage:
        p.swap_map[offset] = usage
    else:
        p.swap_map[offset] = SWAP_HAS_CACHE
    k.trace("__swap_entry_free_locked_ret", ret=usage)
    return usage


def swap_entry_free(p: SwapInfo, entry: SwapEntry) -> None:
    """Give an unused slot back to the allocator (mm/swapfile.c:1315-1330)."""
    offset = entry.offset
    count = p.swap_map[offset]
    if count != SWAP_HAS_CACHE:  # VM_BUG_ON(count != SWAP_HAS_CACHE)
        raise KernelBug(f"swap_entry_free of {entry} with swap_map {count:#x}")
    p.swap_map[offset] = 0
    swap_range_free(p, offset, 1)


def swap_range_free(si: SwapInfo, offset: int, nr_entries: int) -> None:
    """The allocator's accounting of freed slots (mm/swapfile.c:723-751, inuse_pages)."""
    si.inuse_pages -= nr_entries


def swapcache_free_entries(k: Kernel, entries: list[SwapEntry]) -> None:
    """Free slots the swap-slots cache returns (mm/swapfile.c:1419-1443)."""
    for entry in entries:
        swap_entry_free(k.swap_info_of(entry.type), entry)


def free_swap_slot(k: Kernel, entry: SwapEntry) -> None:
    """Return an unused slot (mm/swap_slots.c:272-300).

    The kernel batches it in the CPU's return cache (swap_slots_cache, up to
    SWAP_SLOTS_CACHE_SIZE 64 slots, its swap_map kept at SWAP_HAS_CACHE) and frees the batch
    with swapcache_free_entries when the cache is full or being drained; the model frees it
    at once, as the kernel does when the slots cache is inactive (swap_slots.c:297-298).
    """
    swapcache_free_entries(k, [entry])


def __swap_entry_free(k: Kernel, p: SwapInfo, entry: SwapEntry) -> int:
    """Drop one map reference; free the slot if unused (mm/swapfile.c:1299-1313)."""
    with k.call("__swap_entry_free"):
        usage = __swap_entry_free_locked(k, p, entry.offset, 1)
        if not usage:
            free_swap_slot(k, entry)
    return usage


def swapcache_clear(k: Kernel, sis: SwapInfo, entry: SwapEntry) -> None:
    """Drop SWAP_HAS_CACHE taken by ``swapcache_prepare`` (mm/swapfile.c:3393-3405)."""
    with k.call("swapcache_clear"):
        usage = __swap_entry_free_locked(k, sis, entry.offset, SWAP_HAS_CACHE)
        if not usage:
            free_swap_slot(k, entry)


def put_swap_folio(k: Kernel, folio: Folio, entry: SwapEntry) -> None:
    """The swap cache gives up the slot (mm/swapfile.c:1348-1390, order 0: 1383-1390)."""
    si = k.swap_info_of(entry.type)  # _swap_info_get
    with k.call("put_swap_folio"):
        if not __swap_entry_free_locked(k, si, entry.offset, SWAP_HAS_CACHE):
            free_swap_slot(k, entry)


def swap_free(k: Kernel, entry: SwapEntry) -> None:
    """Drop one map reference of a slot (mm/swapfile.c:1336-1346)."""
    p = k.swap_info_of(entry.type)
    if not p.swap_map[entry.offset] & ~SWAP_HAS_CACHE:
        raise KernelBug(f"swap_free of unused {entry}")  # "Unused swap offset entry"
    __swap_entry_free(k, p, entry)


def swap_duplicate(k: Kernel, entry: SwapEntry) -> int:
    """One more PTE refers to the slot (mm/swapfile.c:3371-3380; fork, unmap).

    No count continuations: add_swap_count_continuation is not modelled (-ENOMEM).
    """
    err = 0
    with k.call("swap_duplicate"):
        while not err and __swap_duplicate(k, entry, 1) == -ENOMEM:
            err = -ENOMEM  # add_swap_count_continuation(entry, GFP_ATOMIC) fails
    return err


def swap_range_alloc(si: SwapInfo, offset: int, nr_entries: int) -> None:
    """The allocator's accounting of allocated slots (mm/swapfile.c:694-709, inuse_pages)."""
    si.inuse_pages += nr_entries


def scan_swap_map_slot(si: SwapInfo, offset: int, usage: int) -> SwapEntry:
    """Take the free slot ``offset`` (the end of scan_swap_map_slots, swapfile.c:911-922)."""
    if si.swap_map[offset]:
        raise KernelBug(f"slot {offset} allocated with swap_map {si.swap_map[offset]:#x}")
    si.swap_map[offset] = usage  # WRITE_ONCE(si->swap_map[offset], usage)
    swap_range_alloc(si, offset, 1)
    return SwapEntry(si.type, offset)


def get_swap_page(k: Kernel, sis: SwapInfo) -> SwapEntry | None:
    """Allocate a free slot, SWAP_HAS_CACHE set (``scan_swap_map_slots``, mm/swapfile.c:800-1000).

    Simplified: the lowest free slot from a rotating hint, no clusters.
    """
    for i in range(sis.max - 1):
        offset = 1 + (sis.cluster_next - 1 + i) % (sis.max - 1)
        if sis.swap_map[offset] == 0:
            sis.cluster_next = offset + 1 if offset + 1 < sis.max else 1
            return scan_swap_map_slot(sis, offset, SWAP_HAS_CACHE)
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
