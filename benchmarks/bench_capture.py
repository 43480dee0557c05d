"""(6) Capture: `kmodel capture` of every default scenario of Linux 6.1 and of 6.12, each in
one QEMU boot, run here (or read from saved outputs with ``--capture-log``): the boot and
per-scenario split, the total against target 5, and the model vs the kernel per scenario
(target 6): `kmodel simulate` of each scenario the simulator knows, for as many events as
the kernel's trace had, against that scenario's wall time in QEMU (its share of the boot
excluded; the model's time is the wall time of a fresh `kmodel simulate` process, its
start-up included).

Target: all scenarios of one kernel in <= 60 s warm on 2 cores. The total is the harness'
own (prepare + boot and run, as `kmodel capture` prints it); the wall time of the whole
command, which also checks each trace with `kmodel check` after the boot, is printed beside
it. "Warm": the kernel image and the workload are in the cache (~/.cache/kmodel); a run
whose prepare took more than WARM_PREPARE_S built or fetched something and is run again,
the second run measured. The captured files stay in the work directory (capture-6.1/,
capture-6.12/, emptied first): a scenario that failed, or a trace that `kmodel check` did
not find conformant, is named with its first problem and the check's verdict, and its files
are there to look at.

The readerr_blkdebug comparison that section 4 once made in a boot of its own is folded in
here: it is one of the scenarios compared, in the same boot as the others.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import Child, python, run_child

_TOTAL = re.compile(r"^prepare: ([\d.]+) s, boot and run: ([\d.]+) s \(to /init ([\d.]+) s, "
                    r"scenarios ([\d.]+) s, results and power-off ([\d.]+) s\)", re.M)
_SCENARIO = re.compile(r"^  (\S+)\s+([\d.]+) s guest\s+([\d.]+) s wall\s+(\d+) events"
                       r".*?(\S+)$", re.M)
_KERNEL = re.compile(r"^kernel: (.+)$", re.M)
_CHECK = re.compile(r"^      kmodel check: \S+: (\w+):", re.M)
KERNELS = ("6.1", "6.12")
#: A warm prepare takes well under a second (the image unpacked, the workload built).
WARM_PREPARE_S = 5.0


@dataclass(frozen=True)
class Capture:
    """One `kmodel capture` output: where it came from, its text, the command's run if it
    was run here (None when read from a saved log)."""

    source: str
    text: str
    child: Child | None = None
    note: str = ""
    out: Path | None = None  # where the files are, when run here


def _simulated() -> set[str]:
    from kmodel.scenarios import SCENARIOS

    return set(SCENARIOS)


def kernel_of(text: str) -> str:
    """'6.12' when the output's ``kernel:`` line names a 6.12 image, else '6.1'."""
    m = _KERNEL.search(text)
    return "6.12" if m is not None and "6.12" in m.group(1) else "6.1"


def capture(kernel: str, out: Path) -> Capture:
    """Run `kmodel capture` of all the default scenarios of ``kernel`` into ``out``."""
    argv = python("-m", "kmodel", "capture", "-o", str(out),
                  *(("--kernel", kernel) if kernel != "6.1" else ()))
    child = run_child(argv, check=False)
    note = ""
    total = _TOTAL.search(child.stdout)
    if total is not None and float(total.group(1)) > WARM_PREPARE_S:
        note = (f"the first run's prepare took {float(total.group(1)):.1f} s (not warm): "
                "measured a second run")
        child = run_child(argv, check=False)
    return Capture(f"kmodel capture{' --kernel ' + kernel if kernel != '6.1' else ''}",
                   child.stdout, child, note, out)


