"""Write a trace as Chrome trace-event JSON, for ui.perfetto.dev or chrome://tracing.

No kernel counterpart. Tracks:

* one process "CPUs" with a thread per CPU: complete slices ("X") of who ran there, one per
  stretch of consecutive events of the same task on that CPU (and a thread for global
  instants: lost events, divergences past the last event);
* one process per thread group (tgid) and a thread per task (``swapper/N`` for the idle
  task of CPU N): every event as an instant ("i") with its args;
* a process "block I/O": an async slice ("b"/"e") per bio, from ``block_bio_queue`` to its
  ``end_swap_bio_read``/``end_swap_bio_write`` (on Linux 6.12 a synchronous on-stack bio ends
  at ``__end_swap_bio_read``/``__end_swap_bio_write``, which it calls directly), and in each
  task's process an async slice per fault, from ``do_swap_page`` to ``do_swap_page_ret``;
* divergences (line number, message) as instants on the task of that line.

Events stream through: memory holds only the open slices, the known tracks and the
divergences. Timestamps are the trace's microseconds, as the format wants.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from kmodel.trace.events import LostEvents, TraceEvent

__all__ = ["PerfettoStream", "write_perfetto"]

#: Synthetic pids/tids for tracks that are no task (above PID_MAX_LIMIT, 4194304).
CPUS_PID = 20_000_000
BLOCK_PID = 20_000_001
IDLE_TID_BASE = 10_000_000

Json = dict[str, Any]

#: Open slices (bios, faults) and remap marks kept at once: a trace of bios that never complete
#: stays in bounded memory; beyond, the oldest slice ends "unfinished" where the next begins.
OPEN_MAX = 1 << 16


def _dumps(obj: Json) -> str:
    return json.dumps(obj, separators=(",", ":"))


class _Writer:
    """The JSON stream and the state of open slices and known tracks."""

    def __init__(self, file: TextIO) -> None:
        self.file = file
        self.first = True
        self.threads: set[tuple[int, int]] = set()
        self.processes: set[int] = set()
        self.cpu_runs: dict[int, tuple[str, int, int]] = {}  # cpu -> (who, start, last)
        self.bios: dict[tuple[int, int, str, int], tuple[int, str]] = {}  # key -> (id, name)
        self.remapped: set[tuple[int, int, str, int]] = set()
        self.faults: dict[int, tuple[int, int]] = {}  # tid -> (pid, open fault id)
        self.next_id = 1
        self.last_ts = 0

    def emit(self, obj: Json) -> None:
        self.file.write(("" if self.first else ",\n") + _dumps(obj))
        self.first = False

    # -- tracks ---------------------------------------------------------------------------

    def _process(self, pid: int, name: str) -> None:
        if pid not in self.processes:
            self.processes.add(pid)
            self.emit({"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}})

    def _thread(self, pid: int, tid: int, name: str) -> None:
        if (pid, tid) not in self.threads:
            self.threads.add((pid, tid))
            self.emit(
                {"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": name}}
            )

    def task_track(self, event: TraceEvent) -> tuple[int, int]:
        """(pid, tid) of the task that ran ``event``, declaring the track on first use."""
        if event.pid == 0:
            tid = IDLE_TID_BASE + event.cpu
            self._process(0, "swapper")
            self._thread(0, tid, f"swapper/{event.cpu}")
            return 0, tid
        pid = event.tgid if event.tgid is not None else event.pid
        self._process(pid, f"{event.comm} ({pid})")
        self._thread(pid, event.pid, f"{event.comm}-{event.pid}")
        return pid, event.pid

    def cpu_track(self, cpu: int) -> int:
        self._process(CPUS_PID, "CPUs")
        self._thread(CPUS_PID, CPUS_PID + 1 + cpu, f"CPU {cpu}")
        return CPUS_PID + 1 + cpu

    # -- slices ---------------------------------------------------------------------------

    def run_on_cpu(self, event: TraceEvent) -> None:
        """Extend or end the current stretch of one task on the event's CPU."""
        who = f"{event.comm}-{event.pid}"
        run = self.cpu_runs.get(event.cpu)
        if run is not None and run[0] == who:
            self.cpu_runs[event.cpu] = (who, run[1], event.ts_us)
            return
        if run is not None:
            self._end_run(event.cpu, run)
        self.cpu_runs[event.cpu] = (who, event.ts_us, event.ts_us)

    def _end_run(self, cpu: int, run: tuple[str, int, int]) -> None:
        who, start, last = run
        tid = self.cpu_track(cpu)
        self.emit(
            {
                "ph": "X",
                "pid": CPUS_PID,
                "tid": tid,
                "name": who,
                "ts": start,
                "dur": max(1, last - start),
            }
        )

    def async_begin(self, pid: int, tid: int, cat: str, name: str, ts: int, args: Json) -> int:
        slice_id = self.next_id
        self.next_id += 1
        self._async("b", pid, tid, cat, name, slice_id, ts, args)
        return slice_id

    def async_end(
        self, pid: int, tid: int, cat: str, name: str, slice_id: int, ts: int, args: Json
    ) -> None:
        self._async("e", pid, tid, cat, name, slice_id, ts, args)

    def _async(self, ph: str, pid: int, tid: int, cat: str, name: str, slice_id: int,
               ts: int, args: Json) -> None:
        self.emit({"ph": ph, "cat": cat, "id": slice_id, "pid": pid, "tid": tid,
                   "name": name, "ts": ts, "args": args})

    def block(self, event: TraceEvent) -> None:
        """Open or close the async slice of a bio."""
        name = event.name
        if name == "block_bio_queue" or name == "block_bio_remap":
            a = event.args
            key = (int(a["major"]), int(a["minor"]), _op(a["rwbs"]), int(a["sector"]))
            if name == "block_bio_remap":  # the bio goes on to the lower device
                if len(self.remapped) >= OPEN_MAX:
                    self.remapped.clear()
                self.remapped.add(key)
                return
            if key in self.remapped:
                self.remapped.discard(key)
                return
            if key in self.bios:
                return
            self._process(BLOCK_PID, "block I/O")
            self._thread(BLOCK_PID, BLOCK_PID, "bios")
            title = f"{a['dev']} {a['rwbs']} {a['sector']} + {a['nr_sector']}"
            args = {"comm": a["comm"], "line": event.lineno}
            slice_id = self.async_begin(BLOCK_PID, BLOCK_PID, "bio", title, event.ts_us, args)
            if len(self.bios) >= OPEN_MAX:  # the oldest open bio ends here, unfinished
                old_id, old_title = self.bios.pop(next(iter(self.bios)))
                self.async_end(BLOCK_PID, BLOCK_PID, "bio", old_title, old_id, event.ts_us,
                               {"unfinished": True})
            self.bios[key] = (slice_id, title)
            return
        dev = event.arg_int("dev")
        op = "R" if name.endswith("end_swap_bio_read") else "W"
        key = (dev >> 20, dev & 0xFFFFF, op, event.arg_int("sector"))
        opened = self.bios.pop(key, None)
        if opened is not None:
            args = {"bi_status": event.args["bi_status"], "line": event.lineno}
            self.async_end(BLOCK_PID, BLOCK_PID, "bio", opened[1], opened[0], event.ts_us, args)

    def fault(self, event: TraceEvent, pid: int, tid: int) -> None:
        """Open or close the async slice of a fault in the faulting task's process."""
        if event.name == "do_swap_page":
            if tid in self.faults:  # a return lost: close the old one where the new starts
                self._close_fault(tid, event.ts_us, {"unfinished": True})
            args = {"address": event.args["address"], "line": event.lineno}
            slice_id = self.async_begin(pid, tid, "fault", "do_swap_page", event.ts_us, args)
            if len(self.faults) >= OPEN_MAX:
                self._close_fault(next(iter(self.faults)), event.ts_us, {"unfinished": True})
            self.faults[tid] = (pid, slice_id)
        elif tid in self.faults:
            self._close_fault(tid, event.ts_us, {"ret": event.args["ret"]})

    def _close_fault(self, tid: int, ts: int, args: Json) -> None:
        pid, slice_id = self.faults.pop(tid)
        self.async_end(pid, tid, "fault", "do_swap_page", slice_id, ts, args)

    def finish(self) -> None:
        """End every open slice at the last timestamp."""
        for cpu, run in sorted(self.cpu_runs.items()):
            self._end_run(cpu, run)
        for slice_id, title in self.bios.values():
            self.async_end(
                BLOCK_PID, BLOCK_PID, "bio", title, slice_id, self.last_ts, {"unfinished": True}
            )
        for tid in sorted(self.faults):
            self._close_fault(tid, self.last_ts, {"unfinished": True})


