"""Differential testing: check a real kernel trace against the model, event by event.

No kernel counterpart. The model is a test oracle (like SibylFS for POSIX): what the kernel
could not predict is an *input* (which page reclaim writes, which address faults, the
``bi_status`` a device returns in ``end_swap_bio_*``, the page flags a probe saw, the time);
everything else is an *outcome* the model predicts and the checker compares:

* sectors of swap bios and ``bdev_*_page`` calls (SE-1, ``swap_page_sector``);
* completions after their submission, once (BIO-2, RD-10, WP-4);
* ``end_swap_bio_read``/``_write`` run on the model (:class:`~kmodel.trace.oracle.Oracle`):
  its console lines, ratelimited by the model's jiffies-based state (ER-1, EW-1, PR-1), and
  the flags it leaves for ``end_page_writeback`` (EW-1..EW-3) must be what the trace shows next
  in the same context;
* the synchronous reader: ``waiter`` set iff ``synchronous=1`` (RD-8, RD-9, ER-4), and its
  ``swap_readpage`` returns only after the completion (RD-11);
* ``do_swap_page`` return codes from the model's state of the faulting page (DS-4, DS-5, DS-7,
  DS-8), ``swap_readpage``/``swap_writepage``/``__swap_writepage`` return 0 (RD-12, WP-4),
  ``bdev_read_page``/``bdev_write_page`` returning 0 means no bio (RD-5, WP-3).

Kernel pointers map to model objects: a page to a :class:`~kmodel.include.linux.mm_types.Folio`
(flags from the trace's ``pflags``, node/zone bits masked), a bio to the page it carries (a page
has at most one swap bio in flight; bio pointers are reused after free), a pid to its open
calls, a swap entry to its slot. An object whose history was cut (lost events, a trace that
starts or stops with I/O in flight, a divergence) becomes *unknown* until a new life starts,
and is not checked.
"""

from __future__ import annotations

import copy
import io
import math
import os
import re
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TextIO, cast

import attrs

from kmodel.errors import KernelBug, TraceFormatError
from kmodel.include.linux.mm import FaultFlag, VmFault, fault_flag_allow_retry_first
from kmodel.include.linux.mm_types import Folio, SwapEntry
from kmodel.include.linux.page_flags import PAGEFLAGS_MASK, PageFlags, decode_page_flags
from kmodel.kernel import ModelEvent
from kmodel.lib.ratelimit import RatelimitState
from kmodel.mm.filemap import end_page_writeback
from kmodel.trace.emit import format_event
from kmodel.trace.events import LostEvents, TaskContext, TraceEvent, explained_by_missed
from kmodel.trace.faultinject import FaultInject
from kmodel.trace.oracle import UNKNOWN_END_IO, EndIoMismatch, Oracle, Outcome, ratelimit_edge
from kmodel.trace.parse import (
    LineScanner,
    compression,
    open_compressed,
    open_trace,
    parse_event_line,
    unreadable,
)
from kmodel.trace.replay import (
    _INTS,
    FAULT_EVENTS,
    INTS_MAX,
    WRITE_EVENTS,
    Completion,
    Replayer,
    Step,
    Verdict,
    frees_cache,
    swap_entry,
    tie,
)
from kmodel.trace.replay import SLOT_EVENTS as REPLAY_SLOT_EVENTS
from kmodel.trace.report import (
    DIVERGED,
    MODEL_RAISED,
    CheckReport,
    Divergence,
    raised_divergence,
)
from kmodel.trace.requests import REQUEST_EVENTS, RequestCheck
from kmodel.trace.slots import LOOKUP_EVENTS, SLOT_EVENTS, SlotLedger, slot_of

__all__ = ["Checker", "check_trace"]

HISTORY = 6  # line numbers kept per page for reports
#: A counting clock's event line: its CPU and its count (Checker._within_a_tick).
_TICK = re.compile(r"\[(\d+)\](?:\s+\S+)?\s+(\d+): ")
RECENT = 4096  # events kept to print those lines (a power of 2: a ring indexed by event count)

SIGBUS = int(VmFault.VM_FAULT_SIGBUS)
OOM = int(VmFault.VM_FAULT_OOM)
MAJOR = int(VmFault.VM_FAULT_MAJOR)
RETRY = int(VmFault.VM_FAULT_RETRY)
WRITE = int(VmFault.VM_FAULT_WRITE)
#: Flags whose value after a write completion the model determines (EW-1, EW-2, EW-3).
WRITE_END_FLAGS = int(PageFlags.PG_error | PageFlags.PG_dirty | PageFlags.PG_reclaim
                      | PageFlags.PG_writeback | PageFlags.PG_uptodate)
# Plain ints: the hot path tests trace flags without building IntFlag values.
PG_locked = int(PageFlags.PG_locked)
PG_uptodate = int(PageFlags.PG_uptodate)
PG_writeback = int(PageFlags.PG_writeback)
SUBMIT_FLAGS = PG_locked | PG_uptodate | PG_writeback
PG_swapcache = int(PageFlags.PG_swapcache | PageFlags.PG_swapbacked)  # PageSwapCache: both
PG_READAHEAD = int(PageFlags.PG_readahead)
_PG_RECLAIM = int(PageFlags.PG_reclaim)
_PG_ACTIVE = int(PageFlags.PG_active)
#: Probes whose missed hits may hide a change of the readahead state (G2): a fault, its
#: readahead, a page read (which readahead marks PG_readahead).
RA_PROBES = frozenset(("do_swap_page", "do_swap_page_ret", "swapin_readahead",
                       "swapin_readahead_ret", "swap_cluster_readahead",
                       "swap_cluster_readahead_ret", "__read_swap_cache_async",
                       "__read_swap_cache_async_ret", "swap_readpage", "swap_readpage_ret"))
FAULT_WRITE = int(FaultFlag.FAULT_FLAG_WRITE)
FAULT_RETRY_NOWAIT = int(FaultFlag.FAULT_FLAG_RETRY_NOWAIT)
MAX_PAGES = 1 << 15  # pages tracked at once (128 MiB of 4 KiB pages); the oldest are forgotten
#: Tasks (pids) with calls open, and contexts with a pending prediction, tracked at once: an
#: adversarial trace of 400k pids stays near a one-pid trace's memory. Beyond: unknown.
MAX_TASKS = 1 << 11
MAX_SKIPPED_NAMES = 256  # distinct unknown event names counted apart; then "(other events)"
_ALERTS = ("Read-error on swap-device", "Write-error on swap-device")
_SUPPRESSED = ("end_swap_bio_read: ", "end_swap_bio_write: ")

Source = str | os.PathLike[str] | TextIO
CtxKey = tuple[int, int, str]


# Arg texts' int values are memoized in replay's _INTS (imported above), one memo for both:
# the checker's and the replay's look-ups are of the same texts (a fault's pages, entries,
# flags), and two memos held the same ~8,192 texts twice (~1 MB at 1M events).


class _Event(Step):
    """What the handlers see of one event: `TraceEvent`'s fields in a plain slotted class.

    Hot path: one is built for ~78% of a trace's lines, and attrs' frozen ``__init__`` (one
    ``object.__setattr__`` per field) costs ~3x this one. Kept events stay `_Event`s; a
    divergence prints its event as a `TraceEvent` (:meth:`event`). It is also the replay's
    `Step` of the event (its time ``ts`` in microseconds, its ``cpu``): a fault's or a
    swap-out's events are handed to the replay as they are, not copied.
    """

    __slots__ = ("context", "path", "pid")

    def __init__(self, path: str, lineno: int, context: TaskContext, ts: int, name: str,
                 args: Mapping[str, str]) -> None:
        self.path = path
        self.lineno = lineno
        self.context = context
        self.ts = ts
        self.name = name
        self.args = args
        self.pid = context.pid
        self.cpu = context.cpu

    @classmethod
    def of(cls, ev: TraceEvent) -> _Event:
        return cls(ev.path, ev.lineno, ev.context, ev.ts_us, ev.name, ev.args)

    @property
    def ts_us(self) -> int:
        return self.ts

    def event(self) -> TraceEvent:
        return TraceEvent(self.path, self.lineno, self.context, self.ts, self.name,
                          self.args)

    def arg_int(self, key: str) -> int:
        """`TraceEvent.arg_int`: the same value, the same errors.

        Memoized by text: handlers convert ~2 args per event, mostly 64-bit hex pointers and
        flags that repeat (a page's address over its life), and ``int(text, 0)`` of those
        costs ~10x a dict look-up.
        """
        text = self.args[key]
        value = _INTS.get(text)
        if value is None:
            try:  # int(text, 0); 2-3x faster for hex (base 16 takes the "0x" prefix)
                value = int(text, 16) if text.startswith("0x") else int(text, 0)
            except ValueError:
                return self.event().arg_int(key)  # raises its TraceFormatError
            if len(_INTS) >= INTS_MAX:
                _INTS.clear()
            _INTS[text] = value
        return value


def _ctx(ev: _Event) -> CtxKey:
    """Events in one context follow each other: CPU, pid, and the irq column of the flags."""
    c = ev.context
    return (c.cpu, c.pid, c.flags[2:3])


#: The irq columns of contexts that nest in one of a given irq column (ftrace's
#: trace_print_lat_fmt: h hardirq, H hardirq in softirq, z NMI, Z NMI in hardirq, s softirq).
_NESTED = {"s": "hHzZ", "h": "zZ", "H": "zZ", ".": "shHzZ"}


def _vm_fault(ret: int) -> str:
    if not ret:
        return "0x0"
    names = [f.name[9:] for f in VmFault if f & ret and f.name]
    return f"{ret:#x} ({'|'.join(names)})"


def _agrees(predicted: Iterable[ModelEvent], ev: _Event) -> bool:
    """Whether ``ev`` is the next of the ``predicted`` events (an alert line, with its text),
    or no alert or writeback end when none is predicted."""
    head = next(iter(predicted), None)
    if head is None:
        return ev.name not in ("console", "end_page_writeback")
    return ev.name == head.name and (
        ev.name != "console" or ev.args["msg"] == str(head.arg("msg")))


def _swap_alert(msg: str) -> bool:
    return msg.startswith(_ALERTS) or (
        msg.startswith(_SUPPRESSED) and msg.endswith("callbacks suppressed"))


def _flags(value: int) -> str:
    return decode_page_flags(value) if value else "none"


class _Bio:
    """A swap bio between ``block_bio_queue`` and ``end_swap_bio_*``."""

    __slots__ = ("done", "early_ret", "end_io", "event", "modelled", "pid", "sector", "sync",
                 "write")

    def __init__(self, event: _Event, write: bool, sector: int, sync: bool) -> None:
        self.event = event
        self.write = write
        self.sector = sector
        self.sync = sync
        self.pid = event.pid
        self.done = False
        self.modelled = False  # the page's flags are the model's after its submission
        #: The bi_end_io the model gave this bio when its swap-out was replayed (UNKNOWN_END_IO:
        #: not replayed; the oracle then runs end_swap_bio_write, what every swap write uses).
        self.end_io: object = UNKNOWN_END_IO
        #: A synchronous swap_readpage_ret printed before this bio's completion: fine only
        #: if the completion has the same timestamp on another CPU (a tie).
        self.early_ret: _Event | None = None


