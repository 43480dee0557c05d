"""Starting writeback and dirtying pages.

Linux 6.1.176 mm/page-writeback.c:2753-2775 (folio_mark_dirty), 2849-2900
(folio_clear_dirty_for_io), 2978-3040 (__folio_start_writeback); mm/swap_state.c:33-34
(swap_aops.dirty_folio = noop_dirty_folio: dirtying a swap cache page only sets PG_dirty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.errors import KernelBug
from kmodel.include.linux.page_flags import PageFlags, PageLocked, PageWriteback

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel


def folio_start_writeback(k: Kernel, folio: Folio) -> None:
    """Set PG_writeback; the folio must be locked and not already under writeback."""
    if not PageLocked(folio):
        raise KernelBug(f"writeback started on unlocked {folio!r}")  # VM_BUG_ON_FOLIO
    if PageWriteback(folio):
        raise KernelBug(f"writeback started twice on {folio!r}")
    folio.flags |= PageFlags.PG_writeback
    folio.writeback_starts += 1


set_page_writeback = folio_start_writeback  # include/linux/page-flags.h:746


def folio_mark_dirty(k: Kernel, folio: Folio) -> bool:
    """``noop_dirty_folio`` for the swap cache: set PG_dirty, true if newly dirty."""
    if folio.flags & PageFlags.PG_dirty:
        return False
    folio.flags |= PageFlags.PG_dirty
    return True


set_page_dirty = folio_mark_dirty  # mm/folio-compat.c:75-79


def folio_clear_dirty_for_io(k: Kernel, folio: Folio) -> bool:
    """Clear PG_dirty before writing; true if it was set."""
    if not PageLocked(folio):
        raise KernelBug(f"clear_dirty_for_io on unlocked {folio!r}")
    was = bool(folio.flags & PageFlags.PG_dirty)
    folio.flags &= ~PageFlags.PG_dirty
    return was
