#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: vfio_emu.sh type1|iommufd EMU_KO [KO]
#
# Loads vfio_emu.ko (an emulated device, selftests/kmod/) and runs
# selftests/bin/vfio_emu on containers served by vfio_iommu_type1, or by
# KO loaded instead.  Then, as KTAP too: the right backend served the
# containers, and both modules unload.
set -u
. "$(dirname "$0")/lib/ktap.sh"
backend=$1
emu=$2
ko=${3:-iommufd.ko}
module=vfio_iommu_type1
[ "$backend" = iommufd ] && module=iommufd

cleanup() {
	rmmod vfio_emu 2>/dev/null
	[ "$backend" = iommufd ] && rmmod iommufd 2>/dev/null
}
trap cleanup EXIT

run modprobe vfio || exit 1
run insmod "$emu" || exit 1
before=$(dmesg | wc -l)
if [ "$backend" = iommufd ]; then
	run insmod "$ko" || exit 1
else
	run modprobe vfio_iommu_type1 || exit 1
fi
selftests/bin/vfio_emu
rc=$?
new=$(dmesg | tail -n +"$((before + 1))")

test_backend_served() {
	local served
	served=$(echo "$new" | grep -c 'iommufd: serving a VFIO type1')
	log "containers served by iommufd: $served"
	if [ "$backend" = iommufd ]; then
		expect "iommufd served the containers" test "$served" != 0
	else
		expect "iommufd served no container" test "$served" = 0
	fi
}

test_modules_released() {
	expect "vfio_emu unloads" rmmod vfio_emu
	log "$module refcnt: $(cat /sys/module/$module/refcnt)"
	expect "nothing holds $module" grep -qx 0 /sys/module/$module/refcnt
	expect "$module unloads" rmmod "$module"
}

ktap_run test_backend_served test_modules_released || rc=1
exit $rc
