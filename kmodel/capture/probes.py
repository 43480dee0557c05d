"""The tracefs configuration of a capture: kprobes, tracepoints and options.

The kprobe fetch arguments use register + offset syntax because Linux 6.1 has no BTF-typed
``$arg1->field`` (``PROBE_EVENTS_BTF_ARGS`` is off). The offsets come from the kernel's BTF
(``pahole`` on ``/sys/kernel/btf/vmlinux``); :data:`DEBIAN_6_1_176` holds the values for Debian's
``6.1.0-50-amd64`` build and :func:`offsets_from_pahole` reads them for another build.
"""

from __future__ import annotations

import re

import attrs

from kmodel.errors import KmodelError

#: Event group of every kprobe the harness defines (``events/kt/...``).
GROUP = "kt"

#: Tracepoints enabled besides the kprobes, as ``system:event``.
TRACEPOINTS: tuple[str, ...] = (
    "block:block_bio_queue",
    "block:block_bio_remap",
    "block:block_rq_issue",
    "block:block_rq_complete",
    "block:block_rq_error",
    "block:block_bio_complete",
    "vmscan:mm_vmscan_write_folio",
    "printk:console",
    "signal:signal_generate",
)

#: The default trace clock: ordered across CPUs, nanoseconds, printed as SECONDS.MICROSECONDS.
TRACE_CLOCK = "global"

#: trace_clock values kmodel check can read (nanosecond clocks; counter/uptime/x86-tsc print
#: raw counts).
NS_CLOCKS = ("global", "local", "mono", "mono_raw", "boot", "perf")

#: tracefs settings, as (file relative to the tracefs root, value).
OPTIONS: tuple[tuple[str, str], ...] = (
    ("trace_clock", TRACE_CLOCK),
    ("buffer_size_kb", "16384"),
    ("options/record-tgid", "1"),
)


@attrs.frozen
class Offsets:
    """Byte offsets of the struct members the probes fetch (x86_64, from BTF)."""

    page_flags: int
    page_private: int
    bio_bi_bdev: int
    bio_bi_opf: int
    bio_bi_status: int
    bio_bi_sector: int
    bio_bi_size: int
    bio_bi_private: int
    bio_bi_io_vec: int
    bio_vec_bv_page: int
    block_device_bd_dev: int
    vm_fault_address: int
    vm_fault_flags: int
    vm_fault_orig_pte: int
    wbc_sync_mode: int
    wbc_bits: int
    swap_info_type: int


#: Debian 12 ``linux-image-6.1.0-50-amd64`` 6.1.176-1, read with pahole from its BTF.
DEBIAN_6_1_176 = Offsets(
    page_flags=0,
    page_private=40,
    bio_bi_bdev=8,
    bio_bi_opf=16,
    bio_bi_status=24,
    bio_bi_sector=32,
    bio_bi_size=40,
    bio_bi_private=64,
    bio_bi_io_vec=112,
    bio_vec_bv_page=0,
    block_device_bd_dev=36,
    vm_fault_address=24,
    vm_fault_flags=40,
    vm_fault_orig_pte=64,
    wbc_sync_mode=32,
    wbc_bits=36,
    swap_info_type=72,
)

# (Offsets field, struct, member path as pahole prints it; "a.b" adds a nested struct's offset).
_PAHOLE_MEMBERS: tuple[tuple[str, str, str], ...] = (
    ("page_flags", "page", "flags"),
    ("page_private", "page", "private"),
    ("bio_bi_bdev", "bio", "bi_bdev"),
    ("bio_bi_opf", "bio", "bi_opf"),
    ("bio_bi_status", "bio", "bi_status"),
    ("bio_bi_sector", "bio", "bi_iter+bvec_iter.bi_sector"),
    ("bio_bi_size", "bio", "bi_iter+bvec_iter.bi_size"),
    ("bio_bi_private", "bio", "bi_private"),
    ("bio_bi_io_vec", "bio", "bi_io_vec"),
    ("bio_vec_bv_page", "bio_vec", "bv_page"),
    ("block_device_bd_dev", "block_device", "bd_dev"),
    ("vm_fault_address", "vm_fault", "address"),
    ("vm_fault_flags", "vm_fault", "flags"),
    ("vm_fault_orig_pte", "vm_fault", "orig_pte"),
    ("wbc_sync_mode", "writeback_control", "sync_mode"),
    ("wbc_bits", "writeback_control", "for_reclaim"),
    ("swap_info_type", "swap_info_struct", "type"),
)


