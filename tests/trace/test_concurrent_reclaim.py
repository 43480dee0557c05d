"""Reclaim on another CPU sets PG_reclaim again after a failed write's ClearPageReclaim.

``end_swap_bio_write``'s error path clears PG_reclaim (6.1 mm/page_io.c:49; 6.12's
``__end_swap_bio_write``, mm/page_io.c:47) before ``end_page_writeback``. Reclaim on another
CPU that meets the folio still under writeback in between sets it again under the folio's lock
(shrink_folio_list's case 2) and activates it: no event says so, but the end probe's flags
show the lock it holds or the PG_active it set. Only then is the bit not the model's to
predict; without that evidence a PG_reclaim left set is a divergence.
"""

from __future__ import annotations

import lzma
from pathlib import Path

from kmodel.trace import check_trace
from kmodel.trace.parse import read_kprobe_profile
from tests.trace.model_mutations import MODEL_MUTATIONS, planted

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"
SLOTS = TRACES / "slots"
UNKNOWN = "unknown:reclaim-set-by-concurrent-reclaim"


def _real() -> list[str]:
    path = SLOTS / "writeerr_blkdebug_reclaim.trace.txt.xz"
    return lzma.decompress(path.read_bytes()).decode().splitlines(keepends=True)


def _with_end_flags(lines: list[str], lineno: int, old: str, new: str, tmp: Path) -> Path:
    assert old in lines[lineno - 1], lines[lineno - 1]
    lines = [*lines]
    lines[lineno - 1] = lines[lineno - 1].replace(old, new)
    out = tmp / "edited.trace.txt"
    out.write_text("".join(lines))
    return out


def test_a_real_trace_where_reclaim_set_the_bit_again_conforms() -> None:
    # A live 6.1 capture (writeerr_blkdebug, global clock): at line 1478 end_page_writeback
    # shows PG_reclaim, PG_locked and PG_active, which the error completion of line 1475 had
    # not: memhog's reclaim on CPU 1 (its put_swap_folio of other slots in between).
    profile = read_kprobe_profile(str(SLOTS / "writeerr_blkdebug_reclaim.kprobe_profile.txt"))
    report = check_trace(SLOTS / "writeerr_blkdebug_reclaim.trace.txt.xz", missed=profile)
    assert report.conformant, [d.message for d in report.divergences]
    assert report.counts[UNKNOWN] == 1


def test_a_model_that_keeps_pg_reclaim_still_diverges_there() -> None:
    with planted(MODEL_MUTATIONS["write_end_keeps_reclaim"]):
        report = check_trace(SLOTS / "writeerr_blkdebug_reclaim.trace.txt.xz")
    assert report.divergences
    assert all("end_page_writeback sees" in d.message for d in report.divergences)


def test_the_bit_without_the_lock_or_a_new_activation_diverges(tmp_path: Path) -> None:
    lines = _real()  # 0xc852d: locked, uptodate, dirty, active, error, ..., reclaim
    bare = _with_end_flags(lines, 1478, "pflags=0xfffffc00c852d", "pflags=0xfffffc00c850c",
                           tmp_path)
    report = check_trace(bare, max_divergences=1)
    assert [d.lineno for d in report.divergences] == [1478]
    assert UNKNOWN not in report.counts
    active = _with_end_flags(lines, 1478, "pflags=0xfffffc00c852d", "pflags=0xfffffc00c852c",
                             tmp_path)  # unlocked again: PG_active, new since line 1475
    report = check_trace(active)
    assert report.conformant and report.counts[UNKNOWN] == 1


def test_6_12_the_same_race_needs_the_same_evidence(tmp_path: Path) -> None:
    # A real 6.12 writeerr_blkdebug capture: the failed write of line 428 (PG_reclaim set
    # at its entry, 0x3042a) ends at line 431 with it cleared (0x2043a). With PG_reclaim
    # and PG_locked (0x3043b), or PG_reclaim and a new PG_active (0x3053a), reclaim on
    # another CPU set it; PG_reclaim alone (0x3043a) is a divergence.
    lines = (TRACES / "v6_12" / "writeerr_blkdebug.trace.txt").read_text().splitlines(
        keepends=True)
    for flags, conformant in (("0xfffffd003043b", True), ("0xfffffd003053a", True),
                              ("0xfffffd003043a", False)):
        edited = _with_end_flags(lines, 431, "pflags=0xfffffd002043a", f"pflags={flags}",
                                 tmp_path)
        report = check_trace(edited)
        assert report.conformant == conformant, (flags, report.format())
        assert (UNKNOWN in report.counts) == conformant
        if not conformant:
            assert [d.lineno for d in report.divergences] == [431]
