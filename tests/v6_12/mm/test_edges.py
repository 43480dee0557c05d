"""Edges of the 6.12 model: reclaim's keep cases, readahead bounds, swap-map helpers."""

from __future__ import annotations

import pytest

from kmodel import PageFlags, SwapEntry
from kmodel.include.linux.swap import SwpFlags
from kmodel.mm.swapfile import ENOENT
from kmodel.mm.vmscan import PageoutT, ReclaimResult
from kmodel.v6_12.mm.swap_state import read_swap_cache_async
from kmodel.v6_12.mm.swapfile import swap_zeromap_batch, swapcache_prepare
from kmodel.v6_12.mm.vmscan import pageout
from tests.helpers import PAGE, drain, pattern
from tests.v6_12.helpers import machine, swapped_out_612

branch = pytest.mark.branch


@branch("PO-1")
def test_pageout_of_a_clean_folio_writes_nothing_PO_1() -> None:
    m, addr, rec = machine(1)
    (folio,) = m.mapped_folios()
    folio.flags = (folio.flags & ~PageFlags.PG_dirty) | PageFlags.PG_locked
    with m.k.running(m.spawn()), m.k.lock:
        assert pageout(m.k, folio, None) == PageoutT.PAGE_CLEAN
    assert not rec.of("swap_writepage")


def test_reclaim_keeps_locked_busy_and_referenced_folios() -> None:
    m, addr, rec = machine(3)
    a, b, c = m.mapped_folios()
    a.flags |= PageFlags.PG_locked  # someone holds the lock: trylock fails
    assert m.reclaim([a]) == [ReclaimResult.KEPT]
    a.flags &= ~PageFlags.PG_locked
    assert m.reclaim([b]) == [ReclaimResult.WRITEBACK_STARTED]
    assert m.reclaim([b]) == [ReclaimResult.KEPT]  # still under writeback
    drain(m)
    b.refcount += 1  # a GUP pin: __remove_mapping's freeze fails
    assert m.reclaim([b]) == [ReclaimResult.KEPT]
    b.refcount -= 1
    assert m.reclaim([b]) == [ReclaimResult.FREED]
    m.si.swap_map[1:] = [1] * (m.si.max - 1)  # the swap area is full
    assert m.reclaim([c]) == [ReclaimResult.KEPT]  # add_to_swap fails


def test_cluster_readahead_stops_at_the_end_of_the_swap_area() -> None:
    m, addr, rec = swapped_out_612(6, nr_pages=7)  # slots 1..6; si->max == 7
    t = m.task  # type: ignore[attr-defined]
    for i in range(6):  # sequential faults grow the window to 4: [4, 7] for slot 5
        assert m.load(t, addr + i * PAGE) == pattern(i)
    offsets = {SwapEntry.from_val(int(e.arg("entry"))).offset
               for e in rec.of("__read_swap_cache_async")}
    assert offsets == {1, 2, 3, 4, 5, 6}  # never slot 7: end_offset = si->max - 1


def test_vma_readahead_random_access_skips_present_pages() -> None:
    m, addr, rec = swapped_out_612(16, disk="ssd")
    t = m.task  # type: ignore[attr-defined]
    for i in (0, 1, 2, 9, 5, 3, 12, 4, 15, 8, 6):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    for i in range(16):
        assert m.load(t, addr + i * PAGE) == pattern(i)
    assert m.quiescent()


@branch("RA-2")
def test_a_freed_slot_is_not_read_when_the_slot_cache_is_off_RA_2() -> None:
    m, addr, rec = swapped_out_612(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.k.swap_slot_cache_enabled = False  # swapoff: the slot check is left to swapcache_prepare
    with m.k.running(t), m.k.lock:
        assert swapcache_prepare(m.k, SwapEntry(0, 50), 1) == -ENOENT
        assert read_swap_cache_async(m.k, SwapEntry(0, 50), None, addr, None) is None
    assert not rec.of("swap_read_folio")


def test_swap_zeromap_batch_counts_a_run_of_equal_bits() -> None:
    m, addr, rec = machine(0)
    m.k.zeromap |= {(0, 4), (0, 5), (0, 6)}
    assert swap_zeromap_batch(m.k, SwapEntry(0, 4), 8) == (3, True)
    assert swap_zeromap_batch(m.k, SwapEntry(0, 1), 8) == (3, False)
    assert swap_zeromap_batch(m.k, SwapEntry(0, 5), 2) == (2, True)
    assert swap_zeromap_batch(m.k, SwapEntry(0, 5), 1) == (1, True)


@branch("DS-8")
def test_stable_writes_make_a_folio_under_writeback_non_exclusive_DS_8() -> None:
    m, addr, rec = machine(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.si.flags |= SwpFlags.SWP_STABLE_WRITES
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED]
    (folio,) = m.k.swap_cache.values()
    m.store(t, addr, b"new")  # a write fault while the old contents are being written
    assert t.mm is not None
    assert t.mm.ptes[addr] is not folio  # not exclusive: do_wp_page copied it
    drain(m)
    assert m.bdev.storage[folio.swap.offset * 8] == pattern(0)
    assert m.load(t, addr) == b"new"

