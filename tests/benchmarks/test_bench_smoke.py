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
    assert "[adversarial] ratio peak RSS " in out or "[adversarial memory] FAILED: " in out
    assert "[fuzz] ratio main/trivial = " in out or "[fuzz] skipped" in out
    assert "[model-vs-kernel] kernel: skipped (--quick" in out
    assert "[check -j] speedup " in out or "[check -j] not available" in out
    assert "[capture] not measured: give --capture-log FILE" in out
    assert result.returncode == (1 if "FAILED: " in out else 0), out + result.stderr


def test_capture_split_reads_a_saved_capture_output(tmp_path: Path) -> None:
    """The split and the per-scenario model comparison, from a `kmodel capture` output."""
    log = tmp_path / "capture.log"
    log.write_text(
        "kernel: linux-image-6.1.0-50-amd64 6.1.176-1\n"
        "prepare: 2.5 s, boot and run: 40.0 s (to /init 15.0 s, scenarios 24.0 s, results "
        "and power-off 1.0 s)\n"
        "  basic                1.50 s guest   1.60 s wall     400 events  clock ties 0/1 (0.0%)  ok\n"
        "  swapfile             8.70 s guest   8.70 s wall    6672 events  clock ties 0/1 (0.0%)  ok\n")
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_capture; "
            "from pathlib import Path; print('\\n'.join(bench_capture.run(Path(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120, check=True).stdout
    assert "prepare 2.5 s, boot to /init 15.0 s, scenarios 24.0 s" in out
    assert re.search(r"basic .* 400 events; model +[\d.]+ s wall: kernel/model +[\d.]+x", out)
    assert re.search(r"swapfile .* 6672 events$", out, re.M)  # no simulator scenario
    assert "total prepare + boot and run = 42.5 s (target <= 60 s warm)" in out
