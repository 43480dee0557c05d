"""Equal timestamps on two CPUs are concurrency: a coarse trace clock must not make a real
trace diverge, and a genuine bug must still show (issue 10, item 1).

Every committed real trace (6.1: the top level, conditions/, fi/ and the bundled ones in
kmodel/data; 6.12: v6_12/) is checked with its clock coarsened to 1 ms, 4 ms (HZ=250's
jiffy) and 10 ms, as :func:`coarsen` prints it.
"""

from __future__ import annotations

import re
import shutil
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from kmodel.trace import check_trace
from kmodel.trace.parse import read_kprobe_profile
from kmodel.trace.report import CheckReport
from tests.trace.model_mutations import MODEL_MUTATIONS, ModelMutation, planted
from tests.trace.mutations import MUTATIONS
from tests.trace.test_counting_clock import counting

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "tests" / "data" / "traces"
TRACES_6_1 = sorted(
    [*TRACES.glob("*.trace.txt"), *(TRACES / "conditions").glob("*.trace.txt"),
     *(TRACES / "fi").glob("*.trace.txt"), *(ROOT / "kmodel" / "data" / "traces").glob(
         "*.trace.txt")]
)
TRACES_6_12 = sorted((TRACES / "v6_12").glob("*.trace.txt"))
REAL_TRACES = TRACES_6_1 + TRACES_6_12
#: 1 ms, a jiffy at HZ=250, 10 ms.
GRANULARITIES = {"1ms": 1000, "4ms": 4000, "10ms": 10000}
_LINE = re.compile(r"^(.*?\[(\d{3})\] \S+\s+)(\d+)\.(\d{6})(: .*)$", re.S)


def coarsen(lines: list[str], granularity_us: int) -> tuple[list[str], float]:
    """The trace as a clock of ``granularity_us`` would print it: timestamps rounded down,
    equal ones merged CPU 0 first (each CPU's own order kept); and the share of events whose
    timestamp equals the previous one's. A line that is no event (the header; a multi-line
    console message's continuation) stays with the event before it."""
    head: list[str] = []
    events: list[tuple[tuple[int, int], list[str]]] = []
    for line in lines:
        m = _LINE.match(line)
        if m is None:
            (events[-1][1] if events else head).append(line)
            continue
        us = int(m.group(3)) * 1_000_000 + int(m.group(4))
        us -= us % granularity_us
        text = f"{m.group(1)}{us // 1_000_000}.{us % 1_000_000:06d}{m.group(5)}"
        events.append(((us, int(m.group(2))), [text]))
    events.sort(key=lambda e: e[0])  # stable: a CPU's events stay in their order
    ties = sum(1 for a, b in pairwise(events) if a[0][0] == b[0][0])
    return head + [text for _, texts in events for text in texts], ties / max(1, len(events))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _profile(path: Path) -> Path:
    return path.with_name(path.name.replace(".trace.txt", ".kprobe_profile.txt"))


def _coarse(path: Path, tmp_path: Path, granularity_us: int = 1000) -> tuple[Path, float]:
    """The coarsened copy of ``path`` in ``tmp_path``, its kprobe_profile beside it."""
    lines, ties = coarsen(path.read_text().splitlines(keepends=True), granularity_us)
    out = tmp_path / f"coarse{granularity_us}-{_name(path).replace('/', '-')}"
    out.write_text("".join(lines))
    if _profile(path).exists():
        shutil.copy(_profile(path), _profile(out))
    return out, ties


def _check(path: Path, max_divergences: int = 20) -> CheckReport:
    """``kmodel check`` of ``path``: with the missed probe hits of its kprobe_profile."""
    profile = _profile(path)
    missed = read_kprobe_profile(str(profile)) if profile.exists() else None
    return check_trace(path, missed=missed, max_divergences=max_divergences)


@cache
def _unknown_share(path: Path) -> float:
    """The unknown share (%) of the trace as captured."""
    report = _check(path)
    assert report.divergences == [], report.format()
    return 100.0 * report.unknown / report.counts["events"]


