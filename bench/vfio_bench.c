// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of a VFIO type1 container's MAP_DMA and UNMAP_DMA, whichever
 * backend vfio.ko gives the container: vfio_iommu_type1, or iommufd.ko
 * when it is loaded (bench/run.sh switches between them and runs this
 * same program on each).  The container holds the group of QEMU's edu
 * device, bound to vfio-pci, so it has a real IOMMU domain (intel-iommu)
 * and every mapping is pinned and written into its page table.
 *
 * usage: vfio_bench WORKLOAD...
 *   big4k   one MAP_DMA, then one UNMAP_DMA, of 1 GiB of 4 KiB pages
 *   big2m   the same with 2 MiB hugetlb pages
 *   small   16384 MAP_DMA of 4 KiB at distinct IOVAs, then 16384
 *           UNMAP_DMA; slab, IOMMU page tables and VmLck while mapped
 *   mixed   a QEMU-like guest memory map: 44 mappings, 4 KiB to 64 MiB
 *   sweep   map and unmap throughput against the mapping size, 4 KiB to
 *           1 GiB (4 KiB pages), at least 16 MiB per size
 *   floor   the floor of big4k and big2m: pinning the same pages and
 *           writing the same IOMMU page-table entries, and only that,
 *           with bench_floor.ko (bench_floor.c)
 *
 * Memory is written before it is mapped, so no page fault is timed.
 * Prints "R name value" lines.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>

#include "bench.h"
#include "bench_floor.h"

/* Above 4 GiB: clear of the x86 MSI window and of any reserved region */
#define IOVA_BASE (4 * GiB)
#define BIG (1 * GiB)
#define SMALL_COUNT 16384

static int container = -1;

static void container_open(void)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX], link[PATH_MAX], bdf[NAME_MAX + 1] = "";
	struct dirent *d;
	int group;
	ssize_t n;
	DIR *dir;

	dir = opendir("/sys/bus/pci/drivers/vfio-pci");
	if (!dir)
		die("vfio-pci is not loaded");
	while ((d = readdir(dir))) {
		if (strchr(d->d_name, ':')) {
			snprintf(bdf, sizeof(bdf), "%s", d->d_name);
			break;
		}
	}
	closedir(dir);
	if (!bdf[0])
		die("no device bound to vfio-pci");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("%s: %s", path, strerror(errno));
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio: %s", strerror(errno));
	group = open(path, O_RDWR);
	if (group < 0)
		die("%s: %s", path, strerror(errno));
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group %s not viable", path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU: %s", strerror(errno));
	printf("# container with group %s (%s)\n", basename(link), bdf);
}

static void map(void *vaddr, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (__u64)(unsigned long)vaddr,
		.iova = iova,
		.size = size,
	};

	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &cmd))
		die("MAP_DMA of %llu bytes at 0x%llx: %s", size, iova,
		    strerror(errno));
}

static void unmap(__u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd),
		.iova = iova,
		.size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &cmd) || cmd.size != size)
		die("UNMAP_DMA of %llu bytes at 0x%llx: %s", size, iova,
		    strerror(errno));
}

static void result2(const char *prefix, const char *name, double value)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", prefix, name);
	result(key, value);
}

static void *buf4k;

/* One MAP_DMA and one UNMAP_DMA of 1 GiB */
static void bench_big(const char *name, void *buf)
{
	long long pins = pins_acquired();
	long long lck = proc_value("/proc/self/status", "VmLck");
	__u64 t0, t1, t2, t3;

	t0 = now_ns();
	map(buf, IOVA_BASE, BIG);
	t1 = now_ns();
	result2(name, "pins", pins_acquired() - pins);
	result2(name, "vmlck_kb",
		proc_value("/proc/self/status", "VmLck") - lck);
	t2 = now_ns();
	unmap(IOVA_BASE, BIG);
	t3 = now_ns();
	result2(name, "map_gibs", gibs(BIG, t1 - t0));
	result2(name, "unmap_gibs", gibs(BIG, t3 - t2));
	phase(name, "map", t0, t1);
	phase(name, "unmap", t2, t3);
}

