"""Hypothesis state machines over the swap I/O path, with the kernel's invariants.

:class:`SwapIOMachine` plays user space (tasks that store and load pages, fork), reclaim
(``Machine.reclaim`` → ``pageout`` → ``swap_writepage``), the disk (which pending I/O
completes next and with which ``blk_status_t``) and the fault injector
(``fail_make_request``, ``fail-nth``, bad sector ranges), all as drawn data, so a failure
shrinks to a minimal program and a minimal schedule. It keeps a shadow of what user
space stored and checks, after every step, the invariants in ``docs/fuzzing.md``.

Subclass it to add rules (see ``docs/fuzzing.md``), or pin the disk with
:func:`machine_for`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from kmodel.block.bdev import SECTORS_PER_PAGE
from kmodel.block.blk_core import Request
from kmodel.executor.base import PendingIO
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, Bio, BlkStatus
from kmodel.include.linux.mm import VmFault
from kmodel.include.linux.mm_types import PAGE_SIZE, Folio, SwapEntry
from kmodel.include.linux.page_flags import PageFlags, decode_page_flags
from kmodel.include.linux.sched import Task, TaskState
from kmodel.include.linux.swap import SWAP_HAS_CACHE
from kmodel.kernel import Kernel, ModelEvent
from kmodel.lib.fault_inject import FaultAttr
from kmodel.mm.page_alloc import FailPageAlloc, fail_page_alloc_filters
from kmodel.mm.swap_state import GFP_HIGHUSER_MOVABLE
from kmodel.mm.swapfile import __swap_count as _swap_count  # no mangling at module level
from kmodel.sim import DISKS, Machine
from kmodel.testing.coverage import branches_of
from kmodel.testing.executor import FuzzExecutor
from kmodel.testing.strategies import (
    SYNC_DISKS,
    bad_ranges,
    disk_kinds,
    fault_attrs,
    statuses,
)

#: Pages each task maps; few enough that faults and reclaim keep meeting the same pages.
NR_USER_PAGES = 8
#: Swap slots (slot 0 is the header): small, so slots are reused and readahead is clipped.
NR_SWAP_PAGES = 24
MAX_TASKS = 3
#: Which ops bad ranges may fail on the rw_page drivers: brd ends a failed read with
#: page_endio and then resubmits it as a bio, which unlocks the page twice, as the kernel
#: would (brd reads cannot fail in practice).
RW_PAGE_BAD_OPS: dict[str, tuple[int, ...]] = {"brd": ()}
_SIGNALLED = VmFault.VM_FAULT_SIGBUS | VmFault.VM_FAULT_SIGSEGV | VmFault.VM_FAULT_OOM

Action = Callable[[], object]


class InvariantViolation(AssertionError):
    """The model broke one of the kernel's invariants; the message says which and where."""


def _flags(folio: Folio) -> str:
    return decode_page_flags(folio.flags)


