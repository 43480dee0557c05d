"""Bugs planted in the model: the real traces must catch each one through ``kmodel check``.

The checker takes its predictions from the model (the model is the oracle), so a wrong model
must make some honest capture of the real kernel diverge. Each :class:`ModelMutation` is one
textual change to one model function's source (a copy compiled against the function's own
module globals); :func:`planted` patches that copy in wherever a ``kmodel`` module binds the
original (``from x import f`` makes a binding per module; aliases such as ``unlock_page =
folio_unlock`` are bindings too).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs


@attrs.frozen
class ModelMutation:
    """Replace ``old`` by ``new`` (exactly one occurrence) in ``module.function``."""

    name: str
    module: str
    function: str
    old: str
    new: str
    what: str

    def original(self) -> Callable[..., object]:
        """The model function as it is."""
        func: Callable[..., object] = getattr(importlib.import_module(self.module),
                                              self.function)
        return func

    def mutant(self) -> types.FunctionType:
        """A copy of the function with the change, bound to the same module globals."""
        func = self.original()
        assert isinstance(func, types.FunctionType)
        source = textwrap.dedent(inspect.getsource(func))
        count = source.count(self.old)
        if count != 1:
            raise LookupError(f"{self.name}: {self.old!r} occurs {count} times in "
                              f"{self.module}.{self.function}")
        code = compile(source.replace(self.old, self.new), f"<mutant {self.name}>", "exec")
        (fcode,) = [c for c in code.co_consts if isinstance(c, types.CodeType)
                    and c.co_name == func.__code__.co_name]
        return types.FunctionType(fcode, func.__globals__, func.__name__, func.__defaults__,
                                  func.__closure__)


@contextmanager
def planted(mutation: ModelMutation) -> Iterator[None]:
    """Run with ``mutation`` patched into every ``kmodel`` module that binds the original."""
    original = mutation.original()
    mutant = mutation.mutant()
    patched: list[tuple[types.ModuleType, str]] = []
    for name, module in list(sys.modules.items()):
        if not (name == "kmodel" or name.startswith("kmodel.")) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, mutant)
                patched.append((module, attr))
    try:
        yield
    finally:
        for module, attr in patched:
            setattr(module, attr, original)


def _m(name: str, module: str, function: str, old: str, new: str, what: str) -> ModelMutation:
    return ModelMutation(name, f"kmodel.{module}", function, old, new, what)


#: Every planted bug, by name (see SURVIVORS for those no bundled real trace can show).
ALL_MUTATIONS: dict[str, ModelMutation] = {m.name: m for m in (
    # do_swap_page (mm/memory.c)
    _m("ds_major_not_set", "mm.memory", "_do_swap_page",
       "ret = VmFault.VM_FAULT_MAJOR  # DS-4", "ret = 0  # DS-4",
       "a fault that read from swap does not return VM_FAULT_MAJOR"),
    _m("ds_maps_failed_page", "mm.memory", "_do_swap_page",
       "if not PageUptodate(folio):  # DS-7", "if False:  # DS-7",
       "a page whose read failed is mapped instead of SIGBUS"),
    _m("ds_retry_without_flag", "mm.memory", "_do_swap_page",
       "ret |= VmFault.VM_FAULT_RETRY", "ret |= 0",
       "folio_lock_or_retry failing does not return VM_FAULT_RETRY"),
    _m("ds_sync_path_on_any_device", "mm.memory", "_do_swap_page",
       "if si.flags & SwpFlags.SWP_SYNCHRONOUS_IO and __swap_count(k, entry) == 1:",
       "if __swap_count(k, entry) == 1:",
       "the swap-cache-skipping read (DS-1) also on devices without SWP_SYNCHRONOUS_IO"),
    _m("ds_sync_path_never", "mm.memory", "_do_swap_page",
       "if si.flags & SwpFlags.SWP_SYNCHRONOUS_IO and __swap_count(k, entry) == 1:",
       "if False:",
       "never skip the swap cache (DS-1), readahead on zram/brd too"),
    _m("ds_entry_set_after_read", "mm.memory", "_do_swap_page",
       "folio.private = entry.val  # folio_set_swap_entry: provide the entry\n"
       "                swap_readpage(k, folio, True, None)",
       "swap_readpage(k, folio, True, None)\n"
       "                folio.private = entry.val",
       "DS-1 reads the private page before giving it its swap entry (order)"),
    # swap_readpage: the read bio and the synchronous path (mm/page_io.c)
    _m("read_sector_off_by_one_page", "mm.page_io", "_swap_readpage",
       "bio.bi_sector = swap_page_sector(k, folio)",
       "bio.bi_sector = swap_page_sector(k, folio) + 8",
       "the read bio starts one page after the slot"),
    _m("read_bio_is_a_write", "mm.page_io", "_swap_readpage",
       "bio = bio_alloc(k, sis.bdev, 1, REQ_OP_READ)",
       "bio = bio_alloc(k, sis.bdev, 1, REQ_OP_WRITE)",
       "the swap-in bio is set up as a write"),
    _m("read_waiter_always", "mm.page_io", "_swap_readpage",
       "if synchronous:  # RD-8", "if True:  # RD-8",
       "an asynchronous read also puts the task in bi_private"),
    _m("read_sync_without_waiter", "mm.page_io", "_swap_readpage",
       "bio.bi_private = get_task_struct(k.current)", "get_task_struct(k.current)",
       "a synchronous read leaves bi_private NULL"),
    _m("read_sync_does_not_wait", "mm.page_io", "_swap_readpage",
       "while synchronous:  # RD-11", "while False:  # RD-11",
       "a synchronous swap_readpage returns without waiting for its bio"),
    _m("read_skips_rw_page", "mm.page_io", "_swap_readpage",
       "if sis.flags & SwpFlags.SWP_SYNCHRONOUS_IO:\n            ret = bdev_read_page",
       "if False:\n            ret = bdev_read_page",
       "SWP_SYNCHRONOUS_IO areas read through a bio, not bdev_read_page"),
    _m("frontswap_load_not_uptodate", "mm.page_io", "_swap_readpage",
       "if frontswap_load(k, folio) == 0:  # RD-3\n            SetPageUptodate(folio)",
       "if frontswap_load(k, folio) == 0:  # RD-3\n            pass",
       "a page frontswap (zswap) loaded is left !uptodate"),
    _m("frontswap_store_ignored", "mm.page_io", "_swap_writepage",
       "if frontswap_store(k, folio) == 0:  # SW-3", "if False:  # SW-3",
       "a page frontswap (zswap) would take is written to the device anyway"),
    # swap_cluster_readahead / read_swap_cache_async (mm/swap_state.c)
    _m("ra_window_half", "mm.swap_state", "swap_cluster_readahead",
       "end_offset = offset | mask", "end_offset = offset | (mask >> 1)",
       "the readahead window ends half-way"),
    _m("ra_window_not_aligned", "mm.swap_state", "swap_cluster_readahead",
       "start_offset = offset & ~mask  # CR-2", "start_offset = offset  # CR-2",
       "the readahead window starts at the faulting slot, not the aligned cluster"),
    _m("ra_reads_swap_header", "mm.swap_state", "swap_cluster_readahead",
       "start_offset += 1", "start_offset += 0",
       "readahead does not skip slot 0 (the swap header)"),
    _m("ra_target_polled", "mm.swap_state", "swap_cluster_readahead",
       "do_poll = False", "do_poll = True",
       "the target of a readahead window is read synchronously"),
    _m("ra_last_slot_skipped", "mm.swap_state", "swap_cluster_readahead",
       "range(start_offset, end_offset + 1)", "range(start_offset, end_offset)",
       "the readahead loop stops one slot early"),
    _m("ra_gives_up_on_eexist", "mm.swap_state", "_read_swap_cache_async_body",
       "        if err != -EEXIST:\n", "        if err:\n",
       "a readahead lookup whose slot another task holds gives up instead of retrying (RA-3)"),
    _m("ra_reads_free_slots", "mm.swap_state", "_read_swap_cache_async_body",
       "if not __swp_swapcount(k, entry) and k.swap_slot_cache_enabled:  # RA-2",
       "if False:  # RA-2",
       "readahead allocates and reads slots that are free"),
    # completions (mm/page_io.c)
    _m("read_end_not_uptodate", "mm.page_io", "end_swap_bio_read",
       "SetPageUptodate(page)  # ER-2", "pass  # ER-2",
       "a successful read leaves the page !uptodate"),
    _m("read_end_no_unlock", "mm.page_io", "end_swap_bio_read",
       "unlock_page(k, page)  # ER-3 (out:)", "pass  # ER-3 (out:)",
       "end_swap_bio_read does not unlock the page"),
    _m("write_end_no_redirty", "mm.page_io", "end_swap_bio_write",
       "set_page_dirty(k, page)  # re-dirty", "pass  # re-dirty",
       "a failed write does not re-dirty the page"),
    _m("write_end_keeps_reclaim", "mm.page_io", "end_swap_bio_write",
       "            ClearPageReclaim(page)\n", "            pass\n",
       "a failed write leaves PG_reclaim set (no ClearPageReclaim)"),
    # the write bio and sectors
    _m("write_no_unlock", "mm.page_io", "_swap_writepage_body",
       "unlock_page(k, folio)\n    submit_bio(k, bio)", "submit_bio(k, bio)",
       "__swap_writepage submits with the page still locked"),
    _m("write_sector_off_by_one_page", "mm.page_io", "_swap_writepage_body",
       "bio.bi_sector = swap_page_sector(k, folio)",
       "bio.bi_sector = swap_page_sector(k, folio) + 8",
       "the write bio starts one page after the slot"),
    _m("sector_ignores_extent_start", "mm.swapfile", "swap_page_sector",
       "sector = se.start_block + (entry.offset - se.start_page)",
       "sector = se.start_block + entry.offset",
       "swap_page_sector forgets the extent's first page"),
    _m("sector_off_by_one_page", "mm.swapfile", "swap_page_sector",
       "return sector << (PAGE_SHIFT - 9)", "return (sector + 1) << (PAGE_SHIFT - 9)",
       "swap_page_sector is one page off"),
)}

#: Planted bugs that no bundled real trace can reveal, and why.
SURVIVORS: dict[str, str] = {
    "read_sync_does_not_wait": "every synchronous read's completion is printed before its "
    "swap_readpage_ret: a model that does not wait is consistent with a fast device",
    "ra_reads_free_slots": "no readahead window of the bundled traces holds a free slot",
    "ra_gives_up_on_eexist": "no readahead of the bundled traces meets a slot another task "
    "holds; the fixture clocks/fork_counter_eexist2 does (tests/trace/test_reused_page.py)",
}

#: The planted bugs the bundled real traces must catch.
MODEL_MUTATIONS: dict[str, ModelMutation] = {
    name: m for name, m in ALL_MUTATIONS.items() if name not in SURVIVORS}
