"""6.12's page-flag numbering, and 6.12 traces carrying it."""

from __future__ import annotations

import pytest

from kmodel import KernelBug, PageFlags
from kmodel.v6_12.include.linux.page_flags import (
    PageFlags612,
    decode_page_flags_6_12,
    kernel_page_flags,
    model_page_flags,
)
from tests.v6_12.helpers import machine


def test_bits_follow_6_12s_enum_pageflags() -> None:
    assert PageFlags612.PG_writeback == 1 << 1
    assert PageFlags612.PG_uptodate == 1 << 3
    assert PageFlags612.PG_swapbacked == 1 << 17
    assert PageFlags612.PG_swapcache == PageFlags612.PG_owner_priv_1 == 1 << 10
    assert "PG_error" not in PageFlags612.__members__


def test_a_locked_swap_cache_page_is_20501_on_6_12_and_80401_on_6_1() -> None:
    flags = PageFlags.PG_locked | PageFlags.PG_swapcache | PageFlags.PG_swapbacked
    assert int(flags) == 0x80401
    assert kernel_page_flags(flags | PageFlags.PG_active) == 0x20501
    assert model_page_flags(0xFFFFC0000020501) == flags | PageFlags.PG_active  # zone bits
    assert decode_page_flags_6_12(0x20509) == "locked|uptodate|active|swapcache|swapbacked"
    assert decode_page_flags_6_12(0) == "0"


def test_every_shared_flag_round_trips() -> None:
    for name, flag in PageFlags.__members__.items():
        if name in ("PG_error", "PG_slab") or name not in PageFlags612.__members__:
            continue
        assert model_page_flags(kernel_page_flags(flag)) == flag, name
        assert kernel_page_flags(flag) == PageFlags612[name], name


def test_pg_error_cannot_leave_a_6_12_model() -> None:
    with pytest.raises(KernelBug, match="no PG_error"):
        kernel_page_flags(PageFlags.PG_error)


def test_6_12_trace_events_carry_6_12_bits() -> None:
    m, addr, rec = machine(1)
    m.reclaim()
    (write,) = rec.of("swap_writepage")
    # locked, uptodate, swapcache, swapbacked (6.12: bits 0, 3, 10, 17); dirty cleared.
    assert int(write.arg("pflags")) & 0x20409 == 0x20409
    assert decode_page_flags_6_12(int(write.arg("pflags"))).startswith("locked|uptodate")
