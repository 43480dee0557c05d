"""Wrong traces made from real ones: each mutant says where ``kmodel check`` must flag it.

A mutant changes one thing the kernel would never do (a completion's status without its
alert, a write error without the re-dirty, a wrong sector, a completion before its
submission, a SIGBUS turned into success, a hidden alert) and names the line the checker must
report and a branch-catalog ID the report must carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import attrs

_TS = re.compile(r"(\]\s+\S+\s+)(\d+\.\d+)(: )")
_EVENT = re.compile(r": ([a-z_]+): ")


@attrs.frozen
class Mutant:
    """A mutated trace, the 1-based line to flag, and a branch ID the report must name."""

    name: str
    lines: tuple[str, ...]
    lineno: int
    branch: str

    def write(self, directory: Path) -> Path:
        """Write the mutated trace; return its path."""
        path = directory / f"{self.name}.trace.txt"
        path.write_text("".join(self.lines))
        return path


class NoCandidate(LookupError):
    """The trace has no line this mutation applies to."""


def _event(line: str) -> str:
    match = _EVENT.search(line)
    return match.group(1) if match else ""


def _arg(line: str, key: str) -> str:
    match = re.search(rf"\b{key}=(\S+)", line)
    if match is None:
        raise NoCandidate(f"no {key}= in {line!r}")
    return match.group(1)


def _set_arg(line: str, key: str, value: str) -> str:
    return re.sub(rf"\b{key}=\S+", f"{key}={value}", line, count=1)


def _pick(indices: list[int], where: str) -> int:
    if not indices:
        raise NoCandidate(f"no {where}")
    return indices[len(indices) // 2]


def _replace(lines: list[str], index: int, line: str) -> tuple[str, ...]:
    out = list(lines)
    out[index] = line
    return tuple(out)


def flip_read_status(lines: list[str], *, to_error: bool) -> Mutant:
    """A read completion's ``bi_status`` flipped 0 -> 10 (an unreported error) or 10 -> 0."""
    old, new = ("0", "10") if to_error else ("10", "0")
    found = [i for i, line in enumerate(lines)
             if _event(line) == "end_swap_bio_read" and _arg(line, "bi_status") == old]
    index = _pick(found, f"end_swap_bio_read with bi_status={old}") if to_error else (
        found[0] if found else _pick(found, f"end_swap_bio_read bi_status={old}"))
    name = "read_status_0_to_10" if to_error else "read_status_10_to_0"
    return Mutant(name, _replace(lines, index, _set_arg(lines[index], "bi_status", new)),
                  index + 1, "ER-1" if to_error else "ER-2")


def drop_redirty(lines: list[str]) -> Mutant:
    """After a failed write, ``end_page_writeback`` shows the page clean (EW-1 re-dirties it)."""
    for i, line in enumerate(lines):
        if _event(line) != "end_swap_bio_write" or _arg(line, "bi_status") == "0":
            continue
        page = _arg(line, "page")
        for j in range(i + 1, min(len(lines), i + 50)):
            if _event(lines[j]) == "end_page_writeback" and _arg(lines[j], "page") == page:
                pflags = int(_arg(lines[j], "pflags"), 16) & ~(1 << 3)
                mutated = _set_arg(lines[j], "pflags", f"{pflags:#x}")
                return Mutant("drop_redirty", _replace(lines, j, mutated), j + 1, "EW-1")
    raise NoCandidate("no failed end_swap_bio_write followed by its end_page_writeback")


def _queued_reads(lines: list[str]) -> list[int]:
    """``block_bio_queue`` lines of a read right after its ``swap_readpage``."""
    return [i for i in range(1, len(lines))
            if _event(lines[i]) == "block_bio_queue" and " R " in lines[i]
            and _event(lines[i - 1]) in ("swap_readpage", "bdev_read_page_ret")]


def shift_queued_sector(lines: list[str]) -> Mutant:
    """A swap read bio queued one slot off (SE-1)."""
    index = _pick(_queued_reads(lines), "block_bio_queue of a swap read")
    line = re.sub(r" R (\d+) \+ ", lambda m: f" R {int(m.group(1)) + 8} + ", lines[index],
                  count=1)
    return Mutant("queue_sector", _replace(lines, index, line), index + 1, "SE-1")


