"""Every branch of each catalog has a counterpart in the model and a test that names it.

Two catalogs, two ID namespaces: ``spec/branches.md`` (6.1.176) is checked against
``kmodel/`` and ``tests/`` outside the 6.12 trees; ``spec/branches-6.12.md`` (6.12.118)
against ``kmodel/v6_12/`` and ``tests/v6_12/`` only.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "spec" / "branches.md"
CATALOG_6_12 = ROOT / "spec" / "branches-6.12.md"
V6_12 = "v6_12"
ID = re.compile(r"\*\*([A-Z]+-\d+)\*\*")


def catalog_ids(catalog: Path = CATALOG) -> list[str]:
    return sorted(set(ID.findall(catalog.read_text())))


def _files(root: Path, pattern: str, v6_12: bool) -> list[Path]:
    """Files of ``root`` inside its 6.12 tree (``v6_12``) or outside it."""
    return [f for f in root.rglob(pattern)
            if (V6_12 in f.relative_to(root).parts) == v6_12]


@cache
def model_markers(v6_12: bool = False) -> set[str]:
    """IDs written as ``# ID`` comments in the model's source (of one version)."""
    found: set[str] = set()
    for file in _files(ROOT / "kmodel", "*.py", v6_12):
        for line in file.read_text().splitlines():
            if "#" in line:
                found.update(re.findall(r"\b([A-Z]+-\d+)\b", line.split("#", 1)[1]))
    return found


@cache
def ids_named_by_tests(v6_12: bool = False) -> set[str]:
    """IDs named by a test: in its name (ER_1) or in a ``branch("ER-1")`` marker."""
    found: set[str] = set()
    for file in _files(ROOT / "tests", "test_*.py", v6_12):
        tree = ast.parse(file.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
                continue
            found.update(m.replace("_", "-") for m in re.findall(r"[A-Z]+_\d+", node.name))
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "attr", getattr(
                        dec.func, "id", "")) == "branch":
                    found.update(a.value for a in dec.args if isinstance(a, ast.Constant))
    return found


def test_catalog_is_read() -> None:
    ids = catalog_ids()
    assert len(ids) >= 75
    assert "ER-1" in ids and "FI-2" in ids and "CS-2" in ids


@pytest.mark.parametrize("branch_id", catalog_ids())
def test_branch_has_a_model_counterpart(branch_id: str) -> None:
    assert branch_id in model_markers(), f"no '# {branch_id}' comment in kmodel/"


@pytest.mark.parametrize("branch_id", catalog_ids())
def test_branch_is_named_by_a_test(branch_id: str) -> None:
    assert branch_id in ids_named_by_tests(), f"no test names {branch_id}"


def test_tests_name_only_catalog_ids() -> None:
    unknown = {i for i in ids_named_by_tests() if i.split("-")[0] in {
        p.split("-")[0] for p in catalog_ids()}} - set(catalog_ids())
    assert not unknown


def test_catalog_6_12_is_read() -> None:
    ids = catalog_ids(CATALOG_6_12)
    assert len(ids) >= 75
    assert {"ER-1", "ZM-1", "RS-1", "BW-2", "ZL-3", "DS-9", "AS-1"} <= set(ids)


@pytest.mark.parametrize("branch_id", catalog_ids(CATALOG_6_12))
def test_6_12_branch_has_a_model_counterpart(branch_id: str) -> None:
    assert branch_id in model_markers(v6_12=True), f"no '# {branch_id}' comment in kmodel/v6_12/"


@pytest.mark.parametrize("branch_id", catalog_ids(CATALOG_6_12))
def test_6_12_branch_is_named_by_a_test(branch_id: str) -> None:
    assert branch_id in ids_named_by_tests(v6_12=True), f"no test in tests/v6_12/ names {branch_id}"


def test_6_12_tests_name_only_6_12_catalog_ids() -> None:
    ids = set(catalog_ids(CATALOG_6_12))
    unknown = {i for i in ids_named_by_tests(v6_12=True)
               if i.split("-")[0] in {p.split("-")[0] for p in ids}} - ids
    assert not unknown


def test_6_12_markers_name_only_6_12_catalog_ids() -> None:
    """A ``# ID`` in kmodel/v6_12 that no 6.12 catalog entry explains is a stale pointer."""
    ids = set(catalog_ids(CATALOG_6_12))
    prefixes = {i.split("-")[0] for i in ids}
    assert {i for i in model_markers(v6_12=True) if i.split("-")[0] in prefixes} - ids == set()
