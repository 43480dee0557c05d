"""The swap-slot ledger (kmodel/trace/slots.py, G1) on real 6.1 captures with the slot probes.

tests/data/traces/slots/ holds untrimmed captures of one boot with ``folio_alloc_swap``,
``__swap_duplicate`` and ``__swap_entry_free_locked`` probed. Each planted bug of the model's
slot accounting (kmodel/mm/swapfile.py) makes a trace diverge at the line the trace itself
says it must (found here from the trace's text, not written down); a cut (lost events, missed
hits of a slot probe) makes the slot unknown instead.
"""

from __future__ import annotations

import lzma
import re
from pathlib import Path

import pytest

from kmodel.trace import check_trace
from kmodel.trace.check import Checker
from kmodel.trace.events import TraceEvent
from kmodel.trace.parse import LineScanner, _marked_lines, read_kprobe_profile
from kmodel.trace.report import CheckReport
from kmodel.trace.slots import SLOT_PROBES
from tests.trace.model_mutations import ModelMutation, planted

TRACES = Path(__file__).resolve().parents[1] / "data" / "traces"
SLOTS = TRACES / "slots"
NAMES = ("basic", "fork", "zram", "swapfile", "hogs2", "ssd", "random", "oom")

# The context of an event line: "task-pid (tgid) [cpu]".
_CTX = re.compile(r"^\s*(.*?\[\d+\])")


def _lines(name: str) -> list[str]:
    with lzma.open(SLOTS / f"{name}.trace.txt.xz", "rt") as f:
        return f.read().splitlines()


def _check(name: str, lines: list[str] | None = None,
           missed: dict[str, int] | None = None) -> tuple[CheckReport, Checker]:
    """Check a slots trace (or its edited ``lines``) in process; the report and the checker."""
    if missed is None:
        missed = read_kprobe_profile(SLOTS / f"{name}.kprobe_profile.txt")
    text = lines if lines is not None else _lines(name)
    checker = Checker(f"{name}.trace.txt", missed=missed)
    # the lines continuing a multi-line printk marked as open_trace marks them (oom's report)
    checker.feed_lines(LineScanner(f"{name}.trace.txt"),
                       _marked_lines((line + "\n" for line in text), f"{name}.trace.txt"))
    return checker.finish(), checker


def _ret_of(lines: list[str], i: int) -> int:
    """The index of the kretprobe return of the call at ``lines[i]`` (same context)."""
    ctx = _CTX.match(lines[i])
    assert ctx is not None
    func = lines[i].split(": (", 1)[0].rsplit(" ", 1)[-1]
    for j in range(i + 1, len(lines)):
        m = _CTX.match(lines[j])
        if m is not None and m.group(1) == ctx.group(1) and f"<- {func})" in lines[j]:
            return j
    raise AssertionError(f"no return of line {i + 1}")


def _first(lines: list[str], pattern: str) -> int:
    rx = re.compile(pattern)
    return next(i for i, line in enumerate(lines) if rx.search(line))


def _first_free(lines: list[str], usage: int, caller: str, ret: str = r"\d+") -> int:
    """The first ``__swap_entry_free_locked`` return of ``usage`` from ``caller``, by index."""
    for i, line in enumerate(lines):
        if " __swap_entry_free_locked: " in line and line.endswith(f" usage={usage}"):
            j = _ret_of(lines, i)
            if re.search(rf"\({caller}\+.* ret={ret}$", lines[j]):
                return j
    raise AssertionError(f"no free of usage {usage} from {caller}")


# -- the planted bugs ------------------------------------------------------------------------

#: __swap_entry_free_locked does not decrement the count (swap_free's map reference stays).
NO_DECREMENT = ModelMutation(
    "free_locked_no_decrement", "kmodel.mm.swapfile", "__swap_entry_free_locked",
    "count -= 1", "pass", "a dropped map reference is not subtracted")
#: swapcache_clear leaves an unused slot to nobody (no free_swap_slot).
CLEAR_KEEPS = ModelMutation(
    "swapcache_clear_keeps_slot", "kmodel.mm.swapfile", "swapcache_clear",
    "free_swap_slot(k, entry)", "pass", "swapcache_clear does not free an unused slot")
