"""kmodel: an executable, typed reference model of the Linux 6.1.176 swap I/O path.

Everything public is importable from here::

    from kmodel import Machine, DeterministicExecutor, swap_readpage, end_swap_bio_read
"""

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
from kmodel.include.linux.sched import Task, TaskState, get_task_struct, put_task_struct
from kmodel.include.linux.swap import SwapExtent, SwapInfo, SwpFlags
from kmodel.include.linux.writeback import WbSyncMode, WritebackControl
from kmodel.kernel import KERNEL_VERSION, Kernel, ModelEvent
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
from kmodel.trace import (
    CheckReport,
    Divergence,
    LostEvents,
    TraceEvent,
    TraceHeader,
    check_trace,
    format_event,
    parse_trace,
    read_header,
    write_trace,
)

__version__ = "0.1.0"

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
    "count_swpout_vm_event",
    "decode_page_flags",
    "do_swap_page",
    "do_user_addr_fault",
    "end_page_writeback",
    "end_swap_bio_read",
    "end_swap_bio_write",
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
