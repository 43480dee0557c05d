"""Counting trace clocks (counter, uptime, x86-tsc, perf): Linux prints their timestamps as one
integer ("%llu", kernel/trace/trace_output.c:590-603). They order events and tell ties; they
give no time, so what depends on the time (printk's ratelimit) is unknown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmodel.errors import TraceFormatError
from kmodel.trace import check_trace
from kmodel.trace.parse import parse_trace, read_kprobe_profile
from kmodel.trace.report import CheckReport
from tests.trace.model_mutations import MODEL_MUTATIONS, planted
from tests.trace.test_slot_ledger import NO_SWAP_FREE

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "tests" / "data" / "traces"
_TS = re.compile(r"(\s)(\d+)\.(\d{6})\d{0,3}: ")
_COUNT = re.compile(r"\] \S+\s+(\d+): ")


def counting(src: Path, dst: Path, tick_us: int = 1) -> Path:
    """``src`` as a counting clock of one tick per ``tick_us`` microseconds prints it: the
    same events in the same order, each timestamp an integer (``tick_us`` 4000: uptime's
    jiffies at HZ=250; 1: a count with the trace's own ties)."""
    out = []
    for line in src.read_text().splitlines(keepends=True):
        if not line.startswith("#"):
            line = _TS.sub(lambda m: f"{m[1]}{(int(m[2]) * 1_000_000 + int(m[3])) // tick_us}: ",
                           line, count=1)
        out.append(line)
    dst.write_text("".join(out))
    return dst


@pytest.mark.parametrize("name", ["readerr_blkdebug", "writeerr_flakey", "fork",
                                  "v6_12/readerr_blkdebug", "v6_12/zswap"])
def test_a_counting_clock_checks_as_the_nanosecond_clock_does(name: str, tmp_path: Path) -> None:
    src = TRACES / f"{name}.trace.txt"
    report = check_trace(counting(src, tmp_path / "counter.trace.txt"))
    original = check_trace(src)
    assert report.divergences == [] and original.divergences == []
    assert report.counts == original.counts  # the same order and ties: the same checks


def test_the_events_keep_the_count_as_their_timestamp(tmp_path: Path) -> None:
    src = TRACES / "basic.trace.txt"
    events = [e for e in parse_trace(counting(src, tmp_path / "c.trace.txt"))
              if hasattr(e, "ts")]
    original = [e for e in parse_trace(src) if hasattr(e, "ts")]
    assert [e.ts for e in events] == [e.ts for e in original]


def test_a_planted_model_bug_still_diverges_with_a_counting_clock(tmp_path: Path) -> None:
    path = counting(TRACES / "readerr_blkdebug.trace.txt", tmp_path / "c.trace.txt")
    with planted(MODEL_MUTATIONS["ds_major_not_set"]):
        found = check_trace(path, max_divergences=1).divergences
    assert found
    # The divergence's line is printed as tracefs prints a counting clock: " %12llu".
    raw = path.read_text().splitlines()[found[0].lineno - 1]
    stamp = _COUNT.search(raw)
    assert stamp is not None and f" {int(stamp[1]):12d}: " in found[0].line


def test_a_counting_clock_leaves_the_ratelimit_unknown(tmp_path: Path) -> None:
    """writeerr_blkdebug's 21 alerts and "callbacks suppressed" lines fall within 0.3 s:
    stretched 30 times on a clock that keeps time, printk's 5 s ratelimit would have printed
    alerts the trace suppressed (a divergence: no real kernel prints that trace); as a count
    of unknown unit, the same stretch only makes the ratelimit's state unknown."""
    src = TRACES / "writeerr_blkdebug.trace.txt"
    timed = stretched(src, tmp_path / "timed.trace.txt", 30, counting=False)
    counted = stretched(src, tmp_path / "counted.trace.txt", 30, counting=True)
    judged = check_trace(timed)
    assert judged.divergences and all(d.branches == ("EW-1", "PR-1")
                                      for d in judged.divergences)
    report = check_trace(counted)
    assert report.divergences == []
    assert report.counts["unknown:ratelimit-state"] == len(judged.divergences)
    assert check_trace(src).counts.get("unknown:ratelimit-state", 0) == 0


def stretched(src: Path, dst: Path, factor: int, *, counting: bool) -> Path:
    def ts(us: int) -> str:
        us *= factor
        return str(us) if counting else f"{us // 1_000_000}.{us % 1_000_000:06d}"

    out = [line if line.startswith("#") else
           _TS.sub(lambda m: f"{m[1]}{ts(int(m[2]) * 1_000_000 + int(m[3]))}: ", line, count=1)
           for line in src.read_text().splitlines(keepends=True)]
    dst.write_text("".join(out))
    return dst


def test_mixed_clocks_are_bad_input(tmp_path: Path) -> None:
    src = TRACES / "basic.trace.txt"
    lines = counting(src, tmp_path / "c.trace.txt").read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if "[001]" in line)
    lines[first] = _TS.sub(lambda m: m[0], src.read_text().splitlines(keepends=True)[first])
    bad = tmp_path / "mixed.trace.txt"
    bad.write_text("".join(lines))
    with pytest.raises(TraceFormatError) as info:
        list(parse_trace(bad))
    assert info.value.lineno == first + 1
    assert "a SECONDS.MICROSECONDS timestamp after integer ones" in info.value.message
    with pytest.raises(TraceFormatError) as info:
        check_trace(bad)
    assert info.value.lineno == first + 1


