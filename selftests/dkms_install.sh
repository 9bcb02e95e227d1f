#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# On the host: a fresh install with DKMS, as Documentation/install.rst
# tells users, into a throwaway tree (build/dkms-install/root, DESTDIR):
# `make dkms-install` has dkms build and install iommufd.ko for the guest
# kernel's release and installs the modprobe configuration; a guest with
# that module in its module tree (scripts/guest-run --install) runs
# legacy_apps/modprobe_selection.sh with that configuration: `modprobe
# vfio-pci` serves the container with this module, and with
# vfio_iommu_type1 again once the configuration is removed (its KTAP is
# shown as a subtest); another runs DPDK's testpmd on that module, loaded
# by modprobe.  `make dkms-uninstall` leaves nothing behind, the
# host's own trees are untouched, and `make deb` packages the same sources
# and configuration.
#
# dkms makes a module signing key when it has none, in /var/lib/dkms: it
# runs in a private mount namespace where its framework.conf.d puts the
# key in the throwaway tree instead.
set -u
# shellcheck source=selftests/lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
kver=${GUEST_KERNEL:-$(scripts/kver 6.12)}
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
work=$top/build/dkms-install
root=$work/root
trees=(--sourcetree "$root/usr/src" --dkmstree "$root/var/lib/dkms"
       --installtree "$root/lib/modules")

# What an install on the host itself would have changed
host_state() {
	ls -ld --time-style=+%s /usr/src/iommufd-* /var/lib/dkms/iommufd \
		/var/lib/dkms/mok.* /lib/modules/*/updates/dkms/iommufd.* \
		"/lib/modules/$kver/modules.dep" /etc/modprobe.d/iommufd.conf \
		2>/dev/null || true
}

# make TARGET in the namespace described above, with DESTDIR=$root
make_in_root() {
	# shellcheck disable=SC2016 # expanded by that sh
	unshare -m sh -c 'mount --bind "$0" /etc/dkms/framework.conf.d &&
		exec "$@"' "$work/framework.conf.d" \
		make "$1" DESTDIR="$root" KVER="$kver" > "$work/$1.log" 2>&1 ||
		{ sed 's/^/# /' "$work/$1.log"; return 1; }
}

installed_module() {
	ls "$root/lib/modules/$kver/updates/dkms"/iommufd.ko* 2>/dev/null
}

test_dkms_install() {
	local ko vermagic
	run make_in_root dkms-install
	dkms "${trees[@]}" status 2>/dev/null | sed 's/^/# dkms status: /'
	dkms "${trees[@]}" status -m iommufd -v "$version" -k "$kver" 2>/dev/null |
		grep -q ': installed$'
	ko=$(installed_module)
	vermagic=$(modinfo -F vermagic "$ko")
	log "installed: ${ko#"$root"/}, vermagic $vermagic"
	[ "${vermagic%% *}" = "$kver" ]
	expect "configuration installed" cmp Documentation/modprobe.d/iommufd.conf \
		"$root/etc/modprobe.d/iommufd.conf"
}

test_guest_modprobe_uses_it() {
	local ko
	ko=$(installed_module)
	[ -n "$ko" ]
	scripts/guest-run --edu --install "$ko" -- \
		legacy_apps/modprobe_selection.sh "$root/etc/modprobe.d/iommufd.conf" \
		2>&1 | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" = 0 ]
}

# A legacy application on the module DKMS built: DPDK's testpmd forwards
# packets through the container it serves, loaded by modprobe.
test_guest_testpmd_on_it() {
	local ko
	ko=$(installed_module)
	[ -n "$ko" ]
	scripts/guest-run --nics --hugepages 256 --timeout 200 --install "$ko" \
		-- legacy_apps/dpdk_testpmd.sh -s 4 -k iommufd iommufd \
		2>&1 | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" = 0 ]
}

test_dkms_uninstall() {
	run make_in_root dkms-uninstall
	[ -z "$(dkms "${trees[@]}" status 2>/dev/null)" ] &&
		[ -z "$(installed_module)" ] &&
		[ ! -e "$root/etc/modprobe.d/iommufd.conf" ] &&
		[ ! -e "$root/usr/src/iommufd-$version" ]
}

test_host_untouched() {
	host_state > "$work/host.after"
	diff "$work/host.before" "$work/host.after" | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" = 0 ]
}

# The package holds what `make dkms-source` makes, the configuration as a
# conffile, and the postinst that has dkms build this version.
test_deb_package() {
	local deb=build/deb/iommufd-dkms_${version}_all.deb
	log "\$ make deb"
	make deb > "$work/deb.log" 2>&1 ||
		{ sed 's/^/# /' "$work/deb.log"; return 1; }
	rm -rf "$work/deb" "$work/source"
	dpkg-deb -x "$deb" "$work/deb"
	make -s dkms-source DESTDIR="$work/source"
	expect "same sources as make dkms-source" diff -r \
		"$work/source/usr/src" "$work/deb/usr/src"
	expect "configuration" cmp Documentation/modprobe.d/iommufd.conf \
		"$work/deb/etc/modprobe.d/iommufd.conf"
	expect "conffile" sh -c "dpkg-deb -I '$deb' conffiles |
		grep -qx /etc/modprobe.d/iommufd.conf"
	expect "postinst runs dkms for iommufd $version" sh -c \
		"dpkg-deb -I '$deb' postinst | grep -qx 'DKMS_VERSION=$version'"
	expect "depends on dkms" sh -c \
		"dpkg-deb -f '$deb' Depends | grep -q '^dkms'"
}

rm -rf "$work"
mkdir -p "$work/framework.conf.d" "$root/lib/modules/$kver"
printf 'mok_signing_key=%s\nmok_certificate=%s\n' "$work/mok.key" \
	"$work/mok.pub" > "$work/framework.conf.d/signing.conf"
host_state > "$work/host.before"
ktap_run test_dkms_install test_guest_modprobe_uses_it \
	test_guest_testpmd_on_it test_dkms_uninstall test_host_untouched \
	test_deb_package
