"""The model as a test oracle: run its real functions on a trace's inputs, return its outputs.

No kernel counterpart. ``kmodel check`` feeds what the kernel could not have predicted (the
``bi_status`` a device returned, the page flags at a probe, the time) into the model's own
``end_swap_bio_read``, ``end_swap_bio_write``, ``swap_page_sector``, ``page_endio`` and
ratelimit state, and compares what the model then does (flags, console lines, wakeups) with
what the trace shows next. Nothing here re-implements the kernel: it only builds the model
objects (a :class:`Folio`, a :class:`Bio`, a waiting :class:`Task`) the functions take.
"""

from __future__ import annotations

import bisect

from kmodel.block.bdev import BlockDevice
from kmodel.block.bio import bio_endio
from kmodel.errors import KernelBug
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.blk_types import Bio, BlkStatus
from kmodel.include.linux.mm_types import SWP_OFFSET_MASK, SWP_TYPE_SHIFT, Folio
from kmodel.include.linux.sched import Task, TaskState
from kmodel.include.linux.swap import SwapExtent, SwapInfo, SwpFlags
from kmodel.kernel import Kernel, ModelEvent
from kmodel.lib.ratelimit import RatelimitState
from kmodel.mm.page_io import end_swap_bio_read, end_swap_bio_write
from kmodel.mm.swapfile import add_swap_extent, offset_to_swap_extent, swap_page_sector

__all__ = ["UNKNOWN_END_IO", "EndIoMismatch", "Oracle", "Outcome"]

#: A write bio whose ``bi_end_io`` the model did not give (its swap-out was not replayed).
UNKNOWN_END_IO: object = object()


class EndIoMismatch(Exception):
    """The model's ``bio_endio`` ran another completion (or none) than the trace's."""

_NO_SLOTS = SWP_OFFSET_MASK + 1
MEMO_MAX = 1 << 12
BDEVS_MAX = 1 << 8
SECTORS_MAX = 1 << 16

#: A model step's result: the page's flags afterwards, and the events it emitted.
Outcome = tuple[int, tuple[ModelEvent, ...]]


def blk_status_of(value: int) -> BlkStatus:
    """``blk_status_t`` of a trace's ``bi_status`` (an unknown failure counts as an I/O error)."""
    try:
        return BlkStatus(value)
    except ValueError:
        return BlkStatus.BLK_STS_IOERR


#: A clock whose timestamps are multiples of this (µs) or more is coarse: a ratelimit
#: decision within its resolution of the interval's edge is unknown (ratelimit_edge).
COARSE_US = 100


