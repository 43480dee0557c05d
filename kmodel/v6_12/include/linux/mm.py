"""The fault flag 6.12 added to ``enum fault_flag``.

Linux 6.12.118 include/linux/mm_types.h:1435-1450 (enum fault_flag): the flags below
bit 12 are 6.1's (:class:`kmodel.include.linux.mm.FaultFlag`); ``FAULT_FLAG_VMA_LOCK``
marks a fault handled under the per-VMA lock instead of ``mmap_lock``.
"""

from __future__ import annotations

FAULT_FLAG_VMA_LOCK = 1 << 12
