"""The fault-injection kernels: Debian's source, a small config, built once into the cache.

Debian's own kernels are built without ``CONFIG_FAULT_INJECTION``. This builds Debian's
``linux-source-6.1`` (6.1.176-1) with ``make tinyconfig`` plus :data:`FRAGMENT` (virtio, swap,
memcg, kprobes, ftrace, FAULT_INJECTION, FAIL_MAKE_REQUEST, FAIL_PAGE_ALLOC, FAILSLAB,
FAIL_FUNCTION), once, under ``<cache>/fi-6.1.176/``; or (:data:`SOURCE_6_12`) Debian 13's
``linux-source-6.12`` (6.12.118-1) with :data:`FRAGMENT_6_12`, under ``<cache>/fi-6.12.118/``::

    linux-source-6.1/          the extracted source (from /usr/src or apt-get download)
    build/                     make O=: .config, vmlinux, arch/x86/boot/bzImage
    build/.kmodel-fragment     hash of the fragment the .config was made from
    build/kmodel-offsets.json  the probes' struct offsets for this build

A later run only runs ``make`` (a no-op when nothing changed; incremental after a fragment
change, which re-runs the config steps). ``ccache`` is used when installed. The kprobes fetch
struct members by offset; :func:`offsets` computes them by compiling ``offsetof`` with the
build's own flags, as the kernel's asm-offsets does. The 6.12 probes name members by BTF
(:mod:`kmodel.capture.probes612`), so the 6.12 build carries BTF (``CONFIG_DEBUG_INFO_BTF``,
read from its own ``vmlinux``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from kmodel.capture.probes import Offsets
from kmodel.errors import KmodelError

#: Debian's source package the kernel is built from.
SOURCE_PACKAGE = "linux-source-6.1"
SOURCE_VERSION = "6.1.176-1"
SOURCE_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
#: Host packages the build needs (Debian 12), besides gcc and make; the 6.12 build's BTF also
#: needs pahole (dwarves).
BUILD_PACKAGES = ("build-essential", "bc", "bison", "flex", "libelf-dev", "libssl-dev")

#: The config fragment applied on top of ``make tinyconfig`` (../shared/kernel/fault-inject/
#: fi-base.config, measured working).
FRAGMENT = """\
CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_NR_CPUS=8
CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y
# CONFIG_CC_OPTIMIZE_FOR_SIZE is not set
CONFIG_KERNEL_GZIP=y
# CONFIG_KERNEL_XZ is not set
CONFIG_PREEMPT_VOLUNTARY=y
CONFIG_HZ_250=y
CONFIG_UNWINDER_ORC=y
# CONFIG_UNWINDER_GUESS is not set
CONFIG_PRINTK=y
CONFIG_BUG=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_SHMEM=y
CONFIG_TMPFS=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_FUTEX=y
CONFIG_MULTIUSER=y
CONFIG_POSIX_TIMERS=y
CONFIG_MODULES=y
CONFIG_SLUB=y
# CONFIG_SLOB is not set
CONFIG_BLOCK=y
CONFIG_SWAP=y
CONFIG_CGROUPS=y
CONFIG_MEMCG=y
CONFIG_BLK_CGROUP=y
CONFIG_CGROUP_WRITEBACK=y
CONFIG_PSI=y
CONFIG_TRANSPARENT_HUGEPAGE=y
CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS=y
CONFIG_COMPACTION=y
CONFIG_MIGRATION=y
CONFIG_LRU_GEN=y
CONFIG_MQ_IOSCHED_DEADLINE=y
CONFIG_BLK_WBT=y
CONFIG_BLK_WBT_MQ=y
CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_BLK=y
CONFIG_DEBUG_FS=y
CONFIG_KPROBES=y
CONFIG_FTRACE=y
CONFIG_FUNCTION_TRACER=y
CONFIG_DYNAMIC_FTRACE=y
CONFIG_KPROBE_EVENTS=y
CONFIG_DEBUG_KERNEL=y
CONFIG_FAULT_INJECTION=y
CONFIG_FAULT_INJECTION_DEBUG_FS=y
CONFIG_FAIL_MAKE_REQUEST=y
CONFIG_FAIL_PAGE_ALLOC=y
CONFIG_FAILSLAB=y
CONFIG_FAIL_IO_TIMEOUT=y
CONFIG_FUNCTION_ERROR_INJECTION=y
CONFIG_FAIL_FUNCTION=y
# CONFIG_RD_BZIP2 is not set
# CONFIG_RD_LZMA is not set
# CONFIG_RD_XZ is not set
# CONFIG_RD_LZO is not set
# CONFIG_RD_LZ4 is not set
# CONFIG_RD_ZSTD is not set
"""

#: The 6.12.118 fragment: the 6.1 one with each option checked against 6.12's Kconfig (all
#: exist but SLOB, removed in 6.4: tinyconfig's kernel/configs/tiny.config selects SLUB_TINY
#: instead, turned off here so that the slab is 6.1's full SLUB), plus BTF: the 6.12 probes
#: name members by BTF (CONFIG_PROBE_EVENTS_BTF_ARGS, kernel/trace/Kconfig:682-685 needs
#: DEBUG_INFO_BTF and BPF_SYSCALL; lib/Kconfig.debug:377-383, pahole >= 1.21 for DWARF 5).
#: And zswap as Debian 13's image has it (config-6.12.118+deb13-amd64: ZSWAP=y, off at boot,
#: lzo, zsmalloc; mm/Kconfig:25-46, 62-65, 128-131, 202-205; crypto/Kconfig:1137-1142), so
#: that zswap_store/zswap_load exist to probe: without it they are include/linux/zswap.h's
#: inline stubs and the 6.12 replay has no zswap answer for a swap-out or a read. Built in,
#: not modules: the capture's initramfs loads none.
FRAGMENT_6_12 = FRAGMENT.replace(
    "# CONFIG_SLOB is not set\n", "# CONFIG_SLUB_TINY is not set\n").replace(
    "CONFIG_FAIL_FUNCTION=y\n", "CONFIG_FAIL_FUNCTION=y\n"
    "CONFIG_BPF_SYSCALL=y\n"
    "CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y\n"
    "# CONFIG_DEBUG_INFO_NONE is not set\n"
    "CONFIG_DEBUG_INFO_BTF=y\n"
    "CONFIG_PROBE_EVENTS_BTF_ARGS=y\n"
    "CONFIG_CRYPTO=y\n"
    "CONFIG_CRYPTO_LZO=y\n"
    "CONFIG_ZSMALLOC=y\n"
    "CONFIG_ZSWAP=y\n"
    "# CONFIG_ZSWAP_DEFAULT_ON is not set\n"
    "CONFIG_ZSWAP_COMPRESSOR_DEFAULT_LZO=y\n"
    "CONFIG_ZSWAP_ZPOOL_DEFAULT_ZSMALLOC=y\n")


@attrs.frozen
class Source:
    """One Debian ``linux-source-X`` package a fault-injection kernel is built from."""

    package: str  # linux-source-6.1
    version: str  # Debian version, 6.1.176-1
    upstream: str  # 6.1.176
    fragment: str
    #: Directories that may already hold the source .deb (besides the cache).
    debs: tuple[Path, ...] = ()
    #: ``apt-get download`` through the 6.12 APT configuration (Debian 13's archive), not
    #: the system's sources.
    trixie: bool = False
    #: Where the installed package keeps its tarball.
    usr_src: Path = Path("/usr/src")

    @property
    def tarball(self) -> Path:
        """The installed package's tarball."""
        return self.usr_src / f"{self.package}.tar.xz"

    @property
    def deb(self) -> str:
        """The source package's file name."""
        return f"{self.package}_{self.version}_all.deb"


