"""6.12 swap over a filesystem (SWP_FS_OPS): swap_iocb plugging and completions."""

from __future__ import annotations

import pytest

from kmodel import BlkStatus, DeterministicExecutor, Machine, PageFlags
from kmodel.errors import KernelBug
from kmodel.mm.page_io import SwapIocb as SwapIocb61
from kmodel.mm.vmscan import ReclaimResult
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.page_io import SwapIocb, swap_write_unplug
from tests.helpers import PAGE, drain, pattern
from tests.mm.test_page_io_fs import FakeSwapFile

branch = pytest.mark.branch


def fs_machine(nr: int, mode: str = "sync", **kw: object) -> tuple[Machine, FakeSwapFile, int]:
    f = FakeSwapFile(mode)
    m = Machine(DeterministicExecutor(), swap_file=f, kernel="6.12", **kw)  # type: ignore[arg-type]
    t = m.spawn()
    addr = m.mmap(t, nr)
    for i in range(nr):
        m.store(t, addr + i * PAGE, pattern(i))
    m.fs_task = t  # type: ignore[attr-defined]
    return m, f, addr


def swapped_fs(nr: int, mode: str = "sync", **kw: object) -> tuple[Machine, FakeSwapFile, int]:
    m, f, addr = fs_machine(nr, "sync", **kw)
    m.reclaim()
    drain(m)
    m.reclaim()
    assert not m.k.swap_cache
    f.mode = mode
    f.calls.clear()
    return m, f, addr


@branch("WF-1", "WF-3", "WF-5", "WU-1", "WC-3", "WP-2")
def test_contiguous_writes_share_one_plugged_iocb_counted_at_submission_WF_1() -> None:
    m, f, addr = fs_machine(5)
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 5
    assert f.calls == [(True, 1 * PAGE, 5)]
    assert m.k.vm_events[VmEvent.PSWPOUT] == 5  # WF-1: counted before the I/O
    assert not any(fo.flags & PageFlags.PG_writeback for fo in m.k.swap_cache.values())
    assert m.reclaim() == [ReclaimResult.FREED] * 5
    assert f.blocks[3 * PAGE] == pattern(2)


@branch("WF-2")
def test_non_contiguous_write_unplugs_the_previous_iocb_WF_2() -> None:
    m, f, addr = fs_machine(4)
    folios = m.mapped_folios()
    m.si.cluster_next = 1
    m.reclaim(folios[:2])
    m.si.cluster_next = 10
    m.reclaim(folios[2:])
    assert f.calls == [(True, PAGE, 2), (True, 10 * PAGE, 2)]
    m2, f2, _ = fs_machine(3)
    a, b, c = m2.mapped_folios()
    m2.si.swap_map[2] = 1  # slot 2 taken: b lands on slot 3, inside one plug
    m2.si.inuse_pages += 1
    m2.reclaim([a, b, c])
    assert f2.calls == [(True, PAGE, 1), (True, 3 * PAGE, 2)]


@branch("WF-4")
def test_a_full_iocb_is_issued_at_32_pages_WF_4() -> None:
    m, f, addr = fs_machine(33)
    m.reclaim()
    assert f.calls == [(True, PAGE, 32), (True, 33 * PAGE, 1)]


@branch("WC-1", "WC-3")
def test_swap_file_write_error_redirties_WC_1() -> None:
    m, f, addr = fs_machine(2, mode="error")
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2
    for folio in m.k.swap_cache.values():
        assert folio.flags & PageFlags.PG_dirty
        assert not folio.flags & (PageFlags.PG_error | PageFlags.PG_reclaim
                                  | PageFlags.PG_writeback)
    assert ("err", f"Write error -5 on dio swapfile ({PAGE})") in m.k.printk_log
    assert m.k.vm_events[VmEvent.PSWPOUT] == 2  # counted at submission even so


