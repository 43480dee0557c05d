"""The 6.1 checker's per-page state kept small (issue 12) without changing what it finds.

A page's last end of writeback (FM-3) is kept on the page while the page is tracked and in
`Checker._wb_ended` otherwise; these tests drive a trace through both places.
"""

from __future__ import annotations

from pathlib import Path

from kmodel.trace.check import Checker, check_trace
from kmodel.trace.parse import LineScanner

BASIC = Path(__file__).resolve().parents[2] / "kmodel" / "data" / "traces" / "basic.trace.txt"


def _end_then_read(lines: list[str]) -> tuple[int, int]:
    """The first page whose writeback ended (index of the end) and which is then read
    again (index of its swap_readpage) before any swap-out of it."""
    ended: dict[str, int] = {}
    for i, line in enumerate(lines):
        for name in ("end_page_writeback", "swap_readpage", "swap_writepage",
                     "__swap_writepage"):
            if f" {name}: " in line:
                addr = line.split(" page=", 1)[1].split()[0]
                if name == "end_page_writeback":
                    ended[addr] = i
                elif name == "swap_readpage" and addr in ended:
                    return ended[addr], i
                else:
                    ended.pop(addr, None)
    raise AssertionError("no page read again after its writeback ended")


def test_writeback_end_repeated_in_a_later_life_diverges(tmp_path: Path) -> None:
    """The page's end of writeback (line N) is forgotten with the page after its write
    completes, then the page is tracked again by a read: a second end of that writeback,
    without a swap_writepage, is still the FM-3 BUG and names line N."""
    lines = BASIC.read_text().splitlines(keepends=True)
    end, read = _end_then_read(lines)
    # The same end_page_writeback again, printed in the read's task at the read's time.
    at = lines[read]
    again = at[: at.index(" swap_readpage: ")] + " " + lines[end][
        lines[end].index("end_page_writeback: "):]
    lines.insert(read + 1, again)
    path = tmp_path / "again.trace.txt"
    path.write_text("".join(lines))
    report = check_trace(path, kernel="6.1")
    found = [d for d in report.divergences if d.lineno == read + 2]
    assert len(found) == 1, report.divergences
    assert found[0].branches == ("FM-3", "EW-3")
    assert f"its writeback ended at line {end + 1} and no swap_writepage" in found[0].message
    assert found[0].related == (end + 1,)


def test_unmodified_trace_conforms() -> None:
    """The trace the test above changes is conformant as committed (the divergence is the
    inserted line's)."""
    assert check_trace(BASIC, kernel="6.1").divergences == []


def test_tracked_pages_hold_their_own_writeback_end() -> None:
    """After a check, no page in `pages` has an entry in `_wb_ended` (it holds its own), and
    no page keeps a list of past bios."""
    path = BASIC
    checker = Checker(str(path), source=str(path))
    with path.open() as f:
        checker.feed_lines(LineScanner(str(path)), f)
    report = checker.finish()
    assert report.divergences == []
    assert checker.pages and checker._wb_ended  # both places in use on this trace
    assert not set(checker.pages) & set(checker._wb_ended)
    assert any(p.wb_ended is not None for p in checker.pages.values())
    assert all(isinstance(p.prev_bio, tuple) for p in checker.pages.values())
