"""The committed fault-injection captures (tests/data/traces/fi/): what the harness accepted.

Captured by ``kmodel capture --kernel 6.1-fi`` (all nine scenarios, one boot; fi_mkreq_write
re-captured alone after its memcg headroom was raised), trimmed with
``python -m kmodel.capture.trim RAW OUT --max-bytes 40000``; the other files are whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmodel.capture import fiscenarios, verify
from kmodel.trace import check_trace

FI = Path(__file__).resolve().parents[1] / "data" / "traces" / "fi"
SCENARIOS = {s.name: s for s in fiscenarios.FI_SCENARIOS}


def _result(name: str) -> verify.Result:
    def text(suffix: str) -> str:
        return (FI / f"{name}.{suffix}.txt").read_text()

    return verify.Result(text("log"), text("trace"), text("dmesg"), text("kprobe_profile"))


def _armed(s: fiscenarios.FiScenario) -> dict[str, str]:
    """The debugfs knobs the scenario's midway writes for its attr."""
    return dict((k, v) for v, k in
                re.findall(rf"echo (\S+) > /sys/kernel/debug/{s.attr}/([\w-]+)", s.scenario.midway))


def test_every_scenario_has_its_four_files() -> None:
    for name in SCENARIOS:
        for suffix in ("trace", "log", "dmesg", "kprobe_profile"):
            assert (FI / f"{name}.{suffix}.txt").is_file(), (name, suffix)
        assert (FI / f"{name}.trace.txt").stat().st_size < 40_000


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_trace_header_records_the_attr_as_the_kernel_read_it_back(name: str) -> None:
    s = SCENARIOS[name]
    header = [ln for ln in _result(name).trace.splitlines() if ln.startswith("#")]
    assert header[0].startswith(f"# kmodel capture: scenario={name} kernel=fault-injection-6.1")
    line = next(ln for ln in header if ln.startswith(f"# fault-inject: {s.attr} "))
    recorded = dict(kv.split("=", 1) for kv in line.split()[3:])
    armed = _armed(s)
    # fail_function's inject list is recorded comma-terminated ("should_fail_bio,").
    assert armed and all(recorded[k].rstrip(",") == v for k, v in armed.items()), (
        armed, recorded)
    assert any(ln.startswith("# fault-inject: make-it-fail ") for ln in header)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_outcome_notices_and_console_are_as_the_scenario_expects(name: str) -> None:
    s = SCENARIOS[name]
    r = _result(name)
    assert fiscenarios.outcome_problems(s, r) == []
    assert fiscenarios.notice_problems(s, r.dmesg) == []
    notices = r.dmesg.count("FAULT_INJECTION: forcing a failure.")
    assert len(re.findall(r"console: FAULT_INJECTION: forcing a failure\.", r.trace)) == notices


def test_default_fail_page_alloc_filters_live_trace_is_conformant() -> None:
    """probability 100, unlimited, on the workload: the kernel failed nothing, as the model's
    default filters say (FI-3), and the model accepts the whole trace."""
    report = check_trace(FI / "fi_page_alloc_default.trace.txt")
    assert report.divergences == [], report.format()
    assert report.counts["checks"] > 100


# The traces read whole now (the FAULT_INJECTION notice's second line continues its console
# event); what the checker says of them is the checker's.
# All conform, without the capture's kprobe_profile too: a failed bio without
# block_bio_queue is the fault injection's (kmodel/trace/faultinject.py), and the replays of
# the fault and of the swap-out fail it at the model's own should_fail_bio (the model's
# do_swap_page returns VM_FAULT_SIGBUS as the trace does; the write is re-dirtied).
_XFAIL: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=_XFAIL[name]) if name in _XFAIL else name
    for name in sorted(set(SCENARIOS) - {"fi_page_alloc_default"})])
def test_fault_injection_traces_are_conformant(name: str) -> None:
    report = check_trace(FI / f"{name}.trace.txt")
    assert report.divergences == []
