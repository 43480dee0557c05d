"""The guest side of a capture: the /init script and one shell script per scenario.

/init mounts the pseudo filesystems, loads the modules, sets up tracefs and a cgroup v2 group
with a small ``memory.max``, runs each scenario, then writes /out as a tar archive onto the
results disk (virtio serial ``ktout``) and powers off. The host reads the archive back.
"""

from __future__ import annotations

import shlex
from importlib import resources

from kmodel.capture import probes
from kmodel.capture.scenarios import Outcome, Scenario

#: cgroup v2 memory limit that pushes the 1 MiB workload out to swap.
MEMORY_MAX = "512K"

_INIT_HEAD = r"""#!/bin/sh
export PATH=/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "KT: init at $(cut -d' ' -f1 /proc/uptime)s"
"""


# The pr_alert_ratelimited call site a scenario's errors go through (kt.sh waits for it).
_RATELIMITED = {Outcome.READ_ERROR: "read", Outcome.WRITE_ERROR: "write"}


def _scenario_script(s: Scenario) -> str:
    def fn(name: str, body: str) -> str:
        if not body:
            return f"{name}() {{\n    true\n}}\n"
        return f"{name}() {{\n    echo {shlex.quote(f'KT: {name}: {body}')}\n    {body}\n}}\n"

    return (
        f"DEV={shlex.quote(s.device)}\nDISK={shlex.quote(s.disk)}\n"
        f"IRQDISK={shlex.quote(s.irq_disk)}\n"
        f"ROT={shlex.quote(s.rotational)}\nWARGS={shlex.quote(s.workload)}\nHOGS={s.hogs}\n"
        f"RATELIMITED={_RATELIMITED.get(s.outcome, '')}\n"
        + fn("setup", s.setup)
        + fn("midway", s.midway)
        + fn("teardown", s.teardown)
    )


def init_script(
    boot_modules: list[str], scenarios: list[Scenario], trace_clock: str = probes.TRACE_CLOCK
) -> str:
    """Return /init: prepare the guest, run *scenarios* in order, ship /out, power off."""
    lines = [_INIT_HEAD]
    lines += [f"insmod {m} || echo 'KT: insmod {m} failed'" for m in boot_modules]
    lines.append(". /lib/kt.sh")
    options = {**dict(probes.OPTIONS), "trace_clock": trace_clock}
    lines += [f"echo {value} > $T/{path}" for path, value in options.items()]
    lines.append('echo "KT: trace_clock $(cat $T/trace_clock)"')
    lines.append("probes_install")
    lines += [
        "echo +memory > /sys/fs/cgroup/cgroup.subtree_control",
        "mkdir -p $CG",
        f"echo {MEMORY_MAX} > $CG/memory.max",
        "wait_for $(resolve @ktswap)",
    ]
    for s in scenarios:
        lines.append(f'echo "KT: scenario {s.name}"; run_scenario {s.name}')
    lines += [
        'echo "KT: results: scenarios done at $(uptime_s)s"',
        "out=$(resolve @ktout)",
        'tar -cf "$out" -C /out . && sync',
        'echo "KT: results written at $(uptime_s)s"',
        "poweroff -f",
    ]
    return "\n".join(lines) + "\n"


def guest_files(
    boot_modules: list[str], scenarios: list[Scenario], trace_clock: str = probes.TRACE_CLOCK
) -> dict[str, str]:
    """Return the text files of the initramfs, keyed by guest path."""
    files = {
        "/init": init_script(boot_modules, scenarios, trace_clock),
        "/lib/kt.sh": resources.files("kmodel.capture").joinpath("kt.sh").read_text(),
        "/kprobes.txt": "\n".join(probes.kprobe_events()) + "\n",
        "/tracepoints.txt": "\n".join(tp.replace(":", "/") for tp in probes.TRACEPOINTS) + "\n",
    }
    for s in scenarios:
        files[f"/scen/{s.name}.sh"] = _scenario_script(s)
    return files
