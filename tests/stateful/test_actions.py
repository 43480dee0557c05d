"""Every action of the one-choice step runs under the ``ci`` budget (every disk kind)."""

from __future__ import annotations

from collections import Counter

from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kmodel.testing.machines import ACTIONS, SwapIOMachine


def test_every_action_runs() -> None:
    fresh = type("Fresh", (SwapIOMachine,), {"actions_run": Counter[str](), "steps": 0})
    run_state_machine_as_test(fresh, settings=settings(  # type: ignore[no-untyped-call]
        settings.default, max_examples=100, stateful_step_count=30, database=None,
        derandomize=True, phases=[Phase.generate]))
    assert set(fresh.actions_run) == set(ACTIONS), sorted(set(ACTIONS) - set(fresh.actions_run))
