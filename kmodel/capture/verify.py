"""Assert a scenario's kernel-side outcome and the trace's completeness from its result files."""

from __future__ import annotations

import re

import attrs

from kmodel.capture.scenarios import Outcome, Scenario

_EXIT = re.compile(r"^KT: memhog pid=\d+ exit status (\d+)$", re.M)
_VERIFIED = re.compile(r"^memhog(\[child\])?: verified (\d+) pages .*: (\d+) bad$", re.M)
_SWAP_FAULT = re.compile(r"-(\d+)\s+\(.*\bdo_swap_page: .*\borig_pte=(0x[0-9a-f]+)")
_OVERRUN = re.compile(r"^KT: (cpu\d+) (overrun|commit overrun): (\d+)$", re.M)
_STAMP = re.compile(r"^\s*.*?-\d+\s+\(\s*[\d-]+\)\s+\[(\d+)\]\s+\S+\s+([\d.]+):", re.M)

#: Share of cross-CPU neighbours with equal timestamps above which the clock is too coarse.
#: tracefs prints nanosecond clocks to the microsecond; under TCG, 0-25 % ties were measured
#: with both ``global`` and ``mono`` (events on two CPUs a few microseconds apart). A coarse
#: clock (jiffies-like, or a sched_clock fallback) ties most neighbours.
TIE_WARN = 0.30

MISSES_FIX = (
    "kprobe misses mean the trace lost events (a probe fired while another ran on the same "
    "CPU). Fix: keep the workload off the CPU that takes the swap disk's completion IRQ (see "
    "the 'completion irq' log line), one virtio queue, queue/rq_affinity=0; then re-run."
)
OVERRUN_FIX = (
    "the tracefs ring buffer overran and dropped events. Fix: raise buffer_size_kb "
    "(kmodel.capture.probes.OPTIONS) or shrink the workload (-m), then re-run."
)


@attrs.frozen
class Result:
    """The files one scenario produced, as text."""

    log: str
    trace: str
    dmesg: str
    kprobe_profile: str


def profile_delta(before: str, after: str) -> str:
    """Return a ``kprobe_profile`` text of the hits and misses between two snapshots.

    Lines keep tracefs's format (``"  %-44s %15lu %15lu"``, kernel/trace/trace_kprobe.c
    probes_profile_seq_show); a probe absent from *before* counts from 0.
    """
    base: dict[str, tuple[int, int]] = {}
    for line in before.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            base[fields[0]] = (int(fields[1]), int(fields[2]))
    out = []
    for line in after.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            hits, misses = base.get(fields[0], (0, 0))
            out.append(
                f"  {fields[0]:<44} {int(fields[1]) - hits:15d} {int(fields[2]) - misses:15d}\n"
            )
    return "".join(out)


def kprobe_misses(profile: str) -> dict[str, int]:
    """Return the probes of a ``kprobe_profile`` text that missed hits, with their counts."""
    misses: dict[str, int] = {}
    for line in profile.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2].isdigit() and int(fields[2]) > 0:
            misses[fields[0]] = int(fields[2])
    return misses


def shared_swap_faults(trace: str) -> int:
    """Return how many swap PTEs (``orig_pte``) were faulted by more than one task."""
    tasks: dict[str, set[str]] = {}
    for pid, pte in _SWAP_FAULT.findall(trace):
        tasks.setdefault(pte, set()).add(pid)
    return sum(len(pids) > 1 for pids in tasks.values())


@attrs.frozen
class Ties:
    """How often consecutive events of different CPUs carry the same timestamp."""

    pairs: int  # consecutive event lines on different CPUs
    ties: int  # of which with equal printed timestamps

    @property
    def rate(self) -> float:
        """ties / pairs (0 when no pair)."""
        return self.ties / self.pairs if self.pairs else 0.0


def clock_ties(trace: str) -> Ties:
    """Count the cross-CPU neighbours of *trace* and those that tie on the printed timestamp.

    Equal timestamps on two CPUs leave the real order unknown (tracefs prints the lower CPU
    first); the share of such ties says how coarse the trace clock was.
    """
    pairs = ties = 0
    prev: tuple[str, str] | None = None
    for cpu, stamp in _STAMP.findall(trace):
        if prev is not None and prev[0] != cpu:
            pairs += 1
            ties += prev[1] == stamp
        prev = (cpu, stamp)
    return Ties(pairs, ties)


def event_lines(trace: str) -> int:
    """Return how many event lines (not ``#`` header lines) *trace* has."""
    return len(_STAMP.findall(trace))


def _outcome_problems(s: Scenario, r: Result) -> list[str]:
    exits = [int(x) for x in _EXIT.findall(r.log)]
    if len(exits) < s.hogs:
        return [
            f"{s.hogs - len(exits)} workload(s) never finished (no 'exit status' line in the log)"
        ]
    verified = _VERIFIED.findall(r.log)
    problems: list[str] = []
    if s.outcome is Outcome.OOM:
        if any(status != 137 for status in exits):
            problems.append(
                f"workload exit status {exits}, expected 137 (SIGKILL by the OOM killer)"
            )
        if "Memory cgroup out of memory" not in r.dmesg:
            problems.append("no 'Memory cgroup out of memory' line in dmesg")
        return problems
    status = max(exits)
    if s.outcome is Outcome.READ_ERROR:
        if status != 135:
            problems.append(f"workload exit status {status}, expected 135 (SIGBUS)")
        if "Read-error on swap-device" not in r.dmesg:
            problems.append("no 'Read-error on swap-device' line in dmesg")
        if "SIGBUS si_code=" not in r.log:
            problems.append("the workload printed no SIGBUS line")
        return problems
    if status != 0:
        problems.append(f"workload exit status {status}, expected 0")
    expected_lines = s.hogs * (2 if "-f" in s.workload.split() else 1)
    if len(verified) != expected_lines or any(bad != "0" for _, _, bad in verified):
        problems.append(f"data lost or not verified: {verified!r}")
    if "-f" in s.workload.split() and not shared_swap_faults(r.trace):
        problems.append("no swap entry was faulted by both processes")
    if s.outcome is Outcome.WRITE_ERROR and "Write-error on swap-device" not in r.dmesg:
        problems.append("no 'Write-error on swap-device' line in dmesg")
    return problems


def problems(s: Scenario, r: Result) -> list[str]:
    """Return every way the result differs from what *s* expects (empty when it passed)."""
    found = _outcome_problems(s, r)
    found += [f"trace has no line matching {rx!r}" for rx in s.expect if not re.search(rx, r.trace)]
    found += [f"trace has a line matching {rx!r}" for rx in s.forbid if re.search(rx, r.trace)]
    misses = kprobe_misses(r.kprobe_profile)
    if misses and not s.misses_allowed:
        found.append(f"kprobe misses {misses}: {MISSES_FIX}")
    if not r.kprobe_profile.strip():
        found.append("kprobe_profile is empty: the probes were not installed")
    overruns = [(cpu, kind, n) for cpu, kind, n in _OVERRUN.findall(r.log) if int(n) > 0]
    if overruns:
        found.append(f"ring buffer overrun {overruns}: {OVERRUN_FIX}")
    return found
