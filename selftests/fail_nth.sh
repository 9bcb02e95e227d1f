#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: fail_nth.sh [-e EMU_KO] KO [fail_nth options and scenarios...]
#
# The fault injection sweeps of selftests/fail_nth in a guest, with KO
# (the test build) loaded by selftests/with-module: the edu device, when
# the guest has one, is bound to vfio-pci for the vfio_container
# scenarios, EMU_KO (selftests/kmod/vfio_emu.ko), when built, is loaded
# for the vfio_emu scenario, and vfio_iommu_type1 is unloaded, so that
# VFIO_SET_IOMMU cannot fall back to it when this module's open or attach
# fails.
#
# Where the kernel has kmemleak, it is cleared before and scanned after
# the sweeps, with the module still loaded: an unreferenced object
# allocated by the module fails the run.
set -u
here=$(dirname "$0")
. "$here/lib/ktap.sh"
kmemleak=/sys/kernel/debug/kmemleak

if [ "${1:-}" = --loaded ]; then
	# The module is loaded (with-module): sweep, then look for leaks
	shift
	"$here/bin/fail_nth" "$@"
	rc=$?
	if [ ! -w "$kmemleak" ]; then
		log "kmemleak: not in this kernel"
		exit $rc
	fi
	# Objects younger than 5 s are not reported
	sleep 6
	echo scan > "$kmemleak"
	echo scan > "$kmemleak"
	leaks=$(awk '/^unreferenced object/ { if (blk ~ /iommufd/) n++; blk = "" }
		     { blk = blk $0 "\n" }
		     END { if (blk ~ /iommufd/) n++; print n + 0 }' "$kmemleak")
	log "kmemleak: $leaks unreferenced objects of iommufd"
	if [ "$leaks" != 0 ]; then
		sed 's/^/# /' "$kmemleak" | head -n 200
		rc=1
	fi
	exit $rc
fi

emu=""
if [ "${1:-}" = -e ]; then
	emu=$2
	shift 2
fi
ko=$1
shift
if ! mountpoint -q /sys/kernel/debug; then
	run mount -t debugfs debugfs /sys/kernel/debug || exit 1
fi
if grep -qx 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null; then
	. "$here/lib/edu.sh"
	edu_bind_vfio
	log "edu $edu_bdf on vfio-pci"
fi
if [ -n "$emu" ] && [ -f "$emu" ]; then
	run modprobe vfio || exit 1
	run insmod "$emu" || exit 1
elif [ -n "$emu" ]; then
	log "no $emu: make selftests-kmod builds it"
fi
if [ -e /sys/module/vfio_iommu_type1 ]; then
	run rmmod vfio_iommu_type1 || exit 1
fi
[ -w "$kmemleak" ] && echo clear > "$kmemleak"
"$here/with-module" "$ko" "$0" --loaded "$@"
rc=$?
if [ -e /sys/module/vfio_emu ] && ! rmmod vfio_emu; then
	log "vfio_emu could not be unloaded"
	rc=1
fi
exit $rc