SOURCE_6_1 = Source(SOURCE_PACKAGE, SOURCE_VERSION, "6.1.176", FRAGMENT)
#: scripts/fetch-6.12.sh leaves the .deb in /work/k612 by default.
SOURCE_6_12 = Source("linux-source-6.12", "6.12.118-1", "6.12.118", FRAGMENT_6_12,
                     debs=(Path("/work/k612"),), trixie=True)
SOURCES = {"6.1": SOURCE_6_1, "6.12": SOURCE_6_12}

_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")

# (Offsets field, struct, member) for offsetof; the probes read these members.
_MEMBERS: tuple[tuple[str, str, str], ...] = (
    ("page_flags", "struct page", "flags"),
    ("page_private", "struct page", "private"),
    ("bio_bi_bdev", "struct bio", "bi_bdev"),
    ("bio_bi_opf", "struct bio", "bi_opf"),
    ("bio_bi_status", "struct bio", "bi_status"),
    ("bio_bi_sector", "struct bio", "bi_iter.bi_sector"),
    ("bio_bi_size", "struct bio", "bi_iter.bi_size"),
    ("bio_bi_private", "struct bio", "bi_private"),
    ("bio_bi_io_vec", "struct bio", "bi_io_vec"),
    ("bio_vec_bv_page", "struct bio_vec", "bv_page"),
    ("block_device_bd_dev", "struct block_device", "bd_dev"),
    ("vm_fault_address", "struct vm_fault", "address"),
    ("vm_fault_flags", "struct vm_fault", "flags"),
    ("vm_fault_orig_pte", "struct vm_fault", "orig_pte"),
    ("wbc_sync_mode", "struct writeback_control", "sync_mode"),
    ("swap_info_type", "struct swap_info_struct", "type"),
)
# writeback_control's bit-fields (for_kupdate, for_background, for_reclaim, ...) share the
# word after nr_to_write..sync_mode; the probe reads the word that holds them: sync_mode + 4.
_OFFSETS_C = """\
#include <linux/mm_types.h>
#include <linux/blk_types.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/writeback.h>
#include <linux/swap.h>
#define KMOFF(name, type, member) \\
	asm volatile("\\n.ascii \\"->KMOFF " #name " %c0\\"" : : "i" (offsetof(type, member)))
void kmodel_offsets(void);
void kmodel_offsets(void)
{
"""


