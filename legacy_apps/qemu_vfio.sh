#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# QEMU as a legacy VFIO user, the path libvirt takes for legacy VFIO: the
# guest's own qemu-system-x86_64 starts a nested VM, paused, with the edu
# device assigned, and is driven over QMP.  Runs inside a guest
# (scripts/guest-run --edu).
#
#   outer guest: q35 + intel-iommu
#     edu (1234:11e8) -- vfio-pci -- /dev/vfio/<group>
#                                       |
#     qemu-system-x86_64 -S -m RAM ---- container (type1v2)
#       -device pcie-root-port,id=rp0      served by iommufd.ko or
#       -device vfio-pci,host=edu,id=edu0  by vfio_iommu_type1
#       QMP: qom-get realized, device_del edu0 + system_reset, quit
#
# For each backend: the device must realize, QEMU must map all its RAM
# through the container (its locked memory, which both backends charge to
# the process, must cover the RAM, but for 1 MiB), the unplug must complete
# and release every mapping, and quit must leave nothing held.
#
# usage: qemu_vfio.sh [-m MIB] [-k iommufd.ko] BACKEND...   (iommufd, type1)
# Exit 4 (skip) without an edu device or QEMU.
set -u
. "$(dirname "$0")/../selftests/lib/ktap.sh"

ram=384
ko=iommufd.ko
while getopts "m:k:" opt; do
	case $opt in
	m) ram=$OPTARG ;;
	k) ko=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- iommufd type1
qmp=$(dirname "$0")/qmp.py
work=$(mktemp -d)
sock=$work/qmp.sock

cleanup() {
	[ -n "${qemu_pid:-}" ] && kill "$qemu_pid" 2>/dev/null
	rmmod iommufd 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

command -v qemu-system-x86_64 >/dev/null || {
	echo "1..0 # SKIP no qemu-system-x86_64"
	exit 4
}
bdf=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -n 1)
if [ -z "$bdf" ]; then
	echo "1..0 # SKIP no edu device"
	exit 4
fi
bdf=$(basename "$(dirname "$bdf")")
run modprobe vfio-pci || exit 1
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id

locked_kb() {
	awk '/^VmLck:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# One nested QEMU with a backend; sets mapped_kb and unplugged_kb
qemu_run() {
	local backend=$1 before served
	mapped_kb=0 unplugged_kb=-1

	if [ "$backend" = iommufd ]; then
		run insmod "$ko" || return 1
	fi
	before=$(dmesg | wc -l)
	log "\$ qemu-system-x86_64 -S -m $ram -device vfio-pci,host=$bdf,id=edu0 ..."
	qemu-system-x86_64 -machine q35 -accel tcg -m "$ram" -nodefaults \
		-display none -S -qmp "unix:$sock,server=on,wait=off" \
		-device pcie-root-port,id=rp0,chassis=1 \
		-device "vfio-pci,host=$bdf,id=edu0,bus=rp0" \
		> "$work/qemu.log" 2>&1 &
	qemu_pid=$!

	"$qmp" "$sock" qom-get \
		'{"path": "/machine/peripheral/edu0", "property": "realized"}' \
		> "$work/realized.json" || return 1
	grep -q '"return": true' "$work/realized.json" ||
		{ log "edu0 did not realize"; return 1; }
	mapped_kb=$(locked_kb "$qemu_pid")
	log "nested VM realized edu0; QEMU's locked memory: ${mapped_kb} kB"
	# Less at most 1 MiB: the ROM pages QEMU maps read-only and never wrote
	# are the shared zero page before Linux 6.2, which neither backend
	# charges (Documentation/vfio-compat.rst)
	[ "$mapped_kb" -ge $(((ram - 1) * 1024)) ] ||
		{ log "less than the VM's ${ram} MiB of RAM is mapped"; return 1; }

	# A paused guest cannot acknowledge the hot unplug; the reset completes it
	"$qmp" "$sock" device_del '{"id": "edu0"}' > /dev/null || return 1
	"$qmp" "$sock" system_reset --wait-event DEVICE_DELETED > /dev/null ||
		{ log "no DEVICE_DELETED event"; return 1; }
	unplugged_kb=$(locked_kb "$qemu_pid")
	log "edu0 unplugged; QEMU's locked memory: ${unplugged_kb} kB"
	[ "$unplugged_kb" = 0 ] || return 1

	"$qmp" "$sock" quit > /dev/null || return 1
	wait "$qemu_pid"
	qemu_pid=
	served=$(dmesg | tail -n +"$((before + 1))" | grep -c 'iommufd: serving')
	if [ "$backend" = iommufd ]; then
		log "containers served by iommufd: $served, module references" \
		    "after quit: $(cat /sys/module/iommufd/refcnt)"
		[ "$served" = 1 ] && grep -qx 0 /sys/module/iommufd/refcnt &&
			run rmmod iommufd || return 1
	else
		[ "$served" = 0 ] || return 1
	fi
}

echo "KTAP version 1"
echo "1..$#"
printf '%s\n' "backend locked-kB-realized locked-kB-unplugged" > "$work/table"
n=0
failed=0
for backend in "$@"; do
	n=$((n + 1))
	if qemu_run "$backend"; then
		echo "ok $n qemu_vfio_$backend"
	else
		sed 's/^/# qemu: /' "$work/qemu.log"
		echo "not ok $n qemu_vfio_$backend"
		failed=$((failed + 1))
	fi
	echo "$backend $mapped_kb $unplugged_kb" >> "$work/table"
done
log "nested VM with ${ram} MiB of RAM:"
column -t "$work/table" | sed 's/^/#   /'
[ $failed = 0 ]
