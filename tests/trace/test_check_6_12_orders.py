"""Both completion orders at a fault that met its folio locked (6.12 checker).

A read completion's unlock (ER-3) comes after its ``__end_swap_bio_read`` entry, and before
the next event its context prints. When that context prints nothing between the entry and
the fault's ``folio_lock_or_retry``, the unlock may have come on either side of the lock,
whatever order the recorder printed the entry and the fault in: a live 6.12
``writeerr_flakey`` recorded by tracefs (the fault inside the other CPU's completion) and by
bpftrace (after it) in one boot gave 8,177 and 8,178 checked outcomes before both orders were
tried there (docs/recorders.md). These tests edit a real capture (fork.trace.txt: a fault
that returned VM_FAULT_RETRY while the read of its swap cache folio completed on CPU 1) by
moving the completion across the fault, and check that the count does not change.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from kmodel.trace.check_6_12 import check_trace_6_12
from kmodel.trace.report import CheckReport

FORK = Path(__file__).resolve().parents[1] / "data" / "traces" / "v6_12" / "fork.trace.txt"
LINES = FORK.read_text().splitlines(keepends=True)
CONTENTION = "input:fault-lock-contention"

#: The fault (memhog-1176, a swap cache hit of entry 0x14, folio 0xffffea00001e19c0) and the
#: request completion on CPU 1 whose first bio is that folio's read.
FAULT = next(i for i, line in enumerate(LINES) if " 33.996483: do_swap_page: " in line)
REQUEST = next(i for i, line in enumerate(LINES) if " 33.997429: block_rq_complete: " in line)


def _check(lines: list[str]) -> CheckReport:
    return check_trace_6_12(io.StringIO("".join(lines)), name="edited")


def _moved(n: int) -> list[str]:
    """The trace with the request's completion and its next ``n - 1`` CPU 1 lines moved
    before the fault, at timestamps between the fault's previous line and the fault."""
    before = float(re.search(r" (\d+\.\d{6}): ", LINES[FAULT - 1])[1])  # type: ignore[index]
    at = float(re.search(r" (\d+\.\d{6}): ", LINES[FAULT])[1])  # type: ignore[index]
    step = (at - before) / (n + 1)
    assert step >= 1e-6, "no room for the moved lines' timestamps"
    block = [re.sub(r" \d+\.\d{6}: ", f" {before + (i + 1) * step:.6f}: ", line, count=1)
             for i, line in enumerate(LINES[REQUEST:REQUEST + n])]
    out = LINES[:REQUEST] + LINES[REQUEST + n:]
    return out[:FAULT] + block + out[FAULT:]


def test_the_edited_lines_are_what_the_tests_say() -> None:
    fault_ret = next(line for line in LINES[FAULT + 1:] if "memhog-1176 " in line)
    assert fault_ret.rstrip().endswith("do_swap_page_ret: (__handle_mm_fault+0x7d7/0xf90 <- "
                                       "do_swap_page) ret=0x400")  # VM_FAULT_RETRY
    names = [re.search(r": (\w+): ", line)[1] for line in LINES[REQUEST:REQUEST + 5]]  # type: ignore[index]
    assert names == ["block_rq_complete", "end_swap_bio_read", "__end_swap_bio_read",
                     "end_swap_bio_read", "__end_swap_bio_read"]
    assert all("[001] ..s1." in line for line in LINES[REQUEST:REQUEST + 5])
    assert "page=0xffffea00001e19c0 " in LINES[REQUEST + 2]  # the fault's folio
    assert REQUEST > FAULT  # as recorded: the completion inside the fault


def test_a_completion_moved_before_the_fault_gives_the_same_count() -> None:
    """The completion's entry before the fault, its context silent until after the fault's
    lock: its unlock may still come after the lock, so the fault is checked as before."""
    original = _check(LINES)
    assert original.conformant
    edited = _check(_moved(3))
    assert edited.conformant, edited.format()
    assert edited.counts["events"] == original.counts["events"]
    assert edited.counts["checks"] == original.counts["checks"]
    assert edited.counts.get(CONTENTION) == original.counts.get(CONTENTION)


def test_a_completion_whose_context_moved_on_before_the_fault_was_unlocked() -> None:
    """The control: the completion's context prints its next completion before the fault,
    so the first one's unlock came before the fault's lock; the fault meeting the folio
    locked is then lock contention, an input: one checked outcome fewer."""
    original = _check(LINES)
    edited = _check(_moved(5))
    assert edited.conformant, edited.format()
    assert edited.counts["checks"] == original.counts["checks"] - 1
    assert edited.counts.get(CONTENTION, 0) == original.counts.get(CONTENTION, 0) + 1
