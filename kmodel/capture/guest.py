"""The guest side of a capture: the /init script and one shell script per scenario.

/init mounts the pseudo filesystems, loads the modules, sets up tracefs and a cgroup v2 group
with a small ``memory.max``, runs each scenario, then writes /out as a tar archive onto the
results disk (virtio serial ``ktout``) and powers off. The host reads the archive back.
"""

from __future__ import annotations

import shlex

from kmodel.capture import probes
from kmodel.capture.scenarios import Scenario

#: cgroup v2 memory limit that pushes the 1 MiB workload out to swap.
MEMORY_MAX = "512K"

# Helpers shared by every scenario; $1 etc. are shell positional parameters.
_LIB = r"""
T=/sys/kernel/tracing
CG=/sys/fs/cgroup/kt
KT_FAIL=0

# Print /dev/vdX for a virtio disk serial given as @serial; other names pass through.
resolve() {
    case "$1" in
    @*) for d in /sys/block/vd*; do
            if [ "$(cat $d/serial 2>/dev/null)" = "${1#@}" ]; then echo /dev/${d##*/}; return; fi
        done
        echo "/dev/missing-${1#@}" ;;
    *) echo "$1" ;;
    esac
}

wait_for() {
    i=0
    while [ ! -e "$1" ] && [ $i -lt 200 ]; do usleep 20000; i=$((i + 1)); done
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# Print the CPU the disk's completion IRQ goes to (or "none"), after steering it to CPU 1.
irq_cpu() {
    [ -n "$1" ] || { echo none; return; }
    vdev=$(basename "$(readlink /sys/block/${1#/dev/}/device)")
    irq=$(grep "$vdev-req" /proc/interrupts | head -n1 | cut -d: -f1 | tr -d ' ')
    [ -n "$irq" ] || { echo none; return; }
    echo 2 > /proc/irq/$irq/smp_affinity 2>/dev/null
    echo "$irq $vdev $(cat /proc/irq/$irq/effective_affinity_list 2>/dev/null)"
}

trace_start() {
    echo 0 > $T/tracing_on
    echo 0 > $T/events/enable
    echo > $T/kprobe_events
    while read -r line; do echo "$line" >> $T/kprobe_events || echo "KT: bad probe: $line"; done < /kprobes.txt
    echo 1 > $T/events/kt/enable
    for tp in $(cat /tracepoints.txt); do echo 1 > $T/events/$tp/enable; done
    echo > $T/trace
    echo 1 > $T/tracing_on
}

memstat() {
    echo "KT: memory.current=$(cat $CG/memory.current) memory.swap.current=$(cat $CG/memory.swap.current)"
    grep -E '^(pswpin|pswpout|pgmajfault|swap_ra|swap_ra_hit) ' /proc/vmstat | tr '\n' ' '
    echo
}

run_scenario() {
    name=$1; out=/out/$name; log=$out.log.txt
    t0=$(uptime_s)
    dmesg -c > /dev/null
    . /scen/$name.sh
    SWAPDISK=$(resolve @ktswap)
    dev=$(resolve "$DEV")
    { setup; } >> $log 2>&1 || echo "KT: setup failed" >> $log
    wait_for "$dev"
    blk=$(basename "$(readlink -f "$dev")")
    rot0=$(cat /sys/block/$blk/queue/rotational)
    [ -n "$ROT" ] && echo "$ROT" > /sys/block/$blk/queue/rotational
    [ -e /sys/block/$blk/queue/rq_affinity ] && echo 0 > /sys/block/$blk/queue/rq_affinity
    mkswap "$dev" > /dev/null 2>> $log && swapon "$dev" 2>> $log
    cat /proc/swaps >> $log
    echo "KT: rotational=$(cat /sys/block/$blk/queue/rotational) page-cluster=$(cat /proc/sys/vm/page-cluster)" >> $log
    irq=$(irq_cpu "$(resolve "$IRQDISK")")
    cpu=0
    case "$irq" in *" 0") cpu=1 ;; esac
    echo "KT: completion irq: $irq -> workload on cpu $cpu" >> $log
    trace_start
    sh -c "echo \$\$ > $CG/cgroup.procs && exec taskset -c $cpu /bin/memhog -w $WARGS" >> $log 2>&1 &
    pid=$!
    i=0
    until grep -q 'memhog: pid=.* filled' $log || [ $i -ge 1500 ]; do usleep 20000; i=$((i + 1)); done
    memstat >> $log
    { midway; } >> $log 2>&1 || echo "KT: midway failed" >> $log
    kill -USR1 $pid
    wait $pid
    status=$?
    echo 0 > $T/tracing_on
    echo "KT: memhog pid=$pid exit status $status" >> $log
    cat $T/trace > $out.trace.txt
    cat $T/kprobe_profile > $out.kprobe_profile.txt
    for c in $T/per_cpu/cpu*; do
        grep -E '^(entries|overrun|commit overrun):' $c/stats | sed "s|^|KT: ${c##*/} |" >> $log
    done
    memstat >> $log
    swapoff "$dev" 2>> $log
    echo "$rot0" > /sys/block/$blk/queue/rotational
    { teardown; } >> $log 2>&1 || echo "KT: teardown failed" >> $log
    dmesg > $out.dmesg.txt
    echo "KT: scenario $name seconds $(awk "BEGIN{print $(uptime_s) - $t0}")" >> $log
}
"""