def ratelimit_edge(rs: RatelimitState | None, ts_us: int, res_us: int) -> tuple[int, int] | None:
    """(the jiffies of ``ts_us``, the edge of ``rs``'s interval) when an alert decision there
    falls within the clock's resolution ``res_us`` of that edge (printk's 5 s,
    lib/ratelimit.c:42): the trace's jiffies, and those of the interval's start, are known
    only to that resolution, so either side may be the kernel's. None: the decision is clear,
    the clock fine (under COARSE_US), or no interval has begun."""
    if res_us < COARSE_US or rs is None or not rs.begin or not rs.interval:
        return None
    jiffies = ts_us * Kernel.HZ // 1_000_000 + 1
    slack = 2 * -(-res_us * Kernel.HZ // 1_000_000) + 1  # its and the start's
    edge = rs.begin + rs.interval  # reset when edge < jiffies (time_is_before_jiffies)
    return None if abs(jiffies - edge) > slack else (jiffies, edge)


class Oracle:
    """One model :class:`Kernel` whose jiffies follow the trace, and the calls the checker makes.

    Swap areas are block devices whose slot N is at sector N * 8 (one extent from block 0),
    as on every swap partition the capture harness uses.
    """

    def __init__(self) -> None:
        self.k = Kernel(executor=InlineExecutor())
        self.k.tracer = self._events_append
        self._events: list[ModelEvent] = []
        self._bdevs: dict[int, BlockDevice] = {}
        self._probe = Folio()
        self._memo: dict[tuple[object, ...], Outcome | KernelBug] = {}
        self._sectors: dict[int, int] = {}
        self._extents_seen: set[int] = set()  # swap types whose extents the trace gave
        #: A swap file without add_swap_extent lines: extents inferred from first I/Os.
        self.inferring = False

    def _events_append(self, event: ModelEvent) -> None:
        self._events.append(event)

    def bdev(self, dev: int) -> BlockDevice:
        """The model block device of a trace's ``dev_t`` (MAJOR << 20 | MINOR)."""
        bdev = self._bdevs.get(dev)
        if bdev is None:
            if len(self._bdevs) >= BDEVS_MAX:  # a trace of many devices: memory stays flat
                self._bdevs.clear()
            bdev = BlockDevice(dev >> 20, dev & 0xFFFFF, f"{dev >> 20}:{dev & 0xFFFFF}", 0)
            self._bdevs[dev] = bdev
        return bdev

    def _swap_area(self, type_: int) -> None:
        infos = self.k.swap_info
        while len(infos) <= type_:
            infos.append(
                SwapInfo(
                    type=len(infos),
                    flags=SwpFlags.SWP_USED | SwpFlags.SWP_WRITEOK,
                    bdev=self.bdev(0),
                    max=_NO_SLOTS,
                    swap_map=[],
                    extents=[SwapExtent(0, _NO_SLOTS, 0)],
                )
            )

    def add_extent(self, type_: int, start_page: int, nr_pages: int, start_block: int) -> None:
        """``add_swap_extent`` as the trace shows swapon calling it: the area's extents are
        then the trace's, not the one extent from block 0 of a swap partition."""
        self._swap_area(type_)
        sis = self.k.swap_info[type_]
        if type_ not in self._extents_seen:
            self._extents_seen.add(type_)
            sis.extents = []
        add_swap_extent(sis, start_page, nr_pages, start_block)
        self._sectors.clear()

    def knows(self, entry: int) -> bool:
        """Whether the model's swap area maps ``entry``'s slot (``offset_to_swap_extent``)."""
        if entry >> SWP_TYPE_SHIFT not in self._extents_seen:
            return not self.inferring  # a swap file's extents are not known before its I/O
        self._swap_area(entry >> SWP_TYPE_SHIFT)
        try:
            offset_to_swap_extent(self.k.swap_info[entry >> SWP_TYPE_SHIFT],
                                  entry & SWP_OFFSET_MASK)
        except KernelBug:
            return False
        return True

    def learn(self, entry: int, sector: int) -> None:
        """A swap file's slot, its extent inferred from its first I/O: a one-page extent at
        that block, which ``swap_page_sector`` then holds every later I/O of the slot to."""
        type_ = entry >> SWP_TYPE_SHIFT
        self._swap_area(type_)
        sis = self.k.swap_info[type_]
        if type_ not in self._extents_seen:
            self._extents_seen.add(type_)
            sis.extents = []
        bisect.insort(sis.extents, SwapExtent(entry & SWP_OFFSET_MASK, 1, sector >> 3),
                      key=lambda se: se.start_page)
        self._sectors.pop(entry, None)

    def sector(self, entry: int) -> int:
        """``swap_page_sector`` of a page whose ``page_private`` is ``entry`` (SE-1)."""
        sector = self._sectors.get(entry)
        if sector is None:
            if len(self._sectors) >= SECTORS_MAX:
                self._sectors.clear()
            self._swap_area(entry >> SWP_TYPE_SHIFT)
            self._probe.private = entry
            sector = self._sectors[entry] = swap_page_sector(self.k, self._probe)
        return sector

    def _run_end_io(self, bio: Bio, ts_us: int, read: bool) -> tuple[ModelEvent, ...]:
        self.k.jiffies = ts_us * Kernel.HZ // 1_000_000 + 1
        self._events.clear()
        if read:
            end_swap_bio_read(self.k, bio)
        else:
            end_swap_bio_write(self.k, bio)
        self.k.printk_log.clear()
        return tuple(self._events[1:])  # [0] is the completion itself

    def _run_bio_endio(self, bio: Bio, ts_us: int, end_io: object) -> tuple[ModelEvent, ...]:
        """The model's own write bio: ``bio_endio`` calls its ``bi_end_io``
        (block/bio.c:1522-1555), which must be the trace's ``end_swap_bio_write``."""
        self.k.jiffies = ts_us * Kernel.HZ // 1_000_000 + 1
        self._events.clear()
        bio.bi_end_io = end_io  # type: ignore[assignment]
        bio_endio(self.k, bio)
        self.k.printk_log.clear()
        ran = self._events[0].name if self._events else "no bi_end_io"
        if ran != "end_swap_bio_write":
            raise EndIoMismatch(ran)
        return tuple(self._events[1:])  # [0] is the completion itself

    def _memo_get(self, key: tuple[object, ...]) -> Outcome | None:
        hit = self._memo.get(key)
        if isinstance(hit, KernelBug):
            raise hit
        return hit

    def _memo_put(self, key: tuple[object, ...], value: Outcome | KernelBug) -> None:
        if len(self._memo) >= MEMO_MAX:
            self._memo.clear()
        self._memo[key] = value
        if isinstance(value, KernelBug):
            raise value

    def complete_read(self, flags: int, status: int, sector: int, size: int, opf: int,
                      dev: int, waiter: Task | None, ts_us: int) -> Outcome:
        """Run ``end_swap_bio_read`` on a bio for a page with ``flags``.

        Returns the page's flags afterwards and the events the model emitted after its own
        (console lines). ``waiter`` sleeps in swap_readpage's wait loop (RD-11) holding a
        reference (RD-8). Raises KernelBug when the trace's state is one the model forbids.
        A success touches no ratelimit state: its outcome depends on the flags alone and is
        memoized.
        """
        key = ("end_swap_bio_read", flags, waiter is not None)
        if not status:
            hit = self._memo_get(key)
            if hit is not None:
                return hit
        if waiter is not None:
            waiter.state = TaskState.TASK_UNINTERRUPTIBLE
            waiter.usage = 2
        folio = Folio(flags=flags)
        bio = Bio(bi_bdev=self.bdev(dev), bi_opf=opf, bi_sector=sector, bi_size=size,
                  bi_status=blk_status_of(status), bi_private=waiter, bi_cnt=2, page=folio)
        return self._complete(key, bio, folio, status, ts_us, read=True)

    def complete_write(self, flags: int, status: int, sector: int, size: int, opf: int,
                       dev: int, ts_us: int, end_io: object = UNKNOWN_END_IO) -> Outcome:
        """Run ``end_swap_bio_write`` on a bio for a page with ``flags``.

        ``end_io``: the ``bi_end_io`` the model's swap-out gave the bio, when it was replayed:
        the bio is then completed by the model's ``bio_endio``, which calls it; raises
        EndIoMismatch when that is not ``end_swap_bio_write`` (the trace's probe).
        Returns the page's flags afterwards and the events the model emitted after its own
        (console lines, ``end_page_writeback`` with the flags it sees). Memoized on success.
        """
        key = ("end_swap_bio_write", flags, end_io)
        if not status:
            hit = self._memo_get(key)
            if hit is not None:
                return hit
        folio = Folio(flags=flags)
        bio = Bio(bi_bdev=self.bdev(dev), bi_opf=opf, bi_sector=sector, bi_size=size,
                  bi_status=blk_status_of(status), bi_cnt=1, page=folio)
        return self._complete(key, bio, folio, status, ts_us, read=False, end_io=end_io)

    def _complete(self, key: tuple[object, ...], bio: Bio, folio: Folio, status: int,
                  ts_us: int, *, read: bool, end_io: object = UNKNOWN_END_IO) -> Outcome:
        """Run the completion; memoize a success (or the KernelBug it raised)."""
        try:
            events = (self._run_end_io(bio, ts_us, read=read) if end_io is UNKNOWN_END_IO
                      else self._run_bio_endio(bio, ts_us, end_io))
        except KernelBug as bug:
            if status:
                raise
            self._memo_put(key, bug)
            raise
        outcome = (int(folio.flags), events)
        if not status:
            self._memo_put(key, outcome)
        return outcome

    @staticmethod
    def waiter(pid: int, comm: str) -> Task:
        """The task sleeping on a synchronous read."""
        return Task(pid=pid, comm=comm)
