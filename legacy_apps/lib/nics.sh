# SPDX-License-Identifier: GPL-2.0
#
# The guest's two e1000e NICs (scripts/guest-run --nics), for DPDK.

# bind_nics: bind both NICs to vfio-pci and set $nics to their PCI
# addresses; returns 4 (skip) without two NICs, 1 on failure.
bind_nics() {
	local dev
	nics=$(lspci -n | awk '$3 == "8086:10d3" { print "0000:" $1 }')
	if [ "$(echo "$nics" | wc -w)" != 2 ]; then
		echo "1..0 # SKIP two e1000e NICs needed"
		return 4
	fi
	run modprobe vfio-pci || return 1
	for dev in $nics; do
		if [ -e "/sys/bus/pci/devices/$dev/driver" ]; then
			echo "$dev" > "/sys/bus/pci/devices/$dev/driver/unbind"
		fi
		echo vfio-pci > "/sys/bus/pci/devices/$dev/driver_override"
		echo "$dev" > /sys/bus/pci/drivers_probe
	done
	log "NICs on vfio-pci: $nics"
}
