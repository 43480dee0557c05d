"""A generated corpus of bad inputs for ``kmodel check``, from every real trace of the repository.

Each case is a window of a real trace (its header and ~100 consecutive lines) damaged in one
way: truncated, cut mid-field, a value the kernel cannot print, garbage bytes, NUL bytes, an
endless line, unknown events, reordered, deleted or duplicated lines. Every case goes through
the command line (``kmodel.cli.main``) in-process and must end with exit 2 naming the file and
the damaged line, 1 (a divergence), 3 (nothing checked) or 0, as its class allows, never a
traceback, and the whole corpus within bounded memory.
"""

from __future__ import annotations

import itertools
import random
import re
import resource
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.trace.events import ARG_TYPES, EVENT_ARGS
from kmodel.trace.parse import LINE_MAX

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "tests" / "data" / "traces").glob("*.trace.txt"),
                  *(ROOT / "kmodel" / "data" / "traces").glob("*.trace.txt")])
CASES_PER_CLASS = 20
WINDOW = 100
_EVENT = re.compile(r".*\[\d{3}\] \S+\s+(\d+\.\d{6}): (\S+): ")


class Case:
    """One damaged window: its lines, and the exit statuses (and line) its class allows."""

    def __init__(self, lines: list[str], allowed: set[int], lineno: int | None = None,
                 text: str = "") -> None:
        self.lines = lines
        self.allowed = allowed
        self.lineno = lineno  # the line an exit 2 must name
        self.text = text  # what the error must say


def _window(rng: random.Random) -> list[str]:
    lines = rng.choice(SOURCES).read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    start = rng.randrange(len(body) - WINDOW)
    return header + body[start:start + WINDOW]


def _events(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _EVENT.match(line)]


def _typed(lines: list[str]) -> list[tuple[int, str, str]]:
    """(index, event, key) of the integer args of known events in `lines`."""
    out = []
    for i in _events(lines):
        m = _EVENT.match(lines[i])
        assert m is not None
        for key in ARG_TYPES.get(m[2], {}):
            out.append((i, m[2], key))
    return out


def truncated(rng: random.Random) -> Case:
    lines = _window(rng)
    i = rng.choice(_events(lines))
    cut = rng.randrange(1, len(lines[i].rstrip()))
    lines[i] = lines[i][:cut]
    if not lines[i].strip():
        lines[i] = "x"
    return Case(lines[: i + 1], {2}, i + 1, "the input ends inside this line")


def cut_mid_field(rng: random.Random) -> Case:
    lines = _window(rng)
    i, event, key = rng.choice(_typed(lines))
    line = lines[i]
    lines[i] = line[: line.index(f" {key}=") + len(key) + 2] + "\n"  # `key=` and no value
    allowed = {2} if key in EVENT_ARGS[event] else {0, 1, 2, 3}
    return Case(lines, allowed, i + 1, event)


_BAD_VALUES = ["-1", "-0x1", hex(1 << 64), hex(1 << 102), "9" * 40, "0x", "zz", "1e5", "0x-1"]


def bad_value(rng: random.Random) -> Case:
    lines = _window(rng)
    i, event, key = rng.choice(_typed(lines))
    value = rng.choice(_BAD_VALUES)
    lines[i] = re.sub(rf" {key}=\S*", f" {key}={value}", lines[i], count=1)
    return Case(lines, {2}, i + 1, f"{event}: {key}=")


def garbage(rng: random.Random) -> Case:
    lines = _window(rng)
    i = rng.randrange(len(lines))
    junk = bytes(rng.choice([*range(1, 9), *range(14, 35), *range(36, 256)])
                 for _ in range(rng.randrange(1, 200)))
    lines.insert(i, junk.decode("latin-1").replace("\x0b", "").replace("\x0c", "") + "\n")
    return Case(lines, {2}, i + 1)


def nul_bytes(rng: random.Random) -> Case:
    lines = _window(rng)
    i = rng.randrange(len(lines))
    lines.insert(i, "\0" * rng.randrange(1, 3 * LINE_MAX) + "\n")
    return Case(lines, {2}, i + 1)


