"""``kmodel check`` for Linux 6.12.118 traces: the 6.12 probes' events, checked on the 6.12 model.

No kernel counterpart. A trace says its kernel in the ``# kernel: 6.12.118`` header line that
``kmodel capture --kernel 6.12`` writes (:func:`trace_kernel`); ``check_trace(...,
kernel="6.12")`` and ``kmodel check --kernel 6.12`` force it. The 6.12 capture's probes
(:mod:`kmodel.capture.probes612`) print other arguments than 6.1's (``folio=``, no
``waiter=``, ``zswap_*``, ``__end_swap_bio_*``) and 6.12's request tracepoints print the
ioprio (``104 + 416 be,0,4 [0]``): :data:`EVENT_ARGS_6_12` and :data:`BLOCK_FORMATS_6_12`.

What is checked, as the 6.1 checker does it (the model is the oracle: the 6.12 model's own
``__end_swap_bio_read``, ``__end_swap_bio_write``, ``folio_end_writeback`` and
``swap_folio_sector`` run on the trace's inputs):

- every ``__end_swap_bio_{read,write}`` runs the 6.12 model's function on a bio with the
  trace's ``bi_status`` for a folio with the probe's flags; what it then does must be what
  the trace shows next in the same context: the ``Read-error``/``Write-error`` alert (its
  text, and its presence under the model's ratelimit, jiffies from the timestamps) and
  ``folio_end_writeback`` with exactly the model's writeback/uptodate/dirty/reclaim
  bits (EW-1..EW-3, ER-1, ER-3, PR-1); a swap alert no completion predicts is a divergence;
- a read's outcome: the folio's next ``swap_writepage`` shows ``PG_uptodate`` as the model
  left it (ER-2);
- ``folio_end_writeback`` only of a folio under writeback, once per ``__swap_writepage``
  (the shared ``folio_end_writeback``, FM-3), and each completion once per submission (BIO-2);
- an async bio's ``end_swap_bio_*`` is followed in its context by ``__end_swap_bio_*`` of
  the same bio, as the model's ``end_swap_bio_*`` calls it (ER-4, EW-4);
- the sector of each swap bio (its ``block_bio_queue`` in the submitter's context, and the
  completion) is the model's ``swap_folio_sector`` of the folio's slot through the extents
  the trace's ``add_swap_extent`` shows (WS-1/WA-1 for writes, RS-1/RB-1 for reads).

- every swap-out (``swap_writepage`` … ``swap_writepage_ret``) and every read
  (``swap_read_folio`` … ``swap_read_folio_ret``) is replayed on the 6.12 model
  (:mod:`kmodel.trace.replay_6_12`): its zeromap / zswap / bio choice, the on-stack or
  allocated bio, the folio flags, ``swap_writepage``'s return; a read of a slot whose swap-out
  the trace showed must take the path that swap-out left it on (zeromap, zswap, device).

- every fault (``do_swap_page`` … ``do_swap_page_ret``) runs the 6.12 model's
  ``do_swap_page``: its path (swap cache hit, SWP_SYNCHRONOUS_IO read, ``swapin_readahead``)
  and its return code (DS-1..DS-8), with the folio it found in the state the trace's history
  and the model's earlier replays left it; cluster and VMA readaheads run the model's
  ``swap_cluster_readahead`` / ``swap_vma_readahead`` (CR-1..CR-5);
- a ``block_rq_complete`` (and ``block_rq_error``) or ``block_bio_complete`` is held to the
  status its swap bio then completes with, through the model's ``blk_update_request`` and
  ``blk_status_to_errno`` (DEV-1).

Inputs, not outcomes (counted ``input:<what>``, apart from checks and unknowns; the trace
shows them and the model is fed them, as it is fed which page reclaim picks): what each
readahead lookup found (``input:readahead-lookup``: free, cached or new, decided by reclaim and
other tasks), zswap's answer to a store (``input:zswap-answer``), a read's slot state when the
trace lacks the slot's swap-out (``input:read-slot-state``), lock contention in a fault
(``input:fault-lock-contention``), the readahead kind where the header does not tell it.
What is not checked on 6.12 (counted unknown, never divergent): the state of a cached folio a
fault finds that the trace never showed (``unknown:fault-cached-folio-state-assumed``); large
folios (mTHP) are not replayed (``unknown:not-replayed-6.12:<event>``);
``block_rq_issue`` is read, not checked (``unknown:not-mapped-6.12:<event>``).
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar, cast

from kmodel.block.bdev import BlockDevice
from kmodel.block.blk_core import Request, blk_status_to_errno
from kmodel.errors import KernelBug, KmodelError, TraceFormatError
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, Bio
from kmodel.include.linux.mm_types import SWP_TYPE_SHIFT, Folio, SwapEntry
from kmodel.include.linux.swap import SwapExtent
from kmodel.kernel import Kernel, ModelEvent
from kmodel.lib.ratelimit import RatelimitState
from kmodel.mm.filemap import folio_end_writeback
from kmodel.trace import parse as _parse
from kmodel.trace.events import (
    KRETPROBE_KEYS,
    LostEvents,
    TaskContext,
    TraceEvent,
    explained_by_missed,
)
from kmodel.trace.faultinject import FaultInject
from kmodel.trace.oracle import Oracle, Outcome, blk_status_of, ratelimit_edge
from kmodel.trace.parse import UNREADABLE, LineScanner, Source, open_trace
from kmodel.trace.replay import tie
from kmodel.trace.replay_6_12 import (
    DISK,
    ZERO,
    Call,
    FaultCall,
    FaultTarget,
    RaCall,
    Replayer612,
    SwapinCall,
    Verdict,
    use_vma_readahead,
)
from kmodel.trace.report import (
    MODEL_RAISED,
    MODEL_RUNAWAY,
    CheckReport,
    Divergence,
    ModelRunaway,
    raised_divergence,
)
from kmodel.v6_12.include.linux.page_flags import (
    PageFlags612,
    decode_page_flags_6_12,
    kernel_page_flags,
    model_page_flags,
)
from kmodel.v6_12.mm import page_io as page_io_612
from kmodel.v6_12.mm.swapfile import swap_folio_sector
from kmodel.versions import KERNEL_VERSIONS, check_version

__all__ = [
    "BLOCK_FORMATS_6_12",
    "EVENT_ARGS_6_12",
    "Checker612",
    "check_trace_6_12",
    "kernel_of_release",
    "parse_event_line_6_12",
    "trace_kernel",
]

#: How many header lines :func:`trace_kernel` reads for the ``# kernel:`` line at most.
HEADER_LINES_MAX = 64
KERNEL_LINE = "# kernel:"
#: How many event lines :func:`trace_kernel` reads for a probe that tells the kernel line.
EVENT_LINES_MAX = 4096


def kernel_of_release(release: str, where: str = "") -> str:
    """The modelled kernel line ("6.1", "6.12") of an upstream release such as ``6.12.118``."""
    parts = release.strip().split(".")
    short = ".".join(parts[:2])
    if short not in KERNEL_VERSIONS:
        raise KmodelError(f"{where}kernel {release.strip()!r}: kmodel models "
                          f"{' and '.join(KERNEL_VERSIONS.values())}; use --kernel to force one")
    return short


def trace_kernel(path: str | os.PathLike[str]) -> str | None:
    """The kernel line a trace file's header names (``# kernel: 6.12.118``), else the one
    its first events tell (``recorders.events_kernel``: a probe only one kernel line's probe
    set has, within the first :data:`EVENT_LINES_MAX` lines), or None.

    Reads the ``# kernel:`` line within :data:`HEADER_LINES_MAX` lines, and only up to the
    first line that is not a ``#`` comment. A ``.gz`` file is read through gzip. Only a
    regular file is peeked: a FIFO or a device would lose what is read (None: give
    ``--kernel``).
    """
    from kmodel.trace.recorders import events_kernel

    name = os.fspath(path)
    if not os.path.isfile(name):
        return None
    try:
        with open_trace(name, None) as (lines, _):
            for lineno, line in enumerate(lines, 1):
                if lineno > HEADER_LINES_MAX or not line.startswith("#"):
                    head = itertools.islice(lines, EVENT_LINES_MAX)
                    return events_kernel(itertools.chain((line,), head))
                if line.startswith(KERNEL_LINE):
                    return kernel_of_release(line[len(KERNEL_LINE):], f"{name}:{lineno}: ")
    except UNREADABLE:
        return None  # the checker reports it at its line
    return None


def _kprobe(*keys: str) -> tuple[str, ...]:
    return ("probe", *keys)


def _kretprobe(*keys: str) -> tuple[str, ...]:
    return ("caller", "caller_offset", "callee", *keys)


_BIO = ("bio", "bi_status", "sector", "size", "opf", "dev", "page", "pflags")
_BIO_TYPES = {"bio": "x64", "bi_status": "u8", "sector": "u64", "size": "u32", "opf": "x32",
              "dev": "x32", "page": "x64", "pflags": "x64"}
_FOLIO = ("folio", "pflags", "entry")
_FOLIO_TYPES = {"folio": "x64", "pflags": "x64", "entry": "swp"}

#: The 6.12 capture's probes (kmodel/capture/probes612.py, tests/data/traces/v6_12/README.md)
#: and their args keys in print order, with the integer type of each (parse.ARG_TYPES' kinds).
EVENT_ARGS_6_12: Mapping[str, tuple[tuple[str, ...], Mapping[str, str]]] = {
    "do_swap_page": (_kprobe("vmf", "address", "fault_flags", "orig_pte"),
                     {"vmf": "x64", "address": "x64", "fault_flags": "x32", "orig_pte": "x64"}),
    "do_swap_page_ret": (_kretprobe("ret"), {"ret": "x32"}),
    "swapin_readahead": (_kprobe("entry", "gfp", "vmf"),
                         {"entry": "swp", "gfp": "x32", "vmf": "x64"}),
    "swapin_readahead_ret": (_kretprobe("folio"), {"folio": "x64"}),
    "swap_cluster_readahead": (_kprobe("entry", "gfp", "mpol", "ilx"),
                               {"entry": "swp", "gfp": "x32", "mpol": "x64", "ilx": "u64"}),
    "swap_cluster_readahead_ret": (_kretprobe("folio"), {"folio": "x64"}),
    "read_swap_cache_async": (_kprobe("entry", "gfp", "vma", "addr", "plug"),
                              {"entry": "swp", "gfp": "x32", "vma": "x64", "addr": "x64",
                               "plug": "x64"}),
    "read_swap_cache_async_ret": (_kretprobe("folio"), {"folio": "x64"}),
    "__read_swap_cache_async": (_kprobe("entry", "gfp", "mpol", "ilx", "skip_if_exists"),
                                {"entry": "swp", "gfp": "x32", "mpol": "x64", "ilx": "u64",
                                 "skip_if_exists": "u8"}),
    "__read_swap_cache_async_ret": (_kretprobe("folio"), {"folio": "x64"}),
    "swap_read_folio": (_kprobe("folio", "pflags", "entry", "plug"),
                        {**_FOLIO_TYPES, "plug": "x64"}),
    "swap_read_folio_ret": (_kretprobe(), {}),
    "swap_read_folio_bdev_sync": (_kprobe(*_FOLIO), _FOLIO_TYPES),
    "swap_writepage": (_kprobe("page", "wbc", "pflags", "entry", "sync_mode", "wbc_bits"),
                       {"page": "x64", "wbc": "x64", "pflags": "x64", "entry": "swp",
                        "sync_mode": "u32", "wbc_bits": "x32"}),
    "swap_writepage_ret": (_kretprobe("ret"), {"ret": "s32"}),
    "__swap_writepage": (_kprobe(*_FOLIO, "wbc"), {**_FOLIO_TYPES, "wbc": "x64"}),
    "swap_writepage_bdev_sync": (_kprobe(*_FOLIO), _FOLIO_TYPES),
    "zswap_store": (_kprobe(*_FOLIO), _FOLIO_TYPES),
    "zswap_store_ret": (_kretprobe("ret"), {"ret": "u8"}),
    "zswap_load": (_kprobe(*_FOLIO), _FOLIO_TYPES),
    "zswap_load_ret": (_kretprobe("ret"), {"ret": "u8"}),
    "end_swap_bio_write": (_kprobe(*_BIO), _BIO_TYPES),
    "__end_swap_bio_write": (_kprobe(*_BIO), _BIO_TYPES),
    "end_swap_bio_read": (_kprobe(*_BIO), _BIO_TYPES),
    "__end_swap_bio_read": (_kprobe(*_BIO), _BIO_TYPES),
    # Any folio's writeback ends here, file folios too: private is no swap entry then.
    "folio_end_writeback": (_kprobe("folio", "pflags", "entry"),
                            {"folio": "x64", "pflags": "x64", "entry": "x64"}),
    "add_swap_extent": (_kprobe("type", "start_page", "nr_pages", "start_block"),
                        {"type": "u32", "start_page": "u64", "nr_pages": "u64",
                         "start_block": "u64"}),
    "add_swap_extent_ret": (_kretprobe("ret"), {"ret": "s32"}),
}

_U12, _U20, _U32, _U64, _S32 = (r"\d{1,4}", r"\d{1,7}", r"\d{1,10}", r"\d{1,20}", r"-?\d{1,10}")
_DEV = rf"(?P<dev>(?P<major>{_U12}),(?P<minor>{_U20})) (?P<rwbs>[A-Z]+) "
_SECTORS = rf"(?P<sector>{_U64}) \+ (?P<nr_sector>{_U32}) "
#: 6.12's request classes add the ioprio: ``IOPRIO_CLASS,HINT,LEVEL`` (Linux 6.12.118
#: include/trace/events/block.h:16-21, 108-115, 145, 219).
_IOPRIO = (r"(?P<ioprio_class>none|rt|be|idle|invalid),(?P<ioprio_hint>\d{1,5}),"
           r"(?P<ioprio_level>\d{1,5}) ")

#: The 6.12 block tracepoints whose print format differs from 6.1's, as (regex, shape).
BLOCK_FORMATS_6_12: Mapping[str, tuple[re.Pattern[str], str]] = {
    name: (re.compile(pattern), shape) for name, pattern, shape in (
        *((n, _DEV + rf"(?P<bytes>{_U32}) \((?P<cmd>[^()]*)\) " + _SECTORS + _IOPRIO
           + r"\[(?P<comm>.*)\]", "MAJ,MIN RWBS BYTES (CMD) SECTOR + NR_SECTOR CLASS,HINT,LEVEL "
           "[COMM]") for n in ("block_rq_issue", "block_rq_insert", "block_rq_merge")),
        *((n, _DEV + r"\((?P<cmd>[^()]*)\) " + _SECTORS + _IOPRIO + rf"\[(?P<error>{_S32})\]",
           "MAJ,MIN RWBS (CMD) SECTOR + NR_SECTOR CLASS,HINT,LEVEL [ERROR]")
          for n in ("block_rq_complete", "block_rq_error", "block_rq_requeue")),
    )
}

#: The bits a write completion decides for ``folio_end_writeback``. Not PG_locked: the write
#: path unlocks the folio before submitting its bio (Linux 6.12.118 mm/page_io.c:426-427,
#: 447-448), so reclaim or a fault on another CPU may hold the lock at any point of the
#: completion (seen live: a folio locked between ``__end_swap_bio_write`` and
#: ``folio_end_writeback``).
_MODEL_BITS = (PageFlags612.PG_writeback | PageFlags612.PG_uptodate
               | PageFlags612.PG_dirty | PageFlags612.PG_reclaim)
#: At most this many open faults are remembered (pids a trace could grow without bound).
_MAX_OPEN_FAULTS = 4096
#: At most this many swap entries' folios are remembered (fault lookups).
_MAX_ENTRIES = 1 << 16
_ALERTS = ("Read-error on swap-device", "Write-error on swap-device")


def parse_args_6_12(name: str, text: str) -> dict[str, str]:
    """The args of one 6.12 event; ``parse``'s 6.1 formats for events 6.12 prints the same.

    Raises :class:`kmodel.trace.parse.LineScanner.ArgsError` naming what was expected.
    """
    known = EVENT_ARGS_6_12.get(name)
    if known is not None:
        keys, types = known
        args = _parse._probe_args(text)
        if args is None or tuple(args) != keys:
            shape = " ".join(f"{k}=..." for k in keys if k not in KRETPROBE_KEYS
                             and k != "probe")
            head = "(caller+offset/size <- callee)" if keys[:1] == ("caller",) else \
                "(symbol+offset/size)"
            raise LineScanner.ArgsError(f"{name}: expected '{head} {shape}'".rstrip() + " (6.12)")
        return _parse._check_values(name, args, dict(types))
    block = BLOCK_FORMATS_6_12.get(name)
    if block is not None:
        m = block[0].fullmatch(text)
        if m is None:
            raise LineScanner.ArgsError(f"{name}: expected '{block[1]}' (6.12)")
        return _parse._check_values(name, m.groupdict(), {
            k: t for k, t in _parse._BLOCK_TYPES.items() if k in m.groupdict()})
    return _parse._PARSERS.get(name, _parse._parse_generic)(text)


def _end_io(k: Kernel, bio: Bio, read: bool) -> None:
    """6.12's completion of a bio (module level: a class body would mangle ``__end_...``)."""
    if read:
        page_io_612.__end_swap_bio_read(k, bio)
    else:
        page_io_612.__end_swap_bio_write(k, bio)


