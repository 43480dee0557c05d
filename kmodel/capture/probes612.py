"""The kprobes of a Linux 6.12 capture, by BTF names, checked against the image's BTF.

6.12 has ``CONFIG_PROBE_EVENTS_BTF_ARGS``: a probe names a function parameter and its members
(``bio->bi_status``) and the kernel resolves the offsets from its own BTF, so the lines do not
depend on one build's layout. The members still have to exist with the width the fetch type
reads, and the functions still have to exist (several 6.12 swap functions are inlined:
``swap_read_folio_bdev_async``, ``swap_read_folio_fs``, ``swap_read_folio_zeromap``,
``swap_writepage_bdev_async``): :func:`checked_events` verifies both against the image's BTF
(:mod:`kmodel.capture.btf`) before the guest boots and refuses a layout that does not fit.

Two things stay offsets, checked the same way:

- ``writeback_control``'s bits (``for_reclaim`` ...): reading a bitfield by its BTF name in a
  6.12.118 fetch argument misreads it (an 8-byte shift into a 4-byte slot; it once oopsed in
  ``process_fetch_insn``), so the probe reads the 32-bit word holding ``for_reclaim`` by offset
  (``wbc_bits=+36(%si):x32``) and the checker decodes the bit.
- ``swp_entry_t`` arguments are passed by value (a one-word struct in a register): ``%di``.

The 6.1 lines (:func:`kmodel.capture.probes.kprobe_events`) read fixed offsets; on 6.12 the one
for ``end_swap_bio_read`` loads without complaint and its ``bi_status=+24(%di):u8`` reads
``bi_write_hint``. :func:`offset_fetch_problems` names such misreadings.
"""

from __future__ import annotations

import re

import attrs

from kmodel.capture.btf import Btf, BtfError
from kmodel.capture.probes import GROUP

#: Functions of the 6.12.118 swap path that have no symbol (inlined): a probe on them fails.
INLINED: frozenset[str] = frozenset(
    {
        "swap_read_folio_bdev_async",
        "swap_read_folio_fs",
        "swap_read_folio_zeromap",
        "swap_writepage_bdev_async",
        "swap_zeromap_batch",
        "alloc_swap_folio",
        "is_folio_zero_filled",
        "swap_zeromap_folio_set",
    }
)

#: Bytes a fetch type reads.
WIDTH = {"u8": 1, "s8": 1, "x8": 1, "u16": 2, "x16": 2, "u32": 4, "s32": 4, "x32": 4,
         "u64": 8, "s64": 8, "x64": 8}


@attrs.frozen
class Arg:
    """One fetch argument: event field ``name``, the fetch expression and its type.

    ``hops`` are the (struct, member path) each ``->`` of a BTF-named fetch reads, in order;
    the last one's width must be the fetch type's. ``word`` marks an offset fetch of the 32-bit
    word holding a bitfield: (struct, member) whose word the ``+OFF`` must be.
    """

    name: str
    fetch: str
    type: str
    hops: tuple[tuple[str, str], ...] = ()
    word: tuple[str, str] | None = None

    def text(self, offset: int | None = None) -> str:
        """The argument as a ``kprobe_events`` word (``OFF`` in the fetch replaced)."""
        fetch = self.fetch.replace("OFF", str(offset)) if offset is not None else self.fetch
        return f"{self.name}={fetch}:{self.type}"


@attrs.frozen
class Probe:
    """A kprobe on ``function`` with ``args``; ``ret``: a kretprobe too, with these args."""

    function: str
    args: tuple[Arg, ...]
    ret: tuple[Arg, ...] | None = None


def _bio(var: str = "bio") -> tuple[Arg, ...]:
    """The bio fields the 6.1 probes record, under the same names, by BTF name."""
    return (
        Arg("bio", var, "x64"),
        Arg("bi_status", f"{var}->bi_status", "u8", (("bio", "bi_status"),)),
        Arg("sector", f"{var}->bi_iter.bi_sector", "u64", (("bio", "bi_iter.bi_sector"),)),
        Arg("size", f"{var}->bi_iter.bi_size", "u32", (("bio", "bi_iter.bi_size"),)),
        Arg("opf", f"{var}->bi_opf", "x32", (("bio", "bi_opf"),)),
        Arg("dev", f"{var}->bi_bdev->bd_dev", "x32",
            (("bio", "bi_bdev"), ("block_device", "bd_dev"))),
        Arg("page", f"{var}->bi_io_vec->bv_page", "x64",
            (("bio", "bi_io_vec"), ("bio_vec", "bv_page"))),
        Arg("pflags", f"{var}->bi_io_vec->bv_page->flags", "x64",
            (("bio", "bi_io_vec"), ("bio_vec", "bv_page"), ("page", "flags"))),
    )