@attrs.frozen
class FiKernel:
    """A built fault-injection kernel: where its files are and how long the build took."""

    source: Path
    build: Path
    bzimage: Path
    build_seconds: float  # of this run's make (a no-op make when nothing changed)
    configured: bool  # this run (re)made the .config
    spec: Source = SOURCE_6_1

    @property
    def label(self) -> str:
        """What traces and logs name the kernel by."""
        return f"{self.spec.package} {self.spec.version} tinyconfig+fi-base (fault injection)"

    @property
    def vmlinux(self) -> Path:
        """The uncompressed ELF of this build."""
        return self.build / "vmlinux"


def root(cache: Path, spec: Source = SOURCE_6_1) -> Path:
    """The cache directory of the fault-injection kernel."""
    return cache / f"fi-{spec.upstream}"


def fragment_hash(fragment: str = FRAGMENT) -> str:
    """The fragment's hash, stamped next to the .config made from it."""
    return hashlib.sha256(fragment.encode()).hexdigest()


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _download(top: Path, spec: Source) -> subprocess.CompletedProcess[str]:
    """``apt-get download`` of the source package into *top* (6.12: Debian 13's archive
    through kernel612's separate APT configuration; the system's sources are not touched)."""
    cmd = ["apt-get", "download", f"{spec.package}={spec.version}"]
    if not spec.trixie:
        return _run(cmd, cwd=top)
    from kmodel.capture import kernel612

    env = {**os.environ, "APT_CONFIG": str(kernel612.apt_config(top.parent))}
    res = _run(cmd, cwd=top, env=env)
    if res.returncode != 0:
        _run(["apt-get", "-q", "update"], env=env)
        res = _run(cmd, cwd=top, env=env)
    return res


