"""Swap areas: extents and sectors (mm/swapfile.c), generic_swapfile_activate (page_io.c)."""

from __future__ import annotations

import pytest

from kmodel import (
    DeterministicExecutor,
    Kernel,
    KmodelError,
    Machine,
    SwapEntry,
    SwapFileInode,
    generic_swapfile_activate,
    make_disk,
    swapon,
)
from kmodel.mm.swapfile import offset_to_swap_extent
from tests.helpers import PAGE, Recorder, pattern

branch = pytest.mark.branch


@branch("SE-1")
def test_block_device_slot_n_is_at_sector_8n_SE_1() -> None:
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 5)
    rec = Recorder()
    m.k.tracer = rec
    for i in range(5):
        m.store(t, addr + i * PAGE, pattern(i))
    m.reclaim()
    for e in rec.of("swap_writepage"):
        slot = SwapEntry.from_val(int(e.arg("entry"))).offset
        assert slot * 8 in [q.arg("sector") for q in rec.of("block_bio_queue")]
    assert [q.arg("sector") for q in rec.of("block_bio_queue")] == [8, 16, 24, 32, 40]


@branch("SE-1")
def test_swap_file_extents_map_slots_to_their_blocks_SE_1() -> None:
    k = Kernel(executor=DeterministicExecutor())
    bdev = make_disk("ssd", nr_pages=64)
    # 1 KiB blocks: page 0 (header) at blocks 40-43, then a discontiguity, an unaligned
    # run that is skipped, and two contiguous pages at blocks 100-107.
    blocks = [40, 41, 42, 43, 13, 14, 15, 16, 100, 101, 102, 103, 104, 105, 106, 107]
    inode = SwapFileInode(i_blkbits=10, blocks=blocks)
    sis = swapon(k, bdev, nr_pages=16, extents=[])
    nr_extents, span = generic_swapfile_activate(k, sis, inode)
    assert nr_extents == 2  # [page 0 → 10], [pages 1-2 → 25-26], merged
    assert sis.max == 3
    assert span == 2
    assert [(e.start_page, e.nr_pages, e.start_block) for e in sis.extents] == [
        (0, 1, 10), (1, 2, 25)]
    assert offset_to_swap_extent(sis, 2).start_block == 25
    from kmodel import Folio, PageFlags, swap_page_sector

    folio = Folio(flags=PageFlags.PG_swapcache | PageFlags.PG_swapbacked)
    folio.private = SwapEntry(0, 2).val
    assert swap_page_sector(k, folio) == 26 * 8


def test_swap_file_with_holes_is_rejected() -> None:
    k = Kernel(executor=DeterministicExecutor())
    sis = swapon(k, make_disk("ssd", nr_pages=64), nr_pages=8, extents=[])
    inode = SwapFileInode(i_blkbits=12, blocks=[8, 0, 10])
    assert generic_swapfile_activate(k, sis, inode) == (-22, 0)
    assert ("err", "swapon: swapfile has holes") in k.printk_log


def test_impossible_machines_are_clear_errors() -> None:
    with pytest.raises(KmodelError, match=r"page-cluster must be 0\.\.31"):
        Machine(page_cluster=40)
    k = Kernel(executor=DeterministicExecutor())
    with pytest.raises(KmodelError, match="need the header page"):
        swapon(k, make_disk(), nr_pages=1)
    m = Machine()
    with pytest.raises(KmodelError, match="at least one"):
        m.mmap(m.spawn(), 0)
    t = m.spawn()
    with pytest.raises(KmodelError, match="not page aligned"):
        m.load(t, 0x1001)
    with pytest.raises(KmodelError, match="outside"):
        m.load(t, 0x1000)


def test_swap_file_activation_checks_every_block_and_steps_one_block() -> None:
    k = Kernel(executor=DeterministicExecutor())
    bdev = make_disk("ssd", nr_pages=64)
    # Header at blocks 40-43; then 15 is unaligned (step one block), 16-19 is a page,
    # then 60, 99, 62, 63 breaks inside the page (block 1 of 4), then 64-67 is a page.
    blocks = [40, 41, 42, 43, 15, 16, 17, 18, 19, 60, 99, 62, 63, 64, 65, 66, 67]
    sis = swapon(k, bdev, nr_pages=16, extents=[])
    nr, span = generic_swapfile_activate(k, sis, SwapFileInode(10, blocks))
    assert [(e.start_page, e.nr_pages, e.start_block) for e in sis.extents] == [
        (0, 1, 10), (1, 1, 4), (2, 1, 16)]
    assert (nr, span, sis.max) == (3, 13, 3)  # span = 1 + 16 - 4: odd, as C computes it
    # A file longer than the swap area stops at sis->max pages.
    sis2 = swapon(k, bdev, nr_pages=2, extents=[])
    generic_swapfile_activate(k, sis2, SwapFileInode(12, [10, 11, 12, 13]))
    assert sis2.max == 2 and sum(e.nr_pages for e in sis2.extents) == 2


def test_a_hole_inside_a_page_is_reported() -> None:
    k = Kernel(executor=DeterministicExecutor())
    sis = swapon(k, make_disk("ssd"), nr_pages=8, extents=[])
    assert generic_swapfile_activate(k, sis, SwapFileInode(10, [8, 9, 0, 11])) == (-22, 0)
    assert k.printk_log == [("err", "swapon: swapfile has holes")]
