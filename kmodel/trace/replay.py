"""Replay what a task did in a trace on the model: the model decides every outcome.

No kernel counterpart. A fault (``do_swap_page`` … ``do_swap_page_ret``) or a swap-out
(``swap_writepage`` … ``swap_writepage_ret``) of a real trace is run again on a small model
:class:`~kmodel.kernel.Kernel`, with the model's own ``do_swap_page``, ``swapin_readahead``,
``swap_cluster_readahead``, ``read_swap_cache_async``, ``swap_readpage``, ``swap_writepage``,
``__swap_writepage``, ``swap_page_sector`` and ``end_swap_bio_read``. Only what the kernel could
not predict is taken from the trace (*inputs*): the faulting PTE and flags, which slots were
free or already in the swap cache, whether the device has ``rw_page`` and what it returned,
whether frontswap held a page, the ``bi_status`` of each completion and *when* it came
relative to the task's events. Everything the model then emits in the task's context — which
functions, for which entries, with which flags, which bios at which sectors in which order,
what each call returns — must be what the trace shows, event for event.

Some inputs are not in a trace at all (the page-cluster when the header does not say, the
readahead state after a cut, the VMA readahead state, which PTEs around a fault were present
pages): those are tried over the values the model can produce, and the trace conforms when
one of them makes the model produce it. The cluster readahead state (G2) is the model's own,
carried from one fault's replay to the next through an untrimmed trace (:attr:`Replayer.ra`).
A completion printed between two of the task's events may have happened anywhere between them (and,
with equal timestamps on two CPUs, on either side of them): the earliest and the latest such
point are both tried. Its event is its entry; the page is unlocked at its end (mm/page_io.c:71),
before the next event of its context (:attr:`Completion.until`), so the latest point is the
last of the task's events printed before that one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from kmodel.block.bdev import BadRange, BlockDevice
from kmodel.block.bio import bio_add_page, bio_alloc
from kmodel.block.blk_core import Request, blk_flush_plug
from kmodel.errors import KernelBug
from kmodel.executor.base import Executor, PendingIO
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE
from kmodel.include.linux.mm import FaultFlag, VMFault, VmFault
from kmodel.include.linux.mm_types import (
    PAGE_SHIFT,
    PAGE_SIZE,
    STRUCT_PAGE_SIZE,
    SWP_OFFSET_MASK,
    VMEMMAP_START,
    Folio,
    MMStruct,
    SwapEntry,
    VMArea,
    pte_swp_exclusive,
)
from kmodel.include.linux.page_flags import PageFlags
from kmodel.include.linux.sched import SIGKILL, Task, TaskState
from kmodel.include.linux.swap import SwapExtent, SwapInfo, SwpFlags
from kmodel.include.linux.writeback import WbSyncMode, WritebackControl
from kmodel.kernel import Kernel, ModelEvent
from kmodel.kernel.signal import PidType, send_signal_locked
from kmodel.mm import memory, page_io, swap_state, swapfile
from kmodel.mm.filemap import folio_unlock
from kmodel.trace.faultinject import fail_injected_reads, injected_reads
from kmodel.trace.oracle import blk_status_of
from kmodel.trace.report import (
    MODEL_RAISED,
    MODEL_RUNAWAY,
    CallBudget,
    ModelRunaway,
    StepBudget,
    model_raised,
)

__all__ = ["FAULT_EVENTS", "FAULT_SLOT_EVENTS", "SLOT_EVENTS", "WRITE_EVENTS", "Completion",
           "Replayer", "Step", "Verdict"]

#: The events of a fault the model emits in the faulting task's context.
FAULT_EVENTS = frozenset((
    "do_swap_page", "do_swap_page_ret", "swapin_readahead", "swapin_readahead_ret",
    "swap_cluster_readahead", "swap_cluster_readahead_ret", "__read_swap_cache_async",
    "__read_swap_cache_async_ret", "swap_readpage", "swap_readpage_ret", "bdev_read_page",
    "bdev_read_page_ret", "block_bio_queue",
))
#: The slot operations of a fault (G2): swapcache_prepare's ``__swap_duplicate`` (in
#: __read_swap_cache_async, and in do_swap_page for SWP_SYNCHRONOUS_IO), swap_free's,
#: put_swap_folio's (folio_free_swap) and swapcache_clear's ``__swap_entry_free_locked``.
#: Compared only in a trace with the slot probes, each slot's count before each operation
#: seeded from the checker's slot ledger (kmodel/trace/slots.py): :meth:`Replayer.fault`.
SLOT_EVENTS = frozenset(("__swap_duplicate", "__swap_duplicate_ret", "__swap_entry_free_locked",
                         "__swap_entry_free_locked_ret"))
FAULT_SLOT_EVENTS = FAULT_EVENTS | SLOT_EVENTS
#: A slot operation's call (its kprobe) and the slot it names.
_SLOT_CALLS = ("__swap_duplicate", "__swap_entry_free_locked")
#: Callers of the slot functions inlined in Debian's 6.1 build: a return lands in theirs.
_SLOT_INLINED = frozenset(("swapcache_prepare",))
#: The events of a swap-out the model emits in the writing task's context.
WRITE_EVENTS = frozenset((
    "swap_writepage", "swap_writepage_ret", "__swap_writepage", "__swap_writepage_ret",
    "bdev_write_page", "bdev_write_page_ret", "block_bio_queue",
))
#: Page flags a probe shows that the swap path itself sets or clears.
CHECKED_FLAGS = int(PageFlags.PG_locked | PageFlags.PG_uptodate | PageFlags.PG_error
                    | PageFlags.PG_dirty | PageFlags.PG_writeback | PageFlags.PG_swapcache)
_SWAPBACKED = int(PageFlags.PG_swapbacked)
_BUSY = int(PageFlags.PG_locked | PageFlags.PG_writeback | PageFlags.PG_dirty)
_LOCKED = int(PageFlags.PG_locked)
#: The checker's knowledge of a trace page: (model flags, a read of it in flight) or None.
PageLookup = Callable[[int], "tuple[int, bool] | None"]
_NO_SLOTS = SWP_OFFSET_MASK + 1
_RA_BASE = 1 << 20  # an offset far from 0 for probing swapin_nr_pages' states
MEMO_MAX = 1 << 12
UNTIL_OPEN = 1 << 62  # Completion.until before its context's next event is seen
_TRACE_PFNS = 1 << 40
_PG_READAHEAD = int(PageFlags.PG_readahead)
_PMD_SHIFT = 21  # x86_64: arch/x86/include/asm/pgtable_64_types.h
#: A readahead state (G2): ``swapin_readahead_hits``, swapin_nr_pages' ``prev_offset``
#: (None: not known) and ``last_readahead_pages`` (mm/swap_state.c:62, 573-575).
RaState = tuple[int, "int | None", int]
RA_STATES_MAX = 32  # more states the kernel may be in than this: not known (a cut)
#: How a fault changed the readahead state: ("set", states relative to its offset: a window
#: was computed) or ("add", the hits it counted); None: unchanged.
RaChange = tuple[str, frozenset[tuple[int, "int | None", int]] | frozenset[int]] | None
# ("wins", the windows of the carried states the trace conformed to): before _ra_plan's
# states after them are looked up (Replayer.fault).


class Step:
    """One trace event of the replayed task: what the checker hands over."""

    __slots__ = ("args", "cpu", "lineno", "name", "ts")

    def __init__(self, lineno: int, ts: int, cpu: int, name: str, args: Mapping[str, str]):
        self.lineno = lineno
        self.ts = ts
        self.cpu = cpu
        self.name = name
        self.args = args

    def int(self, key: str) -> int:
        return _int(self.args[key])


class Completion:
    """An ``end_swap_bio_read`` seen while the fault ran: its page, status and place."""

    __slots__ = ("cpu", "lineno", "page", "pflags", "size", "status", "ts", "until", "waiter")

    def __init__(self, lineno: int, ts: int, cpu: int, page: int, status: int,
                 pflags: int, waiter: bool = False, size: int = -1) -> None:
        self.waiter = waiter  # bi_private held a task
        #: bi_size as the probe printed it: what is left after the request's completion
        #: advanced the bio (block/blk-mq.c:776, bio_advance in req_bio_endio); -1 unknown.
        self.size = size
        #: The line of the next event of the completion's context (none yet: a line past
        #: every line). The probe fires at the entry of end_swap_bio_read, which unlocks
        #: the page only at its end (mm/page_io.c:71): somewhere before that next event.
        self.until = UNTIL_OPEN
        self.lineno = lineno
        self.ts = ts
        self.cpu = cpu
        self.page = page
        self.status = status
        self.pflags = pflags  # the page's flags as the completion began


class Verdict:
    """The outcome of a replay: conformant, or where and how the trace left the model."""

    __slots__ = ("allowed", "end_io", "flags", "index", "kind", "message", "ra", "ra_carried",
                 "ra_lines", "raised", "tie")

    def __init__(self, index: int = -1, message: str = "", allowed: Sequence[str] = (),
                 flags: dict[int, int] | None = None, tie: bool = False,
                 raised: bool = False, kind: str = MODEL_RAISED) -> None:
        self.index = index  # the step the trace diverged at; -1: conformant
        self.message = message
        self.allowed = tuple(allowed)
        #: The model's flags of each trace page afterwards (conformant replays only).
        self.flags = flags or {}
        self.tie = tie  # a completion whose order against the task's events was a tie
        self.raised = raised  # the model's code raised at step ``index`` (model_raised)
        self.kind = kind  # with ``raised``: MODEL_RAISED, or MODEL_RUNAWAY (no end in budget)
        #: The ``bi_end_io`` of each trace page's bio the model submitted and left in flight
        #: (a swap-out's write): its completion is run through it (Oracle.complete_write).
        self.end_io: dict[int, object] = {}
        #: The model kernel's readahead state after the replay (conformant replays only).
        self.ra: tuple[int, int, int] | None = None
        #: The readahead window was the model's from the state carried through the trace.
        self.ra_carried = False
        #: Trace pages whose PG_readahead the model decided in this fault, and the line from
        #: which that holds: each page it read (its swap_readpage), the page its lookup found.
        self.ra_lines: dict[int, int] = {}

    @property
    def ok(self) -> bool:
        return self.index < 0


def _model_stopped(error: BaseException, index: int, where: str, instead: str, *,
                   tie: bool = False, prefix_raised: bool = True) -> Verdict:
    """The verdict at step ``index`` of a model run (``where``: what it ran, the message's
    prefix) that ran away (``instead``: what was allowed) or raised; what is not the
    model's (the replay's own code: a checker bug, or bad input) is raised again."""
    if isinstance(error, ModelRunaway):
        return Verdict(index, f"{where}{error.message()}", (instead,), tie=tie, raised=True,
                       kind=MODEL_RUNAWAY)
    raised = model_raised(error) if isinstance(error, Exception) else None
    if raised is None:
        raise error
    return Verdict(index, f"{where if prefix_raised else ''}{raised.message()}",
                   ("the model's code running to its end",), tie=tie, raised=True)


class _Diverged(Exception):
    def __init__(self, index: int, message: str, allowed: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message
        self.allowed = allowed


class _NoSector(Exception):
    """The model's ``swap_page_sector`` returned no sector (the message says what)."""


