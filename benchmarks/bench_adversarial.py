"""(2b) Memory on adversarial traces: peak RSS of `kmodel check` on traces that make a
checker keeping state forever grow: many pids, and many swap types.

Both repeat a `kmodel simulate` trace, shifting the timestamps of each copy past the one
before and giving each copy its own pids (pid + copy * 100,000):

- many pids: 10 then 100 copies;
- many swap types: one copy per swap area, copy i on swap type i (2, then 8, then 25
  areas: types 0..24, MAX_SWAPFILES being 26 here, kmodel.trace.events), each copy's
  ``entry=`` values and ``do_swap_page``'s ``orig_pte`` (the x86_64 swap pte: the type in its
  top 5 bits, ``swp_entry_to_pte``) rewritten onto that type, and its block I/O on its own
  device (``dev_t`` 254:i, 254:0 in the simulated trace: the virtio disk). The checker learns
  a swap area from the first entry of its type (kmodel/trace/oracle.py ``Oracle._swap_area``:
  slot N at sector N * 8, as on a swap partition): no ``# swap:`` header or swapon lines are
  needed.

Each trace's `kmodel check` report is verified, not only its memory measured: its verdict
must be conformant and its outcomes checked must grow with the copies (each copy is
checked, not skipped as unknown or stopped at an error); a line says so when not.
Target: peak RSS bounded (within 20% from the smallest to the largest).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from common import Child, simulated_trace, worker

_PID = re.compile(r"^(\s*.+?-)(\d+)(\s+)(?:\((\s*)(\d+)\))?")
_TS = re.compile(r" (\d+)\.(\d{6}): ")
_ENTRY = re.compile(r"\b(entry|orig_pte)=0x([0-9a-f]+)")
_BLOCK_DEV = re.compile(r": (block_\w+): 254,0 ")
_DEV = re.compile(r" dev=0x([0-9a-f]+)")

SWP_TYPE_SHIFT = 58  # swp_entry_t.val: the type above the offset (include/linux/swapops.h:27)
PTE_TYPE_SHIFT = 59  # x86_64 swap pte: the type in the top 5 bits (arch/x86 pgtable_64.h)
MAX_TYPES = 25  # the most swap types the bench uses (MAX_SWAPFILES is 26 in kmodel's parser)


def _copies(workdir: Path, out: Path, base_events: int, copies: int,
            rewrite: Callable[[str, int], str]) -> Path:
    """``copies`` copies of the basic trace, one after the other in time, each under new
    pids and passed through ``rewrite(line, copy)``; cached in ``workdir``."""
    if out.exists():
        return out
    base, _ = simulated_trace(workdir, "basic", base_events)
    lines = base.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    part = out.with_suffix(".part")
    offset = 0
    with part.open("w") as f:
        f.writelines(header)
        for copy in range(copies):
            last = 0
            for line in body:
                m = _TS.search(line)
                if m is None:
                    continue
                last = int(m.group(1)) * 1_000_000 + int(m.group(2))
                ts = last + offset
                line = f"{line[:m.start()]} {ts // 1_000_000:5d}.{ts % 1_000_000:06d}: " \
                       f"{line[m.end():]}"
                p = _PID.match(line)
                if p is not None and p.group(2) != "0":
                    shift = copy * 100_000
                    head = f"{p.group(1)}{int(p.group(2)) + shift}{p.group(3)}"
                    if p.group(5) is not None:  # the TGID column
                        tgid = f"{int(p.group(5)) + shift}"
                        head += f"({tgid:>{len(p.group(4)) + len(p.group(5))}})"
                    line = head + line[p.end():]
                f.write(rewrite(line, copy))
            offset += last + 1
    part.rename(out)
    return out


def many_pids(workdir: Path, base_events: int, copies: int) -> Path:
    out = workdir / f"manypids-{base_events}x{copies}.trace.txt"
    return _copies(workdir, out, base_events, copies, lambda line, copy: line)


def on_swap_type(line: str, type_: int) -> str:
    """``line`` with its swap entries on swap type ``type_`` and its I/O on device 254:type_
    (the simulated trace swaps on type 0 of 254:0)."""
    if not type_:
        return line

    def entry(m: re.Match[str]) -> str:
        value = int(m.group(2), 16)
        shift = SWP_TYPE_SHIFT if m.group(1) == "entry" else PTE_TYPE_SHIFT
        if value >> shift:
            raise ValueError(f"not on swap type 0: {m.group(0)}")
        return f"{m.group(1)}={value | type_ << shift:#x}"

    def dev(m: re.Match[str]) -> str:
        value = int(m.group(1), 16)  # dev_t: MAJOR << 20 | MINOR
        return f" dev={value + type_:#x}"

    line = _ENTRY.sub(entry, line)
    line = _BLOCK_DEV.sub(lambda m: f": {m.group(1)}: 254,{type_} ", line)
    return _DEV.sub(dev, line)


def many_swap_types(workdir: Path, base_events: int, types: int) -> Path:
    out = workdir / f"manyswaptypes-{base_events}x{types}.trace.txt"
    return _copies(workdir, out, base_events, types, on_swap_type)


def _verified(n: int, verdict: str, checks: int, first: tuple[int, int] | None) -> str:
    """'' when the report is conformant and its outcomes checked grew with the copies (at
    least 90% of the first trace's per copy), else why not."""
    if verdict != "conformant":
        return f" NOT VERIFIED: verdict {verdict}"
    if checks == 0:
        return " NOT VERIFIED: no outcome checked"
    if first is not None and checks < first[1] * n // first[0] * 9 // 10:
        return (f" NOT VERIFIED: {checks:,} outcomes checked, expected "
                f"~{first[1] * n // first[0]:,} ({n} copies of {first[0]}'s {first[1]:,})")
    return ""


def _measure(paths: list[tuple[int, Path]]) -> list[tuple[int, float, float, int, str]]:
    """Per trace: copies, peak RSS (MB), CPU (s), outcomes checked, '' or why not verified."""
    rows: list[tuple[int, float, float, int, str]] = []
    first: tuple[int, int] | None = None
    for n, path in paths:
        child: Child = worker("check", path)
        words = dict(w.split("=", 1) for w in child.stdout.split() if "=" in w)
        verdict, checks = words.get("verdict", "not reported"), int(words.get("checks", "0"))
        rows.append((n, child.maxrss_mb, child.cpu, checks, _verified(n, verdict, checks, first)))
        if first is None:
            first = (n, checks)
    return rows


def run(workdir: Path, base_events: int, copies: list[int],
        types: list[int] | None = None) -> list[str]:
    types = types or [2, 8, MAX_TYPES]
    pids = _measure([(n, many_pids(workdir, base_events, n)) for n in copies])
    areas = _measure([(n, many_swap_types(workdir, base_events, n)) for n in types])
    return [*_report("many pids", pids, "copies",
                     f"copies x ~{base_events:,} events, each under new pids"),
            *_report("many swap types", areas, "swap types",
                     f"swap areas x ~{base_events:,} events (copy i on type i, device 254:i)")]


def _report(what: str, rows: list[tuple[int, float, float, int, str]], unit: str,
            each: str) -> list[str]:
    """One line per size (``{n} {each}``) and the ratio of the largest to the smallest."""
    lines = [f"[adversarial] {what}: {n} {each}: peak RSS {rss:.1f} MB, {cpu:.1f} s CPU, "
             f"{checks:,} outcomes checked{bad}" for n, rss, cpu, checks, bad in rows]
    lines.append(f"[adversarial] ratio peak RSS {rows[-1][0]} vs {rows[0][0]} {unit} = "
                 f"{rows[-1][1] / rows[0][1]:.2f}x (target within 20%)")
    return lines
