"""Write the 6.12 model's events as a Linux 6.12.118 capture's tracefs text.

No kernel counterpart. ``kmodel simulate --kernel 6.12`` runs a scenario on
``Machine(kernel="6.12")`` and writes what ``kmodel capture --kernel 6.12`` would have
recorded (``tests/data/traces/v6_12``): the ``# kernel: 6.12.118`` header line that makes
``kmodel check`` read it as a 6.12 trace, the 6.12 probes' arguments with their fetch types
(:mod:`kmodel.capture.probes612`), kprobe heads at ``+0x4`` (after ``endbr``) with the
function sizes of Debian's 6.12.118 build, kretprobe return sites as that build prints them,
and 6.12's request tracepoints with their ioprio (``... 8 + 8 be,0,4 [memhog]``).

It is :class:`kmodel.trace.simulate.TraceWriter` with the 6.12 tables; the model's events the
capture has no probe for (``submit_bio_wait``: the model's marker of a synchronous bio) are not
written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from kmodel.capture.probes612 import PROBES
from kmodel.kernel import ModelEvent
from kmodel.scenarios import SCENARIOS, Outcome, run_scenario
from kmodel.sim import DISKS
from kmodel.trace.emit import format_event, format_header
from kmodel.trace.events import TraceEvent, TraceHeader
from kmodel.trace.simulate import (
    TraceWriter,
    _fetch_formatter,
)

__all__ = ["KERNEL_RELEASE", "TraceWriter612", "recorded", "simulate_6_12"]

#: The release a simulated 6.12 trace names in its ``# kernel:`` line.
KERNEL_RELEASE = "6.12.118"

#: Symbol sizes of Debian's 6.12.118 vmlinux, as its kprobes print them (``func+0x4/SIZE``),
#: from the captures in tests/data/traces/v6_12.
FUNCTION_SIZES_6_12: dict[str, int] = {
    "do_swap_page": 0x1470,
    "swapin_readahead": 0x540,
    "swap_cluster_readahead": 0x2F0,
    "__read_swap_cache_async": 0x250,
    "swap_read_folio": 0x670,
    "swap_read_folio_bdev_sync": 0x160,
    "swap_writepage": 0x310,
    "__swap_writepage": 0x3D0,
    "swap_writepage_bdev_sync": 0x180,
    "zswap_store": 0x980,
    "zswap_load": 0xF0,
    "end_swap_bio_write": 0x20,
    "__end_swap_bio_write": 0xA0,
    "end_swap_bio_read": 0x20,
    "__end_swap_bio_read": 0xA0,
    "folio_end_writeback": 0x80,
    "add_swap_extent": 0x100,
    "__handle_mm_fault": 0xF90,
    "pageout": 0x270,
    "__do_sys_swapon": 0x13C0,
}

#: Functions whose kprobe the 6.12.118 build places at ``+0x0``: they are reached by direct
#: calls only, without the ``endbr`` of an indirect-branch target (as the captures show).
AT_ENTRY = frozenset({"__end_swap_bio_write", "__end_swap_bio_read",
                      "swap_writepage_bdev_sync", "swap_read_folio_bdev_sync"})

#: Kretprobe return sites of the 6.12.118 captures: (callee, caller, final) -> ``off/size``.
#: ``final``: the read of the readahead target after the window (``swap_read_folio(folio,
#: NULL)``, Linux 6.12.118 mm/swap_state.c:701-707 and 851-857).
RETURN_SITES_6_12: dict[tuple[str, str, bool], str] = {
    ("do_swap_page", "__handle_mm_fault", False): "0x7d7/0xf90",
    ("swapin_readahead", "do_swap_page", False): "0x37e/0x1470",
    ("swap_read_folio", "do_swap_page", False): "0xb67/0x1470",
    ("swap_cluster_readahead", "swapin_readahead", False): "0x89/0x540",
    ("__read_swap_cache_async", "swap_cluster_readahead", False): "0x196/0x2f0",
    ("__read_swap_cache_async", "swap_cluster_readahead", True): "0x234/0x2f0",
    ("swap_read_folio", "swap_cluster_readahead", False): "0x1b4/0x2f0",
    ("swap_read_folio", "swap_cluster_readahead", True): "0x2d3/0x2f0",
    ("__read_swap_cache_async", "swapin_readahead", False): "0x3ad/0x540",
    ("__read_swap_cache_async", "swapin_readahead", True): "0x1c3/0x540",
    ("swap_read_folio", "swapin_readahead", False): "0x48e/0x540",
    ("swap_writepage", "pageout", False): "0x126/0x270",
    ("zswap_store", "swap_writepage", False): "0x114/0x310",
    ("zswap_load", "swap_read_folio", False): "0xdb/0x670",
    ("add_swap_extent", "__do_sys_swapon", False): "0xd6c/0x13c0",
}

#: Model call-chain entries inlined in the 6.12.118 build: a return lands in their caller.
INLINED_6_12 = frozenset({"handle_pte_fault", "swap_vma_readahead",
                          "swap_read_folio_bdev_async", "swap_writepage_bdev_async"})

#: Tracepoints a 6.12 capture records besides the probes (kmodel/capture/probes612.py).
TRACEPOINTS = frozenset({"mm_vmscan_write_folio", "console", "signal_generate"})

#: Request tracepoints whose 6.12 print format adds the ioprio before ``[...]``: a task that
#: set none has IOPRIO_CLASS_BE level 4, hint 0 (Linux 6.12.118 include/trace/events/block.h:
#: 108-115, 145, 219; include/linux/ioprio.h:18-21).
IOPRIO_EVENTS = frozenset({"block_rq_issue", "block_rq_insert", "block_rq_merge",
                           "block_rq_complete", "block_rq_error", "block_rq_requeue"})
DEFAULT_IOPRIO = "be,0,4"


def _probe_types_6_12() -> dict[str, dict[str, Callable[[int], str]]]:
    """Event name -> arg -> formatter, from the 6.12 capture's probe definitions."""
    types: dict[str, dict[str, Callable[[int], str]]] = {}
    for probe in PROBES:
        types[probe.function] = {a.name: _fetch_formatter(a.type) for a in probe.args}
        if probe.ret is not None:
            types[probe.function + "_ret"] = {a.name: _fetch_formatter(a.type)
                                              for a in probe.ret}
    return types


