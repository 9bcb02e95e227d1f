#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: modprobe_selection.sh [CONF]
#
# Which backend serves VFIO containers when modules are loaded the way
# users load them: `modprobe vfio-pci`, with iommufd.ko installed in the
# module tree (scripts/guest-run --install) and the modprobe configuration
# CONF (default: Documentation/modprobe.d/iommufd.conf) in a modprobe.d
# directory.
#
#   modprobe vfio-pci -> vfio.ko -> softdep post: ...
#                                     |- vfio_iommu_type1  (no config)
#                                     '- iommufd           (iommufd.conf)
#   selftests/bin/vfio_edu opens a container on the edu device
#
# Exit 4 (skip) without an edu device.
set -u
# shellcheck source=selftests/lib/ktap.sh
. "$(dirname "$0")/../selftests/lib/ktap.sh"
conf=${1:-Documentation/modprobe.d/iommufd.conf}

cleanup() {
	rm -f /run/modprobe.d/iommufd.conf
	modprobe -r vfio_pci iommufd vfio_iommu_type1 vfio 2>/dev/null
}
trap cleanup EXIT

bdf=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -n 1)
if [ -z "$bdf" ]; then
	echo "1..0 # SKIP no edu device"
	exit 4
fi
bdf=$(basename "$(dirname "$bdf")")
modinfo iommufd >/dev/null 2>&1 || {
	echo "1..0 # SKIP iommufd.ko is not installed in the module tree"
	exit 4
}

unload_all() {
	modprobe -r vfio_pci iommufd vfio_iommu_type1 vfio 2>/dev/null
	[ ! -d /sys/module/vfio ]
}

# Load vfio-pci as users do, open a container, say who served it
open_container() {
	local before
	run modprobe vfio-pci || return 1
	echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null || true
	[ -e "/sys/bus/pci/drivers/vfio-pci/$bdf" ] || return 1
	before=$(dmesg | wc -l)
	run selftests/bin/vfio_edu -t dma_roundtrip > /tmp/vfio_edu.log 2>&1 ||
		{ sed 's/^/# /' /tmp/vfio_edu.log; return 1; }
	served=$(dmesg | tail -n +"$((before + 1))" | grep -c 'iommufd: serving')
	log "loaded: $(lsmod | awk '/^(vfio_iommu_type1|iommufd) / { print $1 }' | xargs)"
	log "containers served by iommufd: $served"
}

test_default_is_type1() {
	unload_all || return 1
	open_container || return 1
	[ -d /sys/module/vfio_iommu_type1 ] && [ ! -d /sys/module/iommufd ] &&
		[ "$served" = 0 ]
}

test_config_selects_iommufd() {
	unload_all || return 1
	mkdir -p /run/modprobe.d
	run cp "$conf" /run/modprobe.d/iommufd.conf
	open_container || return 1
	[ -d /sys/module/iommufd ] && [ ! -d /sys/module/vfio_iommu_type1 ] &&
		[ "$served" -ge 1 ]
}

test_removing_config_goes_back() {
	rm -f /run/modprobe.d/iommufd.conf
	unload_all || return 1
	open_container || return 1
	[ -d /sys/module/vfio_iommu_type1 ] && [ "$served" = 0 ]
}

ktap_run test_default_is_type1 test_config_selects_iommufd \
	test_removing_config_goes_back
