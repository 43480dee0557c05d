"""The committed Linux 6.12.118 captures (tests/data/traces/v6_12/): each is small, trimmed,
names its kernel, and still shows its scenario's kernel-side outcome (verify.problems as for
6.1, plus scenarios612.extra_problems). kmodel check does not read 6.12 traces yet: the 6.1
conformance tests glob only the top level of tests/data/traces, so these stay out of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kmodel.capture import run, scenarios612, trim, verify

V612 = Path(__file__).resolve().parents[1] / "data" / "traces" / "v6_12"
TRACES = sorted(V612.glob("*.trace.txt"))


def _result(trace: Path) -> verify.Result:
    stem = trace.name.removesuffix(".trace.txt")
    text = {s: (trace.parent / f"{stem}.{s}").read_text() for s in run.SUFFIXES}
    return verify.Result(
        text["log.txt"], text["trace.txt"], text["dmesg.txt"], text["kprobe_profile.txt"]
    )


def test_every_612_scenario_has_a_fixture() -> None:
    names = sorted(p.name.removesuffix(".trace.txt") for p in TRACES)
    assert names == sorted(s.name for s in scenarios612.SCENARIOS)


def test_the_61_conformance_globs_do_not_reach_the_612_fixtures() -> None:
    top = V612.parent
    assert not [p for p in top.glob("*.trace.txt") if "kernel: 6.12" in p.read_text()[:400]]
    assert all(p.parent == V612 for p in TRACES)


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
def test_612_fixture_is_small_trimmed_and_as_expected(trace: Path) -> None:
    text = trace.read_text()
    head = text.splitlines()[:3]
    assert head[0].startswith("# kmodel capture: scenario=")
    assert "kernel=linux-image-6.12.118+deb13-amd64 version=6.12.118-1" in head[0]
    assert head[1].startswith("# kmodel trim: ")
    assert head[2] == "# kernel: 6.12.118"
    assert len(text.encode()) < 1_000_000  # writeerr_blkdebug: its failed slots alone 734 KB
    s = scenarios612.by_name([trace.name.removesuffix(".trace.txt")])[0]
    result = _result(trace)
    assert verify.problems(s, result) == []
    assert scenarios612.extra_problems(s, result) == []


def test_612_block_rq_complete_carries_ioprio_and_maps_to_slots() -> None:
    lines = [ln for ln in (V612 / "basic.trace.txt").read_text().splitlines()
             if " block_rq_complete: " in ln]
    assert lines, "the trimmed basic trace kept no block_rq_complete line"
    args = lines[0].split(" block_rq_complete: ", 1)[1]
    assert " be,0,4 [" in args  # 6.12's ioprio field (class,hint,level) before the error
    assert trim.line_slots("block_rq_complete", args)
