"""What ``kmodel check`` found: divergences, counts, a verdict; as text or JSON.

No kernel counterpart. Every divergence names the trace line, what the model allowed there,
the branch-catalog IDs involved (spec/branches.md) and the Linux 6.1.176 source lines they
cite, and the recent history of the page or bio it concerns.
"""

from __future__ import annotations

import dis
import sys
from collections.abc import Callable, Iterable
from types import CodeType, FrameType, TracebackType
from typing import Any, cast

import attrs

from kmodel.errors import KmodelError

__all__ = [
    "BRANCH_SOURCES",
    "CALL_LIMIT",
    "CONFORMANT",
    "DIVERGED",
    "DIVERGENT",
    "MODEL_PACKAGES",
    "MODEL_RAISED",
    "MODEL_RUNAWAY",
    "NOTHING_CHECKED",
    "STEP_LIMIT",
    "UNDER_CHECKED",
    "CallBudget",
    "CheckReport",
    "CheckerBug",
    "Divergence",
    "ModelRaised",
    "ModelRunaway",
    "StepBudget",
    "checker_bug",
    "model_raised",
    "sources_of",
]

#: Where each branch the checker tests lives in the 6.1.176 source (from spec/branches.md,
#: else from the model function's citation).
BRANCH_SOURCES: dict[str, str] = {
    "EW-1": "mm/page_io.c:35",
    "EW-2": "mm/page_io.c:35",
    "EW-3": "mm/page_io.c:51-52",
    "ER-1": "mm/page_io.c:60",
    "ER-2": "mm/page_io.c:69",
    "ER-3": "mm/page_io.c:71-73",
    "ER-4": "mm/page_io.c:74",
    "ER-5": "mm/page_io.c:74",
    "WP-3": "mm/page_io.c:351",
    "WP-4": "mm/page_io.c:357-368",
    "RD-1": "mm/page_io.c:458-460",
    "RD-5": "mm/page_io.c:484-488",
    "RD-6": "mm/page_io.c:484-488",
    "RD-7": "mm/page_io.c:492-496",
    "RD-8": "mm/page_io.c:501",
    "RD-9": "mm/page_io.c:501",
    "RD-10": "mm/page_io.c:505-507",
    "RD-11": "mm/page_io.c:508-514",
    "RD-12": "mm/page_io.c:448-525",
    "SW-4": "mm/page_io.c:181-209",
    "SE-1": "mm/swapfile.c:228-239",
    "DS-1": "mm/memory.c:3842-3884",
    "DS-2": "mm/memory.c:3886",
    "DS-3": "mm/memory.c:3893-3903",
    "DS-4": "mm/memory.c:3905-3907",
    "DS-5": "mm/memory.c:3918-3923",
    "DS-7": "mm/memory.c:3970-3973",
    "DS-8": "mm/memory.c:4038-4040",
    "FM-2": "mm/filemap.c:1736-1767",
    "FM-3": "mm/filemap.c:1620-1646",
    "BIO-2": "block/bio.c:1522-1555",
    "PR-1": "lib/ratelimit.c:27-69",
}


def sources_of(branches: Iterable[str]) -> tuple[str, ...]:
    """The source lines of ``branches``, in order, each once."""
    seen: dict[str, None] = {}
    for branch in branches:
        source = BRANCH_SOURCES.get(branch)
        if source is not None:
            seen.setdefault(source)
    return tuple(seen)


#: Divergence kinds: the trace did what the model does not allow (`DIVERGED`); the model's own
#: code raised while the checker ran it on the trace's inputs (`MODEL_RAISED`).
DIVERGED = "diverged"
MODEL_RAISED = "model-raised"
#: The model's code did not end within a `StepBudget` (a loop of the model that never ends).
MODEL_RUNAWAY = "model-runaway"

#: The model: the subpackages (``kmodel/kernel`` among them) whose code the checkers run. An
#: exception whose innermost kmodel frame is in one of them is the model's; one raised in
#: ``kmodel.trace`` (the checkers' mapping of trace objects to model objects) is a checker bug.
MODEL_PACKAGES = frozenset(("mm", "block", "lib", "include", "kernel", "executor", "arch",
                            "v6_12"))