class _Page:
    """A ``struct page *`` of the trace: the model's flags for it, its bio, its history.

    One is kept per page address seen (up to MAX_PAGES: the simulator's pool of 16,384
    frames fills it), so what it holds is kept small: of the event that began its life only
    the line, time and CPU (``life_*``; the `_Event` with its args was ~0.8 KiB, a `_Life`
    object of the three 56 B), no list per page for the bios of past lives (an empty tuple,
    shared), its history in an array of machine ints.
    """

    __slots__ = ("addr", "bio", "completed", "early", "early_known", "entry", "flags",
                 "history", "life_cpu", "life_lineno", "life_ts", "prev_bio", "ra",
                 "submitting", "unknown", "wb_ended")

    def __init__(self, addr: int) -> None:
        self.addr = addr
        self.flags = 0  # the model folio's flags (node/zone bits masked)
        self.entry = 0  # page_private: swp_entry_t.val
        self.bio: _Bio | None = None
        self.submitting = ""  # "R"/"W": swap_readpage/__swap_writepage seen, no bio queued yet
        self.unknown = True  # flags not observed in this life, or its history was cut
        self.early: _Event | None = None  # a completion printed before any bio of it
        self.early_known = False  # ... and the page was known then
        self.completed = False  # its I/O of this life completed (its flags follow from that)
        #: The line, time and CPU of the event that began this life (-1: none yet).
        self.life_lineno = -1
        self.life_ts = 0
        self.life_cpu = 0
        #: Bios of the last lives, in flight when the next began (newest first).
        self.prev_bio: tuple[_Bio, ...] = ()
        #: Line numbers, the last HISTORY of which are reported. An array of machine ints,
        #: not a list of int objects (~3x the memory per page) nor a deque(maxlen=HISTORY)
        #: (a 64-slot block, ~7x).
        self.history = array("q")
        #: PG_readahead as the model's replay left it in this life (None: not known), G2.
        self.ra: bool | None = None
        #: The line its writeback last ended at, until swap_writepage starts another (FM-3):
        #: Checker._wb_ended's entry of this address while the page is in Checker.pages.
        self.wb_ended: int | None = None

    def observe(self, pflags: int, entry: int, ev: _Event | None = None) -> None:
        """A probe printed the page's flags and swap entry: a new life starts from them."""
        self.flags = pflags & PAGEFLAGS_MASK
        self.entry = entry
        if ev is not None and self.bio is not None and not self.bio.done:
            self.prev_bio = (self.bio, *self.prev_bio)[:3]  # may complete later: a tie
        if ev is not None:
            self.life_lineno = ev.lineno
            self.life_ts = ev.ts
            self.life_cpu = ev.context.cpu
        self.bio = None
        self.submitting = ""
        self.unknown = False
        self.completed = False
        self.ra = None
        del self.history[:-HISTORY]

    def note(self, lineno: int) -> None:
        """Add a line to the page's history (kept short: at most 2 * HISTORY lines)."""
        history = self.history
        history.append(lineno)
        if len(history) > 2 * HISTORY:
            del history[:-HISTORY]


class _Read:
    """An open ``swap_readpage`` call."""

    __slots__ = ("bio", "event", "page", "sync")

    def __init__(self, event: _Event, page: _Page, sync: bool) -> None:
        self.event = event
        self.page = page
        self.sync = sync
        self.bio: _Bio | None = None


#: Slot operations (their calls): another task's on an open fault's slot is its input (_held).
_SLOT_CALLS = frozenset(("__swap_duplicate", "__swap_entry_free_locked"))


class _Fault:
    """An open ``do_swap_page`` call."""

    __slots__ = ("completions", "end", "entry", "event", "events", "flags", "held", "killed",
                 "slot_skip", "slots", "target")

    def __init__(self, event: _Event, entry: int, flags: int, target: _Page | None) -> None:
        self.event = event
        self.entry = entry
        self.flags = flags
        self.target = target
        #: At its return: the page the swap cache held for the entry, and the pages of its
        #: events: it is replayed when the timestamp moves on (_flush), or before one of
        #: those pages begins a new life (_new_life), whichever comes first.
        self.end: tuple[int | None, set[int]] | None = None
        self.events: list[_Event] = [event]  # the task's FAULT_EVENTS until the return
        self.completions: list[Completion] = []  # reads completed meanwhile (any context)
        #: G2: the slot counts the fault met, by line (slots.py SlotLedger.fault_seed).
        self.slots: dict[int, int | None] = {}
        self.slot_skip = ""  # the return of a slot call not the fault's own (reclaim's)
        self.killed = False  # a SIGKILL for its task was generated during it (_signal_generate)
        #: Another task operated on its slot during it (_slot_event): that task may have
        #: held the page's lock when the fault looked the page up (replay.py: held).
        self.held = False


class _Task:
    """What one pid is in the middle of."""

    __slots__ = ("fault", "read", "store", "submit", "write")

    def __init__(self) -> None:
        self.fault: _Fault | None = None
        self.read: _Read | None = None
        self.submit: _Page | None = None  # the page whose bio block_bio_queue will show next
        self.write: list[_Event] | None = None  # an open swap-out's WRITE_EVENTS
        self.store: int | None = None  # its __frontswap_store's return, if traced


class _Expect:
    """What the model emitted after a completion: the trace must show it next in that context."""

    __slots__ = ("branches", "event", "fresh", "page", "predicted", "status")

    def __init__(self, event: _Event, page: _Page, predicted: Sequence[ModelEvent],
                 branches: tuple[str, ...], status: int, fresh: bool) -> None:
        self.event = event
        self.page = page
        self.predicted = deque(predicted)
        self.branches = branches
        self.status = status
        #: The first alert of its call site in this trace: the kernel's ratelimit state then
        #: is unknown; the window is assumed expired, "N callbacks suppressed" may come first.
        self.fresh = fresh



def _reclaims_cache(events: list[_Event], ret: _Event) -> bool:
    """Whether the ``__swap_entry_free_locked`` that ``ret`` returns from (the last of a
    fault's ``events``) dropped a slot's SWAP_HAS_CACHE for reclaim inside the fault's page
    allocation (__remove_mapping's put_swap_folio) rather than for the fault: the fault's own
    put_swap_folio (folio_free_swap -> delete_from_swap_cache, mm/memory.c:4038-4040) follows
    its swap_free of the same slot; a put_swap_folio that does not is reclaim's."""
    if not frees_cache(ret):
        return False
    call = events[-1] if events else None
    if call is None or call.name != "__swap_entry_free_locked":
        return False
    offset = call.arg_int("offset")
    before = next((e for e in reversed(events[:-1]) if e.name in (
        "__swap_entry_free_locked_ret", "__swap_duplicate_ret", "__read_swap_cache_async")),
        None)
    if before is None or before.name != "__swap_entry_free_locked_ret":
        return True
    own = next((e for e in reversed(events[:-1]) if e.name == "__swap_entry_free_locked"), None)
    return not (own is not None and own.arg_int("offset") == offset
                and own.arg_int("usage") == 1)


