"""Drive one capture: prepare the kernel and initramfs, boot QEMU once, collect and check.

While QEMU runs, the guest's console is followed and its ``KT:`` milestones (``/init``, each
scenario, the results) are printed as progress. Each trace is then checked with
``kmodel.trace.check_trace``; the capture fails on a divergence.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TextIO

import attrs

from kmodel.capture import guest, initramfs, probes, qemu, recorders, verify
from kmodel.capture.hosttools import TOOLS, find_tool, require_tools
from kmodel.capture.kernel import Kernel, prepare
from kmodel.capture.scenarios import BLKDEBUG_RULES, Scenario, blkdebug_config
from kmodel.errors import KmodelError

SUFFIXES = ("trace.txt", "log.txt", "dmesg.txt", "kprobe_profile.txt")
_SECONDS = re.compile(r"^KT: scenario \S+ seconds ([\d.]+)$", re.M)
#: Divergences ``kmodel check`` collects per captured trace before it stops reading: enough
#: that the count printed is the trace's own, not a cut-off.
CHECK_MAX_DIVERGENCES = 1000
_MILESTONE = re.compile(r"^KT: (init at|scenario|results)\b.*$")


@attrs.frozen
class Checked:
    """What ``kmodel check`` said about one captured trace."""

    conformant: bool
    verdict: str
    divergences: int
    first: tuple[str, ...]  # the first divergences, one line each: line number and message
    events: int
    unknown: int  # events the checker could not decide (sum of its ``unknown:*`` counts)
    checks: int = 0  # outcomes the checker compared with the model (its ``checks`` count)
    #: Of them, request completions (``checks:requests``): block_rq_* events and whole
    #: "I/O error" console lines, which only a tracefs recording has.
    request_checks: int = 0

    @property
    def unknown_share(self) -> float:
        """unknown / events."""
        return self.unknown / self.events if self.events else 0.0


@attrs.frozen
class Report:
    """How one scenario went: guest-side seconds and the problems found (none = passed)."""

    name: str
    seconds: float
    problems: tuple[str, ...]
    ties: verify.Ties = attrs.field(factory=lambda: verify.Ties(0, 0))
    misses: dict[str, int] = attrs.field(factory=dict)
    events: int = 0
    check: Checked | None = None
    host_seconds: float = 0.0  # wall time between this scenario's console milestone and the next
    recorded: Checked | None = None  # kmodel check of the --recorder's text of the same run


def _probes_6_1(kernel: Kernel) -> list[str]:
    return probes.kprobe_events()


@attrs.frozen
class KernelLine:
    """What differs between the kernel lines a capture boots: 6.1 (the defaults) or 6.12
    (:mod:`kmodel.capture.kernel612`)."""

    prepare: Callable[[Path], Kernel] = prepare
    kprobes: Callable[[Kernel], list[str]] = _probes_6_1  # checked against the image first
    modules: tuple[str, ...] = initramfs.GUEST_MODULES
    #: The same probes in register + offset syntax, for kmodel's bpftrace script (None: the
    #: ``kprobes`` lines are already so, as 6.1's are).
    offset_kprobes: Callable[[Kernel], list[str]] | None = None
    name: str = "6.1"  # the kernel line (kmodel check --kernel)


@attrs.frozen
class Capture:
    """A whole run: the kernel used, the wall time of preparation and boot, the reports."""

    kernel: Kernel
    prepare_seconds: float
    boot_seconds: float
    reports: tuple[Report, ...]
    init_seconds: float = 0.0  # wall time from QEMU start to the guest's /init milestone
    tail_seconds: float = 0.0  # wall time from the last scenario's end to QEMU's exit


def build_workload(cache: Path) -> Path:
    """Compile workload.c statically into the cache (keyed by its hash) and return the binary."""
    source = resources.files("kmodel.capture").joinpath("workload.c").read_bytes()
    binary = cache / f"memhog-{hashlib.sha256(source).hexdigest()[:12]}"
    if binary.is_file():
        return binary
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "workload.c"
        src.write_bytes(source)
        res = subprocess.run(
            ["gcc", "-static", "-O2", "-Wall", "-o", str(Path(tmp) / "memhog"), str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode == 0:
            part = binary.with_name(f"{binary.name}.{os.getpid()}.part")
            shutil.move(Path(tmp) / "memhog", part)
            part.replace(binary)  # atomic: concurrent runs may share the cache
    if res.returncode != 0:
        raise KmodelError(
            f"gcc -static failed for workload.c (is libc6-dev installed?):\n{res.stderr.strip()}"
        )
    return binary


def dynamic_binary(path: str) -> dict[str, Path]:
    """Return *path* and the shared libraries ``ldd`` lists for it, keyed by guest path."""
    res = subprocess.run(["ldd", path], capture_output=True, text=True, check=False)
    files = {path: Path(path)}
    for match in re.finditer(r"(?:=>\s*)?(/\S+)\s+\(0x", res.stdout):
        files[match.group(1)] = Path(match.group(1)).resolve()
    return files


def _binaries(workload: Path) -> dict[str, Path]:
    tools = {t.name: find_tool(t) for t in TOOLS}
    busybox, dmsetup = tools["busybox"], tools["dmsetup"]
    if busybox is None or dmsetup is None:
        raise KmodelError("busybox or dmsetup vanished since the tool check")
    binaries = {"/bin/busybox": Path(busybox), "/bin/memhog": workload}
    binaries.update(dynamic_binary(dmsetup))
    return binaries


def _read_results(image: Path) -> dict[str, str]:
    data = image.read_bytes()
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return {
                Path(m.name).name: tar.extractfile(m).read().decode(errors="replace")  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    except tarfile.TarError as exc:
        raise KmodelError(f"the guest wrote no results archive ({exc})") from None


class _Console:
    """Follows the guest console file; reports each new ``KT:`` milestone with its wall time."""

    def __init__(self, path: Path, t0: float, say: Callable[[str], None]) -> None:
        self.path, self.t0, self.say = path, t0, say
        self.offset = 0
        self.partial = ""
        self.milestones: list[tuple[float, str]] = []

    def poll(self) -> None:
        if not self.path.is_file():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self.partial + data.decode(errors="replace")).split("\n")
        self.partial = lines.pop()
        now = time.monotonic() - self.t0
        for line in lines:
            if _MILESTONE.match(line.strip()):
                self.milestones.append((now, line.strip()))
                self.say(f"[{now:6.1f} s] {line.strip().removeprefix('KT: ')}")


def _boot(
    argv: list[str], work: Path, timeout: float, say: Callable[[str], None]
) -> tuple[float, list[tuple[float, str]]]:
    t0 = time.monotonic()
    console = _Console(work / "console.log", t0, say)
    say(f"[{0.0:6.1f} s] booting the kernel in QEMU ({argv[2]}, -smp 2)")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        while proc.poll() is None:
            if time.monotonic() - t0 > timeout:
                proc.kill()
                proc.wait()
                raise KmodelError(
                    f"QEMU did not finish within {timeout:.0f} s. Console tail:\n"
                    + _tail(work / "console.log")
                )
            console.poll()
            time.sleep(0.2)
        console.poll()
        stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise KmodelError(
            f"QEMU exited with status {proc.returncode}: {stderr.strip()[-800:]}\n"
            + _tail(work / "console.log")
        )
    return time.monotonic() - t0, console.milestones


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return "(no console output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _write_outputs(
    s: Scenario, results: dict[str, str], out_dir: Path, kernel: Kernel, accel: str
) -> verify.Result:
    texts = {suffix: results.get(f"{s.name}.{suffix}", "") for suffix in SUFFIXES}
    texts["kprobe_profile.txt"] = verify.profile_delta(
        results.get(f"{s.name}.kprobe_profile.before", ""), texts["kprobe_profile.txt"]
    )
    header = (
        f"# kmodel capture: scenario={s.name} kernel={kernel.package} version={kernel.version} "
        f"accel={accel}\n# kernel: {upstream_version(kernel.version)}\n"
    ) + results.get(f"{s.name}.header.txt", "")
    texts["trace.txt"] = header + texts["trace.txt"]
    texts["log.txt"] = (
        f"KT: kmodel capture scenario {s.name}: {s.summary}\n"
        f"KT: kernel {kernel.label}\n" + texts["log.txt"]
    )
    for suffix, text in texts.items():
        (out_dir / f"{s.name}.{suffix}").write_text(text)
    if s.device.removeprefix("@") in BLKDEBUG_RULES:
        rules = BLKDEBUG_RULES[s.device.removeprefix("@")]
        (out_dir / f"{s.name}.blkdebug.conf").write_text(blkdebug_config(*rules))
    return verify.Result(
        texts["log.txt"], texts["trace.txt"], texts["dmesg.txt"], texts["kprobe_profile.txt"]
    )


def upstream_version(version: str) -> str:
    """The kernel version of a Debian package version: ``6.12.118-1`` -> ``6.12.118``."""
    match = re.match(r"\d+\.\d+(\.\d+)?", version)
    return match.group(0) if match else version


def check(trace: Path, profile: Path | None = None) -> Checked:
    """Run ``kmodel check`` (the public ``check_trace``) on a captured trace; summarise it.

    ``profile``: the run's kprobe_profile (default: the scenario's beside ``trace``, as
    `kmodel check` reads it): what a missed probe hit may explain is unknown, not divergent.
    A recorder's recording of the run is checked with the same profile (one set of kprobes).
    """
    from kmodel.trace import check_trace  # the checker is only needed once traces exist
    from kmodel.trace.parse import read_kprobe_profile

    if profile is None:
        profile = trace.with_name(trace.name.removesuffix(".trace.txt") + ".kprobe_profile.txt")
    try:
        missed = read_kprobe_profile(str(profile)) if profile.is_file() else None
        report = check_trace(trace, max_divergences=CHECK_MAX_DIVERGENCES, missed=missed)
    except (KmodelError, OSError) as exc:  # TraceFormatError is a KmodelError
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Checked(False, f"{trace}: cannot check: {error}", 1, (error,), 0, 0)
    first = tuple(f"line {d.lineno}: {d.message}" for d in report.divergences[:3])
    unknown = sum(v for k, v in report.counts.items() if k.startswith("unknown:"))
    return Checked(
        report.conformant,
        report.verdict,
        len(report.divergences),
        first,
        report.counts.get("events", 0),
        unknown,
        report.counts.get("checks", 0),
        report.counts.get("checks:requests", 0),
    )


def _host_seconds(
    milestones: list[tuple[float, str]], names: list[str], boot_seconds: float
) -> tuple[float, dict[str, float], float]:
    """Split the boot's wall time: to /init, per scenario (milestone to milestone), the tail."""
    init = next((t for t, line in milestones if line.startswith("KT: init at")), 0.0)
    marks = [(t, line.split()[2]) for t, line in milestones if line.startswith("KT: scenario ")]
    ends = [t for t, _ in marks[1:]]
    ends.append(next((t for t, ln in milestones if ln.startswith("KT: results")), boot_seconds))
    per = {name: end - t for (t, name), end in zip(marks, ends, strict=True) if name in names}
    tail = boot_seconds - (ends[-1] if marks else init)
    return init, per, tail


