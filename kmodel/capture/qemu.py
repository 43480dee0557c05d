"""The QEMU side of a capture: disk images and the command line.

Disks are virtio-blk PCI devices named by serial (the guest finds them under
/sys/block/vd*/serial): ``ktswap`` the swap disk, ``ktout`` the results disk, and two blkdebug
disks, ``ktrerr`` failing reads and ``ktwerr`` failing writes of fixed sectors, and ``ktfs``, the
ext4 disk with a fragmented swap file (:mod:`kmodel.capture.fsimage`). Swap disks have one queue
(``num-queues=1``) so one IRQ carries every completion.
"""

from __future__ import annotations

from pathlib import Path

from kmodel.capture import fsimage
from kmodel.capture.hosttools import TOOLS, find_tool
from kmodel.capture.scenarios import BLKDEBUG_RULES, blkdebug_config

SWAP_DISK_MIB = 64
RESULTS_DISK_MIB = 128
KERNEL_CMDLINE = "console=ttyS0 loglevel=4 panic=-1 rdinit=/init"


def make_disk(path: Path, mib: int) -> None:
    """Create (or truncate) a sparse raw image of *mib* MiB."""
    with path.open("wb") as f:
        f.truncate(mib * 1024 * 1024)


def _virtio(drive_id: str, drive: str, serial: str) -> list[str]:
    return [
        "-drive",
        f"if=none,id={drive_id},{drive},format=raw,cache=unsafe",
        "-device",
        f"virtio-blk-pci,drive={drive_id},num-queues=1,serial={serial}",
    ]


def command(work: Path, vmlinux: Path, initramfs: Path, accel: str = "tcg") -> list[str]:
    """Return the qemu-system-x86_64 argv; create the disk images and blkdebug configs in *work*."""
    make_disk(work / "swap.img", SWAP_DISK_MIB)
    make_disk(work / "out.img", RESULTS_DISK_MIB)
    argv = [
        "qemu-system-x86_64",
        "-accel",
        accel,
        "-m",
        "512M",
        "-smp",
        "2",
        "-display",
        "none",
        "-monitor",
        "none",
        "-no-reboot",
        "-serial",
        f"file:{work / 'console.log'}",
        "-kernel",
        str(vmlinux),
        "-initrd",
        str(initramfs),
        "-append",
        KERNEL_CMDLINE,
    ]
    argv += _virtio("swap", f"file={work / 'swap.img'}", "ktswap")
    argv += _virtio("out", f"file={work / 'out.img'}", "ktout")
    for serial, (iotype, start, count) in BLKDEBUG_RULES.items():
        conf = work / f"{serial}.blkdebug.conf"
        conf.write_text(blkdebug_config(iotype, start, count))
        img = work / f"{serial}.img"
        make_disk(img, SWAP_DISK_MIB)
        argv += _virtio(serial, f"file=blkdebug:{conf}:{img}", serial)
    tools = {t.name: find_tool(t) or t.name for t in TOOLS}
    fsimage.build(work / "fs.img", tools["mkfs.ext4"], tools["debugfs"])
    argv += _virtio("fs", f"file={work / 'fs.img'}", "ktfs")
    return argv
