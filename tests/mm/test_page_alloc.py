"""fail_page_alloc as the kernel ships it: filters before should_fail (mm/page_alloc.c)."""

from __future__ import annotations

import pytest

from kmodel import FaultAttr, Machine, VmFault
from kmodel.mm.page_alloc import (
    __GFP_NOFAIL,
    __GFP_NOWARN,
    FailPageAlloc,
    should_fail_alloc_page,
)
from kmodel.mm.swap_state import GFP_HIGHUSER_MOVABLE
from tests.helpers import PAGE, pattern, swapped_out

branch = pytest.mark.branch


def _notices(m: Machine) -> list[str]:
    return [line for _, line in m.k.printk_log if line.startswith("FAULT_INJECTION")]


@branch("FI-3")
def test_default_filters_keep_swap_in_allocations_from_failing_FI_3() -> None:
    """probability 100, unlimited times: with the kernel's defaults no swap-in fails."""
    m, t, addr, rec = swapped_out(4, page_cluster=0)
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=-1)
    for i in range(4):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    assert _notices(m) == []
    assert m.k.fail_page_alloc.attr.times == -1


@branch("FI-3")
def test_filtered_allocations_do_not_count_for_fail_nth_FI_3() -> None:
    """The filters return before should_fail_ex: fail-nth is not consumed by them."""
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    t.fail_nth = 1
    assert m.load(t, addr) == pattern(0)
    assert t.fail_nth == 1  # no should_fail call on the whole swap-in
    m.k.fail_page_alloc.relax()
    assert m.fault(t, addr + PAGE) == VmFault.VM_FAULT_OOM  # now the allocation is the 1st
    assert t.fail_nth == 0


@branch("FI-3")
@pytest.mark.parametrize("kept", ["min_order", "ignore_gfp_highmem", "ignore_gfp_reclaim"])
def test_each_default_filter_alone_stops_an_order_0_swap_in_failure_FI_3(kept: str) -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    fpa = m.k.fail_page_alloc
    fpa.attr = FaultAttr(probability=100, times=-1, verbose=1)
    fpa.relax()
    setattr(fpa, kept, getattr(FailPageAlloc(), kept))  # this one filter back at its default
    assert m.load(t, addr) == pattern(0)
    fpa.relax()
    assert m.fault(t, addr + PAGE) == VmFault.VM_FAULT_OOM
    assert _notices(m) == ["FAULT_INJECTION: forcing a failure."]


@branch("FI-3", "FI-2")
def test_space_is_counted_in_pages_of_the_order_FI_3() -> None:
    """should_fail_ex gets ``1 << order``: space 3 (> 1, > 1, not > 1) lets two order-0
    allocations through; counted in bytes, it would let none."""
    m, t, addr, rec = swapped_out(3, page_cluster=0)
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=1, space=3, verbose=0)
    m.k.fail_page_alloc.relax()
    assert m.load(t, addr) == pattern(0)
    assert m.load(t, addr + PAGE) == pattern(1)
    assert m.k.fail_page_alloc.attr.space == 1
    assert m.fault(t, addr + 2 * PAGE) == VmFault.VM_FAULT_OOM


@branch("FI-3")
def test_nofail_and_nowarn_allocations_FI_3() -> None:
    """__GFP_NOFAIL is never failed; __GFP_NOWARN fails without the notice (FAULT_NOWARN)."""
    m = Machine()
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=-1)
    m.k.fail_page_alloc.relax()
    with m.k.running(m.spawn()):
        assert not should_fail_alloc_page(m.k, GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL, 0)
        assert should_fail_alloc_page(m.k, GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, 0)
        assert _notices(m) == []
        assert should_fail_alloc_page(m.k, GFP_HIGHUSER_MOVABLE, 0)
    assert _notices(m) == ["FAULT_INJECTION: forcing a failure."]
