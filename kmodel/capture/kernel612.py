"""Fetch and prepare Debian 13's Linux 6.12.118 image in the capture cache.

Debian 12 has no 6.12 image, so the package comes through a separate APT configuration under
the cache (its own sources list with the trixie and trixie-security suites, its own lists and
package cache; Debian 12's archive keyring holds the trixie keys): the system's sources are
never touched (as ``scripts/fetch-6.12.sh`` does). Layout under the cache directory::

    apt612/apt.conf, sources.list, lists/, cache/     the separate APT state
    linux-image-6.12.118+deb13-amd64_6.12.118-1_amd64.deb
    6.12.118-1/root/boot, root/usr/lib/modules/...       the image's /boot and modules (.ko.xz)
    6.12.118-1/mods/lib/modules/<release>/               the guest's modules, decompressed,
                                                         and a modules.dep naming them as .ko
    6.12.118-1/vmlinux                                    uncompressed ELF (PVH entry, .BTF)

Differences from 6.1 that the preparation handles: the modules are ``.ko.xz`` (busybox
``insmod`` reads plain ``.ko`` only: they are decompressed on the host), they live under
``/usr/lib/modules``, the bzImage's payload is zstd (not xz), and ``virtio_pci`` is built in.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import subprocess
from pathlib import Path

from kmodel.capture import initramfs
from kmodel.capture.kernel import Kernel
from kmodel.capture.vmlinux import ELF_MAGIC, has_pvh_entry
from kmodel.errors import KmodelError

PACKAGE = "linux-image-6.12.118+deb13-amd64"
VERSION = "6.12.118-1"
#: The kernel release as ``uname -r`` prints it and as the trace header's ``# kernel:`` names it.
RELEASE = PACKAGE.removeprefix("linux-image-")
UPSTREAM = "6.12.118"

MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

#: Modules the 6.12 guest loads (virtio_pci is built in: CONFIG_VIRTIO_PCI=y), dependencies from
#: modules.dep. crc32c_generic: ext4 needs a crc32c driver and there is no modprobe to ask.
GUEST_MODULES: tuple[str, ...] = (
    "virtio_blk",
    "dm-mod",
    "dm-flakey",
    "scsi_debug",
    "sd_mod",
    "brd",
    "zram",
    "crc32c_generic",
    "ext4",
)

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _run(
    cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def apt_config(cache: Path) -> Path:
    """Write the separate APT configuration under *cache*/apt612; return its apt.conf.

    Only ``APT_CONFIG`` points apt at it: /etc/apt/sources.list(.d) are not read or changed.
    """
    top = cache / "apt612"
    for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    (top / "sources.list").write_text(
        f"deb [signed-by={KEYRING}] {MIRROR} trixie main\n"
        f"deb [signed-by={KEYRING}] {SECURITY} trixie-security main\n"
    )
    conf = top / "apt.conf"
    conf.write_text(
        f'Dir::Etc::sourcelist "{top / "sources.list"}";\n'
        f'Dir::Etc::sourceparts "{top / "sources.list.d"}";\n'
        f'Dir::State::Lists "{top / "lists"}";\n'
        f'Dir::Cache "{top / "cache"}";\n'
        'Dir::Cache::pkgcache "";\n'
        'Dir::Cache::srcpkgcache "";\n'
    )
    return conf


def deb_path(cache: Path) -> Path:
    """Where ``apt-get download`` leaves the image package in *cache*."""
    return cache / f"{PACKAGE}_{VERSION}_amd64.deb"


def download(cache: Path) -> Path:
    """Download the 6.12.118 image into *cache* through the separate APT configuration."""
    deb = deb_path(cache)
    if deb.is_file():
        return deb
    env = {**os.environ, "APT_CONFIG": str(apt_config(cache))}
    res = _run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=cache, env=env)
    if res.returncode != 0 or not deb.is_file():
        update = _run(["apt-get", "-q", "update"], env=env)
        res = _run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=cache, env=env)
        if res.returncode != 0 or not deb.is_file():
            raise KmodelError(
                f"apt-get download {PACKAGE}={VERSION} failed through {env['APT_CONFIG']} "
                f"(trixie and trixie-security of {MIRROR}):\n"
                f"{(update.stderr + res.stderr).strip()[-800:]}\n"
                "Fix: check network access to the Debian mirror (apt-get update with that "
                "APT_CONFIG must succeed), or place the .deb in the cache directory."
            )
    return deb


def extract_vmlinux_zstd(bzimage: bytes) -> bytes:
    """Return the zstd-compressed ELF vmlinux inside a 6.12 bzImage (``zstd -d`` on the host)."""
    if shutil.which("zstd") is None:
        raise KmodelError("zstd is missing (the 6.12 vmlinuz is zstd-compressed). Fix: "
                          "apt-get install zstd, or sudo scripts/setup-capture.sh")
    start = bzimage.find(ZSTD_MAGIC)
    while start >= 0:
        res = subprocess.run(
            ["zstd", "-d", "-c", "-q"], input=bzimage[start:], capture_output=True, check=False
        )
        # zstd stops with an error at the trailing bytes after the frame but has written it.
        if res.stdout.startswith(ELF_MAGIC):
            return res.stdout
        start = bzimage.find(ZSTD_MAGIC, start + 1)
    raise KmodelError("no zstd-compressed ELF vmlinux found in the 6.12 kernel image")


def guest_modules_dir(root: Path, out: Path) -> Path:
    """Decompress the guest modules and their dependencies from *root*; return the modules dir.

    *root* is the unpacked package with ``usr/lib/modules/<release>/modules.dep`` (from depmod);
    the result ``out/lib/modules/<release>`` holds each needed module as a plain ``.ko`` at the
    same relative path and a ``modules.dep`` of those lines with ``.ko.xz`` renamed ``.ko``.
    """
    src = root / "usr" / "lib" / "modules" / RELEASE
    dst = out / "lib" / "modules" / RELEASE
    deps = initramfs.parse_modules_dep((src / "modules.dep").read_text())
    plain = {k.removesuffix(".xz"): [d.removesuffix(".xz") for d in v] for k, v in deps.items()}
    needed = initramfs.load_order(plain, GUEST_MODULES)
    for rel in needed:
        target = dst / rel
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(lzma.decompress((src / f"{rel}.xz").read_bytes()))
            tmp.replace(target)
    lines = [f"{rel}: {' '.join(plain[rel])}".rstrip() for rel in needed]
    (dst / "modules.dep").write_text("\n".join(lines) + "\n")
    return dst


def prepare(cache: Path) -> Kernel:
    """Return the prepared 6.12 kernel, downloading and unpacking what the cache lacks."""
    cache.mkdir(parents=True, exist_ok=True)
    deb = download(cache)
    top = cache / VERSION
    root = top / "root"
    dep = root / "usr" / "lib" / "modules" / RELEASE / "modules.dep"
    if not dep.is_file():
        root.mkdir(parents=True, exist_ok=True)
        res = _run(["dpkg-deb", "-x", str(deb), str(root)])
        if res.returncode != 0:
            raise KmodelError(f"dpkg-deb -x {deb} failed: {res.stderr.strip()}")
        # depmod -b looks in BASE/lib/modules; the package has them in usr/lib/modules.
        link = root / "lib"
        if not link.exists():
            link.symlink_to("usr/lib")
        res = _run(["depmod", "-b", str(root), RELEASE])
        if res.returncode != 0 or not dep.is_file():
            raise KmodelError(f"depmod -b {root} {RELEASE} failed: {res.stderr.strip()}")
    modules_dir = guest_modules_dir(root, top / "mods")
    vmlinux = top / "vmlinux"
    if not vmlinux.is_file():
        elf = extract_vmlinux_zstd((root / "boot" / f"vmlinuz-{RELEASE}").read_bytes())
        if not has_pvh_entry(elf):
            raise KmodelError(f"{PACKAGE} {VERSION}: vmlinux has no PVH entry (CONFIG_PVH off)")
        tmp = vmlinux.with_suffix(".tmp")
        tmp.write_bytes(elf)
        tmp.replace(vmlinux)
    return Kernel(PACKAGE, VERSION, vmlinux, modules_dir)


def release_of(label: str) -> str:
    """The upstream version (``6.12.118``) of a package version such as ``6.12.118-1``."""
    match = re.match(r"(\d+\.\d+\.\d+)", label)
    return match.group(1) if match else label