@branch("WU-2", "WC-3")
def test_queued_swap_file_write_completes_later_WU_2() -> None:
    m, f, addr = fs_machine(2, mode="queued")
    assert m.reclaim() == [ReclaimResult.WRITEBACK_STARTED] * 2
    (sio,) = m.k.executor.pending
    assert isinstance(sio, SwapIocb)
    assert all(fo.flags & PageFlags.PG_writeback for fo in m.k.swap_cache.values())
    m.k.executor.complete(m.k)  # type: ignore[attr-defined]
    assert not any(fo.flags & PageFlags.PG_writeback for fo in m.k.swap_cache.values())
    assert m.reclaim() == [ReclaimResult.FREED] * 2


@branch("RD-6", "RF-2", "RF-4", "RU-1", "RC-1", "CR-2", "CR-3")
def test_readahead_from_a_swap_file_uses_one_iocb_RF_2_RF_4() -> None:
    m, f, addr = swapped_fs(8)
    t = m.fs_task  # type: ignore[attr-defined]
    m.k.swapin_readahead_hits = 0  # no hits yet (6.12's swap_state.c:65 boots them at 4)
    assert m.load(t, addr) == pattern(0)
    assert m.load(t, addr + PAGE) == pattern(1)
    assert f.calls[-1] == (False, 2 * PAGE, 2)
    assert m.k.vm_events[VmEvent.PSWPIN] == 3


@branch("RF-1", "RA-2")
def test_a_hole_in_the_readahead_window_unplugs_RF_1_RA_2() -> None:
    m, f, addr = fs_machine(7, page_cluster=2)
    t = m.fs_task  # type: ignore[attr-defined]
    u = m.spawn("other")
    uaddr = m.mmap(u, 1)
    m.store(u, uaddr, b"other")
    tf = m.mapped_folios(t)
    (uf,) = m.mapped_folios(u)
    m.reclaim(tf[:4] + [uf] + tf[4:])
    m.reclaim()
    m.exit(u)
    assert m.si.swap_map[5] == 0
    m.load(t, addr)
    m.load(t, addr + PAGE)
    m.load(t, addr + 2 * PAGE)
    f.calls.clear()
    assert m.load(t, addr + 3 * PAGE) == pattern(3)
    assert f.calls == [(False, 4 * PAGE, 1), (False, 6 * PAGE, 2)]


@branch("RF-3")
def test_read_without_a_plug_is_issued_at_once_RF_3() -> None:
    m, f, addr = swapped_fs(2, page_cluster=0)
    t = m.fs_task  # type: ignore[attr-defined]
    assert m.load(t, addr + PAGE) == pattern(1)
    assert f.calls == [(False, 2 * PAGE, 1)]


@branch("RC-2", "DS-7")
def test_swap_file_read_error_unlocks_without_pg_error_RC_2() -> None:
    m, f, addr = swapped_fs(2, mode="error", page_cluster=0)
    t = m.fs_task  # type: ignore[attr-defined]
    assert m.load(t, addr) is None
    (folio,) = m.k.swap_cache.values()
    assert not folio.flags & (PageFlags.PG_error | PageFlags.PG_uptodate | PageFlags.PG_locked)
    assert ("alert", "Read-error on swap-device") in m.k.printk_log


@branch("RU-2", "RC-2")
def test_queued_swap_file_read_completes_later_RU_2() -> None:
    m, f, addr = swapped_fs(4, mode="queued")
    t = m.fs_task  # type: ignore[attr-defined]
    assert m.load(t, addr) == pattern(0)
    assert m.k.executor.completed >= 1
    m2, f2, addr2 = swapped_fs(2, mode="queued", page_cluster=0)
    m2.k.executor.chooser = lambda pending: (pending[0], BlkStatus.BLK_STS_IOERR)  # type: ignore[attr-defined]
    assert m2.load(m2.fs_task, addr2) is None  # type: ignore[attr-defined]


def test_a_6_1_iocb_on_a_6_12_kernel_is_a_kernel_bug() -> None:
    m, f, addr = fs_machine(1)
    sio = SwapIocb61(f, PAGE, write=True)
    with m.k.running(m.spawn()), pytest.raises(KernelBug, match=r"6\.1 swap_iocb"):
        swap_write_unplug(m.k, sio)
