"""``struct vm_fault`` and the ``VM_FAULT_*``/``FAULT_FLAG_*`` bits.

Linux 6.1.176 include/linux/mm_types.h:886-903 (vm_fault_reason),
include/linux/mm_types.h:1008-1021 (fault_flag), include/linux/mm.h:493-540 (struct vm_fault).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import VMArea
    from kmodel.include.linux.sched import Task


class VmFault(enum.IntFlag):
    """``enum vm_fault_reason``."""

    VM_FAULT_OOM = 0x000001
    VM_FAULT_SIGBUS = 0x000002
    VM_FAULT_MAJOR = 0x000004
    VM_FAULT_WRITE = 0x000008
    VM_FAULT_HWPOISON = 0x000010
    VM_FAULT_HWPOISON_LARGE = 0x000020
    VM_FAULT_SIGSEGV = 0x000040
    VM_FAULT_NOPAGE = 0x000100
    VM_FAULT_LOCKED = 0x000200
    VM_FAULT_RETRY = 0x000400
    VM_FAULT_FALLBACK = 0x000800
    VM_FAULT_DONE_COW = 0x001000
    VM_FAULT_NEEDDSYNC = 0x002000
    VM_FAULT_COMPLETED = 0x004000


VM_FAULT_ERROR = (
    VmFault.VM_FAULT_OOM
    | VmFault.VM_FAULT_SIGBUS
    | VmFault.VM_FAULT_SIGSEGV
    | VmFault.VM_FAULT_HWPOISON
    | VmFault.VM_FAULT_HWPOISON_LARGE
    | VmFault.VM_FAULT_FALLBACK
)


class FaultFlag(enum.IntFlag):
    """``enum fault_flag``."""

    FAULT_FLAG_WRITE = 1 << 0
    FAULT_FLAG_MKWRITE = 1 << 1
    FAULT_FLAG_ALLOW_RETRY = 1 << 2
    FAULT_FLAG_RETRY_NOWAIT = 1 << 3
    FAULT_FLAG_KILLABLE = 1 << 4
    FAULT_FLAG_TRIED = 1 << 5
    FAULT_FLAG_USER = 1 << 6
    FAULT_FLAG_REMOTE = 1 << 7
    FAULT_FLAG_INSTRUCTION = 1 << 8
    FAULT_FLAG_INTERRUPTIBLE = 1 << 9
    FAULT_FLAG_UNSHARE = 1 << 10
    FAULT_FLAG_ORIG_PTE_VALID = 1 << 11


#: FAULT_FLAG_DEFAULT (mm.h:483): what a user-space fault starts with.
FAULT_FLAG_DEFAULT = (
    FaultFlag.FAULT_FLAG_ALLOW_RETRY
    | FaultFlag.FAULT_FLAG_KILLABLE
    | FaultFlag.FAULT_FLAG_INTERRUPTIBLE
)


def fault_flag_allow_retry_first(flags: int) -> bool:
    """Retry allowed and not already tried (include/linux/mm.h:465-470)."""
    return bool(flags & FaultFlag.FAULT_FLAG_ALLOW_RETRY) and not (
        flags & FaultFlag.FAULT_FLAG_TRIED
    )


@attrs.define(eq=False)
class VMFault:
    """``struct vm_fault``: one fault being handled."""

    task: Task
    vma: VMArea
    address: int
    flags: int
    orig_pte: int

    @property
    def addr(self) -> int:
        """A stable fake ``struct vm_fault *`` for traces."""
        return 0xFFFFC90000503C70 + (self.task.pid << 14)
