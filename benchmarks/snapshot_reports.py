"""Snapshot what ``kmodel check`` prints for every committed trace, to compare two trees.

    python benchmarks/snapshot_reports.py OUT_DIR [--simulated N ...]

For each trace under ``tests/data/traces``, ``tests/data/recorders`` and
``kmodel/data/traces`` (and, with ``--simulated N``, the cached simulated ``basic`` trace of
N events), runs ``kmodel check --json FILE`` and ``kmodel check FILE`` (text report) in a
fresh process and writes the exit status, standard output and standard error to one file per
trace in OUT_DIR. A performance change must leave ``diff -r BEFORE AFTER`` empty (the reports'
``seconds``, a wall time, are written as ``*``).
The text traces are also checked from standard input (``-``), so both input paths are held.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import ROOT, simulated_trace

_GLOBS = ("tests/data/traces/**/*.trace.txt*", "tests/data/recorders/**/*",
          "kmodel/data/traces/*.trace.txt")


#: The one field of a report that differs from run to run: the check's wall time.
_SECONDS = re.compile(r'"seconds": [0-9.]+')


def _traces() -> list[Path]:
    found: set[Path] = set()
    for pattern in _GLOBS:
        found.update(p for p in ROOT.glob(pattern)
                     if p.is_file() and ".kprobe_profile" not in p.name)
    return sorted(found)


def _run(argv: list[str], stdin: Path | None = None) -> str:
    with (stdin.open("rb") if stdin is not None else open("/dev/null", "rb")) as source:
        proc = subprocess.run(argv, cwd=ROOT, stdin=source, capture_output=True, check=False)
    out = _SECONDS.sub('"seconds": "*"', proc.stdout.decode(errors="replace"))
    return (f"exit {proc.returncode}\n-- stdout\n{out}"
            f"-- stderr\n{proc.stderr.decode(errors='replace')}")


def _snapshot(path: Path, out: Path) -> str:
    kmodel = [sys.executable, "-m", "kmodel", "check"]
    shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    parts = [_run([*kmodel, "--json", shown]), _run([*kmodel, shown]),
             _run([*kmodel, "--max-divergences", "1", shown])]
    if path.name.endswith(".trace.txt"):
        parts.append(_run([*kmodel, "--json", "-"], stdin=path))
    name = shown.replace("/", "__")
    (out / f"{name}.out").write_text("\n==\n".join(parts))
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--simulated", type=int, nargs="*", default=[], metavar="N")
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache/kmodel/bench")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    traces = _traces()
    for n in args.simulated:
        traces.append(simulated_trace(args.workdir, "basic", n)[0])
    with ThreadPoolExecutor(args.jobs) as pool:
        for name in pool.map(lambda p: _snapshot(p, args.out), traces):
            print(name, flush=True)
    print(f"{len(traces)} traces -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
