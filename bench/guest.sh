#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's guest side (bench/run.sh boots the guest): one boot,
# both backends, alternately.
#
# usage: bench/guest.sh ROUNDS PROFILE
#   ROUNDS   rounds of "iommufd.ko, then vfio_iommu_type1" (A B A B ...)
#   PROFILE  1: then one perf profile of the 1 GiB workloads per backend
#
#   guest: q35 + intel-iommu; edu (1234:11e8) bound to vfio-pci
#   build/bench/bin/vfio_bench --- /dev/vfio/vfio (container, type1v2)
#                              served by iommufd.ko while it is loaded
#                              (the newest backend registered), by
#                              vfio_iommu_type1 once it is unloaded
#   bench_floor.ko: the same pinning and page-table writes, nothing else
#   then build/test/iommufd.ko: build/bench/bin/iommufd_bench, /dev/iommu
#
# Every result line is "B <backend> <round> <name> <value>".
set -u
rounds=${1:-5}
profile=${2:-1}
bin=build/bench/bin
workloads="floor small big4k big2m mixed sweep"

fail() {
	echo "bench: $*" >&2
	exit 1
}

modprobe vfio-pci || fail "no vfio-pci"
modprobe vfio_iommu_type1 || fail "no vfio_iommu_type1"
echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
ls /sys/bus/pci/drivers/vfio-pci | grep -q : || fail "edu not bound to vfio-pci"
# The floor: pinning and page-table writes only (bench/bench_floor.c)
insmod build/bench/kmod/bench_floor.ko || fail "insmod bench_floor.ko"
# 4 KiB pages only where 4 KiB pages are asked for (vfio_bench also does
# MADV_NOHUGEPAGE on its buffer)
echo never > /sys/kernel/mm/transparent_hugepage/enabled
free=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
[ "$free" -ge 512 ] || fail "only $free huge pages free, 512 needed"
echo "# guest: $(nproc) CPUs, $(awk '/MemTotal/ { print $2 / 1024 }' /proc/meminfo) MiB," \
     "$free huge pages free, $(uname -r)"

served() {
	dmesg | grep -c 'iommufd: serving a VFIO type1'
}

# run BACKEND ROUND COMMAND...: the command's "R" lines as result lines
run() {
	local backend=$1 round=$2 before rc
	shift 2
	before=$(served)
	"$@" > /tmp/bench.out 2>&1
	rc=$?
	grep -v '^[RP] ' /tmp/bench.out
	[ $rc = 0 ] || fail "$* failed ($backend, round $round)"
	case "$backend" in
	iommufd) [ "$(served)" = $((before + 1)) ] ||
			fail "iommufd.ko did not serve the container" ;;
	type1) [ "$(served)" = "$before" ] ||
			fail "iommufd.ko served a container meant for type1" ;;
	esac
	awk -v b="$backend" -v r="$round" '$1 == "R" { print "B", b, r, $2, $3 }' \
		/tmp/bench.out
}

start=$(date +%s)
for round in $(seq 1 "$rounds"); do
	insmod iommufd.ko || fail "insmod iommufd.ko"
	run iommufd "$round" $bin/vfio_bench $workloads
	rmmod iommufd || fail "rmmod iommufd"
	run type1 "$round" $bin/vfio_bench $workloads
	echo "# round $round done after $(($(date +%s) - start)) s"
done

# Where the time of the 1 GiB map and unmap, and of the small ones, goes, per backend: one run
# under perf (cpu-clock samples, CLOCK_MONOTONIC time stamps), samples
# sorted by phase (the "P" lines) and by category (bench/profile.awk).
profile_run() {
	local backend=$1
	cp /proc/kallsyms /tmp/kallsyms
	perf record -q -g -F 5000 -e cpu-clock -k CLOCK_MONOTONIC \
		-o /tmp/perf.data -- $bin/vfio_bench big4k big2m small \
		> /tmp/bench.out 2>&1 || fail "perf record failed"
	perf script -i /tmp/perf.data --kallsyms=/tmp/kallsyms --ns \
		-F comm,time,ip,sym > /tmp/perf.txt 2>/dev/null ||
		fail "perf script failed"
	awk -f bench/profile.awk /tmp/bench.out /tmp/perf.txt |
		awk -v b="$backend" '$1 == "R" { print "B", b, "prof", $2, $3 }'
}
if [ "$profile" = 1 ]; then
	if command -v perf > /dev/null; then
		insmod iommufd.ko || fail "insmod iommufd.ko"
		profile_run iommufd
		rmmod iommufd || fail "rmmod iommufd"
		profile_run type1
		echo "# profiles done after $(($(date +%s) - start)) s"
	else
		echo "# no perf: no profile"
	fi
fi

# The native uAPI needs the test build's mock domains (bench/iommufd_bench.c)
insmod build/test/iommufd.ko || fail "insmod build/test/iommufd.ko"
for round in $(seq 1 "$rounds"); do
	run native "$round" $bin/iommufd_bench
	run native "$round" $bin/iommufd_bench huge
done
rmmod iommufd || fail "rmmod iommufd (test build)"
echo "# all done after $(($(date +%s) - start)) s"
