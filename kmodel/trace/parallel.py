"""``kmodel check -j N``: check files in parallel processes, reports in the given order.

No kernel counterpart. Each file is checked by :func:`kmodel.trace.cli.check_one` in a worker
process (a file's check is single-threaded Python: processes, not threads, use the cores);
results come back in the order of the files, so the output is that of a serial run.
"""

from __future__ import annotations

import concurrent.futures
import itertools
from collections.abc import Iterator, Sequence

from kmodel.trace.cli import CheckOptions, Outcome, check_one

__all__ = ["check_parallel"]


def check_parallel(names: Sequence[str], options: CheckOptions, jobs: int) -> Iterator[Outcome]:
    """`check_one` of each of `names` in up to `jobs` processes, yielded in `names`' order."""
    workers = min(jobs, len(names))
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(check_one, names, itertools.repeat(options))
