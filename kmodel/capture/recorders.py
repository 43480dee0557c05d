"""``kmodel capture --recorder``: each scenario recorded by trace-cmd or bpftrace too, in the guest.

The tracefs trace (``NAME.trace.txt``) is always saved. Another recorder records the same run
beside it, with Debian's own package copied from the host into the initramfs (the binary and
the shared libraries ``ldd`` lists):

- ``trace-cmd``: after ``cat trace``, ``trace-cmd extract -o NAME.trace.dat`` saves the same
  ring buffer (tracing is off; ``cat trace`` does not consume it). On the host,
  ``trace-cmd report -i`` of it, behind the capture's header lines, is ``NAME.trace-cmd.txt``.
- ``bpftrace``: kmodel's bpftrace script (:func:`kmodel.trace.recorders.bpftrace_script` of
  the capture's own ``kprobe_events`` lines) runs from before ``swapon`` to the end of the
  workload, its block tracepoints gated on the first ``add_swap_extent`` return, as the harness
  enables the block events right after ``swapon``: ``bpftrace -f json`` writes
  ``NAME.ndjson``, and its conversion to ftrace text, behind the header lines, is
  ``NAME.bpftrace.txt``. bpftrace is started with ``-c`` and a child that only waits: bpftrace
  starts a ``-c`` child after attaching every probe, so the child's first act says the probes
  are live (bpftrace's ``attached_probes`` message comes before the attaching).

The recorder's text is checked like the tracefs trace, and a scenario fails when the two give
another verdict or another number of checked outcomes (the recordings are of one run).
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from kmodel.errors import KmodelError, TraceFormatError

if TYPE_CHECKING:
    from kmodel.capture.run import Checked

#: The ``--recorder`` choices; the first is the default (the tracefs trace only).
RECORDERS: tuple[str, ...] = ("tracefs", "trace-cmd", "bpftrace")

#: How long bpftrace may take to compile and attach its probes in the guest (TCG: ~1 min).
BPFTRACE_ATTACH_SECONDS = 300


@attrs.frozen
class Recorder:
    """A recorder other than tracefs: what the guest runs and what each scenario leaves."""

    name: str
    program: str  # looked up on the host's $PATH, copied to /usr/bin in the guest
    package: str  # the Debian package that has it
    output: str  # suffix of the recording: NAME.<output>
    text: str  # suffix of the ftrace text kmodel check reads: NAME.<text>
    memory: str  # QEMU -m: bpftrace's LLVM libraries need room in the initramfs and to run
    seconds: int  # guest seconds per scenario to add to the boot timeout


_RECORDERS = {
    "trace-cmd": Recorder("trace-cmd", "trace-cmd", "trace-cmd", "trace.dat", "trace-cmd.txt",
                          "512M", 30),
    "bpftrace": Recorder("bpftrace", "bpftrace", "bpftrace", "ndjson", "bpftrace.txt", "2048M",
                         BPFTRACE_ATTACH_SECONDS + 120),
}


def get(name: str) -> Recorder | None:
    """The recorder called *name*; None for ``tracefs`` (the harness's own trace only)."""
    if name == "tracefs":
        return None
    if name not in _RECORDERS:
        raise KmodelError(f"unknown recorder {name!r}: expected one of {', '.join(RECORDERS)}")
    return _RECORDERS[name]


def install_command(packages: list[str]) -> str:
    """The apt-get line that installs *packages* (waiting for another apt's lock)."""
    return f"sudo apt-get -o DPkg::Lock::Timeout=600 install -y {' '.join(packages)}"


def host_program(rec: Recorder) -> str:
    """The host path of the recorder's program; a clear error naming the package if absent."""
    found = shutil.which(rec.program)
    if found is None:
        raise KmodelError(
            f"--recorder {rec.name} copies the host's {rec.program} into the guest (and reads "
            f"its output on the host), but {rec.program} is not installed (package "
            f"{rec.package}). Install it with:\n  {install_command([rec.package])}")
    return found


def binaries(rec: Recorder | None) -> dict[str, Path]:
    """Guest path -> host file of the recorder's program (as /usr/bin/NAME) and its libraries."""
    if rec is None:
        return {}
    from kmodel.capture.run import dynamic_binary  # run imports this module

    host = host_program(rec)
    files = dynamic_binary(host)
    files[f"/usr/bin/{rec.program}"] = Path(files.pop(host)).resolve()
    return files


# -- the guest side ----------------------------------------------------------------------------

# kt.sh calls recorder_start after trace_start (before swapon), recorder_stop right after
# tracing_on=0 and recorder_save after 'cat trace'; this file, sourced after kt.sh, fills them.
_TRACE_CMD_SH = r"""# kmodel capture --recorder trace-cmd: the ring buffer as NAME.trace.dat.
recorder_save() {
    stamp "trace-cmd extract"
    /usr/bin/trace-cmd extract -o $out.trace.dat >> $log 2>&1 ||
        echo "KT: trace-cmd extract failed" >> $log
    stamp "trace-cmd extracted"
    # trace-cmd disables every event as it exits: probes_install enabled the probes and the
    # non-block tracepoints once, at boot, so the next scenario would record block events only.
    echo 1 > $T/events/kt/enable
    for tp in $(grep -v '^block/' /tracepoints.txt); do echo 1 > $T/events/$tp/enable; done
}
"""

_BPFTRACE_SH = r"""# kmodel capture --recorder bpftrace: kmodel's bpftrace script as NAME.ndjson.
BPF_READY=/tmp/kt-bpf.ready
BPF_STOP=/tmp/kt-bpf.stop
bpfpid=
recorder_start() {
    rm -f $BPF_READY $BPF_STOP
    stamp "bpftrace started"
    BPFTRACE_PERF_RB_PAGES=4096 /usr/bin/bpftrace -f json -c "/bin/sh /lib/kt-bpf-child.sh" \
        /kt.bt > $out.ndjson 2>> $log &
    bpfpid=$!
    i=0
    until [ -e $BPF_READY ] || [ $i -ge @TICKS@ ]; do
        grep -qs '^State:[[:space:]]*[^Z]' /proc/$bpfpid/status || break
        usleep 100000; i=$((i + 1))
    done
    if [ -e $BPF_READY ]; then
        stamp "bpftrace attached"
    else
        echo "KT: bpftrace did not attach its probes" >> $log
    fi
}
# Stop once its output stops growing (what it has recorded is written out), then end the child.
recorder_stop() {
    [ -n "$bpfpid" ] || return 0
    bpf_last=-1; i=0
    while [ $i -lt 120 ]; do
        bpf_size=$(wc -c < $out.ndjson)
        [ "$bpf_size" = "$bpf_last" ] && break
        bpf_last=$bpf_size; sleep 1; i=$((i + 1))
    done
    stamp "bpftrace drained"
    : > $BPF_STOP
    wait $bpfpid
    echo "KT: bpftrace exit status $?" >> $log
    bpfpid=
}
"""

# bpftrace's -c child: forked before the probes are attached, started after (bpftrace.cpp run).
_BPF_CHILD_SH = r"""# bpftrace -c child: starts once every probe is attached; its end ends bpftrace.
: > /tmp/kt-bpf.ready
while [ ! -e /tmp/kt-bpf.stop ]; do usleep 100000; done
"""


def bpftrace_capture_script(kprobes: list[str], kernel: str = "6.1") -> str:
    """kmodel's bpftrace script for *kprobes*, its block tracepoints gated as the harness's.

    The harness enables the block tracepoints after ``swapon`` (kt.sh ``trace_block``), so the
    swap header read stays out of the trace; ``swapon`` reads the header before
    ``setup_swap_extents`` (Linux 6.1.176 mm/swapfile.c:3069 ``read_mapping_page`` before
    :3144 ``setup_swap_map_and_extents``), so the first ``add_swap_extent`` return opens it
    (6.12.118: :3450 ``read_mapping_folio`` before :3465 ``setup_swap_extents``). *kprobes*
    are register + offset lines (6.12's with their BTF names resolved:
    :func:`kmodel.capture.probes612.offset_events`); *kernel* the script's ``# kernel:`` line.
    """
    import re

    from kmodel.trace.recorders import bpftrace_script

    script = bpftrace_script(kprobes, kernel)
    if script.count("tracepoint:block:block_bio_queue\n") != 1:
        raise KmodelError("kmodel's bpftrace script has no single block_bio_queue probe to gate")
    script = re.sub(r"(?m)^(tracepoint:block:\w+)$", r"\1 /@kt_block/", script)
    return script + "\nkretprobe:add_swap_extent\n{\n  @kt_block = 1;\n}\n"


def guest_files(rec: Recorder | None, kprobes: list[str], kernel: str = "6.1") -> dict[str, str]:
    """The initramfs text files the recorder adds (guest path -> text); *kprobes* in register
    + offset syntax, *kernel* the kernel line (``6.1``, ``6.12``)."""
    if rec is None:
        return {}
    if rec.name == "trace-cmd":
        return {"/lib/kt-recorder.sh": _TRACE_CMD_SH}
    ticks = str(BPFTRACE_ATTACH_SECONDS * 10)
    return {
        "/lib/kt-recorder.sh": _BPFTRACE_SH.replace("@TICKS@", ticks),
        "/lib/kt-bpf-child.sh": _BPF_CHILD_SH,
        "/kt.bt": bpftrace_capture_script(kprobes, kernel),
    }


def qemu_argv(rec: Recorder | None, argv: list[str]) -> list[str]:
    """*argv* with the recorder's guest memory (``-m``)."""
    if rec is None:
        return argv
    out = list(argv)
    at = out.index("-m")
    out[at + 1] = rec.memory
    return out


def timeout_seconds(rec: Recorder | None, scenarios: int) -> float:
    """Seconds of boot timeout the recorder adds for *scenarios* scenarios."""
    return 0.0 if rec is None else float(rec.seconds * scenarios)


# -- the host side -----------------------------------------------------------------------------


def read_member(image: Path, name: str) -> bytes | None:
    """The bytes of ``NAME`` in the guest's results archive (``/out``), None if absent."""
    try:
        with tarfile.open(image) as tar:  # the results disk: the archive, then zeros
            for member in tar.getmembers():
                if member.isfile() and Path(member.name).name == name:
                    data = tar.extractfile(member)
                    return data.read() if data is not None else None
    except (OSError, tarfile.TarError):
        return None
    return None


def header_lines(trace_text: str) -> str:
    """The capture's header lines of a trace (before tracefs's own ``# tracer:``)."""
    out = []
    for line in trace_text.splitlines(keepends=True):
        if not line.startswith("#") or line.startswith("# tracer:"):
            break
        out.append(line)
    return "".join(out)


def save(rec: Recorder, name: str, image: Path, out_dir: Path) -> tuple[Path | None, list[str]]:
    """Write NAME.<output> and NAME.<text> from the results *image*; (text path, problems)."""
    from kmodel.trace.recorders import bpftrace_lines, trace_dat_lines

    data = read_member(image, f"{name}.{rec.output}")
    if not data:
        return None, [f"{rec.name} wrote no {name}.{rec.output} (see {name}.log.txt)"]
    recording = out_dir / f"{name}.{rec.output}"
    recording.write_bytes(data)
    header = header_lines((out_dir / f"{name}.trace.txt").read_text(errors="replace"))
    text = out_dir / f"{name}.{rec.text}"
    problems = []
    try:
        if rec.name == "trace-cmd":
            with trace_dat_lines(str(recording), str(recording)) as lines:
                body = "".join(lines)
        else:
            with recording.open(encoding="utf-8", errors="surrogateescape") as file:
                # The script's own '# kernel:' line: the capture's header says more.
                body = "".join(line for line in bpftrace_lines(file, str(recording))
                               if not line.startswith("# "))
            lost = data.count(b'{"type": "lost_events"')
            if lost:
                problems.append(f"bpftrace reported lost events {lost} time(s) in "
                                f"{recording.name}: raise BPFTRACE_PERF_RB_PAGES")
    except TraceFormatError as exc:
        return None, [f"{recording.name} cannot be read: {exc}"]
    if not body.strip():
        problems.append(f"{rec.name} recorded no events in {recording.name}")
    text.write_text(header + body, errors="surrogateescape")
    return text, problems


def disagreement(rec: Recorder, tracefs: Checked, recorded: Checked) -> list[str]:
    """Problems when the recorder's check differs from the tracefs trace's (one run, two ways).

    The verdict (conformant or not, and the number of divergences) and the number of checked
    outcomes must be equal, request completions aside: bpftrace's script probes no block_rq_*
    event and cuts console lines at 64 bytes, so only the tracefs trace shows those.
    """
    pairs = (("conformant", tracefs.conformant, recorded.conformant, True),
             ("divergences", tracefs.divergences, recorded.divergences, True),
             ("checked outcomes", tracefs.checks, recorded.checks,
              tracefs.checks - tracefs.request_checks
              == recorded.checks - recorded.request_checks))
    return [f"{rec.name}'s recording and the tracefs trace of the same run disagree: {what} "
            f"{theirs} vs {ours}" for what, ours, theirs, same in pairs
            if ours != theirs and not (what == "checked outcomes" and same)]


def check_recorder_args(recorder: str, kernel: str) -> str | None:
    """The error for a --recorder the --kernel line does not support; None if it is supported."""
    if recorder == "tracefs" or kernel in ("6.1", "6.12"):
        return None
    return (f"--recorder {recorder} records --kernel 6.1 and 6.12 only (the fault-injection "
            f"capture has no recorder hooks); use --recorder tracefs with --kernel {kernel}")
