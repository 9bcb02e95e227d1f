// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection sweeps of the test build (iommufd/fail_nth.c).
 *
 *   fail_nth [-v] [SCENARIO...]
 *
 * A scenario is a fixed sequence of calls through /dev/iommu or a VFIO
 * container that succeeds.  It runs once armed with a large N to count the
 * failure points it passes, then again with N = 1, 2, 3, ...: the Nth point
 * fails, the call that passed it must fail with the errno a real failure
 * gives (ENOMEM or EFAULT), and the scenario stops there and closes its
 * files.  The sweep ends with the first run whose point was not reached:
 * it must succeed.  After every run:
 *  - before the files are closed, no object the scenario did not learn of
 *    answers IOMMU_DESTROY with anything but ENOENT;
 *  - after, no context is left in /sys/kernel/debug/iommufd/, VmPin and
 *    VmLck are back at their start, so are the pages pinned in the system
 *    (FOLL_PIN counts of /proc/vmstat), and MD_CHECK_REFS finds no pin on
 *    the buffers.
 * The kernel's WARNs and other reports fail the guest (scripts/guest-run);
 * kmemleak, where the kernel has it, is checked by fail_nth.sh.
 *
 * Scenarios: ioas, mock_domain, access, vfio_compat_v2, vfio_compat_v1
 * (the type1 ioctls on /dev/iommu), vfio_container_v2, vfio_container_v1
 * (/dev/vfio/vfio with the edu device bound to vfio-pci; skipped without
 * it).  KTAP, one test per scenario, after "control", which checks the
 * control itself; the diagnostics give each scenario's failure points, the
 * errnos seen and which calls failed.
 */
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "lib/mock_utils.h"
#include "lib/fail_nth.h"
#include "lib/vfio_edu.h"
#include "kmod/vfio_emu.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PG 4096UL
#define BUF_SIZE (2UL << 20)
#define HUGE_SIZE (4UL << 20)
#define BIG_NTH 1000000
#define MAX_IDS 64
#define MAX_FDS 8
#define MAX_STEPS 64
#define MAX_RUNS 2000
#define TREE "/sys/kernel/debug/iommufd"
#define IOVA MOCK_APERTURE_START

struct run;

struct scenario {
	const char *name;
	void (*fn)(struct run *r);
	bool v1;		/* VFIO_TYPE1_IOMMU instead of v2 */
	bool edu;		/* needs the edu device */
	bool emu;		/* needs vfio_emu.ko's device */
};

/* One run of a scenario */
struct run {
	const struct scenario *sc;
	int fd;			/* /dev/iommu */
	int fds[MAX_FDS];	/* other files it opened */
	unsigned int nfds;
	__u32 ids[MAX_IDS];	/* objects it learned of */
	unsigned int nids;
	int err;		/* the errno of the step that failed */
	const char *step;	/* that step */
	bool late_copy;		/* it is a STEP_LATE_COPY() */
	__u8 *bar;		/* the edu's BAR0, mapped */
	size_t bar_size;
};

/* What a sweep saw */
struct tally {
	unsigned int points;	/* passed by a run without failure */
	unsigned int runs;
	unsigned int errnos[134];
	const char *steps[MAX_STEPS];
	unsigned int step_runs[MAX_STEPS];
	unsigned int nsteps;
	unsigned int problems;
};

static struct {
	int ctl;		/* fail_nth, armed by this thread */
	bool verbose;
	__u8 *buf;		/* BUF_SIZE, MAP_SHARED */
	__u8 *huge;		/* HUGE_SIZE of hugetlb pages, or NULL */
	bool dirty;		/* mock domains track dirty pages */
	char edu_bdf[32];
	char group_path[PATH_MAX];
	char emu_group_path[PATH_MAX];
} g;

/*
 * The steps of a scenario, a function of a struct run *r: each makes @call
 * (which returns 0 or an errno) unless a step before it failed.
 */
#define STEP(name, call) STEP_AS(name, call, false)

/*
 * As STEP, for a call that does its work before it copies its answer out:
 * when only the copy fails, the work stays done, as upstream's.  A replace
 * may so leave the device on a new automatic HWPT that the user was not
 * told of: a busy object.
 */
#define STEP_LATE_COPY(name, call) STEP_AS(name, call, true)

#define STEP_AS(name, call, late)                                            \
	do {                                                                 \
		if (!r->err)                                                 \
			step_done(r, name, late, (call));                    \
	} while (0)

static void step_done(struct run *r, const char *name, bool late, int err)
{
	if (!err)
		return;
	r->err = err;
	r->step = name;
	r->late_copy = late;
}

static void learn(struct run *r, __u32 id)
{
	if (r->nids < MAX_IDS)
		r->ids[r->nids++] = id;
}

static int keep_fd(struct run *r, int fd)
{
	if (fd < 0)
		return errno;
	if (r->nfds < MAX_FDS)
		r->fds[r->nfds++] = fd;
	return 0;
}

static int open_iommu(struct run *r)
{
	r->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	return r->fd < 0 ? errno : 0;
}

static int ioas_alloc(struct run *r, __u32 *id)
{
	int err = _test_ioas_alloc(r->fd, id);

	if (!err)
		learn(r, *id);
	return err;
}

static int map(struct run *r, __u32 ioas, void *va, size_t len, __u64 *iova,
	       bool fixed)
{
	return _test_map(r->fd, ioas, va, len, iova,
			 fixed ? MAP_FIXED_RW : MAP_RW);
}

static int map_fixed(struct run *r, __u32 ioas, void *va, size_t len,
		     __u64 iova)
{
	return map(r, ioas, va, len, &iova, true);
}

static int unmap(struct run *r, __u32 ioas, __u64 iova, __u64 len)
{
	return _test_unmap(r->fd, ioas, iova, len, NULL);
}

