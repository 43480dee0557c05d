"""Choosing the kernel version at Kernel/Machine creation."""

from __future__ import annotations

import pytest

from kmodel import DeterministicExecutor, Kernel, KmodelError, Machine
from kmodel.v6_12.mm import page_io as page_io_612
from kmodel.v6_12.mm import vmscan as vmscan_612
from kmodel.versions import KERNEL_VERSIONS, kernel_ops, running


def test_machine_runs_the_chosen_kernel() -> None:
    m = Machine(DeterministicExecutor(), kernel="6.12")
    assert m.k.version == "6.12"
    assert m.ops.release == KERNEL_VERSIONS["6.12"] == "6.12.118"
    assert m.ops.shrink_folio is vmscan_612.shrink_folio
    assert running(m.k).swap_write_unplug is page_io_612.swap_write_unplug
    assert Machine().k.version == "6.1" and kernel_ops("6.1").release == "6.1.176"


def test_an_unknown_version_is_a_clear_error() -> None:
    with pytest.raises(KmodelError, match=r"unknown kernel version '6\.6': expected one of 6\.1, 6\.12"):
        Machine(kernel="6.6")
    with pytest.raises(ValueError, match="version"):
        Kernel(DeterministicExecutor(), version="5.10")
