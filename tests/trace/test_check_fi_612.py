"""``kmodel check`` on the 6.12 fault-injection captures (tests/data/traces/fi/v6_12/).

Captured by ``kmodel capture --kernel 6.12-fi`` (Debian 13's linux-source-6.12 6.12.118-1,
tinyconfig + fikernel.FRAGMENT_6_12, zswap built in and off at boot; the nine scenarios from
one boot, with the should_fail_alloc_page probe); the traces whole, xz. Their ``# kernel:
6.12.118`` line sends them to the 6.12 checker, which drives the model's ``should_fail`` from
their ``# fault-inject:`` header as the 6.1 checker does (kmodel/trace/faultinject.py).
"""

from __future__ import annotations

import io
import lzma
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from kmodel.capture import fiscenarios, verify
from kmodel.lib import fault_inject
from kmodel.trace import check_trace
from kmodel.trace.check_6_12 import trace_kernel
from kmodel.trace.parse import read_kprobe_profile
from kmodel.trace.report import CheckReport

V612 = Path(__file__).resolve().parents[1] / "data" / "traces" / "fi" / "v6_12"
NAMES = sorted(p.name.removesuffix(".trace.txt.xz") for p in V612.glob("*.trace.txt.xz"))
SCENARIOS = {s.name: s for s in fiscenarios.FI_SCENARIOS}
#: The captures whose swap bios fail by fail_make_request.
MKREQ = tuple(n for n in NAMES if SCENARIOS[n].attr == "fail_make_request")


def _text(name: str) -> str:
    with lzma.open(V612 / f"{name}.trace.txt.xz", "rt") as f:
        return f.read()


def _check(name: str, edit: Callable[[str], str] = lambda t: t) -> CheckReport:
    return check_trace(io.StringIO(edit(_text(name))), name=f"{name}.trace.txt",
                       kernel="6.12", max_divergences=50,
                       missed=read_kprobe_profile(V612 / f"{name}.kprobe_profile.txt"))


def _fi(report: CheckReport) -> list[str]:
    return [d.message for d in report.divergences
            if any(b.startswith("FI-") for b in d.branches)]


def test_the_6_12_captures_include_fail_make_request_times_and_space() -> None:
    assert {"fi_mkreq_times", "fi_mkreq_space"} <= set(MKREQ), NAMES


@pytest.mark.parametrize("name", NAMES)
def test_a_6_12_capture_is_what_its_scenario_expects(name: str) -> None:
    """The harness's own acceptance, on the committed files: the workload's end (SIGBUS for
    the reads), the notices naming the attr, one Read-/Write-error alert per notice."""
    s = SCENARIOS[name]

    def text(suffix: str) -> str:
        return (V612 / f"{name}.{suffix}.txt").read_text()

    r = verify.Result(text("log"), _text(name), text("dmesg"), text("kprobe_profile"))
    assert fiscenarios.outcome_problems(s, r) == []
    assert fiscenarios.notice_problems(s, r.dmesg) == []
    header = [ln for ln in r.trace.splitlines() if ln.startswith("#")]
    assert header[0].startswith(f"# kmodel capture: scenario={name} "
                                "kernel=fault-injection-6.12.118 version=6.12.118-1")
    assert any(ln.startswith(f"# fault-inject: {s.attr} ") for ln in header)


