"""Testing helpers for kmodel users, like ``trio.testing``: state machines and strategies.

* :mod:`kmodel.testing.machines`: :class:`SwapIOMachine`, a Hypothesis
  ``RuleBasedStateMachine`` over the swap I/O path with the kernel's invariants.
* :mod:`kmodel.testing.strategies`: fault attributes, bad ranges, statuses, disk kinds.
* :mod:`kmodel.testing.profiles`: the ``dev``, ``ci`` and ``nightly`` Hypothesis profiles.

See ``docs/fuzzing.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmodel.testing.executor import FuzzExecutor
    from kmodel.testing.machines import (
        InvariantViolation,
        SwapIOMachine,
        SyncDiskMachine,
        VirtioMachine,
        machine_for,
    )
    from kmodel.testing.profiles import PROFILE_ENV, example_database, load_profile

#: Where each public name lives; imported on first use, so that ``kmodel.testing.cli``
#: (registered in the ``kmodel`` CLI) loads without Hypothesis installed.
_EXPORTS = {
    "FuzzExecutor": "kmodel.testing.executor",
    "InvariantViolation": "kmodel.testing.machines",
    "SwapIOMachine": "kmodel.testing.machines",
    "SyncDiskMachine": "kmodel.testing.machines",
    "VirtioMachine": "kmodel.testing.machines",
    "machine_for": "kmodel.testing.machines",
    "PROFILE_ENV": "kmodel.testing.profiles",
    "example_database": "kmodel.testing.profiles",
    "load_profile": "kmodel.testing.profiles",
}


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'kmodel.testing' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


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
