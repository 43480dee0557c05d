"""Swap over a filesystem (SWP_FS_OPS): swap_iocb plugging and completions (mm/page_io.c)."""

from __future__ import annotations

import pytest

from kmodel import BlkStatus, DeterministicExecutor, Machine, PageFlags, SwapIocb, VmEvent
from kmodel.mm.page_io import EIOCBQUEUED
from kmodel.mm.vmscan import ReclaimResult
from tests.helpers import PAGE, drain, pattern

branch = pytest.mark.branch


class FakeSwapFile:
    """A file whose ``->swap_rw`` completes now, fails, or queues (like NFS direct I/O)."""

    def __init__(self, mode: str = "sync") -> None:
        self.mode = mode
        self.calls: list[tuple[bool, int, int]] = []
        self.blocks: dict[int, bytes] = {}

    def swap_rw(self, sio: SwapIocb, write: bool) -> int:
        self.calls.append((write, sio.ki_pos, len(sio.pages)))
        if self.mode == "error":
            return -5
        for i, page in enumerate(sio.pages):
            pos = sio.ki_pos + i * PAGE
            if write:
                self.blocks[pos] = page.data or b""
            else:
                page.data = self.blocks.get(pos)
        done = len(sio.pages) * PAGE  # the bytes the file really transferred
        return -EIOCBQUEUED if self.mode == "queued" else done


def fs_machine(nr: int, mode: str = "sync", **kw: object) -> tuple[Machine, FakeSwapFile, int]:
    f = FakeSwapFile(mode)
    m = Machine(DeterministicExecutor(), swap_file=f, **kw)  # type: ignore[arg-type]
    t = m.spawn()
    addr = m.mmap(t, nr)
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    m.fs_task = t  # type: ignore[attr-defined]
    return m, f, addr


@branch("WF-1", "WF-3", "WF-5", "WU-1", "WC-2", "WC-3", "WP-2")
def test_contiguous_writes_share_one_plugged_iocb_WF_3_WF_5() -> None:
    m, f, addr = fs_machine(5)
    # Writeback starts page by page; the plugged iocb is issued at the end of the
    # reclaim pass and completes synchronously (WU-1), so the next pass frees them.
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 5
    assert f.calls == [(True, 1 * PAGE, 5)]
    assert len(m.k.printk_log) == 0
    assert not any(fo.flags & PageFlags.PG_writeback for fo in m.k.swap_cache.values())
    assert m.reclaim() == [ReclaimResult.FREED] * 5
    assert m.k.vm_events[VmEvent.PSWPOUT] == 5  # WC-2
    assert f.blocks[3 * PAGE] == pattern(2)


@branch("WF-2")
def test_non_contiguous_write_unplugs_the_previous_iocb_WF_2() -> None:
    m, f, addr = fs_machine(4)
    folios = m.mapped_folios()
    m.si.cluster_next = 1
    m.reclaim(folios[:2])
    m.si.cluster_next = 10  # the next slot is not contiguous with the plugged ones
    m.reclaim(folios[2:])
    assert f.calls == [(True, PAGE, 2), (True, 10 * PAGE, 2)]
    m2, f2, _ = fs_machine(3)
    a, b, c = m2.mapped_folios()
    m2.si.cluster_next = 1
    m2.reclaim([a])
    m2.si.cluster_next = 5
    m2.reclaim([b, c])
    assert f2.calls == [(True, PAGE, 1), (True, 5 * PAGE, 2)]


@branch("WF-2")
def test_gap_inside_one_plug_unplugs_early_WF_2() -> None:
    m, f, addr = fs_machine(3)
    a, b, c = m.mapped_folios()
    m.si.swap_map[2] = 1  # slot 2 is taken: b lands on slot 3, not after a
    m.si.inuse_pages += 1
    m.reclaim([a, b, c])
    assert f.calls == [(True, PAGE, 1), (True, 3 * PAGE, 2)]


@branch("WF-4")
def test_a_full_iocb_is_issued_at_32_pages_WF_4() -> None:
    m, f, addr = fs_machine(33)
    m.reclaim()
    assert f.calls == [(True, PAGE, 32), (True, 33 * PAGE, 1)]


@branch("WC-1", "WC-3")
def test_swap_file_write_error_redirties_without_pg_error_WC_1() -> None:
    m, f, addr = fs_machine(2, mode="error")
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2
    for folio in m.k.swap_cache.values():
        assert folio.flags & PageFlags.PG_dirty
        assert not folio.flags & PageFlags.PG_error  # may be temporary (swap over NFS)
        assert not folio.flags & PageFlags.PG_reclaim
        assert not folio.flags & PageFlags.PG_writeback  # WC-3
    assert ("err", f"Write error -5 on dio swapfile ({PAGE})") in m.k.printk_log
    assert m.k.vm_events[VmEvent.PSWPOUT] == 0
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2  # written again


