"""What C keeps in globals: swap areas, the swap cache, vm events, the printk log, tasks.

One :class:`Kernel` is one booted machine. Model functions take it as their first
argument (``k``) where C would reach for a global; ``k.current`` is ``current``.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from typing import TYPE_CHECKING

import attrs

from kmodel.include.linux.sched import Task
from kmodel.lib.fault_inject import FaultAttr
from kmodel.lib.ratelimit import RatelimitState
from kmodel.mm.page_alloc import FailPageAlloc
from kmodel.mm.vmstat import VmEvent

if TYPE_CHECKING:
    from kmodel.block.blk_core import BlkPlug
    from kmodel.executor.base import Executor
    from kmodel.include.linux.mm_types import Folio
    from kmodel.include.linux.swap import SwapInfo
    from kmodel.v6_12.mm.vmstat import VmEvent612


@attrs.frozen
class ModelEvent:
    """One event the model emits, shaped like a line of a real trace.

    ``name`` and ``args`` follow the kprobe set of ``kmodel probes`` and the block
    tracepoints; ``chain`` is the model's kernel call chain at that point, outermost first.
    """

    seq: int
    name: str
    args: tuple[tuple[str, int | str], ...]
    pid: int
    comm: str
    cpu: int
    softirq: bool
    chain: tuple[str, ...]

    def arg(self, key: str) -> int | str:
        """The value of one argument."""
        for k, v in self.args:
            if k == key:
                return v
        raise KeyError(key)


@attrs.define(eq=False)
class Context:
    """Where model code runs: a task (process context) or a CPU's softirq."""

    task: Task
    cpu: int
    softirq: bool = False
    chain: list[str] = attrs.field(factory=list)


Tracer = Callable[[ModelEvent], None]


class _Call:
    """What :meth:`Kernel.call` returns: ``func`` on ``chain`` between enter and exit.

    A class rather than a ``@contextmanager`` generator, which costs ~3x as much per call
    (the model enters ~6 of these per page fault)."""

    def __init__(self, chain: list[str], func: str) -> None:
        self.chain = chain
        self.func = func

    def __enter__(self) -> None:
        self.chain.append(self.func)

    def __exit__(self, *exc: object) -> None:
        self.chain.pop()


