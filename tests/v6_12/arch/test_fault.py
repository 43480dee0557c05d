"""6.12's user fault entry: a try under the VMA lock, then mmap_lock retries."""

from __future__ import annotations

from kmodel import SwapEntry, VmFault
from kmodel.include.linux.mm import FaultFlag
from kmodel.v6_12.include.linux.mm import FAULT_FLAG_VMA_LOCK
from kmodel.v6_12.mm.swap_state import read_swap_cache_async
from tests.helpers import PAGE, pattern, slot_of
from tests.v6_12.helpers import swapped_out_612

TRIED = int(FaultFlag.FAULT_FLAG_TRIED)


def test_a_major_retry_under_the_vma_lock_is_tried_again_under_mmap_lock() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    assert m.load(t, addr) == pattern(0)
    first, second = (int(e.arg("fault_flags")) for e in rec.of("do_swap_page"))
    assert rec.rets("do_swap_page") == [VmFault.VM_FAULT_MAJOR | VmFault.VM_FAULT_RETRY, 0]
    assert first & FAULT_FLAG_VMA_LOCK and not first & TRIED
    assert not second & FAULT_FLAG_VMA_LOCK and second & TRIED  # MAJOR: FAULT_FLAG_TRIED


def test_a_minor_retry_is_tried_again_without_fault_flag_tried() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr + PAGE)
    with m.k.running(t), m.k.lock:  # madvise(MADV_WILLNEED): the read is in flight
        folio = read_swap_cache_async(m.k, SwapEntry(0, slot), None, addr + PAGE, None)
    assert folio is not None and m.k.executor.pending
    folio.refcount -= 1  # the caller's folio_put
    rec.events.clear()
    assert m.load(t, addr + PAGE) == pattern(1)
    first, second = (int(e.arg("fault_flags")) for e in rec.of("do_swap_page"))
    assert rec.rets("do_swap_page") == [VmFault.VM_FAULT_RETRY, 0]  # found in the cache
    assert first & FAULT_FLAG_VMA_LOCK
    assert not second & (FAULT_FLAG_VMA_LOCK | TRIED)  # not major: no FAULT_FLAG_TRIED
