#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module's life in a guest: it needs vfio.ko, creates /dev/iommu with
# mode 0660 owned by root (an unprivileged user cannot open it until the
# mode allows), is held by an open file, and unloads leaving no
# trace.  Runs inside a guest (scripts/guest-run), as root.
#
# IOMMUFD_KO names the module to test (default: ./iommufd.ko); the guest
# must have the same module installed (scripts/guest-run --install) for the
# modprobe test.
. "$(dirname "$0")/lib/ktap.sh"

KO=${IOMMUFD_KO:-iommufd.ko}

vfio_unload_all() {
	modprobe -r vfio_pci vfio_iommu_type1 vfio 2>/dev/null || true
	[ ! -d /sys/module/vfio ]
}

dmesg_lines() {
	dmesg | wc -l
}

test_load_needs_vfio() {
	vfio_unload_all
	local before
	before=$(dmesg_lines)
	if run insmod "$KO"; then
		log "insmod succeeded without vfio.ko"
		rmmod iommufd
		return 1
	fi
	dmesg | tail -n +"$((before + 1))" | sed 's/^/# dmesg: /'
	expect "unknown vfio symbol reported" \
		sh -c "dmesg | tail -n +$((before + 1)) | grep -q 'iommufd: Unknown symbol vfio_register_iommu_driver'"
	expect "no module left" test ! -d /sys/module/iommufd
	expect "no /dev/iommu" test ! -e /dev/iommu
}

test_load_after_vfio() {
	run modprobe vfio
	run insmod "$KO"
	expect "module live" grep -qx live /sys/module/iommufd/initstate
	expect "iommufd holds vfio" test -e /sys/module/vfio/holders/iommufd
	expect "vfio.ko offers type1 too" test -d /sys/module/vfio_iommu_type1
	expect "nothing holds iommufd" grep -qx 0 /sys/module/iommufd/refcnt
}

test_dev_node() {
	local mode owner dev
	mode=$(stat -c %a /dev/iommu)
	owner=$(stat -c %U:%G /dev/iommu)
	dev=$(stat -c '%t:%T' /dev/iommu)
	log "/dev/iommu: mode $mode owner $owner dev $dev"
	expect "character device" test -c /dev/iommu
	expect "mode 0660" test "$mode" = 660
	expect "owned by root" test "$owner" = root:root
	# sysfs gives decimal major:minor, stat hex.
	expect "misc device 'iommu'" test "$(cat /sys/class/misc/iommu/dev)" = \
		"$((0x${dev%:*})):$((0x${dev#*:}))"
	# Others may not open it; root may, and may open it to a group
	expect "an unprivileged user cannot open it" \
		sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c ': < /dev/iommu' 2>/dev/null"
	expect "root can open it" sh -c ': < /dev/iommu'
	chmod 0666 /dev/iommu
	expect "the unprivileged user can once the mode allows" \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c ': < /dev/iommu'
	chmod 0660 /dev/iommu
}

test_open_file_holds_module() {
	exec 3<>/dev/iommu
	expect "refcount 1 while open" grep -qx 1 /sys/module/iommufd/refcnt
	if rmmod iommufd 2>/dev/null; then
		log "rmmod succeeded with /dev/iommu open"
		return 1
	fi
	exec 3>&-
	expect "refcount 0 after close" grep -qx 0 /sys/module/iommufd/refcnt
}

test_unload_leaves_no_trace() {
	local before
	before=$(dmesg_lines)
	run rmmod iommufd
	expect "module gone" test ! -d /sys/module/iommufd
	expect "/dev/iommu gone" test ! -e /dev/iommu
	expect "misc class entry gone" test ! -e /sys/class/misc/iommu
	expect "vfio no longer held" test ! -e /sys/module/vfio/holders/iommufd
	# Another load and unload, and only our own lines in dmesg meanwhile.
	run insmod "$KO"
	run rmmod iommufd
	local others
	others=$(dmesg | tail -n +"$((before + 1))" | grep -v '^\[[ 0-9.]*\] iommufd: ' || true)
	[ -z "$others" ] || log "foreign dmesg lines: $others"
	expect "only iommufd lines in dmesg" test -z "$others"
}

test_modprobe_pulls_vfio() {
	vfio_unload_all
	expect "module installed" cmp "$KO" \
		"/lib/modules/$(uname -r)/updates/$(basename "$KO")"
	run modprobe iommufd
	expect "vfio loaded by modprobe" test -d /sys/module/vfio
	expect "iommufd loaded" test -c /dev/iommu
	run modprobe -r iommufd
	expect "iommufd unloaded" test ! -d /sys/module/iommufd
}

ktap_run test_load_needs_vfio test_load_after_vfio test_dev_node \
	test_open_file_holds_module test_unload_leaves_no_trace \
	test_modprobe_pulls_vfio
