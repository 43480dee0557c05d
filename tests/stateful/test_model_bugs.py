"""Model bugs the state machines found, as minimal reproducers, now fixed.

Each test states the kernel's behaviour the model first got wrong: bdev_write_page
ending writeback when rw_page fails (block/bdev.c:392-395), __remove_mapping's
folio_ref_freeze refusing a folio a faulting task still holds, and do_wp_page copying
a page shared through fork or the swap cache.
"""

from __future__ import annotations

from kmodel import BadRange, DeterministicExecutor, Machine, PendingIO
from kmodel.block.blk_core import Request
from kmodel.include.linux.blk_types import REQ_OP_WRITE, BlkStatus


def test_zram_write_error_falls_back_to_a_bio_with_writeback_ended() -> None:
    ex = DeterministicExecutor()
    m = Machine(ex, disk="zram", nr_pages=64)
    t = m.spawn()
    a = m.mmap(t, 1)
    m.store(t, a, b"x")
    m.bdev.completion_errors.append(BadRange(0, 16, REQ_OP_WRITE))
    m.reclaim()  # rw_page fails; __swap_writepage resubmits the page as a bio
    ex.complete_all(m.k)
    folio = m.swap_cache_folios()[0]
    assert folio.writeback_starts == 2
    assert m.load(t, a) == b"x"


def test_reclaim_keeps_a_folio_a_sleeping_fault_still_references() -> None:
    m: Machine

    def chooser(pending: list[PendingIO]) -> None:
        io = pending[0]
        assert isinstance(io, Request)
        ex.complete(m.k, io, BlkStatus.BLK_STS_OK)  # read done, task woken...
        page = io.bios[0].page
        assert page is not None
        m.reclaim([page])  # ...but kswapd runs first

    ex = DeterministicExecutor(chooser)
    m = Machine(ex, disk="virtio", nr_pages=64)
    t = m.spawn()
    a = m.mmap(t, 1)
    m.store(t, a, b"x")
    m.reclaim()
    ex.complete_all(m.k)
    m.reclaim()  # written and freed: the PTE holds the swap entry
    assert m.load(t, a) == b"x"


def test_store_to_a_page_shared_through_the_swap_cache_copies_it() -> None:
    ex = DeterministicExecutor()
    m = Machine(ex, disk="virtio", nr_pages=64)
    parent = m.spawn()
    a = m.mmap(parent, 1)
    m.store(parent, a, b"old")
    child = m.fork(parent)
    m.reclaim()
    ex.complete_all(m.k)
    m.reclaim()  # both PTEs now hold the (shared) swap entry
    assert m.load(parent, a) == b"old"  # mapped from the swap cache, still shared
    m.store(parent, a, b"new")
    assert m.load(child, a) == b"old"