@attrs.frozen
class ModelRaised:
    """Where the model's code raised: the innermost kmodel frame of the traceback."""

    error: str  # "NameError: name 'x' is not defined"
    function: str  # the model function
    where: str  # kmodel/mm/page_io.py:123

    def message(self) -> str:
        """What a divergence report says."""
        return (f"the model raised {self.error} in {self.function} ({self.where}) while the "
                "checker ran it on this event's inputs: the model cannot do what the real "
                "kernel did here")


def _innermost_kmodel(tb: TracebackType | None) -> tuple[str, str, str, int] | None:
    """(module, function, file, line) of the innermost frame of a ``kmodel`` module."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.split(".", 1)[0] == "kmodel" and (
                not frame.f_code.co_filename.startswith("<attrs")):  # its generated methods
            found = (module, frame.f_code.co_name, frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def model_raised(error: BaseException) -> ModelRaised | None:
    """The model frame ``error`` was raised in, or None when it came out of other code.

    For every checker (6.1 and 6.12): call it on an exception out of the handling of an event;
    a `ModelRaised` is a divergence of kind `MODEL_RAISED` at that event, None a bug of the
    checker (:func:`checker_bug`) or, for a `KmodelError`, bad input to re-raise as it is.
    """
    inner = _innermost_kmodel(error.__traceback__)
    if inner is None:
        return None
    module, function, filename, lineno = inner
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in MODEL_PACKAGES:
        return None
    where = "kmodel/" + "/".join(parts[1:]) + (
        "/__init__.py" if filename.endswith("__init__.py") else ".py")
    text = str(error)
    return ModelRaised(f"{type(error).__name__}: {text}" if text else type(error).__name__,
                       function, f"{where}:{lineno}")


#: Model function calls (``Kernel.call``) one replayed fault or swap-out may make: 100 times
#: the most any replayed call of the committed real 6.1 traces made (MEASURED_MAX_CALLS, see
#: docs/mutation.md). Steps (Python calls and loop lines) ``swapin_nr_pages`` may take in one
#: readahead state: 100 times the most it took there (MEASURED_MAX_STEPS).
MEASURED_MAX_CALLS = 135  # a fault of conditions/pagecluster5.trace.txt (window 32)
CALL_LIMIT = 100 * MEASURED_MAX_CALLS
MEASURED_MAX_STEPS = 43
STEP_LIMIT = 100 * MEASURED_MAX_STEPS

_BACKWARD = frozenset(op for name, op in dis.opmap.items() if "BACKWARD" in name)
_LOOPS: dict[CodeType, bool] = {}


def _loops(code: CodeType) -> bool:
    """Whether ``code`` is a model function with a loop (a backward jump) in it."""
    found = _LOOPS.get(code)
    if found is None:
        found = "/kmodel/trace/" not in code.co_filename.replace("\\", "/") and any(
            ins.opcode in _BACKWARD for ins in dis.get_instructions(code))
        _LOOPS[code] = found
    return found


def _where(frame: FrameType | None) -> tuple[str, str]:
    """(function, kmodel/...:line) of the innermost model frame from ``frame`` outwards
    (a frame running with a model module's globals; ``kmodel.kernel``'s call chain is
    skipped)."""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        parts = module.split(".") if isinstance(module, str) else []
        if len(parts) >= 2 and parts[0] == "kmodel" and parts[1] in MODEL_PACKAGES and (
                module != "kmodel.kernel"):
            return frame.f_code.co_name, f"kmodel/{'/'.join(parts[1:])}.py:{frame.f_lineno}"
        frame = frame.f_back
    return "?", "?"


class ModelRunaway(BaseException):
    """The model's code went on past its `StepBudget`.

    A BaseException: no ``except Exception`` of the model's code may swallow it.
    """

    def __init__(self, steps: int, function: str, where: str, unit: str) -> None:
        super().__init__(steps, function, where, unit)
        self.steps = steps
        self.function = function
        self.where = where
        self.unit = unit  # "calls" (CallBudget) or "steps" (StepBudget)

    def message(self) -> str:
        """What a divergence report says."""
        return (f"the model made {self.steps:,} {self.unit} without ending (in {self.function}, "
                f"{self.where}), far more than any real call takes: a loop of the model "
                "that never ends on this event's inputs")


class CallBudget(list[str]):
    """A model call chain (``Context.chain``) that counts the calls pushed on it.

    ``Kernel.call`` appends each model function it enters; past ``limit`` calls in one
    replayed call, a loop of the model that never ends (each of its turns calls some model
    function: ``folio_wait_bit_common``'s ``io_schedule``) raises `ModelRunaway`. A count,
    not a clock: the verdict does not depend on the machine's speed or load.
    """

    __slots__ = ("calls", "limit")

    def __init__(self, chain: Iterable[str] = (), limit: int | None = None) -> None:
        super().__init__(chain)
        self.calls = 0
        self.limit = CALL_LIMIT if limit is None else limit

    def append(self, func: str) -> None:
        self.calls += 1
        if self.calls > self.limit:
            function, where = _where(sys._getframe(1))
            raise ModelRunaway(self.calls, function, where, "calls")
        super().append(func)


_Tracer = Callable[[FrameType, str, object], Any]


class StepBudget:
    """A bound on the steps of the model code run inside ``with StepBudget():``.

    A step is a Python call, or a line run in a model function that has a loop: a loop
    of the model that never ends (with or without calls in it) raises `ModelRunaway`
    after ``limit`` steps, whatever the machine's speed (no wall clock). It counts with
    ``sys.settrace`` (about twice the time of the code it watches: used only where the
    model runs briefly, the readahead windows). A tracer already installed (coverage, a
    debugger) is suspended meanwhile and put back at the end: coverage's C tracer puts
    itself back in place of any tracer that calls it on, so it cannot be chained.
    """

    __slots__ = ("limit", "prev", "steps")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = STEP_LIMIT if limit is None else limit
        self.steps = 0
        self.prev: _Tracer | None = None

    def __enter__(self) -> StepBudget:
        self.steps = 0
        self.prev = cast("_Tracer | None", sys.gettrace())
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.prev)

    def _over(self, frame: FrameType) -> ModelRunaway:
        sys.settrace(self.prev)
        function, where = _where(frame)
        return ModelRunaway(self.steps, function, where, "steps")

    def _call(self, frame: FrameType, event: str, arg: object) -> _Tracer | None:
        self.steps += 1
        if self.steps > self.limit:
            raise self._over(frame)
        return self._line if _loops(frame.f_code) else None

    def _line(self, frame: FrameType, event: str, arg: object) -> _Tracer | None:
        if event == "line":
            self.steps += 1
            if self.steps > self.limit:
                raise self._over(frame)
        return self._line


class CheckerBug(KmodelError):
    """An exception out of a checker's own code (not the trace's fault, not the model's):
    reported with the event being checked and where the checker raised, not as a traceback."""


def checker_bug(error: BaseException, path: str, lineno: int, line: str) -> CheckerBug:
    """The `CheckerBug` of ``error``, raised while checking ``path``'s line ``lineno``."""
    inner = _innermost_kmodel(error.__traceback__)
    where = f" in {inner[1]} ({inner[0]}, line {inner[3]})" if inner is not None else ""
    return CheckerBug(f"{path}:{lineno}: internal error of kmodel's checker{where}: "
                      f"{type(error).__name__}: {error}; this is a bug of kmodel check, not of "
                      f"the trace nor of the model; please report it with this line\n"
                      f"    {line.rstrip()[:200]}")


@attrs.frozen
class Divergence:
    """One place where the trace does what the model does not allow."""

    path: str
    lineno: int
    line: str  # the event, printed as tracefs prints it
    message: str  # what the trace shows, and why the model disagrees
    allowed: tuple[str, ...]  # what the model allowed at this point
    branches: tuple[str, ...]  # catalog IDs (spec/branches.md)
    history: tuple[tuple[int, str], ...] = ()  # (lineno, line) of the object's recent events
    related: tuple[int, ...] = ()  # other lines involved (where the disagreement showed)
    kind: str = DIVERGED  # or MODEL_RAISED

    @property
    def sources(self) -> tuple[str, ...]:
        """Kernel source lines of the branches."""
        return sources_of(self.branches)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "path": self.path,
            "lineno": self.lineno,
            "kind": self.kind,
            "line": self.line,
            "message": self.message,
            "allowed": list(self.allowed),
            "branches": list(self.branches),
            "sources": list(self.sources),
            "related": list(self.related),
            "history": [{"lineno": n, "line": text} for n, text in self.history],
        }

    def format(self) -> str:
        """Several lines for a terminal."""
        head = f"{self.path}:{self.lineno}: divergence"
        if self.kind != DIVERGED:
            head += f" ({self.kind})"
        if self.branches:
            head += f" [{', '.join(self.branches)}] ({', '.join(self.sources)})"
        out = [head]
        out.append(f"    {self.line.strip()}")
        out.append(f"  {self.message}")
        if self.allowed:
            out.append(f"  allowed are only: {'; '.join(self.allowed)}")
        if self.related:
            out.append(f"  see also line {', '.join(map(str, self.related))}")
        if self.history:
            out.append("  history:")
            out.extend(f"    {n:>7}: {text.strip()}" for n, text in self.history)
        return "\n".join(out)


