"""Every source citation in the 6.12 model names a real file and line range of 6.12.118.

The same check as ``tests/test_citations.py`` for 6.1, over ``kmodel/v6_12``: a docstring's
``path:first-last`` must exist in Linux 6.12.118 and, for a function's first citation,
contain the function's name (or a kernel identifier its docstring names in double
backticks). The source is read from ``$KMODEL_KERNEL_SRC_6_12`` (an extracted tree),
``/work/k612/src`` (``scripts/fetch-6.12.sh``), or an installed ``linux-source-6.12``
tarball (``/usr/src/linux-source-6.12.tar.xz``); without any of them the citations are
checked against ``spec/citations-6.12.lock.json``, made from that source. Regenerate it
with ``python -m tests.test_citations_6_12``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.test_citations import docstring_citations

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "kmodel" / "v6_12"
LOCK = ROOT / "spec" / "citations-6.12.lock.json"
TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
FETCHED = Path("/work/k612/src")
CACHE = ROOT / ".ksrc-cache"
PREFIX = "linux-source-6.12/"
CITED_DIRS = ("mm/", "block/", "include/linux/", "kernel/sched/", "arch/x86/mm/", "Makefile")
SEARCH = ("", "mm/", "block/", "include/linux/", "kernel/sched/", "arch/x86/mm/")


CITATIONS = docstring_citations(sorted(MODEL.rglob("*.py")))


@cache
def source_root() -> Path | None:
    """An extracted 6.12.118 tree, or None when none is at hand."""
    candidates = [Path(p) for p in [os.environ.get("KMODEL_KERNEL_SRC_6_12")] if p]
    candidates.append(FETCHED)
    for root in candidates:
        if _is_6_12_118(root):
            return root
    if TARBALL.exists():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(["tar", "xf", str(TARBALL), "-C", str(CACHE),
                        *(PREFIX + d for d in CITED_DIRS)], check=True)
        if _is_6_12_118(CACHE / PREFIX):
            return CACHE / PREFIX
    return None


def _is_6_12_118(root: Path) -> bool:
    makefile = root / "Makefile"
    if not makefile.is_file():
        return False
    text = makefile.read_text(errors="replace")
    return "PATCHLEVEL = 12" in text and "SUBLEVEL = 118" in text


@cache
def _lines(path: str) -> list[str]:
    root = source_root()
    assert root is not None
    return (root / path).read_text(errors="replace").splitlines()


def _key(path: str, first: int, last: int) -> str:
    return f"{path}:{first}-{last}"


def _from_source(path: str, first: int, last: int, names: list[str]) -> dict[str, object]:
    root = source_root()
    assert root is not None
    resolved = next((p + path for p in SEARCH if (root / (p + path)).is_file()), None)
    if resolved is None:
        return {"file": None}
    text = _lines(resolved)
    entry: dict[str, object] = {"file": resolved, "lines": len(text)}
    if 1 <= first <= last <= len(text):
        body = "\n".join(text[first - 1 : last])
        entry["sha256"] = hashlib.sha256(body.encode()).hexdigest()
        entry["found"] = sorted(n for n in set(names)
                                if re.search(rf"\b{re.escape(n)}\b", body))
    return entry


@cache
def lock() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(LOCK.read_text())
    return data


def build_lock() -> dict[str, dict[str, object]]:
    """The lock computed from the 6.12.118 source."""
    merged: dict[str, dict[str, object]] = {}
    for _, _, names, path, first, last in CITATIONS:
        key = _key(path, first, last)
        entry = _from_source(path, first, last, names)
        if key in merged and "found" in merged[key]:
            entry["found"] = sorted({*merged[key]["found"], *entry.get("found", [])})  # type: ignore[misc]
        merged[key] = entry
    return dict(sorted(merged.items()))


def _entry(path: str, first: int, last: int, names: list[str]) -> dict[str, object]:
    if source_root() is not None:
        return _from_source(path, first, last, names)
    entry = lock().get(_key(path, first, last))
    assert entry is not None, (
        f"{_key(path, first, last)} is not in spec/citations-6.12.lock.json and the 6.12.118 "
        "source is not at hand: run scripts/fetch-6.12.sh, then python -m tests.test_citations_6_12"
    )
    return entry


def test_there_are_citations() -> None:
    assert len(CITATIONS) > 50


def test_lock_matches_the_source() -> None:
    """The lock is what the 6.12.118 source says (checked where the source is at hand)."""
    if source_root() is None:
        pytest.skip("the 6.12.118 source is not at hand: citations are checked against the lock")
    assert lock() == build_lock(), (
        "spec/citations-6.12.lock.json is stale: python -m tests.test_citations_6_12")


@pytest.mark.parametrize(("where", "name", "names", "path", "first", "last"), CITATIONS,
                         ids=[f"{c[0]}-{c[3]}:{c[4]}" for c in CITATIONS])
def test_citation_names_existing_lines(where: str, name: str, names: list[str], path: str,
                                       first: int, last: int) -> None:
    entry = _entry(path, first, last, names)
    assert entry["file"] is not None, f"{where}: {path} is not a file of Linux 6.12.118"
    assert "sha256" in entry, f"{where}: {path}:{first}-{last} outside the file's {entry['lines']} lines"
    if names:
        assert set(names) & set(entry["found"]), (  # type: ignore[call-overload]
            f"{where}: none of {sorted(set(names))} in {entry['file']}:{first}-{last}")


if __name__ == "__main__":
    if source_root() is None:
        sys.exit("the 6.12.118 source is needed: scripts/fetch-6.12.sh (or KMODEL_KERNEL_SRC_6_12)")
    LOCK.write_text(json.dumps(build_lock(), indent=1) + "\n")
    print(f"wrote {LOCK} ({len(CITATIONS)} citations)")
