"""The ``vm_event_item`` counters the swap path touches.

Linux 6.1.176 include/linux/vm_event_item.h:32-150, names as in /proc/vmstat
(mm/vmstat.c:1250-1400).
"""

from __future__ import annotations

import enum


class VmEvent(enum.Enum):
    """``enum vm_event_item`` members, valued by their /proc/vmstat names."""

    PSWPIN = "pswpin"
    PSWPOUT = "pswpout"
    PGMAJFAULT = "pgmajfault"
    PGPGIN = "pgpgin"
    PGPGOUT = "pgpgout"
    SWAP_RA = "swap_ra"
    SWAP_RA_HIT = "swap_ra_hit"
    THP_SWPOUT = "thp_swpout"
