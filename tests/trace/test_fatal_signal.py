"""A SIGKILL generated during a fault is an input of its replay (FM-2's killable wait).

tests/data/traces/slots/readerr_flakey_oomkill is a real 6.1 capture of the readerr_flakey
scenario in which the memcg OOM killer killed memhog inside a fault's readahead allocation
(``signal_generate: sig=9`` in memhog's own context): the fault then returned VM_FAULT_MAJOR |
VM_FAULT_RETRY without waiting for its page's read, as __folio_lock_or_retry's killable wait
does with SIGKILL pending (mm/filemap.c:1746-1750). The checker took that for a divergence
until the signal was fed to the model's task.
"""

from __future__ import annotations

import pytest

from tests.trace.model_mutations import ModelMutation, planted
from tests.trace.test_slot_ledger import _check, _lines

NAME = "readerr_flakey_oomkill"

#: The killable wait for the unlock ignores SIGKILL (folio_wait_locked, not _killable).
KILL_IGNORED = ModelMutation(
    "killable_wait_ignores_sigkill", "kmodel.mm.filemap", "__folio_lock_or_retry",
    "folio_wait_locked_killable(k, folio)", "folio_wait_locked(k, folio)",
    "the fault's killable wait for the page lock ignores a pending SIGKILL")

branch = pytest.mark.branch


def _killed_fault_return(lines: list[str]) -> int:
    """The index of the return of the fault during which memhog was sent SIGKILL."""
    kill = next(i for i, line in enumerate(lines) if " signal_generate: sig=9 " in line)
    start = max(i for i in range(kill) if " do_swap_page: " in lines[i]
                and lines[i].lstrip().startswith("memhog-"))
    ret = next(i for i in range(kill, len(lines)) if " do_swap_page_ret: " in lines[i]
               and lines[i].lstrip().startswith("memhog-"))
    assert start < kill < ret and lines[ret].endswith(" ret=0x404"), lines[ret]
    return ret


@branch("FM-2", "DS-5")
def test_the_oom_killed_fault_conforms_with_the_signal_fed_to_the_model() -> None:
    report, checker = _check(NAME)
    assert report.conformant, [d.message for d in report.divergences]
    assert checker.slots.active


@branch("FM-2", "DS-5")
def test_a_killable_wait_that_ignores_sigkill_diverges_at_the_faults_return() -> None:
    lines = _lines(NAME)
    at = _killed_fault_return(lines)
    with planted(KILL_IGNORED):
        report, _checker = _check(NAME)
    assert not report.conformant, KILL_IGNORED.what
    first = report.divergences[0]
    assert first.lineno == at + 1, (first.lineno, first.message)
    assert first.message.startswith("do_swap_page of "), first.message


def test_without_the_signal_generate_line_the_fault_diverges() -> None:
    # the kill is the trace's, not assumed: drop its line and the model waits for the read
    lines = _lines(NAME)
    at = _killed_fault_return(lines)
    kill = next(i for i, line in enumerate(lines) if " signal_generate: sig=9 " in line)
    report, _checker = _check(NAME, lines[:kill] + lines[kill + 1:])
    assert not report.conformant
    assert report.divergences[0].lineno == at, report.divergences[0].message  # one line less
