"""The user page-fault entry: retry on VM_FAULT_RETRY, SIGBUS on VM_FAULT_SIGBUS.

Linux 6.1.176 arch/x86/mm/fault.c:1203-1420 (do_user_addr_fault), 917-945 (do_sigbus),
kernel/signal.c:1729-1733 (force_sig_fault); signal numbers from include/uapi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.include.linux.mm import FAULT_FLAG_DEFAULT, FaultFlag, VmFault
from kmodel.mm.memory import check_address, handle_mm_fault

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel

SIGBUS = 7
SIGSEGV = 11
BUS_ADRERR = 2
SEGV_MAPERR = 1

#: The call chain of a user page fault down to handle_mm_fault.
FAULT_CHAIN = ("asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault")


def force_sig_fault(k: Kernel, task: Task, sig: int, code: int, address: int) -> None:
    """Queue a fault signal and trace ``signal_generate``.

    kernel/signal.c:1729-1733 (force_sig_fault).
    """
    task.signals.append((sig, code, address))
    k.trace("signal_generate", sig=sig, errno=0, code=code, comm=task.comm, pid=task.pid,
            grp=0, res=0)


def do_user_addr_fault(k: Kernel, task: Task, address: int, *, write: bool = False) -> int:
    """Handle a user fault at ``address`` as ``task``; return the last VM_FAULT_* bits.

    arch/x86/mm/fault.c:1203-1420: do_user_addr_fault loops while handle_mm_fault asks
    for a retry (with FAULT_FLAG_TRIED); VM_FAULT_SIGBUS sends SIGBUS with BUS_ADRERR (do_sigbus).
    """
    check_address(task, address)
    flags = FAULT_FLAG_DEFAULT | FaultFlag.FAULT_FLAG_USER
    if write:
        flags |= FaultFlag.FAULT_FLAG_WRITE
    with k.running(task, FAULT_CHAIN), k.lock:
        while True:
            fault = handle_mm_fault(k, task, address, flags)
            if fault & VmFault.VM_FAULT_RETRY:
                flags |= FaultFlag.FAULT_FLAG_TRIED
                continue
            break
        if fault & VmFault.VM_FAULT_SIGBUS:
            force_sig_fault(k, task, SIGBUS, BUS_ADRERR, address)
        elif fault & VmFault.VM_FAULT_SIGSEGV:
            force_sig_fault(k, task, SIGSEGV, SEGV_MAPERR, address)
    return fault
