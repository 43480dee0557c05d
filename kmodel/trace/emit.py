"""Write events as tracefs `trace` text, column for column as the kernel prints them.

Linux 6.1.176 kernel/trace/trace.c:print_event_info, print_func_help_header_irq and
kernel/trace/trace_output.c:trace_print_context. `parse_trace` reads back what this writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TextIO

from kmodel.trace.events import (
    BLOCK_EVENTS,
    KPROBE_KEYS,
    KRETPROBE_KEYS,
    LostEvents,
    TraceEvent,
    TraceHeader,
)

__all__ = ["format_event", "format_header", "write_trace"]

# print_func_help_header_irq() with record-tgid and irq-info, as in the real traces.
_COLUMNS = """\
#                                          _-----=> irqs-off/BH-disabled
#                                         / _----=> need-resched
#                                        | / _---=> hardirq/softirq
#                                        || / _--=> preempt-depth
#                                        ||| / _-=> migrate-disable
#                                        |||| /     delay
#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION
#              | |           |       |   |||||     |         |
"""

_PROBE_KEYS = frozenset(KPROBE_KEYS + KRETPROBE_KEYS)


def format_header(header: TraceHeader) -> str:
    """The tracefs header block, lines ending in newlines.

    Its `comments` come first; the entries line is written only when the header has the
    entry counts.
    """
    text = "".join(f"{comment}\n" for comment in header.comments)
    text += f"# tracer: {header.tracer or 'nop'}\n#\n"
    if header.entries_in_buffer is not None and header.entries_written is not None:
        text += (
            f"# entries-in-buffer/entries-written: "
            f"{header.entries_in_buffer}/{header.entries_written}   #P:{header.cpus or 1}\n#\n"
        )
    return text + _COLUMNS


def _bio(a: Mapping[str, str]) -> str:
    return f"{a['dev']} {a['rwbs']} {a['sector']} + {a['nr_sector']} [{a['comm']}]"


def _bio_remap(a: Mapping[str, str]) -> str:
    return (
        f"{a['dev']} {a['rwbs']} {a['sector']} + {a['nr_sector']}"
        f" <- ({a['old_dev']}) {a['old_sector']}"
    )


def _rq(a: Mapping[str, str]) -> str:
    return (
        f"{a['dev']} {a['rwbs']} {a['bytes']} ({a['cmd']})"
        f" {a['sector']} + {a['nr_sector']} [{a['comm']}]"
    )


def _rq_completion(a: Mapping[str, str]) -> str:
    return f"{a['dev']} {a['rwbs']} ({a['cmd']}) {a['sector']} + {a['nr_sector']} [{a['error']}]"


def _bio_complete(a: Mapping[str, str]) -> str:
    return f"{a['dev']} {a['rwbs']} {a['sector']} + {a['nr_sector']} [{a['error']}]"


def _split(a: Mapping[str, str]) -> str:
    return f"{a['dev']} {a['rwbs']} {a['sector']} / {a['new_sector']} [{a['comm']}]"


def _block_formatter(keys: tuple[str, ...]) -> Callable[[Mapping[str, str]], str]:
    if "old_sector" in keys:
        return _bio_remap
    if "new_sector" in keys:
        return _split
    if "bytes" in keys:
        return _rq
    if "cmd" in keys:
        return _rq_completion
    if keys[-1] == "error":
        return _bio_complete
    return _bio


_BLOCK = {name: _block_formatter(keys) for name, keys in BLOCK_EVENTS.items()}


def _args_text(event: TraceEvent) -> str:
    args = event.args
    block = _BLOCK.get(event.name)
    if block is not None:
        return block(args)
    if event.name == "console":
        return args["msg"]
    if "probe" in args:
        head = f"({args['probe']})"
    elif "callee" in args:
        offset = args["caller_offset"]
        caller = f"{args['caller']}+{offset}" if offset else args["caller"]
        head = f"({caller} <- {args['callee']})"
    elif len(args) == 1 and "raw" in args:
        return args["raw"]
    else:
        return " ".join([f"{k}={v}" for k, v in args.items()])
    return " ".join([head, *[f"{k}={v}" for k, v in args.items() if k not in _PROBE_KEYS]])


def format_event(event: TraceEvent, counting: bool = False) -> str:
    """One tracefs line for `event`, without the newline.

    `%16s-%-7d (%7d) [%03d] flags %5lu.%06lu: name: args`; tgid None prints `(-------)`;
    with `counting` (a counter/uptime/x86-tsc clock) the timestamp is ` %12llu`
    (Linux 6.1.176 kernel/trace/trace_output.c:596-602).
    """
    c = event.context
    tgid = "(-------)" if c.tgid is None else f"({c.tgid:>7})"
    flags = f"{c.flags} " if c.flags else " "
    if counting:
        stamp = f"{event.ts_us:12d}"
    else:
        seconds, micros = divmod(event.ts_us, 1_000_000)
        stamp = f"{seconds:5d}.{micros:06d}"
    return (
        f"{c.comm:>16}-{c.pid:<7} {tgid} [{c.cpu:03d}] {flags}{stamp}: "
        f"{event.name}: {_args_text(event)}"
    )


def _format_lost(lost: LostEvents) -> str | None:
    if lost.cpu is None:  # overwritten before the trace: the header's entry counts say so
        return None
    if lost.count is None:
        return f"CPU:{lost.cpu} [LOST EVENTS]"
    return f"CPU:{lost.cpu} [LOST {lost.count} EVENTS]"


def write_trace(
    events: Iterable[TraceEvent | LostEvents],
    file: TextIO,
    header: TraceHeader | None = None,
) -> None:
    """Write a tracefs `trace` file: the header block, then one line per event or loss.

    `header` defaults to `TraceHeader(tracer="nop")`, written without the entries line.
    """
    file.write(format_header(header or TraceHeader(tracer="nop")))
    write = file.write
    for item in events:
        if isinstance(item, TraceEvent):
            write(format_event(item) + "\n")
        else:
            line = _format_lost(item)
            if line is not None:
                write(line + "\n")
