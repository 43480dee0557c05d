"""Fetch and prepare the Debian 6.1 kernel in the cache: .deb, extracted tree, vmlinux.

Layout under the cache directory::

    linux-image-<abi>_<version>_amd64.deb
    <version>/root/...             dpkg-deb -x of the package, with modules.dep from depmod
    <version>/vmlinux              uncompressed ELF, booted via its PVH entry
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import attrs

from kmodel.capture.vmlinux import extract_vmlinux, has_pvh_entry
from kmodel.errors import KmodelError

#: The kernel the model targets.
PACKAGE = "linux-image-6.1.0-50-amd64"
VERSION = "6.1.176-1"


@attrs.frozen
class Kernel:
    """A prepared kernel: package, version, ABI release and the files a boot needs."""

    package: str
    version: str
    vmlinux: Path
    modules_dir: Path

    @property
    def release(self) -> str:
        """The ``uname -r`` string, e.g. ``6.1.0-50-amd64``."""
        return self.package.removeprefix("linux-image-")

    @property
    def label(self) -> str:
        """Package and version, as written into every trace header and log."""
        return f"{self.package} {self.version}"


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def newest_6_1_image() -> tuple[str, str]:
    """Return (package, version) of the newest 6.1 image apt knows (linux-image-amd64's)."""
    res = _run(["apt-cache", "show", "--no-all-versions", "linux-image-amd64"])
    match = re.search(
        r"Depends:.*?(linux-image-6\.1\.[\w.-]+-amd64) \(= (6\.1\.[^)]+)\)", res.stdout
    )
    if res.returncode != 0 or match is None:
        raise KmodelError(
            f"cannot download {PACKAGE}={VERSION} and apt knows no other 6.1 image "
            "(linux-image-amd64). Fix: run 'apt-get update' with a Debian 12 (bookworm) "
            "main source configured, then retry."
        )
    return match.group(1), match.group(2)


def _deb(cache: Path, package: str, version: str) -> Path:
    # apt-get download's file name: an epoch's ':' becomes '%3a'.
    return cache / f"{package}_{version.replace(':', '%3a')}_amd64.deb"


def _apt_download(cache: Path, package: str, version: str) -> bool:
    if _deb(cache, package, version).is_file():
        return True
    res = _run(["apt-get", "download", f"{package}={version}"], cwd=cache)
    return res.returncode == 0 and _deb(cache, package, version).is_file()


def download(cache: Path) -> tuple[str, str, Path]:
    """Download the target image (or the newest 6.1 one) into *cache*; return it."""
    package, version = PACKAGE, VERSION
    ok = _apt_download(cache, package, version)
    if not ok and os.geteuid() == 0:
        _run(["apt-get", "update", "-q"])  # stale or missing package lists
        ok = _apt_download(cache, package, version)
    if not ok:
        package, version = newest_6_1_image()
        if not _apt_download(cache, package, version):
            raise KmodelError(
                f"apt-get download {package}={version} failed (also {PACKAGE}={VERSION}).\n"
                "Fix: check network access to the Debian mirror and run 'apt-get update'."
            )
    return package, version, _deb(cache, package, version)


def prepare(cache: Path) -> Kernel:
    """Return the prepared kernel, downloading and extracting what the cache lacks."""
    cache.mkdir(parents=True, exist_ok=True)
    package, version, deb = download(cache)
    release = package.removeprefix("linux-image-")
    top = cache / version
    root = top / "root"
    modules_dir = root / "lib" / "modules" / release
    if not (modules_dir / "modules.dep").is_file():
        root.mkdir(parents=True, exist_ok=True)
        res = _run(["dpkg-deb", "-x", str(deb), str(root)])
        if res.returncode != 0:
            raise KmodelError(f"dpkg-deb -x {deb} failed: {res.stderr.strip()}")
        res = _run(["depmod", "-b", str(root), release])
        if res.returncode != 0:
            raise KmodelError(f"depmod -b {root} {release} failed: {res.stderr.strip()}")
    vmlinux = top / "vmlinux"
    if not vmlinux.is_file():
        elf = extract_vmlinux((root / "boot" / f"vmlinuz-{release}").read_bytes())
        if not has_pvh_entry(elf):
            raise KmodelError(f"{package} {version}: vmlinux has no PVH entry (CONFIG_PVH off)")
        tmp = vmlinux.with_suffix(".tmp")
        tmp.write_bytes(elf)
        tmp.replace(vmlinux)
    return Kernel(package, version, vmlinux, modules_dir)
