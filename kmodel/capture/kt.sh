# Guest-side helpers of kmodel capture, sourced by /init as /lib/kt.sh (busybox sh).
# probes_install once, then run_scenario NAME per scenario: it sources /scen/NAME.sh (DEV DISK IRQDISK ROT WARGS HOGS MISSES_OK,
# setup/midway/teardown).
T=/sys/kernel/tracing
CG=/sys/fs/cgroup/kt

# kmodel capture --recorder (kmodel/capture/recorders.py): another recorder beside tracefs
# fills these in /lib/kt-recorder.sh; with tracefs alone they do nothing.
recorder_start() { :; }
recorder_stop() { :; }
recorder_save() { :; }
[ -r /lib/kt-recorder.sh ] && . /lib/kt-recorder.sh

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

# A timed step of the scenario in its log: where a scenario's seconds go.
stamp() { echo "KT: at $(uptime_s)s $1" >> $log; }

# Read-error/Write-error lines are pr_alert_ratelimited (burst 10 per 5 s): wait for a refill.
# One state per call site: Read-error (end_swap_bio_read) and Write-error (end_swap_bio_write).
LAST_read=-10
LAST_write=-10
wait_ratelimit() {
    eval "last=\$LAST_$1"
    until awk "BEGIN{exit !($(uptime_s) >= $last + 5.2)}"; do usleep 100000; done
}

# Print the CPU the disk's completion IRQ goes to (or "none"), after steering it to CPU 1.
irq_cpu() {
    [ -n "$1" ] || { echo none; return; }
    vdev=$(basename "$(readlink /sys/block/${1#/dev/}/device)")
    irq=$(grep "$vdev-req" /proc/interrupts | head -n1 | cut -d: -f1 | tr -d ' ')
    [ -n "$irq" ] || { echo none; return; }
    echo 2 > /proc/irq/$irq/smp_affinity 2>/dev/null
    echo "$irq $vdev $(cat /proc/irq/$irq/effective_affinity_list 2>/dev/null)"
}

# The kprobes and the non-block tracepoints are installed and enabled once, at boot
# (registering and arming ~40 kprobes costs 1-2 s under TCG); tracing_on gates the
# recording, and each scenario's kprobe_profile is the difference of two snapshots.
probes_install() {
    echo 0 > $T/tracing_on
    echo 0 > $T/events/enable
    echo > $T/kprobe_events
    while read -r line; do echo "$line" >> $T/kprobe_events || echo "KT: bad probe: $line"; done < /kprobes.txt
    echo 1 > $T/events/kt/enable
    for tp in $(grep -v '^block/' /tracepoints.txt); do echo 1 > $T/events/$tp/enable; done
}

# Tracing starts before swapon (add_swap_extent records the extents); the block tracepoints
# follow after swapon (trace_block 1), so the swap header read and mkswap's writes stay out.
trace_start() {
    echo 0 > $T/tracing_on
    echo > $T/trace
    cat $T/kprobe_profile > $out.kprobe_profile.before
    echo 1 > $T/tracing_on
}

trace_block() {
    for tp in $(grep '^block/' /tracepoints.txt); do echo $1 > $T/events/$tp/enable; done
}

# The trace header lines (before "# tracer:") naming the conditions of the capture.
trace_header() {
    zs=/sys/module/zswap/parameters
    echo "# page-cluster: $(cat /proc/sys/vm/page-cluster)"
    echo "# clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
    echo "# trace-clock: $(sed 's/.*\[\(.*\)\].*/\1/' $T/trace_clock) (offered: $(tr -d '[]' < $T/trace_clock))"
    tail -n +2 /proc/swaps | while read -r f kind size used prio; do
        echo "# swap: $f type=$kind size_kb=$size priority=$prio"
    done
    echo "# swap-disk: /dev/$1 rotational=$(cat /sys/block/$1/queue/rotational)"
    echo "# vma-readahead: $(cat /sys/kernel/mm/swap/vma_ra_enabled)"
    echo "# zswap: enabled=$(cat $zs/enabled) compressor=$(cat $zs/compressor) zpool=$(cat $zs/zpool) max_pool_percent=$(cat $zs/max_pool_percent)"
    echo "# memcg: memory.max=$(cat $CG/memory.max) memory.swap.max=$(cat $CG/memory.swap.max)"
}

