"""`benchmarks/run_all.py --quick` on tiny sizes: every section prints its ratio line.

No timing is asserted: the numbers depend on the machine; only the report's shape is.
"""

from __future__ import annotations

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
