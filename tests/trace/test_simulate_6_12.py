"""``kmodel simulate --kernel 6.12``: the 6.12 model's scenarios written as 6.12 captures, which
``kmodel check`` reads as 6.12 (from the header) and finds conformant; planted 6.12 model bugs
change the trace and the clean model flags it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from kmodel.cli import main
from kmodel.errors import TraceFormatError
from kmodel.scenarios import SCENARIOS
from kmodel.trace import check_trace
from kmodel.trace.check_6_12 import check_trace_6_12, trace_kernel
from kmodel.trace.simulate_6_12 import simulate_6_12
from kmodel.v6_12.mm import page_io as page_io_612
from tests.v6_12.test_real_trace_shapes import LINE, shapes

V612 = Path(__file__).resolve().parents[1] / "data" / "traces" / "v6_12"
_RETURN_SITE = re.compile(r"_ret: (\([^)]*\))")
_KPROBE_HEAD = re.compile(r": [\w.]+: (\([\w.]+\+0x[0-9a-f]+/0x[0-9a-f]+\))")


def _trace(name: str, events: int = 400, seed: int = 0) -> str:
    out = io.StringIO()
    simulate_6_12(name, out, events=events, seed=seed)
    return out.getvalue()


def _write(tmp_path: Path, text: str, name: str = "sim.trace.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _events(text: str) -> list[re.Match[str]]:
    return [m for m in map(LINE.match, text.splitlines()) if m is not None]


@pytest.mark.parametrize(("name", "seed"), [*((n, 0) for n in sorted(SCENARIOS)),
                                            ("basic", 5), ("readerr_blkdebug", 11),
                                            ("writeerr_flakey", 3), ("zram", 2)])
def test_simulated_6_12_trace_is_read_as_6_12_and_conforms(tmp_path: Path, name: str,
                                                           seed: int) -> None:
    path = _write(tmp_path, _trace(name, 1500, seed))
    assert trace_kernel(path) == "6.12"
    report = check_trace(path)  # no kernel given: the header picks the 6.12 checker
    assert report.divergences == [], report.format()
    assert report.verdict_kind == "conformant"
    assert report.counts["checks"] > 200


@pytest.mark.parametrize(("name", "rotational"), [("basic", 1), ("ssd", 0)])
def test_readahead_choice_is_checked_from_the_simulated_headers(tmp_path: Path, name: str,
                                                               rotational: int) -> None:
    """The header names the scenario's disk: VMA readahead on the non-rotational one (CR-5);
    the same trace said to be on the other kind of disk diverges."""
    text = _trace(name, 1500)
    assert f"# swap-disk: /dev/vda rotational={rotational}\n" in text
    report = check_trace(_write(tmp_path, text))
    assert report.verdict_kind == "conformant"
    assert "input:readahead-kind" not in report.counts
    other = text.replace(f"rotational={rotational}", f"rotational={1 - rotational}", 1)
    first = check_trace(_write(tmp_path, other, "other.trace.txt")).divergences[0]
    assert first.branches == ("CR-5",)


def test_a_6_12_trace_is_no_6_1_trace(tmp_path: Path) -> None:
    path = _write(tmp_path, _trace("basic"))
    with pytest.raises(TraceFormatError, match=r"sim.trace.txt:\d+: "):
        check_trace(path, kernel="6.1")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_about_the_asked_number_of_events_in_time_order(name: str) -> None:
    events = _events(_trace(name, 400))
    assert 400 <= len(events) <= 3 * 400
    stamps = [float(re.search(r" (\d+\.\d{6}): ", m.string)[1])  # type: ignore[index]
              for m in events]
    assert stamps == sorted(set(stamps))


def _without_pointers(text: str) -> str:
    return re.sub(r"(page|folio|bio|vmf|pfn)=\S+", r"\1=", text)


def test_same_seed_same_trace_other_seed_other_timing() -> None:
    assert _without_pointers(_trace("basic", seed=3)) == _without_pointers(_trace("basic", seed=3))
    assert _without_pointers(_trace("basic", seed=3)) != _without_pointers(_trace("basic", seed=4))


def _real_text() -> str:
    return "".join(p.read_text() for p in sorted(V612.glob("*.trace.txt")))


def test_probe_heads_and_return_sites_are_the_real_6_12_builds() -> None:
    real = _real_text()
    real_sites, real_heads = set(_RETURN_SITE.findall(real)), set(_KPROBE_HEAD.findall(real))
    for name in ("basic", "ssd", "random", "zram", "readerr_blkdebug", "writeerr_flakey"):
        text = _trace(name, 2000)
        sites, heads = set(_RETURN_SITE.findall(text)), set(_KPROBE_HEAD.findall(text))
        assert sites and sites <= real_sites, (name, sites - real_sites)
        assert heads and heads <= real_heads, (name, heads - real_heads)


def _shape_events(text: str) -> list[tuple[str, str, bool]]:
    out = []
    for m in _events(text):
        softirq = m["flags"][2] == "s"
        out.append((f"cpu{m['cpu']}" if softirq else m["pid"], m["name"], softirq))
    return out


@pytest.mark.parametrize(("name", "real"), [("basic", "basic"), ("zram", "zram"),
                                            ("ssd", "ssd"), ("brd", "brd"),
                                            ("readerr_blkdebug", "readerr_blkdebug")])
def test_call_and_completion_shapes_are_the_real_captures(name: str, real: str) -> None:
    """Every swap-out, swap-in and completion shape simulated was seen in the real capture
    of the same scenario (the real ones add zero-filled pages, which the scenarios lack)."""
    simulated = shapes(_shape_events(_trace(name, 2000)))
    seen = shapes(_shape_events((V612 / f"{real}.trace.txt").read_text()))
    assert simulated and simulated <= seen, sorted(simulated - seen)


@pytest.mark.parametrize(("name", "real"), [("basic", "basic"), ("zram", "zram"), ("brd", "brd")])
def test_bio_rwbs_are_the_real_captures(name: str, real: str) -> None:
    """On-stack synchronous bios carry REQ_SYNC (submit_bio_wait): ``WS``/``RS`` on zram and
    brd, ``W``/``R`` on virtio-blk, as the real captures print them."""
    rwbs = re.compile(r"block_bio_queue: \d+,\d+ (\w+) ")
    simulated = set(rwbs.findall(_trace(name, 2000)))
    seen = set(rwbs.findall((V612 / f"{real}.trace.txt").read_text()))
    assert simulated == seen


def test_6_12_formats_in_the_text() -> None:
    text = _trace("readerr_blkdebug", 3000)
    assert re.search(r"block_rq_issue: 254,0 [RW]\w* \d+ \(\) \d+ \+ \d+ be,0,4 \[memhog\]", text)
    assert re.search(r"block_rq_error: 254,0 R \(\) 320 \+ \d+ be,0,4 \[-5\]", text)
    assert "console: Read-error on swap-device (254:0:320)" in text
    assert re.search(r"__end_swap_bio_read: \(__end_swap_bio_read\+0x0/0xa0\) bio=0x\S+ "
                     r"bi_status=10 sector=320 ", text)
    assert "signal_generate: sig=7 errno=0 code=2 comm=memhog" in text
    zram = _trace("zram")
    assert "swap_writepage_bdev_sync: (swap_writepage_bdev_sync+0x0/0x180)" in zram
    assert "submit_bio_wait" not in zram  # the model's marker; the capture has no probe there


# -- planted bugs in the 6.12 model ---------------------------------------------------------


def test_planted_bug_in_the_write_sector_changes_the_trace_and_is_flagged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model's bios one slot off (the oracle's swap_folio_sector stays right): the
    simulated trace changes and the clean model flags its first bio with the path's ID."""
    clean = _trace("basic", 1000)
    with monkeypatch.context() as m:
        m.setattr(page_io_612, "swap_folio_sector",
                  lambda k, folio: page_io_612.swap_dev_pos(folio.swap) // 512 + 8)
        buggy = _trace("basic", 1000)
    assert _without_pointers(buggy) != _without_pointers(clean)
    report = check_trace(_write(tmp_path, buggy))
    assert report.verdict_kind == "divergent"
    first = report.divergences[0]
    assert first.branches == ("WA-1",) and "block_bio_queue: 254,0 W 16 + 8" in first.line


def test_planted_bug_keeping_pg_reclaim_on_write_error_is_flagged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EW-1 without ClearPageReclaim, simulated: folio_end_writeback shows PG_reclaim after a
    failed write; checked on the clean 6.12 model it diverges there, and only there."""
    clean = _trace("writeerr_blkdebug", 3000)
    with monkeypatch.context() as m:
        m.setattr(page_io_612, "ClearPageReclaim", lambda folio: None)
        buggy = _trace("writeerr_blkdebug", 3000)
    assert buggy != clean
    assert check_trace(_write(tmp_path, clean, "clean.trace.txt")).verdict_kind == "conformant"
    report = check_trace_6_12(_write(tmp_path, buggy))
    assert report.divergences, report.format()
    for d in report.divergences:
        assert d.branches == ("EW-1", "EW-2", "EW-3") and "folio_end_writeback" in d.line


# -- the command ----------------------------------------------------------------------------


def test_cli_simulate_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.trace.txt"
    assert main(["simulate", "--kernel", "6.12", "--scenario", "readerr_flakey", "--seed",
                 "4", "--events", "2k", "-o", str(out)]) == 0
    assert "pages verified" in capsys.readouterr().err
    assert out.read_text().count("\n# kernel: 6.12.118\n") == 1
    assert main(["check", str(out)]) == 0
    assert "conformant" in capsys.readouterr().out


def test_cli_refuses_an_unmodelled_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--kernel", "6.6", "--scenario", "basic"])
    assert exit_.value.code == 2
    assert "--kernel: invalid choice: '6.6'" in capsys.readouterr().err


def test_cli_unknown_scenario_exits_2_on_6_12(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--kernel", "6.12", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