def _folio(var: str = "folio") -> tuple[Arg, ...]:
    # folio->swap (swp_entry_t) shares the word of folio->private (include/linux/mm_types.h).
    return (
        Arg("folio", var, "x64"),
        Arg("pflags", f"{var}->flags", "x64", (("folio", "flags"),)),
        Arg("entry", f"{var}->private", "x64", (("folio", "private"),)),
    )


_RET_PTR = (Arg("folio", "$retval", "x64"),)
_RET_S32 = (Arg("ret", "$retval", "s32"),)
_RET_BOOL = (Arg("ret", "$retval", "u8"),)

#: The 6.12.118 probes, in the order of the 6.1 set (kmodel/capture/probes.py) where a function
#: survived, with 6.12's new ones after it. Signatures: mm/memory.c:4210, mm/swap_state.c:432,
#: 558, 656, 872, mm/page_io.c:30-72, 241, 412, 452, 575, 608, mm/zswap.c:1459, 1585,
#: mm/filemap.c:1614, include/linux/swap.h:459.
PROBES: tuple[Probe, ...] = (
    Probe(
        "do_swap_page",
        (
            Arg("vmf", "vmf", "x64"),
            Arg("address", "vmf->address", "x64", (("vm_fault", "address"),)),
            Arg("fault_flags", "vmf->flags", "x32", (("vm_fault", "flags"),)),
            Arg("orig_pte", "vmf->orig_pte.pte", "x64", (("vm_fault", "orig_pte.pte"),)),
        ),
        (Arg("ret", "$retval", "x32"),),
    ),
    Probe(
        "swapin_readahead",
        (Arg("entry", "%di", "x64"), Arg("gfp", "%si", "x32"), Arg("vmf", "vmf", "x64")),
        _RET_PTR,
    ),
    Probe(
        "swap_cluster_readahead",
        (Arg("entry", "%di", "x64"), Arg("gfp", "%si", "x32"), Arg("mpol", "mpol", "x64"),
         Arg("ilx", "ilx", "u64")),
        _RET_PTR,
    ),
    Probe(
        "read_swap_cache_async",
        (Arg("entry", "%di", "x64"), Arg("gfp", "%si", "x32"), Arg("vma", "vma", "x64"),
         Arg("addr", "addr", "x64"), Arg("plug", "plug", "x64")),
        _RET_PTR,
    ),
    Probe(
        "__read_swap_cache_async",
        (Arg("entry", "%di", "x64"), Arg("gfp", "%si", "x32"), Arg("mpol", "mpol", "x64"),
         Arg("ilx", "ilx", "u64"), Arg("skip_if_exists", "skip_if_exists", "u8")),
        _RET_PTR,
    ),
    # void: the kretprobe has no $retval (refused on a void function), it marks the return.
    Probe("swap_read_folio", (*_folio(), Arg("plug", "plug", "x64")), ()),
    Probe("swap_read_folio_bdev_sync", _folio(), None),
    Probe(
        "swap_writepage",
        (
            Arg("page", "page", "x64"),
            Arg("wbc", "wbc", "x64"),
            Arg("pflags", "page->flags", "x64", (("page", "flags"),)),
            Arg("entry", "page->private", "x64", (("page", "private"),)),
            Arg("sync_mode", "wbc->sync_mode", "u32", (("writeback_control", "sync_mode"),)),
            Arg("wbc_bits", "+OFF(%si)", "x32", word=("writeback_control", "for_reclaim")),
        ),
        _RET_S32,
    ),
    Probe("__swap_writepage", (*_folio(), Arg("wbc", "wbc", "x64")), None),
    Probe("swap_writepage_bdev_sync", _folio(), None),
    Probe("end_swap_bio_write", _bio(), None),
    Probe("end_swap_bio_read", _bio(), None),
    Probe("__end_swap_bio_write", _bio(), None),
    Probe("__end_swap_bio_read", _bio(), None),
    Probe("folio_end_writeback", _folio(), None),
    Probe("zswap_store", _folio(), _RET_BOOL),
    Probe("zswap_load", _folio(), _RET_BOOL),
    Probe(
        "add_swap_extent",
        (
            Arg("type", "sis->type", "s8", (("swap_info_struct", "type"),)),
            Arg("start_page", "start_page", "u64"),
            Arg("nr_pages", "nr_pages", "u64"),
            Arg("start_block", "start_block", "u64"),
        ),
        _RET_S32,
    ),
)


