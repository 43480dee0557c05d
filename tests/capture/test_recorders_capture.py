"""``kmodel capture --recorder``: the harness pieces, without QEMU.

The guest hooks are run by a real ``sh`` against a stand-in ``bpftrace`` that behaves as
bpftrace 0.17's ``run()`` does with ``-c`` (the child starts after the probes are attached;
bpftrace ends when the child does), so the start/stop handshake is tested, not just its text.
"""

from __future__ import annotations

import argparse
import lzma
import re
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.capture import cli, initramfs, probes, recorders, run
from kmodel.errors import KmodelError
from kmodel.trace import check_trace

ROOT = Path(__file__).resolve().parents[2]
LIVE = ROOT / "tests" / "data" / "recorders"
Reader = Callable[[bytes], dict[str, tuple[int, bytes]]]

TRACE_CMD = recorders.get("trace-cmd")
BPFTRACE = recorders.get("bpftrace")
assert TRACE_CMD is not None and BPFTRACE is not None


def test_tracefs_is_the_default_and_adds_nothing() -> None:
    assert recorders.RECORDERS[0] == "tracefs"
    assert recorders.get("tracefs") is None
    assert recorders.guest_files(None, probes.kprobe_events()) == {}
    assert recorders.binaries(None) == {}
    argv = ["qemu-system-x86_64", "-m", "512M", "-smp", "2"]
    assert recorders.qemu_argv(None, argv) == argv
    assert recorders.timeout_seconds(None, 3) == 0.0


def test_an_unknown_recorder_is_refused() -> None:
    with pytest.raises(KmodelError, match=r"unknown recorder 'perf'.*tracefs, trace-cmd, bpftrace"):
        recorders.get("perf")


def test_bpftrace_gets_two_gigabytes_and_time_to_attach() -> None:
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "512M", "-smp", "2"]
    assert recorders.qemu_argv(BPFTRACE, argv) == [
        "qemu-system-x86_64", "-accel", "tcg", "-m", "2048M", "-smp", "2"]
    assert recorders.qemu_argv(TRACE_CMD, argv) == argv
    assert recorders.timeout_seconds(BPFTRACE, 2) >= 2 * recorders.BPFTRACE_ATTACH_SECONDS


def test_a_missing_host_package_is_named_with_its_install_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorders.shutil, "which", lambda name: None)
    with pytest.raises(KmodelError) as err:
        recorders.binaries(BPFTRACE)
    text = str(err.value)
    assert "--recorder bpftrace" in text and "package bpftrace" in text
    assert "apt-get -o DPkg::Lock::Timeout=600 install -y bpftrace" in text


def test_a_capture_with_a_missing_recorder_stops_before_preparing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_which = shutil.which
    monkeypatch.setattr(recorders.shutil, "which",
                        lambda name: None if name == "trace-cmd" else real_which(name))
    monkeypatch.setattr(run, "require_tools", lambda: None)

    def never(cache: Path) -> None:
        raise AssertionError("the kernel was prepared although trace-cmd is missing")

    with pytest.raises(KmodelError, match="trace-cmd is not installed"):
        run.capture([], tmp_path / "out", tmp_path / "cache", line=run.KernelLine(prepare=never),
                    recorder="trace-cmd")


