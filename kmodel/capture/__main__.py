"""``python -m kmodel.capture capture|probes ...``: the subcommands without the kmodel CLI."""

from __future__ import annotations

import argparse
import sys

from kmodel.capture.cli import register


def main(argv: list[str] | None = None) -> int:
    """Parse *argv* for the capture subcommands and run the chosen one."""
    parser = argparse.ArgumentParser(prog="python -m kmodel.capture")
    register(parser.add_subparsers(required=True, metavar="{capture,probes}"))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