class Oracle612(Oracle):
    """:class:`Oracle` on a 6.12 model kernel: 6.12's end_io functions and sector."""

    def __init__(self) -> None:
        super().__init__()
        self.k = Kernel(executor=InlineExecutor(), version="6.12")
        self.k.tracer = self._events_append
        self._rq_bdevs: dict[int, BlockDevice] = {}
        self.extent_ret = 0
        #: The jiffies a completion runs at, instead of its timestamp's (Checker612._alt).
        self.jiffies: int | None = None

    def extents(self, type_: int) -> list[SwapExtent]:
        """The extents of swap type ``type_`` as the trace gave them (else from block 0)."""
        self._swap_area(type_)
        return self.k.swap_info[type_].extents

    def sector(self, entry: int) -> int:
        """``swap_folio_sector`` of a folio whose ``private`` is ``entry``."""
        self._swap_area(entry >> SWP_TYPE_SHIFT)
        self._probe.private = entry
        return swap_folio_sector(self.k, self._probe)

    def _run_end_io(self, bio: Bio, ts_us: int, read: bool) -> tuple[ModelEvent, ...]:
        self.k.jiffies = ts_us * Kernel.HZ // 1_000_000 + 1 if self.jiffies is None \
            else self.jiffies
        self._events.clear()
        _end_io(self.k, bio, read)
        self.k.printk_log.clear()
        return tuple(self._events[1:])  # [0] is the completion itself

    def complete(self, pflags: int, status: int, sector: int, size: int, opf: int, dev: int,
                 ts_us: int, *, read: bool) -> Outcome:
        """Run 6.12's ``__end_swap_bio_read``/``__end_swap_bio_write`` for a folio with the
        trace's ``pflags`` (6.12 layout); the model's flags afterwards (6.12 layout) and the
        events it emitted after its own. Memoized on success (no ratelimit state)."""
        key = ("612", read, pflags)
        hit = self._memo_get(key) if not status else None
        if hit is None:
            folio = Folio(flags=model_page_flags(pflags))
            bio = Bio(bi_bdev=self.bdev(dev), bi_opf=opf, bi_sector=sector, bi_size=size,
                      bi_status=blk_status_of(status), bi_cnt=1, page=folio)
            hit = self._complete(key, bio, folio, status, ts_us, read=read)
        flags, events = hit
        return kernel_page_flags(flags), events


    def add_extent(self, type_: int, start_page: int, nr_pages: int, start_block: int) -> None:
        """:meth:`Oracle.add_extent`, keeping what the model's ``add_swap_extent`` returned
        (:attr:`extent_ret`: 1 for a new extent, 0 for one merged into the last)."""
        self._swap_area(type_)
        before = len(self.k.swap_info[type_].extents) if type_ in self._extents_seen else 0
        super().add_extent(type_, start_page, nr_pages, start_block)
        # Python: Oracle.add_extent drops the return; the extent count tells it.
        self.extent_ret = len(self.k.swap_info[type_].extents) - before

    def request_end(self, dev: int, write: bool, sector: int, nr_sector: int,
                    status: int) -> tuple[int, bool]:
        """Run the model's ``blk_update_request`` (``Request.end``) for a request of a
        request-based device ending with the ``bi_status`` its bios show: the ``error`` of
        its ``block_rq_complete``, and whether ``block_rq_error`` follows (DEV-1)."""
        bdev = self._rq_bdevs.get(dev)
        if bdev is None:
            if len(self._rq_bdevs) >= 64:
                self._rq_bdevs.clear()
            bdev = self._rq_bdevs[dev] = BlockDevice(
                dev >> 20, dev & 0xFFFFF, f"{dev >> 20}:{dev & 0xFFFFF}", 0,
                request_based=True)
        op = REQ_OP_WRITE if write else REQ_OP_READ
        bio = Bio(bi_bdev=bdev, bi_opf=op, bi_sector=sector, bi_size=nr_sector << 9)
        self._events.clear()
        Request(bdev, op, sector, nr_sector, [bio], 0).end(self.k, blk_status_of(status))
        self.k.printk_log.clear()
        error = next(int(e.arg("error")) for e in self._events if e.name == "block_rq_complete")
        return error, any(e.name == "block_rq_error" for e in self._events)


