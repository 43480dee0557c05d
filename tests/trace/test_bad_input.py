"""``kmodel check`` on inputs no kernel writes: a clear verdict or error, never a traceback.

Each test drives the command line (``kmodel.cli.main``) with a real trace of the repository
changed in one way, and asserts the exit status and the message naming the file and line.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.trace.parse import LINE_MAX

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"


def _lines(name: str = "ssd") -> list[str]:
    return (TRACES / f"{name}.trace.txt").read_text().splitlines(keepends=True)


def _first(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line)


def _write(tmp_path: Path, lines: list[str], name: str = "bad.trace.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


def _check(path: Path | str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["check", *args, str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return status, captured.out + captured.err


def _set(line: str, key: str, value: str) -> str:
    head, sep, rest = line.partition(f" {key}=")
    assert sep, (key, line)
    _, space, tail = rest.partition(" ")
    return f"{head} {key}={value}{space}{tail}" if space else f"{head} {key}={value}\n"


# -- values the kernel cannot print ---------------------------------------------------------


def test_negative_swap_entry_is_an_error_at_its_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines()
    i = _first(lines, "__swap_writepage: ")
    lines[i] = _set(lines[i], "entry", "-0x1")
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2
    assert f"{path}:{i + 1}: __swap_writepage: entry='-0x1': expected a swap entry" in out


@pytest.mark.parametrize("entry", ["0x6800000000000001", "0xfc00000000000200"])
def test_swap_entry_of_no_swap_area_is_an_error(entry: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Types 26..31 are migration, hwpoison, marker and swapin-error entries (MAX_SWAPFILES)."""
    lines = _lines()
    i = _first(lines, "swap_readpage: ")
    lines[i] = _set(lines[i], "entry", entry)
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2
    assert f"{path}:{i + 1}: swap_readpage: entry='{entry}' is no swap slot" in out
    assert "MAX_SWAPFILES (26" in out


def test_swap_entry_wider_than_64_bits_is_an_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Once made the oracle add a swap area per type up to 2^102, without end."""
    lines = _lines()
    i = _first(lines, "__swap_writepage: ")
    lines[i] = _set(lines[i], "entry", hex(1 << 102))
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2 and f"{path}:{i + 1}: __swap_writepage: entry=" in out


FIELDS = [  # (event, key, a value one past the type's range)
    ("swap_readpage", "pflags", hex(1 << 64)),
    ("end_swap_bio_write", "dev", hex(1 << 32)),
    ("end_swap_bio_write", "size", str(1 << 32)),
    ("end_swap_bio_write", "opf", hex(1 << 32)),
    ("end_swap_bio_write", "sector", str(1 << 64)),
    ("do_swap_page", "orig_pte", hex(1 << 64)),
    ("end_swap_bio_read", "bi_status", "256"),
]


@pytest.mark.parametrize(("event", "key", "wide"), FIELDS)
@pytest.mark.parametrize("kind", ["wide", "negative", "not a number"])
def test_values_out_of_their_type_are_errors(event: str, key: str, wide: str, kind: str,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("readerr_blkdebug")
    i = _first(lines, f" {event}: ")
    value = {"wide": wide, "negative": "-1", "not a number": "0xfg"}[kind]
    lines[i] = _set(lines[i], key, value)
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2, out
    assert f"{path}:{i + 1}: {event}: {key}={value!r}: expected " in out


def test_in_range_values_the_fast_regex_does_not_take_are_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 3-digit u8 and a 20-digit sector pass the range check of the slow path."""
    lines = _lines("readerr_blkdebug")
    i = _first(lines, " swap_readpage: ")
    lines[i] = _set(lines[i], "synchronous", "200")  # any non-zero: synchronous
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status in (0, 1) and "expected" not in out.split("divergence")[0]


# -- lines no tracer writes -----------------------------------------------------------------