@branch("WU-2", "WC-3")
def test_queued_swap_file_write_completes_later_WU_2() -> None:
    m, f, addr = fs_machine(2, mode="queued")
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2
    (sio,) = m.k.executor.pending
    assert sio.describe() == f"swap_iocb write pos={PAGE} pages=2"
    assert all(fo.flags & PageFlags.PG_writeback for fo in m.k.swap_cache.values())
    m.k.executor.complete(m.k)  # type: ignore[attr-defined]
    assert not any(fo.flags & PageFlags.PG_writeback for fo in m.k.swap_cache.values())
    assert m.reclaim() == [ReclaimResult.FREED] * 2


def swapped_fs(nr: int, mode: str = "sync", **kw: object) -> tuple[Machine, FakeSwapFile, int]:
    m, f, addr = fs_machine(nr, "sync", **kw)
    m.reclaim()
    drain(m)
    m.reclaim()
    assert not m.k.swap_cache
    f.mode = mode
    f.calls.clear()
    return m, f, addr


@branch("RD-4", "RF-2", "RF-4", "RU-1", "RC-1", "CR-3", "CR-4")
def test_readahead_from_a_swap_file_uses_one_iocb_RF_2_RF_4() -> None:
    m, f, addr = swapped_fs(8)
    t = m.fs_task  # type: ignore[attr-defined]
    m.k.swapin_readahead_hits = 0  # no hits yet (swap_state.c:62 boots them at 4): a window of 1
    assert m.load(t, addr) == pattern(0)
    assert m.load(t, addr + PAGE) == pattern(1)
    # The second fault reads the aligned window [2, 3] through one plugged iocb.
    assert f.calls[-1] == (False, 2 * PAGE, 2)
    assert m.k.vm_events[VmEvent.PSWPIN] == 3  # RC-1 counts per page


@branch("RF-1", "RA-2")
def test_a_hole_in_the_readahead_window_unplugs_RF_1_RA_2() -> None:
    m, f, addr = fs_machine(7, page_cluster=2)
    t = m.fs_task  # type: ignore[attr-defined]
    u = m.spawn("other")
    uaddr = m.mmap(u, 1)
    m.store(u, uaddr, b"other")
    tf = m.mapped_folios(t)
    (uf,) = m.mapped_folios(u)
    m.reclaim(tf[:4] + [uf] + tf[4:])  # slots 1-4: t, 5: u, 6-8: t
    m.reclaim()
    m.exit(u)  # slot 5 is free again
    assert m.si.swap_map[5] == 0
    f.calls.clear()
    m.load(t, addr)  # window [1]: prev_offset = 1
    m.load(t, addr + PAGE)  # window [2, 3]: a readahead hit follows
    m.load(t, addr + 2 * PAGE)
    f.calls.clear()
    assert m.load(t, addr + 3 * PAGE) == pattern(3)  # window [4..7] with slot 5 free
    assert f.calls == [(False, 4 * PAGE, 1), (False, 6 * PAGE, 2)]


@branch("RF-3")
def test_read_without_a_plug_is_issued_at_once_RF_3() -> None:
    m, f, addr = swapped_fs(2, page_cluster=0)
    t = m.fs_task  # type: ignore[attr-defined]
    assert m.load(t, addr + PAGE) == pattern(1)
    assert f.calls == [(False, 2 * PAGE, 1)]


@branch("RC-2")
def test_swap_file_read_error_gives_sigbus_RC_2() -> None:
    m, f, addr = swapped_fs(2, mode="error", page_cluster=0)
    t = m.fs_task  # type: ignore[attr-defined]
    assert m.load(t, addr) is None
    (folio,) = m.k.swap_cache.values()
    assert folio.flags & PageFlags.PG_error and not folio.flags & PageFlags.PG_uptodate
    assert ("alert", "Read-error on swap-device") in m.k.printk_log


@branch("RU-2", "DS-5")
def test_queued_swap_file_read_completes_later_RU_2() -> None:
    m, f, addr = swapped_fs(4, mode="queued")
    t = m.fs_task  # type: ignore[attr-defined]
    assert m.load(t, addr) == pattern(0)  # the fault waited; the executor completed it
    assert m.k.executor.completed >= 1


@branch("RC-2")
def test_queued_read_can_fail_at_completion_RC_2() -> None:
    m, f, addr = swapped_fs(2, mode="queued", page_cluster=0)
    t = m.fs_task  # type: ignore[attr-defined]
    m.k.executor.chooser = lambda pending: (pending[0], BlkStatus.BLK_STS_IOERR)  # type: ignore[attr-defined]
    assert m.load(t, addr) is None
