"""Named model scenarios: the model's side of ``kmodel capture``'s real-kernel scenarios.

No kernel counterpart. Each scenario is a memhog-like workload on a :class:`~kmodel.Machine`:
a task fills pages with a per-page pattern while the cgroup limit (``memory.max``) makes it
reclaim directly every few stores, then reads every page back and verifies it. Rounds repeat
with a fresh memhog (a new pid, as a script re-running the workload would) until about
``events`` trace events have been produced, so a trace of any size streams from a bounded
working set.

I/O runs on a :class:`~kmodel.DeterministicExecutor`: completions run in softirq on the
device's IRQ CPU (CPU 1; the workload runs on CPU 0). A seeded generator picks when the
"device" completes what is pending, so one seed always gives the same trace.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

import attrs

from kmodel.block.bdev import BadRange
from kmodel.errors import KmodelError
from kmodel.executor.deterministic import DeterministicExecutor
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, BlkStatus
from kmodel.include.linux.mm_types import PAGE_SIZE
from kmodel.include.linux.sched import Task
from kmodel.kernel import ModelEvent, Tracer
from kmodel.sim import Machine

__all__ = ["SCENARIOS", "Outcome", "Scenario", "run_scenario"]

#: Sectors per swap slot: slot N of a block-device swap area is at sector N * 8.
_SLOT_SECTORS = 8


def _slots(first: int, last: int) -> tuple[int, int]:
    """The sector range ``[start, end)`` of swap slots ``first..last``."""
    return first * _SLOT_SECTORS, (last + 1) * _SLOT_SECTORS


@attrs.frozen
class Scenario:
    """One workload: its disk, its read-back order, and the errors its device injects."""

    name: str
    description: str
    disk: str = "virtio"
    order: Literal["sequential", "random"] = "sequential"
    #: Pages per memhog round, at most (small targets use fewer).
    pages: int = 256
    #: Stores (or loads) between two direct reclaims: memory.max's headroom in pages.
    reclaim_every: int = 32
    submit_errors: tuple[BadRange, ...] = ()
    completion_errors: tuple[BadRange, ...] = ()
    #: dm-flakey's up/down cycle: injected errors apply to every ``flaky_period``-th
    #: reclaim pass only (0: always), so the retries that follow succeed.
    flaky_period: int = 0
    #: A forked child reads every page back too, sharing the parent's swap slots.
    fork: bool = False


_READ_ERR_SECTORS = _slots(40, 47)  # blkdebug in readerr_virtio failed sectors 320..376
_WRITE_ERR_SECTORS = _slots(20, 27)  # dm-flakey error_writes over slots 20..27

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "basic",
            "virtio-blk (rotational): plug merging, cluster readahead, sequential read-back",
        ),
        Scenario("ssd", "non-rotational virtio-blk: VMA readahead", disk="ssd"),
        Scenario(
            "random",
            "random read-back order: readahead collapses to synchronous reads",
            order="random",
        ),
        Scenario(
            "zram", "zram (SWP_SYNCHRONOUS_IO): rw_page, no bios, swap cache skipped", disk="zram"
        ),
        Scenario("brd", "brd ramdisk: rw_page, synchronous I/O without bios", disk="brd"),
        Scenario(
            "readerr_blkdebug",
            "blkdebug-style EIO at completion on reads of slots 40..47: 0x404 then SIGBUS",
            completion_errors=(BadRange(*_READ_ERR_SECTORS, REQ_OP_READ),),
        ),
        Scenario(
            "readerr_flakey",
            "dm-flakey-style EIO at submission on reads of slots 40..47",
            disk="dm",
            submit_errors=(BadRange(*_READ_ERR_SECTORS, REQ_OP_READ),),
        ),
        Scenario(
            "readerr_scsi",
            "scsi_debug-style medium errors (BLK_STS_MEDIUM) on reads of slots 40..47",
            disk="scsi",
            completion_errors=(
                BadRange(*_READ_ERR_SECTORS, REQ_OP_READ, BlkStatus.BLK_STS_MEDIUM),
            ),
        ),
        Scenario(
            "writeerr_flakey",
            "dm-flakey error_writes on slots 20..27, then recovery: "
            "retried writes succeed, no data lost",
            disk="dm",
            submit_errors=(BadRange(*_WRITE_ERR_SECTORS, REQ_OP_WRITE),),
            flaky_period=2,
        ),
        Scenario(
            "writeerr_blkdebug",
            "blkdebug-style EIO at completion on writes of slots 20..27: pages stay dirty "
            "in the swap cache, reads still find them",
            completion_errors=(BadRange(*_WRITE_ERR_SECTORS, REQ_OP_WRITE),),
        ),
        Scenario("fork", "fork after swap-out: parent and child read the shared slots", fork=True),
    )
}

#: Trace events one page costs in a round, roughly (write-out + read-back): sizes rounds.
_EVENTS_PER_PAGE = 20


@attrs.define
class Outcome:
    """What a run did: events traced, rounds, pages verified, pages lost to SIGBUS."""

    events: int = 0
    rounds: int = 0
    verified: int = 0
    sigbus: int = 0
    corrupt: int = 0


def _pattern(round_: int, index: int) -> bytes:
    """The memhog's per-page pattern: page index and round, recognisable in a dump."""
    return b"%08x:%08x" % (round_, index)


