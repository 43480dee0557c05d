"""The capture scenarios: which swap device, which fault, and what the kernel must do.

Each scenario is a few lines of guest shell (``setup`` before ``swapon``, ``midway`` between the
workload's fill and its read-back, ``teardown`` after ``swapoff``) plus the outcome the harness
asserts on the results. Swap slot N of a block device is at sector N * 8 (slot 0 is the header).
Users add their own as data: :mod:`kmodel.capture.scenario_file`.
"""

from __future__ import annotations

import enum

import attrs

from kmodel.errors import KmodelError


class Outcome(enum.Enum):
    """What the workload and the kernel must show for a scenario to pass."""

    OK = "ok"  # exit 0, every page verified
    READ_ERROR = "read_error"  # exit 135 (SIGBUS), Read-error on swap-device in dmesg
    WRITE_ERROR = "write_error"  # failed write completions in the trace, exit 0, no data lost
    OOM = "oom"  # the memcg OOM killer killed the workload: exit 137, the report in dmesg


@attrs.frozen
class Scenario:
    """One capture run: device setup, fault injection, workload options, expected outcome."""

    name: str
    summary: str
    device: str  # the guest swap device or file; "@serial" names a virtio disk by its serial
    outcome: Outcome
    irq_disk: str = "@ktswap"  # virtio disk whose completion IRQ the workload must avoid
    rotational: str = ""  # written to queue/rotational before swapon when set
    workload: str = "-m 1"
    disk: str = ""  # the block device under a swap file (default: device itself)
    hogs: int = 1  # workload instances, alternating CPUs from the one away from the IRQ
    misses_allowed: bool = False  # kprobe misses are recorded, not a failure (concurrency)
    setup: str = ""
    midway: str = ""
    teardown: str = ""
    expect: tuple[str, ...] = ()  # regexes that must match somewhere in the trace
    forbid: tuple[str, ...] = ()  # regexes that must not match in the trace


# A 64 MiB swap disk is 131072 sectors; the faulty ranges cover slots 20..27 or 40..47.
_DISK_SECTORS = 131072
_FLAKEY_TABLE = (
    "0 {a} linear $SWAPDISK 0\\n{a} 64 flakey $SWAPDISK {a} 0 3600 {features}\\n"
    "{b} {rest} linear $SWAPDISK {b}"
)


def _flakey(start: int, features: str) -> str:
    """Return a printf of a table mapping slots start/8.. to dm-flakey, down from the start."""
    rest = _DISK_SECTORS - start - 64
    table = _FLAKEY_TABLE.format(a=start, b=start + 64, rest=rest, features=features)
    return f'printf "{table}\\n"'


_LINEAR = f'echo "0 {_DISK_SECTORS} linear $SWAPDISK 0"'
# dm-linear with an `error` target over slots 40..47 (sectors 320..383).
_ERROR_TABLE = (
    'printf "0 320 linear $SWAPDISK 0\\n320 64 error\\n'
    f'384 {_DISK_SECTORS - 384} linear $SWAPDISK 384\\n"'
)
_DM_RELOAD = " | dmsetup load ktswap && dmsetup resume --noudevsync ktswap && dmsetup table ktswap"
_DM_CREATE = f"{_LINEAR} | dmsetup create ktswap --noudevsync"
_DM_REMOVE = "dmsetup remove --noudevsync ktswap"
_READ_ERROR = (r"end_swap_bio_read: .* bi_status=[1-9]",)
_ZSWAP = "/sys/module/zswap/parameters/enabled"
# The swap file on the ext4 disk "ktfs" (built by kmodel.capture.fsimage): fragmented into
# several extents, swap header already written.
_EXT4_MOUNT = (
    "mkdir -p /mnt && insmod /mod/ext4.ko"
    " && mount -t ext4 -o noatime $(resolve @ktfs) /mnt && ls -l /mnt/swapfile"
)
_WRITE_ERROR = (r"end_swap_bio_write: .* bi_status=[1-9]",)

