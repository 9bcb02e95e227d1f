#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: vfio_edu.sh [-u] type1|iommufd [KO]
#   -u  allow_unsafe_interrupts=1 for the backend: for an IOMMU without
#       MSI isolation, such as virtio-iommu on x86
#
#   guest: q35 + intel-iommu (interrupt remapping on)
#     00:0x.0 edu (1234:11e8) --- vfio-pci --- /dev/vfio/<group>
#                                               |
#     selftests/bin/vfio_edu --- /dev/vfio/vfio (container)
#                                  served by vfio_iommu_type1, or by
#                                  iommufd.ko when it is loaded after it
#
# Binds the edu device to vfio-pci and runs selftests/bin/vfio_edu with
# the backend asked for; then checks in dmesg which backend served the
# containers and that the DMA to an unmapped IOVA faulted in the IOMMU.
# With e1000e NICs in the guest (guest-run --nics) the first is bound to
# vfio-pci too: a second group, for the tests that attach one (skipped
# otherwise).  Exit 4 (skip) without an edu device.
set -u
. "$(dirname "$0")/lib/ktap.sh"
. "$(dirname "$0")/lib/edu.sh"
unsafe=0
if [ "${1:-}" = -u ]; then
	unsafe=1
	shift
fi
backend=$1
ko=${2:-iommufd.ko}

cleanup() {
	[ "$backend" = iommufd ] && rmmod iommufd 2>/dev/null
}
trap cleanup EXIT

edu_bind_vfio

# A second group for the attach tests, when the guest has e1000e NICs
nic=$(grep -l 0x10d3 /sys/bus/pci/devices/*/device 2>/dev/null | head -n 1)
if [ -n "$nic" ]; then
	nic=$(dirname "$nic")
	echo vfio-pci > "$nic/driver_override"
	[ -e "$nic/driver" ] && echo "${nic##*/}" > "$nic/driver/unbind"
	echo "${nic##*/}" > /sys/bus/pci/drivers_probe
	log "second group: ${nic##*/} on $(readlink "$nic/driver")"
fi

before=$(dmesg | wc -l)
if [ "$backend" = iommufd ]; then
	run insmod "$ko" "allow_unsafe_interrupts=$unsafe" || exit 1
elif [ $unsafe = 1 ]; then
	echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
fi
selftests/bin/vfio_edu
rc=$?
new=$(dmesg | tail -n +"$((before + 1))")

served=$(echo "$new" | grep -c 'iommufd: serving a VFIO type1')
log "containers served by iommufd: $served"
if [ "$backend" = iommufd ] && [ "$served" = 0 ]; then
	log "FAILED: iommufd served no container"
	rc=1
fi
if [ "$backend" = type1 ] && [ "$served" != 0 ]; then
	log "FAILED: iommufd served a container while testing type1"
	rc=1
fi
faults=$(echo "$new" | grep -cE 'DMAR: \[DMA Write|virtio_iommu.*fault')
log "IOMMU write faults reported: $faults"
if [ "$faults" = 0 ]; then
	log "FAILED: the DMA to an unmapped IOVA did not fault"
	rc=1
fi
exit $rc
