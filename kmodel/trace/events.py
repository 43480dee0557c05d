"""Trace values: one parsed ftrace line (`TraceEvent`), lost-event markers, the file header.

The event vocabulary (`EVENT_ARGS`) lists the args every known event carries, in print order.
Kprobe events from the capture harness (`p:kt/...` and `r64:kt/..._ret`) print
`(func+0x0/0xa0) key=value...` and `(caller+off/size <- callee) key=value...`; tracepoints use
the kernel's print formats (Linux 6.1.176 include/trace/events/block.h, signal.h, vmscan.h,
printk.h).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from kmodel.errors import TraceFormatError

__all__ = [
    "BLOCK_EVENTS",
    "EVENT_ARGS",
    "KPROBE_KEYS",
    "KRETPROBE_KEYS",
    "LostEvents",
    "TaskContext",
    "TraceEvent",
    "TraceHeader",
]

#: Args keys the parser adds for a kprobe hit: the `(func+0x0/0xa0)` text without parentheses.
KPROBE_KEYS = ("probe",)
#: Args keys the parser adds for a kretprobe hit `(caller+0xd1/0x250 <- callee)`: caller symbol
#: (or `[unknown/kretprobe'd]`), its `0xd1/0x250` offset ("" when none), the probed function.
KRETPROBE_KEYS = ("caller", "caller_offset", "callee")

_DEV = ("dev", "major", "minor", "rwbs")

#: Block tracepoints by print format (include/trace/events/block.h), with their args keys.
BLOCK_EVENTS: Mapping[str, tuple[str, ...]] = {
    # "%d,%d %s %llu + %u [%s]"  (class block_bio, and block_getrq)
    "block_bio_queue": (*_DEV, "sector", "nr_sector", "comm"),
    "block_bio_backmerge": (*_DEV, "sector", "nr_sector", "comm"),
    "block_bio_frontmerge": (*_DEV, "sector", "nr_sector", "comm"),
    "block_bio_bounce": (*_DEV, "sector", "nr_sector", "comm"),
    "block_getrq": (*_DEV, "sector", "nr_sector", "comm"),
    # "%d,%d %s %llu + %u <- (%d,%d) %llu"
    "block_bio_remap": (
        *_DEV,
        "sector",
        "nr_sector",
        "old_dev",
        "old_major",
        "old_minor",
        "old_sector",
    ),
    # "%d,%d %s %u (%s) %llu + %u [%s]"  (class block_rq)
    "block_rq_issue": (*_DEV, "bytes", "cmd", "sector", "nr_sector", "comm"),
    "block_rq_insert": (*_DEV, "bytes", "cmd", "sector", "nr_sector", "comm"),
    "block_rq_merge": (*_DEV, "bytes", "cmd", "sector", "nr_sector", "comm"),
    # "%d,%d %s (%s) %llu + %u [%d]"  (class block_rq_completion, and block_rq_requeue)
    "block_rq_complete": (*_DEV, "cmd", "sector", "nr_sector", "error"),
    "block_rq_error": (*_DEV, "cmd", "sector", "nr_sector", "error"),
    "block_rq_requeue": (*_DEV, "cmd", "sector", "nr_sector", "error"),
    # "%d,%d %s %llu + %u [%d]"
    "block_bio_complete": (*_DEV, "sector", "nr_sector", "error"),
    # "%d,%d %s %llu / %llu [%s]"
    "block_split": (*_DEV, "sector", "new_sector", "comm"),
}


def _kprobe(*keys: str) -> tuple[str, ...]:
    return (*KPROBE_KEYS, *keys)


def _kretprobe(*keys: str) -> tuple[str, ...]:
    return (*KRETPROBE_KEYS, *keys)


#: Every known event and its args keys in print order. A known event whose args differ is a
#: `TraceFormatError`; other events are parsed generically (the consumer decides).
#: The kprobes are those of the capture harness (../shared/kernel/probes.txt).
EVENT_ARGS: Mapping[str, tuple[str, ...]] = {
    "do_swap_page": _kprobe("vmf", "address", "fault_flags", "orig_pte"),
    "do_swap_page_ret": _kretprobe("ret"),
    "swapin_readahead": _kprobe("entry", "gfp", "vmf"),
    "swapin_readahead_ret": _kretprobe("page"),
    "swap_cluster_readahead": _kprobe("entry", "gfp", "vmf"),
    "swap_cluster_readahead_ret": _kretprobe("page"),
    "read_swap_cache_async": _kprobe("entry", "gfp", "vma", "addr", "do_poll", "plug"),
    "read_swap_cache_async_ret": _kretprobe("page"),
    "__read_swap_cache_async": _kprobe("entry", "gfp", "vma", "addr"),
    "__read_swap_cache_async_ret": _kretprobe("page"),
    "swap_readpage": _kprobe("page", "synchronous", "plug", "pflags", "entry"),
    "swap_readpage_ret": _kretprobe("ret"),
    "swap_writepage": _kprobe("page", "wbc", "pflags", "entry", "sync_mode", "wbc_bits"),
    "swap_writepage_ret": _kretprobe("ret"),
    "__swap_writepage": _kprobe("page", "wbc", "pflags", "entry"),
    "__swap_writepage_ret": _kretprobe("ret"),
    "end_swap_bio_write": _kprobe(
        "bio", "bi_status", "sector", "size", "opf", "dev", "page", "pflags"
    ),
    "end_swap_bio_read": _kprobe(
        "bio", "bi_status", "sector", "size", "opf", "dev", "waiter", "page", "pflags"
    ),
    "end_page_writeback": _kprobe("page", "pflags", "entry"),
    "bdev_read_page": _kprobe("bdev", "sector", "page", "dev"),
    "bdev_read_page_ret": _kretprobe("ret"),
    "bdev_write_page": _kprobe("bdev", "sector", "page", "dev"),
    "bdev_write_page_ret": _kretprobe("ret"),
    # include/trace/events/signal.h: "sig=%d errno=%d code=%d comm=%s pid=%d grp=%d res=%d"
    "signal_generate": ("sig", "errno", "code", "comm", "pid", "grp", "res"),
    # include/trace/events/vmscan.h: "page=%p pfn=0x%lx flags=%s"
    "mm_vmscan_write_folio": ("page", "pfn", "flags"),
    # include/trace/events/printk.h: "%s", the message without its newline
    "console": ("msg",),
    **BLOCK_EVENTS,
}


@attrs.frozen
class TaskContext:
    """Who and where an event ran: the columns before the timestamp.

    `comm-pid (tgid) [cpu] flags`; shared by all events of a trace with the same columns.
    """

    comm: str
    pid: int
    tgid: int | None  # None: tracefs printed (-------), or the format has no tgid column
    cpu: int
    flags: str = ""  # irqs-off, need-resched, hardirq/softirq, preempt, migrate; "" if absent
    #: The flags' hardirq/softirq column says softirq (`s`, or `H`: hardirq in softirq).
    in_softirq: bool = attrs.field(init=False, eq=False, repr=False)
    #: The flags' hardirq/softirq column says hardirq (`h`, `H`, or `Z`: NMI in hardirq).
    in_hardirq: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        """Decode the flags once per context: Linux 6.1.176 trace_output.c:trace_print_lat_fmt."""
        irq = self.flags[2:3]
        object.__setattr__(self, "in_softirq", irq != "" and irq in "sH")
        object.__setattr__(self, "in_hardirq", irq != "" and irq in "hHZ")


@attrs.frozen
class TraceEvent:
    """One trace line: a kprobe, kretprobe or tracepoint hit.

    `args` maps each key=value arg to its text, plus `probe` for kprobes, `caller`,
    `caller_offset`, `callee` for kretprobes, fixed keys for block tracepoints (`BLOCK_EVENTS`),
    `msg` for `console`, and `raw` (the whole text) for unknown events that are not key=value.
    It is shared, not copied: do not mutate it. `comm`, `pid`, `tgid`, `cpu`, `flags`,
    `in_softirq` and `in_hardirq` read the shared `context`. Equality includes `path` and
    `lineno`: compare `attrs.evolve(event, path="", lineno=0)` for the content alone.
    """

    path: str
    lineno: int
    context: TaskContext
    ts_us: int  # the timestamp in microseconds, exact: order events by it
    name: str
    args: Mapping[str, str] = attrs.field(hash=False)

    @property
    def comm(self) -> str:
        return self.context.comm

    @property
    def pid(self) -> int:
        return self.context.pid

    @property
    def tgid(self) -> int | None:
        return self.context.tgid

    @property
    def cpu(self) -> int:
        return self.context.cpu

    @property
    def flags(self) -> str:
        return self.context.flags

    @property
    def in_softirq(self) -> bool:
        return self.context.in_softirq

    @property
    def in_hardirq(self) -> bool:
        return self.context.in_hardirq

    @property
    def timestamp(self) -> float:
        """Seconds, as printed (`ts_us` is the exact value)."""
        return self.ts_us / 1_000_000

    def arg_int(self, key: str) -> int:
        """The integer value of arg `key`: `0x` hex, or decimal (`ret=-95`).

        Raises KeyError if the event has no such arg, TraceFormatError if it is not an integer
        (`mm_vmscan_write_folio`'s hashed `page=00000000a617c85c` is not).
        """
        try:
            return int(self.args[key], 0)  # Python's literal syntax: no leading zeros
        except ValueError:
            text = self.args[key]
            raise TraceFormatError(
                self.path, self.lineno, f"{self.name}: expected an integer {key}=, got {text!r}"
            ) from None


@attrs.frozen
class LostEvents:
    """Events the tracer dropped before the next event of `cpu`.

    From `CPU:N [LOST M EVENTS]` (tracefs) or `CPU:N [M EVENTS DROPPED]` (trace-cmd); `count` is
    None when the tracer did not know how many. `cpu` is None for the header's
    `entries-written > entries-in-buffer`: the ring buffer overwrote that many of the oldest
    events, on any CPU, before the trace starts.
    """

    path: str
    lineno: int
    cpu: int | None
    count: int | None


@attrs.frozen
class TraceHeader:
    """What the header lines say about the trace; None where the file does not say."""

    tracer: str | None = None  # "# tracer: nop"
    entries_in_buffer: int | None = None  # "# entries-in-buffer/entries-written: 5379/5379"
    entries_written: int | None = None
    cpus: int | None = None  # "#P:2" (tracefs) or "cpus=2" (trace-cmd)
    version: int | None = None  # trace-cmd's "version = 6"
    #: `#` lines before `# tracer:`, without newlines, e.g. the capture harness's provenance
    #: `# kmodel capture: scenario=basic kernel=... version=6.1.176-1`.
    comments: tuple[str, ...] = ()

    @property
    def overwritten(self) -> int:
        """How many of the oldest events the ring buffer overwrote (0 if none or unknown)."""
        if self.entries_in_buffer is None or self.entries_written is None:
            return 0
        return max(0, self.entries_written - self.entries_in_buffer)
