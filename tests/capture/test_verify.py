"""Outcome assertions on a scenario's result files."""

from __future__ import annotations

from kmodel.capture import scenarios, verify

PROFILE_OK = "  do_swap_page      12   0\n  end_swap_bio_read  5   0\n"
STATS_OK = "KT: cpu0 overrun: 0\nKT: cpu0 commit overrun: 0\nKT: cpu1 overrun: 0\n"


def _result(log: str, trace: str = "", dmesg: str = "", profile: str = PROFILE_OK) -> verify.Result:
    return verify.Result(log + STATS_OK, trace, dmesg, profile)


def _scenario(name: str) -> scenarios.Scenario:
    return scenarios.by_name([name])[0]


OK_LOG = (
    "memhog: verified 256 pages (sequential order) in 0.1s: 0 bad\nKT: memhog pid=5 exit status 0\n"
)
BASIC_TRACE = (
    "m-5 (5) [000] ..... 1.0: swap_cluster_readahead: (x) entry=0x1\n"
    "m-5 (5) [000] ..... 1.1: block_bio_queue: 254,0 W 8 + 8 [m]\n"
)


def test_clean_run_passes() -> None:
    assert verify.problems(_scenario("basic"), _result(OK_LOG, BASIC_TRACE)) == []


def test_kprobe_misses_fail_with_the_fix() -> None:
    profile = PROFILE_OK + "  end_swap_bio_write  274  12\n"
    found = verify.problems(_scenario("basic"), _result(OK_LOG, BASIC_TRACE, profile=profile))
    assert len(found) == 1
    assert "end_swap_bio_write': 12" in found[0] and "completion IRQ" in found[0]


def test_overrun_fails_with_the_fix() -> None:
    log = OK_LOG + "KT: cpu1 overrun: 3\n"
    found = verify.problems(_scenario("basic"), _result(log, BASIC_TRACE))
    assert any("overrun" in p and "buffer_size_kb" in p for p in found)


def test_data_loss_fails() -> None:
    log = OK_LOG.replace("0 bad", "3 bad")
    assert any(
        "data lost" in p for p in verify.problems(_scenario("basic"), _result(log, BASIC_TRACE))
    )


def test_read_error_needs_sigbus_exit_dmesg_and_failed_completion() -> None:
    s = _scenario("readerr_blkdebug")
    found = verify.problems(s, _result(OK_LOG, BASIC_TRACE))
    assert any("expected 135" in p for p in found)
    assert any("Read-error" in p for p in found)
    assert any("end_swap_bio_read" in p for p in found)
    log = "memhog: SIGBUS si_code=2 addr=0x1 page_index=3\nKT: memhog pid=5 exit status 135\n"
    trace = "m-5 (5) [001] ..s1. 1.0: end_swap_bio_read: (x) bio=0x1 bi_status=10 sector=320\n"
    dmesg = "[ 4.4] Read-error on swap-device (254:32:320)\n"
    assert verify.problems(s, _result(log, trace, dmesg)) == []


def test_write_error_needs_failed_write_and_no_data_loss() -> None:
    s = _scenario("writeerr_flakey")
    trace = "m-5 (5) [000] ..... 1.0: end_swap_bio_write: (x) bio=0x1 bi_status=10 sector=160\n"
    dmesg = "[ 4.4] Write-error on swap-device (253:0:160)\n"
    assert verify.problems(s, _result(OK_LOG, trace, dmesg)) == []
    assert any("Write-error" in p for p in verify.problems(s, _result(OK_LOG, trace)))


def test_zram_forbids_bios() -> None:
    trace = (
        "m-5 (5) [000] ..... 1.0: bdev_write_page_ret: (a <- bdev_write_page) ret=0\n"
        "m-5 (5) [000] ..... 1.0: bdev_read_page_ret: (a <- bdev_read_page) ret=0\n"
    )
    s = _scenario("zram")
    assert verify.problems(s, _result(OK_LOG, trace)) == []
    bio = "m-5 (5) [000] ..... 1.1: block_bio_queue: 251,0 W 8 + 8 [m]\n"
    assert any("block_bio_queue" in p for p in verify.problems(s, _result(OK_LOG, trace + bio)))


def test_fork_needs_a_swap_entry_faulted_by_both_tasks() -> None:
    log = OK_LOG + OK_LOG.replace("memhog:", "memhog[child]:").splitlines(keepends=True)[0]
    one = "memhog-5 (5) [000] ..... 1.0: do_swap_page: (x) vmf=0x1 orig_pte=0x7ffff0a\n"
    two = one.replace("memhog-5 (5)", "memhog-6 (6)")
    s = _scenario("fork")
    assert any("both processes" in p for p in verify.problems(s, _result(log, one)))
    assert verify.problems(s, _result(log, one + two)) == []


