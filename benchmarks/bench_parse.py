"""Time `parse_trace` against a bare regex tokenizer on a big synthetic trace.

The trace repeats the event lines of the real traces with rising timestamps. The bare tokenizer
only splits each line into its columns and its key=value args: the floor any parser pays. Prints
events/s for both and their ratio; asserts nothing.

    python benchmarks/bench_parse.py [--events 1000000] [--repeat 3] [--traces DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kmodel.trace import TraceEvent, parse_trace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worker import bare  # the one bare tokenizer of the benchmarks

TRACE_DIRS = (
    Path("/work/shared/kernel/traces"),
    Path(__file__).resolve().parent.parent / "tests" / "data" / "traces",
)

_TIMESTAMP = re.compile(r" (\d+)\.(\d{6}): ")


def _trace_dir(given: str | None) -> Path:
    for path in (Path(given),) if given else TRACE_DIRS:
        if sorted(path.glob("*.trace.txt")):
            return path
    sys.exit(f"no *.trace.txt under {given or ' or '.join(map(str, TRACE_DIRS))}")


def build_trace(trace_dir: Path, events: int, out: Path) -> int:
    """Write `events` event lines to `out` (after one real header); return the line count."""
    files = sorted(trace_dir.glob("*.trace.txt"))
    header = [line for line in files[0].read_text().splitlines(keepends=True) if line[0] == "#"]
    bodies = []
    for file in files:
        lines = [line for line in file.read_text().splitlines(keepends=True) if line[0] != "#"]
        bodies.append(lines)
    written = 0
    offset_us = 0
    with out.open("w") as f:
        f.writelines(header)
        while written < events:
            for lines in bodies:
                last_us = 0
                for line in lines[: events - written]:
                    m = _TIMESTAMP.search(line)
                    if m is None:
                        continue
                    last_us = int(m.group(1)) * 1_000_000 + int(m.group(2))
                    ts = last_us + offset_us
                    f.write(f"{line[: m.start()]} {ts // 1_000_000:5d}.{ts % 1_000_000:06d}: ")
                    f.write(line[m.end() :])
                    written += 1
                offset_us += last_us + 1
                if written >= events:
                    break
    return written


def bare_tokenizer(path: Path) -> int:
    """Split each line into columns and key=value args, nothing else (the benchmarks' one)."""
    return bare(path)


def kmodel_parse(path: Path) -> int:
    n = 0
    for item in parse_trace(path):
        if isinstance(item, TraceEvent):
            n += 1
    return n


def kmodel_parse_and_read(path: Path) -> int:
    """Parse and read what a checker reads of every event: name, context, timestamp, args."""
    n = 0
    for item in parse_trace(path):
        if isinstance(item, TraceEvent):
            _ = (item.name, item.pid, item.in_softirq, item.ts_us, item.args.get("page"))
            n += 1
    return n


def best_of(repeat: int, run: Callable[[Path], int], path: Path) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.process_time()
        count = run(path)
        best = min(best, time.process_time() - start)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--traces", help="directory of *.trace.txt (default: shared or fixtures)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.trace.txt"
        events = build_trace(_trace_dir(options.traces), options.events, path)
        size = path.stat().st_size / 1e6
        print(f"synthetic trace: {events} events, {size:.0f} MB")
        base, n_base = best_of(options.repeat, bare_tokenizer, path)
        print(f"bare tokenizer     : {base:7.2f} s  {n_base / base:10,.0f} events/s")
        for label, run in (
            ("parse_trace        ", kmodel_parse),
            ("parse_trace + read ", kmodel_parse_and_read),
        ):
            took, n = best_of(options.repeat, run, path)
            print(f"{label}: {took:7.2f} s  {n / took:10,.0f} events/s  ratio {took / base:.2f}x")


if __name__ == "__main__":
    main()
