"""The kernel's fault injection in a trace, checked against the model's ``should_fail``.

A trace of ``kmodel capture --kernel 6.1-fi`` records, in its header, the fault attrs as the
kernel read them back after arming (``# fault-inject: fail_make_request probability=100
interval=1 times=3 space=0 verbose=1 task-filter=N``) and the per-disk/per-task switches
(``# fault-inject: make-it-fail vda=1 tasks=95/0, fail-nth=95/0, ...``). From them this
module builds the model's attrs (:class:`kmodel.lib.fault_inject.FaultAttr`) and drives the
model's ``should_fail_bio`` (kmodel/block/blk_core.py) once per swap bio submission, in
trace order, from the arming on (the ``SIGUSR1`` that ``init`` sends the workload after
the scenario's ``midway``):

- a bio the trace queues (``block_bio_queue``) passed ``should_fail_bio``: the model must
  pass it too;
- a bio that completes with no ``block_bio_queue`` was failed there: ``submit_bio_noacct``
  ends it at ``should_fail_bio`` (Linux 6.1.176 block/blk-core.c:731, 813) before
  ``submit_bio_noacct_nocheck`` would trace ``block_bio_queue`` (680). The model must fail
  it, with ``BLK_STS_IOERR`` (10), and the ``FAULT_INJECTION`` notices the trace printed
  in that context since the last call must be, in text and count, what the model's
  ``fail_dump`` printed (verbose levels; no ratelimit by default).

``fail_function`` on ``should_fail_bio`` is its kprobe's ``should_fail(&fei_fault_attr, 1)``
(kernel/fail_function.c:173), consulted before the function's body: a failure there skips
``fail_make_request``. A probability strictly between 0 and 100 draws
``prandom_u32_max(100)`` (lib/fault-inject.c:139) from boot entropy: that draw is an input
taken from the trace (counted as unknown), while the checks before it (times, space,
interval) are the model's. ``fail-nth`` counts every fault point of the task, and the kernel
has some the model lacks (failslab in ``bio_alloc``'s mempool, docs/fault-injection.md): the
task's first failure by fail-nth is an input too; what follows it (the notice, ``times``) is
checked.

Linux 6.12.118 traces (``kmodel capture --kernel 6.12-fi``, checked by check_6_12.py) are
checked on the same model functions: 6.12's ``should_fail_bio``/``should_fail_request``
(block/blk-core.c:499-541, the disk's make-it-fail now a ``BD_MAKE_IT_FAIL`` flag) and
``should_fail_ex`` (lib/fault-inject.c:105-160) decide as 6.1's for these attrs — 6.12 moved
``fail_stacktrace`` before the checks, which without CONFIG_FAULT_INJECTION_STACKTRACE_FILTER
passes, and draws with ``get_random_u32_below(100)`` (an input either way) — and
``fail_dump`` prints the same two lines (``name %s`` of the attr's own name where 6.1 printed
its dentry's, ``%pd``).

``fail_page_alloc`` (FI-3): the trace has no event of the allocations themselves (no probe
on ``should_fail_alloc_page``, Linux 6.1.176 mm/page_alloc.c:3942-3961), so which
allocation failed, its ``gfp_mask`` and order, and so the filters' verdict are not in it.
What it has is each notice, in its task's context: a call that passed the filters and was
not ``__GFP_NOWARN`` (else no notice). Each such notice is checked as that call of the
model's ``should_fail_ex`` on the recorded attr (page_alloc.c:3960): task-filter against the
task's make-it-fail, ``times`` counted down over the notices in trace order, and the text
``fail_dump`` prints. Where the calls that did not fail matter (interval > 1, space > 0, a
draw at 0 < probability < 100, the task's fail-nth) the notice is unknown, not checked.

Where the trace has the allocations (the 6.12 fault-injection capture probes
``should_fail_alloc_page(gfp_mask, order)`` and its return in the workloads, Linux 6.12.118
mm/fail_page_alloc.c:26-46), each call since arming runs the model's own
``should_fail_alloc_page`` (kmodel/mm/page_alloc.py: the filters, then ``should_fail_ex``)
with the call's ``gfp_mask`` and order in its task (an interrupt's in softirq context): its
verdict must be the return, and the notices the call printed the model's (FI-3). The gfp bits
the filters read have 6.1's values in 6.12 (include/linux/gfp_types.h:27-42).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kmodel.block.bdev import BlockDevice
from kmodel.block.blk_core import should_fail_bio
from kmodel.errors import KmodelError, TraceFormatError
from kmodel.executor.inline import InlineExecutor
from kmodel.include.linux.blk_types import REQ_OP_READ, REQ_OP_WRITE, Bio, BlkStatus
from kmodel.include.linux.sched import Task
from kmodel.kernel import Kernel
from kmodel.lib import fault_inject
from kmodel.lib.fault_inject import FaultAttr, should_fail
from kmodel.mm import page_alloc
from kmodel.trace.parse import console_message

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kmodel.trace.events import TaskContext


class TraceEvent(Protocol):
    """The checker's view of one event (6.1's ``check._Event``, 6.12's ``events.TraceEvent``):
    read only."""

    @property
    def lineno(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def context(self) -> TaskContext: ...
    @property
    def args(self) -> Mapping[str, str]: ...

NOTICE = "FAULT_INJECTION: forcing a failure."
#: The attrs a swap bio's submission consults, in the order it does.
BIO_ATTRS = ("fail_function", "fail_make_request")
_HEADER = re.compile(r"# fault-inject: (\S+) (.*)$")
_INT_KNOBS = ("probability", "interval", "times", "space", "verbose")


#: The checker's report: a divergence at an event (message, allowed, branches), an unknown.
Diverge = Callable[[Any, str, list[str], tuple[str, ...]], None]
Unknown = Callable[[str], None]


def _message(ev: TraceEvent) -> str:
    """A console event's whole message: its continuation lines are ``msg_rest`` (parse.py)."""
    return console_message(ev.args)