def endless_line(rng: random.Random) -> Case:
    lines = _window(rng)
    i = rng.choice(_events(lines))
    lines[i] = lines[i].rstrip("\n") + " x=" + "7" * rng.randrange(LINE_MAX, 4 * LINE_MAX) + "\n"
    return Case(lines, {2}, i + 1, f"line longer than {LINE_MAX} bytes")


def unknown_events(rng: random.Random) -> Case:
    lines = _window(rng)
    every = rng.random() < 0.5
    for i in _events(lines):
        if every or rng.random() < 0.3:
            m = _EVENT.match(lines[i])
            assert m is not None
            lines[i] = lines[i].replace(f": {m[2]}: ", f": x_{m[2]}_{rng.randrange(99)}: ", 1)
    return Case(lines, {3} if every else {0, 1, 3})


def reordered_same_cpu(rng: random.Random) -> Case:
    lines = _window(rng)
    events = _events(lines)
    pairs = []
    for a, b in itertools.pairwise(events):
        ma, mb = _EVENT.match(lines[a]), _EVENT.match(lines[b])
        assert ma is not None and mb is not None
        same_cpu = lines[a].split("[")[1][:3] == lines[b].split("[")[1][:3]
        if same_cpu and float(ma[1]) < float(mb[1]):
            pairs.append((a, b))
    if not pairs:
        return Case(lines, {0, 1, 3})
    a, b = rng.choice(pairs)
    lines[a], lines[b] = lines[b], lines[a]
    # the earlier event now comes second: the first line after the swap on that CPU
    return Case(lines, {2}, None, "previous event of CPU")


def reordered(rng: random.Random) -> Case:
    lines = _window(rng)
    events = _events(lines)
    k = rng.randrange(len(events) - 1)
    a, b = events[k], events[k + 1]
    lines[a], lines[b] = lines[b], lines[a]
    return Case(lines, {0, 1, 2, 3})


def deleted(rng: random.Random) -> Case:
    lines = _window(rng)
    for i in sorted(rng.sample(_events(lines), rng.randrange(1, 10)), reverse=True):
        del lines[i]
    return Case(lines, {0, 1, 3})


def duplicated(rng: random.Random) -> Case:
    lines = _window(rng)
    i = rng.choice(_events(lines))
    lines.insert(i + 1, lines[i])
    return Case(lines, {0, 1, 3})


CLASSES: dict[str, Callable[[random.Random], Case]] = {
    f.__name__: f for f in (truncated, cut_mid_field, bad_value, garbage, nul_bytes,
                            endless_line, unknown_events, reordered_same_cpu, reordered,
                            deleted, duplicated)
}


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_corpus_is_hundreds_of_cases_from_every_real_trace() -> None:
    assert len(SOURCES) >= 10 and len(CLASSES) * CASES_PER_CLASS >= 200


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_bad_input_corpus(kind: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(f"corpus-{kind}")
    before = _maxrss_mb()
    statuses = []
    for n in range(CASES_PER_CLASS):
        case = CLASSES[kind](rng)
        path = tmp_path / f"{kind}-{n}.trace.txt"
        path.write_text("".join(case.lines), encoding="utf-8", errors="surrogateescape")
        status = main(["check", str(path)])
        captured = capsys.readouterr()
        out = captured.out + captured.err
        assert "Traceback" not in out, out
        assert status in case.allowed, (kind, n, status, out[-2000:])
        statuses.append(status)
        if status == 2:
            where = f"{path}:{case.lineno}:" if case.lineno is not None else f"{path}:"
            assert where in captured.err, (kind, n, case.lineno, captured.err[-2000:])
            assert case.text in captured.err, (kind, n, captured.err[-2000:])
        elif status == 1:
            assert f"{path}: DIVERGENT: " in captured.out and ": divergence [" in captured.out
        elif status == 3:
            assert f"{path}: NOTHING CHECKED: " in captured.out
        else:
            assert f"{path}: conformant: " in captured.out
    assert _maxrss_mb() - before < 64, "the corpus grew the process by 64 MB or more"
    if kind == "reordered_same_cpu":
        assert statuses.count(2) >= CASES_PER_CLASS // 2  # most windows have such a pair
