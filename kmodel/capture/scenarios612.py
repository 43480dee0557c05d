"""The capture scenarios on Linux 6.12.118, and ``kmodel capture --kernel 6.12``.

The 6.1 set (:mod:`kmodel.capture.scenarios`) where it still applies, with 6.12's expectations:
``swap_readpage`` is ``swap_read_folio``, brd and zram go through bios
(``swap_read_folio_bdev_sync`` / ``swap_writepage_bdev_sync``: ``bdev_{read,write}_page`` are
gone), zswap is ``zswap_store``/``zswap_load`` returning true (frontswap is gone). New:
``zeromap``, a workload half of whose pages are zero-filled: 6.12 keeps those in the swap
device's zeromap bitmap and never writes or reads them (mm/page_io.c:266-270, 608-636).
Every scenario's kernel-side outcome is verified as on 6.1 (:func:`kmodel.capture.verify.problems`),
plus :func:`extra_problems` for what only a 6.12 trace shows.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import attrs

from kmodel.capture import kernel612, probes612, run, scenarios, verify
from kmodel.capture.btf import Btf
from kmodel.capture.kernel import Kernel
from kmodel.capture.scenarios import Outcome, Scenario
from kmodel.errors import KmodelError

_READ_ERROR = (r"end_swap_bio_read: .* bi_status=[1-9]",)
_WRITE_ERROR = (r"end_swap_bio_write: .* bi_status=[1-9]",)
_SYNC_IO = (
    r"swap_read_folio_bdev_sync: ",
    r"swap_writepage_bdev_sync: ",
    r"block_bio_queue:",  # zram and brd are bio devices now: no bdev_rw_page
)

#: 6.1 scenarios whose 6.12 expectations differ, by name: (summary, expect, forbid).
_CHANGED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "random": (
        "random read-back order: swap_read_folio, bios (6.12 reads a non-synchronous device "
        "asynchronously whatever the readahead)",
        (r"swap_read_folio: ", r"block_bio_queue:"),
        (),
    ),
    "brd": (
        "RAM disk: SWP_SYNCHRONOUS_IO, swap_{read_folio,writepage}_bdev_sync, bios",
        _SYNC_IO,
        (),
    ),
    "zram": (
        "zram: SWP_SYNCHRONOUS_IO, swap cache skipped, through bios (bdev_sync paths)",
        _SYNC_IO,
        (),
    ),
    "zswap": (
        "zswap enabled: swap-outs are zswap stores, swap-ins zswap loads",
        (r"(?m)^# zswap: enabled=Y ", r"zswap_store_ret: .* ret=1", r"zswap_load_ret: .* ret=1"),
        (),
    ),
}

#: Workload option of the zeromap scenario: every 2nd page zero-filled.
ZERO_EVERY = 2

_ZEROMAP = Scenario(
    "zeromap",
    "half the pages zero-filled: swapped out and in through the zeromap, without I/O",
    "@ktswap",
    Outcome.OK,
    workload=f"-m 1 -z {ZERO_EVERY}",
    expect=(r"swap_writepage: ", r"swap_read_folio: ", r"block_bio_queue:"),
)


_MTHP = "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"
#: mTHP: 64 KiB anonymous folios swapped out whole and, on a SWP_SYNCHRONOUS_IO device, swapped
#: in whole (mm/memory.c alloc_swap_folio); 16 pages = 128 sectors per bio. Runs before zswap:
#: once zswap has been enabled in a boot, swap-in falls back to single pages for good
#: (mm/memory.c:4140 ``if (!zswap_never_enabled()) goto fallback;``).
_MTHP_ZRAM = Scenario(
    "mthp_zram",
    "64 KiB mTHP folios on zram: swapped out and in as one 16-page folio (128-sector bios)",
    "/dev/zram0",
    Outcome.OK,
    irq_disk="",
    # zram stays loaded after the zram scenario (its teardown resets the device).
    setup="{ [ -e /sys/block/zram0 ] || insmod /mod/zram.ko num_devices=1; }"
    f" && echo 64M > /sys/block/zram0/disksize && echo always > {_MTHP}",
    teardown=f"echo never > {_MTHP}; echo 1 > /sys/block/zram0/reset; rmmod zram",
    expect=(r"block_bio_queue: \S+ W\S* \d+ \+ 128 ", r"block_bio_queue: \S+ R\S* \d+ \+ 128 "),
)


#: Scenarios on 6.12 run with memory.max 768K, not 512K (but oom, whose OOM is the point, and
#: hogs2, which sets its own): memcg reclaim does not wait for writeback, and on the slow TCG
#: disk too much of 512K is under writeback or read I/O at once. At 512K the memcg OOM-killed
#: the workload in 3 of 5 boots of CI's 6.12 set in writeerr_flakey (exit 137 right after its
#: eight Write-errors: the failed pages are re-dirtied and stay), then, with the machine
#: loaded (load average 3.7), basic in 1 of 3 boots of the set (a GFP_HIGHUSER_MOVABLE fault)
#: and readerr_blkdebug in a boot of all 20 (a GFP_KERNEL allocation after the oom
#: scenario). The header's ``# memcg:`` line records the limit each scenario ran with.
_HEADROOM = "MM0=$(cat $CG/memory.max) && echo 768K > $CG/memory.max"
_RESTORE_MAX = "echo $MM0 > $CG/memory.max"


def _scenarios() -> tuple[Scenario, ...]:
    out: list[Scenario] = []
    for s in scenarios.SCENARIOS:
        if s.name in _CHANGED:
            summary, expect, forbid = _CHANGED[s.name]
            s = attrs.evolve(s, summary=summary, expect=expect, forbid=forbid)
        if s.name == "zswap":
            out.append(_MTHP_ZRAM)
        if s.name == "random":  # between two I/O scenarios: not next to an error scenario
            out.append(s)
            out.append(_ZEROMAP)
            continue
        out.append(s)
    return tuple(_with_headroom(s) for s in out)


def _with_headroom(s: Scenario) -> Scenario:
    if s.outcome is Outcome.OOM or "memory.max" in s.setup:
        return s
    return attrs.evolve(s, setup=" && ".join(filter(None, (_HEADROOM, s.setup))),
                        teardown="; ".join(filter(None, (s.teardown, _RESTORE_MAX))))


#: The 6.12 scenarios, in run order (the 6.1 order, which spaces the error kinds).
SCENARIOS: tuple[Scenario, ...] = _scenarios()
DEFAULT = tuple(s.name for s in SCENARIOS)


def by_name(names: list[str]) -> list[Scenario]:
    """The 6.12 scenarios named, in run order; unknown names raise with the known ones."""
    table = {s.name: s for s in SCENARIOS}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KmodelError(f"unknown 6.12 scenario(s): {', '.join(unknown)}; known: "
                          f"{', '.join(table)}")
    return [s for s in SCENARIOS if s.name in names]


_EVENT = re.compile(r"^\s*\S.*?-(\d+)\s+\(.*?\)\s+\[\d+\].*?:\s+(\w+): ", re.M)
_PSWP = re.compile(r"^KT: memory.current=.*\n(.*)$", re.M)


def event_counts(trace: str) -> dict[str, int]:
    """How many lines of each event (``swap_writepage``, ``block_bio_queue`` ...) *trace* has."""
    counts: dict[str, int] = {}
    for _pid, name in _EVENT.findall(trace):
        counts[name] = counts.get(name, 0) + 1
    return counts


def extra_problems(s: Scenario, result: verify.Result) -> list[str]:
    """What a 6.12 trace must show beyond the 6.1 checks.

    zeromap: a zero-filled page's ``swap_writepage`` returns without ``zswap_store`` or a bio
    (mm/page_io.c:266-270), and its ``swap_read_folio`` without ``zswap_load`` (page_io.c:628:
    the zeromap is consulted first), so with every 2nd page zero about half the swap-outs and
    swap-ins must lack them; the pages still verify (checked by verify.problems).
    """
    if s.name != "zeromap":
        return []
    counts = event_counts(result.trace)
    out_all, out_io = counts.get("swap_writepage", 0), counts.get("zswap_store", 0)
    in_all, in_io = counts.get("swap_read_folio", 0), counts.get("zswap_load", 0)
    problems = []
    if out_all == 0 or in_all == 0:
        problems.append(f"zeromap: {out_all} swap_writepage and {in_all} swap_read_folio "
                        "lines: the workload did not swap")
        return problems
    if not out_io < out_all * 0.75:
        problems.append(f"zeromap: {out_io} of {out_all} swap_writepage calls reached "
                        "zswap_store: the zero-filled pages were not kept in the zeromap")
    if not in_io < in_all * 0.75:
        problems.append(f"zeromap: {in_io} of {in_all} swap_read_folio calls reached "
                        "zswap_load: the zero-filled pages were read from the device")
    return problems


def tally(reports: list[run.Report]) -> tuple[int, int, int]:
    """(scenarios failed, traces divergent, traces kmodel check cannot read) of a 6.12 run.

    Until kmodel check reads 6.12 traces, one it cannot read is reported, not failed; a trace
    it reads and finds divergent fails, as on 6.1.
    """
    failed = sum(bool(r.problems) for r in reports)
    checked = [r.check for r in reports if r.check is not None and not r.check.conformant]
    unread = sum(": cannot check: " in c.verdict for c in checked)
    return failed, len(checked) - unread, unread


def _kprobes(kernel: Kernel) -> list[str]:
    """The 6.12 probe lines, from the image's own BTF (refused when its layout does not fit)."""
    btf = Btf.from_file(kernel.vmlinux)
    lines = probes612.kprobe_events(btf)
    probes612.check_lines(btf, lines)
    return lines


