"""Write the model's events as tracefs text, like a real capture of the same scenario.

No kernel counterpart. A :class:`TraceWriter` is a :data:`kmodel.kernel.Tracer`: each
:class:`~kmodel.ModelEvent` becomes a :class:`TraceEvent` printed by :func:`format_event`, one
line at a time, so traces of any size stream to a file. The text follows the real traces in
``../shared/kernel/traces``: kprobe args printed with the fetch types of the capture harness's
probes (``x64`` hex, ``s32`` signed decimal, ...), ``(func+0x0/0xsize)`` kprobe heads with the
function sizes of Debian's 6.1.176 build, kretprobe return sites ``(caller+off/size <- callee)``
as that build prints them, ``%p`` pointers hashed, ``<idle>-0 (-------)`` for softirq work on an
idle CPU. Timestamps are synthetic: microseconds that rise by a seeded step per event, more when
the device (softirq on another CPU) takes over.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable, Mapping
from typing import TextIO

from kmodel.capture.probes import kprobe_events
from kmodel.kernel import ModelEvent
from kmodel.scenarios import Outcome, run_scenario
from kmodel.trace.emit import format_event, format_header
from kmodel.trace.events import UNKNOWN_CALLER, TaskContext, TraceEvent, TraceHeader

__all__ = ["TraceWriter", "simulate"]

#: Symbol sizes of Debian's 6.1.176 vmlinux, as its kprobes print them (`func+0x0/SIZE`).
FUNCTION_SIZES: dict[str, int] = {
    "do_swap_page": 0x9F0,
    "swapin_readahead": 0x4E0,
    "swap_cluster_readahead": 0x360,
    "__read_swap_cache_async": 0x260,
    "read_swap_cache_async": 0x90,  # inlined in this build: never hit, size not printed
    "swap_readpage": 0x590,
    "swap_writepage": 0xA0,
    "__swap_writepage": 0x480,
    "end_swap_bio_write": 0xF0,
    "end_swap_bio_read": 0x170,
    "end_page_writeback": 0x40,
    "bdev_read_page": 0x90,
    "bdev_write_page": 0xD0,
    "__handle_mm_fault": 0xFA0,
    "pageout": 0x250,
}

#: Kretprobe return sites seen in the real traces: (callee, caller, final) -> `off/size`.
#: `final` tells the last read of swap_cluster_readahead (after the readahead loop) apart.
RETURN_SITES: dict[tuple[str, str, bool], str] = {
    ("do_swap_page", "__handle_mm_fault", False): "0x86b/0xfa0",
    ("swapin_readahead", "do_swap_page", False): "0x16e/0x9f0",
    ("swap_readpage", "do_swap_page", False): "0x779/0x9f0",
    ("swap_readpage", "swap_cluster_readahead", False): "0x1a8/0x360",
    ("swap_readpage", "swap_cluster_readahead", True): "0x30a/0x360",
    ("__read_swap_cache_async", "swap_cluster_readahead", False): "0x188/0x360",
    ("__read_swap_cache_async", "swap_cluster_readahead", True): "0x231/0x360",
    ("swap_writepage", "pageout", False): "0xd1/0x250",
    ("bdev_write_page", "__swap_writepage", False): "0x45/0x480",
    ("bdev_read_page", "swap_readpage", False): "0x9d/0x590",
}

#: A tail call from a kretprobed function: the return address is the trampoline's.
UNKNOWN_CALLERS = frozenset(
    {("__swap_writepage", "swap_writepage"), ("swap_cluster_readahead", "swapin_readahead")}
)

#: Model call-chain entries inlined in this build: a return lands in their caller.
INLINED = frozenset({"handle_pte_fault", "read_swap_cache_async", "swap_vma_readahead"})

#: The swap-slot ledger's probes the model emits (kmodel/mm/swapfile.py). A simulated trace
#: leaves them out: the model's add_to_swap emits no ``folio_alloc_swap``, and a trace with
#: the frees and duplicates of slots whose allocation it does not show is no real capture
#: (kmodel check would find slots the ledger believes free in use).
MODEL_SLOT_EVENTS = frozenset(("__swap_duplicate", "__swap_duplicate_ret",
                               "__swap_entry_free_locked", "__swap_entry_free_locked_ret"))

#: Section/node/zone bits above the flags in ``page->flags`` of the captured machine (the
#: model keeps only the PG_* bits): ``pflags=0xfffffc00c0405`` in the real traces.
PAGE_FLAGS_HIGH = 0xFFFFFC0000000


def _fetch_formatter(kind: str) -> Callable[[int], str]:
    """How tracefs prints a kprobe fetch arg of type ``kind`` (kernel/trace/trace_probe.c)."""
    bits = int(kind[1:])
    mask = (1 << bits) - 1
    if kind[0] == "x":
        return lambda v: f"0x{v & mask:x}"
    if kind[0] == "s":
        half = 1 << (bits - 1)
        return lambda v: str(((v + half) & mask) - half)
    return lambda v: str(v & mask)


def _probe_types() -> dict[str, dict[str, Callable[[int], str]]]:
    """Event name -> arg -> formatter, from the capture harness's kprobe definitions."""
    types: dict[str, dict[str, Callable[[int], str]]] = {}
    for line in kprobe_events():
        head, _func, *fetches = line.split()
        name = head.split("/", 1)[1]
        types[name] = {}
        for fetch in fetches:
            key, value = fetch.split("=", 1)
            types[name][key] = _fetch_formatter(value.rsplit(":", 1)[1])
    return types


