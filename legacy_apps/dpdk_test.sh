#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DPDK's own unit tests that map memory through VFIO: dpdk-test (package
# dpdk-dev), unmodified, with the guest's two e1000e NICs bound to
# vfio-pci.  EAL puts their groups in its default VFIO container, and
# maps every change of DPDK's memory there (memory hotplug): hugepages
# allocated and freed as the malloc heap grows and shrinks, external memory
# added to a heap, each through EAL's memory event callback and
# rte_vfio_container_dma_map() / _unmap(), as VFIO_IOMMU_MAP_DMA and
# VFIO_IOMMU_UNMAP_DMA on the container.
#
# usage: dpdk_test.sh [-k iommufd.ko] BACKEND...   (iommufd or type1)
#   Runs each test of $tests on each backend.  A run passes when dpdk-test
#   says "Test OK", the container made at least one MAP_DMA and one
#   UNMAP_DMA after EAL's start (counted with strace), the asked backend
#   served it, the IOMMU reported no fault and, for this module, nothing
#   holds it afterwards.  Prints KTAP and a table.
# Exit 4 (skip) when the NICs or DPDK are missing.
set -u
. "$(dirname "$0")/../selftests/lib/ktap.sh"
. "$(dirname "$0")/lib/nics.sh"

# external_mem_autotest adds external memory to a malloc heap and removes
# it (rte_malloc_heap_memory_add(): EAL's memory event callback maps it in
# the container), and registers memory for DMA (rte_extmem_register(),
# rte_dev_dma_map()).  malloc_autotest, which grows and shrinks the heap,
# maps and unmaps through the container too, but takes over 2 minutes
# under TCG: left out.
tests="external_mem_autotest"
ko=iommufd.ko
while getopts "k:" opt; do
	case $opt in
	k) ko=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- iommufd type1
work=$(mktemp -d)

cleanup() {
	rmmod iommufd 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

command -v dpdk-test >/dev/null || {
	echo "1..0 # SKIP dpdk-test not installed"
	exit 4
}
bind_nics || exit
allow=()
for dev in $nics; do
	allow+=(-a "$dev")
done

# count_ioctl NAME: how many VFIO_IOMMU_NAME_DMA strace saw succeed (it
# names each ioctl number with every ioctl that shares it)
count_ioctl() {
	grep -cE "ioctl\([0-9]+, [^,]*\bVFIO_IOMMU_${1}_DMA\b[^,]*,.*= 0$" \
		"$work/strace.log"
}

# One dpdk-test run of test $1 on backend $2; sets its results.
dpdk_test_run() {
	local t=$1 backend=$2 before status
	if [ "$backend" = iommufd ]; then
		run insmod "$ko" || return 1
	fi
	before=$(dmesg | wc -l)
	log "\$ DPDK_TEST=$t dpdk-test -l 0-1 -n 1 --no-telemetry --iova-mode=va ${allow[*]}"
	DPDK_TEST=$t timeout 240 strace -f -qq -e trace=ioctl \
		-o "$work/strace.log" dpdk-test -l 0-1 -n 1 --no-telemetry \
		--iova-mode=va "${allow[@]}" > "$work/test.log" 2>&1 < /dev/null
	status=$?
	grep -E "Test (OK|Failed|Skipped)|VFIO support initialized" \
		"$work/test.log" | sed 's/^/# /'
	result=$(grep -oE "Test (OK|Failed|Skipped)" "$work/test.log" | tail -1)
	maps=$(count_ioctl MAP)
	unmaps=$(count_ioctl UNMAP)
	served=$(dmesg | tail -n +"$((before + 1))" | grep -c 'iommufd: serving a VFIO')
	faults=$(dmesg | tail -n +"$((before + 1))" | grep -c 'DMAR: \[DMA')
	held=0
	if [ "$backend" = iommufd ]; then
		held=$(cat /sys/module/iommufd/refcnt)
		run rmmod iommufd || held=unloadable
	fi
	return $status
}

n=0
failed=0
echo "KTAP version 1"
echo "1..$(($# * $(echo $tests | wc -w)))"
echo "test backend result map_dma unmap_dma" > "$work/table"
for backend in "$@"; do
	for t in $tests; do
		n=$((n + 1))
		result= maps=0 unmaps=0 served=0 faults=0 held=0
		dpdk_test_run "$t" "$backend"
		status=$?
		ok=1
		[ $status = 0 ] && [ "$result" = "Test OK" ] || ok=0
		[ "$maps" -gt 0 ] && [ "$unmaps" -gt 0 ] || ok=0
		[ "$faults" = 0 ] && [ "$held" = 0 ] || ok=0
		if [ "$backend" = iommufd ]; then
			[ "$served" -gt 0 ] || ok=0
		else
			[ "$served" = 0 ] || ok=0
		fi
		log "exit $status, $result, MAP_DMA $maps, UNMAP_DMA $unmaps," \
		    "containers served by iommufd $served, IOMMU faults $faults," \
		    "module references after exit $held"
		echo "$t $backend ${result#Test } $maps $unmaps" >> "$work/table"
		if [ $ok = 1 ]; then
			echo "ok $n ${t}_$backend"
		else
			echo "not ok $n ${t}_$backend"
			failed=$((failed + 1))
		fi
	done
done
log "dpdk-test, memory mapped through the VFIO container:"
column -t "$work/table" | sed 's/^/#   /'
[ $failed = 0 ]
