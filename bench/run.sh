#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: iommufd.ko against vfio_iommu_type1 in one guest boot
# (bench/guest.sh), then the table (bench/summary.awk) and the plot
# (bench/plot.gp) in build/bench/.
#
# usage: bench/run.sh
#   BENCH_ROUNDS=N   rounds of both backends (default 6, at least 5)
#   BENCH_PROFILE=1  a perf profile per backend after the rounds (off by
#                    default: perf under TCG once crashed the guest, an int3
#                    oops while patching kernel text)
# Needs iommufd.ko, build/test/iommufd.ko, build/bench/kmod/bench_floor.ko
# and build/bench/bin/ (the bench target of the top Makefile builds them).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/bench
rounds=${BENCH_ROUNDS:-6}
profile=${BENCH_PROFILE:-0}
start=$(date +%s)
mkdir -p "$out"

# 1 GiB of 4 KiB pages, with as much again while it is faulted in
# (bench.h), and 1 GiB of huge pages: 4 GiB of guest memory.
echo "bench: $rounds rounds in one guest boot, a few minutes"
set +e
scripts/guest-run --edu --hugepages 520 --mem 4096 --timeout 560 -- \
	bench/guest.sh "$rounds" "$profile" > "$out/guest.log" 2>&1
rc=$?
set -e
grep '^#' "$out/guest.log" || true
if [ $rc != 0 ]; then
	echo "bench: the guest failed ($rc); its log: $out/guest.log" >&2
	tail -n 40 "$out/guest.log" >&2
	exit 1
fi
grep '^B ' "$out/guest.log" > "$out/raw.txt"
awk -v dat="$out/sweep.dat" -f bench/summary.awk "$out/raw.txt" > "$out/table.txt"

floor() {
	awk -v k="$1" '$1 == "B" && $4 == k { print $5 }' "$out/raw.txt" |
		sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
gnuplot -e "dat='$out/sweep.dat'; out='$out/throughput.png'" \
	-e "floor_map=$(floor floor4k.map_gibs); floor_unmap=$(floor floor4k.unmap_gibs)" \
	bench/plot.gp

cat "$out/table.txt"
echo
echo "bench: table $out/table.txt, plot $out/throughput.png," \
     "results $out/raw.txt, guest log $out/guest.log"
echo "bench: $(($(date +%s) - start)) s"
