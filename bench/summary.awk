# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's table, from the result lines of bench/guest.sh:
#   B <backend> <round> <name> <value>
# backend: iommufd, type1 (vfio_bench), native (iommufd_bench, test build);
# round "prof" for the profile's shares.  The floor (floor4k.*, floor2m.*)
# is measured in every run of both backends and pooled.
#
# usage: awk -v dat=SWEEP.DAT -f summary.awk RAW
# Prints the table; writes the sweep's medians, minimums and maximums to
# SWEEP.DAT for bench/plot.gp.

function add(key, v)
{
	n[key]++
	val[key, n[key]] = v
}

# Sorts the values of key, then sets med, lo, hi; 0 without values
function stats(key,    i, j, t, c)
{
	c = n[key]
	if (!c)
		return 0
	for (i = 2; i <= c; i++) {
		t = val[key, i]
		for (j = i - 1; j >= 1 && val[key, j] > t; j--)
			val[key, j + 1] = val[key, j]
		val[key, j + 1] = t
	}
	lo = val[key, 1]
	hi = val[key, c]
	med = c % 2 ? val[key, (c + 1) / 2] : (val[key, c / 2] + val[key, c / 2 + 1]) / 2
	return c
}

function num(v)
{
	if (v == "")
		return "-"
	if (v < 0)
		return sprintf("%.3g", v)
	if (v >= 100)
		return sprintf("%.0f", v)
	if (v >= 10)
		return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}

function cell(key)
{
	if (!stats(key))
		return "-"
	return sprintf("%s [%s-%s]", num(med), num(lo), num(hi))
}

function median(key)
{
	return stats(key) ? med : ""
}

# One comparison row: higher ("h") or lower ("l") is better; target is the
# smallest ratio wanted (ratio > 1: ours better), "" for none
function row(label, name, unit, better, target,    t, o, r, verdict)
{
	t = median("type1 " name)
	o = median("iommufd " name)
	r = ""
	if (t != "" && o != "" && t > 0 && o > 0)
		r = better == "h" ? o / t : t / o
	verdict = ""
	if (target != "" && r != "")
		verdict = sprintf(">= %.1f %s", target, r >= target ? "met" : "MISSED")
	printf("%-40s %-7s %-24s %-24s %6s  %s\n", label, unit,
	       cell("type1 " name), cell("iommufd " name),
	       r == "" ? "-" : sprintf("%.2f", r), verdict)
}

# A floor row: how many times the floor's time each backend takes
function floor_row(label, fname, name,    f, t, o, verdict)
{
	f = median("floor " fname)
	t = median("type1 " name)
	o = median("iommufd " name)
	if (f == "" || t == "" || o == "")
		return
	verdict = sprintf("<= 1.2 %s", f / o <= 1.2 ? "met" : "MISSED")
	printf("%-40s %-24s %10.2f %10.2f  %s\n", label, cell("floor " fname),
	       f / t, f / o, verdict)
}

function native_row(label, name, unit)
{
	printf("%-52s %-7s %s\n", label, unit, cell("native " name))
}

$1 == "B" {
	backend = $2
	if ($4 ~ /^floor/)
		backend = "floor"
	if ($3 == "prof")
		prof[$2, $4] = $5
	else
		add(backend " " $4, $5)
	if ($2 == "iommufd" && $3 + 0 > rounds)
		rounds = $3 + 0
}