@attrs.define(eq=False)
class Kernel:
    """A booted kernel: everything the swap path reads or writes outside its arguments."""

    executor: Executor
    swap_info: list[SwapInfo] = attrs.field(factory=list)
    #: swapper_spaces[]: the swap cache, (type, offset) -> folio.
    swap_cache: dict[tuple[int, int], Folio] = attrs.field(factory=dict)
    vm_events: Counter[VmEvent | VmEvent612] = attrs.field(factory=Counter)
    #: The printk ring buffer: (level, text) in order.
    printk_log: list[tuple[str, str]] = attrs.field(factory=list)
    #: Per-call-site ratelimit states (``DEFINE_RATELIMIT_STATE`` inside the macro).
    ratelimits: dict[str, RatelimitState] = attrs.field(factory=dict)
    #: ``fail_make_request`` (block/blk-core.c:465) and the per-device switch.
    fail_make_request: FaultAttr = attrs.field(factory=FaultAttr)
    #: ``fail_page_alloc`` (mm/page_alloc.c:3923-3934): its attr and default filters, which
    #: keep the swap path's order-0 GFP_HIGHUSER_MOVABLE allocations from failing.
    fail_page_alloc: FailPageAlloc = attrs.field(factory=FailPageAlloc)
    page_cluster: int = 3
    #: Rotational swap areas in use: they turn VMA readahead off (swap_state.c:317-320).
    nr_rotate_swap: int = 0
    enable_vma_readahead: bool = True
    swap_slot_cache_enabled: bool = True
    #: ``swapin_readahead_hits`` and swapin_nr_pages' statics (swap_state.c:62, 573-575): the
    #: hits boot at 4, ``ATOMIC_INIT(4)`` (6.12's swap_state.c:65 the same).
    swapin_readahead_hits: int = 4
    ra_prev_offset: int = 0
    ra_last_pages: int = 0
    #: ``arch_prepare_to_swap`` result (x86 returns 0; arm64 MTE may fail with -ENOMEM).
    arch_prepare_to_swap_ret: int = 0
    #: ``frontswap_ops``: a backend such as zswap, or None (frontswap disabled).
    frontswap: dict[tuple[int, int], bytes] | None = None
    frontswap_store_fail: bool = False
    #: jiffies, advanced by the executor (HZ=250 on Debian's config).
    jiffies: int = 0
    #: Tasks inside psi_memstall_enter/leave (RD-2).
    memstall: int = 0
    #: Which kernel this is: "6.1" (Debian 12's 6.1.176, ``kmodel/mm``) or "6.12"
    #: (Debian 13's 6.12.118, ``kmodel/v6_12``). Chosen at creation (``Machine(kernel=)``).
    version: str = attrs.field(default="6.1", validator=attrs.validators.in_(("6.1", "6.12")))
    #: 6.12 ``si->zeromap`` bits: (type, offset) of slots whose page was all zeroes.
    zeromap: set[tuple[int, int]] = attrs.field(factory=set)
    #: 6.12 zswap: the pool, (type, offset) -> contents; None: zswap never enabled.
    zswap: dict[tuple[int, int], bytes] | None = None
    #: 6.12 zswap: ``zswap_store`` rejects (pool limit, compression failure).
    zswap_store_fail: bool = False
    #: Handed every event; a tracer with a ``trace_events`` attribute (a frozenset of
    #: names) only those events: the others still take their sequence number, so the
    #: events handed over are numbered as without the filter, but no :class:`ModelEvent` is
    #: built for them (a fuzz step emits ~6 events, ~45% of which its machine ignores).
    tracer: Tracer | None = None
    lock: threading.RLock = attrs.field(factory=threading.RLock)
    tasks: dict[int, Task] = attrs.field(factory=dict)
    _local: threading.local = attrs.field(factory=threading.local)
    #: The events' sequence numbers (a counter, not an int field: assigning an attribute
    #: of this class runs attrs' on-setattr hook, ~1 us per event).
    _seq: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))
    _next_pid: int = 100
    idle: Task = attrs.field(factory=lambda: Task(pid=0, comm="<idle>"))

    HZ = 250

    # -- contexts -------------------------------------------------------------------

    @property
    def ctx(self) -> Context:
        """The running context on this thread (process context of ``idle`` by default)."""
        ctx: Context | None = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = Context(self.idle, 0)
            self._local.ctx = ctx
        return ctx

    @property
    def current(self) -> Task:
        """``current``."""
        return self.ctx.task

    @contextmanager
    def _switch(self, ctx: Context) -> Iterator[Context]:
        saved = getattr(self._local, "ctx", None)
        self._local.ctx = ctx
        try:
            yield ctx
        finally:
            self._local.ctx = saved

    def running(self, task: Task, chain: tuple[str, ...] = ()) -> ContextManager[Context]:
        """Run model code as ``task`` in process context, starting from ``chain``."""
        return self._switch(Context(task, task.cpu, False, list(chain)))

    def softirq(self, cpu: int, chain: tuple[str, ...]) -> ContextManager[Context]:
        """Run model code in softirq context on ``cpu`` (a bio completion)."""
        saved: Context | None = getattr(self._local, "ctx", None)
        task = saved.task if saved is not None and saved.cpu == cpu else self.idle
        return self._switch(Context(task, cpu, True, list(chain)))

    def call(self, func: str) -> ContextManager[None]:
        """Push a kernel function on the current call chain for the duration."""
        return _Call(self.ctx.chain, func)

    # -- tasks ------------------------------------------------------------------------

    def create_task(self, comm: str, *, cpu: int = 0, mm: bool = True) -> Task:
        """Fork a new user task with an empty address space."""
        from kmodel.include.linux.mm_types import MMStruct

        self._next_pid += 1
        task = Task(pid=self._next_pid, comm=comm, cpu=cpu, mm=MMStruct() if mm else None)
        self.tasks[task.pid] = task
        return task

    # -- tracing and counters ------------------------------------------------------------

    def trace(self, name: str, **args: int | str) -> None:
        """Emit one trace event if a tracer is attached."""
        tracer = self.tracer
        if tracer is None:
            return
        wanted: frozenset[str] | None = getattr(tracer, "trace_events", None)
        if wanted is not None and name not in wanted:
            self.ctx  # noqa: B018 -- the lookup's side effect: it sets up the idle context
            next(self._seq)
            return
        if self.version == "6.12" and "pflags" in args:  # 6.12 renumbered the page flags
            from kmodel.v6_12.include.linux.page_flags import kernel_page_flags

            args["pflags"] = kernel_page_flags(int(args["pflags"]))
        ctx = self.ctx
        tracer(
            ModelEvent(
                next(self._seq),
                name,
                tuple(args.items()),
                ctx.task.pid,
                ctx.task.comm,
                ctx.cpu,
                ctx.softirq,
                tuple(ctx.chain),
            )
        )

    def count_vm_event(self, item: VmEvent | VmEvent612, nr: int = 1) -> None:
        """``count_vm_event``/``count_vm_events``."""
        self.vm_events[item] += nr

    def swap_info_of(self, type_: int) -> SwapInfo:
        """``swp_swap_info(entry)``: the swap area of a type."""
        return self.swap_info[type_]

    @property
    def plug(self) -> BlkPlug | None:
        """``current->plug``."""
        return self.current.plug

    @plug.setter
    def plug(self, plug: BlkPlug | None) -> None:
        self.current.plug = plug
