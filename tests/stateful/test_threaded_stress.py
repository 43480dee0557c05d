"""The threaded executor under stress: tasks on real threads, completions on the worker.

Each task is a process with its own memory, running a seeded program of stores and loads
(``Machine.store``/``Machine.load``: ``do_user_addr_fault`` takes ``k.lock``, and a task
asleep in the executor gives it up) while a reclaimer thread keeps pushing pages out and
the executor's worker thread completes the I/O. Bounded in time: the executor raises
``Deadlock`` when a sleeper is not woken within its timeout, and every join has a timeout.

The history is then checked against the deterministic model: the operations, replayed in
the order the threads finished them on a ``DeterministicExecutor``, leave the same data
at every address, and both runs keep the counters consistent with the I/O done.

Coverage does not depend on the OS scheduler: a forced first phase stores every page,
writes it out, waits for the writes and frees the clean folios, so each task's first
access is a swap-in however the threads are then scheduled; the threads start together
at a barrier. The ``lazy`` schedule is run too: the threads one after another (what a
busy machine often gave) and I/O completed only while some task waits for it, the latest
a scheduler can run the worker; without the forced phase it never swapped in.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from kmodel import BlkStatus, DeterministicExecutor, Kernel, Machine, Task, ThreadedExecutor
from kmodel.include.linux.mm_types import PAGE_SIZE
from kmodel.include.linux.page_flags import PageFlags
from kmodel.include.linux.sched import TaskState
from kmodel.mm.vmstat import VmEvent

NR_TASKS = 4
NR_PAGES = 6
OPS_PER_TASK = 40
RECLAIM_PASSES = 40
TIMEOUT = 10.0  # seconds a sleeper may wait for its wakeup before Deadlock

#: One user operation: (task index, "store" | "load" | "reclaim", page index, value).
Op = tuple[int, str, int, bytes]


def _program(seed: int, task: int) -> list[Op]:
    rng = random.Random(seed * 1000 + task)
    ops: list[Op] = []
    for n in range(OPS_PER_TASK):
        index = rng.randrange(NR_PAGES)
        dice = rng.random()
        if dice < 0.2:
            ops.append((task, "reclaim", 0, b""))  # direct reclaim: memory.max was hit
        elif dice < 0.6:
            ops.append((task, "store", index, f"t{task}-{n}".encode()))
        else:
            ops.append((task, "load", index, b""))
    return ops


class World:
    """A machine with NR_TASKS processes and the user-space view of their memory."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.tasks: list[Task] = [m.spawn(f"stress{i}") for i in range(NR_TASKS)]
        self.base = [m.mmap(t, NR_PAGES) for t in self.tasks]
        self.shadow: dict[tuple[int, int], bytes] = {}
        self.mismatches: list[str] = []

    def apply(self, op: Op) -> None:
        """Run one operation atomically except at the kernel's sleeping points."""
        t, kind, index, value = op
        addr = self.base[t] + index * PAGE_SIZE
        with self.m.k.lock:  # the access itself, not only the fault, under the kernel lock
            if kind == "reclaim":
                self.m.reclaim(direct=self.tasks[t])
            elif kind == "store":
                self.m.store(self.tasks[t], addr, value)
                self.shadow[(t, index)] = value
            else:
                got = self.m.load(self.tasks[t], addr)
                want = self.shadow.get((t, index), b"")
                if got != want:
                    self.mismatches.append(f"task {t} page {index}: {got!r} != {want!r}")

    def reclaim(self) -> None:
        with self.m.k.lock:  # Machine.reclaim picks its folios before taking the lock
            self.m.reclaim()

    def swap_everything_out(self, wait_for_io: Callable[[], object]) -> None:
        """Forced phase: store every page, write it out, wait for the writes, free it."""
        for t in range(NR_TASKS):
            for index in range(NR_PAGES):
                self.apply((t, "store", index, f"t{t}-init{index}".encode()))
        self.reclaim()  # pageout: every folio under writeback in the swap cache
        wait_for_io()   # end_swap_bio_write for each
        self.reclaim()  # the clean, unmapped folios leave the swap cache
        assert not self.m.mapped_folios() and not self.m.swap_cache_folios()
        assert self.m.k.vm_events[VmEvent.PSWPOUT] == NR_TASKS * NR_PAGES
        assert self.m.k.vm_events[VmEvent.PSWPIN] == 0

    def final_data(self) -> dict[tuple[int, int], bytes | None]:
        out: dict[tuple[int, int], bytes | None] = {}
        for t, task in enumerate(self.tasks):
            for index in range(NR_PAGES):
                out[(t, index)] = self.m.load(task, self.base[t] + index * PAGE_SIZE)
        return out

    def check_quiescent(self) -> None:
        k = self.m.k
        assert self.m.quiescent(), f"I/O left: {k.executor.pending}, {k.executor.live_bios}"
        for task in k.tasks.values():
            assert task.state == TaskState.TASK_RUNNING and task.usage == 1, task
        folios = self.m.mapped_folios() + list(k.swap_cache.values())
        for folio in folios:
            assert not folio.waiters, f"waiter never woken on {folio!r}: {folio.waiters}"
            assert not folio.flags & PageFlags.PG_locked, f"folio left locked: {folio!r}"
        ev = k.vm_events
        assert ev[VmEvent.PSWPIN] * 8 == ev[VmEvent.PGPGIN], ev
        assert ev[VmEvent.PSWPOUT] * 8 == ev[VmEvent.PGPGOUT], ev


