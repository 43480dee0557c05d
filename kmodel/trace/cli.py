"""``kmodel check``: differential testing of real kernel traces against the model."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from kmodel.errors import KmodelError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CheckOptions", "Outcome", "bundled_traces", "check_one", "register", "run_check"]

EXIT_CONFORMANT = 0
EXIT_DIVERGENT = 1
EXIT_ERROR = 2
#: Nothing checked (no outcome compared), or fewer events checked than ``--min-checked``.
EXIT_UNCHECKED = 3
#: Which status wins when files differ: an error, then a divergence, then too little checked.
_SEVERITY = {EXIT_CONFORMANT: 0, EXIT_UNCHECKED: 1, EXIT_DIVERGENT: 2, EXIT_ERROR: 3}
STDIN = "-"


def bundled_traces() -> list[Path]:
    """The real traces shipped in ``kmodel/data/traces`` (the default input)."""
    from importlib import resources  # ~6 ms: only without FILE arguments
    from pathlib import Path  # ~2.5 ms in an installed kmodel (site does not load it)

    root = resources.files("kmodel") / "data" / "traces"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".trace.txt"))


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="check real kernel traces against the model (differential testing)",
        description=(
            "Check ftrace text traces of the Linux 6.1 swap path against the model: the "
            "events the kernel could not predict drive the model, the others are compared "
            "with what it does. Exit status 0: conformant, 1: divergent, 2: unreadable input "
            "or bad usage, 3: nothing checked (or less than --min-checked)."
        ),
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE",
        help="trace files (text, gzip or xz), '-' for standard input; default: the real traces "
             "bundled with kmodel",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document with a report per file")
    parser.add_argument("--max-divergences", type=_positive, default=20, metavar="N",
                        help="stop checking a file after N divergences (default 20); the "
                             "rest of the file is still read and counted")
    parser.add_argument(
        "--perfetto", metavar="OUT",
        help="also write the (single) checked trace and its divergences as Chrome trace-event "
             "JSON to OUT, for ui.perfetto.dev (in the same single pass over the input)",
    )
    parser.add_argument(
        "--min-checked", type=_percent, metavar="PCT",
        help="exit 3 for a trace whose checked share (events neither unknown nor skipped, "
             "in %% of events read) is below PCT",
    )
    parser.add_argument(
        "--kprobe-profile", metavar="FILE",
        help="the tracefs kprobe_profile of the (single) trace's capture: what its missed "
             "hits may explain is unknown, not divergent (default: NAME.kprobe_profile.txt "
             "beside NAME.trace.txt, or beside kmodel capture's NAME.trace-cmd.txt, "
             "NAME.trace.dat, NAME.bpftrace.txt, NAME.ndjson, if present)",
    )
    parser.add_argument(
        "--kernel", choices=("6.1", "6.12"), default=None,
        help="the kernel the traces come from (default: each file's '# kernel:' header line, "
             "else its first probe event only one kernel's probe set has, else 6.1); "
             "6.12 traces are checked on the 6.12 model (docs/checking-traces.md)",
    )
    parser.add_argument(
        "--page-cluster", type=_page_cluster, default=None, metavar="N",
        help="vm.page-cluster in force when the traces were recorded (default: each file's "
             "'# page-cluster:' header line, else 3, the kernel's default for > 16 MiB RAM)",
    )
    parser.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                        help="check N files at a time in separate processes (same reports, "
                             "same order)")
    # Imported at start-up, with the garbage collector off (kmodel.cli.main): every check
    # imports them (recorders: a file's format is sniffed, standard input converted).
    parser.set_defaults(func=run_check, imports=("kmodel.trace.check", "kmodel.trace.recorders"))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _page_cluster(text: str) -> int:
    # kernel/sysctl.c:2134-2141 takes any int >= 0 (SYSCTL_ZERO); swapin_nr_pages computes
    # 1 << page_cluster in an int, so 31 is the largest value a kernel can use.
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer 0..31, got {text!r}") from None
    if not 0 <= value <= 31:
        raise argparse.ArgumentTypeError(f"expected an integer 0..31, got {value}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage 0..100, got {text}")
    return value


def _printable(text: object) -> str:
    """``text`` with undecodable bytes of the input (file names too) shown as escapes."""
    return str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _error(text: str) -> None:
    print(f"kmodel check: {_printable(text)}", file=sys.stderr)


@attrs.frozen
class CheckOptions:
    """What ``kmodel check`` does with each file (picklable, for ``-j``)."""

    max_divergences: int = 20
    min_checked: float | None = None
    kprobe_profile: str | None = None  # explicit --kprobe-profile (one FILE only)
    perfetto: str | None = None
    progress: bool = False
    kernel: str | None = None  # --kernel: "6.1" or "6.12"; None: the trace's header says
    page_cluster: int | None = None  # --page-cluster; None: the trace's header, else 3


@attrs.frozen
class Outcome:
    """One file's result: its exit status, and the report or the error's text."""

    status: int
    report: Any = None  # CheckReport (Any: the report module is imported only when checking)
    error: str | None = None
    path: str = ""


#: What ``kmodel capture`` names a scenario's trace (tracefs) and its recorders' recordings
#: (``--recorder trace-cmd``, ``bpftrace``): one run, one ``NAME.kprobe_profile.txt``.
_SIDECAR_SUFFIXES = (".trace.txt", ".trace.txt.gz", ".trace.txt.xz", ".trace-cmd.txt",
                     ".trace.dat", ".bpftrace.txt", ".ndjson")


def _sidecar_profile(path: str) -> str | None:
    """``NAME.kprobe_profile.txt`` beside ``NAME.trace.txt[.gz|.xz]`` (or a recorder's
    recording of the same run), as ``kmodel capture`` writes it, if it exists."""
    for suffix in _SIDECAR_SUFFIXES:
        if path.endswith(suffix):
            profile = path[: -len(suffix)] + ".kprobe_profile.txt"
            return profile if os.path.isfile(profile) else None
    return None


def check_one(name: str, options: CheckOptions) -> Outcome:
    """Check one file (``-`` is standard input) and say what happened; never raises for bad
    input: a KmodelError or OSError becomes an error Outcome naming the file."""
    from kmodel.trace.check import check_trace
    from kmodel.trace.parse import read_kprobe_profile

    try:
        if name != STDIN and os.path.isdir(name):
            raise KmodelError(f"{name}: is a directory, expected a trace file")
        profile = options.kprobe_profile or (None if name == STDIN else _sidecar_profile(name))
        missed = read_kprobe_profile(profile) if profile is not None else None
        shown = "<stdin>" if name == STDIN else name
        with _opened(name, shown) as (source, found):  # stdin: sniffed, converted, read once
            if options.perfetto is not None:
                report = _check_with_perfetto(source, shown, options, missed,
                                              _kernel_612(name, options, found))
            else:
                progress = sys.stderr if options.progress and name != STDIN else None
                report = check_trace(source, max_divergences=options.max_divergences,
                                     name=shown, progress=progress, missed=missed,
                                     kernel=options.kernel or found,
                                     page_cluster=options.page_cluster)
    except KmodelError as error:  # TraceFormatError included: file, line, expectation
        return Outcome(EXIT_ERROR, error=_printable(error), path=name)
    except (OSError, UnicodeError) as error:
        where = "--perfetto: cannot write" if isinstance(error, _PerfettoError) else "cannot read"
        return Outcome(EXIT_ERROR, error=_printable(f"{name}: {where}: {error}"), path=name)
    report.min_checked = options.min_checked
    kind = report.verdict_kind
    status = (EXIT_CONFORMANT if kind == "conformant" else
              EXIT_DIVERGENT if kind == "divergent" else EXIT_UNCHECKED)
    return Outcome(status, report=report, path=name)


@contextlib.contextmanager
def _opened(name: str, shown: str) -> Iterator[tuple[Any, str | None]]:
    """(what check_trace reads, the kernel line standard input's header names) of ``name``:
    a file is its path (check_trace sniffs it); ``-`` is standard input, its head sniffed
    (``kmodel.trace.recorders.open_stream``: text, ``trace-cmd report -R``, bpftrace
    NDJSON, ``trace.dat``, gzip)."""
    if name != STDIN:
        yield name, None
        return
    from kmodel.trace.recorders import open_stream

    with open_stream(sys.stdin.buffer, shown) as opened:
        yield opened


def _kernel_612(name: str, options: CheckOptions, found: str | None = None) -> bool:
    """Whether ``name`` is checked as a 6.12 trace (``--kernel``, or its header: ``found``
    for standard input)."""
    from kmodel.trace.check_6_12 import resolve_kernel

    return resolve_kernel(None if name == STDIN else name, options.kernel or found) == "6.12"


class _PerfettoError(OSError):
    """The --perfetto output cannot be written."""


def _check_with_perfetto(source: Any, name: str, options: CheckOptions,
                         missed: dict[str, int] | None, v6_12: bool = False) -> Any:
    """Check and write the Perfetto timeline in one pass over the input (a FIFO, stdin);
    ``v6_12``: a Linux 6.12 trace, checked on the 6.12 model (its checker's ``tee``)."""
    from kmodel.trace.check import check_trace
    from kmodel.trace.parse import parse_trace
    from kmodel.trace.perfetto import PerfettoStream

    assert options.perfetto is not None
    try:
        out = open(options.perfetto, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise _PerfettoError(str(error)) from None
    with out:
        stream = PerfettoStream(out)
        if v6_12:
            from kmodel.trace.check_6_12 import check_trace_6_12, parse_event_line_6_12

            report = check_trace_6_12(source, name=name, missed=missed, tee=stream.write,
                                      max_divergences=options.max_divergences)
            stream.close(((d.lineno, d.message, d.line) for d in report.divergences),
                         parse=parse_event_line_6_12)
            return report
        report = check_trace(stream.tee(parse_trace(source, name=name)), name=name,
                             max_divergences=options.max_divergences, missed=missed,
                             page_cluster=options.page_cluster)
        stream.close((d.lineno, d.message, d.line) for d in report.divergences)
    return report


def _outcomes(names: Sequence[str], options: CheckOptions, jobs: int) -> Iterator[Outcome]:
    if jobs > 1 and len(names) > 1 and STDIN not in names:
        from kmodel.trace.parallel import check_parallel

        yield from check_parallel(names, options, jobs)
        return
    for name in names:
        yield check_one(name, options)


def run_check(args: argparse.Namespace) -> int:
    """Check each file independently; the worst outcome is the exit status."""
    names = [str(f) for f in args.files] or [str(p) for p in bundled_traces()]
    if not names:
        _error("no trace files given and none bundled")
        return EXIT_ERROR
    perfetto: str | None = getattr(args, "perfetto", None)
    if perfetto is not None and len(names) != 1:
        _error(f"--perfetto writes one trace: give exactly one FILE, not {len(names)}")
        return EXIT_ERROR
    profile: str | None = getattr(args, "kprobe_profile", None)
    if profile is not None and len(names) != 1:
        _error(f"--kprobe-profile is that of one trace: give exactly one FILE, not {len(names)}")
        return EXIT_ERROR
    if names.count(STDIN) > 1:
        _error("standard input ('-') can be read once")
        return EXIT_ERROR
    jobs = getattr(args, "jobs", 1)
    options = CheckOptions(
        max_divergences=args.max_divergences, min_checked=getattr(args, "min_checked", None),
        kprobe_profile=profile, perfetto=perfetto,
        progress=jobs == 1 and sys.stderr.isatty(), kernel=getattr(args, "kernel", None),
        page_cluster=getattr(args, "page_cluster", None),
    )
    status = EXIT_CONFORMANT
    results: list[dict[str, Any]] = []
    for outcome in _outcomes(names, options, jobs):
        if _SEVERITY[outcome.status] > _SEVERITY[status]:
            status = outcome.status
        if outcome.report is None:
            _error(str(outcome.error))
            results.append({"path": _printable(outcome.path), "verdict": "error",
                            "error": outcome.error})
        elif args.json:
            results.append(outcome.report.to_dict())
        else:
            print(_printable(outcome.report.format()))
    if args.json:
        import json  # ~1 ms: only for --json

        verdict = {EXIT_CONFORMANT: "conformant", EXIT_DIVERGENT: "divergent",
                   EXIT_UNCHECKED: "unchecked"}.get(status, "error")
        print(json.dumps({"verdict": verdict, "files": results}, indent=2))
    return status