def _tarball(top: Path, spec: Source = SOURCE_6_1) -> Path:
    """Debian's source tarball: /usr/src's, else from the .deb (a known directory's, or
    ``apt-get download`` into the cache)."""
    if spec.tarball.is_file():
        return spec.tarball
    tarball = top / spec.tarball.name
    if tarball.is_file():
        return tarball
    deb = next((d / spec.deb for d in spec.debs if (d / spec.deb).is_file()), top / spec.deb)
    if not deb.is_file():
        res = _download(top, spec)
        if res.returncode != 0 or not deb.is_file():
            where = ("Debian 13 (trixie) main; scripts/fetch-6.12.sh fetches it" if spec.trixie
                     else "Debian 12 main")
            raise KmodelError(
                f"no {spec.tarball} and apt-get download {spec.package}={spec.version} "
                f"failed: {_tail(res.stderr, 3)}\nFix: apt-get install "
                f"{spec.package}={spec.version} ({where}), then retry."
            )
    res = _run(["dpkg-deb", "-x", str(deb), str(top / "deb")])
    if res.returncode != 0:
        raise KmodelError(f"dpkg-deb -x {deb} failed: {_tail(res.stderr, 3)}")
    shutil.move(top / "deb" / "usr" / "src" / spec.tarball.name, tarball)
    shutil.rmtree(top / "deb", ignore_errors=True)
    return tarball


def source(cache: Path, spec: Source = SOURCE_6_1) -> Path:
    """The extracted source tree in the cache (extracted once)."""
    top = root(cache, spec)
    src = top / spec.package
    if (src / "Makefile").is_file():
        return src
    top.mkdir(parents=True, exist_ok=True)
    tarball = _tarball(top, spec)
    partial = top / "extract.part"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    res = _run(["tar", "-xJf", str(tarball), "-C", str(partial)])
    if res.returncode != 0:
        raise KmodelError(f"tar -xJf {tarball} failed: {_tail(res.stderr, 3)}")
    (partial / spec.package).replace(src)
    partial.rmdir()
    version = dict(re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)$",
                              (src / "Makefile").read_text(), re.M))
    got = f"{version.get('VERSION')}.{version.get('PATCHLEVEL')}.{version.get('SUBLEVEL')}"
    if got != spec.upstream:
        raise KmodelError(f"{tarball} is Linux {got}, not {spec.upstream}")
    return src


def missing_options(config: str, fragment: str = FRAGMENT) -> list[str]:
    """The fragment's lines that the final .config does not carry (olddefconfig dropped them)."""
    have: dict[str, str] = {}
    for line in config.splitlines():
        if m := _SET.match(line):
            have[m.group(1)] = m.group(2)
        elif m := _UNSET.match(line):
            have[m.group(1)] = "n"
    missing = []
    for line in fragment.splitlines():
        if m := _SET.match(line):
            if have.get(m.group(1)) != m.group(2):
                missing.append(line)
        elif (m := _UNSET.match(line)) and have.get(m.group(1), "n") != "n":
            missing.append(line)
    return missing


def configure(src: Path, out: Path, fragment: str = FRAGMENT) -> bool:
    """Make ``out/.config`` from tinyconfig + *fragment* unless it was made from this fragment.

    Returns whether the config steps ran.
    """
    stamp = out / ".kmodel-fragment"
    digest = fragment_hash(fragment)
    if (out / ".config").is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    out.mkdir(parents=True, exist_ok=True)
    frag = out / "kmodel-fi.config"
    frag.write_text(fragment)
    steps = [
        ["make", "-C", str(src), f"O={out}", "tinyconfig"],
        [str(src / "scripts" / "kconfig" / "merge_config.sh"), "-m", "-O", str(out),
         str(out / ".config"), str(frag)],
        ["make", "-C", str(src), f"O={out}", "olddefconfig"],
    ]
    for cmd in steps:
        res = _run(cmd)
        if res.returncode != 0:
            raise KmodelError(f"{shlex.join(cmd)} failed:\n{_tail(res.stdout + res.stderr)}")
    lost = missing_options((out / ".config").read_text(), fragment)
    if lost:
        raise KmodelError("the fault-injection config lost these options in olddefconfig "
                          "(a dependency is missing from the fragment): " + ", ".join(lost))
    stamp.write_text(digest + "\n")
    return True