def _run_threads(world: World, programs: list[list[Op]], order: list[Op | None], *,
                 serial: bool) -> None:
    """Each program on its own thread, plus a reclaimer; ``order`` records completions.

    Concurrent threads wait at a barrier so that they start together; ``serial`` runs
    them one after another instead.
    """
    errors: list[BaseException] = []
    log_lock = threading.Lock()
    start = threading.Barrier(1 if serial else len(programs) + 1, timeout=TIMEOUT)

    def guarded(body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                body()
            except BaseException as exc:  # reported to the test below
                errors.append(exc)
        return run

    def user(program: list[Op]) -> Callable[[], None]:
        def body() -> None:
            for op in program:
                world.apply(op)
                with log_lock:
                    order.append(op)
        return body

    def reclaimer() -> None:
        for _ in range(RECLAIM_PASSES):
            world.reclaim()
            with log_lock:
                order.append(None)

    threads = [threading.Thread(target=guarded(user(p)), daemon=True) for p in programs]
    threads.append(threading.Thread(target=guarded(reclaimer), daemon=True))
    for th in threads:
        th.start()
        if serial:
            th.join(TIMEOUT * 3)
    for th in threads:
        th.join(TIMEOUT * 3)
    alive = [th.name for th in threads if th.is_alive()]
    assert not alive, f"deadlock: threads still running after {TIMEOUT * 3}s: {alive}"
    if errors:
        raise errors[0]


class _LazyCompletions(ThreadedExecutor):
    """The worker completes I/O only while a task sleeps (or the test drains)."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.gate.clear()

    def _open_gate(self, wait: Callable[[], None]) -> None:
        self.gate.set()
        try:
            wait()
        finally:
            self.gate.clear()

    def schedule(self, k: Kernel, task: Task) -> None:
        self._open_gate(lambda: ThreadedExecutor.schedule(self, k, task))

    def sleep_tick(self, k: Kernel, task: Task) -> None:
        self._open_gate(lambda: ThreadedExecutor.sleep_tick(self, k, task))

    def drain(self, k: Kernel) -> None:
        self._open_gate(lambda: ThreadedExecutor.drain(self, k))


@pytest.mark.parametrize("lazy", [False, True], ids=["concurrent", "lazy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threaded_history_matches_deterministic_model(seed: int, lazy: bool) -> None:
    programs = [_program(seed, t) for t in range(NR_TASKS)]
    # Each program touches its pages, so after the forced phase each one swaps in.
    assert all(any(op[1] != "reclaim" for op in p) for p in programs)
    executor = _LazyCompletions(timeout=TIMEOUT) if lazy else ThreadedExecutor(timeout=TIMEOUT)
    threaded = World(Machine(executor, disk="virtio", nr_pages=64, page_cluster=2))
    order: list[Op | None] = []
    try:
        threaded.swap_everything_out(lambda: executor.drain(threaded.m.k))
        _run_threads(threaded, programs, order, serial=lazy)
        executor.drain(threaded.m.k)
        assert not executor.errors, executor.errors
        assert not threaded.mismatches, threaded.mismatches
        threaded.check_quiescent()
        final = threaded.final_data()
        executor.drain(threaded.m.k)
        threaded.check_quiescent()
    finally:
        executor.shutdown()

    det = DeterministicExecutor()
    replay = World(Machine(det, disk="virtio", nr_pages=64, page_cluster=2))
    replay.swap_everything_out(lambda: det.complete_all(replay.m.k))
    for op in order:
        if op is None:
            replay.reclaim()
        else:
            replay.apply(op)
    det.complete_all(replay.m.k)
    assert not replay.mismatches, replay.mismatches
    replay.check_quiescent()
    assert replay.final_data() == final
    det.complete_all(replay.m.k)
    assert final == {key: threaded.shadow.get(key, b"") for key in final}
    swapped_in = threaded.m.k.vm_events[VmEvent.PSWPIN]
    assert swapped_in > 0, "the stress run never swapped in: it tested nothing"


def test_deadlock_is_reported_not_hung() -> None:
    """A sleeper nobody wakes makes ``schedule`` raise Deadlock within the timeout."""
    from kmodel import Deadlock

    executor = ThreadedExecutor(timeout=0.2)
    m = Machine(executor)
    task = m.spawn()
    try:
        with m.k.running(task), m.k.lock:
            task.state = TaskState.TASK_UNINTERRUPTIBLE
            executor.submit(m.k, _NeverCompletes())  # start the worker; nothing wakes us
            with pytest.raises(Deadlock):
                executor.schedule(m.k, task)
    finally:
        task.state = TaskState.TASK_RUNNING
        executor.shutdown()


class _NeverCompletes:
    id = 0

    def describe(self) -> str:
        return "an I/O whose completion wakes nobody"

    def default_status(self) -> BlkStatus:
        return BlkStatus.BLK_STS_OK

    def complete(self, k: Kernel, status: BlkStatus | None = None) -> None:
        """Completes, but wakes nobody."""
