"""Frontswap: a store in front of the swap device (zswap when enabled).

Linux 6.1.176 include/linux/frontswap.h:63-78 (frontswap_store, frontswap_load),
mm/frontswap.c:163-240 (__frontswap_store, __frontswap_load). Debian's build
has CONFIG_FRONTSWAP on and zswap off by default: with no backend both return -1.
The model's backend is a dict in ``k.frontswap`` (None: no backend registered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel


def frontswap_store(k: Kernel, folio: Folio) -> int:
    """Store the page in the backend: 0 on success, -1 to fall through to the device."""
    if k.frontswap is None or k.frontswap_store_fail:
        return -1
    entry = folio.swap
    k.frontswap[(entry.type, entry.offset)] = folio.data or b""
    return 0


def frontswap_load(k: Kernel, folio: Folio) -> int:
    """Load the page from the backend: 0 if it held it, -1 otherwise."""
    if k.frontswap is None:
        return -1
    entry = folio.swap
    data = k.frontswap.get((entry.type, entry.offset))
    if data is None:
        return -1
    folio.data = data
    return 0
