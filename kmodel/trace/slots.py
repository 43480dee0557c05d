"""The swap-slot ledger: each slot's ``swap_map`` carried through a 6.1 trace, on the model.

Every change of a slot's ``swap_map`` in Linux 6.1.176 goes through one of three functions the
capture probes (kmodel/capture/probes.py): ``folio_alloc_swap`` (the slot add_to_swap gets,
mm/swap_slots.c:302), ``__swap_duplicate`` (swap_duplicate of fork and try_to_unmap_one, and
swapcache_prepare: mm/swapfile.c:3293) and ``__swap_entry_free_locked`` (swap_free,
free_swap_and_cache, put_swap_folio, swapcache_clear: mm/swapfile.c:1184). The ledger is a
model :class:`~kmodel.include.linux.swap.SwapInfo` per swap type: each probed operation is fed
to the model's own function (``scan_swap_map_slot``, ``__swap_duplicate``, ``__swap_entry_free``,
``put_swap_folio``, ``swapcache_clear``; kmodel/mm/swapfile.py) and what the kernel shows is
held to what the model's swap_map says:

* a slot ``folio_alloc_swap`` returns must be free in the model;
* ``__swap_duplicate``'s return (0, -EEXIST, -ENOENT) must be the model's;
* ``__swap_entry_free_locked``'s return (the count and SWAP_HAS_CACHE left) must be the model's;
* a ``__read_swap_cache_async`` lookup the kernel found cached (a page, no swapcache_prepare)
  must find SWAP_HAS_CACHE in the model, one it found free (no page, no swapcache_prepare) a
  swap count of 0.

A slot is known from its area's swapon (the first ``add_swap_extent``: every slot free), from
its allocation, or from a ``__swap_entry_free_locked`` return (which shows its whole value).
A cut (lost events) makes every slot unknown; a divergence makes its slot unknown; missed hits
of one of these probes (kprobe_profile) and a trimmed trace (its dropped slots' frees are not in
it) turn the comparisons off: they are counted as unknown, never divergent. A trace without
these probes never feeds the ledger: it checks exactly as before.

Concurrency: ``__swap_duplicate`` takes the slot's lock inside the probed call, so two calls on
one slot from two contexts whose probed spans overlap (a span from the call's timestamp to its
return's; equal timestamps overlap, as a coarse clock's ties do) may have taken the lock in
either order, whatever order tracefs printed them in. The ledger then forgets the slot (counted
``unknown:slot-ledger-concurrent``) rather than judge one order; a mismatch is reported only
once the trace's time has moved past its operation with no such overlapping operation printed
after it.

The kernel's swap-slots cache (mm/swap_slots.c) keeps a slot freed to it at SWAP_HAS_CACHE until
its CPU's return cache is flushed by swapcache_free_entries (not probed); the model frees it at
once (``free_swap_slot``). The ledger remembers such slots as *returned*: a ``__swap_duplicate``
of one may find the kernel's SWAP_HAS_CACHE (-EEXIST) or the flushed 0 (-ENOENT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from kmodel.errors import KernelBug
from kmodel.executor.base import Executor
from kmodel.include.linux.mm_types import Folio, SwapEntry
from kmodel.include.linux.swap import SWAP_HAS_CACHE, SwapInfo, SwpFlags
from kmodel.kernel import Kernel
from kmodel.mm import swapfile

if TYPE_CHECKING:
    from kmodel.trace.check import _Event

__all__ = ["SLOT_EVENTS", "SLOT_PROBES", "SlotLedger"]

#: The probes the ledger needs (kprobe_profile names) and the events it reads.
SLOT_PROBES = ("folio_alloc_swap", "folio_alloc_swap_ret", "__swap_duplicate",
               "__swap_duplicate_ret", "__swap_entry_free_locked",
               "__swap_entry_free_locked_ret")
SLOT_EVENTS = frozenset(SLOT_PROBES)
#: Events of a fault the ledger also reads (the swap cache lookups).
LOOKUP_EVENTS = frozenset(("__read_swap_cache_async", "__read_swap_cache_async_ret"))

#: Slots of a ledger area: the model's swap_map is a dict, the slots a trace names.
_NO_SLOTS = 1 << 26
_EEXIST = -swapfile.EEXIST
_ENOENT = -swapfile.ENOENT

Diverge = Callable[["_Event", str, Iterable[str], tuple[str, ...]], None]


def slot_of(ev: _Event) -> SwapEntry:
    """The slot of a slot call's event: ``__swap_duplicate``'s entry, or
    ``__swap_entry_free_locked``'s type and offset."""
    if ev.name == "__swap_duplicate":
        return SwapEntry.from_val(ev.arg_int("entry"))
    return SwapEntry(ev.arg_int("type"), ev.arg_int("offset"))


