"""Branch-catalog IDs (``branches.md``) reached by a run, read off the model's trace events.

The model emits a :class:`~kmodel.kernel.ModelEvent` at each probe point; most branches
show in an event's name and arguments (``end_swap_bio_read`` with ``bi_status != 0`` is
ER-1), a few in its call chain. The mapping is deliberately conservative: an ID is only
reported where the event proves the branch ran.
"""

from __future__ import annotations

from kmodel.include.linux.mm import VmFault
from kmodel.kernel import ModelEvent

# Plain ints: ``int & VmFault`` would run enum's Python code on every fault.
_SIGBUS = int(VmFault.VM_FAULT_SIGBUS)
_RETRY = int(VmFault.VM_FAULT_RETRY)
_OOM = int(VmFault.VM_FAULT_OOM)
_MAJOR = int(VmFault.VM_FAULT_MAJOR)
_FAULT_ERRORS = _SIGBUS | _OOM | _RETRY


def _int(ev: ModelEvent, key: str) -> int:
    value = ev.arg(key)
    return value if isinstance(value, int) else 0


def fault_return_branches(ret: int) -> set[str]:
    """The ``do_swap_page`` IDs a fault's return value proves (the same IDs in both catalogs)."""
    ids = set()
    ret = int(ret)
    if ret & _SIGBUS:
        ids.add("DS-7")
    if ret & _RETRY:
        ids.add("DS-5")
    if ret & _OOM:
        ids.add("DS-3")
    if ret & _MAJOR:
        ids.add("DS-4")
        if not ret & _FAULT_ERRORS:
            ids.add("DS-8")
    return ids


#: The event names :func:`branches_of` maps to IDs (any other name proves none).
BRANCH_EVENTS = frozenset((
    "end_swap_bio_write", "end_swap_bio_read", "__swap_writepage", "bdev_write_page_ret",
    "bdev_read_page_ret", "swap_readpage", "swap_cluster_readahead", "swapin_readahead",
    "do_swap_page_ret", "block_rq_error", "console", "end_page_writeback",
    "mm_vmscan_write_folio",
))  # fmt: skip


def branches_of(ev: ModelEvent) -> set[str]:
    """The catalog IDs one event proves were executed (none unless its name is in
    :data:`BRANCH_EVENTS`)."""
    name = ev.name
    if name == "end_swap_bio_write":
        return {"EW-1" if _int(ev, "bi_status") else "EW-2", "EW-3", "BIO-2", "WP-4"}
    if name == "end_swap_bio_read":
        ids = {"ER-1" if _int(ev, "bi_status") else "ER-2", "ER-3", "BIO-2", "RD-7", "RD-10"}
        if _int(ev, "waiter"):
            ids |= {"ER-4", "RD-8", "RD-11"}
        else:
            ids |= {"ER-5", "RD-9"}
        return ids
    if name == "__swap_writepage":
        return {"SW-4", "WP-1"}
    if name == "bdev_write_page_ret" and _int(ev, "ret") == 0:
        return {"WP-3", "CS-2"}
    if name == "bdev_read_page_ret":
        return {"RD-5"} if _int(ev, "ret") == 0 else {"RD-6"}
    if name == "swap_readpage":
        ids = {"RD-1", "RA-5"} if "swapin_readahead" in ev.chain else {"RD-1", "DS-1"}
        if "swap_cluster_readahead" in ev.chain and not _int(ev, "synchronous"):
            ids.add("CR-3")
        return ids
    if name == "swap_cluster_readahead":
        return {"CR-4"}
    if name == "swapin_readahead":
        return {"DS-2", "CR-5"}
    if name == "do_swap_page_ret":
        return fault_return_branches(_int(ev, "ret"))
    if name == "block_rq_error":
        return {"DEV-1"}
    if name == "console":
        msg = str(ev.arg("msg"))
        if msg.startswith("FAULT_INJECTION"):
            return {"FI-1", "FI-2"}
        if "callbacks suppressed" in msg:
            return {"PR-1"}
        return set()
    if name == "end_page_writeback":
        return {"FM-3"}
    if name == "mm_vmscan_write_folio":
        return {"PO-1", "CS-2"}
    return set()