class SwapIOMachine(RuleBasedStateMachine):
    """User space, reclaim, the disk and the fault injector against the swap I/O path."""

    #: The disk presets an instance may be built on (one is drawn per run).
    disk_kinds: ClassVar[tuple[str, ...]] = tuple(DISKS)
    #: Ops that bad ranges may fail per rw_page driver (absent: any op; empty: none).
    rw_page_bad_ops: ClassVar[dict[str, tuple[int, ...]]] = RW_PAGE_BAD_OPS
    #: Steps run by every instance of this class (``kmodel fuzz`` reports steps/s).
    steps: ClassVar[int] = 0
    #: Branch IDs reached by every instance of this class.
    branches: ClassVar[set[str]] = set()

    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.m: Machine | None = None
        self.base = 0
        self.ex = FuzzExecutor(self._choose)
        self.ex.on_sleep = self._on_sleep
        self.ex.on_wake = self._on_wake
        self._data: st.DataObject | None = None
        self._nested: Action | None = None
        #: The shadow user space: (pid, address) → the bytes last stored there.
        self.shadow: dict[tuple[int, int], bytes] = {}
        #: Every folio seen so far, by ``struct page`` address (identity for the events).
        self.folios: dict[int, Folio] = {}
        self.wb_ends: Counter[int] = Counter()
        #: Folios whose last write failed and which have not been written again since.
        self.write_failed: set[int] = set()
        self.read_errors = 0
        self.ends = Counter[str]()
        self._rw_write_page = 0
        #: What each sleeping task waits for: a folio bit, or its synchronous bio.
        self._waits: dict[int, tuple[Folio, int] | Bio] = {}

    # -- setup -------------------------------------------------------------------------

    @initialize(target=tasks, data=st.data(), page_cluster=st.integers(0, 3))
    def boot(self, data: st.DataObject, page_cluster: int) -> Task:
        """Boot on a drawn disk, swapon, and start the first task with its mapping."""
        disk = data.draw(disk_kinds(self.disk_kinds), label="disk")
        self.m = Machine(self.ex, disk=disk, nr_pages=NR_SWAP_PAGES, page_cluster=page_cluster)
        self.m.k.tracer = self._on_event
        task = self.m.spawn()
        self.base = self.m.mmap(task, NR_USER_PAGES)
        return task

    @property
    def k(self) -> Kernel:
        """The kernel under test."""
        assert self.m is not None
        return self.m.k

    def _addr(self, index: int) -> int:
        return self.base + index * PAGE_SIZE

    # -- the disk: which I/O completes, and how ----------------------------------------

    def _choose(self, pending: list[PendingIO]) -> tuple[PendingIO, BlkStatus | None]:
        """The executor's chooser: drawn from the running rule's data (FIFO otherwise)."""
        if self._data is None:
            return pending[0], None
        i = self._data.draw(st.integers(0, len(pending) - 1), label="complete (sleeping)")
        return pending[i], self._data.draw(statuses(), label="status")

    @precondition(lambda self: self.m is not None and bool(self.ex.pending))
    @rule(data=st.data())
    def complete_io(self, data: st.DataObject) -> None:
        """The disk completes one pending I/O with a chosen status (None: its own)."""
        pending = self.ex.pending
        i = data.draw(st.integers(0, len(pending) - 1), label="complete")

        def complete() -> None:
            self.ex.complete(self.k, pending[i], data.draw(statuses(), label="status"))

        self._run(data, complete)

    @precondition(lambda self: self.m is not None and bool(self.ex.pending))
    @rule()
    def drain(self) -> None:
        """Every pending I/O completes, oldest first, with the device's status."""
        self.ex.complete_all(self.k)

    # -- user space --------------------------------------------------------------------

    @rule(task=tasks, index=st.integers(0, NR_USER_PAGES - 1), data=st.data())
    def load(self, task: Task, index: int, data: st.DataObject) -> None:
        """A task reads a page (swap-in on a swap PTE): the DATA RULE."""
        self._run(data, lambda: self._load(task, index))

    @rule(task=tasks, index=st.integers(0, NR_USER_PAGES - 1),
          value=st.binary(min_size=1, max_size=3), data=st.data())
    def store(self, task: Task, index: int, value: bytes, data: st.DataObject) -> None:
        """A task writes new data to a page (a write fault first if it is swapped out)."""
        self._run(data, lambda: self._store(task, index, value))

    @rule(task=tasks, start=st.integers(0, NR_USER_PAGES - 1), data=st.data())
    def load_sequentially(self, task: Task, start: int, data: st.DataObject) -> None:
        """A task reads its pages in address order from ``start`` (readahead hits build up,
        so reads go asynchronous and the fault waits on the folio lock)."""

        def sweep() -> None:
            for index in range(start, NR_USER_PAGES):
                self._load(task, index)

        self._run(data, sweep)

    @precondition(lambda self: self.m is not None and len(self.k.tasks) < MAX_TASKS)
    @rule(target=tasks, parent=tasks)
    def fork(self, parent: Task) -> Task:
        """``fork()``: the child shares every page and swap slot of the parent."""
        assert self.m is not None
        child = self.m.fork(parent)
        for (pid, addr), value in list(self.shadow.items()):
            if pid == parent.pid:
                self.shadow[(child.pid, addr)] = value
        return child

    @rule(sleeper=tasks, other=tasks, i=st.integers(0, NR_USER_PAGES - 1),
          j=st.integers(0, NR_USER_PAGES - 1), then_reclaim=st.booleans(), data=st.data())
    def fault_while_sleeping(self, sleeper: Task, other: Task, i: int, j: int,
                             then_reclaim: bool, data: st.DataObject) -> None:
        """``sleeper`` loads page i; while it sleeps (on the folio lock or its bio),
        ``other`` loads page j — the same swap entry when j == i after a fork — or reclaim
        runs (a fault racing a writeback). Runs after the load if it never slept."""

        def meanwhile() -> None:
            if then_reclaim or other is sleeper:
                self._reclaim(data)
            else:
                self._load(other, j)

        self._nested = meanwhile
        self._run(data, lambda: self._load(sleeper, i))
        if self._nested is not None:
            self._nested = None
            self._run(data, meanwhile)

    # -- reclaim -----------------------------------------------------------------------

    @precondition(lambda self: self.m is not None)
    @rule(data=st.data())
    def reclaim(self, data: st.DataObject) -> None:
        """kswapd shrinks a drawn set of mapped and swap-cache folios (pageout on dirty)."""
        self._run(data, lambda: self._reclaim(data))

    @precondition(lambda self: self.m is not None)
    @rule(data=st.data())
    def swap_out(self, data: st.DataObject) -> None:
        """Reclaim to the end: pageout, the disk finishes, a second pass frees the pages."""

        def both_passes() -> None:
            picked = self._reclaim(data)
            self.ex.complete_all(self.k)
            assert self.m is not None
            self.m.reclaim(picked)

        self._run(data, both_passes)

    def _reclaim(self, data: st.DataObject) -> list[Folio]:
        assert self.m is not None
        candidates = self.m.mapped_folios() + self.m.swap_cache_folios()
        if not candidates:
            return []
        if data.draw(st.booleans(), label="reclaim everything"):
            folios = candidates
        else:
            picks = data.draw(st.lists(st.integers(0, len(candidates) - 1), min_size=1,
                                       max_size=len(candidates), unique=True), label="reclaim")
            folios = [candidates[p] for p in picks]
        self.m.reclaim(folios)
        return folios

    # -- fault injection ---------------------------------------------------------------

    @precondition(lambda self: self.m is not None)
    @rule(attr=fault_attrs(), make_it_fail=st.booleans())
    def arm_fail_make_request(self, attr: FaultAttr, make_it_fail: bool) -> None:
        """Set ``/sys/kernel/debug/fail_make_request/*`` and the device's make-it-fail."""
        assert self.m is not None
        attr.dname = "fail_make_request"
        self.k.fail_make_request = attr
        self.m.bdev.make_it_fail = make_it_fail

    @precondition(lambda self: self.m is not None)
    @rule(attr=fault_attrs(), relax=st.booleans())
    def arm_fail_page_alloc(self, attr: FaultAttr, relax: bool) -> None:
        """Set ``/sys/kernel/debug/fail_page_alloc/*``; with its filters relaxed
        (``min-order=0 ignore-gfp-wait=N ignore-gfp-highmem=N``) swap-in allocations may
        fail (OOM); with the kernel's defaults they never reach ``should_fail``."""
        attr.dname = "fail_page_alloc"
        fpa = FailPageAlloc(attr=attr)
        self.k.fail_page_alloc = fpa.relax() if relax else fpa

    @rule(task=tasks, nth=st.integers(1, 3))
    def arm_fail_nth(self, task: Task, nth: int) -> None:
        """``echo N > /proc/<pid>/fail-nth``: the task's Nth should_fail call fails."""
        task.fail_nth = nth

    @precondition(lambda self: self.m is not None)
    @rule(data=st.data(), at_submit=st.booleans())
    def add_bad_range(self, data: st.DataObject, at_submit: bool) -> None:
        """Make sectors fail at submission (dm-flakey) or completion (blkdebug, scsi_debug)."""
        assert self.m is not None
        ops = self.rw_page_bad_ops.get(self.m.bdev.driver)
        if ops == ():
            return
        op = None if ops is None else st.sampled_from(list[int | None](ops))
        bad = data.draw(bad_ranges(NR_SWAP_PAGES, op=op), label="bad range")
        where = self.m.bdev.submit_errors if at_submit else self.m.bdev.completion_errors
        where.append(bad)

    @precondition(lambda self: self.m is not None)
    @rule()
    def clear_faults(self) -> None:
        """Repair the disk and disarm every injector."""
        assert self.m is not None
        self.m.bdev.submit_errors.clear()
        self.m.bdev.completion_errors.clear()
        self.m.bdev.make_it_fail = False
        self.k.fail_make_request = FaultAttr()
        self.k.fail_page_alloc = FailPageAlloc()
        for task in self.k.tasks.values():
            task.fail_nth = 0

    # -- running model code ------------------------------------------------------------

    def _run(self, data: st.DataObject, action: Action) -> None:
        """Run one step of model code with ``data`` as the source of schedule choices."""
        self._register_folios()
        self._data, saved = data, self._data
        try:
            action()
        finally:
            self._data = saved
            self._register_folios()

    def _on_sleep(self, k: Kernel, task: Task) -> None:
        self._waits[task.pid] = self._wait_of(task)
        action, self._nested = self._nested, None
        if action is not None:
            plug, k.plug = k.plug, None  # a sleeping task's plug is flushed (sched_submit_work)
            try:
                action()
            finally:
                k.plug = plug

    def _wait_of(self, task: Task) -> tuple[Folio, int] | Bio:
        for bio in self.ex.live_bios.values():
            if bio.bi_private is task:
                return bio
        self._register_folios()
        for folio in self.folios.values():
            for waiter, bit in folio.waiters:
                if waiter is task:
                    return folio, bit
        raise InvariantViolation(f"{task!r} sleeps on nothing: no bio, no folio bit")

    def _on_wake(self, k: Kernel, task: Task) -> None:
        """The wake condition must hold when ``wake_up_process`` runs, not only later."""
        wait = self._waits.pop(task.pid, None)
        if isinstance(wait, Bio):
            if wait.bi_private is not None:
                raise InvariantViolation(
                    f"{task!r} woken before its bio's bi_private was cleared (ER-4 after ER-3)")
            page = wait.page
            assert page is not None
            if page.flags & PageFlags.PG_locked:
                raise InvariantViolation(
                    f"{task!r} woken while its page is still locked: {page!r}")
        elif wait is not None:
            folio, bit = wait
            if folio.flags & bit:
                raise InvariantViolation(
                    f"{task!r} woken but bit {bit:#x} still set: {folio!r}")
            if bit == PageFlags.PG_locked:
                if not folio.flags & (PageFlags.PG_uptodate | PageFlags.PG_error):
                    raise InvariantViolation(
                        f"{task!r} woken on an unlocked folio neither uptodate nor failed "
                        f"(ER-2 must precede ER-3): {_flags(folio)}")

    def _on_event(self, ev: ModelEvent) -> None:
        type(self).branches.update(branches_of(ev))
        name = ev.name
        if name in ("end_swap_bio_read", "end_swap_bio_write", "end_page_writeback"):
            self.ends[name] += 1
        if name == "end_page_writeback":
            self.wb_ends[int(ev.arg("page"))] += 1
        elif name == "end_swap_bio_write":
            page = int(ev.arg("page"))
            if ev.arg("bi_status"):
                self.write_failed.add(page)
            else:
                self.write_failed.discard(page)
        elif name == "end_swap_bio_read" and ev.arg("bi_status"):
            self.read_errors += 1
        elif name == "swap_writepage":
            self.write_failed.discard(int(ev.arg("page")))
        elif name == "bdev_write_page":
            self._rw_write_page = int(ev.arg("page"))
        elif name == "bdev_write_page_ret" and self.m is not None and self.m.bdev.rw_page:
            if ev.arg("ret") == 0:  # page_endio ended writeback (no probe there); an
                self.wb_ends[self._rw_write_page] += 1  # error ends it via the traced call
                self.ends["rw_page_write_ok"] += 1
        elif name == "bdev_read_page_ret" and ev.arg("ret") == 0:
            self.ends["rw_page_read_ok"] += 1

    def _register_folios(self) -> None:
        if self.m is None:
            return
        for folio in self.m.mapped_folios() + list(self.k.swap_cache.values()):
            self.folios[folio.addr] = folio
        for bio in self.ex.live_bios.values():
            if bio.page is not None:
                self.folios[bio.page.addr] = bio.page

    # -- user-space actions and the DATA RULE ------------------------------------------

    def _fault(self, task: Task, addr: int, *, write: bool) -> tuple[int, Folio | None]:
        """Fault until mapped, as user space retries the access after a 0 return.

        VM_FAULT_OOM is accepted only while an allocation failure may be injected.
        """
        assert self.m is not None and task.mm is not None
        may_oom = not fail_page_alloc_filters(self.k, GFP_HIGHUSER_MOVABLE, 0) and bool(
            task.fail_nth or self.k.fail_page_alloc.attr.probability)
        for _ in range(8):
            ret = self.m.fault(task, addr, write=write)
            if ret & VmFault.VM_FAULT_OOM:
                if not may_oom:
                    raise InvariantViolation(f"VM_FAULT_OOM at {addr:#x} with no injection")
                return ret, None
            if ret & _SIGNALLED:
                return ret, None
            pte = task.mm.ptes.get(addr)
            if isinstance(pte, Folio):
                return ret, pte
        raise InvariantViolation(f"{addr:#x} of {task!r} still not mapped after 8 faults")

    def _load(self, task: Task, index: int) -> None:
        addr = self._addr(index)
        assert task.mm is not None
        pte = task.mm.ptes.get(addr)
        ret, folio = self._fault(task, addr, write=False)
        expected = self.shadow.get((task.pid, addr), b"")
        if folio is None:
            if ret & VmFault.VM_FAULT_OOM:
                return
            if not ret & VmFault.VM_FAULT_SIGBUS:
                raise InvariantViolation(
                    f"load {addr:#x}: fault {ret:#x}")
            self._check_sigbus(task, addr, pte)
            return
        if folio.data != expected:
            raise InvariantViolation(
                f"DATA RULE: {task!r} loaded {folio.data!r} at page {index}, "
                f"last stored {expected!r} ({folio!r})")

    def _check_sigbus(self, task: Task, addr: int, pte: Folio | int | None) -> None:
        """SIGBUS only for a page whose read failed: the cached folio has PG_error."""
        if not isinstance(pte, int):
            raise InvariantViolation(
                f"SIGBUS at {addr:#x} which was not swapped out")
        assert isinstance(pte, int)
        entry = SwapEntry.from_pte(pte)
        cached = self.k.swap_cache.get((entry.type, entry.offset))
        if cached is not None:
            failed = cached.flags & (PageFlags.PG_error | PageFlags.PG_uptodate)
            if failed != PageFlags.PG_error:
                raise InvariantViolation(
                    f"SIGBUS at {addr:#x} but its folio did not fail a read: {cached!r}")
        else:
            if not self.read_errors:
                raise InvariantViolation(
                    f"SIGBUS at {addr:#x} with no read error")

    def _store(self, task: Task, index: int, value: bytes) -> None:
        addr = self._addr(index)
        assert task.mm is not None
        ret, folio = self._fault(task, addr, write=True)
        if folio is None:
            if ret & VmFault.VM_FAULT_OOM:
                return
            self._check_sigbus(task, addr, task.mm.ptes.get(addr))
            return
        if self._shared_without_cow(folio):
            return  # the model would write into another process's page (docs/fuzzing.md)
        folio.data = value
        folio.flags |= PageFlags.PG_dirty  # the PTE's dirty bit (Machine.store does the same)
        self.shadow[(task.pid, addr)] = value

    def _shared_without_cow(self, folio: Folio) -> bool:
        """Whether another process can see this page: the kernel maps it read-only and
        copies on write; the model has no write-protect fault for a present PTE."""
        if folio.mapcount > 1:
            return True
        return bool(folio.flags & PageFlags.PG_swapcache) and _swap_count(self.k, folio.swap) > 0

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def kernel_invariants(self) -> None:
        """Every check below, after every step (one line per step in a reproducer)."""
        type(self).steps += 1
        if self.m is None:
            return
        self._register_folios()
        self.nobody_sleeps_between_steps()
        self.bios_are_owned_by_pending_io()
        self.writeback_ends_once_per_start()
        self.failed_write_keeps_page_dirty()
        self.unlocked_swap_cache_folio_is_uptodate_or_failed()
        self.counters_agree_with_io()
        self.swap_map_counts_references()

    def nobody_sleeps_between_steps(self) -> None:
        """Every waiter was woken (no task asleep, no folio wait queue left); references
        balance: task usage 1, folio refcount = its PTEs + the swap cache's."""
        if self.ex.sleeping:
            raise InvariantViolation(
                f"tasks still asleep: {self.ex.sleeping}")
        for task in self.k.tasks.values():
            if task.state != TaskState.TASK_RUNNING:
                raise InvariantViolation(
                    f"{task!r} left sleeping")
            if task.usage != 1:
                raise InvariantViolation(
                    f"task reference leaked or dropped twice: {task!r}")
        for folio in self.folios.values():
            expected = 0 if folio.freed else (
                folio.mapcount + bool(folio.flags & PageFlags.PG_swapcache))
            if folio.refcount != expected or folio.mapcount != len(folio.rmap):
                raise InvariantViolation(
                    f"folio references: refcount {folio.refcount}, expected {expected} "
                    f"(mapcount {folio.mapcount}, {len(folio.rmap)} PTEs): {folio!r}")
            if folio.freed:
                continue
            if folio.waiters or folio.flags & PageFlags.PG_waiters:
                raise InvariantViolation(
                    f"waiters left on {folio!r}: {folio.waiters}")

    def bios_are_owned_by_pending_io(self) -> None:
        """Each live bio belongs to a pending request, holds one reference, never ended;
        its page is locked (read) or under writeback (write) at the slot's sector."""
        in_flight: dict[int, Bio] = {}
        for io in self.ex.pending:
            if isinstance(io, Request):
                for bio in io.bios:
                    in_flight[bio.id] = bio
                    if bio.bi_orig is not None:  # a device-mapper clone's original
                        in_flight[bio.bi_orig.id] = bio.bi_orig
        leaked = set(self.ex.live_bios) - set(in_flight)
        if leaked:
            raise InvariantViolation(
                "bio leaked (no bio_put): "
                   + ", ".join(repr(self.ex.live_bios[i]) for i in sorted(leaked)))
        for bio in in_flight.values():
            if bio.freed or bio.bi_cnt != 1 or bio.ended:
                raise InvariantViolation(
                    f"pending {bio!r}: expected one reference, not ended (ended={bio.ended})")
            page = bio.page
            assert page is not None
            if page.freed:
                raise InvariantViolation(
                    f"pending {bio!r} on a freed page {page!r}")
            if bio.op == REQ_OP_READ:
                state = page.flags & (PageFlags.PG_locked | PageFlags.PG_uptodate)
                if state != PageFlags.PG_locked:
                    raise InvariantViolation(
                        f"read in flight on a folio not locked or already uptodate: {page!r}")
            else:
                if not page.flags & PageFlags.PG_writeback:
                    raise InvariantViolation(
                        f"write in flight on a folio not under writeback: {page!r}")
            if page.flags & PageFlags.PG_swapcache:
                if bio.bi_sector != page.swap.offset * SECTORS_PER_PAGE:
                    raise InvariantViolation(
                        f"{bio!r} for {page.swap} should be at sector "
                        f"{page.swap.offset * SECTORS_PER_PAGE}")

    def writeback_ends_once_per_start(self) -> None:
        """``writeback_starts`` == ends (+1 while PG_writeback), and only with a write pending."""
        writing = {bio.page.addr for io in self.ex.pending if isinstance(io, Request)
                   for bio in io.bios if bio.page is not None and bio.op == REQ_OP_WRITE}
        for addr, folio in self.folios.items():
            under = bool(folio.flags & PageFlags.PG_writeback)
            if folio.writeback_starts != self.wb_ends[addr] + under:
                raise InvariantViolation(
                    f"writeback started {folio.writeback_starts}x, ended {self.wb_ends[addr]}x,"
                    f" PG_writeback={under}: {folio!r}")
            if under != (addr in writing):
                raise InvariantViolation(
                    f"PG_writeback={under} but write pending={addr in writing}: {folio!r}")

    def failed_write_keeps_page_dirty(self) -> None:
        """After a write error the page stays dirty and is not freed (EW-1)."""
        for addr in self.write_failed:
            folio = self.folios[addr]
            if folio.freed:
                raise InvariantViolation(
                    f"page freed after a failed write: {folio!r}")
            if not folio.flags & PageFlags.PG_dirty:
                raise InvariantViolation(
                    f"page not redirtied after a failed write: {folio!r}")

    def unlocked_swap_cache_folio_is_uptodate_or_failed(self) -> None:
        """A read sets PG_uptodate (or PG_error) before it unlocks (ER-2/ER-1 before ER-3)."""
        for folio in self.k.swap_cache.values():
            if not folio.flags & PageFlags.PG_locked:
                if not folio.flags & (PageFlags.PG_uptodate | PageFlags.PG_error):
                    raise InvariantViolation(
                        f"unlocked swap cache folio neither uptodate nor failed: {folio!r}")
            if folio.freed:
                raise InvariantViolation(
                    f"freed folio still in the swap cache: {folio!r}")

    def counters_agree_with_io(self) -> None:
        """PSWPIN/PSWPOUT and PGPGIN/PGPGOUT agree with the bios and rw_page calls done."""
        from kmodel.mm.vmstat import VmEvent

        ev = self.k.vm_events
        reads = writes = 0
        for io in self.ex.pending:
            if isinstance(io, Request):
                reads += sum(1 for b in io.bios if b.op == REQ_OP_READ)
                writes += sum(1 for b in io.bios if b.op == REQ_OP_WRITE)
        read_bios = ev[VmEvent.PGPGIN] // SECTORS_PER_PAGE
        write_bios = ev[VmEvent.PGPGOUT] // SECTORS_PER_PAGE
        if ev[VmEvent.PSWPIN] != read_bios + self.ends["rw_page_read_ok"]:
            raise InvariantViolation(
                f"PSWPIN {ev[VmEvent.PSWPIN]} != read bios {read_bios} + rw_page reads "
                f"{self.ends['rw_page_read_ok']}")
        if ev[VmEvent.PSWPOUT] != write_bios + self.ends["rw_page_write_ok"]:
            raise InvariantViolation(
                f"PSWPOUT {ev[VmEvent.PSWPOUT]} != write bios {write_bios} + rw_page writes "
                f"{self.ends['rw_page_write_ok']}")
        if self.ends["end_swap_bio_read"] + reads != read_bios:
            raise InvariantViolation(
                f"{read_bios} read bios submitted, {self.ends['end_swap_bio_read']} completed, "
                f"{reads} pending")
        if self.ends["end_swap_bio_write"] + writes != write_bios:
            raise InvariantViolation(
                f"{write_bios} write bios submitted, {self.ends['end_swap_bio_write']} "
                f"completed, {writes} pending")

    def swap_map_counts_references(self) -> None:
        """Each slot's count is its swap PTEs; SWAP_HAS_CACHE iff the swap cache holds it."""
        assert self.m is not None
        refs: Counter[int] = Counter()
        for task in self.k.tasks.values():
            if task.mm is not None:
                for pte in task.mm.ptes.values():
                    if isinstance(pte, int):
                        refs[SwapEntry.from_pte(pte).offset] += 1
        si = self.m.si
        for offset in range(1, si.max):
            count = si.swap_map[offset]
            cached = (si.type, offset) in self.k.swap_cache
            if count & ~SWAP_HAS_CACHE != refs[offset]:
                raise InvariantViolation(
                    f"slot {offset}: swap_map count {count & ~SWAP_HAS_CACHE}, "
                    f"{refs[offset]} swap PTEs")
            if bool(count & SWAP_HAS_CACHE) != cached:
                raise InvariantViolation(
                    f"slot {offset}: SWAP_HAS_CACHE={bool(count & SWAP_HAS_CACHE)}, "
                    f"in swap cache={cached}")



def machine_for(*kinds: str) -> type[SwapIOMachine]:
    """A :class:`SwapIOMachine` subclass that boots only on the given disk kinds."""
    for kind in kinds:
        if kind not in DISKS:
            raise ValueError(f"unknown disk kind {kind!r}: expected one of {sorted(DISKS)}")
    name = "SwapIOMachine_" + "_".join(kinds)
    cls = type(name, (SwapIOMachine,), {"disk_kinds": kinds, "steps": 0, "branches": set()})
    return cls


#: Pinned variants: the asynchronous bio path, and the synchronous rw_page path.
VirtioMachine = machine_for("virtio")
SyncDiskMachine = machine_for(*SYNC_DISKS)

__all__ = [
    "InvariantViolation",
    "SwapIOMachine",
    "SyncDiskMachine",
    "VirtioMachine",
    "machine_for",
]