static int copy(struct run *r, __u32 dst, __u32 src, __u64 src_iova,
		__u64 len, __u64 *dst_iova, bool fixed)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = fixed ? MAP_FIXED_RW : MAP_RW,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int err = ioctl_errno(r->fd, IOMMU_IOAS_COPY, &cmd);

	if (!err)
		*dst_iova = cmd.dst_iova;
	return err;
}

static int iova_ranges(struct run *r, __u32 ioas)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = ARRAY_SIZE(ranges),
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl_errno(r->fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
}

static int allow_iovas(struct run *r, __u32 ioas)
{
	struct iommu_iova_range ranges[] = {
		{ .start = 16UL << 20, .last = (32UL << 20) - 1 },
		{ .start = 64UL << 20, .last = (128UL << 20) - 1 },
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = ARRAY_SIZE(ranges),
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl_errno(r->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static int option(struct run *r, __u32 option, __u16 op, __u32 object,
		  __u64 val)
{
	return _test_option(r->fd, option, op, object, &val);
}

static int destroy(struct run *r, __u32 id)
{
	return _test_destroy(r->fd, id);
}

static int test_cmd(struct run *r, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl_errno(r->fd, IOMMU_TEST_CMD, cmd);
}

static int mock_domain(struct run *r, __u32 pt, __u32 dev_flags,
		       __u32 *stdev, __u32 *hwpt, __u32 *idev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	int err = test_cmd(r, &cmd);

	if (err)
		return err;
	*stdev = cmd.mock_domain_flags.out_stdev_id;
	learn(r, *stdev);
	learn(r, cmd.mock_domain_flags.out_hwpt_id);
	learn(r, cmd.mock_domain_flags.out_idev_id);
	if (hwpt)
		*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain_flags.out_idev_id;
	return 0;
}

static int mock_replace(struct run *r, __u32 stdev, __u32 pt, __u32 *hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev,
		.mock_domain_replace = { .pt_id = pt },
	};
	int err = test_cmd(r, &cmd);

	if (!err) {
		learn(r, cmd.mock_domain_replace.pt_id);
		if (hwpt)
			*hwpt = cmd.mock_domain_replace.pt_id;
	}
	return err;
}

static int check_map(struct run *r, __u32 hwpt, __u64 iova, void *va,
		     size_t len)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt,
		.check_map = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)va },
	};

	return test_cmd(r, &cmd);
}

static int hwpt_alloc(struct run *r, __u32 idev, __u32 pt, __u32 flags,
		      __u32 *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = idev,
		.pt_id = pt,
	};
	int err = ioctl_errno(r->fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!err) {
		*hwpt = cmd.out_hwpt_id;
		learn(r, *hwpt);
	}
	return err;
}

static int hw_info(int fd, __u32 idev, __u64 *caps)
{
	struct iommu_test_hw_info info;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = idev,
		.data_len = sizeof(info),
		.data_uptr = (uintptr_t)&info,
	};
	int err = ioctl_errno(fd, IOMMU_GET_HW_INFO, &cmd);

	if (!err && caps)
		*caps = cmd.out_capabilities;
	return err;
}

static int set_dirty(struct run *r, __u32 hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return ioctl_errno(r->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

/* Dirty every other page of [iova, iova + len) as a device would */
static int mock_dirty(struct run *r, __u32 hwpt, __u64 iova, __u64 len)
{
	__u64 bits[4] = { 0x5555555555555555ULL, 0x5555555555555555ULL,
			  0x5555555555555555ULL, 0x5555555555555555ULL };
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt,
		.dirty = { .iova = iova, .length = len, .page_size = PG,
			   .uptr = (uintptr_t)bits },
	};

	return test_cmd(r, &cmd);
}

static int get_dirty(struct run *r, __u32 hwpt, __u64 iova, __u64 len,
		     __u32 flags)
{
	__u64 bits[4] = {};
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = iova,
		.length = len,
		.page_size = PG,
		.data = (uintptr_t)bits,
	};

	return ioctl_errno(r->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

static __u32 max_id(struct run *r)
{
	__u32 max = 0;
	unsigned int i;

	for (i = 0; i < r->nids; i++)
		if (r->ids[i] > max)
			max = r->ids[i];
	return max;
}

static bool known(struct run *r, __u32 id)
{
	unsigned int i;

	for (i = 0; i < r->nids; i++)
		if (r->ids[i] == id)
			return true;
	return false;
}

/*
 * An access's object id is not given to the user: learn the ids of the
 * objects IOMMU_DESTROY finds busy.
 */
static void learn_busy(struct run *r)
{
	__u32 id, max = max_id(r) + 8;

	for (id = 1; id <= max; id++)
		if (!known(r, id) && _test_destroy(r->fd, id) == EBUSY)
			learn(r, id);
}

static int create_access(struct run *r, __u32 ioas, __u32 flags, int *afd)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas,
		.create_access = { .flags = flags },
	};
	int err = test_cmd(r, &cmd);

	if (err)
		return err;
	*afd = cmd.create_access.out_access_fd;
	learn_busy(r);
	return keep_fd(r, *afd);
}

static int access_pages(struct run *r, int afd, __u64 iova, __u64 len,
			void *va, __u32 *id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = afd,
		.access_pages = { .iova = iova, .length = len,
				  .uptr = (uintptr_t)va,
				  .flags = MOCK_FLAGS_ACCESS_WRITE },
	};
	int err = test_cmd(r, &cmd);

	if (!err)
		*id = cmd.access_pages.out_access_pages_id;
	return err;
}

static int access_unpin(struct run *r, int afd, __u32 id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = afd,
		.destroy_access_pages = { .access_pages_id = id },
	};

	return test_cmd(r, &cmd);
}

static int access_rw(struct run *r, int afd, __u64 iova, void *data,
		     __u64 len, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = afd,
		.access_rw = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)data, .flags = flags },
	};

	return test_cmd(r, &cmd);
}

