"""``struct task_struct``: state, reference count, wakeups; its thread group's ``signal_struct``.

Linux 6.1.176 include/linux/sched.h:737-1540 (task_struct), include/linux/sched/task.h:109-130
(get_task_struct/put_task_struct), kernel/sched/core.c:4360-4364 (wake_up_process),
include/linux/sched/signal.h:93-255 (signal_struct, SIGNAL_GROUP_EXIT), 404-422
(fatal_signal_pending, signal_pending_state), 727-730 (thread_group_empty).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from kmodel.errors import KernelBug

if TYPE_CHECKING:
    from kmodel.block.blk_core import BlkPlug
    from kmodel.include.linux.mm_types import MMStruct
    from kmodel.kernel import Kernel


class TaskState(enum.IntEnum):
    """The ``__state`` values the swap path uses (include/linux/sched.h:85-87)."""

    TASK_RUNNING = 0x0000
    TASK_INTERRUPTIBLE = 0x0001
    TASK_UNINTERRUPTIBLE = 0x0002
    TASK_WAKEKILL = 0x0100
    TASK_KILLABLE = 0x0102  # TASK_WAKEKILL | TASK_UNINTERRUPTIBLE (sched.h:115)


#: include/uapi/asm-generic/signal.h:15.
SIGKILL = 9
#: include/linux/sched/signal.h:255: group exit in progress.
SIGNAL_GROUP_EXIT = 0x00000004


@attrs.define(eq=False)
class SignalStruct:
    """``struct signal_struct`` (include/linux/sched/signal.h:93): what a thread group shares.

    ``threads`` is ``thread_head`` (the group's tasks, the leader first); ``shared_pending``
    the signal numbers of ``shared_pending`` (a signal sent to the group, PIDTYPE_TGID).
    """

    threads: list[Task] = attrs.field(factory=list)
    flags: int = 0
    group_exit_code: int = 0
    shared_pending: set[int] = attrs.field(factory=set)


@attrs.define(eq=False)
class Task:
    """``struct task_struct``.

    ``usage`` is the reference count: 1 while the task lives; ``get_task_struct`` adds one.
    ``fail_nth`` is the per-task fault-injection countdown (``/proc/self/fail-nth``).
    """

    pid: int
    comm: str
    tgid: int = 0
    mm: MMStruct | None = None
    state: TaskState = TaskState.TASK_RUNNING
    usage: int = 1
    wakeups: int = 0
    fail_nth: int = 0
    make_it_fail: bool = False
    cpu: int = 0
    #: ``current->plug``: bios held back by blk_start_plug.
    plug: BlkPlug | None = None
    #: Signals generated for this task: (signo, si_code, address).
    signals: list[tuple[int, int, int]] = attrs.field(factory=list)
    #: ``task->signal``: its thread group's (a group of its own unless given one).
    signal: SignalStruct | None = None
    #: TIF_SIGPENDING: set by ``signal_wake_up_state`` (kmodel.kernel.signal).
    sigpending: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.tgid:
            self.tgid = self.pid
        if self.signal is None:
            self.signal = SignalStruct([self])
        elif self not in self.signal.threads:
            self.signal.threads.append(self)  # copy_process's list_add_tail_rcu of a thread

    def __repr__(self) -> str:
        return f"<Task {self.comm}-{self.pid} {self.state.name} usage={self.usage}>"


def fatal_signal_pending(task: Task) -> bool:
    """SIGKILL is pending (``__fatal_signal_pending``, include/linux/sched/signal.h:404-407):
    the model keeps a task's signals in ``Task.signals``, never delivered while it runs in
    the kernel."""
    return any(signo == SIGKILL for signo, _code, _addr in task.signals)


def thread_group_empty(p: Task) -> bool:
    """Whether ``p`` is its group's only thread (include/linux/sched/signal.h:727-730)."""
    return p.signal is None or len(p.signal.threads) <= 1


def signal_pending_state(state: int, task: Task) -> bool:
    """Whether a sleep in ``state`` ends for a pending signal (sched/signal.h:414-422)."""
    if not state & (TaskState.TASK_INTERRUPTIBLE | TaskState.TASK_WAKEKILL):
        return False
    if not task.signals:  # signal_pending
        return False
    return bool(state & TaskState.TASK_INTERRUPTIBLE) or fatal_signal_pending(task)


def get_task_struct(task: Task) -> Task:
    """Take a reference (include/linux/sched/task.h:109-113): get_task_struct."""
    if task.usage <= 0:
        raise KernelBug(f"get_task_struct on freed {task!r}")
    task.usage += 1
    return task


def put_task_struct(task: Task) -> None:
    """Drop a reference; the last one frees the task.

    include/linux/sched/task.h:118-130 (put_task_struct).
    """
    if task.usage <= 0:
        raise KernelBug(f"put_task_struct on freed {task!r}")
    task.usage -= 1


def set_current_state(k: Kernel, state: TaskState) -> None:
    """``set_current_state`` (with the barrier; the kernel lock orders it here)."""
    k.current.state = state


def wake_up_process(k: Kernel, task: Task) -> bool:
    """Make a sleeping task runnable; False if it already was.

    kernel/sched/core.c:4360-4364 (wake_up_process).
    """
    if task.usage <= 0:
        raise KernelBug(f"wake_up_process on freed {task!r}")
    if task.state == TaskState.TASK_RUNNING:
        return False
    task.state = TaskState.TASK_RUNNING
    task.wakeups += 1
    k.executor.wake(k, task)
    return True
