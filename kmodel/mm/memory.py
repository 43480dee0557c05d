"""Page faults on swapped-out memory: ``do_swap_page`` and what leads to it.

Linux 6.1.176 mm/memory.c:3695-3712 (should_try_to_free_swap), 3775-4130
(do_swap_page), 4137-4250 (do_anonymous_page, reduced), 4973-5060 (handle_pte_fault).
Not modelled: migration/device/hwpoison/marker entries, KSM, THP, uffd, soft-dirty,
memcg charging (always succeeds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.errors import KmodelError
from kmodel.include.linux.mm import VM_FAULT_ERROR, FaultFlag, VMFault, VmFault
from kmodel.include.linux.mm_types import Folio, SwapEntry, pte_swp_exclusive
from kmodel.include.linux.page_flags import (
    PageFlags,
    PageSwapCache,
    PageUptodate,
)
from kmodel.include.linux.swap import SwpFlags
from kmodel.mm.filemap import folio_lock_or_retry, folio_trylock, folio_unlock
from kmodel.mm.page_alloc import vma_alloc_folio
from kmodel.mm.swap_state import GFP_HIGHUSER_MOVABLE, swap_cache_get_folio, swapin_readahead
from kmodel.mm.swapfile import (
    __swap_count,
    folio_free_swap,
    swap_free,
    swapcache_clear,
    swapcache_prepare,
)
from kmodel.mm.vmstat import VmEvent

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import MMStruct, VMArea
    from kmodel.include.linux.sched import Task
    from kmodel.include.linux.swap import SwapInfo
    from kmodel.kernel import Kernel

VM_LOCKED = 0x00002000


def pte_same(mm: MMStruct, addr: int, orig_pte: int) -> bool:
    """Whether the PTE still holds what the fault saw (``pte_same(*vmf->pte, orig_pte)``)."""
    return mm.ptes.get(addr) == orig_pte


def should_try_to_free_swap(k: Kernel, folio: Folio, vma: VMArea, fault_flags: int) -> bool:
    """Free the slot now if the swap area is full-ish or this is an exclusive write.

    Linux 6.1.176 mm/memory.c:3695-3712 (mem_cgroup_swap_full: half of swap in use).
    """
    if not PageSwapCache(folio):
        return False
    sis = k.swap_info_of(folio.swap.type)
    if sis.inuse_pages * 2 > sis.pages or vma.vm_flags & VM_LOCKED or (
        folio.flags & PageFlags.PG_mlocked
    ):
        return True
    return bool(fault_flags & FaultFlag.FAULT_FLAG_WRITE) and folio.refcount == 2


def do_swap_page(k: Kernel, vmf: VMFault) -> int:
    """Bring a swapped-out page back and map it; return the VM_FAULT_* bits.

    Linux 6.1.176 mm/memory.c:3775-4130.
    """
    k.trace("do_swap_page", vmf=vmf.addr, address=vmf.address, fault_flags=vmf.flags,
            orig_pte=vmf.orig_pte)
    with k.call("do_swap_page"):
        ret = _do_swap_page(k, vmf)
    k.trace("do_swap_page_ret", ret=ret)
    return ret


def _do_swap_page(k: Kernel, vmf: VMFault) -> int:
    from kmodel.mm.page_io import swap_readpage

    vma = vmf.vma
    mm = vma.vm_mm
    if not pte_same(mm, vmf.address, vmf.orig_pte):  # pte_unmap_same
        return 0
    entry = SwapEntry.from_pte(vmf.orig_pte)
    si = k.swap_info_of(entry.type)  # get_swap_device
    need_clear_cache = False
    ret = 0
    folio = swap_cache_get_folio(k, entry, vma, vmf.address)
    swapcache = folio
    if folio is None:
        if si.flags & SwpFlags.SWP_SYNCHRONOUS_IO and __swap_count(k, entry) == 1:  # DS-1
            if swapcache_prepare(k, entry):
                k.executor.sleep_tick(k, k.current)  # relax, then refault
                return ret
            need_clear_cache = True
            folio = vma_alloc_folio(k, GFP_HIGHUSER_MOVABLE)  # skip swapcache
            if folio is not None:
                folio.flags |= PageFlags.PG_locked | PageFlags.PG_swapbacked | PageFlags.PG_lru
                folio.private = entry.val  # folio_set_swap_entry: provide the entry
                swap_readpage(k, folio, True, None)
                folio.private = 0
        else:  # DS-2
            folio = swapin_readahead(k, entry, vmf)
            swapcache = folio
        if folio is None:  # DS-3
            if pte_same(mm, vmf.address, vmf.orig_pte):
                ret = VmFault.VM_FAULT_OOM
            if need_clear_cache:
                swapcache_clear(k, si, entry)
            return ret
        ret = VmFault.VM_FAULT_MAJOR  # DS-4
        k.count_vm_event(VmEvent.PGMAJFAULT)

    if not folio_lock_or_retry(k, folio, vmf.flags):  # DS-5
        ret |= VmFault.VM_FAULT_RETRY
        return _out_release(k, folio, swapcache, need_clear_cache, si, entry, ret)

    if swapcache is not None and (
        not PageSwapCache(folio) or folio.private != entry.val
    ):  # DS-6
        folio_unlock(k, folio)
        return _out_release(k, folio, swapcache, need_clear_cache, si, entry, ret)

    if not pte_same(mm, vmf.address, vmf.orig_pte):  # somebody else faulted it in
        folio_unlock(k, folio)
        return _out_release(k, folio, swapcache, need_clear_cache, si, entry, ret)

    if not PageUptodate(folio):  # DS-7
        ret = VmFault.VM_FAULT_SIGBUS
        folio_unlock(k, folio)
        return _out_release(k, folio, swapcache, need_clear_cache, si, entry, ret)

    # DS-8
    exclusive = pte_swp_exclusive(vmf.orig_pte)
    if folio is not swapcache:
        exclusive = True  # a fresh page, never in the swap cache
    elif exclusive and folio.flags & PageFlags.PG_writeback and (
        si.flags & SwpFlags.SWP_STABLE_WRITES
    ):
        exclusive = False
    swap_free(k, entry)
    if should_try_to_free_swap(k, folio, vma, vmf.flags):
        folio_free_swap(k, folio)
    mm.ptes[vmf.address] = folio  # set_pte_at(mk_pte(page))
    folio.rmap.append((mm, vmf.address))  # page_add_anon_rmap
    folio.mapcount += 1
    if exclusive or folio.refcount == 1:
        if vmf.flags & FaultFlag.FAULT_FLAG_WRITE:
            mm.writable.add(vmf.address)  # maybe_mkwrite(pte_mkdirty(pte))
            vmf.flags &= ~FaultFlag.FAULT_FLAG_WRITE
            ret |= VmFault.VM_FAULT_WRITE
    folio_unlock(k, folio)
    if vmf.flags & FaultFlag.FAULT_FLAG_WRITE:
        ret |= do_wp_page(k, vmf, folio)
        if ret & VM_FAULT_ERROR:
            ret &= VM_FAULT_ERROR
    if need_clear_cache:
        swapcache_clear(k, si, entry)
    return ret


def _out_release(k: Kernel, folio: Folio, swapcache: Folio | None, need_clear_cache: bool,
                 si: SwapInfo, entry: SwapEntry, ret: int) -> int:
    """The ``folio_put`` at ``out_release:`` (mm/memory.c:4119-4129), and the cache claim."""
    folio.refcount -= 1  # folio_put
    if need_clear_cache:
        swapcache_clear(k, si, entry)
    return ret


def do_wp_page(k: Kernel, vmf: VMFault, folio: Folio) -> int:
    """A write to a present, write-protected anonymous page: reuse it or copy it.

    Linux 6.1.176 mm/memory.c:3403-3500 (anonymous folios, no KSM): reuse when this
    mapping is the only user once a stale swap cache entry is dropped, else wp_page_copy.
    """
    mm = vmf.vma.vm_mm
    if folio.mapcount == 1 and folio.refcount <= 1 + PageSwapCache(folio) and (
        folio_trylock(folio)
    ):
        if PageSwapCache(folio):
            folio_free_swap(k, folio)
        reuse = folio.refcount == 1
        folio_unlock(k, folio)
        if reuse:
            mm.writable.add(vmf.address)  # wp_page_reuse
            return VmFault.VM_FAULT_WRITE
    new = Folio(flags=PageFlags.PG_uptodate | PageFlags.PG_swapbacked | PageFlags.PG_lru,
                data=folio.data)  # wp_page_copy
    folio.rmap.remove((mm, vmf.address))
    folio.mapcount -= 1
    folio.refcount -= 1
    new.rmap.append((mm, vmf.address))
    new.mapcount = 1
    mm.ptes[vmf.address] = new
    mm.writable.add(vmf.address)
    return VmFault.VM_FAULT_WRITE


def do_anonymous_page(k: Kernel, task: Task, vma: VMArea, address: int) -> int:
    """First touch of an anonymous page: a new zeroed folio (mm/memory.c:4137-4250)."""
    mm = vma.vm_mm
    folio = Folio(flags=PageFlags.PG_uptodate | PageFlags.PG_swapbacked | PageFlags.PG_lru,
                  data=bytes(0))
    folio.rmap.append((mm, address))
    folio.mapcount = 1
    mm.ptes[address] = folio
    mm.writable.add(address)  # a private page of this process only
    return 0


def handle_mm_fault(k: Kernel, task: Task, address: int, flags: int) -> int:
    """Dispatch a fault on a page-aligned address (mm/memory.c:5263-5330, 4973-5060).

    The caller (do_user_addr_fault) has found the VMA: see :func:`check_address`.
    """
    vma = find_vma(task, address)
    pte = vma.vm_mm.ptes.get(address)
    with k.call("handle_mm_fault"), k.call("__handle_mm_fault"), k.call("handle_pte_fault"):
        if pte is None:
            return do_anonymous_page(k, task, vma, address)
        if isinstance(pte, int):  # !pte_present && is_swap_pte
            vmf = VMFault(task, vma, address, flags | FaultFlag.FAULT_FLAG_ORIG_PTE_VALID, pte)
            return do_swap_page(k, vmf)
        if flags & FaultFlag.FAULT_FLAG_WRITE and address not in vma.vm_mm.writable:
            return do_wp_page(k, VMFault(task, vma, address, flags, 0), pte)
        return 0


def find_vma(task: Task, address: int) -> VMArea:
    """The VMA of a user address, or a clear error for an address no VMA covers."""
    vma = task.mm.find_vma(address) if task.mm is not None else None
    if vma is None:
        raise KmodelError(f"fault address {address:#x} is outside {task.comm}'s mappings")
    return vma


def check_address(task: Task, address: int) -> None:
    """Reject addresses a user fault cannot have: unaligned or outside every VMA."""
    if address & 0xFFF:
        raise KmodelError(f"fault address {address:#x} is not page aligned")
    find_vma(task, address)
