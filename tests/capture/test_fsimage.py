"""The swapfile scenario's ext4 disk: swap header layout, fragmentation recipe, a real build."""

from __future__ import annotations

import itertools
import shutil
import struct
from pathlib import Path

import pytest

from kmodel.capture import fsimage
from kmodel.errors import KmodelError


def test_swap_header_is_version_1_with_last_page_and_magic() -> None:
    page = fsimage.swap_header(2048)
    assert len(page) == 4096
    assert struct.unpack_from("<III", page, 1024) == (1, 2047, 0)
    assert page[-10:] == b"SWAPSPACE2"
    assert page[1052:1058] == b"kmodel"
    assert page[:1024] == bytes(1024)


def test_swap_header_refuses_a_tiny_area() -> None:
    with pytest.raises(KmodelError, match="at least 10 pages, not 3"):
        fsimage.swap_header(3)


def test_recipe_deletes_every_other_filler_before_writing_the_swap_file() -> None:
    cmds = fsimage.debugfs_commands().splitlines()
    removed = [c for c in cmds if c.startswith("rm ")]
    assert removed == ["rm f1", "rm f3", "rm f5", "rm f7", "rm f9"]
    assert cmds.index("write swapfile swapfile") > cmds.index("rm f9")
    assert cmds[-1] == "sif swapfile mode 0100600"


@pytest.mark.skipif(
    shutil.which("mkfs.ext4", path="/sbin:/usr/sbin:/usr/bin:/bin") is None
    or shutil.which("debugfs", path="/sbin:/usr/sbin:/usr/bin:/bin") is None,
    reason="e2fsprogs not installed",
)
def test_built_image_holds_a_swap_file_in_several_extents(tmp_path: Path) -> None:
    tools = "/sbin:/usr/sbin:/usr/bin:/bin"
    mkfs, debugfs = shutil.which("mkfs.ext4", path=tools), shutil.which("debugfs", path=tools)
    assert mkfs is not None and debugfs is not None
    image = tmp_path / "fs.img"
    fsimage.build(image, mkfs, debugfs)
    extents = fsimage.extents(image, debugfs)
    assert len(extents) >= 5
    assert extents[0][0] == 0
    pages = fsimage.SWAPFILE_MIB * 256
    assert sum(n for _, n, _ in extents) == pages  # no holes: swapon refuses them
    for (first, n, _), (nxt, _, _) in itertools.pairwise(extents):
        assert first + n == nxt


def test_a_failing_tool_names_itself(tmp_path: Path) -> None:
    with pytest.raises(KmodelError, match=r"mkfs\.ext4 failed"):
        fsimage.build(tmp_path / "fs.img", mkfs="false")