def compiler() -> str:
    """``ccache gcc`` when ccache is installed, else ``gcc``."""
    return "ccache gcc" if shutil.which("ccache") else "gcc"


def build(cache: Path, jobs: int = 0, say: Callable[[str], None] = lambda _: None,
          spec: Source = SOURCE_6_1) -> FiKernel:
    """Extract, configure (when needed) and ``make bzImage``; return the kernel."""
    tools = ("make", "gcc", "bison", "flex", "bc") + (("pahole",) if "BTF=y" in spec.fragment
                                                      else ())
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        extra = " dwarves" if "pahole" in missing else ""
        raise KmodelError(f"building the fault-injection kernel needs {', '.join(missing)}. "
                          f"Fix: apt-get install {' '.join(BUILD_PACKAGES)}{extra}")
    src = source(cache, spec)
    out = root(cache, spec) / "build"
    configured = configure(src, out, spec.fragment)
    jobs = jobs or os.cpu_count() or 1
    say(f"make -j{jobs} bzImage in {out} (CC={compiler()}; a clean build takes minutes)")
    t0 = time.monotonic()
    cmd = ["make", "-C", str(src), f"O={out}", f"CC={compiler()}", f"-j{jobs}", "bzImage"]
    res = _run(cmd)
    seconds = time.monotonic() - t0
    (out / "kmodel-build.log").write_text(res.stdout + res.stderr)
    bzimage = out / "arch" / "x86" / "boot" / "bzImage"
    if res.returncode != 0 or not bzimage.is_file():
        raise KmodelError(f"{shlex.join(cmd)} failed (log: {out / 'kmodel-build.log'}):\n"
                          + _tail(res.stdout + res.stderr))
    return FiKernel(src, out, bzimage, seconds, configured, spec)


def _compile_command(kernel: FiKernel, c_file: Path, asm: Path) -> list[str]:
    """The build's own gcc command for mm/page_io.c, made to compile *c_file* to assembly."""
    cmd_file = kernel.build / "mm" / ".page_io.o.cmd"
    first = cmd_file.read_text().splitlines()[0]
    command = first.split(":=", 1)[1].split(";")[0]
    argv = shlex.split(command)
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "-o":
            skip = True
            continue
        if arg.startswith("-Wp,-MMD") or arg == "-c" or arg.endswith("page_io.c"):
            continue
        out.append(arg)
    return [*out, "-S", "-o", str(asm), str(c_file)]


def offsets(kernel: FiKernel) -> Offsets:
    """The probes' struct offsets for this build, by compiling ``offsetof`` (cached)."""
    config_hash = hashlib.sha256((kernel.build / ".config").read_bytes()).hexdigest()
    cached = kernel.build / "kmodel-offsets.json"
    if cached.is_file():
        data = json.loads(cached.read_text())
        if data.get("config") == config_hash:
            return Offsets(**data["offsets"])
    c_file = kernel.build / "kmodel_offsets.c"
    body = "".join(f"\tKMOFF({field}, {struct}, {member});\n" for field, struct, member in _MEMBERS)
    c_file.write_text(_OFFSETS_C + body + "}\n")
    asm = kernel.build / "kmodel_offsets.s"
    res = _run(_compile_command(kernel, c_file, asm), cwd=kernel.build)
    if res.returncode != 0:
        raise KmodelError(f"compiling the offsets of the probed structs failed:\n"
                          f"{_tail(res.stderr)}")
    values = {m.group(1): int(m.group(2))
              for m in re.finditer(r"->KMOFF (\w+) (\d+)", asm.read_text())}
    values["wbc_bits"] = values["wbc_sync_mode"] + 4
    found = Offsets(**values)
    cached.write_text(json.dumps({"config": config_hash, "offsets": attrs.asdict(found)}))
    return found
