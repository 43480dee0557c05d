"""Access to the Linux 6.1.176 source the model cites (Debian's linux-source-6.1).

Files are read from ``$KMODEL_KERNEL_SRC`` (an extracted tree) or extracted on demand
from /usr/src/linux-source-6.1.tar.xz into ``.ksrc-cache/`` (``apt-get install
linux-source-6.1`` provides the tarball; .ci/run installs it).
"""

from __future__ import annotations

import os
import subprocess
import zlib
from functools import cache
from pathlib import Path

TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
CACHE = Path(__file__).resolve().parent.parent / ".ksrc-cache"
PREFIX = "linux-source-6.1/"
#: Directories the model cites; extracted together on first use.
CITED_DIRS = ("mm/", "block/", "lib/", "include/linux/", "include/uapi/linux/",
              "arch/x86/mm/", "arch/x86/include/asm/", "kernel/sched/", "kernel/signal.c",
              "include/trace/events/signal.h",
              "drivers/block/brd.c", "drivers/block/zram/zram_drv.c", "drivers/md/dm-flakey.c",
              "Makefile")


class KernelSourceMissing(RuntimeError):
    """Neither $KMODEL_KERNEL_SRC nor the Debian tarball is available."""


@cache
def root() -> Path:
    """The root of an extracted 6.1.176 tree."""
    env = os.environ.get("KMODEL_KERNEL_SRC")
    if env:
        return Path(env)
    marker = CACHE / PREFIX / f".complete-{zlib.crc32(' '.join(CITED_DIRS).encode()):08x}"
    if marker.exists():
        return CACHE / PREFIX
    if not TARBALL.exists():
        raise KernelSourceMissing(
            "the Linux 6.1.176 source is needed to check citations: run "
            "'apt-get install linux-source-6.1' (puts the tarball in /usr/src) or set "
            "KMODEL_KERNEL_SRC to an extracted tree"
        )
    CACHE.mkdir(exist_ok=True)
    subprocess.run(
        ["tar", "xf", str(TARBALL), "-C", str(CACHE), *(PREFIX + d for d in CITED_DIRS)],
        check=True,
    )
    marker.touch()
    return CACHE / PREFIX


@cache
def lines(path: str) -> list[str]:
    """The lines of ``path`` (relative to the tree), 1-based via index+1."""
    return (root() / path).read_text(errors="replace").splitlines()
