"""The subclassing example of docs/fuzzing.md runs: user rules join the machine's own."""

from hypothesis import settings
from hypothesis.stateful import invariant, rule

from kmodel.include.linux.sched import Task
from kmodel.testing import SwapIOMachine


class ExitingMachine(SwapIOMachine):
    @rule(task=SwapIOMachine.tasks)
    def exit_task(self, task: Task) -> None:
        if self.m is not None and task.mm is not None and len(self.k.tasks) > 1:
            self.m.exit(task)
            self.shadow = {k: v for k, v in self.shadow.items() if k[0] != task.pid}

    @invariant()
    def no_signal_but_sigbus(self) -> None:
        if self.m is not None:
            for t in self.k.tasks.values():
                assert all(sig == 7 for sig, _, _ in t.signals)


TestExiting = ExitingMachine.TestCase
TestExiting.settings = settings(settings.default, max_examples=15)