class _SwapMap(dict[int, int]):
    """``swap_map`` of a ledger area: the slots the trace named; the others 0 (free)."""

    def __missing__(self, offset: int) -> int:
        return 0


class _Lookup:
    """An open ``__read_swap_cache_async``: its entry, the slot before it, whether a
    swapcache_prepare of that entry ran inside it."""

    __slots__ = ("before", "entry", "prepared", "ts")

    def __init__(self, entry: SwapEntry, before: tuple[bool, int, bool], ts: int) -> None:
        self.entry = entry
        self.before = before
        self.prepared = False
        self.ts = ts


class SlotLedger:
    """The model's swap_map of each swap type, fed with the trace's slot operations."""

    def __init__(self, diverge: Diverge, count_unknown: Callable[[str], None],
                 count_check: Callable[[], None], missed: Mapping[str, int]) -> None:
        self._diverge = diverge
        self._unknown = count_unknown
        self._checked = count_check
        #: Missed hits of the ledger's probes: comparisons off (counted as unknown).
        self.missed = sorted(p for p in SLOT_PROBES if missed.get(p))
        self.trimmed = False
        #: Comparisons made (each also counts as an outcome checked).
        self.compared = 0
        self.active = False  # the trace has the ledger's probes (its first such event)
        self.k = Kernel(executor=Executor())
        #: Areas whose every slot is known (swapon seen, no cut since).
        self.area_known: set[int] = set()
        #: Slots known one by one (type, offset); slots made unknown after their area was known.
        self.known: set[tuple[int, int]] = set()
        self.cut: set[tuple[int, int]] = set()
        #: Slots freed to the swap-slots cache: the kernel's swap_map is SWAP_HAS_CACHE until
        #: its return cache is flushed, the model's 0.
        self.returned: set[tuple[int, int]] = set()
        #: Open calls, by context: (name, entry or (type, offset), usage, timestamp) and
        #: lookups.
        self._calls: dict[object, list[tuple[str, SwapEntry, int, int]]] = {}
        self._lookups: dict[object, list[_Lookup]] = {}
        #: Per slot, the last operation's context and end, and the last one's of another
        #: context before it: a coarse clock prints a tick's events CPU by CPU, so an
        #: operation may have come before any earlier-printed one of its tick, not only the
        #: last.
        self._last: dict[tuple[int, int], tuple[object, int, object, int]] = {}
        #: Mismatches held until the trace's time moves past them (an operation of another
        #: context printed after one may have come first): (event, entry, message, allowed,
        #: context, start, end).
        self._held: list[tuple[_Event, SwapEntry, str, str, object, int, int]] = []
        self._op: tuple[object, int, int] = (None, 0, 0)  # the operation being fed

    # -- the model's areas and what is known ---------------------------------------------

    def _area(self, type_: int) -> SwapInfo:
        k = self.k
        while len(k.swap_info) <= type_:
            sis = SwapInfo(type=len(k.swap_info), flags=SwpFlags.SWP_USED | SwpFlags.SWP_WRITEOK,
                           bdev=None, max=_NO_SLOTS,  # type: ignore[arg-type]
                           swap_map=_SwapMap())  # type: ignore[arg-type]
            k.swap_info.append(sis)
        return k.swap_info[type_]

    def is_known(self, entry: SwapEntry) -> bool:
        key = (entry.type, entry.offset)
        if key in self.known:
            return True
        return entry.type in self.area_known and key not in self.cut

    def _set_known(self, entry: SwapEntry) -> None:
        key = (entry.type, entry.offset)
        self.known.add(key)
        self.cut.discard(key)

    def _forget(self, entry: SwapEntry) -> None:
        key = (entry.type, entry.offset)
        self.known.discard(key)
        self.cut.add(key)
        self.returned.discard(key)

    def _comparing(self) -> bool:
        """Whether a comparison may diverge; else it is counted as unknown."""
        if self.trimmed:
            self._unknown("slot-ledger-trimmed-trace")
            return False
        if self.missed:
            self._unknown(f"slot-ledger-missed-hit:{self.missed[0]}")
            return False
        self.compared += 1
        self._checked()
        return True

    def _mismatch(self, ev: _Event, entry: SwapEntry, message: str, allowed: str) -> None:
        """A difference: held until the time moves on (:meth:`_concurrent`, :meth:`finish`)."""
        self._forget(entry)
        ctx, start, end = self._op
        self._held.append((ev, entry, message, allowed, ctx, start, end))

    def _release(self, now: int | None) -> None:
        """Report the held mismatches whose operation ended before ``now`` (None: all)."""
        keep = []
        for held in self._held:
            if now is None or held[6] < now:
                ev, entry, message, allowed = held[:4]
                self._diverge(ev, f"swap slot {entry}: {message}", (allowed,), ())
            else:
                keep.append(held)
        self._held = keep

    def finish(self) -> None:
        """The trace's end: the held mismatches are divergences."""
        self._release(None)

    def _concurrent(self, entry: SwapEntry, ctx: object, start: int, end: int) -> bool:
        """Whether the operation of ``ctx`` on ``entry`` spanning ``start``..``end`` may have
        come before the slot's previous one (another context's, ending at or after ``start``),
        or a held mismatch's operation after it: then the slot is forgotten, not judged."""
        key = (entry.type, entry.offset)
        self._op = (ctx, start, end)
        last = self._last.get(key)
        if last is None:
            self._last[key] = (ctx, end, None, -1)
            overlap = False
        else:
            ctx1, end1, ctx2, end2 = last
            overlap = (ctx1 != ctx and end1 >= start) or (
                ctx2 is not None and ctx2 != ctx and end2 >= start)
            self._last[key] = (ctx, end, ctx2, end2) if ctx1 == ctx else (ctx, end, ctx1, end1)
        held = [h for h in self._held if h[1] == entry and h[4] != ctx and h[6] >= start]
        if held:
            self._held = [h for h in self._held if h not in held]
            self._unknown("slot-ledger-concurrent")
        if overlap:
            self._forget(entry)
            self._unknown("slot-ledger-concurrent")
        return overlap

    # -- a fault's own slot operations (G2) -------------------------------------------------

    def seed(self, entry: SwapEntry, lookup: bool = False) -> int | None:
        """The slot's swap_map as the kernel has it now, if the ledger knows it exactly: the
        count a replayed fault (replay.py) meets. None: not known (or comparisons off). A slot
        returned to the slots cache is SWAP_HAS_CACHE or 0 in the kernel: for a lookup
        (``lookup``), whose outcome depends on its count of 0 only, it is 0."""
        if self.trimmed or self.missed or not self.is_known(entry):
            return None
        if (entry.type, entry.offset) in self.returned and not lookup:
            return None
        return self._area(entry.type).swap_map[entry.offset]

    def fault_seed(self, ev: _Event) -> tuple[bool, int | None]:
        """For an event in a fault: whether it is one the fault's replay seeds its slot count
        at, and that count (None: not known, the fault's slot operations are then not
        compared)."""
        name = ev.name
        if name == "__read_swap_cache_async":
            return True, self.seed(SwapEntry.from_val(ev.arg_int("entry")), lookup=True)
        if name == "__swap_duplicate":
            return True, self.seed(SwapEntry.from_val(ev.arg_int("entry")))
        if name == "__swap_entry_free_locked":
            return True, self.seed(SwapEntry(ev.arg_int("type"), ev.arg_int("offset")))
        return False, None

    @staticmethod
    def fault_own(ev: _Event, entry: int, events: Sequence[_Event]) -> bool:
        """Whether a slot call inside a fault (its task's, between ``do_swap_page`` and its
        return) is one of the fault's own operations: swapcache_prepare (usage SWAP_HAS_CACHE)
        of a slot it looks up (``__read_swap_cache_async``) or of its entry, a free of one of
        those. Others are reclaim's, in the fault's page allocation or memcg charge
        (try_to_unmap_one's swap_duplicate, __remove_mapping's put_swap_folio): the ledger
        has them; the replayed fault, which does not reclaim, not."""
        if ev.name == "__swap_duplicate" and ev.arg_int("usage") != SWAP_HAS_CACHE:
            return False
        val = slot_of(ev).val
        return val == entry or any(e.name == "__read_swap_cache_async" and
                                   e.arg_int("entry") == val for e in events)

    # -- cuts ------------------------------------------------------------------------------

    def swapon(self, type_: int, start_page: int) -> None:
        """An ``add_swap_extent`` at swapon: a new area's first extent has every slot free."""
        if start_page != 0:
            return
        sis = self._area(type_)
        sis.swap_map.clear()
        sis.inuse_pages = 0
        self.area_known.add(type_)
        self.known = {key for key in self.known if key[0] != type_}
        self.cut = {key for key in self.cut if key[0] != type_}
        self.returned = {key for key in self.returned if key[0] != type_}

    def lost(self) -> None:
        """Lost events: any slot may have changed unseen — also by an operation overlapping a
        held mismatch's (:meth:`_concurrent`), which is then unknown, not a divergence."""
        self.area_known.clear()
        self.known.clear()
        self.cut.clear()
        self.returned.clear()
        self._calls.clear()
        self._lookups.clear()
        for _held in self._held:
            self._unknown("slot-ledger-concurrent")
        self._held.clear()
        self._last.clear()

    # -- events ----------------------------------------------------------------------------

    def feed(self, ev: _Event, ctx: object) -> None:
        """One event of :data:`SLOT_EVENTS` or :data:`LOOKUP_EVENTS`."""
        name = ev.name
        if name in SLOT_EVENTS:
            self.active = True
        if self._held:
            self._release(ev.ts)
        if name == "folio_alloc_swap_ret":
            entry = SwapEntry.from_val(ev.arg_int("entry"))
            if not self._concurrent(entry, ctx, ev.ts, ev.ts):
                self._alloc(ev, entry)
        elif name == "__swap_duplicate":
            self._calls.setdefault(ctx, []).append(
                (name, SwapEntry.from_val(ev.arg_int("entry")), ev.arg_int("usage"), ev.ts))
        elif name == "__swap_entry_free_locked":
            entry = SwapEntry(ev.arg_int("type"), ev.arg_int("offset"))
            self._calls.setdefault(ctx, []).append((name, entry, ev.arg_int("usage"), ev.ts))
        elif name in ("__swap_duplicate_ret", "__swap_entry_free_locked_ret"):
            stack = self._calls.get(ctx)
            call = name[:-4]
            if not stack or stack[-1][0] != call:  # its call is not in the trace (trimmed)
                self._unknown("slot-ledger-return-without-call")
                return
            _name, entry, usage, start = stack.pop()
            if self._concurrent(entry, ctx, start, ev.ts):
                if usage == SWAP_HAS_CACHE:  # the lookup's own swapcache_prepare: judged
                    for lookup in self._lookups.get(ctx, ()):
                        if lookup.entry == entry:
                            lookup.prepared = True
                return
            if name == "__swap_duplicate_ret":
                self._duplicate(ev, ctx, entry, usage, ev.arg_int("ret"))
            else:
                self._entry_free(ev, entry, usage, ev.arg_int("ret"), ev.args.get("caller", ""))
        elif name == "__read_swap_cache_async" and self.active:
            entry = SwapEntry.from_val(ev.arg_int("entry"))
            self._lookups.setdefault(ctx, []).append(_Lookup(entry, self._state(entry), ev.ts))
        elif name == "__read_swap_cache_async_ret" and self.active:
            lookups = self._lookups.get(ctx)
            if lookups:
                lookup = lookups.pop()
                if not self._concurrent(lookup.entry, ctx, lookup.ts, ev.ts):
                    self._lookup(ev, lookup, ev.arg_int("page"))

    def _state(self, entry: SwapEntry) -> tuple[bool, int, bool]:
        """Known, the model's swap_map value, returned to the slots cache."""
        if not self.is_known(entry):
            return (False, 0, False)
        return (True, self._area(entry.type).swap_map[entry.offset],
                (entry.type, entry.offset) in self.returned)

    def _alloc(self, ev: _Event, entry: SwapEntry) -> None:
        """``folio_alloc_swap`` returned ``entry``: the slot was free; now SWAP_HAS_CACHE."""
        if not entry.val:
            return  # no slot: add_to_swap fails
        sis = self._area(entry.type)
        value = sis.swap_map[entry.offset]
        if self.is_known(entry) and value and self._comparing():
            cache = ", SWAP_HAS_CACHE" if value & SWAP_HAS_CACHE else ""
            self._mismatch(ev, entry, f"the kernel allocates it, but the model's swap_map "
                           f"holds {value:#x} (count {value & ~SWAP_HAS_CACHE}{cache})",
                           "a free slot (swap_map 0)")
        sis.swap_map[entry.offset] = 0  # the kernel's word: it was free (an input at a cut)
        try:
            swapfile.scan_swap_map_slot(sis, entry.offset, SWAP_HAS_CACHE)
        except KernelBug as bug:  # a model that does not take a free slot
            self._mismatch(ev, entry, f"the model forbids this allocation: {bug}",
                           "the model taking a free slot")
            return
        self.returned.discard((entry.type, entry.offset))
        self._set_known(entry)

    def _duplicate(self, ev: _Event, ctx: object, entry: SwapEntry, usage: int,
                   ret: int) -> None:
        """``__swap_duplicate(entry, usage)`` returned ``ret``: the model's must be it."""
        if usage == SWAP_HAS_CACHE:
            for lookup in self._lookups.get(ctx, ()):
                if lookup.entry == entry:
                    lookup.prepared = True
        if not self.is_known(entry):
            return
        key = (entry.type, entry.offset)
        sis = self._area(entry.type)
        before = sis.swap_map[entry.offset]
        err = swapfile.__dict__["__swap_duplicate"](self.k, entry, usage)
        if key in self.returned and usage == SWAP_HAS_CACHE and ret == _EEXIST and (
                err == _ENOENT):
            sis.swap_map[entry.offset] = before  # not yet flushed: the kernel's SWAP_HAS_CACHE
            return
        if err == ret or not self._comparing():
            if err != ret:
                self._forget(entry)
            return
        self._mismatch(ev, entry, f"__swap_duplicate(usage={usage:#x}) returned {ret}; on the "
                       f"model's swap_map {before:#x} it returns {err}", f"ret={err}")

    def _entry_free(self, ev: _Event, entry: SwapEntry, usage: int, ret: int,
                    caller: str) -> None:
        """``__swap_entry_free_locked(p, offset, usage)`` returned the slot's value left."""
        key = (entry.type, entry.offset)
        sis = self._area(entry.type)
        if not self.is_known(entry):  # the return shows the whole value: known again
            sis.swap_map[entry.offset] = ret
            self._set_known(entry)
            if not ret:
                self.returned.add(key)
            return
        before = sis.swap_map[entry.offset]
        k = self.k
        try:
            if caller.startswith("put_swap_folio"):
                swapfile.put_swap_folio(k, Folio(private=entry.val), entry)
            elif caller.startswith("swapcache_clear"):
                swapfile.swapcache_clear(k, sis, entry)
            elif caller.startswith("__swap_entry_free") and usage == 1:
                swapfile.__dict__["__swap_entry_free"](k, sis, entry)
            else:
                left = swapfile.__dict__["__swap_entry_free_locked"](k, sis, entry.offset,
                                                                     usage)
                if not left:
                    swapfile.free_swap_slot(k, entry)
        except KernelBug as bug:
            if self._comparing():
                self._mismatch(ev, entry, f"the model forbids dropping usage {usage:#x} of "
                               f"swap_map {before:#x}: {bug}", f"ret={ret}")
            else:
                self._forget(entry)
            return
        after = sis.swap_map[entry.offset]
        if not ret:
            self.returned.add(key)
        if not self._comparing():  # the kernel's value stands
            sis.swap_map[entry.offset] = ret
            return
        if after == ret:
            return
        self._mismatch(ev, entry, f"__swap_entry_free_locked(usage={usage:#x}) leaves "
                       f"{ret:#x}; the model's {caller.split('+')[0] or 'caller'} leaves "
                       f"swap_map {after:#x} (from {before:#x})", f"ret={after}")

    def _lookup(self, ev: _Event, lookup: _Lookup, page: int) -> None:
        """A swap cache lookup's outcome against the model's slot (before or after it)."""
        if lookup.prepared:
            return  # swapcache_prepare's return was compared (_duplicate)
        entry = lookup.entry
        states = [s for s in (lookup.before, self._state(entry)) if s[0]]
        if not states:
            return
        if page:  # RA-1: the swap cache held a page: SWAP_HAS_CACHE, not a returned slot
            ok = any(value & SWAP_HAS_CACHE and not returned for _k, value, returned in states)
            found, allowed = "a page in the swap cache", "no page (the slot is not cached)"
        else:  # RA-2: no user of the slot (or no memory for a page)
            ok = any(not value & ~SWAP_HAS_CACHE for _k, value, _r in states)
            found, allowed = "no page and no user (swap count 0)", "a swap count of 0"
        if ok:
            self._comparing()
            return
        if not self._comparing():
            return
        value = states[-1][1]
        self._mismatch(ev, entry, f"__read_swap_cache_async found {found}; the model's swap_map "
                       f"is {value:#x}", allowed)