#: put_swap_folio leaves an unused slot to nobody (no free_swap_slot).
PUT_KEEPS = ModelMutation(
    "put_swap_folio_keeps_slot", "kmodel.mm.swapfile", "put_swap_folio",
    "free_swap_slot(k, entry)", "pass", "put_swap_folio does not free an unused slot")
#: __swap_duplicate does not add the new reference.
DUP_NO_COUNT = ModelMutation(
    "swap_duplicate_no_count", "kmodel.mm.swapfile", "__swap_duplicate",
    "count += usage", "pass", "swap_duplicate does not count the new reference")
#: The allocator hands out a slot without writing its swap_map.
ALLOC_UNMARKED = ModelMutation(
    "alloc_unmarked", "kmodel.mm.swapfile", "scan_swap_map_slot",
    "si.swap_map[offset] = usage  # WRITE_ONCE(si->swap_map[offset], usage)", "pass",
    "an allocated slot's swap_map is not set")
#: swap_entry_free (the slots cache's flush) leaves the slot at SWAP_HAS_CACHE.
FLUSH_KEEPS = ModelMutation(
    "swap_entry_free_keeps_cache", "kmodel.mm.swapfile", "swap_entry_free",
    "p.swap_map[offset] = 0", "pass", "a slot given back keeps SWAP_HAS_CACHE")


@pytest.mark.parametrize("name", NAMES)
def test_every_slots_capture_is_conformant_with_the_ledger_on(name: str) -> None:
    report, checker = _check(name)
    assert report.conformant, [d.message for d in report.divergences]
    assert checker.slots.active
    assert not checker.slots.missed and not checker.slots.trimmed
    # every allocation, duplicate, free and lookup of a known slot is compared
    assert checker.slots.compared > 500, checker.slots.compared


def test_a_trace_without_the_slot_probes_does_not_feed_the_ledger() -> None:
    checker = Checker("basic.trace.txt")
    with open(TRACES / "basic.trace.txt", encoding="ascii") as f:
        checker.feed_lines(LineScanner("basic.trace.txt"), f)
    report = checker.finish()
    assert report.conformant
    assert not checker.slots.active and checker.slots.compared == 0


def _diverges_at(name: str, mutation: ModelMutation, index: int,
                 lines: list[str] | None = None) -> None:
    lines = lines if lines is not None else _lines(name)
    with planted(mutation):
        report, _checker = _check(name, lines)
    assert not report.conformant, mutation.what
    first = report.divergences[0]
    assert first.lineno == index + 1, (first.lineno, first.line, first.message, index + 1)
    assert first.message.startswith("swap slot "), first.message


def test_a_map_reference_not_subtracted_diverges_at_the_first_swap_free() -> None:
    lines = _lines("basic")
    at = _first_free(lines, 1, "__swap_entry_free")  # do_swap_page's swap_free (or zap's)
    _diverges_at("basic", NO_DECREMENT, at, lines)


def test_swapcache_clear_not_freeing_diverges_where_the_kernel_frees() -> None:
    lines = _lines("zram")  # SWP_SYNCHRONOUS_IO: do_swap_page's swapcache_clear (DS-1)
    at = _first_free(lines, 64, "swapcache_clear", ret="0")
    _diverges_at("zram", CLEAR_KEEPS, at, lines)


def test_put_swap_folio_not_freeing_diverges_where_the_kernel_frees() -> None:
    lines = _lines("basic")  # reclaim's delete_from_swap_cache of a clean page's slot
    at = _first_free(lines, 64, "put_swap_folio", ret="0")
    _diverges_at("basic", PUT_KEEPS, at, lines)


