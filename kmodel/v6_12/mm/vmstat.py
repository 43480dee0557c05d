"""The vm events 6.12's swap path counts that 6.1 has not.

Linux 6.12.118 include/linux/vm_event_item.h:130-150 (SWPIN_ZERO, SWPOUT_ZERO, ZSWPIN,
ZSWPOUT). The events both kernels count stay in :class:`kmodel.mm.vmstat.VmEvent`;
``k.vm_events`` counts both kinds.
"""

from __future__ import annotations

import enum


class VmEvent612(enum.Enum):
    """6.12-only ``enum vm_event_item`` members, valued by their /proc/vmstat names."""

    SWPIN_ZERO = "swpin_zero"
    SWPOUT_ZERO = "swpout_zero"
    ZSWPIN = "zswpin"
    ZSWPOUT = "zswpout"
