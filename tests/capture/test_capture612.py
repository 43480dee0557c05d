"""The 6.12 capture without QEMU: probe lines from BTF names, the layout checks that refuse a
kernel they do not fit, the 6.12 scenarios, the module and vmlinux preparation, the header.

The synthetic BTF is written with test_btf's encoder and lays the probed structs out as Linux
6.12.118's BTF does (bio->bi_write_hint at +24 and bi_status at +25, block_device.bd_dev at
+52, for_reclaim bit 3 of the word at +36: read from the image's .BTF with kmodel.capture.btf).
"""

from __future__ import annotations

import lzma
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kmodel.capture import (
    guest,
    initramfs,
    kernel612,
    probes,
    probes612,
    run,
    scenarios,
    scenarios612,
    verify,
)
from kmodel.capture.btf import Btf, BtfError
from kmodel.capture.kernel import Kernel
from kmodel.cli import main
from kmodel.errors import KmodelError
from tests.capture.test_btf import Encoder, kernel_btf

FUNCS_612 = [p.function for p in probes612.PROBES]
REAL_612 = [p for p in (Path.home() / ".cache" / "kmodel" / "6.12.118-1" / "vmlinux",
                        Path("/work/k612/vmlinux-6.12")) if p.is_file()]


def btf_612(*, status_size: int = 1, reclaim_bit: int = 291, bd_dev_bit: int = 416,
            functions: list[str] = FUNCS_612, folio: bool = True) -> Btf:
    """The probed structs as on 6.12.118 (offsets in bits, as BTF has them)."""
    e = Encoder()
    u8, u16, u32, u64 = (e.int_("u8", 1), e.int_("u16", 2), e.int_("unsigned int", 4),
                         e.int_("long unsigned int", 8))
    s8 = e.int_("signed char", 1)
    vp = e.ptr()
    e.record("page", 64, [("flags", u64, 0, 0), ("private", u64, 320, 0)])
    if folio:
        e.record("folio", 64, [("flags", u64, 0, 0), ("private", u64, 320, 0)])
    iter_ = e.record("bvec_iter", 16, [("bi_sector", u64, 0, 0), ("bi_size", u32, 64, 0)])
    status = u8 if status_size == 1 else u16
    e.record("bio", 136, [("bi_next", vp, 0, 0), ("bi_bdev", vp, 64, 0), ("bi_opf", u32, 128, 0),
                          ("bi_flags", u16, 160, 0), ("bi_ioprio", u16, 176, 0),
                          ("bi_write_hint", u8, 192, 0), ("bi_status", status, 200, 0),
                          ("bi_iter", iter_, 256, 0), ("bi_private", vp, 512, 0),
                          ("bi_io_vec", vp, 896, 0)])
    e.record("bio_vec", 16, [("bv_page", vp, 0, 0), ("bv_len", u32, 64, 0)])
    e.record("block_device", 64, [("bd_start_sect", u64, 0, 0), ("bd_nr_sectors", u64, 64, 0),
                                  ("bd_disk", vp, 128, 0), ("bd_queue", vp, 192, 0),
                                  ("bd_stats", vp, 256, 0), ("bd_stamp", u64, 320, 0),
                                  ("bd_flags", u32, 384, 0), ("bd_dev", u32, bd_dev_bit, 0)])
    pte = e.record("", 8, [("pte", u64, 0, 0)])
    e.record("vm_fault", 96, [("vma", vp, 0, 0), ("address", u64, 192, 0),
                              ("flags", u32, 320, 0), ("orig_pte", pte, 512, 0)])
    e.record("writeback_control", 48, [("nr_to_write", u64, 0, 0), ("sync_mode", u32, 256, 0),
                                       ("for_kupdate", u32, 288, 1),
                                       ("for_reclaim", u32, reclaim_bit, 1)])
    e.record("swap_info_struct", 256, [("flags", u64, 0, 0), ("type", s8, 576, 0)])
    for name in functions:
        e.func(name)
    return Btf(e.blob(), "6.12.btf")