# Run order: pr_alert_ratelimited allows 10 lines per 5 s per call site (Read-error and
# Write-error are two), so scenarios of the same error kind are ~5 s of others apart and
# the error lines are not lost; kt.sh waits for the rest.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "readerr_flakey",
        "dm-flakey fails reads of slots 40..47 at submit (read-back only)",
        "/dev/dm-0",
        Outcome.READ_ERROR,
        rotational="1",
        setup=_DM_CREATE,
        midway=_flakey(320, "0") + _DM_RELOAD,
        teardown=_DM_REMOVE,
        expect=_READ_ERROR,
    ),
    Scenario(
        "basic",
        "virtio-blk, rotational: bio path, plugging, cluster readahead",
        "@ktswap",
        Outcome.OK,
        expect=(r"kt/swap_cluster_readahead|swap_cluster_readahead:", r"block_bio_queue:"),
    ),
    Scenario(
        "ssd",
        "virtio-blk with rotational=0: SSD slot allocation, VMA readahead",
        "@ktswap",
        Outcome.OK,
        rotational="0",
        expect=(r"block_bio_queue:",),
    ),
    Scenario(
        "writeerr_flakey",
        "dm-flakey error_writes on slots 20..27, then recovery: no data lost",
        "/dev/dm-0",
        Outcome.WRITE_ERROR,
        rotational="1",
        setup=_DM_CREATE + " && " + _flakey(160, "1 error_writes") + _DM_RELOAD,
        midway=_LINEAR + _DM_RELOAD + ' && echo "KT: recovered: whole device linear again"',
        teardown=_DM_REMOVE,
        expect=_WRITE_ERROR,
    ),
    Scenario(
        "swapfile",
        "swap file on ext4 in several extents: add_swap_extent at swapon, sectors by extent",
        "/mnt/swapfile",
        Outcome.OK,
        irq_disk="@ktfs",
        disk="@ktfs",
        setup=_EXT4_MOUNT,
        teardown="umount /mnt",
        expect=(
            r"add_swap_extent: .* type=\d+ start_page=0 nr_pages=\d+ start_block=[1-9]",
            r"add_swap_extent: .* start_page=[1-9]\d* nr_pages=\d+ start_block=[1-9]",
            r"block_bio_queue:",
        ),
    ),
    Scenario(
        "zswap",
        "zswap enabled: swap-outs are frontswap stores, swap-ins frontswap loads",
        "@ktswap",
        Outcome.OK,
        setup=f"echo 1 > {_ZSWAP}",
        teardown=f"echo 0 > {_ZSWAP}",
        expect=(
            r"(?m)^# zswap: enabled=Y ",
            r"__frontswap_store_ret: .* ret=0",
            r"__frontswap_load_ret: .* ret=0",
        ),
    ),
    Scenario(
        "readerr_dmerror",
        "dm `error` target over slots 40..47 (dm-linear around it), loaded after the fill",
        "/dev/dm-0",
        Outcome.READ_ERROR,
        rotational="1",
        setup=_DM_CREATE,
        midway=_ERROR_TABLE + _DM_RELOAD,
        teardown=_DM_REMOVE,
        expect=_READ_ERROR,
    ),
    Scenario(
        "random",
        "random read-back order: readahead collapses to synchronous reads",
        "@ktswap",
        Outcome.OK,
        workload="-m 1 -r",
        expect=(r"swap_readpage: .* synchronous=1",),
    ),
    Scenario(
        "writeerr_blkdebug",
        "QEMU blkdebug fails WRITEs of slots 20..27 with EIO at completion",
        "@ktwerr",
        Outcome.WRITE_ERROR,
        irq_disk="@ktwerr",
        expect=_WRITE_ERROR,
    ),
    Scenario(
        "fork",
        "two processes share the swapped pages and fault the same entries",
        "@ktswap",
        Outcome.OK,
        workload="-m 1 -f",
    ),
    Scenario(
        "pagecluster0",
        "vm.page-cluster=0: swap readahead of the faulting page only",
        "@ktswap",
        Outcome.OK,
        setup="PC0=$(cat /proc/sys/vm/page-cluster) && echo 0 > /proc/sys/vm/page-cluster",
        teardown="echo $PC0 > /proc/sys/vm/page-cluster",
        expect=(r"(?m)^# page-cluster: 0$", r"swap_cluster_readahead:"),
    ),
    Scenario(
        "readerr_scsi",
        "scsi_debug medium errors on slots 40..47: bi_status=7",
        "/dev/sda",
        Outcome.READ_ERROR,
        irq_disk="",
        rotational="1",
        # delay=-1 completes from a workqueue; the workqueue cpumask puts it on CPU 1, away
        # from the workload (an hrtimer would fire on the submitting CPU and nest in probes).
        setup="echo 2 > /sys/devices/virtual/workqueue/cpumask && insmod /mod/scsi_debug.ko"
        " dev_size_mb=64 delay=-1 medium_error_start=320 medium_error_count=64",
        midway="echo 2 > /sys/bus/pseudo/drivers/scsi_debug/opts",
        teardown="rmmod scsi_debug; echo 3 > /sys/devices/virtual/workqueue/cpumask",
        expect=(r"end_swap_bio_read: .* bi_status=7",),
    ),
    Scenario(
        "brd",
        "RAM disk: SWP_SYNCHRONOUS_IO, bdev_rw_page, no bios",
        "/dev/ram0",
        Outcome.OK,
        irq_disk="",
        setup="insmod /mod/brd.ko rd_nr=1 rd_size=65536",
        teardown="rmmod brd",
        expect=(r"bdev_write_page_ret: .* ret=0", r"bdev_read_page_ret: .* ret=0"),
        forbid=(r"block_bio_queue:",),
    ),
    Scenario(
        "hogs2",
        "two workloads at once, one per CPU: swap contention; misses are recorded, not failed",
        "@ktswap",
        Outcome.OK,
        hogs=2,
        misses_allowed=True,
        # 1 MiB for both (2 MiB of workload): both swap, but a memcg OOM kill of one of them
        # (seen once at 512K under host load) stays unlikely.
        setup="MM0=$(cat $CG/memory.max) && echo 1M > $CG/memory.max",
        teardown="echo $MM0 > $CG/memory.max",
        expect=(r"block_bio_queue:",),
    ),
    Scenario(
        "zram",
        "zram: SWP_SYNCHRONOUS_IO, swap cache skipped, no bios",
        "/dev/zram0",
        Outcome.OK,
        irq_disk="",
        setup="insmod /mod/zram.ko num_devices=1 && echo 64M > /sys/block/zram0/disksize",
        teardown="echo 1 > /sys/block/zram0/reset",
        expect=(r"bdev_write_page_ret: .* ret=0", r"bdev_read_page_ret: .* ret=0"),
        forbid=(r"block_bio_queue:",),
    ),
    Scenario(
        "oom",
        "memcg OOM: memory.swap.max=1M under a 4 MiB workload; the report is a multi-line printk",
        "@ktswap",
        Outcome.OOM,
        workload="-m 4",
        setup="echo 1M > $CG/memory.swap.max",
        teardown="echo max > $CG/memory.swap.max",
        expect=(r"console: .*invoked oom-killer", r"console: Memory cgroup out of memory"),
    ),
    Scenario(
        "readerr_blkdebug",
        "QEMU blkdebug fails READs of slots 40..47 with EIO at completion",
        "@ktrerr",
        Outcome.READ_ERROR,
        irq_disk="@ktrerr",
        expect=_READ_ERROR,
    ),
    Scenario(
        "pagecluster5",
        "vm.page-cluster=5: swap readahead windows of 32 pages",
        "@ktswap",
        Outcome.OK,
        setup="PC0=$(cat /proc/sys/vm/page-cluster) && echo 5 > /proc/sys/vm/page-cluster",
        teardown="echo $PC0 > /proc/sys/vm/page-cluster",
        expect=(r"(?m)^# page-cluster: 5$", r"swap_cluster_readahead:"),
    ),
)

