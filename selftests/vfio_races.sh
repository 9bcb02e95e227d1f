#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: vfio_races.sh type1|iommufd [KO]
#
# Binds the edu device to vfio-pci and runs selftests/bin/vfio_races on
# containers served by vfio_iommu_type1, or by KO loaded after it.  Then,
# as KTAP too: the right backend served the containers, the IOMMU reported
# no fault (every DMA stayed in mapped IOVAs), nothing holds the backend's
# module and it unloads.  Exit 4 (skip) without an edu device.
set -u
. "$(dirname "$0")/lib/ktap.sh"
. "$(dirname "$0")/lib/edu.sh"
backend=$1
ko=${2:-iommufd.ko}
module=vfio_iommu_type1
[ "$backend" = iommufd ] && module=iommufd

cleanup() {
	[ "$backend" = iommufd ] && rmmod iommufd 2>/dev/null
}
trap cleanup EXIT

edu_bind_vfio
run modprobe vfio_iommu_type1 || exit 1
before=$(dmesg | wc -l)
if [ "$backend" = iommufd ]; then
	run insmod "$ko" || exit 1
fi
selftests/bin/vfio_races
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

test_no_iommu_fault() {
	local faults
	faults=$(echo "$new" | grep -cE 'DMAR: \[DMA (Read|Write)')
	log "IOMMU faults reported: $faults"
	expect "no IOMMU fault" test "$faults" = 0
}

test_module_released() {
	log "$module refcnt: $(cat /sys/module/$module/refcnt)"
	expect "nothing holds $module" grep -qx 0 /sys/module/$module/refcnt
	expect "$module unloads" rmmod "$module"
}

ktap_run test_backend_served test_no_iommu_fault test_module_released ||
	rc=1
exit $rc
