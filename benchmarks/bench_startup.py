"""(0) Start-up: `kmodel --version` against `python -c pass`, and `kmodel check` of a
5,000-event trace, wall time of fresh processes.

Each command runs `repeat` times, interleaved with the others, and the median wall time
is reported (the machine is shared: medians resist bursts of load). The children may
write bytecode (`PYTHONDONTWRITEBYTECODE` is dropped) and a warm-up run goes first, so the
numbers are those of an installed kmodel with its .pyc files, as users run it.
Targets: `kmodel --version` <= 2.5x `python -c pass`; the check <= 100 ms.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, simulated_trace


def _kmodel() -> list[str]:
    """The installed ``kmodel`` script beside this interpreter, else ``python -m kmodel``."""
    script = Path(sys.executable).with_name("kmodel")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kmodel"]


def _wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys, ``os.wait4``) seconds of one fresh run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):  # 1: divergences found; 3: nothing checked (no event)
        raise RuntimeError(f"{' '.join(argv)} exited {code}")
    return wall, usage.ru_utime + usage.ru_stime


def run(workdir: Path, repeat: int) -> list[str]:
    trace, _ = simulated_trace(workdir, "basic", 5_000)
    n = sum(1 for line in trace.open() if not line.startswith("#"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # Imports and set-up, no event; the blank line ends the header within what
    # check._may_name_kernel reads, so that the 6.12 checker is not imported (as for `trace`).
    header_only = workdir / "header-only.trace.txt"
    header_only.write_text("# tracer: nop\n#\n\n")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "kmodel --version": [*_kmodel(), "--version"],
        "kmodel check (header only)": [*_kmodel(), "check", str(header_only)],
        f"kmodel check ({n:,} events)": [*_kmodel(), "check", str(trace)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm-up: writes the .pyc files
        subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)
    for _ in range(repeat):
        for name, argv in commands.items():
            wall, cpu = _wall(argv, env)
            times[name].append(wall)
            cpus[name].append(cpu)
    med = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    low = {name: min(t) * 1e3 for name, t in times.items()}
    cpu_med = {name: statistics.median(t) * 1e3 for name, t in cpus.items()}
    lines = [f"[startup] {name:<28} median {med[name]:6.1f} ms  min {low[name]:6.1f} ms  "
             f"CPU median {cpu_med[name]:6.1f} ms  ({repeat} runs)" for name in commands]
    base, version = med["python -c pass"], med["kmodel --version"]
    check = med[f"kmodel check ({n:,} events)"]
    lines.append(f"[startup] ratio kmodel --version / python -c pass = {version / base:.2f}x "
                 f"(target <= 2.5x)")
    lines.append(f"[startup] kmodel check of a {n:,}-event trace = {check:.0f} ms wall "
                 f"(target <= 100 ms)")
    empty = med["kmodel check (header only)"]
    empty_cpu = cpu_med["kmodel check (header only)"]
    check_cpu = cpu_med[f"kmodel check ({n:,} events)"]
    lines.append(f"[startup] of which start-up (a header-only trace's check) {empty:.0f} ms, "
                 f"the {n:,} events {check - empty:.0f} ms (medians, wall); CPU "
                 f"{empty_cpu:.0f} + {check_cpu - empty_cpu:.0f} ms")
    if shutil.which("hyperfine") is None:
        lines.append("[startup] (hyperfine not installed; medians of plain runs)")
    return lines