static int access_replace(struct run *r, int afd, __u32 ioas)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = afd,
		.access_replace_ioas = { .ioas_id = ioas },
	};

	return test_cmd(r, &cmd);
}

/* The IOAS ioctls, without a domain: nothing is pinned */
static void sc_ioas(struct run *r)
{
	__u64 iova = 0, iova2 = 0;
	__u32 a = 0, b = 0;

	STEP("open /dev/iommu", open_iommu(r));
	STEP("IOAS_ALLOC", ioas_alloc(r, &a));
	STEP("IOAS_ALLOC", ioas_alloc(r, &b));
	STEP("IOAS_IOVA_RANGES", iova_ranges(r, a));
	STEP("IOAS_ALLOW_IOVAS", allow_iovas(r, b));
	STEP("IOAS_MAP", map(r, a, g.buf, 64 * PG, &iova, false));
	STEP("IOAS_MAP fixed",
	     map_fixed(r, a, g.buf + 64 * PG, 16 * PG, 1UL << 28));
	STEP("IOAS_COPY", copy(r, b, a, iova, 64 * PG, &iova2, false));
	iova2 = 64UL << 20;
	STEP("IOAS_COPY fixed",
	     copy(r, b, a, 1UL << 28, 16 * PG, &iova2, true));
	STEP("IOAS_IOVA_RANGES", iova_ranges(r, b));
	STEP("IOAS_UNMAP", unmap(r, b, 64UL << 20, 16 * PG));
	STEP("OPTION RLIMIT_MODE",
	     option(r, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0));
	STEP("OPTION HUGE_PAGES",
	     option(r, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, b, 0));
	STEP("OPTION HUGE_PAGES",
	     option(r, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, b, 0));
	STEP("IOAS_UNMAP all", unmap(r, a, 0, UINT64_MAX));
	STEP("DESTROY", destroy(r, b));
}

/* Mock domains: pinning, domains filled, replace, HWPTs, dirty bits */
static void sc_mock_domain(struct run *r)
{
	__u32 a = 0, b = 0, h = 0, hwpt1 = 0, hwpt3 = 0, hwpt4 = 0, hwpt5 = 0;
	__u32 stdev1 = 0, stdev2 = 0, stdev3 = 0, stdev4 = 0, idev1 = 0;
	__u64 iova = 0, iova2 = 0, caps;

	STEP("open /dev/iommu", open_iommu(r));
	STEP("IOAS_ALLOC", ioas_alloc(r, &a));
	STEP("IOAS_ALLOC", ioas_alloc(r, &b));
	/* Two areas side by side, of two iopt_pages, before any domain */
	STEP("IOAS_MAP fixed", map_fixed(r, a, g.buf, 8 * PG, IOVA));
	STEP("IOAS_MAP fixed",
	     map_fixed(r, a, g.buf + 32 * PG, 8 * PG, IOVA + 8 * PG));
	STEP("MOCK_DOMAIN", mock_domain(r, a, 0, &stdev1, &hwpt1, &idev1));
	STEP("IOAS_MAP", map(r, a, g.buf + 8 * PG, 8 * PG, &iova, false));
	STEP("MD_CHECK_MAP", check_map(r, hwpt1, iova, g.buf + 8 * PG, 8 * PG));
	STEP("MOCK_DOMAIN", mock_domain(r, a, 0, &stdev2, NULL, NULL));
	STEP("HWPT_ALLOC", hwpt_alloc(r, idev1, a, 0, &hwpt3));
	STEP("MD_CHECK_MAP", check_map(r, hwpt3, IOVA, g.buf, 8 * PG));
	STEP("MOCK_DOMAIN_REPLACE", mock_replace(r, stdev2, hwpt3, NULL));
	STEP("GET_HW_INFO", hw_info(r->fd, idev1, &caps));
	/* Both areas at once, into an IOAS with a domain */
	STEP("MOCK_DOMAIN", mock_domain(r, b, 0, &stdev3, NULL, NULL));
	iova2 = IOVA;
	STEP("IOAS_COPY fixed", copy(r, b, a, IOVA, 16 * PG, &iova2, true));
	if (g.dirty) {
		STEP("HWPT_ALLOC dirty",
		     hwpt_alloc(r, idev1, a, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				&hwpt4));
		STEP("MOCK_DOMAIN_REPLACE",
		     mock_replace(r, stdev1, hwpt4, NULL));
		STEP("HWPT_SET_DIRTY_TRACKING", set_dirty(r, hwpt4, true));
		STEP("TEST DIRTY", mock_dirty(r, hwpt4, IOVA, 8 * PG));
		STEP("HWPT_GET_DIRTY_BITMAP NO_CLEAR",
		     get_dirty(r, hwpt4, IOVA, 8 * PG,
			       IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
		STEP("HWPT_GET_DIRTY_BITMAP",
		     get_dirty(r, hwpt4, IOVA, 8 * PG, 0));
		STEP("HWPT_SET_DIRTY_TRACKING", set_dirty(r, hwpt4, false));
	}
	if (g.huge) {
		STEP("IOAS_ALLOC", ioas_alloc(r, &h));
		STEP("MOCK_DOMAIN huge",
		     mock_domain(r, h, MOCK_FLAGS_DEVICE_HUGE_IOVA, &stdev4,
				 &hwpt5, NULL));
		STEP("IOAS_MAP fixed huge",
		     map_fixed(r, h, g.huge, HUGE_SIZE, 32UL << 20));
		STEP("MD_CHECK_MAP",
		     check_map(r, hwpt5, 32UL << 20, g.huge, HUGE_SIZE));
		STEP("IOAS_UNMAP", unmap(r, h, 32UL << 20, HUGE_SIZE));
	}
	STEP("IOAS_UNMAP", unmap(r, a, iova, 8 * PG));
	STEP_LATE_COPY("MOCK_DOMAIN_REPLACE", mock_replace(r, stdev2, a, NULL));
	STEP("DESTROY", destroy(r, stdev3));
	STEP("DESTROY", destroy(r, stdev2));
	STEP("DESTROY", destroy(r, hwpt3));
	STEP("IOAS_UNMAP all", unmap(r, a, 0, UINT64_MAX));
}

/* In-kernel accesses: pins, reads and writes, replace */
static void sc_access(struct run *r)
{
	__u32 a = 0, b = 0, pin1 = 0, pin2 = 0, stdev;
	__u8 data[3 * PG] = {};
	int afd1 = -1, afd2 = -1;

	STEP("open /dev/iommu", open_iommu(r));
	STEP("IOAS_ALLOC", ioas_alloc(r, &a));
	STEP("IOAS_ALLOC", ioas_alloc(r, &b));
	STEP("IOAS_MAP fixed", map_fixed(r, a, g.buf, 16 * PG, IOVA));
	STEP("IOAS_MAP fixed", map_fixed(r, b, g.buf, 16 * PG, IOVA));
	STEP("CREATE_ACCESS pin",
	     create_access(r, a, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			   &afd1));
	STEP("ACCESS_PAGES", access_pages(r, afd1, IOVA, 8 * PG, g.buf, &pin1));
	STEP("ACCESS_PAGES",
	     access_pages(r, afd1, IOVA + 4 * PG, 8 * PG, g.buf + 4 * PG,
			  &pin2));
	STEP("ACCESS_RW", access_rw(r, afd1, IOVA + 10, data, 100, 0));
	STEP("ACCESS_RW write",
	     access_rw(r, afd1, IOVA + 10, data, 100, MOCK_ACCESS_RW_WRITE));
	STEP("DESTROY_ACCESS_PAGES", access_unpin(r, afd1, pin1));
	STEP("DESTROY_ACCESS_PAGES", access_unpin(r, afd1, pin2));
	STEP("CREATE_ACCESS", create_access(r, a, 0, &afd2));
	STEP("ACCESS_RW",
	     access_rw(r, afd2, IOVA + PG / 2, data, sizeof(data) - PG, 0));
	STEP("ACCESS_RW write",
	     access_rw(r, afd2, IOVA + PG / 2, data, sizeof(data) - PG,
		       MOCK_ACCESS_RW_WRITE));
	STEP("ACCESS_RW slow",
	     access_rw(r, afd2, IOVA, data, sizeof(data),
		       MOCK_ACCESS_RW_SLOW_PATH));
	STEP("ACCESS_REPLACE_IOAS", access_replace(r, afd2, b));
	STEP("ACCESS_RW", access_rw(r, afd2, IOVA, data, 64, 0));
	STEP("MOCK_DOMAIN", mock_domain(r, a, 0, &stdev, NULL, NULL));
	STEP("ACCESS_PAGES",
	     access_pages(r, afd1, IOVA, 16 * PG, g.buf, &pin1));
	STEP("IOAS_UNMAP", unmap(r, a, IOVA, 16 * PG));
}

/* VFIO_CHECK_EXTENSION of type1v2, which a view makes itself for */
static int vfio_check_v2(int fd)
{
	int ret = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);

	if (ret < 0)
		return errno;
	return ret == 1 ? 0 : ENOTSUP;
}

static int vfio_set_iommu(int fd, bool v1)
{
	return ioctl(fd, VFIO_SET_IOMMU,
		     v1 ? VFIO_TYPE1_IOMMU : VFIO_TYPE1v2_IOMMU) ? errno : 0;
}

/* GET_INFO twice: too short for the capabilities, then long enough */
static int vfio_get_info(int fd)
{
	__u8 buf[1024] = {};
	struct vfio_iommu_type1_info *info = (void *)buf;

	info->argsz = sizeof(*info);
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, info))
		return errno;
	if (info->argsz > sizeof(buf))
		return E2BIG;
	info->argsz = sizeof(buf);
	return ioctl(fd, VFIO_IOMMU_GET_INFO, info) ? errno : 0;
}

