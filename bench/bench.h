/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmark programs share: a clock, counters read from /proc
 * and test buffers.
 *
 * Every result is printed as one line "R <name> <value>"; bench/run.sh
 * adds the backend and the round and bench/summary.sh makes the table.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define PAGE 4096ULL
#define HUGE_2M (2 * MiB)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static inline __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline double ns_to_s(__u64 ns)
{
	return ns / 1e9;
}

/* Bytes per nanosecond as GiB/s */
static inline double gibs(__u64 bytes, __u64 ns)
{
	return ns ? (double)bytes / GiB / ns_to_s(ns) : 0;
}

static inline void result(const char *name, double value)
{
	printf("R %s %.10g\n", name, value);
	fflush(stdout);
}

/*
 * When a timed phase ran, in CLOCK_MONOTONIC nanoseconds, for a profile
 * recorded with that clock (perf record -k CLOCK_MONOTONIC): "P name
 * start end".
 */
static inline void phase(const char *workload, const char *name, __u64 start,
			 __u64 end)
{
	printf("P %s.%s %llu %llu\n", workload, name, start, end);
	fflush(stdout);
}

/*
 * A number from a "key value" or "key: value ..." file such as
 * /proc/meminfo, /proc/vmstat or /proc/self/status; -1 if absent.
 */
static inline long long proc_value(const char *path, const char *key)
{
	size_t len = strlen(key);
	long long val = -1;
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) &&
		    (line[len] == ':' || line[len] == ' ')) {
			val = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * FOLL_PIN pins taken so far in the whole system (pages).  The per-CPU
 * differences of the counter are folded first (vm.stat_refresh), so that
 * the count is exact.
 */
static inline long long pins_acquired(void)
{
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	return proc_value("/proc/vmstat", "nr_foll_pin_acquired");
}

/* Kernel memory in kB: slab, and the IOMMU's own page-table pages */
static inline long long slab_kb(void)
{
	return proc_value("/proc/meminfo", "Slab");
}

/*
 * Bytes of slab objects in use, all caches together, from /proc/slabinfo
 * (active objects times object size): unlike the Slab pages of
 * /proc/meminfo, it does not depend on how full the caches' slabs were.
 * SLUB counts the free objects of per-CPU slabs as active, a few KiB.
 */
static inline long long slab_object_bytes(void)
{
	long long total = 0, active, objs, size;
	char line[512], name[64];
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &objs,
			   &size) == 4)
			total += active * size;
	}
	fclose(f);
	return total;
}

static inline long long iommu_pt_kb(void)
{
	long long pages = proc_value("/proc/vmstat", "nr_iommu_pages");

	return pages < 0 ? -1 : pages * (long long)(PAGE / KiB);
}

static inline void *buffer_map(__u64 size, int huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *buf;

	if (huge)
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap of %llu MiB%s: %s", size / MiB,
		    huge ? " of huge pages" : "", strerror(errno));
	if (!huge && madvise(buf, size, MADV_NOHUGEPAGE))
		die("MADV_NOHUGEPAGE: %s", strerror(errno));
	return buf;
}

/*
 * @size bytes of private anonymous memory, every page written once so
 * that no fault is timed: 2 MiB hugetlb pages from the reserved pool, or
 * 4 KiB pages (THP off for the range) that are physically discontiguous.
 * A guest just booted hands out long runs of contiguous pages, which the
 * IOMMU maps with 2 MiB pages where they happen to be aligned, so that
 * the result would depend on luck: faulting the buffer's pages in turn
 * with those of a second buffer, freed afterwards, leaves no two
 * consecutive pages of the buffer physically adjacent, as after some
 * uptime.
 */
static inline void *buffer_alloc(__u64 size, int huge)
{
	char *buf = buffer_map(size, huge);
	char *spacer;
	__u64 off;

	if (huge) {
		for (off = 0; off < size; off += HUGE_2M)
			buf[off] = 1;
		return buf;
	}
	spacer = buffer_map(size, 0);
	for (off = 0; off < size; off += PAGE) {
		buf[off] = 1;
		spacer[off] = 1;
	}
	munmap(spacer, size);
	return buf;
}

#endif
