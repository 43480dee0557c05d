"""The BTF reader and the probe offsets derived from it: synthetic blobs and real kernels.

The synthetic blobs are written by the test's own encoder, per Linux 6.1.176
include/uapi/linux/btf.h; the structs mirror the members the probes read on 6.1.176 (and on
6.12, where ``bi_write_hint`` took ``bi_status``'s byte, /work/shared/kernel/linux-6.12.md).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from kmodel.capture import btf, probes
from kmodel.cli import main

VMLINUX_61 = Path.home() / ".cache" / "kmodel" / "6.1.176-1" / "vmlinux"
VMLINUX_612 = [p for p in (Path.home() / ".cache" / "kmodel" / "6.12.118-1" / "vmlinux",
                           Path("/work/k612/vmlinux-6.12")) if p.exists()]

FUNCS_61 = btf.probed_functions(probes.kprobe_events())
FUNCS_612 = [f for f in FUNCS_61 if f not in (
    "swap_readpage", "bdev_read_page", "bdev_write_page", "__frontswap_store",
    "__frontswap_load")] + ["swap_read_folio"]

M = tuple[str, int, int, int]  # name, type ID, bit offset, bitfield size


class Encoder:
    """Writes BTF: types in order (IDs from 1) and a string section."""

    def __init__(self) -> None:
        self.types: list[bytes] = []
        self.strings = bytearray(b"\0")

    def name(self, text: str) -> int:
        if not text:
            return 0
        self.strings += text.encode() + b"\0"
        return len(self.strings) - len(text) - 1

    def add(self, kind: int, name: str, vlen: int, size_or_type: int, extra: bytes = b"",
            kind_flag: int = 0) -> int:
        info = (kind << 24) | vlen | (kind_flag << 31)
        self.types.append(struct.pack("<III", self.name(name), info, size_or_type) + extra)
        return len(self.types)

    def int_(self, name: str, size: int) -> int:
        return self.add(btf.KIND_INT, name, 0, size, struct.pack("<I", size * 8))

    def ptr(self, target: int = 0) -> int:
        return self.add(btf.KIND_PTR, "", 0, target)

    def record(self, name: str, size: int, members: list[M], union: bool = False) -> int:
        flag = int(any(m[3] for m in members))
        extra = b"".join(
            struct.pack("<III", self.name(n), t, (bits << 24 | off) if flag else off)
            for n, t, off, bits in members)
        kind = btf.KIND_UNION if union else btf.KIND_STRUCT
        return self.add(kind, name, len(members), size, extra, flag)

    def func(self, name: str) -> int:
        proto = self.add(btf.KIND_FUNC_PROTO, "", 0, 0)
        return self.add(btf.KIND_FUNC, name, 1, proto)

    def blob(self) -> bytes:
        types = b"".join(self.types)
        header = struct.pack("<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, len(types), len(types),
                             len(self.strings))
        return header + types + bytes(self.strings)


def kernel_btf(*, bio_612: bool = False, reclaim_bit: int = 291, status_size: int = 1,
               functions: list[str] = FUNCS_61) -> bytes:
    """BTF with the probed structs laid out as on 6.1.176 (or with 6.12's bio head)."""
    e = Encoder()
    u8, u16, u32, u64 = e.int_("u8", 1), e.int_("u16", 2), e.int_("unsigned int", 4), e.int_(
        "long unsigned int", 8)
    s8 = e.int_("signed char", 1)
    vp = e.ptr()
    list_head = e.record("list_head", 16, [("next", vp, 0, 0), ("prev", vp, 64, 0)])
    lru = e.record("", 40, [("lru", list_head, 0, 0), ("mapping", vp, 128, 0),
                            ("index", u64, 192, 0), ("private", u64, 256, 0)])
    pool = e.record("", 40, [("pp_magic", u64, 0, 0), ("dma_addr", u64, 192, 0)])
    arms = e.record("", 40, [("", lru, 0, 0), ("", pool, 0, 0)], union=True)
    e.record("page", 64, [("flags", u64, 0, 0), ("", arms, 64, 0)])
    iter_ = e.record("bvec_iter", 16, [("bi_sector", u64, 0, 0), ("bi_size", u32, 64, 0)])
    status = u8 if status_size == 1 else u16
    head: list[M] = ([("bi_write_hint", u8, 192, 0), ("bi_status", status, 200, 0)] if bio_612
                     else [("bi_status", status, 192, 0)])
    e.record("bio", 136, [("bi_next", vp, 0, 0), ("bi_bdev", vp, 64, 0), ("bi_opf", u32, 128, 0),
                          ("bi_flags", u16, 160, 0), ("bi_ioprio", u16, 176, 0), *head,
                          ("bi_iter", iter_, 256, 0), ("bi_private", vp, 512, 0),
                          ("bi_io_vec", vp, 896, 0)])
    e.record("bio_vec", 16, [("bv_page", vp, 0, 0), ("bv_len", u32, 64, 0)])
    e.record("block_device", 64, [("bd_start_sect", u64, 0, 0), ("bd_dev", u32, 288, 0)])
    const_head = e.record("", 40, [("vma", vp, 0, 0), ("gfp_mask", u32, 64, 0),
                                   ("pgoff", u64, 128, 0), ("address", u64, 192, 0)])
    const = e.add(btf.KIND_CONST, "", 0, const_head)
    fault_flag = e.add(btf.KIND_ENUM, "fault_flag", 0, 4)
    pte = e.record("", 8, [("pte", u64, 0, 0)])
    pte_t = e.add(btf.KIND_TYPEDEF, "pte_t", 0, pte)
    e.record("vm_fault", 96, [("", const, 0, 0), ("flags", fault_flag, 320, 0),
                              ("orig_pte", pte_t, 512, 0)])
    sync = e.add(btf.KIND_ENUM, "writeback_sync_modes", 0, 4)
    bits: list[M] = [("for_kupdate", u32, 288, 1), ("for_background", u32, 289, 1)]
    bits.append(("for_reclaim", u32, reclaim_bit, 1))
    e.record("writeback_control", 48, [("nr_to_write", u64, 0, 0), ("sync_mode", sync, 256, 0),
                                       *bits])
    e.record("swap_info_struct", 256, [("flags", u64, 0, 0), ("type", s8, 576, 0)])
    for name in functions:
        e.func(name)
    return e.blob()


def write(tmp_path: Path, data: bytes, name: str = "vmlinux.btf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- the reader --------------------------------------------------------------------------------


def test_members_of_anonymous_unions_and_structs_are_found_first_declaration_first() -> None:
    b = btf.Btf(kernel_btf())
    private = b.field("page", "private")
    assert (private.offset, private.size, private.bitfield_size) == (40, 8, 0)
    assert b.field("vm_fault", "address").offset == 24  # through a const anonymous struct
    assert b.members_at("page", 40) == ["private"]
    assert b.members_at("page", 32) == ["index", "dma_addr"]  # both union arms


def test_a_path_descends_into_a_nested_struct() -> None:
    b = btf.Btf(kernel_btf())
    size = b.field("bio", "bi_iter.bi_size")
    assert (size.offset, size.size) == (40, 4)
    with pytest.raises(btf.BtfError, match="bi_opf is not a struct"):
        b.field("bio", "bi_opf.x")


def test_bitfields_keep_bit_offset_and_width() -> None:
    field = btf.Btf(kernel_btf()).field("writeback_control", "for_reclaim")
    assert (field.bit_offset, field.bitfield_size, field.offset) == (291, 1, 36)


def test_sizes_follow_typedefs_and_enums() -> None:
    b = btf.Btf(kernel_btf())
    assert b.field("vm_fault", "orig_pte").size == 8  # typedef of a struct
    assert b.field("vm_fault", "flags").size == 4  # enum


def test_functions_are_the_func_entries() -> None:
    assert btf.Btf(kernel_btf(functions=["do_swap_page", "end_swap_bio_read"])).functions == {
        "do_swap_page", "end_swap_bio_read"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x9f", "too short for a BTF header"),
        (b"\x00" * 24, "magic 0x0000, expected 0xeb9f"),
        (struct.pack("<HBBIIIII", btf.BTF_MAGIC, 2, 0, 24, 0, 0, 0, 1) + b"\0", "version 2"),
        (struct.pack("<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, 100, 0, 1), "run past the end"),
        (struct.pack("<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, 12, 12, 1)
         + struct.pack("<III", 0, 25 << 24, 0) + b"\0", "unknown kind 25"),
        (struct.pack("<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, 12, 12, 1)
         + struct.pack("<III", 0, btf.KIND_INT << 24, 4) + b"\0", "runs past the end of the type"),
    ],
)
def test_bad_blobs_are_refused_with_what_was_expected(data: bytes, message: str) -> None:
    with pytest.raises(btf.BtfError, match=message):
        btf.Btf(data, "x.btf")


def test_an_elf_file_without_btf_is_refused() -> None:
    with pytest.raises(btf.BtfError, match=r"no \.BTF section"):
        btf.Btf.from_file(sys.executable)


def test_the_btf_section_of_an_elf_file_is_read(tmp_path: Path) -> None:
    blob = kernel_btf()
    names = b"\0.text\0.BTF\0.shstrtab\0"
    body_at = 64
    btf_at = body_at + len(names)
    shoff = btf_at + len(blob)
    ehdr = bytearray(64)
    ehdr[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", ehdr, 0x28, shoff)
    struct.pack_into("<HHH", ehdr, 0x3A, 64, 4, 3)
    sections = [(0, 0, 0), (1, 0, 0), (7, btf_at, len(blob)), (12, body_at, len(names))]
    table = b"".join(struct.pack("<IIQQQQIIQQ", n, 1, 0, 0, off, size, 0, 0, 0, 0)
                     for n, off, size in sections)
    path = write(tmp_path, bytes(ehdr) + names + blob + table, "vmlinux")
    assert btf.offsets_from_btf(btf.Btf.from_file(path)) == probes.DEBIAN_6_1_176


# -- offsets and layout checks -----------------------------------------------------------------


def test_offsets_of_a_6_1_176_layout_are_the_fixed_ones() -> None:
    assert btf.offsets_from_btf(btf.Btf(kernel_btf())) == probes.DEBIAN_6_1_176


def test_every_fixed_offset_is_derived_from_btf() -> None:
    import attrs

    assert set(attrs.fields_dict(probes.Offsets)) <= {p.field for p in btf.PROBED}


def test_6_12_bio_gives_bi_status_at_25_and_the_fixed_line_reads_bi_write_hint() -> None:
    b = btf.Btf(kernel_btf(bio_612=True), "6.12.btf")
    assert btf.offsets_from_btf(b).bio_bi_status == 25
    [problem] = btf.check_fixed_offsets(b, probes.DEBIAN_6_1_176)
    assert problem == ("struct bio.bi_status: the probes read +24, which on this kernel is "
                       "bi_write_hint; bi_status is at +25")


def test_a_moved_bitfield_is_refused() -> None:
    b = btf.Btf(kernel_btf(reclaim_bit=292), "k.btf")
    assert btf.check_layout(b) == [
        "struct writeback_control.for_reclaim: the checker decodes bit 3 of the 32-bit word "
        "at +36, but this kernel has a 1-bit field at bit 4"]
    with pytest.raises(btf.BtfError, match="cannot read this kernel's structs"):
        btf.offsets_from_btf(b)


def test_a_wider_member_is_refused() -> None:
    assert btf.check_layout(btf.Btf(kernel_btf(status_size=2))) == [
        "struct bio.bi_status: the probe reads 1 byte(s), but this kernel's member is 16 bits "
        "wide"]


def test_missing_functions_are_named_before_run_time() -> None:
    b = btf.Btf(kernel_btf(functions=FUNCS_612), "6.12.btf")
    with pytest.raises(btf.BtfError, match=r"swap_readpage, bdev_read_page, bdev_write_page"):
        btf.probe_offsets(b, "6.1")
    listing = ["do_swap_page", "swap_readpage [kmod]"]
    assert btf.missing_functions(["do_swap_page", "swap_readpage", "x"], listing) == ["x"]


def test_auto_tells_6_12_from_its_functions_and_gives_no_offsets() -> None:
    b = btf.Btf(kernel_btf(bio_612=True, functions=FUNCS_612))
    assert btf.detect_kernel(b) == "6.12"
    with pytest.raises(btf.BtfError, match=r"a 6\.12 kernel \(swap_read_folio\): its probes "
                                           r"are kmodel\.capture\.probes612's"):
        btf.probe_offsets(b, "auto")


# -- kmodel probes -----------------------------------------------------------------------------


def test_cli_prints_lines_with_btf_offsets(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    path = write(tmp_path, kernel_btf(bio_612=True))
    assert main(["probes", "--btf", str(path), "--kernel", "6.1"]) == 0
    out = capsys.readouterr().out
    assert f"# Offsets: the BTF of {path}; every probed function is in its BTF." in out
    assert "bi_status=+25(%di):u8" in out


def test_cli_refuses_the_fixed_lines_on_a_moved_layout(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, kernel_btf(bio_612=True))
    assert main(["probes", "--btf", str(path), "--check-fixed"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "which on this kernel is bi_write_hint" in captured.err


def test_cli_checks_an_available_filter_functions_file(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, kernel_btf())
    listing = tmp_path / "available_filter_functions"
    listing.write_text("\n".join(f for f in FUNCS_61 if f != "end_swap_bio_read") + "\n")
    assert main(["probes", "--btf", str(path), "--functions", str(listing)]) == 2
    assert (f"{listing}: the probed function(s) end_swap_bio_read do not exist"
            in capsys.readouterr().err)


def test_cli_bpftrace_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, kernel_btf())
    assert main(["probes", "--btf", str(path), "--format", "bpftrace"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!/usr/bin/env bpftrace\n// Offsets: the BTF of")
    assert "kprobe:end_swap_bio_read\n" in out and "*(uint8 *)((uint64)arg0 + 24)" in out


def test_cli_refuses_a_file_that_is_not_btf(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, b"hello world, no BTF here", "notes.txt")
    assert main(["probes", "--btf", str(path)]) == 2
    assert "magic 0x6568, expected 0xeb9f" in capsys.readouterr().err


# -- real kernels ------------------------------------------------------------------------------


@pytest.mark.skipif(not VMLINUX_61.exists(),
                    reason=f"{VMLINUX_61} absent (kmodel capture downloads it)")
def test_debian_6_1_176_btf_gives_the_fixed_offsets_and_has_every_function() -> None:
    b = btf.Btf.from_file(VMLINUX_61)
    assert btf.probe_offsets(b, "auto") == probes.DEBIAN_6_1_176
    assert btf.check_fixed_offsets(b, probes.DEBIAN_6_1_176) == []
    assert btf.missing_functions(FUNCS_61, b.functions) == []


@pytest.mark.skipif(not VMLINUX_612,
                    reason="no 6.12 vmlinux (kmodel capture --kernel 6.12, or scripts/fetch-6.12.sh)")
def test_debian_6_12_btf_refuses_the_6_1_lines_and_gives_its_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = btf.Btf.from_file(VMLINUX_612[0])
    assert btf.detect_kernel(b) == "6.12"
    problems = btf.check_fixed_offsets(b, probes.DEBIAN_6_1_176)
    assert ("struct bio.bi_status: the probes read +24, which on this kernel is bi_write_hint; "
            "bi_status is at +25") in problems
    with pytest.raises(btf.BtfError, match="swap_readpage, bdev_read_page, bdev_write_page"):
        btf.probe_offsets(b, "6.1")
    assert main(["probes", "--btf", str(VMLINUX_612[0]), "--check-fixed"]) == 2
    assert "which on this kernel is bi_write_hint" in capsys.readouterr().err
    assert main(["probes", "--btf", str(VMLINUX_612[0])]) == 0
    out = capsys.readouterr().out
    assert "Linux 6.12 machine" in out and "end_swap_bio_read" in out
    assert "bi_status=+24(%di)" not in out


def test_kernel_auto_reads_the_live_btf_and_tracefs_functions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    live = write(tmp_path, kernel_btf())
    listing = tmp_path / "available_filter_functions"
    listing.write_text("\n".join(f for f in FUNCS_61 if f != "bdev_read_page") + "\n")
    monkeypatch.setattr(btf, "LIVE_BTF", live)
    monkeypatch.setattr(btf, "LIVE_FUNCTIONS", (tmp_path / "absent", listing))
    assert main(["probes", "--kernel", "auto"]) == 2
    assert f"{listing}: the probed function(s) bdev_read_page do not exist" in (
        capsys.readouterr().err)
    listing.write_text("\n".join(FUNCS_61) + "\n")
    assert main(["probes", "--kernel", "auto"]) == 0
    assert f"every probed function is in {listing}" in capsys.readouterr().out


# -- 6.12: the BTF-named probes resolved to offsets, for bpftrace ------------------------------


def _proto_btf(params: list[tuple[str, int]]) -> btf.Btf:
    """BTF with ``f(params...)``: each param (name, size in bytes: an int, or a struct if 16+)."""
    e = Encoder()
    types = {}
    for _, size in params:
        if size not in types:
            types[size] = (e.int_(f"u{size}", size) if size <= 8
                           else e.record(f"s{size}", size, []))
    items = b"".join(struct.pack("<II", e.name(n), types[size]) for n, size in params)
    proto = e.add(btf.KIND_FUNC_PROTO, "", len(params), 0, items)
    e.add(btf.KIND_FUNC, "f", 0, proto)
    return btf.Btf(e.blob(), "f.btf")


def test_params_are_read_from_the_function_s_prototype() -> None:
    b = _proto_btf([("folio", 8), ("gfp", 4), ("flag", 1)])
    assert b.params("f") == (("folio", 8), ("gfp", 4), ("flag", 1))
    with pytest.raises(btf.BtfError, match=r"f\.btf: no function 'g' in this BTF"):
        b.params("g")


def test_registers_follow_the_sysv_abi_a_small_struct_takes_two() -> None:
    from kmodel.capture.probes612 import param_registers

    b = _proto_btf([("a", 8), ("pair", 16), ("b", 4), ("c", 8), ("d", 8), ("e", 8)])
    # pair takes %si and %dx; e would be the seventh register: on the stack.
    assert param_registers(b, "f") == {"a": "%di", "b": "%cx", "c": "%r8", "d": "%r9"}
    big = _proto_btf([("a", 8), ("big", 24), ("b", 8)])
    assert param_registers(big, "f") == {"a": "%di"}  # what follows a stack struct is unknown


def test_a_parameter_without_a_register_is_refused() -> None:
    from kmodel.capture.probes612 import Arg, Probe, _offset_fetch

    b = _proto_btf([("big", 24), ("folio", 8)])
    with pytest.raises(btf.BtfError, match=r"f folio: parameter 'folio' is not in a register "
                                           r"on this kernel \(parameters: big, folio\)"):
        _offset_fetch(b, Probe("f", ()), Arg("folio", "folio", "x64"), {})


@pytest.mark.skipif(not VMLINUX_612,
                    reason="no 6.12 vmlinux (kmodel capture --kernel 6.12, or scripts/fetch-6.12.sh)")
def test_debian_6_12_offset_lines_read_the_btf_named_members() -> None:
    from kmodel.capture import probes612

    b = btf.Btf.from_file(VMLINUX_612[0])
    named, offsets = probes612.kprobe_events(b), probes612.offset_events(b)
    probes612.check_lines(b, offsets)  # every +OFF is the named member's offset here
    # The same events, args and fetch types, in the same order; only the fetches differ.
    assert [[w.split("=")[0] + ":" + w.rpartition(":")[2] for w in line.split()[2:]]
            for line in named] == [
        [w.split("=")[0] + ":" + w.rpartition(":")[2] for w in line.split()[2:]]
        for line in offsets]
    assert [line.split()[:2] for line in named] == [line.split()[:2] for line in offsets]
    joined = "\n".join(offsets)
    assert "->" not in joined
    assert " bi_status=+25(%di):u8 " in joined  # 6.1 read +24 (bi_write_hint on 6.12)
    assert " dev=+52(+8(%di)):x32 " in joined  # bio->bi_bdev->bd_dev
    assert " skip_if_exists=%r9:u8" in joined  # the sixth parameter
    assert " wbc_bits=+36(%si):x32" in joined


@pytest.mark.skipif(not VMLINUX_612,
                    reason="no 6.12 vmlinux (kmodel capture --kernel 6.12, or scripts/fetch-6.12.sh)")
def test_debian_6_12_bpftrace_script_prints_what_the_6_12_checker_reads(
        capsys: pytest.CaptureFixture[str]) -> None:
    import re

    from kmodel.trace.check_6_12 import EVENT_ARGS_6_12

    assert main(["probes", "--btf", str(VMLINUX_612[0]), "--format", "bpftrace"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("#!/usr/bin/env bpftrace\n// Linux 6.12 probes: BTF names "
                             "resolved to offsets with ")
    assert 'BEGIN\n{\n  printf("kmodel-header\\t# kernel: 6.12\\n");\n}' in script
    assert "*(uint8 *)((uint64)arg0 + 25)" in script  # end_swap_bio_*'s bi_status
    printed = dict(re.findall(r'\\t(\w+): (.*?)\\n", ', script))
    for event, (keys, _types) in EVENT_ARGS_6_12.items():
        head, _, args = printed[event].partition(") ")
        shown = re.findall(r"(\w+)=", args if head != printed[event] else "")
        assert shown == [k for k in keys if k not in ("probe", "caller", "caller_offset",
                                                      "callee")], event
        assert head.startswith("(%s <- " if event.endswith("_ret") else f"({event}+0x0")


@pytest.mark.skipif(not VMLINUX_612,
                    reason="no 6.12 vmlinux (kmodel capture --kernel 6.12, or scripts/fetch-6.12.sh)")
@pytest.mark.parametrize("name", ["readerr_blkdebug", "writeerr_flakey"])
def test_a_6_12_capture_as_bpftrace_prints_it_checks_like_the_tracefs_trace(
        tmp_path: Path, name: str) -> None:
    """GENERATED (tests/trace/test_recorders.py's NDJSON of a committed 6.12 capture, by the
    6.12 script's own printf formats); the capture's header lines before its converted text,
    as ``kmodel capture --recorder bpftrace`` writes NAME.bpftrace.txt."""
    from kmodel.capture import probes612
    from kmodel.capture.recorders import header_lines
    from kmodel.trace import check_trace
    from kmodel.trace.recorders import bpftrace_lines, bpftrace_script
    from tests.trace.test_recorders import _bpftrace_ndjson

    capture = Path(__file__).parents[1] / "data" / "traces" / "v6_12" / f"{name}.trace.txt"
    # The script records no mm_vmscan_write_folio (docs/recorders.md: in a run bpftrace records
    # too, tracefs's kretprobes lose their caller, and with it pageout's tracepoint check).
    src = tmp_path / f"{name}.trace.txt"
    src.write_text("".join(line for line in capture.read_text().splitlines(keepends=True)
                           if ": mm_vmscan_write_folio: " not in line))
    script = bpftrace_script(probes612.offset_events(btf.Btf.from_file(VMLINUX_612[0])), "6.12")
    ndjson = _bpftrace_ndjson(src, tmp_path / f"{name}.ndjson", script)
    ndjson.write_text('{"type": "printf", "data": "kmodel-header\\t# kernel: 6.12\\n"}\n'
                      + ndjson.read_text())
    expected = check_trace(src)
    direct = check_trace(ndjson)  # the script's '# kernel: 6.12' line: the 6.12 checker
    assert expected.conformant and direct.conformant and direct.counts["checks"] > 500
    with ndjson.open() as lines:
        body = [line for line in bpftrace_lines(lines, str(ndjson)) if not line.startswith("#")]
    text = tmp_path / f"{name}.bpftrace.txt"
    text.write_text(header_lines(src.read_text()) + "".join(body))
    got = check_trace(text)
    assert got.conformant
    assert got.counts["checks"] == expected.counts["checks"]
