"""(5) `kmodel check -j N FILES...`: wall time of checking 8 files with -j 1 and -j 2.

Target: >= 1.8x on 2 cores for >= 8 files. Prints "not available" while `kmodel check` has
no `-j` (another engineer adds it).
"""

from __future__ import annotations

import concurrent.futures
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, python, run_child, simulated_trace

FILES = 8


def available() -> bool:
    out = subprocess.run(python("-m", "kmodel", "check", "--help"), cwd=ROOT,
                         capture_output=True, text=True, check=False).stdout
    return "--jobs" in out or " -j " in out


def _burn(n: int) -> float:
    """A pure-Python busy loop; its CPU seconds."""
    start = time.process_time()
    total = 0
    for i in range(n):
        total += i
    return time.process_time() - start


def control(n: int = 20_000_000) -> tuple[float, float]:
    """What two processes get from the machine now: the speed-up of two busy loops in two
    processes over one, and the cores they got together (CPU / wall). On a shared machine
    this bounds what ``-j 2`` can show, whatever its code does."""
    start = time.perf_counter()
    _burn(n)
    one = time.perf_counter() - start
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        start = time.perf_counter()
        cpus = list(pool.map(_burn, (n, n)))
        two = time.perf_counter() - start
    return 2 * one / two, sum(cpus) / two


def run(workdir: Path, events: int) -> list[str]:
    if not available():
        return ["[check -j] not available (kmodel check has no -j yet)"]
    files = [simulated_trace(workdir, "basic", events, seed=seed)[0] for seed in range(FILES)]
    walls, cpus, loads = {}, {}, {}
    for jobs in (1, 2):
        loads[jobs] = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = run_child(python("-m", "kmodel", "check", "-j", str(jobs),
                                 *map(str, files)), check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers' CPU too
        walls[jobs] = child.wall
        cpus[jobs] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    speedup, cores = control()
    return [
        f"[check -j] control, two busy loops in two processes (just after): speed-up "
        f"{speedup:.2f}x, {cores:.2f} cores got: what the machine gave two processes",
        f"[check -j] {FILES} files of ~{events:,} events: -j 1 {walls[1]:.2f} s, "
        f"-j 2 {walls[2]:.2f} s wall",
        f"[check -j] CPU (the processes and their workers): -j 1 {cpus[1]:.2f} s, -j 2 "
        f"{cpus[2]:.2f} s; cores used on average (CPU / wall): {cpus[1] / walls[1]:.2f}, "
        f"{cpus[2] / walls[2]:.2f}; load average before: {loads[1]:.1f}, {loads[2]:.1f}",
        f"[check -j] speedup -j 2 / -j 1 = {walls[1] / walls[2]:.2f}x (target >= 1.8x on 2 "
        f"cores, {sys.platform})",
    ]
