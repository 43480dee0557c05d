"""`kmodel simulate`: model scenarios written as tracefs text that reads like a real capture."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.errors import KmodelError
from kmodel.scenarios import SCENARIOS, run_scenario
from kmodel.trace import TraceEvent, parse_trace
from kmodel.trace.simulate import simulate

from .conftest import real_trace_paths

_RETURN_SITE = re.compile(r"_ret: (\([^)]*\))")


def _trace(name: str, events: int = 400, seed: int = 0) -> str:
    out = io.StringIO()
    simulate(name, out, events=events, seed=seed)
    return out.getvalue()


def _events(text: str) -> list[TraceEvent]:
    return [e for e in parse_trace(io.StringIO(text), name="sim") if isinstance(e, TraceEvent)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_parses_with_about_the_asked_number_of_events(name: str) -> None:
    events = _events(_trace(name, 400))
    assert 400 <= len(events) <= 3 * 400
    assert [e.ts_us for e in events] == sorted({e.ts_us for e in events})  # strictly rising


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_checks_conformant(name: str) -> None:
    from kmodel.trace import check_trace

    report = check_trace(io.StringIO(_trace(name, 1500)), name=f"simulate-{name}")
    assert not report.divergences, report.divergences[:3]


@pytest.mark.parametrize("name", ["basic", "fork"])
def test_same_seed_same_trace_other_seed_other_timing(name: str) -> None:
    # Byte for byte, pointers included: the model numbers pages, bios and VMAs process-wide,
    # the writer maps them onto frames and slab slots from the first it sees.
    first = _trace(name, 1500, seed=3)
    assert "vma=0x" in first
    assert first == _trace(name, 1500, seed=3)
    assert first != _trace(name, 1500, seed=4)


def test_completions_run_in_softirq_on_the_other_cpu() -> None:
    events = _events(_trace("basic"))
    ends = [e for e in events if e.name in ("end_swap_bio_write", "end_swap_bio_read")]
    assert ends and all(e.in_softirq and e.cpu == 1 and e.pid == 0 for e in ends)
    assert all(e.cpu == 0 and not e.in_softirq for e in events if e.comm == "memhog")


def test_return_sites_are_those_of_the_real_kernel() -> None:
    real = {m for p in real_trace_paths() for m in _RETURN_SITE.findall(p.read_text())}
    for name in ("basic", "random", "zram", "readerr_blkdebug"):
        simulated = set(_RETURN_SITE.findall(_trace(name, 2000)))
        assert simulated <= real, (name, simulated - real)


def test_kprobe_args_print_like_the_capture_probes() -> None:
    line = next(x for x in _trace("basic").splitlines() if "swap_writepage: (" in x)
    assert re.search(
        r"\(swap_writepage\+0x0/0xa0\) page=0xffffea[0-9a-f]{10} wbc=0x[0-9a-f]+ "
        r"pflags=0xfffffc[0-9a-f]{7} entry=0x[0-9a-f]+ sync_mode=0 wbc_bits=0x8$",
        line,
    ), line


def test_readerr_blkdebug_retries_then_sigbus() -> None:
    text = _trace("readerr_blkdebug", 3000)
    assert "block_rq_error: 254,0 R () 320 + " in text
    assert "bi_status=10 sector=320 " in text
    assert "console: Read-error on swap-device (254:0:320)" in text
    assert "ret=0x404" in text
    assert "do_swap_page_ret: (__handle_mm_fault+0x86b/0xfa0 <- do_swap_page) ret=0x2" in text
    assert "signal_generate: sig=7 errno=0 code=2 comm=memhog" in text


def test_readerr_scsi_fails_with_medium_error() -> None:
    assert "bi_status=7 sector=320 " in _trace("readerr_scsi", 3000)


def test_writeerr_flakey_recovers_without_losing_data() -> None:
    lines: list[str] = []
    outcome = run_scenario("writeerr_flakey", lambda e: lines.append(e.name), events=3000)
    assert "console" in lines
    assert outcome.sigbus == outcome.corrupt == 0 and outcome.verified > 0
    assert "Write-error on swap-device (253:0:160)" in _trace("writeerr_flakey", 3000)


def test_zram_writes_without_bios() -> None:
    text = _trace("zram")
    assert "block_bio_queue" not in text
    assert "bdev_write_page_ret: (__swap_writepage+0x45/0x480 <- bdev_write_page) ret=0" in text


def test_random_read_back_reads_synchronously() -> None:
    assert "synchronous=1" in _trace("random", 3000)


def test_fork_child_reads_the_shared_pages() -> None:
    outcome = run_scenario("fork", lambda e: None, events=500)
    pids = {e.pid for e in _events(_trace("fork", 500)) if e.name == "do_swap_page"}
    assert len(pids) >= 2 and outcome.corrupt == 0


def test_unknown_scenario_is_a_user_error() -> None:
    with pytest.raises(KmodelError, match="unknown scenario 'nope'"):
        run_scenario("nope", lambda e: None)


def test_cli_writes_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.txt"
    assert main(["simulate", "--scenario", "basic", "--events", "300", "-o", str(out)]) == 0
    assert len(_events(out.read_text())) >= 300
    assert "pages verified" in capsys.readouterr().err


def test_cli_unknown_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("events", ["0", "-5", "lots"])
def test_cli_bad_event_count_exits_2(events: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--scenario", "basic", "--events", events])
    assert exit_.value.code == 2
    assert "--events" in capsys.readouterr().err
