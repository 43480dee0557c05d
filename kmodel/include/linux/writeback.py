"""``struct writeback_control``.

Linux 6.1.176 include/linux/writeback.h:42-94.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from kmodel.mm.page_io import SwapIocb


class WbSyncMode(enum.IntEnum):
    """``enum writeback_sync_modes``."""

    WB_SYNC_NONE = 0
    WB_SYNC_ALL = 1


@attrs.define(eq=False)
class WritebackControl:
    """``struct writeback_control``: what ``pageout`` passes to ``swap_writepage``."""

    sync_mode: WbSyncMode = WbSyncMode.WB_SYNC_NONE
    nr_to_write: int = 32
    for_reclaim: bool = False
    #: ``wbc->swap_plug``: a one-element list standing in for ``struct swap_iocb **``.
    swap_plug: list[SwapIocb | None] | None = None

    @property
    def bits(self) -> int:
        """The bitfield word a kprobe reads at +36 (bit 3 = for_reclaim)."""
        return 0x8 if self.for_reclaim else 0


def wbc_to_write_flags(wbc: WritebackControl) -> int:
    """REQ_SYNC for WB_SYNC_ALL, else 0 (include/linux/writeback.h:96-108): wbc_to_write_flags."""
    from kmodel.include.linux.blk_types import REQ_SYNC

    return REQ_SYNC if wbc.sync_mode == WbSyncMode.WB_SYNC_ALL else 0