_PROBE_TYPES_6_12 = _probe_types_6_12()


def _return_site(callee: str, caller: str, final: bool) -> str:
    """``off/size`` of the call to ``callee`` in ``caller``; made up (stable) if never seen."""
    site = RETURN_SITES_6_12.get((callee, caller, final)) \
        or RETURN_SITES_6_12.get((callee, caller, False))
    if site is not None:
        return site
    size = FUNCTION_SIZES_6_12.get(caller, 0x400)
    return f"0x{sum(callee.encode()) * 4 % size:x}/0x{size:x}"


def recorded(event: ModelEvent) -> bool:
    """Whether a 6.12 capture records ``event``: a probe's, or a tracepoint's."""
    name = event.name
    return name in _PROBE_TYPES_6_12 or name in TRACEPOINTS or name.startswith("block_")


class TraceWriter612(TraceWriter):
    """A tracer writing each 6.12 model event as a 6.12 capture's tracefs line."""

    def __call__(self, event: ModelEvent) -> None:
        if recorded(event):
            super().__call__(event)

    def write_header(self, comments: tuple[str, ...] = ()) -> None:
        """The header: ``comments``, ``# kernel: 6.12.118``, then the tracefs block."""
        lines = (*comments, f"# kernel: {KERNEL_RELEASE}")
        self.file.write(format_header(TraceHeader(tracer="nop", cpus=2, comments=lines)))

    @staticmethod
    def _is_final(after: ModelEvent) -> bool:
        if after.name == "swap_read_folio":
            return after.arg("plug") == 0  # swap_read_folio(folio, NULL): the target
        return after.name in ("swap_cluster_readahead_ret", "swapin_readahead_ret")

    @staticmethod
    def _caller(event: ModelEvent) -> str:
        for func in reversed(event.chain):
            if func not in INLINED_6_12:
                return func
        return "ret_from_fork"

    probe_types = _PROBE_TYPES_6_12

    def _probe_head(self, event: ModelEvent, final: bool) -> dict[str, str]:
        name = event.name
        if name.endswith("_ret"):
            callee = name[:-4]
            caller = self._caller(event)
            if name == "swap_read_folio_ret":
                final = self._final_read.pop(event.pid, False)
            return {"caller": caller, "caller_offset": _return_site(callee, caller, final),
                    "callee": callee}
        if name == "swap_read_folio":
            self._final_read[event.pid] = event.arg("plug") == 0
        at = 0 if name in AT_ENTRY else 4
        return {"probe": f"{name}+0x{at:x}/0x{FUNCTION_SIZES_6_12.get(name, 0x100):x}"}

    def _line(self, trace_event: TraceEvent) -> str:
        line = format_event(trace_event)
        if trace_event.name in IOPRIO_EVENTS:
            head, _, tail = line.rpartition(" [")
            line = f"{head} {DEFAULT_IOPRIO} [{tail}"
        return line


def simulate_6_12(scenario: str, file: TextIO, *, events: int = 10_000,
                  seed: int = 0) -> Outcome:
    """Run ``scenario`` on the 6.12 model for about ``events`` events; write its trace."""
    writer = TraceWriter612(file, seed=seed)
    known = SCENARIOS.get(scenario)
    disk = DISKS[known.disk] if known is not None else None  # run_scenario names a bad one
    writer.write_header((
        f"# kmodel simulate: scenario={scenario} kernel={KERNEL_RELEASE} seed={seed}",
        "# page-cluster: 3",
        # The scenario's disk (kmodel.sim.DISKS) and the model's defaults: VMA readahead
        # enabled, zswap never enabled (k.zswap is None), as Debian 13 boots.
        *((f"# swap-disk: /dev/{disk[2]} rotational={int(disk[6])}",) if disk else ()),
        "# vma-readahead: true",
        "# zswap: enabled=N",
    ))
    outcome = run_scenario(scenario, writer, events=events, seed=seed, kernel="6.12",
                           keep=recorded)
    writer.close()
    return outcome