class Checker:
    """Feed events in trace order; :meth:`finish` returns the :class:`CheckReport`."""

    def __init__(self, path: str = "<events>", *, max_divergences: int = 20,
                 missed: Mapping[str, int] | None = None,
                 source: str | None = None, page_cluster: int | None = None) -> None:
        self.report = CheckReport(path)
        #: Hits each probe missed (its kprobe_profile): what they explain is not flagged.
        self.missed = {probe: n for probe, n in (missed or {}).items() if n}
        for probe, n in self.missed.items():
            self.report.counts[f"missed:{probe}"] = n
        self.source = source  # the file, to read history lines back from
        self.max_divergences = max_divergences
        self.oracle = Oracle()
        #: Faults and swap-outs are run again on the model (kmodel/trace/replay.py).
        self.replayer = Replayer(page_cluster)
        #: G2: the readahead state is carried from fault to fault unless a probe that shows
        #: its changes missed hits (replay.Replayer.ra); the last fault replayed's return.
        if any(probe in RA_PROBES for probe in self.missed):
            self.replayer.ra_never("missed probe hits")
        self._ra_last: _Event | None = None
        #: The timestamp of each CPU's last fault event (do_swap_page, its readahead, its
        #: lookups and reads): another CPU's fault inside a fault's span is concurrent.
        self._fault_ts: dict[int, int] = {}
        #: Faults returned, replayed when the timestamp moves on: (fault, its return).
        self._deferred: list[tuple[_Fault, _Event]] = []
        #: Read completions whose context printed nothing since their entry: each may
        #: still hold its page locked (Completion.until).
        self._open: dict[int, tuple[CtxKey, list[Completion]]] = {}  # by CPU
        self._early: list[_Page] = []  # pages with a completion before any bio (_early_bio)
        #: Further completions of such a page at the same timestamp, each awaiting a later
        #: submission (a page written again within one tick of a coarse clock), in order:
        #: the event and whether the page was known (as _Page.early, early_known).
        self._early_more: dict[int, list[tuple[_Event, bool]]] = {}
        self._past_writeback: set[int] = set()  # pages whose last life's write just ended
        self.pages: dict[int, _Page] = {}
        self.cache: dict[int, _Page] = {}  # swap entry -> the page last seen for it
        self.tasks: dict[int, _Task] = {}
        #: The open faults by their slot (swap entry value): another task's slot operation
        #: there is an input of theirs (_held).
        self.fault_entries: dict[int, list[_Fault]] = {}
        self.expect: dict[CtxKey, _Expect] = {}
        self.last_completion: dict[CtxKey, _Event] = {}
        self.ratelimit_known = True
        #: The other side of a ratelimit decision at the clock's resolution of its edge, by
        #: the completion's context: the model's events and ratelimit state (_other_side);
        #: the clock's resolution (µs): the gcd of the completions' distances to the first.
        self._alt: dict[CtxKey, tuple[list[ModelEvent], dict[str, RatelimitState]]] = {}
        self._ts0: int | None = None
        self._res_us = 0
        #: The trace's clock counts (counter, uptime, x86-tsc): timestamps print as integers.
        self.counting = False
        self._first_count = -1  # a counting clock's first count (_counting_clock)
        self._last_ts: dict[str, str] = {}  # feed_lines': each CPU's last timestamp
        self.stopped = False
        self.events = 0
        self.checks = 0
        self._flagged: set[int] = set()
        #: Pages whose writeback ended, by line, until swap_writepage starts another (FM-3):
        #: those not in `pages`; a page in `pages` holds its own (_Page.wb_ended), taken from
        #: here when it enters and put back when it is forgotten (_page, _forget). Kept apart,
        #: this table held an entry per page address ever written (16,384 at 1M simulated
        #: events, the pool) and, popped and set again at every swap-out, resized at ~3x
        #: that: 2.4 MB, and a copy of its table at each resize.
        self._wb_ended: dict[int, int] = {}
        #: The last RECENT events (or their lines, from :meth:`feed_lines`) and their line
        #: numbers, for the history of a divergence (older lines: read back at finish).
        self._recent_lineno: list[int] = [0] * RECENT
        self._recent: list[TraceEvent | str | None] = [None] * RECENT
        self._skipped: dict[str, int] = {}
        self._retry_memo: dict[int, bool] = {}
        self._unknown: dict[str, int] = {}
        #: The fault-injection attrs of a `# fault-inject:` header (faultinject.py).
        self.fi: FaultInject | None = None
        self._handlers: dict[str, Callable[[_Event], None]] = {
            "swap_writepage": self._swap_writepage,
            "swap_writepage_ret": self._writepage_ret,
            "__swap_writepage": self._swap_writepage_inner,
            "__swap_writepage_ret": self._writepage_ret,
            "bdev_write_page": self._bdev_page,
            "bdev_write_page_ret": self._bdev_write_page_ret,
            "block_bio_queue": self._block_bio_queue,
            "end_swap_bio_write": self._end_swap_bio_write,
            "end_page_writeback": self._end_page_writeback,
            "swap_readpage": self._swap_readpage,
            "swap_readpage_ret": self._swap_readpage_ret,
            "bdev_read_page": self._bdev_page,
            "bdev_read_page_ret": self._bdev_read_page_ret,
            "end_swap_bio_read": self._end_swap_bio_read,
            "do_swap_page": self._do_swap_page,
            "do_swap_page_ret": self._do_swap_page_ret,
            "console": self._console,
            "signal_generate": self._signal_generate,
        }
        # The events of a fault or a swap-out are also kept for its replay on the model.
        for name in FAULT_EVENTS | WRITE_EVENTS:
            self._handlers[name] = self._recording(name, self._handlers.get(name,
                                                                          self._ignore))
        # Seen and understood, but nothing of them is an outcome the model predicts.
        self._ignored = frozenset(("read_swap_cache_async", "read_swap_cache_async_ret",
                     "mm_vmscan_write_folio", "block_bio_remap",
                     "block_bio_complete", "block_rq_issue", "block_rq_complete",
                     "block_rq_error", "block_rq_insert", "block_rq_merge", "block_getrq",
                     "block_bio_backmerge", "block_bio_frontmerge", "block_split"))
        for name in self._ignored:
            self._handlers[name] = self._ignore
        # G3: request completions, by the model's Request.end (requests.py), then as before.
        self.requests = RequestCheck(self)
        for name in REQUEST_EVENTS:
            self._handlers[name] = self.requests.wrap(self._handlers[name])
        self._ignored -= REQUEST_EVENTS
        # G1: the swap-slot ledger (slots.py), fed with the slot probes and the lookups.
        self.slots = SlotLedger(self._diverge, self._count_unknown, self._count_check,
                                self.missed)
        for name in SLOT_EVENTS | LOOKUP_EVENTS:
            self._handlers[name] = self._slot_event(self._handlers.get(name))

    # -- driving --------------------------------------------------------------------------

    def feed(self, item: TraceEvent | LostEvents) -> None:
        """Check one parsed item."""
        if isinstance(item, LostEvents):
            self._lost(item)
            return
        i = self.events & (RECENT - 1)
        self.events += 1
        self._recent_lineno[i] = item.lineno
        self._recent[i] = item
        self._feed_event(_Event.of(item))

    def feed_all(self, items: Iterable[TraceEvent | LostEvents]) -> None:
        """Check items until the end or until ``max_divergences`` were found."""
        feed = self.feed
        for item in items:
            try:
                feed(item)
            except Exception as error:  # the model's, or the checker's bug
                line = format_event(item, self.counting) if isinstance(item, TraceEvent) else ""
                self._raised(error, item.lineno, line)
            if self.stopped:
                self.report.stopped_at = item.lineno
                return

    def feed_lines(self, scanner: LineScanner, lines: Iterable[str]) -> None:
        """Parse and check ``lines`` until the end or until ``max_divergences`` were found.

        The same as ``feed_all(parse_trace(...))``, faster: only the events that a handler or
        an expectation needs are built as :class:`TraceEvent`; the others are counted and
        their args only checked (a malformed known event is still a TraceFormatError).
        """
        match = scanner.match
        contexts = scanner.contexts
        context_of = scanner.context
        parsers = scanner.parsers
        matchers = scanner.matchers
        checkers = scanner.checkers
        args_error = scanner.ArgsError
        path = scanner.path
        handlers = {n: h for n, h in self._handlers.items() if n not in self._ignored}
        get_handler = handlers.get
        ignored = self._ignored
        skipped = self._skipped
        expect = self.expect
        recent_lineno, recent = self._recent_lineno, self._recent
        mask = RECENT - 1
        n = self.events
        last_ts: dict[str, str] = {}  # CPU column -> its last timestamp's digits
        self._last_ts = last_ts
        lineno = 0
        line = ""
        try:
            for lineno, line in enumerate(lines, 1):
                if not line.isascii():
                    scanner.not_utf8(lineno, line)
                m = match(line)
                if m is None:
                    if line.startswith("# page-cluster:"):  # recorded by kmodel capture
                        self.replayer.set_page_cluster(_page_cluster(path, lineno, line))
                    elif line.startswith(("# fault-inject:", "# kmodel trim:")):
                        if line.startswith("# kmodel trim:"):
                            self.slots.trimmed = True  # dropped slots' operations (slots.py)
                            self.replayer.ra_never("trimmed")  # other slots' faults dropped
                        if self.fi is None:
                            self.fi = FaultInject(path, self._fi_diverge, self._count_unknown)
                        self.fi.header(lineno, line)
                    elif line.startswith("# swap:") and " type=file" in line:
                        self.oracle.inferring = True  # unless add_swap_extent lines follow
                    lost = scanner.other(lineno, line)
                    if lost is not None:
                        self._lost(lost)
                    continue
                i = n & mask
                recent_lineno[i] = lineno
                recent[i] = line
                n += 1
                ctx, cpu, sec, usec, name, text = m.group(1, 5, 7, 8, 9, 10)
                ts = sec + usec  # digits without leading zeros: equal lengths compare as ints
                prev = last_ts.get(cpu, "")
                if ts < prev or len(ts) < len(prev):
                    scanner.time_order(lineno, line, cpu, ts, prev)  # raises if backwards
                elif not prev and scanner.clock(lineno, line, usec):
                    self._counting_clock(int(ts))
                last_ts[cpu] = ts
                handler = get_handler(name)
                if handler is None:
                    if self._open:  # an event on the CPU of an open completion (_close)
                        self._close(lineno, contexts.get(ctx) or context_of(m), name, "")
                    if expect:
                        c = contexts.get(ctx) or context_of(m)
                        if (c.cpu, c.pid, c.flags[2:3]) in expect:
                            self._feed_event(_Event.of(scanner.event(lineno, line, m)))
                            if self.stopped:
                                self.report.stopped_at = lineno
                                return
                            continue
                    fullmatch = matchers.get(name)  # args regex matches: nothing to check
                    if fullmatch is None or fullmatch(text) is None:
                        check = checkers.get(name)  # unknown events may have any args
                        if check is not None:
                            try:
                                check(text)
                            except args_error as e:
                                raise scanner.bad_args(lineno, line, e) from None
                    if name == "add_swap_extent":
                        self._add_swap_extent(text)
                    elif name == "__frontswap_store_ret":
                        self._frontswap_store_ret((contexts.get(ctx) or context_of(m)).pid, text)
                    elif name not in ignored:
                        if name in skipped:
                            skipped[name] += 1
                        else:
                            self._count_skipped(name)
                    continue
                # The parser's regex, called here: one Python call less per event.
                fullmatch = matchers.get(name)
                am = None if fullmatch is None else fullmatch(text)
                if am is not None:
                    args = am.groupdict()
                else:
                    try:
                        args = parsers[name](text)
                    except args_error as e:
                        raise scanner.bad_args(lineno, line, e) from None
                ev = _Event(path, lineno, contexts.get(ctx) or context_of(m), int(ts), name,
                            args)
                if self._open:  # an event on the CPU of an open completion (_close)
                    self._close(lineno, ev.context, name, args.get("msg", ""))
                if expect and self._match_expected(ev):
                    pass
                else:
                    handler(ev)
                if self.stopped:
                    self.report.stopped_at = lineno
                    return
        except unreadable() as e:
            raise scanner.unreadable(lineno, e) from None
        except Exception as error:  # the model's, or the checker's bug
            self.events = n
            self._raised(error, lineno, line)
        finally:
            self.events = n

    def _raised(self, error: Exception, lineno: int, line: str) -> None:
        """An exception out of the checking of line ``lineno``: a model that raised is a
        ``model-raised`` divergence there and checking stops (`report.raised_divergence`)."""
        path = self.report.path
        self.report.divergences.append(raised_divergence(error, path, lineno, line))
        self.stopped = True
        self.report.stopped_at = lineno

    def _feed_event(self, ev: _Event) -> None:
        """:meth:`feed` for an event already counted and kept in the recent events."""
        if self._open:
            self._close(ev.lineno, ev.context, ev.name, ev.args.get("msg", ""))
        if self.expect and self._match_expected(ev):
            return
        handler = self._handlers.get(ev.name)
        if handler is None:
            if ev.name == "add_swap_extent":
                self._add_swap_extent(" ".join(f"{k}={v}" for k, v in ev.args.items()))
                return
            if ev.name == "__frontswap_store_ret":
                self._frontswap_store_ret(ev.pid, f"ret={ev.args.get('ret', '')}")
                return
            self._count_skipped(ev.name)
            return
        handler(ev)

    def _close(self, lineno: int, context: TaskContext, name: str, msg: str) -> None:
        """An event on the CPU of open completions: their pages were unlocked before it.

        The next event of a completion's context, or of a context that does not nest in
        it (its softirq has returned), ends it; its own alert is printed inside it, before
        the unlock (mm/page_io.c:60-71), and an interrupt nested in it ends nothing.
        """
        cpu = context.cpu
        open_ = self._open.get(cpu)
        if open_ is None:
            return
        ctx, completions = open_
        irq = context.flags[2:3]
        if ctx == (cpu, context.pid, irq):
            if name == "console" and _swap_alert(msg):
                return
        elif irq in _NESTED.get(ctx[2], ""):
            return
        for c in completions:
            c.until = lineno
        del self._open[cpu]

    def _unlocked(self, addr: int, lineno: int) -> None:
        """The page is locked again (pageout calls swap_writepage under its lock, mm/vmscan.c:1287):
        its open read completions unlocked it before ``lineno``; a later fault cannot meet
        them (an idle CPU prints nothing that would close them, :meth:`_close`)."""
        for cpu, (_, completions) in list(self._open.items()):
            keep = [c for c in completions if c.page != addr]
            for c in completions:
                if c.page == addr:
                    c.until = min(c.until, lineno)
            if not keep:
                del self._open[cpu]
            elif len(keep) != len(completions):
                completions[:] = keep

    def finish(self) -> CheckReport:
        """End of trace: what is still in flight is unknown, not divergent."""
        if not any(d.kind == MODEL_RAISED for d in self.report.divergences):
            try:
                self._flush()
                self.requests.finish()
                self.slots.finish()
                if self.fi is not None:
                    self.fi.finish()
            except Exception as error:  # the model's, or the checker's bug
                self._raised(error, self._recent_lineno[(self.events - 1) & (RECENT - 1)],
                             self._format_recent(self._recent[(self.events - 1)
                                                              & (RECENT - 1)],
                                                 self.report.path, self.counting))
        if self.fi is not None:
            self.checks += self.fi.checks
        for exp in self.expect.values():
            self._count_unknown("prediction-cut-by-end", len(exp.predicted))
        self.expect.clear()
        for page in self.pages.values():
            if page.bio is not None and not page.bio.done:
                self._count_unknown("in-flight-at-end")
        for task in self.tasks.values():
            if task.fault is not None:
                self._count_unknown("fault-open-at-end")
        self._fill_history()
        self.report.divergences.sort(key=lambda d: d.lineno)
        counts = self.report.counts
        counts["events"] = self.events
        counts["checks"] = self.checks
        counts["divergences"] = len(self.report.divergences)
        for name, n in self._skipped.items():
            counts[f"skipped:{name}"] = n
        for why, n in self._unknown.items():
            counts[f"unknown:{why}"] = n
        return self.report

    def _fill_history(self) -> None:
        """Read back from the file the history lines that were no longer in memory."""
        divergences = self.report.divergences
        wanted = {n for d in divergences for n, text in d.history if not text}
        if not wanted or self.source is None:
            return
        lines: dict[int, str] = {}
        try:
            with io.TextIOWrapper(open_compressed(self.source), errors="replace") as f:
                for n, line in enumerate(f, 1):
                    if n in wanted:
                        lines[n] = line.rstrip("\n")
                        if len(lines) == len(wanted):
                            break
        except OSError:
            return
        self.report.divergences = [
            attrs.evolve(d, history=tuple((n, t or lines.get(n, "")) for n, t in d.history))
            for d in divergences
        ]

    # -- bookkeeping --------------------------------------------------------------------

    def _ignore(self, ev: _Event) -> None:
        pass

    def _frontswap_store_ret(self, pid: int, text: str) -> None:
        """What frontswap (zswap) answered a swap-out's store: an input of its replay."""
        task = self.tasks.get(pid)
        m = _RET.search(text)
        if task is not None and task.write is not None and m is not None:
            task.store = int(m.group(1))

    def _add_swap_extent(self, text: str) -> None:
        """swapon's ``add_swap_extent(sis, start_page, nr_pages, start_block)``: the model's
        swap area gets the trace's extents (SE-1 by extent, mm/swapfile.c:2198-2235)."""
        m = _EXTENT.search(text)
        if m is None:
            return
        type_, start_page, nr_pages, start_block = (int(g) for g in m.groups())
        self.oracle.add_extent(type_, start_page, nr_pages, start_block)
        self.replayer.add_extent(type_, start_page, nr_pages, start_block)
        self.slots.swapon(type_, start_page)

    def _recording(self, name: str, handler: Callable[[_Event], None]
                   ) -> Callable[[_Event], None]:
        """``handler`` of the event ``name``, after keeping the event for the replay of its
        task's fault/swap-out (specialised per name: a closure per event of a fault or a
        swap-out, ~78% of a trace's events, tests only what its name can need)."""
        tasks = self.tasks
        in_fault = name in FAULT_EVENTS
        in_write = name in WRITE_EVENTS

        if name == "block_bio_queue":
            def record(ev: _Event) -> None:
                if self._deferred or self._early:
                    self._flush(ev.ts)
                task = tasks.get(ev.pid)
                if task is not None and ev.context.flags[2:3] in ".":  # process context
                    write = "W" in ev.args["rwbs"]
                    fault, writing = task.fault, task.write
                    if fault is not None and not (write or _clone(fault.events, ev)):
                        fault.events.append(ev)
                    if writing is not None and write and not _clone(writing, ev):
                        writing.append(ev)
                handler(ev)

            return record

        def record_call(ev: _Event) -> None:
            if self._deferred or self._early:
                self._flush(ev.ts)
            task = tasks.get(ev.pid)
            if in_fault:  # for _ra_ordered: the last fault event of each CPU
                fault_ts[ev.context.cpu] = ev.ts
            if task is not None and ev.context.flags[2:3] in ".":  # process context
                if in_fault:
                    fault = task.fault
                    if fault is not None:
                        fault.events.append(ev)
                    elif ra_start:  # a readahead outside a fault (swapoff, shmem)
                        self.replayer.ra_cut()
                if in_write:
                    writing = task.write
                    if writing is not None:
                        writing.append(ev)
            elif ra_start:
                self.replayer.ra_cut()
            if checked:
                handler(ev)

        checked = handler != self._ignore  # readahead events: only kept for the replay
        ra_start = name in ("swapin_readahead", "swap_cluster_readahead")
        fault_ts = self._fault_ts
        return record_call

    def _retry_first(self, flags: int) -> bool:
        """``fault_flag_allow_retry_first`` of a trace's fault flags (memoized: a pure function
        of an int, and IntFlag arithmetic is slow)."""
        first = self._retry_memo.get(flags)
        if first is None:
            if len(self._retry_memo) >= MAX_PAGES:
                self._retry_memo.clear()
            first = self._retry_memo[flags] = fault_flag_allow_retry_first(flags)
        return first

    def _counting_clock(self, ts: int) -> None:
        """The trace's clock counts (counter, uptime, x86-tsc): its timestamps order events
        and tell ties, but give no jiffies, so the printk ratelimit's state is unknown."""
        self.ratelimit_known = False
        self.counting = True
        if self._first_count < 0 or ts < self._first_count:
            self._first_count = ts  # the first count of each CPU's first event: the least

    def _within_a_tick(self, fault: _Fault, end: _Event) -> bool:
        """Whether a jiffy clock (``uptime``: on average 4 or more events per count, where
        ``counter`` counts about one per event and ``x86-tsc`` thousands of cycles between
        two) hides the order of the fault's events and another CPU's on its slot or pages:
        tracefs prints a tick's events CPU by CPU, so another CPU's event of a tick in the
        fault's span (up to ``end``, its return) that names the fault's entry or one of its
        pages may have come before any of the fault's events of that tick. Then a replay
        that diverges may have met them in another order. The recent events' text is
        searched: a diverging fault of such a trace is rare, and so is this path."""
        if not self.counting or self._first_count < 0:
            return False
        now = max((int(t) for t in self._last_ts.values()), default=end.ts)
        if (now - self._first_count) * 4 >= end.lineno:  # lines so far, about the events
            return False  # not a jiffy clock
        entry = SwapEntry.from_val(fault.entry)
        keys = {f"entry=0x{fault.entry:x} ", f"entry=0x{fault.entry:x}\n",
                f"type={entry.type} offset={entry.offset} "}
        pages = {page for e in fault.events if (page := e.args.get("page")) and page != "0x0"}
        keys.update(f"page={page}{end_}" for page in pages for end_ in (" ", "\n"))
        cpu, first, last = fault.event.context.cpu, fault.event.ts, end.ts
        for item in self._recent:
            if not isinstance(item, str) or not any(k in item for k in keys):
                continue
            m = _TICK.search(item)
            if m is not None and int(m[1]) != cpu and first <= int(m[2]) <= last:
                return True
        return False

    def _count_check(self) -> None:
        self.checks += 1

    def _slot_event(self, handler: Callable[[_Event], None] | None
                    ) -> Callable[[_Event], None]:
        """The slot ledger's event (slots.py), then ``handler`` (a fault's lookup)."""
        feed = self.slots.feed

        def slot_event(ev: _Event) -> None:
            feed(ev, _ctx(ev))
            if self.slots.active:
                self._fault_slot(ev)
                if self.fault_entries and ev.name in _SLOT_CALLS:
                    self._held(ev)
            if handler is not None:
                handler(ev)

        return slot_event

    def _fault_closed(self, fault: _Fault) -> None:
        faults = self.fault_entries.get(fault.entry)
        if faults is not None and fault in faults:
            faults.remove(fault)
            if not faults:
                del self.fault_entries[fault.entry]

    def _held(self, ev: _Event) -> None:
        """Another task's slot operation on the slot of an open fault: the fault's page
        may have been locked by that task at the fault's lookup (an input of its replay)."""
        for fault in self.fault_entries.get(slot_of(ev).val, ()):
            if fault.event.pid != ev.pid:
                fault.held = True

    def _fault_slot(self, ev: _Event) -> None:
        """A slot event in an open fault of its task (G2): kept for its replay, with the slot
        count the ledger knows before it (replay.py compares the model's slot operations)."""
        task = self.tasks.get(ev.pid)
        fault = task.fault if task is not None else None
        if fault is None or ev.context.flags[2:3] not in ".":  # not in process context
            return
        name = ev.name
        if name == fault.slot_skip:
            fault.slot_skip = ""
            return
        if name in ("__swap_duplicate", "__swap_entry_free_locked") and not self.slots.fault_own(
                ev, fault.entry, fault.events):
            fault.slot_skip = name + "_ret"  # reclaim's, inside the fault's allocation
            fault.slots[-1] = None  # reclaim ran in the fault: its slot operations not compared
            return
        if name == "__swap_entry_free_locked_ret" and _reclaims_cache(fault.events, ev):
            call = fault.events.pop()  # reclaim's put_swap_folio, not the fault's
            fault.slots.pop(call.lineno, None)
            fault.slots[-1] = None  # reclaim ran in the fault: its slot operations not compared
            return
        seeded, count = self.slots.fault_seed(ev)
        if seeded:
            fault.slots[ev.lineno] = count
        if ev.name in REPLAY_SLOT_EVENTS:
            fault.events.append(ev)

    def _fault_slots(self, fault: _Fault) -> dict[int, int] | None:
        """The slot counts a fault's replay is seeded with, if its slot operations are
        compared (G2): the trace has the slot probes and the ledger knew every count the
        fault met; else its slot events are dropped from the replay. Either is counted
        (checks:fault-slots, checks:fault-slots-not-known) within the fault's one check: the
        fault itself is replayed and checked either way."""
        if not self.slots.active:
            return None  # a trace without the slot probes (or none of them seen yet)
        seeds = fault.slots
        counts = self.report.counts
        if fault.event.lineno in seeds and None not in seeds.values():
            counts["checks:fault-slots"] = counts.get("checks:fault-slots", 0) + 1
            return cast("dict[int, int]", seeds)
        key = "checks:fault-slots-not-known"
        counts[key] = counts.get(key, 0) + 1
        fault.events = [e for e in fault.events if e.name not in REPLAY_SLOT_EVENTS]
        return None

    def _count_unknown(self, why: str, n: int = 1) -> None:
        self._unknown[why] = self._unknown.get(why, 0) + n

    def _task(self, pid: int) -> _Task:
        task = self.tasks.get(pid)
        if task is None:
            if len(self.tasks) >= MAX_TASKS:
                self._forget_tasks()
            task = self.tasks[pid] = _Task()
        return task

    def _forget_tasks(self) -> None:
        """Keep memory flat with many pids: drop idle tasks, then the oldest (unknown)."""
        tasks = self.tasks
        for pid in [p for p, t in tasks.items()
                    if not any(getattr(t, slot) for slot in _Task.__slots__)]:
            del tasks[pid]
        excess = len(tasks) - MAX_TASKS // 2
        if excess > 0:
            for pid in list(tasks)[:excess]:
                fault = tasks.pop(pid).fault
                if fault is not None:
                    self._fault_closed(fault)
            self._count_unknown("calls-forgotten-for-memory", excess)
            self.replayer.ra_cut()  # faults among them go unreplayed

    def _count_skipped(self, name: str) -> None:
        """Count an event without a rule; beyond MAX_SKIPPED_NAMES names, as one other."""
        skipped = self._skipped
        if name not in skipped and len(skipped) >= MAX_SKIPPED_NAMES:
            name = "(other events)"
        skipped[name] = skipped.get(name, 0) + 1

    def _page(self, addr: int) -> _Page:
        page = self.pages.get(addr)
        if page is None:
            if len(self.pages) >= MAX_PAGES:  # memory stays flat: forget the oldest life
                self._forget(next(iter(self.pages.values())))
                self._count_unknown("pages-forgotten-for-memory")
            page = self.pages[addr] = _Page(addr)
            if self._wb_ended:
                page.wb_ended = self._wb_ended.pop(addr, None)
        return page

    def _new_life(self, addr: int) -> _Page:
        """The page a probe just printed: it moves to the young end of the table."""
        if len(self.cache) > 2 * MAX_PAGES:  # entries of pages that moved on, or forgotten
            self.cache = {p.entry: p for p in self.pages.values()}
        if self._deferred:
            self._replay_before_new_life(addr)
        page = self.pages.pop(addr, None)
        if page is None:
            return self._page(addr)
        self.pages[addr] = page
        return page

    def _replay_before_new_life(self, addr: int) -> None:
        """Replay first the faults that used page ``addr`` in its last life, if no page of
        theirs has a read in flight: their inputs are all printed. Else they wait for the
        timestamp to move on (_flush): a completion still due may be printed later (a tie).
        """
        last = max((i for i, (fault, _) in enumerate(self._deferred)
                    if fault.end is not None and addr in fault.end[1]), default=-1)
        due = self._deferred[:last + 1]
        for fault, _ in due:
            for a in fault.end[1] if fault.end is not None else ():
                page = self.pages.get(a)
                if page is not None and page.bio is not None and not page.bio.done:
                    return
        del self._deferred[:last + 1]
        for fault, ret in due:
            self._replay_fault(fault, ret)

    def _wb_started(self, addr: int) -> None:
        """swap_writepage starts the page's writeback: no end of it is known (FM-3)."""
        page = self.pages.get(addr)
        if page is not None:
            page.wb_ended = None
        elif self._wb_ended:
            self._wb_ended.pop(addr, None)

    def _set_wb_ended(self, addr: int, lineno: int) -> None:
        """The writeback of a page not in `pages` ended at ``lineno``; at most MAX_PAGES are
        kept, the oldest forgotten."""
        if len(self._wb_ended) >= MAX_PAGES:
            del self._wb_ended[next(iter(self._wb_ended))]
        self._wb_ended[addr] = lineno

    def _forget(self, page: _Page) -> None:
        """The page's story is complete: keep memory flat."""
        if page.early is not None or self.pages.get(page.addr) is not page:
            return  # its submission is still due (_early_bio), or it is a past life
        self.pages.pop(page.addr, None)
        if page.wb_ended is not None:
            self._set_wb_ended(page.addr, page.wb_ended)
        if self.cache.get(page.entry) is page:
            del self.cache[page.entry]

    def _diverge(self, ev: _Event, message: str, allowed: Iterable[str],
                 branches: tuple[str, ...], page: _Page | None = None,
                 related: tuple[int, ...] = (), kind: str = DIVERGED) -> None:
        """Record a divergence at ``ev``; the page becomes unknown (no cascades)."""
        if page is not None:
            page.unknown = True
        if self.missed and kind == DIVERGED:  # a model that raises is no missed hit's doing
            probe = explained_by_missed(self.missed, branches)
            if probe is not None:  # a hit the probe missed may be why: unknown, not divergent
                self._count_unknown(f"missed-hit:{probe}")
                return
        if ev.lineno in self._flagged:
            return
        self._flagged.add(ev.lineno)
        history: tuple[tuple[int, str], ...] = ()
        if page is not None:
            recent = dict(zip(self._recent_lineno, self._recent, strict=True))
            history = tuple((n, self._format_recent(recent.get(n), ev.path, self.counting))
                            for n in page.history[-HISTORY:])
        self.report.divergences.append(Divergence(
            path=ev.path, lineno=ev.lineno, line=format_event(ev.event(), self.counting),
            message=message,
            allowed=tuple(allowed), branches=branches, history=history, related=related,
            kind=kind,
        ))
        if len(self.report.divergences) >= self.max_divergences:
            self.stopped = True

    @staticmethod
    def _format_recent(item: TraceEvent | str | None, path: str, counting: bool) -> str:
        """A recent event as tracefs prints it ("" if it is no longer in memory)."""
        if item is None:
            return ""
        return format_event(item if isinstance(item, TraceEvent) else
                            parse_event_line(item, path), counting)

    def _lost(self, lost: LostEvents) -> None:
        """Events were dropped: whatever they could have touched becomes unknown."""
        self._count_unknown("lost-markers")
        self.slots.lost()
        counts = self.report.counts
        counts["lost-events"] = counts.get("lost-events", 0) + (lost.count or 0)
        self._alt.clear()
        self.ratelimit_known = False
        self._count_unknown("fault-cut-by-loss", len(self._deferred))
        self.replayer.ra_cut()  # the lost events may hold faults: the readahead state
        self._deferred.clear()  # their completions may be among the lost events
        self._open.clear()  # their contexts' next events may be among the lost events
        for page in self._early:  # their submissions may be among the lost events
            page.early = None
            page.unknown = True
        self._early.clear()
        self._early_more.clear()
        if lost.cpu is None:  # the oldest events were overwritten: nothing is known yet
            return
        for page in self.pages.values():
            if page.bio is not None or page.submitting:
                page.unknown = True
                if page.submitting == "r":  # the lost events may hold its block_bio_queue
                    page.submitting = ""
        for task in self.tasks.values():
            task.fault = task.read = task.submit = None
        self.fault_entries.clear()
        self._count_unknown("predictions-cut-by-loss", sum(len(e.predicted)
                                                          for e in self.expect.values()))
        self.expect.clear()

    def _check_sector(self, ev: _Event, page: _Page, sector: int, what: str) -> bool:
        """SE-1: ``sector`` is ``swap_page_sector`` of the page's swap entry."""
        if self.oracle.inferring and not sector & 7 and not self.oracle.knows(page.entry):
            # A swap file whose extents the trace does not show: its first I/O places the
            # slot (an input), and every later one is held to it.
            self.oracle.learn(page.entry, sector)
            self.replayer.learn(SwapEntry.from_val(page.entry), sector)
            return True
        self.checks += 1
        try:
            want = self.oracle.sector(page.entry)
        except KernelBug as bug:  # offset_to_swap_extent's BUG(): the slot is in no extent
            self._diverge(
                ev, f"{what} at sector {sector}: the model BUG()s on page {page.addr:#x}'s "
                f"swap entry {SwapEntry.from_val(page.entry)}: {bug}",
                ["a swap entry inside its area's extents"], ("SE-1",), page)
            return False
        if sector == want:
            return True
        self._diverge(
            ev, f"{what} at sector {sector}, but page {page.addr:#x} holds swap entry "
            f"{SwapEntry.from_val(page.entry)}, whose sector is {want}",
            [f"sector={want}"], ("SE-1",), page)
        return False

    # -- expectations -------------------------------------------------------------------

    def _expect(self, ev: _Event, page: _Page, predicted: Sequence[ModelEvent],
                branches: tuple[str, ...], status: int, fresh: bool) -> None:
        key = _ctx(ev)
        last = self.last_completion
        last.pop(key, None)  # least recently completed first, for the bound below
        if len(last) >= MAX_TASKS:
            del last[next(iter(last))]
        last[key] = ev
        if predicted:
            if key not in self.expect and len(self.expect) >= MAX_TASKS:
                oldest = self.expect.pop(next(iter(self.expect)))
                self._count_unknown("predictions-forgotten-for-memory", len(oldest.predicted))
            self.expect[key] = _Expect(ev, page, predicted, branches, status, fresh)

    def _match_expected(self, ev: _Event) -> bool:
        """Compare ``ev`` with what the model emitted in its context; True if it was that."""
        key = _ctx(ev)
        exp = self.expect.get(key)
        if exp is None:
            return False
        if self._alt and key in self._alt and (ev.name != "console"
                                               or _swap_alert(ev.args["msg"])):
            other, state = self._alt.pop(key)
            if not _agrees(exp.predicted, ev) and _agrees(other, ev):
                self._take_other_side(state)
                if not other:  # the side without an alert or end: not one of them
                    del self.expect[key]
                    return False
                exp.predicted = deque(other)
        want = exp.predicted[0]
        if ev.name != want.name:
            if ev.name == "console" and not _swap_alert(ev.args["msg"]):
                return False  # other kernel messages may come between
            self._missed(exp, ev)
            del self.expect[key]
            return False
        msg = ev.args.get("msg", "")
        if exp.fresh and msg.startswith(exp.event.name) and msg.endswith(" suppressed"):
            exp.fresh = False  # alerts suppressed before the trace started: the window reset
            self._count_unknown("suppressed-before-trace")
            return True
        exp.predicted.popleft()
        if not exp.predicted:
            del self.expect[key]
        self.checks += 1
        if ev.name == "console":
            msg = str(want.arg("msg"))
            if ev.args["msg"] != msg:
                self._diverge(
                    exp.event, f"the model printed {msg!r}; the trace printed "
                    f"{ev.args['msg']!r} (line {ev.lineno})", [f"console: {msg}"],
                    exp.branches, exp.page, (ev.lineno,))
            return True
        # end_page_writeback after end_swap_bio_write
        exp.page.note(ev.lineno)
        self._writeback_ended(ev)
        predicted = int(want.arg("pflags")) & WRITE_END_FLAGS
        pflags = ev.arg_int("pflags")
        seen = pflags & WRITE_END_FLAGS
        if predicted ^ seen == _PG_RECLAIM and seen & _PG_RECLAIM and (
                pflags & PG_locked or pflags & ~exp.event.arg_int("pflags") & _PG_ACTIVE):
            # After the error path's ClearPageReclaim (mm/page_io.c:49), reclaim on another
            # CPU met the folio still under writeback: folio_set_reclaim under the folio's
            # lock (mm/vmscan.c:1781, shrink_folio_list's case 2), then activate_locked's
            # PG_active (mm/vmscan.c:2076). No event tells it; the probe shows the lock it
            # holds or the activation it made.
            self._count_unknown("reclaim-set-by-concurrent-reclaim")
        elif predicted != seen:
            self._diverge(
                ev, f"end_page_writeback sees {_flags(seen)}; after end_swap_bio_write "
                f"bi_status={exp.status} (line {exp.event.lineno}) the model has "
                f"{_flags(predicted)} (of error|dirty|reclaim|writeback|uptodate)",
                [f"pflags with exactly {_flags(predicted)} of "
                 "error|dirty|reclaim|writeback|uptodate"],
                (*exp.branches, "EW-3"), exp.page, (exp.event.lineno,))
        elif exp.status == 0 and not exp.page.unknown:
            self._forget(exp.page)
        return True

    def _other_side(self, ev: _Event, status: int, run: Callable[[], Outcome]) -> None:
        """A completion's alert decision within the clock's resolution of its ratelimit
        interval's edge (printk's 5 s, lib/ratelimit.c:42): the trace's jiffies, and those
        of the interval's start, are known only to that resolution, so either side may be
        the kernel's. The other side is run (``run``, the model's completion) on a copy of
        the ratelimit state whose interval began a jiffy across the edge, and kept by
        context (_alt) for the trace's next events there to choose (as check_6_12's)."""
        key = _ctx(ev)
        self._alt.pop(key, None)
        ts = ev.ts
        if self._ts0 is None:
            self._ts0 = ts
        elif self._res_us != 1:
            self._res_us = math.gcd(self._res_us, ts - self._ts0)
        if not status or not self.ratelimit_known:
            return  # a counting clock, lost events: the state is unknown already
        k = self.oracle.k
        rs = k.ratelimits.get(ev.name)  # the call site: pr_alert_ratelimited's
        at_edge = ratelimit_edge(rs, ts, self._res_us)
        if rs is None or at_edge is None:
            return
        jiffies, edge = at_edge
        ratelimits = k.ratelimits
        other = {site: copy.copy(r) for site, r in ratelimits.items()}
        other[ev.name].begin = jiffies - rs.interval - (0 if jiffies > edge else 1)
        k.ratelimits = other
        try:
            predicted = list(run()[1])
        except (KernelBug, EndIoMismatch):
            return  # the same refusal follows
        finally:
            k.ratelimits = ratelimits
        self._alt[key] = (predicted, other)

    def _take_other_side(self, state: dict[str, RatelimitState]) -> None:
        """The trace shows the other side of a decision at the edge (_other_side)."""
        self.oracle.k.ratelimits = state
        self._count_unknown("ratelimit-decision-at-clock-edge")

    def _missed(self, exp: _Expect, ev: _Event) -> None:
        want = exp.predicted[0]
        if want.name == "console" and exp.status and not self.ratelimit_known:
            self._count_unknown("ratelimit-state")  # earlier alerts may have used the burst
            return
        text = f"console: {want.arg('msg')}" if want.name == "console" else (
            f"end_page_writeback: page={exp.page.addr:#x}")
        branches = exp.branches if want.name == "console" else (*exp.branches, "EW-3")
        self._diverge(
            exp.event, f"after this completion the model emits {text!r} next in this "
            f"context; the trace shows {ev.name} (line {ev.lineno}) instead",
            [text], branches, exp.page, (ev.lineno,))

    def _signal_generate(self, ev: _Event) -> None:
        if self.fi is not None:
            self.fi.signal(ev)
        if ev.args.get("sig") == "9" and ev.args.get("res") in ("0", "2"):
            self._sigkill(ev)

    def _sigkill(self, ev: _Event) -> None:
        """A SIGKILL delivered, or already pending (TRACE_SIGNAL_DELIVERED, _ALREADY_PENDING:
        an earlier delivery, perhaps before the trace, did what this one would): an input of
        the faults open now. Which of their tasks it reaches is the model's: the target and
        the open faults' tasks of its thread group (by the trace's tgid column) are mapped to
        model tasks of one group, the model's ``__send_signal_locked`` sends it, and a fault
        whose task then has it pending replays with it (FM-2's killable wait)."""
        from kmodel.executor.base import Executor
        from kmodel.include.linux.sched import SIGKILL, SignalStruct, Task, fatal_signal_pending
        from kmodel.kernel import Kernel
        from kmodel.kernel.signal import PidType, send_signal_locked

        pid = ev.arg_int("pid")
        faults = {task_pid: task.fault for task_pid, task in self.tasks.items()
                  if task.fault is not None}
        if not faults:
            return
        own = faults.get(pid)
        tgid = own.event.context.tgid if own is not None else pid
        group = SignalStruct()
        target = Task(pid=pid, comm=ev.args.get("comm", ""), tgid=tgid or pid, signal=group)
        tasks = {pid: target}
        for task_pid, fault in faults.items():
            context = fault.event.context
            if task_pid != pid and tgid is not None and context.tgid == tgid:
                tasks[task_pid] = Task(pid=task_pid, comm=context.comm, tgid=tgid,
                                       signal=group)
        grp = PidType.PIDTYPE_TGID if ev.args.get("grp", "1") != "0" else PidType.PIDTYPE_PID
        send_signal_locked(Kernel(executor=Executor()), SIGKILL, target, grp)
        for task_pid, task in tasks.items():
            killed = faults.get(task_pid)
            if killed is not None and fatal_signal_pending(task):
                killed.killed = True

    def _fi_diverge(self, ev: _Event, message: str, allowed: list[str],
                    branches: tuple[str, ...]) -> None:
        self._diverge(ev, message, allowed, branches)

    def _console(self, ev: _Event) -> None:
        msg = ev.args["msg"]
        if self.fi is not None and self.fi.console(ev):
            return  # a FAULT_INJECTION notice: checked with its call (faultinject.py)
        if not _swap_alert(msg):
            self._skipped["console (other message)"] = (
                self._skipped.get("console (other message)", 0) + 1)
            return
        self.checks += 1
        read = msg.startswith(("Read", "end_swap_bio_read"))
        branches = ("ER-1", "ER-2", "PR-1") if read else ("EW-1", "EW-2", "PR-1")
        cause = self.last_completion.get(_ctx(ev))
        if cause is not None and cause.name != ("end_swap_bio_read" if read else
                                                "end_swap_bio_write"):
            cause = None
        if cause is None:
            self._diverge(ev, "a swap I/O alert that no completion in this context printed",
                          ["no console line here"], branches)
            return
        status = cause.arg_int("bi_status")
        if status and not self.ratelimit_known:
            self._count_unknown("ratelimit-state")
            return
        other = self._alt.pop(_ctx(ev), None) if self._alt else None
        if other is not None and _agrees(other[0], ev):  # the model's side printed nothing
            self._take_other_side(other[1])
            page = self.pages.get(cause.arg_int("page"))
            if page is not None:
                self._expect(cause, page, other[0], ("EW-1" if not read else "ER-1", "PR-1"),
                             status, False)
                self._match_expected(ev)
            return
        why = (f"bi_status={status}: the model took "
               + ("ER-2" if read else "EW-2") + " and prints nothing" if not status else
               f"bi_status={status}, but the model's ratelimit (10 per 5 s per call site, "
               f"jiffies {self.oracle.k.jiffies}) suppressed this alert")
        page = self.pages.get(cause.arg_int("page"))
        self._diverge(cause, f"the trace prints {msg!r} (line {ev.lineno}); {why}",
                      ["no console line after this completion"], branches, page,
                      (ev.lineno,))

    # -- writes -------------------------------------------------------------------------

    def _swap_writepage(self, ev: _Event) -> None:
        addr = ev.arg_int("page")
        self._wb_started(addr)
        if self._open:
            self._unlocked(addr, ev.lineno)
        page = self._new_life(addr)
        pflags = ev.arg_int("pflags")
        if (not page.unknown and page.bio is None and page.flags & PG_uptodate
                and not pflags & PG_uptodate):
            self.checks += 1
            self._diverge(ev, "the page's last read completed with success, but it is not "
                          "uptodate now", ["pflags with uptodate"], ("ER-2",), page)
        elif (not page.unknown and page.bio is None and page.flags & PG_writeback
                and not pflags & PG_writeback):
            # The model's page, carried from its last completion or replay (no cut since):
            # reclaim writes only a page not under writeback (shrink_folio_list keeps or waits
            # on one at mm/vmscan.c:1755, before pageout at 1950 calls swap_writepage at 1287),
            # and only end_page_writeback clears it, which the model has not done.
            self.checks += 1
            self._diverge(ev, "the model's page is still under writeback (PG_writeback) after "
                          "its last I/O; the trace shows it without writeback, written again",
                          ["the model's page with writeback ended"], ("EW-2", "FM-3"), page)
        page.observe(pflags, ev.arg_int("entry"), ev)
        page.note(ev.lineno)
        self.cache[page.entry] = page
        task = self._task(ev.pid)
        task.write = [ev]
        task.store = None

    def _swap_writepage_inner(self, ev: _Event) -> None:
        addr = ev.arg_int("page")
        self._wb_started(addr)
        page = self._page(addr)
        page.observe(ev.arg_int("pflags"), ev.arg_int("entry"))
        page.note(ev.lineno)
        page.submitting = "W"
        task = self._task(ev.pid)
        task.submit = page
        if task.write is None:  # no swap_writepage around it in the trace
            task.write = [ev]

    def _writepage_ret(self, ev: _Event) -> None:
        task = self._task(ev.pid)
        self.checks += 1
        ret = ev.arg_int("ret")
        page = task.submit
        if ev.name == "__swap_writepage_ret":
            task.submit = None
            if page is not None and page.submitting:
                page.unknown = True  # neither a bio nor rw_page: not modelled here
                self._count_unknown("write-without-bio")
        if ret:
            self._diverge(ev, f"{ev.name[:-4]} returned {ret}; on x86 with a block device it "
                          "returns 0, even when the write fails later", ["ret=0"],
                          ("WP-4", "SW-4"), page)
        events = task.write
        if events is not None and (ev.name == "swap_writepage_ret"
                                   or events[0].name == "__swap_writepage"):
            task.write = None
            self._replay_write(events, ev, task.store)

    def _replay_write(self, events: list[_Event], ev: _Event, store: int | None) -> None:
        """The swap-out is over: run it again on the model (replay.py)."""
        page = self.pages.get(events[0].arg_int("page"))
        if page is None or page.unknown:
            self._count_unknown("write-of-unknown-page")
            return
        verdict = self.replayer.write(events, store)
        self.checks += 1
        if verdict.ok:
            self._adopt(verdict, ev.lineno, events)
            for addr, end_io in verdict.end_io.items():
                bio = self.pages[addr].bio if addr in self.pages else None
                if bio is not None and bio.write and not bio.done:
                    bio.end_io = end_io
            return
        self._replay_diverged(events, verdict, page, f"{events[0].name} of page "
                              f"{page.addr:#x} (line {events[0].lineno})", events[0].lineno)

    def _check_submitted(self, ev: _Event, page: _Page, submitter: str,
                         branches: tuple[str, ...]) -> None:
        """At a completion, the flags the model left at submission are still there.

        Only what nobody else can change while the I/O is in flight is compared: a page the
        model left locked is still locked; writeback and uptodate are as the model left them.
        """
        self.checks += 1
        model = page.flags
        seen = ev.arg_int("pflags") & PAGEFLAGS_MASK
        if not (model & PG_locked and not seen & PG_locked) and not (
                (model ^ seen) & (PG_writeback | PG_uptodate)):
            return
        self._diverge(ev, f"{ev.name} sees {_flags(seen & SUBMIT_FLAGS)}; after {submitter} the "
                      f"model has {_flags(model & SUBMIT_FLAGS)} (of locked|writeback|uptodate)",
                      [f"pflags with {_flags(model & SUBMIT_FLAGS)} of locked|writeback|"
                       "uptodate"], branches, page)

    def _bdev_page(self, ev: _Event) -> None:
        task = self._task(ev.pid)
        page = task.submit
        addr = ev.arg_int("page")
        if page is None or page.addr != addr or page.unknown:
            self._count_unknown(f"{ev.name}-without-call")
            return
        page.note(ev.lineno)
        self._check_sector(ev, page, ev.arg_int("sector"), ev.name)

    def _bdev_write_page_ret(self, ev: _Event) -> None:
        task = self._task(ev.pid)
        page = task.submit
        if page is None or page.submitting != "W":
            return
        page.note(ev.lineno)
        if ev.arg_int("ret") == 0:  # WP-3: rw_page wrote it; no bio
            page.submitting = ""
            task.submit = None

    def _block_bio_queue(self, ev: _Event) -> None:
        task = self.tasks.get(ev.pid)
        if task is None or task.submit is None:
            return
        page = task.submit
        write = "W" in ev.args["rwbs"]
        if page.submitting != ("W" if write else "R"):
            return
        task.submit = None
        page.submitting = ""
        if self.fi is not None:
            self.fi.queued(ev, write)  # it passed should_fail_bio
        sector = ev.arg_int("sector")
        read = task.read
        bio = _Bio(ev, write, sector, bool(read is not None and read.sync and not write))
        page.bio = bio
        if page.early is not None:  # its completion was printed first: a tie?
            bio.done = True
            page.bio = None
            done = page.early
            if self._early_bio(page, ev):
                self._completed_first(page, done, task)
            if self._early_more:
                self._next_early(page)
        page.note(ev.lineno)
        if read is not None and not write:
            read.bio = bio
        if not page.unknown:
            self._check_sector(ev, page, sector, "block_bio_queue")

    def _completion(self, ev: _Event, write: bool) -> tuple[_Page, _Bio | None]:
        """Match an ``end_swap_bio_*`` with its bio: once, after its submission (BIO-2)."""
        page = self._page(ev.arg_int("page"))
        page.note(ev.lineno)
        bio = page.bio
        sector = ev.arg_int("sector")
        prev = next((b for b in page.prev_bio
                     if b.write == write and not b.done and b.sector == sector), None)
        if prev is not None and bio is not None and (bio.sector != sector or (
                not write and tie(page.life_ts, page.life_cpu, ev.ts, ev.context.cpu))):
            # a last life's bio (below), not this life's: of another sector, or a read of
            # this sector completing at the tick this life began (a coarse clock prints a
            # tick CPU by CPU; a page is locked while it is read: that read ended first)
            bio = None
        if bio is not None and bio.write == write and not bio.done:
            bio.done = True
            page.bio = None
            page.completed = True
            if not page.unknown:
                self.checks += 1
                if sector != bio.sector:
                    self._check_sector(ev, page, sector, ev.name)
            return page, bio
        if prev is None:
            prev = next((b for b in page.prev_bio if b.write == write and not b.done), None)
        if prev is not None and page.life_lineno >= 0 and (
                tie(page.life_ts, page.life_cpu, ev.ts, ev.context.cpu)):
            # A last life's bio, completing at the timestamp this life began (a tie): it is
            # checked on a page of its own; this life goes on untouched.
            prev.done = True
            i = page.prev_bio.index(prev)
            page.prev_bio = page.prev_bio[:i] + page.prev_bio[i + 1:]
            if write:
                self._past_writeback.add(page.addr)  # its end_page_writeback is that life's
            past = _Page(page.addr)
            past.observe(ev.arg_int("pflags"), page.entry)
            past.completed = True
            return past, prev
        if (self.fi is not None and page.submitting == ("W" if write else "R")
                and self.fi.failed(ev, write)):
            # FI-1: ended at should_fail_bio, before block_bio_queue (faultinject.py).
            task = self.tasks.get(ev.pid)
            if task is not None and task.submit is page:
                task.submit = None
            if write and task is not None and task.write is not None:
                task.write.append(ev)  # the swap-out's replay fails it there too
            page.submitting = ""
            page.completed = True
            return page, None
        if page.submitting == "r" and not write:  # no submission can follow: it returned
            page.submitting = ""
            self.checks += 1
            self._diverge(ev, f"{ev.name} of a page whose swap_readpage (line "
                          f"{page.history[-2] if len(page.history) > 1 else '?'}) returned "
                          "without block_bio_queue: this completion proves a bio, and "
                          "submit_bio traces block_bio_queue for every bio",
                          ["block_bio_queue of the page's bio before its completion"],
                          ("BIO-2", "RD-10"), page)
            return page, None
        if page.early is None:  # its submission may follow at this timestamp: _early_bio
            page.early = ev
            page.early_known = not page.unknown
            self._early.append(page)  # unknown only if no submission follows (_early_bio)
            return page, None
        if page.unknown:
            self._count_unknown("completion-of-unknown-page")
            return page, None
        if ev.ts == page.early.ts:  # a later life's, its submission after the first's
            self._early_more.setdefault(page.addr, []).append((ev, True))
            return page, None
        self._early_bio(page)
        return page, None

    def _next_early(self, page: _Page) -> None:
        """The page's first early completion is settled: the next one at its timestamp
        (_early_more) awaits its submission now."""
        more = self._early_more.get(page.addr)
        if more and page.early is None:
            page.early, page.early_known = more.pop(0)
            if not more:
                del self._early_more[page.addr]
            self._early.append(page)

    def _completed_first(self, page: _Page, ev: _Event, task: _Task) -> None:
        """The bio just queued completed at ``ev``, printed earlier (a tie): its effects
        now — the fault that waits for it sees the completion, the page the model's flags
        after it (a success's are memoized; an error's ratelimit state was used already, at
        the completion: a copy is used again, for the flags)."""
        status = ev.arg_int("bi_status")
        read = ev.name == "end_swap_bio_read"
        page.completed = True
        if task.fault is not None and read:
            task.fault.completions.append(Completion(
                ev.lineno, ev.ts, ev.context.cpu, page.addr, status,
                ev.arg_int("pflags") & PAGEFLAGS_MASK, ev.arg_int("waiter") != 0,
                _advanced(ev)))
        if page.unknown:
            self._count_unknown("tied-completion-of-failed-io")
            return
        # The flags its probe printed, as at any completion (_end_swap_bio_write): the
        # model's from the swap-out's replay come at its return, after this bio's queueing.
        args = (ev.arg_int("pflags") & PAGEFLAGS_MASK, status, ev.arg_int("sector"),
                ev.arg_int("size"), ev.arg_int("opf"), ev.arg_int("dev"))
        k = self.oracle.k
        ratelimits = k.ratelimits
        if status:  # its alert was checked as printed: a copy of the state, used again
            k.ratelimits = {site: copy.copy(rs) for site, rs in ratelimits.items()}
        try:
            page.flags = (self.oracle.complete_read(*args, None, ev.ts)[0] if read
                          else self.oracle.complete_write(*args, ev.ts)[0])
        except KernelBug:
            page.unknown = True
            self._count_unknown("tied-completion-of-failed-io")
        finally:
            k.ratelimits = ratelimits

    def _early_bio(self, page: _Page, queued: _Event | None = None) -> bool:
        """A completion printed before its bio's ``block_bio_queue`` (or with none): fine
        only when the two have equal timestamps, the completion on a lower CPU (a tie)."""
        ev = page.early
        assert ev is not None
        page.early = None
        if queued is not None and tie(ev.ts, ev.context.cpu, queued.ts,
                                      queued.context.cpu):
            return True
        if not page.early_known:  # a completion of a page whose history was cut
            self._count_unknown("completion-of-unknown-page")
            return False
        write = ev.name == "end_swap_bio_write"
        self.checks += 1
        submit = "WP-4" if write else "RD-10"
        if page.submitting:
            why = (f"the bio of {'__swap_writepage' if write else 'swap_readpage'} (line "
                   f"{page.history[-2] if len(page.history) > 1 else '?'}) completes "
                   "before block_bio_queue submitted it")
        else:
            why = "no bio of this page is in flight (completed already, or never submitted)"
        self._diverge(ev, f"{ev.name}: {why}",
                      ["a completion only after block_bio_queue of the page's bio, once"],
                      ("BIO-2", submit), page)
        return False

    def _end_swap_bio_write(self, ev: _Event) -> None:
        if self._deferred or self._early:
            self._flush(ev.ts)
        page, bio = self._completion(ev, write=True)
        status = ev.arg_int("bi_status")
        if bio is not None and bio.modelled and not page.unknown:
            self._check_submitted(ev, page, "__swap_writepage", ("WP-4",))
        branches = ("EW-1", "PR-1") if status else ("EW-2",)
        fresh = ev.name not in self.oracle.k.ratelimits
        end_io = UNKNOWN_END_IO if bio is None else bio.end_io

        # The completion's args, converted once: run() may be called twice (_other_side).
        args = (ev.arg_int("pflags") & PAGEFLAGS_MASK, status, ev.arg_int("sector"),
                ev.arg_int("size"), ev.arg_int("opf"), ev.arg_int("dev"), ev.ts, end_io)

        def run() -> Outcome:
            return self.oracle.complete_write(*args)

        self._other_side(ev, status, run)
        try:
            page.flags, predicted = run()
        except KernelBug as bug:
            self._diverge(ev, f"the model forbids this completion: {bug}",
                          ["a page under writeback"], ("EW-3", "FM-3"), page)
            return
        except EndIoMismatch as wrong:
            self.checks += 1
            self._diverge(ev, f"bio_endio of the model's write bio (queued at line "
                          f"{bio.event.lineno if bio is not None else '?'}) runs {wrong}, the "
                          "trace end_swap_bio_write", ["bi_end_io = end_swap_bio_write"],
                          ("BIO-2", "WP-4"), page)
            return
        self.checks += 1
        self._expect(ev, page, predicted, branches, status, fresh)

    def _end_page_writeback(self, ev: _Event) -> None:
        if self._writeback_ended(ev):
            return
        page = self.pages.get(ev.arg_int("page"))
        if page is None:
            return
        page.note(ev.lineno)
        if page.bio is not None and page.bio.write and not page.unknown:
            self.checks += 1
            self._diverge(ev, f"writeback ends while the page's bio (line "
                          f"{page.bio.event.lineno}) has not completed",
                          ["end_page_writeback only from end_swap_bio_write"],
                          ("EW-3",), page)

    def _writeback_ended(self, ev: _Event) -> bool:
        """FM-3: writeback ends only once per start. True if this end is one the kernel
        BUG()s on (flagged): the probe shows no PG_writeback, or the page's writeback ended
        already (line N) and no swap_writepage started another."""
        addr = ev.arg_int("page")
        if addr in self._past_writeback:  # a last life's writeback ending (a tie)
            self._past_writeback.discard(addr)
            return False
        pflags = ev.arg_int("pflags") & PAGEFLAGS_MASK
        early = self.pages.get(addr)
        ended = self._wb_ended.get(addr) if early is None else early.wb_ended
        if early is not None and early.early is not None:
            return False  # its bio's submission is printed after it (a tie, _early_bio)
        if pflags & PG_writeback and (ended is None or pflags & PG_swapcache != PG_swapcache):
            if pflags & PG_swapcache == PG_swapcache:
                if early is not None:
                    early.wb_ended = ev.lineno
                else:
                    self._set_wb_ended(addr, ev.lineno)
            return False
        flags = pflags & ~PG_writeback  # the model's page: its writeback ended at `ended`
        try:
            end_page_writeback(self.oracle.k, Folio(flags=flags))
        except KernelBug as bug:
            self.checks += 1
            page = self.pages.get(addr)
            if page is not None:
                page.note(ev.lineno)
            why = ("the probe shows it without PG_writeback" if ended is None else
                   f"its writeback ended at line {ended} and no swap_writepage started another")
            self._diverge(ev, f"end_page_writeback of page {addr:#x}: {why}; the model "
                          f"BUG()s: {bug}", ["end_page_writeback once per writeback started"],
                          ("FM-3", "EW-3"), page, () if ended is None else (ended,))
            return True
        return False

    # -- reads --------------------------------------------------------------------------

    def _swap_readpage(self, ev: _Event) -> None:
        page = self._new_life(ev.arg_int("page"))
        page.observe(ev.arg_int("pflags"), ev.arg_int("entry"), ev)
        page.note(ev.lineno)
        page.submitting = "R"
        self.cache[page.entry] = page
        sync = ev.arg_int("synchronous") != 0
        task = self._task(ev.pid)
        task.read = _Read(ev, page, sync)
        task.submit = page
        flags = page.flags
        self.checks += 1
        if not flags & PG_locked or flags & PG_uptodate or not (
                sync or flags & PG_swapcache == PG_swapcache):
            self._diverge(ev, f"swap_readpage of a page with {_flags(flags)}: the model "
                          "requires it locked, not uptodate, and in the swap cache unless "
                          "synchronous (VM_BUG_ON_PAGE)",
                          ["pflags with locked, without uptodate"], ("RD-1",), page)

    def _bdev_read_page_ret(self, ev: _Event) -> None:
        task = self._task(ev.pid)
        page = task.submit
        if page is None or page.submitting != "R":
            return
        page.note(ev.lineno)
        if ev.arg_int("ret") == 0:  # RD-5: the driver read it; no bio
            page.submitting = ""
            task.submit = None
            if task.read is not None:
                task.read.page = page

    def _swap_readpage_ret(self, ev: _Event) -> None:
        task = self._task(ev.pid)
        read, task.read = task.read, None
        self.checks += 1
        ret = ev.arg_int("ret")
        page = read.page if read is not None else None
        if ret:
            self._diverge(ev, f"swap_readpage returned {ret}; it returns 0 even when the read "
                          "fails (errors show only in the page flags)", ["ret=0"],
                          ("RD-12",), page)
            return
        if read is None or page is None:
            return
        if page.submitting == "R":
            task.submit = None
            page.submitting = "r"  # returned without a bio seen: a completion would prove one
            if task.fault is not None:
                return  # frontswap's load (RD-3): the fault's replay checks it
            page.unknown = True  # no fault around it to replay: not checked
            self._count_unknown("read-without-bio")
            return
        bio = read.bio
        if read.sync and bio is not None and not bio.done and not page.unknown:
            bio.early_ret = ev  # judged at the completion: it may be a tie (_early_return)

    def _early_return(self, ev: _Event, page: _Page, bio: _Bio) -> None:
        """A synchronous read's completion printed after its return: a tie, or RD-11."""
        ret = bio.early_ret
        assert ret is not None
        if tie(ret.ts, ret.context.cpu, ev.ts, ev.context.cpu):
            return  # equal timestamps on two CPUs: printed CPU 0 first, whatever the order
        self._diverge(ret, f"synchronous swap_readpage returns before its bio (line "
                      f"{bio.event.lineno}) completed (line {ev.lineno}): it waits until "
                      "end_swap_bio_read clears bi_private",
                      ["end_swap_bio_read with waiter set first"], ("RD-11", "ER-4"), page,
                      (bio.event.lineno, ev.lineno))

    def _end_swap_bio_read(self, ev: _Event) -> None:
        ts = ev.ts
        if self._deferred or self._early:
            self._flush(ts)
        page, bio = self._completion(ev, write=False)
        if bio is not None and bio.early_ret is not None:
            self._early_return(ev, page, bio)
        status = ev.arg_int("bi_status")
        waiter_ptr = ev.arg_int("waiter")
        pflags = ev.arg_int("pflags") & PAGEFLAGS_MASK
        done = Completion(ev.lineno, ts, ev.context.cpu, page.addr, status, pflags,
                          waiter_ptr != 0, _advanced(ev))
        for task in self.tasks.values():
            if task.fault is not None:
                task.fault.completions.append(done)
        for fault, _ret in self._deferred:  # returned at this very timestamp: a tie
            fault.completions.append(done)
        ctx = _ctx(ev)
        open_ = self._open.get(ev.context.cpu)
        if open_ is None or open_[0] != ctx:
            open_ = self._open[ev.context.cpu] = (ctx, [])
        open_[1].append(done)
        if bio is not None and bio.modelled and not page.unknown:
            self._check_submitted(ev, page, "swap_readpage", ("RD-7", "ER-3"))
        waiter = None
        if waiter_ptr:
            waiter = self.oracle.waiter(bio.pid if bio is not None else 0, "waiter")
        if bio is not None and not page.unknown:
            self.checks += 1
            if bio.sync != bool(waiter_ptr):
                sub = bio.event
                self._diverge(
                    ev, f"waiter={waiter_ptr:#x}, but the read was submitted with "
                    f"synchronous={int(bio.sync)} (line {sub.lineno}): bi_private holds the "
                    "task exactly when swap_readpage is synchronous",
                    [f"waiter={'<the submitting task>' if bio.sync else '0x0'}"],
                    ("RD-8", "ER-4") if bio.sync else ("RD-9", "ER-5"), page, (sub.lineno,))
        fresh = ev.name not in self.oracle.k.ratelimits

        # The completion's args, converted once: run() may be called twice (_other_side).
        args = (pflags, status, ev.arg_int("sector"), ev.arg_int("size"), ev.arg_int("opf"),
                ev.arg_int("dev"), waiter, ev.ts)

        def run() -> Outcome:
            return self.oracle.complete_read(*args)

        self._other_side(ev, status, run)
        try:
            page.flags, predicted = run()
        except KernelBug as bug:
            self._diverge(ev, f"the model forbids this completion: {bug}",
                          ["a locked page under read"], ("ER-3",), page)
            return
        self.checks += 1
        self._expect(ev, page, predicted, ("ER-1", "PR-1") if status else ("ER-2",), status,
                     fresh)

    # -- faults -------------------------------------------------------------------------

    def _do_swap_page(self, ev: _Event) -> None:
        entry = swap_entry(ev.arg_int("orig_pte"), pte=True).val
        target = self.cache.get(entry)
        if target is not None and target.entry != entry:
            target = None
        task = self._task(ev.pid)
        if task.fault is not None:  # the last fault's return is missing: never replayed
            self.replayer.ra_cut()
            self._fault_closed(task.fault)
        fault = task.fault = _Fault(ev, entry, ev.arg_int("fault_flags"), target)
        self.fault_entries.setdefault(entry, []).append(fault)
        if self.slots.active:  # the slot count the fault meets (G2)
            fault.slots[ev.lineno] = self.slots.seed(SwapEntry.from_val(entry))
        if target is not None:
            # A completion of the page that entered before the fault but may not have
            # unlocked it yet (Completion.until): the fault may find it either way.
            fault.completions.extend(c for _ctx_, cs in self._open.values() for c in cs
                                     if c.page == target.addr)

    def _do_swap_page_ret(self, ev: _Event) -> None:
        """The fault is over: it is replayed once the timestamp moves on (_flush), so that a
        completion of the same timestamp on another CPU, printed after it, is seen."""
        task = self._task(ev.pid)
        fault, task.fault = task.fault, None
        if fault is None:
            self._count_unknown("fault-return-without-entry")
            self.replayer.ra_cut()
            return
        self._fault_closed(fault)
        target = self.cache.get(fault.entry)
        addrs = {e.arg_int("page") for e in fault.events if "page" in e.args}
        if target is not None and target.entry == fault.entry:
            addrs.add(target.addr)
        fault.end = (target.addr if target is not None and target.entry == fault.entry
                     else None, addrs)
        self._deferred.append((fault, ev))

    def _flush(self, ts: int = -1) -> None:
        """The timestamp moved on to ``ts`` (the end: -1): replay the faults that returned
        before it; a completion printed before its bio's submission must have had one."""
        if self._early:
            early, self._early = self._early, []
            for page in early:
                if page.early is None:
                    continue
                if ts >= 0 and page.early.ts >= ts:
                    self._early.append(page)
                    continue
                while page.early is not None:  # and the ones queued after it
                    self._early_bio(page)
                    self._next_early(page)
                    if page.early is not None:
                        self._early.remove(page)  # judged here, not kept
        deferred = self._deferred
        while deferred and (ts < 0 or deferred[0][1].ts < ts):
            fault, ev = deferred.pop(0)
            self._replay_fault(fault, ev)

    def _replay_fault(self, fault: _Fault, ev: _Event) -> None:
        """Run the fault again on the model, with the trace's inputs (replay.py)."""
        target = self.cache.get(fault.entry)
        target_addr = target.addr if target is not None and target.entry == fault.entry else (
            fault.end[0] if fault.end is not None else None)  # else as it was at the return
        replayer = self.replayer
        seeds = self._fault_slots(fault)
        verdict = replayer.fault(
            fault.events, fault.completions,
            lambda addr: self._known(addr, fault), target_addr,
            self._ra_mark, replayer.ra_carry and self._ra_ordered(fault, ev), seeds,
            fault.killed, fault.held)
        if verdict is None:
            self._count_unknown("fault-not-replayable")
            return
        if not verdict.ok and self._within_a_tick(fault, ev):
            self._count_unknown("fault-order-within-a-tick")
            return
        self.checks += 1
        if verdict.ok:
            if verdict.ra_carried:  # the window predicted exactly (G2), in this one check
                counts = self.report.counts
                counts["checks:readahead-state"] = counts.get("checks:readahead-state", 0) + 1
            for addr, line in verdict.ra_lines.items():
                page = self.pages.get(addr)
                if page is not None and 0 <= page.life_lineno <= line:
                    flags = verdict.flags.get(addr)
                    page.ra = None if flags is None else bool(flags & PG_READAHEAD)
            self._adopt(verdict, ev.lineno, fault.events)
            return
        self._replay_diverged(fault.events, verdict, fault.target,
                              f"do_swap_page of {SwapEntry.from_val(fault.entry)} (line "
                              f"{fault.event.lineno})", fault.event.lineno)

    def _ra_ordered(self, fault: _Fault, ev: _Event) -> bool:
        """Whether no other fault may have run during this one (returning at ``ev``): only
        then is the readahead state it meets the one carried from the faults before (G2).
        Faults are replayed in the order they returned; a tie may reverse two lines."""
        last, self._ra_last = self._ra_last, ev
        start = fault.event
        if last is not None and (last.lineno > start.lineno or tie(
                last.ts, last.context.cpu, start.ts, start.context.cpu)):
            return False
        # Another CPU faulted within this fault's span (equal timestamps included: a coarse
        # clock prints a jiffy's events CPU by CPU, whatever their order): its hit or
        # readahead may have come first.
        cpu = start.context.cpu
        if any(c != cpu and ts >= start.ts for c, ts in self._fault_ts.items()):
            return False
        lineno = ev.lineno
        return not any(f.event.lineno < lineno for f, _ in self._deferred) and not any(
            t.fault is not None and t.fault.event.lineno < lineno for t in self.tasks.values())

    def _ra_mark(self, addr: int) -> bool | None:
        """PG_readahead of a trace page as the model left it in this life (None: unknown)."""
        page = self.pages.get(addr)
        return None if page is None or page.unknown else page.ra

    def _known(self, addr: int, fault: _Fault) -> tuple[int, bool] | None:
        """A page as a fault found it in the swap cache: (model flags, a read in flight).

        The lookup is not probed: it happened somewhere in the fault, so the page is taken
        as it was before any completion of it meanwhile. None: its state is unknown.
        """
        page = self.pages.get(addr)
        if page is None or page.unknown or page.life_lineno > fault.events[-1].lineno:
            return None  # unknown, or begun anew since the fault returned (a replay deferred
            # to the timestamp's end meets the page's later life: a jiffy's hundreds of lines)
        for c in fault.completions:
            if c.page == addr:
                return (c.pflags, True)
        return (page.flags, page.bio is not None and not page.bio.write and not page.bio.done)

    def _adopt(self, verdict: Verdict, lineno: int, events: Sequence[_Event] = ()) -> None:
        """After a conformant replay of the call of ``events``, returned at ``lineno``, the
        pages have the model's flags."""
        start = events[0].lineno if events else 0
        for addr, flags in verdict.flags.items():
            page = self.pages.get(addr)
            if page is None or page.unknown or page.completed or (
                    page.history and page.history[-1] > lineno):
                continue  # unknown, completed (the trace's flags), or moved on since (_flush)
            life = page.life_lineno
            if life >= 0 and life > start and not any(e.lineno == life for e in events):
                continue  # freed and begun anew by another task during the call
            page.note(lineno)
            page.flags = flags
            if page.bio is not None and not page.bio.done:
                page.bio.modelled = True

    def _replay_diverged(self, events: Sequence[_Event], verdict: Verdict,
                         page: _Page | None, what: str, first: int) -> None:
        index = min(verdict.index, len(events) - 1)
        at = events[index]
        if at.name in ("swap_readpage", "swap_writepage", "__swap_writepage",
                       "end_swap_bio_read"):
            page = self.pages.get(at.arg_int("page"), page)
        tie = (" (a completion's unlock may come before or after some of this task's events"
               " — a tie of equal timestamps on two CPUs, or its context printed nothing "
               "since its entry: its earliest and latest places were tried)") if verdict.tie else ""
        if verdict.raised:  # the model's code raised: no branch of it was reached, no tie
            self._diverge(at, f"{what}: {verdict.message}", verdict.allowed, (), page,
                          (first,) if first != at.lineno else (), verdict.kind)
            return
        self._diverge(at, f"{what}: {verdict.message}{tie}", verdict.allowed,
                      _REPLAY_BRANCHES.get(at.name, ("DS-8",)) if at.name != "do_swap_page_ret"
                      else _ret_branches(verdict.allowed), page,
                      (first,) if first != at.lineno else ())


