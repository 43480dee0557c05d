"""A reader of BTF, the kernel's type format, and the probe offsets derived from it.

BTF is a header, a type section and a string section (Linux 6.1.176
include/uapi/linux/btf.h:11-194, Documentation/bpf/btf.rst:26-540). The running kernel exposes
it as ``/sys/kernel/btf/vmlinux``; a ``vmlinux`` ELF file carries it as its ``.BTF`` section.
This reader decodes what the probes need: struct and union members with their bit offsets,
type sizes, and the names of the kernel's functions (``BTF_KIND_FUNC``).
"""

from __future__ import annotations

import argparse
import contextlib
import struct
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, cast

import attrs

from kmodel.capture import probes
from kmodel.errors import KmodelError

__all__ = [
    "BTF_MAGIC",
    "Btf",
    "BtfError",
    "Field",
    "Member",
    "check_fixed_offsets",
    "check_layout",
    "offsets_from_btf",
]

BTF_MAGIC = 0xEB9F
_HEADER = struct.Struct("<HBBIIIII")  # magic version flags hdr_len type_off/len str_off/len
_TYPE = struct.Struct("<III")  # name_off info size_or_type

# Linux 6.1.176 include/uapi/linux/btf.h:59-83.
KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM = 1, 2, 3, 4, 5, 6
KIND_FWD, KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT = 7, 8, 9, 10, 11
KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC, KIND_FLOAT = 12, 13, 14, 15, 16
KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64 = 17, 18, 19

# Bytes after a struct btf_type, per kind: (fixed, per vlen item) (btf.h:85-194).
_EXTRA: dict[int, tuple[int, int]] = {
    KIND_INT: (4, 0), KIND_PTR: (0, 0), KIND_ARRAY: (12, 0), KIND_STRUCT: (0, 12),
    KIND_UNION: (0, 12), KIND_ENUM: (0, 8), KIND_FWD: (0, 0), KIND_TYPEDEF: (0, 0),
    KIND_VOLATILE: (0, 0), KIND_CONST: (0, 0), KIND_RESTRICT: (0, 0), KIND_FUNC: (0, 0),
    KIND_FUNC_PROTO: (0, 8), KIND_VAR: (4, 0), KIND_DATASEC: (0, 12), KIND_FLOAT: (0, 0),
    KIND_DECL_TAG: (4, 0), KIND_TYPE_TAG: (0, 0), KIND_ENUM64: (0, 12),
}
_MODIFIERS = frozenset((KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG))
_SIZED = frozenset((KIND_INT, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_ENUM64, KIND_FLOAT))
POINTER_SIZE = 8  # BTF does not record it; kmodel's probes are x86_64

_ELF_MAGIC = b"\x7fELF"


class BtfError(KmodelError):
    """A file that is not BTF (or an ELF file without it), or a type that is not there."""


@attrs.frozen
class Member:
    """One ``struct btf_member``: a member's name, type and place in its struct."""

    name: str  # "" for an anonymous struct or union member
    type_id: int
    bit_offset: int
    bitfield_size: int  # 0: not a bitfield


@attrs.frozen
class Field:
    """A member reached by a path such as ``bi_iter.bi_sector`` from the start of a struct."""

    struct: str
    path: str
    bit_offset: int
    size: int  # bytes of the member's type
    bitfield_size: int  # 0: not a bitfield

    @property
    def offset(self) -> int:
        """The byte offset (of the byte holding the first bit, for a bitfield)."""
        return self.bit_offset // 8