def layout_problems(btf: Btf, probes: tuple[Probe, ...] = PROBES) -> list[str]:
    """Where *probes* do not fit *btf*'s kernel: missing or inlined functions, members that
    are absent or of another width than the fetch type, a bitfield word that moved."""
    problems: list[str] = []
    functions = btf.functions
    for probe in probes:
        if probe.function in INLINED or probe.function not in functions:
            problems.append(f"{probe.function}: no such function in this kernel (inlined or "
                            "renamed: nothing to probe)")
        for arg in (*probe.args, *(probe.ret or ())):
            for i, (struct, path) in enumerate(arg.hops):
                try:
                    field = btf.field(struct, path)
                except BtfError as exc:
                    problems.append(f"{probe.function} {arg.name}: "
                                    + str(exc).removeprefix(f"{btf.name}: "))
                    break
                last = i == len(arg.hops) - 1
                want = WIDTH[arg.type] if last else 8  # every hop before the last is a pointer
                if field.bitfield_size or field.size != want:
                    problems.append(
                        f"{probe.function} {arg.name}: struct {struct}.{path} is "
                        f"{field.bitfield_size or field.size * 8} bits wide, the fetch reads "
                        f"{want * 8}")
            if arg.word is not None:
                try:
                    word_offset(btf, *arg.word)
                except BtfError as exc:
                    problems.append(f"{probe.function} {arg.name}: {exc}")
    return problems


#: The bit of the 32-bit word at :func:`word_offset` that the checker decodes as
#: ``for_reclaim`` (as on 6.1.176: kmodel/capture/btf.py PROBED).
RECLAIM_BIT = 3


def word_offset(btf: Btf, struct: str, member: str) -> int:
    """The byte offset of the 32-bit word holding bitfield *member*; BtfError if its bit moved."""
    field = btf.field(struct, member)
    if field.bitfield_size != 1 or field.bit_offset % 32 != RECLAIM_BIT:
        raise BtfError(
            f"struct {struct}.{member}: the checker decodes bit {RECLAIM_BIT} of a 32-bit word, "
            f"but this kernel has a {field.bitfield_size or field.size * 8}-bit field at bit "
            f"{field.bit_offset % 32} of the word at +{field.bit_offset // 32 * 4}")
    return field.bit_offset // 32 * 4


def kprobe_events(btf: Btf, probes: tuple[Probe, ...] = PROBES) -> list[str]:
    """The ``kprobe_events`` lines for *btf*'s kernel; BtfError naming every misfit first."""
    problems = layout_problems(btf, probes)
    if problems:
        raise BtfError(f"{btf.name}: the 6.12 probes do not fit this kernel:\n  "
                       + "\n  ".join(problems))
    lines: list[str] = []
    for probe in probes:
        def words(args: tuple[Arg, ...]) -> str:
            return "".join(
                " " + a.text(word_offset(btf, *a.word) if a.word else None) for a in args)

        lines.append(f"p:{GROUP}/{probe.function} {probe.function}{words(probe.args)}")
        if probe.ret is not None:
            lines.append(f"r:{GROUP}/{probe.function}_ret {probe.function}{words(probe.ret)}")
    return lines


#: The x86_64 argument registers, in order (the SysV ABI; kprobe fetch syntax).
ARG_REGISTERS = ("%di", "%si", "%dx", "%cx", "%r8", "%r9")


def param_registers(btf: Btf, function: str) -> dict[str, str]:
    """Parameter name -> the register that carries it into *function* on x86_64.

    A parameter of up to 8 bytes takes one register, one of 9-16 bytes (a small struct by
    value) two, a larger one goes on the stack and takes none: later ones then have no
    register either (this map leaves them out).
    """
    out: dict[str, str] = {}
    at = 0
    for name, size in btf.params(function):
        if size > 16:
            break
        if at < len(ARG_REGISTERS) and size <= 8:
            out[name] = ARG_REGISTERS[at]
        at += 1 if size <= 8 else 2
    return out


def _offset_fetch(btf: Btf, probe: Probe, arg: Arg, registers: dict[str, str]) -> str:
    """*arg* as a register + offset fetch: its BTF names resolved on *btf*'s kernel."""
    if arg.word is not None:
        return arg.text(word_offset(btf, *arg.word))
    if arg.fetch.startswith(("%", "$")):
        return arg.text()
    base = arg.fetch.split("->", 1)[0]
    if base not in registers:
        raise BtfError(f"{btf.name}: {probe.function} {arg.name}: parameter {base!r} is not in "
                       f"a register on this kernel (parameters: "
                       f"{', '.join(n for n, _ in btf.params(probe.function))})")
    if arg.fetch.count("->") != len(arg.hops):
        raise BtfError(f"{probe.function} {arg.name}: {arg.fetch!r} has "
                       f"{arg.fetch.count('->')} dereferences but {len(arg.hops)} hops")
    expr = registers[base]
    for struct, path in arg.hops:
        expr = f"+{btf.field(struct, path).offset}({expr})"
    return f"{arg.name}={expr}:{arg.type}"