class _Device:
    """The disk's side of time: completes pending I/O a seeded number of steps later."""

    def __init__(self, machine: Machine, rng: random.Random) -> None:
        self.m = machine
        self.rng = rng
        executor = machine.k.executor
        assert isinstance(executor, DeterministicExecutor)
        self.executor = executor

    def tick(self) -> None:
        """One user-space step passed: maybe the device finishes what is queued (FIFO)."""
        if self.executor.pending and self.rng.random() < 0.5:
            self.drain()

    def drain(self) -> None:
        """Complete everything pending, oldest first."""
        self.executor.complete_all(self.m.k)


class _Run:
    """One scenario run: rounds of fill, reclaim and read-back until the target is met."""

    def __init__(self, scenario: Scenario, events: int, seed: int, tracer: Tracer,
                 kernel: str = "6.1", keep: Callable[[ModelEvent], bool] | None = None) -> None:
        self.s = scenario
        self.target = events
        self.rng = random.Random(seed)
        self.outcome = Outcome()
        self.tracer = tracer
        self.keep = keep
        self.m = Machine(
            DeterministicExecutor(), disk=scenario.disk, nr_pages=4 * scenario.pages + 64,
            kernel=kernel,
        )
        self.m.bdev.completion_errors = list(scenario.completion_errors)
        self.device = _Device(self.m, self.rng)
        self.passes = 0
        self.m.k.tracer = self._trace

    def _trace(self, event: ModelEvent) -> None:
        if self.keep is not None and not self.keep(event):
            return
        self.outcome.events += 1
        self.tracer(event)

    def run(self) -> Outcome:
        per_page = _EVENTS_PER_PAGE
        while self.outcome.events < self.target or not self.outcome.rounds:
            remaining = self.target - self.outcome.events
            pages = max(8, min(self.s.pages, -(-remaining // per_page)))
            before = self.outcome.events
            self._round(pages)
            self.outcome.rounds += 1
            per_page = max(1, (self.outcome.events - before) // pages)
        return self.outcome

    def _reclaim(self, task: Task) -> None:
        """memory.max was hit: direct reclaim in ``task``'s context, as try_charge does."""
        self.passes += 1
        flaky_down = not self.s.flaky_period or self.passes % self.s.flaky_period == 1
        self.m.bdev.submit_errors = list(self.s.submit_errors) if flaky_down else []
        self.m.reclaim(self.m.mapped_folios(task) + self.m.swap_cache_folios(), direct=task)

    def _round(self, pages: int) -> None:
        m, round_ = self.m, self.outcome.rounds
        task = m.spawn("memhog")
        base = m.mmap(task, pages)
        for i in range(pages):
            m.store(task, base + i * PAGE_SIZE, _pattern(round_, i))
            if i % self.s.reclaim_every == self.s.reclaim_every - 1:
                self._reclaim(task)
            self.device.tick()
        self._reclaim(task)
        readers = [task]
        if self.s.fork:
            readers.append(m.fork(task))
        for reader in readers:
            if not self._read_back(reader, base, pages, round_):
                self.device.drain()
        self.device.drain()
        for reader in readers:
            m.exit(reader)
        self._reclaim(task)  # free what the exits left in the swap cache
        self.device.drain()

    def _read_back(self, task: Task, base: int, pages: int, round_: int) -> bool:
        """Read every page back and compare; False when the task died of SIGBUS."""
        order = list(range(pages))
        if self.s.order == "random":
            self.rng.shuffle(order)
        for n, i in enumerate(order):
            data = self.m.load(task, base + i * PAGE_SIZE)
            if data is None:  # SIGBUS: memhog prints si_code and the page, and exits 135
                self.outcome.sigbus += 1
                return False
            if data == _pattern(round_, i):
                self.outcome.verified += 1
            else:
                self.outcome.corrupt += 1
            if n % self.s.reclaim_every == self.s.reclaim_every - 1:
                self._reclaim(task)
            self.device.tick()
        return True


def run_scenario(
    name: str,
    tracer: Callable[[ModelEvent], None],
    *,
    events: int = 10_000,
    seed: int = 0,
    kernel: str = "6.1",
    keep: Callable[[ModelEvent], bool] | None = None,
) -> Outcome:
    """Run scenario ``name`` on the ``kernel`` ("6.1", "6.12") model until about ``events``
    trace events went to ``tracer``; ``keep``: which events count and go there (all)."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise KmodelError(
            f"unknown scenario {name!r}: expected one of {', '.join(sorted(SCENARIOS))}"
        )
    if events < 1:
        raise KmodelError(f"--events must be a positive number of events, got {events}")
    return _Run(scenario, events, seed, tracer, kernel, keep).run()
