"""The ``kmodel simulate`` subcommand: a model scenario written as an ftrace text trace."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import Any, TextIO

from kmodel.errors import KmodelError
from kmodel.scenarios import SCENARIOS
from kmodel.trace.simulate import simulate


def _events(text: str) -> int:
    """``--events``: a positive integer, ``_`` and a k/M suffix allowed (``10M``)."""
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    digits = text[:-1] if scale != 1 else text
    try:
        value = int(digits.replace("_", "")) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of events such as 100000 or 10M, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of events, got {text!r}")
    return value


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the scenario and write its trace; exit 2 for an unknown scenario."""
    if args.scenario not in SCENARIOS:
        print(
            f"kmodel simulate: error: unknown scenario {args.scenario!r}: expected one of "
            f"{', '.join(sorted(SCENARIOS))}",
            file=sys.stderr,
        )
        return 2
    out: Any = (
        nullcontext(sys.stdout)
        if args.output == "-"
        else open(  # noqa: SIM115
            args.output, "w", encoding="utf-8", buffering=1 << 20
        )
    )
    try:
        with out as file:
            stream: TextIO = file
            if args.kernel == "6.12":
                from kmodel.trace.simulate_6_12 import simulate_6_12

                outcome = simulate_6_12(args.scenario, stream, events=args.events,
                                        seed=args.seed)
            else:
                outcome = simulate(args.scenario, stream, events=args.events, seed=args.seed)
    except KmodelError as exc:
        print(f"kmodel simulate: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"kmodel simulate: error: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    if args.output != "-":
        print(
            f"{args.output}: {outcome.events} events, {outcome.rounds} rounds, "
            f"{outcome.verified} pages verified, {outcome.sigbus} SIGBUS, "
            f"{outcome.corrupt} corrupt",
            file=sys.stderr,
        )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kmodel simulate`` to the command line."""
    parser = subparsers.add_parser(
        "simulate",
        help="run a model scenario and write it as an ftrace text trace",
        description="Run a memhog-like model scenario and write its events as tracefs text, "
        "like a real capture of the same scenario. Scenarios: "
        + "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values()),
    )
    parser.add_argument(
        "--scenario", required=True, metavar="NAME", help=f"one of {', '.join(sorted(SCENARIOS))}"
    )
    parser.add_argument(
        "--events",
        type=_events,
        default=10_000,
        metavar="N",
        help="about how many trace events to write (default 10000; 10M ok)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the I/O timing (default 0)")
    parser.add_argument(
        "--kernel",
        choices=("6.1", "6.12"),
        default="6.1",
        help="the model kernel to run and whose capture format to write: 6.1 (default) or "
        "6.12 (a '# kernel: 6.12.118' trace that kmodel check reads as 6.12)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="trace file to write (default: standard output)",
    )
    parser.set_defaults(func=cmd_simulate)
