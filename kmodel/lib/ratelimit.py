"""``___ratelimit`` and the ``printk_ratelimited`` family.

Linux 6.1.176 lib/ratelimit.c:27-69, include/linux/ratelimit_types.h:9-10
(DEFAULT_RATELIMIT_INTERVAL = 5 * HZ, DEFAULT_RATELIMIT_BURST = 10),
include/linux/printk.h:644-660 (printk_ratelimited: one state per call site).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from kmodel.kernel import Kernel

DEFAULT_RATELIMIT_BURST = 10


@attrs.define(eq=False)
class RatelimitState:
    """``struct ratelimit_state``."""

    interval: int
    burst: int = DEFAULT_RATELIMIT_BURST
    printed: int = 0
    missed: int = 0
    begin: int = 0


def ___ratelimit(k: Kernel, rs: RatelimitState, func: str) -> bool:
    """Allow ``burst`` messages per ``interval`` jiffies; count the rest (PR-1).

    Linux 6.1.176 lib/ratelimit.c:27-76 (the trylock is always taken: one model thread
    holds the kernel lock). ``interval`` 0 (``RATELIMIT_STATE_INIT_DISABLED``) lets all through.
    """
    if not rs.interval:
        return True
    if not rs.begin:  # re-armed on every call while begin is 0, jiffies 0 included
        rs.begin = k.jiffies
    if rs.begin + rs.interval < k.jiffies:  # time_is_before_jiffies(begin + interval)
        if rs.missed:
            _log(k, "warning", f"{func}: {rs.missed} callbacks suppressed\n")
            rs.missed = 0
        rs.begin = k.jiffies
        rs.printed = 0
    if rs.burst and rs.burst > rs.printed:  # PR-1
        rs.printed += 1
        return True
    rs.missed += 1
    return False


def printk(k: Kernel, level: str, text: str) -> None:
    """``printk``: each line of ``text`` to the log and the console."""
    _log(k, level, text)


def _log(k: Kernel, level: str, text: str) -> None:
    for line in text.rstrip("\n").split("\n"):
        k.printk_log.append((level, line))
        k.trace("console", msg=line)


def printk_ratelimited(k: Kernel, site: str, level: str, text: str) -> bool:
    """``printk_ratelimited``: print unless this call site's state says no.

    ``site`` names the call site (each macro expansion has its own static state).
    Returns whether the message was printed.
    """
    rs = k.ratelimits.get(site)
    if rs is None:
        rs = k.ratelimits[site] = RatelimitState(interval=5 * k.HZ)
    if not ___ratelimit(k, rs, site.split(":")[0]):
        return False
    _log(k, level, text)
    return True


def pr_alert_ratelimited(k: Kernel, site: str, text: str) -> bool:
    """``pr_alert_ratelimited`` (KERN_ALERT)."""
    return printk_ratelimited(k, site, "alert", text)


def pr_err_ratelimited(k: Kernel, site: str, text: str) -> bool:
    """``pr_err_ratelimited`` (KERN_ERR)."""
    return printk_ratelimited(k, site, "err", text)