def _offset_kprobes(kernel: Kernel) -> list[str]:
    """The 6.12 probes with their BTF names resolved on the image (kmodel's bpftrace script)."""
    return probes612.offset_events(Btf.from_file(kernel.vmlinux))


#: The 6.12 kernel line of :func:`kmodel.capture.run.capture`.
LINE = run.KernelLine(kernel612.prepare, _kprobes, kernel612.GUEST_MODULES, _offset_kprobes,
                      "6.12")


def cmd_capture(
    args: argparse.Namespace, print_report: Callable[[run.Report], None]
) -> int:
    """``kmodel capture --kernel 6.12``: the 6.12 scenarios in one boot, checked as on 6.1."""
    if args.list:
        width = max(len(s.name) for s in SCENARIOS)
        for s in SCENARIOS:
            print(f"{s.name:<{width}}  {s.outcome.value:<11}  {s.summary}")
        return 0
    if args.scenario_file:
        print("kmodel capture: error: --scenario-file is for 6.1 scenarios; --kernel 6.12 runs "
              "the built-in 6.12 set", file=sys.stderr)
        return 2
    try:
        names = [n for n in args.scenario.split(",") if n] if args.scenario else list(DEFAULT)
        chosen = by_name(names)
        result = run.capture(chosen, Path(args.output), Path(args.cache), args.accel,
                             trace_clock=args.trace_clock, progress=sys.stderr,
                             run_check=not args.no_check, line=LINE, recorder=args.recorder)
    except KmodelError as exc:
        print(f"kmodel capture: error: {exc}", file=sys.stderr)
        return 2
    reports = []
    for s, r in zip(chosen, result.reports, strict=True):
        stem = Path(args.output) / s.name
        texts = {x: (Path(f"{stem}.{x}").read_text() if Path(f"{stem}.{x}").is_file() else "")
                 for x in run.SUFFIXES}
        res = verify.Result(texts["log.txt"], texts["trace.txt"], texts["dmesg.txt"],
                            texts["kprobe_profile.txt"])
        reports.append(attrs.evolve(r, problems=r.problems + tuple(extra_problems(s, res))))
    print(f"kernel: {result.kernel.label}")
    print(f"prepare: {result.prepare_seconds:.1f} s, boot and run: {result.boot_seconds:.1f} s "
          f"(to /init {result.init_seconds:.1f} s, scenarios "
          f"{sum(r.host_seconds for r in reports):.1f} s, results and power-off "
          f"{result.tail_seconds:.1f} s)")
    for r in reports:
        if r.check is not None and ": cannot check: " in r.check.verdict:
            # The status word is the kernel outcome's; the checker's word follows, marked.
            print_report(attrs.evolve(r, check=None))
            print(f"      kmodel check (does not read 6.12 yet): {r.check.first[0]}")
        else:
            print_report(r)
    failed, divergent, unread = tally(reports)
    if unread:
        print(f"kmodel capture: kmodel check cannot read {unread} of the 6.12 trace(s) yet "
              "(first unreadable line above)", file=sys.stderr)
    if failed or divergent:
        print(f"kmodel capture: {failed} scenario(s) failed, {divergent} trace(s) divergent "
              f"under kmodel check; files in {args.output}", file=sys.stderr)
        return 1
    print(f"all {len(reports)} 6.12 scenario(s) as expected; files in {args.output}")
    return 0
