"""The fault-injection kernel build (kmodel.capture.fikernel), without building it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import attrs
import pytest

from kmodel.capture import fikernel
from kmodel.errors import KmodelError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "kernel" / "fault-inject"


def _config(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_missing_options_names_what_olddefconfig_dropped() -> None:
    fragment = _config("CONFIG_SWAP=y", "CONFIG_NR_CPUS=8", "# CONFIG_SLOB is not set",
                       "CONFIG_FAIL_FUNCTION=y")
    config = _config("CONFIG_SWAP=y", "CONFIG_NR_CPUS=4", "CONFIG_SLOB=y")
    assert fikernel.missing_options(config, fragment) == [
        "CONFIG_NR_CPUS=8", "# CONFIG_SLOB is not set", "CONFIG_FAIL_FUNCTION=y"]
    kept = _config("CONFIG_SWAP=y", "CONFIG_NR_CPUS=8", "# CONFIG_SLOB is not set",
                   "CONFIG_FAIL_FUNCTION=y")
    assert fikernel.missing_options(kept, fragment) == []


def test_fragment_turns_on_every_fault_injection_knob_the_scenarios_use() -> None:
    options = set(re.findall(r"^(CONFIG_\w+)=y$", fikernel.FRAGMENT, re.M))
    assert {"CONFIG_FAULT_INJECTION", "CONFIG_FAULT_INJECTION_DEBUG_FS",
            "CONFIG_FAIL_MAKE_REQUEST", "CONFIG_FAIL_PAGE_ALLOC", "CONFIG_FAIL_FUNCTION",
            "CONFIG_FUNCTION_ERROR_INJECTION", "CONFIG_KPROBE_EVENTS", "CONFIG_SWAP",
            "CONFIG_MEMCG", "CONFIG_VIRTIO_BLK"} <= options


@pytest.mark.skipif(not (SHARED / "fi-base.config").is_file(), reason="no shared/ beside the repo")
def test_fragment_is_the_measured_one() -> None:
    """The embedded fragment carries exactly the option lines of shared fi-base.config."""
    def options(text: str) -> list[str]:
        return [ln for ln in text.splitlines()
                if ln.startswith("CONFIG_") or re.match(r"# CONFIG_\w+ is not set$", ln)]

    assert options(fikernel.FRAGMENT) == options((SHARED / "fi-base.config").read_text())


def test_configure_keeps_a_config_made_from_the_same_fragment(tmp_path: Path) -> None:
    """No make run (the source dir does not even exist): the stamp matches."""
    out = tmp_path / "build"
    out.mkdir()
    (out / ".config").write_text("CONFIG_SWAP=y\n")
    (out / ".kmodel-fragment").write_text(fikernel.fragment_hash() + "\n")
    assert fikernel.configure(tmp_path / "no-source", out) is False


def test_a_changed_fragment_reconfigures(tmp_path: Path) -> None:
    out = tmp_path / "build"
    out.mkdir()
    (out / ".config").write_text("CONFIG_SWAP=y\n")
    (out / ".kmodel-fragment").write_text(fikernel.fragment_hash("CONFIG_OLD=y\n") + "\n")
    with pytest.raises(KmodelError, match="tinyconfig failed"):
        fikernel.configure(tmp_path / "no-source", out)  # make tinyconfig runs, and fails


def test_compile_command_is_the_builds_own_gcc_line_made_to_emit_assembly(
        tmp_path: Path) -> None:
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / ".page_io.o.cmd").write_text(
        "cmd_mm/page_io.o := ccache gcc -Wp,-MMD,mm/.page_io.o.d -nostdinc -I./include "
        "-DKBUILD_MODFILE='\"mm/page_io\"' -O2 -c -o mm/page_io.o /src/mm/page_io.c   ; "
        "./tools/objtool/objtool --orc mm/page_io.o\n\nsource_mm/page_io.o := /src/x.c\n")
    kernel = fikernel.FiKernel(tmp_path / "src", tmp_path, tmp_path / "bz", 0.0, False)
    argv = fikernel._compile_command(kernel, tmp_path / "o.c", tmp_path / "o.s")
    assert argv == ["ccache", "gcc", "-nostdinc", "-I./include",
                    '-DKBUILD_MODFILE="mm/page_io"', "-O2", "-S", "-o", str(tmp_path / "o.s"),
                    str(tmp_path / "o.c")]


def test_compiler_prefers_ccache() -> None:
    assert fikernel.compiler() == ("ccache gcc" if shutil.which("ccache") else "gcc")


_BUILT = fikernel.root(Path.home() / ".cache" / "kmodel") / "build"


@pytest.mark.skipif(not (_BUILT / "mm" / ".page_io.o.cmd").is_file(),
                    reason="the fault-injection kernel is not built in ~/.cache/kmodel")
def test_offsets_of_the_built_kernel(tmp_path: Path) -> None:
    """offsetof compiled with the build's flags; this config has no blk-crypto/integrity in
    struct bio, so bi_io_vec sits 16 bytes before Debian's."""
    from kmodel.capture.probes import DEBIAN_6_1_176

    kernel = fikernel.FiKernel(_BUILT.parent / "linux-source-6.1", _BUILT,
                               _BUILT / "arch/x86/boot/bzImage", 0.0, False)
    (_BUILT / "kmodel-offsets.json").unlink(missing_ok=True)
    off = fikernel.offsets(kernel)
    assert off.bio_bi_io_vec == 96 and DEBIAN_6_1_176.bio_bi_io_vec == 112
    assert off.bio_bi_status == 24 and off.bio_bi_sector == 32 and off.page_private == 40
    assert fikernel.offsets(kernel) == off  # from kmodel-offsets.json now
    res = subprocess.run(["grep", "-c", "KMOFF", str(_BUILT / "kmodel_offsets.s")],
                         capture_output=True, text=True, check=False)
    assert int(res.stdout) >= 16


