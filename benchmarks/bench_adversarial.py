"""(2b) Memory on adversarial traces: peak RSS of `kmodel check` when every repetition of
the basic scenario runs under new pids, at growing sizes.

The trace repeats a `kmodel simulate` trace, shifting the timestamps and giving each copy
its own pids (pid + copy * 100,000), so a checker keeping per-task state forever grows
with the trace. Target: peak RSS bounded (within 20% from the smallest to the largest).
Many swap types are not generated: the simulator swaps on one area, and a trace whose
entries name swap types without their swapon would only measure the checker's error path.
"""

from __future__ import annotations

import re
from pathlib import Path

from common import simulated_trace, worker

_PID = re.compile(r"^(\s*.+?-)(\d+)(\s+)(?:\((\s*)(\d+)\))?")
_TS = re.compile(r" (\d+)\.(\d{6}): ")


def many_pids(workdir: Path, base_events: int, copies: int) -> Path:
    out = workdir / f"manypids-{base_events}x{copies}.trace.txt"
    if out.exists():
        return out
    base, _ = simulated_trace(workdir, "basic", base_events)
    lines = base.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    part = out.with_suffix(".part")
    offset = 0
    with part.open("w") as f:
        f.writelines(header)
        for copy in range(copies):
            last = 0
            for line in body:
                m = _TS.search(line)
                if m is None:
                    continue
                last = int(m.group(1)) * 1_000_000 + int(m.group(2))
                ts = last + offset
                line = f"{line[:m.start()]} {ts // 1_000_000:5d}.{ts % 1_000_000:06d}: " \
                       f"{line[m.end():]}"
                p = _PID.match(line)
                if p is not None and p.group(2) != "0":
                    shift = copy * 100_000
                    head = f"{p.group(1)}{int(p.group(2)) + shift}{p.group(3)}"
                    if p.group(5) is not None:  # the TGID column
                        tgid = f"{int(p.group(5)) + shift}"
                        head += f"({tgid:>{len(p.group(4)) + len(p.group(5))}})"
                    line = head + line[p.end():]
                f.write(line)
            offset += last + 1
    part.rename(out)
    return out


def run(workdir: Path, base_events: int, copies: list[int]) -> list[str]:
    rows = []
    for n in copies:
        path = many_pids(workdir, base_events, n)
        child = worker("check", path)
        rows.append((n, child.maxrss_mb, child.cpu))
    lines = [f"[adversarial] many pids: {n} copies x ~{base_events:,} events, each under new "
             f"pids: peak RSS {rss:.1f} MB, {cpu:.1f} s CPU" for n, rss, cpu in rows]
    lines.append(f"[adversarial] ratio peak RSS {rows[-1][0]} vs {rows[0][0]} copies = "
                 f"{rows[-1][1] / rows[0][1]:.2f}x (target within 20%)")
    lines.append("[adversarial] many swap types: not generated (one swap area in the "
                 "simulator)")
    return lines