def capture(
    scenarios: list[Scenario],
    out_dir: Path,
    cache: Path,
    accel: str = "tcg",
    keep_work: bool = False,
    trace_clock: str = probes.TRACE_CLOCK,
    progress: TextIO | None = None,
    run_check: bool = True,
    line: KernelLine = KernelLine(),
    recorder: str = "tracefs",
) -> Capture:
    """Run *scenarios* in one boot; write their files to *out_dir*; return what happened.

    *progress* receives one line per step (kernel preparation, boot milestones, checks).
    *recorder* (:mod:`kmodel.capture.recorders`) records each scenario a second way too.
    """

    def say(text: str) -> None:
        if progress is not None:
            print(text, file=progress, flush=True)

    require_tools()
    rec = recorders.get(recorder)
    if rec is not None:
        recorders.host_program(rec)  # a missing package stops the run before anything else
    t0 = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    say("preparing the kernel and the workload (first run: download and unpack)")
    kernel = line.prepare(cache)
    kprobes = line.kprobes(kernel)
    workload = build_workload(cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kmodel-capture-"))
    try:
        files = guest.guest_files(
            initramfs.boot_modules(kernel.modules_dir, line.modules), scenarios, trace_clock
        )
        files["/kprobes.txt"] = "\n".join(kprobes) + "\n"
        if rec is not None and line.offset_kprobes is not None:
            files.update(recorders.guest_files(rec, line.offset_kprobes(kernel), line.name))
        else:
            files.update(recorders.guest_files(rec, kprobes, line.name))
        binaries = {**_binaries(workload), **recorders.binaries(rec)}
        image = initramfs.build(kernel.modules_dir, binaries, files, line.modules)
        (work / "initramfs.cpio").write_bytes(image)
        argv = qemu.command(work, kernel.vmlinux, work / "initramfs.cpio", accel)
        argv = recorders.qemu_argv(rec, argv)
        prepare_seconds = time.monotonic() - t0
        timeout = 90 + 30 * len(scenarios) + recorders.timeout_seconds(rec, len(scenarios))
        boot_seconds, milestones = _boot(argv, work, timeout=timeout, say=say)
        shutil.copyfile(work / "console.log", out_dir / "console.log")
        results = _read_results(work / "out.img")
        init, per, tail = _host_seconds(milestones, [s.name for s in scenarios], boot_seconds)
        reports = []
        for s in scenarios:
            result = _write_outputs(s, results, out_dir, kernel, accel)
            seconds = _SECONDS.findall(result.log)
            checked = None
            if run_check and result.trace.strip():
                say(f"checking {s.name}.trace.txt with kmodel check")
                checked = check(out_dir / f"{s.name}.trace.txt")
            problems, recorded = list(verify.problems(s, result)), None
            if rec is not None:
                text, bad = recorders.save(rec, s.name, work / "out.img", out_dir)
                problems += bad
                if run_check and text is not None:
                    say(f"checking {text.name} with kmodel check")
                    recorded = check(text, out_dir / f"{s.name}.kprobe_profile.txt")
                    if checked is not None:
                        problems += recorders.disagreement(rec, checked, recorded)
            reports.append(
                Report(
                    s.name,
                    float(seconds[-1]) if seconds else 0.0,
                    tuple(problems),
                    verify.clock_ties(result.trace),
                    verify.kprobe_misses(result.kprobe_profile),
                    verify.event_lines(result.trace),
                    checked,
                    per.get(s.name, 0.0),
                    recorded,
                )
            )
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    return Capture(kernel, prepare_seconds, boot_seconds, tuple(reports), init, tail)
