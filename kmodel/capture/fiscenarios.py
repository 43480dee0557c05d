"""Fault-injection scenarios, run on the fault-injection kernels (:mod:`.fikernel`): 6.1.176
(``kmodel capture --kernel 6.1-fi``) or 6.12.118 (``--kernel 6.12-fi``, the 6.12 probes of
:mod:`.probes612` from the build's own BTF).

Each scenario is a capture :class:`~kmodel.capture.scenarios.Scenario` whose guest shell sets
the kernel's own fault-injection knobs (debugfs ``fail_make_request``, ``fail_page_alloc``,
``fail_function``; ``/sys/block/<disk>/make-it-fail``; ``/proc/<pid>/fail-nth`` and
``make-it-fail``) after the workload has filled its memory and before it reads it back, and
records them: the knobs as the kernel reads them back are appended to the trace header as
``# fault-inject: NAME knob=value ...`` lines (and to the log), and the kernel's notices
(``FAULT_INJECTION: forcing a failure.``) reach the trace through ``printk:console``.

Every scenario first puts each attr back to ``FAULT_ATTR_INITIALIZER`` and the
fail_page_alloc filters to their defaults, so the order of scenarios does not matter.
``probability`` between 1 and 99 draws from the kernel's ``prandom_u32_max(100)``
(lib/fault-inject.c:139), per-CPU state seeded from the boot's entropy: user space cannot seed
it, so such a run is not reproducible; ``times`` bounds it.

This kernel comes up with one CPU under QEMU (no ACPI, and the BIOS's MP table lists one
processor; ``#P:1`` in the traces), so the disk's completion interrupt can arrive while a
kprobe handler runs on that CPU: kprobe misses are recorded (``kprobe_profile``, the
checker's "missed probe hits"), not a failure of the scenario.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

import attrs

from kmodel.capture import fikernel, guest, initramfs, probes, probes612, run, verify
from kmodel.capture.btf import Btf, BtfError
from kmodel.capture.hosttools import TOOLS, find_tool
from kmodel.capture.scenarios import Outcome, Scenario
from kmodel.errors import KmodelError

D = "/sys/kernel/debug"
ATTRS = ("fail_make_request", "fail_page_alloc", "failslab", "fail_function")
KNOBS = ("probability", "interval", "times", "space", "verbose", "task-filter")
_NOTICE = "FAULT_INJECTION: forcing a failure."

_MOUNT = f"[ -d {D}/fail_make_request ] || mount -t debugfs debugfs {D}"
# FAULT_ATTR_INITIALIZER (include/linux/fault-inject.h:38-46) for every attr, and the
# fail_page_alloc filters as mm/page_alloc.c:3929-3934 sets them.
_RESET = "; ".join(
    [_MOUNT, f"echo > {D}/fail_function/inject"]
    + [f"echo {v} > {D}/{a}/{k}" for a in ATTRS for k, v in
       (("probability", 0), ("interval", 1), ("times", 1), ("space", 0), ("verbose", 2),
        ("task-filter", "N"))]
    + [f"echo {v} > {D}/fail_page_alloc/{k}" for k, v in
       (("ignore-gfp-wait", "Y"), ("ignore-gfp-highmem", "Y"), ("min-order", 1))]
    + ["echo 0 > /sys/block/${SWAPDISK#/dev/}/make-it-fail", "echo 3 > /proc/sys/vm/page-cluster",
       f"echo {guest.MEMORY_MAX} > $CG/memory.max"]
)


def _set(attr: str, **knobs: object) -> str:
    """Shell writing *knobs* of one attr (``task_filter`` is ``task-filter``)."""
    return " && ".join(f"echo {v} > {D}/{attr}/{k.replace('_', '-')}" for k, v in knobs.items())


def _record(*names: str) -> str:
    """Shell appending each attr's knobs as the kernel reads them back to the trace header."""
    lines = []
    for a in names:
        knobs = " ".join(f"{k}=$(cat {D}/{a}/{k})" for k in KNOBS)
        if a == "fail_page_alloc":
            knobs += " " + " ".join(f"{k}=$(cat {D}/{a}/{k})" for k in
                                    ("ignore-gfp-wait", "ignore-gfp-highmem", "min-order"))
        if a == "fail_function":
            knobs += f" inject=$(cat {D}/{a}/inject | tr '\\n' ,)"
        lines.append(f'echo "# fault-inject: {a} {knobs}"')
    lines.append('echo "# fault-inject: make-it-fail $blk=$(cat /sys/block/$blk/make-it-fail)'
                 ' tasks=$(for p in $pids; do printf %s/%s, $p "$(cat /proc/$p/make-it-fail)";'
                 ' done) fail-nth=$(for p in $pids; do printf %s/%s, $p'
                 ' "$(cat /proc/$p/fail-nth)"; done) memory.max=$(cat $CG/memory.max)'
                 ' page-cluster=$(cat /proc/sys/vm/page-cluster)"')
    return "{ " + "; ".join(lines) + "; } | tee -a $out.header.txt"


