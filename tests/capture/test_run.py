"""The host side of a run: console milestones, the wall-time split, checking a capture."""

from __future__ import annotations

from pathlib import Path

from kmodel.capture import run

ROOT = Path(__file__).resolve().parents[2]


def test_console_reports_each_milestone_once_as_it_appears(tmp_path: Path) -> None:
    console = tmp_path / "console.log"
    said: list[str] = []
    follow = run._Console(console, 0.0, said.append)
    follow.poll()  # no file yet
    console.write_text("[ 1.0] noise\nKT: init at 2.4s\nKT: scen")
    follow.poll()
    with console.open("a") as f:
        f.write("ario basic\nKT: scenario zram\n")
    follow.poll()
    follow.poll()
    assert [line for _, line in follow.milestones] == [
        "KT: init at 2.4s",
        "KT: scenario basic",
        "KT: scenario zram",
    ]
    assert [s.split("] ", 1)[1] for s in said] == [
        "init at 2.4s",
        "scenario basic",
        "scenario zram",
    ]


def test_host_seconds_split_boot_scenarios_and_tail() -> None:
    milestones = [
        (3.0, "KT: init at 2.4s"),
        (4.0, "KT: scenario basic"),
        (6.5, "KT: scenario zram"),
        (8.0, "KT: results: scenarios done at 7.1s"),
        (8.2, "KT: results written at 7.3s"),
    ]
    init, per, tail = run._host_seconds(milestones, ["basic", "zram"], 8.5)
    assert init == 3.0
    assert per == {"basic": 2.5, "zram": 1.5}
    assert tail == 0.5


def test_check_summarises_kmodel_check_on_a_captured_trace() -> None:
    trace = ROOT / "tests" / "data" / "traces" / "basic.trace.txt"
    checked = run.check(trace)
    assert checked.events > 1000
    assert checked.conformant == (checked.divergences == 0)
    assert checked.verdict.startswith(str(trace))


def test_check_of_an_unparsable_trace_is_a_divergent_summary(tmp_path: Path) -> None:
    bad = tmp_path / "bad.trace.txt"
    bad.write_text("# tracer: nop\nthis is no event line\n")
    checked = run.check(bad)
    assert not checked.conformant and checked.divergences == 1
    assert "cannot check" in checked.verdict and "bad.trace.txt" in checked.verdict


def test_check_reads_the_scenarios_kprobe_profile_beside_the_trace(tmp_path: Path) -> None:
    """A capture's own check reads NAME.kprobe_profile.txt, as `kmodel check` does: hits the
    probe missed (a one-CPU fault-injection kernel misses end_swap_bio_read hits) are unknown,
    not divergences."""
    lines = (ROOT / "tests" / "data" / "traces" / "basic.trace.txt").read_text().splitlines(True)
    dropped = [i for i, line in enumerate(lines) if " end_page_writeback: " in line][5:8]
    assert len(dropped) == 3
    trace = tmp_path / "basic.trace.txt"
    trace.write_text("".join(line for i, line in enumerate(lines) if i not in dropped))
    without = run.check(trace)
    assert not without.conformant and without.divergences > 0
    (tmp_path / "basic.kprobe_profile.txt").write_text(
        "  end_page_writeback                                      200               3\n")
    with_profile = run.check(trace)
    assert with_profile.conformant and with_profile.divergences == 0
    assert with_profile.unknown > without.unknown
    # A recorder's recording of the same run (trace-cmd's text) is checked with that run's
    # profile: a live hogs2 boot's trace-cmd recording diverged 30 times without it.
    recording = tmp_path / "basic.trace-cmd.txt"
    recording.write_text(trace.read_text())
    assert not run.check(recording).conformant
    recorded = run.check(recording, tmp_path / "basic.kprobe_profile.txt")
    assert (recorded.conformant, recorded.unknown) == (True, with_profile.unknown)
