"""`benchmarks/run_all.py --quick` on tiny sizes: every section prints its ratio line.

No timing is asserted: the numbers depend on the machine; only the report's shape is.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_quick_run_prints_every_ratio(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--scale", "0.02",
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    out = result.stdout
    assert "[startup] ratio kmodel --version / python -c pass = " in out
    assert "[startup] kmodel check of a " in out
    assert "[check] ratio check/bare = " in out
    assert out.count("[scaling] ratio ") == 2
    # The adversarial trace interleaves CPUs out of time order, as real traces do; a
    # checker that crashes on it is reported by the run, not hidden (nor passed).
    if "[adversarial memory] FAILED: " not in out:
        assert re.search(r"ratio peak RSS 5 vs 2 copies = [\d.]+x \(target within 20%\)", out)
        assert re.search(r"ratio peak RSS 5 vs 2 swap types = [\d.]+x \(target within 20%\)",
                         out)
        # Every many-swap-types trace was checked whole: conformant, checks grow per copy.
        assert re.search(r"many swap types: 5 swap areas .* [\d,]+ outcomes checked$", out,
                         re.M), out
        assert "NOT VERIFIED" not in out, out
    assert "[fuzz] ratio main/trivial = " in out or "[fuzz] skipped" in out
    for kernel in ("6.1", "6.12"):
        assert re.search(rf"^\[fuzz --seconds\] kmodel fuzz --kernel {re.escape(kernel)} "
                         r"--seconds 1: [\d.]+ s wall \(\d+ rounds", out, re.M), out
        assert re.search(rf"^\[fuzz --seconds\] {re.escape(kernel)}: wall - N = [+-][\d.]+ s, "
                         r"less start-up = [+-][\d.]+ s overrun \(target: ends within N \+ 1 s",
                         out, re.M), out
    assert "[model-vs-kernel] kernel: skipped (--quick" in out
    assert "[check -j] speedup " in out or "[check -j] not available" in out
    assert "[capture] not measured (--quick or --no-capture)" in out
    assert "kmodel capture -o" not in out and "[capture 6." not in out  # no QEMU in --quick
    assert result.returncode == (1 if "FAILED: " in out else 0), out + result.stderr


def test_only_runs_the_sections_named(tmp_path: Path) -> None:
    argv = [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--scale",
            "0.02", "--workdir", str(tmp_path)]
    out = subprocess.run([*argv, "--only", "4,6"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, check=True).stdout
    assert re.findall(r"^== (\S+)", out, re.M) == ["4.", "6."], out
    bad = subprocess.run([*argv, "--only", "4,9"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "--only: no section 9" in bad.stderr, bad.stderr


def _capture_report(*logs: Path) -> str:
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_capture; "
            "from pathlib import Path; "
            "print('\\n'.join(bench_capture.run([Path(a) for a in sys.argv[1:]])))")
    return subprocess.run([sys.executable, "-c", code, *map(str, logs)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, check=True).stdout


def test_capture_split_reads_a_saved_capture_output(tmp_path: Path) -> None:
    """The split and the per-scenario model comparison, from `kmodel capture` outputs of
    each kernel (6.12's simulated as 6.12: a 6.1-only simulate would not take the line)."""
    log = tmp_path / "capture.log"
    log.write_text(
        "kernel: linux-image-6.1.0-50-amd64 6.1.176-1\n"
        "prepare: 2.5 s, boot and run: 40.0 s (to /init 15.0 s, scenarios 24.0 s, results "
        "and power-off 1.0 s)\n"
        "  basic                1.50 s guest   1.60 s wall     400 events  clock ties 0/1 (0.0%)  ok\n"
        "      kmodel check: /x/basic.trace.txt: conformant: 400 events read, 200 outcomes\n"
        "  swapfile             8.70 s guest   8.70 s wall    6672 events  clock ties 0/1 (0.0%)  FAILED\n"
        "      - swapoff did not run\n"
        "      kmodel check: /x/swapfile.trace.txt: divergent: 6672 events read, 20 outcomes\n"
        "        /x/swapfile.trace.txt:12: divergence [RD-1]\n")
    log612 = tmp_path / "capture612.log"
    log612.write_text(
        "kernel: linux-image-6.12.118+deb13-amd64 6.12.118-1\n"
        "prepare: 0.3 s, boot and run: 36.0 s (to /init 4.4 s, scenarios 29.7 s, results "
        "and power-off 0.4 s)\n"
        "  zram                 1.19 s guest   1.21 s wall     300 events  clock ties 0/47 (0.0%)  ok\n"
        "all 1 6.12 scenario(s) as expected; files in /x/612\n")
    out = _capture_report(log, log612)
    assert "[capture 6.1] capture.log (linux-image-6.1.0-50-amd64 6.1.176-1): prepare 2.5 s, " \
        "boot to /init 15.0 s, scenarios 24.0 s" in out
    assert re.search(r"^\[capture 6.1\]   basic .* 400 events ok; model +[\d.]+ s wall: "
                     r"kernel/model +[\d.]+x$", out, re.M)
    assert re.search(r"^\[capture 6.1\]   swapfile .* 6672 events FAILED$", out, re.M)  # no model
    assert "[capture 6.1]     swapfile: problem: swapoff did not run; kmodel check: divergent\n" \
        in out
    assert "[capture 6.1] 2 scenarios, 1 of them compared with the model" in out
    assert "kmodel check of the traces: 1 conformant of 2" in out
    assert "[capture 6.1] total prepare + boot and run = 42.5 s (target <= 60 s warm)\n" in out
    assert re.search(r"^\[capture 6.12\]   zram .* 300 events ok; model +[\d.]+ s wall: "
                     r"kernel/model +[\d.]+x$", out, re.M)
    assert "[capture 6.12] total prepare + boot and run = 36.3 s (target <= 60 s warm)" in out
    assert "conformant of 0; files in /x/612\n" in out


def test_capture_report_says_when_a_log_has_no_split(tmp_path: Path) -> None:
    log = tmp_path / "broken.log"
    log.write_text("kmodel capture: error: no kernel image\n")
    assert "[capture 6.1] broken.log: no 'prepare: ... boot and run: ...' line" in \
        _capture_report(log)


def test_a_failed_capture_is_reported_with_its_error(tmp_path: Path) -> None:
    """A `kmodel capture` that fails before QEMU (an unknown scenario): its exit status and
    its error's last line are in the section's line, not a traceback."""
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_capture; "
            "from common import python, run_child; "
            "c = run_child(python('-m', 'kmodel', 'capture', '--scenario', 'nosuch', '-o', "
            "sys.argv[1]), check=False); "
            "print(bench_capture.report(bench_capture.Capture('kmodel capture', c.stdout, c)))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120, check=True).stdout
    assert "[capture 6.1] kmodel capture: no 'prepare: ... boot and run: ...' line (exited 2: " \
        "kmodel capture: error: unknown scenario(s): nosuch" in out, out


def test_swap_type_rewrite_keeps_the_slot_and_moves_the_area() -> None:
    """An entry, a swap pte and a device of the simulated trace (type 0, 254:0) moved onto
    swap type 7 and device 254:7: decoded by the model, the same slot on the new area."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_adversarial
    finally:  # the benchmarks' top-level modules (common, ...) stay out of other tests' way
        sys.path.remove(str(ROOT / "benchmarks"))
        for name in ("bench_adversarial", "common"):
            sys.modules.pop(name, None)
    from kmodel.include.linux.mm_types import SwapEntry

    pte = SwapEntry(0, 0x3d).to_pte(exclusive=True)
    line = (f"m-1 (1) [000] ..... 1.000000: do_swap_page: (do_swap_page+0x0/0x1) vmf=0x1 "
            f"address=0x2 fault_flags=0x3 orig_pte={pte:#x}\n")
    moved = bench_adversarial.on_swap_type(line, 7)
    m = re.search(r"orig_pte=(0x[0-9a-f]+)", moved)
    assert m is not None, moved
    assert SwapEntry.from_pte(int(m[1], 16)) == SwapEntry(7, 0x3d)
    line = "m-1 (1) [000] ..... 1.0: swap_writepage: (x) entry=0x3d sync_mode=0\n"
    moved = bench_adversarial.on_swap_type(line, 7)
    assert SwapEntry.from_val(int(moved.split("entry=")[1].split()[0], 16)) == SwapEntry(7, 0x3d)
    line = "m-1 (1) [000] ..... 1.0: block_bio_queue: 254,0 W 8 + 8 [m]\n"
    assert ": block_bio_queue: 254,7 W 8 + 8 [m]" in bench_adversarial.on_swap_type(line, 7)
    line = "m-1 (1) [000] ..... 1.0: bdev_write_page: (x) sector=8 dev=0xfe00000\n"
    assert "dev=0xfe00007" in bench_adversarial.on_swap_type(line, 7)
    assert bench_adversarial.on_swap_type(line, 0) == line
