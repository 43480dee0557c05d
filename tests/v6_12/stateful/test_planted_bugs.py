"""The 6.12 machines catch planted 6.12 bugs: each breaks one kernel rule of 6.12.

Each bug is a copy of a 6.12 model function with one change, patched where the model looks
it up: ``kmodel.v6_12.mm.page_io``'s globals (the bio set-up reads ``end_swap_bio_read``,
``end_swap_bio_write`` and ``swap_folio_sector`` there; the read and write paths call
``__end_swap_bio_{read,write}``, ``swap_read_folio_zeromap`` and ``zswap_load`` there).
Shrinking is off: the point is that the ``ci`` budget finds the bug at all.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kmodel.errors import KernelBug
from kmodel.include.linux.blk_types import Bio
from kmodel.include.linux.mm_types import Folio
from kmodel.include.linux.page_flags import ClearPageReclaim, PageSwapCache, SetPageUptodate
from kmodel.kernel import Kernel
from kmodel.mm.filemap import folio_unlock
from kmodel.testing import InvariantViolation
from kmodel.testing.machines import SwapIOMachine
from kmodel.testing.machines_6_12 import SwapIOMachine612, VirtioMachine612
from kmodel.v6_12.mm import page_io
from kmodel.v6_12.mm.vmstat import VmEvent612

_real_end_read = page_io.__end_swap_bio_read  # type: ignore[attr-defined]
_real_end_write = page_io.__end_swap_bio_write  # type: ignore[attr-defined]
_real_sector = page_io.swap_folio_sector


def _uptodate_after_unlock(k: Kernel, bio: Bio) -> None:
    """``__end_swap_bio_read`` (page_io.c:58-70) unlocking before folio_mark_uptodate."""
    folio = bio.page
    assert folio is not None
    page_io._trace_bio(k, "__end_swap_bio_read", bio)
    with k.call("__end_swap_bio_read"):
        folio_unlock(k, folio)
        if not bio.bi_status:
            SetPageUptodate(folio)


def _read_ignores_bi_status(k: Kernel, bio: Bio) -> None:
    """``__end_swap_bio_read`` marking a failed read uptodate."""
    bio.bi_status = type(bio.bi_status)(0)
    _real_end_read(k, bio)


def _read_missing_bio_put(k: Kernel, bio: Bio) -> None:
    """``end_swap_bio_read`` (page_io.c:72-76) without its bio_put."""
    with k.call("end_swap_bio_read"):
        _real_end_read(k, bio)


def _write_missing_bio_put(k: Kernel, bio: Bio) -> None:
    """``end_swap_bio_write`` (page_io.c:52-56) without its bio_put."""
    with k.call("end_swap_bio_write"):
        _real_end_write(k, bio)


def _write_error_not_redirtied(k: Kernel, bio: Bio) -> None:
    """``__end_swap_bio_write`` (page_io.c:30-50) without folio_mark_dirty on error."""
    folio = bio.page
    assert folio is not None
    page_io._trace_bio(k, "__end_swap_bio_write", bio)
    with k.call("__end_swap_bio_write"):
        if bio.bi_status:
            ClearPageReclaim(folio)
        page_io._folio_end_writeback(k, folio)


def _write_sector_off_by_one_page(k: Kernel, folio: Folio) -> int:
    """``swap_folio_sector`` one page off for writes only."""
    sector = _real_sector(k, folio)
    return sector + 8 if "__swap_writepage" in k.ctx.chain else sector


def _zeromap_read_not_uptodate(k: Kernel, folio: Folio) -> bool:
    """``swap_read_folio_zeromap`` (page_io.c:511-539) forgetting folio_mark_uptodate."""
    if (folio.swap.type, folio.swap.offset) not in k.zeromap:
        return False
    k.count_vm_event(VmEvent612.SWPIN_ZERO)
    folio.data = bytes(0)
    return True


def _zswap_load_not_dirty(k: Kernel, folio: Folio) -> bool:
    """``zswap_load`` (mm/zswap.c:1585-1642) taking the entry over without dirtying."""
    pool = k.zswap
    if pool is None:
        return False
    key = (folio.swap.type, folio.swap.offset)
    data = pool.pop(key, None) if PageSwapCache(folio) else pool.get(key)
    if data is None:
        return False
    folio.data = data
    SetPageUptodate(folio)
    return True


PLANTED: dict[str, tuple[str, object, type[SwapIOMachine]]] = {
    "uptodate_after_unlock": ("__end_swap_bio_read", _uptodate_after_unlock, VirtioMachine612),
    "read_ignores_bi_status": ("__end_swap_bio_read", _read_ignores_bi_status,
                               VirtioMachine612),
    "read_missing_bio_put": ("end_swap_bio_read", _read_missing_bio_put, VirtioMachine612),
    "write_missing_bio_put": ("end_swap_bio_write", _write_missing_bio_put, VirtioMachine612),
    "write_error_not_redirtied": ("__end_swap_bio_write", _write_error_not_redirtied,
                                  VirtioMachine612),
    "write_to_wrong_sector": ("swap_folio_sector", _write_sector_off_by_one_page,
                              SwapIOMachine612),
    "zeromap_read_not_uptodate": ("swap_read_folio_zeromap", _zeromap_read_not_uptodate,
                                  SwapIOMachine612),
    "zswap_load_not_dirty": ("zswap_load", _zswap_load_not_dirty, SwapIOMachine612),
}


def _hunt(machine: type[SwapIOMachine]) -> None:
    run_state_machine_as_test(machine, settings=settings(  # type: ignore[no-untyped-call]
        settings.default, phases=[Phase.explicit, Phase.generate], database=None,
        report_multiple_bugs=False, print_blob=False))


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_6_12_machine_catches_planted_bug(bug: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name, replacement, machine = PLANTED[bug]
    monkeypatch.setattr(page_io, name, replacement)
    with pytest.raises((InvariantViolation, KernelBug)):
        _hunt(machine)


def test_unpatched_6_12_model_passes() -> None:
    """The same budget finds nothing in the 6.12 model as it is (so the tests above are real)."""
    _hunt(VirtioMachine612)
    _hunt(SwapIOMachine612)


def test_planted_functions_are_the_ones_the_model_calls() -> None:
    """Each patched name exists in kmodel.v6_12.mm.page_io (a rename would void the test)."""
    for name, _, _ in PLANTED.values():
        assert callable(getattr(page_io, name)), name
