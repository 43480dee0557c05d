"""The model is the oracle: a bug planted in the model makes some real trace diverge."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmodel.trace import check_trace
from tests.trace.model_mutations import ALL_MUTATIONS, MODEL_MUTATIONS, SURVIVORS, planted
from tests.trace.mutations import MUTATIONS

ROOT = Path(__file__).resolve().parents[2]
#: Real captures of issue 10's conditions that the checker handles (conditions/README.md).
CONDITIONS = [ROOT / "tests" / "data" / "traces" / "conditions" / f"{name}.trace.txt"
              for name in ("swapfile", "pagecluster0", "pagecluster5", "readerr_dmerror",
                           "zswap")]
REAL_TRACES = sorted(
    [*(ROOT / "tests" / "data" / "traces").glob("*.trace.txt"),
     *(ROOT / "kmodel" / "data" / "traces").glob("*.trace.txt"), *CONDITIONS],
    key=lambda p: p.stat().st_size,
)


def test_at_least_fifteen_planted_bugs_are_asserted() -> None:
    assert len(MODEL_MUTATIONS) >= 15
    assert set(SURVIVORS) <= set(ALL_MUTATIONS)


@pytest.mark.parametrize("name", sorted(ALL_MUTATIONS))
def test_mutation_changes_its_function(name: str) -> None:
    mutation = ALL_MUTATIONS[name]
    mutant, original = mutation.mutant().__code__, mutation.original().__code__
    assert (mutant.co_code, mutant.co_consts, mutant.co_names) != (
        original.co_code, original.co_consts, original.co_names)


@pytest.mark.parametrize("name", sorted(MODEL_MUTATIONS))
def test_planted_model_bug_makes_a_real_trace_diverge(name: str) -> None:
    with planted(MODEL_MUTATIONS[name]):
        for path in REAL_TRACES:
            if check_trace(path, max_divergences=1).divergences:
                return
    pytest.fail(f"{name}: {MODEL_MUTATIONS[name].what}: no real trace diverges")


def test_planting_is_undone() -> None:
    with planted(MODEL_MUTATIONS["ds_major_not_set"]):
        pass
    for path in REAL_TRACES:
        assert check_trace(path).conformant, path


def test_readahead_window_is_checked_for_the_page_cluster_in_force(tmp_path: Path) -> None:
    """basic was captured with page-cluster 3: its windows of 8 diverge under page-cluster 0,
    given as a parameter or by a `# page-cluster:` header line."""
    path = ROOT / "tests" / "data" / "traces" / "basic.trace.txt"
    assert check_trace(path, page_cluster=3).conformant
    given = check_trace(path, page_cluster=0, max_divergences=1).divergences
    assert given and "__read_swap_cache_async" in given[0].message
    header = tmp_path / "pc0.trace.txt"
    text = path.read_text().replace("# tracer: nop", "# page-cluster: 0\n# tracer: nop", 1)
    header.write_text(text)
    # one header line more: the same event, one line later
    assert check_trace(header, max_divergences=1).divergences[0].lineno == given[0].lineno + 1


@pytest.mark.parametrize("path", CONDITIONS, ids=lambda p: p.name)
def test_condition_trace_conforms(path: Path) -> None:
    report = check_trace(path)
    assert report.divergences == [], report.format()


def test_swap_file_sectors_follow_the_traced_extents_SE_1(tmp_path: Path) -> None:
    """swapfile: 7 extents from add_swap_extent; a write one slot off still diverges."""
    path = CONDITIONS[0]
    report = check_trace(path)
    assert report.conformant and report.counts["checks"] > report.counts["events"] // 2
    mutant = MUTATIONS["write_completion_sector"](path.read_text().splitlines(keepends=True))
    first = check_trace(mutant.write(tmp_path), max_divergences=1).divergences[0]
    assert (first.lineno, first.branches) == (mutant.lineno, ("SE-1",))


def test_zswap_loads_and_stores_are_checked_not_unknown_RD_3_SW_3() -> None:
    """zswap: every swap-in a frontswap load, every swap-out a store; all replayed."""
    path = CONDITIONS[4]
    text = path.read_text()
    assert "__frontswap_load" in text and "__frontswap_store_ret" in text
    report = check_trace(path)
    assert report.conformant, report.format()
    assert not [k for k in report.counts if k.startswith("unknown:")], report.counts
    with planted(MODEL_MUTATIONS["frontswap_load_not_uptodate"]):
        assert not check_trace(path, max_divergences=1).conformant
    with planted(MODEL_MUTATIONS["frontswap_store_ignored"]):
        assert not check_trace(path, max_divergences=1).conformant


def test_swap_file_without_extents_infers_them_from_first_io_SE_1(tmp_path: Path) -> None:
    """No add_swap_extent lines (`# swap: ... type=file`): each slot's first I/O places it,
    and a later I/O one slot off diverges."""
    lines = [line for line in CONDITIONS[0].read_text().splitlines(keepends=True)
             if "add_swap_extent" not in line]
    assert any(line.startswith("# swap:") and " type=file" in line for line in lines)
    bare = tmp_path / "swapfile-no-extents.trace.txt"
    bare.write_text("".join(lines))
    assert check_trace(bare).conformant
    mutant = MUTATIONS["write_completion_sector"](lines)
    first = check_trace(mutant.write(tmp_path), max_divergences=1).divergences[0]
    assert (first.lineno, "SE-1" in first.branches) == (mutant.lineno, True)
