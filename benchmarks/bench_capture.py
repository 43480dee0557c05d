"""(6) Capture: the boot and per-scenario split of a `kmodel capture` run, read from its
saved output (`kmodel capture ... | tee capture.log`; run_all never starts QEMU itself),
and the model vs the kernel per scenario: `kmodel simulate` of each scenario the simulator
knows, for as many events as the kernel's trace had, against that scenario's wall time in
QEMU (its share of the boot excluded).

Target: all scenarios of one kernel in <= 60 s warm on 2 cores.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from common import python, run_child

_TOTAL = re.compile(r"^prepare: ([\d.]+) s, boot and run: ([\d.]+) s \(to /init ([\d.]+) s, "
                    r"scenarios ([\d.]+) s, results and power-off ([\d.]+) s\)", re.M)
_SCENARIO = re.compile(r"^  (\S+)\s+([\d.]+) s guest\s+([\d.]+) s wall\s+(\d+) events", re.M)
_KERNEL = re.compile(r"^kernel: (.+)$", re.M)


def _simulated() -> set[str]:
    from kmodel.scenarios import SCENARIOS

    return set(SCENARIOS)


def run(log: Path | None) -> list[str]:
    if log is None:
        return ["[capture] not measured: give --capture-log FILE (the saved output of "
                "`kmodel capture`)"]
    text = log.read_text()
    total = _TOTAL.search(text)
    if total is None:
        return [f"[capture] {log}: no 'prepare: ... boot and run: ...' line"]
    prepare, boot_run, init, scen, tail = map(float, total.groups())
    kernel = _KERNEL.search(text)
    lines = [f"[capture] {log.name} ({kernel.group(1) if kernel else 'kernel not named'}): "
             f"prepare {prepare:.1f} s, boot to /init {init:.1f} s, scenarios {scen:.1f} s, "
             f"results and power-off {tail:.1f} s"]
    known = _simulated()
    with tempfile.TemporaryDirectory() as tmp:
        for name, guest, wall, events in _SCENARIO.findall(text):
            line = (f"[capture]   {name:<18} {float(guest):6.2f} s guest {float(wall):6.2f} s "
                    f"wall {int(events):6d} events")
            if name in known and int(events):
                model = run_child(python("-m", "kmodel", "simulate", "--scenario", name,
                                         "--events", events, "-o", f"{tmp}/{name}.txt"))
                line += (f"; model {model.wall:5.2f} s wall: kernel/model "
                         f"{float(wall) / model.wall:5.1f}x")
            lines.append(line)
    lines.append(f"[capture] total prepare + boot and run = {prepare + boot_run:.1f} s "
                 f"(target <= 60 s warm)")
    return lines