class _Draw(random.Random):
    """``prandom_u32_max(100)``: its value is the trace's (an input), set per call."""

    def __init__(self) -> None:
        super().__init__(0)
        self.fail = False
        self.drawn = 0

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """0 (below any probability: fail) or the top (at least any probability: pass)."""
        self.drawn += 1
        return 0 if self.fail else (start if stop is None else stop) - 1


class FaultInject:
    """The model's fault attrs for one trace and the calls seen so far."""

    def __init__(self, path: str, diverge: Diverge, unknown: Unknown) -> None:
        self.path = path
        self.diverge = diverge
        self.unknown = unknown
        self.k = Kernel(executor=InlineExecutor())
        self.attrs: dict[str, FaultAttr] = {}
        self.draw = _Draw()
        self.disks: dict[str, bool] = {}  # make-it-fail per disk name
        self.fail_nth: dict[int, int] = {}  # pid -> fail-nth armed
        self.make_it_fail: dict[int, bool] = {}
        self.tasks: dict[int, Task] = {}
        #: A `# fault-inject: fail_page_alloc` line: its notices are checked (FI-3).
        self.page_alloc = False
        #: should_fail_alloc_page events in the trace: each call checked (FI-3).
        self.alloc_events = False
        self.allocs: dict[int, TraceEvent] = {}  # pid -> its open should_fail_alloc_page
        self.armed = False
        #: ``# kmodel trim:``: the calls before a failure may be cut, and so is the arming.
        self.trimmed = False
        self.bdev = BlockDevice(0, 0, "swap", 0)
        self.calls = 0
        self.checks = 0
        #: Notices printed since the last call, per pid: (event, message).
        self.notices: dict[int, list[TraceEvent]] = {}

    # -- the header --------------------------------------------------------------------

    def header(self, lineno: int, line: str) -> None:
        """Read one ``# fault-inject:`` line; a malformed one is a TraceFormatError."""
        if line.startswith("# kmodel trim:"):
            self.trimmed = True
            return
        m = _HEADER.match(line.rstrip("\n"))
        if m is None:
            raise TraceFormatError(self.path, lineno, "expected '# fault-inject: NAME k=v ...'",
                                   line)
        name, rest = m[1], m[2]
        if name == "make-it-fail":
            self._switches(lineno, line, rest)
            return
        if name not in (*BIO_ATTRS, "fail_page_alloc"):
            return  # failslab: not on the bio path, no notice checked
        knobs = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        try:
            values = {k: int(knobs[k]) for k in _INT_KNOBS}
            task_filter = {"Y": True, "N": False}[knobs["task-filter"]]
        except (KeyError, ValueError) as e:
            raise TraceFormatError(
                self.path, lineno, "expected probability= interval= times= space= verbose= "
                f"(integers) and task-filter=Y|N ({e})", line) from None
        if name == "fail_page_alloc":
            attr = self._page_alloc_filters(lineno, line, knobs)
        else:
            attr = self.k.fail_make_request if name == "fail_make_request" else FaultAttr()
        attr.dname = name
        try:
            attr.probability = values["probability"]
            attr.interval = values["interval"]
            attr.times = values["times"]
            attr.space = values["space"]
            attr.verbose = values["verbose"]
        except KmodelError as e:  # FaultAttr's validators: a value the kernel never reads back
            raise TraceFormatError(self.path, lineno, str(e), line) from None
        attr.task_filter = task_filter
        attr.rng = self.draw  # the trace's draw, not a PRNG
        if name == "fail_page_alloc":
            self.page_alloc = True
            return
        self.attrs[name] = attr

    def _page_alloc_filters(self, lineno: int, line: str, knobs: dict[str, str]) -> FaultAttr:
        """fail_page_alloc's filters (debugfs ignore-gfp-wait, ignore-gfp-highmem,
        min-order; mm/page_alloc.c:3973-3977) onto the model's; its attr."""
        fpa = self.k.fail_page_alloc
        try:
            yes_no = {"Y": True, "N": False}
            fpa.ignore_gfp_reclaim = yes_no[knobs["ignore-gfp-wait"]]
            fpa.ignore_gfp_highmem = yes_no[knobs["ignore-gfp-highmem"]]
            fpa.min_order = int(knobs["min-order"])
        except (KeyError, ValueError) as e:
            raise TraceFormatError(
                self.path, lineno, "expected fail_page_alloc's ignore-gfp-wait=Y|N "
                f"ignore-gfp-highmem=Y|N min-order=N ({e})", line) from None
        return fpa.attr

    def _switches(self, lineno: int, line: str, rest: str) -> None:
        try:
            for kv in rest.split():
                key, _, value = kv.partition("=")
                value = value.rstrip(",")
                if key in ("tasks", "fail-nth"):
                    for pair in filter(None, value.split(",")):  # PID/VALUE per workload
                        pid, v = pair.split("/")
                        if key == "tasks":
                            self.make_it_fail[int(pid)] = v == "1"
                        else:
                            self.fail_nth[int(pid)] = int(v)
                elif key not in ("memory.max", "page-cluster"):
                    self.disks[key] = value == "1"
        except ValueError:
            raise TraceFormatError(self.path, lineno, "expected 'make-it-fail DISK=0|1 "
                                   "tasks=PID/0|1, fail-nth=PID/N, ...'", line) from None
        # The swap disk is the only disk of these captures (`# swap: /dev/vda`).
        self.bdev.make_it_fail = any(self.disks.values())

    # -- events ------------------------------------------------------------------------

    def signal(self, ev: TraceEvent) -> None:
        """The capture's ``{ echo "# fault-inject: ..."; } | tee -a $out.header.txt``
        (fiscenarios._record) exits right after the scenario armed and recorded the attrs:
        its ``tee``'s SIGCHLD is the first event of the armed kernel."""
        if ev.context.comm == "tee" and ev.args.get("sig") == "17" and (
                self.attrs or self.page_alloc):
            self.armed = True

    def console(self, ev: TraceEvent) -> bool:
        """A notice of an attr on the bio path: kept for the call it belongs to."""
        # Its second line ("name fail_make_request, ...") continues the event and is added
        # to its args after this handler ran (parse.py `_Continuations`): read at the call.
        if ev.args["msg"] != NOTICE or not (self.attrs or self.page_alloc):
            return False
        self.notices.setdefault(ev.pid, []).append(ev)
        return True

    def queued(self, ev: TraceEvent, write: bool) -> None:
        """``block_bio_queue`` of a swap bio: it passed ``should_fail_bio``."""
        if not self.armed or not self.attrs:
            return
        size = int(ev.args["nr_sector"]) * 512 if "nr_sector" in ev.args else 4096
        failed, printed = self._call(ev, write, size, False)
        self.checks += 1
        if failed:
            self.diverge(
                ev, f"the model's should_fail_bio fails this bio (call {self.calls} since "
                f"arming: {self._state()}); the trace queued it",
                ["no block_bio_queue: the bio ends at should_fail_bio"], ("FI-1", "FI-2"))
        self._notices(ev, printed)

    def failed(self, ev: TraceEvent, write: bool) -> bool:
        """A swap bio completing without ``block_bio_queue``: failed at ``should_fail_bio``
        if the model says so. True when this module took the completion."""
        if not self.attrs:
            return False
        if not self.armed:
            if not self.trimmed or int(ev.args["bi_status"]) != BlkStatus.BLK_STS_IOERR:
                return False
            # A trimmed trace lacks the calls before this one: which call fails is not
            # known here; the notice(s) printed for it are taken with it, unchecked.
            self.notices.pop(ev.pid, None)
            self.unknown("fault-inject-calls-trimmed")
            return True
        size = int(ev.args["size"])
        failed, printed = self._call(ev, write, size, True)
        self.checks += 1
        if not failed:
            self.diverge(
                ev, f"this bio completes without block_bio_queue, as one failed by "
                f"should_fail_bio; the model's should_fail_bio passes it (call {self.calls} "
                f"since arming: {self._state()})",
                ["block_bio_queue of the bio before its completion"], ("FI-1", "FI-2"))
            self.notices.pop(ev.pid, None)
            return True
        status = int(ev.args["bi_status"])
        self.checks += 1
        if status != BlkStatus.BLK_STS_IOERR:
            self.diverge(
                ev, f"a bio failed by should_fail_bio ends with BLK_STS_IOERR "
                f"({int(BlkStatus.BLK_STS_IOERR)}); the trace's bi_status={status}",
                [f"bi_status={int(BlkStatus.BLK_STS_IOERR)}"], ("FI-1",))
        self._notices(ev, printed)
        return True

    def finish(self) -> None:
        """Notices that no failed call of the trace printed."""
        if not self.armed:
            # A trimmed trace may have lost the arming; its console lines are kept whole
            # (kmodel.capture.trim), and fail_page_alloc's notices need no bio call.
            self.notices = {pid: [ev for ev in evs if self.trimmed and self._names_page_alloc(ev)]
                            for pid, evs in self.notices.items()}
        for pid in list(self.notices):
            self.notices[pid] = self._page_alloc_notices(self.notices[pid])
        for evs in self.notices.values():
            for ev in evs:
                self.checks += 1
                self.diverge(
                    ev, "a FAULT_INJECTION notice, but no swap bio of this task failed after "
                    "it", ["no notice"], ("FI-2",))
        self.notices.clear()

    # -- the model ---------------------------------------------------------------------

    def _task(self, pid: int) -> Task:
        task = self.tasks.get(pid)
        if task is None:
            task = self.tasks[pid] = Task(pid=pid, comm=str(pid))
            task.make_it_fail = self.make_it_fail.get(pid, False)
        return task

    def _call(self, ev: TraceEvent, write: bool, size: int,
              observed_fail: bool) -> tuple[bool, list[str]]:
        """One ``should_fail_bio`` on the model; its decision and the notices it printed."""
        self.calls += 1
        task = self._task(ev.pid)
        nth = self.fail_nth.get(ev.pid, 0)
        if nth and observed_fail:
            # The kernel counted fault points the model lacks: the task's first failure is
            # fail-nth's, at whatever count (an input); fail-nth is spent after it.
            task.fail_nth = 1
            self.fail_nth[ev.pid] = 0
            self.unknown("fail-nth-count")
        else:
            task.fail_nth = 0
        self.draw.fail = observed_fail
        drawn = self.draw.drawn
        bio = Bio(self.bdev, REQ_OP_WRITE if write else REQ_OP_READ, bi_size=size)
        start = len(self.k.printk_log)
        with self.k.running(task, ("submit_bio_noacct", "should_fail_bio")):
            fei = self.attrs.get("fail_function")
            # fail_function's kprobe pre-handler (kernel/fail_function.c:173) runs before
            # should_fail_bio's body, and a failure there skips the body.
            failed = fei is not None and should_fail(self.k, fei, 1)
            if not failed and "fail_make_request" in self.attrs:
                failed = should_fail_bio(self.k, bio)
        if self.draw.drawn != drawn and any(0 < a.probability < 100 for a in self.attrs.values()):
            self.unknown("prandom-draw")
        lines = [text for _level, text in self.k.printk_log[start:]]
        printed: list[str] = []
        for line in lines:  # fail_dump's printk is one message of two lines (one event)
            if line == NOTICE or not printed:
                printed.append(line)
            else:
                printed[-1] += "\n" + line
        return failed, printed

    def _state(self) -> str:
        return "; ".join(f"{n} times={a.times} space={a.space} count={a.count}"
                         for n, a in self.attrs.items())

    def alloc(self, ev: TraceEvent) -> None:
        """``should_fail_alloc_page`` (``gfp_mask``, ``order``) or its return (``ret``): the
        call, once armed, on the model's should_fail_alloc_page (FI-3)."""
        self.alloc_events = True
        if ev.name == "should_fail_alloc_page":
            self.allocs[ev.pid] = ev
            return
        call = self.allocs.pop(ev.pid, None)
        if call is None or not (self.page_alloc and self.armed):
            # No fail_page_alloc attr recorded, or before the arming (the attr then was
            # FAULT_ATTR_INITIALIZER's, not the header's): not checked.
            self.unknown("page-alloc-call-not-checked")
            return
        seen = [n for n in self.notices.get(ev.pid, []) if self._names_page_alloc(n)]
        self.notices[ev.pid] = [n for n in self.notices.get(ev.pid, []) if n not in seen]
        attr = self.k.fail_page_alloc.attr
        task = self._task(ev.pid)
        task.fail_nth = 0
        self.draw.fail = ev.args.get("ret", "0") not in ("0", "0x0")
        gfp, order = int(call.args["gfp_mask"], 0), int(call.args["order"], 0)
        chain = ("__alloc_pages_noprof", "prepare_alloc_pages", "should_fail_alloc_page")
        start = len(self.k.printk_log)
        if call.context.in_softirq or call.context.in_hardirq:
            with self.k.softirq(call.context.cpu, chain):
                failed = page_alloc.should_fail_alloc_page(self.k, gfp, order)
        else:
            with self.k.running(task, chain):
                failed = page_alloc.should_fail_alloc_page(self.k, gfp, order)
        if 0 < attr.probability < 100:
            self.unknown("prandom-draw")
        printed = "\n".join(line for _level, line in self.k.printk_log[start:])
        self.checks += 1
        if failed != self.draw.fail:
            self.diverge(
                ev, f"should_fail_alloc_page(gfp_mask={gfp:#x}, order={order}) returns "
                f"{int(self.draw.fail)} in the trace; the model's returns {int(failed)} "
                f"(times={attr.times}, filters: ignore-gfp-wait="
                f"{'Y' if self.k.fail_page_alloc.ignore_gfp_reclaim else 'N'}, "
                f"ignore-gfp-highmem={'Y' if self.k.fail_page_alloc.ignore_gfp_highmem else 'N'}"
                f", min-order={self.k.fail_page_alloc.min_order})", [f"ret={int(failed)}"],
                ("FI-3", "FI-2"))
        self.checks += 1
        got = [_message(n) for n in seen]
        want = [printed] if printed else []
        if got != want:
            self.diverge(seen[0] if seen else ev, f"the model's fail_dump printed {want!r} "
                         f"for this allocation; the trace {got!r}",
                         [f"console: {w!r}" for w in want] or ["no notice"], ("FI-2",))

    def _names_page_alloc(self, ev: TraceEvent) -> bool:
        return self.page_alloc and "\nname fail_page_alloc," in _message(ev)

    def _page_alloc_notices(self, seen: list[TraceEvent]) -> list[TraceEvent]:
        """Check the notices naming fail_page_alloc (FI-3, see the module's docstring), each
        as a call of the model's should_fail_ex that failed; return the others."""
        rest: list[TraceEvent] = []
        attr = self.k.fail_page_alloc.attr
        for ev in seen:
            if not self._names_page_alloc(ev):
                rest.append(ev)
                continue
            if self.alloc_events:  # those of a traced call were taken by alloc()
                self.unknown("fail-page-alloc-notice-without-its-call")
                continue
            text = _message(ev)
            if (attr.interval > 1 or attr.space or 0 < attr.probability < 100
                    or self.fail_nth.get(ev.pid, 0)):
                self.unknown("fail-page-alloc-calls")  # the calls that passed are not traced
                continue
            task = self._task(ev.pid)
            task.fail_nth = 0
            start = len(self.k.printk_log)
            self.draw.fail = True
            with self.k.running(task, ("__alloc_pages", "should_fail_alloc_page")):
                # The call passed the filters (page_alloc.c:3945-3954) and was no
                # __GFP_NOWARN one (3957-3958): the notice says so. Its order is not in the
                # trace: 1 << 0 pages, which only space (unknown above) would read.
                failed = fault_inject.should_fail_ex(self.k, attr, 1, 0)
            printed = "\n".join(line for _level, line in self.k.printk_log[start:])
            self.checks += 1
            if not failed:
                self.diverge(
                    ev, f"a fail_page_alloc notice in pid {ev.pid}, but the model's should_fail "
                    f"on the recorded attr fails no call here (times={attr.times}, "
                    f"task-filter={'Y' if attr.task_filter else 'N'}, make-it-fail="
                    f"{int(task.make_it_fail)})", ["no notice"], ("FI-3", "FI-2"))
            elif printed != text.rstrip("\n"):
                self.diverge(
                    ev, f"the model's fail_dump prints {printed!r} for this fail_page_alloc "
                    f"failure; the trace {text!r}", [f"console: {printed!r}"], ("FI-2",))
        return rest

    def _notices(self, ev: TraceEvent, printed: list[str]) -> None:
        seen = self._page_alloc_notices(self.notices.pop(ev.pid, []))
        self.checks += 1
        got = [_message(n) for n in seen]
        if got != printed:
            self.diverge(
                seen[0] if seen else ev,
                f"the model's fail_dump printed {len(printed)} notice(s) {printed!r} for "
                f"this call; the trace {len(got)}: {got!r}"
                + (f" (lines {', '.join(str(n.lineno) for n in seen)})" if seen else ""),
                [f"console: {p!r}" for p in printed] or ["no notice"], ("FI-2",))


