"""One measured job over a trace file, in its own process: prints the events it saw.

    python benchmarks/worker.py check|parse|bare FILE

``check`` runs ``kmodel check FILE`` (``parse`` stands in until the checker exists),
``parse`` consumes ``parse_trace``, ``bare`` is the floor: a regex that splits each line into
its columns and key=value args, nothing else.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

_BARE = re.compile(
    r"\s*(.+?)-(\d+)\s+(?:\((.{7})\)\s+)?\[(\d+)\]\s+(?:(\S+)\s+)?(\d+\.\d+): ([^:]+): (.*)"
)


#: The text report's summary line: its verdict and the outcomes checked against the model.
_SUMMARY = re.compile(r": (\w+): [\d,]+ events read, ([\d,]+) outcomes checked")
#: What ``check`` read from the report ("verdict=... checks=..."), printed by ``main``.
report = ""


def bare(path: Path) -> int:
    n = 0
    match = _BARE.match
    with path.open() as f:
        for line in f:
            m = match(line)
            if m is None:
                continue
            _comm, _pid, _tgid, _cpu, _flags, _ts, _name, args = m.groups()
            _fields = dict(kv.split("=", 1) for kv in args.split() if "=" in kv)
            n += 1
    return n


def parse(path: Path) -> int:
    from kmodel.trace import TraceEvent, parse_trace

    return sum(1 for e in parse_trace(path) if isinstance(e, TraceEvent))


def checker() -> str:
    """What ``check`` runs: the CLI, the checker's API, or the parser until they exist.

    Found without importing them: building the whole ``kmodel`` parser imports every
    subcommand's package (Hypothesis for ``fuzz``: ~5 MB), which ``kmodel check`` does not,
    and the peak RSS measured here is that of ``kmodel check``."""
    from importlib.util import find_spec

    if find_spec("kmodel.trace.check") is None:
        return "parse"
    return "kmodel check" if find_spec("kmodel.trace.cli") is not None else "check_trace"


def check(path: Path) -> int:
    how = checker()
    if how == "parse":
        return parse(path)
    if how == "check_trace":
        from kmodel.trace.check import check_trace

        check_trace(path)
        return 0
    from kmodel.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", str(path)])
    m = _SUMMARY.search(out.getvalue())
    if m is not None:  # what the report said, for the callers that verify it (2b)
        global report
        report = f"verdict={m[1]} checks={m[2].replace(',', '')}"
    return 0  # the caller counts the file's events: counting here would be timed


def peak_rss_kb() -> int | None:
    """This process' own peak RSS (``VmHWM``), or None where /proc has no such line.

    Not ``ru_maxrss``: Linux keeps the high-water mark across fork and exec (in the
    signal struct, fs/exec.c ``exec_mmap``), so a child's ``ru_maxrss`` is at least its
    parent's RSS when it forked: run_all's own ~34 MB hid the checker's below that."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main() -> None:
    mode, path = sys.argv[1], Path(sys.argv[2])
    n = {"bare": bare, "parse": parse, "check": check}[mode](path)
    hwm = peak_rss_kb()
    print(n, checker().replace(" ", "_") if mode == "check" else mode,
          *(() if hwm is None else (f"hwm_kb={hwm}",)), *report.split())


if __name__ == "__main__":
    main()
