"""The ``kmodel capture`` and ``kmodel probes`` subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kmodel.capture import btf, probes, recorders, run, scenario_file, scenarios, verify
from kmodel.errors import KmodelError

PAHOLE_NOTE = """\
# These offsets are Debian's 6.1.0-50-amd64 (6.1.176-1). For another build, read them from its
# BTF and regenerate this script:
#   pahole -C page,bio,bvec_iter,bio_vec,block_device,vm_fault,writeback_control,swap_info_struct \\
#       /sys/kernel/btf/vmlinux > structs.txt
#   kmodel probes --pahole structs.txt
# (6.1 has no BTF-typed $argN->field, so fetch args use register + offset.)
# Then run the workload, stop tracing (echo 0 > tracing_on) and save 'trace' and
# 'kprobe_profile' (its third column, misses, must be 0).
"""

#: trace_clock values whose timestamps tracefs prints as one integer (in_ns 0, Linux 6.1.176
#: kernel/trace/trace.c:1556-1567, x86-tsc in ARCH_TRACE_CLOCKS): kmodel check orders by them,
#: with no time unit.
COUNTING_CLOCKS = ("counter", "uptime", "x86-tsc")


def default_cache() -> Path:
    """Return $KMODEL_CACHE, or ~/.cache/kmodel."""
    env = os.environ.get("KMODEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "kmodel"


def _list() -> int:
    every = scenarios.SCENARIOS + scenarios.STATUS_SCENARIOS
    width = max(len(s.name) for s in every)
    for s in every:
        extra = "" if s.name in scenarios.DEFAULT else "  (--scenario only: not in the default set)"
        print(f"{s.name:<{width}}  {s.outcome.value:<11}  {s.summary}{extra}")
    return 0


def _print_report(r: run.Report) -> None:
    status = "ok" if not r.problems and (r.check is None or r.check.conformant) else "FAILED"
    print(
        f"  {r.name:<18} {r.seconds:6.2f} s guest {r.host_seconds:6.2f} s wall  {r.events:6d} "
        f"events  clock ties {r.ties.ties}/{r.ties.pairs} ({r.ties.rate:.1%})  {status}"
    )
    if r.misses:
        print(f"      kprobe misses: {', '.join(f'{k} {v}' for k, v in sorted(r.misses.items()))}")
    if r.ties.rate > verify.TIE_WARN:
        print(
            f"      warning: {r.ties.rate:.0%} of cross-CPU neighbours share a timestamp (a "
            f"coarse clock): their order is unknown; try another --trace-clock "
            f"({', '.join(probes.NS_CLOCKS)}; the header's '# clocksource' and offered clocks)"
        )
    for problem in r.problems:
        print(f"      - {problem}")
    if r.check is not None:
        print(f"      kmodel check: {r.check.verdict}")
        if r.check.unknown:
            print(f"      unknown: {r.check.unknown} ({r.check.unknown_share:.1%} of events)")
        for line in r.check.first:
            print(f"        {line}")
    if r.recorded is not None:  # --recorder: the same run recorded another way
        print(f"      kmodel check of the recorder's text: {r.recorded.verdict}")
        for line in r.recorded.first:
            print(f"        {line}")


def _chosen(args: argparse.Namespace) -> list[scenarios.Scenario]:
    extra = scenario_file.load(Path(args.scenario_file)) if args.scenario_file else ()
    if args.scenario:
        names = [n for n in args.scenario.split(",") if n]
    else:
        names = [s.name for s in extra] if extra else list(scenarios.DEFAULT)
    return scenarios.by_name(names, extra)


def cmd_capture(args: argparse.Namespace) -> int:
    """Run the selected scenarios in QEMU; exit 0 only when every outcome was as expected."""
    refused = recorders.check_recorder_args(args.recorder, args.kernel)
    if refused is not None:
        print(f"kmodel capture: error: {refused}", file=sys.stderr)
        return 2
    if args.kernel in ("6.1-fi", "6.12-fi"):  # a fault-injection build and its scenarios
        from kmodel.capture import fiscenarios

        return fiscenarios.cmd_capture(args)
    if args.kernel == "6.12":  # Debian 13's 6.12.118 image and the 6.12 scenarios
        from kmodel.capture import scenarios612

        return scenarios612.cmd_capture(args, _print_report)
    if args.list:
        return _list()
    try:
        chosen = _chosen(args)
        result = run.capture(
            chosen,
            Path(args.output),
            Path(args.cache),
            args.accel,
            trace_clock=args.trace_clock,
            progress=sys.stderr,
            run_check=not args.no_check,
            recorder=args.recorder,
        )
    except KmodelError as exc:
        print(f"kmodel capture: error: {exc}", file=sys.stderr)
        return 2
    print(f"kernel: {result.kernel.label}")
    print(
        f"prepare: {result.prepare_seconds:.1f} s, boot and run: {result.boot_seconds:.1f} s "
        f"(to /init {result.init_seconds:.1f} s, scenarios "
        f"{sum(r.host_seconds for r in result.reports):.1f} s, results and power-off "
        f"{result.tail_seconds:.1f} s)"
    )
    failed = divergent = 0
    for r in result.reports:
        _print_report(r)
        failed += bool(r.problems)
        divergent += r.check is not None and not r.check.conformant
    if failed or divergent:
        print(
            f"kmodel capture: {failed} scenario(s) failed, {divergent} trace(s) divergent under "
            f"kmodel check; files in {args.output}",
            file=sys.stderr,
        )
        return 1
    print(f"all {len(result.reports)} scenario(s) as expected; files in {args.output}")
    return 0


def cmd_probes(args: argparse.Namespace) -> int:
    """Print the tracefs commands that record the capture's trace on a live 6.1 machine."""
    if args.btf or args.kernel or args.check_fixed or args.format != "tracefs":
        return btf.cmd_probes(args)
    offsets = probes.DEBIAN_6_1_176
    if args.pahole:
        try:
            offsets = probes.offsets_from_pahole(Path(args.pahole).read_text())
        except (OSError, KmodelError) as exc:
            print(f"kmodel probes: error: {exc}", file=sys.stderr)
            return 2
    print("#!/bin/sh\n# Record the kmodel swap trace on a live Linux 6.1 machine (as root).")
    if not args.pahole:
        print(PAHOLE_NOTE, end="")
    print(probes.tracefs_commands(offsets), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``capture`` and ``probes`` subcommands to the kmodel CLI."""
    cap = subparsers.add_parser(
        "capture",
        help="record real-kernel swap traces in QEMU",
        description="Boot Debian's Linux 6.1 in QEMU and record swap traces per scenario.",
    )
    cap.add_argument(
        "--scenario",
        metavar="NAME,...",
        help="comma-separated scenarios (default: all; see --list)",
    )
    cap.add_argument(
        "-o",
        "--output",
        default="traces",
        metavar="DIR",
        help="where to write NAME.{trace,log,dmesg,kprobe_profile}.txt",
    )
    cap.add_argument(
        "--cache",
        default=str(default_cache()),
        metavar="DIR",
        help="kernel and workload cache (default: $KMODEL_CACHE or ~/.cache/kmodel)",
    )
    cap.add_argument(
        "--accel",
        choices=("tcg", "kvm"),
        default="tcg",
        help="QEMU accelerator (default tcg; kvm only where it really works)",
    )
    cap.add_argument(
        "--scenario-file",
        metavar="FILE",
        help="TOML file of custom scenarios (see docs/capture.md); run them unless --scenario",
    )
    cap.add_argument(
        "--trace-clock",
        choices=(*probes.NS_CLOCKS, *COUNTING_CLOCKS),
        default=probes.TRACE_CLOCK,
        help=f"tracefs trace_clock (default {probes.TRACE_CLOCK}); the tie rate is reported",
    )
    cap.add_argument(
        "--no-check",
        action="store_true",
        help="do not run kmodel check on the new traces",
    )
    cap.add_argument(
        "--kernel",
        choices=("6.1", "6.1-fi", "6.12", "6.12-fi"),
        default="6.1",
        help="6.1: Debian's image (default); 6.1-fi: Debian's 6.1.176 source built with "
        "fault injection into the cache, and the fault-injection scenarios; 6.12: Debian 13's "
        "6.12.118 image (separate APT configuration in the cache), probes by BTF names; "
        "6.12-fi: Debian 13's 6.12.118 source built with fault injection and BTF",
    )
    cap.add_argument(
        "--recorder",
        choices=recorders.RECORDERS,
        default=recorders.RECORDERS[0],
        help="also record each scenario with trace-cmd (NAME.trace.dat, NAME.trace-cmd.txt) or "
        "bpftrace (NAME.ndjson, NAME.bpftrace.txt), the host's package copied into the guest, "
        "and check that its verdict is the tracefs trace's (default: tracefs alone; 6.1 and 6.12)",
    )
    cap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    cap.set_defaults(func=cmd_capture)
    prb = subparsers.add_parser(
        "probes",
        help="print the tracefs commands to record the same trace live",
        description="Print kprobe_events lines, tracepoints and options as a shell script.",
    )
    prb.add_argument(
        "--pahole",
        metavar="FILE",
        help="pahole output of another build: derive the offsets from it",
    )
    prb.add_argument(
        "--kernel",
        choices=("auto", "6.1", "6.12"),
        help="derive the offsets from BTF (default file: /sys/kernel/btf/vmlinux) "
        "for this kernel line; auto: tell it from the BTF's functions",
    )
    prb.add_argument(
        "--btf",
        metavar="FILE",
        help="BTF to read: /sys/kernel/btf/vmlinux or a vmlinux ELF with .BTF",
    )
    prb.add_argument(
        "--functions",
        metavar="FILE",
        help="available_filter_functions to check the probed functions against "
        "(default: tracefs's, for the live BTF; else the BTF's functions)",
    )
    prb.add_argument(
        "--check-fixed",
        action="store_true",
        help="keep the fixed 6.1.176 (or --pahole) offsets: refuse them if the "
        "BTF says a probed member is elsewhere",
    )
    prb.add_argument(
        "--format",
        choices=("tracefs", "bpftrace"),
        default="tracefs",
        help="a tracefs shell script (default) or a bpftrace script",
    )
    prb.set_defaults(func=cmd_probes)
