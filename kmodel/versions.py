"""The kernel versions kmodel models, and each one's entry points for the drivers.

No kernel counterpart: :class:`~kmodel.sim.Machine` (and anything else that acts as user
space or reclaim) picks the fault entry and the reclaim pass of the kernel it runs, so
one machine, one executor set and one testing harness serve both kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from kmodel.errors import KmodelError

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel
    from kmodel.mm.page_io import SwapIocb, SwapPlug
    from kmodel.mm.vmscan import ReclaimResult

#: Short version -> the Debian kernel release it models.
KERNEL_VERSIONS = {"6.1": "6.1.176", "6.12": "6.12.118"}


@attrs.frozen
class KernelOps:
    """The version-specific functions a driver calls."""

    release: str
    do_user_addr_fault: Callable[..., int]
    shrink_folio: Callable[[Kernel, Folio, SwapPlug | None], ReclaimResult]
    swap_write_unplug: Callable[[Kernel, SwapIocb], None]


def check_version(version: str) -> str:
    """``version`` if kmodel models it, else a clear error naming the choices."""
    if version not in KERNEL_VERSIONS:
        raise KmodelError(
            f"unknown kernel version {version!r}: expected one of {', '.join(KERNEL_VERSIONS)}"
        )
    return version


def kernel_ops(version: str) -> KernelOps:
    """The entry points of one kernel version ("6.1" or "6.12")."""
    if check_version(version) == "6.12":
        from kmodel.v6_12.arch.x86.mm import fault as fault_612
        from kmodel.v6_12.mm import page_io as page_io_612
        from kmodel.v6_12.mm import vmscan as vmscan_612

        return KernelOps(KERNEL_VERSIONS[version], fault_612.do_user_addr_fault,
                         vmscan_612.shrink_folio, page_io_612.swap_write_unplug)
    from kmodel.arch.x86.mm import fault as fault_61
    from kmodel.mm import page_io as page_io_61
    from kmodel.mm import vmscan as vmscan_61

    return KernelOps(KERNEL_VERSIONS[version], fault_61.do_user_addr_fault,
                     vmscan_61.shrink_folio, page_io_61.swap_write_unplug)


def running(k: Kernel) -> KernelOps:
    """The entry points of the kernel ``k`` is."""
    return kernel_ops(k.version)

