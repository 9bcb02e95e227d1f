#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: vfio_diff.sh [KO [vfio_diff options...]]
#
# The differential test of the type1 container ioctls (selftests/vfio_diff.c)
# in one guest boot:
#   1. edu bound to vfio-pci, vfio_iommu_type1 serving the containers:
#      `vfio_diff record` writes the reference traces into a tmpfs folder;
#   2. the same again, compared with those traces (-q): the reference must
#      repeat itself, or the comparison below means nothing;
#   3. insmod KO (vfio.ko gives new containers to the newest backend):
#      `vfio_diff compare` prints KTAP, one test per seed, container type
#      and kind, with every difference as diagnostics;
#   4. rmmod, and dmesg must show that this module served containers.
# Options after KO go to vfio_diff (default: its seeds and step counts);
# VFIO_DIFF_SEEDS=1,2,... picks the seeds; a guest slower than a Debian
# kernel (GUEST_TIMEOUT_FACTOR above 1: the debug kernel, where one seed
# takes minutes) runs seed 1 only.  Exit 4 (skip) without edu.
set -u
ko=${1:-iommufd.ko}
shift || true
opts=("$@")
if [ -z "${VFIO_DIFF_SEEDS:-}" ] && [ "${GUEST_TIMEOUT_FACTOR:-1}" != 1 ]; then
	VFIO_DIFF_SEEDS=1
fi
[ -z "${VFIO_DIFF_SEEDS:-}" ] || opts+=(-s "$VFIO_DIFF_SEEDS")
prog=selftests/bin/vfio_diff
. "$(dirname "$0")/lib/ktap.sh"
. "$(dirname "$0")/lib/edu.sh"

dir=$(mktemp -d /tmp/vfio_diff.XXXXXX)
loaded=0
cleanup() {
	[ "$loaded" = 1 ] && rmmod iommufd 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

edu_bind_vfio
run modprobe vfio_iommu_type1 || exit 1
if [ -e /sys/module/iommufd ]; then
	log "iommufd is loaded already: the reference would not be type1"
	exit 1
fi

start=$(date +%s)
before=$(dmesg | wc -l)
run "$prog" record "$dir" "${opts[@]}" || { log "recording failed"; exit 1; }
if ! run "$prog" compare "$dir" -q "${opts[@]}"; then
	log "FAILED: vfio_iommu_type1 does not repeat its own trace"
	exit 1
fi
if [ "$(dmesg | tail -n +"$((before + 1))" | grep -c 'iommufd: serving')" != 0 ]; then
	log "FAILED: iommufd served a reference container"
	exit 1
fi

run insmod "$ko" || exit 1
loaded=1
before=$(dmesg | wc -l)
"$prog" compare "$dir" "${opts[@]}"
rc=$?
served=$(dmesg | tail -n +"$((before + 1))" | grep -c 'iommufd: serving')
log "containers served by iommufd: $served"
if [ "$served" = 0 ]; then
	log "FAILED: iommufd served no container"
	rc=1
fi
if ! rmmod iommufd; then
	log "FAILED: iommufd could not be unloaded (refcnt $(cat /sys/module/iommufd/refcnt))"
	rc=1
fi
loaded=0
log "vfio_diff.sh: $(($(date +%s) - start))s"
exit $rc