def test_missing_exit_line_is_reported() -> None:
    found = verify.problems(_scenario("basic"), _result("", BASIC_TRACE))
    assert found[0] == "1 workload(s) never finished (no 'exit status' line in the log)"


def test_swapfile_needs_extents_after_the_first_and_bios() -> None:
    s = _scenario("swapfile")
    extent = "s-4 (4) [000] ..... 0.9: add_swap_extent: (a) type=0 start_page={} nr_pages=64 "
    trace = extent.format(0) + "start_block=585\n" + extent.format(64) + "start_block=713\n"
    trace += "m-5 (5) [000] ..... 1.1: block_bio_queue: 254,64 W 4688 + 8 [m]\n"
    assert verify.problems(s, _result(OK_LOG, trace)) == []
    one_extent = trace.split("\n", 1)[0] + "\n" + trace.rsplit("\n", 2)[1]
    found = verify.problems(s, _result(OK_LOG, one_extent))
    assert found == [f"trace has no line matching {s.expect[1]!r}"]


def test_two_hogs_need_two_exits_and_two_verified_lines() -> None:
    s = _scenario("hogs2")
    trace = "m-5 (5) [000] ..... 1.1: block_bio_queue: 254,0 W 8 + 8 [m]\n"
    found = verify.problems(s, _result(OK_LOG, trace))
    assert found == ["1 workload(s) never finished (no 'exit status' line in the log)"]
    two = OK_LOG + OK_LOG.replace("pid=5", "pid=6")
    assert verify.problems(s, _result(two, trace)) == []
    failed = two.replace("pid=6 exit status 0", "pid=6 exit status 1")
    assert "workload exit status 1, expected 0" in verify.problems(s, _result(failed, trace))


def test_hogs2_records_misses_without_failing() -> None:
    profile = PROFILE_OK + "  end_swap_bio_read  274  5\n"
    trace = "m-5 (5) [000] ..... 1.1: block_bio_queue: 254,0 W 8 + 8 [m]\n"
    two = OK_LOG + OK_LOG.replace("pid=5", "pid=6")
    assert verify.problems(_scenario("hogs2"), _result(two, trace, profile=profile)) == []
    assert verify.kprobe_misses(profile) == {"end_swap_bio_read": 5}


def test_oom_needs_sigkill_and_the_report() -> None:
    s = _scenario("oom")
    trace = (
        "m-5 (5) [000] ..... 1.0: console: memhog invoked oom-killer: gfp_mask=0xcc0\n"
        "m-5 (5) [000] ..... 1.1: console: Memory cgroup out of memory: Killed process 5\n"
    )
    dmesg = "[ 1.1] Memory cgroup out of memory: Killed process 5 (memhog)\n"
    killed = "KT: memhog pid=5 exit status 137\n"
    assert verify.problems(s, _result(killed, trace, dmesg)) == []
    found = verify.problems(s, _result(OK_LOG, trace))
    assert "workload exit status [0], expected 137 (SIGKILL by the OOM killer)" in found
    assert "no 'Memory cgroup out of memory' line in dmesg" in found
    assert any("invoked oom-killer" in p for p in verify.problems(s, _result(killed, "", dmesg)))


def test_clock_ties_count_only_cross_cpu_neighbours_with_equal_stamps() -> None:
    trace = (
        "# tracer: nop\n"
        "a-1 (1) [000] ..... 1.000001: x: \n"
        "a-1 (1) [000] ..... 1.000001: x: \n"  # same CPU: no pair
        "b-2 (2) [001] ..s.. 1.000001: y: \n"  # pair, tie
        "a-1 (1) [000] ..... 1.000002: x: \n"  # pair, no tie
        "b-2 (2) [001] ..s.. 1.000003: y: \n"  # pair, no tie
    )
    ties = verify.clock_ties(trace)
    assert (ties.pairs, ties.ties) == (3, 1)
    assert ties.rate == 1 / 3
    assert verify.clock_ties("# nothing\n").rate == 0.0
    assert verify.event_lines(trace) == 5


def test_profile_delta_counts_hits_and_misses_between_snapshots() -> None:
    before = "  do_swap_page" + " " * 33 + "100 0\n  end_swap_bio_read   7   2\n"
    after = "  do_swap_page   350   0\n  end_swap_bio_read   9   5\n  add_swap_extent   1   0\n"
    delta = verify.profile_delta(before, after)
    assert delta.splitlines()[0] == f"  {'do_swap_page':<44} {250:15d} {0:15d}"
    assert verify.kprobe_misses(delta) == {"end_swap_bio_read": 3}
    assert delta.splitlines()[2].split() == ["add_swap_extent", "1", "0"]