class _Folio:
    """What the checker knows of one folio address in its current life."""

    __slots__ = (
        "after",
        "bio",
        "born",
        "completed",
        "completed_ts",
        "entry",
        "history",
        "lookup_race",
        "mapped",
        "prev",
        "status",
        "submitted",
        "sync",
        "unknown",
        "unlocked_ts",
        "wb_ended",
        "write",
    )

    def __init__(self) -> None:
        self.entry = -1
        self.write = False
        self.submitted = 0  # line of the submission (__swap_writepage / swap_read_folio)
        self.sync = False
        self.completed = 0  # line of its completion
        self.completed_ts = 0  # and its timestamp
        #: A read completion's unlock (ER-3) came before this timestamp: that of the next
        #: event its context printed after its entry (None: nothing yet, it may still hold
        #: the folio locked; as the 6.1 checker's Completion.until).
        self.unlocked_ts: int | None = 0
        self.status = 0  # its bi_status
        self.bio = False  # the submission queued a bio (not the zeromap's or zswap's)
        #: PG_locked/PG_uptodate (6.12 layout) as the model's do_swap_page left the folio,
        #: and the line of that fault's return (0: no fault since its last I/O).
        self.mapped: tuple[int, int] = (0, 0)
        self.wb_ended = 0  # line of folio_end_writeback since the last __swap_writepage
        self.after: int | None = None  # model flags (6.12) after its last read completion
        self.history: list[tuple[int, str]] = []
        self.unknown = False
        #: A fault of this folio's entry ran on another task between the write completion's
        #: entry and its folio_end_writeback: its swap_cache_get_folio may clear PG_reclaim.
        self.lookup_race = False
        #: The timestamp and CPU of the event that began this life, and the life before it
        #: at the same address: an event of that one tied with this one's start (equal
        #: timestamps, a higher CPU) may be printed after it (replay.tie).
        self.born: tuple[int, int] = (-1, -1)
        self.prev: _Folio | None = None


CtxKey = tuple[int, int, str]
_C = TypeVar("_C")
#: The events that open a call replayed on the 6.12 model (replay_6_12).
_CALL_EVENTS = frozenset({"swap_writepage", "swap_read_folio"})


