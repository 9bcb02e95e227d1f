#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make a Debian 12 (bookworm) amd64 machine ready to build and test the
# module.  Idempotent; run as root.  Usage: scripts/setup.sh [SERIES...]
# where SERIES is 6.12 (default) and/or 6.1.
#
# What it does:
#   - installs the build tools, DKMS and the Debian packaging tools, QEMU,
#     busybox and the user-space programs the guest tests run (all from
#     bookworm and bookworm-security);
#   - installs the kernel headers of each series (apt also pulls the image
#     package they depend on; it is never booted here);
#   - downloads the matching linux-image package and extracts it, without
#     installing it, into build/kernels/<release>/, then runs depmod there:
#     that tree is what the QEMU guests boot and load modules from;
#   - unpacks linux-source-6.12 into build/linux-source/ (checkpatch.pl,
#     the kernel's selftests and the reference sources).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/build
series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.12)

[ "$(id -u)" = 0 ] || { echo "setup: run as root" >&2; exit 1; }

packages=(build-essential bc bison flex libelf-dev libssl-dev pahole sparse
	  xz-utils cpio kmod rsync busybox-static qemu-system-x86 pciutils
	  dpdk-dev gnuplot-nox linux-source-6.12 util-linux procps
	  dkms dh-dkms debhelper)
for s in "${series[@]}"; do
	case "$s" in
	6.12) packages+=(linux-headers-6.12-amd64) ;;
	6.1) packages+=(linux-headers-amd64) ;;
	*) echo "setup: unknown series '$s'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
fi

mkdir -p "$cache/kernels"
for s in "${series[@]}"; do
	kver=$("$top/scripts/kver" "$s")
	dest=$cache/kernels/$kver
	if [ -f "$dest/.ready" ]; then
		echo "setup: guest kernel $kver ready in ${dest#"$top"/}"
		continue
	fi
	echo "setup: extracting guest kernel $kver"
	rm -rf "$dest" "$cache/kernels/.dl"
	mkdir -p "$cache/kernels/.dl"
	chown _apt "$cache/kernels/.dl" 2>/dev/null || true
	(cd "$cache/kernels/.dl" && apt-get download -q "linux-image-$kver")
	dpkg-deb -x "$cache"/kernels/.dl/linux-image-"$kver"_*.deb "$dest"
	rm -rf "$cache/kernels/.dl"
	depmod -b "$dest" "$kver"
	touch "$dest/.ready"
done

src=$cache/linux-source
if [ ! -f "$src/.ready" ]; then
	echo "setup: unpacking linux-source-6.12"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf /usr/src/linux-source-6.12.tar.xz -C "$src" --strip-components=1
	touch "$src/.ready"
fi
echo "setup: done"
