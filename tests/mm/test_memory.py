"""do_swap_page (mm/memory.c) and the fault entry around it."""

from __future__ import annotations

import threading

import pytest

from kmodel import (
    BadRange,
    DeterministicExecutor,
    FaultAttr,
    FaultFlag,
    Machine,
    PageFlags,
    ThreadedExecutor,
    VmEvent,
    VmFault,
    handle_mm_fault,
)
from kmodel.include.linux.blk_types import REQ_OP_READ
from tests.helpers import (
    cached,
    pattern,
    slot_of,
    start_until_asleep,
    swapped_out,
    wait_until,
)

branch = pytest.mark.branch


@branch("DS-2", "DS-4", "DS-8")
def test_major_fault_maps_the_page_and_frees_the_slot_DS_4_DS_8() -> None:
    m, t, addr, rec = swapped_out(4)
    slot = slot_of(m, t, addr)
    assert m.load(t, addr) == pattern(0)
    assert rec.of("swapin_readahead")  # DS-2
    # The asynchronous read made the first try MAJOR|RETRY; the retry found the page.
    assert rec.rets("do_swap_page") == [VmFault.VM_FAULT_MAJOR | VmFault.VM_FAULT_RETRY, 0]
    assert m.k.vm_events[VmEvent.PGMAJFAULT] == 1
    assert m.si.swap_map[slot] == 0x40  # swap_free: only the swap cache holds the slot
    assert t.mm is not None and t.mm.ptes[addr] is cached(m, slot)


@branch("DS-8")
def test_exclusive_write_fault_maps_writable_and_frees_swap_DS_8() -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    slot = slot_of(m, t, addr)
    assert m.store(t, addr, b"new") == VmFault.VM_FAULT_MAJOR | VmFault.VM_FAULT_WRITE
    # should_try_to_free_swap: a write fault with only our references → slot freed.
    assert m.si.swap_map[slot] == 0 and cached(m, slot) is None
    assert m.load(t, addr) == b"new"


@branch("DS-8")
def test_shared_page_write_fault_copies_DS_8() -> None:
    m = Machine(DeterministicExecutor(), page_cluster=0)
    p = m.spawn()
    addr = m.mmap(p, 1)
    m.store(p, addr, b"shared")
    c = m.fork(p)
    m.reclaim()
    m.k.executor.complete_all(m.k)  # type: ignore[attr-defined]
    m.reclaim()
    assert m.store(c, addr, b"child") & VmFault.VM_FAULT_WRITE
    assert m.load(p, addr) == b"shared"
    assert m.load(c, addr) == b"child"


@branch("DS-3")
def test_allocation_failure_gives_oom_DS_3() -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=1, verbose=0)
    m.k.fail_page_alloc.relax()  # order 0, GFP_HIGHUSER_MOVABLE: past the default filters
    assert m.fault(t, addr) == VmFault.VM_FAULT_OOM
    assert m.load(t, addr) == pattern(0)  # the next try succeeds (times=1)


@branch("DS-3", "DS-1")
def test_allocation_failure_on_skip_swapcache_path_DS_3() -> None:
    m, t, addr, rec = swapped_out(2, disk="zram")
    m.k.fail_page_alloc.attr = FaultAttr(probability=100, times=1, verbose=0)
    m.k.fail_page_alloc.relax()  # order 0, GFP_HIGHUSER_MOVABLE: past the default filters
    slot = slot_of(m, t, addr)
    assert m.fault(t, addr) == VmFault.VM_FAULT_OOM
    assert m.si.swap_map[slot] == 1  # the DS-1 claim was dropped again
    assert m.load(t, addr) == pattern(0)


@branch("DS-1")
def test_two_threads_on_a_skip_swapcache_page_DS_1() -> None:
    """Thread A claims the slot (swapcache_prepare) and waits for its bio; thread B finds
    the slot busy, sleeps a tick and returns 0 to refault until A has mapped the page."""
    ex = ThreadedExecutor(timeout=20)
    m = Machine(ex, disk="zram")
    a = m.spawn("A")
    addr = m.mmap(a, 1)
    m.store(a, addr, b"X")
    b = m.clone_thread(a, cpu=1)
    m.reclaim()
    m.bdev.async_bio = True  # zram with a backing device: the bio completes later
    m.bdev.completion_errors.append(BadRange(8, 16, REQ_OP_READ))  # rw_page fails → bio
    ex.gate.clear()
    out: dict[str, int] = {}
    ta = start_until_asleep(m, a, lambda: out.__setitem__("A", m.fault(a, addr)))
    jiffies = m.k.jiffies
    tb = threading.Thread(target=lambda: out.__setitem__("B", m.fault(b, addr)))
    tb.start()
    wait_until(lambda: m.k.jiffies > jiffies, tb, "B slept a tick on A's busy slot")
    assert tb.is_alive()  # refaulting: 0, then again, while A's claim stands
    ex.gate.set()
    ta.join(10)
    tb.join(10)
    ex.shutdown()
    assert out["A"] == VmFault.VM_FAULT_SIGBUS  # A's bio failed
    assert out["B"] == VmFault.VM_FAULT_SIGBUS  # B retried the read itself: same error
    assert m.si.swap_map[1] == 1


@branch("DS-6")
def test_page_taken_out_of_the_swap_cache_while_waiting_DS_6() -> None:
    """A (a fault without FAULT_FLAG_ALLOW_RETRY, as from get_user_pages) sleeps for the
    folio lock while the readahead is in flight. When the read completes, thread B maps
    the page first and, the swap area being full, frees its slot: A then gets the lock on
    a folio that is no longer in the swap cache, and backs out."""
    ex = DeterministicExecutor()
    m, a, addr, rec = swapped_out(2, executor=ex, page_cluster=1, nr_pages=3)
    b = m.clone_thread(a, cpu=1)
    slot = slot_of(m, a, addr)
    m.k.ra_prev_offset = slot - 1  # adjacent: a 2-page window, read asynchronously
    outcome: list[int] = []

    def chooser(pending: list) -> None:  # type: ignore[type-arg]
        ex.complete(m.k, pending[0])  # the read completes; A is woken, not yet running
        outcome.append(m.fault(b, addr))
        return None

    ex.chooser = chooser
    with m.k.running(a, ("get_user_pages",)), m.k.lock:
        ret = handle_mm_fault(m.k, a, addr, FaultFlag.FAULT_FLAG_USER)
    assert outcome == [0]  # B found the page in the swap cache and mapped it
    assert ret == VmFault.VM_FAULT_MAJOR  # A backed out without mapping
    assert a.mm is not None
    folio = a.mm.ptes[addr]
    assert not isinstance(folio, int)
    assert not folio.flags & PageFlags.PG_swapcache
    assert not folio.flags & PageFlags.PG_locked
    assert m.si.swap_map[slot] == 0
    assert rec.rets("do_swap_page") == [0, VmFault.VM_FAULT_MAJOR]
