"""The 6.1 and 6.12 models run the same workload: user space sees the same bytes, and the
counters differ exactly where 6.12 changed the path (zero pages skip the disk)."""

from __future__ import annotations

import pytest

from kmodel import DeterministicExecutor, Machine
from kmodel.mm.vmstat import VmEvent
from kmodel.v6_12.mm.vmstat import VmEvent612
from tests.helpers import PAGE, read_error, slot_of

NR = 12


def _run(kernel: str, disk: str, *, bad_page: int | None = None, page_cluster: int = 2
         ) -> tuple[list[bytes | None], Machine]:
    m = Machine(DeterministicExecutor(), disk=disk, page_cluster=page_cluster, kernel=kernel)
    t = m.spawn()
    addr = m.mmap(t, NR)
    for i in range(NR):
        m.store(t, addr + i * PAGE, b"" if i % 3 == 0 else b"page %d" % i)
    m.reclaim()
    m.k.executor.complete_all(m.k)  # type: ignore[attr-defined]
    m.reclaim()
    if bad_page is not None:  # the disk fails reads of that page's slot
        read_error(m, slot_of(m, t, addr + bad_page * PAGE))
    loaded = [m.load(t, addr + i * PAGE) for i in (5, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11)]
    return loaded, m


@pytest.mark.parametrize("disk", ["virtio", "ssd", "zram", "brd", "dm"])
def test_same_bytes_and_explained_counter_differences(disk: str) -> None:
    old, m61 = _run("6.1", disk)
    new, m612 = _run("6.12", disk)
    assert [d or b"" for d in old] == [d or b"" for d in new]  # a zero page reads back empty
    ev61, ev612 = m61.k.vm_events, m612.k.vm_events
    zero_out = ev612[VmEvent612.SWPOUT_ZERO]
    assert zero_out == NR // 3
    assert ev61[VmEvent.PSWPOUT] == ev612[VmEvent.PSWPOUT] + zero_out
    assert ev612[VmEvent612.SWPIN_ZERO] == zero_out
    assert ev612[VmEvent.PSWPIN] + ev612[VmEvent612.SWPIN_ZERO] <= ev61[VmEvent.PSWPIN]
    assert m61.quiescent() and m612.quiescent()


def test_a_read_error_is_sigbus_on_both_kernels() -> None:
    old, _ = _run("6.1", "virtio", bad_page=7, page_cluster=0)  # no merged readahead
    new, m612 = _run("6.12", "virtio", bad_page=7, page_cluster=0)
    assert old == new
    assert [i for i, d in enumerate(new) if d is None] == [7]  # page 7, loaded 8th: SIGBUS
    assert not any(f.flags & 0x100 for f in m612.k.swap_cache.values())  # no 6.1 PG_error


def test_a_bad_sector_under_a_zero_page_hurts_only_6_1() -> None:
    old, _ = _run("6.1", "virtio", bad_page=9)
    new, _ = _run("6.12", "virtio", bad_page=9)
    assert old[9] is None  # 6.1 reads the zero page from the disk: SIGBUS
    assert new[9] == b""  # 6.12 serves it from the zeromap: the disk is never read


def test_a_failed_merged_readahead_spares_zero_pages_on_6_12() -> None:
    """Page 7's bad sector fails the whole merged readahead request (DEV-1): on 6.1 that
    takes page 9, a zero page in the same window, with it; on 6.12 page 9 is not in it."""
    old, _ = _run("6.1", "virtio", bad_page=7)
    new, _ = _run("6.12", "virtio", bad_page=7)
    assert old[7] is None and new[7] is None
    assert old[9] is None and new[9] == b""
