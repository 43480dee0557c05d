"""The scenario table, blkdebug rules and the generated guest scripts."""

from __future__ import annotations

import itertools

import pytest

from kmodel.capture import guest, scenarios
from kmodel.capture.scenarios import Outcome
from kmodel.errors import KmodelError

REQUIRED = {
    "basic",
    "ssd",
    "random",
    "brd",
    "zram",
    "readerr_flakey",
    "readerr_scsi",
    "readerr_blkdebug",
    "writeerr_flakey",
    "writeerr_blkdebug",
    "fork",
}


def test_table_has_the_required_scenarios_once() -> None:
    names = [s.name for s in scenarios.SCENARIOS]
    assert set(names) >= REQUIRED
    assert len(names) == len(set(names))


def test_outcome_follows_the_name() -> None:
    for s in scenarios.SCENARIOS:
        expected = {
            "readerr": Outcome.READ_ERROR,
            "writeerr": Outcome.WRITE_ERROR,
            "oom": Outcome.OOM,
        }
        assert s.outcome is expected.get(s.name.split("_")[0], Outcome.OK), s.name


def test_error_scenarios_assert_a_failed_completion_in_the_trace() -> None:
    for s in scenarios.SCENARIOS:
        if s.outcome is Outcome.READ_ERROR:
            assert any("end_swap_bio_read" in rx for rx in s.expect), s.name
        if s.outcome is Outcome.WRITE_ERROR:
            assert any("end_swap_bio_write" in rx for rx in s.expect), s.name


def test_same_error_kind_never_runs_back_to_back() -> None:
    kinds = [s.outcome for s in scenarios.SCENARIOS]
    for a, b in itertools.pairwise(kinds):
        assert a is Outcome.OK or a is not b


def test_blkdebug_disks_match_scenario_devices() -> None:
    devices = {s.device for s in scenarios.SCENARIOS}
    for serial in scenarios.BLKDEBUG_RULES:
        assert f"@{serial}" in devices


def test_blkdebug_config_has_one_rule_per_slot() -> None:
    conf = scenarios.blkdebug_config("read", 320, 64)
    assert conf.count("[inject-error]") == 8
    assert 'event = "read_aio"' in conf and 'sector = "376"' in conf and 'errno = "5"' in conf
    assert 'event = "write_aio"' in scenarios.blkdebug_config("write", 160, 8)


def test_by_name_keeps_table_order_and_rejects_unknown() -> None:
    assert [s.name for s in scenarios.by_name(["zram", "basic"])] == ["basic", "zram"]
    with pytest.raises(KmodelError, match=r"unknown scenario.*nope.*known: readerr_flakey, basic"):
        scenarios.by_name(["basic", "nope"])


def test_flakey_tables_cover_the_whole_disk() -> None:
    table = scenarios._flakey(160, "1 error_writes")
    assert "0 160 linear" in table and "160 64 flakey $SWAPDISK 160 0 3600 1 error_writes" in table
    assert "224 130848 linear $SWAPDISK 224" in table


def test_guest_files_have_init_lib_probes_and_each_scenario() -> None:
    chosen = scenarios.by_name(["basic", "readerr_flakey"])
    files = guest.guest_files(["/mod/a.ko", "/mod/b.ko"], chosen)
    init = files["/init"]
    assert (
        init.index("insmod /mod/a.ko") < init.index("insmod /mod/b.ko") < init.index("run_scenario")
    )
    assert "run_scenario basic" in init and "run_scenario readerr_flakey" in init
    assert init.index("probes_install") < init.index("run_scenario")
    assert "probes_install()" in files["/lib/kt.sh"]
    assert init.rstrip().endswith("poweroff -f")
    assert "echo 512K > $CG/memory.max" in init
    assert "run_scenario()" in files["/lib/kt.sh"]
    assert files["/kprobes.txt"].startswith("p:kt/do_swap_page ")
    assert "block/block_bio_queue" in files["/tracepoints.txt"].split()
    script = files["/scen/readerr_flakey.sh"]
    assert "DEV=/dev/dm-0" in script and "RATELIMITED=read" in script and "dmsetup load" in script
    assert "RATELIMITED=\n" in files["/scen/basic.sh"]


def test_new_conditions_have_their_scenarios() -> None:
    table = {s.name: s for s in scenarios.SCENARIOS}
    assert table["swapfile"].disk == "@ktfs" and table["swapfile"].device == "/mnt/swapfile"
    assert table["hogs2"].hogs == 2 and table["hogs2"].misses_allowed
    assert "page-cluster" in table["pagecluster0"].setup
    assert "zswap/parameters/enabled" in table["zswap"].setup
    assert " error\\n" in table["readerr_dmerror"].midway
    assert table["oom"].outcome is Outcome.OOM


def test_scenario_scripts_carry_disk_hogs_and_only_io_errors_wait_for_the_ratelimit() -> None:
    files = guest.guest_files(
        [], scenarios.by_name(["swapfile", "hogs2", "oom", "readerr_dmerror"])
    )
    assert "DISK=@ktfs" in files["/scen/swapfile.sh"]
    assert "HOGS=2" in files["/scen/hogs2.sh"]
    assert "RATELIMITED=\n" in files["/scen/oom.sh"]
    assert "RATELIMITED=read" in files["/scen/readerr_dmerror.sh"]
    writes = guest.guest_files([], scenarios.by_name(["writeerr_flakey"]))
    assert "RATELIMITED=write" in writes["/scen/writeerr_flakey.sh"]


def test_trace_clock_is_set_in_init() -> None:
    init = guest.init_script([], scenarios.by_name(["basic"]), trace_clock="mono")
    assert "echo mono > $T/trace_clock" in init and "echo global" not in init
