"""(2) Scaling: the checker's time per event and peak RSS at growing trace sizes.

Each size runs in a fresh process; CPU seconds and peak RSS come from that process alone
(os.wait4), less the CPU of checking a header-only trace (start-up and imports). Targets:
time per event within 10% of the smallest size's, peak RSS at the largest within 20% of the
smallest's. The traces come from `kmodel simulate`, whose own throughput and RSS at each
size are printed too (when it had to make the trace).
"""

from __future__ import annotations

from pathlib import Path

from common import count_lines, simulated_trace, worker


def _startup(workdir: Path) -> float:
    """CPU seconds of a check of a header-only trace: interpreter and imports."""
    empty = workdir / "empty.trace.txt"
    workdir.mkdir(parents=True, exist_ok=True)
    empty.write_text("# tracer: nop\n#\n")
    return worker("check", empty).cpu


def run(workdir: Path, sizes: list[int]) -> list[str]:
    startup = _startup(workdir)
    lines = [f"[scaling] startup (header-only trace): {startup:.2f} s CPU, subtracted below"]
    rows = []
    for size in sizes:
        path, made = simulated_trace(workdir, "basic", size)
        n = count_lines(path) - 10
        if made is not None:
            lines.append(
                f"[scaling] simulate {n:>11,} events: {n / made.cpu:9,.0f} events/s, "
                f"peak RSS {made.maxrss_mb:6.1f} MB"
            )
        child = worker("check", path)
        rows.append((n, max(0.0, child.cpu - startup) / n * 1e6, child.maxrss_mb))
        lines.append(
            f"[scaling] {child.stdout.split()[1]:<12} {n:>11,} events: "
            f"{child.cpu:8.2f} s CPU  {rows[-1][1]:6.2f} us/event  "
            f"peak RSS {child.maxrss_mb:6.1f} MB"
        )
    n0, us0, rss0 = rows[0]
    for n, us, rss in rows[1:]:
        time_ratio = f"{us / us0:.2f}x" if us0 > 0 else "n/a (smallest size below start-up noise)"
        lines.append(
            f"[scaling] ratio {n:,} vs {n0:,}: time/event {time_ratio} "
            f"(target within 10%), peak RSS {rss / rss0:.2f}x (target within 20%)"
        )
    return lines
