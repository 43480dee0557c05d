"""Kernel package choice (exact version, else the newest 6.1) and reading the results disk."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.capture import kernel, run
from kmodel.errors import KmodelError

SHOW = (
    "Package: linux-image-amd64\nVersion: 6.1.180-1\n"
    "Depends: linux-image-6.1.0-54-amd64 (= 6.1.180-1)\n"
)


def _fake_run(
    calls: list[list[str]], show: str, download_ok: set[str]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    def fake(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        if cmd[:2] == ["apt-cache", "show"]:
            return subprocess.CompletedProcess(cmd, 0 if show else 100, show, "")
        if cmd[:2] == ["apt-get", "download"] and cmd[2] in download_ok:
            assert cwd is not None
            package, version = cmd[2].split("=")
            (cwd / f"{package}_{version}_amd64.deb").write_bytes(b"deb")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, 100, "", "E: Version not found")

    return fake


def test_exact_version_is_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    wanted = f"{kernel.PACKAGE}={kernel.VERSION}"
    monkeypatch.setattr(kernel, "_run", _fake_run(calls, SHOW, {wanted}))
    package, version, deb = kernel.download(tmp_path)
    assert (package, version) == (kernel.PACKAGE, kernel.VERSION)
    assert deb.name == f"{kernel.PACKAGE}_{kernel.VERSION}_amd64.deb"
    assert calls == [["apt-get", "download", wanted]]


def test_falls_back_to_the_newest_6_1_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    fallback = "linux-image-6.1.0-54-amd64=6.1.180-1"
    monkeypatch.setattr(kernel, "_run", _fake_run(calls, SHOW, {fallback}))
    package, version, _ = kernel.download(tmp_path)
    assert (package, version) == ("linux-image-6.1.0-54-amd64", "6.1.180-1")
    assert calls[-1] == ["apt-get", "download", fallback]


def test_no_mirror_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel, "_run", _fake_run([], "", set()))
    with pytest.raises(KmodelError, match="apt-get update"):
        kernel.download(tmp_path)


def test_results_archive_is_read_from_a_zero_padded_disk(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"memhog: go\n"
        info = tarfile.TarInfo("./basic.log.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    image = tmp_path / "out.img"
    image.write_bytes(buf.getvalue() + b"\0" * 65536)
    assert run._read_results(image) == {"basic.log.txt": "memhog: go\n"}


def test_empty_results_disk_is_a_clear_error(tmp_path: Path) -> None:
    image = tmp_path / "out.img"
    image.write_bytes(b"\xff" * 4096)
    with pytest.raises(KmodelError, match="no results archive"):
        run._read_results(image)
