"""The ext4 disk of the ``swapfile`` scenario: a swap file in several extents, made on the host.

``mkfs.ext4`` makes an empty file system (no journal, no lazy inode-table init: nothing writes
to the disk behind the workload's back), ``debugfs`` writes twelve 256 KiB filler files, deletes
every other one and writes the swap file, which fills the holes first: it ends up in several
extents (``add_swap_extent`` is called once per extent at swapon). The swap file carries its
swap header already (:func:`swap_header`), so the guest only mounts the disk and runs swapon.
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
import uuid
from pathlib import Path

from kmodel.errors import KmodelError

PAGE_SIZE = 4096
FS_MIB = 32
SWAPFILE_MIB = 8
_FILLER_KIB = 256
_FILLERS = 12


def swap_header(pages: int, label: bytes = b"kmodel") -> bytes:
    """Return page 0 of a version-1 swap area of *pages* pages (what ``mkswap`` writes).

    Linux 6.1.176 include/linux/swap.h:173-188 (union swap_header): ``info`` after 1024 boot
    bytes (version, last_page, nr_badpages, uuid, volume name), ``SWAPSPACE2`` at the page end.
    """
    if pages < 10:
        raise KmodelError(f"a swap area needs at least 10 pages, not {pages}")
    page = bytearray(PAGE_SIZE)
    struct.pack_into("<III", page, 1024, 1, pages - 1, 0)
    page[1036:1052] = uuid.UUID(int=0x6B6D6F64656C).bytes
    page[1052 : 1052 + len(label)] = label[:16]
    page[PAGE_SIZE - 10 :] = b"SWAPSPACE2"
    return bytes(page)


_LEAF = re.compile(r"^\s*(\d+)/\s*(\d+)\s+\d+/\s*\d+\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*-\s*\d+\s+\d+")


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    res = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd)
    if res.returncode != 0:
        raise KmodelError(f"{what} failed ({' '.join(argv)}): {res.stderr.strip()[-400:]}")


def debugfs_commands() -> str:
    """Return the debugfs script that leaves /swapfile fragmented around the kept fillers."""
    lines = [f"write filler f{i}" for i in range(_FILLERS)]
    lines += [f"rm f{i}" for i in range(1, _FILLERS - 2, 2)]
    lines += ["write swapfile swapfile", "sif swapfile mode 0100600"]
    return "\n".join(lines) + "\n"


def build(image: Path, mkfs: str = "mkfs.ext4", debugfs: str = "debugfs") -> None:
    """Write the ext4 image with the fragmented, ready swap file to *image*."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Non-zero data: debugfs leaves all-zero blocks as holes, and swapon refuses holes.
        (work / "filler").write_bytes(b"Z" * (_FILLER_KIB * 1024))
        pages = SWAPFILE_MIB * 1024 * 1024 // PAGE_SIZE
        (work / "swapfile").write_bytes(swap_header(pages) + b"Z" * ((pages - 1) * PAGE_SIZE))
        (work / "cmds").write_text(debugfs_commands())
        image.unlink(missing_ok=True)
        _run(
            [
                mkfs,
                "-q",
                "-F",
                "-b",
                "4096",
                "-O",
                "^has_journal,^metadata_csum,^resize_inode",
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0",
                "-L",
                "ktfs",
                str(image),
                f"{FS_MIB}M",
            ],
            "mkfs.ext4",
        )
        _run([debugfs, "-w", "-f", "cmds", str(image.resolve())], "debugfs", cwd=work)


def extents(image: Path, debugfs: str = "debugfs") -> list[tuple[int, int, int]]:
    """Return the swap file's extents as (first page, pages, first block), from debugfs."""
    res = subprocess.run(
        [debugfs, "-R", "ex swapfile", str(image)], capture_output=True, text=True, check=False
    )
    out = []
    for m in map(_LEAF.match, res.stdout.splitlines()):
        if m is not None and m.group(1) == m.group(2):  # level == depth: a leaf extent
            first, last, start = int(m.group(3)), int(m.group(4)), int(m.group(5))
            out.append((first, last - first + 1, start))
    return out
