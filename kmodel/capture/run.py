"""Drive one capture: prepare the kernel and initramfs, boot QEMU once, collect and check."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from importlib import resources
from pathlib import Path

import attrs

from kmodel.capture import guest, initramfs, qemu, verify
from kmodel.capture.hosttools import TOOLS, find_tool, require_tools
from kmodel.capture.kernel import Kernel, prepare
from kmodel.capture.scenarios import BLKDEBUG_RULES, Scenario, blkdebug_config
from kmodel.errors import KmodelError

SUFFIXES = ("trace.txt", "log.txt", "dmesg.txt", "kprobe_profile.txt")
_SECONDS = re.compile(r"^KT: scenario \S+ seconds ([\d.]+)$", re.M)


@attrs.frozen
class Report:
    """How one scenario went: guest-side seconds and the problems found (none = passed)."""

    name: str
    seconds: float
    problems: tuple[str, ...]


@attrs.frozen
class Capture:
    """A whole run: the kernel used, the wall time of preparation and boot, the reports."""

    kernel: Kernel
    prepare_seconds: float
    boot_seconds: float
    reports: tuple[Report, ...]


def build_workload(cache: Path) -> Path:
    """Compile workload.c statically into the cache (keyed by its hash) and return the binary."""
    source = resources.files("kmodel.capture").joinpath("workload.c").read_bytes()
    binary = cache / f"memhog-{hashlib.sha256(source).hexdigest()[:12]}"
    if binary.is_file():
        return binary
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "workload.c"
        src.write_bytes(source)
        res = subprocess.run(
            ["gcc", "-static", "-O2", "-Wall", "-o", str(Path(tmp) / "memhog"), str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode == 0:
            part = binary.with_name(f"{binary.name}.{os.getpid()}.part")
            shutil.move(Path(tmp) / "memhog", part)
            part.replace(binary)  # atomic: concurrent runs may share the cache
    if res.returncode != 0:
        raise KmodelError(
            f"gcc -static failed for workload.c (is libc6-dev installed?):\n{res.stderr.strip()}"
        )
    return binary


def dynamic_binary(path: str) -> dict[str, Path]:
    """Return *path* and the shared libraries ``ldd`` lists for it, keyed by guest path."""
    res = subprocess.run(["ldd", path], capture_output=True, text=True, check=False)
    files = {path: Path(path)}
    for match in re.finditer(r"(?:=>\s*)?(/\S+)\s+\(0x", res.stdout):
        files[match.group(1)] = Path(match.group(1)).resolve()
    return files


def _binaries(workload: Path) -> dict[str, Path]:
    tools = {t.name: find_tool(t) for t in TOOLS}
    busybox, dmsetup = tools["busybox"], tools["dmsetup"]
    if busybox is None or dmsetup is None:
        raise KmodelError("busybox or dmsetup vanished since the tool check")
    binaries = {"/bin/busybox": Path(busybox), "/bin/memhog": workload}
    binaries.update(dynamic_binary(dmsetup))
    return binaries


def _read_results(image: Path) -> dict[str, str]:
    data = image.read_bytes()
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return {
                Path(m.name).name: tar.extractfile(m).read().decode(errors="replace")  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    except tarfile.TarError as exc:
        raise KmodelError(f"the guest wrote no results archive ({exc})") from None


def _boot(argv: list[str], work: Path, timeout: float) -> float:
    t0 = time.monotonic()
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise KmodelError(
            f"QEMU did not finish within {timeout:.0f} s. Console tail:\n"
            + _tail(work / "console.log")
        ) from None
    if res.returncode != 0:
        raise KmodelError(
            f"QEMU exited with status {res.returncode}: {res.stderr.strip()[-800:]}\n"
            + _tail(work / "console.log")
        )
    return time.monotonic() - t0


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return "(no console output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _write_outputs(
    s: Scenario, results: dict[str, str], out_dir: Path, kernel: Kernel, accel: str
) -> verify.Result:
    texts = {suffix: results.get(f"{s.name}.{suffix}", "") for suffix in SUFFIXES}
    header = (
        f"# kmodel capture: scenario={s.name} kernel={kernel.package} version={kernel.version} "
        f"accel={accel}\n"
    )
    texts["trace.txt"] = header + texts["trace.txt"]
    texts["log.txt"] = (
        f"KT: kmodel capture scenario {s.name}: {s.summary}\n"
        f"KT: kernel {kernel.label}\n" + texts["log.txt"]
    )
    for suffix, text in texts.items():
        (out_dir / f"{s.name}.{suffix}").write_text(text)
    if s.device.removeprefix("@") in BLKDEBUG_RULES:
        rules = BLKDEBUG_RULES[s.device.removeprefix("@")]
        (out_dir / f"{s.name}.blkdebug.conf").write_text(blkdebug_config(*rules))
    return verify.Result(
        texts["log.txt"], texts["trace.txt"], texts["dmesg.txt"], texts["kprobe_profile.txt"]
    )


def capture(
    scenarios: list[Scenario],
    out_dir: Path,
    cache: Path,
    accel: str = "tcg",
    keep_work: bool = False,
) -> Capture:
    """Run *scenarios* in one boot; write their files to *out_dir*; return what happened."""
    require_tools()
    t0 = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    kernel = prepare(cache)
    workload = build_workload(cache)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kmodel-capture-"))
    try:
        files = guest.guest_files(initramfs.boot_modules(kernel.modules_dir), scenarios)
        image = initramfs.build(kernel.modules_dir, _binaries(workload), files)
        (work / "initramfs.cpio").write_bytes(image)
        argv = qemu.command(work, kernel.vmlinux, work / "initramfs.cpio", accel)
        prepare_seconds = time.monotonic() - t0
        boot_seconds = _boot(argv, work, timeout=90 + 30 * len(scenarios))
        shutil.copyfile(work / "console.log", out_dir / "console.log")
        results = _read_results(work / "out.img")
        reports = []
        for s in scenarios:
            result = _write_outputs(s, results, out_dir, kernel, accel)
            seconds = _SECONDS.findall(result.log)
            reports.append(
                Report(
                    s.name,
                    float(seconds[-1]) if seconds else 0.0,
                    tuple(verify.problems(s, result)),
                )
            )
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    return Capture(kernel, prepare_seconds, boot_seconds, tuple(reports))
