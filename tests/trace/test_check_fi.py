"""``kmodel check`` on the fault-injection captures: the model's ``should_fail`` against them.

The whole traces of the committed run (tests/data/traces/fi/whole/, xz; the trimmed
fixtures beside them are cut from these) carry every swap bio submission since the attrs
were armed, so kmodel.trace.faultinject drives the model's ``should_fail_bio`` once per
submission and compares which bio fails, its status and the FAULT_INJECTION notices.
Mutants of the model's ``should_fail_ex`` and of a ``FaultAttr`` default must make at least
one of them diverge.
"""

from __future__ import annotations

import io
import lzma
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.errors import TraceFormatError
from kmodel.kernel import Kernel
from kmodel.lib import fault_inject
from kmodel.lib.fault_inject import FAULT_NOWARN, FaultAttr, fail_dump
from kmodel.lib.ratelimit import RatelimitState
from kmodel.trace import check_trace, replay
from kmodel.trace.parse import read_kprobe_profile
from kmodel.trace.report import CheckReport

FI = Path(__file__).resolve().parents[1] / "data" / "traces" / "fi"
NAMES = sorted(p.name.removesuffix(".trace.txt.xz") for p in (FI / "whole").glob("*.xz"))
#: The traces whose swap bios fail by injection (the others inject fail_page_alloc).
BIO_FI = ("fi_failnth", "fi_function", "fi_mkreq_interval", "fi_mkreq_prob50",
          "fi_mkreq_space", "fi_mkreq_times", "fi_mkreq_write")



def _check(name: str) -> CheckReport:
    with lzma.open(FI / "whole" / f"{name}.trace.txt.xz", "rt") as f:
        return check_trace(f, name=f"{name}.trace.txt", max_divergences=50,
                           missed=read_kprobe_profile(FI / f"{name}.kprobe_profile.txt"))


def _fi(report: CheckReport) -> list[str]:
    return [d.message for d in report.divergences if any(b.startswith("FI-")
                                                         for b in d.branches)]


def test_every_fixture_has_its_whole_trace() -> None:
    fixtures = sorted(p.name.removesuffix(".trace.txt") for p in FI.glob("*.trace.txt"))
    assert fixtures == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_whole_trace_agrees_with_the_models_should_fail(name: str) -> None:
    report = _check(name)
    assert report.divergences == [], report.format()
    assert report.counts["checks"] > 1000


@pytest.mark.parametrize("name", ("fi_failnth", "fi_function", "fi_mkreq_prob50",
                                  "fi_mkreq_times"))
