"""The user page-fault entry of Linux 6.12: a try under the VMA lock, then mmap_lock.

Linux 6.12.118 arch/x86/mm/fault.c:1208-1450 (do_user_addr_fault). Unlike 6.1, a user
fault first runs under the per-VMA lock (``FAULT_FLAG_VMA_LOCK``); if that asks for a
retry, the fault is run again under ``mmap_lock``, with ``FAULT_FLAG_TRIED`` only if the
first try was a major fault, and from then on as in 6.1. Signal delivery is 6.1's
(:mod:`kmodel.arch.x86.mm.fault`). The model has neither lock to take or drop.
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
from kmodel.v6_12.include.linux.mm import FAULT_FLAG_VMA_LOCK
from kmodel.v6_12.mm.memory import handle_mm_fault

if TYPE_CHECKING:
    from kmodel.include.linux.sched import Task
    from kmodel.kernel import Kernel


def do_user_addr_fault(k: Kernel, task: Task, address: int, *, write: bool = False) -> int:
    """Handle a user fault at ``address`` as ``task``; return the last VM_FAULT_* bits.

    Linux 6.12.118 arch/x86/mm/fault.c:1208-1450: the VMA-lock try (1327-1346), then
    ``retry:`` under mmap_lock with FAULT_FLAG_TRIED while handle_mm_fault asks
    (1358-1413); VM_FAULT_SIGBUS sends SIGBUS with BUS_ADRERR (do_sigbus).
    """
    check_address(task, address)
    flags = FAULT_FLAG_DEFAULT | FaultFlag.FAULT_FLAG_USER
    if write:
        flags |= FaultFlag.FAULT_FLAG_WRITE
    with k.running(task, FAULT_CHAIN), k.lock:
        fault = handle_mm_fault(k, task, address, flags | FAULT_FLAG_VMA_LOCK)
        if fault & VmFault.VM_FAULT_RETRY:  # VMA_LOCK_RETRY: fall back to mmap_lock
            if fault & VmFault.VM_FAULT_MAJOR:
                flags |= FaultFlag.FAULT_FLAG_TRIED
            while True:  # lock_mmap: retry:
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
