"""Replay the swap-outs and swap-ins of a Linux 6.12 trace on the 6.12 model.

No kernel counterpart. A swap-out (``swap_writepage`` … ``swap_writepage_ret``) or a read
(``swap_read_folio`` … ``swap_read_folio_ret``) of a 6.12 trace, in the task that made it, is
run again on a small 6.12 model :class:`~kmodel.kernel.Kernel`: the model's own
``swap_writepage``, ``is_folio_zero_filled``, ``zswap_store``, ``__swap_writepage``,
``swap_writepage_bdev_{sync,async}``, ``swap_read_folio``, ``swap_read_folio_zeromap``,
``zswap_load`` and ``swap_read_folio_bdev_{sync,async}`` (Linux 6.12.118 mm/page_io.c:241-289,
452-473, 511-539, 575-656; mm/zswap.c:1459-1642), on a folio with the trace's flags and
swap entry. What the model then emits in the task's context — which functions, in which order,
with which folio flags, which bio (``rwbs``, size), what ``swap_writepage`` returns — must be
what the trace shows, event for event.

Inputs, what a trace does not tell or the kernel could not predict:

- whether a folio is zero-filled: a swap-out without ``zswap_store`` is the zeromap's (ZM-1;
  SW-1, a stale folio, shows the same events);
- whether zswap took a store (``zswap_store_ret``: its limits and compression are not
  modelled), unless the trace's ``# zswap: enabled=N`` header says zswap was never enabled:
  then the model's ``zswap_store`` and ``zswap_load`` answer false (ZS-1, ZL-1);
- whether the swap area is ``SWP_SYNCHRONOUS_IO``: the first bio of the area (an on-stack
  ``swap_*_bdev_sync`` bio or not) tells it, every later one must agree (WP-3/WP-4,
  RD-7/RD-8);
- a read's slot state when the trace has not shown the slot's swap-out: then the trace's
  ``zswap_load`` answers are taken.

Predicted from the trace's own history: the state a swap-out left its slot in — in the zeromap
(ZM-1), in zswap (SW-3) or on the device (SW-4) — decides the read of that slot: the zeromap
serves it without ``zswap_load`` (RD-3, ZM-3), else ``zswap_load`` returns whether zswap holds
it (ZL-1..ZL-4), else a bio reads it. A swap-out's sector, its completion and the read's
completion are checked by :mod:`kmodel.trace.check_6_12` (the oracle's ``swap_folio_sector``,
``__end_swap_bio_*``).

Faults (:meth:`Replayer612.fault`, the model's ``do_swap_page``), cluster readaheads
(:meth:`Replayer612.cluster`) and VMA readaheads (:meth:`Replayer612.vma`) are replayed the
same way; their inputs are listed at each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kmodel.block.bdev import BadRange, BlockDevice
from kmodel.block.bio import bio_add_page, bio_alloc
from kmodel.block.blk_core import Request
from kmodel.errors import KernelBug
from kmodel.executor.base import Executor, PendingIO
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.blk_types import REQ_OP_READ
from kmodel.include.linux.mm import VMFault, VmFault
from kmodel.include.linux.mm_types import (
    PAGE_SIZE,
    SWP_OFFSET_MASK,
    Folio,
    MMStruct,
    SwapEntry,
    VMArea,
    pte_swp_exclusive,
)
from kmodel.include.linux.page_flags import PageFlags
from kmodel.include.linux.sched import Task, TaskState
from kmodel.include.linux.swap import SwapExtent, SwapInfo, SwpFlags
from kmodel.include.linux.writeback import WbSyncMode, WritebackControl
from kmodel.kernel import Kernel, ModelEvent
from kmodel.mm.filemap import folio_unlock
from kmodel.mm.swap_state import (  # 6.12's are 6.1's (swap_state.c:317, 745)
    SWAP_RA_ORDER_CEILING,
    swap_use_vma_readahead,
)
from kmodel.trace.events import TraceEvent
from kmodel.trace.oracle import blk_status_of
from kmodel.trace.report import (
    MODEL_RAISED,
    MODEL_RUNAWAY,
    CallBudget,
    ModelRunaway,
    model_raised,
)
from kmodel.v6_12.include.linux.page_flags import (
    PageFlags612,
    decode_page_flags_6_12,
    kernel_page_flags,
    model_page_flags,
)
from kmodel.v6_12.mm import memory as memory_612
from kmodel.v6_12.mm import page_io as page_io_612
from kmodel.v6_12.mm import swap_state as swap_state_612
from kmodel.v6_12.mm import vmscan as vmscan_612
from kmodel.v6_12.mm.swapfile import swap_folio_sector

__all__ = ["FAULT_EVENTS", "RA_EVENTS", "READ_EVENTS", "WRITE_EVENTS", "Call", "FaultCall",
           "FaultTarget", "RaCall", "Replayer612", "SwapinCall", "Verdict", "use_vma_readahead"]

#: The events of a swap-out the replay compares, in the writing task's context.
WRITE_EVENTS = frozenset({"swap_writepage", "zswap_store", "zswap_store_ret",
                          "__swap_writepage", "swap_writepage_bdev_sync", "block_bio_queue",
                          "block_bio_remap", "swap_writepage_ret", "mm_vmscan_write_folio"})
#: The events of a read the replay compares, in the reading task's context.
READ_EVENTS = frozenset({"swap_read_folio", "zswap_load", "zswap_load_ret",
                         "swap_read_folio_bdev_sync", "block_bio_queue", "block_bio_remap",
                         "swap_read_folio_ret"})
#: The events of a cluster readahead the replay compares, in the faulting task's context.
RA_EVENTS = frozenset({"swap_cluster_readahead", "__read_swap_cache_async",
                       "__read_swap_cache_async_ret", "swap_read_folio",
                       "swap_cluster_readahead_ret"})
#: The events of a fault the replay compares, in the faulting task's context: do_swap_page's
#: own (its readahead's inside are the readahead replay's, a direct read's the read replay's).
FAULT_EVENTS = frozenset({"do_swap_page", "swapin_readahead", "swapin_readahead_ret",
                          "swap_read_folio", "do_swap_page_ret"})
_COMPLETIONS = frozenset({"end_swap_bio_write", "__end_swap_bio_write", "end_swap_bio_read",
                          "__end_swap_bio_read"})
#: Page flags (6.12 layout) the swap path itself sets or clears while the task holds the lock.
CHECKED_FLAGS = int(PageFlags612.PG_locked | PageFlags612.PG_uptodate | PageFlags612.PG_dirty
                    | PageFlags612.PG_writeback | PageFlags612.PG_swapcache)
#: A large folio (PG_head): mTHP swap-out/in is modelled at order 0 only (docs/linux-6.12.md).
_HEAD = int(PageFlags612.PG_head)
#: What a fault's replay hands on of the folio it found (Verdict.after).
_LOCK_BITS = int(PageFlags612.PG_locked | PageFlags612.PG_uptodate)
_NO_SLOTS = SWP_OFFSET_MASK + 1
MEMO_MAX = 1 << 12
SLOTS_MAX = 1 << 16
_WBC_FOR_RECLAIM = 0x8

#: Where a swap-out left its slot's contents.
ZERO, ZSWAP, DISK = "zeromap", "zswap", "device"


class Call:
    """One open swap-out or read of a task: its trace events (compared ones) and lines.

    A swap-out that returned to ``pageout`` (the ``swap_writepage_ret`` caller) is replayed
    through the model's ``pageout``, whose ``mm_vmscan_write_folio`` is the task's next event
    (Linux 6.12.118 mm/vmscan.c:695-710): the call stays open for it (:attr:`ended`).
    """

    __slots__ = ("ended", "events", "failed", "killed", "lines", "pageout", "write")

    def __init__(self, first: TraceEvent, line: str) -> None:
        self.write = first.name == "swap_writepage"
        self.events: list[TraceEvent] = [first]
        self.lines: list[str] = [line]
        self.ended = False  # swap_writepage_ret seen, pageout's tracepoint awaited
        self.pageout = False
        #: The bio failed in its submitter before block_bio_queue (fault injection's
        #: should_fail_bio, block/blk-core.c:786): not replayed, faultinject.py checks it.
        self.failed = False
        #: The bio was queued to a device-mapper device and ended in its submitter, failed,
        #: without a remap: the target killed it at map time (dm-flakey's DM_MAPIO_KILL).
        self.killed = False

    def add(self, ev: TraceEvent, line: str) -> bool:
        """Record ``ev`` if the replay compares it (the first bio, and its clone on a
        device-mapper device's underlying device); True if recorded."""
        if ev.name in _COMPLETIONS and ev.arg_int("bi_status"):
            seen = [e.name for e in self.events]
            if "block_bio_queue" not in seen:
                self.failed = True
            elif "block_bio_remap" not in seen:
                self.killed = True
            return False
        if self.ended:
            if ev.name != "mm_vmscan_write_folio":
                return False
        elif ev.name == "mm_vmscan_write_folio":
            return False
        names = WRITE_EVENTS if self.write else READ_EVENTS
        if ev.name not in names or ev.name in ("swap_writepage", "swap_read_folio"):
            return False
        last = self.events[-1].name
        if ev.name == "block_bio_remap" and (last != "block_bio_queue" or any(
                e.name == ev.name for e in self.events)):
            return False
        if ev.name == "block_bio_queue" and any(e.name == ev.name for e in self.events) \
                and (last != "block_bio_remap" or sum(e.name == ev.name
                                                      for e in self.events) > 1):
            return False  # a later bio: the swap bio was the first (and its dm clone)
        self.events.append(ev)
        self.lines.append(line)
        if ev.name == "swap_writepage_ret":
            self.pageout = ev.args.get("caller") == "pageout"
            self.ended = self.pageout
        return True


class RaCall:
    """One open ``swap_cluster_readahead`` … ``swap_cluster_readahead_ret`` of a task: its
    lookups (``__read_swap_cache_async`` and its return), the reads it started (whose own
    events the read replay checks), its return."""

    __slots__ = ("events", "lines")

    def __init__(self, first: TraceEvent, line: str) -> None:
        self.events: list[TraceEvent] = [first]
        self.lines: list[str] = [line]

    def add(self, ev: TraceEvent, line: str) -> bool:
        """Record ``ev`` if the readahead replay compares it; True if recorded."""
        if ev.name not in RA_EVENTS or ev.name == "swap_cluster_readahead":
            return False
        self.events.append(ev)
        self.lines.append(line)
        return True


class SwapinCall:
    """One open ``swapin_readahead`` … ``swapin_readahead_ret`` of a task: which readahead it
    took (its next event: ``swap_cluster_readahead``, or a lookup of the VMA readahead), and
    the folio that readahead ended with."""

    __slots__ = ("event", "kind", "last", "line", "lines", "steps")

    def __init__(self, first: TraceEvent, line: str) -> None:
        self.event = first
        self.line = line
        self.kind = ""  # "cluster" or "vma", from the next event
        self.last = 0  # the folio of the inner readahead's return, or of the last lookup
        #: A VMA readahead's steps (lookups, their returns, the reads they started, the
        #: return), replayed by :meth:`Replayer612.vma`, and their lines.
        self.steps: list[TraceEvent] = []
        self.lines: list[str] = []

    def add(self, ev: TraceEvent, line: str = "") -> bool:
        """Note a task event inside the call; True if it is a VMA readahead's step."""
        if not self.kind and ev.name in ("swap_cluster_readahead", "__read_swap_cache_async"):
            self.kind = "cluster" if ev.name == "swap_cluster_readahead" else "vma"
        if self.kind == "cluster" and ev.name == "swap_cluster_readahead_ret":
            self.last = ev.arg_int("folio")
        elif self.kind == "vma" and ev.name == "__read_swap_cache_async_ret":
            self.last = ev.arg_int("folio")
        if self.kind == "vma" and ev.name in _VMA_EVENTS:
            self.steps.append(ev)
            self.lines.append(line)
            return True
        return False


class FaultCall:
    """One open ``do_swap_page`` … ``do_swap_page_ret`` of a task: do_swap_page's own steps
    (:data:`FAULT_EVENTS`; a ``swap_read_folio`` of its readahead is not one of them)."""

    __slots__ = ("events", "inside_ra", "lines")

    def __init__(self, first: TraceEvent, line: str) -> None:
        self.events: list[TraceEvent] = [first]
        self.lines: list[str] = [line]
        self.inside_ra = False

    def add(self, ev: TraceEvent, line: str) -> bool:
        """Record ``ev`` if it is one of do_swap_page's own steps; True if recorded."""
        name = ev.name
        if name not in FAULT_EVENTS or name == "do_swap_page":
            return False
        if name == "swap_read_folio" and self.inside_ra:
            return False  # the readahead's read
        self.inside_ra = name == "swapin_readahead"
        self.events.append(ev)
        self.lines.append(line)
        return True

    @property
    def direct_read(self) -> TraceEvent | None:
        """The fault's own ``swap_read_folio`` (the SWP_SYNCHRONOUS_IO path), if any."""
        return next((e for e in self.events if e.name == "swap_read_folio"), None)


class FaultTarget:
    """What the checker knows of the folio ``do_swap_page`` works on, as the replay's input.

    ``flags``: the model flags (6.12 layout) of the swap cache folio the fault's lookup or
    its readahead found, as far as the trace's history tells (a read's outcome, a
    swap-out); ``pending``: the ``bi_status`` of its read when that read was still in flight
    as ``swapin_readahead`` returned and completed before ``do_swap_page_ret`` (None: not
    in flight); ``early``: that completion certainly came before ``swapin_readahead_ret``
    (then the folio was unlocked by the fault's ``folio_lock_or_retry``), else it may have
    come on either side of it. For a fault's own read (SWP_SYNCHRONOUS_IO): ``slot``, where
    the read found the data (zeromap, zswap, device), and ``status``, its completion's.
    ``known``: the state came from the trace's history, not assumed.
    """

    __slots__ = ("early", "flags", "known", "pending", "slot", "status")

    def __init__(self, flags: int = int(PageFlags612.PG_uptodate), pending: int | None = None,
                 early: bool = False, slot: str = DISK, status: int = 0,
                 known: bool = True) -> None:
        self.flags = flags
        self.pending = pending
        self.early = early
        self.slot = slot
        self.status = status
        self.known = known

    def key(self) -> tuple[object, ...]:
        return (self.flags & CHECKED_FLAGS, self.pending, self.early, self.slot, self.status)


class _FaultDiverged(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _FaultIO(Executor):
    """The executor of a fault's replay: a waiting task gets the I/O the trace completed.

    ``holder``: a folio another task holds locked (contention, an input); it is unlocked
    when the replayed task sleeps, as the kernel's holder would eventually.
    """

    def __init__(self, status: int) -> None:
        super().__init__()
        self.queue: list[PendingIO] = []
        self.status = status
        self.holder: Folio | None = None

    def submit(self, k: Kernel, io: PendingIO) -> None:
        self.queue.append(io)

    def schedule(self, k: Kernel, task: Task) -> None:
        while task.state != TaskState.TASK_RUNNING:
            if self.holder is not None:
                folio, self.holder = self.holder, None
                with k.softirq(1, ("replay_holder",)):
                    folio_unlock(k, folio)
                continue
            if not self.queue:
                raise _FaultDiverged("the 6.12 model's fault sleeps here on a folio lock or "
                                     "read that nothing in the trace ends before "
                                     "do_swap_page_ret")
            self.complete_one(k)

    def complete_one(self, k: Kernel) -> None:
        """Complete the oldest queued I/O with the trace's status."""
        self.queue.pop(0).complete(k, blk_status_of(self.status))

    @property
    def pending(self) -> list[PendingIO]:
        return list(self.queue)


def use_vma_readahead(enabled: bool, rotational: bool) -> bool:
    """The model's ``swap_use_vma_readahead`` (CR-5) for a trace's configuration:
    ``/sys/kernel/mm/swap/vma_ra_enabled`` and whether its swap disk is rotational (swapon
    counts a rotational area in ``nr_rotate_swap``, mm/swapfile.c:3519-3521)."""
    k = Kernel(executor=InlineExecutor(), version="6.12")
    k.enable_vma_readahead = enabled
    k.nr_rotate_swap = int(rotational)
    return swap_use_vma_readahead(k)


class Verdict:
    """A replay's result: conformant, or the index of the first step that diverged."""

    __slots__ = ("after", "allowed", "branches", "index", "kind", "message", "raised")

    def __init__(self, index: int = -1, message: str = "", allowed: Sequence[str] = (),
                 branches: tuple[str, ...] = (), after: int | None = None,
                 raised: bool = False, kind: str = MODEL_RAISED) -> None:
        self.index = index
        self.raised = raised  # the model's code raised (report.model_raised), at the call
        self.kind = kind  # with ``raised``: MODEL_RAISED, or MODEL_RUNAWAY (no end in budget)
        #: A fault's: the flags (6.12 layout) the model left the swap cache folio it found
        #: with, PG_locked and PG_uptodate only (what a later fault of it would see).
        self.after = after
        self.message = message
        self.allowed = tuple(allowed)
        self.branches = branches

    @property
    def ok(self) -> bool:
        """Whether the trace's call is what the model does."""
        return self.index < 0


def _raised(error: Exception | ModelRunaway) -> Verdict:
    """The verdict of a replay whose model code raised ``error``: a divergence of kind
    ``model-raised`` (``model-runaway`` past its CallBudget) at the call's first event (the
    model reached no step the trace can be held to). An exception out of the replay's own
    code is re-raised (a checker bug)."""
    if isinstance(error, ModelRunaway):
        return Verdict(0, error.message(), ("the model's call ending within its budget",), (),
                       raised=True, kind=MODEL_RUNAWAY)
    raised = model_raised(error)
    if raised is None:
        raise error
    return Verdict(0, raised.message(), ("the model's code running to its end",), (),
                   raised=True)


class _SwapMap(dict[int, int]):
    """``swap_map`` of a replay: every slot in use once (a slot a trace writes is in use)."""

    def __missing__(self, offset: int) -> int:
        return 1


def _arg(ev: TraceEvent | ModelEvent, key: str) -> int:
    if isinstance(ev, TraceEvent):
        return ev.arg_int(key)
    return int(ev.arg(key))


def _show(ev: ModelEvent) -> str:
    keys = _COMPARED.get(ev.name, ())
    parts = []
    for key, value in ev.args:
        if key not in keys:
            continue
        if key == "pflags":
            parts.append(f"pflags={decode_page_flags_6_12(int(value) & CHECKED_FLAGS)}")
        else:
            parts.append(f"{key}={value}")
    return " ".join([ev.name, *parts])


_COMPARED: dict[str, tuple[str, ...]] = {
    "swap_writepage": ("pflags", "sync_mode", "wbc_bits"),
    "mm_vmscan_write_folio": ("flags",),
    "zswap_store": ("pflags",),
    "zswap_store_ret": ("ret",),
    "__swap_writepage": ("pflags",),
    "swap_writepage_bdev_sync": ("pflags",),
    "zswap_load": ("pflags",),
    "zswap_load_ret": ("ret",),
    "swap_read_folio_bdev_sync": ("pflags",),
    "block_bio_queue": ("rwbs", "nr_sector"),
    "block_bio_remap": ("rwbs", "nr_sector", "old_sector"),
    "swap_writepage_ret": ("ret",),
}


class Replayer612:
    """Replays a 6.12 trace's swap-outs and reads on fresh 6.12 model kernels (memoized).

    ``extents(type)`` gives a swap type's extents as the checker knows them (the trace's
    ``add_swap_extent`` calls, else one from block 0), so the model's bio is the device's.
    """

    def __init__(self, extents: Callable[[int], list[SwapExtent]]) -> None:
        self.extents = extents
        #: SWP_SYNCHRONOUS_IO of each swap type, from its first bio (None: not seen yet).
        self.synchronous: dict[int, bool] = {}
        #: Swap types on a device-mapper device, from the first remap of one of their bios.
        self.stacked: set[int] = set()
        #: Where each slot's last swap-out in this trace left it (entry value -> state).
        self.slots: dict[int, str] = {}
        #: zswap's ``enabled`` from the trace's header (None: not said; its answers are inputs).
        self.zswap_enabled: bool | None = None
        self._memo: dict[tuple[object, ...], tuple[ModelEvent, ...] | KernelBug] = {}
        #: Faults replayed conformant without inputs beyond the trace's, by their inputs.
        self._fault_memo: dict[tuple[object, ...], Verdict] = {}

    def forget(self) -> None:
        """Lost events: the slots' histories are cut."""
        self.slots.clear()

    def zswap_writeback(self, entry: int) -> None:
        """A ``__swap_writepage`` outside ``swap_writepage`` (zswap writing an entry back):
        the slot is on the device now."""
        self._remember(entry, DISK)

    def large_write(self, call: Call) -> None:
        """A large folio's swap-out, not replayed (mTHP is modelled at order 0): when its
        bio shows it went to the device, each of its slots is on the device now, and a later
        read of one must go there (its replay checks it)."""
        bio = next((e for e in call.events if e.name == "block_bio_queue"), None)
        if bio is None or call.failed or call.killed:
            return
        first = call.events[0].arg_int("entry")
        for i in range(bio.arg_int("nr_sector") // 8):  # one slot per page of the folio
            self._remember(first + i, DISK)

    def _remember(self, entry: int, state: str) -> None:
        if len(self.slots) >= SLOTS_MAX and entry not in self.slots:
            self.slots.pop(next(iter(self.slots)))
        self.slots[entry] = state

    # -- the model's side ---------------------------------------------------------------

    def _kernel(self, type_: int, synchronous: bool, executor: Executor | None = None,
                killed: bool = False) -> Kernel:
        k = Kernel(executor=executor or InlineExecutor(), version="6.12")
        bdev = BlockDevice(254, 0, "swap", _NO_SLOTS * 8, driver="zram" if synchronous
                           else "virtio_blk", request_based=not synchronous,
                           rotational=not synchronous)
        if type_ in self.stacked:  # a dm table mapping at 0 (dm-linear, dm-flakey)
            bdev = BlockDevice(253, 0, "dm-0", _NO_SLOTS * 8, driver="dm-flakey",
                               request_based=False, remap_to=bdev)
            if killed:  # an input: dm-flakey's down interval is a matter of time
                bdev.submit_errors.append(BadRange(0, _NO_SLOTS * 8))
        flags = SwpFlags.SWP_USED | SwpFlags.SWP_WRITEOK | SwpFlags.SWP_BLKDEV
        if synchronous:
            flags |= SwpFlags.SWP_SYNCHRONOUS_IO | SwpFlags.SWP_SOLIDSTATE
        swap_map = _SwapMap()
        while len(k.swap_info) <= type_:
            k.swap_info.append(SwapInfo(type=len(k.swap_info), flags=flags, bdev=bdev,
                                        max=_NO_SLOTS, swap_map=swap_map,  # type: ignore[arg-type]
                                        extents=list(self.extents(len(k.swap_info)))))
        return k

    def _run(self, key: tuple[object, ...],
             body: Callable[[Kernel], None], type_: int,
             synchronous: bool, killed: bool = False) -> tuple[ModelEvent, ...]:
        """The model's events in the task's context (memoized by the inputs' ``key``)."""
        hit = self._memo.get(key)
        if isinstance(hit, KernelBug):
            raise hit
        if hit is not None:
            return hit
        k = self._kernel(type_, synchronous, killed=killed)
        events: list[ModelEvent] = []
        k.tracer = events.append
        try:
            with k.running(Task(pid=1, comm="replay")) as ctx:
                # The chain counts the model's calls: a model loop that never ends raises
                # ModelRunaway (a model-runaway divergence), not a checker that never ends.
                ctx.chain = CallBudget(ctx.chain)
                body(k)
        except KernelBug as bug:
            self._memo_put(key, bug)
            raise
        result = tuple(e for e in events if not e.softirq)
        self._memo_put(key, result)
        return result

    def _memo_put(self, key: tuple[object, ...],
                  value: tuple[ModelEvent, ...] | KernelBug) -> None:
        if len(self._memo) >= MEMO_MAX:
            self._memo.clear()
        self._memo[key] = value

    # -- swap-outs ----------------------------------------------------------------------

    def write(self, call: Call) -> Verdict | None:
        """Replay one ``swap_writepage`` … ``swap_writepage_ret``; None: not replayable."""
        first = call.events[0]
        pflags = first.arg_int("pflags")
        if pflags & _HEAD:
            return None  # a large folio: mTHP swap-out is not modelled
        entry = SwapEntry.from_val(first.arg_int("entry"))
        names = [e.name for e in call.events]
        zero = "zswap_store" not in names
        stored = self.zswap_enabled is not False and any(
            e.name == "zswap_store_ret" and e.arg_int("ret") for e in call.events)
        synchronous = self._synchronous(entry.type, names, "swap_writepage_bdev_sync",
                                        "__swap_writepage")
        sync_mode = first.arg_int("sync_mode")
        for_reclaim = bool(first.arg_int("wbc_bits") & _WBC_FOR_RECLAIM)
        pageout = call.pageout

        def body(k: Kernel) -> None:
            # pageout's folio is dirty: folio_clear_dirty_for_io is what cleared the
            # trace's PG_dirty (mm/vmscan.c:676).
            flags = pflags | PageFlags612.PG_dirty if pageout else pflags
            folio = Folio(flags=model_page_flags(flags), private=entry.val,
                          data=b"" if zero else b"\x01")
            folio.refcount = 2
            k.swap_cache[(entry.type, entry.offset)] = folio
            k.zswap = {} if stored else None
            if pageout:
                vmscan_612.pageout(k, folio, None)
                return
            wbc = WritebackControl(sync_mode=WbSyncMode(sync_mode), for_reclaim=for_reclaim)
            page_io_612.swap_writepage(k, folio, wbc)

        self._stacking(entry.type, names)
        key = ("w", pflags, entry.type, zero, stored, synchronous, sync_mode, for_reclaim,
               pageout, entry.type in self.stacked, call.killed)
        path = ("ZM-1",) if zero else ("SW-3",) if stored else ("SW-4",)
        try:
            model = self._run(key, body, entry.type, synchronous, call.killed)
        except KernelBug as bug:
            return Verdict(0, f"the 6.12 model forbids this swap-out: {bug}",
                           ("a state the model allows",), ("WP-1",))
        except (Exception, ModelRunaway) as error:  # the model's code raised, or the replay's bug
            return _raised(error)
        verdict = self._compare(call, model, path, synchronous)
        if verdict.ok:
            self._remember(entry.val, ZERO if zero else ZSWAP if stored else DISK)
        return verdict

    # -- faults -------------------------------------------------------------------------------

    def fault(self, call: FaultCall, target: FaultTarget) -> tuple[Verdict, int]:
        """Replay one ``do_swap_page`` … ``do_swap_page_ret`` on the 6.12 model's
        ``do_swap_page``; also returns how many of its steps were inputs (0 or 1).

        Inputs, what the kernel could not predict: the faulting PTE, address and flags; which
        folio the fault's swap cache lookup found (a race with reclaim and other faults: the
        trace shows no lookup, so a fault without ``swapin_readahead`` or a read of its own
        found one) and its state (:class:`FaultTarget`); what ``swapin_readahead`` returned
        (its own steps are the readahead replay's: here it finds the target, or a free slot
        when it returned NULL); where the target's read completion landed against
        ``folio_lock_or_retry``; a swap count above 1 when a SWP_SYNCHRONOUS_IO area's fault
        reads ahead (fork; not in a trace); lock contention (another task holding the folio's
        lock: then ``VM_FAULT_RETRY`` is an input, counted so). The model decides the rest:
        the path (DS-1 on SWP_SYNCHRONOUS_IO with the count 1, else DS-2, or the cache hit),
        ``swapin_readahead``'s entry and gfp, the return code (DS-3..DS-8, FM-2).
        """
        first = call.events[0]
        names = tuple(e.name for e in call.events)
        orig_pte = first.arg_int("orig_pte")
        address = first.arg_int("address")
        fault_flags = first.arg_int("fault_flags")
        entry = SwapEntry.from_pte(orig_pte)
        readahead = "swapin_readahead" in names
        direct = call.direct_read is not None
        synchronous = self.synchronous.get(entry.type)
        if synchronous is None:  # no bio of the area yet: the fault's path tells it
            synchronous = direct
        count = 2 if synchronous and readahead else 1
        ra_ret = next((e.arg_int("folio") for e in call.events
                       if e.name == "swapin_readahead_ret"), None)
        cached = not readahead and not direct
        steps: list[tuple[object, ...]] = []
        for e in call.events:
            if e.name == "swapin_readahead":
                steps.append((e.name, e.arg_int("entry") - entry.val, e.arg_int("gfp")))
            elif e.name == "swapin_readahead_ret":
                steps.append((e.name, bool(e.arg_int("folio"))))
            elif e.name == "do_swap_page_ret":
                steps.append((e.name, e.arg_int("ret")))
            else:
                steps.append((e.name,))
        key = ("f", fault_flags, pte_swp_exclusive(orig_pte), tuple(steps), synchronous,
               count, cached, target.key())
        hit = self._fault_memo.get(key)
        if hit is not None:
            return hit, 0
        lates = [False] if target.pending is None or target.early else [False, True]
        best: Verdict | None = None
        for contended in (False, True):
            for late in lates:
                verdict = self._fault_once(call, target, entry, address, fault_flags,
                                           orig_pte, synchronous, count, ra_ret, cached, late,
                                           contended)
                if verdict.ok:
                    if not contended:
                        if len(self._fault_memo) >= MEMO_MAX:
                            self._fault_memo.clear()
                        self._fault_memo[key] = verdict
                    return verdict, int(contended)
                if best is None or verdict.index > best.index:
                    best = verdict
        assert best is not None
        return best, 0

    def _fault_once(self, call: FaultCall, target: FaultTarget, entry: SwapEntry,
                    address: int, fault_flags: int, orig_pte: int, synchronous: bool,
                    count: int, ra_ret: int | None, cached: bool, late: bool,
                    contended: bool) -> Verdict:
        ex = _FaultIO(target.status if not cached and ra_ret is None else
                      target.pending or 0)
        k = self._kernel(entry.type, synchronous, ex)
        k.page_cluster = 0  # swapin_readahead finds the target alone (the window is
        k.enable_vma_readahead = False  # the readahead replay's; CR-5 checks the kind)
        si = k.swap_info[entry.type]
        slot = (entry.type, entry.offset)
        si.swap_map[entry.offset] = count
        if target.slot == ZERO:
            k.zeromap.add(slot)
        k.zswap = {slot: b"\x01"} if target.slot == ZSWAP else None
        task = Task(pid=1, comm="replay", mm=MMStruct())
        mm = task.mm
        assert mm is not None
        vma = VMArea(0, 1 << 47, mm)
        mm.vmas.append(vma)
        mm.ptes[address] = orig_pte

        def insert() -> None:
            """The folio the lookup finds, in the state the trace left it in."""
            folio = Folio(flags=model_page_flags(target.flags) | PageFlags.PG_swapbacked
                          | PageFlags.PG_swapcache, private=entry.val)
            folio.refcount = 1
            k.swap_cache[slot] = folio
            si.swap_map[entry.offset] = count | 0x40  # SWAP_HAS_CACHE
            if target.pending is not None:  # its read is in flight
                folio.flags = (folio.flags | PageFlags.PG_locked) & ~PageFlags.PG_uptodate
                bio = bio_alloc(k, si.bdev, 1, REQ_OP_READ)
                bio.bi_sector = swap_folio_sector(k, folio)
                bio.bi_end_io = page_io_612.end_swap_bio_read
                bio_add_page(bio, folio, PAGE_SIZE, 0)
                ex.queue.append(Request(si.bdev, REQ_OP_READ, bio.bi_sector, PAGE_SIZE >> 9,
                                        [bio], 1))
            found.append(folio)

        def before_lock() -> None:
            """Between the lookup and ``folio_lock_or_retry``: the inputs at their time."""
            if target.pending is not None and not late and ex.queue:
                ex.complete_one(k)
            if contended and found and not found[-1].flags & PageFlags.PG_locked:
                found[-1].flags |= PageFlags.PG_locked  # another task holds it
                ex.holder = found[-1]

        found: list[Folio] = []
        events: list[ModelEvent] = []

        def tracer(ev: ModelEvent) -> None:
            if not ev.softirq:
                if ev.name == "do_swap_page" and cached:
                    insert()
                    before_lock()
                elif ev.name == "swapin_readahead":
                    if ra_ret:
                        insert()
                    else:
                        si.swap_map[entry.offset] = 0  # RA-2: the slot was freed
                elif ev.name == "swapin_readahead_ret":
                    before_lock()
            events.append(ev)

        k.tracer = tracer
        vmf = VMFault(task, vma, address, fault_flags, orig_pte)
        try:
            with k.running(task, ("handle_mm_fault",)) as ctx:
                ctx.chain = CallBudget(ctx.chain)  # a loop that never ends: model-runaway
                memory_612.do_swap_page(k, vmf)
        except _FaultDiverged as d:
            return Verdict(len(call.events) - 1, d.message, ("a completion before the return",),
                           ("DS-5",))
        except KernelBug as bug:
            return Verdict(0, f"the 6.12 model forbids this fault: {bug}",
                           ("a state the model allows",), ("DS-8",))
        except (Exception, ModelRunaway) as error:  # the model's code raised, or the replay's bug
            return _raised(error)
        wanted = [e for e in events if not e.softirq and e.name in FAULT_EVENTS]
        verdict = _compare_fault(call.events, wanted)
        if verdict.ok and found:
            verdict.after = kernel_page_flags(found[-1].flags) & _LOCK_BITS
        return verdict

    # -- cluster readahead ------------------------------------------------------------------

    def cluster(self, call: RaCall, page_cluster: int | None) -> Verdict:
        """Replay one ``swap_cluster_readahead`` … ``swap_cluster_readahead_ret``.

        Inputs: the window (the readahead hit history behind ``swapin_nr_pages`` is not in
        a trace: the window the trace's lookups span, if the model can produce it with
        ``page_cluster``), what each lookup found (free: it returned NULL; in the swap cache:
        a folio and no read; else a new folio, read — reclaim may drop a window's clean
        folios between two lookups, so the target's last lookup is an input too), and
        ``si->max`` when the window is cut at the area's end. The model then decides the
        lookups' order and entries (an aligned window, the target last, CR-1, CR-2, CR-4),
        and the return: the folio of the target's last lookup.
        """
        steps = call.events
        first = steps[0]
        entry = SwapEntry.from_val(first.arg_int("entry"))
        lookups = [e.arg_int("entry") for e in steps if e.name == "__read_swap_cache_async"]
        offsets = [SwapEntry.from_val(v).offset for v in lookups[:-1]]
        seq: list[str] = []  # what each lookup found: "free", "cached" or "new"
        for i, ret in enumerate(steps):
            if ret.name == "__read_swap_cache_async_ret":
                read = i + 1 < len(steps) and steps[i + 1].name == "swap_read_folio"
                seq.append("free" if not ret.arg_int("folio") else "new" if read else "cached")
        window, end = _window(entry.offset, offsets)
        pc = 31 if page_cluster is None else page_cluster
        max_slots = end + 1 if end is not None else _NO_SLOTS
        # The model's readahead depends on the target's offset only through its place in an
        # aligned window (and the header slot, and si->max): it runs on the same place in
        # the second window, memoized, and its entries are shifted back.
        shift = 0
        if end is None and entry.offset & ~(window - 1):
            shift = entry.offset - (window + (entry.offset & (window - 1)))
        target = SwapEntry(entry.type, entry.offset - shift)

        def body(k: Kernel) -> None:
            k.page_cluster = pc
            k.swap_info[entry.type].max = max_slots
            _force_window(k, target.offset, window)
            record, pending = k.tracer, list(seq)

            def tracer(ev: ModelEvent) -> None:
                # Other tasks, reclaim and completions change the swap cache between two
                # lookups: what each found is an input, applied just before it.
                if ev.name == "__read_swap_cache_async" and not ev.softirq and pending:
                    _apply_slot(k, SwapEntry.from_val(int(ev.arg("entry"))), pending.pop(0))
                if record is not None:
                    record(ev)

            k.tracer = tracer
            swap_state_612.swap_cluster_readahead(k, target)

        key = ("ra", target.val, tuple(seq), window, pc, max_slots,
               self.synchronous.get(entry.type, False))
        try:
            model = self._run(key, body, entry.type, self.synchronous.get(entry.type, False))
        except KernelBug as bug:
            return Verdict(0, f"the 6.12 model forbids this readahead: {bug}",
                           ("a state the model allows",), ("CR-2",))
        except (Exception, ModelRunaway) as error:  # the model's code raised, or the replay's bug
            return _raised(error)
        def lookup(ev: ModelEvent, step: TraceEvent) -> str | None:
            if int(ev.arg("entry")) + shift == step.arg_int("entry"):
                return None
            return (f"the 6.12 model looks up entry {int(ev.arg('entry')) + shift:#x} here; "
                    f"the trace entry {step.arg_int('entry'):#x}")

        return _compare_readahead(steps, [e for e in model if e.name in RA_EVENTS],
                                  "swap_cluster_readahead", lookup, ("CR-2",), _ra_branch,
                                  ("CR-4",))

    # -- VMA readahead ----------------------------------------------------------------------

    def vma(self, steps: Sequence[TraceEvent], fault: TraceEvent,
            page_cluster: int | None) -> Verdict:
        """Replay the lookups of one VMA readahead (``swapin_readahead`` … its return, the
        kind CR-5 chose) on the model's ``swap_vma_readahead``.

        Inputs: the page table around the fault (not in a trace: the PTEs the trace's
        lookups read, each at the address its ``ilx`` gives — ``ilx`` counts pages from the
        fault's, whose own ``ilx`` the target's last lookup shows), the VMA's readahead
        history behind the window (every window the model can make with the header's
        ``# page-cluster:`` is tried), and what each lookup found (free, cached, new). The
        model decides which addresses of its window it looks up and in which order, the
        target's PTE read in the loop, the target looked up last, and the return (CR-5).
        """
        lookups = [e for e in steps if e.name == "__read_swap_cache_async"]
        if not lookups:
            return Verdict(0, "the 6.12 model's VMA readahead looks up its target; the trace "
                           "shows no lookup", ("__read_swap_cache_async",), ("CR-5",))
        targ_ilx = _s64(lookups[-1].arg_int("ilx"))
        address = fault.arg_int("address") & ~(PAGE_SIZE - 1)
        orig_pte = fault.arg_int("orig_pte")
        target = SwapEntry.from_pte(orig_pte)
        ptes: dict[int, int] = {}
        for e in lookups[:-1]:
            addr = address + (_s64(e.arg_int("ilx")) - targ_ilx) * PAGE_SIZE
            if addr != address:
                ptes.setdefault(addr, SwapEntry.from_val(e.arg_int("entry")).to_pte())
        seq: list[str] = []
        for i, ret in enumerate(steps):
            if ret.name == "__read_swap_cache_async_ret":
                read = i + 1 < len(steps) and steps[i + 1].name == "swap_read_folio"
                seq.append("free" if not ret.arg_int("folio") else "new" if read else "cached")
        pc = 3 if page_cluster is None else page_cluster
        low = min([address, *ptes])
        high = max([address, *ptes]) + PAGE_SIZE
        best: Verdict | None = None
        for state in _vma_ra_states(address, pc):
            key = ("vma", tuple((a - address, v) for a, v in sorted(ptes.items())),
                   orig_pte, tuple(seq), pc, state, low - address, high - address,
                   address & ((1 << 21) - 1))
            verdict = self._vma_once(key, steps, address, orig_pte, target, ptes, seq, pc,
                                     state, low, high, targ_ilx)
            if verdict.ok:
                return verdict
            if best is None or verdict.index > best.index:
                best = verdict
        assert best is not None
        return best

    def _vma_once(self, key: tuple[object, ...], steps: Sequence[TraceEvent], address: int,
                  orig_pte: int, target: SwapEntry, ptes: dict[int, int], seq: list[str],
                  pc: int, state: tuple[int, int, int], low: int, high: int,
                  targ_ilx: int) -> Verdict:
        def body(k: Kernel) -> None:
            k.page_cluster = pc
            k.enable_vma_readahead = True
            k.nr_rotate_swap = 0
            task = Task(pid=1, comm="replay", mm=MMStruct())
            mm = task.mm
            assert mm is not None
            vma = VMArea(low, high, mm)
            vma.ra_addr, vma.ra_win, vma.ra_hits = state
            mm.vmas.append(vma)
            mm.ptes.update(ptes)
            mm.ptes[address] = orig_pte
            record, pending = k.tracer, list(seq)

            def tracer(ev: ModelEvent) -> None:
                # What each lookup found is an input, applied just before it.
                if ev.name == "__read_swap_cache_async" and not ev.softirq and pending:
                    _apply_slot(k, SwapEntry.from_val(int(ev.arg("entry"))), pending.pop(0))
                if record is not None:
                    record(ev)

            k.tracer = tracer
            swap_state_612.swapin_readahead(k, target, VMFault(task, vma, address, 0,
                                                               orig_pte))

        try:
            model = self._run(key, body, target.type,
                              self.synchronous.get(target.type, False))
        except KernelBug as bug:
            return Verdict(0, f"the 6.12 model forbids this readahead: {bug}",
                           ("a state the model allows",), ("CR-5",))
        except (Exception, ModelRunaway) as error:  # the model's code raised, or the replay's bug
            return _raised(error)
        def lookup(ev: ModelEvent, step: TraceEvent) -> str | None:
            ilx = _s64(int(ev.arg("ilx"))) + targ_ilx
            if (int(ev.arg("entry")) == step.arg_int("entry")
                    and ilx == _s64(step.arg_int("ilx"))):
                return None
            return (f"the 6.12 model looks up entry {int(ev.arg('entry')):#x} (ilx {ilx}) "
                    f"here; the trace entry {step.arg_int('entry'):#x} (ilx "
                    f"{_s64(step.arg_int('ilx'))})")

        return _compare_readahead(steps, [e for e in model if e.name in _VMA_EVENTS],
                                  "VMA readahead", lookup, ("CR-5",), lambda ev, step: ("CR-5",),
                                  ("CR-5",))

    # -- reads --------------------------------------------------------------------------

    def read(self, call: Call) -> tuple[Verdict, bool] | None:
        """Replay one ``swap_read_folio`` … ``swap_read_folio_ret``; None: not replayable.

        Also returns whether the slot's state was predicted from the trace's history (else
        the trace's zswap answers were inputs)."""
        first = call.events[0]
        pflags = first.arg_int("pflags")
        if pflags & _HEAD:
            return None
        entry = SwapEntry.from_val(first.arg_int("entry"))
        names = [e.name for e in call.events]
        state = self.slots.get(entry.val)
        known = state is not None
        if state is None:  # the slot's swap-out is not in the trace: its answers are inputs
            hit = self.zswap_enabled is not False and any(
                e.name == "zswap_load_ret" and e.arg_int("ret") for e in call.events)
            state = ZERO if "zswap_load" not in names else ZSWAP if hit else DISK
        synchronous = self._synchronous(entry.type, names, "swap_read_folio_bdev_sync",
                                        "zswap_load_ret")
        plug = bool(first.arg_int("plug"))

        def body(k: Kernel) -> None:
            folio = Folio(flags=model_page_flags(pflags), private=entry.val)
            slot = (entry.type, entry.offset)
            if state == ZERO:
                k.zeromap.add(slot)
            k.zswap = {slot: b"\x01"} if state == ZSWAP else None
            page_io_612.swap_read_folio(k, folio, [None] if plug else None)

        self._stacking(entry.type, names)
        key = ("r", pflags, entry.type, state, synchronous, plug, entry.type in self.stacked,
               call.killed)
        swapcache = bool(pflags & PageFlags612.PG_swapcache)
        path = (("RD-3", "ZM-3") if state == ZERO else
                ("RD-4", "ZL-3" if swapcache else "ZL-4") if state == ZSWAP else
                ("RD-7",) if synchronous else ("RD-8",))
        try:
            model = self._run(key, body, entry.type, synchronous, call.killed)
        except KernelBug as bug:
            return Verdict(0, f"the 6.12 model forbids this read: {bug}",
                           ("a state the model allows",), ("RD-1",)), known
        except (Exception, ModelRunaway) as error:  # the model's code raised, or the replay's bug
            return _raised(error), known
        verdict = self._compare(call, model, path, synchronous)
        if verdict.ok and state == ZSWAP and swapcache:
            self._remember(entry.val, DISK)  # ZL-3: the entry is erased, the folio dirtied
        return verdict, known

    def _stacking(self, type_: int, names: list[str]) -> None:
        """A remap of the call's bio: its area is on a device-mapper device (an input, held
        to afterwards: a later bio without one was killed at map time, or diverges)."""
        if "block_bio_remap" in names:
            self.stacked.add(type_)

    def _synchronous(self, type_: int, names: list[str], sync_event: str,
                     before: str) -> bool:
        """The area's SWP_SYNCHRONOUS_IO: known, or told by this call's first bio."""
        known = self.synchronous.get(type_)
        if known is not None:
            return known
        if sync_event in names:
            self.synchronous[type_] = True
        elif "block_bio_queue" in names and before in names:
            self.synchronous[type_] = False
        return self.synchronous.get(type_, False)

    # -- comparing ----------------------------------------------------------------------

    def _compare(self, call: Call, model: tuple[ModelEvent, ...], path: tuple[str, ...],
                 synchronous: bool) -> Verdict:
        names = WRITE_EVENTS if call.write else READ_EVENTS
        steps = call.events
        if call.pageout and steps[-1].name != "mm_vmscan_write_folio":
            names = names - {"mm_vmscan_write_folio"}  # not recorded, or the trace ends
        mine = [e for e in model if e.name in names]
        bios = 0
        wanted: list[ModelEvent] = []
        for e in mine:  # the first bio and its dm clone only, as Call.add keeps the trace's
            if e.name in ("block_bio_queue", "block_bio_remap"):
                last = wanted[-1].name if wanted else ""
                if e.name == "block_bio_remap" and last != "block_bio_queue":
                    continue
                if e.name == "block_bio_queue" and bios and (
                        last != "block_bio_remap" or bios > 1):
                    continue
                bios += e.name == "block_bio_queue"
            wanted.append(e)
        for i, step in enumerate(steps):
            if i >= len(wanted):
                return Verdict(i, f"the 6.12 model's {steps[0].name} is done; the trace goes "
                               f"on with {step.name}", ("no further event",), path)
            ev = wanted[i]
            if ev.name != step.name:
                return Verdict(i, f"the 6.12 model does {_show(ev)} here; the trace "
                               f"{step.name}", (_show(ev),), self._branch(ev, path,
                                                                          synchronous))
            for key in _COMPARED.get(ev.name, ()):
                want = ev.arg(key)
                got = step.args.get(key)
                if got is None:
                    continue
                if key == "pflags":
                    same = int(want) & CHECKED_FLAGS == int(got, 0) & CHECKED_FLAGS
                elif key == "old_sector":  # the table's offset: the model's maps at 0
                    same = int(ev.arg("sector")) - int(want) == \
                        step.arg_int("sector") - int(got, 0)
                elif key in ("rwbs", "nr_sector", "flags"):
                    same = str(want) == got
                else:
                    same = int(want) == int(got, 0)
                if not same:
                    shown = (decode_page_flags_6_12(int(got, 0) & CHECKED_FLAGS)
                             if key == "pflags" else got)
                    return Verdict(i, f"the 6.12 model's {ev.name} has {_show(ev)}; the "
                                   f"trace's {key}={shown}", (_show(ev),),
                                   self._branch(ev, path, synchronous))
        if len(wanted) > len(steps):
            ev = wanted[len(steps)]
            return Verdict(len(steps) - 1, f"the 6.12 model goes on with {_show(ev)}; the "
                           f"trace's {steps[0].name} ends", (_show(ev),),
                           self._branch(ev, path, synchronous))
        return Verdict()

    def _branch(self, ev: ModelEvent, path: tuple[str, ...],
                synchronous: bool) -> tuple[str, ...]:
        """The 6.12 branch IDs (spec/branches-6.12.md) of the model's step ``ev``."""
        name = ev.name
        if name in ("swap_writepage", "mm_vmscan_write_folio"):
            return ("PO-1",)
        if name == "zswap_store":
            return ("ZM-2",)
        if name == "zswap_store_ret":
            return ("ZS-3",) if int(ev.arg("ret")) else ("ZS-1",)
        if name == "zswap_load_ret" and not int(ev.arg("ret")):
            return ("ZL-1",) if self.zswap_enabled is False else ("ZL-2",)
        if name == "__swap_writepage":
            return ("SW-4",)
        if name in ("swap_writepage_bdev_sync", "swap_read_folio_bdev_sync"):
            return ("WP-3",) if name.startswith("swap_writepage") else ("RD-7",)
        if name in ("block_bio_queue", "block_bio_remap"):
            write = "W" in str(ev.arg("rwbs"))
            return (("WS-1",) if synchronous else ("WP-4", "WA-1")) if write else \
                (("RS-1",) if synchronous else ("RD-8", "RB-1"))
        if name in ("zswap_load", "zswap_load_ret"):
            return ("ZM-4", *path) if name == "zswap_load" else path
        return path


def _fault_branch(ev: ModelEvent, step: TraceEvent | None = None) -> tuple[str, ...]:
    """The 6.12 IDs (spec/branches-6.12.md) of a fault step the trace does otherwise."""
    if step is not None and {ev.name, step.name} == {"swap_read_folio", "swapin_readahead"}:
        return ("DS-1", "DS-2")  # the choice between them
    if ev.name == "swap_read_folio":
        return ("DS-1",)
    if ev.name in ("swapin_readahead", "swapin_readahead_ret"):
        return ("DS-2", "DS-3") if ev.name.endswith("_ret") else ("DS-2",)
    if ev.name == "do_swap_page_ret":
        ret = int(ev.arg("ret"))
        if step is not None and step.name == ev.name:
            ret ^= step.arg_int("ret")  # the bits the two disagree on
        return (("DS-5", "FM-2") if ret & VmFault.VM_FAULT_RETRY else
                ("DS-7",) if ret & VmFault.VM_FAULT_SIGBUS else
                ("DS-3",) if ret & VmFault.VM_FAULT_OOM else
                ("DS-4",) if ret & VmFault.VM_FAULT_MAJOR else ("DS-8",))
    return ("DS-1", "DS-2")


def _fault_show(ev: ModelEvent) -> str:
    if ev.name == "do_swap_page_ret":
        return f"do_swap_page_ret ret={int(ev.arg('ret')):#x}"
    if ev.name == "swapin_readahead":
        return f"swapin_readahead entry={int(ev.arg('entry')):#x} gfp={int(ev.arg('gfp')):#x}"
    if ev.name == "swapin_readahead_ret":
        return f"swapin_readahead_ret {'folio' if int(ev.arg('folio')) else 'NULL'}"
    return ev.name


def _compare_fault(steps: Sequence[TraceEvent], wanted: Sequence[ModelEvent]) -> Verdict:
    """The trace's fault steps against the model's, event for event."""
    for i, step in enumerate(steps):
        if i >= len(wanted):
            return Verdict(i, f"the 6.12 model's do_swap_page is done; the trace goes on "
                           f"with {step.name}", ("no further event",), ("DS-8",))
        ev = wanted[i]
        if ev.name != step.name:
            return Verdict(i, f"the 6.12 model does {_fault_show(ev)} here; the trace "
                           f"{step.name}", (_fault_show(ev),), _fault_branch(ev, step))
        same = True
        if ev.name == "swapin_readahead":
            same = (int(ev.arg("entry")) == step.arg_int("entry")
                    and int(ev.arg("gfp")) == step.arg_int("gfp"))
        elif ev.name == "swapin_readahead_ret":
            same = bool(int(ev.arg("folio"))) == bool(step.arg_int("folio"))
        elif ev.name == "do_swap_page_ret":
            same = int(ev.arg("ret")) == step.arg_int("ret")
        if not same:
            shown = (f"entry={step.arg_int('entry'):#x} gfp={step.arg_int('gfp'):#x}"
                     if ev.name == "swapin_readahead" else
                     f"folio={step.arg_int('folio'):#x}" if ev.name == "swapin_readahead_ret"
                     else f"ret={step.arg_int('ret'):#x}")
            return Verdict(i, f"the 6.12 model's {_fault_show(ev)}; the trace's {shown}",
                           (_fault_show(ev),), _fault_branch(ev, step))
    if len(wanted) > len(steps):
        ev = wanted[len(steps)]
        return Verdict(len(steps) - 1, f"the 6.12 model goes on with {_fault_show(ev)}; the "
                       f"trace's do_swap_page ends", (_fault_show(ev),), _fault_branch(ev))
    return Verdict()


_VMA_EVENTS = frozenset({"__read_swap_cache_async", "__read_swap_cache_async_ret",
                         "swap_read_folio", "swapin_readahead_ret"})


def _s64(value: int) -> int:
    """A u64 probe value as the signed ``ilx`` the kernel computed."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _vma_ra_states(address: int, page_cluster: int) -> list[tuple[int, int, int]]:
    """The VMA readahead histories (``ra_addr``, ``ra_win``, ``ra_hits``) giving each window
    ``swap_vma_ra_win`` can make at ``address`` (mm/swap_state.c:745-781): every hit count
    up to the largest window, after a fault one page below, one above, or elsewhere."""
    max_win = 1 << min(page_cluster, SWAP_RA_ORDER_CEILING)
    states = []
    for prev in (address - PAGE_SIZE, address + PAGE_SIZE, address + (64 << 21)):
        for hits in range(max_win + 1):
            states.append((prev, 0, hits))
    return states


def _window(offset: int, loop: list[int]) -> tuple[int, int | None]:
    """The readahead window (a power of two) the trace's loop lookups span around
    ``offset``, and the area's last slot when the window is cut there (else None)."""
    if not loop:
        return 1, None
    low, high = min(loop), max(loop)
    for bits in range(1, 32):
        mask = (1 << bits) - 1
        start = (offset & ~mask) or 1  # the first page is the swap header
        end = offset | mask
        if start == low and end >= high:
            return 1 << bits, (high if end > high else None)
    return 1 << max(1, (high - low).bit_length()), None  # the model cannot span it: diverges


def _force_window(k: Kernel, offset: int, window: int) -> None:
    """The readahead state (hits, previous offset) for which ``swapin_nr_pages`` gives
    ``window`` at ``offset`` (mm/swap_state.c:577-636): an input, as the trace lacks it."""
    k.ra_last_pages = 0
    if window >= 4:
        k.swapin_readahead_hits = window - 2
        k.ra_prev_offset = offset
    else:  # 2: a sequential fault (the previous offset next to it); 1: a random one
        k.swapin_readahead_hits = 0
        k.ra_prev_offset = offset - 1 if window == 2 else offset + (1 << 20)


def _compare_readahead(steps: Sequence[TraceEvent], wanted: Sequence[ModelEvent], what: str,
                       lookup: Callable[[ModelEvent, TraceEvent], str | None],
                       lookup_branches: tuple[str, ...],
                       branch: Callable[[ModelEvent, TraceEvent | None], tuple[str, ...]],
                       done_branches: tuple[str, ...]) -> Verdict:
    """A readahead's trace steps against the model's events ``wanted``, in order: the same
    event, a lookup of the same slot (``lookup``: None, or what differs), a return of NULL or
    of the same folio each time (a model folio bound to the trace's first pointer for it)."""
    bound: dict[int, int] = {}
    for i, step in enumerate(steps):
        if i >= len(wanted):
            return Verdict(i, f"the 6.12 model's {what} is done; the trace goes on with "
                           f"{step.name}", ("no further event",), done_branches)
        ev = wanted[i]
        if ev.name != step.name:
            return Verdict(i, f"the 6.12 model does {_ra_show(ev)} here; the trace "
                           f"{step.name}", (_ra_show(ev),), branch(ev, step))
        if ev.name == "__read_swap_cache_async":
            differs = lookup(ev, step)
            if differs is not None:
                return Verdict(i, differs, (_ra_show(ev),), lookup_branches)
        if ev.name.endswith("_ret"):
            want, got = int(ev.arg("folio")), step.arg_int("folio")
            if (want == 0) != (got == 0) or (want and bound.setdefault(want, got) != got):
                return Verdict(i, f"the 6.12 model's {ev.name} returns "
                               f"{'NULL' if not want else 'its folio'}; the trace "
                               f"folio={got:#x}", (_ra_show(ev),), branch(ev, step))
    if len(wanted) > len(steps):
        ev = wanted[len(steps)]
        return Verdict(len(steps) - 1, f"the 6.12 model goes on with {_ra_show(ev)}; the "
                       f"trace's {what} ends", (_ra_show(ev),), branch(ev, None))
    return Verdict()


def _ra_show(ev: ModelEvent) -> str:
    if ev.name == "__read_swap_cache_async":
        return f"__read_swap_cache_async entry={int(ev.arg('entry')):#x}"
    if ev.name.endswith("_ret"):
        return f"{ev.name} {'NULL' if not int(ev.arg('folio')) else 'folio'}"
    return ev.name


def _ra_branch(ev: ModelEvent, step: TraceEvent | None) -> tuple[str, ...]:
    """The 6.12 IDs of a readahead step the trace does otherwise."""
    if ev.name == "swap_read_folio" or (step is not None and step.name == "swap_read_folio"):
        return ("CR-3", "RA-4")
    if ev.name == "__read_swap_cache_async_ret":
        return ("RA-4",) if int(ev.arg("folio")) else ("RA-2",)
    if ev.name == "swap_cluster_readahead_ret":
        return ("CR-4",)
    return ("CR-2",)


def _apply_slot(k: Kernel, swp: SwapEntry, state: str) -> None:
    """Make slot ``swp`` what the trace's lookup found: free, in the swap cache, or neither."""
    slot = (swp.type, swp.offset)
    k.swap_info[swp.type].swap_map[swp.offset] = 0 if state == "free" else 1
    if state != "cached":
        k.swap_cache.pop(slot, None)
    elif slot not in k.swap_cache:
        folio = Folio(flags=PageFlags.PG_uptodate | PageFlags.PG_swapbacked
                      | PageFlags.PG_swapcache, private=swp.val)
        folio.refcount = 1
        k.swap_cache[slot] = folio
