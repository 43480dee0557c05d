"""The committed real traces: sizes, and each still shows its scenario's expected outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmodel.capture import run, scenarios, verify
from kmodel.trace.parse import parse_trace

ROOT = Path(__file__).resolve().parents[2]
TEST_TRACES = ROOT / "tests" / "data" / "traces"
# The conditions of issue 10 (swap file, zswap, two hogs, OOM report, page-cluster 0 and 5, dm
# error target), kept apart until kmodel check handles them (tests/trace checks the others).
CONDITION_TRACES = TEST_TRACES / "conditions"
PACKAGE_TRACES = ROOT / "kmodel" / "data" / "traces"
FIXTURES = (
    sorted(TEST_TRACES.glob("*.trace.txt"))
    + sorted(CONDITION_TRACES.glob("*.trace.txt"))
    + sorted(PACKAGE_TRACES.glob("*.trace.txt"))
)


def _result(trace: Path) -> verify.Result:
    stem = trace.name.removesuffix(".trace.txt")
    text = {s: (trace.parent / f"{stem}.{s}").read_text() for s in run.SUFFIXES}
    return verify.Result(
        text["log.txt"], text["trace.txt"], text["dmesg.txt"], text["kprobe_profile.txt"]
    )


def test_every_scenario_has_a_test_fixture() -> None:
    paths = [*TEST_TRACES.glob("*.trace.txt"), *CONDITION_TRACES.glob("*.trace.txt")]
    names = [p.name.removesuffix(".trace.txt") for p in paths]
    assert sorted(names) == sorted(s.name for s in scenarios.SCENARIOS)


def test_package_fixtures_are_the_small_four() -> None:
    names = {p.name.removesuffix(".trace.txt") for p in PACKAGE_TRACES.glob("*.trace.txt")}
    assert names == {"basic", "readerr_blkdebug", "writeerr_flakey", "zram"}


def test_condition_traces_record_what_they_are_about() -> None:
    def text(name: str) -> str:
        return (CONDITION_TRACES / f"{name}.trace.txt").read_text()

    assert len([ln for ln in text("swapfile").splitlines() if "add_swap_extent:" in ln]) >= 5
    assert "# page-cluster: 0\n" in text("pagecluster0")
    assert "# page-cluster: 5\n" in text("pagecluster5")
    assert "# zswap: enabled=Y " in text("zswap")
    oom = text("oom").splitlines()
    at = next(i for i, ln in enumerate(oom) if "console: Memory cgroup stats for" in ln)
    assert any(not ln.startswith("#") and ": console: " not in ln for ln in oom[at : at + 8])
    profile = (CONDITION_TRACES / "hogs2.kprobe_profile.txt").read_text()
    assert sum(verify.kprobe_misses(profile).values()) > 0


@pytest.mark.parametrize("trace", FIXTURES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_fixture_is_small_trimmed_and_as_expected(trace: Path) -> None:
    limit = 300_000 if trace.parent == PACKAGE_TRACES else 1_000_000
    assert trace.stat().st_size < limit
    result = _result(trace)
    assert result.trace.startswith("# kmodel capture: scenario=")
    assert "# kmodel trim: kept " in result.trace
    scenario = scenarios.by_name([trace.name.removesuffix(".trace.txt")])[0]
    assert verify.problems(scenario, result) == []


@pytest.mark.parametrize("trace", FIXTURES[:1] + FIXTURES[-4:], ids=lambda p: p.name)
def test_fixture_parses(trace: Path) -> None:
    assert sum(1 for _ in parse_trace(trace)) > 1000