# Start HOGS workloads in the cgroup, the first on CPU $1, a second on the other CPU.
start_hogs() {
    pids=""
    c=$1
    for k in $(seq 1 "$HOGS"); do
        sh -c "echo \$\$ > $CG/cgroup.procs && exec taskset -c $c /bin/memhog -w $WARGS" >> $log 2>&1 &
        pids="$pids $!"
        c=$((1 - c))
    done
}

# Wait until every workload printed its 'filled' line, or died (an OOM kill), or 30 s.
wait_filled() {
    i=0
    while [ $i -lt 1500 ]; do
        [ "$(grep -c 'memhog: pid=.* filled' $log)" -ge "$HOGS" ] && return
        alive=0
        # Not kill -0: it succeeds on a zombie (an OOM-killed workload not yet waited for).
        for p in $pids; do grep -qs '^State:[[:space:]]*[^Z]' /proc/$p/status && alive=1; done
        [ $alive = 0 ] && return
        usleep 20000; i=$((i + 1))
    done
}

memstat() {
    echo "KT: memory.current=$(cat $CG/memory.current) memory.swap.current=$(cat $CG/memory.swap.current)"
    grep -E '^(pswpin|pswpout|pgmajfault|swap_ra|swap_ra_hit) ' /proc/vmstat | tr '\n' ' '
    echo
}

run_scenario() {
    name=$1; out=/out/$name; log=$out.log.txt
    . /scen/$name.sh
    [ -n "$RATELIMITED" ] && wait_ratelimit $RATELIMITED
    t0=$(uptime_s)
    stamp start
    dmesg -c > /dev/null
    SWAPDISK=$(resolve @ktswap)
    dev=$(resolve "$DEV")
    { setup; } >> $log 2>&1 || echo "KT: setup failed" >> $log
    wait_for "$dev"
    disk=$(resolve "${DISK:-$DEV}")
    blk=$(basename "$(readlink -f "$disk")")
    rot0=$(cat /sys/block/$blk/queue/rotational)
    [ -n "$ROT" ] && echo "$ROT" > /sys/block/$blk/queue/rotational
    [ -e /sys/block/$blk/queue/rq_affinity ] && echo 0 > /sys/block/$blk/queue/rq_affinity
    [ -b "$dev" ] && mkswap "$dev" > /dev/null 2>> $log
    irq=$(irq_cpu "$(resolve "$IRQDISK")")  # before tracing: reading a serial is a disk request
    cpu=0
    case "$irq" in *" 0") cpu=1 ;; esac
    if [ "$irq" = none ]; then
        echo "KT: no completion irq for $DEV -> workload on cpu $cpu" >> $log
    else
        set -- $irq
        echo "KT: completion irq $1 ($2-req) on cpu $3 -> workload on cpu $cpu" >> $log
    fi
    stamp "set up"
    trace_start
    stamp "probes installed"
    recorder_start
    swapon "$dev" 2>> $log
    trace_block 1
    cat /proc/swaps >> $log
    echo "KT: rotational=$(cat /sys/block/$blk/queue/rotational) vma_ra_enabled=$(cat /sys/kernel/mm/swap/vma_ra_enabled) page-cluster=$(cat /proc/sys/vm/page-cluster)" >> $log
    trace_header "$blk" > $out.header.txt
    stamp "workload started"
    start_hogs $cpu
    wait_filled
    memstat >> $log
    { midway; } >> $log 2>&1 || echo "KT: midway failed" >> $log
    for p in $pids; do kill -USR1 $p 2>/dev/null; done
    for p in $pids; do
        wait $p
        echo "KT: memhog pid=$p exit status $?" >> $log
    done
    echo 0 > $T/tracing_on
    recorder_stop
    trace_block 0
    stamp "workload done"
    cat $T/trace > $out.trace.txt
    cat $T/kprobe_profile > $out.kprobe_profile.txt
    recorder_save
    stamp "trace saved"
    for c in $T/per_cpu/cpu*; do
        grep -E '^(entries|overrun|commit overrun):' $c/stats | sed "s|^|KT: ${c##*/} |" >> $log
    done
    memstat >> $log
    swapoff "$dev" 2>> $log
    echo "$rot0" > /sys/block/$blk/queue/rotational
    { teardown; } >> $log 2>&1 || echo "KT: teardown failed" >> $log
    dmesg > $out.dmesg.txt
    stamp "torn down"
    [ -n "$RATELIMITED" ] && eval "LAST_$RATELIMITED=$(uptime_s)"
    echo "KT: scenario $name seconds $(awk "BEGIN{print $(uptime_s) - $t0}")" >> $log
}
