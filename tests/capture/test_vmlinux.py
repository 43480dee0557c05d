"""vmlinux extraction from a bzImage-like blob and the PVH note check."""

from __future__ import annotations

import lzma
from collections.abc import Callable

import pytest

from kmodel.capture.vmlinux import XZ_MAGIC, extract_vmlinux, has_pvh_entry
from kmodel.errors import KmodelError

ElfMaker = Callable[[list[tuple[bytes, int, bytes]]], bytes]
PVH_NOTE = (b"Xen", 18, b"\x00\x00\x00\x01\x00\x00\x00\x00")


def _xz(data: bytes) -> bytes:
    # The kernel's own XZ streams use the x86 BCJ filter before LZMA2; do the same.
    filters = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 1}]
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=filters)


def test_extracts_the_elf_stream_after_setup_code_and_a_decoy(elf_with_notes: ElfMaker) -> None:
    elf = elf_with_notes([PVH_NOTE]) + bytes(range(256)) * 64
    blob = b"MZ setup code" + XZ_MAGIC + b"broken" + _xz(b"not an elf") + _xz(elf) + b"\0trailer"
    assert extract_vmlinux(blob) == elf


def test_no_xz_stream_is_a_user_error() -> None:
    with pytest.raises(KmodelError, match="no XZ-compressed ELF"):
        extract_vmlinux(b"MZ" + b"\0" * 1000)


def test_pvh_note_found(elf_with_notes: ElfMaker) -> None:
    assert has_pvh_entry(elf_with_notes([(b"Xen", 6, b"linux\0"), PVH_NOTE]))


def test_pvh_note_absent(elf_with_notes: ElfMaker) -> None:
    assert not has_pvh_entry(elf_with_notes([(b"Xen", 6, b"linux\0"), (b"GNU", 18, b"x")]))


def test_not_an_elf_is_a_user_error() -> None:
    with pytest.raises(KmodelError, match="64-bit ELF"):
        has_pvh_entry(b"\x7fELF\x01\x01" + b"\0" * 64)
