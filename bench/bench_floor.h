/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ioctl of bench_floor.ko (bench/bench_floor.c), shared with the
 * benchmark programs.
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct bench_floor_cmd - BENCH_FLOOR_RUN
 * @uaddr: the caller's memory, page aligned
 * @length: its length, page aligned
 * @iova: where to map it in the module's domain, page aligned
 * @pin_ns: out: pinning every page
 * @map_ns: out: writing the page-table entries (iommu_map() of each
 *	physically contiguous run)
 * @unmap_ns: out: clearing them (one iommu_unmap())
 * @unpin_ns: out: unpinning every page, marking it dirty
 * @runs: out: how many iommu_map() calls mapping took
 */
struct bench_floor_cmd {
	__u64 uaddr;
	__u64 length;
	__u64 iova;
	__u64 pin_ns;
	__u64 map_ns;
	__u64 unmap_ns;
	__u64 unpin_ns;
	__u64 runs;
};

#define BENCH_FLOOR_RUN _IOWR('B', 1, struct bench_floor_cmd)

#endif