def report(cap: Capture) -> list[str]:
    """The split, per scenario its times and the model vs kernel ratio, the total."""
    kernel = kernel_of(cap.text)
    tag = f"[capture {kernel}]"
    total = _TOTAL.search(cap.text)
    if total is None:
        why = ""
        if cap.child is not None:
            last = (cap.child.stderr.strip().splitlines() or [""])[-1]
            why = f" (exited {cap.child.status}{': ' + last if last else ''})"
        return [f"{tag} {cap.source}: no 'prepare: ... boot and run: ...' line{why}"]
    prepare, boot_run, init, scen, tail = map(float, total.groups())
    named = _KERNEL.search(cap.text)
    lines = [f"{tag} {cap.source} ({named.group(1) if named else 'kernel not named'}): "
             f"prepare {prepare:.1f} s, boot to /init {init:.1f} s, scenarios {scen:.1f} s, "
             f"results and power-off {tail:.1f} s"]
    saved = re.search(r"; files in (\S+)$", cap.text, re.M)
    files = str(cap.out) if cap.out is not None else saved.group(1) if saved else ""
    if cap.note:
        lines.append(f"{tag} {cap.note}")
    known = _simulated()
    verdicts = _CHECK.findall(cap.text)
    found = _SCENARIO.findall(cap.text)
    compared = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, guest, wall, events, status in found:
            line = (f"{tag}   {name:<18} {float(guest):6.2f} s guest {float(wall):6.2f} s "
                    f"wall {int(events):6d} events {status}")
            if name in known and int(events):
                model = run_child(python(
                    "-m", "kmodel", "simulate", "--scenario", name, "--events", events,
                    *(("--kernel", kernel) if kernel != "6.1" else ()),
                    "-o", f"{tmp}/{name}.txt"))
                line += (f"; model {model.wall:5.2f} s wall: kernel/model "
                         f"{float(wall) / model.wall:5.1f}x")
                compared += 1
            lines.append(line)
            if status != "ok":
                lines.append(f"{tag}     {name}: {_why(cap.text, name)}")
    lines.append(f"{tag} {len(found)} scenarios, {compared} of them compared with the model "
                 f"(the simulator knows {len(known)}); kmodel check of the traces: "
                 f"{verdicts.count('conformant')} conformant of {len(verdicts)}"
                 f"{'; files in ' + files if files else ''}")
    wall = "" if cap.child is None else \
        f"; the whole command {cap.child.wall:.1f} s wall (with kmodel check of each trace)"
    lines.append(f"{tag} total prepare + boot and run = {prepare + boot_run:.1f} s "
                 f"(target <= 60 s warm){wall}")
    return lines


def _why(text: str, name: str) -> str:
    """A failed scenario's first problem and its traces' check verdict, from its block of
    `kmodel capture`'s output (the lines below its own, up to the next scenario's)."""
    block = re.search(rf"^  {re.escape(name)} .*\n((?:    .*\n?)*)", text, re.M)
    body = block.group(1) if block else ""
    problem = re.search(r"^      - (.*)$", body, re.M)
    verdict = re.search(r"^      kmodel check: (?:\S+: )?(\w+)", body, re.M)
    return "; ".join([f"problem: {problem.group(1)}" if problem else "no problem listed",
                      f"kmodel check: {verdict.group(1) if verdict else 'not run'}"])


def run(logs: list[Path] | None = None, *, capture_now: bool = False,
        workdir: Path | None = None) -> list[str]:
    """From saved outputs (``logs``), else from captures run now (``capture_now``) into
    ``workdir``/capture-KERNEL (a temporary directory without ``workdir``)."""
    if logs:
        return [line for log in logs for line in report(Capture(log.name, log.read_text()))]
    if not capture_now:
        return ["[capture] not measured (--quick or --no-capture): run without them, or give "
                "--capture-log FILE (the saved output of `kmodel capture`)"]
    if shutil.which("qemu-system-x86_64") is None:
        return ["[capture] not measured: qemu-system-x86_64 not found"]
    lines: list[str] = []
    for kernel in KERNELS:
        if workdir is None:
            with tempfile.TemporaryDirectory() as tmp:
                lines += report(capture(kernel, Path(tmp)))
            continue
        out = workdir / f"capture-{kernel}"
        shutil.rmtree(out, ignore_errors=True)  # the bench's own directory: no stale files
        out.mkdir(parents=True)
        lines += report(capture(kernel, out))
    return lines