_RET = re.compile(r"\bret=(-?\d+)")
_EXTENT = re.compile(r"\btype=(\d+) start_page=(\d+) nr_pages=(\d+) start_block=(\d+)")


def _advanced(ev: _Event) -> int:
    """The size a read completion shows, when it proves a request-based device: 0, what
    bio_advance leaves of a bio whose request completed (block/blk-mq.c:776), which the
    replay's model device (request-based) must leave too. A bio-based device (device mapper,
    brd) or a bio failed before it was queued (FI-1) shows the bio unadvanced: -1, not
    compared (nothing in every recording says which device kind the trace has)."""
    size = ev.arg_int("size")
    return size if size == 0 else -1


def _clone(events: list[_Event], ev: _Event) -> bool:
    """A device mapper's clone of the bio just queued (its ``block_bio_queue`` repeats)."""
    last = events[-1]
    return (last.name == "block_bio_queue" and last.args["sector"] == ev.args["sector"]
            and last.args["rwbs"] == ev.args["rwbs"])


#: The branches a replay divergence at an event names.
_REPLAY_BRANCHES: dict[str, tuple[str, ...]] = {
    "swapin_readahead": ("DS-1", "DS-2"),
    "swapin_readahead_ret": ("DS-2", "DS-3"),
    "swap_cluster_readahead": ("DS-2", "CR-5"),
    "swap_cluster_readahead_ret": ("CR-1", "CR-4"),
    "__read_swap_cache_async": ("CR-1", "CR-2"),
    "__read_swap_cache_async_ret": ("RA-1", "RA-2", "RA-4"),
    "swap_readpage": ("DS-1", "CR-1", "CR-3", "RA-5"),
    "swap_readpage_ret": ("RD-11", "RD-12"),
    "bdev_read_page": ("RD-5", "SE-1"),
    "bdev_read_page_ret": ("RD-5", "RD-6"),
    "block_bio_queue": ("RD-7", "SE-1"),
    "swap_writepage": ("SW-1", "SW-3"),
    "swap_writepage_ret": ("SW-3", "SW-4"),
    "__swap_writepage": ("SW-4",),
    "__swap_writepage_ret": ("WP-3", "WP-4"),
    "bdev_write_page": ("WP-3", "SE-1"),
    "bdev_write_page_ret": ("WP-3", "WP-4"),
}


