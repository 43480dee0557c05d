"""A fault that found its page in the swap cache locked by another task, and retried.

``folio_lock_or_retry`` fails on a page another task holds locked; with
FAULT_FLAG_ALLOW_RETRY the fault waits for that task's unlock and returns VM_FAULT_RETRY
(mm/memory.c:3918, mm/filemap.c:1736-1767). No event shows the lock, but the holder's slot
operation on the fault's slot while the fault ran does (reclaim's try_to_unmap_one calls
swap_duplicate with the page locked): the replay then tries the page locked at the fault's
lookup, unlocked by its holder when the fault sleeps on it, after the fault without it.
"""

from __future__ import annotations

from pathlib import Path

from kmodel.trace import check_trace
from kmodel.trace.parse import read_kprobe_profile
from tests.trace.model_mutations import MODEL_MUTATIONS, planted

SLOTS = Path(__file__).resolve().parents[1] / "data" / "traces" / "slots"
TRACE = SLOTS / "fork_reclaim_lock.trace.txt.xz"


def test_a_fault_waiting_for_reclaims_page_lock_conforms() -> None:
    # A live fork capture (6.1, trace_clock mono): memhog-1121's fault on slot 0xd5 (line
    # 12194) found its page in the swap cache while memhog-1114, in direct reclaim on the
    # same CPU, held it locked (its try_to_unmap_one's swap_duplicate of 0xd5, line 12195);
    # the fault returned VM_FAULT_RETRY (0x400, line 12197), its retry mapped the page.
    report = check_trace(TRACE, missed=read_kprobe_profile(
        str(SLOTS / "fork_reclaim_lock.kprobe_profile.txt")))
    assert report.conformant, [d.message for d in report.divergences]
    assert report.unknown <= report.counts["events"] // 100


def test_a_model_that_never_retries_diverges_at_that_return() -> None:
    with planted(MODEL_MUTATIONS["ds_retry_without_flag"]):
        report = check_trace(TRACE, max_divergences=10_000)  # and at the other RETRYs
    assert 12197 in {d.lineno for d in report.divergences}, report.format()