def _arm_disk() -> str:
    return "echo 1 > /sys/block/$blk/make-it-fail"


def _tasks(knob: str, value: object) -> str:
    """Shell writing /proc/<pid>/KNOB of every workload."""
    return f"for p in $pids; do echo {value} > /proc/$p/{knob}; done"


@attrs.frozen
class FiScenario:
    """A capture scenario plus what the kernel's fault injection must have printed."""

    scenario: Scenario
    #: How many ``FAULT_INJECTION: forcing a failure.`` notices dmesg may hold, (min, max):
    #: a read failure kills the workload (SIGBUS) at its first failed page, which may come
    #: before ``times`` failures were spent.
    notices: tuple[int, int]
    #: The attr named in the notices.
    attr: str
    #: Regexes dmesg must match.
    dmesg: tuple[str, ...] = ()
    #: Each notice is one failed swap bio: as many Read-error/Write-error alerts.
    one_alert_per_notice: bool = True

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name


_READ_ERR = (r"end_swap_bio_read: .* bi_status=[1-9]",)
_WRITE_ERR = (r"end_swap_bio_write: .* bi_status=[1-9]",)
_CONSOLE = r"console: .*FAULT_INJECTION: forcing a failure\."


# Read-back without reclaim: only swap-in reads reach fail_make_request (no writes).
_NO_RECLAIM = "echo max > $CG/memory.max"


def _mkreq(name: str, summary: str, notices: tuple[int, int], **knobs: object) -> FiScenario:
    """fail_make_request on the swap disk, armed after the fill, with *knobs*."""
    arm = " && ".join([_NO_RECLAIM, _set("fail_make_request", verbose=1, **knobs),
                       _arm_disk()])
    return FiScenario(
        Scenario(name, summary, "@ktswap", Outcome.READ_ERROR, setup=_RESET, misses_allowed=True,
                 midway=arm + " && " + _record("fail_make_request"), teardown=_RESET,
                 expect=(*_READ_ERR, _CONSOLE)),
        notices, "fail_make_request", (r"Read-error on swap-device",))


# The second workload of fi_mkreq_write: it fills WRITER_MIB in the cgroup, whose
# memory.max is raised to WRITE_MEMORY_MAX first, so reclaim writes (its own pages) while
# fail_make_request is armed; its lines are prefixed so that verify counts only the first
# workload's. At the capture's 512K limit (guest.MEMORY_MAX) the first workload alone kept
# the cgroup at 480K (memory.current=491520 after its fill), and the charges reclaim cannot
# write out (the second task's stack, page tables, slab, pages under writeback) left memcg
# reclaim too little to free: the memcg OOM-killed a workload (exit 137) in 1 of 2 CI runs.
# With 2M and a 4 MiB writer, reclaim still writes (the writer overshoots the limit by 2 MiB)
# while the unreclaimable charges stay a small share of the limit.
WRITE_MEMORY_MAX = "2M"
WRITER_MIB = 4
_WRITER = (f"sh -c \"echo \\$\\$ > $CG/cgroup.procs && exec /bin/memhog -m {WRITER_MIB}\" 2>&1"
           " | sed 's/^/KT: writer: /'")

