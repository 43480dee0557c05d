#!/usr/bin/env bash
# Install the host tools `kmodel capture` needs (Debian/Ubuntu). Idempotent: re-running it only
# checks what is already there. The kernel image itself is fetched later by `kmodel capture`.
set -euo pipefail

# zstd: the 6.12 image's vmlinuz payload (kmodel capture --kernel 6.12).
PACKAGES=(qemu-system-x86 busybox-static cpio kmod gcc libc6-dev dmsetup xz-utils e2fsprogs zstd)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-capture: all host packages present: ${PACKAGES[*]}"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

echo "setup-capture: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait up to 10 minutes for another apt/dpkg (unattended-upgrades, a parallel job) to
# release its lock instead of failing at once with rc 100.
LOCK_WAIT=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${LOCK_WAIT[@]}" update -q
$SUDO apt-get "${LOCK_WAIT[@]}" install -y --no-install-recommends "${missing[@]}"
echo "setup-capture: done"