def offset_events(btf: Btf, probes: tuple[Probe, ...] = PROBES) -> list[str]:
    """The ``kprobe_events`` lines of :func:`kprobe_events`, every BTF name resolved on *btf*.

    Each named parameter becomes its register (:func:`param_registers`) and each ``->member``
    an offset fetch ``+OFF(...)`` at that member's offset in *btf*: the same values, in the
    6.1 lines' register + offset syntax, which :func:`kmodel.trace.recorders.bpftrace_script`
    translates (bpftrace reads no BTF for them, and the layout is checked here, on the host).
    """
    kprobe_events(btf, probes)  # BtfError naming every misfit first
    lines: list[str] = []
    for probe in probes:
        registers = param_registers(btf, probe.function)

        def words(args: tuple[Arg, ...], registers: dict[str, str] = registers,
                  probe: Probe = probe) -> str:
            return "".join(" " + _offset_fetch(btf, probe, a, registers) for a in args)

        lines.append(f"p:{GROUP}/{probe.function} {probe.function}{words(probe.args)}")
        if probe.ret is not None:
            lines.append(f"r:{GROUP}/{probe.function}_ret {probe.function}{words(probe.ret)}")
    return lines


#: What the 6.1 probe lines' offset fetches read, by argument name (kmodel/capture/probes.py
#: kprobe_events: the bio, page, vm_fault and swap_info_struct fields).
OFFSET_MEMBERS_6_1: dict[str, tuple[str, str]] = {
    "bi_status": ("bio", "bi_status"),
    "sector": ("bio", "bi_iter.bi_sector"),
    "size": ("bio", "bi_iter.bi_size"),
    "opf": ("bio", "bi_opf"),
    "dev": ("block_device", "bd_dev"),
    "waiter": ("bio", "bi_private"),
    "address": ("vm_fault", "address"),
    "fault_flags": ("vm_fault", "flags"),
    "orig_pte": ("vm_fault", "orig_pte"),
    "sync_mode": ("writeback_control", "sync_mode"),
    "type": ("swap_info_struct", "type"),
}
_OFFSET_ARG = re.compile(r"(\w+)=\+(\d+)\(")


def offset_fetch_problems(btf: Btf, line: str,
                          members: dict[str, tuple[str, str]] = OFFSET_MEMBERS_6_1) -> list[str]:
    """What the ``+OFF(...)`` fetches of a ``kprobe_events`` *line* would read on *btf*'s kernel
    instead of the member their name stands for (by *members*); empty when each fits."""
    problems: list[str] = []
    function = line.split()[1] if len(line.split()) > 1 else line
    for name, off in _OFFSET_ARG.findall(line):
        if name not in members:
            continue
        struct, path = members[name]
        field = btf.field(struct, path)
        if field.offset != int(off):
            there = ", ".join(btf.members_at(struct, int(off))) or "no member"
            problems.append(f"{function} {name}=+{off}: on this kernel +{off} of struct {struct} "
                            f"is {there}; {path} is at +{field.offset}")
    return problems


def check_lines(btf: Btf, lines: list[str]) -> None:
    """Refuse *lines* whose offset fetches would read another member on *btf*'s kernel.

    The last check before the guest boots: BTF-named fetches are the kernel's to resolve, but a
    ``+OFF(...)`` fetch (the 6.1 set's, or 6.12's ``wbc_bits``) reads whatever is there.
    """
    members = {**OFFSET_MEMBERS_6_1, "wbc_bits": ("writeback_control", "for_reclaim")}
    problems: list[str] = []
    for line in lines:
        for name, off in _OFFSET_ARG.findall(line):
            if name == "wbc_bits":  # the 32-bit word holding the bit, not the bit's byte
                where = word_offset(btf, "writeback_control", "for_reclaim")
                if where != int(off):
                    problems.append(f"{line.split()[1]} wbc_bits=+{off}: on this kernel the "
                                    f"word holding for_reclaim is at +{where}")
        problems += [p for p in offset_fetch_problems(btf, line, members)
                     if not p.split()[1].startswith("wbc_bits=")]
    if problems:
        raise BtfError(f"{btf.name}: these probe lines would read the wrong members of this "
                       "kernel's structs:\n  " + "\n  ".join(problems))