class Btf:
    """The types of one BTF blob, decoded lazily: members only of the structs asked for."""

    def __init__(self, data: bytes, name: str = "<btf>") -> None:
        """Index `data` (raw BTF); `name` names it in errors."""
        self.name = name
        if len(data) < _HEADER.size:
            raise BtfError(f"{name}: {len(data)} bytes, too short for a BTF header")
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = (
            _HEADER.unpack_from(data, 0))
        if magic != BTF_MAGIC:
            raise BtfError(f"{name}: magic {magic:#06x}, expected {BTF_MAGIC:#06x} "
                           "(little-endian BTF, as /sys/kernel/btf/vmlinux)")
        if version != 1:
            raise BtfError(f"{name}: BTF version {version}, expected 1")
        types_at, strings_at = hdr_len + type_off, hdr_len + str_off
        if types_at + type_len > len(data) or strings_at + str_len > len(data):
            raise BtfError(f"{name}: the header's sections run past the end of the "
                           f"{len(data)} bytes (truncated?)")
        self._data = data
        self._strings = data[strings_at:strings_at + str_len]
        # Type ID n (from 1; 0 is void) starts at self._at[n] in data.
        self._at: list[int] = [0]
        self._by_name: dict[tuple[int, str], int] = {}
        pos, end = types_at, types_at + type_len
        while pos < end:
            if pos + _TYPE.size > end:
                raise BtfError(f"{name}: type {len(self._at)} is cut off at the end of the "
                               "type section")
            name_off, info, _ = _TYPE.unpack_from(data, pos)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            extra = _EXTRA.get(kind)
            if extra is None:
                raise BtfError(f"{name}: type {len(self._at)} has unknown kind {kind} "
                               "(expected 1-19)")
            if name_off and kind in (KIND_STRUCT, KIND_UNION, KIND_FUNC):
                self._by_name.setdefault((kind, self._string(name_off)), len(self._at))
            self._at.append(pos)
            pos += _TYPE.size + extra[0] + extra[1] * vlen
        if pos != end:
            raise BtfError(f"{name}: the last type runs past the end of the type section")

    @classmethod
    def from_file(cls, path: str | Path) -> Btf:
        """Read raw BTF (``/sys/kernel/btf/vmlinux``) or the ``.BTF`` section of an ELF file."""
        path = Path(path)
        try:
            with path.open("rb") as file:
                head = file.read(4)
                file.seek(0)
                data = _elf_section(file, path, ".BTF") if head == _ELF_MAGIC else file.read()
        except OSError as exc:
            raise BtfError(f"{path}: cannot read: {exc.strerror or exc}") from None
        return cls(data, str(path))

    def __len__(self) -> int:
        """The number of types (the largest type ID)."""
        return len(self._at) - 1

    def _string(self, offset: int) -> str:
        end = self._strings.find(b"\0", offset)
        if offset >= len(self._strings) or end < 0:
            raise BtfError(f"{self.name}: string offset {offset} is outside the string section")
        return self._strings[offset:end].decode("utf-8", "replace")

    def _raw(self, type_id: int) -> tuple[int, int, int, int, int]:
        """(kind, name_off, vlen, kind_flag, size_or_type) of `type_id`."""
        if not 0 < type_id < len(self._at):
            raise BtfError(f"{self.name}: type ID {type_id} does not exist (1-{len(self)})")
        name_off, info, size_or_type = _TYPE.unpack_from(self._data, self._at[type_id])
        return (info >> 24) & 0x1F, name_off, info & 0xFFFF, info >> 31, size_or_type

    def kind(self, type_id: int) -> int:
        """The ``BTF_KIND_*`` of `type_id`."""
        return self._raw(type_id)[0]

    def type_name(self, type_id: int) -> str:
        """The name of `type_id` ("" if anonymous; "void" for 0)."""
        return "void" if type_id == 0 else self._string(self._raw(type_id)[1])

    def strip(self, type_id: int) -> int:
        """Follow typedef, const, volatile, restrict and type tags to the type underneath."""
        while type_id and self.kind(type_id) in _MODIFIERS:
            type_id = self._raw(type_id)[4]
        return type_id

    def size(self, type_id: int) -> int:
        """The size in bytes of `type_id` (pointers: 8)."""
        type_id = self.strip(type_id)
        kind, _, _, _, size_or_type = self._raw(type_id)
        if kind in _SIZED:
            return size_or_type
        if kind == KIND_PTR:
            return POINTER_SIZE
        if kind == KIND_ARRAY:
            elem, _index, nelems = cast(tuple[int, int, int], struct.unpack_from(
                "<III", self._data, self._at[type_id] + _TYPE.size))
            return nelems * self.size(elem)
        raise BtfError(f"{self.name}: type {type_id} (kind {kind}) has no size")

    def members(self, type_id: int) -> tuple[Member, ...]:
        """The members of struct or union `type_id`, in declaration order."""
        kind, _, vlen, kind_flag, _ = self._raw(type_id)
        if kind not in (KIND_STRUCT, KIND_UNION):
            raise BtfError(f"{self.name}: type {type_id} is not a struct or union")
        out: list[Member] = []
        pos = self._at[type_id] + _TYPE.size
        for _ in range(vlen):
            name_off, member_type, offset = struct.unpack_from("<III", self._data, pos)
            pos += 12
            if kind_flag:  # btf.h:127-137: bitfield size in the top 8 bits
                bit_offset, bitfield = offset & 0xFFFFFF, offset >> 24
            else:
                bit_offset, bitfield = offset, 0
            out.append(Member(self._string(name_off), member_type, bit_offset, bitfield))
        return tuple(out)

    def struct_id(self, name: str) -> int:
        """The type ID of ``struct name`` (the first, if there are several)."""
        type_id = self._by_name.get((KIND_STRUCT, name))
        if type_id is None:
            raise BtfError(f"{self.name}: no 'struct {name}' in this BTF")
        return type_id

    @property
    def functions(self) -> frozenset[str]:
        """The names of the kernel functions this BTF describes (``BTF_KIND_FUNC``)."""
        return frozenset(n for kind, n in self._by_name if kind == KIND_FUNC)

    def params(self, function: str) -> tuple[tuple[str, int], ...]:
        """(name, size in bytes) of each parameter of kernel function `function`, in order.

        ``BTF_KIND_FUNC`` names a ``BTF_KIND_FUNC_PROTO`` whose ``struct btf_param`` items
        (name_off, type: 8 bytes each) follow it (Linux 6.1.176 include/uapi/linux/btf.h:
        185-194).
        """
        func_id = self._by_name.get((KIND_FUNC, function))
        if func_id is None:
            raise BtfError(f"{self.name}: no function {function!r} in this BTF")
        proto = self._raw(func_id)[4]
        kind, _, vlen, _, _ = self._raw(proto)
        if kind != KIND_FUNC_PROTO:
            raise BtfError(f"{self.name}: function {function!r} has type {proto} of kind "
                           f"{kind}, expected a FUNC_PROTO ({KIND_FUNC_PROTO})")
        out: list[tuple[str, int]] = []
        pos = self._at[proto] + _TYPE.size
        for _ in range(vlen):
            name_off, param_type = struct.unpack_from("<II", self._data, pos)
            pos += 8
            if param_type == 0:  # a variadic function's last item: "..."
                break
            out.append((self._string(name_off), self.size(param_type)))
        return tuple(out)

    def _find(self, type_id: int, name: str) -> Member | None:
        """Member `name` of `type_id`, looking into anonymous members depth-first.

        The first declaration wins (as C's name lookup of an anonymous member does); its
        offset is made relative to `type_id`.
        """
        for member in self.members(type_id):
            if member.name == name:
                return member
            if not member.name:
                inner = self._find(self.strip(member.type_id), name)
                if inner is not None:
                    return attrs.evolve(inner, bit_offset=inner.bit_offset + member.bit_offset)
        return None

    def field(self, struct_name: str, path: str) -> Field:
        """The member at `path` (``a.b.c``: members of nested structs) of ``struct_name``."""
        type_id, bit_offset = self.struct_id(struct_name), 0
        member: Member | None = None
        for part in path.split("."):
            if member is not None:
                type_id = self.strip(member.type_id)
                if self.kind(type_id) not in (KIND_STRUCT, KIND_UNION):
                    raise BtfError(f"{self.name}: struct {struct_name}: {path}: "
                                   f"{member.name} is not a struct")
            member = self._find(type_id, part)
            if member is None:
                raise BtfError(f"{self.name}: struct {struct_name} has no member {path!r}")
            bit_offset += member.bit_offset
        assert member is not None  # path.split() gives at least one part
        return Field(struct_name, path, bit_offset, self.size(member.type_id),
                     member.bitfield_size)

    def members_at(self, struct_name: str, offset: int) -> list[str]:
        """The leaf members of ``struct_name`` whose bytes include `offset` (all union arms)."""
        found: list[str] = []
        self._collect(self.struct_id(struct_name), offset * 8, "", found)
        return found

    def _collect(self, type_id: int, bit: int, prefix: str, out: list[str]) -> None:
        for member in self.members(type_id):
            inner = self.strip(member.type_id)
            size_bits = (member.bitfield_size
                         or (self.size(inner) * 8 if self.kind(inner) != KIND_FWD else 0))
            if not member.bit_offset <= bit < member.bit_offset + size_bits:
                continue
            if self.kind(inner) in (KIND_STRUCT, KIND_UNION):
                inner_prefix = f"{prefix}{member.name}." if member.name else prefix
                self._collect(inner, bit - member.bit_offset, inner_prefix, out)
            else:
                out.append(prefix + member.name)


