"""ftrace text traces: parse them into events, and write events back as tracefs text."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmodel.trace.check import check_trace
    from kmodel.trace.emit import format_event, format_header, write_trace
    from kmodel.trace.events import (
        BLOCK_EVENTS,
        EVENT_ARGS,
        KPROBE_KEYS,
        KRETPROBE_KEYS,
        LostEvents,
        TaskContext,
        TraceEvent,
        TraceHeader,
    )
    from kmodel.trace.parse import parse_trace, read_header
    from kmodel.trace.report import CheckReport, Divergence

#: Where each public name lives, imported on first use: ``kmodel simulate`` (which imports
#: :mod:`kmodel.trace.simulate`) then loads the emitter without the checker.
_EXPORTS: dict[str, str] = {
    "check_trace": "kmodel.trace.check",
    "format_event": "kmodel.trace.emit",
    "format_header": "kmodel.trace.emit",
    "write_trace": "kmodel.trace.emit",
    "BLOCK_EVENTS": "kmodel.trace.events",
    "EVENT_ARGS": "kmodel.trace.events",
    "KPROBE_KEYS": "kmodel.trace.events",
    "KRETPROBE_KEYS": "kmodel.trace.events",
    "LostEvents": "kmodel.trace.events",
    "TaskContext": "kmodel.trace.events",
    "TraceEvent": "kmodel.trace.events",
    "TraceHeader": "kmodel.trace.events",
    "parse_trace": "kmodel.trace.parse",
    "read_header": "kmodel.trace.parse",
    "CheckReport": "kmodel.trace.report",
    "Divergence": "kmodel.trace.report",
}


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'kmodel.trace' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BLOCK_EVENTS",
    "EVENT_ARGS",
    "KPROBE_KEYS",
    "KRETPROBE_KEYS",
    "CheckReport",
    "Divergence",
    "LostEvents",
    "TaskContext",
    "TraceEvent",
    "TraceHeader",
    "check_trace",
    "format_event",
    "format_header",
    "parse_trace",
    "read_header",
    "write_trace",
]
