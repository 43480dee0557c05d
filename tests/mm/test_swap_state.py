"""The swap cache and readahead (mm/swap_state.c)."""

from __future__ import annotations

import threading

import pytest

from kmodel import BadRange, Machine, SwapEntry, ThreadedExecutor, VmEvent
from kmodel.include.linux.blk_types import REQ_OP_READ
from tests.helpers import (
    PAGE,
    cached,
    pattern,
    slot_of,
    start_until_asleep,
    swapped_out,
    wait_until,
)

branch = pytest.mark.branch


@branch("RA-1", "CR-3", "CR-4")
def test_readahead_pages_are_found_in_the_swap_cache_RA_1_CR_3() -> None:
    m, t, addr, rec = swapped_out(8)
    m.k.swapin_readahead_hits = 0  # no hits yet (swap_state.c:62 boots them at 4): a window of 1
    assert m.load(t, addr) == pattern(0)
    assert m.load(t, addr + PAGE) == pattern(1)  # window [2, 3]: slot 3 is readahead
    assert m.k.vm_events[VmEvent.SWAP_RA] == 1
    rec.events.clear()
    assert m.load(t, addr + 2 * PAGE) == pattern(2)
    assert not rec.of("swap_readpage")  # RA-1: found, nothing read
    assert rec.rets("do_swap_page") == [0]  # not a major fault
    assert m.k.vm_events[VmEvent.SWAP_RA_HIT] == 1
    assert m.k.swapin_readahead_hits == 1


@branch("RA-2", "CR-2")
def test_free_slots_in_the_window_are_skipped_RA_2_CR_2() -> None:
    m, t, addr, rec = swapped_out(3)  # slots 1..3; the window [0..7] reaches free slots
    m.load(t, addr)
    m.load(t, addr + PAGE)
    m.load(t, addr + 2 * PAGE)
    m.k.swapin_readahead_hits = 6  # a long hit streak: the full 8-page window
    u = m.spawn("other")
    uaddr = m.mmap(u, 1)
    m.store(u, uaddr, b"u")
    m.reclaim()
    m.k.executor.complete_all(m.k)  # type: ignore[attr-defined]
    m.reclaim()
    rec.events.clear()
    m.load(u, uaddr)
    entries = [SwapEntry.from_val(int(e.arg("entry"))).offset
               for e in rec.of("__read_swap_cache_async")]
    assert entries[0] == 1  # CR-2: aligned start, past the header slot 0
    pages = [int(e.arg("page")) for e in rec.of("__read_swap_cache_async_ret")]
    free = [off for off, page in zip(entries, pages, strict=True) if page == 0]
    assert free and all(m.si.swap_map[o] == 0 for o in free)  # RA-2: unused → NULL


@branch("RA-4", "RA-5")
def test_a_new_page_is_locked_and_in_the_swap_cache_while_read_RA_4() -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    slot = slot_of(m, t, addr)
    states: list[tuple[bool, int]] = []

    def chooser(pending: list) -> tuple:  # type: ignore[type-arg]
        folio = cached(m, slot)
        assert folio is not None
        states.append((bool(folio.flags & 1), folio.private))
        return pending[0], None

    m.k.executor.chooser = chooser  # type: ignore[attr-defined]
    assert m.load(t, addr) == pattern(0)
    assert states == [(True, SwapEntry(0, slot).val)]


@branch("CR-1")
def test_page_cluster_zero_reads_synchronously_CR_1() -> None:
    m, t, addr, rec = swapped_out(4, page_cluster=0)
    m.load(t, addr)
    m.load(t, addr + PAGE)
    assert [e.arg("synchronous") for e in rec.of("swap_readpage")] == [1, 1]
    assert m.k.vm_events[VmEvent.SWAP_RA] == 0


@branch("CR-5")
def test_ssd_swap_uses_vma_readahead_CR_5() -> None:
    m, t, addr, rec = swapped_out(8, disk="ssd")
    assert m.k.nr_rotate_swap == 0
    for i in range(8):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    assert rec.of("swapin_readahead")
    assert not rec.of("swap_cluster_readahead")  # VMA readahead (inlined in 6.1)
    assert m.k.vm_events[VmEvent.SWAP_RA] > 0
    assert m.k.vm_events[VmEvent.SWAP_RA_HIT] > 0


@branch("CR-5")
def test_rotational_swap_uses_cluster_readahead_CR_5() -> None:
    m, t, addr, rec = swapped_out(4)
    m.load(t, addr)
    assert rec.of("swap_cluster_readahead")


@branch("RA-3", "DS-1")
def test_readahead_waits_for_a_slot_claimed_by_a_skip_swapcache_fault_RA_3() -> None:
    """Task A holds SWAP_HAS_CACHE for slot X in do_swap_page's skip-swapcache path
    (its zram read failed over to a bio still in flight); task B's cluster readahead
    reaches slot X and must sleep a tick at a time until A is done (RA-3)."""
    ex = ThreadedExecutor(timeout=20)
    m = Machine(ex, disk="zram", page_cluster=1)
    m.k.enable_vma_readahead = False  # cluster readahead on the non-rotational zram
    a = m.spawn("A")
    xa = m.mmap(a, 1)
    m.store(a, xa, b"X")
    q = m.spawn("Q")
    za = m.mmap(q, 1)
    m.store(q, za, b"Z")
    q2 = m.fork(q)  # Z is shared: its swap count will be 2
    d = m.spawn("D")
    m.store(d, m.mmap(d, 1), b"D")
    m.reclaim(m.mapped_folios(d) + m.mapped_folios(a) + m.mapped_folios(q))
    assert slot_of(m, a, xa) == 2 and slot_of(m, q, za) == 3
    m.bdev.async_bio = True  # zram with a backing device: the bio completes later
    m.bdev.completion_errors.append(BadRange(16, 24, REQ_OP_READ))  # X's rw_page fails
    m.k.ra_prev_offset = 2  # the previous fault was next door: window [2, 3]
    ex.gate.clear()
    results: dict[str, bytes | None] = {}
    ta = start_until_asleep(m, a, lambda: results.__setitem__("A", m.load(a, xa)))
    jiffies = m.k.jiffies
    tb = threading.Thread(target=lambda: results.__setitem__("B", m.load(q, za)))
    tb.start()
    wait_until(lambda: m.k.jiffies > jiffies, tb, "B slept a tick on A's busy slot")
    assert tb.is_alive()  # B spins on -EEXIST for slot 1
    ex.gate.set()
    ta.join(10)
    tb.join(10)
    ex.shutdown()
    assert results == {"A": None, "B": b"Z"}
    assert q2.mm is not None and isinstance(q2.mm.ptes[za], int)