def _elf_section(f: BinaryIO, path: Path, wanted: str) -> bytes:
    """The contents of section `wanted` of the little-endian 64-bit ELF file `f`."""
    ident = f.read(64)
    if len(ident) < 64 or ident[4] != 2 or ident[5] != 1:
        raise BtfError(f"{path}: not a little-endian 64-bit ELF file")
    (shoff,) = struct.unpack_from("<Q", ident, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ident, 0x3A)
    f.seek(shoff)
    table = f.read(shentsize * shnum)
    if len(table) < shentsize * shnum or shstrndx >= shnum:
        raise BtfError(f"{path}: the ELF section headers are cut off (truncated file?)")

    def section(index: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", table, index * shentsize)
        return name, offset, size

    _, names_at, names_size = section(shstrndx)
    f.seek(names_at)
    names = f.read(names_size)
    for i in range(shnum):
        name_off, offset, size = section(i)
        if names[name_off:names.find(b"\0", name_off)].decode("ascii", "replace") == wanted:
            f.seek(offset)
            return f.read(size)
    raise BtfError(f"{path}: the ELF file has no {wanted} section (a kernel built without "
                   "CONFIG_DEBUG_INFO_BTF, or a stripped copy)")


# -- the probes' struct members ---------------------------------------------------------------


@attrs.frozen
class _Probed:
    """A member a probe fetches: which `probes.Offsets` field, where, and what the probe assumes.

    `size` is the width the fetch type reads (``u8``, ``x32``, ``x64``); for the one bitfield,
    `bit` is the bit the checker decodes in the 32-bit word the probe reads.
    """

    field: str
    struct: str
    path: str
    size: int
    bit: int | None = None


PROBED: tuple[_Probed, ...] = (
    _Probed("page_flags", "page", "flags", 8),
    _Probed("page_private", "page", "private", 8),
    _Probed("bio_bi_bdev", "bio", "bi_bdev", 8),
    _Probed("bio_bi_opf", "bio", "bi_opf", 4),
    _Probed("bio_bi_status", "bio", "bi_status", 1),
    _Probed("bio_bi_sector", "bio", "bi_iter.bi_sector", 8),
    _Probed("bio_bi_size", "bio", "bi_iter.bi_size", 4),
    _Probed("bio_bi_private", "bio", "bi_private", 8),
    _Probed("bio_bi_io_vec", "bio", "bi_io_vec", 8),
    _Probed("bio_vec_bv_page", "bio_vec", "bv_page", 8),
    _Probed("block_device_bd_dev", "block_device", "bd_dev", 4),
    _Probed("vm_fault_address", "vm_fault", "address", 8),
    _Probed("vm_fault_flags", "vm_fault", "flags", 4),
    _Probed("vm_fault_orig_pte", "vm_fault", "orig_pte", 8),
    _Probed("wbc_sync_mode", "writeback_control", "sync_mode", 4),
    # WritebackControl.bits: bit 3 of the word at +36 is for_reclaim on 6.1.176.
    _Probed("wbc_bits", "writeback_control", "for_reclaim", 4, bit=3),
    _Probed("swap_info_type", "swap_info_struct", "type", 1),
)


def _offset(probed: _Probed, field: Field) -> int:
    """The byte offset the probe reads: the member's, or its bitfield's 32-bit word's."""
    return field.bit_offset // 32 * 4 if probed.bit is not None else field.offset


def check_layout(btf: Btf) -> list[str]:
    """What in `btf`'s layout the probes and the checker cannot read (empty: all is well).

    A member that is missing, has another width than the probe's fetch type, or (the
    ``for_reclaim`` bitfield) sits at another bit of its word than the checker decodes.
    """
    problems: list[str] = []
    for probed in PROBED:
        try:
            field = btf.field(probed.struct, probed.path)
        except BtfError as exc:
            problems.append(str(exc).removeprefix(f"{btf.name}: "))
            continue
        where = f"struct {probed.struct}.{probed.path}"
        if probed.bit is not None:
            bit = field.bit_offset % 32
            if field.bitfield_size != 1 or bit != probed.bit:
                problems.append(
                    f"{where}: the checker decodes bit {probed.bit} of the 32-bit word at "
                    f"+{_offset(probed, field)}, but this kernel has a "
                    f"{field.bitfield_size or field.size * 8}-bit field at bit {bit}")
        elif field.bitfield_size or field.size != probed.size:
            problems.append(f"{where}: the probe reads {probed.size} byte(s), but this kernel's "
                            f"member is {field.bitfield_size or field.size * 8} bits wide")
    return problems


def offsets_from_btf(btf: Btf) -> probes.Offsets:
    """The probe offsets of the kernel `btf` describes; BtfError if its layout does not fit."""
    problems = check_layout(btf)
    if problems:
        raise BtfError(f"{btf.name}: the probes cannot read this kernel's structs:\n  "
                       + "\n  ".join(problems))
    wanted = attrs.fields_dict(probes.Offsets)
    values = {p.field: _offset(p, btf.field(p.struct, p.path)) for p in PROBED
              if p.field in wanted}
    return probes.Offsets(**values)


def check_fixed_offsets(btf: Btf, offsets: probes.Offsets) -> list[str]:
    """Where probe lines made with `offsets` would read the wrong member on `btf`'s kernel.

    Each problem names the probed member, the offset the lines read, the member really there.
    """
    problems: list[str] = []
    actual = offsets_from_btf(btf)
    for probed in PROBED:
        if not hasattr(offsets, probed.field):
            continue
        fixed, real = getattr(offsets, probed.field), getattr(actual, probed.field)
        if fixed != real:
            there = ", ".join(btf.members_at(probed.struct, fixed)) or "no member"
            problems.append(
                f"struct {probed.struct}.{probed.path}: the probes read +{fixed}, which on this "
                f"kernel is {there}; {probed.path} is at +{real}")
    return problems


def probed_functions(lines: Iterable[str]) -> list[str]:
    """The kernel functions `kprobe_events` lines attach to, in order, without repeats."""
    seen: dict[str, None] = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0][:1] in "pr":
            seen.setdefault(parts[1].partition("%")[0], None)
    return list(seen)


