"""Page allocation for the swap path, with the ``fail_page_alloc`` fault-injection knob.

Linux 6.1.176 mm/page_alloc.c:3921-3999 (fail_page_alloc, should_fail_alloc_page),
5430 (prepare_alloc_pages calls it), include/linux/gfp.h:266-278 (vma_alloc_folio).
The few ``__GFP_*`` bits the filters read fold in here (include/linux/gfp_types.h).
Allocation otherwise always succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kmodel.include.linux.mm_types import Folio
from kmodel.lib.fault_inject import FAULT_NOWARN, FaultAttr, should_fail_ex

if TYPE_CHECKING:
    from kmodel.kernel import Kernel

# include/linux/gfp_types.h:28-42 (___GFP_*), 75-249 (__GFP_*).
__GFP_HIGHMEM = 0x02
__GFP_DIRECT_RECLAIM = 0x400
__GFP_NOWARN = 0x2000
__GFP_NOFAIL = 0x8000


@attrs.define(eq=False)
class FailPageAlloc:
    """The ``fail_page_alloc`` struct: a fault attr and its filters (page_alloc.c:3923-3934).

    Defaults as the kernel initialises them: order-0, ``__GFP_HIGHMEM`` and
    ``__GFP_DIRECT_RECLAIM`` allocations never reach ``should_fail``. debugfs
    ``fail_page_alloc/{ignore-gfp-wait,ignore-gfp-highmem,min-order}`` set the filters
    (page_alloc.c:3973-3977): relax all three to fail the swap path's allocations.
    """

    attr: FaultAttr = attrs.field(factory=lambda: FaultAttr(dname="fail_page_alloc"))
    ignore_gfp_highmem: bool = True
    #: debugfs ``ignore-gfp-wait``.
    ignore_gfp_reclaim: bool = True
    min_order: int = 1

    def relax(self) -> FailPageAlloc:
        """Turn the three filters off (``ignore-gfp-wait=N ignore-gfp-highmem=N min-order=0``)."""
        self.ignore_gfp_highmem = False
        self.ignore_gfp_reclaim = False
        self.min_order = 0
        return self


def fail_page_alloc_filters(k: Kernel, gfp_mask: int, order: int) -> bool:
    """Whether the filters keep this allocation from ``should_fail``; no side effect.

    ``__should_fail_alloc_page``'s early returns, in its order (page_alloc.c:3942-3954).
    """
    fpa = k.fail_page_alloc
    if order < fpa.min_order:  # FI-3
        return True
    if gfp_mask & __GFP_NOFAIL:
        return True
    if fpa.ignore_gfp_highmem and gfp_mask & __GFP_HIGHMEM:
        return True
    return bool(fpa.ignore_gfp_reclaim and gfp_mask & __GFP_DIRECT_RECLAIM)


def should_fail_alloc_page(k: Kernel, gfp_mask: int, order: int) -> bool:
    """Whether fault injection fails this allocation, filters first (page_alloc.c:3942-3961).

    The size given to ``should_fail_ex`` is ``1 << order`` pages.
    """
    flags = 0
    if fail_page_alloc_filters(k, gfp_mask, order):
        return False
    if gfp_mask & __GFP_NOWARN:  # see __should_failslab()
        flags |= FAULT_NOWARN
    return should_fail_ex(k, k.fail_page_alloc.attr, 1 << order, flags)


def vma_alloc_folio(k: Kernel, gfp_mask: int, flags: int = 0) -> Folio | None:
    """Allocate an order-0 folio; None when ``should_fail_alloc_page`` says so."""
    if should_fail_alloc_page(k, gfp_mask, 0):
        return None
    return Folio(flags=flags)