def test_without_usr_src_the_source_package_is_downloaded_and_unpacked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No /usr/src tarball: apt-get download of linux-source-6.1=6.1.176-1 into the cache,
    dpkg-deb -x, the tarball moved next to it (fake apt-get and dpkg-deb on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(
        '#!/bin/sh\necho "$@" > apt.args\ntouch linux-source-6.1_6.1.176-1_all.deb\n')
    (bin_dir / "dpkg-deb").write_text(
        '#!/bin/sh\nmkdir -p "$3/usr/src" && echo tarball > "$3/usr/src/linux-source-6.1.tar.xz"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    spec = attrs.evolve(fikernel.SOURCE_6_1, usr_src=tmp_path / "none")
    top = tmp_path / "cache"
    top.mkdir()
    tarball = fikernel._tarball(top, spec)
    assert tarball == top / "linux-source-6.1.tar.xz" and tarball.read_text() == "tarball\n"
    assert (top / "apt.args").read_text() == "download linux-source-6.1=6.1.176-1\n"
    assert not (top / "deb").exists()


def test_a_failed_download_says_what_to_install(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text("#!/bin/sh\necho 'E: no such version' >&2\nexit 100\n")
    (bin_dir / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    spec = attrs.evolve(fikernel.SOURCE_6_1, usr_src=tmp_path / "none")
    with pytest.raises(KmodelError, match=r"(?s)E: no such version.*apt-get install "
                                          r"linux-source-6\.1=6\.1\.176-1"):
        fikernel._tarball(tmp_path, spec)


K612 = Path("/work/k612/src")


def test_the_6_12_fragment_is_6_1s_with_slub_tiny_off_and_btf() -> None:
    """Every option the 6.12 fragment sets or unsets exists in 6.12's Kconfig; the 6.1
    fragment's options are all kept but SLOB (gone since 6.4), and BTF and zswap are added."""
    def names(fragment: str) -> set[str]:
        return set(re.findall(r"CONFIG_(\w+)", fragment))

    six_one, six_twelve = names(fikernel.FRAGMENT), names(fikernel.FRAGMENT_6_12)
    assert six_one - six_twelve == {"SLOB"}
    assert six_twelve - six_one == {"SLUB_TINY", "BPF_SYSCALL", "DEBUG_INFO_NONE",
                                    "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT", "DEBUG_INFO_BTF",
                                    "PROBE_EVENTS_BTF_ARGS", "CRYPTO", "CRYPTO_LZO", "ZSMALLOC",
                                    "ZSWAP", "ZSWAP_DEFAULT_ON", "ZSWAP_COMPRESSOR_DEFAULT_LZO",
                                    "ZSWAP_ZPOOL_DEFAULT_ZSMALLOC"}
    if not (K612 / "Kconfig").is_file():
        pytest.skip(f"no 6.12 source tree at {K612} (scripts/fetch-6.12.sh)")
    res = subprocess.run(["grep", "-rhoE", r"^\s*(menu)?config\s+\w+", "--include=Kconfig*",
                          str(K612)], capture_output=True, text=True, check=False)
    declared = {line.split()[-1] for line in res.stdout.splitlines()}
    assert "SLOB" not in declared and six_twelve - declared == set()


def test_the_6_12_source_comes_from_the_fetched_deb_or_trixie(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """6.12: a .deb in a known directory is used without apt; else apt-get download runs
    with the separate trixie APT configuration (APT_CONFIG), never the system's sources."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(
        '#!/bin/sh\necho "$APT_CONFIG $@" >> apt.args\n'
        'touch linux-source-6.12_6.12.118-1_all.deb\n')
    (bin_dir / "dpkg-deb").write_text(
        '#!/bin/sh\necho "$2" > "$3.from"\nmkdir -p "$3/usr/src" && '
        'echo tarball > "$3/usr/src/linux-source-6.12.tar.xz"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    fetched = tmp_path / "k612"
    fetched.mkdir()
    (fetched / "linux-source-6.12_6.12.118-1_all.deb").write_text("deb")
    spec = attrs.evolve(fikernel.SOURCE_6_12, usr_src=tmp_path / "none", debs=(fetched,))
    top = fikernel.root(tmp_path / "cache", spec)
    assert top == tmp_path / "cache" / "fi-6.12.118"
    top.mkdir(parents=True)
    tarball = fikernel._tarball(top, spec)
    assert tarball == top / "linux-source-6.12.tar.xz" and tarball.read_text() == "tarball\n"
    assert (top / "deb.from").read_text().strip() == str(fetched / spec.deb)
    assert not (top / "apt.args").exists()
    tarball.unlink()
    spec = attrs.evolve(spec, debs=(tmp_path / "empty",))
    fikernel._tarball(top, spec)
    conf = tmp_path / "cache" / "apt612" / "apt.conf"
    assert (top / "apt.args").read_text() == \
        f"{conf} download linux-source-6.12=6.12.118-1\n"
    assert "trixie" in (conf.parent / "sources.list").read_text()
    assert (top / "deb.from").read_text().strip() == str(top / spec.deb)


def test_a_6_12_kernel_is_labelled_and_built_from_its_own_fragment(tmp_path: Path) -> None:
    kernel = fikernel.FiKernel(tmp_path, tmp_path, tmp_path / "bz", 0.0, False,
                               fikernel.SOURCE_6_12)
    assert kernel.label == ("linux-source-6.12 6.12.118-1 tinyconfig+fi-base "
                            "(fault injection)")
    out = tmp_path / "build"
    out.mkdir()
    (out / ".config").write_text("CONFIG_X=y\n")
    (out / ".kmodel-fragment").write_text(fikernel.fragment_hash(fikernel.FRAGMENT) + "\n")
    with pytest.raises(KmodelError, match="tinyconfig"):  # the 6.1 stamp: config steps run
        fikernel.configure(tmp_path / "no-source", out, fikernel.FRAGMENT_6_12)