class Checker612:
    """Feed 6.12 events in trace order; :meth:`finish` returns the :class:`CheckReport`."""

    def __init__(self, path: str = "<events>", *, max_divergences: int = 20,
                 missed: Mapping[str, int] | None = None) -> None:
        self.report = CheckReport(path)
        self.missed = {probe: n for probe, n in (missed or {}).items() if n}
        for probe, n in self.missed.items():
            self.report.counts[f"missed:{probe}"] = n
        self.max_divergences = max_divergences
        self.oracle = Oracle612()
        self.folios: dict[int, _Folio] = {}
        self.submitting: dict[int, _Folio] = {}  # pid -> folio whose bio it is submitting
        self.expect: dict[CtxKey, tuple[TraceEvent, _Folio, list[ModelEvent]]] = {}
        self.ratelimit_known = True
        self.stopped = False
        self.events = 0
        self.checks = 0
        self._unknown: dict[str, int] = {}
        self._inputs: dict[str, int] = {}
        #: Read completions whose context printed nothing since their entry, by CPU: the
        #: context and their folios (each may still hold its folio locked, _close).
        self._open: dict[int, tuple[CtxKey, list[_Folio]]] = {}
        #: The other side of a ratelimit decision at the clock's resolution of its edge, by
        #: the completion's context: its predicted events and ratelimit state (_alt).
        self._alt: dict[CtxKey, tuple[list[ModelEvent], dict[str, RatelimitState]]] = {}
        #: The clock's resolution (µs): the gcd of the timestamps' distances to the first.
        self._ts0: int | None = None
        self._res_us = 0
        #: Faults returned while their folio's read was in flight, replayed when the
        #: timestamp moves on (_flush_faults), with the folio they worked on.
        self._deferred_faults: list[tuple[FaultCall, _Folio | None]] = []
        #: Events held by a tie (_order): their CPU, timestamp, the folio address whose
        #: bio's submission the first (a completion) awaits, and the events in print order.
        self._held: tuple[int, int, int, list[tuple[TraceEvent, str]]] | None = None
        #: The last event fed (line number, text): where the end's replays are reported.
        self._last: tuple[int, str] = (0, "")
        self._handlers: dict[str, Callable[[TraceEvent, str], None]] = {
            "swap_writepage": self._swap_writepage,
            "__swap_writepage": self._submit,
            "swap_read_folio": self._submit,
            "swap_writepage_bdev_sync": self._sync,
            "swap_read_folio_bdev_sync": self._sync,
            "swap_writepage_ret": self._submit_ret,
            "swap_read_folio_ret": self._submit_ret,
            "block_bio_queue": self._block_bio_queue,
            "__end_swap_bio_write": self._completion,
            "__end_swap_bio_read": self._completion,
            "folio_end_writeback": self._folio_end_writeback,
            "console": self._console,
            "add_swap_extent": self._add_swap_extent,
            "add_swap_extent_ret": self._add_swap_extent_ret,
            "end_swap_bio_write": self._end_io,
            "end_swap_bio_read": self._end_io,
            "block_rq_complete": self._block_rq_complete,
            "block_bio_complete": self._block_rq_complete,
            "block_rq_error": self._block_rq_error,
        }
        #: A request-based device's ``block_rq_complete`` (and its ``block_rq_error``), or a
        #: bio-based device's ``block_bio_complete``, by context, awaiting the first swap bio
        #: completion of that request or bio (DEV-1).
        self.rq_done: dict[CtxKey, list[TraceEvent | None]] = {}
        #: Async bios' ``bi_end_io`` seen, by context, awaiting the inner completion.
        self.end_io: dict[CtxKey, TraceEvent] = {}
        #: Open ``do_swap_page`` calls: pid -> the swap entry of the faulting PTE.
        self.faults: dict[int, int] = {}
        #: Open faults replayed on the 6.12 model at their return, by pid, and the folio
        #: address the trace last showed for each swap entry (what a fault's lookup finds).
        self.fault_calls: dict[int, FaultCall] = {}
        self.entry_folio: dict[int, int] = {}
        #: What the model's add_swap_extent returned, by the swapon task awaiting the return.
        self.extent_rets: dict[int, int] = {}
        self._handlers["do_swap_page"] = self._do_swap_page
        self._handlers["do_swap_page_ret"] = self._do_swap_page_ret
        #: Swap-outs and reads replayed on the 6.12 model (replay_6_12), open ones by pid.
        self.replay = Replayer612(self.oracle.extents)
        #: ``# zswap: enabled=`` (empty): the kernel has no CONFIG_ZSWAP (zswap's module
        #: parameters do not exist), as a small fault-injection build may not.
        self.no_zswap = False
        self.calls: dict[int, Call] = {}
        self._replayed = False  # the current event belongs to a replayed call
        #: Open cluster readaheads by pid (replay_6_12), and vm.page-cluster from the header.
        self.ra_calls: dict[int, RaCall] = {}
        self.page_cluster: int | None = None
        #: Open swapin_readahead calls by pid; the header's vma_ra_enabled and rotational.
        self.swapin_calls: dict[int, SwapinCall] = {}
        self.vma_readahead: bool | None = None
        self.rotational: bool | None = None
        #: The fault-injection attrs of a `# fault-inject:` header, checked as on 6.1
        #: (faultinject.py: the model's should_fail per swap bio submission).
        self.fi: FaultInject | None = None

    # -- driving --------------------------------------------------------------------------

    def feed(self, item: TraceEvent | LostEvents, line: str = "") -> None:
        """One parsed event (``line``: its text, for the report) or lost-events marker."""
        if isinstance(item, LostEvents):
            self._release(hold=False)
            try:
                self._flush_faults()  # before the gap: what they worked on is known
                self._lost()
            except (Exception, ModelRunaway) as error:  # the model's, or the checker's bug
                self._raised(error, item.lineno, "")
            return
        self.events += 1
        self._order(item, line)

    def _order(self, ev: TraceEvent, line: str, hold: bool = True) -> None:
        """Feed ``ev`` in an order a real execution allows (issue 10, item 1): a completion
        whose folio's submission has not been printed yet may have been printed before it
        by a tie (equal timestamps: the lower CPU first, replay.tie). Then it and the rest
        of its CPU's events at that timestamp are held until the folio's bio is queued on a
        higher CPU at the same timestamp, or are fed as printed when the timestamp moves
        on (a completion of nothing is then a divergence, as without the tie)."""
        held = self._held
        if held is not None:
            cpu, ts, addr, events = held
            if ev.ts_us == ts and ev.context.cpu == cpu:
                events.append((ev, line))
                return
            if ev.ts_us != ts or ev.context.cpu < cpu:
                self._release(hold=False)
            else:
                self._process(ev, line)
                folio = self.folios.get(addr)
                if folio is not None and folio.bio and self._fits(folio, events[0][0]):
                    self._release()
                return
        if hold and ev.name in _BIO_ENDS and not self.stopped:
            folio = self.folios.get(ev.arg_int("page"))
            if folio is None or (not folio.unknown
                                 and not self._fits(self._life(folio, ev), ev)):
                self._held = (ev.context.cpu, ev.ts_us, ev.arg_int("page"), [(ev, line)])
                return
        self._process(ev, line)

    def _release(self, hold: bool = True) -> None:
        """Feed the held events (``hold``: they may be held again)."""
        held, self._held = self._held, None
        if held is not None:
            for ev, line in held[3]:
                self._order(ev, line, hold)

    def _process(self, ev: TraceEvent, line: str) -> None:
        self._last = (ev.lineno, line)
        if self._ts0 is None:
            self._ts0 = ev.ts_us
        elif self._res_us != 1:
            self._res_us = math.gcd(self._res_us, ev.ts_us - self._ts0)
        try:
            if self._deferred_faults and ev.ts_us != self._deferred_faults[0][0].events[-1].ts_us:
                self._flush_faults()
            self._feed(ev, line)
        except (Exception, ModelRunaway) as error:  # the model's, or the checker's bug
            self._raised(error, ev.lineno, line or f"{ev.name}: {ev.args}")

    def _raised(self, error: Exception | ModelRunaway, lineno: int, line: str) -> None:
        """An exception out of the checking of line ``lineno``, as the 6.1 checker's: a model
        that raised is a ``model-raised`` divergence there, one that did not end a
        ``model-runaway`` one (`report.raised_divergence`)."""
        self.report.divergences.append(raised_divergence(
            error, self.report.path, lineno, line, model="Linux 6.12.118 model"))
        self.stopped = True
        self.report.stopped_at = lineno

    def _feed(self, ev: TraceEvent, line: str) -> None:
        """:meth:`feed` for an event already counted."""
        if self._open:  # an event on the CPU of an open read completion
            self._close(ev)
        self._replayed = False
        if self.calls or ev.name in _CALL_EVENTS:
            self._record(ev, line)
        if self.ra_calls or ev.name == "swap_cluster_readahead":
            self._record_ra(ev, line)
        if self.swapin_calls or ev.name == "swapin_readahead":
            self._record_swapin(ev, line)
        if self.fault_calls or ev.name == "do_swap_page":
            self._record_fault(ev, line)
        if self.fi is not None:
            if ev.name == "signal_generate":
                self.fi.signal(ev)
            elif ev.name == "console" and self.fi.console(ev):
                return  # a FAULT_INJECTION notice: checked with its call (faultinject.py)
            elif ev.name in ("should_fail_alloc_page", "should_fail_alloc_page_ret"):
                self.fi.alloc(ev)  # the FI capture's page allocations (faultinject.py)
                return
        if self.rq_done and ev.name in _BIO_ENDS:
            self._request_of(ev, line)
        if self.end_io:
            outer = self.end_io.get(_ctx(ev.context))
            if outer is not None and not self._inner_of(outer, ev, line):
                return
        if self.expect:
            key = _ctx(ev.context)
            if key in self.expect and self._match_expected(key, ev, line):
                return
        handler = self._handlers.get(ev.name)
        if handler is not None:
            handler(ev, line)
        else:
            self._count_unknown(f"not-mapped-6.12:{ev.name}")

    def finish(self) -> CheckReport:
        """End of trace: what is still awaited is unknown, not divergent."""
        self._release(hold=False)
        if not any(d.kind in (MODEL_RAISED, MODEL_RUNAWAY) for d in self.report.divergences):
            try:
                self._flush_faults()
                if self.fi is not None:
                    self.fi.finish()
                self._close_calls("call-cut-by-end")  # replays a swap-out that ended
            except (Exception, ModelRunaway) as error:  # the model's, or the checker's bug
                self._raised(error, self._last[0], self._last[1])
        if self.fi is not None:
            self.checks += self.fi.checks
        for done in self.rq_done.values():
            self._count_unknown("request-without-swap-bio", sum(e is not None for e in done))
        self.rq_done.clear()
        for _, _, predicted in self.expect.values():
            self._count_unknown("prediction-cut-by-end", len(predicted))
        self.expect.clear()
        self.report.divergences.sort(key=lambda d: d.lineno)
        counts = self.report.counts
        counts["events"] = self.events
        counts["checks"] = self.checks
        counts["divergences"] = len(self.report.divergences)
        for why, n in self._unknown.items():
            counts[f"unknown:{why}"] = n
        for what, n in self._inputs.items():
            counts[f"input:{what}"] = n
        return self.report

    # -- helpers --------------------------------------------------------------------------

    def fault_inject_header(self, lineno: int, line: str) -> None:
        """A ``# fault-inject:`` or ``# kmodel trim:`` header line (faultinject.py)."""
        if self.fi is None:
            self.fi = FaultInject(self.report.path, self._fi_diverge, self._count_unknown)
        self.fi.header(lineno, line)

    def _fi_diverge(self, ev: TraceEvent, message: str, allowed: list[str],
                    branches: tuple[str, ...]) -> None:
        self._diverge(ev, f"{ev.name}: {dict(ev.args)}", message, allowed, branches)

    def _count_unknown(self, why: str, n: int = 1) -> None:
        if self._replayed and why.startswith("not-mapped-6.12:"):
            return  # the event's swap-out or read is replayed: counted there (_replay)
        self._unknown[why] = self._unknown.get(why, 0) + n

    def counting_clock(self) -> None:
        """The trace's clock counts (counter, uptime, x86-tsc): its timestamps order events
        and tell ties, but give no jiffies, so the printk ratelimit's state is unknown."""
        self.ratelimit_known = False

    def _count_input(self, what: str, n: int = 1) -> None:
        """``n`` events whose content the trace gives and the model takes (report.inputs)."""
        self._inputs[what] = self._inputs.get(what, 0) + n

    # -- replayed swap-outs and reads (replay_6_12) ---------------------------------------

    def readahead_header(self, lineno: int, line: str) -> None:
        """``# vma-readahead: true|false`` and ``# swap-disk: DEV rotational=0|1``
        (``kmodel capture``): what ``swap_use_vma_readahead`` decides from (CR-5)."""
        text = line.rstrip("\n")
        m = re.fullmatch(r"# vma-readahead: (true|false)", text)
        if m is not None:
            self.vma_readahead = m[1] == "true"
            return
        m = re.fullmatch(r"# swap-disk: \S+ rotational=([01])", text)
        if m is None:
            raise TraceFormatError(self.report.path, lineno, "expected '# vma-readahead: "
                                   "true|false' or '# swap-disk: DEV rotational=0|1' (6.12)",
                                   line)
        self.rotational = m[1] == "1"

    def _record_swapin(self, ev: TraceEvent, line: str) -> None:
        """Follow a task's ``swapin_readahead``; check its choice and return at the return."""
        if ev.in_softirq:
            return
        if ev.name == "swapin_readahead":
            self._open_call(self.swapin_calls, ev, SwapinCall(ev, line), self._abandon_one)
            return
        call = self.swapin_calls.get(ev.pid)
        if call is None:
            return
        kind = call.kind
        if call.add(ev, line) and ev.name != "swap_read_folio":
            self._replayed = True  # a VMA readahead's step: counted at its replay
        if not kind and call.kind and self.vma_readahead is not None \
                and self.rotational is not None:
            self.checks += 1
            vma = use_vma_readahead(self.vma_readahead, self.rotational)
            if vma != (call.kind == "vma"):
                self._diverge(ev, line, f"swapin_readahead with vma_ra_enabled="
                              f"{str(self.vma_readahead).lower()} on a "
                              f"{'rotational' if self.rotational else 'non-rotational'} swap "
                              f"disk: the 6.12 model reads ahead by "
                              f"{'VMA' if vma else 'cluster'}; the trace shows {ev.name}",
                              ["__read_swap_cache_async" if vma else "swap_cluster_readahead"],
                              ("CR-5",))
        elif not kind and call.kind:
            self._count_input("readahead-kind")
        if ev.name != "swapin_readahead_ret":
            return
        del self.swapin_calls[ev.pid]
        self._replayed = True
        self.checks += 1
        if call.kind == "vma":
            self._replay_vma(call)
        if call.kind and ev.arg_int("folio") != call.last:
            self._diverge(ev, line, f"swapin_readahead returns folio {ev.arg_int('folio'):#x}, "
                          f"but the 6.12 model's returns what its "
                          f"{'VMA' if call.kind == 'vma' else 'cluster'} readahead ended with, "
                          f"folio {call.last:#x}", [f"folio={call.last:#x}"], ("CR-5",))

    def _replay_vma(self, call: SwapinCall) -> None:
        """Run a VMA readahead's lookups on the 6.12 model (replay_6_12.Replayer612.vma)."""
        own = [i for i, ev in enumerate(call.steps)
               if ev.name in ("__read_swap_cache_async", "__read_swap_cache_async_ret")]
        fault = self.fault_calls.get(call.event.pid)
        if fault is None:  # the fault's PTE and address are not known: not replayed
            self._count_unknown("not-replayed-6.12:vma-readahead-without-fault", len(own))
            return
        verdict = self.replay.vma(call.steps, fault.events[0], self.page_cluster)
        if not verdict.ok:
            self._replay_diverged(verdict, call.steps, call.lines, own)
            return
        inputs = sum(1 for i in own if call.steps[i].name == "__read_swap_cache_async_ret")
        self.checks += len(own) - inputs
        self._count_input("readahead-lookup", inputs)

    def page_cluster_header(self, lineno: int, line: str) -> None:
        """``# page-cluster: N`` (``kmodel capture``): the cluster readahead's largest window
        is ``1 << N`` (mm/swap_state.c:623); without it any window the trace spans is tried."""
        m = re.fullmatch(r"# page-cluster: (\d{1,2})", line.rstrip("\n"))
        if m is None or int(m[1]) > 31:
            raise TraceFormatError(self.report.path, lineno,
                                   "expected '# page-cluster: N' with N in 0..31 (6.12)", line)
        self.page_cluster = int(m[1])

    def _record_ra(self, ev: TraceEvent, line: str) -> None:
        """Add ``ev`` to its task's open cluster readahead; replay it at its return."""
        if ev.in_softirq:
            return
        name = ev.name
        if name == "swap_cluster_readahead":
            self._open_call(self.ra_calls, ev, RaCall(ev, line), self._abandon_ra)
            return
        call = self.ra_calls.get(ev.pid)
        if call is None or not call.add(ev, line):
            return
        if name != "swap_read_folio":  # a read's own events: the read's replay counts them
            self._replayed = True
        if name == "swap_cluster_readahead_ret":
            del self.ra_calls[ev.pid]
            self._replay_ra(call)

    def _abandon_ra(self, call: RaCall, why: str) -> None:
        for ev in call.events:
            if ev.name != "swap_read_folio":
                self._count_unknown(f"not-replayed-6.12:{why}:{ev.name}")

    def _replay_ra(self, call: RaCall) -> None:
        """Run the readahead on the 6.12 model; a difference is a divergence at its step."""
        verdict = self.replay.cluster(call, self.page_cluster)
        own = [i for i, ev in enumerate(call.events) if ev.name != "swap_read_folio"]
        if not verdict.ok:
            self._replay_diverged(verdict, call.events, call.lines, own)
            return
        # Inputs, not outcomes: what each lookup found (free, in the swap cache, new).
        inputs = sum(1 for ev in call.events if ev.name == "__read_swap_cache_async_ret")
        self.checks += len(own) - inputs
        self._count_input("readahead-lookup", inputs)

    def zswap_header(self, lineno: int, line: str) -> None:
        """``# zswap: enabled=Y|N ...`` (``kmodel capture``): with N, zswap was never
        enabled, and ``zswap_store``/``zswap_load`` answer as the model's do (ZS-1, ZL-1)."""
        m = re.match(r"# zswap: enabled=([YN]?)(?: |$)", line.rstrip("\n"))
        if m is not None and not m[1]:
            self.no_zswap = True
            return
        if m is None:
            raise TraceFormatError(self.report.path, lineno,
                                   "expected '# zswap: enabled=Y|N ...' (6.12)", line)
        self.replay.zswap_enabled = m[1] == "Y"

    def _record(self, ev: TraceEvent, line: str) -> None:
        """Add ``ev`` to its task's open swap-out or read; replay the call at its return
        (a pageout's swap-out at the task's next event: ``mm_vmscan_write_folio``)."""
        name = ev.name
        if ev.in_softirq:
            return
        ended = self.calls.get(ev.pid)
        if ended is not None and ended.ended:
            del self.calls[ev.pid]
            if ended.add(ev, line):
                self._replayed = True
                self._replay(ended)
                return
            self._replay(ended)
        if name in _CALL_EVENTS:  # a call still open was nested (reclaim in an allocation)
            self._open_call(self.calls, ev, Call(ev, line), self._abandon)
            return
        call = self.calls.get(ev.pid)
        if call is None:
            if name == "__swap_writepage":  # zswap writing an entry back to the device
                self.replay.zswap_writeback(ev.arg_int("entry"))
            return
        if not call.add(ev, line):
            return
        self._replayed = True
        if name in ("swap_writepage_ret", "swap_read_folio_ret") and not call.ended:
            del self.calls[ev.pid]
            self._replay(call)

    def _close_calls(self, why: str) -> None:
        """The trace ends or loses events: a swap-out awaiting only pageout's tracepoint is
        replayed; the other open calls are unknown."""
        for call in self.calls.values():
            if call.ended:
                self._replay(call)
            else:
                self._abandon(call, why)
        self.calls.clear()
        for ra in self.ra_calls.values():
            self._abandon_ra(ra, why)
        self.ra_calls.clear()
        if self.swapin_calls:
            self._count_unknown(f"not-replayed-6.12:{why}:swapin_readahead",
                                len(self.swapin_calls))
        self.swapin_calls.clear()
        if self.fault_calls:
            self._count_unknown(f"not-replayed-6.12:{why}:do_swap_page", len(self.fault_calls))
        self.fault_calls.clear()

    def _open_call(self, calls: dict[int, _C], ev: TraceEvent, call: _C,
                   abandon: Callable[[_C, str], None]) -> None:
        """Open ``call``, begun by ``ev``, for its task. A call the task still had open was
        cut by this one (a call inside another); past the bound the oldest open call is
        dropped: either is abandoned, its events unknown."""
        old = calls.pop(ev.pid, None)
        if old is not None:
            abandon(old, "call-nested")
        if len(calls) >= _MAX_OPEN_FAULTS:
            abandon(calls.pop(next(iter(calls))), "call-cut")
        calls[ev.pid] = call
        self._replayed = True

    def _abandon_one(self, call: SwapinCall | FaultCall, why: str) -> None:
        """A ``swapin_readahead`` or ``do_swap_page`` not replayed: its first event unknown
        (the events inside are counted by their own replays)."""
        name = call.event.name if isinstance(call, SwapinCall) else call.events[0].name
        self._count_unknown(f"not-replayed-6.12:{why}:{name}")

    def _abandon(self, call: Call, why: str) -> None:
        for ev in call.events:
            self._count_unknown(f"not-replayed-6.12:{why}:{ev.name}")

    def _replay(self, call: Call) -> None:
        """Run the call on the 6.12 model; a difference is a divergence at its step."""
        if call.failed:  # fault injection failed its bio at submission (faultinject.py)
            self._abandon(call, "bio-failed-at-submission")
            return
        if self.no_zswap:
            # The replay takes a swap-out without zswap_store for a zero-filled folio's
            # (ZM-1); without CONFIG_ZSWAP zswap_store/zswap_load are inline stubs
            # (include/linux/zswap.h:42-50) that no probe sees: not replayed.
            self._abandon(call, "no-zswap-in-this-kernel")
            return
        known = True
        if call.write:
            verdict = self.replay.write(call)
        else:
            result = self.replay.read(call)
            verdict, known = result if result is not None else (None, True)
        if verdict is None:  # a large folio (mTHP): not modelled
            for ev in call.events:
                self._count_unknown(f"not-replayed-6.12:{ev.name}")
            if call.write:
                self.replay.large_write(call)
            return
        names = [ev.name for ev in call.events]
        # Inputs, not outcomes: zswap's answer to a store; a read's zswap answer (or the
        # zeromap path) when the trace lacks the slot's swap-out.
        store = int("zswap_store_ret" in names and self.replay.zswap_enabled is not False)
        inputs = store + int(not known)
        if not verdict.ok:
            first = call.events[0]
            self._replay_diverged(verdict, call.events, call.lines, range(len(call.events)),
                                  self.folios.get(first.arg_int("page" if call.write
                                                                else "folio")))
            return
        self.checks += len(call.events) - inputs
        if store:
            self._count_input("zswap-answer")
        if not known:
            self._count_input("read-slot-state")

    def _replay_diverged(self, verdict: Verdict, events: Sequence[TraceEvent],
                         lines: Sequence[str], own: Iterable[int],
                         folio: _Folio | None = None) -> None:
        """A replayed call diverged at its step ``verdict.index``: the call's ``own`` steps
        (indexes into ``events``) up to it are checked, those after it unknown."""
        i = verdict.index
        steps = list(own)
        if verdict.raised:  # the model's code raised: no step of it checked, checking stops
            self.report.divergences.append(Divergence(
                path=events[i].path, lineno=events[i].lineno, line=lines[i].rstrip("\n"),
                message=verdict.message + " (Linux 6.12.118 model)", allowed=verdict.allowed,
                branches=(), history=tuple(folio.history[-6:]) if folio else (),
                kind=verdict.kind))
            self.stopped = True
            self.report.stopped_at = events[i].lineno
            return
        self.checks += sum(1 for j in steps if j <= i)
        self._diverge(events[i], lines[i], verdict.message, verdict.allowed, verdict.branches,
                      folio)
        rest = sum(1 for j in steps if j > i)
        if rest:
            self._count_unknown("after-divergence", rest)

    def _folio(self, addr: int, new: TraceEvent | None = None) -> _Folio:
        """The folio at ``addr``; ``new``: the event that begins a new life of it."""
        folio = self.folios.get(addr)
        if folio is None or new is not None:
            old, folio = folio, _Folio()
            self.folios[addr] = folio
            if new is not None:
                folio.born = (new.ts_us, new.context.cpu)
                if old is not None and old.born[0] != new.ts_us:
                    old.prev = None  # an event tied with no life before ``old``'s start
                folio.prev = old
        return folio

    def _life(self, folio: _Folio, ev: TraceEvent) -> _Folio:
        """The life of the folio that completion ``ev`` ends: the oldest life still awaiting
        a completion like ``ev`` (_fits) among the current one and those before it that
        ``ev`` ties with (equal timestamps, ``ev`` on a higher CPU: printed after their
        start, it may have happened before, replay.tie) — a folio's next I/O does not
        start while its last is in flight (it is locked or under writeback) — else the
        current one."""
        found = folio
        life: _Folio | None = folio
        while life is not None:
            if self._fits(life, ev):
                found = life
            if life.unknown or not tie(life.born[0], life.born[1], ev.ts_us, ev.context.cpu):
                break
            life = life.prev
        return found

    def _fits(self, folio: _Folio, ev: TraceEvent) -> bool:
        """Whether completion ``ev`` may end the folio's life: a bio of its kind submitted,
        not completed, at the sector of the folio's swap entry."""
        if not folio.submitted or folio.completed or folio.unknown \
                or folio.write != ev.name.endswith("_write"):
            return False
        try:
            return self.oracle.sector(folio.entry) == ev.arg_int("sector")
        except KernelBug:  # no sector for the entry: _check_sector tells
            return True

    def _diverge(self, ev: TraceEvent, line: str, message: str, allowed: Iterable[str],
                 branches: tuple[str, ...], folio: _Folio | None = None) -> None:
        if folio is not None:
            folio.unknown = True
        if self.missed:
            probe = explained_by_missed(self.missed, branches)
            if probe is not None:
                self._count_unknown(f"missed-hit:{probe}")
                return
        self.report.divergences.append(Divergence(
            path=ev.path, lineno=ev.lineno, line=line.rstrip("\n"),
            message=message + " (Linux 6.12.118 model)", allowed=tuple(allowed),
            branches=branches, history=tuple(folio.history[-6:]) if folio else ()))
        if len(self.report.divergences) >= self.max_divergences:
            self.stopped = True

    def _close(self, ev: TraceEvent) -> None:
        """An event on the CPU of open read completions: their folios were unlocked before it.

        As the 6.1 checker's ``_close``: the next event of a completion's context, or of a
        context that does not nest in it (its softirq has returned), ends it; its own alert
        is printed inside it, before the unlock (mm/page_io.c:60-70), and an interrupt
        nested in it ends nothing.
        """
        context = ev.context
        open_ = self._open.get(context.cpu)
        if open_ is None:
            return
        ctx, folios = open_
        irq = context.flags[2:3]
        if ctx == (context.cpu, context.pid, irq):
            if ev.name == "console" and _swap_alert(ev.args["msg"]):
                return
        elif irq in _NESTED.get(ctx[2], ""):
            return
        for folio in folios:
            if folio.unlocked_ts is None:
                folio.unlocked_ts = ev.ts_us
        del self._open[context.cpu]

    def _lost(self) -> None:
        """Lost events: every folio and prediction is unknown, and the ratelimit state."""
        self._open.clear()  # their folios are forgotten below
        for _, _, predicted in self.expect.values():
            self._count_unknown("prediction-cut-by-lost-events", len(predicted))
        self.expect.clear()
        self._alt.clear()
        for done in self.rq_done.values():
            self._count_unknown("request-without-swap-bio", sum(e is not None for e in done))
        self.rq_done.clear()
        self.folios.clear()
        self.entry_folio.clear()
        self.submitting.clear()
        self._close_calls("call-cut-by-lost-events")
        self.replay.forget()
        self.ratelimit_known = False
        self.report.counts["lost-events"] = self.report.counts.get("lost-events", 0) + 1

    @staticmethod
    def _note(folio: _Folio, ev: TraceEvent, line: str) -> None:
        folio.history.append((ev.lineno, line.rstrip("\n")))
        if len(folio.history) > 12:
            del folio.history[:6]

    # -- handlers -------------------------------------------------------------------------

    def _end_io(self, ev: TraceEvent, line: str) -> None:
        """An async bio's ``bi_end_io``: the model's ``end_swap_bio_*`` calls
        ``__end_swap_bio_*`` on the same bio first (ER-4, EW-4): the next event here."""
        self.end_io[_ctx(ev.context)] = ev

    def _inner_of(self, outer: TraceEvent, ev: TraceEvent, line: str) -> bool:
        """Check ``ev``, the next event of ``outer``'s context; False: handled (diverged)."""
        del self.end_io[_ctx(ev.context)]
        self.checks += 1
        inner = f"__{outer.name}"
        if ev.name == inner and ev.args["bio"] == outer.args["bio"]:
            return True
        self._diverge(ev, line, f"after {outer.name} (line {outer.lineno}) of bio "
                      f"{outer.args['bio']}, the 6.12 model's {outer.name} calls {inner} on "
                      f"it next; the trace shows {ev.name}", [f"{inner} bio={outer.args['bio']}"],
                      ("ER-4",) if outer.name == "end_swap_bio_read" else ("EW-4",),
                      self.folios.get(outer.arg_int("page")))
        return ev.name != inner

    def _add_swap_extent(self, ev: TraceEvent, line: str) -> None:
        """swapon adds an extent: the model's area gets it; its return is awaited (SE-1)."""
        try:
            self.oracle.add_extent(ev.arg_int("type"), ev.arg_int("start_page"),
                                   ev.arg_int("nr_pages"), ev.arg_int("start_block"))
        except KernelBug as bug:  # BUG_ON: an extent out of order
            self.checks += 1
            self._diverge(ev, line, f"the model's add_swap_extent refuses it: {bug}",
                          ["extents in page order"], ("SE-1",))
            return
        self.extent_rets[ev.pid] = self.oracle.extent_ret

    def _add_swap_extent_ret(self, ev: TraceEvent, line: str) -> None:
        want = self.extent_rets.pop(ev.pid, None)
        if want is None:
            self._count_unknown("not-mapped-6.12:add_swap_extent_ret")
            return
        self.checks += 1
        if ev.arg_int("ret") != want:
            what = "added a new extent" if want else "merged the extent into the last"
            self._diverge(ev, line, f"add_swap_extent returns {ev.arg_int('ret')}, but the "
                          f"model's {what}: it returns {want}", [f"ret={want}"], ("SE-1",))

    def _swap_writepage(self, ev: TraceEvent, line: str) -> None:
        """A swap-out starts: the folio's read outcome is checked (ER-2); a new life."""
        addr = ev.arg_int("page")
        old = self.folios.get(addr)
        pflags = ev.arg_int("pflags")
        if old is not None and old.after is not None and not old.unknown:
            self.checks += 1
            want = old.after & PageFlags612.PG_uptodate
            if pflags & PageFlags612.PG_uptodate != want:
                self._diverge(ev, line, f"swap_writepage of folio {addr:#x} with flags "
                              f"{decode_page_flags_6_12(pflags)}, but the model's "
                              f"__end_swap_bio_read left it "
                              f"{decode_page_flags_6_12(old.after)}",
                              ["uptodate" if want else "not uptodate"], ("ER-2",), old)
        folio = self._folio(addr, new=ev)
        folio.entry = ev.arg_int("entry")
        self._entry_folio(folio.entry, addr)
        folio.write = True
        self._note(folio, ev, line)
        self._count_unknown("not-mapped-6.12:swap_writepage")  # its path is not replayed

    def _submit(self, ev: TraceEvent, line: str) -> None:
        """``__swap_writepage`` or ``swap_read_folio``: a submission of the folio's I/O."""
        write = ev.name == "__swap_writepage"
        folio = self._folio(ev.arg_int("folio"), new=None if write else ev)
        folio.entry = ev.arg_int("entry")
        self._entry_folio(folio.entry, ev.arg_int("folio"))
        folio.write = write
        folio.submitted = ev.lineno
        folio.sync = False
        folio.completed = folio.wb_ended = 0
        folio.bio = False
        folio.after = None
        self._note(folio, ev, line)
        self.submitting[ev.pid] = folio
        self._count_unknown(f"not-mapped-6.12:{ev.name}")

    def _sync(self, ev: TraceEvent, line: str) -> None:
        folio = self._folio(ev.arg_int("folio"))
        folio.sync = folio.bio = True
        self._note(folio, ev, line)
        self._count_unknown(f"not-mapped-6.12:{ev.name}")

    def _submit_ret(self, ev: TraceEvent, line: str) -> None:
        self.submitting.pop(ev.pid, None)
        self._count_unknown(f"not-mapped-6.12:{ev.name}")

    def _branch(self, folio: _Folio) -> str:
        if folio.write:
            return "WS-1" if folio.sync else "WA-1"
        return "RS-1" if folio.sync else "RB-1"

    def _check_sector(self, ev: TraceEvent, line: str, folio: _Folio, sector: int) -> None:
        """The bio's sector is the model's ``swap_folio_sector`` of the folio's slot."""
        self.checks += 1
        want = self.oracle.sector(folio.entry)
        if sector != want:
            self._diverge(ev, line, f"{ev.name} at sector {sector}, but the folio holds swap "
                          f"entry {SwapEntry.from_val(folio.entry)}, whose sector is {want}",
                          [f"sector={want}"], (self._branch(folio),), folio)

    def _block_bio_queue(self, ev: TraceEvent, line: str) -> None:
        folio = self.submitting.pop(ev.pid, None)
        if folio is not None and self.fi is not None:
            self.fi.queued(ev, folio.write)  # it passed should_fail_bio
        if folio is None or folio.unknown or ev.arg_int("nr_sector") != 8:
            self._count_unknown("not-mapped-6.12:block_bio_queue")
            return
        self._note(folio, ev, line)
        folio.bio = True
        rwbs = ev.args["rwbs"]
        if ("W" in rwbs) != folio.write:
            self.checks += 1
            self._diverge(ev, line, f"a {'write' if 'W' in rwbs else 'read'} bio after "
                          f"{'__swap_writepage' if folio.write else 'swap_read_folio'}",
                          ["W" if folio.write else "R"], (self._branch(folio),), folio)
            return
        self._check_sector(ev, line, folio, int(ev.args["sector"]))

    def _completion(self, ev: TraceEvent, line: str) -> None:
        """``__end_swap_bio_*``: run the 6.12 model's completion; predict what follows."""
        read = ev.name == "__end_swap_bio_read"
        addr = ev.arg_int("page")
        folio = self.folios.get(addr)
        if (self.fi is not None and folio is not None and self.submitting.get(ev.pid) is folio
                and self.fi.failed(ev, not read)):
            # Ended in its submitter at should_fail_bio (block/blk-core.c:786), before
            # block_bio_queue: the model's should_fail_bio failed it too (faultinject.py).
            del self.submitting[ev.pid]
        if folio is not None:  # a completion of the last life, tied with this one's start?
            folio = self._life(folio, ev)
        if folio is None or folio.unknown or folio.submitted == 0:
            self._count_unknown("completion-of-unknown-folio")
            return
        self._note(folio, ev, line)
        self.checks += 1
        if folio.write == read or folio.completed:
            what = "second completion" if folio.completed else "completion of the wrong kind"
            self._diverge(ev, line, f"{what} of folio {addr:#x}: its "
                          f"{'__swap_writepage' if folio.write else 'swap_read_folio'} (line "
                          f"{folio.submitted}) submitted one bio, completed "
                          f"{'at line ' + str(folio.completed) if folio.completed else 'never'}",
                          ["one completion per submission"], ("BIO-2",), folio)
            return
        folio.completed = ev.lineno
        folio.completed_ts = ev.ts_us
        if read:  # open until its context prints again (_close)
            folio.unlocked_ts = None
            key = _ctx(ev.context)
            open_ = self._open.get(key[0])
            if open_ is None or open_[0] != key:
                self._open[key[0]] = (key, [folio])
            else:
                open_[1].append(folio)
        folio.bio = True  # also one fault injection failed before block_bio_queue
        folio.status = ev.arg_int("bi_status")
        self._check_sector(ev, line, folio, ev.arg_int("sector"))
        if folio.unknown:
            return
        status = ev.arg_int("bi_status")
        args = (ev.arg_int("pflags"), status, ev.arg_int("sector"), ev.arg_int("size"),
                REQ_OP_READ if read else ev.arg_int("opf") or REQ_OP_WRITE, ev.arg_int("dev"),
                ev.ts_us)
        key = _ctx(ev.context)
        self._alt.pop(key, None)
        other = self._ratelimit_edge(ev) if status else None
        if other is not None:  # the other side of the edge, on a copy of the state
            k = self.oracle.k
            ratelimits = k.ratelimits
            k.ratelimits = {site: copy.copy(rs) for site, rs in ratelimits.items()}
            self.oracle.jiffies = other
            try:
                alt = self.oracle.complete(*args, read=read)[1]
                self._alt[key] = (_predicted(alt), k.ratelimits)
            except KernelBug:
                pass  # the same refusal follows below
            finally:
                self.oracle.jiffies = None
                k.ratelimits = ratelimits
        try:
            after, predicted = self.oracle.complete(*args, read=read)
        except KernelBug as bug:
            self._diverge(ev, line, f"the 6.12 model's {ev.name} refuses this folio: {bug}",
                          [], ("ER-3",) if read else ("EW-3",), folio)
            return
        if read:
            folio.after = after
        else:
            folio.lookup_race = any(entry == folio.entry and pid != ev.pid
                                    for pid, entry in self.faults.items())
        wanted = _predicted(predicted)
        alt_ = self._alt.get(key)
        if alt_ is not None and [_show(e) for e in alt_[0]] == [_show(e) for e in wanted]:
            del self._alt[key]  # both sides of the edge print the same
        if wanted or key in self._alt:
            self.expect[key] = (ev, folio, wanted)

    def _ratelimit_edge(self, ev: TraceEvent) -> int | None:
        """The jiffies on the other side of the ratelimit's interval edge (printk's 5 s,
        lib/ratelimit.c:42) when completion ``ev``'s alert decision falls within the clock's
        resolution of it: the trace's jiffies, and those of the interval's start, are known
        only to that resolution, so either side may be the kernel's (Checker612._alt). None:
        the decision is clear, or the clock is fine (oracle.ratelimit_edge)."""
        if not self.ratelimit_known:  # unknown already
            return None
        at_edge = ratelimit_edge(self.oracle.k.ratelimits.get(ev.name),  # its call site's
                                 ev.ts_us, self._res_us)
        if at_edge is None:
            return None
        jiffies, edge = at_edge
        return edge if jiffies > edge else edge + 1

    def _match_expected(self, key: CtxKey, ev: TraceEvent, line: str) -> bool:
        """The next event of a completion's context: the model's next prediction?"""
        done, folio, predicted = self.expect[key]
        if ev.name == "console" and not _swap_alert(ev.args["msg"]):
            return True  # another console line: not an outcome
        alt = self._alt.pop(key, None)
        if alt is not None and not _agrees(predicted, ev) and _agrees(alt[0], ev):
            # The alert decision fell within the clock's resolution of the ratelimit
            # interval's edge (_ratelimit_edge): the trace shows the other side.
            predicted[:] = alt[0]
            self.oracle.k.ratelimits = alt[1]
            self._count_unknown("ratelimit-decision-at-clock-edge")
        if not predicted:  # the side without an alert or end: the event is not one of them
            del self.expect[key]
            return False
        head = predicted[0]
        branches = ("ER-1", "PR-1") if done.name == "__end_swap_bio_read" else \
            ("EW-1", "PR-1") if head.name == "console" else ("EW-3",)
        if not self.ratelimit_known and (head.name == "console") != (ev.name == "console"):
            # Lost events cut the ratelimit's history: an alert's presence is unknown.
            self._count_unknown("alert-after-lost-events")
            if ev.name == "console":
                return True
            del predicted[0]
            if not predicted:
                del self.expect[key]
                return False
            return self._match_expected(key, ev, line)
        if ev.name != head.name:
            del self.expect[key]
            self.checks += 1
            self._diverge(ev, line, f"after {done.name} (line {done.lineno}) the 6.12 model "
                          f"does {_show(head)} next in this context; the trace shows {ev.name}",
                          [_show(head)], branches, folio)
            return ev.name in ("console", "folio_end_writeback")
        self.checks += 1
        del predicted[0]
        if not predicted:
            del self.expect[key]
        if head.name == "console":
            msg = ev.args["msg"].rstrip()
            if msg != str(head.arg("msg")).rstrip():
                self._diverge(ev, line, f"alert {msg!r}, but the 6.12 model prints "
                              f"{head.arg('msg')!r}", [_show(head)], branches, folio)
            return True
        pflags = ev.arg_int("pflags")
        want = int(head.arg("pflags"))
        if (pflags ^ want) & _MODEL_BITS == PageFlags612.PG_reclaim and folio.lookup_race \
                and not pflags & PageFlags612.PG_reclaim:
            # PG_reclaim is PG_readahead (include/linux/page-flags.h:131): a fault's
            # swap_cache_get_folio on another CPU clears it without the folio lock
            # (mm/swap_state.c:368), here between the completion's entry and this event.
            self._count_unknown("reclaim-cleared-by-a-concurrent-fault")
        elif (pflags ^ want) & _MODEL_BITS == PageFlags612.PG_reclaim \
                and pflags & PageFlags612.PG_reclaim and (
                    pflags & PageFlags612.PG_locked
                    or pflags & ~done.arg_int("pflags") & PageFlags612.PG_active):
            # After the error path's folio_clear_reclaim (mm/page_io.c:47), reclaim on
            # another CPU met the folio still under writeback: folio_set_reclaim under the
            # folio's lock (mm/vmscan.c:1206, shrink_folio_list's case 2), then
            # activate_locked's PG_active (mm/vmscan.c:1526); the probe shows the lock it
            # holds or the activation it made (as the 6.1 checker's).
            self._count_unknown("reclaim-set-by-concurrent-reclaim")
        elif pflags & _MODEL_BITS != want & _MODEL_BITS:
            self._diverge(ev, line, f"folio_end_writeback sees "
                          f"{decode_page_flags_6_12(pflags & _MODEL_BITS)}, but after "
                          f"{done.name} (line {done.lineno}) the 6.12 model's folio is "
                          f"{decode_page_flags_6_12(want & _MODEL_BITS)}",
                          [_show(head)], ("EW-1", "EW-2", "EW-3"), folio)
            return True
        self._folio_end_writeback(ev, line, predicted_ok=True, life=folio)
        return True

    def _folio_end_writeback(self, ev: TraceEvent, line: str, predicted_ok: bool = False,
                             life: _Folio | None = None) -> None:
        """Only of a folio under writeback, once per ``__swap_writepage`` (FM-3). ``life``:
        the life of the folio its completion ended (the last one, in a tie)."""
        addr = ev.arg_int("folio")
        folio = self.folios.get(addr) if life is None else life
        if folio is None or folio.unknown or not folio.write:
            self._count_unknown("not-mapped-6.12:folio_end_writeback")
            return
        self._note(folio, ev, line)
        self.checks += 1
        if folio.wb_ended:
            self._diverge(ev, line, f"folio_end_writeback of folio {addr:#x} again: its "
                          f"writeback ended at line {folio.wb_ended}, and no __swap_writepage "
                          "started another", ["no second end"], ("FM-3",), folio)
            return
        folio.wb_ended = ev.lineno
        probe = Folio(flags=model_page_flags(ev.arg_int("pflags")))
        try:
            folio_end_writeback(self.oracle.k, probe)
        except KernelBug as bug:
            self._diverge(ev, line, f"the model's folio_end_writeback refuses it: {bug}",
                          ["PG_writeback set"], ("FM-3",), folio)
            return
        if not predicted_ok and folio.submitted and not folio.completed:
            self._diverge(ev, line, f"folio_end_writeback of folio {addr:#x} before its write "
                          f"bio (line {folio.submitted}) completed",
                          ["__end_swap_bio_write first"], ("EW-3",), folio)

    def _do_swap_page(self, ev: TraceEvent, line: str) -> None:
        """A fault on a swap PTE: whose swap entry it looks up (its replay: _record_fault)."""
        entry = SwapEntry.from_pte(ev.arg_int("orig_pte")).val
        if len(self.faults) >= _MAX_OPEN_FAULTS and ev.pid not in self.faults:
            self.faults.pop(next(iter(self.faults)))  # bounded: the oldest is forgotten
        self.faults[ev.pid] = entry
        for _, folio, _ in self.expect.values():
            if folio.write and folio.entry == entry:
                folio.lookup_race = True
        self._count_unknown("not-mapped-6.12:do_swap_page")

    def _do_swap_page_ret(self, ev: TraceEvent, line: str) -> None:
        self.faults.pop(ev.pid, None)
        self._count_unknown("not-mapped-6.12:do_swap_page_ret")

    # -- replayed faults (replay_6_12.Replayer612.fault) ------------------------------------

    def _entry_folio(self, entry: int, addr: int) -> None:
        """The folio the trace last showed for swap entry ``entry`` (a fault's lookup)."""
        if len(self.entry_folio) >= _MAX_ENTRIES and entry not in self.entry_folio:
            self.entry_folio.pop(next(iter(self.entry_folio)))
        self.entry_folio[entry] = addr

    def _record_fault(self, ev: TraceEvent, line: str) -> None:
        """Follow a task's ``do_swap_page``; replay it at its return."""
        if ev.in_softirq:
            return
        if ev.name == "do_swap_page":
            self._open_call(self.fault_calls, ev, FaultCall(ev, line), self._abandon_one)
            return
        call = self.fault_calls.get(ev.pid)
        if call is None or not call.add(ev, line):
            return
        if ev.name == "do_swap_page_ret":
            del self.fault_calls[ev.pid]
            self._replayed = True
            target, folio = self._fault_target(call)
            if self._deferred_faults or (folio is not None and folio.bio and not folio.write
                                         and not folio.completed):
                # Its read is in flight: its completion may yet be printed at this
                # timestamp on a higher CPU (a tie, replay.tie), having come before; the
                # faults after it wait for its replay (the state it leaves, folio.mapped).
                self._deferred_faults.append((call, folio))
                return
            self._replay_fault(call, target, folio)

    def _flush_faults(self) -> None:
        """Replay the faults deferred (_record_fault) in the order they returned; the
        state of the folio each worked on now includes any tied completion."""
        deferred, self._deferred_faults = self._deferred_faults, []
        for call, folio in deferred:
            self._replay_fault(call, *self._fault_target(call, folio))

    def _fault_target(self, call: FaultCall, life: _Folio | None = None
                      ) -> tuple[FaultTarget | None, _Folio | None]:
        """The state of the folio the fault works on, from the trace's history (None: the
        fault ran inside a lost-events gap or a state the replay cannot take), and what the
        checker knows of that folio, if it is a swap cache folio (``life``: the one it
        worked on, when the fault's replay was deferred)."""
        start = call.events[0]
        direct = call.direct_read
        if direct is not None:
            folio = self.folios.get(direct.arg_int("folio"))
            if folio is None or folio.unknown:
                return None, None
            return FaultTarget(slot=DISK if folio.bio else ZERO,
                               status=folio.status if folio.completed else 0), None
        ra_ret = next((e for e in call.events if e.name == "swapin_readahead_ret"), None)
        if ra_ret is not None:
            addr = ra_ret.arg_int("folio")
            if not addr:
                return FaultTarget(), None
            lock_line, lock_ts = ra_ret.lineno, ra_ret.ts_us
        else:
            entry = SwapEntry.from_pte(start.arg_int("orig_pte")).val
            found = self.entry_folio.get(entry)
            if found is None:
                return FaultTarget(known=False), None
            addr, lock_line, lock_ts = found, start.lineno, start.ts_us
        folio = life if life is not None else self.folios.get(addr)
        if folio is None:
            return FaultTarget(known=False), None
        if folio.unknown:
            return None, None
        mapped, line = folio.mapped
        if line and line > max(folio.completed, folio.submitted):
            # An earlier fault of this folio since its last I/O: as the model left it.
            return FaultTarget(flags=mapped), folio
        if folio.write or not folio.bio:  # a swap-out's folio, or read from zeromap/zswap
            return FaultTarget(), folio
        if not folio.completed:
            return FaultTarget(pending=0), folio  # in flight past the fault's return
        # The completion's unlock (ER-3) came after its entry and before its context's next
        # event: when that is not before the fault's lock point either (or there is none
        # yet), the unlock may have come on either side of folio_lock_or_retry, whatever
        # order the recorder printed the completion's entry and the fault in (a tracefs
        # and a bpftrace recording of one boot differ there): both orders are tried.
        unlocked = folio.unlocked_ts is not None and folio.unlocked_ts < lock_ts
        if folio.completed < start.lineno and unlocked:  # completed before the fault began
            after = folio.after if folio.after is not None else \
                int(PageFlags612.PG_uptodate)
            return FaultTarget(flags=after), folio
        early = folio.completed < lock_line and folio.completed_ts < lock_ts and unlocked
        return FaultTarget(pending=folio.status, early=early), folio

    def _replay_fault(self, call: FaultCall, target: FaultTarget | None,
                      folio: _Folio | None) -> None:
        """Run the fault on the 6.12 model; a difference is a divergence at its step."""
        if target is None:
            self._count_unknown("not-replayed-6.12:fault-folio-unknown", 2)
            return
        verdict, inputs = self.replay.fault(call, target)
        if not verdict.ok:  # its own steps: do_swap_page and its return (the others are
            # their replays')
            self._replay_diverged(verdict, call.events, call.lines,
                                  (0, len(call.events) - 1))
            return
        if folio is not None and verdict.after is not None:
            folio.mapped = (verdict.after, call.events[-1].lineno)
        if not target.known:
            inputs += 1  # the found folio's state was assumed: uptodate, unlocked
        self.checks += 2 - min(inputs, 1)
        if inputs and target.known:
            self._count_input("fault-lock-contention")
        elif inputs:  # assumed, not seen: unknown
            self._count_unknown("fault-cached-folio-state-assumed")

    # -- request completions (DEV-1) ----------------------------------------------------------

    def _block_rq_complete(self, ev: TraceEvent, line: str) -> None:
        old = self.rq_done.pop(_ctx(ev.context), None)
        if old is not None:
            self._count_unknown("request-without-swap-bio", sum(e is not None for e in old))
        self.rq_done[_ctx(ev.context)] = [ev, None]

    def _block_rq_error(self, ev: TraceEvent, line: str) -> None:
        done = self.rq_done.get(_ctx(ev.context))
        rq = done[0] if done is not None else None
        if done is None or rq is None or done[1] is not None or any(
                ev.args[k] != rq.args[k] for k in ("dev", "rwbs", "sector", "nr_sector")):
            self._count_unknown("not-mapped-6.12:block_rq_error")
            return
        done[1] = ev

    def _request_of(self, ev: TraceEvent, line: str) -> None:
        """A swap bio's completion after a ``block_rq_complete`` of its context: if the bio
        is of that request, the model's ``blk_update_request`` with the bio's status must
        print the request's error and a ``block_rq_error`` exactly when it failed."""
        key = _ctx(ev.context)
        done = self.rq_done.get(key)
        if done is None:
            return
        rq, err_ev = done
        assert rq is not None
        start, nr = rq.arg_int("sector"), rq.arg_int("nr_sector")
        major, minor = rq.arg_int("major"), rq.arg_int("minor")
        if not (start <= ev.arg_int("sector") < start + nr
                and ev.arg_int("dev") == major << 20 | minor
                and ("W" in rq.args["rwbs"]) == ev.name.endswith("_write")):
            return  # another device's bio (a stacked device's original), or another request
        del self.rq_done[key]
        status = ev.arg_int("bi_status")
        if rq.name == "block_bio_complete":  # bio_endio of a bio-based device (zram, brd,
            # dm): trace_block_bio_complete(bio) prints blk_status_to_errno(bio->bi_status)
            error, fails = blk_status_to_errno(blk_status_of(status)), False  # block/bio.c:1701
        else:
            error, fails = self.oracle.request_end(major << 20 | minor,
                                                   "W" in rq.args["rwbs"], start, nr, status)
        self.checks += 1 + (err_ev is not None)
        rq_line = f"{rq.name}: {rq.args}"
        if rq.arg_int("error") != error:
            self._diverge(rq, rq_line, f"{rq.name} with error {rq.arg_int('error')}, but its "
                          f"bio completes with bi_status={status}: the model's "
                          f"{_ERRNO_OF.get(rq.name, 'blk_update_request')} gives error "
                          f"{error}", [f"[{error}]"], ("DEV-1",))
        elif fails != (err_ev is not None):
            self._diverge(ev, line, f"the request (line {rq.lineno}) ended with bi_status="
                          f"{status}: the model's blk_update_request "
                          f"{'traces' if fails else 'does not trace'} block_rq_error before "
                          "its bios complete", ["block_rq_error" if fails else "no error"],
                          ("DEV-1",))

    def _console(self, ev: TraceEvent, line: str) -> None:
        if not _swap_alert(ev.args["msg"]):
            return
        self.checks += 1
        if not self.ratelimit_known:
            self._count_unknown("alert-after-lost-events")
            return
        branch = "ER-1" if ev.args["msg"].startswith(_ALERTS[0]) else "EW-1"
        self._diverge(ev, line, "a swap I/O alert that no completion of the 6.12 model "
                      "printed in this context", ["no alert"], (branch, "PR-1"))