def _line(lines: list[str], event: str) -> str:
    return next(ln for ln in lines if ln.startswith(f"p:kt/{event} ") or
                ln.startswith(f"r:kt/{event} "))


# -- probe lines --------------------------------------------------------------------------------


def test_probe_lines_name_members_and_read_wbc_bits_by_the_btf_offset() -> None:
    lines = probes612.kprobe_events(btf_612())
    read = _line(lines, "end_swap_bio_read")
    assert "bi_status=bio->bi_status:u8" in read
    assert "dev=bio->bi_bdev->bd_dev:x32" in read
    assert not re.search(r"=\+\d+\(", read)  # no offset in a bio probe
    assert "wbc_bits=+36(%si):x32" in _line(lines, "swap_writepage")
    # The bit moved one word on: the offset follows the BTF, not a constant.
    moved = probes612.kprobe_events(btf_612(reclaim_bit=291 + 32))
    assert "wbc_bits=+40(%si):x32" in _line(moved, "swap_writepage")


def test_void_functions_get_a_kretprobe_without_retval_and_none_on_inlined_ones() -> None:
    lines = probes612.kprobe_events(btf_612())
    assert _line(lines, "swap_read_folio_ret") == "r:kt/swap_read_folio_ret swap_read_folio"
    assert "$retval" not in " ".join(ln for ln in lines if "__swap_writepage" in ln)
    probed = {ln.split()[1] for ln in lines}
    assert not probed & probes612.INLINED
    assert {"swap_read_folio", "zswap_load", "__end_swap_bio_read"} <= probed


def test_the_61_end_swap_bio_read_line_reads_bi_write_hint_on_612() -> None:
    line = _line(probes.kprobe_events(probes.DEBIAN_6_1_176), "end_swap_bio_read")
    assert "bi_status=+24(%di):u8" in line
    problems = probes612.offset_fetch_problems(btf_612(), line)
    assert ("end_swap_bio_read bi_status=+24: on this kernel +24 of struct bio is "
            "bi_write_hint; bi_status is at +25") in problems
    assert any("dev=+36" in p and "bd_stats" in p and "+52" in p for p in problems)
    # The same line on 6.1.176's layout reads what it names.
    assert probes612.offset_fetch_problems(Btf(kernel_btf()), line) == []


def test_kmodel_refuses_the_61_lines_on_a_612_layout_before_boot() -> None:
    old = probes.kprobe_events(probes.DEBIAN_6_1_176)
    with pytest.raises(BtfError, match=r"bi_status=\+24: .* is bi_write_hint"):
        probes612.check_lines(btf_612(), old)
    probes612.check_lines(btf_612(), probes612.kprobe_events(btf_612()))  # its own lines fit


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"status_size": 2}, r"end_swap_bio_read bi_status: struct bio.bi_status is 16 bits "
                             r"wide, the fetch reads 8"),
        ({"reclaim_bit": 292}, r"for_reclaim: the checker decodes bit 3 .* at bit 4"),
        ({"functions": [f for f in FUNCS_612 if f != "zswap_load"]},
         r"zswap_load: no such function"),
        ({"folio": False}, r"swap_read_folio pflags: no 'struct folio'"),
    ],
)
def test_a_layout_the_probes_do_not_fit_is_refused(layout: dict[str, object],
                                                   message: str) -> None:
    with pytest.raises(BtfError, match=message):
        probes612.kprobe_events(btf_612(**layout))  # type: ignore[arg-type]


def test_an_inlined_function_is_refused_even_when_btf_names_it() -> None:
    probe = probes612.Probe("swap_read_folio_bdev_async", (probes612.Arg("folio", "folio",
                                                                         "x64"),))
    btf = btf_612(functions=[*FUNCS_612, "swap_read_folio_bdev_async"])
    assert probes612.layout_problems(btf, (probe,)) == [
        "swap_read_folio_bdev_async: no such function in this kernel (inlined or renamed: "
        "nothing to probe)"]


