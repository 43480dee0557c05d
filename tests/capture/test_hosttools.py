"""The missing-tool check and its message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kmodel.capture import hosttools


def _which(present: set[str]) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in present else None


ALL = {t.name for t in hosttools.TOOLS}


def test_nothing_missing(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF static")

    def which(name: str) -> str | None:
        return str(busybox) if name == "busybox" else f"/usr/bin/{name}"

    assert hosttools.missing_packages(which=which, exists=lambda p: True, has_lzma=True) == []


def test_missing_tools_name_package_and_setup_command() -> None:
    missing = hosttools.missing_packages(
        which=_which(ALL - {"qemu-system-x86_64", "dmsetup", "busybox"}),
        exists=lambda p: False,
        has_lzma=False,
    )
    names = {what for what, _ in missing}
    assert {"qemu-system-x86_64", "dmsetup", "/usr/include/stdio.h", "python lzma module"} <= names
    message = hosttools.missing_message(missing)
    assert "qemu-system-x86_64 (package qemu-system-x86)" in message
    assert "stdio.h (package libc6-dev)" in message
    assert hosttools.SETUP_COMMAND in message
    assert "apt-get install -y --no-install-recommends" in message
    assert "dmsetup" in message.splitlines()[-1] and "libc6-dev" in message.splitlines()[-1]


def test_dynamic_busybox_needs_busybox_static(tmp_path: Path) -> None:
    dynamic = tmp_path / "busybox"
    dynamic.write_bytes(b"\x7fELF ... /lib64/ld-linux-x86-64.so.2 ...")

    def which(name: str) -> str | None:
        return str(dynamic) if name == "busybox" else f"/usr/bin/{name}"

    missing = hosttools.missing_packages(which=which, exists=lambda p: True, has_lzma=True)
    assert missing == [("a static busybox", "busybox-static")]
