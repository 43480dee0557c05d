"""Custom capture scenarios as data: a TOML file of guest shell fragments and expectations.

``kmodel capture --scenario-file FILE`` reads one ``[[scenario]]`` table per scenario::

    [[scenario]]
    name = "ssd_pc1"                  # [a-z][a-z0-9_]*, not a built-in name
    summary = "SSD, page-cluster 1"
    outcome = "ok"                    # ok | read_error | write_error | oom
    rotational = "0"
    setup = '''
    PC0=$(cat /proc/sys/vm/page-cluster)
    echo 1 > /proc/sys/vm/page-cluster
    '''
    teardown = "echo $PC0 > /proc/sys/vm/page-cluster"
    expect = ['(?m)^# page-cluster: 1$', 'swap_readpage:']

Keys and defaults are those of :class:`~kmodel.capture.scenarios.Scenario` (see
docs/capture.md). Every error names the file, the line and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from kmodel.capture.scenarios import SCENARIOS, Outcome, Scenario
from kmodel.errors import KmodelError

_NAME = re.compile(r"[a-z][a-z0-9_]*")

#: key -> (type, what is expected), besides ``name`` and ``outcome``.
_STR_KEYS = ("summary", "device", "irq_disk", "rotational", "workload", "disk", "setup",
             "midway", "teardown")  # fmt: skip
_LIST_KEYS = ("expect", "forbid")
_KEYS = ("name", "outcome", "hogs", "misses_allowed", *_STR_KEYS, *_LIST_KEYS)


class _Locator:
    """Finds the line of a key inside the n-th ``[[scenario]]`` table of the file's text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables = [
            i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*scenario\s*\]\]", line)
        ]

    def line(self, index: int, key: str | None = None) -> int:
        if index >= len(self.tables):
            return 1
        start = self.tables[index]
        end = self.tables[index + 1] if index + 1 < len(self.tables) else len(self.lines)
        if key is not None:
            for i in range(start, end):
                if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[i]):
                    return i + 1
        return start + 1


def _error(path: Path, line: int, message: str) -> KmodelError:
    return KmodelError(f"{path}:{line}: {message}")


def _scenario(path: Path, loc: _Locator, index: int, table: dict[str, Any]) -> Scenario:
    def fail(key: str | None, message: str) -> KmodelError:
        return _error(path, loc.line(index, key), message)

    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key {unknown[0]!r}; expected one of: {', '.join(_KEYS)}")
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail("name", f"name must be a string matching [a-z][a-z0-9_]*, not {name!r}")
    if name in {s.name for s in SCENARIOS}:
        raise fail("name", f"scenario {name!r} is built in; choose another name")
    outcome_text = table.get("outcome", "ok")
    outcomes = [o.value for o in Outcome]
    if outcome_text not in outcomes:
        raise fail("outcome", f"outcome must be one of {', '.join(outcomes)}, not {outcome_text!r}")
    fields: dict[str, Any] = {}
    for key in _STR_KEYS:
        if key in table:
            if not isinstance(table[key], str):
                raise fail(key, f"{key} must be a string, not {type(table[key]).__name__}")
            fields[key] = table[key].strip()
    for key in _LIST_KEYS:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"{key} must be a list of regular expressions (strings)")
        for rx in value:
            try:
                re.compile(rx)
            except re.error as exc:
                raise fail(key, f"{key}: bad regular expression {rx!r}: {exc}") from None
        fields[key] = tuple(value)
    hogs = table.get("hogs", 1)
    if not isinstance(hogs, int) or isinstance(hogs, bool) or not 1 <= hogs <= 2:
        raise fail("hogs", f"hogs must be 1 or 2 (one workload per CPU), not {hogs!r}")
    misses = table.get("misses_allowed", False)
    if not isinstance(misses, bool):
        raise fail("misses_allowed", f"misses_allowed must be true or false, not {misses!r}")
    return Scenario(
        name=name,
        summary=fields.pop("summary", f"custom scenario from {path.name}"),
        device=fields.pop("device", "@ktswap") or "@ktswap",
        outcome=Outcome(outcome_text),
        hogs=hogs,
        misses_allowed=misses,
        **fields,
    )


def load(path: Path) -> tuple[Scenario, ...]:
    """Read the scenarios of a TOML scenario file; raise KmodelError naming file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise KmodelError(f"{path}: cannot read the scenario file: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        raise _error(path, int(line.group(1)) if line else 1, f"not valid TOML: {exc}") from None
    loc = _Locator(text)
    extra = sorted(set(data) - {"scenario"})
    if extra:
        raise _error(path, 1, f"unknown top-level key {extra[0]!r}; expected [[scenario]] tables")
    tables = data.get("scenario")
    if not isinstance(tables, list) or not tables:
        raise _error(path, 1, "no [[scenario]] table: expected at least one")
    out = [_scenario(path, loc, i, t) for i, t in enumerate(tables)]
    names = [s.name for s in out]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _error(path, loc.line(i, "name"), f"scenario {name!r} is defined twice")
    return tuple(out)