# -- the fault's replay ------------------------------------------------------------------

class _StepLike(Protocol):
    lineno: int
    name: str

    def int(self, key: str) -> int: ...


class _CompletionLike(Protocol):
    lineno: int
    page: int
    status: int


class Decisions(random.Random):
    """``prandom_u32_max(100)`` answering the trace's decisions in order (then: pass)."""

    def __init__(self, fail: Sequence[bool]) -> None:
        super().__init__(0)
        self.fail = list(fail)

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """0 (fail) or the top (pass): the next decision."""
        fail = self.fail.pop(0) if self.fail else False
        return 0 if fail else (start if stop is None else stop) - 1


def injected_reads(steps: Sequence[_StepLike], completions: Sequence[_CompletionLike],
                   ) -> tuple[list[bool], set[int]] | None:
    """Per read bio of a fault's steps, in order, whether the kernel failed it at
    ``should_fail_bio``: no ``block_bio_queue`` between its ``swap_readpage`` and
    ``swap_readpage_ret``, and a failed completion of its page in between (FI-1: ended
    in ``submit_bio_noacct``, block/blk-core.c:731, 813). None if no read was failed so.
    A read with neither (frontswap's load, RD-3) has no bio: no decision. Also the swap
    entries (``val``) of the failed reads: they are no frontswap loads."""
    decisions: list[bool] = []
    entries: set[int] = set()
    for i, st in enumerate(steps):
        if st.name != "swap_readpage":
            continue
        j = i + 1
        queued = False
        while j < len(steps) and steps[j].name != "swap_readpage_ret":
            queued = queued or steps[j].name in ("block_bio_queue", "bdev_read_page")
            j += 1
        end = steps[j].lineno if j < len(steps) else 1 << 62
        page = st.int("page")
        failed = not queued and any(c.page == page and c.status and st.lineno < c.lineno < end
                                    for c in completions)
        if queued or failed:
            decisions.append(failed)
        if failed:
            entries.add(st.int("entry"))
    return (decisions, entries) if entries else None


def fail_injected_reads(k: Kernel, bdev: BlockDevice, decisions: Sequence[bool]) -> None:
    """Make the replay's model fail those reads at its own ``should_fail_bio``: the swap
    disk's make-it-fail on, ``fail_make_request`` unlimited with the trace's draws (which
    bio fails is faultinject.py's check against the recorded attrs; here it is an input)."""
    bdev.make_it_fail = True
    k.fail_make_request = FaultAttr(probability=50, times=-1, verbose=0,
                                    rng=Decisions(decisions))
