#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: fuzz.sh iommufd|type1 KO [fuzz options...]
#
# selftests/fuzz in a guest, with the module KO loaded for the run and
# unloaded after it (selftests/with-module: the unload must succeed):
#   iommufd  /dev/iommu files with the test build's mock devices;
#   type1    containers of the edu's group, bound to vfio-pci first (exit 4,
#            skip, without an edu device); this module must have served
#            some (dmesg).
# Options go to selftests/bin/fuzz: -s SEED reproduces a run.
set -u
. "$(dirname "$0")/lib/edu.sh"
mode=$1
ko=$2
shift 2

[ "$mode" = type1 ] && edu_bind_vfio
before=$(dmesg | wc -l)
selftests/with-module "$ko" selftests/bin/fuzz "$mode" "$@"
rc=$?
if [ "$mode" = type1 ]; then
	served=$(dmesg | tail -n +"$((before + 1))" |
		 grep -c 'iommufd: serving a VFIO type1')
	echo "# containers served by iommufd: $served"
	[ "$served" != 0 ] || rc=1
fi
exit $rc
