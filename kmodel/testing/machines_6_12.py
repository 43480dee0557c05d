"""The state machines of :mod:`kmodel.testing.machines`, run on the Linux 6.12 model.

Same user space, reclaim, disk, fault injection and invariants; what 6.12 changed is
swapped in where the 6.1 machine reads it:

* the machine boots ``Machine(kernel="6.12")``, with zswap drawn on or off, and one store
  in five writes an all-zero page (the zeromap path: no I/O either way);
* completions are observed at ``__end_swap_bio_{read,write}``, which both the synchronous
  (on-stack bio) and asynchronous paths run, and writeback ends at ``folio_end_writeback``
  (the 6.12 probe set's events, :mod:`kmodel.capture.probes612`);
* 6.12 has no ``PG_error``: a failed read leaves its folio unlocked and !uptodate, so the
  machine remembers the folios whose read failed, and the invariants that asked for
  ``PG_error`` (SIGBUS only after a failed read; an unlocked swap cache folio is uptodate
  or failed; a woken lock waiter finds its folio uptodate or failed) ask that instead;
* brd and zram take bios in 6.12 (no ``rw_page``): their bad ranges may fail any op;
* the branch IDs reached are those of ``spec/branches-6.12.md``.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant

from kmodel.include.linux.mm_types import Folio, SwapEntry
from kmodel.include.linux.page_flags import PageFlags
from kmodel.include.linux.sched import Task
from kmodel.kernel import Kernel, ModelEvent
from kmodel.sim import DISKS, Machine
from kmodel.testing.coverage import fault_return_branches
from kmodel.testing.machines import (
    NR_SWAP_PAGES,
    NR_USER_PAGES,
    InvariantViolation,
    SwapIOMachine,
)
from kmodel.testing.strategies import SYNC_DISKS, disk_kinds
from kmodel.v6_12.mm.vmstat import VmEvent612

_LOCKED = int(PageFlags.PG_locked)
_UPTODATE = int(PageFlags.PG_uptodate)
#: Paths with no probe point (inlined in 6.12's build), proven by the counter they bump.
_COUNTED: dict[VmEvent612, frozenset[str]] = {
    VmEvent612.SWPOUT_ZERO: frozenset({"ZM-1"}),
    VmEvent612.SWPIN_ZERO: frozenset({"ZM-3", "RD-3"}),
    VmEvent612.ZSWPOUT: frozenset({"ZS-3", "SW-3"}),
    VmEvent612.ZSWPIN: frozenset({"RD-4"}),
}


def _int(ev: ModelEvent, key: str) -> int:
    value = ev.arg(key)
    return value if isinstance(value, int) else 0


def branches_of_6_12(ev: ModelEvent) -> set[str]:
    """The ``spec/branches-6.12.md`` IDs one 6.12 model event proves were executed."""
    name, caller = ev.name, ev.chain[-1] if ev.chain else ""
    if name == "__end_swap_bio_write":
        ids = {"EW-1" if _int(ev, "bi_status") else "EW-2", "EW-3"}
        return ids | ({"EW-4", "WA-1", "WP-4"} if caller == "end_swap_bio_write"
                      else {"WS-1", "WP-3"})
    if name == "__end_swap_bio_read":
        ids = {"ER-1" if _int(ev, "bi_status") else "ER-2", "ER-3"}
        return ids | ({"ER-4", "RB-1", "RD-8"} if caller == "end_swap_bio_read"
                      else {"RS-1", "RD-7"})
    if name == "__swap_writepage":
        return {"SW-4", "WP-1"}
    if name == "swap_read_folio":
        ids = {"RD-1"}
        if "swapin_readahead" not in ev.chain:
            ids.add("DS-1")
        elif _int(ev, "plug"):
            ids.add("CR-3")
        return ids
    if name == "submit_bio_wait_ret":
        return {"BW-3"}
    if name == "swapin_readahead":
        return {"DS-2", "CR-5"}
    if name == "do_swap_page_ret":
        return fault_return_branches(_int(ev, "ret"))
    if name == "mm_vmscan_write_folio":
        return {"PO-1"}
    return set()


class SwapIOMachine612(SwapIOMachine):
    """:class:`~kmodel.testing.machines.SwapIOMachine` on the 6.12 model."""

    disk_kinds: ClassVar[tuple[str, ...]] = tuple(DISKS)
    rw_page_bad_ops: ClassVar[dict[str, tuple[int, ...]]] = {}
    steps: ClassVar[int] = 0
    branches: ClassVar[set[str]] = set()

    def __init__(self) -> None:
        super().__init__()
        #: ``struct page`` addresses of folios whose last read failed (6.12: no PG_error).
        self.failed_reads: set[int] = set()

    @initialize(target=SwapIOMachine.tasks, data=st.data(), page_cluster=st.integers(0, 3))
    def boot(self, data: st.DataObject, page_cluster: int) -> Task:
        """Boot 6.12 on a drawn disk, zswap drawn on or off; the first task and its mapping."""
        disk = data.draw(disk_kinds(self.disk_kinds), label="disk")
        zswap = data.draw(st.booleans(), label="zswap")
        self.m = Machine(self.ex, disk=disk, nr_pages=NR_SWAP_PAGES, page_cluster=page_cluster,
                         kernel="6.12")
        if zswap:
            self.m.k.zswap = {}
        self.m.k.tracer = self._on_event
        task = self.m.spawn()
        self.base = self.m.mmap(task, NR_USER_PAGES)
        self.users.append(task)
        return task

    @invariant()
    def paths_seen_in_counters(self) -> None:
        """Not a check: note the branches without a probe point that the counters prove."""
        if self.m is not None:
            events = self.k.vm_events
            for item, ids in _COUNTED.items():
                if events[item]:
                    type(self).branches.update(ids)

    def _store_page(self, task: Task, index: int, value: bytes) -> None:
        """One store in five writes an all-zero page: swap-out takes the zeromap path."""
        super()._store_page(task, index, b"" if self._stores % 5 == 0 else value)

    def _on_event(self, ev: ModelEvent) -> None:
        type(self).branches.update(branches_of_6_12(ev))
        name = ev.name
        if name == "__end_swap_bio_write":
            page = int(ev.arg("page"))
            self.ends["end_swap_bio_write"] += 1
            if ev.arg("bi_status"):
                self.write_failed.add(page)
            else:
                self.write_failed.discard(page)
        elif name == "__end_swap_bio_read":
            page = int(ev.arg("page"))
            self.ends["end_swap_bio_read"] += 1
            if ev.arg("bi_status"):
                self.read_errors += 1
                self.failed_reads.add(page)
            else:
                self.failed_reads.discard(page)
        elif name == "folio_end_writeback":  # bio writes and swap files alike
            self.wb_ends[int(ev.arg("folio"))] += 1
        elif name == "swap_writepage":
            self.write_failed.discard(int(ev.arg("page")))

    def _failed(self, folio: Folio) -> bool:
        return folio.addr in self.failed_reads and not int(folio.flags) & _UPTODATE

    def _on_wake(self, k: Kernel, task: Task) -> None:
        """A woken waiter finds its bit clear; a lock waiter, the folio uptodate or failed."""
        wait = self._waits.pop(task.pid, None)
        if wait is None or not isinstance(wait, tuple):
            return
        folio, bit = wait
        if int(folio.flags) & bit:
            raise InvariantViolation(f"{task!r} woken but bit {bit:#x} still set: {folio!r}")
        if bit == PageFlags.PG_locked and not (int(folio.flags) & _UPTODATE or
                                               self._failed(folio)):
            raise InvariantViolation(
                f"{task!r} woken on an unlocked folio neither uptodate nor failed "
                f"(ER-2 must precede ER-3): {folio!r}")

    def _check_sigbus(self, task: Task, addr: int, pte: Folio | int | None) -> None:
        """SIGBUS only for a page whose read failed: its cached folio failed, or a read did."""
        if not isinstance(pte, int):
            raise InvariantViolation(f"SIGBUS at {addr:#x} which was not swapped out")
        entry = SwapEntry.from_pte(pte)
        cached = self.k.swap_cache.get((entry.type, entry.offset))
        if cached is not None:
            if not self._failed(cached):
                raise InvariantViolation(
                    f"SIGBUS at {addr:#x} but its folio did not fail a read: {cached!r}")
        elif not self.read_errors:
            raise InvariantViolation(f"SIGBUS at {addr:#x} with no read error")

    def unlocked_swap_cache_folio_is_uptodate_or_failed(self) -> None:
        """A read marks the folio uptodate before it unlocks, unless the read failed."""
        for folio in self.k.swap_cache.values():
            flags = int(folio.flags)
            if not flags & _LOCKED and not flags & _UPTODATE and not self._failed(folio):
                raise InvariantViolation(
                    f"unlocked swap cache folio neither uptodate nor failed: {folio!r}")
            if folio.freed:
                raise InvariantViolation(f"freed folio still in the swap cache: {folio!r}")


#: The event names :func:`branches_of_6_12` maps to IDs (any other name proves none).
BRANCH_EVENTS_6_12 = frozenset((
    "__end_swap_bio_write", "__end_swap_bio_read", "__swap_writepage", "swap_read_folio",
    "submit_bio_wait_ret", "swapin_readahead", "do_swap_page_ret", "mm_vmscan_write_folio",
))  # fmt: skip
# The events SwapIOMachine612._on_event reads; the kernel builds no ModelEvent for the
# others. Set here, not in the class body, whose source seeds Hypothesis' derandomized runs.
SwapIOMachine612._on_event.trace_events = (  # type: ignore[attr-defined]
    BRANCH_EVENTS_6_12 | {"folio_end_writeback", "swap_writepage"})


def machine_for_6_12(*kinds: str) -> type[SwapIOMachine612]:
    """A :class:`SwapIOMachine612` subclass that boots only on the given disk kinds."""
    for kind in kinds:
        if kind not in DISKS:
            raise ValueError(f"unknown disk kind {kind!r}: expected one of {sorted(DISKS)}")
    name = "SwapIOMachine612_" + "_".join(kinds)
    return type(name, (SwapIOMachine612,), {"disk_kinds": kinds, "steps": 0, "branches": set()})


#: Pinned variants: the asynchronous bio path, and the synchronous (on-stack bio) path.
VirtioMachine612 = machine_for_6_12("virtio")
SyncDiskMachine612 = machine_for_6_12(*SYNC_DISKS)

__all__ = [
    "SwapIOMachine612",
    "SyncDiskMachine612",
    "VirtioMachine612",
    "branches_of_6_12",
    "machine_for_6_12",
]