FI_SCENARIOS: tuple[FiScenario, ...] = (
    _mkreq("fi_mkreq_times",
           "fail_make_request probability 100 times 3: the first 3 reads fail (until SIGBUS)",
           (1, 3), probability=100, interval=1, times=3),
    FiScenario(
        Scenario("fi_mkreq_write", "fail_make_request times 2 during reclaim: write errors, "
                 "pages re-dirtied, no data lost", "@ktswap", Outcome.WRITE_ERROR,
                 setup=_RESET, misses_allowed=True,
                 midway=" && ".join([f"echo {WRITE_MEMORY_MAX} > $CG/memory.max",
                                     _set("fail_make_request", verbose=1, probability=100,
                                          times=2), _arm_disk(), _record("fail_make_request"),
                                     _WRITER, "echo 0 > /sys/block/$blk/make-it-fail"]),
                 teardown=_RESET, expect=(*_WRITE_ERR, _CONSOLE)),
        (2, 2), "fail_make_request", (r"Write-error on swap-device",)),
    _mkreq("fi_mkreq_interval",
           "fail_make_request interval 5 times 2: the 5th and 10th read (until SIGBUS)",
           (1, 2), probability=100, interval=5, times=2),
    _mkreq("fi_mkreq_space",
           "fail_make_request space 65536 (bytes): 15 bios of 4096 pass, the 16th fails",
           (1, 1), probability=100, space=65536, times=1),
    _mkreq("fi_mkreq_prob50", "fail_make_request probability 50 times 4 (prandom: unseeded)",
           (1, 4), probability=50, times=4),
    FiScenario(
        Scenario("fi_failnth", "fail-nth 2 on the faulting task, page-cluster 0: "
                 "should_fail_bio of its first read", "@ktswap", Outcome.READ_ERROR,
                 misses_allowed=True, setup=_RESET + " && echo 0 > /proc/sys/vm/page-cluster",
                 midway=" && ".join([_NO_RECLAIM, _set("fail_make_request", verbose=1),
                                     _arm_disk(), _tasks("fail-nth", 2),
                                     _record("fail_make_request")]),
                 teardown=_RESET, expect=(*_READ_ERR, _CONSOLE)),
        (1, 1), "fail_make_request", (r"Read-error on swap-device",)),
    FiScenario(
        Scenario("fi_function", "fail_function should_fail_bio retval -5 times 2",
                 "@ktswap", Outcome.READ_ERROR, setup=_RESET, misses_allowed=True,
                 midway=" && ".join([_NO_RECLAIM,
                                     f"echo should_fail_bio > {D}/fail_function/inject",
                                     f"printf %#x -5 > {D}/fail_function/should_fail_bio/retval",
                                     _set("fail_function", verbose=1, probability=100, times=2),
                                     _record("fail_function")]),
                 teardown=_RESET, expect=(*_READ_ERR, _CONSOLE)),
        (1, 2), "fail_function", (r"Read-error on swap-device",)),
    FiScenario(
        Scenario("fi_page_alloc_default", "fail_page_alloc probability 100 on the workload, "
                 "default filters: order-0 swap-in allocations never fail", "@ktswap",
                 Outcome.OK, setup=_RESET, misses_allowed=True,
                 midway=" && ".join([_set("fail_page_alloc", verbose=1, probability=100,
                                          times=-1, task_filter="Y"), _tasks("make-it-fail", 1),
                                     _record("fail_page_alloc")]),
                 teardown=_RESET, forbid=(_CONSOLE,)),
        (0, 0), "fail_page_alloc"),
    FiScenario(
        Scenario("fi_page_alloc_relaxed", "fail_page_alloc filters relaxed, times 1, "
                 "page-cluster 0: the swap-in allocation fails, VM_FAULT_OOM, the fault is "
                 "retried", "@ktswap", Outcome.OK, misses_allowed=True,
                 setup=_RESET + " && echo 0 > /proc/sys/vm/page-cluster",
                 midway=" && ".join([_set("fail_page_alloc", verbose=1, probability=100,
                                          times=1, task_filter="Y", ignore_gfp_wait="N",
                                          ignore_gfp_highmem="N", min_order=0),
                                     _tasks("make-it-fail", 1), _record("fail_page_alloc")]),
                 teardown=_RESET, expect=(_CONSOLE,)),
        (1, 1), "fail_page_alloc", (r"Huh VM_FAULT_OOM leaked out to the #PF handler",),
        one_alert_per_notice=False),
)


