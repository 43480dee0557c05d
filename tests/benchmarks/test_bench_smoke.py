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
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True,
    )  # fmt: skip
    out = result.stdout
    assert "[check] ratio check/bare = " in out
    assert out.count("[scaling] ratio ") == 2
    assert "[fuzz] ratio main/trivial = " in out or "[fuzz] skipped" in out
    assert "[model-vs-kernel] kernel: skipped (--quick" in out