@pytest.mark.parametrize("name", NAMES)
def test_a_6_12_capture_is_read_as_6_12_and_conforms(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.trace.txt"
    path.write_text(_text(name))
    assert trace_kernel(path) == "6.12"
    report = _check(name)
    assert report.divergences == [], report.format()


@pytest.mark.parametrize("name", MKREQ)
def test_each_swap_bio_is_one_call_of_the_models_should_fail(name: str) -> None:
    """Without its fail_make_request header line the checker makes no should_fail call:
    the checks the header adds are one per swap bio submitted since arming, plus one per
    failed bio's status, plus one per call's notices."""
    report = _check(name)
    headless = _check(name, lambda t: re.sub(r"(?m)^# fault-inject: fail_make_request .*\n",
                                             "", t))
    text = _text(name)
    failed = len(re.findall(r"__end_swap_bio_(?:read|write): .* bi_status=10 ", text))
    assert failed >= 1
    assert report.counts["checks"] - headless.counts["checks"] >= 3 * failed


def test_a_recorded_times_the_kernel_did_not_have_diverges() -> None:
    """times=1 recorded for fi_mkreq_times (the kernel had 3): after the first failed read,
    a read without block_bio_queue is one the model's should_fail_bio passes."""
    text = _text("fi_mkreq_times")
    failed = len(re.findall(r"__end_swap_bio_read: .* bi_status=10 ", text))
    if failed < 2:
        pytest.skip("this capture's workload died at its first failed read")
    messages = _fi(_check("fi_mkreq_times", lambda t: t.replace(
        "fail_make_request probability=100 interval=1 times=3",
        "fail_make_request probability=100 interval=1 times=1", 1)))
    assert any("the model's should_fail_bio passes it" in m for m in messages), messages


def test_a_space_the_kernel_did_not_have_diverges() -> None:
    """space 65536 recorded as 61440: the model fails the 15th read, the kernel queued it."""
    messages = _fi(_check("fi_mkreq_space", lambda t: t.replace(
        " space=65536 ", " space=61440 ", 1)))
    assert any("the model's should_fail_bio fails this bio" in m for m in messages), messages


def test_should_fail_mutant_makes_the_6_12_captures_diverge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A should_fail_ex whose space check is >= instead of > (lib/fault-inject.c)."""
    real = fault_inject.should_fail_ex

    def mutant(k: object, attr: fault_inject.FaultAttr, size: int, flags: int = 0) -> bool:
        if attr.space and attr.space >= size and attr.space - size == 0:
            attr.space = 0
            return False
        return real(k, attr, size, flags)  # type: ignore[arg-type]

    monkeypatch.setattr(fault_inject, "should_fail_ex", mutant)
    assert _fi(_check("fi_mkreq_space")) != []


def _without_zswap(text: str) -> str:
    """The capture as a build without CONFIG_ZSWAP records it (the one before 2026-12-06):
    no zswap module parameters (`enabled=` empty), zswap_store/zswap_load inline stubs that
    no probe sees (include/linux/zswap.h:42-50)."""
    text = re.sub(r"(?m)^# zswap: .*$", "# zswap: enabled= compressor= zpool= "
                  "max_pool_percent=", text, count=1)
    return re.sub(r"(?m)^.* zswap_(?:store|load)(?:_ret)?: .*\n", "", text)


def test_the_6_12_captures_record_zswap() -> None:
    """The build has CONFIG_ZSWAP (off at boot, lzo, zsmalloc, as Debian 13's image): each
    swap-out and read shows zswap's answer, which the replay takes (no-zswap: none)."""
    text = _text("fi_mkreq_times")
    assert "\n# zswap: enabled=N compressor=lzo zpool=zsmalloc " in text
    stores = re.findall(r" zswap_store_ret: .* ret=(\d+)$", text, re.M)
    assert stores and set(stores) == {"0"}  # off at boot: no store keeps a folio
    report = _check("fi_mkreq_times")
    assert not any("no-zswap-in-this-kernel" in key for key in report.counts)


def test_without_zswap_in_the_kernel_swap_outs_are_not_replayed() -> None:
    """A build without CONFIG_ZSWAP (the header's `enabled=` empty): no zswap_store event
    exists, so the replay, which takes a swap-out without one for a zero-filled folio's,
    would misread each (ZM-1, as with `enabled=N`); such calls are unknown."""
    report = _check("fi_mkreq_times", _without_zswap)
    assert report.divergences == [], report.format()
    assert report.counts["unknown:not-replayed-6.12:no-zswap-in-this-kernel:swap_writepage"] > 0
    as_n = _check("fi_mkreq_times", lambda t: _without_zswap(t).replace(
        "# zswap: enabled= ", "# zswap: enabled=N ", 1))
    assert any("ZM-1" in d.branches for d in as_n.divergences)


def _allocations_since_arming(name: str) -> list[str]:
    lines = _text(name).splitlines()
    armed = next(i for i, ln in enumerate(lines)
                 if re.match(r"\s*tee-\d+ .* signal_generate: sig=17 ", ln))
    return [ln for ln in lines[armed:] if "should_fail_alloc_page_ret: " in ln]


@pytest.mark.parametrize("name", ("fi_page_alloc_default", "fi_page_alloc_relaxed"))
def test_each_page_allocation_is_a_call_of_the_models_should_fail_alloc_page(name: str) -> None:
    """The 6.12 FI capture probes should_fail_alloc_page in the workload: since arming, each
    call's gfp_mask and order run the model's should_fail_alloc_page (filters, then
    should_fail_ex), whose verdict is the return and whose notices the trace's (two checks
    per call, none without the header line)."""
    line = next(ln for ln in _text(name).splitlines()
                if ln.startswith("# fault-inject: fail_page_alloc "))
    report = _check(name)
    headless = _check(name, lambda t: t.replace(line + "\n", "", 1))
    calls = _allocations_since_arming(name)
    assert len(calls) > 100 and _fi(report) == []
    assert report.counts["checks"] - headless.counts["checks"] == 2 * len(calls)
    failed = [ln for ln in calls if ln.endswith(" ret=1")]
    assert len(failed) == (1 if name == "fi_page_alloc_relaxed" else 0)


def test_relaxed_filters_recorded_for_the_default_run_diverge() -> None:
    """fi_page_alloc_default with its filters recorded as relaxed: the model fails the
    workload's first order-0 allocation, which the kernel's default filters let through."""
    messages = _fi(_check("fi_page_alloc_default", lambda t: t.replace(
        "ignore-gfp-wait=Y ignore-gfp-highmem=Y min-order=1",
        "ignore-gfp-wait=N ignore-gfp-highmem=N min-order=0", 1)))
    assert messages and "returns 0 in the trace; the model's returns 1" in messages[0], messages


def test_the_fail_page_alloc_notice_is_checked_on_6_12_too() -> None:
    """fi_page_alloc_relaxed with times 0 recorded: the call the kernel failed (ret=1, a
    notice) is one the model's should_fail_alloc_page passes."""
    line = next(ln for ln in _text("fi_page_alloc_relaxed").splitlines()
                if ln.startswith("# fault-inject: fail_page_alloc "))
    spent = _fi(_check("fi_page_alloc_relaxed", lambda t: t.replace(
        line, line.replace(" times=1 ", " times=0 "), 1)))
    assert any("returns 1 in the trace; the model's returns 0" in m for m in spent), spent
    assert any("the model's fail_dump printed [] for this allocation" in m for m in spent), spent