static int vfio_map(int fd, void *va, __u64 iova, __u64 size, __u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags ? flags :
			 VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map) ? errno : 0;
}

static int vfio_unmap(int fd, __u64 iova, __u64 size, __u32 flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap) ? errno : 0;
}

/* UNMAP_DMA of a range reporting its dirty pages (4 KiB) */
static int vfio_unmap_bitmap(int fd, __u64 iova, __u64 size)
{
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} cmd = {
		.unmap = {
			.argsz = sizeof(cmd),
			.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			.iova = iova,
			.size = size,
		},
	};
	__u64 bits[8] = {};

	cmd.bitmap.pgsize = PG;
	cmd.bitmap.size = sizeof(bits);
	cmd.bitmap.data = bits;
	return ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd) ? errno : 0;
}

static int vfio_dirty(int fd, __u32 flags, __u64 iova, __u64 size)
{
	__u8 buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
		 sizeof(struct vfio_iommu_type1_dirty_bitmap_get)] = {};
	struct vfio_iommu_type1_dirty_bitmap *dirty = (void *)buf;
	struct vfio_iommu_type1_dirty_bitmap_get *range = (void *)dirty->data;
	__u64 bits[8] = {};

	dirty->argsz = flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP ?
		       sizeof(buf) : sizeof(*dirty);
	dirty->flags = flags;
	range->iova = iova;
	range->size = size;
	range->bitmap.pgsize = PG;
	range->bitmap.size = sizeof(bits);
	range->bitmap.data = bits;
	return ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, dirty) ? errno : 0;
}