def _agrees(predicted: Sequence[ModelEvent], ev: TraceEvent) -> bool:
    """Whether ``ev`` is the next of the ``predicted`` events (an alert line, with its text),
    or no alert or writeback end when none is predicted."""
    if not predicted:
        return ev.name not in _PREDICTED
    head = predicted[0]
    return ev.name == head.name and (
        ev.name != "console" or ev.args["msg"].rstrip() == str(head.arg("msg")).rstrip())


def _predicted(events: Sequence[ModelEvent]) -> list[ModelEvent]:
    """What of the model's events after a completion its context's next events must be: its
    alert and writeback end. Not the ratelimit's "N callbacks suppressed" line, which the
    trace's side skips as another console line (_swap_alert)."""
    return [e for e in events if e.name in _PREDICTED and not (
        e.name == "console" and str(e.arg("msg")).rstrip().endswith(" callbacks suppressed"))]


#: The events a completion's context prints next that its model predicts.
_PREDICTED = ("console", "folio_end_writeback")
_ERRNO_OF = {"block_bio_complete": "blk_status_to_errno"}
_BIO_ENDS = frozenset({"end_swap_bio_read", "end_swap_bio_write", "__end_swap_bio_read",
                       "__end_swap_bio_write"})


#: The hardirq/softirq flag of a context -> those of contexts that nest in it (an interrupt
#: of a softirq, an NMI of a hardirq): as the 6.1 checker's.
_NESTED = {"s": "hHzZ", "h": "zZ", "H": "zZ", ".": "shHzZ"}


