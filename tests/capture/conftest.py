"""Fixtures for the capture tests: fake host files, no QEMU, no host tools."""

from __future__ import annotations

import stat
import struct
from collections.abc import Callable
from pathlib import Path

import pytest


def _newc_members(archive: bytes) -> dict[str, tuple[int, bytes]]:
    """Read a newc cpio archive into {name: (mode, data)} (the test's own reader)."""
    members: dict[str, tuple[int, bytes]] = {}
    pos = 0
    while True:
        assert archive[pos : pos + 6] == b"070701"
        fields = [int(archive[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, namesize = fields[1], fields[6], fields[11]
        name_at = pos + 110
        name = archive[name_at : name_at + namesize - 1].decode()
        data_at = name_at + namesize + (-(110 + namesize) % 4)
        data = archive[data_at : data_at + filesize]
        pos = data_at + filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            return members
        members[name] = (mode, data)


def _elf_with_notes(notes: list[tuple[bytes, int, bytes]]) -> bytes:
    """Return a minimal little-endian ELF64 image with one PT_NOTE segment holding *notes*."""
    body = b""
    for name, ntype, desc in notes:
        n = name + b"\0"
        body += struct.pack("<III", len(n), len(desc), ntype)
        body += n + b"\0" * (-len(n) % 4) + desc + b"\0" * (-len(desc) % 4)
    ehdr = bytearray(64)
    ehdr[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", ehdr, 0x20, 64)  # e_phoff
    struct.pack_into("<HH", ehdr, 0x36, 56, 1)  # e_phentsize, e_phnum
    phdr = struct.pack("<IIQQQQQQ", 4, 4, 64 + 56, 0, 0, len(body), len(body), 4)
    return bytes(ehdr) + phdr + body


@pytest.fixture
def module_tree(tmp_path: Path) -> Path:
    """A fake lib/modules/VERSION with the guest modules, their deps and a modules.dep."""
    root = tmp_path / "lib" / "modules" / "6.1.0-50-amd64"
    deps = {
        "kernel/drivers/virtio/virtio.ko": [],
        "kernel/drivers/virtio/virtio_ring.ko": [],
        "kernel/drivers/virtio/virtio_pci.ko": [
            "kernel/drivers/virtio/virtio_ring.ko",
            "kernel/drivers/virtio/virtio.ko",
        ],
        "kernel/drivers/block/virtio_blk.ko": [
            "kernel/drivers/virtio/virtio_ring.ko",
            "kernel/drivers/virtio/virtio.ko",
        ],
        "kernel/drivers/md/dm-mod.ko": [],
        "kernel/drivers/md/dm-flakey.ko": ["kernel/drivers/md/dm-mod.ko"],
        "kernel/drivers/scsi/scsi_common.ko": [],
        "kernel/drivers/scsi/scsi_mod.ko": ["kernel/drivers/scsi/scsi_common.ko"],
        "kernel/drivers/scsi/scsi_debug.ko": [
            "kernel/drivers/scsi/scsi_mod.ko",
            "kernel/drivers/scsi/scsi_common.ko",
        ],
        "kernel/drivers/scsi/sd_mod.ko": [
            "kernel/drivers/scsi/scsi_mod.ko",
            "kernel/drivers/scsi/scsi_common.ko",
        ],
        "kernel/drivers/block/brd.ko": [],
        "kernel/mm/zsmalloc.ko": [],
        "kernel/drivers/block/zram/zram.ko": ["kernel/mm/zsmalloc.ko"],
        "kernel/lib/crc16.ko": [],
        "kernel/crypto/crc32c_generic.ko": [],
        "kernel/fs/mbcache.ko": [],
        "kernel/fs/jbd2/jbd2.ko": [],
        "kernel/fs/ext4/ext4.ko": [
            "kernel/lib/crc16.ko",
            "kernel/fs/mbcache.ko",
            "kernel/fs/jbd2/jbd2.ko",
        ],
        "kernel/fs/unrelated.ko": [],
    }
    for rel in deps:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x7fELF fake module " + rel.encode())
    (root / "modules.dep").write_text("".join(f"{mod}: {' '.join(d)}\n" for mod, d in deps.items()))
    return root


@pytest.fixture
def fake_binaries(tmp_path: Path) -> dict[str, Path]:
    """Fake static busybox and workload binaries."""
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF static busybox")
    busybox.chmod(busybox.stat().st_mode | stat.S_IXUSR)
    memhog = tmp_path / "memhog"
    memhog.write_bytes(b"\x7fELF memhog")
    return {"/bin/busybox": busybox, "/bin/memhog": memhog}


@pytest.fixture
def newc_members() -> Callable[[bytes], dict[str, tuple[int, bytes]]]:
    """The test's own newc reader."""
    return _newc_members


@pytest.fixture
def elf_with_notes() -> Callable[[list[tuple[bytes, int, bytes]]], bytes]:
    """Build a minimal ELF64 with the given notes."""
    return _elf_with_notes