/* The type1 container ioctls on /dev/iommu, on a mock domain */
static void sc_vfio_compat(struct run *r)
{
	struct iommu_vfio_ioas vfio = {
		.size = sizeof(vfio),
		.op = IOMMU_VFIO_IOAS_SET,
	};
	__u32 a = 0, stdev, hwpt = 0;

	STEP("open /dev/iommu", open_iommu(r));
	STEP("IOAS_ALLOC", ioas_alloc(r, &a));
	vfio.ioas_id = a;
	STEP("VFIO_IOAS", ioctl_errno(r->fd, IOMMU_VFIO_IOAS, &vfio));
	STEP("VFIO_CHECK_EXTENSION", vfio_check_v2(r->fd));
	STEP("VFIO_SET_IOMMU", vfio_set_iommu(r->fd, r->sc->v1));
	STEP("VFIO_IOMMU_GET_INFO", vfio_get_info(r->fd));
	STEP("MOCK_DOMAIN", mock_domain(r, a, 0, &stdev, &hwpt, NULL));
	STEP("VFIO_IOMMU_GET_INFO", vfio_get_info(r->fd));
	STEP("VFIO_IOMMU_MAP_DMA", vfio_map(r->fd, g.buf, IOVA, 16 * PG, 0));
	STEP("VFIO_IOMMU_MAP_DMA",
	     vfio_map(r->fd, g.buf + 16 * PG, IOVA + (1 << 20), 16 * PG, 0));
	STEP("MD_CHECK_MAP", check_map(r, hwpt, IOVA, g.buf, 16 * PG));
	STEP("VFIO_IOMMU_UNMAP_DMA", vfio_unmap(r->fd, IOVA, 16 * PG, 0));
	STEP("VFIO_IOMMU_UNMAP_DMA all",
	     vfio_unmap(r->fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL));
}

static int open_keep(struct run *r, const char *path, int *fd)
{
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return keep_fd(r, *fd);
}

/* A VFIO group, viable */
static int open_group(struct run *r, const char *path, int *group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int err = open_keep(r, path, group);

	if (err)
		return err;
	if (ioctl(*group, VFIO_GROUP_GET_STATUS, &status))
		return errno;
	return status.flags & VFIO_GROUP_FLAGS_VIABLE ? 0 : EBUSY;
}

static int get_device(struct run *r, int group, const char *name,
		      int *device)
{
	*device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, name);
	return keep_fd(r, *device);
}

/* The edu's BAR0, mapped until the run ends, and bus mastering on */
static int map_bar(struct run *r, int device)
{
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	__u16 command;
	int err;

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return errno;
	err = pread(device, &command, 2, cfg.offset + 4) != 2 ? EIO : 0;
	command |= 0x4;
	if (!err && pwrite(device, &command, 2, cfg.offset + 4) != 2)
		err = EIO;
	if (err)
		return err;
	r->bar = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      device, bar.offset);
	if (r->bar == MAP_FAILED) {
		r->bar = NULL;
		return errno;
	}
	r->bar_size = bar.size;
	return 0;
}

/* DMA by the edu device: a pattern from IOVA @src to IOVA @dst */
static int edu_check_dma(struct run *r, __u64 src, __u64 dst, __u8 *src_va,
			 __u8 *dst_va)
{
	struct edu edu = { .bar0 = r->bar, .bar0_size = r->bar_size };
	int err;
	size_t i;

	for (i = 0; i < 256; i++)
		src_va[i] = i ^ 0xa5;
	memset(dst_va, 0, 256);
	err = edu_dma(&edu, src, EDU_BUFFER, 256, false);
	if (!err)
		err = edu_dma(&edu, EDU_BUFFER, dst, 256, true);
	if (!err && memcmp(src_va, dst_va, 256))
		err = EIO;
	return err;
}

/* A type1 container of the edu's group, served by this module */
static void sc_vfio_container(struct run *r)
{
	__u64 iova1 = 1UL << 20, iova2 = iova1 + 16 * PG, iova3 = 3UL << 20;
	__u64 iova_bar = 4UL << 20;
	int cont = -1, group = -1, device = -1;

	STEP("open /dev/vfio/vfio", open_keep(r, "/dev/vfio/vfio", &cont));
	STEP("open group", open_group(r, g.group_path, &group));
	STEP("VFIO_GROUP_SET_CONTAINER",
	     ioctl(group, VFIO_GROUP_SET_CONTAINER, &cont) ? errno : 0);
	STEP("VFIO_SET_IOMMU", vfio_set_iommu(cont, r->sc->v1));
	STEP("VFIO_GROUP_GET_DEVICE_FD",
	     get_device(r, group, g.edu_bdf, &device));
	STEP("VFIO_IOMMU_GET_INFO", vfio_get_info(cont));
	STEP("VFIO_IOMMU_MAP_DMA", vfio_map(cont, g.buf, iova1, 16 * PG, 0));
	STEP("VFIO_IOMMU_MAP_DMA",
	     vfio_map(cont, g.buf + 16 * PG, iova2, 16 * PG, 0));
	STEP("BAR0 mmap", map_bar(r, device));
	STEP("edu DMA",
	     edu_check_dma(r, iova1, iova2 + PG, g.buf, g.buf + 17 * PG));
	/* BAR0 itself, VM_PFNMAP: its PFNs are looked up, nothing pinned */
	STEP("VFIO_IOMMU_MAP_DMA BAR",
	     vfio_map(cont, (void *)r->bar, iova_bar, 16 * PG, 0));
	STEP("VFIO_IOMMU_UNMAP_DMA BAR",
	     vfio_unmap(cont, iova_bar, 16 * PG, 0));
	if (!r->sc->v1) {
		STEP("VFIO_IOMMU_DIRTY_PAGES start",
		     vfio_dirty(cont, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 0, 0));
		/* Two mappings: the second's bits start inside a word */
		STEP("VFIO_IOMMU_DIRTY_PAGES bitmap",
		     vfio_dirty(cont, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
				iova1, 32 * PG));
		STEP("VFIO_IOMMU_MAP_DMA",
		     vfio_map(cont, g.buf + 32 * PG, iova3, 16 * PG, 0));
		STEP("VFIO_IOMMU_UNMAP_DMA bitmap",
		     vfio_unmap_bitmap(cont, iova1, 16 * PG));
		STEP("VFIO_IOMMU_DIRTY_PAGES stop",
		     vfio_dirty(cont, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0));
		STEP("VFIO_IOMMU_UNMAP_DMA vaddr",
		     vfio_unmap(cont, iova2, 16 * PG,
				VFIO_DMA_UNMAP_FLAG_VADDR));
		STEP("VFIO_IOMMU_MAP_DMA vaddr",
		     vfio_map(cont, g.buf + 16 * PG, iova2, 16 * PG,
			      VFIO_DMA_MAP_FLAG_VADDR));
	}
	STEP("VFIO_IOMMU_UNMAP_DMA", vfio_unmap(cont, iova2, 16 * PG, 0));
	STEP("VFIO_IOMMU_GET_INFO", vfio_get_info(cont));
	STEP("VFIO_IOMMU_UNMAP_DMA all",
	     vfio_unmap(cont, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL));
}

