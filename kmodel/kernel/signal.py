"""Sending a signal: which threads it reaches (``__send_signal_locked``, ``complete_signal``).

Linux 6.1.176 kernel/signal.c:911-1199 (prepare_signal, wants_signal, complete_signal,
legacy_queue, __send_signal_locked), include/linux/signal.h:415-452 (the signal masks,
sig_fatal), include/linux/sched/signal.h:450-458 (signal_wake_up), kernel/signal.c:768-783
(signal_wake_up_state).

The swap path meets signals where a fault waits killable (``__folio_lock_or_retry``,
mm/filemap.c:1736-1767): a SIGKILL sent to any thread — the OOM killer's
``do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID)`` — is fatal to every thread
of its group, so each has it pending (``fatal_signal_pending``). The model's tasks have no
signal handlers (every action SIG_DFL), block no signal, are never stopped, traced, exiting
or dumping core; a task's pending signals are ``Task.signals``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from kmodel.include.linux.sched import (
    SIGKILL,
    SIGNAL_GROUP_EXIT,
    Task,
    TaskState,
    thread_group_empty,
)

if TYPE_CHECKING:
    from kmodel.kernel import Kernel


class PidType(enum.IntEnum):
    """``enum pid_type`` (include/linux/pid.h:9-16), the two a signal is sent with."""

    PIDTYPE_PID = 0
    PIDTYPE_TGID = 1


class TraceSignal(enum.IntEnum):
    """``signal_generate``'s ``res`` (include/trace/events/signal.h:27-33)."""

    TRACE_SIGNAL_DELIVERED = 0
    TRACE_SIGNAL_IGNORED = 1
    TRACE_SIGNAL_ALREADY_PENDING = 2
    TRACE_SIGNAL_OVERFLOW_FAIL = 3
    TRACE_SIGNAL_LOSE_INFO = 4


#: include/uapi/asm-generic/siginfo.h:180: sent by the kernel (SEND_SIG_PRIV).
SI_KERNEL = 0x80
SIGRTMIN = 32  # arch/x86/include/uapi/asm/signal.h:62


def _mask(*signals: int) -> int:
    return sum(1 << (sig - 1) for sig in signals)


# include/linux/signal.h:421-436 (x86: no SIGEMT), by number
# (arch/x86/include/uapi/asm/signal.h:23-58).
SIG_KERNEL_STOP_MASK = _mask(19, 20, 21, 22)  # SIGSTOP SIGTSTP SIGTTIN SIGTTOU
SIG_KERNEL_COREDUMP_MASK = _mask(3, 4, 5, 6, 8, 11, 31, 24, 25, 7)
SIG_KERNEL_IGNORE_MASK = _mask(18, 17, 28, 23)  # SIGCONT SIGCHLD SIGWINCH SIGURG


def siginmask(sig: int, mask: int) -> bool:
    """``siginmask`` (include/linux/signal.h:415-416): a classic signal in ``mask``."""
    return sig < SIGRTMIN and bool((1 << (sig - 1)) & mask)


def sig_fatal(p: Task, sig: int) -> bool:
    """``sig_fatal`` (include/linux/signal.h:450-452): its default action ends the group
    (the model's handlers are all SIG_DFL)."""
    return not siginmask(sig, SIG_KERNEL_IGNORE_MASK | SIG_KERNEL_STOP_MASK)


def _sigaddset(t: Task, sig: int, code: int) -> None:
    """``sigaddset(&t->pending.signal, sig)``: a classic signal is pending once."""
    if not any(signo == sig for signo, _code, _addr in t.signals):
        t.signals.append((sig, code, 0))


def signal_wake_up(k: Kernel, t: Task, fatal: bool) -> None:
    """``signal_wake_up`` (include/linux/sched/signal.h:450-458) and ``signal_wake_up_state``
    (kernel/signal.c:768-783): a fatal signal also wakes a killable sleep."""
    state = TaskState.TASK_WAKEKILL if fatal else 0
    t.sigpending = True  # set_tsk_thread_flag(t, TIF_SIGPENDING)
    if t.state & (state | TaskState.TASK_INTERRUPTIBLE):  # wake_up_state
        t.state = TaskState.TASK_RUNNING
        t.wakeups += 1
        k.executor.wake(k, t)


