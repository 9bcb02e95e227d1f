#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DPDK's testpmd, unmodified, forwarding packets between two NICs through
# VFIO type1 containers served by this module, and by vfio_iommu_type1 for
# comparison.  Runs inside a guest (scripts/guest-run --nics --hugepages).
#
#   guest: q35 + intel-iommu (interrupt remapping on)
#
#     e1000e port 0 ---+                       +--- vfio-pci --+
#                      |-- QEMU hub (hubid 0) -|               |-- dpdk-testpmd
#     e1000e port 1 ---+                       +--- vfio-pci --+   io forwarding
#                                                                  tx_first
#
#   Every packet testpmd sends on one port arrives on the other and is
#   forwarded back: both ports must keep receiving and sending.
#
# usage: dpdk_testpmd.sh [-s SECONDS] [-k MODULE] RUN...
#   MODULE is the iommufd.ko to insmod (default ./iommufd.ko), or a name
#   without a slash or .ko for modprobe (a module installed in the tree).
#   RUN is BACKEND[:IOVA_MODE], BACKEND iommufd or type1, IOVA_MODE va, pa
#   or empty (DPDK picks).  Prints KTAP, one test per run, and a table.
# Exit 4 (skip) when the NICs or DPDK are missing.
set -u
. "$(dirname "$0")/../selftests/lib/ktap.sh"
. "$(dirname "$0")/lib/nics.sh"

seconds=8
ko=iommufd.ko
while getopts "s:k:" opt; do
	case $opt in
	s) seconds=$OPTARG ;;
	k) ko=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- iommufd type1

# A run passes with at least this many packets received and sent on each
# port: tx_first injects one burst of 32 per port, so this floor can only
# be reached by sustained forwarding through the IOMMU (about 10^5 packets
# per second per port under TCG here).  A guest slower than a Debian
# kernel (GUEST_TIMEOUT_FACTOR above 1: the debug kernel, where both
# backends forward 2 or 3 bursts in 8 s) needs only more than the burst
# injected: packets forwarded once through the IOMMU.
floor=10000
[ "${GUEST_TIMEOUT_FACTOR:-1}" = 1 ] || floor=64
work=$(mktemp -d)

cleanup() {
	rmmod iommufd 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

command -v dpdk-testpmd >/dev/null || {
	echo "1..0 # SKIP dpdk-testpmd not installed"
	exit 4
}
bind_nics || exit

# One testpmd run; sets rx0 tx0 rx1 tx1, the backend seen and faults.
testpmd_run() {
	local backend=$1 mode=$2 out=$work/testpmd.log before
	local args=(-l 0-1 -n 1 --no-telemetry)

	[ -z "$mode" ] || args+=(--iova-mode="$mode")
	if [ "$backend" = iommufd ]; then
		case $ko in
		*/* | *.ko*) run insmod "$ko" || return 1 ;;
		*) run modprobe "$ko" || return 1 ;;
		esac
	fi
	before=$(dmesg | wc -l)
	log "\$ dpdk-testpmd ${args[*]} -- --forward-mode=io --tx-first (${seconds}s)"
	(sleep "$seconds"; echo) |
		timeout $((seconds + 60)) dpdk-testpmd "${args[@]}" -- \
			--forward-mode=io --tx-first --stats-period=0 \
			> "$out" 2>&1
	status=$?
	grep -E "IOVA mode|RX-packets|TX-packets" "$out" | head -6 | sed 's/^/# /'
	read -r rx0 rx1 < <(grep -oP 'RX-packets: +\K[0-9]+' "$out" | head -2 | xargs)
	read -r tx0 tx1 < <(grep -oP 'TX-packets: +\K[0-9]+' "$out" | head -2 | xargs)
	iova_mode=$(grep -oP 'Selected IOVA mode .\K[A-Z]+' "$out" | head -1)
	served=$(dmesg | tail -n +"$((before + 1))" | grep -c 'iommufd: serving a VFIO')
	faults=$(dmesg | tail -n +"$((before + 1))" | grep -c 'DMAR: \[DMA')
	if [ "$backend" = iommufd ]; then
		# The container is gone: nothing holds the module
		held=$(cat /sys/module/iommufd/refcnt)
		run rmmod iommufd || held=unloadable
	else
		held=0
	fi
	return $status
}

n=0
failed=0
echo "KTAP version 1"
echo "1..$#"
printf '%s\n' "asked served-by iova-mode port0-rx port0-tx port1-rx port1-tx" > "$work/table"
for spec in "$@"; do
	backend=${spec%%:*}
	mode=${spec#"$backend"}
	mode=${mode#:}
	n=$((n + 1))
	for attempt in 1 2 3; do
		rx0=0 tx0=0 rx1=0 tx1=0 served=0 faults=0 held=0 iova_mode=
		testpmd_run "$backend" "$mode"
		status=$?
		# QEMU's e1000e can stall under TCG when the host is busy, with
		# either backend (more often on the 6.1 guest): forwarding stops
		# after a few bursts, with no IOMMU fault.  Such a run is tried
		# again, up to three runs, and said so.
		[ $status = 0 ] && [ "$faults" = 0 ] && [ "$rx0" -lt $floor ] &&
			[ $attempt -lt 3 ] || break
		log "forwarding stalled at $rx0 packets with no IOMMU fault; running again"
	done
	ok=1
	if [ "$status" != 0 ]; then
		log "testpmd exited $status"
		ok=0
	fi
	for v in $rx0 $tx0 $rx1 $tx1; do
		[ "$v" -ge $floor ] || ok=0
	done
	if [ "$faults" != 0 ]; then
		log "IOMMU faults during the run: $faults"
		ok=0
	fi
	if [ "$backend" = iommufd ]; then
		log "containers served by iommufd: $served; module references after exit: $held"
		[ "$served" -ge 1 ] && [ "$held" = 0 ] || ok=0
	elif [ "$served" != 0 ]; then
		log "iommufd served a container while testing type1"
		ok=0
	fi
	# vfio_iommu_type1 says nothing; iommufd logs each container it serves
	by=vfio_iommu_type1
	[ "$served" = 0 ] || by=iommufd
	printf '%s %s %s %s %s %s %s\n' "$backend" "$by" "${iova_mode:-?}" \
		"$rx0" "$tx0" "$rx1" "$tx1" >> "$work/table"
	if [ $ok = 1 ]; then
		echo "ok $n testpmd_${backend}${mode:+_$mode}"
	else
		echo "not ok $n testpmd_${backend}${mode:+_$mode}"
		failed=$((failed + 1))
	fi
done
log "packets in ${seconds}s (floor $floor per port and direction):"
column -t "$work/table" | sed 's/^/#   /'
log "The backend only maps DPDK's memory when testpmd starts; the packet"
log "rate is that of QEMU's emulated NICs under TCG, and the guest's first"
log "run is slower while it warms up."
[ $failed = 0 ]
