"""``SwapIOMachine._on_event`` skips events whose name is not in ``BRANCH_EVENTS`` (or in its
bookkeeping): no event of another name may prove a branch, or fuzzing would lose coverage."""

from __future__ import annotations

from typing import ClassVar

from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kmodel.kernel import ModelEvent
from kmodel.testing.coverage import BRANCH_EVENTS, branches_of
from kmodel.testing.machines import SwapIOMachine


class _Recording(SwapIOMachine):
    steps: ClassVar[int] = 0
    branches: ClassVar[set[str]] = set()
    proving: ClassVar[set[str]] = set()  # names of events with branches
    seen: ClassVar[set[str]] = set()  # every event name
    proved: ClassVar[set[str]] = set()  # the IDs all events prove, unfiltered

    def _on_event(self, ev: ModelEvent) -> None:
        type(self).seen.add(ev.name)
        ids = branches_of(ev)
        if ids:
            type(self).proving.add(ev.name)
            type(self).proved.update(ids)
        super()._on_event(ev)


def test_only_branch_events_prove_branches() -> None:
    run_state_machine_as_test(_Recording, settings=settings(  # type: ignore[no-untyped-call]
        settings.default, max_examples=60, stateful_step_count=30, database=None,
        derandomize=True, phases=[Phase.generate]))
    assert _Recording.proving, "no event proved a branch"
    assert _Recording.proving <= BRANCH_EVENTS, sorted(_Recording.proving - BRANCH_EVENTS)
    assert _Recording.seen - BRANCH_EVENTS, "every event proved a branch: nothing skipped"
    # The filter loses nothing: the IDs the machine records are those all events prove.
    assert _Recording.branches == _Recording.proved
