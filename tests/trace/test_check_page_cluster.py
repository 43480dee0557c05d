"""``kmodel check --page-cluster``: the readahead window the model replays follows the
page-cluster in force — from the option, else the trace's ``# page-cluster:`` header, else 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmodel.cli import main

PAGECLUSTER5 = (Path(__file__).resolve().parent.parent / "data" / "traces" / "conditions"
                / "pagecluster5.trace.txt")


def _without_header(tmp_path: Path) -> Path:
    out = tmp_path / "pc5-no-header.trace.txt"
    lines = PAGECLUSTER5.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("# page-cluster:")]
    assert len(kept) == len(lines) - 1, "the fixture records its page-cluster once"
    out.write_text("".join(kept))
    return out


def test_header_gives_the_page_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(PAGECLUSTER5)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 divergences")


def test_without_header_the_default_3_makes_windows_of_32_diverge(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_without_header(tmp_path))]) == 1
    assert "DIVERGENT" in capsys.readouterr().out


def test_option_gives_the_page_cluster_without_header(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--page-cluster", "5", str(_without_header(tmp_path))]) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 divergences")


def test_option_wins_over_the_header(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--page-cluster", "0", str(PAGECLUSTER5)]) == 1
    assert "DIVERGENT" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["-1", "32", "x"])
def test_impossible_option_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--page-cluster", value, str(PAGECLUSTER5)])
    assert exit_.value.code == 2
    assert "expected an integer 0..31" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["x", "99", "-3", ""])
def test_impossible_header_names_its_line(value: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.trace.txt"
    text = PAGECLUSTER5.read_text().replace("# page-cluster: 5", f"# page-cluster: {value}", 1)
    bad.write_text(text)
    lineno = text.splitlines().index(f"# page-cluster: {value}") + 1
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{lineno}: expected '# page-cluster: N' with N in 0..31" in err
    assert "Traceback" not in err