def test_an_unmarked_allocation_diverges_at_the_slots_next_operation() -> None:
    lines = _lines("basic")
    alloc = _first(lines, r" folio_alloc_swap_ret: .* entry=0x[1-9a-f]")
    entry = int(lines[alloc].rsplit("entry=", 1)[1], 16)
    nxt = next(i for i in range(alloc + 1, len(lines))
               if f" __swap_duplicate: (__swap_duplicate+0x0/0x200) entry={entry:#x} " in
               lines[i] + " " or (" __swap_entry_free_locked: " in lines[i]
                                  and f" offset={entry} " in lines[i]))
    _diverges_at("basic", ALLOC_UNMARKED, _ret_of(lines, nxt), lines)


def test_a_duplicate_not_counted_diverges_at_a_duplicated_slot() -> None:
    lines = _lines("fork")
    with planted(DUP_NO_COUNT):
        report, _checker = _check("fork", lines)
    assert not report.conformant
    first = report.divergences[0]
    assert first.message.startswith("swap slot "), first.message
    slot = re.search(r"swap slot swp\((\d+):(0x[0-9a-f]+)\)", first.message)
    assert slot is not None, first.message
    entry = int(slot.group(2), 16)  # type 0: swp_entry_t.val is the offset
    # a slot that some earlier swap_duplicate (fork, try_to_unmap_one) counted
    assert any(f"entry={entry:#x} usage=1" in line for line in lines[:first.lineno]), entry


def test_a_slot_given_back_with_its_cache_bit_diverges_at_its_reallocation() -> None:
    lines = _lines("basic")
    with planted(FLUSH_KEEPS):
        report, _checker = _check("basic", lines)
    assert not report.conformant
    first = report.divergences[0]
    # the first free the kernel reports as 0 (unused) after the model kept SWAP_HAS_CACHE:
    # the slot's next free compares its value left, or its next allocation finds it in use
    assert first.message.startswith("swap slot "), first.message
    assert " folio_alloc_swap_ret: " in first.line or "__swap_entry_free_locked_ret" in (
        first.line) or "__swap_duplicate_ret" in first.line, first.line


def test_lost_events_make_the_slots_unknown_not_divergent() -> None:
    lines = _lines("basic")
    at = _first_free(lines, 1, "__swap_entry_free")
    call = max(i for i in range(at) if " __swap_entry_free_locked: " in lines[i]
               and _CTX.match(lines[i]) and _ret_of(lines, i) == at)
    cut = [*lines[:call], "CPU:0 [LOST 3 EVENTS]", *lines[call:]]
    with planted(NO_DECREMENT):
        report, checker = _check("basic", cut)
    # the slot was allocated before the cut: its free re-establishes it, no divergence there
    assert all(d.lineno != at + 2 for d in report.divergences), report.divergences[:1]
    assert report.counts.get("unknown:lost-markers") == 1
    assert checker.slots.active


@pytest.mark.parametrize("probe", ["__swap_entry_free_locked", "__swap_entry_free_locked_ret",
                                   "folio_alloc_swap_ret", "__swap_duplicate"])
def test_missed_hits_of_a_slot_probe_turn_the_comparisons_to_unknown(probe: str) -> None:
    assert probe in SLOT_PROBES
    missed = {**read_kprobe_profile(SLOTS / "basic.kprobe_profile.txt"), probe: 1}
    with planted(NO_DECREMENT):
        report, checker = _check("basic", missed=missed)
    assert not any(d.message.startswith("swap slot ") for d in report.divergences)
    assert checker.slots.compared == 0
    assert report.counts.get(f"unknown:slot-ledger-missed-hit:{checker.slots.missed[0]}", 0) > 0


def test_check_trace_reads_a_compressed_slots_capture() -> None:
    report = check_trace(SLOTS / "basic.trace.txt.xz",
                         missed=read_kprobe_profile(SLOTS / "basic.kprobe_profile.txt"))
    assert report.conformant and report.counts["events"] > 10000


# -- a fault's own slot operations (G2): the model's, compared in the fault's replay -----------

#: _do_swap_page without its swap_free: the PTE's map reference is never dropped.
NO_SWAP_FREE = ModelMutation(
    "do_swap_page_no_swap_free", "kmodel.mm.memory", "_do_swap_page",
    "    swap_free(k, entry)\n", "    pass\n", "do_swap_page does not call swap_free")