class _Script(Executor):
    """The executor of a replay: I/O completes when, and how, the trace says it did."""

    def __init__(self, replay: _Run) -> None:
        super().__init__()
        self.run = replay
        self.queue: list[PendingIO] = []
        self.ticks = 0

    def submit(self, k: Kernel, io: PendingIO) -> None:
        self.queue.append(io)

    def schedule(self, k: Kernel, task: Task) -> None:
        while task.state != TaskState.TASK_RUNNING:
            if not self.run.complete_next() and not self.run.release():
                raise _Diverged(self.run.matched, "the model waits here for an I/O the trace "
                                "does not complete before this event",
                                "the completion of the I/O the task waits for")

    def sleep_tick(self, k: Kernel, task: Task) -> None:
        self.ticks += 1
        if self.ticks > 8:
            raise _Diverged(self.run.matched, "the model retries forever here",
                            "progress")
        k.jiffies += 1
        arriving = self.run.arriving
        if arriving is not None:  # the other task's page, added meanwhile (_Run._slot)
            entry, page, sleeps = arriving
            self.run.arriving = (entry, page, sleeps - 1) if sleeps > 1 else None
            if sleeps == 1:
                self.run.insert(entry, page)

    @property
    def pending(self) -> list[PendingIO]:
        return list(self.queue)


class _SwapMap(dict[int, int]):
    """``swap_map`` of a replay: only the slots a trace shows; the others are free (0)."""

    def __missing__(self, offset: int) -> int:
        return 0


def frees_cache(ret: Step) -> bool:
    """Whether the ``__swap_entry_free_locked`` return ``ret`` may be put_swap_folio's (the
    drop of a slot's SWAP_HAS_CACHE): its caller says so, or is hidden by another tracer's
    kretprobe (``[unknown/kretprobe'd]``)."""
    return str(ret.args.get("caller", "")).startswith(("put_swap_folio", "[unknown"))


def tie(first_ts: int, first_cpu: int, then_ts: int, then_cpu: int) -> bool:
    """Whether two events printed in this order may have happened the other way round.

    ftrace merges its per-CPU buffers by timestamp, and equal timestamps lowest CPU first:
    only then is the print order not the real one.
    """
    return first_ts == then_ts and first_cpu < then_cpu


def place(steps: Sequence[Step], c: Completion) -> tuple[int, int]:
    """How many of the task's steps certainly, and possibly, happened before ``c``'s unlock.

    The unlock comes after the completion's entry (its event) and before the next event
    of its context (``c.until``): a step printed in between may have run on either side.
    """
    early = late = 0
    lineno, until, ts, cpu = c.lineno, c.until, c.ts, c.cpu
    for s in steps:  # hot (every completion of every fault): `tie` inlined
        if s.lineno < lineno:
            late += 1
            if not (s.ts == ts and s.cpu < cpu):  # not tie(s, c)
                early += 1
        elif s.lineno < until or (ts == s.ts and cpu < s.cpu):  # or tie(c, s)
            late += 1
    return early, late


