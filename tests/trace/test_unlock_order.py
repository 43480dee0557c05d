"""A read completion's entry is its start: the page is unlocked later (mm/page_io.c:71).

The ``end_swap_bio_read`` probe fires at the function's entry; the page is unlocked at its
end, before the next event of its context. A fault on another CPU that overlaps it may find
the page still locked (``folio_lock_or_retry`` fails: ``0x404``, MAJOR|RETRY) even when the
completion's entry was printed before the fault's lock. The checker tries the unlock's
earliest and latest places; the model decides the fault's outcome at each.

The traces are a real ``readerr_blkdebug`` capture (page-cluster 3) with one completion
moved: the completion of the page a ``0x404`` fault waited for, its context (softirq on the
other CPU) otherwise unchanged, printed before the fault's ``swapin_readahead_ret`` (or
before the ``__read_swap_cache_async_ret`` that found the page), with a timestamp between
its new neighbours' — so before the fault's lock and ``do_swap_page_ret``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmodel.trace import check_trace

TRACE = Path(__file__).resolve().parents[1] / "data" / "traces" / "readerr_blkdebug.trace.txt"
_TS = re.compile(r" (\d+\.\d{6}): ")

#: (timestamp of a 0x404 do_swap_page_ret, the fault's event to print the completion before)
MOVES = [
    ("86.152450", "swapin_readahead_ret"),
    ("86.152450", "swap_cluster_readahead_ret"),
    ("85.699932", "swapin_readahead_ret"),
    ("85.699932", "__read_swap_cache_async_ret"),
]


def _ret(lines: list[str], ret_ts: str) -> int:
    (i,) = [i for i, line in enumerate(lines) if f" {ret_ts}: do_swap_page_ret: " in line]
    assert lines[i].rstrip().endswith("ret=0x404")
    return i


def _moved(ret_ts: str, before: str) -> tuple[list[str], int, int]:
    """The trace with the completion moved; (lines, its new index, the fault's return's)."""
    lines = TRACE.read_text().splitlines(keepends=True)
    r = _ret(lines, ret_ts)
    start = max(i for i in range(r) if " do_swap_page: " in lines[i])
    found = next(i for i in range(r, start, -1) if " swapin_readahead_ret: " in lines[i])
    page = re.search(r"page=(0x[0-9a-f]+)", lines[found])
    assert page is not None
    (c,) = [i for i in range(found, r) if " end_swap_bio_read: " in lines[i]
            and f"page={page.group(1)} " in lines[i]]
    cpu = lines[c][lines[c].index("["):lines[c].index("]") + 1]
    assert cpu not in lines[r]  # the completion ran on the other CPU
    completion = lines.pop(c)
    r = _ret(lines, ret_ts)
    at = next(i for i in range(r, start, -1) if f" {before}: " in lines[i])
    assert cpu not in "".join(lines[at:c])  # its own context's order is kept
    prev, nxt = (_TS.search(lines[i]) for i in (at - 1, at))
    assert prev is not None and nxt is not None
    usec = (int(prev.group(1).replace(".", "")) + int(nxt.group(1).replace(".", ""))) // 2
    ts = f"{usec // 10**6}.{usec % 10**6:06d}"
    assert prev.group(1) < ts < nxt.group(1)  # a timestamp strictly between
    old = _TS.search(completion)
    assert old is not None
    lines.insert(at, completion.replace(f" {old.group(1)}: ", f" {ts}: ", 1))
    return lines, at, _ret(lines, ret_ts)


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "moved.trace.txt"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize(("ret_ts", "before"), MOVES)
def test_completion_entry_before_the_lock_may_still_hold_the_page(
        tmp_path: Path, ret_ts: str, before: str) -> None:
    lines, at, r = _moved(ret_ts, before)
    assert at < r - 1  # the fault's own events lie between the completion and its return
    report = check_trace(_write(tmp_path, lines))
    assert report.divergences == [], report.format()
    assert report.conformant


@pytest.mark.parametrize("ret", ["0x2", "0x400", "0x0"])
def test_a_return_the_model_never_allows_still_diverges(tmp_path: Path, ret: str) -> None:
    lines, _at, r = _moved("86.152450", "swapin_readahead_ret")
    lines[r] = lines[r].replace("ret=0x404", f"ret={ret}")
    report = check_trace(_write(tmp_path, lines))
    assert report.divergences, f"ret={ret} not flagged"
    first = report.divergences[0]
    assert first.lineno == r + 1
    # The model's outcomes at both places of the unlock: unlocked before the lock
    # (MAJOR), still locked (MAJOR|RETRY).
    assert set(first.allowed) == {"0x4 (MAJOR)", "0x404 (MAJOR|RETRY)"}, report.format()


FORK = TRACE.parent / "fork.trace.txt"


def _cache_hit_after_open_completion() -> tuple[list[str], int]:
    """fork.trace.txt: a fault that found in the swap cache a page whose completion entered
    on the other CPU before the fault began, that CPU printing nothing until after the
    fault's return; (lines, index of the fault's do_swap_page_ret)."""
    lines = FORK.read_text().splitlines(keepends=True)
    r = 2106  # the 0-based index of line 2107
    assert " do_swap_page_ret: " in lines[r] and lines[r].rstrip().endswith("ret=0x0")
    start = r - 1
    assert " do_swap_page: " in lines[start]
    c = max(i for i in range(start) if " end_swap_bio_read: " in lines[i])
    cpu = lines[c][lines[c].index("["):lines[c].index("]") + 1]
    assert cpu not in "".join(lines[c + 1:r + 1])  # the completion's CPU printed nothing since
    return lines, r


def test_a_fault_begun_after_a_completion_entry_may_find_the_page_locked(
        tmp_path: Path) -> None:
    """The recorders' disagreement (docs/recorders.md): the completion printed first, the
    fault still found its page locked and returned VM_FAULT_RETRY."""
    lines, r = _cache_hit_after_open_completion()
    assert check_trace(FORK).conformant  # as recorded: the page was found unlocked
    lines[r] = lines[r].replace("ret=0x0", "ret=0x400")
    report = check_trace(_write(tmp_path, lines))
    assert report.divergences == [], report.format()


@pytest.mark.parametrize("ret", ["0x404", "0x2"])
def test_a_cache_hit_the_model_never_returns_still_diverges(tmp_path: Path, ret: str) -> None:
    lines, r = _cache_hit_after_open_completion()
    lines[r] = lines[r].replace("ret=0x0", f"ret={ret}")
    first = check_trace(_write(tmp_path, lines)).divergences[0]
    assert first.lineno == r + 1
    assert set(first.allowed) == {"0x0", "0x400 (RETRY)"}
