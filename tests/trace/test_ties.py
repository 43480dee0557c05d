"""Equal timestamps on two CPUs are concurrency: a coarse trace clock must not make a real
trace diverge, and a genuine bug must still show (issue 10, item 1)."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from kmodel.trace import check_trace
from tests.trace.model_mutations import MODEL_MUTATIONS, planted
from tests.trace.mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
REAL_TRACES = sorted(
    [*(ROOT / "tests" / "data" / "traces").glob("*.trace.txt"),
     *(ROOT / "kmodel" / "data" / "traces").glob("*.trace.txt")]
)
_LINE = re.compile(r"^(.*?\[(\d{3})\] \S+\s+)(\d+)\.(\d{6})(: .*)$", re.S)


def coarsen(lines: list[str], granularity_us: int) -> tuple[list[str], float]:
    """The trace as a clock of ``granularity_us`` would print it: timestamps rounded down,
    equal ones merged CPU 0 first (each CPU's own order kept); and the share of events whose
    timestamp equals the previous one's."""
    head: list[str] = []
    events: list[tuple[tuple[int, int], str]] = []
    for line in lines:
        m = _LINE.match(line)
        if m is None:
            head.append(line)
            continue
        us = int(m.group(3)) * 1_000_000 + int(m.group(4))
        us -= us % granularity_us
        text = f"{m.group(1)}{us // 1_000_000}.{us % 1_000_000:06d}{m.group(5)}"
        events.append(((us, int(m.group(2))), text))
    events.sort(key=lambda e: e[0])  # stable: a CPU's events stay in their order
    ties = sum(1 for a, b in pairwise(events) if a[0][0] == b[0][0])
    return head + [text for _, text in events], ties / max(1, len(events))


def _coarse(path: Path, tmp_path: Path, granularity_us: int = 1000) -> tuple[Path, float]:
    lines, ties = coarsen(path.read_text().splitlines(keepends=True), granularity_us)
    out = tmp_path / f"coarse{granularity_us}-{path.parent.parent.name}-{path.name}"
    out.write_text("".join(lines))
    return out, ties


@pytest.mark.parametrize("granularity_us", [1000, 10000], ids=["1ms", "10ms"])
@pytest.mark.parametrize("path", REAL_TRACES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_real_trace_with_a_coarse_clock_conforms(path: Path, granularity_us: int,
                                                 tmp_path: Path) -> None:
    coarse, ties = _coarse(path, tmp_path, granularity_us)
    assert ties >= 0.8  # most events share their timestamp with the one before
    report = check_trace(coarse)
    assert report.divergences == [], report.format()


def test_planted_model_bug_still_diverges_on_a_coarse_trace(tmp_path: Path) -> None:
    coarse = [_coarse(p, tmp_path)[0] for p in REAL_TRACES]
    with planted(MODEL_MUTATIONS["ds_major_not_set"]):
        assert any(check_trace(p, max_divergences=1).divergences for p in coarse)


def test_trace_mutation_still_flagged_on_a_coarse_trace(tmp_path: Path) -> None:
    path = next(p for p in REAL_TRACES if "do_swap_page_ret" in p.read_text()
                and "ret=0x2\n" in p.read_text())
    coarse, _ = _coarse(path, tmp_path)
    mutant = MUTATIONS["sigbus_to_success"](coarse.read_text().splitlines(keepends=True))
    report = check_trace(mutant.write(tmp_path), max_divergences=5)
    assert any(d.lineno == mutant.lineno and "DS-7" in d.branches for d in report.divergences), (
        report.format())