_INIT_HEAD = r"""#!/bin/sh
export PATH=/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "KT: init at $(cut -d' ' -f1 /proc/uptime)s"
"""


def _scenario_script(s: Scenario) -> str:
    def fn(name: str, body: str) -> str:
        return f"{name}() {{\n    {body or 'true'}\n}}\n"

    return (
        f"DEV={shlex.quote(s.device)}\nIRQDISK={shlex.quote(s.irq_disk)}\n"
        f"ROT={shlex.quote(s.rotational)}\nWARGS={shlex.quote(s.workload)}\n"
        + fn("setup", s.setup)
        + fn("midway", s.midway)
        + fn("teardown", s.teardown)
    )


def init_script(boot_modules: list[str], scenarios: list[Scenario]) -> str:
    """Return /init: prepare the guest, run *scenarios* in order, ship /out, power off."""
    lines = [_INIT_HEAD]
    lines += [f"insmod {m} || echo 'KT: insmod {m} failed'" for m in boot_modules]
    lines.append(". /lib/kt.sh")
    lines += [f"echo {value} > $T/{path}" for path, value in probes.OPTIONS]
    lines += [
        "echo +memory > /sys/fs/cgroup/cgroup.subtree_control",
        "mkdir -p $CG",
        f"echo {MEMORY_MAX} > $CG/memory.max",
        "wait_for $(resolve @ktswap)",
    ]
    for s in scenarios:
        lines.append(f'echo "KT: scenario {s.name}"; run_scenario {s.name}')
    lines += [
        'out=$(resolve @ktout)',
        'tar -cf "$out" -C /out . && sync',
        'echo "KT: results written at $(uptime_s)s"',
        "poweroff -f",
    ]
    return "\n".join(lines) + "\n"


def guest_files(boot_modules: list[str], scenarios: list[Scenario]) -> dict[str, str]:
    """Return the text files of the initramfs, keyed by guest path."""
    files = {
        "/init": init_script(boot_modules, scenarios),
        "/lib/kt.sh": _LIB,
        "/kprobes.txt": "\n".join(probes.kprobe_events()) + "\n",
        "/tracepoints.txt": "\n".join(tp.replace(":", "/") for tp in probes.TRACEPOINTS) + "\n",
    }
    for s in scenarios:
        files[f"/scen/{s.name}.sh"] = _scenario_script(s)
    return files
