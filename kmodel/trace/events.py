"""Trace values: one parsed ftrace line (`TraceEvent`), lost-event markers, the file header.

The event vocabulary (`EVENT_ARGS`) lists the args every known event carries, in print order.
Kprobe events from the capture harness (`p:kt/...` and `r64:kt/..._ret`) print
`(func+0x0/0xa0) key=value...` and `(caller+off/size <- callee) key=value...`; tracepoints use
the kernel's print formats (Linux 6.1.176 include/trace/events/block.h, signal.h, vmscan.h,
printk.h).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from kmodel.errors import TraceFormatError

__all__ = [
    "ARG_TYPES",
    "BLOCK_EVENTS",
    "EVENT_ARGS",
    "KPROBE_KEYS",
    "KRETPROBE_KEYS",
    "MAX_SWAPFILES",
    "LostEvents",
    "TaskContext",
    "TraceEvent",
    "TraceHeader",
    "explained_by_missed",
]

#: Args keys the parser adds for a kprobe hit: the `(func+0x0/0xa0)` text without parentheses.
KPROBE_KEYS = ("probe",)
#: Args keys the parser adds for a kretprobe hit `(caller+0xd1/0x250 <- callee)`: caller symbol
#: (or `[unknown/kretprobe'd]`), its `0xd1/0x250` offset ("" when none), the probed function.
KRETPROBE_KEYS = ("caller", "caller_offset", "callee")
#: A kretprobe's caller when it returned into the kretprobe trampoline (another kretprobe on
#: the caller): tracefs's text (Linux 6.1.176 kernel/trace/trace_output.c:352-353).
UNKNOWN_CALLER = "[unknown/kretprobe'd]"

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
    # The swap-slot ledger's probes (kmodel/trace/slots.py).
    "folio_alloc_swap": _kprobe("page", "pflags", "entry"),
    "folio_alloc_swap_ret": _kretprobe("entry"),
    "__swap_duplicate": _kprobe("entry", "usage"),
    "__swap_duplicate_ret": _kretprobe("ret"),
    "__swap_entry_free_locked": _kprobe("type", "offset", "usage"),
    "__swap_entry_free_locked_ret": _kretprobe("ret"),
    # include/trace/events/signal.h: "sig=%d errno=%d code=%d comm=%s pid=%d grp=%d res=%d"
    "signal_generate": ("sig", "errno", "code", "comm", "pid", "grp", "res"),
    # include/trace/events/vmscan.h: "page=%p pfn=0x%lx flags=%s"
    "mm_vmscan_write_folio": ("page", "pfn", "flags"),
    # include/trace/events/printk.h: "%s", the message without its newline
    "console": ("msg",),
    **BLOCK_EVENTS,
}


#: Swap types a swap area can have in Debian's 6.1.176 amd64 build: Linux 6.1.176
#: include/linux/swap.h:125-128, ``(1 << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM -
#: SWP_MIGRATION_NUM - SWP_HWPOISON_NUM - SWP_PTE_MARKER_NUM - SWP_SWAPIN_ERROR_NUM`` =
#: 32 - 0 - 3 - 1 - 1 - 1 (config-6.1.0-50-amd64: CONFIG_MIGRATION=y, CONFIG_MEMORY_FAILURE=y,
#: CONFIG_PTE_MARKER=y, CONFIG_DEVICE_PRIVATE unset; swap.h:58,68,88-94,107,119). The types
#: above are migration, hwpoison, PTE-marker and swapin-error entries, never a swap slot.
MAX_SWAPFILES = 26

#: How the probes print each integer arg (the kprobe fetch types of ../shared/kernel/probes.txt,
#: the tracepoints' ``%d``/``%u``/``%llu``): ``x64``/``x32`` print ``0x%llx``/``0x%x``, ``u8``,
#: ``u32``, ``u64`` print unsigned decimals, ``s32`` a signed one; ``swp`` is an ``x64``
#: ``swp_entry_t.val`` of a swap area (type < MAX_SWAPFILES). The parser rejects a value the
#: type cannot print (negative, wider than the field, not a number) at its line.
ARG_TYPES: Mapping[str, Mapping[str, str]] = {
    "do_swap_page": {"vmf": "x64", "address": "x64", "fault_flags": "x32", "orig_pte": "x64"},
    "do_swap_page_ret": {"ret": "x32"},
    "swapin_readahead": {"entry": "swp", "gfp": "x32", "vmf": "x64"},
    "swapin_readahead_ret": {"page": "x64"},
    "swap_cluster_readahead": {"entry": "swp", "gfp": "x32", "vmf": "x64"},
    "swap_cluster_readahead_ret": {"page": "x64"},
    "read_swap_cache_async": {"entry": "swp", "gfp": "x32", "vma": "x64", "addr": "x64",
                              "do_poll": "u8", "plug": "x64"},
    "read_swap_cache_async_ret": {"page": "x64"},
    "__read_swap_cache_async": {"entry": "swp", "gfp": "x32", "vma": "x64", "addr": "x64"},
    "__read_swap_cache_async_ret": {"page": "x64"},
    "swap_readpage": {"page": "x64", "synchronous": "u8", "plug": "x64", "pflags": "x64",
                      "entry": "swp"},
    "swap_readpage_ret": {"ret": "s32"},
    "swap_writepage": {"page": "x64", "wbc": "x64", "pflags": "x64", "entry": "swp",
                       "sync_mode": "u32", "wbc_bits": "x32"},
    "swap_writepage_ret": {"ret": "s32"},
    "__swap_writepage": {"page": "x64", "wbc": "x64", "pflags": "x64", "entry": "swp"},
    "__swap_writepage_ret": {"ret": "s32"},
    "end_swap_bio_write": {"bio": "x64", "bi_status": "u8", "sector": "u64", "size": "u32",
                           "opf": "x32", "dev": "x32", "page": "x64", "pflags": "x64"},
    "end_swap_bio_read": {"bio": "x64", "bi_status": "u8", "sector": "u64", "size": "u32",
                          "opf": "x32", "dev": "x32", "waiter": "x64", "page": "x64",
                          "pflags": "x64"},
    # Any page's writeback ends here, file pages too: private is no swap entry then.
    "end_page_writeback": {"page": "x64", "pflags": "x64", "entry": "x64"},
    "bdev_read_page": {"bdev": "x64", "sector": "u64", "page": "x64", "dev": "x32"},
    "bdev_read_page_ret": {"ret": "s32"},
    "bdev_write_page": {"bdev": "x64", "sector": "u64", "page": "x64", "dev": "x32"},
    "bdev_write_page_ret": {"ret": "s32"},
    "folio_alloc_swap": {"page": "x64", "pflags": "x64", "entry": "x64"},
    "folio_alloc_swap_ret": {"entry": "swp"},
    "__swap_duplicate": {"entry": "swp", "usage": "u8"},
    "__swap_duplicate_ret": {"ret": "s32"},
    "__swap_entry_free_locked": {"type": "u8", "offset": "u64", "usage": "u8"},
    "__swap_entry_free_locked_ret": {"ret": "u8"},
    "signal_generate": {"sig": "s32", "errno": "s32", "code": "s32", "pid": "s32",
                        "grp": "s32", "res": "s32"},
    "mm_vmscan_write_folio": {"pfn": "x64"},
}


_FAULT = ("DS-", "FM-2", "RA-", "CR-")
_READ = ("RD-", "ER-", "BIO-2", "SE-1", "PR-1", *_FAULT)
_WRITE = ("WP-", "SW-", "EW-", "BIO-2", "SE-1", "PR-1", "FM-3")

#: What a hit a probe missed may make look wrong: branch IDs (or ID prefixes ending in "-")
#: of the divergences its absence could cause. A probe's `kprobe_profile` counts its missed
#: hits, not where they fell, so any such divergence becomes unknown, never divergent.
MISSED_HIT_EXPLAINS: Mapping[str, tuple[str, ...]] = {
    "do_swap_page": _FAULT,
    "do_swap_page_ret": _FAULT,
    "swapin_readahead": _FAULT,
    "swapin_readahead_ret": _FAULT,
    "swap_cluster_readahead": _FAULT,
    "swap_cluster_readahead_ret": _FAULT,
    "read_swap_cache_async": _FAULT,
    "read_swap_cache_async_ret": _FAULT,
    "__read_swap_cache_async": _FAULT,
    "__read_swap_cache_async_ret": _FAULT,
    "swap_readpage": (*_READ, "EW-", "WP-"),  # a new life of the page, unseen
    "swap_readpage_ret": _READ,
    "bdev_read_page": _READ,
    "bdev_read_page_ret": _READ,
    "end_swap_bio_read": _READ,
    "swap_writepage": (*_WRITE, "ER-2"),
    "swap_writepage_ret": _WRITE,
    "__swap_writepage": (*_WRITE, "ER-2"),
    "__swap_writepage_ret": _WRITE,
    "bdev_write_page": _WRITE,
    "bdev_write_page_ret": _WRITE,
    "end_swap_bio_write": _WRITE,
    "end_page_writeback": _WRITE,
}


def explained_by_missed(missed: Mapping[str, int], branches: Iterable[str]) -> str | None:
    """The probe with missed hits (`missed`: probe -> count) whose absence could explain a
    divergence of `branches`, or None."""
    for probe, count in missed.items():
        ids = MISSED_HIT_EXPLAINS.get(probe, ()) if count else ()
        for branch in branches:
            if any(branch == i or (i[-1] == "-" and branch.startswith(i)) for i in ids):
                return probe
    return None


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
