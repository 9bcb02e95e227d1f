#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: vfio_debugfs.sh [KO]
#
# The module's debugfs tree (iommufd/debugfs.c) in a guest with the edu
# device: debugfs mounted, the edu bound to vfio-pci, KO loaded after
# vfio_iommu_type1 so that it serves the type1 containers, then
# selftests/bin/vfio_debugfs checks the tree against what it maps (KTAP).
# Then, as KTAP too: nothing is left in the tree; a file opened in a
# context's directory outlives the context, fails to read (EIO) and holds
# the module; rmmod takes the tree away.  Exit 4 (skip) without edu.
set -u
. "$(dirname "$0")/lib/ktap.sh"
. "$(dirname "$0")/lib/edu.sh"
ko=${1:-iommufd.ko}
tree=/sys/kernel/debug/iommufd

cleanup() {
	rmmod iommufd 2>/dev/null
}
trap cleanup EXIT

if ! mountpoint -q /sys/kernel/debug; then
	run mount -t debugfs debugfs /sys/kernel/debug || exit 1
fi
edu_bind_vfio
run modprobe vfio_iommu_type1 || exit 1
run insmod "$ko" || exit 1
selftests/bin/vfio_debugfs
rc=$?

test_tree_left_empty() {
	local left
	expect "the tree is there" test -d "$tree"
	left=$(ls -A "$tree")
	[ -z "$left" ] || log "left in the tree: $left"
	expect "nothing left in the tree" test -z "$left"
}

test_open_file_outlives_context() {
	local ctx
	exec 3<>/dev/iommu
	ctx=$(ls "$tree")
	log "context of /dev/iommu: $ctx"
	expect "one context for the open file" test "$(echo "$ctx" | wc -w)" = 1
	exec 4<"$tree/$ctx/context"
	exec 3>&-
	expect "the context's directory went with the file" \
		test ! -e "$tree/$ctx"
	if rmmod iommufd 2>/dev/null; then
		log "FAILED: rmmod while a file of the tree is open"
		return 1
	fi
	if cat <&4 >/dev/null 2>&1; then
		log "FAILED: a file of a context that went away can be read"
		return 1
	fi
	exec 4<&-
}

test_unload_removes_tree() {
	run rmmod iommufd
	expect "no tree after rmmod" test ! -e "$tree"
	run insmod "$ko"
	expect "the tree is back" test -d "$tree"
	expect "the tree is empty" test -z "$(ls -A "$tree")"
	run rmmod iommufd
}

ktap_run test_tree_left_empty test_open_file_outlives_context \
	test_unload_removes_tree || rc=1
exit $rc