_PROBE_TYPES = _probe_types()


class _Recycler:
    """Frames and slab slots for the model's ever-growing page and bio numbers.

    The model numbers every new folio and bio afresh; a kernel reuses freed page frames
    (hot ones first) and slab objects. Numbers map onto a pool (16384 frames: 64 MB, far
    more than a memhog round keeps alive) by their distance from the first one this trace
    saw, so a long trace names a bounded set of pages and bios, as a real one does, and the
    same run prints the same pointers in any process.
    """

    def __init__(self, first: int, size: int) -> None:
        self.base: int | None = None
        self.first = first
        self.size = size

    def __call__(self, number: int) -> int:
        if self.base is None:
            self.base = number
        return self.first + (number - self.base) % self.size


_VMEMMAP = 0xFFFFEA0000000000
_BIO_BASE = 0xFFFF888004000000
_BIO_SLAB = 0xFFFF88801FE00000
_VMA_BASE = 0xFFFF888004E00000
_VMA_SLAB = 0xFFFF888007500000


def _hashed_pointer(addr: int) -> str:
    """``%p``: the kernel prints a keyed hash of the pointer, never the address."""
    return f"{zlib.crc32(addr.to_bytes(8, 'little')):016x}"


def _text(value: int | str) -> str:
    return value if isinstance(value, str) else str(int(value))


def _tracepoint_args(event: ModelEvent) -> dict[str, str]:
    """Args of a tracepoint, in its print format's order and number formats."""
    args = {key: _text(value) for key, value in event.args}
    if event.name.startswith("block_"):
        major, _, minor = args["dev"].partition(",")
        block = {"dev": args.pop("dev"), "major": major, "minor": minor, "rwbs": args.pop("rwbs")}
        if event.name in ("block_rq_issue", "block_rq_complete", "block_rq_error"):
            block["cmd"] = ""
        block.update(args)
        return block
    return args


class _Clock:
    """Synthetic trace_clock=global time: rises with every event, by seeded steps."""

    def __init__(self, rng: random.Random, start_us: int) -> None:
        self.rng = rng
        self.now = start_us
        self.last_cpu = 0

    def tick(self, cpu: int, softirq: bool) -> int:
        if cpu != self.last_cpu:  # the device completes a while after the submission
            step = self.rng.randint(60, 400) if softirq else self.rng.randint(5, 40)
            self.last_cpu = cpu
        else:
            step = self.rng.randint(2, 9)
        self.now += step
        return self.now


_RET = re.compile(r"_ret\Z")


def _return_site(callee: str, caller: str, final: bool) -> str:
    """`off/size` of the call to ``callee`` in ``caller``; made up (stable) if never seen."""
    site = RETURN_SITES.get((callee, caller, final)) or RETURN_SITES.get((callee, caller, False))
    if site is not None:
        return site
    size = FUNCTION_SIZES.get(caller, 0x400)
    return f"0x{zlib.crc32(callee.encode()) % size:x}/0x{size:x}"