#: What `kmodel capture` runs without --scenario.
DEFAULT = tuple(s.name for s in SCENARIOS)

# scsi_debug on CPU 1's workqueue (as readerr_scsi) and its sysfs knobs.
_SDEBUG = (
    "echo 2 > /sys/devices/virtual/workqueue/cpumask && insmod /mod/scsi_debug.ko"
    " dev_size_mb=64 delay=-1"
)
_SDEBUG_DRV = "/sys/bus/pseudo/drivers/scsi_debug"
_SDEBUG_WP = "/sys/module/scsi_debug/parameters/wp"
_SDEBUG_RM = "rmmod scsi_debug; echo 3 > /sys/devices/virtual/workqueue/cpumask"
# Write-protect the disk once it is swap (mkswap, run after setup, must still write) until
# a failed request's console line shows, then lift it: a short window of failed swap-outs
# (the requests in flight fail too), not a failure of them all (reclaim that can write
# nothing ends in a memcg OOM kill).
_WP_WINDOW = (
    "(i=0; until grep -q '^/dev/sda ' /proc/swaps || [ $i -ge 3000 ]; do usleep 2000;"
    f" i=$((i + 1)); done; echo 1 > {_SDEBUG_WP}; i=0;"
    " until [ $(dmesg | grep -c 'critical target error, dev sda') -ge 1 ] || [ $i -ge 5000 ];"
    f" do usleep 2000; i=$((i + 1)); done; echo 0 > {_SDEBUG_WP}) &"
)

