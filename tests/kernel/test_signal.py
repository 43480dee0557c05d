"""Sending a signal (kernel/signal.c): a SIGKILL to any thread is pending on all its group's.

The swap path's killable waits (FM-2) end for a pending SIGKILL; which tasks have it is
decided here, as the 6.1 checker asks the model when a trace shows ``signal_generate``.
"""

from __future__ import annotations

from kmodel.executor.base import Executor
from kmodel.include.linux.sched import (
    SIGKILL,
    SIGNAL_GROUP_EXIT,
    SignalStruct,
    Task,
    TaskState,
    fatal_signal_pending,
    thread_group_empty,
)
from kmodel.kernel import Kernel
from kmodel.kernel.signal import PidType, TraceSignal, send_signal_locked
from tests.helpers import Recorder

SIGBUS, SIGUSR1, SIGSEGV, SIGCHLD = 7, 10, 11, 17
TGID, PID = PidType.PIDTYPE_TGID, PidType.PIDTYPE_PID


class _Woken(Executor):
    def __init__(self) -> None:
        super().__init__()
        self.woken: list[int] = []

    def wake(self, k: Kernel, task: Task) -> None:
        self.woken.append(task.pid)


def _group(*states: TaskState) -> tuple[Kernel, Recorder, list[Task]]:
    k = Kernel(executor=_Woken())
    rec = Recorder()
    k.tracer = rec
    group = SignalStruct()
    tasks = [Task(pid=100 + i, comm="memhog", tgid=100, signal=group, state=state)
             for i, state in enumerate(states)]
    return k, rec, tasks


def _woken(k: Kernel) -> list[int]:
    executor = k.executor
    assert isinstance(executor, _Woken)
    return executor.woken


def test_a_task_is_its_own_group_unless_given_one() -> None:
    alone = Task(pid=7, comm="a")
    assert alone.signal is not None and alone.signal.threads == [alone]
    assert thread_group_empty(alone)
    _k, _rec, tasks = _group(TaskState.TASK_RUNNING, TaskState.TASK_RUNNING)
    assert tasks[0].signal is tasks[1].signal and not thread_group_empty(tasks[0])


def test_sigkill_to_one_thread_is_pending_on_every_thread_of_its_group() -> None:
    # The OOM killer's do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID) with a
    # victim that is not the leader: every thread dies.
    k, rec, (leader, killable, blocked) = _group(
        TaskState.TASK_RUNNING, TaskState.TASK_KILLABLE, TaskState.TASK_UNINTERRUPTIBLE)
    assert send_signal_locked(k, SIGKILL, killable, TGID) == TraceSignal.TRACE_SIGNAL_DELIVERED
    assert all(fatal_signal_pending(t) for t in (leader, killable, blocked))
    assert leader.signal is not None and leader.signal.flags == SIGNAL_GROUP_EXIT
    assert leader.signal.group_exit_code == SIGKILL
    # A killable sleep is woken; an uninterruptible one is not (signal_wake_up_state).
    assert (killable.state, blocked.state) == (TaskState.TASK_RUNNING,
                                               TaskState.TASK_UNINTERRUPTIBLE)
    assert _woken(k) == [killable.pid]
    (event,) = rec.of("signal_generate")
    assert (event.arg("sig"), event.arg("pid"), event.arg("grp"), event.arg("res")) == (
        SIGKILL, killable.pid, 1, 0)


def test_a_thread_directed_sigkill_still_takes_the_group_down() -> None:
    k, rec, tasks = _group(TaskState.TASK_RUNNING, TaskState.TASK_RUNNING)
    assert send_signal_locked(k, SIGKILL, tasks[1], PID) == TraceSignal.TRACE_SIGNAL_DELIVERED
    assert all(fatal_signal_pending(t) for t in tasks)
    assert rec.of("signal_generate")[0].arg("grp") == 0


def test_a_signal_during_the_group_exit_is_dropped() -> None:
    k, rec, tasks = _group(TaskState.TASK_RUNNING, TaskState.TASK_RUNNING)
    send_signal_locked(k, SIGKILL, tasks[0], TGID)
    assert send_signal_locked(k, SIGKILL, tasks[1], TGID) == TraceSignal.TRACE_SIGNAL_IGNORED
    assert [e.arg("res") for e in rec.of("signal_generate")] == [0, 1]


def test_a_signal_ignored_by_default_is_never_delivered() -> None:
    k, _rec, tasks = _group(TaskState.TASK_RUNNING)
    assert send_signal_locked(k, SIGCHLD, tasks[0], TGID) == TraceSignal.TRACE_SIGNAL_IGNORED
    assert not tasks[0].signals


def test_a_core_dumping_signal_is_not_a_group_kill_and_is_queued_once() -> None:
    k, _rec, (target, other) = _group(TaskState.TASK_INTERRUPTIBLE, TaskState.TASK_RUNNING)
    assert send_signal_locked(k, SIGSEGV, target, PID) == TraceSignal.TRACE_SIGNAL_DELIVERED
    assert [s for s, _c, _a in target.signals] == [SIGSEGV] and not other.signals
    assert target.signal is not None and target.signal.flags == 0
    assert target.state == TaskState.TASK_RUNNING and target.sigpending  # the sleep ends
    assert send_signal_locked(k, SIGSEGV, target, PID) == (
        TraceSignal.TRACE_SIGNAL_ALREADY_PENDING)


def test_a_shared_signal_goes_to_a_thread_that_wants_it() -> None:
    # The target sleeps with a signal pending (wants_signal: no); the other thread runs.
    k, _rec, (target, other) = _group(TaskState.TASK_INTERRUPTIBLE, TaskState.TASK_RUNNING)
    target.signals.append((SIGBUS, 0, 0))
    target.sigpending = True
    assert send_signal_locked(k, SIGUSR1, target, TGID) == TraceSignal.TRACE_SIGNAL_DELIVERED
    assert target.signal is not None and SIGUSR1 in target.signal.shared_pending
    # SIGUSR1's default action ends the group: every thread has SIGKILL pending.
    assert fatal_signal_pending(target) and fatal_signal_pending(other)


def test_no_thread_is_woken_when_none_wants_the_signal() -> None:
    k, _rec, tasks = _group(TaskState.TASK_UNINTERRUPTIBLE, TaskState.TASK_UNINTERRUPTIBLE)
    for t in tasks:
        t.signals.append((SIGBUS, 0, 0))
        t.sigpending = True
    assert send_signal_locked(k, SIGUSR1, tasks[0], TGID) == TraceSignal.TRACE_SIGNAL_DELIVERED
    assert not any(fatal_signal_pending(t) for t in tasks) and not _woken(k)
    alone = Task(pid=9, comm="a", state=TaskState.TASK_UNINTERRUPTIBLE)
    alone.signals.append((SIGBUS, 0, 0))
    alone.sigpending = True
    assert send_signal_locked(k, SIGUSR1, alone, PID) == TraceSignal.TRACE_SIGNAL_DELIVERED
    assert not fatal_signal_pending(alone)