def _folio(addr: int, flags: int, entry: int) -> Folio:
    """A model folio standing for the trace's page ``addr`` (bound to it by the caller).

    Its pfn is the trace page's, moved above every pfn the model allocates, so that no
    folio the model creates during the replay can have its address.
    """
    return Folio(flags=flags, private=entry,
                 pfn=((addr - VMEMMAP_START) // STRUCT_PAGE_SIZE) | _TRACE_PFNS)


class _Run:
    """One replay: a model kernel, the trace's steps, and the match between them."""

    def __init__(self, replayer: Replayer, steps: Sequence[Step], names: frozenset[str],
                 completions: Sequence[Completion], late: bool,
                 lookup: PageLookup | None = None,
                 seeds: Mapping[int, int] | None = None) -> None:
        self.steps = steps
        #: G2: each slot's count before a step (by line), from the slot ledger; None: the
        #: fault's slot operations are not compared (names has no SLOT_EVENTS).
        self.seeds = seeds
        self.lookup = lookup
        self.task: Task | None = None
        self.applying: Completion | None = None  # the completion being run
        self.names = names
        self.late = late
        self.matched = 0
        self.pages: dict[int, int] = {}  # model folio addr -> trace page addr
        self.traced: dict[int, int] = {}  # trace page addr -> model folio addr
        self.folios: dict[int, Folio] = {}  # trace page addr -> model folio
        self.executor = _Script(self)
        self.k = k = Kernel(executor=self.executor, page_cluster=replayer.page_cluster)
        k.tracer = self._on_event
        self.dev = replayer.dev
        # Completions: the earliest and latest number of task steps before each.
        self.completions: list[tuple[int, int, Completion]] = []
        self.tie = False
        #: Completions of an earlier life of a page the task reads (by the step index of
        #: that read): a struct page freed and reused while the task ran.
        self.expire: dict[int, list[Completion]] = {}
        reads: dict[int, list[int]] | None = None
        for c in completions:
            early, late_n = place(steps, c)
            if early != late_n:
                self.tie = True
            self.completions.append((early, late_n, c))
            if reads is None:
                reads = {}
                for j, s in enumerate(steps):
                    if s.name == "swap_readpage":
                        reads.setdefault(s.int("page"), []).append(j)
            for j in reads.get(c.page, ()):
                s = steps[j]
                if s.lineno > c.lineno and not (s.ts == c.ts and c.cpu < s.cpu):
                    # Printed before the task's read of its page, and not a tie with it:
                    # it ended a read of the page's earlier life, never this one's bio.
                    self.expire.setdefault(j, []).append(c)
                    break
        self.done: set[int] = set()
        #: The page the fault found in the swap cache locked by another task (an input,
        #: Replayer._hold), unlocked by that task when the replayed task sleeps on it.
        self.held: Folio | None = None
        #: A page another task adds to the swap cache while the replayed task sleeps in
        #: __read_swap_cache_async's -EEXIST retry (_slot): (entry, trace page, the sleeps
        #: until it is there).
        self.arriving: tuple[SwapEntry, int, int] | None = None

    # -- matching the model's events with the trace's ------------------------------------

    def _on_event(self, ev: ModelEvent) -> None:
        if ev.name == "end_swap_bio_read" and self.applying is not None:
            c = self.applying
            if bool(ev.arg("waiter")) != c.waiter:
                raise _Diverged(self.matched, f"the model's end_swap_bio_read (line {c.lineno})"
                                f" has {'a' if ev.arg('waiter') else 'no'} waiter in bi_private"
                                f", the trace's waiter is {'set' if c.waiter else '0x0'}",
                                f"end_swap_bio_read: waiter={'<task>' if ev.arg('waiter') else 0}")
            if c.size >= 0 and int(ev.arg("size")) != c.size:  # the model's bio_advance
                raise _Diverged(self.matched, f"the model's end_swap_bio_read (line {c.lineno})"
                                f" sees bi_size={ev.arg('size')} left after the request's "
                                f"completion, the trace's size={c.size}",
                                f"end_swap_bio_read: size={ev.arg('size')}")
        if ev.softirq or ev.name not in self.names:
            return
        if ev.name == "block_bio_queue" and self.names is not WRITE_EVENTS and "W" in str(
                ev.arg("rwbs")):
            return  # writes of reclaim inside a fault are checked as swap-outs
        if self.late:
            self._complete_due(before=self.matched)
        i = self.matched
        if i >= len(self.steps):
            raise _Diverged(i, f"the model goes on with {_show(ev)}; the trace shows no more",
                            _show(ev))
        if ev.name == "__read_swap_cache_async" and self.steps[i].name == ev.name:
            self._slot(i, SwapEntry.from_val(int(ev.arg("entry"))))
        if self.seeds is not None and ev.name in SLOT_EVENTS:
            self._slot_op(i, ev)
        self._compare(i, ev, self.steps[i])
        self.matched = i + 1
        if self.expire:
            for c in self.expire.get(i, ()):
                self.done.add(id(c))
        if not self.late:
            self._complete_due(after=self.matched)

    def _page(self, model_addr: int, trace_addr: int) -> bool:
        """Whether a model folio is the trace's page (binding new folios on first sight)."""
        if not model_addr or not trace_addr:
            return model_addr == trace_addr
        bound = self.pages.get(model_addr)
        if bound is None:  # a new model folio: the trace's page may be one freed and reused
            old = self.traced.get(trace_addr)
            if old is not None:
                del self.pages[old]
            self.pages[model_addr] = trace_addr
            self.traced[trace_addr] = model_addr
            return True
        return bound == trace_addr

    def _compare(self, i: int, ev: ModelEvent, step: Step) -> None:
        if ev.name != step.name:
            raise _Diverged(i, f"the model emits {_show(ev)} here, the trace {step.name}",
                            _show(ev))
        for key, value in ev.args:
            if key not in _COMPARED.get(ev.name, ()):
                continue
            seen = step.args.get(key)
            if seen is None:
                continue
            if not isinstance(value, str if key == "rwbs" else int):
                # The model's output is no value a probe prints (a `return None`, ...).
                raise _Diverged(i, f"the model's {ev.name} has {key}={value!r}, which no probe "
                                f"prints; the trace's {key}={seen}", f"{ev.name}: {key}=<int>")
            if key == "rwbs":
                same = ("W" in str(value)) == ("W" in seen)
            elif key == "page":
                same = self._page(int(value), int(seen, 0))
            elif key == "pflags":
                same = int(value) & CHECKED_FLAGS == int(seen, 0) & CHECKED_FLAGS
            elif key == "plug":
                same = bool(value) == bool(int(seen, 0))
            else:
                same = int(value) == int(seen, 0)
            if not same:
                raise _Diverged(i, f"the model's {ev.name} has {key}={_value(key, value)}, the "
                                f"trace's {key}={seen}", _show(ev))

    def _slot_op(self, i: int, ev: ModelEvent) -> None:
        """A slot operation of the model (G2): its caller must be the trace's (the kretprobe's
        return site tells swap_free from put_swap_folio and swapcache_clear); before its call,
        the slot's count is the ledger's (other tasks' operations since are inputs)."""
        step = self.steps[i]
        if step.name != ev.name:
            return  # _compare reports it
        if ev.name in _SLOT_CALLS:
            seed = self.seeds.get(step.lineno) if self.seeds is not None else None
            if seed is not None:
                if ev.name == "__swap_duplicate":
                    slot = SwapEntry.from_val(int(ev.arg("entry")))
                    type_, offset = slot.type, slot.offset
                else:
                    type_, offset = int(ev.arg("type")), int(ev.arg("offset"))
                if len(self.k.swap_info) > type_:
                    self.k.swap_info[type_].swap_map[offset] = seed
            return
        caller = next((f for f in reversed(ev.chain) if f not in _SLOT_INLINED), "")
        seen = step.args.get("caller")
        # "[unknown/kretprobe'd]": the return address was another kretprobe's trampoline (a
        # second tracer probing the caller): the caller is not known, not compared.
        if seen is not None and seen != caller and not seen.startswith("[unknown"):
            raise _Diverged(i, f"the model's {ev.name[:-4]} returns to {caller or 'nothing'}, "
                            f"the trace's to {seen}", f"{ev.name}: caller={caller}")

    # -- inputs at their time --------------------------------------------------------

    def _slot(self, i: int, entry: SwapEntry) -> None:
        """The swap cache slot a ``__read_swap_cache_async`` looks up, as the trace found it.

        Other tasks and reclaim change the swap cache between a fault's events: what the
        lookup found (nothing, a free slot, a page) is an input, applied just before it.
        """
        steps, k = self.steps, self.k
        j = i + 1
        if self.seeds is not None:  # its swapcache_prepare's slot events come first (G2)
            while j < len(steps) and steps[j].name in SLOT_EVENTS:
                j += 1
        ret = steps[j] if j < len(steps) else None
        if ret is None or ret.name != "__read_swap_cache_async_ret":
            return
        page = ret.int("page")
        nxt = steps[j + 1] if j + 1 < len(steps) else None
        si = k.swap_info_of(entry.type)
        key = (entry.type, entry.offset)
        folio = k.swap_cache.get(key)
        if not page:  # RA-2: the slot is free
            if folio is None:
                si.swap_map[entry.offset] = 0
            self._seed(i, si, entry)
            return
        if nxt is not None and nxt.name == "swap_readpage" and nxt.int("page") == page:
            # A new page: the slot is in use and not cached (reclaim freed a clean page,
            # so its read, if pending and due by now, had completed).
            if folio is not None and folio.flags & _BUSY:
                self._complete_page(folio)
            if folio is not None and not folio.flags & _BUSY:
                swap_state.delete_from_swap_cache(k, folio)
            si.swap_map[entry.offset] = (si.swap_map[entry.offset] & ~0x40) or 1
            self._seed(i, si, entry)
            return
        if folio is not None and self.pages.get(folio.addr) == page:
            return  # RA-1 on the page the model has
        failed = sum(1 for s in steps[i + 1:j]
                     if s.name == "__swap_duplicate_ret" and s.int("ret") == -swapfile.EEXIST)
        if folio is None and failed:
            # RA-3: another task held the slot (SWAP_HAS_CACHE) adding its page: the lookup
            # missed, swapcache_prepare failed, the task slept a tick (as often as it
            # failed) and, retrying, found that task's page. It enters the swap cache during
            # the last of those sleeps (sleep_tick).
            self.arriving = (entry, page, failed)
            self._seed(i, si, entry)
            return
        self.insert(entry, page)
        self._seed(i, si, entry)

    def _seed(self, i: int, si: SwapInfo, entry: SwapEntry) -> None:
        """The slot's count at the lookup, from the ledger (G2), over what the lookup's
        outcome suggests."""
        seed = self.seeds.get(self.steps[i].lineno) if self.seeds is not None else None
        if seed is not None:
            si.swap_map[entry.offset] = seed

    def insert(self, entry: SwapEntry, page: int) -> Folio:
        """Put the trace's ``page`` in the swap cache for ``entry``, in its known state."""
        k = self.k
        known = self.lookup(page) if self.lookup is not None else None
        flags, in_flight = known if known is not None else (
            int(PageFlags.PG_uptodate | PageFlags.PG_swapcache), False)
        folio = _folio(page, flags | _SWAPBACKED | int(PageFlags.PG_swapcache), entry.val)
        k.swap_cache[(entry.type, entry.offset)] = folio
        si = k.swap_info_of(entry.type)
        si.swap_map[entry.offset] = (si.swap_map[entry.offset] or 1) | 0x40  # SWAP_HAS_CACHE
        self._page(folio.addr, page)
        if in_flight:
            bio = bio_alloc(k, si.bdev, 1, REQ_OP_READ)
            bio.bi_sector = swapfile.swap_page_sector(k, folio)
            bio.bi_end_io = page_io.end_swap_bio_read
            bio_add_page(bio, folio, PAGE_SIZE, 0)
            if any(c.page == page and c.waiter for _e, _l, c in self.completions):
                # Another task's synchronous read (RD-8): it sleeps holding a reference.
                bio.bi_private = Task(pid=0, comm="reader", usage=2,
                                      state=TaskState.TASK_UNINTERRUPTIBLE)
            self.executor.queue.append(Request(si.bdev, REQ_OP_READ, bio.bi_sector,
                                               PAGE_SIZE >> 9, [bio], 1))
        return folio

    # -- completions ----------------------------------------------------------------------

    def _apply(self, c: Completion) -> bool:
        """Complete the bio of the completion's page, with its status, if it was queued.

        The trace completes bios one by one (``end_swap_bio_read``), whatever requests the
        model merged them into: the bio leaves its request and completes on its own.
        """
        model = self.traced.get(c.page)
        plug = self.task.plug if self.task is not None else None
        if plug is not None and any(b.page is not None and b.page.addr == model
                                    for rq in plug.mq_list for b in rq.bios):
            # The bio completed, so the task had issued it: it slept (direct reclaim, a
            # lock) and flushed its plug, as sched_submit_work does, between two events.
            blk_flush_plug(self.k, plug)
        for io in self.executor.queue:
            if not isinstance(io, Request):
                continue
            for bio in io.bios:
                if bio.page is not None and bio.page.addr == model and (
                        (bio.bi_private is not None) == c.waiter or not self._twice(c)):
                    io.bios.remove(bio)
                    io.nr_sectors -= bio.bi_size >> 9
                    if not io.bios:
                        self.executor.queue.remove(io)
                    self.done.add(id(c))
                    self.applying = c
                    Request(io.bdev, io.op, bio.bi_sector, bio.bi_size >> 9, [bio],
                            io.cpu).complete(self.k, blk_status_of(c.status))
                    self.applying = None
                    return True
        return False

    def _complete_page(self, folio: Folio) -> None:
        """Run the pending completion of ``folio``'s read now, if the trace allows it here."""
        page = self.pages.get(folio.addr)
        for early, _late, c in self.completions:
            if c.page == page and id(c) not in self.done and early <= self.matched:
                self._apply(c)
                return

    def _twice(self, c: Completion) -> bool:
        """Whether another completion of the same page is pending (a page freed and read
        again at one timestamp): each then goes to the bio whose waiter it shows."""
        return any(o is not c and o.page == c.page and id(o) not in self.done
                   for _e, _l, o in self.completions)

    def _complete_due(self, *, after: int = -1, before: int = -1) -> None:
        for early, late, c in self.completions:
            if id(c) in self.done:
                continue
            if (after >= 0 and early <= after) or (before >= 0 and late <= before):
                self._apply(c)

    def release(self) -> bool:
        """The task sleeps with no I/O due: the other task holding the page's lock (an
        input, Replayer._hold) unlocks it, waking the task (``folio_unlock``)."""
        held, self.held = self.held, None
        if held is None or not held.flags & _LOCKED:
            return False
        folio_unlock(self.k, held)
        return True

    def complete_next(self) -> bool:
        """The task sleeps: complete the next I/O the trace completed by now, if any."""
        for early, _late, c in self.completions:
            if id(c) not in self.done and early <= self.matched and self._apply(c):
                return True
        return False


_COMPARED: dict[str, tuple[str, ...]] = {
    "do_swap_page_ret": ("ret",),
    "swapin_readahead": ("entry", "gfp"),
    "swap_cluster_readahead": ("entry", "gfp"),
    "__read_swap_cache_async": ("entry", "gfp"),
    "__read_swap_cache_async_ret": ("page",),
    "swapin_readahead_ret": ("page",),
    "swap_cluster_readahead_ret": ("page",),
    "swap_readpage": ("page", "synchronous", "plug", "pflags", "entry"),
    "swap_readpage_ret": ("ret",),
    "bdev_read_page": ("sector",),
    "bdev_read_page_ret": ("ret",),
    "bdev_write_page": ("sector",),
    "bdev_write_page_ret": ("ret",),
    "block_bio_queue": ("rwbs", "sector", "nr_sector"),
    "swap_writepage": ("page", "pflags", "entry"),
    "swap_writepage_ret": ("ret",),
    "__swap_duplicate": ("entry", "usage"),
    "__swap_duplicate_ret": ("ret",),
    "__swap_entry_free_locked": ("type", "offset", "usage"),
    "__swap_entry_free_locked_ret": ("ret",),
    "__swap_writepage": ("page", "pflags", "entry"),
    "__swap_writepage_ret": ("ret",),
}


#: The args a replay's outcome depends on: the compared ones and the inputs.
_KEY_ARGS: dict[str, tuple[str, ...]] = {
    **_COMPARED,
    "do_swap_page": ("fault_flags", "orig_pte"),
    "swap_writepage": ("page", "pflags", "entry", "sync_mode"),
    "__swap_writepage": ("page", "pflags", "entry"),
    "__swap_duplicate_ret": ("ret", "caller"),
    "__swap_entry_free_locked_ret": ("ret", "caller"),
}


_PAGE, _ENTRY, _SECTOR, _PTE, _OFFSET = 1, 2, 3, 4, 5
_KINDS = {"page": _PAGE, "entry": _ENTRY, "sector": _SECTOR, "orig_pte": _PTE,
          "offset": _OFFSET}
#: _KEY_ARGS with how each arg enters the key (0: its text).
_KEY_KINDS: dict[str, tuple[tuple[str, int], ...]] = {
    name: tuple((k, _KINDS.get(k, 0)) for k in keys) for name, keys in _KEY_ARGS.items()}

#: Arg texts whose int value is memoized (the checker's arg_int shares the memo). Cleared
#: when full: over the simulated 1M-event trace 4,096 texts miss 251k times, 8,192 172k
#: (~25 ms of int() more in a ~9 s check); full, they hold ~0.5 MB less (a text ~67 B, its
#: int 32 B, the table ~24 B an entry).
INTS_MAX = 1 << 12
_INTS: dict[str, int] = {}


def _int(text: str) -> int:
    """``int(text, 0)``, memoized by text: a fault's pointers, entries and sectors repeat over
    a trace, and ``int(text, 0)`` of a 64-bit hex pointer costs ~5x a dict look-up."""
    value = _INTS.get(text)
    if value is None:
        # The same value as int(text, 0) (a "0x" prefix is optional in base 16), 2-3x faster.
        value = int(text, 16) if text.startswith("0x") else int(text, 0)
        if len(_INTS) >= INTS_MAX:
            _INTS.clear()
        _INTS[text] = value
    return value


_ENTRIES: dict[tuple[int, bool], SwapEntry] = {}


def swap_entry(value: int, *, pte: bool = False) -> SwapEntry:
    """``SwapEntry.from_pte(value)`` if ``pte``, else ``SwapEntry.from_val(value)``, memoized:
    every fault and swap-out of a trace decodes one, and the frozen attrs value costs ~10x a
    dict look-up (a value: the same one may be shared)."""
    entry = _ENTRIES.get((value, pte))
    if entry is None:
        entry = SwapEntry.from_pte(value) if pte else SwapEntry.from_val(value)
        if len(_ENTRIES) >= INTS_MAX:
            _ENTRIES.clear()
        _ENTRIES[(value, pte)] = entry
    return entry


def _value(key: str, value: int | str) -> str:
    if isinstance(value, int) and key in ("page", "pflags", "entry", "gfp"):
        return f"{value:#x}"
    return str(value)


def _show(ev: ModelEvent) -> str:
    if ev.name == "do_swap_page_ret" and isinstance(ev.arg("ret"), int):
        return vm_fault_text(int(ev.arg("ret")))
    keys = _COMPARED.get(ev.name, ())
    args = " ".join(f"{k}={_value(k, v)}" for k, v in ev.args if k in keys)
    return f"{ev.name}: {args}" if args else ev.name


def vm_fault_text(ret: int) -> str:
    """``0x404 (MAJOR|RETRY)``: a ``vm_fault_t`` as reports print it."""
    if not ret:
        return "0x0"
    names = [f.name[9:] for f in VmFault if f & ret and f.name]
    return f"{ret:#x} ({'|'.join(names)})"


class Replayer:
    """Replays faults and swap-outs of one trace on fresh model kernels (memoized)."""

    def __init__(self, page_cluster: int | None = None) -> None:
        self.page_cluster = 3 if page_cluster is None else page_cluster
        self.page_cluster_known = page_cluster is not None
        #: The device: major/minor and whether it has ``rw_page`` (None: not seen yet).
        self.dev = 0
        self.rw_page: bool | None = None
        self._ra_states: dict[int, tuple[int, int, int]] | None = None
        self._ra_bad = ""  # what swapin_nr_pages returned when it gave no window
        self._ra_runaway = ""  # swapin_nr_pages ran past its step budget (ModelRunaway)
        #: Conformant replays, by :meth:`_key`: the model's flags of each page (by order).
        self._memo: dict[tuple[object, ...], dict[int, int]] = {}
        #: A swap-out's memo: the bi_end_io of the bios it left in flight, by page index.
        self._end_io: dict[tuple[object, ...], dict[int, object]] = {}
        self._sectors: dict[int, int] = {}
        #: The model kernel :meth:`sector` asks, its areas built from the extents known
        #: (dropped when they change).
        self._sector_k: Kernel | None = None
        #: Each swap type's extents from the trace (start_page, nr_pages, start_block).
        self.extents: dict[int, list[tuple[int, int, int]]] = {}
        #: Or, for a swap file without them, each slot's block from its first I/O.
        self.learned: dict[int, dict[int, int]] = {}
        #: G2: the readahead states the kernel may be in after the faults replayed so far,
        #: carried from one replay to the next (None: not known, after a cut: the window is
        #: then any the model gives from some state, and the next one re-synchronises).
        self.ra: frozenset[RaState] | None = None
        #: Why the state is never carried in this trace ("": it is, with page-cluster known).
        self.ra_off = ""
        self.ra_cluster = False  # cluster readahead seen: hits are the global count
        #: Per window: the states after it, from every state of ra_states' grid giving it.
        self._ra_resync: dict[int, frozenset[RaState]] = {}
        self._ra_memo: dict[tuple[object, ...], RaChange] = {}
        self._ra_k: Kernel | None = None  # the kernel _ra_plan runs swapin_nr_pages on
        #: A carried state giving each (window, offset) of _ra_plan: the one replayed.
        self._ra_planted: dict[tuple[int, int], tuple[int, int, int]] = {}
        #: G2: the fault being replayed: each slot's count before a step (by line), from the
        #: slot ledger (None: its slot operations are not compared).
        self._seeds: Mapping[int, int] | None = None
        self._pinned = False  # the page found in the swap cache has one more reference
        self._full = False  # mem_cgroup_swap_full: the fault frees its slot (_fault)
        self._killed = False  # the fault's task was sent SIGKILL during it (fault)
        self._kill = False  # ... and it is pending from the fault's start (_fault)
        self._held = False  # another task operated on the fault's slot during it (fault)
        self._hold = False  # ... holding the page's lock at the fault's lookup (_fault)
        #: VMA readahead's windows by the fault's room in its PMD (_vma_windows).
        self._vma_memo: dict[tuple[int, int], dict[tuple[int, int], tuple[int, int, int]]] = {}

    def set_page_cluster(self, value: int) -> None:
        """``vm.page-cluster`` from the trace's header, unless the caller gave one."""
        if not self.page_cluster_known:
            self.page_cluster = value
            self.page_cluster_known = True
            self._ra_states = None
            self._ra_runaway = ""
            self.ra = None
            self._ra_memo.clear()

    # -- the swap area and its device --------------------------------------------------

    def _area(self, k: Kernel, entry: SwapEntry, rw_page: bool,
              bad: Sequence[BadRange] = ()) -> SwapInfo:
        bdev = BlockDevice(self.dev >> 20, self.dev & 0xFFFFF, "swap", _NO_SLOTS * 8,
                           rw_page=rw_page, driver="zram" if rw_page else "virtio_blk",
                           request_based=not rw_page, rotational=not rw_page)
        bdev.completion_errors.extend(bad)
        flags = SwpFlags.SWP_USED | SwpFlags.SWP_WRITEOK | SwpFlags.SWP_BLKDEV
        if rw_page:
            flags |= SwpFlags.SWP_SYNCHRONOUS_IO | SwpFlags.SWP_SOLIDSTATE
        swap_map = _SwapMap()
        while len(k.swap_info) <= entry.type:
            sis = SwapInfo(type=len(k.swap_info), flags=flags, bdev=bdev, max=_NO_SLOTS,
                           swap_map=swap_map)  # type: ignore[arg-type]
            extents = self.extents.get(sis.type)
            learned = self.learned.get(sis.type)
            if learned is not None:  # a swap file's slots, inferred from their first I/O
                sis.extents = [SwapExtent(off, 1, block) for off, block in sorted(
                    learned.items())]
            elif extents is None:  # a swap partition: one extent from block 0
                sis.extents = [SwapExtent(0, _NO_SLOTS, 0)]
            else:  # the trace's add_swap_extent calls, as swapon made them
                for start_page, nr_pages, start_block in extents:
                    swapfile.add_swap_extent(sis, start_page, nr_pages, start_block)
            k.swap_info.append(sis)
        return k.swap_info[entry.type]

    def learn(self, entry: SwapEntry, sector: int) -> None:
        """A swap file's slot and the sector of its first I/O (no add_swap_extent traced)."""
        self.learned.setdefault(entry.type, {})[entry.offset] = sector >> 3
        self._sectors.pop(entry.val, None)
        self._sector_k = None

    def add_extent(self, type_: int, start_page: int, nr_pages: int, start_block: int) -> None:
        """An ``add_swap_extent`` of the trace: replays map slots through the extents."""
        self.extents.setdefault(type_, []).append((start_page, nr_pages, start_block))
        self.ra_cut()  # a swapon: a swapoff before it looked pages up unprobed (try_to_unuse)
        self._memo.clear()
        self._sectors.clear()
        self._sector_k = None

    def ra_states(self) -> dict[int, tuple[int, int, int]]:
        """For each window size ``swapin_nr_pages`` can give: a readahead state giving it.

        The state (hits since the last window, the last offset, the last window) is not in
        a trace; the model's own ``swapin_nr_pages`` is run over the states it can be in.
        """
        if self._ra_states is None:
            states: dict[int, tuple[int, int, int]] = {}
            after: dict[int, set[RaState]] = {}
            k = Kernel(executor=Executor(), page_cluster=self.page_cluster)
            top = 1 << self.page_cluster
            for hits in range(2 * top + 1):
                for delta in (1, -1, 1 << 10):
                    for last in [0] + [1 << i for i in range(self.page_cluster + 2)]:
                        k.swapin_readahead_hits = hits
                        k.ra_prev_offset = _RA_BASE - delta
                        k.ra_last_pages = last
                        try:
                            with StepBudget():
                                win = swap_state.swapin_nr_pages(k, _RA_BASE)
                        except ModelRunaway as runaway:  # every readahead diverges (_fault)
                            self._ra_runaway = runaway.message()
                            continue
                        if isinstance(win, int):
                            states.setdefault(win, (hits, delta, last))
                            prev = k.ra_prev_offset  # relative to the fault's offset
                            after.setdefault(win, set()).add((
                                k.swapin_readahead_hits,
                                None if prev == _RA_BASE - delta else prev - _RA_BASE,
                                k.ra_last_pages))
                        else:  # no window: every readahead of the trace diverges (_fault)
                            self._ra_bad = repr(win)
            self._ra_states = states
            self._ra_resync = {win: frozenset(s) for win, s in after.items()}
        return self._ra_states

    # -- the readahead state carried through the trace (G2) ---------------------------

    @property
    def ra_carry(self) -> bool:
        """Whether the readahead state is carried from one fault to the next."""
        return not self.ra_off and self.page_cluster_known

    def ra_cut(self) -> None:
        """Something the trace does not show may have changed the readahead state."""
        self.ra = None

    def ra_never(self, why: str) -> None:
        """This trace cannot carry the readahead state at all (a trimmed trace, ...)."""
        self.ra_off = self.ra_off or why
        self.ra = None

    def _ra_step(self, verdict: Verdict, change: RaChange, states: frozenset[RaState] | None,
                 offset: int) -> None:
        """The state after a replayed fault: ``change`` applied to ``states``."""
        if states is None and (change is None or change[0] != "set"):
            self.ra = None
            return
        if change is None:
            self.ra = states
            return
        kind, values = change
        new: set[RaState] = set()
        if kind == "set":
            for hits, prev, last in cast("frozenset[RaState]", values):
                new.add((hits, None if prev is None else prev + offset, last))
        else:
            assert states is not None
            new = {(hits + d, prev, last) for hits, prev, last in states
                   for d in cast("frozenset[int]", values)}
        self.ra = frozenset(new) if 0 < len(new) <= RA_STATES_MAX else None

    def _ra_plan(self, states: frozenset[RaState], offset: int
                 ) -> dict[int, set[RaState]] | Verdict:
        """The window the model's ``swapin_nr_pages`` gives a fault at ``offset`` from each
        carried state, and the states it leaves (relative to ``offset``), by window.

        A prev_offset not known is tried next to the fault and far from it. The replay then
        runs once per window, from one of the states giving it (:attr:`_ra_planted`).
        """
        k = self._ra_k
        if k is None:
            k = self._ra_k = Kernel(executor=Executor(), page_cluster=self.page_cluster)
        plan: dict[int, set[RaState]] = {}
        if len(self._ra_planted) >= MEMO_MAX:
            self._ra_planted.clear()
        for hits, prev, last in sorted(states, key=repr):
            for p in (prev,) if prev is not None else (offset - 1, offset - (1 << 10)):
                k.swapin_readahead_hits, k.ra_prev_offset, k.ra_last_pages = hits, p, last
                try:
                    with StepBudget():
                        win = swap_state.swapin_nr_pages(k, offset)
                except (ModelRunaway, Exception) as error:
                    return _model_stopped(error, 0, "swapin_nr_pages in the carried readahead "
                                          "state: ", "a readahead window", prefix_raised=False)
                if not isinstance(win, int):
                    return Verdict(0, f"the model's swapin_nr_pages returns {win!r} in the "
                                   "carried readahead state, no window",
                                   ("a readahead window",))
                moved = k.ra_prev_offset
                plan.setdefault(win, set()).add((
                    k.swapin_readahead_hits,
                    None if prev is None and moved == p else moved - offset, k.ra_last_pages))
                self._ra_planted.setdefault((win, offset), (hits, p, last))
        return plan

    # -- faults -----------------------------------------------------------------------

    def fault(self, steps: Sequence[Step], completions: Sequence[Completion],
              lookup: PageLookup, target: int | None,
              ra_mark: Callable[[int], bool | None] | None = None,
              ordered: bool = False, seeds: Mapping[int, int] | None = None,
              killed: bool = False, held: bool = False) -> Verdict | None:
        """Replay one fault; None when its inputs are not all known.

        ``steps``: the task's events from ``do_swap_page`` to ``do_swap_page_ret`` (of
        :data:`FAULT_EVENTS`); ``completions``: the reads completed meanwhile; ``lookup``:
        the checker's state of a trace page; ``target``: the page the swap cache held for
        the entry by the end of the fault, if any; ``ra_mark``: whether a trace page has
        PG_readahead as the model left it (None: not known); ``ordered``: no other fault
        may have run at the same time, so the readahead state carried through the trace
        (:attr:`ra`) is the one this fault meets; ``seeds``: the trace has the slot probes
        and the fault's slot operations (:data:`SLOT_EVENTS`, among ``steps``) are compared,
        each slot's count before the fault (line of ``do_swap_page``), a lookup or a slot
        operation being the checker's slot ledger's (G2); ``killed``: a SIGKILL for the
        task was generated while the fault ran (``signal_generate``, an input: when it
        became pending is not known, so the fault is tried without it first); ``held``:
        another task operated on the fault's slot while it ran (a slot operation made under
        the page's lock: reclaim's try_to_unmap_one or __remove_mapping, another mapping's
        do_swap_page), so the page the fault found in the swap cache may have been locked
        by that task (tried after the fault without it).
        """
        self._seeds = seeds
        self._killed = killed
        self._held = held
        try:
            return self._fault_seeded(steps, completions, lookup, target, ra_mark, ordered)
        finally:
            self._seeds = None
            self._killed = self._held = False

    def _fault_seeded(self, steps: Sequence[Step], completions: Sequence[Completion],
                      lookup: PageLookup, target: int | None,
                      ra_mark: Callable[[int], bool | None] | None,
                      ordered: bool) -> Verdict | None:
        first = steps[0]
        entry = swap_entry(first.int("orig_pte"), pte=True)
        cached_at_lookup, rw_rets, frontswap, ra_kind = _fault_inputs(steps, entry)
        carry = self.ra_carry and ordered
        states = self.ra if carry else None
        layout: dict[int, int] | None = None
        if ra_kind == "vma":  # the global readahead state is not VMA readahead's (G6)
            self.ra_cut()
            layout = _vma_layout(steps, entry)
            if layout is None:
                return None  # the faulting entry is not among the PTEs it read
        if cached_at_lookup and (target is None or lookup(target) is None):
            self.ra_cut()
            return None
        if ra_kind == "cluster":
            self.ra_cluster = True
        mark = None
        if cached_at_lookup and target is not None and ra_mark is not None and carry:
            mark = ra_mark(target)
        rw_page = self.rw_page if self.rw_page is not None else bool(rw_rets)
        try:
            key, pages = self._key(steps, entry, completions, lookup, target, rw_page)
        except _NoSector as no:
            self.ra_cut()
            return Verdict(0, str(no), ("a sector",))
        off = entry.offset
        seeds = self._seeds
        if seeds is not None:  # the slot counts the fault met (G2)
            key = (*key, "slots", tuple(seeds.get(s.lineno) for s in steps))
        if self._killed:
            key = (*key, "killed")
        if self._held:
            key = (*key, "held")
        plan: dict[int, set[RaState]] | None = None
        if ra_kind == "cluster" and states is not None:
            planned = self._ra_plan(states, off)
            if isinstance(planned, Verdict):
                self.ra_cut()
                return planned
            plan = planned
        if ra_kind == "cluster":  # the windows the carried states give (None: any)
            key = (*key, "w", None if plan is None else tuple(sorted(plan)))
        elif cached_at_lookup:
            key = (*key, "h", mark, self.ra_cluster, states is not None)
        elif layout is not None:
            key = (*key, "vma", _pmd_room(first.int("address")))
        hit = self._memo.get(key)
        if hit is not None:  # the same fault at another place: the model's flags again
            verdict = Verdict(flags={pages[i]: f for i, f in hit.items()})
            change = self._ra_memo.get(key)
            verdict.ra_carried = plan is not None
        else:
            verdict, change = self._fault(steps, completions, lookup, target, entry, rw_rets,
                                          frontswap, rw_page, ra_kind, cached_at_lookup,
                                          states, mark, layout, plan)
            if verdict.ok:
                index = {addr: i for i, addr in enumerate(pages)}
                self._remember(key, {index[a]: f for a, f in verdict.flags.items()
                                     if a in index})
                if len(self._ra_memo) >= MEMO_MAX:
                    self._ra_memo.clear()
                self._ra_memo[key] = change
        if not verdict.ok:
            self.ra_cut()
            return verdict
        if change is not None and change[0] == "wins":  # the carried states' windows taken
            assert plan is not None
            change = ("set", frozenset(after for win in cast("frozenset[int]", change[1])
                                       for after in plan[win]))
        if self.ra_carry:
            if carry:
                self._ra_step(verdict, change, states, off)
            else:
                self.ra_cut()  # another fault may have run meanwhile: its order is unknown
            for s in steps:
                if s.name == "swap_readpage":
                    verdict.ra_lines[s.int("page")] = s.lineno
            if cached_at_lookup and target is not None:
                verdict.ra_lines[target] = first.lineno
        return verdict

    def _fault(self, steps: Sequence[Step], completions: Sequence[Completion],
               lookup: PageLookup, target: int | None, entry: SwapEntry,
               rw_rets: dict[int, int], frontswap: set[int], rw_page: bool, ra_kind: str,
               cached_at_lookup: bool, states: frozenset[RaState] | None = None,
               mark: bool | None = None, layout: dict[int, int] | None = None,
               plan: dict[int, set[RaState]] | None = None) -> tuple[Verdict, RaChange]:
        off = entry.offset
        if layout is not None:
            return self._vma_fault(steps, completions, lookup, target, entry, rw_rets,
                                   frontswap, rw_page, layout), None
        # What is tried: (the readahead state planted, PG_readahead of the page found, the
        # window that state gives).
        tries: list[tuple[tuple[int, int, int] | None, bool | None, int]] = [(None, mark, 0)]
        if plan is not None:  # G2: the windows of the carried states, one replay each
            loop = sum(1 for s in steps if s.name == "__read_swap_cache_async") - 1
            tries = [(self._ra_planted[(win, off)], None, win) for win in sorted(
                plan, key=lambda w: (w < loop, w - loop))]
        elif ra_kind == "cluster":  # the window the trace's loop suggests first (speed only)
            loop = sum(1 for s in steps if s.name == "__read_swap_cache_async") - 1
            windows = sorted(self.ra_states(), key=lambda w: (w < loop, w - loop))
            if self._ra_runaway:
                return Verdict(0, f"swapin_nr_pages in some readahead state: "
                               f"{self._ra_runaway}", ("a readahead window",), raised=True,
                               kind=MODEL_RUNAWAY), None
            if not windows:
                return Verdict(0, f"the model's swapin_nr_pages returns {self._ra_bad} in "
                               "every readahead state, no window",
                               ("a readahead window",)), None
            ra_states = self.ra_states()
            tries = []
            for win in windows:
                hits, delta, last = ra_states[win]
                tries.append(((hits, off - delta, last), None, win))
        elif cached_at_lookup and states is not None and mark is None:
            # PG_readahead of the page found not known: the model decides either way.
            tries = [(None, True, 0), (None, False, 0)]
        best: list[Verdict] = []
        ok: Verdict | None = None
        after: set[tuple[int, int | None, int]] = set()
        deltas: set[int] = set()
        wins: set[int] = set()
        lates: list[tuple[bool, bool]] = [(False, False), (True, False)]
        if self._seeds is not None and cached_at_lookup and target is not None and (
                steps[0].int("fault_flags") & FaultFlag.FAULT_FLAG_WRITE):
            # G2: a write fault on a page found in the swap cache frees its slot only if its
            # refcount is 2 (should_try_to_free_swap, mm/memory.c:3709-3711): whether another
            # task maps it (or an LRU batch holds it) is not in the trace; both are tried.
            lates += [(False, True), (True, True)]
        fulls = [False]
        if self._seeds is not None and not (
                steps[0].int("fault_flags") & FaultFlag.FAULT_FLAG_WRITE) and any(
                s.name == "__swap_entry_free_locked_ret" and frees_cache(s) for s in steps):
            # The fault's own slot operations are compared (G2) and a read fault freed its
            # slot (folio_free_swap's put_swap_folio): should_try_to_free_swap says so only
            # when mem_cgroup_swap_full (mm/memory.c:3701-3703, mm/memcontrol.c:7516-7541),
            # half of the global swap or of a memcg's swap.max in use. Neither count is in
            # the trace (the ledger's is not seeded, memcg charges are not probed): "full" is
            # tried after "not full" when a read fault freed, never when the slot was kept
            # (a write fault that frees is the refcount test's, tried above).
            fulls.append(True)
        # A SIGKILL generated during the fault (the memcg OOM killer's, in the fault's own
        # allocation, or another task's kill) ends its killable wait for the page lock
        # (__folio_lock_or_retry, mm/filemap.c:1746-1760) if it came before the wait:
        # tried after the fault without it.
        kills = [False, True] if self._killed else [False]
        # Another task's slot operation on the fault's slot while it ran, made under the
        # page's lock (shrink_folio_list's, another mapping's fault): the page found in the
        # swap cache may have been locked then; folio_lock_or_retry fails, the fault waits
        # for that task's unlock and retries (mm/memory.c:3918, mm/filemap.c:1736-1767).
        # Tried after the fault without it.
        holds = [False, True] if self._held and cached_at_lookup else [False]
        for ra, page_mark, win in tries:
            for kill, hold, full, (late, pinned) in (
                    (s, h, f, lp) for s in kills for h in holds for f in fulls
                    for lp in lates):
                self._pinned = pinned
                self._full = full
                self._kill = kill
                self._hold = hold
                verdict = self._fault_once(steps, completions, lookup, target, entry,
                                           rw_rets, frontswap, rw_page, ra, late,
                                           cached_at_lookup, page_mark)
                self._pinned = self._full = self._kill = self._hold = False
                if verdict.ok:
                    ok = ok or verdict
                    assert verdict.ra is not None
                    if ra is None:
                        deltas.add(verdict.ra[0])  # the hits it counted
                    elif plan is None:  # enumerated: every state giving this window
                        after |= self._ra_resync.get(win, frozenset())
                    else:
                        wins.add(win)
                    break
                if not best or verdict.index > best[0].index:
                    best = [verdict]
                elif verdict.index == best[0].index:
                    best.append(verdict)
            if ok is not None and states is None:
                break  # enumerated, or the one replay of a fault without a window
        if ok is not None:
            ok.ra_carried = plan is not None
            if plan is not None:
                return ok, ("wins", frozenset(wins))
            if ra_kind == "cluster":
                return ok, ("set", frozenset(after))
            if cached_at_lookup and states is not None:
                return ok, ("add", frozenset(deltas))
            return ok, None
        allowed = sorted({a for v in best for a in v.allowed}, key=_rank)
        message = best[0].message
        if plan is not None and states is not None and not best[0].raised:
            message = (f"{message} (the readahead window of the model's swapin_nr_pages from "
                       f"the state carried through the trace: {_ra_text(states, off)})")
        return Verdict(best[0].index, message, allowed, tie=any(v.tie for v in best),
                       raised=best[0].raised, kind=best[0].kind), None

    # -- memo ---------------------------------------------------------------------------

    def _key(self, steps: Sequence[Step], entry: SwapEntry, completions: Sequence[Completion],
             lookup: PageLookup | None, target: int | None,
             rw_page: bool) -> tuple[tuple[object, ...], list[int]]:
        """What a replay's outcome depends on, independent of where the slot is.

        Entries are taken relative to the fault's (keeping its place in an aligned
        readahead cluster and whether that cluster holds the header), sectors relative to
        the model's ``swap_page_sector`` of it (a block device maps slots linearly), pages
        by order of appearance, times by the order of the task's events.
        """
        pages: list[int] = []
        order: dict[int, int] = {}
        known: dict[int, tuple[int, bool] | None] = {}

        def page(addr: int) -> int:
            if not addr:
                return -1
            i = order.get(addr)
            if i is None:
                i = order[addr] = len(pages)
                pages.append(addr)
                if lookup is not None:
                    known[i] = lookup(addr)
            return i

        base = 0 if self.extents or self.learned else self.sector(entry)
        cluster = (1 << self.page_cluster) - 1
        out: list[object] = [entry.offset & cluster, entry.offset <= cluster, rw_page,
                             self.page_cluster, page(target or 0)]
        if self.extents or self.learned:  # a swap file's slots are not linear: no translation
            out.append(entry.val)
        # Hot path (every fault and swap-out of a trace): the args' kinds are looked up once
        # per event name, their int values in the memo of _int.
        append = out.append
        kinds_of = _KEY_KINDS.get
        ints = _INTS.get
        val = entry.val
        for st in steps:
            name = st.name
            append(name)
            args = st.args
            for k, kind in kinds_of(name, ()):
                v = args.get(k)
                if v is None:
                    append(None)
                elif not kind:
                    append(v)
                else:
                    n = ints(v)
                    if n is None:
                        n = _int(v)
                    if kind == _PAGE:
                        append(page(n))
                    elif kind == _ENTRY:
                        append(n - val)
                    elif kind == _SECTOR:
                        append(n - base)
                    elif kind == _OFFSET:
                        append(n - entry.offset)
                    else:
                        append(pte_swp_exclusive(n))
        for c in completions:
            early, late = place(steps, c)
            out.append((early, late, page(c.page), c.status, c.pflags, c.waiter, c.size))
        out.append(tuple(sorted(known.items())))
        return tuple(out), pages

    def sector(self, entry: SwapEntry) -> int:
        """The model's ``swap_page_sector`` of a slot (memoized)."""
        sector = self._sectors.get(entry.val)
        if sector is None:
            k = self._sector_k  # one kernel for these (a Kernel costs ~40 sector look-ups)
            if k is None:
                k = self._sector_k = Kernel(executor=Executor())
            self._area(k, entry, False)
            sector = swapfile.swap_page_sector(k, Folio(private=entry.val))
            if not isinstance(sector, int):  # the model's output, no sector a probe prints
                raise _NoSector(f"the model's swap_page_sector of {entry} is {sector!r}, no "
                                "sector")
            self._sectors[entry.val] = sector
        return sector

    def _remember(self, key: tuple[object, ...], flags: dict[int, int]) -> None:
        if len(self._memo) >= MEMO_MAX:
            self._memo.clear()
        if len(self._sectors) >= MEMO_MAX:
            self._sectors.clear()
        self._memo[key] = flags

    def _fault_once(self, steps: Sequence[Step], completions: Sequence[Completion],
                    lookup: PageLookup, target: int | None, entry: SwapEntry,
                    rw_rets: dict[int, int], frontswap: set[int], rw_page: bool,
                    ra: tuple[int, int, int] | None, late: bool, cached_at_lookup: bool,
                    mark: bool | None = None, vma_ra: tuple[int, int, int] | None = None,
                    layout: dict[int, int] | None = None) -> Verdict:
        """One replay; ``ra``: the readahead state planted (hits, prev_offset, last window);
        ``mark``: PG_readahead of the page the fault's lookup finds (None: as looked up);
        ``vma_ra``: the VMA's readahead state (hits, last fault's distance in pages, window)
        and ``layout`` the swap PTEs around the fault (VMA readahead)."""
        seeds = self._seeds
        run = _Run(self, steps, FAULT_EVENTS if seeds is None else FAULT_SLOT_EVENTS,
                   completions, late, lookup, seeds)
        k = run.k
        first = steps[0]
        si = self._area(k, entry, rw_page)
        seed = seeds.get(first.lineno) if seeds is not None else None
        if seed is not None:  # the slot ledger's count (G2)
            si.swap_map[entry.offset] = seed
        else:
            si.swap_map[entry.offset] = 2 if (rw_page and any(
                s.name == "swapin_readahead" for s in steps)) else 1
        if self._full:  # more than half of the swap in use (_fault)
            si.inuse_pages = si.pages
        if cached_at_lookup and target is not None:
            found = run.insert(entry, target)
            if self._pinned:  # another mapping's reference (G2: _fault)
                found.refcount += 1
            if self._hold and not found.flags & _LOCKED:  # another task's lock (_fault)
                found.flags |= _LOCKED
                run.held = found
            if mark is not None:  # as the model's readahead left it (G2)
                found.flags = (found.flags & ~_PG_READAHEAD) | (_PG_READAHEAD if mark else 0)
        for page, ret in rw_rets.items():
            if ret:  # the device failed this page's rw_page read
                si.bdev.completion_errors.append(_bad_page(k, page, steps, REQ_OP_READ))
        injected = injected_reads(steps, completions)
        if injected is not None:  # reads the kernel failed by fault injection (FI-1)
            fail_injected_reads(k, si.bdev, injected[0])
            frontswap = frontswap - {SwapEntry.from_val(v).offset for v in injected[1]}
        if frontswap:
            k.frontswap = {(entry.type, off): b"" for off in frontswap}
        if ra is not None:
            k.swapin_readahead_hits, k.ra_prev_offset, k.ra_last_pages = ra
            k.nr_rotate_swap = 1
        else:
            # No state planted: a fault computing no window, whose hits _fault adds to the
            # carried states (the "add" change), so they are counted from 0 here — never from
            # the model Kernel's boot value (swap_state.c:62's 4), which a trace starting or
            # cut mid-run does not show (issue 10).
            k.swapin_readahead_hits = 0
            if self.ra_cluster:  # cluster readahead: a hit counts in swapin_readahead_hits
                k.nr_rotate_swap = 1
        task = Task(pid=1, comm="replay", mm=MMStruct())
        if self._kill:  # pending: the OOM killer's do_send_sig_info(SIGKILL, .., PIDTYPE_TGID)
            send_signal_locked(k, SIGKILL, task, PidType.PIDTYPE_TGID)
        mm = task.mm
        assert mm is not None
        vma = VMArea(0, 1 << 47, mm)
        mm.vmas.append(vma)
        address = first.int("address")
        orig_pte = first.int("orig_pte")
        if layout is not None:
            mm.ptes.update({address + d * PAGE_SIZE: pte for d, pte in layout.items()})
        if vma_ra is not None:
            vma.ra_hits, distance, vma.ra_win = vma_ra
            vma.ra_addr = address + distance * PAGE_SIZE
        mm.ptes[address] = orig_pte
        vmf = VMFault(task, vma, address, first.int("fault_flags"), orig_pte)
        return self._run(run, lambda: memory.do_swap_page(k, vmf), task)

    # -- VMA readahead (G6) -------------------------------------------------------------

    def _vma_fault(self, steps: Sequence[Step], completions: Sequence[Completion],
                   lookup: PageLookup, target: int | None, entry: SwapEntry,
                   rw_rets: dict[int, int], frontswap: set[int], rw_page: bool,
                   layout: dict[int, int]) -> Verdict:
        """A fault through ``swap_vma_readahead``: the PTEs it read are laid out around the
        fault in the trace's order (which other PTEs were present pages is not in a trace:
        the fewest pages apart, the layout every window holding them holds), and the VMA's
        readahead state is tried over the windows the model can read from there."""
        windows = self._vma_windows(steps[0].int("address"))
        if isinstance(windows, Verdict):
            return windows
        looped = sum(1 for s in steps if s.name == "__read_swap_cache_async") > 1
        lo, hi = min(layout, default=0), max(layout, default=0)  # the fault's page: 0
        tries = [state for (first, last), state in sorted(windows.items(), key=lambda w: (
            w[0][1] - w[0][0], w[0])) if (first <= min(lo, 0) and max(hi, 0) <= last
                                          if looped else first > last)]
        best: list[Verdict] = []
        for vma_ra in tries:
            for late in (False, True):
                verdict = self._fault_once(steps, completions, lookup, target, entry,
                                           rw_rets, frontswap, rw_page, None, late, False,
                                           None, vma_ra, layout)
                if verdict.ok:
                    return verdict
                if not best or verdict.index > best[0].index:
                    best = [verdict]
                elif verdict.index == best[0].index:
                    best.append(verdict)
        if not best:
            return Verdict(1, f"the model's swap_vma_readahead reads no window around this "
                           f"fault holding the {len(layout) + 1 if looped else 0} PTEs the "
                           f"trace reads (pages {min(lo, 0):+d}..{max(hi, 0):+d} of the "
                           "fault) in any readahead state",
                           ("a VMA readahead window",))
        allowed = sorted({a for v in best for a in v.allowed}, key=_rank)
        return Verdict(best[0].index, best[0].message, allowed, tie=any(v.tie for v in best),
                       raised=best[0].raised, kind=best[0].kind)

    def _vma_windows(self, address: int) -> dict[tuple[int, int], tuple[int, int, int]] | Verdict:
        """For each window ``swap_vma_readahead`` can read around a fault at ``address`` (its
        first and last page, relative to the fault's; (0, -1): none), a VMA readahead state
        (hits, the last fault's distance in pages, window) giving it.

        The state (``vma->swap_readahead_info``) is not in a trace: the model's own
        ``swap_vma_readahead`` is run over the states it can be in, on a page table that
        records which PTEs it reads. It depends on the fault's place in its PMD (clamped to
        64 pages either way: a window is at most 32).
        """
        room = _pmd_room(address)
        cached = self._vma_memo.get(room)
        if cached is not None:
            return cached
        windows: dict[tuple[int, int], tuple[int, int, int]] = {}
        left, right = room
        faddr = (1 << 30) + ((left if left < 64 else 511 - right if right < 64 else 256)
                             << PAGE_SHIFT)
        fentry = SwapEntry(0, 1)
        top = 1 << self.page_cluster
        for hits in range(2 * top + 1):
            for distance in (-1, 1, 1 << 10):
                for win in [0] + [1 << i for i in range(self.page_cluster + 2)]:
                    k = Kernel(executor=Executor(), page_cluster=self.page_cluster)
                    self._area(k, fentry, False)
                    reads: list[int] = []
                    task = Task(pid=1, comm="replay", mm=MMStruct(ptes=_Recording(reads)))
                    assert task.mm is not None
                    vma = VMArea(0, 1 << 47, task.mm, ra_addr=faddr + distance * PAGE_SIZE,
                                 ra_win=win, ra_hits=hits)
                    vmf = VMFault(task, vma, faddr, 0, fentry.to_pte())
                    try:
                        with StepBudget(), k.running(task, ("handle_mm_fault",)):
                            swap_state.swap_vma_readahead(k, fentry, vmf)
                    except (ModelRunaway, Exception) as error:
                        return _model_stopped(error, 0, "swap_vma_readahead in some readahead "
                                              "state: ", "a VMA readahead window")
                    pages = [(a - faddr) >> PAGE_SHIFT for a in reads]
                    window = (min(pages), max(pages)) if pages else (0, -1)
                    windows.setdefault(window, (hits, distance, win))
        if len(self._vma_memo) >= MEMO_MAX:
            self._vma_memo.clear()
        self._vma_memo[room] = windows
        return windows

    def _run(self, run: _Run, body: Callable[[], object], task: Task) -> Verdict:
        k = run.k
        run.task = task
        try:
            with k.running(task, ("handle_mm_fault",)) as ctx:
                # The chain counts the model's calls: a model loop that never ends is a
                # divergence (model-runaway), not a checker that never ends.
                ctx.chain = CallBudget(ctx.chain)
                body()
            if run.matched < len(run.steps):
                step = run.steps[run.matched]
                raise _Diverged(run.matched, f"the model is done; the trace goes on with "
                                f"{step.name}", "no further event")
        except _Diverged as d:
            return Verdict(d.index, d.message, (d.allowed,), tie=run.tie)
        except KernelBug as bug:
            return Verdict(run.matched, f"the model forbids this: {bug}",
                           ("a state the model allows",), tie=run.tie)
        except (ModelRunaway, Exception) as error:  # a model loop that never ends, or raised
            return _model_stopped(error, run.matched, "", "the model's call ending within its "
                                  "step budget", tie=run.tie)
        flags: dict[int, int] = {}
        for model_addr, trace_addr in run.pages.items():
            folio = _find(k, model_addr)
            if folio is not None:
                flags[trace_addr] = int(folio.flags)
        verdict = Verdict(flags=flags, tie=run.tie)
        verdict.ra = (k.swapin_readahead_hits, k.ra_prev_offset, k.ra_last_pages)
        plug = task.plug
        for io in [*run.executor.queue, *(plug.mq_list if plug is not None else ())]:
            for bio in getattr(io, "bios", ()):
                addr = run.pages.get(bio.page.addr) if bio.page is not None else None
                if addr is not None:
                    verdict.end_io[addr] = bio.bi_end_io
        return verdict

    # -- swap-outs ----------------------------------------------------------------------

    def write(self, steps: Sequence[Step], store: int | None = None) -> Verdict:
        """Replay one ``swap_writepage`` … ``swap_writepage_ret`` (or ``__swap_writepage``).

        ``store``: what ``__frontswap_store`` returned, when the trace shows it (zswap on);
        otherwise a store that took the page and a stale slot (SW-1) are tried.
        """
        entry = swap_entry(steps[0].int("entry"))
        try:
            key, pages = self._key(steps, entry, (), None, None, False)
        except _NoSector as no:
            return Verdict(0, str(no), ("a sector",))
        key = (*key, steps[0].int("pflags"), store)
        hit = self._memo.get(key)
        if hit is not None:
            verdict = Verdict(flags={pages[i]: f for i, f in hit.items()})
            verdict.end_io = {pages[i]: f for i, f in self._end_io.get(key, {}).items()}
            return verdict
        verdict = self._write(steps, store)
        if verdict.ok:
            index = {addr: i for i, addr in enumerate(pages)}
            self._remember(key, {index[a]: f for a, f in verdict.flags.items() if a in index})
            if len(self._end_io) >= MEMO_MAX:
                self._end_io.clear()
            self._end_io[key] = {index[a]: f for a, f in verdict.end_io.items() if a in index}
        return verdict

    def _write(self, steps: Sequence[Step], store: int | None) -> Verdict:
        best: Verdict | None = None
        rw_ret = next((s.int("ret") for s in steps if s.name == "bdev_write_page_ret"), None)
        rw_page = rw_ret is not None and rw_ret != -95
        inputs = ((1, False), (1, True), (0, False)) if store is None else (
            ((1, True),) if store == 0 else ((1, False), (0, False)))
        for count, stored in inputs:
            verdict = self._write_once(steps, rw_page, rw_ret, count, stored)
            if verdict.ok:
                best = verdict
                break
            if best is None or verdict.index > best.index:
                best = verdict
        assert best is not None
        return best

    def _write_once(self, steps: Sequence[Step], rw_page: bool, rw_ret: int | None,
                    count: int, store: bool) -> Verdict:
        # The checker adds the end_swap_bio_write of a write bio the kernel failed by fault
        # injection (no block_bio_queue, FI-1): the model fails it at its should_fail_bio.
        injected = [s.name == "end_swap_bio_write" for s in steps]
        steps = [s for s in steps if s.name != "end_swap_bio_write"]
        run = _Run(self, steps, WRITE_EVENTS, (), late=False)
        k = run.k
        first = steps[0]
        entry = SwapEntry.from_val(first.int("entry"))
        si = self._area(k, entry, rw_page)
        if any(injected):
            fail_injected_reads(k, si.bdev, [True])
        if rw_page and rw_ret:  # the device failed this page's rw_page write
            si.bdev.completion_errors.append(_bad_page(k, first.int("page"), steps,
                                                       REQ_OP_WRITE))
        si.swap_map[entry.offset] = count | 0x40
        folio = _folio(first.int("page"), first.int("pflags"), entry.val)
        folio.refcount = 2
        k.swap_cache[(entry.type, entry.offset)] = folio
        run._page(folio.addr, first.int("page"))
        if store:
            k.frontswap = {}
        wbc = WritebackControl(sync_mode=WbSyncMode(first.int("sync_mode")) if "sync_mode"
                               in first.args else WbSyncMode.WB_SYNC_NONE, for_reclaim=True)
        task = Task(pid=1, comm="replay")
        write = page_io.swap_writepage if first.name == "swap_writepage" else (
            page_io.__dict__["__swap_writepage"])
        return self._run(run, lambda: write(k, folio, wbc), task)


def _find(k: Kernel, model_addr: int) -> Folio | None:
    for folio in k.swap_cache.values():
        if folio.addr == model_addr:
            return folio
    for io in k.executor.live_bios.values():
        if io.page is not None and io.page.addr == model_addr:
            return io.page
    return None


def _bad_page(k: Kernel, page: int, steps: Sequence[Step], op: int) -> BadRange:
    """The sectors (``swap_page_sector``) of a page whose ``rw_page`` I/O failed in the trace."""
    entry = next((s.int("entry") for s in steps if "entry" in s.args and s.args.get("page")
                  and s.int("page") == page), 0)
    sector = swapfile.swap_page_sector(k, Folio(private=entry))
    return BadRange(sector, sector + PAGE_SIZE // 512, op)


def _fault_inputs(steps: Sequence[Step], entry: SwapEntry) -> tuple[
        bool, dict[int, int], set[int], str]:
    """What the trace tells of a fault's inputs: whether the swap cache held the entry at
    the fault's lookup, the ``rw_page`` results, the slots frontswap held, the readahead
    kind ("cluster", "vma" or "" for none)."""
    rw_rets: dict[int, int] = {}
    frontswap: set[int] = set()
    read_entries = set()
    ra_kind = ""
    reading: Step | None = None
    device_io = False
    for s in steps:
        name = s.name
        if name == "swapin_readahead":
            ra_kind = ra_kind or "vma"
        elif name == "swap_cluster_readahead":
            ra_kind = "cluster"
        elif name == "swap_readpage":
            reading = s
            device_io = False
            read_entries.add(s.int("entry"))
        elif name in ("bdev_read_page", "block_bio_queue") and reading is not None:
            device_io = True
        elif name == "bdev_read_page_ret" and reading is not None:
            rw_rets[reading.int("page")] = s.int("ret")
        elif name == "swap_readpage_ret" and reading is not None:
            if not device_io:
                frontswap.add(SwapEntry.from_val(reading.int("entry")).offset)
            reading = None
    cached_at_lookup = not ra_kind and entry.val not in read_entries
    return cached_at_lookup, rw_rets, frontswap, ra_kind


def _rank(text: str) -> tuple[int, str]:
    """Allowed alternatives in order: returns by value, then the rest."""
    try:
        return (int(text.split()[0], 16), text)
    except ValueError:
        return (1 << 62, text)


def _ra_text(states: frozenset[RaState], offset: int) -> str:
    """The carried readahead states, as a divergence names them."""
    return " or ".join(
        f"swapin_readahead_hits={hits}, prev_offset="
        f"{'?' if prev is None else f'{prev:#x}'}, last_readahead_pages={last}"
        for hits, prev, last in sorted(states, key=repr)) + f" (the fault's offset {offset:#x})"


class _Recording(dict[int, "Folio | int"]):
    """A page table with no PTE that records the addresses looked up (_vma_windows)."""

    def __init__(self, reads: list[int]) -> None:
        super().__init__()
        self.reads = reads

    def get(self, key: int, default: object = None) -> Folio | int | None:  # type: ignore[override]
        self.reads.append(key)
        return None


def _pmd_room(address: int) -> tuple[int, int]:
    """Pages from a fault to the start and the end of its PMD, at most 64 (_vma_windows)."""
    pfn = address >> PAGE_SHIFT
    first = (address & ~((1 << _PMD_SHIFT) - 1)) >> PAGE_SHIFT
    return min(pfn - first, 64), min(first + (1 << (_PMD_SHIFT - PAGE_SHIFT)) - 1 - pfn, 64)


def _vma_layout(steps: Sequence[Step], entry: SwapEntry) -> dict[int, int] | None:
    """The swap PTEs a VMA readahead read, by page relative to the fault, the fault's own
    left out: the trace's lookups of the readahead loop in order, the faulting entry's at 0
    (the last lookup is read_swap_cache_async's of the target). None: it is not among them."""
    entries = [s.int("entry") for s in steps if s.name == "__read_swap_cache_async"][:-1]
    if not entries:
        return {}
    if entries.count(entry.val) != 1:
        return None
    j = entries.index(entry.val)
    return {i - j: SwapEntry.from_val(v).to_pte() for i, v in enumerate(entries) if i != j}
