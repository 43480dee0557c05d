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