def missing_functions(wanted: Sequence[str], available: Iterable[str]) -> list[str]:
    """The names of `wanted` not in `available` (``available_filter_functions`` or BTF FUNCs).

    A line of ``available_filter_functions`` may carry a ``[module]`` after the name.
    """
    have = {line.split()[0] for line in available if line.strip()}
    return [name for name in wanted if name not in have]


# -- kmodel probes --btf ------------------------------------------------------------------------

LIVE_BTF = Path("/sys/kernel/btf/vmlinux")
LIVE_FUNCTIONS = (Path("/sys/kernel/tracing/available_filter_functions"),
                  Path("/sys/kernel/debug/tracing/available_filter_functions"))

#: A function only each kernel line has: how ``--kernel auto`` tells them apart.
_MARKERS = (("6.1", "swap_readpage"), ("6.12", "swap_read_folio"))


def detect_kernel(btf: Btf) -> str:
    """``6.1`` or ``6.12``, from the swap-in function `btf` names; BtfError if neither."""
    for version, marker in _MARKERS:
        if marker in btf.functions:
            return version
    raise BtfError(f"{btf.name}: neither swap_readpage (6.1) nor swap_read_folio (6.12) is "
                   "in this BTF: not a kernel kmodel has a probe set for")


def probe_offsets(btf: Btf, kernel: str = "auto",
                  functions: Iterable[str] | None = None,
                  functions_name: str = "") -> probes.Offsets:
    """The probe offsets for `btf`'s kernel, after checking the probes fit it.

    `kernel` is ``auto``, ``6.1`` or ``6.12``; `functions` the lines of an
    ``available_filter_functions`` file (`functions_name`), or None to use the BTF's functions.
    Raises BtfError naming every missing function or member that does not fit.
    """
    if (detect_kernel(btf) if kernel == "auto" else kernel) == "6.12":
        raise BtfError(f"{btf.name}: a 6.12 kernel (swap_read_folio): its probes are "
                       "kmodel.capture.probes612's, by BTF names, not offsets")
    offsets = offsets_from_btf(btf)
    wanted = probed_functions(probes.kprobe_events(offsets))
    source = functions_name or f"{btf.name} (BTF functions)"
    missing = missing_functions(wanted, btf.functions if functions is None else functions)
    if missing:
        raise BtfError(f"{source}: the probed function(s) {', '.join(missing)} do not exist "
                       "in this kernel (inlined, renamed, or another kernel version)")
    return offsets