def _struct_body(text: str, struct: str) -> str:
    match = re.search(r"^struct " + re.escape(struct) + r" \{\n(.*?)^\};", text, re.M | re.S)
    if match is None:
        raise KmodelError(f"pahole output has no 'struct {struct} {{ ... }};' block")
    return match.group(1)


def _member_offset(text: str, struct: str, member: str) -> int:
    # The first declaration wins: for struct page that is the page-cache/anon layout.
    body = _struct_body(text, struct)
    pattern = r"[\s*]" + re.escape(member) + r"(?::\d+)?;\s*/\*\s*(\d+)"
    match = re.search(pattern, body)
    if match is None:
        raise KmodelError(f"pahole output: struct {struct} has no member {member!r}")
    return int(match.group(1))


def offsets_from_pahole(text: str) -> Offsets:
    """Read the probe offsets from ``pahole`` output for the structs the probes use.

    Produce it with ``pahole -C page,bio,bvec_iter,bio_vec,block_device,vm_fault,
    writeback_control,swap_info_struct /sys/kernel/btf/vmlinux``.
    """
    values: dict[str, int] = {}
    for field, struct, path in _PAHOLE_MEMBERS:
        outer, _, inner = path.partition("+")
        offset = _member_offset(text, struct, outer)
        if inner:
            inner_struct, inner_member = inner.split(".")
            offset += _member_offset(text, inner_struct, inner_member)
        values[field] = offset
    return Offsets(**values)