@pytest.mark.parametrize("granularity_us", GRANULARITIES.values(), ids=GRANULARITIES.keys())
@pytest.mark.parametrize("path", REAL_TRACES, ids=_name)
def test_real_trace_with_a_coarse_clock_conforms(path: Path, granularity_us: int,
                                                 tmp_path: Path) -> None:
    coarse, ties = _coarse(path, tmp_path, granularity_us)
    assert ties >= 0.9  # nearly every event shares its timestamp with the one before
    report = _check(coarse)
    assert report.divergences == [], report.format()
    assert report.counts["events"] == _check_events(path)
    # Ties make little unknown: at most 1 point of the events more than as captured.
    share = 100.0 * report.unknown / report.counts["events"]
    assert share <= _unknown_share(path) + 1.0, report.format()


@cache
def _check_events(path: Path) -> int:
    """The events of the trace as captured (a coarse clock neither adds nor drops one)."""
    return sum(1 for line in path.read_text().splitlines() if _LINE.match(line))


def test_coarsen_keeps_a_multi_line_console_message_whole() -> None:
    oom = TRACES / "conditions" / "oom.trace.txt"
    lines = oom.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if i and _LINE.match(lines[i - 1])
                 and not _LINE.match(line) and not line.startswith("#"))
    message = lines[first - 1:first + 1]  # an event and its first continuation line
    coarse, _ = coarsen(lines, 10000)
    assert sorted(coarse) != sorted(lines)  # the timestamps changed...
    assert len(coarse) == len(lines)
    at = next(i for i, line in enumerate(coarse) if line == message[1])
    # ...the continuation still follows its event, whose timestamp was rounded down
    event = _LINE.match(coarse[at - 1])
    assert event is not None and event.group(5) == _LINE.match(message[0]).group(5)  # type: ignore[union-attr]
    assert coarse[:8] == lines[:8]  # the header stays first


def test_planted_model_bug_still_diverges_on_a_coarse_trace(tmp_path: Path) -> None:
    coarse = [_coarse(p, tmp_path)[0] for p in TRACES_6_1]
    with planted(MODEL_MUTATIONS["ds_major_not_set"]):
        assert any(_check(p, max_divergences=1).divergences for p in coarse)


#: 6.12 bugs planted in the model (tests/trace/model_mutations.py): a major fault not
#: reported major, and a write error not printed. The write errors of writeerr_blkdebug's
#: first bios complete before their submissions are printed (held by the tie, _order).
_DS4_612 = ModelMutation(
    "ds_major_not_set_612", "kmodel.v6_12.mm.memory", "_do_swap_page",
    "ret = VmFault.VM_FAULT_MAJOR  # DS-4", "ret = 0  # DS-4",
    "6.12: a fault that read from swap does not return VM_FAULT_MAJOR")
_EW1_612 = ModelMutation(
    "write_error_silent_612", "kmodel.v6_12.mm.page_io", "__end_swap_bio_write",
    "if bio.bi_status:  # EW-1", "if False:  # EW-1",
    "6.12: a failed write is not reported")


@pytest.mark.parametrize("granularity_us", [1000, 10000], ids=["1ms", "10ms"])
@pytest.mark.parametrize(("mutation", "trace", "branches"), [
    (_DS4_612, "basic", {"DS-4"}),
    # the model ends writeback where the trace prints the alert: at the alert, EW-3
    (_EW1_612, "writeerr_blkdebug", {"EW-1", "EW-3"})],
    ids=["ds_major_not_set", "write_error_silent"])
def test_planted_6_12_model_bug_still_diverges_on_a_coarse_trace(
        mutation: ModelMutation, trace: str, branches: set[str], granularity_us: int,
        tmp_path: Path) -> None:
    coarse, _ = _coarse(TRACES / "v6_12" / f"{trace}.trace.txt", tmp_path, granularity_us)
    with planted(mutation):
        report = _check(coarse, max_divergences=1)
    assert any(branches & set(d.branches) for d in report.divergences), report.format()
    assert _check(coarse).divergences == []  # the model as it is: conformant


def test_trace_mutation_still_flagged_on_a_coarse_trace(tmp_path: Path) -> None:
    path = next(p for p in TRACES_6_1 if "do_swap_page_ret" in p.read_text()
                and "ret=0x2\n" in p.read_text())
    coarse, _ = _coarse(path, tmp_path)
    mutant = MUTATIONS["sigbus_to_success"](coarse.read_text().splitlines(keepends=True))
    report = check_trace(mutant.write(tmp_path), max_divergences=5)
    assert any(d.lineno == mutant.lineno and "DS-7" in d.branches for d in report.divergences), (
        report.format())


