"""6.12's do_swap_page (order 0) and the fault path around it (mm/memory.c)."""

from __future__ import annotations

import pytest

from kmodel import DeterministicExecutor, PageFlags, VmFault
from kmodel.include.linux.mm import FaultFlag
from kmodel.include.linux.swap import SWAP_HAS_CACHE
from kmodel.lib.fault_inject import FaultAttr
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.memory import handle_mm_fault
from tests.helpers import pattern, slot_of
from tests.v6_12.helpers import swapped_out_612

branch = pytest.mark.branch


@branch("DS-2", "DS-4", "DS-8")
def test_major_fault_maps_the_folio_and_drops_the_slot_reference_DS_4_DS_8() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr)
    assert m.load(t, addr) == pattern(0)
    # The read was in flight when the lock was tried: MAJOR|RETRY, then the retry maps it.
    assert rec.rets("do_swap_page") == [VmFault.VM_FAULT_MAJOR | VmFault.VM_FAULT_RETRY, 0]
    assert m.k.vm_events[VmEvent.PGMAJFAULT] == 1
    assert m.si.swap_map[slot] == SWAP_HAS_CACHE  # only the swap cache holds it now
    (folio,) = m.mapped_folios(t)
    assert folio.mapcount == 1 and folio.flags & PageFlags.PG_swapcache
    # 6.12: an exclusive folio is mapped writable even by a read fault (6.1: not).
    assert t.mm is not None and addr in t.mm.writable


@branch("DS-8")
def test_a_shared_slot_is_mapped_read_only_DS_8() -> None:
    m, addr, rec = swapped_out_612(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    child = m.fork(t)  # the swap PTEs lose their exclusive bit
    assert m.load(t, addr) == pattern(0)
    assert t.mm is not None and addr not in t.mm.writable
    assert m.load(child, addr) == pattern(0)


@branch("DS-8")
def test_exclusive_write_fault_maps_writable_and_frees_the_slot_DS_8() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr)
    assert m.fault(t, addr, write=True) == 0  # no VM_FAULT_WRITE: gone since 6.2
    assert m.si.swap_map[slot] == 0  # should_try_to_free_swap: refcount == 1 + nr_pages
    (folio,) = m.mapped_folios(t)
    assert not folio.flags & PageFlags.PG_swapcache
    assert t.mm is not None and addr in t.mm.writable


@branch("DS-8")
def test_shared_page_write_fault_copies_DS_8() -> None:
    m, addr, rec = swapped_out_612(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    child = m.fork(t)
    assert m.fault(t, addr, write=True) == 0
    assert m.load(child, addr) == pattern(0)
    assert t.mm is not None and child.mm is not None
    assert t.mm.ptes[addr] is not child.mm.ptes[addr]  # do_wp_page copied it


@branch("DS-3", "RA-4")
def test_allocation_failure_gives_oom_DS_3() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=1, verbose=0)
    m.k.fail_page_alloc.relax()
    assert m.fault(t, addr) == VmFault.VM_FAULT_OOM
    assert m.load(t, addr) == pattern(0)  # the next try succeeds (times=1)


@branch("DS-3", "DS-1", "AS-1")
def test_allocation_failure_on_the_cache_bypass_takes_no_claim_DS_3_AS_1() -> None:
    m, addr, rec = swapped_out_612(2, disk="zram")
    t = m.task  # type: ignore[attr-defined]
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=1, verbose=0)
    m.k.fail_page_alloc.relax()
    slot = slot_of(m, t, addr)
    assert m.fault(t, addr) == VmFault.VM_FAULT_OOM
    assert m.si.swap_map[slot] == 1  # 6.12 allocates before swapcache_prepare
    assert m.load(t, addr) == pattern(0)


@branch("AS-1", "DS-1")
def test_the_cache_bypass_reads_into_an_order_0_folio_AS_1() -> None:
    for zswap in (None, {}):
        m, addr, rec = swapped_out_612(2, disk="zram")
        t = m.task  # type: ignore[attr-defined]
        m.k.zswap = zswap
        assert m.load(t, addr) == pattern(0)
        (folio,) = m.mapped_folios(t)
        assert folio.nr_pages == 1 and not folio.flags & PageFlags.PG_swapcache
        assert folio.private == 0  # folio->private = NULL after the read