def test_dev_zero_is_a_line_too_long(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _check("/dev/zero", capsys)
    assert status == 2
    assert f"/dev/zero:1: line longer than {LINE_MAX} bytes" in out


def test_an_endless_line_is_not_read_whole(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines()
    i = _first(lines, "swap_readpage: ")
    lines[i] = lines[i].rstrip("\n") + " x" * (4 << 20) + "\n"  # 8 MiB in one line
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2
    assert f"{path}:{i + 1}: line longer than {LINE_MAX} bytes" in out


def test_a_line_just_under_the_cap_is_read(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines()
    lines.insert(20, "#" + "x" * (LINE_MAX - 2) + "\n")  # LINE_MAX bytes with its newline
    path = _write(tmp_path, lines)
    assert _check(path, capsys)[0] == 0


def test_a_last_line_cut_mid_field_is_an_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines()
    i = max(i for i, line in enumerate(lines) if " pflags=" in line)
    del lines[i + 1 :]
    lines[i] = lines[i][: lines[i].index(" pflags=") + len(" pflags=0xff")]  # cut: no newline
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2
    assert f"{path}:{len(lines)}: the input ends inside this line" in out


def test_non_utf8_file_name_is_printed_escaped(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / os.fsdecode(b"caf\xe9.trace.txt")
    path.write_text("".join(_lines()))
    status, out = _check(path, capsys)
    assert status == 0
    assert "caf\\xe9.trace.txt: conformant" in out


# -- impossible traces are not accepted silently --------------------------------------------


def test_duplicated_end_page_writeback_diverges(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """folio_end_writeback BUG()s when writeback is not set: one end per start (FM-3)."""
    lines = _lines("basic")
    i = _first(lines, " end_page_writeback: ")
    lines.insert(i + 1, lines[i])
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 1
    assert f"{path}:{i + 2}: divergence [FM-3, EW-3]" in out
    assert f"its writeback ended at line {i + 1}" in out


def test_end_page_writeback_without_writeback_diverges(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines("basic")
    i = _first(lines, " end_page_writeback: ")
    lines[i] = _set(lines[i], "pflags", "0xfffffc0000464")  # PG_writeback (bit 15) clear
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 1 and f"{path}:{i + 1}: divergence [" in out


def test_read_completion_whose_bio_was_never_queued_diverges(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The completion proves a bio; submit_bio traces block_bio_queue for every bio."""
    lines = _lines()
    i = _first(lines, "block_bio_queue: 254,0 R ")
    sector = lines[i].split(" R ")[1].split()[0]
    del lines[i]
    done = next(j for j in range(i, len(lines))
                if " end_swap_bio_read: " in lines[j] and f" sector={sector} " in lines[j])
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 1
    assert f"{path}:{done + 1}: divergence [BIO-2, RD-10]" in out
    assert "returned without block_bio_queue" in out


def test_time_going_back_on_one_cpu_is_an_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines()
    cpu0 = [i for i, line in enumerate(lines) if "[000]" in line and ": " in line]
    i, j = next((a, b) for a, b in itertools.pairwise(cpu0)
                if lines[a].split(": ")[0].split()[-1] != lines[b].split(": ")[0].split()[-1])
    lines[i], lines[j] = lines[j], lines[i]
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 2
    assert f"{path}:{j + 1}: timestamp " in out and "previous event of CPU 0" in out


def test_cpus_may_interleave_out_of_time_order(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """trace_pipe merges CPUs as their events arrive: only each CPU's own order is fixed."""
    lines = _lines()
    header = [line for line in lines if line.startswith("#")]
    events = [line for line in lines if not line.startswith("#")]
    late = [line for line in events if "[001]" in line][:3]
    rest = [line for line in events if line not in late]
    path = _write(tmp_path, header + rest[:40] + late + rest[40:])
    status, out = _check(path, capsys)
    assert status != 2, out


# -- nothing checked is not a pass ----------------------------------------------------------


def _header(name: str = "ssd") -> list[str]:
    return [line for line in _lines(name) if line.startswith("#")]


@pytest.mark.parametrize("kind", ["empty", "header only", "all unknown", "blank lines"])
def test_nothing_checked_is_its_own_verdict_exit_3(kind: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    if kind == "empty":
        lines: list[str] = []
    elif kind == "header only":
        lines = _header()
    elif kind == "blank lines":
        lines = ["\n"] * 5
    else:  # every event renamed to one the checker does not know
        lines = [line if line.startswith("#") else
                 line.replace(line.split(": ")[1], "not_a_swap_event", 1)
                 for line in _lines()]
    path = _write(tmp_path, lines)
    status, out = _check(path, capsys)
    assert status == 3, out
    assert f"{path}: NOTHING CHECKED: " in out and "0 outcomes checked" in out
    if kind == "all unknown":
        events = sum(1 for line in lines if not line.startswith("#"))
        assert f"{events} events read" in out and f"not_a_swap_event {events}" in out


def test_json_verdict_of_nothing_checked(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, _header())
    status, out = _check(path, capsys, "--json")
    assert status == 3
    doc = json.loads(out)
    assert doc["verdict"] == "unchecked" and doc["files"][0]["verdict"] == "nothing checked"


def test_a_conformant_trace_keeps_its_verdict_and_says_what_was_checked(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _check(TRACES / "ssd.trace.txt", capsys)
    assert status == 0
    verdict = out.strip().splitlines()[-1]
    events = sum(1 for line in _lines() if not line.startswith("#"))
    assert verdict.startswith(f"{TRACES / 'ssd.trace.txt'}: conformant: {events} events read, ")
    assert " outcomes checked against the model, " in verdict
    assert "% of events), 0 missed probe hits, 0 divergences" in verdict


# -- bounded memory -------------------------------------------------------------------------


def _faults(path: Path, events: int, pids: int) -> Path:
    """`events` do_swap_page calls that never return, spread over `pids` pids."""
    with path.open("w") as out:
        for i in range(events):
            pid = i % pids + 1
            out.write(f"          memhog-{pid:<7d} ({pid:7d}) [000] .....    "
                      f"{20 + i // 1_000_000}.{i % 1_000_000:06d}: do_swap_page: "
                      f"(do_swap_page+0x0/0xa20) vmf=0xffffc9000058bdf8 address=0x7f{i:010x} "
                      "fault_flags=0x255 orig_pte=0xfffffffffffbf602\n")
    return path


def _peak_rss_mb(path: Path) -> float:
    """Peak RSS of `kmodel check path` in a process of its own."""
    child = subprocess.Popen([sys.executable, "-m", "kmodel", "check", str(path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 3  # nothing was checked: calls without returns
    return usage.ru_maxrss / 1024


def test_many_pids_with_open_faults_stay_near_one_pid_memory(tmp_path: Path) -> None:
    """400k pids took 614 MB against 21 MB for one; the tables are bounded now."""
    events = 60_000
    one = _peak_rss_mb(_faults(tmp_path / "one.trace.txt", events, 1))
    many = _peak_rss_mb(_faults(tmp_path / "many.trace.txt", events, events))
    assert many < one + 12, (one, many)