#: _do_swap_page never frees the slot of a page it maps (no folio_free_swap).
NO_FOLIO_FREE_SWAP = ModelMutation(
    "do_swap_page_no_folio_free_swap", "kmodel.mm.memory", "_do_swap_page",
    "        folio_free_swap(k, folio)\n", "        pass\n",
    "do_swap_page does not call folio_free_swap")
#: should_try_to_free_swap takes swap for full when it is not (mem_cgroup_swap_full flipped).
SWAP_FULL_FLIPPED = ModelMutation(
    "swap_full_flipped", "kmodel.mm.memory", "should_try_to_free_swap",
    "sis.inuse_pages * 2 > sis.pages", "sis.inuse_pages * 2 <= sis.pages",
    "should_try_to_free_swap's half-full test flipped")
#: should_try_to_free_swap frees on a read fault too (FAULT_FLAG_WRITE not tested).
ANY_FAULT_FREES = ModelMutation(
    "free_swap_on_read_fault", "kmodel.mm.memory", "should_try_to_free_swap",
    "bool(fault_flags & FaultFlag.FAULT_FLAG_WRITE) and ", "",
    "should_try_to_free_swap ignores FAULT_FLAG_WRITE")
#: should_try_to_free_swap's refcount test inverted.
REFCOUNT_FLIPPED = ModelMutation(
    "free_swap_refcount_flipped", "kmodel.mm.memory", "should_try_to_free_swap",
    "folio.refcount == 2", "folio.refcount != 2", "should_try_to_free_swap's refcount flipped")
#: do_swap_page's SWP_SYNCHRONOUS_IO path never drops the SWAP_HAS_CACHE it took.
NO_CLEAR_CACHE = ModelMutation(
    "need_clear_cache_never_set", "kmodel.mm.memory", "_do_swap_page",
    "need_clear_cache = True", "need_clear_cache = False", "need_clear_cache never set")


def _fault_frees(lines: list[str]) -> list[tuple[int, int, str, int, int]]:
    """The ``__swap_entry_free_locked`` calls inside faults (between a context's
    ``do_swap_page`` and its return), in order: (call index, return index, the return's
    caller, its value left, the index of the context's next event after the return)."""
    open_faults: dict[str, int] = {}
    out: list[tuple[int, int, str, int, int]] = []
    for i, line in enumerate(lines):
        m = _CTX.match(line)
        if m is None or "..s" in line[:80]:
            continue
        ctx = m.group(1)
        if " do_swap_page: " in line:
            open_faults[ctx] = i
        elif " do_swap_page_ret: " in line:
            open_faults.pop(ctx, None)
        elif " __swap_entry_free_locked: " in line and ctx in open_faults:
            j = _ret_of(lines, i)
            caller = re.search(r"\((\w+)\+", lines[j])
            assert caller is not None
            nxt = next(n for n in range(j + 1, len(lines))
                       if (c := _CTX.match(lines[n])) is not None and c.group(1) == ctx)
            out.append((i, j, caller.group(1), int(lines[j].rsplit("ret=", 1)[1]), nxt))
    return out


def _fault_diverges_at(name: str, mutation: ModelMutation, index: int) -> None:
    """The planted model makes the fault's replay diverge at ``lines[index]``."""
    with planted(mutation):
        report, checker = _check(name)
    assert not report.conformant, mutation.what
    first = report.divergences[0]
    assert first.lineno == index + 1, (first.lineno, first.line, first.message, index + 1)
    assert first.message.startswith("do_swap_page of "), first.message
    assert checker.slots.active


@pytest.mark.parametrize("name", ["basic", "zram", "fork"])
def test_do_swap_page_without_swap_free_diverges_at_the_kernels_swap_free(name: str) -> None:
    lines = _lines(name)
    at = next(i for i, _j, caller, _r, _n in _fault_frees(lines) if caller == "__swap_entry_free")
    _fault_diverges_at(name, NO_SWAP_FREE, at)