def _ret_branches(allowed: Sequence[str]) -> tuple[str, ...]:
    """The ``do_swap_page`` branches behind the returns the model allowed."""
    out: list[str] = []
    for text in allowed:
        ret = int(text.split()[0], 16) if text.startswith("0x") else 0
        if ret & SIGBUS:
            out += ["DS-7", "ER-1"]
        if ret & RETRY:
            out += ["DS-5"]
        if ret & OOM:
            out += ["DS-3"]
    out += ["DS-4", "DS-8"]
    return tuple(dict.fromkeys(out))


# -- entry points -------------------------------------------------------------------------


def _progress(path: str, lines: Iterable[str], stream: TextIO) -> Iterator[str]:
    """Yield ``lines``, drawing a progress bar from line numbers vs. the estimated total."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    per_line = max(1, len(head) // max(1, head.count(b"\n")))
    total = max(1, size // per_line)
    step = 1 << 15
    for n, line in enumerate(lines, 1):
        yield line
        if n % step == 0:
            done = min(1.0, n / total)
            bar = "#" * int(done * 30)
            stream.write(f"\rkmodel check {os.path.basename(path)} [{bar:<30}] {done:4.0%}")
            stream.flush()
    stream.write("\r" + " " * 60 + "\r")
    stream.flush()


PROGRESS_MIN_BYTES = 16 << 20


def _page_cluster(path: str, lineno: int, line: str) -> int:
    """The value of a ``# page-cluster: N`` header line (0..31: ``1 << N`` is an int shift in
    swapin_nr_pages), or a TraceFormatError naming the line."""
    text = line.split(":", 1)[1].strip()
    if not (text.isdigit() and int(text) <= 31):
        raise TraceFormatError(path, lineno, "expected '# page-cluster: N' with N in 0..31",
                               line.rstrip("\n"))
    return int(text)


#: check_6_12's HEADER_LINES_MAX and KERNEL_LINE (tests/trace/test_startup.py: the same).
_HEADER_LINES_MAX = 64
_KERNEL_LINE = b"# kernel:"


def _may_name_kernel(path: str | os.PathLike[str]) -> bool:
    """Whether ``check_6_12.trace_kernel`` may find a ``# kernel:`` line in the file.

    False only when it cannot: not a regular file, or a plain-text trace whose header,
    whole within its first 64 KiB, has no such line and whose first events there are not
    6.12's (``recorders.events_kernel``). Then the file is checked as 6.1 without importing
    the 6.12 checker and its model (~10 ms of start-up).
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        return False  # trace_kernel peeks regular files only
    if compression(name) is not None:
        return True
    from kmodel.trace.recorders import head_kernel, recording_kind

    if recording_kind(name) != "text":
        return True  # converted first: their lines are not the file's
    with open(name, "rb") as f:
        head = f.read(1 << 16)
    lines = head.split(b"\n")
    for lineno, line in enumerate(lines[:-1], 1):  # the complete lines
        if lineno > _HEADER_LINES_MAX or not line.startswith(b"#"):
            return head_kernel(head, name) == "6.12"  # its first events may tell
        if line.startswith(_KERNEL_LINE):
            return True
    return True  # the header goes on past what was read


