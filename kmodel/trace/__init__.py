"""ftrace text traces: parse them into events, and write events back as tracefs text."""

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
