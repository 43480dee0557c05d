"""(4) The model vs the real kernel on one read-error scenario: time to a trace.

`kmodel simulate --scenario readerr_blkdebug` against `kmodel capture --scenario
readerr_blkdebug` (QEMU boot of Debian's 6.1.176 and the workload, kernel cached in
~/.cache/kmodel). Skipped, with a note, when capture cannot run here.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import count_lines, python, run_child

SCENARIO = "readerr_blkdebug"


def run(events: int, *, capture: bool) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.trace.txt"
        model = run_child(
            python(
                "-m",
                "kmodel",
                "simulate",
                "--scenario",
                SCENARIO,
                "--events",
                str(events),
                "-o",
                str(out),
            )
        )
        n_model = count_lines(out) - 10
        lines = [
            f"[model-vs-kernel] model:  {n_model:,} events in {model.wall:.2f} s wall "
            f"({model.cpu:.2f} s CPU)"
        ]
        if not capture:
            return [*lines, "[model-vs-kernel] kernel: skipped (--quick or --no-capture)"]
        if shutil.which("qemu-system-x86_64") is None:
            return [*lines, "[model-vs-kernel] kernel: skipped: qemu-system-x86_64 not found"]
        kernel = run_child(
            python("-m", "kmodel", "capture", "--scenario", SCENARIO, "-o", tmp), check=False
        )
        trace = Path(tmp) / f"{SCENARIO}.trace.txt"
        if kernel.status != 0 or not trace.exists():
            return [
                *lines,
                f"[model-vs-kernel] kernel: skipped: kmodel capture exited "
                f"{kernel.status} (no cached kernel or no QEMU?)",
            ]
        n_kernel = count_lines(trace) - 12
        lines.append(
            f"[model-vs-kernel] kernel: {n_kernel:,} events in {kernel.wall:.2f} s wall "
            f"(boot + scenario, QEMU TCG)"
        )
        lines.append(
            f"[model-vs-kernel] ratio kernel/model wall = "
            f"{kernel.wall / model.wall:.1f}x; per event "
            f"{(kernel.wall / n_kernel) / (model.wall / n_model):.1f}x"
        )
        return lines
