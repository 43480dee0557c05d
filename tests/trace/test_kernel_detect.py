"""Which kernel line a trace is checked as when its header names none: its first events tell.

A user's own tracefs text (``cat /sys/kernel/tracing/trace``) has no ``# kernel:`` line; a
probe only one kernel line's probe set records (6.12's ``swap_read_folio``, 6.1's
``swap_readpage``) decides, for a file and for standard input alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kmodel.capture import probes, probes612
from kmodel.trace import check_trace
from kmodel.trace.check_6_12 import trace_kernel
from kmodel.trace.recorders import EVENTS_ONLY_6_1, EVENTS_ONLY_6_12, events_kernel

TRACES = Path(__file__).resolve().parent.parent / "data" / "traces"


def test_the_telling_events_are_those_only_one_probe_set_has() -> None:
    probes_6_1 = {line.split()[0].split("/", 1)[1] for line in probes.kprobe_events()}
    probes_6_12 = {name for probe in probes612.PROBES
                   for name in (probe.function,
                                 *(() if probe.ret is None else (f"{probe.function}_ret",)))}
    assert probes_6_12 - probes_6_1 == EVENTS_ONLY_6_12
    assert probes_6_1 - probes_6_12 == EVENTS_ONLY_6_1


def _headless(src: Path, dest: Path) -> Path:
    dest.write_text("".join(line for line in src.read_text().splitlines(True)
                            if not line.startswith("#")))
    return dest


@pytest.mark.parametrize("name", ["basic", "readerr_blkdebug"])
def test_a_6_12_trace_without_its_header_is_checked_on_the_6_12_model(
        tmp_path: Path, name: str) -> None:
    bare = _headless(TRACES / "v6_12" / f"{name}.trace.txt", tmp_path / "t.txt")
    assert trace_kernel(bare) == "6.12"
    found = check_trace(bare)
    forced = check_trace(bare, kernel="6.12")
    assert found.conformant and found.counts == forced.counts
    # As 6.1 the same lines are bad input (6.12's __swap_writepage prints folio=, not page=).
    with pytest.raises(Exception, match="__swap_writepage"):
        check_trace(bare, kernel="6.1")


def test_a_6_1_trace_without_its_header_stays_6_1(tmp_path: Path) -> None:
    bare = _headless(TRACES / "basic.trace.txt", tmp_path / "t.txt")
    assert trace_kernel(bare) == "6.1"
    assert check_trace(bare).counts == check_trace(TRACES / "basic.trace.txt").counts


def test_lines_that_tell_nothing_leave_it_to_the_default() -> None:
    block_only = "  kworker/0:1-12  (   12) [000] .....  1.000000: block_bio_queue: 254,0 R 8 + 8 [k]\n"
    assert events_kernel([block_only] * 3) is None
    assert events_kernel(["not a trace line", block_only.replace("block_bio_queue",
                                                                 "swap_read_folio")]) == "6.12"


def test_standard_input_without_a_header_is_told_by_its_events(tmp_path: Path) -> None:
    bare = _headless(TRACES / "v6_12" / "basic.trace.txt", tmp_path / "t.txt")
    done = subprocess.run([sys.executable, "-m", "kmodel", "check", "--json", "-"],
                          input=bare.read_bytes(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    expected = check_trace(bare, kernel="6.12")
    assert f'"checks": {expected.counts["checks"]}'.encode() in done.stdout
