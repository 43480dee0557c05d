"""The ``kmodel`` command line: one subcommand per job, each registered by its package.

Only the package of the subcommand being run is imported (``kmodel --version`` imports none,
``kmodel check`` never loads the capture harness or Hypothesis); the others appear in
``kmodel --help`` through :data:`COMMANDS`, which ``tests/test_cli.py`` keeps equal to what
the packages register.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time
from collections.abc import Iterable, Sequence

import kmodel

# argparse is imported by build_parser: ``kmodel --version`` needs none of it (~4 ms with
# gettext, locale and textwrap). Not ``from typing import TYPE_CHECKING``: see kmodel/__init__.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

#: Subcommand → (the module whose ``register(subparsers)`` adds it and sets ``func``, its
#: one-line help), in ``kmodel --help`` order.
COMMANDS: dict[str, tuple[str, str]] = {
    "capture": ("kmodel.capture.cli", "record real-kernel swap traces in QEMU"),
    "probes": ("kmodel.capture.cli",
               "print the tracefs commands to record the same trace live"),
    "simulate": ("kmodel.trace.simulate_cli",
                 "run a model scenario and write it as an ftrace text trace"),
    "check": ("kmodel.trace.cli",
              "check real kernel traces against the model (differential testing)"),
    "fuzz": ("kmodel.testing.cli", "stateful fuzzing of the swap I/O path (Hypothesis)"),
}  # fmt: skip


def _columns() -> int:
    """``shutil.get_terminal_size().columns`` (Python 3.11 Lib/shutil.py:1398-1441), without
    importing shutil (with bz2 and lzma: ~2 ms of every command's start-up)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0  # no terminal: shutil's fallback, 80 columns
        columns = columns or 80
    return columns


def _parser_class() -> type[argparse.ArgumentParser]:
    """An ArgumentParser whose help formatter is given its width (argparse imports shutil
    to find it: Python 3.11 Lib/argparse.py:164-173; the same width, 2 less than the
    terminal's). Its subparsers are of this class too (argparse's ``parser_class`` default).
    Defined on first use, with argparse imported then."""
    global _PARSER
    if _PARSER is not None:
        return _PARSER
    import argparse

    class _Parser(argparse.ArgumentParser):
        def _get_formatter(self) -> argparse.HelpFormatter:
            # typeshed's _FormatterClass takes prog only; every argparse formatter takes
            # width. (No typing.cast: importing typing costs ~2 ms of ``kmodel --version``.)
            formatter: type[argparse.HelpFormatter] = self.formatter_class  # type: ignore[assignment]
            return formatter(prog=self.prog, width=_columns() - 2)

    _PARSER = _Parser
    return _Parser


_PARSER: type[argparse.ArgumentParser] | None = None


def _version() -> str:
    return f"kmodel {kmodel.__version__} (models Linux {kmodel.KERNEL_VERSION})"


def _print_version(args_in: Sequence[str]) -> bool:
    """``kmodel --version`` alone, printed as argparse's version action prints it
    (Python 3.11 Lib/argparse.py:1139-1146: the text filled to the formatter's width,
    :506-511, 659-664, a newline, written as :2603-2609 does, exit status 0) without
    argparse; False (nothing printed) when the text would be wrapped, or for any other
    command line: argparse does it."""
    text = _version()
    if list(args_in) != ["--version"] or len(text) > max(_columns() - 2, 11):
        return False
    try:  # noqa: SIM105 (argparse's _print_message; contextlib is one more import)
        sys.stdout.write(text + "\n")
    except (AttributeError, OSError):
        pass
    return True


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``commands`` (default: all) get their full parsers, the others
    a placeholder that only lists them in ``--help``."""
    parser = _parser_class()(
        prog="kmodel",
        description=f"Reference model of the Linux {kmodel.KERNEL_VERSION} swap I/O path.",
    )
    parser.add_argument(
        "--version", action="version", version=_version(),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = set(COMMANDS if commands is None else commands)
    modules = dict.fromkeys(COMMANDS[c][0] for c in COMMANDS if c in wanted)
    if wanted - COMMANDS.keys():  # not in the table: register every package to find it
        modules = dict.fromkeys(module for module, _ in COMMANDS.values())
    for module in modules:
        importlib.import_module(module).register(subparsers)
    for name, (_, help_) in COMMANDS.items():
        if name not in subparsers.choices:
            subparsers.add_parser(name, help=help_)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first word not starting with ``-`` (the
    top-level options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; exit status 2 for usage errors.

    Run as the process's command (``argv`` None), the cyclic garbage collector is off while
    the command's modules are imported (its ``imports`` default, then those ``func`` would
    import on first use: ``kmodel check``'s checker and model), and what they made is then
    frozen (``gc.freeze``): it lives as long as the process, and no later collection scans
    it again. ~4 ms of a ``kmodel check``'s start-up (29 young and 3 middle collections of
    the ~27,000 objects of the imports; attrs builds each class twice), for ~0.3 MB of the
    imports' own cyclic garbage (attrs' first class of each slotted class) kept.
    """
    started = time.monotonic()
    entry = argv is None  # called in-process (tests): the caller's objects are not frozen
    if entry:
        gc.disable()
    try:
        args_in = sys.argv[1:] if argv is None else list(argv)
        if _print_version(args_in):
            sys.exit(0)  # as argparse's version action exits
        command = _command(args_in)
        parser = build_parser(() if command is None else (command,))
        args = parser.parse_args(args_in)
        for module in getattr(args, "imports", ()):
            importlib.import_module(module)
    finally:
        if entry:
            gc.freeze()
            gc.enable()
    args.started = started  # when the command began (kmodel fuzz's budget counts from it)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = func(args)
    except BrokenPipeError:
        # The reader of our output went away (``kmodel check T | head``): no traceback. The
        # rest of the output goes nowhere (else the interpreter's flush at exit raises
        # again); 141 is what a shell reports for a command killed by SIGPIPE (128 + 13).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