def by_name(names: list[str]) -> list[FiScenario]:
    """The FI scenarios named, in the order given; a clear error for an unknown name."""
    known = {s.name: s for s in FI_SCENARIOS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KmodelError(f"unknown fault-injection scenario(s) {', '.join(unknown)}; "
                          f"known: {', '.join(known)}")
    return [known[n] for n in names]


_NO_SIGBUS_LINE = "the workload printed no SIGBUS line"
_SIGBUS_SENT = re.compile(r"signal_generate: sig=7 .*comm=memhog ")


def outcome_problems(s: FiScenario, result: verify.Result) -> list[str]:
    """``verify.problems``, except a SIGBUS the trace shows the kernel sent counts as one.

    A failed read may hit the workload's own stack: its SIGBUS handler then faults on the
    same failed page and the process dies without printing (a second SIGBUS).
    """
    found = verify.problems(s.scenario, result)
    if _NO_SIGBUS_LINE in found and _SIGBUS_SENT.search(result.trace):
        found.remove(_NO_SIGBUS_LINE)
    return found


def notice_problems(s: FiScenario, dmesg: str) -> list[str]:
    """How the kernel's fault-injection notices differ from what *s* expects."""
    notices = dmesg.count(_NOTICE)
    named = len(re.findall(rf"^(?:\[[^]]*\] )?name {s.attr}, interval", dmesg, re.M))
    low, high = s.notices
    found = []
    if not (low <= notices <= high and named == notices):
        want = f"{low}" if low == high else f"{low} to {high}"
        found.append(f"{notices} fault-injection notice(s) ({named} naming {s.attr}), "
                     f"expected {want}")
    alerts = len(re.findall(r"(?:Read|Write)-error on swap-device", dmesg))
    if s.one_alert_per_notice and alerts != notices:
        found.append(f"{alerts} Read-/Write-error alert(s) for {notices} notice(s)")
    if "callbacks suppressed" in dmesg and "fail_dump" in dmesg:
        found.append("fail_dump was ratelimited: 'fail_dump: N callbacks suppressed'")
    found += [f"dmesg has no line matching {rx!r}" for rx in s.dmesg
              if not re.search(rx, dmesg)]
    return found


# -- running them --------------------------------------------------------------------------

KERNEL_CMDLINE = "console=ttyS0 loglevel=4 panic=-1 rdinit=/init"


def initramfs_image(binaries: dict[str, Path], files: dict[str, str]) -> bytes:
    """The initramfs for the fault-injection kernel: everything is built in, no modules."""
    members = [(g, h.read_bytes()) for g, h in binaries.items()]
    members += [(g, text.encode()) for g, text in files.items()]
    dirs = {"dev", "proc", "sys", "tmp", "out", "bin"}
    for path, _ in members:
        parts = path.strip("/").split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    entries = [initramfs.directory(d) for d in sorted(dirs)]
    entries += [initramfs.Entry(g.lstrip("/"), data, 0o755) for g, data in sorted(members)]
    entries += [initramfs.symlink(f"bin/{a}", "busybox") for a in initramfs.BUSYBOX_APPLETS]
    return initramfs.newc_archive(entries)


def qemu_command(work: Path, kernel: fikernel.FiKernel, accel: str) -> list[str]:
    """qemu-system-x86_64 for the bzImage: the swap disk ``ktswap`` and results ``ktout``."""
    argv = ["qemu-system-x86_64", "-accel", accel, "-m", "512M", "-smp", "2",
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{work / 'console.log'}", "-kernel", str(kernel.bzimage),
            "-initrd", str(work / "initramfs.cpio"), "-append", KERNEL_CMDLINE]
    for serial, mib in (("ktswap", 64), ("ktout", 128)):
        img = work / f"{serial}.img"
        with img.open("wb") as f:
            f.truncate(mib << 20)
        argv += ["-drive", f"if=none,id={serial},file={img},format=raw,cache=unsafe",
                 "-device", f"virtio-blk-pci,drive={serial},num-queues=1,serial={serial}"]
    return argv


def _write_outputs(s: FiScenario, results: dict[str, str], out_dir: Path,
                   kernel: fikernel.FiKernel, accel: str) -> verify.Result:
    texts = {suffix: results.get(f"{s.name}.{suffix}", "") for suffix in run.SUFFIXES}
    spec = kernel.spec
    # 6.12's `# kernel:` line makes kmodel check read the trace as 6.12 (check_6_12.py).
    release = f"# kernel: {spec.upstream}\n" if spec is not fikernel.SOURCE_6_1 else ""
    texts["trace.txt"] = (
        f"# kmodel capture: scenario={s.name} kernel=fault-injection-{spec.upstream} "
        f"version={spec.version} accel={accel}\n" + release
        + results.get(f"{s.name}.header.txt", "") + texts["trace.txt"])
    texts["log.txt"] = (f"KT: kmodel capture scenario {s.name}: {s.scenario.summary}\n"
                        f"KT: kernel {kernel.label}\n" + texts["log.txt"])
    for suffix, text in texts.items():
        (out_dir / f"{s.name}.{suffix}").write_text(text)
    return verify.Result(texts["log.txt"], texts["trace.txt"], texts["dmesg.txt"],
                         texts["kprobe_profile.txt"])


@attrs.frozen
class FiCapture:
    """A fault-injection run: the kernel, the build and boot times, the reports."""

    kernel: fikernel.FiKernel
    prepare_seconds: float
    boot_seconds: float
    reports: tuple[run.Report, ...]


#: The page allocations fail_page_alloc consults, and its verdict (Linux 6.12.118
#: mm/fail_page_alloc.c:26), probed on 6.12 only, in the workloads only (ALLOC_FILTER):
#: kmodel check runs the model's should_fail_alloc_page on each (faultinject.py, FI-3).
ALLOC_PROBE = probes612.Probe(
    "should_fail_alloc_page",
    (probes612.Arg("gfp_mask", "gfp_mask", "x32"), probes612.Arg("order", "order", "u32")),
    (probes612.Arg("ret", "$retval", "u8"),))
#: kt.sh's probes_install line the filter follows (a missing line is an error, not a miss).
_KT_ENABLE = "    echo 1 > $T/events/kt/enable\n"
ALLOC_FILTER = ("    for e in should_fail_alloc_page should_fail_alloc_page_ret; do\n"
                "        [ -e $T/events/kt/$e/filter ] && "
                "echo 'comm == \"memhog\"' > $T/events/kt/$e/filter\n"
                "    done\n")


def kprobe_lines(kernel: fikernel.FiKernel) -> tuple[list[str], list[str]]:
    """The probe lines for this build and the probed functions it lacks (left out).

    6.1: the offset lines of :mod:`.probes` (offsets compiled with the build's flags); this
    config has no CONFIG_FRONTSWAP, so the two ``__frontswap_*`` functions do not exist.
    6.12: the BTF-named lines of :mod:`.probes612`, checked against the build's own BTF
    (``vmlinux``'s ``.BTF``); functions this config lacks (zswap's, without CONFIG_ZSWAP) or
    that the compiler inlined are left out, as the BTF says.
    """
    if kernel.spec is fikernel.SOURCE_6_1:
        events = probes.kprobe_events(fikernel.offsets(kernel))
        return ([e for e in events if "__frontswap_" not in e],
                sorted({e.split()[1] for e in events if "__frontswap_" in e}))
    try:
        btf = Btf.from_file(kernel.vmlinux)
        have = btf.functions
        chosen = tuple(p for p in (*probes612.PROBES, ALLOC_PROBE) if p.function in have)
        lines = probes612.kprobe_events(btf, chosen)
        probes612.check_lines(btf, lines)
    except BtfError as exc:
        raise KmodelError(f"{kernel.vmlinux}: {exc}") from None
    return lines, sorted(p.function for p in (*probes612.PROBES, ALLOC_PROBE)
                         if p.function not in have)


def capture(chosen: list[FiScenario], out_dir: Path, cache: Path, accel: str = "tcg",
            trace_clock: str = probes.TRACE_CLOCK, progress: TextIO | None = None,
            run_check: bool = True, spec: fikernel.Source = fikernel.SOURCE_6_1) -> FiCapture:
    """Build (or reuse) the kernel, run *chosen* in one boot, write and check their files."""

    def say(text: str) -> None:
        if progress is not None:
            print(text, file=progress, flush=True)

    busybox = find_tool(next(t for t in TOOLS if t.name == "busybox"))
    if busybox is None or not shutil.which("qemu-system-x86_64"):
        raise KmodelError("the fault-injection capture needs busybox-static and "
                          "qemu-system-x86. Fix: sudo scripts/setup-capture.sh")
    t0 = time.monotonic()
    kernel = fikernel.build(cache, say=say, spec=spec)
    say(f"kernel: {kernel.bzimage} (make took {kernel.build_seconds:.0f} s)")
    events, absent = kprobe_lines(kernel)
    if absent:
        say(f"not probed (no such function in this build): {', '.join(absent)}")
    workload = run.build_workload(cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kmodel-fi-"))
    try:
        scenarios = [s.scenario for s in chosen]
        files = guest.guest_files([], scenarios, trace_clock)
        files["/kprobes.txt"] = "\n".join(events) + "\n"
        if any(" should_fail_alloc_page " in e for e in events):
            if _KT_ENABLE not in files["/lib/kt.sh"]:
                raise KmodelError("kt.sh's probes_install changed: cannot filter the "
                                  "should_fail_alloc_page probe to the workloads")
            files["/lib/kt.sh"] = files["/lib/kt.sh"].replace(
                _KT_ENABLE, _KT_ENABLE + ALLOC_FILTER, 1)
        # tinyconfig has no ACPI: power-off halts; a reboot ends QEMU (-no-reboot).
        files["/init"] = files["/init"].replace("poweroff -f", "reboot -f")
        binaries = {"/bin/busybox": Path(busybox), "/bin/memhog": workload}
        (work / "initramfs.cpio").write_bytes(initramfs_image(binaries, files))
        argv = qemu_command(work, kernel, accel)
        prepare_seconds = time.monotonic() - t0
        boot_seconds, _ = run._boot(argv, work, timeout=90 + 40 * len(chosen), say=say)
        shutil.copyfile(work / "console.log", out_dir / "console.log")
        results = run._read_results(work / "ktout.img")
        reports = []
        for s in chosen:
            result = _write_outputs(s, results, out_dir, kernel, accel)
            seconds = re.findall(r"^KT: scenario \S+ seconds ([\d.]+)$", result.log, re.M)
            problems = outcome_problems(s, result) + notice_problems(s, result.dmesg)
            checked = None
            if run_check and result.trace.strip():
                say(f"checking {s.name}.trace.txt with kmodel check")
                checked = run.check(out_dir / f"{s.name}.trace.txt")
            reports.append(run.Report(
                s.name, float(seconds[-1]) if seconds else 0.0, tuple(problems),
                verify.clock_ties(result.trace), verify.kprobe_misses(result.kprobe_profile),
                verify.event_lines(result.trace), checked))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return FiCapture(kernel, prepare_seconds, boot_seconds, tuple(reports))


def cmd_capture(args: argparse.Namespace) -> int:
    """``kmodel capture --kernel 6.1-fi`` (or ``6.12-fi``): exit 0 only when every scenario
    was as expected.

    A failed check of a trace is reported, not an exit status: whether the model accepts
    the kernel's fault injection is what these traces are for.
    """
    from kmodel.capture.cli import _print_report

    if args.list:
        width = max(len(s.name) for s in FI_SCENARIOS)
        for s in FI_SCENARIOS:
            print(f"{s.name:<{width}}  {s.scenario.outcome.value:<11}  {s.scenario.summary}")
        return 0
    names = [n for n in (args.scenario or "").split(",") if n]
    try:
        chosen = by_name(names) if names else list(FI_SCENARIOS)
        spec = fikernel.SOURCES[args.kernel.removesuffix("-fi")]
        result = capture(chosen, Path(args.output), Path(args.cache), args.accel,
                         trace_clock=args.trace_clock, progress=sys.stderr,
                         run_check=not args.no_check, spec=spec)
    except (KmodelError, subprocess.SubprocessError) as exc:
        print(f"kmodel capture: error: {exc}", file=sys.stderr)
        return 2
    print(f"kernel: {result.kernel.label}")
    print(f"prepare: {result.prepare_seconds:.1f} s (make {result.kernel.build_seconds:.1f} s), "
          f"boot and run: {result.boot_seconds:.1f} s")
    for r in result.reports:
        _print_report(r)
    failed = sum(bool(r.problems) for r in result.reports)
    if failed:
        print(f"kmodel capture: {failed} fault-injection scenario(s) failed", file=sys.stderr)
        return 1
    print(f"all {len(result.reports)} fault-injection scenario(s) as expected")
    return 0


# -- a fail-nth sweep, kernel and model side by side ----------------------------------------

#: verbose=1 on every attr that can count a should_fail call on the swap path, their
#: filters at the kernel's defaults; the swap disk's make-it-fail on, probability 0.
_NTH_ARM = " && ".join(
    [_set(a, verbose=1) for a in ("fail_make_request", "failslab", "fail_page_alloc")]
    + [_arm_disk()])


def nth_scenarios(n_max: int, cache_filter: bool = False) -> list[FiScenario]:
    """fail-nth n = 1..n_max over one swap-in (``fi_nth_read_N``: the workload's first fault
    after the fill, page-cluster 0, no reclaim) and swap-outs (``fi_nth_write_N``: a second
    workload sets its own fail-nth before exec, then fills the cgroup, so that its direct
    reclaim writes).

    With *cache_filter*, failslab's ``cache-filter`` is on and no cache is marked
    (mm/failslab.c:32): slab allocations no longer reach ``should_fail``, nor count for
    fail-nth (names end in ``_cf``).
    """
    suffix = "_cf" if cache_filter else ""
    arm = _NTH_ARM + (f" && echo Y > {D}/failslab/cache-filter" if cache_filter else "")
    reset = _RESET + f"; echo N > {D}/failslab/cache-filter"
    out = []
    for n in range(1, n_max + 1):
        record = _record("fail_make_request", "failslab", "fail_page_alloc")
        read = Scenario(
            f"fi_nth_read_{n}{suffix}", f"fail-nth {n} on the faulting task, page-cluster 0",
            "@ktswap", Outcome.OK, misses_allowed=True,
            setup=reset + " && echo 0 > /proc/sys/vm/page-cluster",
            midway=" && ".join([_NO_RECLAIM, arm, _tasks("fail-nth", n), record]),
            teardown=reset)
        writer = (f"sh -c \"echo \\$\\$ > $CG/cgroup.procs && echo {n} > /proc/self/fail-nth"
                  " && exec /bin/memhog -m 1\" 2>&1 | sed 's/^/KT: writer: /'")
        write = Scenario(
            f"fi_nth_write_{n}{suffix}", f"fail-nth {n} on a workload whose reclaim writes",
            "@ktswap", Outcome.OK, misses_allowed=True, setup=reset,
            midway=" && ".join([arm, record, writer, "echo 0 > /sys/block/$blk/make-it-fail"]),
            teardown=reset)
        out += [FiScenario(read, (0, 1), "fail_make_request", one_alert_per_notice=False),
                FiScenario(write, (0, 1), "fail_make_request", one_alert_per_notice=False)]
    return out


@attrs.frozen
class NthOutcome:
    """What one fail-nth run showed: the failed site, the alerts, the workload's end."""

    site: str  # the attr named by the notice ("-": no should_fail call failed)
    alerts: tuple[str, ...]  # Read-error/Write-error lines, the device numbers dropped
    end: str  # "SIGBUS", "ok" (data verified), or what else happened

    def row(self) -> str:
        """The outcome as table cells."""
        return f"{self.site} | {', '.join(self.alerts) or '-'} | {self.end}"


_ALERT = re.compile(r"((?:Read|Write)-error on swap-device) \(\d+:\d+:\d+\)")


def kernel_nth(out_dir: Path, name: str) -> NthOutcome:
    """Read one ``fi_nth_*`` run's dmesg and log."""
    dmesg = (out_dir / f"{name}.dmesg.txt").read_text()
    log = (out_dir / f"{name}.log.txt").read_text()
    sites = re.findall(r"^name (\w+), interval", dmesg, re.M)
    # The workload's read-back, and the writer's own fill and read-back.
    verified = re.findall(r"^(?:KT: writer: )?memhog: verified \d+ pages .*: 0 bad$", log, re.M)
    status = re.findall(r"^KT: memhog pid=\d+ exit status (\d+)$", log, re.M)
    if status and status[-1] == "135":
        end = "SIGBUS"
    elif len(verified) == (2 if "_write_" in name else 1):
        end = "ok"
    else:
        end = f"exit {status[-1] if status else '?'}"
    return NthOutcome(",".join(sites) or "-", tuple(_ALERT.findall(dmesg)), end)


def model_nth(n: int, write: bool) -> NthOutcome:
    """The same on the model: kmodel.sim.Machine, its should_fail and the task's fail_nth.

    As the kernel's workload goes on after a call that did not fail, the model runs a
    sequence: read, n swapped-out pages loaded in order (page-cluster 0: one bio per fault)
    until one gets SIGBUS; write, n pages swapped out by direct reclaim in the task (one bio
    each), the writes completed, a second pass for a re-dirtied page, then every page read.
    """
    from kmodel import DeterministicExecutor, FaultAttr, Machine

    m = Machine(DeterministicExecutor(), disk="virtio", page_cluster=0)
    m.k.jiffies = 1
    t = m.spawn()
    addr = m.mmap(t, n)
    pages = [b"page %d" % i for i in range(n)]
    for i, data in enumerate(pages):
        m.store(t, addr + i * 4096, data)
    m.bdev.make_it_fail = True
    m.k.fail_make_request = FaultAttr(probability=0, verbose=1)
    m.k.fail_page_alloc.attr = FaultAttr(probability=0, verbose=1, dname="fail_page_alloc")
    done = m.k.executor.complete_all  # type: ignore[attr-defined]
    if write:
        t.fail_nth = n
        m.reclaim(direct=t)
        done(m.k)
        t.fail_nth = 0
        m.reclaim(direct=t)  # the re-dirtied page is written again
        done(m.k)
    else:
        m.reclaim()
        done(m.k)
        m.reclaim()
        t.fail_nth = n
    got = []
    for i in range(n):
        got.append(m.load(t, addr + i * 4096))
        if t.signals:
            break
    lines = [text for _, text in m.k.printk_log]
    sites = [ln.split(",")[0].removeprefix("name ") for ln in lines if ln.startswith("name ")]
    alerts = tuple(_ALERT.findall("\n".join(lines)))
    if t.signals:
        end = "SIGBUS"
    else:
        end = "ok" if got == pages else f"data {got!r}"
    return NthOutcome(",".join(sites) or "-", alerts, end)


def sweep_table(out_dir: Path, n_max: int, cache_filter: bool = False) -> str:
    """A markdown table: per n and direction, the kernel's outcome beside the model's."""
    suffix = "_cf" if cache_filter else ""
    rows = ["| n | I/O | kernel: failed site | kernel: alerts | kernel: end "
            "| model: failed site | model: alerts | model: end | same |",
            "|---|---|---|---|---|---|---|---|---|"]
    for n in range(1, n_max + 1):
        for io in ("read", "write"):
            k = kernel_nth(out_dir, f"fi_nth_{io}_{n}{suffix}")
            m = model_nth(n, io == "write")
            rows.append(f"| {n} | {io} | {k.row()} | {m.row()} | {'yes' if k == m else 'NO'} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m kmodel.capture.fiscenarios sweep N -o DIR``: run the fail-nth sweep on the
    fault-injection kernel and print the table beside the model's."""
    from kmodel.capture.cli import default_cache

    parser = argparse.ArgumentParser(prog="python -m kmodel.capture.fiscenarios")
    parser.add_argument("command", choices=("sweep",))
    parser.add_argument("n", type=int)
    parser.add_argument("-o", "--output", default="fi-sweep")
    parser.add_argument("--cache", default=str(default_cache()))
    parser.add_argument("--reuse", action="store_true", help="tabulate DIR's existing files")
    parser.add_argument("--cache-filter", action="store_true",
                        help="failslab cache-filter on: slab allocations do not count")
    parser.add_argument("--kernel", choices=tuple(fikernel.SOURCES), default="6.1",
                        help="the fault-injection build to run on (default 6.1)")
    args = parser.parse_args(argv)
    out = Path(args.output)
    try:
        if not args.reuse:
            capture(nth_scenarios(args.n, args.cache_filter), out, Path(args.cache),
                    progress=sys.stderr, run_check=False, spec=fikernel.SOURCES[args.kernel])
        print(sweep_table(out, args.n, args.cache_filter), end="")
    except (KmodelError, OSError) as exc:
        print(f"fiscenarios sweep: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
