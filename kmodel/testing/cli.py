"""``kmodel fuzz``: run the state machines for a time budget and report what they reached.

Rounds are seeded ``--seed``, ``--seed + 1``, …; each round is one Hypothesis run of the
chosen machine under the chosen profile. A failing round prints Hypothesis' minimal
program (``state = …`` steps), its ``@reproduce_failure`` blob, and the ``kmodel fuzz``
command that replays exactly that round.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from kmodel.testing.machines import SwapIOMachine

#: ``--machine`` names → classes of :mod:`kmodel.testing.machines`.
MACHINES = {"swapio": "SwapIOMachine", "virtio": "VirtioMachine", "sync": "SyncDiskMachine"}
#: Mirrors :data:`kmodel.testing.profiles.PROFILES`; here so that ``kmodel --help`` does
#: not import Hypothesis (a dev dependency).
PROFILES = ("dev", "ci", "nightly")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``fuzz`` subcommand to the kmodel CLI."""
    p = subparsers.add_parser(
        "fuzz",
        help="stateful fuzzing of the swap I/O path (Hypothesis)",
        description="Run kmodel.testing's state machines for a time budget; print steps/s, "
        "examples, branch IDs reached, and a reproducer for any failure.",
    )
    p.add_argument("--seconds", type=float, default=60.0, metavar="N",
                   help="time budget (default 60; the running example finishes, and a "
                   "failure found is shrunk to the end)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the first round; round i uses S+i (default 0)")
    p.add_argument("--rounds", type=int, default=None, metavar="R",
                   help="stop after R rounds (with --seed: replay exactly those rounds)")
    p.add_argument("--machine", choices=sorted(MACHINES), default="swapio",
                   help="swapio: every disk kind (default); virtio; sync: brd and zram")
    p.add_argument("--kernel", choices=("6.1", "6.12"), default="6.1",
                   help="the kernel model the machine runs: 6.1 (default) or 6.12")
    p.add_argument("--profile", choices=PROFILES, default="dev",
                   help="Hypothesis profile: examples per round and steps per example")
    p.add_argument("--no-db", action="store_true",
                   help="no example database (default: $KMODEL_HYPOTHESIS_DB or "
                   ".hypothesis/examples)")
    p.add_argument("--db", metavar="URL",
                   help="example database: a directory, redis://HOST:PORT shared by many "
                   "machines, or readonly:URL; saved failures replay first (rounds are then "
                   "not seeded: hypothesis.seed turns a database off)")
    p.set_defaults(func=run)


class BudgetSpent(KeyboardInterrupt):
    """``--seconds`` ran out: stop the running round before its next example.

    A KeyboardInterrupt, because that is what Hypothesis lets through untouched: not a
    failure to shrink and report, not an example to record. ``run`` catches only this
    subclass, so a real Ctrl-C still stops ``kmodel fuzz`` as before.
    """


def run(args: argparse.Namespace, clock: Callable[[], float] = time.monotonic) -> int:
    """Fuzz until the budget is spent or a round fails; 0 when nothing failed.

    The budget is checked before every example (``clock``: tests pass a fake one), so a run
    ends within one example of ``--seconds``; once an example has failed, Hypothesis
    shrinks it to the end, whatever the budget.
    """
    try:
        from hypothesis import seed as hypothesis_seed
        from hypothesis import settings
        from hypothesis.stateful import get_state_machine_test
    except ImportError:
        print("kmodel fuzz needs Hypothesis: pip install 'kmodel[dev]'", file=sys.stderr)
        return 2
    from kmodel.testing import machines
    from kmodel.testing.profiles import database_from_url, example_database, load_profile

    load_profile(args.profile)
    machine: type[SwapIOMachine] = getattr(machines, MACHINES[args.machine])
    if args.kernel == "6.12":  # the same machines on the 6.12 model
        from kmodel.testing import machines_6_12

        machine = getattr(machines_6_12, MACHINES[args.machine] + "612")
    machine.steps = 0
    machine.branches = set()
    machine.failed_examples = 0
    examples = 0
    # The budget runs from the command's start (kmodel.cli.main sets args.started), so that
    # importing Hypothesis and the model counts too.
    start = getattr(args, "started", None)
    start = clock() if start is None else start

    def factory() -> SwapIOMachine:
        nonlocal examples
        if clock() - start >= args.seconds and not machine.failed_examples:
            raise BudgetSpent
        examples += 1
        return machine()

    # derandomize off: the rounds' seeds decide (the ci profile derandomizes otherwise).
    try:
        database = (None if args.no_db else database_from_url(args.db) if args.db
                    else example_database())
    except ValueError as exc:
        print(f"kmodel fuzz: {exc}", file=sys.stderr)
        return 2
    config = settings(settings.default, database=database, print_blob=True, derandomize=False)
    round_ = 0
    failed: int | None = None
    while clock() - start < args.seconds and (
            args.rounds is None or round_ < args.rounds):
        round_seed = args.seed + round_
        # get_state_machine_test: run_state_machine_as_test without the call, to seed it.
        # cast: Hypothesis' annotation of this helper changed across releases.
        test = cast(Any, get_state_machine_test)(factory, settings=config)
        if not args.db:  # hypothesis.seed turns the database off; --db rounds are unseeded
            test = hypothesis_seed(round_seed)(test)
        round_ += 1
        try:
            test()
        except BudgetSpent:
            break
        except Exception as exc:  # the machine found a bug: report and stop
            print(f"\nFAILED in round {round_} (seed {round_seed}): {type(exc).__name__}: "
                  f"{exc}", file=sys.stderr)
            failed = round_seed
            break
    elapsed = clock() - start
    _report(args, round_, examples, machine, elapsed)
    if failed is not None and args.db:
        print(f"the failure is saved in {args.db}: every run with --db {args.db} replays it "
              "first", file=sys.stderr)
        return 1
    if failed is not None:
        kernel = "" if args.kernel == "6.1" else f"--kernel {args.kernel} "
        print(f"reproduce: kmodel fuzz {kernel}--machine {args.machine} --profile {args.profile} "
              f"--seed {failed} --rounds 1 --no-db", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace, rounds: int, examples: int,
            machine: type[SwapIOMachine], elapsed: float) -> None:
    steps = machine.steps
    print(f"machine {args.machine} ({machine.__name__}), profile {args.profile}, "
          f"seed {args.seed}")
    print(f"{rounds} rounds, {examples} examples, {steps} steps in {elapsed:.1f}s "
          f"({steps / elapsed if elapsed else 0.0:.0f} steps/s)")
    reached = sorted(machine.branches, key=_id_key)
    print(f"branch IDs reached ({len(reached)}): {' '.join(reached)}")


def _id_key(branch_id: str) -> tuple[str, int]:
    prefix, _, number = branch_id.partition("-")
    return prefix, int(number) if number.isdigit() else 0