def prepare_signal(sig: int, p: Task) -> bool:
    """Whether the signal is delivered (kernel/signal.c:911-984): never during a group exit
    (no core dump in the model), never a signal whose default action is to ignore it."""
    signal = p.signal
    assert signal is not None
    if signal.flags & SIGNAL_GROUP_EXIT:
        return False  # the process is in the middle of dying: the signal is dropped
    return not siginmask(sig, SIG_KERNEL_IGNORE_MASK)  # !sig_ignored(p, sig, force)


def wants_signal(sig: int, p: Task) -> bool:
    """``wants_signal`` (kernel/signal.c:986-1001); none of the model's tasks blocks ``sig``,
    exits or is stopped."""
    if sig == SIGKILL:
        return True
    # task_curr(p) || !task_sigpending(p): a running task stands for one on a CPU.
    return p.state == TaskState.TASK_RUNNING or not p.sigpending


def complete_signal(k: Kernel, sig: int, p: Task, type_: PidType) -> None:
    """Find a thread to take the signal; a fatal one takes the whole group down
    (kernel/signal.c:1003-1066)."""
    signal = p.signal
    assert signal is not None
    if wants_signal(sig, p):
        t = p
    elif type_ == PidType.PIDTYPE_PID or thread_group_empty(p):
        return  # one thread, which does not need waking: it dequeues before it runs again
    else:
        # The kernel starts at signal->curr_target; the model at the leader.
        wanting = [th for th in signal.threads if wants_signal(sig, th)]
        if not wanting:
            return
        t = wanting[0]
    if sig_fatal(p, sig) and not signal.flags & SIGNAL_GROUP_EXIT:
        if not siginmask(sig, SIG_KERNEL_COREDUMP_MASK):
            # Start a group exit and wake everybody up: SIGKILL pending on every thread.
            signal.flags = SIGNAL_GROUP_EXIT
            signal.group_exit_code = sig
            for t in signal.threads:  # do { ... } while_each_thread(p, t)
                _sigaddset(t, SIGKILL, SI_KERNEL)
                signal_wake_up(k, t, True)
            return
    signal_wake_up(k, t, sig == SIGKILL)


def legacy_queue(pending: set[int], sig: int) -> bool:
    """A classic signal already pending is not queued again (kernel/signal.c:1079-1082)."""
    return sig < SIGRTMIN and sig in pending


def __send_signal_locked(k: Kernel, sig: int, t: Task, type_: PidType,
                         code: int = SI_KERNEL) -> TraceSignal:
    """Generate ``sig`` for ``t`` (or its group, PIDTYPE_TGID) and trace ``signal_generate``
    with the result (kernel/signal.c:1084-1199; a SIGKILL carries no siginfo)."""
    signal = t.signal
    assert signal is not None
    result = TraceSignal.TRACE_SIGNAL_IGNORED
    if prepare_signal(sig, t):
        shared = type_ != PidType.PIDTYPE_PID
        pending = signal.shared_pending if shared else {s for s, _c, _a in t.signals}
        result = TraceSignal.TRACE_SIGNAL_ALREADY_PENDING
        if not legacy_queue(pending, sig):
            result = TraceSignal.TRACE_SIGNAL_DELIVERED
            if shared:
                signal.shared_pending.add(sig)
            else:
                _sigaddset(t, sig, code)
            complete_signal(k, sig, t, type_)
    k.trace("signal_generate", sig=sig, errno=0, code=code, comm=t.comm, pid=t.pid,
            grp=int(type_ != PidType.PIDTYPE_PID), res=int(result))
    return result


send_signal_locked = __send_signal_locked  # kernel/signal.c:1225-1258, no pid namespaces