def test_a_count_that_goes_back_is_bad_input_and_printed_as_a_count(tmp_path: Path) -> None:
    lines = counting(TRACES / "basic.trace.txt", tmp_path / "c.trace.txt").read_text()
    events = [i for i, line in enumerate(lines.splitlines()) if "[000]" in line]
    rows = lines.splitlines(keepends=True)
    later = re.search(r"\s(\d+): ", rows[events[5]])
    assert later is not None
    own = re.search(r"\s(\d+): ", rows[events[6]])
    assert own is not None
    rows[events[6]] = rows[events[6]].replace(own[0], f" {int(later[1]) - 1}: ", 1)
    bad = tmp_path / "back.trace.txt"
    bad.write_text("".join(rows))
    with pytest.raises(TraceFormatError) as info:
        check_trace(bad)
    assert info.value.lineno == events[6] + 1
    assert f"timestamp {int(later[1]) - 1} is before {later[1]}" in info.value.message


CLOCKS = sorted([*(TRACES / "clocks").glob("*.trace.txt*"),
                 *(TRACES / "clocks" / "v6_12").glob("*.trace.txt*")])


@pytest.mark.parametrize("path", CLOCKS, ids=lambda p: p.name)
def test_real_counting_clock_captures_conform(path: Path) -> None:
    """Real 6.1 and 6.12 captures at trace_clock counter and uptime (tests/data/traces/clocks):
    the uptime ones tie 25-46 % of cross-CPU neighbours (jiffies), hogs2 on two busy CPUs."""
    header = path.read_text() if path.suffix == ".txt" else ""
    assert header == "" or "# trace-clock: counter" in header or "# trace-clock: uptime" in header
    profile = path.parent / (path.name.split(".trace.txt")[0] + ".kprobe_profile.txt")
    report = check_trace(path, missed=read_kprobe_profile(str(profile)))
    assert report.divergences == [], report.format()
    assert report.unknown <= report.counts["events"] * 5 // 100
    assert report.counts["checks"] > report.counts["events"] // 4


# -- a fault's order against another CPU's events within a jiffy ---------------------------


def _with_profile(name: str) -> CheckReport:
    profile = TRACES / "clocks" / f"{name}.kprobe_profile.txt"
    return check_trace(TRACES / "clocks" / f"{name}.trace.txt.xz",
                       missed=read_kprobe_profile(str(profile)))


@pytest.mark.parametrize("name", ["fork_uptime_whole2", "hogs2_uptime_whole2"])
def test_a_fault_diverging_only_in_a_ticks_order_is_unknown_at_uptime(name: str) -> None:
    # Live captures at uptime (jiffies) where another CPU's operation on the fault's slot or
    # page in the same tick may have come first: not a divergence (a fork child holding the
    # page's lock; the other hog's slot operation)
    report = _with_profile(name)
    assert report.conformant, [d.message for d in report.divergences]
    assert report.counts.get("unknown:fault-order-within-a-tick", 0) >= 1


@pytest.mark.parametrize("name", ["fork_uptime_whole2", "hogs2_uptime_whole3",
                                  "hogs2_uptime_whole", "writeerr_flakey_uptime_whole"])
def test_a_planted_fault_bug_still_diverges_at_uptime(name: str) -> None:
    # The rule is narrow: only a fault with another CPU's event naming its slot or one of
    # its pages in its ticks; a model without do_swap_page's swap_free still diverges.
    with planted(NO_SWAP_FREE):
        report = _with_profile(name)
    assert not report.conformant
    unknown = report.counts.get("unknown:fault-order-within-a-tick", 0)
    assert unknown < len(report.divergences), (unknown, len(report.divergences))


def test_the_tick_rule_is_not_taken_at_the_counter_clock() -> None:
    # counter counts about one per event: no two CPUs' events share a count, nothing is
    # unknown for a tick's order, and a planted bug diverges as at a microsecond clock
    with planted(NO_SWAP_FREE):
        report = check_trace(TRACES / "clocks" / "fork_counter.trace.txt.xz")
    assert not report.conformant
    assert "unknown:fault-order-within-a-tick" not in report.counts