@pytest.mark.parametrize("kernel", ["6.1-fi", "6.12-fi"])
@pytest.mark.parametrize("recorder", ["trace-cmd", "bpftrace"])
def test_the_fault_injection_lines_refuse_a_recorder(kernel: str, recorder: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    parser = _parser()
    args = parser.parse_args(["capture", "--kernel", kernel, "--recorder", recorder])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert f"--recorder {recorder} records --kernel 6.1 and 6.12 only" in err
    assert "use --recorder tracefs" in err
    assert recorders.check_recorder_args("tracefs", kernel) is None
    assert recorders.check_recorder_args(recorder, "6.1") is None
    assert recorders.check_recorder_args(recorder, "6.12") is None


def test_the_6_12_line_hands_its_recorder_to_the_capture(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kmodel.capture import scenarios612

    seen: dict[str, object] = {}

    def fake_capture(chosen: list[object], *args: object, **kwargs: object) -> run.Capture:
        seen.update(kwargs)
        raise KmodelError("stop here")

    monkeypatch.setattr(run, "capture", fake_capture)
    args = _parser().parse_args(["capture", "--kernel", "6.12", "--recorder", "bpftrace",
                                 "--scenario", "readerr_blkdebug", "-o", str(tmp_path)])
    assert args.func(args) == 2  # the stand-in's error, after the recorder was accepted
    assert seen["recorder"] == "bpftrace"
    assert seen["line"] is scenarios612.LINE
    assert scenarios612.LINE.offset_kprobes is not None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser


@pytest.mark.skipif(shutil.which("trace-cmd") is None or shutil.which("bpftrace") is None,
                    reason="needs the host's trace-cmd and bpftrace "
                           "(apt-get install trace-cmd bpftrace)")
@pytest.mark.parametrize("name", ["trace-cmd", "bpftrace"])
def test_the_initramfs_holds_the_recorder_and_its_libraries(
        name: str, module_tree: Path, fake_binaries: dict[str, Path],
        newc_members: Reader) -> None:
    rec = recorders.get(name)
    assert rec is not None
    extra = recorders.binaries(rec)
    assert extra[f"/usr/bin/{name}"] == Path(shutil.which(name) or "").resolve()
    ldd = subprocess.run(["ldd", shutil.which(name) or ""], capture_output=True, text=True,
                         check=True).stdout
    libs = re.findall(r"=>\s*(/\S+)", ldd)
    assert libs and all(lib in extra for lib in libs)
    files = {"/init": "#!/bin/sh\n", **recorders.guest_files(rec, probes.kprobe_events())}
    members = newc_members(initramfs.build(module_tree, {**fake_binaries, **extra}, files))
    program = members[f"usr/bin/{name}"]
    assert program[1] == extra[f"/usr/bin/{name}"].read_bytes()
    assert program[0] & stat.S_IXUSR
    for lib in libs:
        assert members[lib.lstrip("/")][1] == Path(lib).resolve().read_bytes()
    assert "lib/kt-recorder.sh" in members
    assert ("kt.bt" in members) == (name == "bpftrace")


def test_the_bpftrace_script_gates_block_events_on_the_end_of_swapon() -> None:
    kprobes = probes.kprobe_events()
    script = recorders.guest_files(BPFTRACE, kprobes)["/kt.bt"]
    assert "tracepoint:block:block_bio_queue /@kt_block/\n" in script
    block = re.findall(r"(?m)^tracepoint:block:.*$", script)
    assert len(block) == 5 and all(p.endswith(" /@kt_block/") for p in block)
    assert "tracepoint:printk:console\n" in script  # not gated: the harness's are block's
    assert script.rstrip().endswith("kretprobe:add_swap_extent\n{\n  @kt_block = 1;\n}")
    # Every kprobe_events line of the capture is one probe of the script.
    for line in kprobes:
        kind, func = line.split()[:2]
        probe = "kretprobe" if kind.startswith("r") else "kprobe"
        assert f"\n{probe}:{func}\n" in script


def test_kt_sh_calls_the_hooks_where_the_recordings_must_start_and_stop() -> None:
    kt = (ROOT / "kmodel" / "capture" / "kt.sh").read_text()
    body = kt[kt.index("run_scenario() {"):]
    order = ["    trace_start\n", "    recorder_start\n", '    swapon "$dev"',
             "    echo 0 > $T/tracing_on\n", "    recorder_stop\n",
             "    cat $T/trace > $out.trace.txt\n", "    recorder_save\n", '    swapoff "$dev"']
    at = [body.index(step) for step in order]
    assert at == sorted(at)
    # The defaults do nothing; the recorder's file, sourced after them, replaces them.
    assert kt.index("recorder_save() { :; }") < kt.index(". /lib/kt-recorder.sh")


def test_trace_cmd_enables_again_after_its_extract_what_probes_install_enabled() -> None:
    # trace-cmd disables every event as it exits; the probes and non-block tracepoints are
    # enabled once per boot (probes_install), so without this every scenario after the first
    # of a boot recorded block events only (a live 6-scenario trace-cmd boot: 1,077 events
    # of writeerr_blkdebug's ~12,000, its scenario outcome unseen).
    kt = (ROOT / "kmodel" / "capture" / "kt.sh").read_text()
    install = kt[kt.index("probes_install() {"):]
    install = install[:install.index("\n}\n")]
    enables = [line.strip() for line in install.splitlines() if "enable" in line
               and "echo 1" in line]
    assert len(enables) == 2, enables
    save = recorders._TRACE_CMD_SH
    save = save[save.index("recorder_save() {"):]
    extract = save.index("trace-cmd extract -o")
    for line in enables:
        assert line in save and save.index(line) > extract, line


_FAKE_BPFTRACE = r"""#!/bin/sh
# bpftrace 0.17 with -c: fork the child, attach the probes, then let the child run; exit with it.
while [ "$1" != "-c" ]; do shift; done
echo '{"type": "attached_probes", "data": {"probes": 32}}'
printf '%s\n' '{"type": "printf", "data": "kmodel 1000 0 7 7 sh\tattached: yes\n"}'
$2 > /dev/null
printf '%s\n' '{"type": "printf", "data": "kmodel 2000 0 7 7 sh\tafter: child\n"}'
"""


def _hooks(tmp_path: Path, rec: recorders.Recorder, fake: str) -> tuple[Path, Path]:
    """The recorder's guest files, with their absolute paths moved under *tmp_path*."""
    (tmp_path / "out").mkdir()
    prog = tmp_path / rec.program
    prog.write_text(fake)
    prog.chmod(0o755)
    files = recorders.guest_files(rec, probes.kprobe_events())
    moves = {f"/usr/bin/{rec.program}": str(prog), "/lib/kt-bpf-child.sh": str(
        tmp_path / "kt-bpf-child.sh"), "/tmp/kt-bpf.": str(tmp_path / "kt-bpf."), "/kt.bt": str(
        tmp_path / "kt.bt")}
    for guest, text in files.items():
        for old, new in moves.items():
            text = text.replace(old, new)
        (tmp_path / Path(guest).name).write_text(text)
    bin_dir = tmp_path / "bin"  # busybox's usleep, for the child as for the hooks
    bin_dir.mkdir()
    (bin_dir / "usleep").write_text("#!/bin/sh\nsleep 0.1\n")
    (bin_dir / "usleep").chmod(0o755)
    log = tmp_path / "out" / "s.log.txt"
    return tmp_path / "kt-recorder.sh", log


def test_bpftrace_hooks_start_after_attaching_and_stop_through_the_child(
        tmp_path: Path) -> None:
    assert BPFTRACE is not None
    hooks, log = _hooks(tmp_path, BPFTRACE, _FAKE_BPFTRACE)
    script = (f'out={tmp_path}/out/s; log=$out.log.txt\nstamp() {{ echo "KT: at $1" >> $log; }}\n'
              f"PATH={tmp_path}/bin:$PATH\n. {hooks}\n"
              'recorder_start\n[ -e "$BPF_READY" ] && echo "KT: ready seen" >> $log\n'
              "recorder_stop\n")
    res = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    text = log.read_text()
    assert "KT: at bpftrace attached" in text and "KT: ready seen" in text
    assert "KT: bpftrace exit status 0" in text
    ndjson = (tmp_path / "out" / "s.ndjson").read_text().splitlines()
    assert [line for line in ndjson if "printf" in line][-1].endswith('after: child\\n"}')


def test_bpftrace_that_dies_before_attaching_is_logged_not_waited_for(tmp_path: Path) -> None:
    assert BPFTRACE is not None
    hooks, log = _hooks(tmp_path, BPFTRACE, "#!/bin/sh\necho 'ERROR: no BTF' >&2\nexit 1\n")
    script = (f'out={tmp_path}/out/s; log=$out.log.txt\nstamp() {{ echo "KT: at $1" >> $log; }}\n'
              f"PATH={tmp_path}/bin:$PATH\n. {hooks}\nrecorder_start\nrecorder_stop\n")
    res = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    text = log.read_text()
    assert "ERROR: no BTF" in text
    assert "KT: bpftrace did not attach its probes" in text
    assert "KT: bpftrace exit status 1" in text


# -- the host side: the recordings and their checks ----------------------------------------------


def _results(tmp_path: Path, members: dict[str, bytes]) -> Path:
    """A results disk as the guest writes it: a tar of /out, then zeros."""
    image = tmp_path / "out.img"
    with tarfile.open(image, "w") as tar:
        for name, data in members.items():
            src = tmp_path / name
            src.write_bytes(data)
            tar.add(src, arcname=f"./{name}")
    with image.open("ab") as f:
        f.truncate(image.stat().st_size + (1 << 20))
    return image


def _live(name: str) -> bytes:
    return lzma.decompress((LIVE / f"{name}.xz").read_bytes())


def test_the_ndjson_and_its_text_are_written_beside_the_trace_and_check_alike(
        tmp_path: Path) -> None:
    assert BPFTRACE is not None
    ndjson = _live("readerr_blkdebug.bpftrace.ndjson")
    trace = _live("readerr_blkdebug.bpftrace-run.trace.txt")
    image = _results(tmp_path, {"readerr_blkdebug.ndjson": ndjson})
    out = tmp_path / "out"
    out.mkdir()
    (out / "readerr_blkdebug.trace.txt").write_bytes(trace)
    text, problems = recorders.save(BPFTRACE, "readerr_blkdebug", image, out)
    assert problems == []
    assert text == out / "readerr_blkdebug.bpftrace.txt"
    assert (out / "readerr_blkdebug.ndjson").read_bytes() == ndjson
    header = recorders.header_lines(trace.decode())
    assert header.startswith("# kmodel capture:") and "# page-cluster: 3\n" in header
    assert text.read_text().startswith(header)
    tracefs, recorded = run.check(out / "readerr_blkdebug.trace.txt"), run.check(text)
    direct = check_trace(out / "readerr_blkdebug.ndjson")
    assert tracefs.checks > 1000
    # The tracefs trace also has the failed request's block_rq_* events and whole "I/O error"
    # line: its request completions are checked there only (kmodel/trace/requests.py).
    assert tracefs.request_checks > 0 and recorded.request_checks == 0
    assert recorded.checks == tracefs.checks - tracefs.request_checks == direct.counts["checks"]
    assert recorded.conformant and tracefs.conformant and direct.conformant
    assert recorders.disagreement(BPFTRACE, tracefs, recorded) == []


def test_a_recorder_that_wrote_nothing_is_a_problem(tmp_path: Path) -> None:
    assert TRACE_CMD is not None
    image = _results(tmp_path, {"s.log.txt": b"KT: trace-cmd extract failed\n"})
    text, problems = recorders.save(TRACE_CMD, "s", image, tmp_path)
    assert text is None
    assert problems == ["trace-cmd wrote no s.trace.dat (see s.log.txt)"]


@pytest.mark.skipif(shutil.which("trace-cmd") is None, reason="needs trace-cmd")
def test_a_damaged_trace_dat_is_a_problem_naming_trace_cmd(tmp_path: Path) -> None:
    assert TRACE_CMD is not None
    image = _results(tmp_path, {"s.trace.dat": b"\x17\x08Dtracing6\0\0\0\x08\0\0\0\0\x10"})
    out = tmp_path / "out"
    out.mkdir()
    (out / "s.trace.txt").write_text("# kmodel capture: scenario=s\n# tracer: nop\n")
    text, problems = recorders.save(TRACE_CMD, "s", image, out)
    assert text is None
    assert len(problems) == 1 and "s.trace.dat cannot be read" in problems[0]
    assert "'trace-cmd report' failed" in problems[0]


def test_lost_bpftrace_events_are_a_problem(tmp_path: Path) -> None:
    assert BPFTRACE is not None
    lines = _live("readerr_blkdebug.bpftrace.ndjson").splitlines(keepends=True)
    lines.insert(len(lines) // 2, b'{"type": "lost_events", "data": {"events": 12}}\n')
    image = _results(tmp_path, {"s.ndjson": b"".join(lines)})
    out = tmp_path / "out"
    out.mkdir()
    (out / "s.trace.txt").write_text("# tracer: nop\n")
    text, problems = recorders.save(BPFTRACE, "s", image, out)
    assert text is not None and "[LOST EVENTS]" in text.read_text()
    assert problems == ["bpftrace reported lost events 1 time(s) in s.ndjson: raise "
                        "BPFTRACE_PERF_RB_PAGES"]


def test_a_recording_that_disagrees_with_the_tracefs_trace_is_a_problem(
        tmp_path: Path) -> None:
    assert BPFTRACE is not None
    trace = _live("readerr_blkdebug.bpftrace-run.trace.txt").decode()
    full = tmp_path / "full.trace.txt"
    full.write_text(trace)
    # The recording lost the run's second half: fewer outcomes checked.
    cut = tmp_path / "cut.trace.txt"
    lines = trace.splitlines(keepends=True)
    cut.write_text("".join(lines[: len(lines) // 2]))
    tracefs, recorded = run.check(full), run.check(cut)
    problems = recorders.disagreement(BPFTRACE, tracefs, recorded)
    assert problems and all(p.startswith("bpftrace's recording and the tracefs trace of the "
                                         "same run disagree: ") for p in problems)
    assert (f"checked outcomes {recorded.checks} vs {tracefs.checks}"
            in problems[-1])
