"""Trim a captured trace to a size budget, keeping whole per-slot histories.

Every event line names the swap slots it touches: ``entry=``, a ``sector=`` (slot = sector / 8,
or through the swap file's extents when the trace has ``add_swap_extent`` lines), a block
event's sector range, ``do_swap_page``'s ``orig_pte``. A probed call and its kretprobe
return (matched per task and context, nesting allowed) form one unit with the call's slots, and
``mm_vmscan_write_folio`` goes with the ``swap_writepage`` it reports. The kept slots are the
first K slots to appear plus every slot of a failed I/O, widened to whole 8-slot readahead
clusters; a unit is kept when it touches a kept slot, so each kept slot keeps its whole history
(a merged request also touching dropped slots is kept whole). K is the largest that fits the
budget. The header (``#`` lines) stays verbatim with one ``# kmodel trim:`` line added, and
signal and console events stay (with the continuation lines of a multi-line printk), as do
ftrace's ``[LOST n EVENTS]`` markers, except the guest shell's SIGCHLD noise.

``python -m kmodel.capture.trim IN OUT [--max-bytes N]``
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import attrs

_LINE = re.compile(
    r"^\s*(?P<task>.*?)-(?P<pid>\d+)\s+\(\s*[\d-]+\)\s+\[(?P<cpu>\d+)\]\s+(?P<flags>\S+)\s+"
    r"[\d.]+:\s+(?P<event>[\w.]+):\s?(?P<args>.*)$"
)
# block_rq_issue has "BYTES (CMD) ", block_rq_complete/_error only "(CMD) " before the range.
_BLOCK = re.compile(r"^\d+,\d+ \S+ (?:\d+ )?(?:\([^)]*\) )?(\d+) \+ (\d+)")
_ENTRY = re.compile(r"\bentry=0x([0-9a-f]+)")
_SECTOR = re.compile(r"\bsector=(\d+)")
_ORIG_PTE = re.compile(r"\borig_pte=0x([0-9a-f]+)")
_FAILED = re.compile(r"\bbi_status=[1-9]|\bret=-(?!95\b)\d+|block_rq_error")
_SWP_OFFSET_MASK = (1 << 50) - 1
_SWP_TYPE_SHIFT = 58  # swp_entry_t.val: offset in the low 58 bits, type above
_EXTENT = re.compile(r"\badd_swap_extent: .* start_page=(\d+) nr_pages=(\d+) start_block=(\d+)")
_LOST = re.compile(r"^CPU:\d+ \[LOST \d+ EVENTS\]")
#: Extents of the traced swap area: (start_block, nr_pages, start_page), in PAGE_SIZE blocks.
Extents = list[tuple[int, int, int]]


def pte_swap_offset(pte: int) -> int:
    """Return the swap offset of an x86_64 swap PTE (the offset is stored inverted, bits 9..58).

    Linux 6.1.176 arch/x86/include/asm/pgtable_64.h: __swp_entry / __swp_offset.
    """
    return ((~pte & (2**64 - 1)) >> 9) & _SWP_OFFSET_MASK


def extents(text: str) -> Extents:
    """Return the swap extents ``add_swap_extent`` lines of a trace record (empty: none)."""
    return sorted(
        (int(block), int(pages), int(page)) for page, pages, block in _EXTENT.findall(text)
    )


def sector_slot(sector: int, ext: Extents) -> int:
    """Return the slot a 512-byte sector belongs to: through *ext*, else sector / 8.

    Linux 6.1.176 mm/swapfile.c:228-239 (swap_page_sector) in reverse.
    """
    block = sector // 8
    for start_block, pages, start_page in ext:
        if start_block <= block < start_block + pages:
            return start_page + block - start_block
    return block


def line_slots(event: str, args: str, ext: Extents | None = None) -> set[int]:
    """Return the swap slots one trace event refers to (sectors mapped through *ext*)."""
    ext = ext or []
    slots: set[int] = set()
    if event.startswith("block_"):
        m = _BLOCK.match(args)
        if m:
            start, count = int(m.group(1)), int(m.group(2))
            last = start + max(count, 1) - 1
            slots.update(sector_slot(s, ext) for s in range(start - start % 8, last + 1, 8))
        return slots
    slots.update(int(m, 16) & ((1 << _SWP_TYPE_SHIFT) - 1) for m in _ENTRY.findall(args))
    slots.update(sector_slot(int(s), ext) for s in _SECTOR.findall(args))
    if event == "do_swap_page":
        slots.update(pte_swap_offset(int(p, 16)) for p in _ORIG_PTE.findall(args))
    return slots


@attrs.define
class Unit:
    """Trace lines that stand or fall together, with the slots they touch."""

    lines: list[int]
    slots: set[int]
    always: bool = False  # a signal or console line: kept whatever the slots
    failed: bool = False  # holds a failed I/O


def _is_noise(event: str, args: str) -> bool:
    return event == "signal_generate" and args.startswith("sig=17 ")


def units(lines: list[str]) -> list[Unit]:
    """Split the event lines of a trace into units (see the module docstring)."""
    returns = {m.group("event") for line in lines if (m := _LINE.match(line))}
    ext = extents("".join(line for line in lines if "add_swap_extent:" in line))
    out: list[Unit] = []
    open_calls: dict[tuple[str, bool], list[tuple[str, Unit]]] = {}
    last_closed: dict[tuple[str, bool], tuple[str, Unit]] = {}
    last: Unit | None = None  # the unit of the previous event line (continuations join it)
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m is None:
            if _LOST.match(line):
                out.append(Unit([i], set(), always=True))
            elif last is not None and line.strip() and not line.startswith("#"):
                last.lines.append(i)  # a continuation line of a multi-line printk
            continue
        event, args = m.group("event"), m.group("args")
        last = None
        if _is_noise(event, args):
            continue
        ctx = (m.group("pid"), m.group("flags")[2:3] in ("s", "h", "H", "S"))
        stack = open_calls.setdefault(ctx, [])
        # A frontswap miss (-19 while zswap is off, -1 for an entry it does not hold) is no
        # failed I/O: the page goes to the swap device instead.
        failed = not event.startswith("__frontswap") and bool(_FAILED.search(event + " " + args))
        callee = event.removesuffix("_ret")
        if event.endswith("_ret") and any(name == callee for name, _ in stack):
            while stack:
                name, unit = stack.pop()
                if name == callee:
                    unit.lines.append(i)
                    unit.failed |= failed
                    last_closed[ctx] = (name, unit)
                    break
            continue
        if event == "mm_vmscan_write_folio" and last_closed.get(ctx, ("",))[0] == "swap_writepage":
            last_closed[ctx][1].lines.append(i)  # reclaim's report on the writepage just returned
            continue
        always = event in ("signal_generate", "console", "add_swap_extent", "add_swap_extent_ret")
        unit = Unit([i], line_slots(event, args, ext), always, failed)
        last = unit
        out.append(unit)
        if f"{event}_ret" in returns:
            stack.append((event, unit))
    return out


def select(all_units: list[Unit], first: int) -> list[int]:
    """Return the sorted line numbers kept when seeding with the first *first* slots."""
    order: dict[int, None] = {}
    for unit in all_units:
        order.update(dict.fromkeys(sorted(unit.slots)))
    seeds = set(list(order)[:first])
    for unit in all_units:
        if unit.failed:
            seeds |= unit.slots
    kept_slots = {s & ~7 | k for s in seeds for k in range(8)}
    kept = [u for u in all_units if u.always or u.slots & kept_slots]
    return sorted(i for u in kept for i in u.lines)


def trim(text: str, max_bytes: int) -> tuple[str, int]:
    """Return the trimmed trace (header + kept lines) and the number of seed slots used."""
    lines = text.splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    all_units = units(lines)
    head_size = sum(len(h) for h in header) + 200

    def build(first: int) -> str:
        kept = select(all_units, first)
        note = (
            f"# kmodel trim: kept {len(kept)} of {len(lines) - len(header)} event lines: the whole "
            f"history of the first {first} swap slots and of failed I/O, by 8-slot cluster\n"
        )
        return "".join(header[:1]) + note + "".join(header[1:]) + "".join(lines[i] for i in kept)

    low, high = 0, len(set().union(*(u.slots for u in all_units)))
    while low < high:  # largest seed count whose output fits
        mid = (low + high + 1) // 2
        if sum(len(lines[i]) for i in select(all_units, mid)) + head_size <= max_bytes:
            low = mid
        else:
            high = mid - 1
    return build(low), low


def main(argv: list[str] | None = None) -> int:
    """Command line: trim IN to OUT."""
    parser = argparse.ArgumentParser(prog="python -m kmodel.capture.trim")
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--max-bytes", type=int, default=900_000)
    args = parser.parse_args(argv)
    text, first = trim(args.input.read_text(), args.max_bytes)
    args.output.write_text(text)
    print(f"{args.output}: {len(text)} bytes, seeded with the first {first} slots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
