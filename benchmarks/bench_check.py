"""(1) `kmodel check` on a trace made with `kmodel simulate` vs a bare regex tokenizer.

Both run in fresh processes over the same file; the ratio is of CPU seconds (user + sys,
from os.wait4), so other load on the machine changes it little. Target: at most 1.5x
(issue 12; issue 6 asked for 2x).
"""

from __future__ import annotations

from pathlib import Path

from common import count_lines, simulated_trace, worker


def run(workdir: Path, events: int, repeat: int) -> list[str]:
    path, made = simulated_trace(workdir, "basic", events)
    n = count_lines(path) - 10  # the header block
    best: dict[str, float] = {}
    label = "check"
    for _ in range(repeat):
        for mode in ("bare", "check"):
            child = worker(mode, path)
            best[mode] = min(best.get(mode, float("inf")), child.cpu)
            if mode == "check":
                label = child.stdout.split()[1].replace("_", " ")
    lines = [f"[check] trace: {path.name}, {n:,} events, {path.stat().st_size / 1e6:.0f} MB"]
    if made is not None:
        lines.append(
            f"[check] kmodel simulate made it: {made.cpu:.1f} s CPU, "
            f"{n / made.cpu:,.0f} events/s, peak RSS {made.maxrss_mb:.0f} MB"
        )
    for mode in ("bare", "check"):
        name = "bare tokenizer" if mode == "bare" else label
        rate = n / best[mode]
        lines.append(f"[check] {name:<15} {best[mode]:7.2f} s CPU  {rate:10,.0f} events/s")
    ratio = best["check"] / best["bare"]
    lines.append(f"[check] ratio check/bare = {ratio:.2f}x (target <= 1.5x)")
    return lines