def raised_divergence(error: Exception | ModelRunaway, path: str, lineno: int, line: str,
                      model: str = "") -> Divergence:
    """The divergence of an exception out of checking line ``lineno``, for both checkers.

    Raised in the model's own code (kmodel/mm, block, lib, include, kernel, v6_12, ...) as
    the checker ran it on the trace's inputs: a divergence of kind ``model-raised`` at that
    line (``model`` names the model in its message), or of kind ``model-runaway`` for a
    `ModelRunaway`; the checker stops there, as the model's
    state is no longer one the trace led to. A `KmodelError` raised elsewhere (bad input) is
    raised again as it is; any other exception is a bug of the checker itself (`CheckerBug`:
    file, line, where, no traceback).
    """
    suffix = f" ({model})" if model else ""
    if isinstance(error, ModelRunaway):  # past its CallBudget or StepBudget
        return Divergence(path=path, lineno=lineno, line=line.rstrip("\n"),
                          message=error.message() + suffix,
                          allowed=("the model's call ending within its budget",), branches=(),
                          kind=MODEL_RUNAWAY)
    raised = model_raised(error)
    if raised is None:
        if isinstance(error, KmodelError):
            raise error
        raise checker_bug(error, path, lineno, line) from error
    return Divergence(path=path, lineno=lineno, line=line.rstrip("\n"),
                      message=raised.message() + suffix,
                      allowed=("the model's code running to its end",), branches=(),
                      kind=MODEL_RAISED)


