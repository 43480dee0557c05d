"""kprobe_events text generated from BTF offsets (pahole output), and the tracefs script."""

from __future__ import annotations

import re

import attrs
import pytest

from kmodel.capture import probes
from kmodel.errors import KmodelError

# A pahole excerpt with the members the probes use, at Debian 6.1.0-50-amd64's offsets.
PAHOLE = """\
struct page {
\tlong unsigned int          flags;                /*     0     8 */
\tunion {
\t\tstruct {
\t\t\tstruct address_space * mapping;  /*    24     8 */
\t\t\tlong unsigned int index;         /*    32     8 */
\t\t\tlong unsigned int private;       /*    40     8 */
\t\t};                                       /*     8    40 */
\t\tstruct {
\t\t\tlong unsigned int private;       /*    99     8 */
\t\t};
\t};
};
struct bio {
\tstruct block_device *      bi_bdev;              /*     8     8 */
\tblk_opf_t                  bi_opf;               /*    16     4 */
\tblk_status_t               bi_status;            /*    24     1 */
\tstruct bvec_iter           bi_iter;              /*    32    20 */
\tvoid *                     bi_private;           /*    64     8 */
\tstruct bio_vec *           bi_io_vec;            /*   112     8 */
};
struct bvec_iter {
\tsector_t                   bi_sector;            /*     0     8 */
\tunsigned int               bi_size;              /*     8     4 */
};
struct bio_vec {
\tstruct page *              bv_page;              /*     0     8 */
};
struct block_device {
\tdev_t                      bd_dev;               /*    36     4 */
};
struct vm_fault {
\tconst struct {
\t\tlong unsigned int address;         /*    24     8 */
\t}; /*     0    40 */
\tenum fault_flag            flags;                /*    40     4 */
\tunion {
\t\tpte_t              orig_pte;             /*    64     8 */
\t};                                               /*    64     8 */
};
struct writeback_control {
\tenum writeback_sync_modes  sync_mode;            /*    32     4 */
\tunsigned int               for_kupdate:1;        /*    36: 0  4 */
\tunsigned int               for_reclaim:1;        /*    36: 3  4 */
};
struct swap_info_struct {
\tsigned char                type;                 /*    72     1 */
};
"""


def test_pahole_offsets_are_the_documented_ones() -> None:
    assert probes.offsets_from_pahole(PAHOLE) == probes.DEBIAN_6_1_176


def test_every_offset_appears_in_the_probe_text() -> None:
    text = "\n".join(probes.kprobe_events())
    off = probes.DEBIAN_6_1_176
    assert f"bi_status=+{off.bio_bi_status}(%di):u8" in text
    assert f"sector=+{off.bio_bi_sector}(%di):u64 size=+{off.bio_bi_size}(%di):u32" in text
    assert f"dev=+{off.block_device_bd_dev}(+{off.bio_bi_bdev}(%di)):x32" in text
    assert f"waiter=+{off.bio_bi_private}(%di):x64" in text
    assert f"page=+0(+{off.bio_bi_io_vec}(%di)):x64" in text
    assert f"entry=+{off.page_private}(%di):x64" in text
    assert f"orig_pte=+{off.vm_fault_orig_pte}(%di):x64" in text
    assert f"wbc_bits=+{off.wbc_bits}(%si):x32" in text
    assert f"type=+{off.swap_info_type}(%di):s8 start_page=%si:u64" in text


def test_other_offsets_change_the_fetch_args() -> None:
    moved = attrs.evolve(probes.DEBIAN_6_1_176, bio_bi_status=26, page_private=48)
    text = "\n".join(probes.kprobe_events(moved))
    assert "bi_status=+26(%di):u8" in text and "entry=+48(%di):x64" in text
    assert "bi_status=+24(" not in text


def test_every_kretprobe_has_its_kprobe_and_well_formed_lines() -> None:
    lines = probes.kprobe_events()
    entries = {ln.split()[1] for ln in lines if ln.startswith("p:")}
    for line in lines:
        assert re.fullmatch(r"(p|r64):kt/\w+ \w+( \w+=\S+)+", line), line
        kind, func = line.split()[0], line.split()[1]
        assert kind.split("/")[1].removesuffix("_ret") == func
        if kind.startswith("r64:"):
            assert func in entries
    assert {"end_swap_bio_read", "end_swap_bio_write", "swap_readpage", "do_swap_page"} <= entries


def test_missing_member_names_struct_and_member() -> None:
    with pytest.raises(KmodelError, match="struct bio has no member 'bi_status'"):
        probes.offsets_from_pahole(PAHOLE.replace("bi_status;", "bi_state;"))


def test_missing_struct_is_reported() -> None:
    with pytest.raises(KmodelError, match="struct vm_fault"):
        probes.offsets_from_pahole(PAHOLE.replace("struct vm_fault {", "struct vmf {"))


def test_tracefs_script_sets_options_probes_and_tracepoints() -> None:
    script = probes.tracefs_commands()
    assert "echo global > trace_clock" in script
    assert "echo 16384 > buffer_size_kb" in script
    assert "echo 1 > options/record-tgid" in script
    assert "echo 1 > events/block/block_rq_error/enable" in script
    assert "echo 1 > events/vmscan/mm_vmscan_write_folio/enable" in script
    assert script.count(">> kprobe_events") == len(probes.kprobe_events())
