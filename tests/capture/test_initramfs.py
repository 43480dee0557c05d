"""The initramfs: newc archive layout, module dependency order, scenario modules."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.capture import initramfs
from kmodel.errors import KmodelError

Reader = Callable[[bytes], dict[str, tuple[int, bytes]]]


def test_newc_archive_round_trips(newc_members: Reader) -> None:
    archive = initramfs.newc_archive(
        [
            initramfs.directory("bin"),
            initramfs.Entry("bin/x", b"abc", 0o755),
            initramfs.symlink("bin/sh", "busybox"),
        ]
    )
    members = newc_members(archive)
    assert stat.S_ISDIR(members["bin"][0])
    assert members["bin/x"] == (stat.S_IFREG | 0o755, b"abc")
    assert stat.S_ISLNK(members["bin/sh"][0]) and members["bin/sh"][1] == b"busybox"
    assert len(archive) % 4 == 0


def test_load_order_puts_dependencies_first(module_tree: Path) -> None:
    order = [initramfs.module_name(p) for p in initramfs.module_files(module_tree)]
    for mod, dep in [
        ("virtio_pci", "virtio"),
        ("dm_flakey", "dm_mod"),
        ("zram", "zsmalloc"),
        ("scsi_debug", "scsi_mod"),
        ("scsi_mod", "scsi_common"),
    ]:
        assert order.index(dep) < order.index(mod)
    assert len(order) == len(set(order))
    assert "unrelated" not in order


def test_boot_modules_leave_parametrised_modules_to_scenarios(module_tree: Path) -> None:
    boot = initramfs.boot_modules(module_tree)
    assert "/mod/zsmalloc.ko" in boot and "/mod/scsi_mod.ko" in boot
    assert not {"/mod/zram.ko", "/mod/brd.ko", "/mod/scsi_debug.ko"} & set(boot)


def test_build_contains_busybox_applets_modules_and_scripts(
    module_tree: Path, fake_binaries: dict[str, Path], newc_members: Reader
) -> None:
    archive = initramfs.build(
        module_tree, fake_binaries, {"/init": "#!/bin/sh\n", "/scen/a.sh": "x"}
    )
    members = newc_members(archive)
    assert members["init"] == (stat.S_IFREG | 0o755, b"#!/bin/sh\n")
    assert members["bin/memhog"][1] == b"\x7fELF memhog"
    assert members["bin/insmod"][1] == b"busybox"
    assert members["mod/dm-flakey.ko"][1].endswith(b"dm-flakey.ko")
    for parent in ("scen", "mod", "dev", "proc", "sys", "out"):
        assert stat.S_ISDIR(members[parent][0])
    names = list(members)
    assert names.index("scen") < names.index("scen/a.sh")


def test_missing_modules_dep_says_to_run_depmod(tmp_path: Path) -> None:
    with pytest.raises(KmodelError, match="depmod"):
        initramfs.module_files(tmp_path)


def test_compressed_module_is_rejected() -> None:
    deps: dict[str, list[str]] = {"kernel/drivers/block/brd.ko.xz": []}
    with pytest.raises(KmodelError, match="compressed"):
        initramfs.load_order(deps, ("brd",))


def test_unknown_module_is_reported() -> None:
    with pytest.raises(KmodelError, match=r"'zram' not in modules\.dep"):
        initramfs.load_order({}, ("zram",))
