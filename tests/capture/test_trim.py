"""Trace trimming: whole per-slot histories, header kept, shell noise dropped."""

from __future__ import annotations

from kmodel.capture import trim

HEADER = "# kmodel capture: scenario=t\n# tracer: nop\n#\n"


def _ev(pid: int, event: str, args: str, flags: str = ".....") -> str:
    return f"  memhog-{pid} ({pid:>7}) [000] {flags} 1.000000: {event}: {args}\n"


def test_swap_pte_decodes_to_its_offset() -> None:
    assert trim.pte_swap_offset(0x7FFFFFFFFFF1C0A) == 0x71
    assert trim.pte_swap_offset(0x7FFFFFFFFFFF00A) == 0x7


def test_line_slots() -> None:
    assert trim.line_slots("block_rq_issue", "254,0 W 4096 () 8 + 16 [m]") == {1, 2}
    assert trim.line_slots("block_bio_queue", "254,0 R 320 + 64 [m]") == set(range(40, 48))
    assert trim.line_slots("end_swap_bio_read", "(x) bio=0x1 bi_status=10 sector=328") == {41}
    assert trim.line_slots("swap_readpage", "(x) page=0x2 entry=0x2a") == {42}


def test_kept_slot_keeps_calls_with_their_returns_and_drops_others() -> None:
    lines = [
        _ev(5, "swap_writepage", "(x) page=0x1 entry=0x1"),
        _ev(5, "block_bio_queue", "254,0 W 8 + 8 [memhog]"),
        _ev(5, "swap_writepage_ret", "(pageout+0xd1 <- swap_writepage) ret=0"),
        _ev(5, "mm_vmscan_write_folio", "page=0 pfn=0x1 flags=RECLAIM_WB_ANON"),
        _ev(5, "swap_writepage", "(x) page=0x2 entry=0x40"),
        _ev(5, "swap_writepage_ret", "(pageout+0xd1 <- swap_writepage) ret=0"),
        _ev(5, "mm_vmscan_write_folio", "page=0 pfn=0x2 flags=RECLAIM_WB_ANON"),
        _ev(7, "signal_generate", "sig=17 errno=0 code=1 comm=init pid=1 grp=1 res=0"),
        _ev(5, "signal_generate", "sig=7 errno=0 code=2 comm=memhog pid=5 grp=0 res=0"),
    ]
    text, first = trim.trim(HEADER + "".join(lines), max_bytes=len(HEADER) + 700)
    body = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
    assert first == 1
    assert body == [*lines[:4], lines[8]]
    assert text.startswith("# kmodel capture: scenario=t\n# kmodel trim: kept 5 of 9")


def test_failed_io_is_always_kept() -> None:
    lines = [
        _ev(5, "swap_readpage", "(x) page=0x1 entry=0x1"),
        _ev(0, "end_swap_bio_read", "(x) bio=0x9 bi_status=10 sector=320", flags="..s1."),
        _ev(5, "swap_readpage", "(x) page=0x3 entry=0x2a"),
    ]
    budget = len(HEADER) + 200 + len(lines[1]) + len(lines[2])  # trim adds 200 for its note
    text, first = trim.trim(HEADER + "".join(lines), max_bytes=budget)
    assert first == 0
    assert lines[1] in text and lines[2] in text and lines[0] not in text


def test_sectors_map_to_slots_through_the_traced_extents() -> None:
    ext = trim.extents(
        _ev(9, "add_swap_extent", "(a) type=0 start_page=0 nr_pages=64 start_block=585")
        + _ev(9, "add_swap_extent", "(a) type=0 start_page=64 nr_pages=64 start_block=713")
    )
    assert ext == [(585, 64, 0), (713, 64, 64)]
    assert trim.sector_slot(585 * 8, ext) == 0
    assert trim.sector_slot(713 * 8 + 8, ext) == 65
    assert trim.sector_slot(16, ext) == 2  # outside every extent: sector / 8
    assert trim.line_slots("block_bio_queue", f"254,64 W {714 * 8} + 16 [m]", ext) == {65, 66}
    assert trim.line_slots("end_swap_bio_write", f"(x) bio=0x1 sector={586 * 8}", ext) == {1}


def test_multi_line_printk_and_lost_markers_stay_whole() -> None:
    lines = [
        _ev(9, "add_swap_extent", "(a) type=0 start_page=0 nr_pages=16384 start_block=0"),
        _ev(5, "swap_writepage", "(x) page=0x1 entry=0x1"),
        _ev(5, "console", "Memory cgroup stats for "),
        "anon 208896\n",
        "file 0\n",
        "CPU:1 [LOST 3 EVENTS]\n",
        _ev(5, "swap_writepage", "(x) page=0x2 entry=0x40"),
    ]
    budget = len(HEADER) + 200 + sum(map(len, lines[:6]))  # all but the second slot's line
    text, first = trim.trim(HEADER + "".join(lines), max_bytes=budget)
    body = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
    assert first == 1
    assert body == lines[:6]


def test_a_frontswap_miss_is_not_a_failed_io() -> None:
    lines = [
        _ev(5, "__frontswap_store", "(x) page=0x1 entry=0x1"),
        _ev(5, "__frontswap_store_ret", "(swap_writepage+0x3e <- __frontswap_store) ret=-19"),
        _ev(5, "bdev_write_page_ret", "(__swap_writepage+0x45 <- bdev_write_page) ret=-5"),
    ]
    units = trim.units(lines)
    assert [u.failed for u in units] == [False, True]
