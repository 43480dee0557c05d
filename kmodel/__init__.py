"""kmodel: an executable, typed reference model of the Linux 6.1.176 swap I/O path.

Everything public is importable from here::

    from kmodel import Machine, DeterministicExecutor, swap_readpage, end_swap_bio_read

Names are imported on first use (PEP 562 ``__getattr__``), so that ``import kmodel`` and the
``kmodel`` command load only the layers they use: ``kmodel --version`` none, ``kmodel check``
the checker and the model, never the capture harness or Hypothesis.
"""

from __future__ import annotations

import importlib

# Not ``from typing import TYPE_CHECKING``: importing typing costs ~3 ms of
# ``kmodel --version`` in an installed kmodel; type checkers treat this name alike.
TYPE_CHECKING = False

#: The kernel release this model follows (Debian 12's ``linux-source-6.1``).
KERNEL_VERSION = "6.1.176"
__version__ = "0.1.0"

if TYPE_CHECKING:
    from kmodel.arch.x86.mm.fault import do_user_addr_fault, force_sig_fault
    from kmodel.block.bdev import BadRange, BlockDevice, bdev_read_page, bdev_write_page
    from kmodel.block.bio import bio_add_page, bio_alloc, bio_endio, bio_get, bio_put
    from kmodel.block.blk_core import (
        BlkPlug,
        Request,
        blk_finish_plug,
        blk_io_schedule,
        blk_start_plug,
        should_fail_bio,
        submit_bio,
        submit_bio_noacct,
    )
    from kmodel.errors import KernelBug, KmodelError, TraceFormatError
    from kmodel.executor import (
        Deadlock,
        DeterministicExecutor,
        Executor,
        InlineExecutor,
        PendingIO,
        ThreadedExecutor,
    )
    from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, REQ_SWAP, Bio, BlkStatus
    from kmodel.include.linux.mm import FaultFlag, VMFault, VmFault
    from kmodel.include.linux.mm_types import Folio, MMStruct, SwapEntry, VMArea
    from kmodel.include.linux.page_flags import PageFlags, decode_page_flags
    from kmodel.include.linux.sched import (
        SignalStruct,
        Task,
        TaskState,
        fatal_signal_pending,
        get_task_struct,
        put_task_struct,
    )
    from kmodel.include.linux.swap import SwapExtent, SwapInfo, SwpFlags
    from kmodel.include.linux.writeback import WbSyncMode, WritebackControl
    from kmodel.kernel import Kernel, ModelEvent
    from kmodel.kernel.signal import complete_signal, send_signal_locked
    from kmodel.lib.fault_inject import FaultAttr, should_fail, should_fail_ex
    from kmodel.lib.ratelimit import RatelimitState, pr_alert_ratelimited
    from kmodel.mm.filemap import (
        end_page_writeback,
        folio_end_writeback,
        folio_lock,
        folio_lock_or_retry,
        folio_unlock,
        folio_wait_bit_common,
        folio_wake_bit,
        page_endio,
    )
    from kmodel.mm.memory import do_swap_page, handle_mm_fault
    from kmodel.mm.page_io import (
        SwapFileInode,
        SwapIocb,
        __swap_read_unplug,
        __swap_writepage,
        count_swpout_vm_event,
        end_swap_bio_read,
        end_swap_bio_write,
        generic_swapfile_activate,
        sio_read_complete,
        sio_write_complete,
        swap_read_unplug,
        swap_readpage,
        swap_write_unplug,
        swap_writepage,
    )
    from kmodel.mm.swap_state import (
        __read_swap_cache_async,
        read_swap_cache_async,
        swap_cluster_readahead,
        swapin_readahead,
    )
    from kmodel.mm.swapfile import folio_free_swap, swap_page_sector, swapon
    from kmodel.mm.vmscan import PageoutT, pageout
    from kmodel.mm.vmstat import VmEvent
    from kmodel.sim import Machine, make_disk
    from kmodel.trace.check import check_trace
    from kmodel.trace.emit import format_event, write_trace
    from kmodel.trace.events import LostEvents, TraceEvent, TraceHeader
    from kmodel.trace.parse import parse_trace, read_header
    from kmodel.trace.report import CheckReport, Divergence

