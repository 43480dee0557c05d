"""The README's example runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs_and_prints_the_alert() -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), str(README), "exec"), {})
    text = out.getvalue()
    assert "end_swap_bio_read" in text  # the tracer printed the model's events
    assert "('alert', 'Read-error on swap-device (254:0:8)')" in text


def test_readme_names_the_ci_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", README.read_text(), re.S)
    test_command = blocks[1]
    assert test_command in ci
