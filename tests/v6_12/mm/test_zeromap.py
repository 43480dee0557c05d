"""6.12's zeromap: a zero-filled folio is neither written nor read from the disk."""

from __future__ import annotations

import pytest

from kmodel import PageFlags
from kmodel.mm.vmscan import ReclaimResult
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.vmstat import VmEvent612
from tests.helpers import PAGE, drain, pattern, slot_of
from tests.v6_12.helpers import machine

branch = pytest.mark.branch


@branch("ZM-1", "ZM-3", "RD-3", "PO-1", "DS-2", "CR-4")
def test_a_zero_filled_page_never_reaches_the_disk_ZM_1_ZM_3() -> None:
    m, addr, rec = machine(0, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.store(t, addr, bytes(100))  # written, but only zeroes
    assert m.reclaim() == [ReclaimResult.FREED]  # no writeback: freed in the same pass
    assert rec.rets("swap_writepage") == [0]
    assert not rec.of("__swap_writepage") and not rec.of("block_bio_queue")
    assert not m.bdev.storage and not m.k.executor.pending
    (write,) = rec.of("mm_vmscan_write_folio")
    assert m.k.vm_events[VmEvent612.SWPOUT_ZERO] == 1
    assert m.k.vm_events[VmEvent.PSWPOUT] == 0
    slot = slot_of(m, t, addr)
    assert (0, slot) in m.k.zeromap
    rec.events.clear()
    data = m.load(t, addr)
    assert data is not None and not any(data)  # folio_zero_range
    assert not rec.of("block_bio_queue") and not m.k.executor.pending
    assert m.k.vm_events[VmEvent612.SWPIN_ZERO] == 1
    assert m.k.vm_events[VmEvent.PSWPIN] == 0
    assert rec.rets("do_swap_page") == [0x4]  # MAJOR: read, just not from the disk
    (folio,) = m.mapped_folios(t)
    assert folio.flags & PageFlags.PG_uptodate and not folio.flags & PageFlags.PG_locked
    assert write.arg("flags") == "RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"


@branch("ZM-2", "ZM-4")
def test_a_slot_rewritten_with_data_loses_its_zero_bit_ZM_2_ZM_4() -> None:
    m, addr, rec = machine(0, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    m.store(t, addr, bytes(8))
    m.reclaim()
    slot = slot_of(m, t, addr)
    assert (0, slot) in m.k.zeromap
    assert m.load(t, addr) is not None
    # Mapped writable (exclusive) and still in the swap cache on its slot: the store
    # needs no fault, the folio keeps the slot, and reclaim writes it there again.
    rec.events.clear()
    m.store(t, addr, pattern(7))
    assert not rec.of("do_swap_page")
    (folio,) = m.k.swap_cache.values()
    assert folio.swap.offset == slot
    m.reclaim()
    assert (0, slot) not in m.k.zeromap  # ZM-2: cleared before the write
    drain(m)
    m.reclaim()
    assert m.bdev.storage[slot * 8] == pattern(7)
    rec.events.clear()
    assert m.load(t, addr) == pattern(7)  # ZM-4: not in the zeromap: read from the disk
    assert rec.of("block_bio_queue")


def test_zero_and_non_zero_pages_of_one_task_each_take_their_path() -> None:
    m, addr, rec = machine(0, page_cluster=0)
    t = m.task  # type: ignore[attr-defined]
    addr = m.mmap(t, 2)
    m.store(t, addr, bytes(1))
    m.store(t, addr + PAGE, b"\0" * 4095 + b"\1")  # the last byte decides (checked first)
    m.reclaim()
    drain(m)
    m.reclaim()
    assert m.k.vm_events[VmEvent612.SWPOUT_ZERO] == 1
    assert m.k.vm_events[VmEvent.PSWPOUT] == 1
    assert m.load(t, addr + PAGE) == b"\0" * 4095 + b"\1"
