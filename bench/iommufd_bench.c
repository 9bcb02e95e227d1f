// SPDX-License-Identifier: GPL-2.0
/*
 * The native uAPI (/dev/iommu) with the test build's mock domains: what
 * IOMMU_IOAS_MAP of 1 GiB costs without a domain (no pinning), with a
 * domain (pinning and page-table writes), and what IOMMU_IOAS_COPY of that
 * mapping into a second IOAS with its own domain costs: the copy shares
 * the pinned pages, so it must pin nothing new.
 *
 * Needs build/test/iommufd.ko: only the test build can attach a domain to
 * an IOAS of /dev/iommu (IOMMU_TEST_OP_MOCK_DOMAIN); the production module
 * has no way to attach a real device there.  A mock domain's page table is
 * an xarray with one entry per 2 KiB, so its "page-table writes" are not
 * those of a hardware IOMMU.
 *
 * usage: iommufd_bench [huge]
 *   huge  2 MiB hugetlb pages instead of 4 KiB pages
 * Prints "R name value" lines.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/iommufd.h>

#include "bench.h"
#include "drivers/iommu/iommufd/iommufd_test.h"

#define BIG (1 * GiB)
/* Inside the mock domain's aperture, which ends at 2 GiB */
#define IOVA (1 * GiB)

static int fd;
static const char *name = "native4k";

static __u32 ioas_alloc(void)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &cmd))
		die("IOMMU_IOAS_ALLOC: %s", strerror(errno));
	return cmd.out_ioas_id;
}

/* A mock device attached to @ioas through a new mock domain */
static __u32 mock_domain(__u32 ioas)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas,
	};

	if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
		die("IOMMU_TEST_OP_MOCK_DOMAIN: %s (not the test build?)",
		    strerror(errno));
	return cmd.mock_domain.out_stdev_id;
}

static void destroy(__u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	if (ioctl(fd, IOMMU_DESTROY, &cmd))
		die("IOMMU_DESTROY: %s", strerror(errno));
}

static __u64 map(__u32 ioas, void *buf)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (__u64)(unsigned long)buf,
		.length = BIG,
		.iova = IOVA,
	};
	__u64 t0 = now_ns();

	if (ioctl(fd, IOMMU_IOAS_MAP, &cmd))
		die("IOMMU_IOAS_MAP: %s", strerror(errno));
	return now_ns() - t0;
}

static __u64 copy(__u32 dst, __u32 src)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = BIG,
		.dst_iova = IOVA,
		.src_iova = IOVA,
	};
	__u64 t0 = now_ns();

	if (ioctl(fd, IOMMU_IOAS_COPY, &cmd))
		die("IOMMU_IOAS_COPY: %s", strerror(errno));
	return now_ns() - t0;
}

static __u64 unmap(__u32 ioas)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = IOVA,
		.length = BIG,
	};
	__u64 t0 = now_ns();

	if (ioctl(fd, IOMMU_IOAS_UNMAP, &cmd) || cmd.length != BIG)
		die("IOMMU_IOAS_UNMAP: %s", strerror(errno));
	return now_ns() - t0;
}

static void report(const char *what, double value)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.%s", name, what);
	result(key, value);
}

static long long vmpin_kb(void)
{
	return proc_value("/proc/self/status", "VmPin");
}

int main(int argc, char **argv)
{
	long long pin0, pins0;
	__u32 a, b, dev_a, dev_b;
	int huge = argc > 1 && !strcmp(argv[1], "huge");
	void *buf;
	__u64 ns;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (huge)
		name = "native2m";
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("/dev/iommu: %s", strerror(errno));
	buf = buffer_alloc(BIG, huge);
	a = ioas_alloc();
	b = ioas_alloc();

	/* No domain: an area and its iopt_pages, nothing pinned */
	pins0 = pins_acquired();
	ns = map(a, buf);
	report("nodom_pins", pins_acquired() - pins0);
	report("nodom_map_us", ns / 1e3);
	report("nodom_unmap_us", unmap(a) / 1e3);

	/* With a domain: pinned, charged (VmPin) and written into it */
	dev_a = mock_domain(a);
	dev_b = mock_domain(b);
	pin0 = vmpin_kb();
	pins0 = pins_acquired();
	ns = map(a, buf);
	report("map_pins", pins_acquired() - pins0);
	report("map_vmpin_kb", vmpin_kb() - pin0);
	report("map_gibs", gibs(BIG, ns));

	/* The copy shares the pinned pages: no pin, no charge */
	pin0 = vmpin_kb();
	pins0 = pins_acquired();
	ns = copy(b, a);
	report("copy_pins", pins_acquired() - pins0);
	report("copy_vmpin_kb", vmpin_kb() - pin0);
	report("copy_gibs", gibs(BIG, ns));

	/* The copy's unmap unpins nothing; the first mapping's unpins all */
	report("copy_unmap_gibs", gibs(BIG, unmap(b)));
	report("unmap_gibs", gibs(BIG, unmap(a)));
	report("end_vmpin_kb", vmpin_kb());

	destroy(dev_a);
	destroy(dev_b);
	close(fd);
	return 0;
}