@pytest.mark.skipif(not REAL_612, reason="the 6.12.118 vmlinux is not prepared on this machine "
                    "(kmodel capture --kernel 6.12 prepares it)")
def test_the_real_612_image_fits_the_probes_and_not_the_61_offsets() -> None:
    btf = Btf.from_file(REAL_612[0])
    lines = probes612.kprobe_events(btf)
    probes612.check_lines(btf, lines)
    assert "wbc_bits=+36(%si):x32" in _line(lines, "swap_writepage")
    with pytest.raises(BtfError, match="bi_write_hint"):
        probes612.check_lines(btf, probes.kprobe_events(probes.DEBIAN_6_1_176))


# -- scenarios ----------------------------------------------------------------------------------


def test_the_612_set_is_the_61_set_plus_zeromap_and_mthp_with_612_expectations() -> None:
    names = [s.name for s in scenarios612.SCENARIOS]
    assert sorted(names) == sorted([s.name for s in scenarios.SCENARIOS]
                                   + ["zeromap", "mthp_zram"])
    probed = {p.function for p in probes612.PROBES}
    gone = ("swap_readpage", "bdev_read_page", "bdev_write_page", "__frontswap")
    for s in scenarios612.SCENARIOS:
        for rx in (*s.expect, *s.forbid):
            assert not any(g in rx for g in gone), (s.name, rx)
            for name in re.findall(r"(\w+?)(?:_ret)?: ", rx):
                if not name.startswith(("block_", "console")) and "^#" not in rx:
                    assert name in probed, (s.name, rx)
    zram = scenarios612.by_name(["zram"])[0]
    assert r"block_bio_queue:" in zram.expect and not zram.forbid  # bios now
    assert scenarios612.by_name(["zeromap"])[0].workload == "-m 1 -z 2"
    mthp = scenarios612.by_name(["mthp_zram"])[0]
    assert "hugepages-64kB/enabled" in mthp.setup and "echo never" in mthp.teardown
    assert re.search(mthp.expect[1], "block_bio_queue: 252,0 RS 8320 + 128 [memhog]")
    assert not re.search(mthp.expect[1], "block_bio_queue: 252,0 RS 8320 + 8 [memhog]")