def _write_errors(times_us: list[int], alerts: list[list[str]]) -> list[str]:
    """A 6.12 trace of failed swap-out writes: completion ``i`` at ``times_us[i]`` prints the
    console lines ``alerts[i]`` (its submission 4 ms before, on the other CPU)."""
    head = ["# kernel: 6.12.118\n", "# page-cluster: 3\n",
            "# zswap: enabled=N compressor=lzo zpool=zsmalloc max_pool_percent=20\n",
            "# tracer: nop\n"]
    lines: list[str] = []

    def line(task: str, cpu: int, flags: str, us: int, text: str) -> None:
        lines.append(f"{task:>16} ({'   1086' if cpu else '-------'}) [{cpu:03d}] {flags} "
                     f"{us // 1_000_000:5d}.{us % 1_000_000:06d}: {text}\n")

    for i, (us, printed) in enumerate(zip(times_us, alerts, strict=True)):
        folio, entry = 0xFFFFEA0000100000 + 0x40 * i, 0x10 + i
        sector = entry * 8
        sub = us - 4000
        line("memhog-1086", 1, ".....", sub, f"swap_writepage: (swap_writepage+0x4/0x310) "
             f"page={folio:#x} wbc=0xffffc9000096b470 pflags=0xfffffc0030409 entry={entry:#x} "
             "sync_mode=0 wbc_bits=0x8")
        line("memhog-1086", 1, ".....", sub, f"zswap_store: (zswap_store+0x4/0x980) "
             f"folio={folio:#x} pflags=0xfffffc0030409 entry={entry:#x}")
        line("memhog-1086", 1, ".....", sub, "zswap_store_ret: (swap_writepage+0x114/0x310 <- "
             "zswap_store) ret=0")
        line("memhog-1086", 1, ".....", sub, f"__swap_writepage: (__swap_writepage+0x4/0x3d0) "
             f"folio={folio:#x} pflags=0xfffffc0030409 entry={entry:#x} "
             "wbc=0xffffc9000096b470")
        line("memhog-1086", 1, ".....", sub, f"block_bio_queue: 254,48 W {sector} + 8 [memhog]")
        line("memhog-1086", 1, ".....", sub, "swap_writepage_ret: (pageout+0x126/0x270 <- "
             "swap_writepage) ret=0")
        bio = (f"bio=0xffff888004885{i:03x} bi_status=10 sector={sector} size=0 opf=0x1000001 "
               f"dev=0xfe00030 page={folio:#x} pflags=0xfffffd003042a")
        line("<idle>-0", 0, "..s1.", us, f"end_swap_bio_write: (end_swap_bio_write+0x4/0x20) "
             f"{bio}")
        line("<idle>-0", 0, "..s1.", us, f"__end_swap_bio_write: (__end_swap_bio_write+0x0/"
             f"0xa0) {bio}")
        for msg in printed:
            line("<idle>-0", 0, "d.s1.", us, f"console: {msg}")
        line("<idle>-0", 0, "..s1.", us, f"folio_end_writeback: (folio_end_writeback+0x4/0x80)"
             f" folio={folio:#x} pflags=0xfffffd002043a entry={entry:#x}")
    return head + lines


def _alert(i: int) -> str:
    return f"Write-error on swap-device (254:48:{(0x10 + i) * 8})"


@pytest.mark.parametrize(("last_us", "conforms"), [
    # jiffy 3753 at HZ=250, the interval's end (5 s after the first alert's jiffy 2502) is
    # 3752: the model resets and prints; the trace's 4 ms clock cannot tell 3752 from 3753
    (15_008_000, True),
    (15_200_000, False),  # 49 jiffies past the edge: the model's print is certain
    (15_008_001, False),  # a microsecond clock: the trace's jiffies are exact
], ids=["coarse-at-edge", "coarse-far", "fine-at-edge"])
def test_ratelimit_decision_within_the_clock_resolution_of_its_edge_is_unknown(
        last_us: int, conforms: bool, tmp_path: Path) -> None:
    # ten alerts, the eleventh error suppressed (burst 10), then one more near the edge,
    # which the trace shows suppressed as well
    times = [10_004_000 + 8000 * i for i in range(11)] + [last_us]
    alerts = [[_alert(i)] for i in range(10)] + [[], []]
    path = tmp_path / "ratelimit.trace.txt"
    path.write_text("".join(_write_errors(times, alerts)))
    report = check_trace(path, kernel="6.12")
    edge = report.counts.get("unknown:ratelimit-decision-at-clock-edge", 0)
    if conforms:
        assert report.divergences == [] and edge == 1, report.format()
    else:
        assert edge == 0, report.format()
        assert [d.branches for d in report.divergences][:1] == [("EW-1", "PR-1")], (
            report.format())
    # the model's own side, printed as the model says, conforms whatever the clock
    printed = alerts[:-1] + [["__end_swap_bio_write: 1 callbacks suppressed", _alert(11)]]
    path.write_text("".join(_write_errors(times, printed)))
    ok = check_trace(path, kernel="6.12")
    assert ok.divergences == [] and not ok.counts.get(
        "unknown:ratelimit-decision-at-clock-edge"), ok.format()


