"""Start-up of ``kmodel check`` (issue 12): a 6.1 text trace imports only what its check needs.

No timing is asserted: what is tested is which modules a check loads, and that the shortcut
which skips the 6.12 checker's import decides as ``check_6_12.resolve_kernel`` does.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from kmodel.trace import check, check_6_12

TRACES = Path(__file__).resolve().parent.parent / "data" / "traces"

#: Modules a check of a 6.1 text trace does not use (recordings, bundled traces, 6.12).
NOT_NEEDED = ("kmodel.trace.check_6_12", "subprocess", "kmodel.capture.probes",
              "importlib.resources", "gzip", "lzma")


def test_the_header_shortcut_reads_the_header_as_check_6_12_does() -> None:
    assert check._HEADER_LINES_MAX == check_6_12.HEADER_LINES_MAX
    assert check._KERNEL_LINE.decode() == check_6_12.KERNEL_LINE


@pytest.mark.parametrize("trace", sorted(TRACES.glob("*.trace.txt"))
                         + sorted(TRACES.glob("v6_12/*.trace.txt")), ids=lambda p: p.name)
def test_a_file_without_a_kernel_line_is_known_without_check_6_12(trace: Path) -> None:
    v6_12 = check_6_12.trace_kernel(trace) == "6.12"
    assert check._may_name_kernel(trace) or not v6_12  # never skips a 6.12 trace
    assert check._may_name_kernel(trace) == v6_12  # and decides these fixtures itself


def test_what_the_shortcut_cannot_decide_goes_to_check_6_12(tmp_path: Path) -> None:
    long_header = tmp_path / "long.trace.txt"
    # 63 comment lines (~70 KB: past the 64 KiB read), then the kernel line (the 64th).
    long_header.write_text(("#" + "x" * 1100 + "\n") * 63 + "# kernel: 6.12.118\n")
    assert check._may_name_kernel(long_header)
    assert check_6_12.trace_kernel(long_header) == "6.12"
    packed = tmp_path / "basic.trace.txt.gz"
    packed.write_bytes(gzip.compress((TRACES / "v6_12" / "basic.trace.txt").read_bytes()))
    assert check._may_name_kernel(packed)
    assert check_6_12.trace_kernel(packed) == "6.12"
    assert not check._may_name_kernel(tmp_path)  # no regular file: never peeked
    assert check_6_12.trace_kernel(tmp_path) is None


def test_a_check_of_a_text_trace_imports_only_what_it_needs() -> None:
    code = ("import sys\nfrom kmodel.cli import main\n"
            f"status = main(['check', {str(TRACES / 'basic.trace.txt')!r}])\n"
            f"print(status, [m for m in {NOT_NEEDED!r} if m in sys.modules])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines()[-1] == "0 []"