/*
 * @count mappings of @size bytes each, from consecutive memory at
 * consecutive IOVAs, then their unmapping one by one.  Returns the
 * nanoseconds of both phases.
 */
static void map_many(void *buf, __u64 size, unsigned int count,
		     __u64 *map_ns, __u64 *unmap_ns)
{
	unsigned int i;
	__u64 t0, t1;

	t0 = now_ns();
	for (i = 0; i < count; i++)
		map((char *)buf + i * size, IOVA_BASE + i * size, size);
	t1 = now_ns();
	*map_ns = t1 - t0;
	if (!unmap_ns)
		return;
	for (i = 0; i < count; i++)
		unmap(IOVA_BASE + i * size, size);
	*unmap_ns = now_ns() - t1;
}

static void bench_small(void)
{
	long long slab, objs, pt, lck, pins = pins_acquired();
	__u64 t0, t1, t2, t3;
	unsigned int i;

	/* Let the RCU-deferred frees of earlier unmaps finish first */
	sleep(1);
	slab = slab_kb();
	objs = slab_object_bytes();
	pt = iommu_pt_kb();
	lck = proc_value("/proc/self/status", "VmLck");
	t0 = now_ns();
	for (i = 0; i < SMALL_COUNT; i++)
		map((char *)buf4k + i * PAGE, IOVA_BASE + i * PAGE, PAGE);
	t1 = now_ns();
	/* Kernel memory and locked memory while the mappings exist */
	result("small.slab_obj_bytes_per_map",
	       (double)(slab_object_bytes() - objs) / SMALL_COUNT);
	result("small.slab_bytes_per_map",
	       (double)(slab_kb() - slab) * KiB / SMALL_COUNT);
	result("small.iommu_pt_bytes_per_map",
	       (double)(iommu_pt_kb() - pt) * KiB / SMALL_COUNT);
	result("small.vmlck_kb", proc_value("/proc/self/status", "VmLck") - lck);
	result("small.pins", pins_acquired() - pins);
	t2 = now_ns();
	for (i = 0; i < SMALL_COUNT; i++)
		unmap(IOVA_BASE + i * PAGE, PAGE);
	t3 = now_ns();
	result("small.map_us", (t1 - t0) / 1e3 / SMALL_COUNT);
	result("small.unmap_us", (t3 - t2) / 1e3 / SMALL_COUNT);
	phase("small", "map", t0, t1);
	phase("small", "unmap", t2, t3);
}

/*
 * A guest memory map as QEMU makes one for a small PC guest, roughly:
 * RAM in a few large pieces, video memory, ROMs, option ROMs and many
 * small regions.
 */
static const __u64 mixed_sizes[] = {
	64 * MiB, 64 * MiB, 32 * MiB, 16 * MiB, 8 * MiB, 4 * MiB, 2 * MiB,
	1 * MiB, 640 * KiB, 512 * KiB, 256 * KiB, 128 * KiB, 128 * KiB,
	64 * KiB, 64 * KiB, 64 * KiB, 64 * KiB, 16 * KiB, 16 * KiB, 16 * KiB,
	16 * KiB, 8 * KiB, 8 * KiB, 8 * KiB, 8 * KiB, 4 * KiB, 4 * KiB,
	4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB,
	4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB, 4 * KiB,
	4 * KiB, 4 * KiB, 4 * KiB,
};

#define MIXED_COUNT ARRAY_SIZE(mixed_sizes)