#: Verdicts, and the exit status `kmodel check` gives each (the worst file's wins).
CONFORMANT = "conformant"
DIVERGENT = "divergent"
NOTHING_CHECKED = "nothing checked"
UNDER_CHECKED = "under-checked"


@attrs.define
class CheckReport:
    """The result of checking one trace against the model."""

    path: str
    divergences: list[Divergence] = attrs.field(factory=list)
    #: Event and outcome counters: ``events``, ``checks``, ``skipped:<name>``,
    #: ``unknown:<why>``, ``input:<what>`` (what the kernel decided outside the model, taken
    #: from the trace and fed to it), ``missed:<probe>`` (its kprobe_profile), ``lost-events``.
    counts: dict[str, int] = attrs.field(factory=dict)
    #: Set when checking stopped early at ``--max-divergences``.
    stopped_at: int | None = None
    seconds: float = 0.0
    #: ``--min-checked``: the least share of events (%) that must be checked for a pass.
    min_checked: float | None = None

    @property
    def conformant(self) -> bool:
        """No divergence."""
        return not self.divergences

    @property
    def unknown(self) -> int:
        """What could not be checked (events, predictions, calls): the ``unknown:*`` counts."""
        return sum(n for key, n in self.counts.items() if key.startswith("unknown:"))

    @property
    def inputs(self) -> int:
        """Events whose content is an input, not an outcome: what the kernel decided outside
        the model (what a readahead lookup found, zswap's answer to a store), seen in the
        trace and fed to the model (the ``input:*`` counts). Neither checked nor unknown."""
        return sum(n for key, n in self.counts.items() if key.startswith("input:"))

    @property
    def skipped(self) -> int:
        """Events without a rule in the checker (``skipped:*``)."""
        return sum(n for key, n in self.counts.items() if key.startswith("skipped:"))

    @property
    def missed(self) -> int:
        """Probe hits missed (the kprobe_profile's third column) and events ftrace lost."""
        return self.counts.get("lost-events", 0) + sum(
            n for key, n in self.counts.items() if key.startswith("missed:"))

    @property
    def checked_share(self) -> float:
        """Events neither unknown, inputs nor skipped, in % of the events read (0 for no
        events)."""
        events = self.counts.get("events", 0)
        if not events:
            return 0.0
        return 100.0 * max(0, events - self.unknown - self.inputs - self.skipped) / events

    @property
    def verdict_kind(self) -> str:
        """`DIVERGENT`, `NOTHING_CHECKED` (no outcome compared: not a pass), `UNDER_CHECKED`
        (below ``min_checked``) or `CONFORMANT`."""
        if self.divergences:
            return DIVERGENT
        if not self.counts.get("checks", 0):
            return NOTHING_CHECKED
        if self.min_checked is not None and self.checked_share < self.min_checked:
            return UNDER_CHECKED
        return CONFORMANT

    @property
    def verdict(self) -> str:
        """One line: the verdict, and how much was read, checked, unknown and missed."""
        events = self.counts.get("events", 0)
        checks = self.counts.get("checks", 0)
        unknown = self.unknown
        share = f"{100.0 * unknown / events:.1f}%" if events else "-"
        inputs = self.inputs
        taken = (f", {inputs} inputs taken from the trace ({100.0 * inputs / events:.1f}%)"
                 if inputs and events else "")
        read = (f"{events} events read, {checks} outcomes checked against the model, "
                f"{unknown} unknown ({share} of events){taken}, {self.missed} missed probe "
                "hits")
        kind = self.verdict_kind
        if kind == CONFORMANT:
            return f"{self.path}: conformant: {read}, 0 divergences"
        if kind == NOTHING_CHECKED:
            return (f"{self.path}: NOTHING CHECKED: {read}: no outcome was compared with the "
                    "model, which is no pass")
        if kind == UNDER_CHECKED:
            return (f"{self.path}: UNDER-CHECKED: {self.checked_share:.1f}% of events checked, "
                    f"below --min-checked {self.min_checked:g}%: {read}, 0 divergences")
        more = f", stopped at line {self.stopped_at}" if self.stopped_at is not None else ""
        return (f"{self.path}: DIVERGENT: {len(self.divergences)} divergence(s) in {read}"
                f"{more}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "path": self.path,
            "verdict": self.verdict_kind,
            "summary": self.verdict,
            "divergences": [d.to_dict() for d in self.divergences],
            "counts": dict(sorted(self.counts.items())),
            "unknown": self.unknown,
            "inputs": self.inputs,
            "missed": self.missed,
            "checked_share": round(self.checked_share, 2),
            "stopped_at": self.stopped_at,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        """The report as a JSON document."""
        import json  # ~1 ms of every check's start-up when imported at the top

        return json.dumps(self.to_dict(), indent=2)

    def format(self) -> str:
        """The report for a terminal: divergences, then counts, then the verdict."""
        out = [d.format() for d in self.divergences]
        groups = {"skipped:": "skipped events (not modelled)", "unknown:": "unknown (not "
                  "checkable)", "input:": "inputs (taken from the trace, fed to the model)",
                  "missed:": "missed probe hits (kprobe_profile)"}
        for prefix, title in groups.items():
            found = {k[len(prefix):]: v for k, v in self.counts.items() if k.startswith(prefix)}
            if found:
                out.append(f"{title}: "
                           + ", ".join(f"{k} {v}" for k, v in sorted(found.items())))
        if self.counts.get("lost-events"):
            out.append(f"events ftrace lost (CPU:N [LOST M EVENTS]): {self.counts['lost-events']}")
        out.append(self.verdict)
        return "\n".join(out)
