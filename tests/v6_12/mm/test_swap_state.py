"""6.12's swap cache and readahead (mm/swap_state.c)."""

from __future__ import annotations

import threading

import pytest

from kmodel import BadRange, Machine, SwapEntry, ThreadedExecutor
from kmodel.include.linux.blk_types import REQ_OP_READ
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.page_io import SwapPlug
from kmodel.v6_12.mm.swap_state import __read_swap_cache_async, read_swap_cache_async
from kmodel.v6_12.mm.swapfile import swapcache_prepare
from tests.helpers import PAGE, cached, pattern, slot_of, start_until_asleep, wait_until
from tests.v6_12.helpers import swapped_out_612

branch = pytest.mark.branch


@branch("RA-1", "RA-4", "CR-2", "CR-3", "CR-4")
def test_readahead_pages_are_found_in_the_swap_cache_RA_1_CR_3() -> None:
    m, addr, rec = swapped_out_612(8)
    t = m.task  # type: ignore[attr-defined]
    m.k.swapin_readahead_hits = 0  # no hits yet (6.12's swap_state.c:65 boots them at 4)
    assert m.load(t, addr) == pattern(0)
    assert m.load(t, addr + PAGE) == pattern(1)  # window [2, 3]: slot 3 is readahead
    assert m.k.vm_events[VmEvent.SWAP_RA] == 1
    # CR-4: the target went through __read_swap_cache_async, found in the cache (RA-1).
    rets = [int(e.arg("folio")) for e in rec.of("__read_swap_cache_async_ret")]
    assert rets[-1] == rets[-3] != 0
    rec.events.clear()
    assert m.load(t, addr + 2 * PAGE) == pattern(2)
    assert not rec.of("swap_read_folio")  # RA-1 via swap_cache_get_folio: no read
    assert m.k.vm_events[VmEvent.SWAP_RA_HIT] == 1


@branch("CR-1")
def test_page_cluster_zero_reads_only_the_target_CR_1() -> None:
    m, addr, rec = swapped_out_612(4, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.load(t, addr)
    m.load(t, addr + PAGE)
    assert [e.arg("plug") for e in rec.of("swap_read_folio")] == [0, 0]
    assert m.k.vm_events[VmEvent.SWAP_RA] == 0


@branch("CR-5")
def test_ssd_swap_uses_vma_readahead_CR_5() -> None:
    m, addr, rec = swapped_out_612(8, disk="ssd")
    t = m.task  # type: ignore[attr-defined]
    for i in range(8):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    assert rec.of("swapin_readahead") and not rec.of("swap_cluster_readahead")
    assert m.k.vm_events[VmEvent.SWAP_RA] > 0
    assert m.k.vm_events[VmEvent.SWAP_RA_HIT] > 0
    assert m.quiescent()


@branch("CR-5")
def test_vma_readahead_backwards_and_a_window_of_one() -> None:
    m, addr, rec = swapped_out_612(8, disk="ssd")
    t = m.task  # type: ignore[attr-defined]
    for i in reversed(range(8)):  # faults walking down: the window extends to the left
        assert m.load(t, addr + i * PAGE) == pattern(i)
    assert m.k.vm_events[VmEvent.SWAP_RA] > 0
    m2, addr2, rec2 = swapped_out_612(2, disk="ssd", page_cluster=0)
    assert m2.load(m2.task, addr2 + PAGE) == pattern(1)  # type: ignore[attr-defined]
    assert m2.k.vm_events[VmEvent.SWAP_RA] == 0  # max_win == 1: no readahead


@branch("RA-6", "RA-1", "RA-2")
def test_read_swap_cache_async_reads_a_new_folio_once_RA_6() -> None:
    m, addr, rec = swapped_out_612(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    slot = slot_of(m, t, addr)
    plug: SwapPlug = [None]
    with m.k.running(t), m.k.lock:
        folio = read_swap_cache_async(m.k, SwapEntry(0, slot), None, addr, plug)
        again = read_swap_cache_async(m.k, SwapEntry(0, slot), None, addr, plug)
        unused = read_swap_cache_async(m.k, SwapEntry(0, 100), None, addr, plug)  # RA-2
    assert folio is not None and again is folio and unused is None
    assert len(rec.of("swap_read_folio")) == 1
    assert folio.refcount == 3  # the swap cache's and the two callers'
    m.k.executor.complete_all(m.k)  # type: ignore[attr-defined]
    assert folio.data == pattern(0)


@branch("RA-5")
def test_skip_if_exists_does_not_wait_for_a_claimed_slot_RA_5() -> None:
    m, addr, rec = swapped_out_612(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    entry = SwapEntry(0, slot_of(m, t, addr))
    with m.k.running(t), m.k.lock:
        assert swapcache_prepare(m.k, entry, 1) == 0  # someone else is adding it
        jiffies = m.k.jiffies
        result = __read_swap_cache_async(m.k, entry, skip_if_exists=True)
    assert result.folio is None and not result.new_page_allocated
    assert m.k.jiffies == jiffies  # no schedule_timeout
    assert cached(m, entry.offset) is None


@branch("RA-3", "DS-1", "BW-2")
def test_readahead_waits_for_a_slot_claimed_by_a_skip_swapcache_fault_RA_3() -> None:
    """Task A holds SWAP_HAS_CACHE for slot X in do_swap_page's cache bypass while its
    synchronous bio is in flight; task B's cluster readahead reaches slot X and sleeps a
    tick at a time, its new folio kept, until A is done (RA-3)."""
    ex = ThreadedExecutor(timeout=20)
    m = Machine(ex, disk="zram", page_cluster=1, kernel="6.12")
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
    m.bdev.completion_errors.append(BadRange(16, 24, REQ_OP_READ))  # X's read fails
    m.k.ra_prev_offset = 2  # the previous fault was next door: window [2, 3]
    ex.gate.clear()
    results: dict[str, bytes | None] = {}
    ta = start_until_asleep(m, a, lambda: results.__setitem__("A", m.load(a, xa)))
    jiffies = m.k.jiffies
    tb = threading.Thread(target=lambda: results.__setitem__("B", m.load(q, za)))
    tb.start()
    wait_until(lambda: m.k.jiffies > jiffies, tb, "B slept a tick on A's busy slot")
    assert tb.is_alive()  # B spins on -EEXIST for slot 2
    ex.gate.set()
    ta.join(10)
    tb.join(10)
    ex.shutdown()
    assert results == {"A": None, "B": b"Z"}
    assert q2.mm is not None and isinstance(q2.mm.ptes[za], int)
