"""A struct page freed and reused while a fault ran: its earlier life's completion is not
the fault's.

A fault's replay gets every ``end_swap_bio_read`` printed during its span. One of a page
the fault reads, printed before the fault's ``swap_readpage`` of that page, ended a read of
the page's earlier life (another task's, before the page was freed and allocated again): it
cannot complete the bio the fault submits later. Only a tie (equal timestamps, the
completion's CPU the lower: ftrace's merge order) leaves it in doubt.
"""

from __future__ import annotations

from pathlib import Path

from kmodel.trace import check_trace
from kmodel.trace.parse import read_kprobe_profile
from kmodel.trace.replay import FAULT_EVENTS, Completion, Replayer, Step, _Run
from tests.trace.model_mutations import ALL_MUTATIONS, MODEL_MUTATIONS, planted

CLOCKS = Path(__file__).resolve().parents[1] / "data" / "traces" / "clocks"
SLOTS = CLOCKS.parent / "slots"
PAGE = 0xFFFFEA00007A58C0


def test_a_completion_of_a_reused_pages_earlier_life_is_not_the_faults() -> None:
    # CI's live fork capture at counter: the fault of line 6334 slept in
    # __read_swap_cache_async's -EEXIST retry while the other process read, used and freed
    # struct page ...58c0 (its read's completion at line 6618), then read its slot into that
    # same page (line 7540) and, its read in flight as swapin_readahead returned, waited for
    # the unlock: MAJOR|RETRY at line 7584. Taking line 6618 for the fault's own read had
    # the model find the page unlocked (MAJOR). A model that never retries diverges there
    # (and at the trace's other RETRYs).
    path = CLOCKS / "fork_counter_eexist.trace.txt.xz"
    missed = read_kprobe_profile(str(CLOCKS / "fork_counter_eexist.kprobe_profile.txt"))
    report = check_trace(path, missed=missed)
    assert report.conformant, [d.message for d in report.divergences]
    with planted(MODEL_MUTATIONS["ds_retry_without_flag"]):
        report = check_trace(path, missed=missed)
    assert 7584 in {d.lineno for d in report.divergences}, report.format()


def _steps(read_ts: int, read_cpu: int) -> list[Step]:
    return [Step(10, 100, 0, "do_swap_page", {}),
            Step(20, read_ts, read_cpu, "swap_readpage", {"page": hex(PAGE)}),
            Step(30, 300, 0, "do_swap_page_ret", {"ret": "0x404"})]


def _expired(steps: list[Step], completion: Completion) -> dict[int, list[Completion]]:
    return _Run(Replayer(), steps, FAULT_EVENTS, [completion], late=False).expire


def test_a_completion_printed_before_the_read_of_its_page_expires_with_the_read() -> None:
    earlier = Completion(15, 150, 1, PAGE, 0, 0)
    assert _expired(_steps(200, 0), earlier) == {1: [earlier]}
    later = Completion(25, 250, 1, PAGE, 0, 0)  # after the read: may be the fault's own
    assert _expired(_steps(200, 0), later) == {}
    other = Completion(15, 150, 1, PAGE + 0x40, 0, 0)  # another page
    assert _expired(_steps(200, 0), other) == {}


def test_a_completion_tied_with_the_read_of_its_page_may_be_its_own() -> None:
    # Equal timestamps, the completion on the lower CPU: ftrace prints it first whichever
    # came first, so it may be the end of the fault's own read.
    tied = Completion(15, 200, 0, PAGE, 0, 0)
    assert _expired(_steps(200, 1), tied) == {}
    # The completion on the higher CPU would have been printed after the read: no tie.
    untied = Completion(15, 200, 1, PAGE, 0, 0)
    assert _expired(_steps(200, 0), untied) == {1: [untied]}


def test_a_page_another_task_adds_during_the_eexist_retry_is_found_after_the_sleep() -> None:
    # CI's configuration (fork at counter), a live boot: memhog-280's readahead lookup of slot
    # 0x2 (line 12510) missed while memhog-273 held the slot adding its page (its
    # swapcache_prepare at line 12474); 280's swapcache_prepare failed with -EEXIST (line
    # 12512), it slept a tick and, retrying, found 273's page (line 12908). The replay had put
    # that page in the swap cache at the lookup: the model found it at once.
    path = CLOCKS / "fork_counter_eexist2.trace.txt.xz"
    missed = read_kprobe_profile(str(CLOCKS / "fork_counter_eexist2.kprobe_profile.txt"))
    assert check_trace(path, missed=missed).conformant
    with planted(ALL_MUTATIONS["ra_gives_up_on_eexist"]):  # a survivor of the bundled traces
        report = check_trace(path, missed=missed, max_divergences=10_000)
    assert 12908 in {d.lineno for d in report.divergences}, report.format()


def test_a_page_found_after_two_eexist_retries_arrives_in_the_second_sleep() -> None:
    # A live bpftrace recording of fork (6.1, all 18 scenarios, --recorder bpftrace): the
    # lookup of slot 0x10 (line 4285) failed swapcache_prepare twice (lines 4287, 4919), the
    # task slept twice and found the other task's page after the second sleep (line 5597).
    # A model that gives up at the first failure diverges at the second try (line 4918).
    path = SLOTS / "fork_eexist_twice.bpftrace.txt.xz"
    missed = read_kprobe_profile(str(SLOTS / "fork_eexist_twice.kprobe_profile.txt"))
    assert check_trace(path, missed=missed).conformant
    with planted(ALL_MUTATIONS["ra_gives_up_on_eexist"]):
        report = check_trace(path, missed=missed, max_divergences=10_000)
    assert 4918 in {d.lineno for d in report.divergences}, report.format()
