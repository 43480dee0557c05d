"""``struct swap_info_struct`` and the swap flags.

Linux 6.1.176 include/linux/swap.h:200-224 (SWP_* flags), 275-325 (swap_info_struct),
186-191 (swap_extent).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.mm.page_io import SwapIocb


class SwpFlags(enum.IntFlag):
    """``enum { SWP_USED ... }`` (include/linux/swap.h:200-224)."""

    SWP_USED = 1 << 0
    SWP_WRITEOK = 1 << 1
    SWP_DISCARDABLE = 1 << 2
    SWP_DISCARDING = 1 << 3
    SWP_SOLIDSTATE = 1 << 4
    SWP_CONTINUED = 1 << 5
    SWP_BLKDEV = 1 << 6
    SWP_ACTIVATED = 1 << 7
    SWP_FS_OPS = 1 << 8
    SWP_AREA_DISCARD = 1 << 9
    SWP_PAGE_DISCARD = 1 << 10
    SWP_STABLE_WRITES = 1 << 11
    SWP_SYNCHRONOUS_IO = 1 << 12
    SWP_SCANNING = 1 << 14


#: swap_map[] holds a count and, in this bit, "the swap cache holds a page for the slot".
SWAP_HAS_CACHE = 0x40
SWAP_MAP_MAX = 0x3E
SWAP_MAP_BAD = 0x3F
SWAP_CLUSTER_MAX = 32


@attrs.define(eq=False)
class SwapExtent:
    """``struct swap_extent``: ``nr_pages`` slots from ``start_page`` at ``start_block``."""

    start_page: int
    nr_pages: int
    start_block: int


class SwapFile(Protocol):
    """``struct file`` of a swap file on a filesystem with ``->swap_rw`` (SWP_FS_OPS).

    ``swap_rw`` returns the number of bytes done, a negative errno, or ``-EIOCBQUEUED``
    when the completion (``sio.ki_complete``) will come later from the executor.
    """

    def swap_rw(self, sio: SwapIocb, write: bool) -> int:
        """``mapping->a_ops->swap_rw(&sio->iocb, &iter)``."""
        ...


@attrs.define(eq=False)
class SwapInfo:
    """``struct swap_info_struct``: one swap area."""

    type: int
    flags: SwpFlags
    bdev: BlockDevice
    max: int
    swap_map: list[int]
    extents: list[SwapExtent] = attrs.field(factory=list)
    swap_file: SwapFile | None = None
    prio: int = -2
    inuse_pages: int = 0
    #: Next slot the allocator tries (a simplified ``cluster_next``).
    cluster_next: int = 1

    @property
    def pages(self) -> int:
        """Usable slots (slot 0 is the header)."""
        return self.max - 1
