"""Linux 6.12's page-flag bit numbers, and the mapping from the model's flags to them.

Linux 6.12.118 include/linux/page-flags.h:93-190 (enum pageflags, x86_64 Debian 13 config:
CONFIG_MMU, CONFIG_MEMORY_FAILURE, CONFIG_PAGE_IDLE_FLAG, CONFIG_64BIT and
CONFIG_ARCH_USES_PG_ARCH_2 on; no PG_arch_3). 6.12 renumbered the bits (PG_writeback is
bit 1, PG_uptodate bit 3) and removed ``PG_error``.

The model keeps one :class:`~kmodel.include.linux.page_flags.PageFlags` set per folio for
both kernels, so that the shared code (``folio_unlock``, ``folio_end_writeback``, the
executors) exists once: it is a set of *named* flags. Only where a flags word leaves the
model — a trace's ``pflags`` — does the bit layout matter: :func:`kernel_page_flags` gives
6.12's word, :func:`model_page_flags` reads one back. The 6.12 model never sets
``PG_error`` (it has no such flag: :func:`kernel_page_flags` refuses it).
"""

from __future__ import annotations

import enum

from kmodel.errors import KernelBug
from kmodel.include.linux.page_flags import PageFlags


class PageFlags612(enum.IntFlag):
    """6.12's ``enum pageflags`` as bit masks (``1 << PG_x``)."""

    PG_locked = 1 << 0
    PG_writeback = 1 << 1
    PG_referenced = 1 << 2
    PG_uptodate = 1 << 3
    PG_dirty = 1 << 4
    PG_lru = 1 << 5
    PG_head = 1 << 6
    PG_waiters = 1 << 7
    PG_active = 1 << 8
    PG_workingset = 1 << 9
    PG_owner_priv_1 = 1 << 10
    PG_owner_2 = 1 << 11
    PG_arch_1 = 1 << 12
    PG_reserved = 1 << 13
    PG_private = 1 << 14
    PG_private_2 = 1 << 15
    PG_reclaim = 1 << 16
    PG_swapbacked = 1 << 17
    PG_unevictable = 1 << 18
    PG_mlocked = 1 << 19
    PG_hwpoison = 1 << 20
    PG_young = 1 << 21
    PG_idle = 1 << 22
    PG_arch_2 = 1 << 23
    # Aliases (page-flags.h:131-151): same bits, other meanings.
    PG_readahead = PG_reclaim
    PG_swapcache = PG_owner_priv_1
    PG_anon_exclusive = PG_owner_2
    PG_mappedtodisk = PG_owner_2


#: __NR_PAGEFLAGS for this config: bits above it hold node/zone/section numbers.
NR_PAGEFLAGS_6_12 = 24
PAGEFLAGS_MASK_6_12 = (1 << NR_PAGEFLAGS_6_12) - 1

_ALIASES = ("PG_readahead", "PG_swapcache", "PG_anon_exclusive")
#: The model's flag -> 6.12's bit, by name (6.12 has no PG_error and no PG_slab).
_TO_6_12 = {
    int(flag): int(PageFlags612[name])
    for name, flag in PageFlags.__members__.items()
    if name not in _ALIASES and name in PageFlags612.__members__
}
_FROM_6_12 = {bit: model for model, bit in _TO_6_12.items()}


def kernel_page_flags(flags: int) -> int:
    """The 6.12 ``page->flags`` word of a model flags set (what a 6.12 trace shows)."""
    if flags & PageFlags.PG_error:
        raise KernelBug("PG_error set on a 6.12 folio: 6.12 has no PG_error")
    out = 0
    for bit, bit612 in _TO_6_12.items():
        if flags & bit:
            out |= bit612
    return out


def model_page_flags(flags612: int) -> int:
    """The model's flags set of a 6.12 ``page->flags`` word (node/zone bits masked off)."""
    out = 0
    for bit612, bit in _FROM_6_12.items():
        if flags612 & bit612:
            out |= bit
    return out


def decode_page_flags_6_12(flags612: int) -> str:
    """Render a 6.12 flags word as ``locked|uptodate|swapcache`` (like drgn's helper)."""
    flags612 &= PAGEFLAGS_MASK_6_12
    names = []
    for bit in range(NR_PAGEFLAGS_6_12):
        if flags612 & (1 << bit):
            name = PageFlags612(1 << bit).name or ""
            names.append("swapcache" if name == "PG_owner_priv_1" else name[3:])
    return "|".join(names) if names else "0"
