"""Every source citation in the model names a real file and line range of Linux 6.1.176.

A function's docstring cites ``path:first-last``; the cited range must exist and, when the
function carries a kernel name, contain that name (or a kernel identifier its docstring
names in double backticks). The findings are recorded in ``spec/citations.lock.json`` with
a hash of every cited range: with the 6.1.176 source at hand (``apt-get install
linux-source-6.1=6.1.176-1``) the test checks the source and the lock against each other;
without it (mirrors drop old point releases) it checks the citations against the lock.
Regenerate the lock with ``python -m tests.test_citations``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
from functools import cache
from pathlib import Path

import pytest

from tests import ksrc

ROOT = Path(__file__).resolve().parent.parent
KMODEL = ROOT / "kmodel"
LOCK = ROOT / "spec" / "citations.lock.json"
MODEL_DIRS = ("mm", "block", "lib", "include", "arch", "executor", "kernel")
CITE = re.compile(r"\b((?:[\w-]+/)*[\w-]+\.[ch]):(\d+)(?:-(\d+))?")
IDENT = re.compile(r"``(?:\w+->)?(\w+)(?:\(.*?\))?``")
SEARCH = ("", "mm/", "block/", "lib/", "include/linux/", "include/linux/sched/",
          "arch/x86/mm/", "arch/x86/include/asm/", "kernel/sched/", "kernel/")


def docstring_citations(files: list[Path]) -> list[tuple[str, str, list[str], str, int, int]]:
    """The ``file:line`` citations in the docstrings of ``files``: (model location, function
    name, names to find, cited path, first, last). Shared by the 6.1 and 6.12 tests."""
    found = []
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module):
                continue
            doc = ast.get_docstring(node)
            if not doc:
                continue
            name = getattr(node, "name", "<module>")
            where = f"{file.relative_to(ROOT)}:{name}"
            names = [name, *IDENT.findall(doc)] if isinstance(node, ast.FunctionDef) else []
            for i, m in enumerate(CITE.finditer(doc)):
                last = int(m.group(3) or m.group(2))
                # Only a function's first citation must hold its definition.
                found.append((where, name, names if i == 0 else [], m.group(1),
                              int(m.group(2)), last))
    return found


CITATIONS = docstring_citations(
    [file for sub in MODEL_DIRS for file in sorted((KMODEL / sub).rglob("*.py"))])


def _key(path: str, first: int, last: int) -> str:
    return f"{path}:{first}-{last}"


def _resolve(path: str) -> str | None:
    for prefix in SEARCH:
        if (ksrc.root() / (prefix + path)).is_file():
            return prefix + path
    return None


def _from_source(path: str, first: int, last: int, names: list[str]) -> dict[str, object]:
    """What the source says about one citation: resolved file, range hash, names found."""
    resolved = _resolve(path)
    if resolved is None:
        return {"file": None}
    text = ksrc.lines(resolved)
    entry: dict[str, object] = {"file": resolved, "lines": len(text)}
    if 1 <= first <= last <= len(text):
        body = "\n".join(text[first - 1 : last])
        entry["sha256"] = hashlib.sha256(body.encode()).hexdigest()
        entry["found"] = sorted(n for n in set(names)
                                if re.search(rf"\b{re.escape(n)}\b", body))
    return entry


@cache
def source_available() -> bool:
    try:
        makefile = ksrc.lines("Makefile")
    except (ksrc.KernelSourceMissing, OSError):
        return False
    return "SUBLEVEL = 176" in makefile


@cache
def lock() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(LOCK.read_text())
    return data


def _entry(path: str, first: int, last: int, names: list[str]) -> dict[str, object]:
    if source_available():
        return _from_source(path, first, last, names)
    entry = lock().get(_key(path, first, last))
    assert entry is not None, (
        f"{_key(path, first, last)} is not in spec/citations.lock.json and the 6.1.176 source "
        "is not installed: install it (apt-get install linux-source-6.1=6.1.176-1) and run "
        "python -m tests.test_citations"
    )
    return entry


def test_there_are_citations() -> None:
    assert len(CITATIONS) > 100


def test_lock_matches_the_source() -> None:
    """The lock is what the 6.1.176 source says (checked where the source is installed)."""
    if not source_available():
        pytest.skip("the 6.1.176 source is not installed: citations are checked against the lock")
    assert lock() == build_lock(), "spec/citations.lock.json is stale: python -m tests.test_citations"


@pytest.mark.parametrize(("where", "name", "names", "path", "first", "last"), CITATIONS,
                         ids=[f"{c[0]}-{c[3]}:{c[4]}" for c in CITATIONS])
def test_citation_names_existing_lines(where: str, name: str, names: list[str], path: str,
                                       first: int, last: int) -> None:
    entry = _entry(path, first, last, names)
    assert entry["file"] is not None, f"{where}: {path} is not a file of Linux 6.1.176"
    assert "sha256" in entry, f"{where}: {path}:{first}-{last} outside the file's {entry['lines']} lines"
    if names:
        assert set(names) & set(entry["found"]), f"{where}: none of {sorted(set(names))} in {entry['file']}:{first}-{last}"


def build_lock() -> dict[str, dict[str, object]]:
    """The lock computed from the installed 6.1.176 source."""
    merged: dict[str, dict[str, object]] = {}
    for _, _, names, path, first, last in CITATIONS:
        key = _key(path, first, last)
        entry = _from_source(path, first, last, names)
        if key in merged and "found" in merged[key]:
            entry["found"] = sorted({*merged[key]["found"], *entry.get("found", [])})  # type: ignore[misc]
        merged[key] = entry
    return dict(sorted(merged.items()))


if __name__ == "__main__":
    if not source_available():
        sys.exit("the 6.1.176 source is needed: apt-get install linux-source-6.1=6.1.176-1")
    LOCK.write_text(json.dumps(build_lock(), indent=1) + "\n")
    print(f"wrote {LOCK} ({len(CITATIONS)} citations)")
