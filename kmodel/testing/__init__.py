"""Testing helpers for kmodel users, like ``trio.testing``: state machines and strategies.

* :mod:`kmodel.testing.machines`: :class:`SwapIOMachine`, a Hypothesis
  ``RuleBasedStateMachine`` over the swap I/O path with the kernel's invariants.
* :mod:`kmodel.testing.strategies`: fault attributes, bad ranges, statuses, disk kinds.
* :mod:`kmodel.testing.profiles`: the ``dev``, ``ci`` and ``nightly`` Hypothesis profiles.

See ``docs/fuzzing.md``.
"""

from kmodel.testing.executor import FuzzExecutor
from kmodel.testing.machines import (
    InvariantViolation,
    SwapIOMachine,
    SyncDiskMachine,
    VirtioMachine,
    machine_for,
)
from kmodel.testing.profiles import PROFILE_ENV, example_database, load_profile

__all__ = [
    "PROFILE_ENV",
    "FuzzExecutor",
    "InvariantViolation",
    "SwapIOMachine",
    "SyncDiskMachine",
    "VirtioMachine",
    "example_database",
    "load_profile",
    "machine_for",
]
