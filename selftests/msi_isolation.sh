#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: msi_isolation.sh [KO]
#
# Without MSI isolation (guest: intel-iommu with intremap=off), a device
# could raise any interrupt by DMA: vfio_iommu_type1 refuses to attach its
# group with -EPERM unless allow_unsafe_interrupts is set, and so must
# this module.  Each backend is tried both ways on the edu device; after a
# refusal nothing is left: this module unloads.  (When one backend refuses
# a group, vfio.ko offers the container to the next one that claims the
# type: type1's parameter stays 0 while this module is tested.)
. "$(dirname "$0")/lib/ktap.sh"
. "$(dirname "$0")/lib/edu.sh"

KO=${1:-iommufd.ko}

edu_bind_vfio
run modprobe vfio_iommu_type1 || exit 1

# attach EXPECTED: edu_attach prints "attach: EXPECTED"; the refusal is
# explained in dmesg
attach() {
	local before out
	before=$(dmesg | wc -l)
	out=$(selftests/bin/edu_attach) || true
	log "$out"
	[ "$out" = "attach: $1" ] || { log "FAILED: expected attach: $1"; return 1; }
	if [ "$1" = EPERM ]; then
		expect "the refusal is explained in dmesg" \
			sh -c "dmesg | tail -n +$((before + 1)) | grep -q 'No interrupt remapping support'"
	fi
}

test_no_msi_isolation() {
	local group
	group=$(basename "$(readlink "/sys/bus/pci/devices/$edu_bdf/iommu_group")")
	expect "the edu has an IOMMU group" test -n "$group"
	expect "no interrupt remapping" \
		sh -c "! dmesg | grep -qE 'DMAR-IR: Enabled IRQ remapping'"
}

test_type1_refuses() {
	echo 0 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
	attach EPERM
}

test_type1_unsafe_accepts() {
	echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
	attach ok
	echo 0 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
}

test_iommufd_refuses() {
	run insmod "$KO"
	attach EPERM
	expect "this module refused the group" \
		sh -c "dmesg | grep -q 'iommufd: .*No interrupt remapping support'"
	expect "the module unloads after the refusal" rmmod iommufd
}

test_iommufd_unsafe_accepts() {
	run insmod "$KO" allow_unsafe_interrupts=1
	attach ok
	expect "containers were served by iommufd" \
		sh -c "dmesg | grep -q 'iommufd: serving a VFIO type1v2 container'"
	expect "the module unloads" rmmod iommufd
}

ktap_run test_no_msi_isolation test_type1_refuses test_type1_unsafe_accepts \
	test_iommufd_refuses test_iommufd_unsafe_accepts