@pytest.mark.parametrize("name", ["basic", "fork"])
@pytest.mark.parametrize("mutation", [SWAP_FULL_FLIPPED, ANY_FAULT_FREES],
                         ids=lambda m: m.name)
def test_a_slot_freed_where_the_kernel_keeps_it_diverges_at_the_faults_return(
        name: str, mutation: ModelMutation) -> None:
    # the first swap_free leaving only SWAP_HAS_CACHE (no other PTE: folio_free_swap would
    # free it) after which the kernel returns without put_swap_folio
    lines = _lines(name)
    at = next(n for _i, _j, caller, ret, n in _fault_frees(lines)
              if caller == "__swap_entry_free" and ret == 64 and " do_swap_page_ret: " in lines[n])
    _fault_diverges_at(name, mutation, at)


@pytest.mark.parametrize("name", ["basic", "fork"])
def test_do_swap_page_without_folio_free_swap_diverges_at_the_kernels_put_swap_folio(
        name: str) -> None:
    lines = _lines(name)
    frees = _fault_frees(lines)
    at = next(frees[k + 1][0] for k in range(len(frees) - 1)
              if frees[k][2] == "__swap_entry_free" and frees[k + 1][2] == "put_swap_folio"
              and frees[k + 1][0] == frees[k][4])
    _fault_diverges_at(name, NO_FOLIO_FREE_SWAP, at)


def test_a_refcount_test_flipped_diverges_at_the_kernels_put_swap_folio() -> None:
    # fork: a write fault on a page read into the swap cache by its own readahead (refcount
    # 2, the model's own) frees its slot; the flipped test keeps it
    lines = _lines("fork")
    frees = _fault_frees(lines)
    at = next(frees[k + 1][0] for k in range(len(frees) - 1)
              if frees[k][2] == "__swap_entry_free" and frees[k + 1][2] == "put_swap_folio"
              and frees[k + 1][0] == frees[k][4])
    _fault_diverges_at("fork", REFCOUNT_FLIPPED, at)


def test_need_clear_cache_never_set_diverges_at_the_kernels_swapcache_clear() -> None:
    lines = _lines("zram")  # SWP_SYNCHRONOUS_IO: DS-1 takes SWAP_HAS_CACHE, then drops it
    at = next(i for i, _j, caller, _r, _n in _fault_frees(lines) if caller == "swapcache_clear")
    _fault_diverges_at("zram", NO_CLEAR_CACHE, at)


def test_the_faults_slot_operations_are_compared_only_with_the_slot_probes() -> None:
    # a trace without the slot probes: the model's slot events are not in it and are ignored
    checker = Checker("basic.trace.txt")
    with open(TRACES / "basic.trace.txt", encoding="ascii") as f:
        checker.feed_lines(LineScanner("basic.trace.txt"), f)
    assert checker.finish().conformant
    with planted(NO_SWAP_FREE):
        checker = Checker("basic.trace.txt")
        with open(TRACES / "basic.trace.txt", encoding="ascii") as f:
            checker.feed_lines(LineScanner("basic.trace.txt"), f)
        report = checker.finish()
    assert not any("__swap_entry_free_locked" in d.message for d in report.divergences)


def test_a_fault_whose_slot_count_is_unknown_skips_its_slot_comparisons() -> None:
    # lost events before the first fault: every slot unknown until the ledger learns it
    # again; such faults drop their slot events (counted) instead of diverging
    lines = _lines("basic")
    whole, _checker = _check("basic")
    assert whole.counts["checks:fault-slots"] > 100
    # faults with reclaim's slot operations inside them are left to the ledger too
    reclaimed = whole.counts.get("checks:fault-slots-not-known", 0)
    first = _first(lines, r" do_swap_page: ")
    cut = [*lines[:first], "CPU:0 [LOST 3 EVENTS]", *lines[first:]]
    report, _checker = _check("basic", cut)
    assert report.conformant, [d.message for d in report.divergences[:2]]
    assert report.counts.get("checks:fault-slots-not-known", 0) > reclaimed
    assert report.counts["checks:fault-slots"] < whole.counts["checks:fault-slots"]
    with planted(NO_SWAP_FREE):
        report, _checker = _check("basic", cut)
    assert not report.conformant  # the slots known again are compared


