"""Real traces for the trace tests: the shared captures, or the fixtures in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path("/work/shared/kernel/traces")
FIXTURES = Path(__file__).resolve().parent.parent / "data" / "traces"


def real_trace_paths() -> list[Path]:
    """The real `*.trace.txt` files: from the shared captures if present, else the fixtures.

    Fails (never skips) when neither exists: CI runs these tests on the fixtures.
    """
    for directory in (SHARED, FIXTURES):
        paths = sorted(directory.glob("*.trace.txt"))
        if paths:
            return paths
    pytest.fail(f"no real traces: neither {SHARED} nor {FIXTURES} holds *.trace.txt")


@pytest.fixture(scope="session")
def real_traces() -> list[Path]:
    return real_trace_paths()