def _op(rwbs: str) -> str:
    return "W" if "W" in rwbs else "R" if "R" in rwbs else rwbs


_BIO_EVENTS = frozenset(
    {"block_bio_queue", "block_bio_remap", "end_swap_bio_read", "end_swap_bio_write",
     "__end_swap_bio_read", "__end_swap_bio_write"}  # the last two: 6.12's
)


def _sorted_divergences(divergences: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    return iter(sorted(divergences, key=lambda d: d[0]))


def _lost(w: _Writer, event: LostEvents) -> None:
    w.emit({"ph": "i", "s": "g", "pid": CPUS_PID, "tid": CPUS_PID, "name": "lost events",
            "ts": w.last_ts, "args": {"cpu": event.cpu, "count": event.count}})


def _divergence(w: _Writer, pid: int, tid: int, ts: int, lineno: int, message: str,
                scope: str = "t") -> None:
    w.emit({"ph": "i", "s": scope, "pid": pid, "tid": tid, "cat": "divergence",
            "name": "divergence", "ts": ts, "args": {"line": lineno, "message": message}})


def _event(w: _Writer, event: TraceEvent, pid: int, tid: int) -> None:
    """The event's instant on its task, its CPU stretch, and its bio or fault slice."""
    w.run_on_cpu(event)
    w.emit({"ph": "i", "s": "t", "pid": pid, "tid": tid, "name": event.name,
            "ts": event.ts_us, "args": dict(event.args)})
    if event.name in _BIO_EVENTS:
        w.block(event)
    elif event.name == "do_swap_page" or event.name == "do_swap_page_ret":
        w.fault(event, pid, tid)


_HEAD = '{"displayTimeUnit":"ns","traceEvents":[\n'
_TAIL = "\n]}\n"


def write_perfetto(
    events: Iterable[TraceEvent | LostEvents],
    divergences: Iterable[tuple[int, str]],
    path: str | os.PathLike[str],
) -> None:
    """Write ``events`` (in trace order) and ``divergences`` (line, message) to ``path``.

    ``events`` is typically ``parse_trace(file)``; ``LostEvents`` become global instants.
    A divergence shows on the task whose event is on that line, at its timestamp (or at the
    next event's, for a line that is no event).
    """
    pending = _sorted_divergences(divergences)
    next_div = next(pending, None)
    with open(path, "w", encoding="utf-8") as file:
        file.write(_HEAD)
        w = _Writer(file)
        for event in events:
            if isinstance(event, LostEvents):
                _lost(w, event)
                continue
            pid, tid = w.task_track(event)
            w.last_ts = max(w.last_ts, event.ts_us)
            while next_div is not None and next_div[0] <= event.lineno:
                _divergence(w, pid, tid, event.ts_us, *next_div)
                next_div = next(pending, None)
            _event(w, event, pid, tid)
        while next_div is not None:
            _divergence(w, CPUS_PID, CPUS_PID, w.last_ts, *next_div, scope="g")
            next_div = next(pending, None)
        w.finish()
        file.write(_TAIL)


class PerfettoStream:
    """`write_perfetto` in the same pass as the check: events are written as they are read
    (`tee`), the divergences, known only at the end, last (`close`).

    A divergence goes on the task of its event at the event's time (its `line` text gives
    both); the viewer orders each track by time.
    """

    def __init__(self, file: TextIO) -> None:
        file.write(_HEAD)
        self._file = file
        self._w = _Writer(file)

    def tee(self, items: Iterable[TraceEvent | LostEvents]) -> Iterator[TraceEvent | LostEvents]:
        """Yield ``items``, writing each on the way."""
        for item in items:
            self.write(item)
            yield item

    def write(self, item: TraceEvent | LostEvents) -> None:
        """Write one event or lost-events marker (the checker's ``tee`` hook on 6.12)."""
        w = self._w
        if isinstance(item, LostEvents):
            _lost(w, item)
        else:
            pid, tid = w.task_track(item)
            w.last_ts = max(w.last_ts, item.ts_us)
            _event(w, item, pid, tid)

    def close(self, divergences: Iterable[tuple[int, str, str]],
              parse: Callable[[str, str, int], TraceEvent] | None = None) -> None:
        """Write ``divergences`` (line, message, the event's line text) and end the JSON.

        ``parse`` reads a line's event (default: the 6.1 formats' ``parse_event_line``).
        """
        from kmodel.errors import TraceFormatError
        from kmodel.trace.parse import parse_event_line

        w = self._w
        read = parse or parse_event_line
        for lineno, message, line in divergences:
            try:
                event = read(line, "<line>", lineno)
            except TraceFormatError:  # not an event line: a global instant at the end
                _divergence(w, CPUS_PID, CPUS_PID, w.last_ts, lineno, message, scope="g")
                continue
            pid, tid = w.task_track(event)
            _divergence(w, pid, tid, event.ts_us, lineno, message)
        w.finish()
        self._file.write(_TAIL)
