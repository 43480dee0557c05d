"""Assert a scenario's kernel-side outcome and the trace's completeness from its result files."""

from __future__ import annotations

import re

import attrs

from kmodel.capture.scenarios import Outcome, Scenario

_EXIT = re.compile(r"^KT: memhog pid=\d+ exit status (\d+)$", re.M)
_VERIFIED = re.compile(r"^memhog(\[child\])?: verified (\d+) pages .*: (\d+) bad$", re.M)
_SWAP_FAULT = re.compile(r"-(\d+)\s+\(.*\bdo_swap_page: .*\borig_pte=(0x[0-9a-f]+)")
_OVERRUN = re.compile(r"^KT: (cpu\d+) (overrun|commit overrun): (\d+)$", re.M)

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


def _outcome_problems(s: Scenario, r: Result) -> list[str]:
    exits = [int(x) for x in _EXIT.findall(r.log)]
    if not exits:
        return ["the workload never finished (no 'exit status' line in the log)"]
    status = exits[-1]
    verified = _VERIFIED.findall(r.log)
    problems: list[str] = []
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
    expected_lines = 2 if "-f" in s.workload.split() else 1
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
    if misses:
        found.append(f"kprobe misses {misses}: {MISSES_FIX}")
    if not r.kprobe_profile.strip():
        found.append("kprobe_profile is empty: the probes were not installed")
    overruns = [(cpu, kind, n) for cpu, kind, n in _OVERRUN.findall(r.log) if int(n) > 0]
    if overruns:
        found.append(f"ring buffer overrun {overruns}: {OVERRUN_FIX}")
    return found
