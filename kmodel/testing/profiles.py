"""Hypothesis profiles ``dev``, ``ci`` and ``nightly``, and the example database.

``KMODEL_HYPOTHESIS_PROFILE`` picks the profile (default ``dev``);
``KMODEL_HYPOTHESIS_DB`` points the example database elsewhere than ``.hypothesis/``
(a directory, or ``redis://HOST:PORT`` shared by a campaign, see ``docs/fuzzing.md``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

PROFILE_ENV = "KMODEL_HYPOTHESIS_PROFILE"
DB_ENV = "KMODEL_HYPOTHESIS_DB"
PROFILES = ("dev", "ci", "nightly")


LOCAL_DB = ".hypothesis/examples"
READONLY = "readonly:"


def database_from_url(url: str) -> ExampleDatabase:
    """The database ``url`` names: a directory, or ``redis://HOST:PORT[/N]`` shared by a campaign.

    A Redis database is multiplexed with the local directory (a failure found is kept here too,
    and replayed first next time on this machine). ``readonly:`` before either reads it and
    never writes (CI replays a campaign's failures without adding its own).
    """
    readonly = url.startswith(READONLY)
    url = url.removeprefix(READONLY)
    db: ExampleDatabase
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            from hypothesis.extra.redis import RedisExampleDatabase
            from redis import Redis
        except ImportError:
            raise ValueError(f"{url}: a Redis example database needs the redis package: "
                             "pip install 'kmodel[dev]'") from None
        redis = RedisExampleDatabase(Redis.from_url(url), key_prefix=b"kmodel-example:")
        db = redis if readonly else MultiplexedDatabase(DirectoryBasedExampleDatabase(LOCAL_DB),
                                                        redis)
    else:
        db = DirectoryBasedExampleDatabase(url)
    return ReadOnlyDatabase(db) if readonly else db


def example_database() -> ExampleDatabase:
    """The database ``$KMODEL_HYPOTHESIS_DB`` names (see :func:`database_from_url`), or
    ``.hypothesis/examples``."""
    return database_from_url(os.environ.get(DB_ENV, LOCAL_DB))


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
