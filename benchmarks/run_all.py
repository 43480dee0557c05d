"""Run every benchmark of issue 6 and print the ratios measured in this run.

    python benchmarks/run_all.py [--quick] [--scale F] [--workdir DIR] [--no-capture]

1. `kmodel check` on a ~1M-event `kmodel simulate` trace vs a bare regex tokenizer;
2. scaling of the checker over 100k, 1M and 10M events: CPU time per event and peak RSS;
3. fuzzing: steps/s of `SwapIOMachine` vs a trivial machine with as many rules;
4. the model vs the real kernel (`kmodel capture`) on `readerr_blkdebug`.

`--quick` shrinks everything for a smoke run (under a minute) and skips the QEMU capture;
`--scale` multiplies every size (the tests use a small one). Traces are cached in the
work directory (default ~/.cache/kmodel/bench): delete it to make them again. Nothing is
asserted: the targets are printed beside the numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_check
import bench_fuzz
import bench_model_vs_kernel
import bench_scaling


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    check: int
    scaling: list[int]
    fuzz_examples: int
    fuzz_steps: int
    model: int
    repeat: int


FULL = Plan(1_000_000, [100_000, 1_000_000, 10_000_000], 50, 50, 20_000, 3)
QUICK = Plan(20_000, [5_000, 20_000, 50_000], 5, 30, 5_000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no QEMU capture")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache/kmodel/bench")
    parser.add_argument("--no-capture", action="store_true", help="skip the QEMU comparison")
    options = parser.parse_args(argv)
    plan = QUICK if options.quick else FULL

    def size(n: int) -> int:
        return max(100, int(n * options.scale))

    capture = not (options.quick or options.no_capture)
    examples = max(1, int(plan.fuzz_examples * options.scale))
    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("1. kmodel check vs bare tokenizer",
         lambda: bench_check.run(options.workdir, size(plan.check), plan.repeat)),
        ("2. scaling", lambda: bench_scaling.run(options.workdir, [size(n) for n in plan.scaling])),
        ("3. fuzzing", lambda: bench_fuzz.run(examples, plan.fuzz_steps)),
        ("4. model vs real kernel",
         lambda: bench_model_vs_kernel.run(size(plan.model), capture=capture)),
    ]  # fmt: skip
    for title, run in sections:
        start = time.perf_counter()
        print(f"== {title}", flush=True)
        for line in run():
            print(line, flush=True)
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
