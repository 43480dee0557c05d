"""The user page-fault entry of Linux 6.12: retry on VM_FAULT_RETRY, SIGBUS on SIGBUS.

Linux 6.12.118 arch/x86/mm/fault.c:1208-1450 (do_user_addr_fault): the same loop as
6.1's (:mod:`kmodel.arch.x86.mm.fault`, whose signal delivery this reuses), entering
6.12's ``handle_mm_fault``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.arch.x86.mm.fault import (
    BUS_ADRERR,
    FAULT_CHAIN,
    SEGV_MAPERR,
    SIGBUS,
    SIGSEGV,
    force_sig_fault,
)
from kmodel.include.linux.mm import FAULT_FLAG_DEFAULT, FaultFlag, VmFault
from kmodel.mm.memory import check_address
from kmodel.v6_12.mm.memory import handle_mm_fault

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


def do_user_addr_fault(k: Kernel, task: Task, address: int, *, write: bool = False) -> int:
    """Handle a user fault at ``address`` as ``task``; return the last VM_FAULT_* bits.

    Linux 6.12.118 arch/x86/mm/fault.c:1208-1450: retry with FAULT_FLAG_TRIED while
    handle_mm_fault asks; VM_FAULT_SIGBUS sends SIGBUS with BUS_ADRERR (do_sigbus).
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