class TraceWriter:
    """A tracer writing each model event as one tracefs line to ``file`` (streaming).

    The last read of a readahead window and the reads inside it return to different sites;
    which one a ``__read_swap_cache_async`` was is known only from the task's next event, so
    that return and the events after it wait until then (a few lines at most).
    """

    def __init__(
        self, file: TextIO, *, seed: int = 0, path: str = "<simulate>", start_us: int = 4_292_072
    ) -> None:
        self.file = file
        self.path = path
        self.clock = _Clock(random.Random(seed ^ 0x5EED), start_us)
        self.count = 0
        self._contexts: dict[tuple[int, str, int, str], TaskContext] = {}
        self._final_read: dict[int, bool] = {}  # pid -> is its open swap_readpage the last?
        self._frames = _Recycler(0x2000, 1 << 14)
        self._bios = _Recycler(0, 1 << 12)
        self._vmas = _Recycler(0, 1 << 12)
        self._held: list[ModelEvent] = []
        self._held_pid = -1

    def write_header(self) -> None:
        """The tracefs header block (no entry counts: they are unknown while streaming)."""
        self.file.write(format_header(TraceHeader(tracer="nop", cpus=2)))

    def __call__(self, event: ModelEvent) -> None:
        if event.name in MODEL_SLOT_EVENTS:
            return  # the model allocates no slot through folio_alloc_swap: see its comment
        if self._held:
            self._held.append(event)
            if event.pid == self._held_pid and not event.softirq:
                self._release(self._is_final(event))
            return
        if event.name == "__read_swap_cache_async_ret" and self._caller(event) in (
            "swap_cluster_readahead",
            "swapin_readahead",
        ):
            self._held = [event]
            self._held_pid = event.pid
            return
        self._write(event, final=False)

    def close(self) -> None:
        """Write anything still held back."""
        if self._held:
            self._release(final=False)

    @staticmethod
    def _is_final(after: ModelEvent) -> bool:
        """Whether the held return was the window's last read, from the task's next event."""
        if after.name == "swap_readpage":
            return after.arg("plug") == 0  # read_swap_cache_async(..., plug=NULL)
        return after.name in ("swap_cluster_readahead_ret", "swapin_readahead_ret")

    def _release(self, final: bool) -> None:
        held, self._held = self._held, []
        self._write(held[0], final=final)
        for event in held[1:]:
            self(event)

    @staticmethod
    def _caller(event: ModelEvent) -> str:
        for func in reversed(event.chain):
            if func not in INLINED:
                return func
        return "ret_from_fork"

    def _context(self, event: ModelEvent) -> TaskContext:
        if event.softirq:
            flags = "..s.."
        elif event.name == "signal_generate":
            flags = "d..1."
        else:
            flags = "....."
        if event.name == "console":
            flags = "d" + flags[1:]
        key = (event.pid, event.comm, event.cpu, flags)
        context = self._contexts.get(key)
        if context is None:
            tgid = event.pid if event.pid else None
            context = TaskContext(event.comm, event.pid, tgid, event.cpu, flags)
            self._contexts[key] = context
        return context

    #: The probe args of the kernel this writer writes, by event name.
    probe_types: Mapping[str, Mapping[str, Callable[[int], str]]] = _PROBE_TYPES

    def _args(self, event: ModelEvent, final: bool) -> dict[str, str]:
        types = self.probe_types.get(event.name)
        if types is None:
            args = _tracepoint_args(event)
            if event.name == "mm_vmscan_write_folio":
                page = self._page(int(event.arg("page")))
                args["page"] = _hashed_pointer(page)
                args["pfn"] = f"0x{(page - _VMEMMAP) >> 6:x}"
            return args
        args = self._probe_head(event, final)
        for key, value in event.args:
            if key == "pflags":
                value = int(value) | PAGE_FLAGS_HIGH
            elif key in ("page", "folio") and value:  # a 6.12 probe names it folio
                value = self._page(int(value))
            elif key == "bio":
                value = _BIO_SLAB + self._bios((int(value) - _BIO_BASE) >> 8) * 0x100
            elif key == "vma" and value:
                value = _VMA_SLAB + self._vmas((int(value) - _VMA_BASE) >> 8) * 0x100
            fmt = types.get(key)
            args[key] = fmt(int(value)) if fmt is not None else _text(value)
        return args

    def _probe_head(self, event: ModelEvent, final: bool) -> dict[str, str]:
        """A kprobe's ``probe`` arg, or a kretprobe's caller and callee."""
        name = event.name
        if _RET.search(name):
            callee = name[:-4]
            caller = self._caller(event)
            if name == "swap_readpage_ret":
                final = self._final_read.pop(event.pid, False)
            args = {"caller": UNKNOWN_CALLER, "caller_offset": "", "callee": callee}
            if (callee, caller) not in UNKNOWN_CALLERS:
                args["caller"] = caller
                args["caller_offset"] = _return_site(callee, caller, final)
            return args
        if name == "swap_readpage":
            self._final_read[event.pid] = event.arg("plug") == 0
        return {"probe": f"{name}+0x0/0x{FUNCTION_SIZES.get(name, 0x100):x}"}

    def _page(self, addr: int) -> int:
        """The ``struct page *`` of the frame the model's folio stands for."""
        return _VMEMMAP + self._frames((addr - _VMEMMAP) >> 6) * 64

    def _line(self, trace_event: TraceEvent) -> str:
        return format_event(trace_event)

    def _write(self, event: ModelEvent, *, final: bool) -> None:
        context = self._context(event)
        ts = self.clock.tick(event.cpu, event.softirq)
        trace_event = TraceEvent(
            self.path, self.count + 1, context, ts, event.name, self._args(event, final)
        )
        self.file.write(self._line(trace_event) + "\n")
        self.count += 1


def simulate(scenario: str, file: TextIO, *, events: int = 10_000, seed: int = 0) -> Outcome:
    """Run ``scenario`` for about ``events`` events and write its trace to ``file``."""
    writer = TraceWriter(file, seed=seed)
    writer.write_header()
    outcome = run_scenario(scenario, writer, events=events, seed=seed,
                           keep=lambda event: event.name not in MODEL_SLOT_EVENTS)
    writer.close()
    return outcome
