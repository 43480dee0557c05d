"""Page faults on swapped-out memory in Linux 6.12: ``do_swap_page`` and its callers.

Linux 6.12.118 mm/memory.c:3931-3948 (should_try_to_free_swap), 4017-4198
(alloc_swap_folio), 4210-4649 (do_swap_page), 5765-5841 (handle_pte_fault).

mTHP swap-in is modelled only partly, and why: 6.12 can swap in a large folio on the
SWP_SYNCHRONOUS_IO path (``alloc_swap_folio`` tries the orders enabled in
``/sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/enabled``, then
``swapcache_prepare(entry, nr)`` and one multi-page read). Debian 13 boots with every
non-PMD anon order off (mm/huge_memory.c: ``huge_anon_orders_inherit`` holds only the PMD
order, which ``alloc_swap_folio`` excludes) and zswap, once enabled, forces order 0: so the
order is always 0 there, and the model, which has no per-size sysfs knob and no large
folios in the swap cache, follows exactly that case. The order-0 path is complete; the
large-folio branches (``folio_test_large`` at 4298, 4427-4442, 4448-4473) are written down
as comments at their place and not executed. Not modelled either, as for 6.1:
migration/device/hwpoison/marker entries, KSM, uffd, soft-dirty, memcg charging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.include.linux.mm import VM_FAULT_ERROR, FaultFlag, VMFault, VmFault
from kmodel.include.linux.mm_types import Folio, SwapEntry, pte_swp_exclusive
from kmodel.include.linux.page_flags import PageFlags, PageSwapCache, PageUptodate
from kmodel.include.linux.swap import SwpFlags
from kmodel.mm.filemap import folio_lock_or_retry, folio_unlock
from kmodel.mm.memory import (
    VM_LOCKED,
    do_anonymous_page,
    do_wp_page,
    find_vma,
    pte_same,
)
from kmodel.mm.page_alloc import vma_alloc_folio
from kmodel.mm.swap_state import GFP_HIGHUSER_MOVABLE, swap_cache_get_folio
from kmodel.mm.swapfile import __swap_count, folio_free_swap
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.swap_state import swapin_readahead
from kmodel.v6_12.mm.swapfile import swap_free_nr, swapcache_clear, swapcache_prepare

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import VMArea
    from kmodel.include.linux.sched import Task
    from kmodel.include.linux.swap import SwapInfo
    from kmodel.kernel import Kernel


def should_try_to_free_swap(k: Kernel, folio: Folio, vma: VMArea, fault_flags: int) -> bool:
    """Free the slot now if swap is full-ish, the VMA locked, or a likely-exclusive write.

    Linux 6.12.118 mm/memory.c:3931-3948 (mem_cgroup_swap_full: half of swap in use).
    """
    if not PageSwapCache(folio):
        return False
    sis = k.swap_info_of(folio.swap.type)
    if sis.inuse_pages * 2 > sis.pages or vma.vm_flags & VM_LOCKED or (
        folio.flags & PageFlags.PG_mlocked
    ):
        return True
    return bool(fault_flags & FaultFlag.FAULT_FLAG_WRITE) and (
        folio.refcount == 1 + folio.nr_pages
    )


def alloc_swap_folio(k: Kernel, vmf: VMFault) -> Folio | None:
    """The folio a SWP_SYNCHRONOUS_IO fault reads into: order 0 here (AS-1).

    Linux 6.12.118 mm/memory.c:4116-4191, falling back to ``__alloc_swap_folio``
    (4017-4036). The large orders are tried only when zswap was never enabled *and* some
    ``hugepages-<size>kB`` order is enabled for anon memory; Debian 13 enables none, and
    the model has no such knob: ``thp_vma_allowable_orders`` is 0, ``goto fallback``.
    """
    # AS-1: zswap was enabled once (4140-4141), or no mTHP order is enabled for anon
    # memory (4148-4155: Debian 13's default; the model has no per-size knob): fallback.
    return vma_alloc_folio(k, GFP_HIGHUSER_MOVABLE)  # __alloc_swap_folio: order 0


def do_swap_page(k: Kernel, vmf: VMFault) -> int:
    """Bring a swapped-out page back and map it; return the VM_FAULT_* bits.

    Linux 6.12.118 mm/memory.c:4210-4649.
    """
    k.trace("do_swap_page", vmf=vmf.addr, address=vmf.address, fault_flags=vmf.flags,
            orig_pte=vmf.orig_pte)
    with k.call("do_swap_page"):
        ret = _do_swap_page(k, vmf)
    k.trace("do_swap_page_ret", ret=ret)
    return ret


def _do_swap_page(k: Kernel, vmf: VMFault) -> int:
    from kmodel.v6_12.mm.page_io import swap_read_folio

    vma = vmf.vma
    mm = vma.vm_mm
    need_clear_cache = False
    ret = 0
    nr_pages = 1
    if not pte_same(mm, vmf.address, vmf.orig_pte):  # pte_unmap_same: goto out
        return 0
    entry = SwapEntry.from_pte(vmf.orig_pte)
    si = k.swap_info_of(entry.type)  # get_swap_device
    folio = swap_cache_get_folio(k, entry, vma, vmf.address)
    swapcache = folio
    if folio is None:
        if si.flags & SwpFlags.SWP_SYNCHRONOUS_IO and __swap_count(k, entry) == 1:  # DS-1
            folio = alloc_swap_folio(k, vmf)  # skip swapcache
            if folio is not None:
                folio.flags |= PageFlags.PG_locked | PageFlags.PG_swapbacked
                nr_pages = folio.nr_pages  # 1: a large folio would align entry.val here
                if swapcache_prepare(k, entry, nr_pages):  # DS-9: relax, then refault
                    k.executor.sleep_tick(k, k.current)  # schedule_timeout_uninterruptible
                    return _out_page(k, folio, swapcache, need_clear_cache, si, entry,
                                     nr_pages, ret)
                need_clear_cache = True
                folio.flags |= PageFlags.PG_lru  # folio_add_lru
                folio.private = entry.val  # folio->swap = entry: to be found by the read
                swap_read_folio(k, folio, None)
                folio.private = 0  # folio->private = NULL
        else:  # DS-2
            folio = swapin_readahead(k, entry, vmf)
            swapcache = folio
        if folio is None:  # DS-3
            if pte_same(mm, vmf.address, vmf.orig_pte):
                ret = VmFault.VM_FAULT_OOM
            return _out(k, need_clear_cache, si, entry, nr_pages, ret)  # goto unlock
        ret = VmFault.VM_FAULT_MAJOR  # DS-4
        k.count_vm_event(VmEvent.PGMAJFAULT)

    # Python: folio_lock_or_retry returns a bool here; 6.12's returns 0 or VM_FAULT_RETRY.
    if not folio_lock_or_retry(k, folio, vmf.flags):  # DS-5
        ret |= VmFault.VM_FAULT_RETRY
        return _out_release(k, folio, swapcache, need_clear_cache, si, entry, nr_pages, ret)

    if swapcache is not None and (
        not PageSwapCache(folio) or folio.private != entry.val
    ):  # DS-6
        return _out_page(k, folio, swapcache, need_clear_cache, si, entry, nr_pages, ret)

    if not pte_same(mm, vmf.address, vmf.orig_pte):  # DS-10: goto out_nomap
        return _out_page(k, folio, swapcache, need_clear_cache, si, entry, nr_pages, ret)

    if not PageUptodate(folio):  # DS-7
        ret = VmFault.VM_FAULT_SIGBUS
        return _out_page(k, folio, swapcache, need_clear_cache, si, entry, nr_pages, ret)

    # A large folio not in the swap cache (4427-4442) or in it (4448-4473) would map
    # nr_pages PTEs from folio_start: unreachable with order-0 folios (see the module).
    # DS-8: check_folio
    exclusive = pte_swp_exclusive(vmf.orig_pte)
    if folio is not swapcache:
        exclusive = True  # a fresh folio, never in the swap cache
    elif exclusive and folio.flags & PageFlags.PG_writeback and (
        si.flags & SwpFlags.SWP_STABLE_WRITES
    ):
        exclusive = False
    swap_free_nr(k, entry, nr_pages)
    if should_try_to_free_swap(k, folio, vma, vmf.flags):
        folio_free_swap(k, folio)
    mm.ptes[vmf.address] = folio  # set_ptes(mk_pte(page))
    if exclusive or folio.refcount == 1:
        # (vma->vm_flags & VM_WRITE): every VMA of the model is a read-write anonymous
        # mapping (as do_anonymous_page assumes), so even a read fault maps it writable.
        mm.writable.add(vmf.address)  # pte_mkwrite (6.1 did this on write faults only)
        if vmf.flags & FaultFlag.FAULT_FLAG_WRITE:
            vmf.flags &= ~FaultFlag.FAULT_FLAG_WRITE  # pte_mkdirty
    folio.refcount += nr_pages - 1  # folio_ref_add
    folio.rmap.append((mm, vmf.address))  # folio_add_{new_anon_rmap,anon_rmap_ptes}
    folio.mapcount += 1
    folio_unlock(k, folio)
    if vmf.flags & FaultFlag.FAULT_FLAG_WRITE:
        ret |= _do_wp_page(k, vmf, folio)
        if ret & VM_FAULT_ERROR:
            ret &= VM_FAULT_ERROR
    return _out(k, need_clear_cache, si, entry, nr_pages, ret)


def _out(k: Kernel, need_clear_cache: bool, si: SwapInfo, entry: SwapEntry, nr_pages: int,
         ret: int) -> int:
    """``out`` (mm/memory.c:4620-4629): give back the slot claim of the cache bypass."""
    if need_clear_cache:
        swapcache_clear(k, si, entry, nr_pages)  # and wake swapcache_wq
    return ret


def _out_page(k: Kernel, folio: Folio, swapcache: Folio | None, need_clear_cache: bool,
              si: SwapInfo, entry: SwapEntry, nr_pages: int, ret: int) -> int:
    """``out_nomap``/``out_page`` (mm/memory.c:4630-4634): unlock, then release."""
    folio_unlock(k, folio)
    return _out_release(k, folio, swapcache, need_clear_cache, si, entry, nr_pages, ret)


def _out_release(k: Kernel, folio: Folio, swapcache: Folio | None, need_clear_cache: bool,
                 si: SwapInfo, entry: SwapEntry, nr_pages: int, ret: int) -> int:
    """``out_release`` (mm/memory.c:4635-4648): put the folio, drop the slot claim."""
    folio.refcount -= 1  # folio_put
    if not folio.refcount:
        folio.freed = True
    return _out(k, need_clear_cache, si, entry, nr_pages, ret)


def _do_wp_page(k: Kernel, vmf: VMFault, folio: Folio) -> int:
    """6.1's ``do_wp_page`` without VM_FAULT_WRITE, which 6.2 removed (not in 6.12)."""
    return do_wp_page(k, vmf, folio) & ~VmFault.VM_FAULT_WRITE


def handle_mm_fault(k: Kernel, task: Task, address: int, flags: int) -> int:
    """Dispatch a fault on a page-aligned address to 6.12's ``do_swap_page``.

    Linux 6.12.118 mm/memory.c:5765-5841 (handle_pte_fault) under handle_mm_fault
    (6080-6148); the anonymous and write-protect cases are 6.1's functions.
    """
    vma = find_vma(task, address)
    pte = vma.vm_mm.ptes.get(address)
    with k.call("handle_mm_fault"), k.call("__handle_mm_fault"), k.call("handle_pte_fault"):
        if pte is None:
            return do_anonymous_page(k, task, vma, address)
        if isinstance(pte, int):  # !pte_present
            vmf = VMFault(task, vma, address, flags | FaultFlag.FAULT_FLAG_ORIG_PTE_VALID, pte)
            return do_swap_page(k, vmf)
        if flags & FaultFlag.FAULT_FLAG_WRITE and address not in vma.vm_mm.writable:
            return _do_wp_page(k, VMFault(task, vma, address, flags, 0), pte)
        return 0