def check_trace(source: Source | Iterable[TraceEvent | LostEvents], *, max_divergences: int = 20,
                name: str | None = None, progress: TextIO | None = None,
                page_cluster: int | None = None,
                missed: Mapping[str, int] | None = None,
                kernel: str | None = None) -> CheckReport:
    """Check a trace (a path, an open text stream, or parsed events) against the model.

    Raises TraceFormatError for a trace that cannot be parsed, OSError for a file that cannot
    be read. ``progress``: a stream (a terminal) for a progress bar on large files.
    ``missed``: hits each probe missed (``read_kprobe_profile``); what they may explain is
    unknown, not divergent. After ``max_divergences`` the rest is only read and counted.
    ``kernel``: "6.1" or "6.12"; default: the file's ``# kernel:`` header line, else what its
    first events tell (``check_6_12.trace_kernel``), else 6.1.
    A 6.12 trace is checked by :mod:`kmodel.trace.check_6_12` on the 6.12 model.
    """
    if kernel != "6.1" and (kernel is not None or (isinstance(source, str | os.PathLike)
                                                    and _may_name_kernel(source))):
        from kmodel.trace.check_6_12 import check_trace_6_12, resolve_kernel

        if resolve_kernel(source, kernel) == "6.12":
            return check_trace_6_12(source, max_divergences=max_divergences,
                                    name=name, missed=missed)
    start = time.perf_counter()
    if isinstance(source, str | os.PathLike) or hasattr(source, "read"):
        text_source = cast(str | os.PathLike[str] | TextIO, source)
        source_file = os.fspath(source) if isinstance(source, str | os.PathLike) else None
        with open_trace(text_source, name) as (lines, path):
            checker = Checker(path, max_divergences=max_divergences, source=source_file,
                              page_cluster=page_cluster, missed=missed)
            if (progress is not None and source_file is not None
                    and os.path.getsize(source_file) >= PROGRESS_MIN_BYTES):
                lines = _progress(source_file, lines, progress)
            scanner = LineScanner(path)
            checker.feed_lines(scanner, lines)
            if checker.stopped:
                checker.events += scanner.count_rest(lines, checker.report.stopped_at or 0)
    else:
        checker = Checker(name or "<events>", max_divergences=max_divergences,
                          page_cluster=page_cluster, missed=missed)
        items = iter(source)
        checker.feed_all(items)
        if checker.stopped:
            checker.events += sum(1 for item in items if not isinstance(item, LostEvents))
    report = checker.finish()
    report.seconds = time.perf_counter() - start
    return report
