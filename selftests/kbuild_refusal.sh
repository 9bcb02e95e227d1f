#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# On the host: the build refuses kernels this module cannot serve (the
# check in Kbuild).  Each test points kbuild at a copy of the 6.12 headers
# as Debian's, as a kernel without CONFIG_VFIO_CONTAINER (not in the
# configuration, include/config/auto.conf, and vfio_register_iommu_driver
# not in Module.symvers), or with CONFIG_IOMMUFD=y, and builds one object
# of a copy of the sources: Debian's builds, the others stop with the
# sentence that says why, before anything is compiled.
set -u
# shellcheck source=selftests/lib/ktap.sh
. "$(dirname "$0")/lib/ktap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
KDIR=${KDIR:-/usr/src/linux-headers-$("$top/scripts/kver" 6.12)}
work=$top/build/kbuild-refusal

# build_with EDIT [SYMVERS_EDIT]: copy the headers and the sources, apply
# the sed script EDIT to the copy's auto.conf (and SYMVERS_EDIT to its
# Module.symvers), build iommufd/holes.o; the output is in
# $work/build.log, the status is make's.
build_with() {
	local l
	rm -rf "$work"
	mkdir -p "$work/src"
	cp -a "$KDIR" "$work/kdir"
	for l in scripts tools; do
		ln -sfn "$(readlink -f "$KDIR/$l")" "$work/kdir/$l"
	done
	sed -i "$1" "$work/kdir/include/config/auto.conf"
	sed -i "${2:-}" "$work/kdir/Module.symvers"
	cp -r "$top/Kbuild" "$top/iommufd" "$top/vfio_compat" "$top/compat" \
		"$work/src/"
	rm -f "$work"/src/*/*.o
	make -C "$work/kdir" M="$work/src" iommufd/holes.o > "$work/build.log" 2>&1
}

# refused SENTENCE: the build failed, saying SENTENCE, with nothing compiled
refused() {
	sed 's/^/# /' "$work/build.log"
	grep -qF "$1" "$work/build.log" && [ ! -e "$work/src/iommufd/holes.o" ]
}

test_debian_config_builds() {
	build_with '' || { sed 's/^/# /' "$work/build.log"; return 1; }
	[ -e "$work/src/iommufd/holes.o" ] &&
		! grep -q 'iommufd: this kernel' "$work/build.log"
}

test_refuses_no_vfio_container() {
	! build_with '/^CONFIG_VFIO_CONTAINER=/d' \
		'/\tvfio_register_iommu_driver\t/d' &&
		refused 'this kernel is built without CONFIG_VFIO_CONTAINER, so it has no VFIO containers'
}

test_refuses_builtin_iommufd() {
	! build_with "\$a CONFIG_IOMMUFD=y" &&
		refused 'this kernel has IOMMUFD built in (CONFIG_IOMMUFD=y)'
}

ktap_run test_debian_config_builds test_refuses_no_vfio_container \
	test_refuses_builtin_iommufd
