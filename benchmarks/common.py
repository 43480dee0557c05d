"""Shared helpers of the benchmarks: traces made with `kmodel simulate`, child processes
measured one by one (CPU time and peak RSS from `os.wait4`), and the report lines.

No timing is asserted anywhere: the benchmarks print what they measured in this run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "worker.py"


@dataclass(frozen=True)
class Child:
    """One finished child process: wall and CPU seconds, peak RSS, what it printed."""

    wall: float
    cpu: float
    maxrss_mb: float
    stdout: str
    status: int
    stderr: str = ""


def run_child(argv: list[str], *, check: bool = True) -> Child:
    """Run ``argv`` and measure it alone (``os.wait4`` gives this child's own rusage)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if check and code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}:\n{stderr[-2000:]}")
    return Child(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, code,
                 stderr)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def trace_path(workdir: Path, scenario: str, events: int, seed: int = 0) -> Path:
    return workdir / f"{scenario}-{events}-s{seed}.trace.txt"


def simulated_trace(
    workdir: Path, scenario: str, events: int, *, seed: int = 0, fresh: bool = False
) -> tuple[Path, Child | None]:
    """A trace made by ``kmodel simulate`` (cached in ``workdir``); the run if it was made."""
    path = trace_path(workdir, scenario, events, seed)
    if path.exists() and not fresh:
        return path, None
    workdir.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    child = run_child(
        python(
            "-m",
            "kmodel",
            "simulate",
            "--scenario",
            scenario,
            "--events",
            str(events),
            "--seed",
            str(seed),
            "-o",
            str(part),
        )
    )
    part.rename(path)
    return path, child


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


def worker(mode: str, path: Path) -> Child:
    """Run one worker mode (check, parse, bare) over ``path`` in a fresh process; its peak
    RSS is the one it read from /proc (``VmHWM``, see ``worker.peak_rss_kb``), not the
    ``ru_maxrss`` that ``os.wait4`` gives, which is at least this process' own RSS."""
    child = run_child(python(str(WORKER), mode, str(path)))
    for word in child.stdout.split():
        if word.startswith("hwm_kb="):
            return replace(child, maxrss_mb=int(word[len("hwm_kb="):]) / 1024)
    return child


def events_of(child: Child) -> int:
    return int(child.stdout.split()[0])