def _write_errors_6_1(times_us: list[int], alerts: list[list[str]]) -> list[str]:
    """A 6.1 trace of failed swap-out write completions (``alerts[i]``: the console lines of
    completion ``i``, at ``times_us[i]``)."""
    lines = ["# tracer: nop\n"]
    for i, (us, printed) in enumerate(zip(times_us, alerts, strict=True)):
        page, entry = 0xFFFFEA0000100000 + 0x40 * i, 0x10 + i
        stamp = f"          <idle>-0       (-------) [000] {{}} {us // 1_000_000:5d}." \
                f"{us % 1_000_000:06d}: "
        lines.append(stamp.format("..s1.") + "end_swap_bio_write: (end_swap_bio_write+0x0/"
                     f"0xf0) bio=0xffff88800594b{i:03x} bi_status=10 sector={entry * 8} "
                     f"size=0 opf=0x2000001 dev=0xfe00030 page={page:#x} "
                     "pflags=0xfffffc00c8414\n")
        lines += [stamp.format("d.s1.") + f"console: {msg}\n" for msg in printed]
        lines.append(stamp.format("..s1.") + "end_page_writeback: (end_page_writeback+0x0/"
                     f"0x40) page={page:#x} pflags=0xfffffc008851c entry={entry:#x}\n")
    return lines


@pytest.mark.parametrize(("last_us", "conforms"), [
    (15_008_000, True), (15_200_000, False), (15_008_001, False)],
    ids=["coarse-at-edge", "coarse-far", "fine-at-edge"])
def test_ratelimit_decision_at_the_edge_6_1(last_us: int, conforms: bool,
                                             tmp_path: Path) -> None:
    """As on 6.12 (above): ten alerts, one suppressed, one more near the edge, suppressed."""
    times = [10_004_000 + 8000 * i for i in range(11)] + [last_us]
    alerts = [[_alert(i)] for i in range(10)] + [[], []]
    path = tmp_path / "ratelimit.trace.txt"
    path.write_text("".join(_write_errors_6_1(times, alerts)))
    report = check_trace(path, kernel="6.1")
    edge = report.counts.get("unknown:ratelimit-decision-at-clock-edge", 0)
    if conforms:
        assert report.divergences == [] and edge == 1, report.format()
    else:
        assert edge == 0, report.format()
        assert report.divergences and set(report.divergences[0].branches) >= {"EW-1", "PR-1"}, (
            report.format())
    printed = alerts[:-1] + [["end_swap_bio_write: 1 callbacks suppressed", _alert(11)]]
    path.write_text("".join(_write_errors_6_1(times, printed)))
    ok = check_trace(path, kernel="6.1")
    assert ok.divergences == [] and not ok.counts.get(
        "unknown:ratelimit-decision-at-clock-edge"), ok.format()


@pytest.mark.parametrize("name", ["conditions/hogs2", "v6_12/hogs2", "v6_12/writeerr_blkdebug"])
def test_jiffy_counts_with_ties_conform(name: str, tmp_path: Path) -> None:
    """trace_clock=uptime prints jiffies as integers (a counting clock): the coarse trace at
    HZ=250 in that form conforms too (two busy CPUs; write errors held by ties)."""
    coarse, ties = _coarse(TRACES / f"{name}.trace.txt", tmp_path, 4000)
    jiffies = counting(coarse, tmp_path / f"uptime-{coarse.name}", tick_us=4000)
    shutil.copy(_profile(coarse), _profile(jiffies))
    report = _check(jiffies)
    assert ties >= 0.9 and report.counts["events"] == _check_events(TRACES / f"{name}.trace.txt")
    assert report.divergences == [], report.format()
    assert report.counts["checks"] > report.counts["events"] // 4
