"""6.12's zswap hooks: zswap_store in swap_writepage, zswap_load in swap_read_folio."""

from __future__ import annotations

import pytest

from kmodel import Folio, PageFlags
from kmodel.mm.swap_state import add_to_swap
from kmodel.mm.swapfile import swap_duplicate
from kmodel.mm.vmscan import ReclaimResult
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.vmscan import pageout
from kmodel.v6_12.mm.vmstat import VmEvent612
from tests.helpers import PAGE, drain, pattern, slot_of
from tests.v6_12.helpers import machine

branch = pytest.mark.branch


@branch("SW-3", "ZS-3", "ZL-3", "RD-4", "DS-2")
def test_zswap_stores_and_loads_without_io_SW_3_ZL_3() -> None:
    m, addr, rec = machine(2, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.k.zswap = {}
    assert m.reclaim() == [ReclaimResult.FREED] * 2  # no writeback: freed at once
    assert not rec.of("__swap_writepage") and not m.bdev.storage
    assert m.k.vm_events[VmEvent612.ZSWPOUT] == 2
    assert m.k.vm_events[VmEvent.PSWPOUT] == 0
    slot = slot_of(m, t, addr)
    assert m.k.zswap[(0, slot)] == pattern(0)
    rec.events.clear()
    assert m.load(t, addr) == pattern(0)
    assert not rec.of("block_bio_queue")
    assert m.k.vm_events[VmEvent612.ZSWPIN] == 1
    assert (0, slot) not in m.k.zswap  # ZL-3: the swap cache took the entry over
    (folio,) = m.mapped_folios(t)
    assert folio.flags & PageFlags.PG_dirty  # it must be written again to leave memory


@branch("ZL-4", "DS-1", "RD-4")
def test_zswap_load_into_a_private_folio_keeps_the_entry_ZL_4() -> None:
    m, addr, rec = machine(1, disk="zram")
    t = m.task  # type: ignore[attr-defined]
    m.k.zswap = {}
    m.reclaim()
    slot = slot_of(m, t, addr)
    assert m.load(t, addr) == pattern(0)  # SWP_SYNCHRONOUS_IO: the cache is skipped
    assert not m.k.swap_cache
    assert m.k.zswap[(0, slot)] == pattern(0)  # zswap stays the owner of the entry
    assert m.k.vm_events[VmEvent612.ZSWPIN] == 1
    assert not rec.of("swap_read_folio_bdev_sync")


@branch("ZS-2", "SW-4", "ZL-2", "RD-5", "RD-8")
def test_a_rejected_store_falls_through_to_the_device_ZS_2_ZL_2() -> None:
    m, addr, rec = machine(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.k.zswap = {(0, 1): b"stale copy of slot 1"}
    m.k.zswap_store_fail = True
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED]
    assert m.k.zswap == {}  # check_old dropped the stale entry of the slot
    drain(m)
    m.reclaim()
    assert m.bdev.storage[slot_of(m, t, addr) * 8] == pattern(0)
    rec.events.clear()
    assert m.load(t, addr) == pattern(0)  # ZL-2: not in zswap: from the disk
    assert rec.of("block_bio_queue")
    assert m.k.vm_events[VmEvent612.ZSWPIN] == 0


@branch("ZS-1", "ZL-1")
def test_zswap_never_enabled_is_debian_13s_default_ZS_1_ZL_1() -> None:
    m, addr, rec = machine(1, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    assert m.k.zswap is None
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED]
    drain(m)
    m.reclaim()
    assert m.load(t, addr) == pattern(0)
    assert m.k.vm_events[VmEvent612.ZSWPOUT] == m.k.vm_events[VmEvent612.ZSWPIN] == 0
    assert m.k.vm_events[VmEvent.PSWPOUT] == m.k.vm_events[VmEvent.PSWPIN] == 1


@branch("ZS-4", "CS-1", "CS-2", "WP-4", "WA-1")
def test_a_large_folio_is_never_stored_in_zswap_ZS_4_CS_1() -> None:
    m, addr, rec = machine(0)
    m.k.zswap = {}
    thp = Folio(flags=PageFlags.PG_locked | PageFlags.PG_uptodate | PageFlags.PG_swapbacked
                | PageFlags.PG_head | PageFlags.PG_dirty, nr_pages=512, data=b"huge")
    with m.k.running(m.spawn()), m.k.lock:
        assert add_to_swap(m.k, thp)
        swap_duplicate(m.k, thp.swap)  # the PTE that try_to_unmap replaced
        assert pageout(m.k, thp, None).value == "success"
    assert m.k.zswap == {}
    assert m.k.vm_events[VmEvent.THP_SWPOUT] == 1
    assert m.k.vm_events[VmEvent.PSWPOUT] == 512
    (rq,) = m.k.executor.pending
    assert rq.nr_sectors == 512 * 8  # type: ignore[attr-defined]
    assert thp.flags & PageFlags.PG_writeback


def test_zswap_and_the_disk_serve_pages_of_one_task() -> None:
    m, addr, rec = machine(0, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    addr = m.mmap(t, 2)
    m.store(t, addr, pattern(0))
    m.store(t, addr + PAGE, pattern(1))
    m.k.zswap = {}
    m.reclaim(m.mapped_folios(t)[:1])
    m.k.zswap_store_fail = True
    m.reclaim()
    drain(m)
    m.reclaim()
    assert m.load(t, addr + PAGE) == pattern(1)
    assert m.load(t, addr) == pattern(0)
    assert m.k.vm_events[VmEvent612.ZSWPIN] == 1 and m.k.vm_events[VmEvent.PSWPIN] == 1
