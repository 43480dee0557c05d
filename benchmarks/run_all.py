"""Run every benchmark of issue 12 and print each figure beside its target, in one run.

    python benchmarks/run_all.py [--quick] [--scale F] [--max-events N] [--workdir DIR]
                                 [--no-capture] [--capture-log FILE] [--only 2b,3b,6]

0. start-up: `kmodel --version` vs `python -c pass`, `kmodel check` of a 5,000-event trace;
1. `kmodel check` vs a bare regex tokenizer, CPU, at 1M events (and 10M, full run only);
2. scaling of the checker over 100k, 1M and 10M events: time per event and peak RSS;
   2b. adversarial memory: the same trace repeated under ever new pids, and one copy per
   swap area on ever more swap types (each report verified conformant, every copy checked);
3. fuzzing: steps/s of `SwapIOMachine` vs a trivial machine with one rule per action;
   3b. `kmodel fuzz --seconds N` of the 6.1 and 6.12 models: wall time vs N + 1 s;
4. the model alone on `readerr_blkdebug` (its kernel comparison is in section 6);
5. `kmodel check -j 2` vs `-j 1` on 8 files ("not available" without `-j`);
6. `kmodel capture` of all the default scenarios of 6.1, then of 6.12 (one QEMU boot each,
   ~35-90 s each): prepare, boot, per-scenario and power-off split, the total vs <= 60 s
   warm, and per scenario the kernel vs `kmodel simulate` of as many events. With
   `--capture-log FILE` (repeatable: one saved `kmodel capture` output per kernel) the
   outputs are read instead of run.

`--quick` shrinks everything for a smoke run (under a minute) and starts no QEMU capture;
`--scale` multiplies every size (the tests use a small one); `--max-events` drops the sizes
above N (a 10M-event trace takes ~10 min to make). Traces are cached in the work directory
(default ~/.cache/kmodel/bench). Nothing is asserted: the targets are printed beside the
numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_adversarial
import bench_capture
import bench_check
import bench_fuzz
import bench_model_vs_kernel
import bench_parallel
import bench_scaling
import bench_startup


@dataclass(frozen=True)
class Plan:
    """The sizes of one run."""

    startup_repeat: int
    check: list[int]
    scaling: list[int]
    adversarial_base: int
    adversarial_copies: list[int]
    parallel: int
    fuzz_examples: int
    fuzz_steps: int
    fuzz_repeat: int
    fuzz_seconds: float
    swap_types: list[int]
    model: int
    repeat: int


FULL = Plan(20, [1_000_000, 10_000_000], [100_000, 1_000_000, 10_000_000], 10_000,
            [10, 100], 100_000, 50, 50, 5, 5.0, [2, 8, 25], 20_000, 3)
QUICK = Plan(3, [20_000], [5_000, 20_000, 50_000], 2_000, [2, 5], 5_000, 5, 30, 1, 1.0,
             [2, 5], 5_000, 1)


def _load() -> str:
    """', load average 1.2 1.5 1.7' (1, 5, 15 min) where /proc/loadavg exists, else ''."""
    try:
        with open("/proc/loadavg") as f:
            return ", load average " + " ".join(f.read().split()[:3])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no QEMU capture")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--max-events", type=int, default=None, metavar="N",
                        help="skip trace sizes above N events")
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache/kmodel/bench")
    parser.add_argument("--no-capture", action="store_true",
                        help="start no QEMU capture (sections 4 and 6)")
    parser.add_argument("--capture-log", type=Path, action="append", default=None,
                        metavar="FILE",
                        help="saved output of `kmodel capture` (repeatable, one per kernel): "
                        "read its split instead of running the captures")
    parser.add_argument("--only", default=None, metavar="LIST",
                        help="run only these sections, e.g. 2b,3b,6 (default: all)")
    options = parser.parse_args(argv)
    plan = QUICK if options.quick else FULL

    def size(n: int) -> int:
        return max(100, int(n * options.scale))

    def sizes(ns: list[int]) -> list[int]:
        kept = [size(n) for n in ns if options.max_events is None or n <= options.max_events]
        return kept or [size(ns[0])]

    capture = not (options.quick or options.no_capture)
    examples = max(1, int(plan.fuzz_examples * options.scale))
    work = options.workdir
    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("0. start-up", lambda: bench_startup.run(work, plan.startup_repeat)),
        ("1. kmodel check vs bare tokenizer (CPU)",
         lambda: [line for n in sizes(plan.check)
                  for line in bench_check.run(work, n, plan.repeat if n <= 1_000_000 else 1)]),
        ("2. scaling", lambda: bench_scaling.run(work, sizes(plan.scaling))),
        ("2b. adversarial memory",
         lambda: bench_adversarial.run(work, size(plan.adversarial_base),
                                       plan.adversarial_copies, plan.swap_types)),
        ("3. fuzzing", lambda: bench_fuzz.run(examples, plan.fuzz_steps, plan.fuzz_repeat)),
        ("3b. kmodel fuzz --seconds", lambda: bench_fuzz.run_budget(plan.fuzz_seconds)),
        ("4. model vs real kernel",
         lambda: bench_model_vs_kernel.run(size(plan.model), capture=capture)),
        ("5. kmodel check -j", lambda: bench_parallel.run(work, size(plan.parallel))),
        ("6. capture split and model vs kernel per scenario",
         lambda: bench_capture.run(options.capture_log, capture_now=capture, workdir=work)),
    ]  # fmt: skip
    if options.only is not None:
        wanted = {w.strip() for w in options.only.split(",") if w.strip()}
        unknown = wanted - {title.split(".", 1)[0] for title, _ in sections}
        if unknown:
            parser.error(f"--only: no section {', '.join(sorted(unknown))}")
        sections = [(t, r) for t, r in sections if t.split(".", 1)[0] in wanted]
    failed = 0
    for title, run in sections:
        start = time.perf_counter()
        print(f"== {title}", flush=True)
        try:
            lines = run()
        except RuntimeError as exc:  # a child failed: say so, run the other sections
            failed += 1
            last = str(exc).strip().splitlines()[-1]
            lines = [f"[{title.split(' ', 1)[1]}] FAILED: {last}"]
        for line in lines:
            print(line, flush=True)
        print(f"   ({time.perf_counter() - start:.1f} s{_load()})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
