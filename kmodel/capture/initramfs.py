"""Build the guest's initramfs: a newc cpio archive with busybox, modules and the scenarios.

The archive is written by Python (the format is 110-byte ASCII headers and 4-byte padding), so
no host ``cpio`` run is needed and the result is byte-reproducible (mtime 0).
"""

from __future__ import annotations

import stat
from pathlib import Path

import attrs

from kmodel.errors import KmodelError

#: Modules the scenarios load; their dependencies come from modules.dep.
GUEST_MODULES: tuple[str, ...] = (
    "virtio_pci",
    "virtio_blk",
    "dm-mod",
    "dm-flakey",
    "scsi_debug",
    "sd_mod",
    "brd",
    "zram",
    "crc32c_generic",  # ext4 mounts only with a crc32c driver (there is no modprobe to ask)
    "ext4",
)

#: busybox applets linked in /bin (``busybox --install`` needs /proc; links are simpler).
BUSYBOX_APPLETS: tuple[str, ...] = (
    "sh",
    "mount",
    "umount",
    "mkdir",
    "cat",
    "echo",
    "ls",
    "insmod",
    "mkswap",
    "swapon",
    "swapoff",
    "taskset",
    "grep",
    "sed",
    "sleep",
    "usleep",
    "kill",
    "dmesg",
    "tar",
    "poweroff",
    "cp",
    "wc",
    "head",
    "tail",
    "date",
    "awk",
    "readlink",
    "basename",
    "sync",
    "ln",
    "rm",
    "mknod",
    "stat",
    "rmmod",
    "tr",
    "cut",
    "seq",
    "true",
    "false",
    "test",
    "[",
    "printf",
    "find",
    "sort",
)


@attrs.frozen
class Entry:
    """One archive member: a directory, a regular file or a symlink (``target`` set)."""

    path: str
    data: bytes = b""
    mode: int = 0o644
    kind: int = stat.S_IFREG
    target: str = ""


def directory(path: str) -> Entry:
    """Return a directory entry (mode 0755)."""
    return Entry(path, mode=0o755, kind=stat.S_IFDIR)


def symlink(path: str, target: str) -> Entry:
    """Return a symlink entry pointing at *target*."""
    return Entry(path, mode=0o777, kind=stat.S_IFLNK, target=target)


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def newc_archive(entries: list[Entry]) -> bytes:
    """Return the cpio "newc" (070701) archive of *entries*, closed by a TRAILER!!! entry."""
    out = bytearray()
    for ino, entry in enumerate([*entries, Entry("TRAILER!!!", mode=0, kind=0)], start=1):
        body = entry.target.encode() if entry.kind == stat.S_IFLNK else entry.data
        name = entry.path.lstrip("/").encode() + b"\0"
        fields = (
            ino,
            entry.kind | entry.mode,
            0,
            0,
            1 if entry.kind != stat.S_IFDIR else 2,
            0,
            len(body),
            0,
            0,
            0,
            0,
            len(name),
            0,
        )
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        out += header + name + _pad4(len(header) + len(name)) + body + _pad4(len(body))
    return bytes(out)


def parse_modules_dep(text: str) -> dict[str, list[str]]:
    """Map each module path in a ``modules.dep`` text to the paths it depends on."""
    deps: dict[str, list[str]] = {}
    for line in text.splitlines():
        if ":" in line:
            mod, _, rest = line.partition(":")
            deps[mod.strip()] = rest.split()
    return deps


def module_name(path: str) -> str:
    """Return the canonical module name of a path (``dm-mod.ko`` -> ``dm_mod``)."""
    return Path(path).name.split(".ko")[0].replace("-", "_")


def load_order(deps: dict[str, list[str]], wanted: tuple[str, ...]) -> list[str]:
    """Return the module paths to insmod, dependencies first, each once."""
    by_name = {module_name(p): p for p in deps}
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in deps.get(path, []):
            visit(dep)
        order.append(path)

    for name in wanted:
        path = by_name.get(name.replace("-", "_"))
        if path is None:
            raise KmodelError(f"module {name!r} not in modules.dep (built in, or another kernel?)")
        if path.endswith((".xz", ".zst", ".gz")):
            raise KmodelError(f"module {path} is compressed; busybox insmod needs plain .ko files")
        visit(path)
    return order


#: Modules loaded by a scenario itself, with parameters (their dependencies load at boot).
SCENARIO_MODULES = frozenset({"scsi_debug", "brd", "zram", "ext4"})


def _parents(path: str) -> list[str]:
    parts = path.strip("/").split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def build(
    modules_dir: Path,
    binaries: dict[str, Path],
    files: dict[str, str],
    wanted: tuple[str, ...] = GUEST_MODULES,
) -> bytes:
    """Return the initramfs: *binaries* (guest path -> host file), modules, text *files*.

    *modules_dir* is ``lib/modules/VERSION`` with a ``modules.dep``; every module of
    :data:`GUEST_MODULES` and its dependencies goes to /mod. *files* maps guest paths to
    text (the /init script, scenario scripts), written executable. ``/bin/busybox`` must be
    among *binaries*: the applets are symlinks to it.
    """
    members: list[tuple[str, bytes]] = [(g, h.read_bytes()) for g, h in binaries.items()]
    members += [
        (f"/mod/{Path(rel).name}", (modules_dir / rel).read_bytes())
        for rel in module_files(modules_dir, wanted)
    ]
    members += [(g, text.encode()) for g, text in files.items()]
    dirs = {"dev", "proc", "sys", "tmp", "out", "bin"}
    for guest, _ in members:
        dirs.update(_parents(guest))
    entries = [directory(d) for d in sorted(dirs)]
    entries += [Entry(g.lstrip("/"), data, 0o755) for g, data in sorted(members)]
    entries += [symlink(f"bin/{applet}", "busybox") for applet in BUSYBOX_APPLETS]
    return newc_archive(entries)


def module_files(modules_dir: Path, wanted: tuple[str, ...] = GUEST_MODULES) -> list[str]:
    """Return the paths (relative to *modules_dir*) of the *wanted* modules, in load order."""
    dep_file = modules_dir / "modules.dep"
    if not dep_file.is_file():
        raise KmodelError(f"{dep_file} missing: run depmod on the extracted kernel first")
    return load_order(parse_modules_dep(dep_file.read_text()), wanted)


def boot_modules(modules_dir: Path, wanted: tuple[str, ...] = GUEST_MODULES) -> list[str]:
    """Return the guest paths of the modules /init loads, dependencies first."""
    return [
        f"/mod/{Path(rel).name}"
        for rel in module_files(modules_dir, wanted)
        if module_name(rel) not in SCENARIO_MODULES
    ]
