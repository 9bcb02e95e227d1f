# SPDX-License-Identifier: GPL-2.0
#
# Where the time of a timed phase goes, from a perf profile.
#
# usage: awk -f profile.awk PHASES PERF_SCRIPT
#   PHASES       "P name start end" lines of bench/vfio_bench (CLOCK_MONOTONIC
#                nanoseconds)
#   PERF_SCRIPT  perf script -F comm,time,ip,sym --ns output of a profile
#                recorded with perf record -g -k CLOCK_MONOTONIC
#
# Each sample taken inside a phase goes to the first category one of its
# frames belongs to, in this order: iommu_map (writing IOMMU page-table
# entries: iommu_map() and below), iommu_unmap (clearing them and flushing
# the IOTLB), pin (GUP), unpin, iova_to_phys (reading the IOMMU page
# table back), account (locked_vm), xarray, other.  Prints, per phase,
# "R prof.<phase>.<category>_pct <percent of the phase's samples>" and
# "R prof.<phase>.samples <n>".

function category(frames,    i, f)
{
	for (i = 1; i <= nf; i++) {
		f = frames[i]
		if (f ~ /^(iommu_map|__iommu_map|iommu_map_nosync|iommu_sync_map|iommu_iotlb_sync_map|intel_iommu_map_pages|__domain_mapping)$/)
			return "iommu_map"
	}
	for (i = 1; i <= nf; i++) {
		f = frames[i]
		if (f ~ /^(iommu_unmap|iommu_unmap_fast|__iommu_unmap|intel_iommu_unmap_pages|iommu_iotlb_sync|intel_iommu_tlb_sync|iommu_put_pages_list)$/)
			return "iommu_unmap"
	}
	for (i = 1; i <= nf; i++) {
		f = frames[i]
		if (f ~ /^(pin_user_pages_fast|pin_user_pages_remote|__gup_longterm_locked|gup_fast_fallback|internal_get_user_pages_fast)$/)
			return "pin"
		if (f ~ /^(unpin_user_pages_dirty_lock|unpin_user_page|unpin_user_pages|unpin_user_page_range_dirty_lock|put_pfn|vfio_unpin_pages_remote|gup_put_folio|folio_mark_dirty_lock)$/)
			return "unpin"
		if (f ~ /^(iommu_iova_to_phys|intel_iommu_iova_to_phys)$/)
			return "iova_to_phys"
		if (f ~ /^(__account_locked_vm|account_locked_vm|vfio_lock_acct|iopt_pages_charge|iopt_pages_charge_user)$/)
			return "account"
		if (f ~ /^(xa_|xas_|__xa_)/)
			return "xarray"
	}
	return "other"
}

function flush(    p, c)
{
	if (!nf || !inioctl) {
		nf = 0
		return
	}
	for (p = 1; p <= nphases; p++) {
		if (t >= start[p] && t <= end[p]) {
			c = category(frames)
			count[p, c]++
			total[p]++
			break
		}
	}
	nf = 0
}

FNR == NR {
	if ($1 == "P") {
		nphases++
		name[nphases] = $2
		start[nphases] = $3 / 1e9
		end[nphases] = $4 / 1e9
	}
	next
}

# A sample's first line: "comm  seconds.nanoseconds:"
/^[^ \t]/ {
	flush()
	t = $NF
	sub(/:$/, "", t)
	t += 0
	inioctl = 0
	next
}

/^[ \t]/ {
	sym = $2
	sub(/\+0x[0-9a-f]+$/, "", sym)
	frames[++nf] = sym
	if (sym ~ /^(vfio_iommu_type1_ioctl|vfio_compat_container_ioctl|iommufd_fops_ioctl)$/)
		inioctl = 1
	next
}

END {
	flush()
	split("iommu_map iommu_unmap pin unpin iova_to_phys account xarray other", cats, " ")
	for (p = 1; p <= nphases; p++) {
		printf("R prof.%s.samples %d\n", name[p], total[p])
		if (!total[p])
			continue
		for (c = 1; c <= 8; c++)
			printf("R prof.%s.%s_pct %.1f\n", name[p], cats[c],
			       100 * count[p, cats[c]] / total[p])
	}
}
