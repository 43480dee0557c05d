"""``kmodel check``: differential testing of real kernel traces against the model."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from kmodel.errors import KmodelError
from kmodel.trace.check import check_trace
from kmodel.trace.parse import parse_trace
from kmodel.trace.perfetto import write_perfetto
from kmodel.trace.report import CheckReport

__all__ = ["bundled_traces", "register", "run_check"]

EXIT_CONFORMANT = 0
EXIT_DIVERGENT = 1
EXIT_ERROR = 2


def bundled_traces() -> list[Path]:
    """The real traces shipped in ``kmodel/data/traces`` (the default input)."""
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
            "with what it does. Exit status 0: conformant, 1: divergent, 2: unreadable input."
        ),
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE",
        help="trace files (.txt or .gz); default: the real traces bundled with kmodel",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document with a report per file")
    parser.add_argument("--max-divergences", type=_positive, default=20, metavar="N",
                        help="stop checking a file after N divergences (default 20)")
    parser.add_argument(
        "--perfetto", metavar="OUT",
        help="also write the (single) checked trace and its divergences as Chrome trace-event "
             "JSON to OUT, for ui.perfetto.dev (a second pass over the file)",
    )
    parser.set_defaults(func=run_check)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _printable(text: object) -> str:
    """``text`` with undecodable bytes of the input shown as escapes."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _error(text: str) -> None:
    print(f"kmodel check: {_printable(text)}", file=sys.stderr)


def _write_perfetto(path: Path, report: CheckReport, out: str) -> bool:
    """Write ``path``'s events and ``report``'s divergences to ``out``; False on an error."""
    divergences = [(d.lineno, d.message) for d in report.divergences]
    try:
        write_perfetto(parse_trace(path, name=str(path)), divergences, out)
    except KmodelError as error:  # a bad line past where checking stopped
        _error(f"--perfetto: {error}")
        return False
    except (OSError, UnicodeError) as error:
        _error(f"--perfetto: cannot write {out}: {error}")
        return False
    return True


def run_check(args: argparse.Namespace) -> int:
    """Check each file independently; the worst outcome is the exit status."""
    paths = [Path(f) for f in args.files] or bundled_traces()
    if not paths:
        print("kmodel check: no trace files given and none bundled", file=sys.stderr)
        return EXIT_ERROR
    perfetto: str | None = getattr(args, "perfetto", None)
    if perfetto is not None and len(paths) != 1:
        _error(f"--perfetto writes one trace: give exactly one FILE, not {len(paths)}")
        return EXIT_ERROR
    progress = sys.stderr if sys.stderr.isatty() else None
    status = EXIT_CONFORMANT
    results: list[dict[str, Any]] = []
    for path in paths:
        report: CheckReport | None = None
        try:
            if path.is_dir():
                raise KmodelError(f"{path}: is a directory, expected a trace file")
            report = check_trace(path, max_divergences=args.max_divergences, name=str(path),
                                 progress=progress)
        except KmodelError as error:  # TraceFormatError included: file, line, expectation
            _error(str(error))
            results.append({"path": str(path), "verdict": "error", "error": _printable(error)})
            status = EXIT_ERROR
            continue
        except (OSError, UnicodeError) as error:
            _error(f"{path}: cannot read: {error}")
            results.append({"path": str(path), "verdict": "error", "error": _printable(error)})
            status = EXIT_ERROR
            continue
        if perfetto is not None and not _write_perfetto(path, report, perfetto):
            results.append({"path": perfetto, "verdict": "error",
                            "error": "cannot write the Perfetto trace"})
            status = EXIT_ERROR
        if not report.conformant and status == EXIT_CONFORMANT:
            status = EXIT_DIVERGENT
        if args.json:
            results.append(report.to_dict())
        else:
            print(report.format())
    if args.json:
        verdict = {EXIT_CONFORMANT: "conformant", EXIT_DIVERGENT: "divergent"}.get(
            status, "error")
        print(json.dumps({"verdict": verdict, "files": results}, indent=2))
    return status
