"""Compressed traces: gzip and xz, told by their first bytes (whatever the file's name), from a
file or standard input; a damaged archive is bad input at its line, not a traceback."""

from __future__ import annotations

import gzip
import lzma
import subprocess
import sys
from pathlib import Path

import pytest

from kmodel.errors import TraceFormatError
from kmodel.trace import check_trace
from kmodel.trace.check_6_12 import trace_kernel

TRACES = Path(__file__).resolve().parent.parent / "data" / "traces"
BASIC = TRACES / "basic.trace.txt"


@pytest.mark.parametrize("pack", [gzip.compress, lzma.compress], ids=["gzip", "xz"])
@pytest.mark.parametrize("suffix", [".trace.txt.gz", ".trace.txt.xz", ".trace.txt"])
def test_a_compressed_trace_checks_as_its_text(tmp_path: Path, pack: object, suffix: str) -> None:
    packed = tmp_path / f"basic{suffix}"
    packed.write_bytes(pack(BASIC.read_bytes()))  # type: ignore[operator]
    assert check_trace(packed).counts == check_trace(BASIC).counts


def test_an_xz_6_12_capture_is_checked_on_the_6_12_model() -> None:
    packed = TRACES / "fi" / "v6_12" / "fi_mkreq_times.trace.txt.xz"
    assert trace_kernel(packed) == "6.12"
    assert check_trace(packed).conformant


def test_xz_on_standard_input(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "kmodel", "check", "--json", "-"],
                          input=lzma.compress(BASIC.read_bytes()), capture_output=True,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert f'"checks": {check_trace(BASIC).counts["checks"]}'.encode() in done.stdout


def test_a_cut_xz_archive_is_bad_input_at_its_line(tmp_path: Path) -> None:
    whole = lzma.compress(BASIC.read_bytes())
    cut = tmp_path / "cut.trace.txt.xz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TraceFormatError, match=r"cut\.trace\.txt\.xz:\d+: .*"):
        check_trace(cut)
