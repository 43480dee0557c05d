"""``struct folio``, ``swp_entry_t`` and a process address space.

Linux 6.1.176 include/linux/mm_types.h:74-262 (struct page), 281-330 (struct folio),
963-965 (swp_entry_t), include/linux/swapops.h:84-140 (encoding),
arch/x86/include/asm/pgtable_64.h:214-241 (x86_64 swap PTE layout).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import attrs

from kmodel.include.linux.page_flags import PageFlags, decode_page_flags

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task

#: MAX_SWAPFILES_SHIFT is 5; swp_entry_t keeps the type in the top bits of an XArray value.
SWP_TYPE_SHIFT = 58  # BITS_PER_XA_VALUE (63) - MAX_SWAPFILES_SHIFT (5)
SWP_OFFSET_MASK = (1 << SWP_TYPE_SHIFT) - 1

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

#: Where the model places ``struct page`` objects (vmemmap on x86_64) and their size.
VMEMMAP_START = 0xFFFFEA0000000000
STRUCT_PAGE_SIZE = 64

# x86_64 swap PTE (pgtable_64.h:214-241, pgtable_types.h:97-104).
_SWP_TYPE_BITS = 5
_SWP_OFFSET_SHIFT = 9 + _SWP_TYPE_BITS  # SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1
_PAGE_SWP_SOFT_DIRTY = 1 << 1  # _PAGE_RW
_PAGE_SWP_EXCLUSIVE = 1 << 3  # _PAGE_PWT
_PAGE_SWP_UFFD_WP = 1 << 2  # _PAGE_USER
_U64 = (1 << 64) - 1


@attrs.frozen
class SwapEntry:
    """``swp_entry_t``: a swap area (type) and a slot in it (offset)."""

    type: int
    offset: int

    @property
    def val(self) -> int:
        """``swp_entry(type, offset).val`` (include/linux/swapops.h:86-92)."""
        return (self.type << SWP_TYPE_SHIFT) | (self.offset & SWP_OFFSET_MASK)

    @classmethod
    def from_val(cls, val: int) -> SwapEntry:
        """``swp_type``/``swp_offset`` of a raw value (include/linux/swapops.h:98-115)."""
        return cls(val >> SWP_TYPE_SHIFT, val & SWP_OFFSET_MASK)

    def to_pte(self, *, exclusive: bool = False) -> int:
        """``swp_entry_to_pte`` for x86_64, with ``pte_swp_mkexclusive`` when asked."""
        arch = ((~self.offset << _SWP_OFFSET_SHIFT) & _U64) >> _SWP_TYPE_BITS
        arch |= self.type << (64 - _SWP_TYPE_BITS)
        return arch | (_PAGE_SWP_EXCLUSIVE if exclusive else 0)

    @classmethod
    def from_pte(cls, pte: int) -> SwapEntry:
        """``pte_to_swp_entry`` for x86_64: clear the software bits, then decode."""
        pte &= ~(_PAGE_SWP_EXCLUSIVE | _PAGE_SWP_SOFT_DIRTY | _PAGE_SWP_UFFD_WP)
        offset = ((~pte << _SWP_TYPE_BITS) & _U64) >> _SWP_OFFSET_SHIFT
        return cls(pte >> (64 - _SWP_TYPE_BITS), offset)

    def __str__(self) -> str:
        return f"swp({self.type}:{self.offset:#x})"


def pte_swp_exclusive(pte: int) -> bool:
    """``pte_swp_exclusive`` (x86: _PAGE_SWP_EXCLUSIVE)."""
    return bool(pte & _PAGE_SWP_EXCLUSIVE)


_pfns = itertools.count(0x1000)
_vma_ids = itertools.count(0)


@attrs.define(eq=False)
class Folio:
    """``struct folio`` of order 0 (or ``nr_pages`` > 1 for a THP, modelled only for counting).

    ``data`` is the page's contents (so integrity can be checked end to end);
    ``private`` holds ``swp_entry_t.val`` while PG_swapcache is set, as in the kernel.
    """

    flags: int = 0
    private: int = 0
    refcount: int = 1
    mapcount: int = 0
    nr_pages: int = 1
    data: bytes | None = None
    #: How many times writeback started and ended (the invariant: ends == starts).
    writeback_starts: int = 0
    freed: bool = False
    pfn: int = attrs.field(factory=lambda: next(_pfns))
    #: Reverse map: the (mm, address) pairs whose PTE maps this folio.
    rmap: list[tuple[MMStruct, int]] = attrs.field(factory=list, repr=False)
    #: Tasks sleeping in folio_wait_bit_common, with the bit each waits for.
    waiters: list[tuple[Task, int]] = attrs.field(factory=list, repr=False)

    @property
    def addr(self) -> int:
        """The ``struct page *`` value a trace shows for this folio."""
        return VMEMMAP_START + self.pfn * STRUCT_PAGE_SIZE

    @property
    def swap(self) -> SwapEntry:
        """``folio->swap`` (``page_private`` while in the swap cache)."""
        return SwapEntry.from_val(self.private)

    def __repr__(self) -> str:
        return (
            f"<Folio pfn={self.pfn:#x} flags={decode_page_flags(self.flags)} "
            f"private={self.private:#x} ref={self.refcount}>"
        )


def folio_test(folio: Folio, flag: PageFlags) -> bool:
    """Generic flag test used by reports (``folio_test_<flag>``)."""
    return bool(folio.flags & flag)


@attrs.define(eq=False)
class VMArea:
    """``struct vm_area_struct``: the bits of it the swap path reads."""

    vm_start: int
    vm_end: int
    vm_mm: MMStruct
    vm_flags: int = 0
    #: ``vma->swap_readahead_info`` (swap_state.c:42-60 SWAP_RA_VAL packing), kept unpacked.
    ra_addr: int = 0
    ra_win: int = 0
    ra_hits: int = 0
    #: The VMA's number in this process: a slab slot, as a folio's ``pfn`` is a frame.
    nr: int = attrs.field(factory=lambda: next(_vma_ids))

    @property
    def addr(self) -> int:
        """The ``struct vm_area_struct *`` value a trace shows for this VMA."""
        return 0xFFFF888004E00000 + (self.nr & 0xFFFFF) * 0x100


@attrs.define(eq=False)
class MMStruct:
    """``struct mm_struct``: VMAs and a flat page table (address → PTE contents).

    A PTE is either a mapped :class:`Folio` or a swap PTE (an ``int``, x86_64 encoding).
    """

    vmas: list[VMArea] = attrs.field(factory=list)
    ptes: dict[int, Folio | int] = attrs.field(factory=dict)
    #: Addresses whose present PTE is writable (the PTE's _PAGE_RW bit).
    writable: set[int] = attrs.field(factory=set)
    users: int = 1

    def find_vma(self, addr: int) -> VMArea | None:
        """``find_vma``: the VMA containing ``addr``."""
        for vma in self.vmas:
            if vma.vm_start <= addr < vma.vm_end:
                return vma
        return None
