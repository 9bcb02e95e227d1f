# SPDX-License-Identifier: GPL-2.0
#
# QEMU's edu device (1234:11e8) for the shell suites that run in a guest.

# Bind the edu to vfio-pci and set edu_bdf to its PCI address.  Without an
# edu device, print a KTAP plan that skips everything and exit 4.
edu_bind_vfio() {
	local dev
	dev=$(grep -l 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null | head -n 1)
	if [ -z "$dev" ]; then
		echo "1..0 # SKIP no edu device"
		exit 4
	fi
	edu_bdf=$(basename "$(dirname "$dev")")
	modprobe vfio-pci || exit 1
	echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
	if [ ! -e "/sys/bus/pci/drivers/vfio-pci/$edu_bdf" ]; then
		echo "# edu not bound to vfio-pci"
		exit 1
	fi
}
