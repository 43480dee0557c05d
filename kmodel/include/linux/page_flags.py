"""Page flags with the kernel's bit numbers, and the helpers that test and change them.

Linux 6.1.176 include/linux/page-flags.h:99-168 (enum pageflags, x86_64 Debian config:
CONFIG_MEMORY_FAILURE, CONFIG_PAGE_IDLE_FLAG and CONFIG_64BIT on, no PG_uncached).
The model has no separate ``struct page``: an order-0 folio *is* its page, so the
``Page*`` and ``folio_*`` spellings below act on the same object.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio


_and = int.__and__
_or = int.__or__
_xor = int.__xor__


class PageFlags(enum.IntFlag):
    """``enum pageflags`` as bit masks (``1 << PG_x``)."""

    PG_locked = 1 << 0
    PG_referenced = 1 << 1
    PG_uptodate = 1 << 2
    PG_dirty = 1 << 3
    PG_lru = 1 << 4
    PG_active = 1 << 5
    PG_workingset = 1 << 6
    PG_waiters = 1 << 7
    PG_error = 1 << 8
    PG_slab = 1 << 9
    PG_owner_priv_1 = 1 << 10
    PG_arch_1 = 1 << 11
    PG_reserved = 1 << 12
    PG_private = 1 << 13
    PG_private_2 = 1 << 14
    PG_writeback = 1 << 15
    PG_head = 1 << 16
    PG_mappedtodisk = 1 << 17
    PG_reclaim = 1 << 18
    PG_swapbacked = 1 << 19
    PG_unevictable = 1 << 20
    PG_mlocked = 1 << 21
    PG_hwpoison = 1 << 22
    PG_young = 1 << 23
    PG_idle = 1 << 24
    PG_arch_2 = 1 << 25
    # Aliases (page-flags.h:146-168): same bits, other meanings.
    PG_readahead = PG_reclaim
    PG_swapcache = PG_owner_priv_1
    PG_anon_exclusive = PG_mappedtodisk

    # ``&``, ``|`` and ``^`` give plain ints, the values enum's would: enum's build a
    # PageFlags through Python code (~2 us each, ``int & PageFlags`` too, the subclass'
    # reflected operator winning), on the model's hottest paths. ``~`` stays enum's: the
    # complement within the flags' mask (bits above it clear), cached per member.
    def __and__(self, other: int) -> int:  # type: ignore[override]
        return _and(self, other)

    def __or__(self, other: int) -> int:  # type: ignore[override]
        return _or(self, other)

    def __xor__(self, other: int) -> int:  # type: ignore[override]
        return _xor(self, other)

    __rand__ = __and__  # type: ignore[assignment]
    __ror__ = __or__  # type: ignore[assignment]
    __rxor__ = __xor__  # type: ignore[assignment]


#: __NR_PAGEFLAGS for this config: bits above it hold node/zone/section numbers.
NR_PAGEFLAGS = 26
PAGEFLAGS_MASK = (1 << NR_PAGEFLAGS) - 1

_NAMES = {
    flag.value: name
    for name, flag in PageFlags.__members__.items()
    if name not in ("PG_readahead", "PG_swapcache", "PG_anon_exclusive")
}


def decode_page_flags(flags: int) -> str:
    """Render page flags as ``locked|uptodate|swapcache`` (node/zone bits masked off).

    Like drgn's ``decode_page_flags``; PG_owner_priv_1 prints as ``swapcache`` because
    every folio the model handles is swap-backed.
    """
    flags &= PAGEFLAGS_MASK
    names = []
    for bit in range(NR_PAGEFLAGS):
        if flags & (1 << bit):
            name = _NAMES[1 << bit][3:]
            names.append("swapcache" if name == "owner_priv_1" else name)
    return "|".join(names) if names else "0"


# The helpers below work on plain ints: an operator between ``PageFlags`` values runs
# enum's Python code (~2 us, and ``int & PageFlags`` too: the subclass' reflected operator
# wins), ``int.__and__`` is one C call. The values are the same; a flag set or cleared here
# leaves ``folio.flags`` a plain int. ``~PageFlags.PG_x`` is the complement within
# PAGEFLAGS_MASK (the bits above it are cleared too), as _clear does.
_PG_locked = int(PageFlags.PG_locked)
_PG_uptodate = int(PageFlags.PG_uptodate)
_PG_error = int(PageFlags.PG_error)
_PG_dirty = int(PageFlags.PG_dirty)
_PG_writeback = int(PageFlags.PG_writeback)
_PG_reclaim = int(PageFlags.PG_reclaim)
_PG_readahead = int(PageFlags.PG_readahead)
_PG_swapcache_bits = int(PageFlags.PG_swapbacked) | int(PageFlags.PG_swapcache)
_PG_workingset = int(PageFlags.PG_workingset)
_PG_waiters = int(PageFlags.PG_waiters)


def _test(folio: Folio, flag: int) -> bool:
    return _and(folio.flags, flag) != 0


def _set(folio: Folio, flag: int) -> None:
    folio.flags = _or(folio.flags, flag)


def _clear(folio: Folio, flag: int) -> None:
    folio.flags = _and(folio.flags, PAGEFLAGS_MASK ^ flag)


def PageLocked(folio: Folio) -> bool:
    """PageLocked / folio_test_locked."""
    return _test(folio, _PG_locked)


def PageUptodate(folio: Folio) -> bool:
    """PageUptodate / folio_test_uptodate."""
    return _test(folio, _PG_uptodate)


def SetPageUptodate(folio: Folio) -> None:
    """SetPageUptodate / folio_mark_uptodate (the smp_wmb is implied: one writer here)."""
    _set(folio, _PG_uptodate)


def ClearPageUptodate(folio: Folio) -> None:
    """ClearPageUptodate / folio_clear_uptodate."""
    _clear(folio, _PG_uptodate)


def PageError(folio: Folio) -> bool:
    """PageError / folio_test_error."""
    return _test(folio, _PG_error)


def SetPageError(folio: Folio) -> None:
    """SetPageError / folio_set_error."""
    _set(folio, _PG_error)


def PageDirty(folio: Folio) -> bool:
    """PageDirty / folio_test_dirty."""
    return _test(folio, _PG_dirty)


def PageWriteback(folio: Folio) -> bool:
    """PageWriteback / folio_test_writeback."""
    return _test(folio, _PG_writeback)


def PageReclaim(folio: Folio) -> bool:
    """PageReclaim / folio_test_reclaim."""
    return _test(folio, _PG_reclaim)


def SetPageReclaim(folio: Folio) -> None:
    """SetPageReclaim / folio_set_reclaim."""
    _set(folio, _PG_reclaim)


def ClearPageReclaim(folio: Folio) -> None:
    """ClearPageReclaim / folio_clear_reclaim."""
    _clear(folio, _PG_reclaim)


def SetPageReadahead(folio: Folio) -> None:
    """SetPageReadahead (PG_readahead is PG_reclaim on a non-writeback page)."""
    _set(folio, _PG_readahead)


def TestClearPageReadahead(folio: Folio) -> bool:
    """folio_test_clear_readahead."""
    was = _test(folio, _PG_readahead)
    _clear(folio, _PG_readahead)
    return was


def PageSwapCache(folio: Folio) -> bool:
    """PageSwapCache / folio_test_swapcache (swap-backed and PG_swapcache)."""
    return _and(folio.flags, _PG_swapcache_bits) == _PG_swapcache_bits


def PageWorkingset(folio: Folio) -> bool:
    """PageWorkingset / folio_test_workingset."""
    return _test(folio, _PG_workingset)


def PageWaiters(folio: Folio) -> bool:
    """folio_test_waiters."""
    return _test(folio, _PG_waiters)