def _completion_of(lines: list[str], queued: int) -> int:
    """The ``end_swap_bio_read`` of the bio queued at ``queued``."""
    sector = re.search(r" R (\d+) \+ ", lines[queued])
    assert sector is not None
    for j in range(queued + 1, len(lines)):
        if _event(lines[j]) == "end_swap_bio_read" and _arg(lines[j], "sector") == sector.group(1):
            return j
    raise NoCandidate(f"no completion of the bio queued at line {queued + 1}")


def shift_completion_sector(lines: list[str], event: str = "end_swap_bio_read") -> Mutant:
    """A completion whose ``sector`` is one slot off its page's slot (SE-1)."""
    if event == "end_swap_bio_read":
        index = _completion_of(lines, _pick(_queued_reads(lines), "queued swap read"))
    else:
        found = [i for i, line in enumerate(lines) if _event(line) == event]
        index = _pick(found, event)
    sector = int(_arg(lines[index], "sector")) + 8
    return Mutant(f"{event}_sector", _replace(lines, index,
                                              _set_arg(lines[index], "sector", str(sector))),
                  index + 1, "SE-1")


def completion_before_submission(lines: list[str]) -> Mutant:
    """A read completion moved before the ``block_bio_queue`` of its own bio (BIO-2).

    It gets a timestamp 1 us before the queue's: with an equal one, a completion on a lower
    CPU printed first would be a tie, which a real execution allows.
    """
    queued = _pick(_queued_reads(lines), "queued swap read")
    done = _completion_of(lines, queued)
    timestamp = _TS.search(lines[queued])
    assert timestamp is not None
    sec, usec = timestamp.group(2).split(".")
    us = int(sec) * 1_000_000 + int(usec) - 1
    earlier = f"{us // 1_000_000}.{us % 1_000_000:0{len(usec)}d}"
    moved = _TS.sub(lambda m: m.group(1) + earlier + m.group(3), lines[done], count=1)
    out = list(lines)
    del out[done]
    out.insert(queued, moved)
    return Mutant("completion_before_submission", tuple(out), queued + 1, "BIO-2")


def sigbus_to_success(lines: list[str]) -> Mutant:
    """A fault that got VM_FAULT_SIGBUS after a read error returns success (DS-7)."""
    found = [i for i, line in enumerate(lines)
             if _event(line) == "do_swap_page_ret" and _arg(line, "ret") == "0x2"]
    if not found:
        raise NoCandidate("no do_swap_page_ret ret=0x2")
    index = found[0]
    return Mutant("sigbus_to_success", _replace(lines, index, _set_arg(lines[index], "ret", "0x0")),
                  index + 1, "DS-7")


def hide_read_error(lines: list[str]) -> Mutant:
    """The first ``Read-error on swap-device`` console line deleted (ER-1, PR-1)."""
    for i, line in enumerate(lines):
        match = re.search(r"console: Read-error on swap-device \(\d+:\d+:(\d+)\)", line)
        if match is None:
            continue
        for j in range(i - 1, -1, -1):
            if (_event(lines[j]) == "end_swap_bio_read"
                    and _arg(lines[j], "sector") == match.group(1)):
                out = list(lines)
                del out[i]
                return Mutant("hide_read_error", tuple(out), j + 1, "ER-1")
    raise NoCandidate("no Read-error console line")


#: Every mutation, by name.
MUTATIONS: dict[str, Callable[[list[str]], Mutant]] = {
    "read_status_0_to_10": lambda lines: flip_read_status(lines, to_error=True),
    "read_status_10_to_0": lambda lines: flip_read_status(lines, to_error=False),
    "drop_redirty": drop_redirty,
    "queue_sector": shift_queued_sector,
    "read_completion_sector": shift_completion_sector,
    "write_completion_sector": lambda lines: shift_completion_sector(lines, "end_swap_bio_write"),
    "completion_before_submission": completion_before_submission,
    "sigbus_to_success": sigbus_to_success,
    "hide_read_error": hide_read_error,
}
