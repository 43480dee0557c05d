"""``struct fault_attr`` and ``should_fail``: the kernel's fault-injection decision.

Linux 6.1.176 lib/fault-inject.c:14-159, include/linux/fault-inject.h:16-46.
The ``fail_make_request`` attribute is consulted from ``submit_bio_noacct``
(block/blk-core.c:473-505, 731); Debian's 6.1 build has CONFIG_FAULT_INJECTION off, so
the model implements the semantics the upstream source defines.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import attrs

from kmodel.errors import KmodelError
from kmodel.lib.ratelimit import DEFAULT_RATELIMIT_BURST, RatelimitState, ___ratelimit, printk

if TYPE_CHECKING:
    from kmodel.kernel import Kernel

FAULT_NOWARN = 1 << 0


def _check_attr(inst: FaultAttr, attribute: attrs.Attribute[int], value: int) -> None:
    if attribute.name == "probability" and not 0 <= value <= 100:
        raise KmodelError(f"fault_attr.probability must be 0..100, got {value}")
    if attribute.name == "interval" and value < 0:
        raise KmodelError(f"fault_attr.interval must be >= 0, got {value}")
    if attribute.name == "times" and value < -1:
        raise KmodelError(f"fault_attr.times must be -1 (unlimited) or >= 0, got {value}")
    if attribute.name == "verbose" and value < 0:
        raise KmodelError(f"fault_attr.verbose must be >= 0, got {value}")


def _ratelimit_state_init_disabled() -> RatelimitState:
    """``RATELIMIT_STATE_INIT_DISABLED`` (include/linux/ratelimit_types.h:36-37)."""
    return RatelimitState(interval=0, burst=DEFAULT_RATELIMIT_BURST)


@attrs.define(eq=False)
class FaultAttr:
    """``struct fault_attr`` (fault-inject.h:16-32); defaults as ``FAULT_ATTR_INITIALIZER``.

    The debugfs files of the same names set these: probability (percent), interval,
    times (-1 = unlimited), space (the size to let through first: bytes for
    fail_make_request, pages for fail_page_alloc), verbose, task-filter; and
    ``verbose_ratelimit_interval_ms``/``verbose_ratelimit_burst`` set ``ratelimit_state``
    (fault-inject.c:220-223), which starts disabled (fault-inject.h:43): every failure
    prints its notice.
    """

    probability: int = attrs.field(default=0, validator=_check_attr)
    interval: int = attrs.field(default=1, validator=_check_attr)
    times: int = attrs.field(default=1, validator=_check_attr)
    space: int = 0
    verbose: int = attrs.field(default=2, validator=_check_attr)
    task_filter: bool = False
    count: int = 0
    #: prandom_u32_max(100) source; a seeded Random makes a run reproducible.
    rng: random.Random = attrs.field(factory=lambda: random.Random(0), repr=False)
    #: Devices with ``/sys/block/<dev>/make-it-fail`` set (``bd_make_it_fail``).
    dname: str = "fail_make_request"
    #: fail_dump's own state (``__ratelimit(&attr->ratelimit_state)``), not a call site's.
    ratelimit_state: RatelimitState = attrs.field(factory=_ratelimit_state_init_disabled)


def fail_dump(k: Kernel, attr: FaultAttr) -> None:
    """Report a forced failure (fault-inject.c:42-54; the dump_stack is left out)."""
    if attr.verbose > 0 and ___ratelimit(k, attr.ratelimit_state, "fail_dump"):
        printk(
            k,
            "notice",
            "FAULT_INJECTION: forcing a failure.\n"
            f"name {attr.dname}, interval {attr.interval}, probability {attr.probability}, "
            f"space {attr.space}, times {attr.times}\n",
        )


def should_fail_ex(k: Kernel, attr: FaultAttr, size: int, flags: int = 0) -> bool:
    """Decide whether this call fails, in the kernel's order of checks (FI-2).

    Linux 6.1.176 lib/fault-inject.c:103-153.
    """
    task = k.current
    in_task = not k.ctx.softirq
    fail = False
    if in_task and task.fail_nth:  # FI-2: fail_nth counts down, fails exactly at 1
        task.fail_nth -= 1
        if task.fail_nth:
            return False
        fail = True
    if not fail:
        if attr.probability == 0:
            return False
        if attr.task_filter and not (in_task and task.make_it_fail):
            return False
        if attr.times == 0:
            return False
        if attr.space > size:
            attr.space -= size
            return False
        if attr.interval > 1:
            attr.count += 1
            if attr.count % attr.interval:
                return False
        if attr.probability <= attr.rng.randrange(100):
            return False
        # fail_stacktrace: CONFIG_FAULT_INJECTION_STACKTRACE_FILTER off -> true.
    if not flags & FAULT_NOWARN:
        fail_dump(k, attr)
    if attr.times != -1 and attr.times != 0:  # atomic_dec_not_zero
        attr.times -= 1
    return True


def should_fail(k: Kernel, attr: FaultAttr, size: int) -> bool:
    """``should_fail`` (fault-inject.c:155-158)."""
    return should_fail_ex(k, attr, size, 0)
