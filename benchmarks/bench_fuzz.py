"""(3) Fuzzing throughput: steps/s of the project's state machine vs a trivial one.

The trivial machine has one rule per action of `SwapIOMachine` (its ``ACTIONS``, which
its one ``step`` rule draws from), each drawing one small integer and doing nothing, so
the ratio says how much of a step the model and its invariants cost over Hypothesis' own
bookkeeping. Target: the main machine at >= 50% of the trivial one's steps/s.

``run_budget``: `kmodel fuzz --seconds N` (the default machine, seed 0, no example database)
in a fresh process, for the 6.1 and the 6.12 model, against target 4's "ends within N + 1 s":
its wall time, and the overrun: that wall time less N less the start-up of a fresh
``python -m kmodel --version`` (the interpreter and the CLI, before ``kmodel fuzz`` starts
its clock; median of 3). The overrun is then what the budget did not cover: the example
running when it ran out, the report, the exit.
"""

from __future__ import annotations

import inspect
import re
import statistics
import time
from typing import Any, ClassVar

from common import python, run_child
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

_FUZZ_REPORT = re.compile(r"^(\d+) rounds, (\d+) examples, (\d+) steps in ([\d.]+)s", re.M)


def _rule_names(machine: type[RuleBasedStateMachine]) -> list[str]:
    return [
        name
        for name, value in inspect.getmembers(machine)
        if hasattr(value, "hypothesis_stateful_rule")
    ]


def trivial_machine(nr_rules: int) -> type[RuleBasedStateMachine]:
    """A machine of ``nr_rules`` do-nothing rules that counts its steps."""

    def noop(self: Any, x: int) -> None:
        pass

    def count(self: Any) -> None:
        type(self).steps += 1

    body: dict[str, Any] = {"steps": 0, "count_step": invariant()(count)}
    for i in range(nr_rules):
        body[f"rule_{i}"] = rule(x=st.integers(0, 7))(noop)
    body["__annotations__"] = {"steps": ClassVar[int]}
    return type("TrivialMachine", (RuleBasedStateMachine,), body)


def _steps_per_second(machine: Any, examples: int, steps: int) -> tuple[float, int, str]:
    options = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    before = machine.steps
    start = time.process_time()
    note = ""
    try:
        run_state_machine_as_test(machine, settings=options)  # type: ignore[no-untyped-call]
    except Exception as exc:  # a bug found: the steps run so far still count
        note = f" (stopped: {type(exc).__name__})"
    took = time.process_time() - start
    done = machine.steps - before
    return done / took, done, note


def run(examples: int, steps: int, repeat: int = 1) -> list[str]:
    try:
        from kmodel.testing.machines import ACTIONS, SwapIOMachine
    except ImportError as exc:
        return [f"[fuzz] skipped: kmodel.testing.machines not importable ({exc})"]
    rules = _rule_names(SwapIOMachine)
    trivial = trivial_machine(len(ACTIONS))
    # Interleaved, best of `repeat` each: the machine is shared, and load comes in bursts.
    main_rate = trivial_rate = 0.0
    main_steps = trivial_steps = 0
    note = ""
    pairs: list[float] = []  # main/trivial of each back-to-back pair: load shifts both
    # Warm-up, not counted: the first run in a process pays one-time costs (Hypothesis'
    # scan of the local modules for constants, ~15 ms here; strategies built and cached),
    # which would otherwise fall on the first pair's main run.
    _steps_per_second(SwapIOMachine, 1, steps)
    _steps_per_second(trivial, 1, steps)
    for _ in range(repeat):
        rate, main_steps, note = _steps_per_second(SwapIOMachine, examples, steps)
        main_rate = max(main_rate, rate)
        pair = rate
        rate, trivial_steps, _ = _steps_per_second(trivial, examples, steps)
        trivial_rate = max(trivial_rate, rate)
        pairs.append(pair / rate)
    pairs.sort()
    return [
        f"[fuzz] SwapIOMachine ({len(ACTIONS)} actions, {len(rules)} rule): {main_steps} "
        f"steps, {main_rate:,.0f} steps/s{note}",
        f"[fuzz] trivial machine ({len(ACTIONS)} rules): {trivial_steps} steps, "
        f"{trivial_rate:,.0f} steps/s",
        f"[fuzz] ratio main/trivial = {main_rate / trivial_rate:.0%} (target >= 50%; best "
        f"of {repeat}, {examples} examples x {steps} steps, CPU time)",
        f"[fuzz] per back-to-back pair: median {pairs[len(pairs) // 2]:.0%}, range "
        f"{pairs[0]:.0%}-{pairs[-1]:.0%}",
    ]


def run_budget(seconds: float, kernels: tuple[str, ...] = ("6.1", "6.12")) -> list[str]:
    """`kmodel fuzz --seconds N` of each kernel's model: wall time and overrun vs N + 1 s."""
    startup = statistics.median(
        run_child(python("-m", "kmodel", "--version")).wall for _ in range(3))
    lines = [f"[fuzz --seconds] start-up of a fresh `python -m kmodel --version`: "
             f"{startup * 1000:.0f} ms wall (median of 3)"]
    for kernel in kernels:
        child = run_child(python("-m", "kmodel", "fuzz", "--seconds", f"{seconds:g}",
                                 "--seed", "0", "--no-db", "--kernel", kernel), check=False)
        m = _FUZZ_REPORT.search(child.stdout)
        said = (f"{m[1]} rounds, {m[2]} examples, {int(m[3]):,} steps in {m[4]} s by its "
                f"own clock" if m else "no report line")
        status = "" if child.status == 0 else f"; exited {child.status} (a failure found: " \
            "shrinking is not bounded by the budget)"
        lines.append(f"[fuzz --seconds] kmodel fuzz --kernel {kernel} --seconds {seconds:g}: "
                     f"{child.wall:.2f} s wall ({said}){status}")
        lines.append(f"[fuzz --seconds] {kernel}: wall - N = {child.wall - seconds:+.2f} s, "
                     f"less start-up = {child.wall - seconds - startup:+.2f} s overrun "
                     f"(target: ends within N + 1 s, i.e. wall <= {seconds + 1:g} s)")
    return lines
