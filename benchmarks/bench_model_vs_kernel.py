"""(4) The model alone on one read-error scenario: time to a trace.

`kmodel simulate --scenario readerr_blkdebug`. Its comparison with the real kernel was a
`kmodel capture --scenario readerr_blkdebug` in a QEMU boot of its own; it is now made per
scenario, for 6.1 and 6.12, from the one boot per kernel of section 6 (bench_capture), and
this section says so when captures run.
"""

from __future__ import annotations

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
        return [*lines, "[model-vs-kernel] kernel: per scenario in section 6 (kernel/model "
                "ratios of 6.1 and 6.12, one boot per kernel)"]
