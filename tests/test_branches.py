"""Every branch of the catalog has a counterpart in the model and a test that names it."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "spec" / "branches.md"
ID = re.compile(r"\*\*([A-Z]+-\d+)\*\*")


def catalog_ids() -> list[str]:
    return sorted(set(ID.findall(CATALOG.read_text())))


@cache
def model_markers() -> set[str]:
    """IDs written as ``# ID`` comments in the model's source."""
    found: set[str] = set()
    for file in (ROOT / "kmodel").rglob("*.py"):
        for line in file.read_text().splitlines():
            if "#" in line:
                found.update(re.findall(r"\b([A-Z]+-\d+)\b", line.split("#", 1)[1]))
    return found


@cache
def ids_named_by_tests() -> set[str]:
    """IDs named by a test: in its name (ER_1) or in a ``branch("ER-1")`` marker."""
    found: set[str] = set()
    for file in (ROOT / "tests").rglob("test_*.py"):
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