def kprobe_events(off: Offsets = DEBIAN_6_1_176) -> list[str]:
    """Return the ``kprobe_events`` lines (one probe or kretprobe each) for the swap path."""
    page = f"pflags=+{off.page_flags}(%di):x64 entry=+{off.page_private}(%di):x64"
    bv_page = f"+{off.bio_vec_bv_page}(+{off.bio_bi_io_vec}(%di))"
    bio = (
        f"bio=%di:x64 bi_status=+{off.bio_bi_status}(%di):u8"
        f" sector=+{off.bio_bi_sector}(%di):u64 size=+{off.bio_bi_size}(%di):u32"
        f" opf=+{off.bio_bi_opf}(%di):x32"
        f" dev=+{off.block_device_bd_dev}(+{off.bio_bi_bdev}(%di)):x32"
    )
    bio_page = f"page={bv_page}:x64 pflags=+{off.page_flags}({bv_page}):x64"
    bdev = f"sector=%si:u64 page=%dx:x64 dev=+{off.block_device_bd_dev}(%di):x32"
    entries = [
        (
            "do_swap_page",
            f"vmf=%di:x64 address=+{off.vm_fault_address}(%di):x64"
            f" fault_flags=+{off.vm_fault_flags}(%di):x32"
            f" orig_pte=+{off.vm_fault_orig_pte}(%di):x64",
            "ret=$retval:x32",
        ),
        ("swapin_readahead", "entry=%di:x64 gfp=%si:x32 vmf=%dx:x64", "page=$retval:x64"),
        ("swap_cluster_readahead", "entry=%di:x64 gfp=%si:x32 vmf=%dx:x64", "page=$retval:x64"),
        (
            "read_swap_cache_async",
            "entry=%di:x64 gfp=%si:x32 vma=%dx:x64 addr=%cx:x64 do_poll=%r8:u8 plug=%r9:x64",
            "page=$retval:x64",
        ),
        (
            "__read_swap_cache_async",
            "entry=%di:x64 gfp=%si:x32 vma=%dx:x64 addr=%cx:x64",
            "page=$retval:x64",
        ),
        (
            "swap_readpage",
            f"page=%di:x64 synchronous=%si:u8 plug=%dx:x64 {page}",
            "ret=$retval:s32",
        ),
        (
            "swap_writepage",
            f"page=%di:x64 wbc=%si:x64 {page} sync_mode=+{off.wbc_sync_mode}(%si):u32"
            f" wbc_bits=+{off.wbc_bits}(%si):x32",
            "ret=$retval:s32",
        ),
        ("__swap_writepage", f"page=%di:x64 wbc=%si:x64 {page}", "ret=$retval:s32"),
        ("end_swap_bio_write", f"{bio} {bio_page}", None),
        ("end_swap_bio_read", f"{bio} waiter=+{off.bio_bi_private}(%di):x64 {bio_page}", None),
        ("end_page_writeback", f"page=%di:x64 {page}", None),
        ("bdev_read_page", f"bdev=%di:x64 {bdev}", "ret=$retval:s32"),
        ("bdev_write_page", f"bdev=%di:x64 {bdev}", "ret=$retval:s32"),
        # mm/frontswap.c:163,202 (zswap's hooks; -19 ENODEV while zswap is disabled).
        ("__frontswap_store", f"page=%di:x64 {page}", "ret=$retval:s32"),
        ("__frontswap_load", f"page=%di:x64 {page}", "ret=$retval:s32"),
        # mm/swapfile.c:2198 add_swap_extent(sis, start_page, nr_pages, start_block): one call
        # per extent at swapon (start_block in PAGE_SIZE blocks); ret 1 new extent, 0 merged.
        (
            "add_swap_extent",
            f"type=+{off.swap_info_type}(%di):s8 start_page=%si:u64 nr_pages=%dx:u64"
            " start_block=%cx:u64",
            "ret=$retval:s32",
        ),
        # The swap-slot ledger (kmodel/trace/slots.py): every change of a slot's swap_map in
        # 6.1 goes through one of these three (all out of line in Debian's build: swap_free,
        # free_swap_and_cache, put_swap_folio and swapcache_clear call
        # __swap_entry_free_locked; swap_duplicate and swapcache_prepare __swap_duplicate).
        # mm/swap_slots.c:302 folio_alloc_swap(folio): the slot add_to_swap gets (0: none).
        ("folio_alloc_swap", f"page=%di:x64 {page}", "entry=$retval:x64"),
        # mm/swapfile.c:3293 __swap_duplicate(entry, usage): usage 1 (swap_duplicate: fork,
        # try_to_unmap_one) or SWAP_HAS_CACHE 0x40 (swapcache_prepare); ret 0/-EEXIST/-ENOENT.
        ("__swap_duplicate", "entry=%di:x64 usage=%si:u8", "ret=$retval:s32"),
        # mm/swapfile.c:1184 __swap_entry_free_locked(p, offset, usage): usage 1 or
        # SWAP_HAS_CACHE; ret is the slot's count | SWAP_HAS_CACHE after it (0: unused).
        (
            "__swap_entry_free_locked",
            f"type=+{off.swap_info_type}(%di):u8 offset=%si:u64 usage=%dx:u8",
            "ret=$retval:u8",
        ),
    ]
    lines: list[str] = []
    for func, args, ret in entries:
        lines.append(f"p:{GROUP}/{func} {func} {args}")
        if ret is not None:
            lines.append(f"r64:{GROUP}/{func}_ret {func} {ret}")
    return lines


def tracefs_commands(off: Offsets = DEBIAN_6_1_176, tracefs: str = "/sys/kernel/tracing",
                     lines: list[str] | None = None) -> str:
    """Return a shell script that sets up the capture's tracing on a live machine.

    ``lines``: other ``kprobe_events`` lines than ``kprobe_events(off)`` (6.12's).
    """
    out = [f"cd {tracefs}", "echo 0 > tracing_on"]
    out += [f"echo {value} > {path}" for path, value in OPTIONS]
    out.append("echo > kprobe_events")
    out += [f"echo '{line}' >> kprobe_events" for line in lines or kprobe_events(off)]
    out.append(f"echo 1 > events/{GROUP}/enable")
    out += [f"echo 1 > events/{tp.replace(':', '/')}/enable" for tp in TRACEPOINTS]
    out += ["echo > trace", "echo 1 > tracing_on"]
    return "\n".join(out) + "\n"