#: Scenarios whose devices fail requests with block statuses other than BLK_STS_IOERR, so
#: that the request completions' errno (``blk_status_to_errno``) and the console line's
#: status name are compared for each (tests/data/traces/statuses/). Not in :data:`DEFAULT`.
#: readerr_scsi_dif's injection fails writes too (Write-error lines): it runs last, so that
#: no write-error scenario meets pr_alert_ratelimited's state it leaves (kt.sh waits per kind).
STATUS_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "writeerr_scsi_wp",
        "scsi_debug write-protected while swapping out (DATA PROTECT asc 0x27), lifted after "
        "the first failed request: bi_status=5 (BLK_STS_TARGET)",
        "/dev/sda",
        Outcome.WRITE_ERROR,
        irq_disk="",
        rotational="1",
        setup=f"{_SDEBUG} && {_WP_WINDOW}",
        midway=f"echo 0 > {_SDEBUG_WP}",
        teardown=_SDEBUG_RM,
        expect=(r"end_swap_bio_write: .* bi_status=5", r"block_rq_error: .*\[-121\]"),
    ),
    Scenario(
        "readerr_scsi_dif",
        "scsi_debug injects a DIF guard-tag error into every 16th command after the fill "
        "(ABORTED COMMAND asc 0x10), page-cluster 0: bi_status=8 (BLK_STS_PROTECTION)",
        "/dev/sda",
        Outcome.READ_ERROR,
        irq_disk="",
        rotational="1",
        # page-cluster 0: a failed read is the faulting page's alone, never a readahead
        # cluster that also holds the SIGBUS handler's stack (then a second SIGBUS, or a
        # SIGSEGV from the signal frame, killed the workload before it printed: 2 of 2 runs
        # at every_nth 1 and 4, 1 of 4 at 16). wait_ratelimit (kt.sh): its failed writes
        # must not meet the Write-error lines writeerr_scsi_wp's ratelimit window let through.
        setup=f"PC0=$(cat /proc/sys/vm/page-cluster) && echo 0 > /proc/sys/vm/page-cluster"
        f" && wait_ratelimit write && {_SDEBUG}",
        midway=f"echo 32 > {_SDEBUG_DRV}/opts && echo 16 > {_SDEBUG_DRV}/every_nth",
        teardown=f"echo 0 > {_SDEBUG_DRV}/opts; echo 0 > {_SDEBUG_DRV}/every_nth; {_SDEBUG_RM};"
        " echo $PC0 > /proc/sys/vm/page-cluster",
        expect=(r"(?m)^# page-cluster: 0$", r"end_swap_bio_read: .* bi_status=8",
                r"block_rq_error: .*\[-84\]"),
    ),
)

#: blkdebug rules per virtio disk serial: (iotype, first sector, sector count).
BLKDEBUG_RULES: dict[str, tuple[str, int, int]] = {
    "ktrerr": ("read", 320, 64),
    "ktwerr": ("write", 160, 64),
}


def by_name(names: list[str], extra: tuple[Scenario, ...] = ()) -> list[Scenario]:
    """Return the scenarios named (built-in, then *extra*) in table order; unknown names raise."""
    table = {s.name: s for s in SCENARIOS + STATUS_SCENARIOS + extra}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KmodelError(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(table)}")
    return [s for s in table.values() if s.name in names]


def blkdebug_config(iotype: str, start: int, count: int) -> str:
    """Return a QEMU blkdebug config failing *iotype* I/O on each 4 KiB slot in the range."""
    event = "read_aio" if iotype == "read" else "write_aio"
    rules = [
        f'[inject-error]\nevent = "{event}"\niotype = "{iotype}"\nerrno = "5"\n'
        f'sector = "{sector}"\nonce = "off"\nimmediately = "off"\n'
        for sector in range(start, start + count, 8)
    ]
    return "\n".join(rules)
