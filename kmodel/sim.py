"""A small machine to drive the model: disks, swapon, tasks, memory, reclaim.

No kernel counterpart: this is the "user space" and the hardware around the kernel
model — what a test or a scenario uses to make the swap path run.
"""

from __future__ import annotations

from collections.abc import Iterable

from kmodel.block.bdev import BlockDevice
from kmodel.errors import KernelBug, KmodelError
from kmodel.executor.base import Executor
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.mm import VM_FAULT_ERROR, VmFault
from kmodel.include.linux.mm_types import (
    PAGE_SHIFT,
    PAGE_SIZE,
    Folio,
    MMStruct,
    SwapEntry,
    VMArea,
)
from kmodel.include.linux.page_flags import PageFlags
from kmodel.include.linux.sched import Task
from kmodel.include.linux.swap import SwapFile, SwapInfo
from kmodel.kernel import Kernel
from kmodel.mm.swapfile import swap_duplicate, swap_free, swapon
from kmodel.mm.vmscan import DIRECT_RECLAIM_CHAIN, KSWAPD_CHAIN, ReclaimResult
from kmodel.versions import kernel_ops

#: Device presets: (major, minor, name, driver, rw_page, request_based, rotational).
DISKS: dict[str, tuple[int, int, str, str, bool, bool, bool]] = {
    "virtio": (254, 0, "vda", "virtio_blk", False, True, True),
    "ssd": (254, 0, "vda", "virtio_blk", False, True, False),
    "scsi": (8, 0, "sda", "sd", False, True, True),
    "dm": (253, 0, "dm-0", "dm-flakey", False, False, True),
    "brd": (1, 0, "ram0", "brd", True, False, False),
    "zram": (252, 0, "zram0", "zram", True, False, False),
}

USER_BASE = 0x7FC8312AE000


def make_disk(kind: str = "virtio", *, nr_pages: int = 16384) -> BlockDevice:
    """A block device of one of the :data:`DISKS` kinds with ``nr_pages`` of space."""
    try:
        major, minor, name, driver, rw_page, request_based, rotational = DISKS[kind]
    except KeyError:
        raise KmodelError(
            f"unknown disk kind {kind!r}: expected one of {', '.join(sorted(DISKS))}"
        ) from None
    if nr_pages < 2:
        raise KmodelError(f"a swap disk needs at least 2 pages, got {nr_pages}")
    nr_sectors = nr_pages << (PAGE_SHIFT - 9)
    remap_to = make_disk("virtio", nr_pages=nr_pages) if kind == "dm" else None
    return BlockDevice(major, minor, name, nr_sectors=nr_sectors, rw_page=rw_page,
                       driver=driver, request_based=request_based, rotational=rotational,
                       remap_to=remap_to)


