"""Hypothesis state machines over the swap I/O path, with the kernel's invariants.

:class:`SwapIOMachine` plays user space (tasks that store and load pages, fork), reclaim
(``Machine.reclaim`` → ``pageout`` → ``swap_writepage``), the disk (which pending I/O
completes next and with which ``blk_status_t``) and the fault injector
(``fail_make_request``, ``fail-nth``, bad sector ranges), all as drawn data, so a failure
shrinks to a minimal program and a minimal schedule. It keeps a shadow of what user
space stored and checks, after every step, the invariants in ``docs/fuzzing.md``.

Each step draws one action from those enabled now and its arguments as one number
(:data:`ACTIONS`: one choice where a rule per action drew four or five), which keeps a
step close to Hypothesis' own cost; ``step`` returns a forked child into the ``tasks``
Bundle that subclasses draw from.

Subclass it to add rules (see ``docs/fuzzing.md``), or pin the disk with
:func:`machine_for`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from typing import ClassVar

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
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
from kmodel.mm.vmstat import VmEvent
from kmodel.sim import DISKS, Machine
from kmodel.testing.coverage import BRANCH_EVENTS, branches_of
from kmodel.testing.executor import FuzzExecutor
from kmodel.testing.strategies import (
    STATUS_CHOICES,
    SYNC_DISKS,
    bad_range_from,
    disk_kinds,
    fault_attr_from,
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
_SIGNALLED = int(VmFault.VM_FAULT_SIGBUS | VmFault.VM_FAULT_SIGSEGV | VmFault.VM_FAULT_OOM)
_OOM = int(VmFault.VM_FAULT_OOM)
_SIGBUS = int(VmFault.VM_FAULT_SIGBUS)
#: Swap PTE value → its slot: the same few PTEs are decoded after every step.
_SLOT_OF: dict[int, int] = {}

#: What ``step`` draws from, in shrinking order (a failure shrinks towards the first);
#: ``fork`` needs fewer than MAX_TASKS tasks, the last two pending I/O, ``add_bad_range``
#: a disk whose bad ranges can fail something. Each decodes its arguments from one number.
ACTIONS = (
    "load", "store", "load_sequentially", "fault_while_sleeping", "reclaim", "swap_out",
    "arm_fail_nth", "clear_faults", "add_bad_range", "arm_fail_make_request",
    "arm_fail_page_alloc", "fork", "drain", "complete_io",
)  # fmt: skip
#: Actions that only set fault-injection knobs: the invariants cannot change across them.
_KNOBS = frozenset(("arm_fail_nth", "clear_faults", "add_bad_range", "arm_fail_make_request",
                    "arm_fail_page_alloc"))
#: Actions that only read user pages: one that takes no page fault runs no model code.
_READS = frozenset(("load", "load_sequentially"))
#: The enabled actions by (I/O pending, fork possible, bad ranges possible).
_ENABLED: dict[tuple[bool, bool, bool], tuple[str, ...]] = {}
#: A step's arguments range over more than any action's argument space (at most 1,152,
#: and 2 x 34,560 for a bad range); len(ACTIONS) * ARG_RANGE stays below 2**24, where
#: Hypothesis draws integers uniformly.
ARG_RANGE = 1 << 17

# Page flags as ints: `IntFlag & IntFlag` runs Python code, `int & int` does not.
_LOCKED = int(PageFlags.PG_locked)
_UPTODATE = int(PageFlags.PG_uptodate)
_ERROR = int(PageFlags.PG_error)
_DIRTY = int(PageFlags.PG_dirty)
_WRITEBACK = int(PageFlags.PG_writeback)
_SWAPCACHE = int(PageFlags.PG_swapcache)
_WAITERS = int(PageFlags.PG_waiters)
_PGPGIN, _PGPGOUT, _PSWPIN, _PSWPOUT = (VmEvent.PGPGIN, VmEvent.PGPGOUT, VmEvent.PSWPIN,
                                       VmEvent.PSWPOUT)

Action = Callable[[], object]
#: The events :meth:`SwapIOMachine._on_event` reads: those proving branches, and those
#: the invariants' bookkeeping counts.
_WATCHED = BRANCH_EVENTS | {"swap_writepage", "bdev_write_page", "bdev_write_page_ret",
                            "bdev_read_page_ret"}

_INDEX: dict[int, st.SearchStrategy[int]] = {}
_ANY_OP: tuple[int | None, ...] = (None, REQ_OP_READ, REQ_OP_WRITE)


def _index(n: int) -> st.SearchStrategy[int]:
    """``integers(0, n - 1)``, built once per ``n`` (a step draws one or two of them)."""
    strategy = _INDEX.get(n)
    if strategy is None:
        strategy = _INDEX[n] = st.integers(0, n - 1)
    return strategy


def _note(text: Callable[[], str]) -> None:
    """Say what an action does in a reported failure (formatted only then: cheap steps)."""
    if current_build_context().is_final:
        note(text())


def _product(radices: tuple[int, ...]) -> int:
    size = 1
    for radix in radices:
        size *= radix
    return size


def _digits(number: int, *radices: int) -> list[int]:
    """``number`` in a mixed radix, most significant first: smaller numbers shrink the
    first argument first."""
    out = []
    for radix in reversed(radices):
        number, digit = divmod(number, radix)
        out.append(digit)
    return out[::-1]


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
    #: How many times each action of :data:`ACTIONS` ran, all instances.
    actions_run: ClassVar[Counter[str]] = Counter()
    #: Examples that ended with an exception (a bug found, then shrinking), all instances.
    failed_examples: ClassVar[int] = 0

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
        #: User tasks in creation order (what ``tasks`` holds): the actions' task arguments.
        self.users: list[Task] = []
        #: The shadow user space: (pid, address) → the bytes last stored there.
        self.shadow: dict[tuple[int, int], bytes] = {}
        self._stores = 0
        #: Every folio seen so far, by ``struct page`` address (identity for the events).
        self.folios: dict[int, Folio] = {}
        #: The folios the invariants check: those seen, less those retired once freed.
        self.live: dict[int, Folio] = {}
        self.wb_ends: Counter[int] = Counter()
        #: Folios whose last write failed and which have not been written again since.
        self.write_failed: set[int] = set()
        self.read_errors = 0
        self.ends = Counter[str]()
        self._rw_write_page = 0
        #: What each sleeping task waits for: a folio bit, or its synchronous bio.
        self._waits: dict[int, tuple[Folio, int] | Bio] = {}
        self._freed: list[int] = []
        #: The last step changed nothing the invariants read: it only set fault-injection
        #: knobs, or only read pages that were mapped (no model code ran).
        self._unchanged = False
        #: The running step entered the model's fault handler.
        self._faulted = False

    # -- setup -------------------------------------------------------------------------

    @initialize(target=tasks, data=st.data(), page_cluster=st.integers(0, 3))
    def boot(self, data: st.DataObject, page_cluster: int) -> Task:
        """Boot on a drawn disk, swapon, and start the first task with its mapping."""
        disk = data.draw(disk_kinds(self.disk_kinds), label="disk")
        self.m = Machine(self.ex, disk=disk, nr_pages=NR_SWAP_PAGES, page_cluster=page_cluster)
        self.m.k.tracer = self._on_event
        task = self.m.spawn()
        self.base = self.m.mmap(task, NR_USER_PAGES)
        self.users.append(task)
        return task

    def teardown(self) -> None:
        """Count an example that ends with an error (``kmodel fuzz`` lets it shrink)."""
        # teardown runs in a finally: sys.exc_info() is what escapes the example. Only an
        # Exception is a failure: Hypothesis ends an example that outgrows its buffer with
        # StopTest, a BaseException.
        if isinstance(sys.exc_info()[1], Exception):
            type(self).failed_examples += 1

    @property
    def k(self) -> Kernel:
        """The kernel under test."""
        assert self.m is not None
        return self.m.k

    def _addr(self, index: int) -> int:
        return self.base + index * PAGE_SIZE

    # -- one step: an action drawn from the enabled ones ---------------------------------

    @rule(target=tasks, choice=st.integers(0, len(ACTIONS) * ARG_RANGE - 1), data=st.data())
    def step(self, choice: int, data: st.DataObject) -> MultipleResults[Task]:
        """Run one action of :data:`ACTIONS`, drawn as one number: ``choice % len(ACTIONS)``
        picks among the actions enabled now (modulo their number), ``choice //
        len(ACTIONS)`` holds its arguments (see :meth:`_args`); ``data`` serves the choices
        made while it runs (which I/O completes, what reclaim picks). A ``fork`` adds the
        child to ``tasks``."""
        arg, action = divmod(choice, len(ACTIONS))
        assert self.m is not None
        key = (bool(self.ex.pending), len(self.k.tasks) < MAX_TASKS,
               self.rw_page_bad_ops.get(self.m.bdev.driver) != ())
        enabled = _ENABLED.get(key)
        if enabled is None:
            enabled = _ENABLED[key] = tuple(
                a for a in ACTIONS if (key[0] or a not in ("drain", "complete_io"))
                and (key[1] or a != "fork") and (key[2] or a != "add_bad_range"))
        name = enabled[action % len(enabled)]
        type(self).actions_run[name] += 1
        self._arg = arg
        self._faulted = False
        child: Task | None = getattr(self, "_" + name)(data)
        self._unchanged = name in _KNOBS or (name in _READS and not self._faulted)
        return multiple() if child is None else multiple(child)

    def _args(self, *radices: int) -> list[int]:
        """The running action's arguments: ``arg`` modulo the product of ``radices``, as
        digits (so ``arg`` shrinking to 0 makes every argument its first value)."""
        return _digits(self._arg % _product(radices), *radices)

    @staticmethod
    def _draw(data: st.DataObject, label: str, *radices: int) -> list[int]:
        """Arguments chosen while an action runs: one number drawn from ``data``."""
        return _digits(data.draw(_index(_product(radices)), label=label), *radices)

    def _task(self, i: int) -> Task:
        return self.users[i]

    def _fault_attr(self) -> tuple[int, FaultAttr]:
        """A flag (the top bit of ``arg``) and the ``fault_attr`` the rest encodes."""
        flag, rest = divmod(self._arg, ARG_RANGE // 2)
        return flag, fault_attr_from(rest)

    # -- the disk: which I/O completes, and how ----------------------------------------

    def _choose(self, pending: list[PendingIO]) -> tuple[PendingIO, BlkStatus | None]:
        """The executor's chooser: drawn from the running rule's data (FIFO otherwise)."""
        if self._data is None:
            return pending[0], None
        i, status = self._draw(self._data, "complete (sleeping)", len(pending),
                               len(STATUS_CHOICES))
        return pending[i], STATUS_CHOICES[status]

    def _complete_io(self, data: st.DataObject) -> None:
        """The disk completes one pending I/O with a chosen status (None: its own)."""
        pending = self.ex.pending
        i, status = self._args(len(pending), len(STATUS_CHOICES))
        _note(lambda: f"complete_io({pending[i]!r}, status={STATUS_CHOICES[status]!r})")
        self._run(data, lambda: self.ex.complete(self.k, pending[i], STATUS_CHOICES[status]))

    def _drain(self, data: st.DataObject) -> None:
        """Every pending I/O completes, oldest first, with the device's status."""
        _note(lambda: "drain()")
        self.ex.complete_all(self.k)

    # -- user space --------------------------------------------------------------------

    def _load(self, data: st.DataObject) -> None:
        """A task reads a page (swap-in on a swap PTE): the DATA RULE."""
        t, index = self._args(len(self.users), NR_USER_PAGES)
        _note(lambda: f"load(task={self._task(t)!r}, index={index})")
        self._run(data, lambda: self._load_page(self._task(t), index))

    def _store(self, data: st.DataObject) -> None:
        """A task writes new data to a page (a write fault first if it is swapped out);
        each store writes different bytes, so a stale page cannot pass for a fresh one."""
        t, index = self._args(len(self.users), NR_USER_PAGES)
        self._stores += 1
        value = b"%d" % self._stores
        _note(lambda: f"store(task={self._task(t)!r}, index={index}, value={value!r})")
        self._run(data, lambda: self._store_page(self._task(t), index, value))

    def _load_sequentially(self, data: st.DataObject) -> None:
        """A task reads its pages in address order from ``start`` (readahead hits build up,
        so reads go asynchronous and the fault waits on the folio lock)."""
        t, start = self._args(len(self.users), NR_USER_PAGES)
        task = self._task(t)
        _note(lambda: f"load_sequentially(task={task!r}, start={start})")

        def sweep() -> None:
            for index in range(start, NR_USER_PAGES):
                self._load_page(task, index)

        self._run(data, sweep)

    def _fork(self, data: st.DataObject) -> Task:
        """``fork()``: the child shares every page and swap slot of the parent."""
        assert self.m is not None
        (p,) = self._args(len(self.users))
        parent = self._task(p)
        _note(lambda: f"fork(parent={parent!r})")
        child = self.m.fork(parent)
        self.users.append(child)
        for (pid, addr), value in list(self.shadow.items()):
            if pid == parent.pid:
                self.shadow[(child.pid, addr)] = value
        return child

    def _fault_while_sleeping(self, data: st.DataObject) -> None:
        """``sleeper`` loads page i; while it sleeps (on the folio lock or its bio),
        ``other`` loads page j — the same swap entry when j == i after a fork — or reclaim
        runs (a fault racing a writeback). Runs after the load if it never slept."""
        n = len(self.users)
        s, o, i, j, then_reclaim = self._args(n, n, NR_USER_PAGES, NR_USER_PAGES, 2)
        sleeper, other = self._task(s), self._task(o)
        _note(lambda: f"fault_while_sleeping(sleeper={sleeper!r}, other={other!r}, i={i}, "
              f"j={j}, then_reclaim={bool(then_reclaim)})")

        def meanwhile() -> None:
            if then_reclaim or other is sleeper:
                self._reclaim_some(data)
            else:
                self._load_page(other, j)

        self._nested = meanwhile
        self._run(data, lambda: self._load_page(sleeper, i))
        if self._nested is not None:
            self._nested = None
            self._run(data, meanwhile)

    # -- reclaim -----------------------------------------------------------------------

    def _reclaim(self, data: st.DataObject) -> None:
        """kswapd shrinks a span of the mapped and swap-cache folios (pageout on dirty)."""
        self._run(data, lambda: self._reclaim_some(data, self._arg))

    def _swap_out(self, data: st.DataObject) -> None:
        """Reclaim to the end: pageout, the disk finishes, a second pass frees the pages."""
        _note(lambda: "swap_out: pageout, the disk completes everything, reclaim again")

        def both_passes() -> None:
            picked = self._reclaim_some(data, self._arg)
            self.ex.complete_all(self.k)
            assert self.m is not None
            self.m.reclaim(picked)

        self._run(data, both_passes)

    def _reclaim_some(self, data: st.DataObject, arg: int | None = None) -> list[Folio]:
        """Reclaim the candidates (mapped folios in address order, then unmapped swap-cache
        ones), as kswapd scans a span of its LRU: ``first`` and ``count`` (0: to the end)
        from the step's ``arg``, or drawn from ``data`` when reclaim runs in the middle of
        another action. The minimum, 0, reclaims everything."""
        assert self.m is not None
        candidates = self.m.mapped_folios() + self.m.swap_cache_folios()
        n = len(candidates)
        if not n:
            return []
        if arg is None:
            first, count = self._draw(data, "reclaim (first, count; 0: all)", n, n)
        else:
            first, count = _digits(arg % (n * n), n, n)
        folios = candidates[first:first + count] if count else candidates[first:]
        _note(lambda: f"reclaim {len(folios)} of {n} candidates from #{first}")
        self.m.reclaim(folios)
        return folios

    # -- fault injection ---------------------------------------------------------------

    def _arm_fail_make_request(self, data: st.DataObject) -> None:
        """Set ``/sys/kernel/debug/fail_make_request/*`` and the device's make-it-fail."""
        assert self.m is not None
        make_it_fail, attr = self._fault_attr()
        _note(lambda: f"arm_fail_make_request({attr!r}, make_it_fail={bool(make_it_fail)})")
        attr.dname = "fail_make_request"
        self.k.fail_make_request = attr
        self.m.bdev.make_it_fail = bool(make_it_fail)

    def _arm_fail_page_alloc(self, data: st.DataObject) -> None:
        """Set ``/sys/kernel/debug/fail_page_alloc/*``: with the filters relaxed, swap-in
        allocations may fail (OOM); with the kernel's defaults they never reach should_fail."""
        relax, attr = self._fault_attr()
        _note(lambda: f"arm_fail_page_alloc({attr!r}, relax={bool(relax)})")
        attr.dname = "fail_page_alloc"
        fpa = FailPageAlloc(attr=attr)
        self.k.fail_page_alloc = fpa.relax() if relax else fpa

    def _arm_fail_nth(self, data: st.DataObject) -> None:
        """``echo N > /proc/<pid>/fail-nth``: the task's Nth should_fail call fails."""
        t, nth = self._args(len(self.users), 3)
        _note(lambda: f"arm_fail_nth(task={self._task(t)!r}, nth={nth + 1})")
        self._task(t).fail_nth = nth + 1

    def _add_bad_range(self, data: st.DataObject) -> None:
        """Make sectors fail at submission (dm-flakey) or completion (blkdebug, scsi_debug)."""
        assert self.m is not None
        ops = self.rw_page_bad_ops.get(self.m.bdev.driver)
        at_submit, rest = divmod(self._arg, ARG_RANGE // 2)
        bad = bad_range_from(rest, NR_SWAP_PAGES, _ANY_OP if ops is None else ops)
        _note(lambda: f"add_bad_range({bad!r}, at_submit={bool(at_submit)})")
        where = self.m.bdev.submit_errors if at_submit else self.m.bdev.completion_errors
        where.append(bad)

    def _clear_faults(self, data: st.DataObject) -> None:
        """Repair the disk and disarm every injector."""
        assert self.m is not None
        _note(lambda: "clear_faults()")
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
        self._data, saved = data, self._data
        try:
            action()
        finally:
            self._data = saved

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
        for folio in self.live.values():
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
        name = ev.name
        if name not in _WATCHED:  # half the events: entries, returns, block tracepoints
            return
        if name in BRANCH_EVENTS:
            type(self).branches.update(branches_of(ev))
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
        live, seen = self.live, self.folios
        folios: list[Folio] = list(self.k.swap_cache.values())
        for task in self.k.tasks.values():
            if task.mm is not None:
                folios += [pte for pte in task.mm.ptes.values() if isinstance(pte, Folio)]
        folios += [bio.page for bio in self.ex.live_bios.values() if bio.page is not None]
        for folio in folios:
            addr = folio.addr
            if addr not in live:
                live[addr] = seen[addr] = folio

    # -- user-space actions and the DATA RULE ------------------------------------------

    def _fault(self, task: Task, addr: int, *, write: bool) -> tuple[int, Folio | None]:
        """Fault until mapped, as user space retries the access after a 0 return.

        VM_FAULT_OOM is accepted only while an allocation failure may be injected.
        """
        assert self.m is not None and task.mm is not None
        pte = task.mm.ptes.get(addr)
        if isinstance(pte, Folio) and (not write or addr in task.mm.writable):
            # The MMU maps the access: x86 raises #PF only for a PTE not present, or
            # read-only on a write, so do_user_addr_fault (arch/x86/mm/fault.c:1203) is not
            # entered; the model's handle_mm_fault would only return 0 (handle_pte_fault on
            # a present PTE, mm/memory.c:5040-5071, changes nothing the model keeps).
            return 0, pte
        self._faulted = True
        may_oom = not fail_page_alloc_filters(self.k, GFP_HIGHUSER_MOVABLE, 0) and bool(
            task.fail_nth or self.k.fail_page_alloc.attr.probability)
        for _ in range(8):
            ret = int(self.m.fault(task, addr, write=write))
            if ret & _OOM:
                if not may_oom:
                    raise InvariantViolation(f"VM_FAULT_OOM at {addr:#x} with no injection")
                return ret, None
            if ret & _SIGNALLED:
                return ret, None
            pte = task.mm.ptes.get(addr)
            if isinstance(pte, Folio):
                return ret, pte
        raise InvariantViolation(f"{addr:#x} of {task!r} still not mapped after 8 faults")

    def _load_page(self, task: Task, index: int) -> None:
        addr = self._addr(index)
        assert task.mm is not None
        pte = task.mm.ptes.get(addr)
        ret, folio = self._fault(task, addr, write=False)
        expected = self.shadow.get((task.pid, addr), b"")
        if folio is None:
            if ret & _OOM:
                return
            if not ret & _SIGBUS:
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

    def _store_page(self, task: Task, index: int, value: bytes) -> None:
        addr = self._addr(index)
        assert task.mm is not None
        ret, folio = self._fault(task, addr, write=True)
        if folio is None:
            if ret & _OOM:
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
        if self._unchanged:  # nothing the checks read has changed since they passed
            self._unchanged = False
            return
        self._register_folios()
        self.nobody_sleeps_between_steps()
        self.bios_are_owned_by_pending_io()
        self.writeback_ends_once_per_start()
        self.failed_write_keeps_page_dirty()
        self.unlocked_swap_cache_folio_is_uptodate_or_failed()
        self.counters_agree_with_io()
        self.swap_map_counts_references()
        # Incremental bookkeeping: a folio freed and found consistent is not checked again
        # (the checks cost the live folios, not every folio ever seen); one that comes
        # back (mapped, cached or under I/O) is registered and checked again.
        for addr in self._freed:
            del self.live[addr]
        self._freed.clear()

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
        for folio in self.live.values():
            flags = int(folio.flags)
            expected = 0 if folio.freed else folio.mapcount + bool(flags & _SWAPCACHE)
            if folio.refcount != expected or folio.mapcount != len(folio.rmap):
                raise InvariantViolation(
                    f"folio references: refcount {folio.refcount}, expected {expected} "
                    f"(mapcount {folio.mapcount}, {len(folio.rmap)} PTEs): {folio!r}")
            if folio.freed:
                self._freed.append(folio.addr)
                continue
            if folio.waiters or flags & _WAITERS:
                raise InvariantViolation(
                    f"waiters left on {folio!r}: {folio.waiters}")

    def bios_are_owned_by_pending_io(self) -> None:
        """Each live bio belongs to a pending request, holds one reference, never ended;
        its page is locked (read) or under writeback (write) at the slot's sector."""
        live_bios = self.ex.live_bios
        if not live_bios and not self.ex.pending:
            return
        in_flight: dict[int, Bio] = {}
        for io in self.ex.pending:
            if isinstance(io, Request):
                for bio in io.bios:
                    in_flight[bio.id] = bio
                    if bio.bi_orig is not None:  # a device-mapper clone's original
                        in_flight[bio.bi_orig.id] = bio.bi_orig
        leaked = live_bios.keys() - in_flight.keys()
        if leaked:
            raise InvariantViolation(
                "bio leaked (no bio_put): "
                   + ", ".join(repr(live_bios[i]) for i in sorted(leaked)))
        for bio in in_flight.values():
            if bio.freed or bio.bi_cnt != 1 or bio.ended:
                raise InvariantViolation(
                    f"pending {bio!r}: expected one reference, not ended (ended={bio.ended})")
            page = bio.page
            assert page is not None
            if page.freed:
                raise InvariantViolation(
                    f"pending {bio!r} on a freed page {page!r}")
            flags = int(page.flags)
            if bio.op == REQ_OP_READ:
                if flags & (_LOCKED | _UPTODATE) != _LOCKED:
                    raise InvariantViolation(
                        f"read in flight on a folio not locked or already uptodate: {page!r}")
            else:
                if not flags & _WRITEBACK:
                    raise InvariantViolation(
                        f"write in flight on a folio not under writeback: {page!r}")
            if flags & _SWAPCACHE:
                if bio.bi_sector != page.swap.offset * SECTORS_PER_PAGE:
                    raise InvariantViolation(
                        f"{bio!r} for {page.swap} should be at sector "
                        f"{page.swap.offset * SECTORS_PER_PAGE}")

    def writeback_ends_once_per_start(self) -> None:
        """``writeback_starts`` == ends (+1 while PG_writeback), and only with a write pending."""
        writing = {bio.page.addr for io in self.ex.pending if isinstance(io, Request)
                   for bio in io.bios if bio.page is not None and bio.op == REQ_OP_WRITE}
        wb_ends = self.wb_ends
        for addr, folio in self.live.items():
            under = bool(int(folio.flags) & _WRITEBACK)
            if folio.writeback_starts != wb_ends[addr] + under:
                raise InvariantViolation(
                    f"writeback started {folio.writeback_starts}x, ended {wb_ends[addr]}x,"
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
            if not int(folio.flags) & _DIRTY:
                raise InvariantViolation(
                    f"page not redirtied after a failed write: {folio!r}")

    def unlocked_swap_cache_folio_is_uptodate_or_failed(self) -> None:
        """A read sets PG_uptodate (or PG_error) before it unlocks (ER-2/ER-1 before ER-3)."""
        for folio in self.k.swap_cache.values():
            flags = int(folio.flags)
            if not flags & _LOCKED:
                if not flags & (_UPTODATE | _ERROR):
                    raise InvariantViolation(
                        f"unlocked swap cache folio neither uptodate nor failed: {folio!r}")
            if folio.freed:
                raise InvariantViolation(
                    f"freed folio still in the swap cache: {folio!r}")

    def counters_agree_with_io(self) -> None:
        """PSWPIN/PSWPOUT and PGPGIN/PGPGOUT agree with the bios and rw_page calls done."""
        ev = self.k.vm_events
        reads = writes = 0
        for io in self.ex.pending:
            if isinstance(io, Request):
                reads += sum(1 for b in io.bios if b.op == REQ_OP_READ)
                writes += sum(1 for b in io.bios if b.op == REQ_OP_WRITE)
        read_bios = ev[_PGPGIN] // SECTORS_PER_PAGE
        write_bios = ev[_PGPGOUT] // SECTORS_PER_PAGE
        if ev[_PSWPIN] != read_bios + self.ends["rw_page_read_ok"]:
            raise InvariantViolation(
                f"PSWPIN {ev[_PSWPIN]} != read bios {read_bios} + rw_page reads "
                f"{self.ends['rw_page_read_ok']}")
        if ev[_PSWPOUT] != write_bios + self.ends["rw_page_write_ok"]:
            raise InvariantViolation(
                f"PSWPOUT {ev[_PSWPOUT]} != write bios {write_bios} + rw_page writes "
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
        si = self.m.si
        nr_slots = si.max
        refs = [0] * nr_slots
        for task in self.k.tasks.values():
            if task.mm is not None:
                for pte in task.mm.ptes.values():
                    if type(pte) is int:  # a swap PTE (a present one holds its Folio)
                        offset = _SLOT_OF.get(pte)
                        if offset is None:
                            offset = _SLOT_OF[pte] = SwapEntry.from_pte(pte).offset
                        if not 0 < offset < nr_slots:
                            raise InvariantViolation(f"swap PTE {pte:#x} outside the swap map")
                        refs[offset] += 1
        # The expected swap_map, built in place: the counts, SWAP_HAS_CACHE on cached slots.
        expected = refs.copy()
        inside = True
        si_type = si.type
        for type_, offset in self.k.swap_cache:
            if type_ == si_type:
                if offset >= nr_slots:
                    inside = False
                elif offset > 0:  # slot 0 is the header: its entry is not compared
                    expected[offset] |= SWAP_HAS_CACHE
        if inside and si.swap_map[1:nr_slots] == expected[1:]:
            return
        cached = {offset for type_, offset in self.k.swap_cache if type_ == si_type}
        counts = [count & ~SWAP_HAS_CACHE for count in si.swap_map[:si.max]]
        has_cache = {o for o in range(1, si.max) if si.swap_map[o] & SWAP_HAS_CACHE}
        for offset in range(1, si.max):  # say which slot
            if counts[offset] != refs[offset]:
                raise InvariantViolation(
                    f"slot {offset}: swap_map count {counts[offset]}, "
                    f"{refs[offset]} swap PTEs")
            if (offset in has_cache) != (offset in cached):
                raise InvariantViolation(
                    f"slot {offset}: SWAP_HAS_CACHE={offset in has_cache}, "
                    f"in swap cache={offset in cached}")
        raise InvariantViolation(f"swap cache holds slots outside the swap map: {cached}")


# The tracer declares the events it reads: the kernel builds no ModelEvent for the others.
# Set here, not in the class body: Hypothesis seeds a derandomized run (the ci and dev
# profiles) from the machine class' source, so editing it would change every example.
SwapIOMachine._on_event.trace_events = _WATCHED  # type: ignore[attr-defined]


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