/* VFIO_EMU_PIN of @npage pages from @iova, written */
static int emu_pin(int device, __u64 iova, __u32 npage)
{
	struct vfio_emu_pin pin = { .iova = iova, .npage = npage, .write = 1 };

	return ioctl(device, VFIO_EMU_PIN, &pin) < 0 ? errno : 0;
}

static int emu_rw(int device, __u64 iova, void *buf, __u64 len, bool write)
{
	struct vfio_emu_rw rw = {
		.iova = iova,
		.uaddr = (uintptr_t)buf,
		.len = len,
		.write = write,
	};

	return ioctl(device, VFIO_EMU_RW, &rw) < 0 ? errno : 0;
}

/*
 * A type1 container of vfio_emu.ko's emulated device: its pin_pages, its
 * dma_rw, and the dma_unmap that makes it unpin.  No IOMMU-backed group:
 * nothing is pinned but what the device pins.
 */
static void sc_vfio_emu(struct run *r)
{
	int cont = -1, group = -1, device = -1;
	__u64 iova = 1UL << 20;
	__u8 data[2 * PG] = {};

	STEP("open /dev/vfio/vfio", open_keep(r, "/dev/vfio/vfio", &cont));
	STEP("open group", open_group(r, g.emu_group_path, &group));
	STEP("VFIO_GROUP_SET_CONTAINER",
	     ioctl(group, VFIO_GROUP_SET_CONTAINER, &cont) ? errno : 0);
	STEP("VFIO_SET_IOMMU", vfio_set_iommu(cont, false));
	STEP("VFIO_GROUP_GET_DEVICE_FD",
	     get_device(r, group, "vfio_emu", &device));
	STEP("VFIO_IOMMU_MAP_DMA", vfio_map(cont, g.buf, iova, 16 * PG, 0));
	STEP("VFIO_IOMMU_DIRTY_PAGES start",
	     vfio_dirty(cont, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 0, 0));
	STEP("VFIO_EMU_PIN", emu_pin(device, iova, 4));
	STEP("VFIO_EMU_RW write",
	     emu_rw(device, iova + 8 * PG + 100, data, sizeof(data), true));
	STEP("VFIO_EMU_RW", emu_rw(device, iova + 10, data, 100, false));
	STEP("VFIO_IOMMU_DIRTY_PAGES bitmap",
	     vfio_dirty(cont, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, iova,
			16 * PG));
	/* The device hears of it and unpins */
	STEP("VFIO_IOMMU_UNMAP_DMA bitmap",
	     vfio_unmap_bitmap(cont, iova, 16 * PG));
	STEP("VFIO_IOMMU_DIRTY_PAGES stop",
	     vfio_dirty(cont, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0));
}

static const struct scenario scenarios[] = {
	{ .name = "ioas", .fn = sc_ioas },
	{ .name = "mock_domain", .fn = sc_mock_domain },
	{ .name = "access", .fn = sc_access },
	{ .name = "vfio_compat_v2", .fn = sc_vfio_compat },
	{ .name = "vfio_compat_v1", .fn = sc_vfio_compat, .v1 = true },
	{ .name = "vfio_container_v2", .fn = sc_vfio_container, .edu = true },
	{ .name = "vfio_container_v1", .fn = sc_vfio_container, .v1 = true,
	  .edu = true },
	{ .name = "vfio_emu", .fn = sc_vfio_emu, .emu = true },
};

/* Contexts in the debugfs tree: every /dev/iommu file and container */
static int count_contexts(void)
{
	DIR *dir = opendir(TREE);
	struct dirent *d;
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, "iommu-", 6) ||
		     !strncmp(d->d_name, "vfio-", 5);
	closedir(dir);
	return n;
}

/* What must come back after each run */
struct state {
	long vmpin, vmlck, pins;
	int contexts;
	bool refs_leaked;
};

static void get_state(struct state *s)
{
	s->vmpin = proc_status_kb("VmPin");
	s->vmlck = proc_status_kb("VmLck");
	s->pins = pins_held();
	s->contexts = count_contexts();
	s->refs_leaked = false;
}

/* MD_CHECK_REFS: no page of @va, @len is pinned */
static int check_no_refs(void *va, size_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)va },
	};
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	int err;

	if (fd < 0)
		return errno;
	err = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
	close(fd);
	return err;
}