static void bench_mixed(void)
{
	__u64 off, total = 0, t0, t1, t2;
	unsigned int i;

	for (i = 0; i < MIXED_COUNT; i++)
		total += mixed_sizes[i];
	/* Leave a 4 KiB hole between mappings, as a memory map has */
	t0 = now_ns();
	for (i = 0, off = 0; i < MIXED_COUNT; off += mixed_sizes[i++] + PAGE)
		map((char *)buf4k + off, IOVA_BASE + off, mixed_sizes[i]);
	t1 = now_ns();
	for (i = 0, off = 0; i < MIXED_COUNT; off += mixed_sizes[i++] + PAGE)
		unmap(IOVA_BASE + off, mixed_sizes[i]);
	t2 = now_ns();
	result("mixed.count", MIXED_COUNT);
	result("mixed.mib", (double)total / MiB);
	result("mixed.map_ms", (t1 - t0) / 1e6);
	result("mixed.unmap_ms", (t2 - t1) / 1e6);
	result("mixed.total_ms", (t2 - t0) / 1e6);
}

/* At least this much is mapped per size, in mappings of that size */
#define SWEEP_MIN (16 * MiB)

static void bench_sweep(void)
{
	__u64 size, map_ns, unmap_ns;
	unsigned int count;
	char key[64];

	for (size = PAGE; size <= BIG; size *= 4) {
		count = size < SWEEP_MIN ? SWEEP_MIN / size : 1;
		map_many(buf4k, size, count, &map_ns, &unmap_ns);
		snprintf(key, sizeof(key), "sweep.map_gibs@%llu", size / KiB);
		result(key, gibs(size * count, map_ns));
		snprintf(key, sizeof(key), "sweep.unmap_gibs@%llu", size / KiB);
		result(key, gibs(size * count, unmap_ns));
	}
}

/* The floor of one 1 GiB MAP_DMA and UNMAP_DMA, by bench_floor.ko */
static void run_floor(const char *name, void *buf)
{
	struct bench_floor_cmd cmd = {
		.uaddr = (__u64)(unsigned long)buf,
		.length = BIG,
		.iova = IOVA_BASE,
	};
	int fd = open("/dev/bench_floor", O_RDWR);

	if (fd < 0)
		die("/dev/bench_floor: %s (bench_floor.ko not loaded?)",
		    strerror(errno));
	if (ioctl(fd, BENCH_FLOOR_RUN, &cmd))
		die("BENCH_FLOOR_RUN: %s", strerror(errno));
	close(fd);
	result2(name, "pin_gibs", gibs(BIG, cmd.pin_ns));
	result2(name, "pte_map_gibs", gibs(BIG, cmd.map_ns));
	result2(name, "pte_unmap_gibs", gibs(BIG, cmd.unmap_ns));
	result2(name, "unpin_gibs", gibs(BIG, cmd.unpin_ns));
	result2(name, "map_gibs", gibs(BIG, cmd.pin_ns + cmd.map_ns));
	result2(name, "unmap_gibs", gibs(BIG, cmd.unmap_ns + cmd.unpin_ns));
	result2(name, "iommu_map_calls", cmd.runs);
}

int main(int argc, char **argv)
{
	void *buf2m;
	int i;

	if (argc < 2)
		die("usage: vfio_bench big4k|big2m|small|mixed|sweep|floor...");
	setvbuf(stdout, NULL, _IOLBF, 0);
	container_open();
	buf4k = buffer_alloc(BIG, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "big4k")) {
			bench_big("big4k", buf4k);
		} else if (!strcmp(argv[i], "big2m")) {
			buf2m = buffer_alloc(BIG, 1);
			bench_big("big2m", buf2m);
			munmap(buf2m, BIG);
		} else if (!strcmp(argv[i], "floor")) {
			run_floor("floor4k", buf4k);
			buf2m = buffer_alloc(BIG, 1);
			run_floor("floor2m", buf2m);
			munmap(buf2m, BIG);
		} else if (!strcmp(argv[i], "small")) {
			bench_small();
		} else if (!strcmp(argv[i], "mixed")) {
			bench_mixed();
		} else if (!strcmp(argv[i], "sweep")) {
			bench_sweep();
		} else {
			die("unknown workload %s", argv[i]);
		}
	}
	return 0;
}
