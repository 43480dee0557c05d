"""Page allocation for the swap path, with the ``fail_page_alloc`` fault-injection knob.

Linux 6.1.176 mm/page_alloc.c:3880-3925 (fail_page_alloc, should_fail_alloc_page),
include/linux/gfp.h:261-270 (vma_alloc_folio). Allocation otherwise always succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.include.linux.mm_types import PAGE_SIZE, Folio
from kmodel.lib.fault_inject import should_fail

if TYPE_CHECKING:
    from kmodel.kernel import Kernel


def vma_alloc_folio(k: Kernel, flags: int = 0) -> Folio | None:
    """Allocate an order-0 folio; None when ``should_fail_alloc_page`` says so."""
    if should_fail(k, k.fail_page_alloc, PAGE_SIZE):
        return None
    return Folio(flags=flags)
