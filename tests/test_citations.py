"""Every source citation in the model names a real file and line range of Linux 6.1.176.

A function's docstring cites ``path:first-last``; the cited range must exist and, when the
function carries a kernel name, contain that name. Short citations (``bio.c:736``) are
resolved against the directories the model mirrors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests import ksrc

KMODEL = Path(__file__).resolve().parent.parent / "kmodel"
MODEL_DIRS = ("mm", "block", "lib", "include", "arch", "executor")
CITE = re.compile(
    r"\b((?:[\w-]+/)*[\w-]+\.[ch]):(\d+)(?:-(\d+))?"
)
SEARCH = ("", "mm/", "block/", "lib/", "include/linux/", "include/linux/sched/",
          "arch/x86/mm/", "arch/x86/include/asm/", "kernel/sched/", "kernel/")


def _resolve(path: str) -> str | None:
    for prefix in SEARCH:
        candidate = prefix + path
        if (ksrc.root() / candidate).is_file():
            return candidate
    return None


def _citations() -> list[tuple[str, str, str, int, int]]:
    """(model location, function name, cited path, first, last) for every citation."""
    found = []
    for sub in MODEL_DIRS:
        for file in sorted((KMODEL / sub).rglob("*.py")):
            tree = ast.parse(file.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module):
                    continue
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                name = getattr(node, "name", "<module>")
                where = f"{file.relative_to(KMODEL.parent)}:{getattr(node, 'lineno', 1)}"
                for m in CITE.finditer(doc):
                    last = int(m.group(3) or m.group(2))
                    found.append((where, name, m.group(1), int(m.group(2)), last))
    return found


CITATIONS = _citations()
IDENT = re.compile(r"``(?:\w+->)?(\w+)(?:\(.*?\))?``")


def _doc_names() -> dict[tuple[str, str], list[str]]:
    names: dict[tuple[str, str], list[str]] = {}
    for sub in MODEL_DIRS:
        for file in sorted((KMODEL / sub).rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.FunctionDef):
                    where = f"{file.relative_to(KMODEL.parent)}:{node.lineno}"
                    names[(where, node.name)] = IDENT.findall(ast.get_docstring(node) or "")
    return names


DOC_NAMES = _doc_names()


def test_there_are_citations() -> None:
    assert len(CITATIONS) > 100


@pytest.mark.parametrize(("where", "name", "path", "first", "last"), CITATIONS,
                         ids=[f"{c[0]}-{c[2]}:{c[3]}" for c in CITATIONS])
def test_citation_names_existing_lines(where: str, name: str, path: str, first: int,
                                       last: int) -> None:
    resolved = _resolve(path)
    assert resolved is not None, f"{where}: {path} is not a file of Linux 6.1.176"
    text = ksrc.lines(resolved)
    assert 1 <= first <= last <= len(text), (
        f"{where}: {path}:{first}-{last} outside the file's {len(text)} lines"
    )


def _kernel_name(name: str) -> str:
    return name.lstrip("_") if name.startswith("_") and not name.startswith("__") else name


@pytest.mark.parametrize(
    ("where", "name", "path", "first", "last"),
    [c for c in CITATIONS if c[1] not in ("<module>",) and not c[1][0].isupper()],
    ids=[f"{c[0]}-{c[1]}" for c in CITATIONS if c[1] != "<module>" and not c[1][0].isupper()],
)
def test_function_citation_contains_its_name(where: str, name: str, path: str, first: int,
                                             last: int) -> None:
    """The first citation of a function points at the kernel code it models.

    The cited range must contain the function's name, or one of the kernel identifiers
    its docstring names in double backticks (for helpers with a model-only name).
    """
    first_cite = next(c for c in CITATIONS if c[0] == where and c[1] == name)
    if (path, first, last) != first_cite[2:]:
        return  # only the first citation must hold the definition
    resolved = _resolve(path)
    assert resolved is not None
    body = "\n".join(ksrc.lines(resolved)[first - 1 : last])
    names = {name, *DOC_NAMES[(where, name)]}
    if not any(re.search(rf"\b{re.escape(n)}\b", body) for n in names):
        pytest.fail(f"{where}: none of {sorted(names)} in {resolved}:{first}-{last}")