@branch("DS-9", "DS-1", "BW-2")
def test_a_second_thread_finding_the_slot_claimed_backs_out_DS_9() -> None:
    """Thread A bypasses the swap cache and sleeps on its synchronous bio; thread B,
    faulting on the same page, allocates, finds SWAP_HAS_CACHE taken, sleeps a tick,
    puts its folio and returns 0 to refault."""
    ex = DeterministicExecutor()
    m, addr, rec = swapped_out_612(1, executor=ex, disk="ssd", synchronous=True)
    a = m.task  # type: ignore[attr-defined]
    b = m.clone_thread(a, cpu=1)
    slot = slot_of(m, a, addr)
    outcome: list[int] = []

    def chooser(pending: list) -> tuple | None:  # type: ignore[type-arg]
        if outcome:  # B's schedule_timeout: A's read completes meanwhile
            return pending[0], None
        outcome.append(-1)
        outcome[0] = m.ops.do_user_addr_fault(m.k, b, addr)
        return None

    ex.chooser = chooser
    assert m.load(a, addr) == pattern(0)
    assert outcome == [0]  # B backed out: nothing mapped, no error
    assert rec.rets("do_swap_page") == [0, VmFault.VM_FAULT_MAJOR]
    assert m.si.swap_map[slot] == 0  # A mapped it and, exclusive, freed the slot
    assert m.load(b, addr) == pattern(0)  # B's refault finds it mapped (shared mm)


@branch("DS-5", "DS-10", "FM-2")
def test_pte_changed_while_waiting_for_the_lock_backs_out_DS_10() -> None:
    """A (no FAULT_FLAG_ALLOW_RETRY, as from get_user_pages) sleeps for the folio lock
    while the readahead is in flight; B maps the page first (the slot stays in the swap
    cache); A gets the lock, finds the PTE changed and backs out (out_nomap)."""
    ex = DeterministicExecutor()
    m, addr, rec = swapped_out_612(2, executor=ex, page_cluster=1)
    a = m.task  # type: ignore[attr-defined]
    b = m.clone_thread(a, cpu=1)
    slot = slot_of(m, a, addr)
    m.k.ra_prev_offset = slot - 1  # adjacent: a 2-page window, read asynchronously
    outcome: list[int] = []

    def chooser(pending: list) -> None:  # type: ignore[type-arg]
        ex.complete(m.k, pending[0])
        outcome.append(m.fault(b, addr))  # DS-5 for B first: MAJOR|RETRY, then mapped
        return None

    ex.chooser = chooser
    with m.k.running(a, ("get_user_pages",)), m.k.lock:
        ret = handle_mm_fault(m.k, a, addr, FaultFlag.FAULT_FLAG_USER)
    assert outcome == [0]
    assert ret == VmFault.VM_FAULT_MAJOR  # A backed out without mapping
    assert a.mm is not None
    folio = a.mm.ptes[addr]
    assert not isinstance(folio, int) and folio.mapcount == 1
    assert folio.flags & PageFlags.PG_swapcache and not folio.flags & PageFlags.PG_locked
    assert m.si.swap_map[slot] == SWAP_HAS_CACHE


@branch("DS-6")
def test_folio_taken_out_of_the_swap_cache_while_waiting_DS_6() -> None:
    """As DS-10, but the swap area is more than half full: B frees the slot when it maps
    the page, so A gets the lock on a folio no longer in the swap cache."""
    ex = DeterministicExecutor()
    m, addr, rec = swapped_out_612(2, executor=ex, page_cluster=1, nr_pages=3)
    a = m.task  # type: ignore[attr-defined]
    b = m.clone_thread(a, cpu=1)
    slot = slot_of(m, a, addr)
    m.k.ra_prev_offset = slot - 1
    outcome: list[int] = []

    def chooser(pending: list) -> None:  # type: ignore[type-arg]
        ex.complete(m.k, pending[0])
        outcome.append(m.fault(b, addr))
        return None

    ex.chooser = chooser
    with m.k.running(a, ("get_user_pages",)), m.k.lock:
        ret = handle_mm_fault(m.k, a, addr, FaultFlag.FAULT_FLAG_USER)
    assert outcome == [0]
    assert ret == VmFault.VM_FAULT_MAJOR
    assert a.mm is not None
    folio = a.mm.ptes[addr]
    assert not isinstance(folio, int)
    assert not folio.flags & (PageFlags.PG_swapcache | PageFlags.PG_locked)
    assert m.si.swap_map[slot] == 0


def test_a_write_protect_fault_on_a_present_page_copies_or_reuses() -> None:
    m, addr, rec = swapped_out_612(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    assert m.load(t, addr) == pattern(0)  # mapped read-only, still in the swap cache
    assert m.fault(t, addr, write=True) == 0  # do_wp_page reuses it: no VM_FAULT_WRITE
    assert t.mm is not None and addr in t.mm.writable
