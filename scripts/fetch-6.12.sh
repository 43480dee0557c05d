#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Fetch Debian 13's Linux 6.12.118 source (for the 6.12 citation tests) and kernel image
# (for 6.12 captures) on a Debian 12 host WITHOUT touching the system's apt sources:
# a separate APT configuration with its own sources list, lists and cache.
# Debian 12's debian-archive-keyring already holds the trixie keys.
#
# Usage: scripts/fetch-6.12.sh [DEST]   (default DEST=/work/k612; APT state in $APT612)
# Result: DEST/linux-source-6.12_6.12.118-1_all.deb, DEST/linux-image-...deb, the
# source tree in DEST/src (DEST/src/mm/page_io.c ...), the image's /boot in DEST/img/boot
# (vmlinuz, config) and DEST/vmlinux-6.12, the uncompressed kernel (ELF with .BTF) that
# QEMU boots directly (PVH) and the BTF probe derivation reads.
set -eu
DEST=${1:-/work/k612}
APT612=${APT612:-$(dirname "$DEST")/apt612}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
KVER=6.12.118
DEBVER=6.12.118-1

for tool in apt-get dpkg-deb xz zstd; do  # the source is .tar.xz, the image zstd-compressed
    command -v "$tool" >/dev/null || { echo "$0: needs $tool (apt-get install xz-utils zstd)" >&2; exit 1; }
done
mkdir -p "$APT612/lists/partial" "$APT612/cache/archives/partial" "$APT612/sources.list.d" "$DEST"
cat >"$APT612/sources.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $SECURITY trixie-security main
LIST
cat >"$APT612/apt.conf" <<CONF
Dir::Etc::sourcelist "$APT612/sources.list";
Dir::Etc::sourceparts "$APT612/sources.list.d";
Dir::State::Lists "$APT612/lists";
Dir::Cache "$APT612/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
export APT_CONFIG="$APT612/apt.conf"
cd "$DEST"
if [ ! -f linux-source-6.12_"$DEBVER"_all.deb ] ||
   [ ! -f linux-image-"$KVER"+deb13-amd64_"$DEBVER"_amd64.deb ]; then
    apt-get -q update
    apt-get -q download "linux-source-6.12=$DEBVER" "linux-image-$KVER+deb13-amd64=$DEBVER"
fi

if [ ! -f "$DEST/src/mm/page_io.c" ]; then
    rm -rf "$DEST/deb" "$DEST/src.tmp"
    dpkg-deb -x "$DEST"/linux-source-6.12_"$DEBVER"_all.deb "$DEST/deb"
    mkdir -p "$DEST/src.tmp"
    tar -xaf "$DEST/deb/usr/src/linux-source-6.12.tar.xz" -C "$DEST/src.tmp" --strip-components=1
    rm -rf "$DEST/deb"
    mv "$DEST/src.tmp" "$DEST/src"
fi
if [ ! -f "$DEST/vmlinux-6.12" ]; then
    rm -rf "$DEST/img"
    mkdir -p "$DEST/img"
    dpkg-deb --fsys-tarfile "$DEST"/linux-image-"$KVER"+deb13-amd64_"$DEBVER"_amd64.deb |
        tar -x -C "$DEST/img" ./boot/
    sh "$DEST/src/scripts/extract-vmlinux" "$DEST/img/boot/vmlinuz-$KVER+deb13-amd64" \
        >"$DEST/vmlinux-6.12.tmp"
    mv "$DEST/vmlinux-6.12.tmp" "$DEST/vmlinux-6.12"
fi
head -5 "$DEST/src/Makefile"
wc -l "$DEST/src/mm/page_io.c"
