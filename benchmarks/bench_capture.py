"""(6) Capture: the boot and per-scenario split of a `kmodel capture` run, read from its
saved output (`kmodel capture ... | tee capture.log`; run_all never starts QEMU itself).

Target: all scenarios of one kernel in <= 60 s warm on 2 cores.
"""

from __future__ import annotations

import re
from pathlib import Path

_TOTAL = re.compile(r"^prepare: ([\d.]+) s, boot and run: ([\d.]+) s \(to /init ([\d.]+) s, "
                    r"scenarios ([\d.]+) s, results and power-off ([\d.]+) s\)", re.M)
_SCENARIO = re.compile(r"^  (\S+)\s+([\d.]+) s guest\s+([\d.]+) s wall", re.M)


def run(log: Path | None) -> list[str]:
    if log is None:
        return ["[capture] not measured: give --capture-log FILE (the saved output of "
                "`kmodel capture`)"]
    text = log.read_text()
    total = _TOTAL.search(text)
    if total is None:
        return [f"[capture] {log}: no 'prepare: ... boot and run: ...' line"]
    prepare, boot_run, init, scen, tail = map(float, total.groups())
    lines = [f"[capture] {log.name}: prepare {prepare:.1f} s, boot to /init {init:.1f} s, "
             f"scenarios {scen:.1f} s, results and power-off {tail:.1f} s"]
    for name, guest, wall in _SCENARIO.findall(text):
        lines.append(f"[capture]   {name:<18} {float(guest):6.2f} s guest {float(wall):6.2f} s "
                     f"wall")
    lines.append(f"[capture] total prepare + boot and run = {prepare + boot_run:.1f} s "
                 f"(target <= 60 s warm)")
    return lines