def _functions(args: argparse.Namespace, btf_path: Path) -> tuple[list[str] | None, str]:
    """The lines of the ``available_filter_functions`` to check against, and its name.

    A file given with ``--functions`` must be readable; tracefs's (for the live BTF) is used
    when it can be read (it may be absent, or locked down), else the BTF's functions are.
    """
    if args.functions:
        try:
            return Path(args.functions).read_text(errors="replace").splitlines(), args.functions
        except OSError as exc:
            raise BtfError(f"{args.functions}: cannot read: {exc.strerror or exc}") from None
    if btf_path == LIVE_BTF:
        for path in LIVE_FUNCTIONS:
            with contextlib.suppress(OSError):
                return path.read_text(errors="replace").splitlines(), str(path)
    return None, ""


def cmd_probes(args: argparse.Namespace) -> int:
    """``kmodel probes`` with ``--btf``, ``--kernel``, ``--check-fixed`` or ``--format``."""
    from kmodel.trace.recorders import bpftrace_script

    offsets, note = probes.DEBIAN_6_1_176, "Debian's 6.1.0-50-amd64 (6.1.176-1), fixed"
    try:
        if args.pahole:
            offsets = probes.offsets_from_pahole(Path(args.pahole).read_text())
            note = f"pahole output {args.pahole}"
        btf_path = Path(args.btf) if args.btf else LIVE_BTF if args.kernel else None
        if btf_path is not None:
            btf = Btf.from_file(btf_path)
            functions, functions_name = _functions(args, btf_path)
            kernel = args.kernel or "auto"
            if not args.check_fixed and (
                    detect_kernel(btf) if kernel == "auto" else kernel) == "6.12":
                return _probes_612(args, btf, functions, functions_name)
            if args.check_fixed:
                wrong = check_fixed_offsets(btf, offsets)
                if wrong:
                    raise BtfError(f"{btf.name}: the probe lines of {note} do not fit this "
                                   "kernel:\n  " + "\n  ".join(wrong))
            probe_offsets(btf, args.kernel or "auto", functions, functions_name)
            if not args.check_fixed:
                offsets, note = offsets_from_btf(btf), f"the BTF of {btf.name}"
            note += (f"; every probed function is in {functions_name or 'its BTF'}")
    except (OSError, KmodelError) as exc:
        print(f"kmodel probes: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "bpftrace":
        print(bpftrace_script(probes.kprobe_events(offsets), "6.1").replace(
            "\n", f"\n// Offsets: {note}.\n", 1), end="")
        return 0
    print("#!/bin/sh\n# Record the kmodel swap trace on a live Linux 6.1 machine (as root).")
    print(f"# Offsets: {note}.")
    print(probes.tracefs_commands(offsets), end="")
    return 0


def _probes_612(args: argparse.Namespace, btf: Btf, functions: list[str] | None,
                functions_name: str) -> int:
    """``kmodel probes`` for a 6.12 kernel: kmodel.capture.probes612's lines, by BTF names."""
    from kmodel.capture import probes612

    lines = probes612.kprobe_events(btf)  # BtfError naming every misfit
    wanted = probed_functions(lines)
    missing = missing_functions(wanted, btf.functions if functions is None else functions)
    if missing:
        raise BtfError(f"{functions_name or btf.name}: the probed function(s) "
                       f"{', '.join(missing)} do not exist in this kernel")
    if args.format == "bpftrace":
        # bpftrace reads the same values by register + offset: the BTF names resolved here.
        from kmodel.trace.recorders import bpftrace_script

        script = bpftrace_script(probes612.offset_events(btf), "6.12")
        print(script.replace("\n", f"\n// Linux 6.12 probes: BTF names resolved to offsets "
                             f"with {btf.name}; every probed function is in "
                             f"{functions_name or 'its BTF'}.\n", 1), end="")
        return 0
    print("#!/bin/sh\n# Record the kmodel swap trace on a live Linux 6.12 machine (as root).")
    print(f"# Probes by BTF names, checked against {btf.name}; every probed function is in "
          f"{functions_name or 'its BTF'}.")
    print(probes.tracefs_commands(lines=lines), end="")
    return 0