def test_the_replay_fails_the_injected_read_and_the_fault_ends_in_sigbus(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """do_swap_page_ret ret=0x2 (VM_FAULT_SIGBUS) in the trace after the injected read
    error: the model's, once the replay fails the read at its should_fail_bio; without
    that (the failed reads taken as frontswap loads, no bio) it diverges there."""
    assert _check(name).divergences == []
    monkeypatch.setattr(replay, "injected_reads", lambda steps, completions: None)
    diverged = _check(name).divergences
    assert any(d.message.startswith("do_swap_page of swp(") for d in diverged), [
        d.message for d in diverged]


def test_prandom_and_fail_nth_are_counted_as_inputs() -> None:
    """probability 50: each draw the model reached is the trace's; fail-nth: the kernel
    counts fault points the model lacks, so the failing call is the trace's."""
    assert _check("fi_mkreq_prob50").counts["unknown:prandom-draw"] >= 2
    assert _check("fi_failnth").counts["unknown:fail-nth-count"] == 1
    assert "unknown:prandom-draw" not in _check("fi_mkreq_times").counts


# -- mutants of the model ------------------------------------------------------------------

def _should_fail_ex(order: str = "", interval: str = "", times: str = "", space: str = "",
                    ) -> Callable[[Kernel, FaultAttr, int, int], bool]:
    """kmodel.lib.fault_inject.should_fail_ex with one planted change."""

    def mutant(k: Kernel, attr: FaultAttr, size: int, flags: int = 0) -> bool:
        task = k.current
        in_task = not k.ctx.softirq
        fail = False
        if order != "nth-late" and in_task and task.fail_nth:
            task.fail_nth -= 1
            if task.fail_nth:
                return False
            fail = True
        if not fail:
            if attr.probability == 0:
                return False
            if order == "nth-late" and in_task and task.fail_nth:
                task.fail_nth -= 1
                if task.fail_nth:
                    return False
                fail = True
        if not fail:
            if attr.task_filter and not (in_task and task.make_it_fail):
                return False
            if attr.times == 0:
                return False
            if attr.space >= size if space == ">=" else attr.space > size:
                attr.space -= 1 if space == "pages" else size
                return False
            if attr.interval > 1:
                if interval == "late":
                    if attr.count % attr.interval:
                        attr.count += 1
                        return False
                    attr.count += 1
                else:
                    attr.count += 1
                    if attr.count % attr.interval:
                        return False
            if attr.probability <= attr.rng.randrange(100):
                return False
        if order == "dec-first" and attr.times not in (-1, 0):
            attr.times -= 1
        if not flags & FAULT_NOWARN:
            fail_dump(k, attr)
        if order != "dec-first" and times != "none" and attr.times not in (-1, 0):
            attr.times -= 1
        return True

    return mutant


MUTANTS: dict[str, Callable[[Kernel, FaultAttr, int, int], bool]] = {
    "order: fail-nth after the probability check": _should_fail_ex(order="nth-late"),
    "order: times decremented before fail_dump": _should_fail_ex(order="dec-first"),
    "interval: count incremented after the modulo": _should_fail_ex(interval="late"),
    "times: never decremented": _should_fail_ex(times="none"),
    "space: >= instead of >": _should_fail_ex(space=">="),
    "space: counted in calls, not bytes": _should_fail_ex(space="pages"),
}


def _diverging(names: tuple[str, ...] = BIO_FI) -> list[str]:
    return [n for n in names if _fi(_check(n))]


def test_the_unmutated_model_diverges_on_none() -> None:
    assert _diverging() == []


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_should_fail_mutant_makes_a_live_trace_diverge(
        mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fault_inject, "should_fail_ex", MUTANTS[mutant])
    assert _diverging() != []


def test_default_count_mutant_makes_a_live_trace_diverge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A FaultAttr whose interval counter starts at 1, not 0 (struct fault_attr's
    FAULT_ATTR_INITIALIZER leaves count 0)."""
    init = FaultAttr.__init__

    def mutant(self: FaultAttr, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.count = 1

    monkeypatch.setattr(FaultAttr, "__init__", mutant)
    assert _diverging() == ["fi_mkreq_interval"]


def test_default_ratelimited_fail_dump_mutant_makes_a_live_trace_diverge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """fail_dump ratelimited by default (one notice per 5 s) instead of
    RATELIMIT_STATE_INIT_DISABLED: fi_mkreq_times printed three notices back to back."""
    init = FaultAttr.__init__

    def mutant(self: FaultAttr, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.ratelimit_state = RatelimitState(interval=5 * Kernel.HZ, burst=1)

    monkeypatch.setattr(FaultAttr, "__init__", mutant)
    assert "fi_mkreq_times" in _diverging()


# -- the trace against the model: edited live traces ---------------------------------------

def _edited(name: str, edit: Callable[[str], str]) -> CheckReport:
    with lzma.open(FI / "whole" / f"{name}.trace.txt.xz", "rt") as f:
        text = edit(f.read())
    return check_trace(io.StringIO(text), name=f"{name}.trace.txt", max_divergences=50,
                       missed=read_kprobe_profile(FI / f"{name}.kprobe_profile.txt"))


def test_a_failed_bio_must_end_with_blk_sts_ioerr() -> None:
    report = _edited("fi_mkreq_space", lambda t: t.replace("bi_status=10 ", "bi_status=1 ", 1))
    assert any("ends with BLK_STS_IOERR (10); the trace's bi_status=1" in m
               for m in _fi(report)), report.format()


def test_a_missing_notice_diverges() -> None:
    def drop_notice(text: str) -> str:
        lines = text.splitlines(keepends=True)
        i = next(i for i, ln in enumerate(lines) if ln.endswith(
            "console: FAULT_INJECTION: forcing a failure.\n"))
        return "".join(lines[:i] + lines[i + 2:])

    messages = _fi(_edited("fi_mkreq_interval", drop_notice))
    assert any("fail_dump printed 1 notice(s)" in m and "the trace 0: []" in m
               for m in messages), messages


def test_a_recorded_times_the_kernel_did_not_have_diverges() -> None:
    """times=1 recorded for fi_mkreq_times (the kernel had 3): the second failed read is
    one the model passes, and the first notice says times 1."""
    report = _edited("fi_mkreq_times", lambda t: t.replace(
        "fail_make_request probability=100 interval=1 times=3",
        "fail_make_request probability=100 interval=1 times=1", 1))
    messages = _fi(report)
    assert any("the model's should_fail_bio passes it" in m for m in messages), messages
    assert any("times 1" in m and "times 3" in m for m in messages), messages


@pytest.mark.parametrize(("bad", "expected"), [
    ("times=x", "probability= interval= times= space= verbose= (integers)"),
    ("times=-2", "fault_attr.times must be -1 (unlimited) or >= 0, got -2"),
])
def test_a_malformed_fault_inject_header_names_its_line(bad: str, expected: str) -> None:
    with lzma.open(FI / "whole" / "fi_mkreq_times.trace.txt.xz", "rt") as f:
        lineno = next(i for i, ln in enumerate(f, 1)
                      if ln.startswith("# fault-inject: fail_make_request "))
    with pytest.raises(TraceFormatError) as err:
        _edited("fi_mkreq_times", lambda t: t.replace("times=3", bad, 1))
    assert err.value.lineno == lineno and expected in err.value.message, err.value


# -- fail_page_alloc's notices (FI-3): each a failed call of the model's should_fail_ex ------

_RELAXED_ATTR = "fail_page_alloc probability=100 interval=1 times=1 space=0 verbose=1 task-filter=Y"


def test_a_fail_page_alloc_notice_is_one_failure_of_the_models_should_fail() -> None:
    """fi_page_alloc_relaxed: one notice, times 1, the task marked make-it-fail: the model's
    should_fail on the recorded attr fails that call and prints the same two lines; one
    check more than the same trace without its fail_page_alloc header line."""
    report = _check("fi_page_alloc_relaxed")
    assert _fi(report) == [] and "unknown:fail-page-alloc-calls" not in report.counts
    headless = _edited("fi_page_alloc_relaxed", lambda t: t.replace(
        f"# fault-inject: {_RELAXED_ATTR}", "# fault-inject: failslab", 1))
    assert _fi(headless) == [] and headless.counts["checks"] == report.counts["checks"] - 1


@pytest.mark.parametrize(("edit", "expected"), [
    # times 0 recorded: the model fails no call, the kernel printed a notice.
    ((" times=1 space=0 verbose=1 task-filter=Y ", " times=0 space=0 verbose=1 task-filter=Y "),
     "fails no call here (times=0, task-filter=Y, make-it-fail=1)"),
    # the workload not marked make-it-fail under task-filter=Y.
    ("tasks=PID/1", "fails no call here (times=1, task-filter=Y, make-it-fail=0)"),
    # the notice's own times is not what fail_dump prints before the decrement.
    (("space 0, times 1\n", "space 0, times 2\n"), "fail_dump prints"),
])
def test_a_fail_page_alloc_notice_the_model_does_not_print_diverges(
        edit: tuple[str, str] | str, expected: str) -> None:
    def apply(text: str) -> str:
        if isinstance(edit, str):  # the make-it-fail switch of the workload's pid
            pid = text.split("tasks=", 1)[1].split("/", 1)[0]
            return text.replace(f"tasks={pid}/1", f"tasks={pid}/0", 1)
        return text.replace(*edit, 1)

    messages = _fi(_edited("fi_page_alloc_relaxed", apply))
    assert len(messages) == 1 and expected in messages[0], messages


def test_a_fail_page_alloc_notice_after_uncounted_calls_is_unknown() -> None:
    """interval 3: which call failed depends on the calls that passed, which the trace lacks."""
    report = _edited("fi_page_alloc_relaxed", lambda t: t.replace(
        "interval=1 times=1 space=0 verbose=1 task-filter=Y ignore",
        "interval=3 times=1 space=0 verbose=1 task-filter=Y ignore", 1))
    assert _fi(report) == [] and report.counts["unknown:fail-page-alloc-calls"] == 1


def test_times_arithmetic_mutant_makes_the_fail_page_alloc_trace_diverge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A should_fail_ex that spends times before fail_dump prints it ("times 0" printed)."""
    monkeypatch.setattr(fault_inject, "should_fail_ex",
                        MUTANTS["order: times decremented before fail_dump"])
    messages = _fi(_check("fi_page_alloc_relaxed"))
    assert len(messages) == 1 and "times 0" in messages[0], messages
