"""The ``kmodel`` command line: one subcommand per job, each registered by its package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import kmodel
from kmodel.capture.cli import register as register_capture
from kmodel.testing.cli import register as register_fuzz
from kmodel.trace.cli import register as register_check
from kmodel.trace.simulate_cli import register as register_simulate

#: Each package adds its subcommands: register(subparsers) sets ``func`` on its parsers.
SUBCOMMANDS = (
    register_capture,
    register_simulate,
    register_check,
    register_fuzz,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kmodel",
        description=f"Reference model of the Linux {kmodel.KERNEL_VERSION} swap I/O path.",
    )
    parser.add_argument(
        "--version", action="version",
        version=f"kmodel {kmodel.__version__} (models Linux {kmodel.KERNEL_VERSION})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; exit status 2 for usage errors."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    status: int = func(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
