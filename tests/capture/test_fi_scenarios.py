"""The fault-injection scenarios (kmodel.capture.fiscenarios), without QEMU."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.capture import fikernel, fiscenarios, guest
from kmodel.errors import KmodelError

NOTICE = "FAULT_INJECTION: forcing a failure.\nname {attr}, interval 1, probability 100, " \
         "space 0, times {times}\n"


def test_every_scenario_script_is_valid_shell(tmp_path: Path) -> None:
    files = guest.guest_files([], [s.scenario for s in fiscenarios.FI_SCENARIOS])
    for s in fiscenarios.FI_SCENARIOS:
        script = tmp_path / f"{s.name}.sh"
        script.write_text(files[f"/scen/{s.name}.sh"])
        done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, (s.name, done.stderr)


def test_every_scenario_resets_all_attrs_and_records_what_it_armed() -> None:
    for s in fiscenarios.FI_SCENARIOS:
        sc = s.scenario
        assert sc.setup.startswith(fiscenarios._RESET) and sc.teardown == fiscenarios._RESET
        assert f"# fault-inject: {s.attr} probability=$(cat" in sc.midway, s.name
        assert "$out.header.txt" in sc.midway, s.name
    assert "echo 1 > /sys/kernel/debug/fail_page_alloc/min-order" in fiscenarios._RESET
    assert "echo Y > /sys/kernel/debug/fail_page_alloc/ignore-gfp-wait" in fiscenarios._RESET


def test_notice_count_and_name_are_checked() -> None:
    s = fiscenarios.by_name(["fi_mkreq_space"])[0]  # times 1: exactly one notice
    one = NOTICE.format(attr="fail_make_request", times=1)
    alert = "Read-error on swap-device (254:0:128)\n"
    assert fiscenarios.notice_problems(s, one + alert) == []
    assert fiscenarios.notice_problems(s, one + one + alert + alert) == [
        "2 fault-injection notice(s) (2 naming fail_make_request), expected 1"]
    other = one.replace("name fail_make_request", "name failslab")
    assert fiscenarios.notice_problems(s, other + alert) == [
        "1 fault-injection notice(s) (0 naming fail_make_request), expected 1"]
    assert fiscenarios.notice_problems(s, one + alert + "fail_dump: 4 callbacks suppressed\n") == [
        "fail_dump was ratelimited: 'fail_dump: N callbacks suppressed'"]
    assert fiscenarios.notice_problems(s, one) == [
        "0 Read-/Write-error alert(s) for 1 notice(s)",
        "dmesg has no line matching 'Read-error on swap-device'"]
    bounded = fiscenarios.by_name(["fi_mkreq_times"])[0]  # times 3: SIGBUS may come first
    assert fiscenarios.notice_problems(bounded, one + alert) == []
    assert fiscenarios.notice_problems(bounded, "") == [
        "0 fault-injection notice(s) (0 naming fail_make_request), expected 1 to 3",
        "dmesg has no line matching 'Read-error on swap-device'"]


def test_default_filters_scenario_wants_no_notice() -> None:
    s = fiscenarios.by_name(["fi_page_alloc_default"])[0]
    assert fiscenarios.notice_problems(s, "") == []
    assert fiscenarios.notice_problems(s, NOTICE.format(attr="fail_page_alloc", times=-1)) == [
        "1 fault-injection notice(s) (1 naming fail_page_alloc), expected 0",
        "0 Read-/Write-error alert(s) for 1 notice(s)"]


def test_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(KmodelError, match=r"unknown fault-injection scenario.*nope.*known: "
                                          r"fi_mkreq_times"):
        fiscenarios.by_name(["fi_mkreq_times", "nope"])


def test_initramfs_has_no_modules_and_every_applet(
        fake_binaries: dict[str, Path],
        newc_members: Callable[[bytes], dict[str, tuple[int, bytes]]]) -> None:
    image = fiscenarios.initramfs_image(fake_binaries, {"/init": "#!/bin/sh\n",
                                                        "/scen/a.sh": "x=1\n"})
    members = newc_members(image)
    assert members["init"][1] == b"#!/bin/sh\n" and members["init"][0] & 0o111
    assert members["bin/memhog"][1] == b"\x7fELF memhog"
    assert members["bin/sh"][1] == b"busybox"  # a symlink's data is its target
    assert "scen" in members and "out" in members
    assert not [m for m in members if m.startswith("mod")]


def test_qemu_boots_the_bzimage_with_the_two_named_disks(tmp_path: Path) -> None:
    kernel = fikernel.FiKernel(tmp_path, tmp_path, tmp_path / "bzImage", 0.0, False)
    argv = fiscenarios.qemu_command(tmp_path, kernel, "tcg")
    assert argv[argv.index("-kernel") + 1] == str(tmp_path / "bzImage")
    assert "-no-reboot" in argv
    devices = [a for a in argv if a.startswith("virtio-blk-pci")]
    assert [d.rsplit("serial=", 1)[1] for d in devices] == ["ktswap", "ktout"]
    assert (tmp_path / "ktswap.img").stat().st_size == 64 << 20


def test_a_sigbus_the_trace_shows_counts_when_the_handler_died_silently() -> None:
    from kmodel.capture import verify

    s = fiscenarios.by_name(["fi_mkreq_space"])[0]
    log = "KT: memhog pid=95 exit status 135\n"
    dmesg = "Read-error on swap-device (254:0:96)\n"
    trace = ("memhog-95 (95) [000] .N... 2.60: end_swap_bio_read: (x) bi_status=10\n"
             "memhog-95 (95) [000] d.... 2.60: console: FAULT_INJECTION: forcing a failure.\n")
    sent = ("memhog-95 (95) [000] d.... 2.60: signal_generate: sig=7 errno=0 code=2 "
            "comm=memhog pid=95 grp=0 res=0\n")
    profile = "  kt/swap_readpage 10 0\n"
    assert "the workload printed no SIGBUS line" in fiscenarios.outcome_problems(
        s, verify.Result(log, trace, dmesg, profile))
    assert fiscenarios.outcome_problems(s, verify.Result(log, trace + sent, dmesg, profile)) \
        == []


def test_model_side_of_the_sweep_fails_the_nth_bio() -> None:
    for n in (1, 3):
        assert fiscenarios.model_nth(n, False) == fiscenarios.NthOutcome(
            "fail_make_request", ("Read-error on swap-device",), "SIGBUS")
        assert fiscenarios.model_nth(n, True) == fiscenarios.NthOutcome(
            "fail_make_request", ("Write-error on swap-device",), "ok")  # re-dirtied, rewritten


def test_kernel_side_of_the_sweep_is_read_from_dmesg_and_log(tmp_path: Path) -> None:
    (tmp_path / "fi_nth_read_2.dmesg.txt").write_text(
        NOTICE.format(attr="fail_make_request", times=1)
        + "Read-error on swap-device (254:0:104)\n")
    (tmp_path / "fi_nth_read_2.log.txt").write_text(
        "memhog: SIGBUS si_code=2 addr=0x7f page_index=0\nKT: memhog pid=3 exit status 135\n")
    (tmp_path / "fi_nth_write_1.dmesg.txt").write_text(NOTICE.format(attr="failslab", times=1))
    (tmp_path / "fi_nth_write_1.log.txt").write_text(
        "KT: writer: memhog: verified 256 pages (sequential order) in 0.04s: 0 bad\n"
        "memhog: verified 256 pages (sequential order) in 0.04s: 0 bad\n"
        "KT: memhog pid=3 exit status 0\n")
    (tmp_path / "fi_nth_write_2.dmesg.txt").write_text("")
    (tmp_path / "fi_nth_write_2.log.txt").write_text(  # the writer lost data
        "KT: writer: memhog: verified 256 pages (sequential order) in 0.04s: 3 bad\n"
        "memhog: verified 256 pages (sequential order) in 0.04s: 0 bad\n"
        "KT: memhog pid=3 exit status 0\n")
    assert fiscenarios.kernel_nth(tmp_path, "fi_nth_write_2").end == "exit 0"
    assert fiscenarios.kernel_nth(tmp_path, "fi_nth_read_2") == fiscenarios.NthOutcome(
        "fail_make_request", ("Read-error on swap-device",), "SIGBUS")
    assert fiscenarios.kernel_nth(tmp_path, "fi_nth_write_1") == fiscenarios.NthOutcome(
        "failslab", (), "ok")


def test_sweep_scenarios_are_valid_shell(tmp_path: Path) -> None:
    chosen = fiscenarios.nth_scenarios(2)
    assert [s.name for s in chosen] == ["fi_nth_read_1", "fi_nth_write_1", "fi_nth_read_2",
                                        "fi_nth_write_2"]
    files = guest.guest_files([], [s.scenario for s in chosen])
    for s in chosen:
        script = tmp_path / f"{s.name}.sh"
        script.write_text(files[f"/scen/{s.name}.sh"])
        assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0
    assert "echo 2 > /proc/self/fail-nth" in chosen[3].scenario.midway
    filtered = fiscenarios.nth_scenarios(1, cache_filter=True)
    assert [s.name for s in filtered] == ["fi_nth_read_1_cf", "fi_nth_write_1_cf"]
    assert "echo Y > /sys/kernel/debug/failslab/cache-filter" in filtered[0].scenario.midway
    assert "echo N > /sys/kernel/debug/failslab/cache-filter" in filtered[0].scenario.teardown


def test_the_6_12_probe_lines_come_from_the_builds_btf(tmp_path: Path) -> None:
    """6.12: the probes612 lines, checked against the vmlinux's own BTF (here Debian's 6.12
    image, which has every swap function probed but, built without CONFIG_FAIL_PAGE_ALLOC,
    no should_fail_alloc_page); a function the BTF lacks is left out and named."""
    image = Path("/work/k612/vmlinux-6.12")
    if not image.is_file():
        pytest.skip("no 6.12 vmlinux (scripts/fetch-6.12.sh)")
    from kmodel.capture import probes612
    from kmodel.capture.btf import Btf

    (tmp_path / "vmlinux").symlink_to(image)
    kernel = fikernel.FiKernel(tmp_path, tmp_path, tmp_path / "bz", 0.0, False,
                               fikernel.SOURCE_6_12)
    lines, absent = fiscenarios.kprobe_lines(kernel)
    assert absent == ["should_fail_alloc_page"]
    assert lines == probes612.kprobe_events(Btf.from_file(image))
    assert lines[0].startswith("p:kt/do_swap_page do_swap_page vmf=vmf:x64 ")

    extra = probes612.Probe("kmodel_no_such_function", ())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(probes612, "PROBES", (*probes612.PROBES, extra))
        assert fiscenarios.kprobe_lines(kernel) == (
            lines, ["kmodel_no_such_function", "should_fail_alloc_page"])


def test_the_allocation_probe_is_filtered_to_the_workloads() -> None:
    """kt.sh still has the line the should_fail_alloc_page filter follows, and the filter
    keeps the probe's two events to the memhog workloads."""
    from importlib import resources

    kt = resources.files("kmodel.capture").joinpath("kt.sh").read_text()
    assert kt.count(fiscenarios._KT_ENABLE) == 1
    assert """echo 'comm == "memhog"' > $T/events/kt/$e/filter""" in fiscenarios.ALLOC_FILTER
    assert "should_fail_alloc_page should_fail_alloc_page_ret" in fiscenarios.ALLOC_FILTER


def test_the_6_12_fi_build_has_the_allocation_probe() -> None:
    """On the 6.12 fault-injection build (CONFIG_FAIL_PAGE_ALLOC) the probe is there, and
    zswap's functions too (CONFIG_ZSWAP since the fragment has it): nothing is left out."""
    spec = fikernel.SOURCE_6_12
    build = fikernel.root(Path.home() / ".cache" / "kmodel", spec) / "build"
    if not (build / "vmlinux").is_file():
        pytest.skip("the 6.12 fault-injection kernel is not built here")
    kernel = fikernel.FiKernel(build.parent / spec.package, build, build / "bz", 0.0, False,
                               spec)
    lines, absent = fiscenarios.kprobe_lines(kernel)
    assert absent == []
    assert any(line.startswith("p:kt/zswap_store zswap_store ") for line in lines), lines
    assert ("p:kt/should_fail_alloc_page should_fail_alloc_page gfp_mask=gfp_mask:x32 "
            "order=order:u32") in lines
    assert "r:kt/should_fail_alloc_page_ret should_fail_alloc_page ret=$retval:u8" in lines