def _slot_ops(names_args: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
    """A fault's slot events as (event, what identifies it apart from the slot)."""
    out = []
    for name, args in names_args:
        if name in ("__swap_duplicate", "__swap_entry_free_locked"):
            out.append((name, f"usage={args['usage']}"))
        elif name in ("__swap_duplicate_ret", "__swap_entry_free_locked_ret"):
            out.append((name, f"ret={args['ret']} caller={args['caller']}"))
    return out


def test_the_models_synchronous_fault_makes_the_kernels_slot_operations() -> None:
    # the first DS-1 fault of the real zram capture (swapcache_prepare inlined in
    # do_swap_page, swap_free, swapcache_clear) against the model's own on a zram machine
    from kmodel.trace.simulate import TraceWriter
    from tests.helpers import swapped_out

    lines = _lines("zram")
    start = _first(lines, r" do_swap_page: .*fault_flags=0x[0-9a-f]*[02468ace] ")  # a read
    ctx = _CTX.match(lines[start])
    assert ctx is not None
    end = next(i for i in range(start, len(lines)) if " do_swap_page_ret: " in lines[i]
               and lines[i].startswith(ctx.group(0)))
    window = _events_of(lines[start:end + 1])
    events = [e for e in window if e.context.pid == window[0].context.pid]
    kernel = _slot_ops([(e.name, dict(e.args)) for e in events])
    assert [n for n, _ in kernel] == ["__swap_duplicate", "__swap_duplicate_ret",
                                      "__swap_entry_free_locked", "__swap_entry_free_locked_ret",
                                      "__swap_entry_free_locked", "__swap_entry_free_locked_ret"]
    m, t, addr, rec = swapped_out(8, disk="zram")
    m.load(t, addr)
    model = [(e.name, {k: str(v) for k, v in e.args} | {
        "caller": TraceWriter._caller(e) if e.name.endswith("_ret") else ""})
        for e in rec.events]
    # the model's callers as the kretprobe prints them (swapcache_prepare is inlined)
    model = [(n, a | {"caller": a["caller"].replace("swapcache_prepare", "do_swap_page")})
             for n, a in model]
    assert _slot_ops(model) == kernel


def _events_of(lines: list[str]) -> list[TraceEvent]:
    from kmodel.trace.parse import parse_event_line

    return [parse_event_line(line, "zram.trace.txt", n + 1) for n, line in enumerate(lines)]


def test_kmodel_simulate_leaves_the_models_slot_events_out() -> None:
    import io

    from kmodel.trace.simulate import simulate

    out = io.StringIO()
    simulate("basic", out, events=400)
    text = out.getvalue()
    assert " do_swap_page: " in text
    assert "__swap_duplicate" not in text and "__swap_entry_free_locked" not in text


def _conforms_yet_a_slot_bug_diverges(path: Path) -> CheckReport:
    """``path``'s report, conformant; a planted slot bug (NO_DECREMENT) still diverges."""
    report = check_trace(path)
    assert report.divergences == [], report.format()
    with planted(NO_DECREMENT):
        assert check_trace(path, max_divergences=1).divergences
    return report


def test_a_coarse_clock_makes_overlapping_slot_operations_unknown_not_divergent() -> None:
    """A real 6.1 fork capture at trace_clock uptime (jiffies: 33 % of cross-CPU neighbours
    tie), whole, with the slot probes: two contexts' operations on one slot within one jiffy
    may have taken its lock in either order, so the slot is forgotten there, never judged on
    print order; a planted slot bug still diverges."""
    report = _conforms_yet_a_slot_bug_diverges(TRACES / "clocks" /
                                               "fork_uptime_whole.trace.txt.xz")
    assert report.counts["unknown:slot-ledger-concurrent"] > 0
    assert report.counts["events"] > 10_000


def test_reclaim_inside_a_fault_is_not_taken_for_the_faults_own_slot_operations() -> None:
    """A live readerr_scsi capture (CI, whole, slot probes): reclaim inside a fault's page
    allocation drops the SWAP_HAS_CACHE of the fault's own slot (put_swap_folio, line 5580's
    fault). It was compared as the fault's own folio_free_swap and diverged; a put_swap_folio
    not after the fault's swap_free of that slot is reclaim's, and a fault with reclaim in it
    has its slot operations left to the ledger. A planted slot bug still diverges."""
    report = _conforms_yet_a_slot_bug_diverges(SLOTS / "readerr_scsi_reclaim.trace.txt.xz")
    assert report.counts["checks:fault-slots-not-known"] > 0
    assert report.counts["checks:fault-slots"] > 40


def test_lost_events_right_after_a_mismatch_make_it_unknown() -> None:
    """A mismatch is held until the trace's time moves past it (another context's operation
    printed after it may have come first); events lost before then may have held just such an
    operation: the mismatch is then unknown, not a divergence."""
    lines = _lines("basic")
    at = _first_free(lines, 1, "__swap_entry_free")  # NO_DECREMENT's first divergence
    with planted(NO_DECREMENT):
        judged, _checker = _check("basic")
    assert judged.divergences[0].lineno == at + 1
    cut = [*lines[:at + 1], "CPU:1 [LOST 3 EVENTS]", *lines[at + 1:]]
    with planted(NO_DECREMENT):
        report, _checker = _check("basic", cut)
    assert all(d.lineno != at + 1 for d in report.divergences)
    assert report.counts["unknown:slot-ledger-concurrent"] >= 1


def test_a_caller_hidden_by_another_tracers_kretprobe_is_not_compared() -> None:
    """CI's live readerr_blkdebug traced by tracefs while bpftrace probed the same functions:
    a kretprobe's return address is then the other kretprobe's trampoline, and tracefs prints
    the caller as ``[unknown/kretprobe'd]``. The fault's slot returns were compared with the
    model's caller and diverged (36 times); an unknown caller is not compared."""
    path = SLOTS / "readerr_blkdebug_with_bpftrace.trace.txt.xz"
    with lzma.open(path, "rt") as f:
        assert "[unknown/kretprobe'd] <- __swap_duplicate)" in f.read()
    report = _conforms_yet_a_slot_bug_diverges(path)  # the ledger still holds the kernel
    assert report.counts["checks:fault-slots"] >= 1


#: should_try_to_free_swap never finds swap full (mem_cgroup_swap_full always false).
NEVER_FULL = ModelMutation(
    "swap_never_full", "kmodel.mm.memory", "should_try_to_free_swap",
    "sis.inuse_pages * 2 > sis.pages", "False",
    "should_try_to_free_swap never takes swap for half full")


def _fault_flags(line: str) -> int:
    m = re.search(r"fault_flags=(0x[0-9a-f]+)", line)
    assert m is not None, line
    return int(m[1], 16)


def test_a_read_fault_freeing_its_slot_under_a_full_memcg_is_the_models_swap_full() -> None:
    # oom: memory.swap.max=1M, so mem_cgroup_swap_full holds once 128 of the memcg's pages are
    # in swap and read faults free their slots (folio_free_swap's put_swap_folio). Neither
    # count is in the trace: the replay tries "full" after "not full" for a read fault that
    # freed (a live capture diverged here before). A model that never finds swap full must
    # still diverge there, at the kernel's put_swap_folio.
    lines = _lines("oom")
    frees = _fault_frees(lines)
    fault_of: dict[int, int] = {}
    start = -1
    for i, line in enumerate(lines):
        if " do_swap_page: " in line:
            start = i
        fault_of[i] = start
    at = next(frees[k + 1][0] for k in range(len(frees) - 1)
              if frees[k][2] == "__swap_entry_free" and frees[k + 1][2] == "put_swap_folio"
              and frees[k + 1][0] == frees[k][4]
              and not _fault_flags(lines[fault_of[frees[k][0]]]) & 1)
    _fault_diverges_at("oom", NEVER_FULL, at)
