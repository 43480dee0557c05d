"""The machines catch planted bugs: each test breaks one kernel rule and expects a failure.

Each bug is a copy of a model function with one change, patched where the model looks it
up: ``_swap_readpage`` and ``_swap_writepage_body`` read ``end_swap_bio_read``,
``end_swap_bio_write`` and ``swap_page_sector`` from ``kmodel.mm.page_io``'s globals when
they set up a bio, so that is the module to patch. Shrinking is off: the point is that the
``ci`` budget (its ``max_examples`` and ``stateful_step_count``) finds the bug at all.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kmodel.block.bio import bio_put
from kmodel.errors import KernelBug
from kmodel.include.linux.blk_types import REQ_OP_READ, Bio
from kmodel.include.linux.mm_types import Folio
from kmodel.include.linux.page_flags import (
    ClearPageReclaim,
    ClearPageUptodate,
    SetPageError,
    SetPageUptodate,
)
from kmodel.include.linux.sched import put_task_struct
from kmodel.kernel import Kernel
from kmodel.mm import page_io
from kmodel.mm.filemap import end_page_writeback, unlock_page
from kmodel.mm.page_writeback import set_page_dirty
from kmodel.testing import InvariantViolation, SwapIOMachine, VirtioMachine, machine_for

EndIO = Callable[[Kernel, Bio], None]


def _read_end(*, uptodate_after_unlock: bool = False, put: bool = True,
              wake_first: bool = False, ignore_status: bool = False) -> EndIO:
    """``end_swap_bio_read`` (page_io.c:55-78) with one of its steps broken."""

    def end_swap_bio_read(k: Kernel, bio: Bio) -> None:
        page = bio.page
        assert page is not None
        waiter = bio.bi_private
        k.trace("end_swap_bio_read", bio=bio.addr, bi_status=int(bio.bi_status),
                waiter=page_io._task_addr(waiter), page=page.addr)
        with k.call("end_swap_bio_read"):
            failed = bool(bio.bi_status) and not ignore_status
            if failed:
                SetPageError(page)
                ClearPageUptodate(page)
            elif not uptodate_after_unlock:
                SetPageUptodate(page)
            unlock_page(k, page)
            if uptodate_after_unlock and not failed:
                SetPageUptodate(page)
            if wake_first and waiter is not None:
                page_io.blk_wake_io_task(k, waiter)
            bio.bi_private = None
            if put:
                bio_put(k, bio)
            if waiter is not None:
                if not wake_first:
                    page_io.blk_wake_io_task(k, waiter)
                put_task_struct(waiter)

    return end_swap_bio_read


def _write_end(*, redirty: bool = True, put: bool = True) -> EndIO:
    """``end_swap_bio_write`` (page_io.c:31-53) with one of its steps broken."""

    def end_swap_bio_write(k: Kernel, bio: Bio) -> None:
        page = bio.page
        assert page is not None
        k.trace("end_swap_bio_write", bio=bio.addr, bi_status=int(bio.bi_status),
                page=page.addr)
        with k.call("end_swap_bio_write"):
            if bio.bi_status:
                SetPageError(page)
                if redirty:
                    set_page_dirty(k, page)
                ClearPageReclaim(page)
            end_page_writeback(k, page)
            if put:
                bio_put(k, bio)

    return end_swap_bio_write


def _write_sector_off_by_one_page(k: Kernel, folio: Folio) -> int:
    """``swap_page_sector`` that is one page off for writes only."""
    sector = _real_swap_page_sector(k, folio)
    return sector + 8 if "__swap_writepage" in k.ctx.chain else sector


_real_swap_page_sector = page_io.swap_page_sector  # type: ignore[attr-defined]

PLANTED: dict[str, tuple[str, object]] = {
    "uptodate_after_unlock": ("end_swap_bio_read", _read_end(uptodate_after_unlock=True)),
    "read_missing_bio_put": ("end_swap_bio_read", _read_end(put=False)),
    "wake_before_clearing_bi_private": ("end_swap_bio_read", _read_end(wake_first=True)),
    "read_ignores_bi_status": ("end_swap_bio_read", _read_end(ignore_status=True)),
    "write_error_not_redirtied": ("end_swap_bio_write", _write_end(redirty=False)),
    "write_missing_bio_put": ("end_swap_bio_write", _write_end(put=False)),
    "write_to_wrong_sector": ("swap_page_sector", _write_sector_off_by_one_page),
}


def _hunt(machine: type[SwapIOMachine]) -> None:
    run_state_machine_as_test(machine, settings=settings(  # type: ignore[no-untyped-call]
        settings.default, phases=[Phase.explicit, Phase.generate], database=None,
        report_multiple_bugs=False, print_blob=False))


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_machine_catches_planted_bug(bug: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name, replacement = PLANTED[bug]
    monkeypatch.setattr(page_io, name, replacement)
    with pytest.raises((InvariantViolation, KernelBug)):
        _hunt(VirtioMachine)


def test_sync_disk_machine_catches_read_ignoring_bi_status_on_zram(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """zram's failed rw_page read falls back to a bio, which reaches end_swap_bio_read."""
    monkeypatch.setattr(page_io, "end_swap_bio_read", _read_end(ignore_status=True))

    class ZramReadErrors(machine_for("zram")):  # type: ignore[misc]
        rw_page_bad_ops = {"zram": (REQ_OP_READ,)}  # noqa: RUF012

    with pytest.raises((InvariantViolation, KernelBug)):
        _hunt(ZramReadErrors)


def test_unpatched_model_passes() -> None:
    """The same budget finds nothing in the model as it is (so the tests above are real)."""
    _hunt(VirtioMachine)
