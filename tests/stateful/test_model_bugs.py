"""Model bugs the state machines found, as minimal reproducers (xfail until fixed).

Each test states the kernel's behaviour; ``strict=True`` makes the fix visible (XPASS
fails the run), so the marker must be removed with the fix.
"""

from __future__ import annotations

import pytest

from kmodel import BadRange, DeterministicExecutor, Machine, PendingIO
from kmodel.block.blk_core import Request
from kmodel.include.linux.blk_types import REQ_OP_WRITE, BlkStatus


@pytest.mark.xfail(strict=True, reason=(
    "bdev_write_page does not end_page_writeback when rw_page fails (block/bdev.c:392-395), "
    "so zram's bio fallback starts writeback twice (KernelBug)"))
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


@pytest.mark.xfail(strict=True, reason=(
    "shrink_folio frees a swap cache folio that a faulting task still references; "
    "__remove_mapping's folio_ref_freeze (mm/vmscan.c) refuses and keeps it"))
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


@pytest.mark.xfail(strict=True, reason=(
    "no write-protect fault on a present PTE: a page shared with another process (fork, "
    "or through the swap cache) is written in place instead of copied (do_wp_page)"))
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
