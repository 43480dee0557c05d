"""zswap's hooks in the swap path: store on swap-out, load on swap-in.

Linux 6.12.118 mm/zswap.c:1459-1583 (zswap_store), 1585-1642 (zswap_load).
6.12 calls zswap directly (6.1 went through frontswap). The pool is ``k.zswap``, a dict
of (type, offset) -> contents; ``None`` is Debian 13's default (CONFIG_ZSWAP=y,
ZSWAP_DEFAULT_ON off: never enabled). Compression, the zpool, limits, the shrinker and
memcg charging are not modelled: ``k.zswap_store_fail`` stands for any rejection;
neither are ``zswap_folio_swapin`` (a counter only the shrinker reads) and
``zswap_invalidate`` on slot free (a reused slot's entry is replaced or erased by the
next ``zswap_store``, and a zeromap slot is read from the zeromap first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmodel.include.linux.page_flags import PageSwapCache, SetPageUptodate
from kmodel.mm.page_writeback import folio_mark_dirty
from kmodel.v6_12.mm.vmstat import VmEvent612

if TYPE_CHECKING:
    from kmodel.include.linux.mm_types import Folio
    from kmodel.kernel import Kernel


def zswap_store(k: Kernel, folio: Folio) -> bool:
    """Compress the folio into the pool: true if stored (ZS-1..ZS-4).

    Linux 6.12.118 mm/zswap.c:1459-1583.
    """
    k.trace("zswap_store", folio=folio.addr, pflags=folio.flags, entry=folio.private)
    ret = _zswap_store(k, folio)
    k.trace("zswap_store_ret", ret=int(ret))
    return ret


def _zswap_store(k: Kernel, folio: Folio) -> bool:
    entry = folio.swap
    key = (entry.type, entry.offset)
    if folio.nr_pages > 1:  # ZS-4: folio_test_large
        return False
    pool = k.zswap
    if pool is None:  # ZS-1: !zswap_enabled, and never was: no tree to check
        return False
    if k.zswap_store_fail:  # ZS-2: reject, then check_old drops a stale copy of the slot
        pool.pop(key, None)
        return False
    pool[key] = folio.data or b""  # ZS-3: xa_store replaces (and frees) an old entry
    k.count_vm_event(VmEvent612.ZSWPOUT)
    return True


def zswap_load(k: Kernel, folio: Folio) -> bool:
    """Fill the folio from the pool: true if zswap had the slot (ZL-1..ZL-4).

    Linux 6.12.118 mm/zswap.c:1585-1642. A swap cache folio takes the entry over (it is
    erased and the folio dirtied); a private folio (the SWP_SYNCHRONOUS_IO fault) leaves
    it in the pool.
    """
    k.trace("zswap_load", folio=folio.addr, pflags=folio.flags, entry=folio.private)
    ret = _zswap_load(k, folio)
    k.trace("zswap_load_ret", ret=int(ret))
    return ret


def _zswap_load(k: Kernel, folio: Folio) -> bool:
    entry = folio.swap
    key = (entry.type, entry.offset)
    pool = k.zswap
    if pool is None:  # ZL-1: zswap_never_enabled() (mm/zswap.c:135-138)
        return False
    swapcache = PageSwapCache(folio)
    data = pool.pop(key, None) if swapcache else pool.get(key)
    if data is None:  # ZL-2
        return False
    folio.data = data  # zswap_decompress
    k.count_vm_event(VmEvent612.ZSWPIN)
    if swapcache:  # ZL-3
        folio_mark_dirty(k, folio)
    # ZL-4: a private folio leaves the entry in the pool.
    SetPageUptodate(folio)
    return True
