"""Hypothesis strategies for the model's inputs: fault attributes, bad ranges, statuses, disks.

Every strategy produces only values the model accepts (``FaultAttr``'s validators,
``BadRange``'s ``start < end`` and failing status), so a machine never spends examples on
``KmodelError``. Each shrinks towards the least surprising value: no failure, the first
sector, ``BLK_STS_IOERR``.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

from kmodel.block.bdev import SECTORS_PER_PAGE, BadRange
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, BlkStatus
from kmodel.lib.fault_inject import FaultAttr
from kmodel.sim import DISKS

#: Disks whose swap area reads and writes through bios, completed later (asynchronous).
ASYNC_DISKS = ("virtio", "ssd", "scsi", "dm")
#: Disks with ``rw_page`` (SWP_SYNCHRONOUS_IO): I/O completes inside the call.
SYNC_DISKS = ("brd", "zram")


def disk_kinds(kinds: tuple[str, ...] = tuple(DISKS)) -> st.SearchStrategy[str]:
    """One of the :data:`kmodel.sim.DISKS` presets (shrinks to the first of ``kinds``)."""
    return st.sampled_from(kinds)


#: Failing ``blk_status_t`` values, BLK_STS_IOERR first (what they shrink to).
FAILING_STATUSES: tuple[BlkStatus, ...] = tuple(sorted(
    (s for s in BlkStatus if s != BlkStatus.BLK_STS_OK),
    key=lambda s: s != BlkStatus.BLK_STS_IOERR))
#: Completion statuses in shrinking order: None (the device's own), OK, the failures.
STATUS_CHOICES: tuple[BlkStatus | None, ...] = (None, BlkStatus.BLK_STS_OK, *FAILING_STATUSES)


def failing_statuses() -> st.SearchStrategy[BlkStatus]:
    """A ``blk_status_t`` other than BLK_STS_OK, shrinking to BLK_STS_IOERR."""
    return st.sampled_from(FAILING_STATUSES)


def statuses() -> st.SearchStrategy[BlkStatus | None]:
    """A completion status: None (the device's own), OK, or a failure; shrinks to None.

    The machines draw an index into :data:`STATUS_CHOICES` instead (one choice, not two).
    """
    return st.one_of(st.none(), st.just(BlkStatus.BLK_STS_OK), failing_statuses())


def ops() -> st.SearchStrategy[int | None]:
    """The op a bad range applies to: both (None), reads or writes."""
    return st.sampled_from([None, REQ_OP_READ, REQ_OP_WRITE])


def bad_ranges(nr_pages: int, *, op: st.SearchStrategy[int | None] | None = None,
               ) -> st.SearchStrategy[BadRange]:
    """A ``BadRange`` over whole swap slots of a disk of ``nr_pages`` pages."""

    @st.composite
    def build(draw: st.DrawFn) -> BadRange:
        first = draw(st.integers(0, nr_pages - 1))
        count = draw(st.integers(1, max(1, nr_pages - first)))
        return BadRange(first * SECTORS_PER_PAGE, (first + count) * SECTORS_PER_PAGE,
                        draw(op if op is not None else ops()), draw(failing_statuses()))

    return build()


def bad_range_from(number: int, nr_pages: int, ops: tuple[int | None, ...]) -> BadRange:
    """The ``BadRange`` that ``number`` encodes (what :func:`bad_ranges` draws, as one
    number: a machine's step draws one choice, not four); 0 is the first slot, one slot
    long, the first of ``ops``, BLK_STS_IOERR."""
    number, first = divmod(number, nr_pages)
    number, count = divmod(number, nr_pages - first)
    number, op = divmod(number, len(ops))
    status = FAILING_STATUSES[number % len(FAILING_STATUSES)]
    return BadRange(first * SECTORS_PER_PAGE, (first + count + 1) * SECTORS_PER_PAGE,
                    ops[op], status)


#: The values each ``fault_attr`` knob takes, first the one it shrinks to.
PROBABILITIES = (100, 0, 50, 10, 1, 99)
INTERVALS = (1, 2, 3, 4)
TIMES = (1, 2, -1, 0, 5)
SPACES = (0, 4096, 8192, 100000)
VERBOSITIES = (0, 1, 2)


def fault_attrs() -> st.SearchStrategy[FaultAttr]:
    """A ``struct fault_attr`` with valid ``should_fail`` knobs and a seeded random source.

    Shrinks to "always fail once" (probability 100, interval 1, times 1, space 0).
    """

    @st.composite
    def build(draw: st.DrawFn) -> FaultAttr:
        return FaultAttr(
            probability=draw(st.sampled_from(PROBABILITIES)),
            interval=draw(st.sampled_from(INTERVALS)),
            times=draw(st.sampled_from(TIMES)),
            space=draw(st.sampled_from(SPACES)),
            verbose=draw(st.sampled_from(VERBOSITIES)),
            rng=random.Random(draw(st.integers(0, 2**16))),
        )

    return build()


def fault_attr_from(number: int) -> FaultAttr:
    """The ``fault_attr`` that ``number`` encodes (what :func:`fault_attrs` draws, as one
    number); its random source is seeded with ``number``. 0: "always fail once"."""
    knobs = []
    rest = number
    for values in (PROBABILITIES, INTERVALS, TIMES, SPACES, VERBOSITIES):
        rest, i = divmod(rest, len(values))
        knobs.append(values[i])
    probability, interval, times, space, verbose = knobs
    return FaultAttr(probability=probability, interval=interval, times=times, space=space,
                     verbose=verbose, rng=random.Random(number))