def _ctx(c: TaskContext) -> CtxKey:
    return (c.cpu, c.pid, c.flags[2:3])


def _swap_alert(msg: str) -> bool:
    return msg.startswith(_ALERTS)


def _show(ev: ModelEvent) -> str:
    if ev.name == "console":
        return f"console: {ev.arg('msg')!r}"
    return f"{ev.name} pflags={decode_page_flags_6_12(int(ev.arg('pflags')) & _MODEL_BITS)}"


def check_trace_6_12(source: Source | Iterable[TraceEvent | LostEvents], *,
                     max_divergences: int = 20, name: str | None = None,
                     missed: Mapping[str, int] | None = None,
                     tee: Callable[[TraceEvent | LostEvents], None] | None = None,
                     ) -> CheckReport:
    """Check a 6.12 trace (a path, an open stream, or 6.12 events) against the 6.12 model.

    ``tee`` (a path or stream only) sees every parsed event and lost-events marker in trace
    order, those after the last divergence checked too (``kmodel check --perfetto``).
    Raises TraceFormatError for a line that is no 6.12 event of a known format.
    """
    start = time.perf_counter()
    if not isinstance(source, str | os.PathLike) and not hasattr(source, "read"):
        checker = Checker612(name or "<events>", max_divergences=max_divergences,
                             missed=missed)
        for item in source:
            if checker.stopped:
                checker.events += not isinstance(item, LostEvents)
            else:
                checker.feed(item, "" if isinstance(item, LostEvents) else
                             f"{item.name}: {item.args}")
        report = checker.finish()
        report.seconds = time.perf_counter() - start
        return report
    source = cast(Source, source)
    with open_trace(source, name) as (lines, path):
        checker = Checker612(path, max_divergences=max_divergences, missed=missed)
        scanner = LineScanner(path)
        last_ts: dict[str, str] = {}
        lineno = 0
        try:
            for lineno, line in enumerate(lines, 1):
                if not line.isascii():
                    scanner.not_utf8(lineno, line)
                m = scanner.match(line)
                if m is None:
                    if line.startswith(("# fault-inject:", "# kmodel trim:")):
                        checker.fault_inject_header(lineno, line)
                    if line.startswith("# zswap:"):
                        checker.zswap_header(lineno, line)
                    elif line.startswith("# page-cluster:"):
                        checker.page_cluster_header(lineno, line)
                    elif line.startswith(("# vma-readahead:", "# swap-disk:")):
                        checker.readahead_header(lineno, line)
                    lost = scanner.other(lineno, line)
                    if lost is not None:
                        if tee is not None:
                            tee(lost)
                        checker.feed(lost)
                    continue
                cpu, sec, usec, ev_name, text = m.group(5, 7, 8, 9, 10)
                ts = sec + usec
                prev = last_ts.get(cpu, "")
                if ts < prev or len(ts) < len(prev):
                    scanner.time_order(lineno, line, cpu, ts, prev)
                elif not prev and scanner.clock(lineno, line, usec):
                    checker.counting_clock()
                last_ts[cpu] = ts
                if checker.stopped and tee is None:
                    checker.events += 1
                    continue
                try:
                    # The scanner's console parser: lines continuing the message (a
                    # FAULT_INJECTION notice's second line) become its msg_rest (parse.py).
                    args = (scanner.parsers["console"](text) if ev_name == "console"
                            else parse_args_6_12(ev_name, text))
                except LineScanner.ArgsError as e:
                    raise scanner.bad_args(lineno, line, e) from None
                event = TraceEvent(path, lineno, scanner.context(m), int(ts), ev_name, args)
                if tee is not None:
                    tee(event)
                    if checker.stopped:
                        checker.events += 1
                        continue
                checker.feed(event, line)
        except UNREADABLE as e:
            raise scanner.unreadable(lineno, e) from None
    report = checker.finish()
    report.seconds = time.perf_counter() - start
    return report


def parse_event_line_6_12(line: str, path: str = "<line>", lineno: int = 1) -> TraceEvent:
    """The 6.12 event of one trace line (TraceFormatError if it is none)."""
    scanner = LineScanner(path)
    m = scanner.match(line)
    if m is None:
        raise scanner.bad_args(lineno, line, LineScanner.ArgsError("expected a trace event"))
    try:
        args = parse_args_6_12(m.group(9), m.group(10))
    except LineScanner.ArgsError as e:
        raise scanner.bad_args(lineno, line, e) from None
    return TraceEvent(path, lineno, scanner.context(m), int(m.group(7) + m.group(8)),
                      m.group(9), args)


def resolve_kernel(source: object, kernel: str | None) -> str:
    """The kernel line to check ``source`` as: ``kernel`` if given, else the file's
    ``# kernel:`` header line or first events (:func:`trace_kernel`), else 6.1."""
    if kernel is not None:
        return check_version(kernel)
    if isinstance(source, str | os.PathLike):
        found = trace_kernel(source)
        if found is not None:
            return found
    return "6.1"
