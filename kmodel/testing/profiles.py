"""Hypothesis profiles ``dev``, ``ci`` and ``nightly``, and the example database.

``KMODEL_HYPOTHESIS_PROFILE`` picks the profile (default ``dev``);
``KMODEL_HYPOTHESIS_DB`` points the example database elsewhere than ``.hypothesis/``
(a directory shared by a campaign, see ``docs/fuzzing.md``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

PROFILE_ENV = "KMODEL_HYPOTHESIS_PROFILE"
DB_ENV = "KMODEL_HYPOTHESIS_DB"
PROFILES = ("dev", "ci", "nightly")


def example_database() -> ExampleDatabase:
    """The directory database: ``$KMODEL_HYPOTHESIS_DB`` or ``.hypothesis/examples``."""
    return DirectoryBasedExampleDatabase(os.environ.get(DB_ENV, ".hypothesis/examples"))


def register_profiles() -> None:
    """Register the three profiles (idempotent)."""
    # deadline=None: model steps vary in cost, and timing is not what is tested.
    common = settings(deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("dev", common, max_examples=100, stateful_step_count=30,
                              database=example_database())
    # derandomize: a CI run is a regression test, the same every time and on every
    # machine; print_blob: a failure prints its @reproduce_failure line.
    settings.register_profile("ci", common, max_examples=100, stateful_step_count=30,
                              derandomize=True, database=None, print_blob=True)
    settings.register_profile("nightly", common, max_examples=5000, stateful_step_count=80,
                              database=example_database(), print_blob=True)


def load_profile(name: str | None = None) -> str:
    """Register the profiles and load ``name`` (default: ``$KMODEL_HYPOTHESIS_PROFILE``
    or ``dev``); return the name loaded."""
    register_profiles()
    name = name or os.environ.get(PROFILE_ENV) or "dev"
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r}: expected one of {', '.join(PROFILES)}")
    settings.load_profile(name)
    return name
