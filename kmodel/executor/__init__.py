"""Completion executors: who completes submitted I/O, and when.

* :class:`InlineExecutor`: I/O completes inside ``submit_bio``.
* :class:`ThreadedExecutor`: I/O completes on a worker thread (softirq on another CPU).
* :class:`DeterministicExecutor`: I/O waits in a queue; the caller picks what completes.
"""

from kmodel.executor.base import Deadlock, Executor, PendingIO
from kmodel.executor.deterministic import DeterministicExecutor
from kmodel.executor.inline import InlineExecutor
from kmodel.executor.threaded import ThreadedExecutor

__all__ = [
    "Deadlock",
    "DeterministicExecutor",
    "Executor",
    "InlineExecutor",
    "PendingIO",
    "ThreadedExecutor",
]