def test_scenarios_get_memcg_headroom_and_give_it_back(tmp_path: Path) -> None:
    """6.12's scenarios run at 768K (at 512K the memcg OOM-killed the workload of writeerr_flakey
    in 3 of 5 boots of CI's set, of basic in 1 of 3 under load): the guest script sets it in
    setup and restores it in teardown; not oom (its OOM is the point) nor hogs2 (its own 1M)."""
    roomy = [s for s in scenarios612.SCENARIOS if s.name not in ("oom", "hogs2")]
    assert {"basic", "readerr_blkdebug", "writeerr_flakey", "writeerr_blkdebug"} <= {
        s.name for s in roomy}
    for s in roomy:
        assert s.setup.startswith("MM0=$(cat $CG/memory.max) && echo 768K > $CG/memory.max")
        assert s.teardown.endswith("echo $MM0 > $CG/memory.max")
    others = [s for s in scenarios612.SCENARIOS if s not in roomy]
    assert not any("768K" in s.setup for s in others)
    blkdebug = next(s for s in roomy if s.name == "writeerr_blkdebug")
    script = guest._scenario_script(blkdebug)
    (tmp_path / "memory.max").write_text("524288\n")
    seen = subprocess.run(
        ["sh", "-c", f'{script}\nsetup > /dev/null; cat "$CG/memory.max"; teardown > /dev/null; '
         'cat "$CG/memory.max"'],
        env={"CG": str(tmp_path), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        check=True).stdout.split()
    assert seen == ["768K", "524288"]


def test_unknown_612_scenarios_are_refused_by_name() -> None:
    with pytest.raises(KmodelError, match=r"unknown 6\.12 scenario.*nosuch.*known: readerr_flakey"):
        scenarios612.by_name(["basic", "nosuch"])


def _trace(events: list[str]) -> str:
    return "".join(f"          memhog-9 (      9) [000] .....  10.{i:06d}: {e}: (x+0x4/0x10) a=1\n"
                   for i, e in enumerate(events))


def test_zeromap_outcome_needs_swap_outs_and_ins_that_skip_zswap() -> None:
    s = scenarios612.by_name(["zeromap"])[0]
    half = _trace(["swap_writepage", "zswap_store", "swap_writepage"] * 4
                  + ["swap_read_folio", "zswap_load", "swap_read_folio"] * 4)
    assert scenarios612.extra_problems(s, verify.Result("", half, "", "")) == []
    every = _trace(["swap_writepage", "zswap_store"] * 4 + ["swap_read_folio", "zswap_load"] * 4)
    problems = scenarios612.extra_problems(s, verify.Result("", every, "", ""))
    assert problems[0].startswith("zeromap: 4 of 4 swap_writepage calls reached zswap_store")
    assert problems[1].startswith("zeromap: 4 of 4 swap_read_folio calls reached zswap_load")
    none = scenarios612.extra_problems(s, verify.Result("", _trace(["block_bio_queue"]), "", ""))
    assert none == ["zeromap: 0 swap_writepage and 0 swap_read_folio lines: the workload did "
                    "not swap"]
    basic = scenarios612.by_name(["basic"])[0]
    assert scenarios612.extra_problems(basic, verify.Result("", every, "", "")) == []


def test_capture_kernel_612_lists_its_scenarios_and_refuses_unknown_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "--kernel", "6.12", "--list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"^zeromap +ok +half the pages zero-filled", listed, re.M)
    assert main(["capture", "--kernel", "6.12", "--scenario", "nosuch", "-o", "/nonexistent"]) == 2
    assert "unknown 6.12 scenario(s): nosuch" in capsys.readouterr().err


# -- kernel preparation -------------------------------------------------------------------------


def test_guest_modules_are_decompressed_with_a_plain_modules_dep(tmp_path: Path) -> None:
    mods = tmp_path / "root" / "usr" / "lib" / "modules" / kernel612.RELEASE
    deps: dict[str, list[str]] = {m: [] for m in kernel612.GUEST_MODULES}
    deps["dm-flakey"] = ["dm-mod"]
    deps["ext4"] = ["crc32c_generic", "jbd2"]
    lines = []
    for name in [*deps, "jbd2", "unrelated"]:
        rel = f"kernel/x/{name}.ko.xz"
        (mods / rel).parent.mkdir(parents=True, exist_ok=True)
        (mods / rel).write_bytes(lzma.compress(f"ELF {name}".encode()))
        lines.append(f"{rel}: " + " ".join(f"kernel/x/{d}.ko.xz" for d in deps.get(name, [])))
    (mods / "modules.dep").write_text("\n".join(lines) + "\n")
    out = kernel612.guest_modules_dir(tmp_path / "root", tmp_path / "mods")
    assert (out / "kernel/x/ext4.ko").read_bytes() == b"ELF ext4"
    assert not (out / "kernel/x/unrelated.ko").exists()
    dep = (out / "modules.dep").read_text()
    assert "kernel/x/ext4.ko: kernel/x/crc32c_generic.ko kernel/x/jbd2.ko\n" in dep
    assert ".xz" not in dep
    # The 6.12 set has no virtio_pci (built in); the 6.1 set would ask for it.
    assert initramfs.boot_modules(out, kernel612.GUEST_MODULES)[0] == "/mod/virtio_blk.ko"
    with pytest.raises(KmodelError, match=r"virtio_pci.*not in modules\.dep"):
        initramfs.boot_modules(out)


def test_the_apt_configuration_is_separate_and_names_the_trixie_suites(tmp_path: Path) -> None:
    conf = kernel612.apt_config(tmp_path).read_text()
    assert f'Dir::Etc::sourcelist "{tmp_path}/apt612/sources.list";' in conf
    assert f'Dir::State::Lists "{tmp_path}/apt612/lists";' in conf
    sources = (tmp_path / "apt612" / "sources.list").read_text().splitlines()
    assert [ln.split()[-2:] for ln in sources] == [["trixie", "main"],
                                                    ["trixie-security", "main"]]


@pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is a capture host tool")
def test_the_zstd_vmlinux_is_found_inside_the_bzimage() -> None:
    elf = b"\x7fELF\x02\x01" + bytes(range(256)) * 8
    frame = subprocess.run(["zstd", "-c", "-q"], input=elf, capture_output=True,
                           check=True).stdout
    bzimage = b"MZ" + b"\0" * 100 + kernel612.ZSTD_MAGIC + b"junk" + frame + b"\0" * 64
    assert kernel612.extract_vmlinux_zstd(bzimage) == elf
    with pytest.raises(KmodelError, match="no zstd-compressed ELF"):
        kernel612.extract_vmlinux_zstd(b"MZ" + b"\0" * 100)


# -- the trace header ---------------------------------------------------------------------------


def test_the_trace_header_names_the_kernel_version(tmp_path: Path) -> None:
    s = scenarios612.by_name(["basic"])[0]
    kernel = Kernel(kernel612.PACKAGE, kernel612.VERSION, tmp_path / "vmlinux", tmp_path)
    results = {"basic.trace.txt": "# tracer: nop\n", "basic.header.txt": "# page-cluster: 3\n"}
    run._write_outputs(s, results, tmp_path, kernel, "tcg")
    head = (tmp_path / "basic.trace.txt").read_text().splitlines()
    assert head[:3] == [
        "# kmodel capture: scenario=basic kernel=linux-image-6.12.118+deb13-amd64 "
        "version=6.12.118-1 accel=tcg", "# kernel: 6.12.118", "# page-cluster: 3"]
    assert run.upstream_version("6.1.176-1") == "6.1.176"


def test_the_612_line_derives_its_probes_from_the_image_btf_and_refuses_a_misfit(
        tmp_path: Path) -> None:
    assert scenarios612.LINE.prepare is kernel612.prepare
    assert "virtio_pci" not in scenarios612.LINE.modules
    good, bad = tmp_path / "good.btf", tmp_path / "bad.btf"
    good.write_bytes(btf_612()._data)
    bad.write_bytes(btf_612(status_size=2)._data)
    lines = scenarios612.LINE.kprobes(Kernel(kernel612.PACKAGE, kernel612.VERSION, good, tmp_path))
    assert lines == probes612.kprobe_events(btf_612())
    with pytest.raises(BtfError, match="bi_status is 16 bits wide"):
        scenarios612.LINE.kprobes(Kernel(kernel612.PACKAGE, kernel612.VERSION, bad, tmp_path))


def test_an_unreadable_trace_is_reported_a_divergent_one_fails() -> None:
    unread = run.Checked(False, "x.trace.txt: cannot check: x.trace.txt:30: __swap_writepage: "
                         "expected ...", 1, (), 0, 0)
    divergent = run.Checked(False, "x.trace.txt: DIVERGENT: 2 divergences", 2, (), 10, 0)
    ok = run.Checked(True, "x.trace.txt: conformant", 0, (), 10, 0)
    reports = [run.Report("a", 1.0, (), check=unread), run.Report("b", 1.0, (), check=ok),
               run.Report("c", 1.0, ("exit 1",), check=divergent)]
    assert scenarios612.tally(reports) == (1, 1, 1)
    assert scenarios612.tally(reports[:2]) == (0, 0, 1)