#: Where each public name is defined: imported from there on first use. The
#: ``TYPE_CHECKING`` imports above say the same to type checkers (tests/test_api.py checks
#: that the two agree).
_EXPORTS: dict[str, str] = {
    name: module
    for module, names in (
        ("kmodel.arch.x86.mm.fault", "do_user_addr_fault force_sig_fault"),
        ("kmodel.block.bdev", "BadRange BlockDevice bdev_read_page bdev_write_page"),
        ("kmodel.block.bio", "bio_add_page bio_alloc bio_endio bio_get bio_put"),
        ("kmodel.block.blk_core", "BlkPlug Request blk_finish_plug blk_io_schedule "
         "blk_start_plug should_fail_bio submit_bio submit_bio_noacct"),
        ("kmodel.errors", "KernelBug KmodelError TraceFormatError"),
        ("kmodel.executor", "Deadlock DeterministicExecutor Executor InlineExecutor PendingIO "
         "ThreadedExecutor"),
        ("kmodel.include.linux.blk_types", "REQ_OP_READ REQ_OP_WRITE REQ_SWAP Bio BlkStatus"),
        ("kmodel.include.linux.mm", "FaultFlag VMFault VmFault"),
        ("kmodel.include.linux.mm_types", "Folio MMStruct SwapEntry VMArea"),
        ("kmodel.include.linux.page_flags", "PageFlags decode_page_flags"),
        ("kmodel.include.linux.sched", "SignalStruct Task TaskState fatal_signal_pending "
         "get_task_struct put_task_struct"),
        ("kmodel.include.linux.swap", "SwapExtent SwapInfo SwpFlags"),
        ("kmodel.include.linux.writeback", "WbSyncMode WritebackControl"),
        ("kmodel.kernel", "Kernel ModelEvent"),
        ("kmodel.kernel.signal", "complete_signal send_signal_locked"),
        ("kmodel.lib.fault_inject", "FaultAttr should_fail should_fail_ex"),
        ("kmodel.lib.ratelimit", "RatelimitState pr_alert_ratelimited"),
        ("kmodel.mm.filemap", "end_page_writeback folio_end_writeback folio_lock "
         "folio_lock_or_retry folio_unlock folio_wait_bit_common folio_wake_bit page_endio"),
        ("kmodel.mm.memory", "do_swap_page handle_mm_fault"),
        ("kmodel.mm.page_io", "SwapFileInode SwapIocb __swap_read_unplug __swap_writepage "
         "count_swpout_vm_event end_swap_bio_read end_swap_bio_write "
         "generic_swapfile_activate sio_read_complete sio_write_complete swap_read_unplug "
         "swap_readpage swap_write_unplug swap_writepage"),
        ("kmodel.mm.swap_state", "__read_swap_cache_async read_swap_cache_async "
         "swap_cluster_readahead swapin_readahead"),
        ("kmodel.mm.swapfile", "folio_free_swap swap_page_sector swapon"),
        ("kmodel.mm.vmscan", "PageoutT pageout"),
        ("kmodel.mm.vmstat", "VmEvent"),
        ("kmodel.sim", "Machine make_disk"),
        ("kmodel.trace.check", "check_trace"),
        ("kmodel.trace.emit", "format_event write_trace"),
        ("kmodel.trace.events", "LostEvents TraceEvent TraceHeader"),
        ("kmodel.trace.parse", "parse_trace read_header"),
        ("kmodel.trace.report", "CheckReport Divergence"),
    )
    for name in names.split()
}


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use (then it is a plain global)."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'kmodel' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "KERNEL_VERSION",
    "REQ_OP_READ",
    "REQ_OP_WRITE",
    "REQ_SWAP",
    "BadRange",
    "Bio",
    "BlkPlug",
    "BlkStatus",
    "BlockDevice",
    "CheckReport",
    "Deadlock",
    "DeterministicExecutor",
    "Divergence",
    "Executor",
    "FaultAttr",
    "FaultFlag",
    "Folio",
    "InlineExecutor",
    "Kernel",
    "KernelBug",
    "KmodelError",
    "LostEvents",
    "MMStruct",
    "Machine",
    "ModelEvent",
    "PageFlags",
    "PageoutT",
    "PendingIO",
    "RatelimitState",
    "Request",
    "SignalStruct",
    "SwapEntry",
    "SwapExtent",
    "SwapFileInode",
    "SwapInfo",
    "SwapIocb",
    "SwpFlags",
    "Task",
    "TaskState",
    "ThreadedExecutor",
    "TraceEvent",
    "TraceFormatError",
    "TraceHeader",
    "VMArea",
    "VMFault",
    "VmEvent",
    "VmFault",
    "WbSyncMode",
    "WritebackControl",
    "__read_swap_cache_async",
    "__swap_read_unplug",
    "__swap_writepage",
    "__version__",
    "bdev_read_page",
    "bdev_write_page",
    "bio_add_page",
    "bio_alloc",
    "bio_endio",
    "bio_get",
    "bio_put",
    "blk_finish_plug",
    "blk_io_schedule",
    "blk_start_plug",
    "check_trace",
    "complete_signal",
    "count_swpout_vm_event",
    "decode_page_flags",
    "do_swap_page",
    "do_user_addr_fault",
    "end_page_writeback",
    "end_swap_bio_read",
    "end_swap_bio_write",
    "fatal_signal_pending",
    "folio_end_writeback",
    "folio_free_swap",
    "folio_lock",
    "folio_lock_or_retry",
    "folio_unlock",
    "folio_wait_bit_common",
    "folio_wake_bit",
    "force_sig_fault",
    "format_event",
    "generic_swapfile_activate",
    "get_task_struct",
    "handle_mm_fault",
    "make_disk",
    "page_endio",
    "pageout",
    "parse_trace",
    "pr_alert_ratelimited",
    "put_task_struct",
    "read_header",
    "read_swap_cache_async",
    "send_signal_locked",
    "should_fail",
    "should_fail_bio",
    "should_fail_ex",
    "sio_read_complete",
    "sio_write_complete",
    "submit_bio",
    "submit_bio_noacct",
    "swap_cluster_readahead",
    "swap_page_sector",
    "swap_read_unplug",
    "swap_readpage",
    "swap_write_unplug",
    "swap_writepage",
    "swapin_readahead",
    "swapon",
    "write_trace",
]
