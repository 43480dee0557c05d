"""``struct bio``, ``blk_status_t`` and request flags.

Linux 6.1.176 include/linux/blk_types.h:79-137 (blk_status_t), 264-320 (struct bio),
374-470 (req_op, req_flag_bits).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


class BlkStatus(enum.IntEnum):
    """``blk_status_t`` values (blk_types.h:79-137)."""

    BLK_STS_OK = 0
    BLK_STS_NOTSUPP = 1
    BLK_STS_TIMEOUT = 2
    BLK_STS_NOSPC = 3
    BLK_STS_TRANSPORT = 4
    BLK_STS_TARGET = 5
    BLK_STS_NEXUS = 6
    BLK_STS_MEDIUM = 7
    BLK_STS_PROTECTION = 8
    BLK_STS_RESOURCE = 9
    BLK_STS_IOERR = 10
    BLK_STS_DM_REQUEUE = 11
    BLK_STS_AGAIN = 12


REQ_OP_READ = 0
REQ_OP_WRITE = 1
REQ_OP_MASK = 0xFF
REQ_SYNC = 1 << 11  # __REQ_SYNC
REQ_SWAP = 1 << 20  # __REQ_SWAP (blk_types.h:420; matches opf=0x100001 in real traces)


_bio_ids = itertools.count(1)


@attrs.define(eq=False)
class Bio:
    """``struct bio`` with one ``bio_vec`` (the swap path adds a single page).

    ``bi_cnt`` is ``__bi_cnt``: 1 after bio_alloc, +1 per bio_get; ``freed`` records
    bio_free so a second put is caught (BIO-1).
    """

    bi_bdev: BlockDevice
    bi_opf: int
    bi_sector: int = 0
    bi_size: int = 0
    bi_status: BlkStatus = BlkStatus.BLK_STS_OK
    bi_end_io: Callable[[Kernel, Bio], None] | None = None
    bi_private: Task | None = None
    bi_cnt: int = 1
    page: Folio | None = None
    #: For a device-mapper clone, the bio it was cloned from (``dm_io->orig_bio``).
    bi_orig: Bio | None = None
    freed: bool = False
    ended: int = 0
    id: int = attrs.field(factory=lambda: next(_bio_ids))

    @property
    def addr(self) -> int:
        """The ``struct bio *`` value a trace shows for this bio."""
        return 0xFFFF888004000000 + self.id * 0x100

    @property
    def op(self) -> int:
        """``bio_op(bio)``."""
        return self.bi_opf & REQ_OP_MASK

    def __repr__(self) -> str:
        op = "W" if self.op == REQ_OP_WRITE else "R"
        return (
            f"<Bio #{self.id} {op} sector={self.bi_sector} status={self.bi_status.name} "
            f"cnt={self.bi_cnt}{' freed' if self.freed else ''}>"
        )