class Machine:
    """A kernel, its swap area, and helpers that act like user space and reclaim."""

    def __init__(self, executor: Executor | None = None, *, disk: str = "virtio",
                 nr_pages: int = 16384, page_cluster: int = 3,
                 swap_file: SwapFile | None = None, synchronous: bool | None = None,
                 bdev: BlockDevice | None = None, kernel: str = "6.1") -> None:
        if not 0 <= page_cluster <= 31:
            raise KmodelError(f"page-cluster must be 0..31, got {page_cluster}")
        #: The kernel's version-specific entry points (``kernel``: "6.1" or "6.12").
        self.ops = kernel_ops(kernel)
        self.k = Kernel(executor=executor if executor is not None else InlineExecutor(),
                        version=kernel)
        self.k.page_cluster = page_cluster
        self.bdev = bdev if bdev is not None else make_disk(disk, nr_pages=nr_pages)
        self.si: SwapInfo = swapon(self.k, self.bdev, swap_file=swap_file,
                                   synchronous=synchronous)

    # -- user space ------------------------------------------------------------------

    def spawn(self, comm: str = "memhog", *, cpu: int = 0) -> Task:
        """A new process with an empty address space."""
        return self.k.create_task(comm, cpu=cpu)

    def clone_thread(self, task: Task, *, cpu: int | None = None) -> Task:
        """A new thread of ``task``'s process: same address space, own task_struct."""
        self.k._next_pid += 1
        thread = Task(pid=self.k._next_pid, comm=task.comm, tgid=task.tgid, mm=task.mm,
                      cpu=task.cpu if cpu is None else cpu)
        self.k.tasks[thread.pid] = thread
        return thread

    def mmap(self, task: Task, nr_pages: int) -> int:
        """Map ``nr_pages`` of anonymous memory; return the start address."""
        if nr_pages <= 0:
            raise KmodelError(f"mmap of {nr_pages} pages: need at least one")
        mm = task.mm
        if mm is None:
            raise KmodelError(f"{task.comm} has no address space")
        start = USER_BASE + sum(v.vm_end - v.vm_start + PAGE_SIZE for v in mm.vmas)
        mm.vmas.append(VMArea(start, start + nr_pages * PAGE_SIZE, mm))
        return start

    def fault(self, task: Task, addr: int, *, write: bool = False) -> int:
        """A user access at ``addr``: the fault's final VM_FAULT_* bits (0 if present).

        A fault that backs out (returns 0 without mapping, e.g. do_swap_page finding the
        slot busy) returns to user space, which executes the access again: so does this.
        """
        for _ in range(100_000):
            ret = self.ops.do_user_addr_fault(self.k, task, addr, write=write)
            if ret & VM_FAULT_ERROR or self._present(task, addr):
                return ret
        raise KernelBug(f"{task.comm}: access at {addr:#x} refaulted 100000 times")

    @staticmethod
    def _present(task: Task, addr: int) -> bool:
        return task.mm is not None and isinstance(task.mm.ptes.get(addr), Folio)

    def store(self, task: Task, addr: int, data: bytes) -> int:
        """Write ``data`` as the page's contents; return the fault bits (SIGBUS: no write)."""
        ret = self.fault(task, addr, write=True)
        if ret & (VmFault.VM_FAULT_SIGBUS | VmFault.VM_FAULT_SIGSEGV | VmFault.VM_FAULT_OOM):
            return ret
        folio = self._mapped(task, addr)
        folio.data = data
        folio.flags |= PageFlags.PG_dirty  # the PTE's dirty bit, moved to the folio at unmap
        return ret

    def load(self, task: Task, addr: int) -> bytes | None:
        """Read the page: its contents, or None when the access got SIGBUS."""
        ret = self.fault(task, addr)
        if ret & (VmFault.VM_FAULT_SIGBUS | VmFault.VM_FAULT_SIGSEGV | VmFault.VM_FAULT_OOM):
            return None
        return self._mapped(task, addr).data

    @staticmethod
    def _mm(task: Task) -> MMStruct:
        if task.mm is None:
            raise KmodelError(f"{task.comm}-{task.pid} has no address space (a kernel thread)")
        return task.mm

    def _mapped(self, task: Task, addr: int) -> Folio:
        pte = self._mm(task).ptes.get(addr)
        if not isinstance(pte, Folio):
            raise KernelBug(f"{addr:#x} not mapped after a successful fault")
        return pte

    def fork(self, parent: Task, comm: str | None = None) -> Task:
        """``fork()``: the child shares every page and swap slot (copy_pte_range)."""
        parent_mm = self._mm(parent)
        child = self.spawn(comm or parent.comm, cpu=parent.cpu)
        child_mm = self._mm(child)
        for vma in parent_mm.vmas:
            child_mm.vmas.append(VMArea(vma.vm_start, vma.vm_end, child_mm, vma.vm_flags))
        for addr, pte in parent_mm.ptes.items():
            if isinstance(pte, Folio):
                pte.rmap.append((child_mm, addr))
                pte.mapcount += 1
                pte.refcount += 1
                child_mm.ptes[addr] = pte
                parent_mm.writable.discard(addr)  # copy-on-write from now on
            else:
                swap_duplicate(self.k, SwapEntry.from_pte(pte))
                parent_mm.ptes[addr] = pte & ~(1 << 3)  # no longer exclusive
                child_mm.ptes[addr] = parent_mm.ptes[addr]
        return child

    def exit(self, task: Task) -> None:
        """``exit_mmap``: unmap everything; swap PTEs drop their slot references."""
        mm = task.mm
        if mm is None:
            return
        with self.k.running(task, ("do_exit", "mmput", "exit_mmap")), self.k.lock:
            for addr, pte in list(mm.ptes.items()):
                if isinstance(pte, Folio):
                    pte.rmap.remove((mm, addr))
                    pte.mapcount -= 1
                    pte.refcount -= 1
                else:
                    swap_free(self.k, SwapEntry.from_pte(pte))  # free_swap_and_cache
            mm.ptes.clear()
            mm.writable.clear()

    # -- reclaim ---------------------------------------------------------------------

    def mapped_folios(self, task: Task | None = None) -> list[Folio]:
        """Folios mapped by ``task`` (or by anyone), in address order, each once."""
        tasks = [task] if task is not None else list(self.k.tasks.values())
        seen: dict[int, Folio] = {}
        for t in tasks:
            if t.mm is None:
                continue
            for addr in sorted(t.mm.ptes):
                pte = t.mm.ptes[addr]
                if isinstance(pte, Folio):
                    seen.setdefault(id(pte), pte)
        return list(seen.values())

    def swap_cache_folios(self) -> list[Folio]:
        """Unmapped folios still in the swap cache (reclaim candidates for a second pass)."""
        return [f for f in self.k.swap_cache.values() if not f.mapcount]

    def reclaim(self, folios: Iterable[Folio] | None = None, *, direct: Task | None = None,
                ) -> list[ReclaimResult]:
        """Run reclaim over ``folios`` (default: every mapped or cached folio).

        As kswapd, or as ``direct`` reclaim in that task's context (memory.max hit).
        """
        from kmodel.block.blk_core import blk_finish_plug, blk_start_plug
        from kmodel.mm.page_io import SwapPlug

        if folios is None:
            folios = self.mapped_folios() + self.swap_cache_folios()
        kswapd = self.k.tasks.get(-1)
        if kswapd is None:
            kswapd = Task(pid=34, comm="kswapd0", cpu=0)
            self.k.tasks[-1] = kswapd
        task = direct if direct is not None else kswapd
        chain = DIRECT_RECLAIM_CHAIN if direct is not None else KSWAPD_CHAIN
        results = []
        with self.k.running(task, chain), self.k.lock:
            plug = blk_start_plug(self.k)
            splug: SwapPlug = [None]
            for folio in list(folios):
                if folio.freed:
                    continue
                results.append(self.ops.shrink_folio(self.k, folio, splug))
            if splug[0] is not None:
                self.ops.swap_write_unplug(self.k, splug[0])
            blk_finish_plug(self.k, plug)
        return results

    # -- checks ----------------------------------------------------------------------

    def quiescent(self) -> bool:
        """No I/O pending and no bio alive."""
        return not self.k.executor.pending and not self.k.executor.live_bios
