"""Host tools a capture needs, and the one message that says what is missing."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import attrs

from kmodel.errors import KmodelError

SETUP_COMMAND = "sudo scripts/setup-capture.sh"


@attrs.frozen
class Tool:
    """A program (or Python module) the harness runs, and the Debian package that has it."""

    name: str
    package: str
    paths: tuple[str, ...] = ()  # absolute paths to try when it is not on $PATH


TOOLS: tuple[Tool, ...] = (
    Tool("qemu-system-x86_64", "qemu-system-x86"),
    Tool("busybox", "busybox-static", ("/bin/busybox", "/usr/bin/busybox")),
    Tool("depmod", "kmod", ("/sbin/depmod", "/usr/sbin/depmod")),
    Tool("gcc", "gcc"),
    Tool("dmsetup", "dmsetup", ("/sbin/dmsetup", "/usr/sbin/dmsetup")),
    Tool("dpkg-deb", "dpkg"),
    Tool("apt-get", "apt"),
    Tool("ldd", "libc-bin"),
    Tool("mkfs.ext4", "e2fsprogs", ("/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4")),
    Tool("debugfs", "e2fsprogs", ("/sbin/debugfs", "/usr/sbin/debugfs")),
)

#: Files that must exist besides the programs: (path, package).
FILES: tuple[tuple[str, str], ...] = (("/usr/include/stdio.h", "libc6-dev"),)


def _exists(path: str) -> bool:
    return Path(path).exists()


def find_tool(
    tool: Tool,
    which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = _exists,
) -> str | None:
    """Return the path of *tool*, or None when it is not installed."""
    found = which(tool.name)
    if found:
        return found
    return next((p for p in tool.paths if exists(p)), None)


def missing_packages(
    which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = _exists,
    has_lzma: bool | None = None,
) -> list[tuple[str, str]]:
    """Return (what is missing, Debian package that provides it) for every missing tool."""
    missing = [(t.name, t.package) for t in TOOLS if find_tool(t, which, exists) is None]
    missing += [(path, pkg) for path, pkg in FILES if not exists(path)]
    if has_lzma is None:
        has_lzma = importlib.util.find_spec("lzma") is not None
    if not has_lzma:
        missing.append(("python lzma module", "python3 (built with liblzma: liblzma-dev)"))
    busybox = find_tool(TOOLS[1], which, exists)
    if busybox is not None and not _busybox_is_static(busybox):
        missing.append(("a static busybox", "busybox-static"))
    return missing


def _busybox_is_static(path: str) -> bool:
    # A dynamic busybox has a PT_INTERP naming the loader; the static one has none.
    try:
        head = Path(path).read_bytes()[:4096]
    except OSError:
        return False
    return b"/lib64/ld-linux" not in head


def missing_message(missing: list[tuple[str, str]]) -> str:
    """Return the user-facing text for *missing*: what is absent and the command to fix it."""
    lines = ["missing host tools:"]
    lines += [f"  - {what} (package {pkg})" for what, pkg in missing]
    packages = sorted({pkg.split()[0] for _, pkg in missing})
    lines.append("install them with:")
    lines.append(f"  {SETUP_COMMAND}")
    lines.append("or directly:")
    lines.append(f"  sudo apt-get install -y --no-install-recommends {' '.join(packages)}")
    return "\n".join(lines)


def require_tools() -> None:
    """Raise KmodelError naming every missing tool and the install command."""
    missing = missing_packages()
    if missing:
        raise KmodelError(missing_message(missing))