static void problem(struct tally *t, const char *sc, unsigned int nth,
		    const char *fmt, ...)
{
	va_list ap;

	if (t->problems++ >= 20)
		return;
	printf("# %s, point %u: ", sc, nth);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * After a failed call, before the files close: no object the scenario did
 * not learn of (but a busy one after a STEP_LATE_COPY()).  IOMMU_DESTROY
 * destroys a free one (ENOENT would be right).
 */
static void check_hidden(struct tally *t, struct run *r, unsigned int nth)
{
	__u32 id, max = max_id(r) + 8;
	int err;

	if (r->fd < 0)
		return;
	for (id = 1; id <= max; id++) {
		if (known(r, id))
			continue;
		err = _test_destroy(r->fd, id);
		if (err != ENOENT && !(err == EBUSY && r->late_copy))
			problem(t, r->sc->name, nth,
				"after %s failed, id %u answers DESTROY with %s",
				r->step, id, strerrorname_np(err) ?: "0");
	}
}

static void close_run(struct run *r)
{
	unsigned int i;

	if (r->bar)
		munmap((void *)r->bar, r->bar_size);
	for (i = r->nfds; i-- > 0;)
		close(r->fds[i]);
	if (r->fd >= 0)
		close(r->fd);
}

/*
 * What changed since @start.  After a change is reported @start becomes
 * what is now, so that each leak is reported once.
 */
static void check_state(struct tally *t, const char *sc, unsigned int nth,
			struct state *start)
{
	unsigned int problems = t->problems;
	struct state now;
	int err;

	get_state(&now);
	if (now.contexts != start->contexts)
		problem(t, sc, nth, "%d contexts in the debugfs tree, %d before",
			now.contexts, start->contexts);
	if (now.vmpin != start->vmpin || now.vmlck != start->vmlck)
		problem(t, sc, nth, "VmPin %ld kB VmLck %ld kB, %ld and %ld before",
			now.vmpin, now.vmlck, start->vmpin, start->vmlck);
	if (now.pins != start->pins)
		problem(t, sc, nth, "%ld pages pinned in the system, %ld before",
			now.pins, start->pins);
	/* Once pages leaked, they stay pinned */
	now.refs_leaked = start->refs_leaked;
	err = now.refs_leaked ? 0 : check_no_refs(g.buf, BUF_SIZE);
	if (err) {
		problem(t, sc, nth, "MD_CHECK_REFS of the buffer: %s",
			strerrorname_np(err));
		now.refs_leaked = true;
	}
	if (t->problems != problems)
		*start = now;
}

static void tally_step(struct tally *t, const char *step)
{
	unsigned int i;

	for (i = 0; i < t->nsteps; i++) {
		if (!strcmp(t->steps[i], step)) {
			t->step_runs[i]++;
			return;
		}
	}
	if (t->nsteps < MAX_STEPS) {
		t->steps[t->nsteps] = step;
		t->step_runs[t->nsteps++] = 1;
	}
}

/* One run armed with @nth; returns the points left, 0 if it fired */
static long run_once(const struct scenario *sc, struct run *r,
		     unsigned int nth, int *err)
{
	long left;

	memset(r, 0, sizeof(*r));
	r->sc = sc;
	r->fd = -1;
	if (fail_nth_set(g.ctl, nth))
		return -1;
	sc->fn(r);
	*err = r->err;
	left = fail_nth_left(g.ctl);
	fail_nth_set(g.ctl, 0);
	return left;
}

static bool sweep(const struct scenario *sc)
{
	struct tally t = {};
	struct state start;
	struct run r;
	unsigned int nth, i;
	char line[1024];
	long left;
	int err, len;

	get_state(&start);
	left = run_once(sc, &r, BIG_NTH, &err);
	if (left < 0 || err) {
		printf("# %s: fails without fault injection: %s: %s\n",
		       sc->name, r.step ?: "control", strerror(err ?: errno));
		close_run(&r);
		return false;
	}
	t.points = BIG_NTH - left;
	close_run(&r);
	check_state(&t, sc->name, 0, &start);

	for (nth = 1; nth <= MAX_RUNS; nth++) {
		left = run_once(sc, &r, nth, &err);
		t.runs++;
		if (left < 0) {
			problem(&t, sc->name, nth, "cannot read the control");
			close_run(&r);
			break;
		}
		if (left) {
			/* The point was not reached: the run must succeed */
			if (err)
				problem(&t, sc->name, nth,
					"%s failed with %s, nothing injected",
					r.step, strerrorname_np(err));
			close_run(&r);
			check_state(&t, sc->name, nth, &start);
			break;
		}
		if (!err) {
			problem(&t, sc->name, nth,
				"the failure was lost: the scenario succeeded");
		} else {
			t.errnos[err < 134 ? err : 133]++;
			tally_step(&t, r.step);
			if (err != ENOMEM && err != EFAULT)
				problem(&t, sc->name, nth, "%s failed with %s",
					r.step, strerrorname_np(err));
			check_hidden(&t, &r, nth);
			if (g.verbose)
				printf("# %s %u: %s %s\n", sc->name, nth,
				       r.step, strerrorname_np(err));
		}
		close_run(&r);
		check_state(&t, sc->name, nth, &start);
	}
	if (nth > MAX_RUNS)
		problem(&t, sc->name, nth, "still failing after %u runs",
			MAX_RUNS);
	if (t.runs - 1 != t.points)
		printf("# %s: %u runs for %u failure points\n", sc->name,
		       t.runs, t.points);

	len = snprintf(line, sizeof(line), "# %s: %u failure points:",
		       sc->name, t.points);
	for (i = 1; i < ARRAY_SIZE(t.errnos); i++)
		if (t.errnos[i])
			len += snprintf(line + len, sizeof(line) - len, " %s %u",
					strerrorname_np(i), t.errnos[i]);
	puts(line);
	len = snprintf(line, sizeof(line), "# %s: failed calls:", sc->name);
	for (i = 0; i < t.nsteps && len < (int)sizeof(line); i++)
		len += snprintf(line + len, sizeof(line) - len, "%s %s %u",
				i ? "," : "", t.steps[i], t.step_runs[i]);
	puts(line);
	if (t.problems > 20)
		printf("# %s: %u problems, 20 shown\n", sc->name, t.problems);
	return !t.problems;
}

static void *other_thread(void *arg)
{
	int *err = arg;
	__u32 id;
	int fd;

	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	*err = fd < 0 ? errno : _test_ioas_alloc(fd, &id);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * The control: counting, failing once with the right errno, only in the
 * thread that armed it, and 0 disarms.
 */
static bool check_control(void)
{
	struct run r = { .fd = -1 };
	pthread_t thread;
	long left, points;
	bool ok = true;
	int err = 0;
	__u32 id;

	if (open_iommu(&r)) {
		printf("# open /dev/iommu: %s\n", strerror(errno));
		return false;
	}
	/* IOAS_ALLOC passes at least the object's allocation and its id */
	fail_nth_set(g.ctl, 100);
	err = _test_ioas_alloc(r.fd, &id);
	left = fail_nth_left(g.ctl);
	points = 100 - left;
	if (err || points < 2 || left <= 0) {
		printf("# IOAS_ALLOC armed with 100: %s, %ld left\n",
		       strerror(err), left);
		ok = false;
	}
	fail_nth_set(g.ctl, 1);
	err = _test_ioas_alloc(r.fd, &id);
	left = fail_nth_left(g.ctl);
	if (err != ENOMEM || left) {
		printf("# IOAS_ALLOC armed with 1: %s, %ld left\n",
		       strerror(err), left);
		ok = false;
	}
	/* Once: the next call succeeds */
	err = _test_ioas_alloc(r.fd, &id);
	if (err) {
		printf("# IOAS_ALLOC after the failure: %s\n", strerror(err));
		ok = false;
	}
	/* Another thread is not armed */
	fail_nth_set(g.ctl, 1);
	pthread_create(&thread, NULL, other_thread, &err);
	pthread_join(thread, NULL);
	left = fail_nth_left(g.ctl);
	if (err || left != 1) {
		printf("# another thread: %s, %ld left here\n", strerror(err),
		       left);
		ok = false;
	}
	fail_nth_set(g.ctl, 0);
	err = _test_ioas_alloc(r.fd, &id);
	if (err || fail_nth_left(g.ctl)) {
		printf("# disarmed: %s\n", strerror(err));
		ok = false;
	}
	close(r.fd);
	printf("# IOAS_ALLOC passes %ld failure points\n", points);
	return ok;
}

/* The edu bound to vfio-pci, and its group; false: none */
static bool find_edu(void)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	if (edu_find(g.edu_bdf, sizeof(g.edu_bdf)))
		return false;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 g.edu_bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	snprintf(g.group_path, sizeof(g.group_path), "/dev/vfio/%s",
		 basename(link));
	return !access(g.group_path, R_OK | W_OK);
}

/* vfio_emu.ko's device and its group; false: not loaded */
static bool find_emu(void)
{
	char link[PATH_MAX];
	ssize_t n;

	n = readlink("/sys/bus/platform/devices/vfio_emu/iommu_group", link,
		     sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	snprintf(g.emu_group_path, sizeof(g.emu_group_path), "/dev/vfio/%s",
		 basename(link));
	return !access(g.emu_group_path, R_OK | W_OK);
}

/* Do mock domains track dirty pages on this kernel? */
static bool mock_dirty_supported(void)
{
	struct run r = { .fd = -1 };
	__u32 ioas, stdev, idev;
	__u64 caps = 0;

	if (open_iommu(&r) || _test_ioas_alloc(r.fd, &ioas) ||
	    mock_domain(&r, ioas, 0, &stdev, NULL, &idev) ||
	    hw_info(r.fd, idev, &caps))
		caps = 0;
	if (r.fd >= 0)
		close(r.fd);
	return caps & IOMMU_HW_CAP_DIRTY_TRACKING;
}

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (optind >= argc)
		return true;
	for (i = optind; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned int i, n = 1, failed = 0;
	bool edu, emu;
	int opt;

	while ((opt = getopt(argc, argv, "v")) != -1) {
		if (opt != 'v') {
			fprintf(stderr, "usage: %s [-v] [SCENARIO...]\n",
				argv[0]);
			return 2;
		}
		g.verbose = true;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	g.ctl = fail_nth_open();
	if (g.ctl < 0) {
		printf("1..0 # SKIP no %s (test build, debugfs): %s\n",
		       FAIL_NTH_PATH, strerror(errno));
		return 4;
	}
	g.buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g.buf == MAP_FAILED) {
		printf("1..0 # SKIP mmap: %s\n", strerror(errno));
		return 4;
	}
	memset(g.buf, 0x5a, BUF_SIZE);
	g.huge = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (g.huge == MAP_FAILED)
		g.huge = NULL;
	else
		memset(g.huge, 0xa5, HUGE_SIZE);
	g.dirty = mock_dirty_supported();
	edu = find_edu();
	emu = find_emu();

	printf("1..%zu\n", ARRAY_SIZE(scenarios) + 1);
	printf("# mock dirty tracking: %s; hugetlb pages: %s; edu: %s; vfio_emu: %s\n",
	       g.dirty ? "yes" : "no", g.huge ? "yes" : "no",
	       edu ? g.edu_bdf : "none", emu ? "yes" : "no");
	failed += !check_control();
	printf("%sok 1 control\n", failed ? "not " : "");
	for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
		const struct scenario *sc = &scenarios[i];
		bool ok;

		n++;
		if (!selected(sc->name, argc, argv)) {
			printf("ok %u %s # SKIP not selected\n", n, sc->name);
			continue;
		}
		if (sc->edu && !edu) {
			printf("ok %u %s # SKIP no edu device on vfio-pci\n", n,
			       sc->name);
			continue;
		}
		if (sc->emu && !emu) {
			printf("ok %u %s # SKIP no vfio_emu device\n", n,
			       sc->name);
			continue;
		}
		if ((sc->edu || sc->emu) &&
		    !access("/sys/module/vfio_iommu_type1", F_OK)) {
			printf("not ok %u %s # vfio_iommu_type1 loaded\n", n,
			       sc->name);
			failed++;
			continue;
		}
		ok = sweep(sc);
		failed += !ok;
		printf("%sok %u %s\n", ok ? "" : "not ", n, sc->name);
	}
	return failed ? 1 : 0;
}
