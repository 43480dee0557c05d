"""Checker gaps the mutation run found (docs/mutation.md), closed: each test plants the model
bug that survived ``kmodel check`` on the real traces, or edits a real trace, and asserts the
divergence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmodel.mm import swap_state
from kmodel.trace import check_trace
from tests.trace.model_mutations import ModelMutation, planted

BASIC = Path(__file__).resolve().parents[1] / "data" / "traces" / "basic.trace.txt"

#: Survivor of the mutation run: kmodel/block/bio.py bio_add_page, ``bio.bi_size += length``
#: deleted: every swap bio is queued with 0 sectors (the trace's block_bio_queue: ``+ 8``).
BIO_WITHOUT_SIZE = ModelMutation(
    "bio_add_page_no_size", "kmodel.block.bio", "bio_add_page",
    "bio.bi_size += length", "pass", "bio_add_page does not grow the bio")


def test_block_bio_queue_size_is_compared_model_bug() -> None:
    assert check_trace(BASIC).conformant
    with planted(BIO_WITHOUT_SIZE):
        first = check_trace(BASIC, max_divergences=1).divergences
    assert first, "a swap bio of 0 sectors conforms"
    assert "nr_sector=0, the trace's nr_sector=8" in first[0].message, first[0].message


def test_block_bio_queue_size_is_compared_trace_edit(tmp_path: Path) -> None:
    """The first swap-out's bio made 16 sectors long in the real trace: it diverges there."""
    lines = BASIC.read_text().splitlines(keepends=True)
    pattern = re.compile(r"(block_bio_queue: \d+,\d+ W \d+ \+ )8 ")
    lineno = next(i for i, line in enumerate(lines, 1) if pattern.search(line))
    lines[lineno - 1] = pattern.sub(r"\g<1>16 ", lines[lineno - 1])
    edited = tmp_path / "basic-16-sectors.trace.txt"
    edited.write_text("".join(lines))
    first = check_trace(edited, max_divergences=1).divergences
    assert first and first[0].lineno == lineno, [d.message for d in first]
    assert "nr_sector=8, the trace's nr_sector=16" in first[0].message