END {
	printf("iommufd.ko against vfio_iommu_type1: a VFIO type1v2 container holding the edu\n")
	printf("device's group (intel-iommu); %d rounds, the backends alternately in one guest\n", rounds)
	printf("boot (QEMU TCG, 2 vCPUs).  median [min-max]; ratio > 1: iommufd.ko better\n")
	printf("(throughput ours/type1, time and memory type1/ours).\n\n")
	printf("%-40s %-7s %-24s %-24s %6s  %s\n", "workload", "unit",
	       "vfio_iommu_type1", "iommufd.ko", "ratio", "target")
	row("1 MAP_DMA 1 GiB, 4 KiB pages", "big4k.map_gibs", "GiB/s", "h", 1.3)
	row("1 UNMAP_DMA 1 GiB, 4 KiB pages", "big4k.unmap_gibs", "GiB/s", "h", 1.0)
	row("1 MAP_DMA 1 GiB, 2 MiB hugetlb", "big2m.map_gibs", "GiB/s", "h", 1.0)
	row("1 UNMAP_DMA 1 GiB, 2 MiB hugetlb", "big2m.unmap_gibs", "GiB/s", "h", 1.0)
	row("2 16384 MAP_DMA of 4 KiB", "small.map_us", "us/call", "l", 1.0)
	row("2 16384 UNMAP_DMA of 4 KiB", "small.unmap_us", "us/call", "l", 1.0)
	row("3 mixed map, 44 maps 4K-64M (193 MiB)", "mixed.map_ms", "ms", "l", "")
	row("3 mixed unmap", "mixed.unmap_ms", "ms", "l", "")
	row("3 mixed map + unmap", "mixed.total_ms", "ms", "l", 1.0)
	row("4 slab objects per 4 KiB mapping", "small.slab_obj_bytes_per_map", "bytes", "l", 1.0)
	row("4 Slab (meminfo) per 4 KiB mapping", "small.slab_bytes_per_map", "bytes", "l", "")
	row("4 IOMMU page tables per 4 KiB mapping", "small.iommu_pt_bytes_per_map", "bytes", "l", "")
	row("4 VmLck, 16384 mappings of 4 KiB", "small.vmlck_kb", "kB", "l", "")
	row("4 VmLck, 1 GiB mapped", "big4k.vmlck_kb", "kB", "l", "")

	printf("\nFloor (bench_floor.ko): pin the same pages, write the same IOMMU page-table\n")
	printf("entries, and nothing else; times the floor's time each backend takes.\n")
	printf("%-40s %-24s %10s %10s  %s\n", "operation", "floor GiB/s", "type1", "iommufd", "target")
	floor_row("MAP_DMA 1 GiB, 4 KiB pages", "floor4k.map_gibs", "big4k.map_gibs")
	floor_row("UNMAP_DMA 1 GiB, 4 KiB pages", "floor4k.unmap_gibs", "big4k.unmap_gibs")
	floor_row("MAP_DMA 1 GiB, 2 MiB hugetlb", "floor2m.map_gibs", "big2m.map_gibs")
	floor_row("UNMAP_DMA 1 GiB, 2 MiB hugetlb", "floor2m.unmap_gibs", "big2m.unmap_gibs")
	printf("%-40s %s\n", "  of which pinning, 4 KiB pages", cell("floor floor4k.pin_gibs"))
	printf("%-40s %s\n", "  of which iommu_map(), 4 KiB pages", cell("floor floor4k.pte_map_gibs"))
	printf("%-40s %s\n", "  iommu_map() calls, 4 KiB pages", cell("floor floor4k.iommu_map_calls"))
	printf("%-40s %s\n", "  of which unpinning, 4 KiB pages", cell("floor floor4k.unpin_gibs"))
	printf("%-40s %s\n", "  of which pinning, 2 MiB pages", cell("floor floor2m.pin_gibs"))
	printf("%-40s %s\n", "  of which iommu_map(), 2 MiB pages", cell("floor floor2m.pte_map_gibs"))

	printf("\nMap and unmap throughput against the mapping size (4 KiB pages; GiB/s)\n")
	printf("%-8s %-22s %-22s %6s   %-22s %-22s %6s\n", "size", "type1 map", "iommufd map",
	       "ratio", "type1 unmap", "iommufd unmap", "ratio")
	for (kib = 4; kib <= 1048576; kib *= 4) {
		line = sprintf("%d", kib)
		size = kib < 1024 ? kib "K" : kib < 1048576 ? kib / 1024 "M" : kib / 1048576 "G"
		printf("%-8s", size)
		for (op = 1; op <= 2; op++) {
			name = (op == 1 ? "sweep.map_gibs@" : "sweep.unmap_gibs@") kib
			printf(" %-22s %-22s", cell("type1 " name), cell("iommufd " name))
			t = median("type1 " name)
			o = median("iommufd " name)
			printf(" %6s  ", t > 0 && o > 0 ? sprintf("%.2f", o / t) : "-")
			for (b = 1; b <= 2; b++) {
				stats((b == 1 ? "type1 " : "iommufd ") name)
				line = line " " med " " lo " " hi
			}
		}
		printf("\n")
		if (dat != "")
			print line > dat
	}

	printf("\n5 Native uAPI, test build (build/test/iommufd.ko, mock domains), 1 GiB:\n")
	for (p = 1; p <= 2; p++) {
		pg = p == 1 ? "native4k" : "native2m"
		printf("%s pages:\n", p == 1 ? "4 KiB" : "2 MiB hugetlb")
		native_row("  IOAS_MAP, no domain (nothing pinned)", pg ".nodom_map_us", "us")
		native_row("  IOAS_UNMAP, no domain", pg ".nodom_unmap_us", "us")
		native_row("  IOAS_MAP, mock domain (pin + mock PTEs)", pg ".map_gibs", "GiB/s")
		native_row("    pages pinned (nr_foll_pin_acquired)", pg ".map_pins", "pages")
		native_row("    VmPin added", pg ".map_vmpin_kb", "kB")
		native_row("  IOAS_COPY to a 2nd IOAS with a mock domain", pg ".copy_gibs", "GiB/s")
		native_row("    pages pinned by the copy", pg ".copy_pins", "pages")
		native_row("    VmPin added by the copy", pg ".copy_vmpin_kb", "kB")
		m = median("native " pg ".map_gibs")
		c = median("native " pg ".copy_gibs")
		if (m > 0 && c > 0)
			printf("  %-50s %-7s %.2f\n", "copy time / first map time", "", m / c)
		native_row("  IOAS_UNMAP of the copy (nothing unpinned)", pg ".copy_unmap_gibs", "GiB/s")
		native_row("  IOAS_UNMAP of the first (unpins)", pg ".unmap_gibs", "GiB/s")
		native_row("  VmPin left after both unmaps", pg ".end_vmpin_kb", "kB")
	}

	split("iommu_map iommu_unmap pin unpin iova_to_phys account xarray other", cats, " ")
	printf("\nWhere the time goes (one perf run per backend, %% of the phase's samples;\n")
	printf("indicative: see Documentation/benchmarks.rst)\n")
	printf("%-9s %-12s %7s", "backend", "phase", "samples")
	for (c = 1; c <= 8; c++)
		printf(" %8s", cats[c] == "iova_to_phys" ? "iova2phy" : cats[c])
	printf("\n")
	split("big4k.map big4k.unmap big2m.map big2m.unmap small.map small.unmap", phases, " ")
	for (b = 1; b <= 2; b++) {
		be = b == 1 ? "type1" : "iommufd"
		for (ph = 1; ph <= 6; ph++) {
			phase = phases[ph]
			if (prof[be, "prof." phase ".samples"] == "")
				continue
			printf("%-9s %-12s %7d", be, phase, prof[be, "prof." phase ".samples"])
			for (c = 1; c <= 8; c++)
				printf(" %8s", prof[be, "prof." phase "." cats[c] "_pct"])
			printf("\n")
		}
	}
}
