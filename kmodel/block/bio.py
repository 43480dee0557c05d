"""Bio allocation, reference counting and completion.

Linux 6.1.176 block/bio.c:470-540 (bio_alloc_bioset), 736-757 (bio_put),
1522-1555 (bio_endio); include/linux/bio.h:424-430 (bio_alloc), 213-217 (bio_get).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from kmodel.errors import KernelBug
from kmodel.include.linux.blk_types import Bio

if TYPE_CHECKING:
    from kmodel.block.bdev import BlockDevice
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel


def bio_alloc(k: Kernel, bdev: BlockDevice, nr_vecs: int, opf: int) -> Bio:
    """Allocate a bio with one reference (BIO-1). include/linux/bio.h:424-430."""
    bio = Bio(bi_bdev=bdev, bi_opf=opf)
    k.executor.live_bios[bio.id] = bio
    return bio


def bio_add_page(bio: Bio, folio: Folio, length: int, offset: int) -> int:
    """Attach the page (block/bio.c:1074-1085); the swap path adds exactly one."""
    bio.page = folio
    bio.bi_size += length
    return length


def bio_first_page_all(bio: Bio) -> Folio:
    """The bio's first page (include/linux/bio.h:250-254): ``bio_first_page_all``.

    The swap path always adds its page before submitting.
    """
    return cast("Folio", bio.page)


def bio_get(bio: Bio) -> None:
    """Take a reference (include/linux/bio.h:213-217: BIO_REFFED, __bi_cnt + 1)."""
    if bio.freed:
        raise KernelBug(f"bio_get on freed {bio!r}")
    bio.bi_cnt += 1


def bio_put(k: Kernel, bio: Bio) -> None:
    """Drop a reference; free the bio at zero (BIO-1). bio.c:736-757.

    A put on a freed bio is the kernel's BUG_ON(!atomic_read(&bio->__bi_cnt)).
    """
    if bio.freed or bio.bi_cnt <= 0:
        raise KernelBug(f"bio_put on freed {bio!r}")
    bio.bi_cnt -= 1  # BIO-1
    if bio.bi_cnt == 0:
        bio.freed = True  # bio_free
        k.executor.live_bios.pop(bio.id, None)


def bio_endio(k: Kernel, bio: Bio) -> None:
    """End I/O on a bio: call ``bi_end_io`` exactly once (BIO-2). bio.c:1522-1555."""
    if bio.freed:
        raise KernelBug(f"bio_endio on freed {bio!r}")
    bio.ended += 1  # BIO-2
    if bio.ended > 1:
        raise KernelBug(f"bio_endio twice on {bio!r}")
    if bio.bi_end_io is not None:
        with k.call("bio_endio"):
            bio.bi_end_io(k, bio)