def test_swapin_gfp_is_compared_model_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Survivor: GFP_HIGHUSER_MOVABLE off by one in kmodel/mm/swap_state.py; every swap-in
    probe of the captures shows gfp=0x100cca (do_swap_page's GFP_HIGHUSER_MOVABLE)."""
    monkeypatch.setattr(swap_state, "GFP_HIGHUSER_MOVABLE", 0x100CCB)
    first = check_trace(BASIC, max_divergences=1).divergences
    assert first, "a swap-in with another gfp conforms"
    assert "gfp=0x100ccb, the trace's gfp=0x100cca" in first[0].message, first[0].message


def test_swapin_gfp_is_compared_trace_edit(tmp_path: Path) -> None:
    lines = BASIC.read_text().splitlines(keepends=True)
    lineno = next(i for i, line in enumerate(lines, 1) if " swapin_readahead: " in line)
    assert " gfp=0x100cca " in lines[lineno - 1]
    lines[lineno - 1] = lines[lineno - 1].replace(" gfp=0x100cca ", " gfp=0x100c4a ")
    edited = tmp_path / "basic-gfp.trace.txt"
    edited.write_text("".join(lines))
    first = check_trace(edited, max_divergences=1).divergences
    assert first and first[0].lineno == lineno, [d.message for d in first]
    assert "gfp=0x100cca, the trace's gfp=0x100c4a" in first[0].message


#: Survivor (a crash, not a kill): offset_to_swap_extent's range test flipped, so every slot is
#: "in no extent" and the model BUG()s computing a sector; the checker died with a traceback.
SLOT_IN_NO_EXTENT = ModelMutation(
    "offset_in_no_extent", "kmodel.mm.swapfile", "offset_to_swap_extent",
    "if se.start_page <= offset < se.start_page + se.nr_pages:",
    "if se.start_page > offset:", "every swap slot is outside its area's extents")


def test_a_model_bug_computing_a_sector_is_a_divergence_not_a_traceback() -> None:
    with planted(SLOT_IN_NO_EXTENT):
        report = check_trace(BASIC, max_divergences=1)
    assert report.divergences, "a model that BUG()s on every sector conforms"
    first = report.divergences[0]
    assert "the model BUG()s" in first.message and "in no extent" in first.message, first.message
    assert "SE-1" in first.branches


BRD = BASIC.parent / "brd.trace.txt"

#: Survivor (G4): folio_end_writeback does not clear PG_writeback. The checker ran
#: end_page_writeback on the probe's flags; now the model's flags after a write (the brd
#: capture's rw_page writes are replayed on the model) are carried to the page's next swap-out.
WRITEBACK_KEPT = ModelMutation(
    "folio_end_writeback_keeps_writeback", "kmodel.mm.filemap", "folio_end_writeback",
    "folio.flags &= ~PG_writeback", "pass", "writeback never ends on the model's page")


def test_writeback_left_by_the_model_is_compared_at_the_next_swap_out() -> None:
    assert check_trace(BRD).conformant
    with planted(WRITEBACK_KEPT):
        report = check_trace(BRD, max_divergences=1)
    assert report.divergences, "a model whose writeback never ends conforms on brd"
    first = report.divergences[0]
    lines = BRD.read_text().splitlines()
    assert " swap_writepage: " in lines[first.lineno - 1]
    assert "still under writeback" in first.message, first.message
    page = re.search(r"page=(0x[0-9a-f]+)", lines[first.lineno - 1])
    assert page is not None
    earlier = [line for line in lines[:first.lineno - 1] if f"page={page.group(1)}" in line]
    assert any(" swap_writepage: " in line for line in earlier)  # written before: carried


def test_completion_size_is_compared_model_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """G3: the size= a read completion shows is what the request's completion left of the
    bio (0 after bio_advance); in a fault's replay the model's bio after its request
    completed is compared with it. Planted: a request completion leaving 512 bytes."""
    from kmodel.block import blk_core
    from kmodel.block.bio import bio_endio  # what blk_core's Request.end calls
    from kmodel.include.linux.blk_types import Bio
    from kmodel.kernel import Kernel

    def short_advance(k: Kernel, bio: Bio) -> None:
        bio.bi_size = 512
        bio_endio(k, bio)

    monkeypatch.setattr(blk_core, "bio_endio", short_advance)
    first = check_trace(BASIC, max_divergences=1).divergences
    assert first, "a bio left with 512 bytes after its completion conforms"
    assert "sees bi_size=512 left after the request's completion, the trace's size=0" in \
        first[0].message, first[0].message


def test_completion_size_of_a_device_mapper_is_not_compared() -> None:
    """dm-flakey is bio-based: its completions show the original bio, never advanced
    (size=4096), which the replay's request-based model device is not held to: only a
    completion showing 0 (a request completed the bio) is compared."""
    flakey = BASIC.parent / "readerr_flakey.trace.txt"
    assert " size=4096 " in flakey.read_text()
    assert check_trace(flakey).conformant


#: Survivor (G4): the write bio gets no bi_end_io. The oracle ran end_swap_bio_write itself;
#: now a replayed swap-out's bio is completed by the model's bio_endio, through its bi_end_io.
WRITE_WITHOUT_END_IO = ModelMutation(
    "write_bio_without_end_io", "kmodel.mm.page_io", "_swap_writepage_body",
    "bio.bi_end_io = end_swap_bio_write", "pass", "the swap write bio has no bi_end_io")


def test_a_write_completes_through_the_model_bios_end_io() -> None:
    with planted(WRITE_WITHOUT_END_IO):
        report = check_trace(BASIC, max_divergences=1)
    assert report.divergences, "a write bio without bi_end_io conforms"
    first = report.divergences[0]
    lines = BASIC.read_text().splitlines()
    assert " end_swap_bio_write: " in lines[first.lineno - 1]
    assert "runs no bi_end_io, the trace end_swap_bio_write" in first.message, first.message
    assert first.branches == ("BIO-2", "WP-4")
