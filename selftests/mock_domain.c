// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning, accounting and object lifetimes with the test build's mock
 * IOMMU: pages are pinned and charged once however many domains and IOASes
 * map them, only while a domain or an access needs them; RLIMIT_MEMLOCK is
 * enforced and a refused map leaves nothing pinned; busy objects cannot be
 * destroyed; an access pin is let go on unmap; destroying mock devices
 * while another thread uses them is safe.  Native dirty tracking: pages the
 * mock IOMMU saw written (IOMMU_TEST_OP_DIRTY) show in the bitmap of
 * IOMMU_HWPT_GET_DIRTY_BITMAP, once unless NO_CLEAR, whatever the bitmap's
 * page size and alignment, and the errnos of bad requests.  Needs the test
 * variant loaded (selftests/with-module build/test/iommufd.ko).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "lib/mock_utils.h"

#define MiB (1024UL * 1024)
#define BUFFER_SIZE (8 * MiB)
#define IOVA MOCK_APERTURE_START
/* The mock IOMMU's page size, and its huge one (MOCK_FLAGS_DEVICE_HUGE_IOVA) */
#define MOCK_IO_PAGE ((unsigned long)getpagesize() / 2)
#define MOCK_HUGE_PAGE (512 * MOCK_IO_PAGE)
/* Newer than the 6.12 test header, upstream's values */
#define MOCK_DEVICE_PASID 0x4
#define MOCK_PASID_LOG2 20

#define test_mock_domain(pt, stdev, hwpt) \
	ASSERT_EQ(0, _test_mock_domain(self->fd, pt, stdev, hwpt, NULL))

/* Pages pinned by this process's /dev/iommu files (user accounting) */
static long pinned_kb(void)
{
	return proc_status_kb("VmPin");
}

static void drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return;
	data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	syscall(SYS_capset, &hdr, data);
}

FIXTURE(mock)
{
	int fd;
	__u32 ioas_id;
	void *buffer;
	long vm_pin;
	long vm_lck;
};

FIXTURE_SETUP(mock)
{
	self->vm_pin = pinned_kb();
	self->vm_lck = proc_status_kb("VmLck");
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioas_alloc(&self->ioas_id);
	self->buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buffer);
	memset(self->buffer, 1, BUFFER_SIZE);
}

FIXTURE_TEARDOWN(mock)
{
	close(self->fd);
	EXPECT_EQ(self->vm_pin, pinned_kb());
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(mock, pinned_once_for_two_domains)
{
	__u32 stdev[2];

	test_mock_domain(self->ioas_id, &stdev[0], NULL);
	test_mock_domain(self->ioas_id, &stdev[1], NULL);
	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	EXPECT_EQ(self->vm_pin + (long)(BUFFER_SIZE / 1024), pinned_kb());
	test_unmap(self->ioas_id, IOVA, BUFFER_SIZE);
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

TEST_F(mock, pinned_while_a_domain_needs_it)
{
	__u32 stdev;

	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	EXPECT_EQ(self->vm_pin, pinned_kb());
	/* The first domain pins every area */
	test_mock_domain(self->ioas_id, &stdev, NULL);
	EXPECT_EQ(self->vm_pin + (long)(BUFFER_SIZE / 1024), pinned_kb());
	/* The last one going unpins them, the areas stay */
	test_destroy(stdev);
	EXPECT_EQ(self->vm_pin, pinned_kb());
	test_unmap(self->ioas_id, IOVA, BUFFER_SIZE);
}

TEST_F(mock, copy_shares_pinned_pages)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = MAP_RW,
		.src_iova = IOVA,
		.length = BUFFER_SIZE,
	};
	__u32 dst, stdev[2];

	test_ioas_alloc(&dst);
	test_mock_domain(self->ioas_id, &stdev[0], NULL);
	test_mock_domain(dst, &stdev[1], NULL);
	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	copy.src_ioas_id = self->ioas_id;
	copy.dst_ioas_id = dst;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_COPY, &copy));
	/* Mapped in two IOASes and two domains, pinned and charged once */
	EXPECT_EQ(self->vm_pin + (long)(BUFFER_SIZE / 1024), pinned_kb());
	test_unmap(self->ioas_id, IOVA, BUFFER_SIZE);
	/* The copy still needs them */
	EXPECT_EQ(self->vm_pin + (long)(BUFFER_SIZE / 1024), pinned_kb());
	test_unmap(dst, copy.dst_iova, BUFFER_SIZE);
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

TEST_F(mock, rlimit_memlock_enforced)
{
	struct rlimit limit = { 4 * MiB, 4 * MiB };
	__u64 iova = IOVA;
	__u32 stdev;

	drop_cap_ipc_lock();
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &limit));
	test_mock_domain(self->ioas_id, &stdev, NULL);
	/* Over the limit: refused, nothing pinned, nothing mapped */
	EXPECT_EQ(ENOMEM, _test_map(self->fd, self->ioas_id, self->buffer,
				    BUFFER_SIZE, &iova, MAP_FIXED_RW));
	EXPECT_EQ(self->vm_pin, pinned_kb());
	test_err_unmap(ENOENT, self->ioas_id, 0, UINT64_MAX - 1);
	/* Under it: fine */
	test_map_fixed(self->ioas_id, self->buffer, 2 * MiB, IOVA);
	EXPECT_EQ(self->vm_pin + 2048, pinned_kb());
	/* What goes over it with what is already pinned is refused */
	iova = IOVA + 4 * MiB;
	EXPECT_EQ(ENOMEM, _test_map(self->fd, self->ioas_id,
				    self->buffer + 2 * MiB, 2 * MiB + 4096,
				    &iova, MAP_FIXED_RW));
	EXPECT_EQ(self->vm_pin + 2048, pinned_kb());
	test_destroy(stdev);
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

TEST_F(mock, rlimit_limits_first_domain)
{
	struct rlimit limit = { 4 * MiB, 4 * MiB };
	__u32 stdev;

	drop_cap_ipc_lock();
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &limit));
	/* Without a domain nothing is pinned, so the limit does not apply */
	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	EXPECT_EQ(ENOMEM, _test_mock_domain(self->fd, self->ioas_id, &stdev,
					    NULL, NULL));
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

/*
 * A replace whose new automatic domain cannot mirror its IOAS (over
 * RLIMIT_MEMLOCK) fails with the device still on its old domain: the mock
 * device WARNs when it is detached from a domain it is not on.
 */
TEST_F(mock, failed_replace_keeps_the_old_domain)
{
	struct rlimit limit = { 4 * MiB, 4 * MiB };
	struct iommu_test_cmd replace = {
		.size = sizeof(replace),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	};
	__u32 stdev, dst;

	drop_cap_ipc_lock();
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &limit));
	test_mock_domain(self->ioas_id, &stdev, NULL);
	test_ioas_alloc(&dst);
	test_map_fixed(dst, self->buffer, BUFFER_SIZE, IOVA);
	replace.id = stdev;
	replace.mock_domain_replace.pt_id = dst;
	EXPECT_EQ(ENOMEM, ioctl_errno(self->fd, IOMMU_TEST_CMD, &replace));
	test_destroy(stdev);
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

TEST_F(mock, rlimit_mode_process)
{
	__u64 val = 1;
	int fd = open("/dev/iommu", O_RDWR);
	__u32 ioas, stdev;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, _test_option(fd, IOMMU_OPTION_RLIMIT_MODE,
				  IOMMU_OPTION_OP_SET, 0, &val));
	ASSERT_EQ(0, _test_ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, _test_mock_domain(fd, ioas, &stdev, NULL, NULL));
	val = IOVA;
	ASSERT_EQ(0, _test_map(fd, ioas, self->buffer, BUFFER_SIZE, &val,
			       MAP_FIXED_RW));
	/* Charged to the process's locked memory, as type1 does */
	EXPECT_EQ(self->vm_lck + (long)(BUFFER_SIZE / 1024),
		  proc_status_kb("VmLck"));
	EXPECT_EQ(self->vm_pin, pinned_kb());
	close(fd);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(mock, busy_objects_cannot_be_destroyed)
{
	__u32 stdev, hwpt;

	test_mock_domain(self->ioas_id, &stdev, &hwpt);
	test_map_fixed(self->ioas_id, self->buffer, MiB, IOVA);
	/* The HWPT uses the IOAS, the device uses the HWPT */
	test_err_destroy(EBUSY, self->ioas_id);
	test_err_destroy(EBUSY, hwpt);
	test_destroy(stdev);
	/* The automatic HWPT went with its last device */
	test_err_destroy(ENOENT, hwpt);
	test_destroy(self->ioas_id);
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

TEST_F(mock, mock_page_table_follows_the_ioas)
{
	struct iommu_test_cmd check = {
		.size = sizeof(check),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.check_map = {
			.iova = IOVA,
			.length = BUFFER_SIZE,
			.uptr = (uintptr_t)self->buffer,
		},
	};
	__u32 stdev, hwpt;

	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	test_mock_domain(self->ioas_id, &stdev, &hwpt);
	/* Filled on attach: every IOVA maps the buffer's page */
	check.id = hwpt;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_TEST_CMD, &check));
	test_unmap(self->ioas_id, IOVA, BUFFER_SIZE);
	EXPECT_NE(0, ioctl_errno(self->fd, IOMMU_TEST_CMD, &check));
}

/*
 * A huge page's PFNs are kept as runs.  Copying part of it and unmapping
 * the original splits the runs at the copy's ends: only the copy's pages
 * stay pinned, and its domain still maps them at the right PFNs.
 */
TEST_F(mock, huge_page_runs_split_on_partial_unpin)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = MAP_RW,
		.src_iova = IOVA + 10 * 4096,
		.length = 100 * 4096,
	};
	struct iommu_test_cmd check = {
		.size = sizeof(check),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.check_map = {
			.length = 100 * 4096,
		},
	};
	__u32 dst, stdev[2], hwpt[2];
	void *huge;

	huge = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB huge page");
	test_ioas_alloc(&dst);
	test_mock_domain(self->ioas_id, &stdev[0], &hwpt[0]);
	test_mock_domain(dst, &stdev[1], &hwpt[1]);
	test_map_fixed(self->ioas_id, huge, 2 * MiB, IOVA);
	EXPECT_EQ(self->vm_pin + 2048, pinned_kb());
	copy.src_ioas_id = self->ioas_id;
	copy.dst_ioas_id = dst;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_COPY, &copy));
	test_unmap(self->ioas_id, IOVA, 2 * MiB);
	EXPECT_EQ(self->vm_pin + 400, pinned_kb());
	check.id = hwpt[1];
	check.check_map.iova = copy.dst_iova;
	check.check_map.uptr = (uintptr_t)huge + 10 * 4096;
	EXPECT_EQ(0, ioctl_errno(self->fd, IOMMU_TEST_CMD, &check));
	test_unmap(dst, copy.dst_iova, 100 * 4096);
	EXPECT_EQ(self->vm_pin, pinned_kb());
	munmap(huge, 2 * MiB);
}

TEST_F(mock, access_pin_released_on_unmap)
{
	struct iommu_test_cmd create = {
		.size = sizeof(create),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = self->ioas_id,
		.create_access = {
			.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
		},
	};
	struct iommu_test_cmd pin = {
		.size = sizeof(pin),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = {
			.iova = IOVA + MiB,
			.length = MiB,
		},
	};

	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_TEST_CMD, &create));
	pin.id = create.create_access.out_access_fd;
	pin.access_pages.uptr = (uintptr_t)self->buffer + MiB;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_TEST_CMD, &pin));
	/* No domain: only what the access pinned */
	EXPECT_EQ(self->vm_pin + 1024, pinned_kb());
	/* The unmap asks the access to let go, then succeeds */
	test_unmap(self->ioas_id, IOVA, BUFFER_SIZE);
	EXPECT_EQ(self->vm_pin, pinned_kb());
	close(create.create_access.out_access_fd);
}

/* idev and stop are shared with the thread: __atomic builtins only */
struct hammer {
	int fd;
	__u32 idev;
	int stop;
	int calls;
};

static void *get_hw_info_loop(void *arg)
{
	struct hammer *h = arg;
	char data[64];

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		struct iommu_hw_info info = {
			.size = sizeof(info),
			.dev_id = __atomic_load_n(&h->idev, __ATOMIC_RELAXED),
			.data_len = sizeof(data),
			.data_uptr = (uintptr_t)data,
		};

		ioctl(h->fd, IOMMU_GET_HW_INFO, &info);
		h->calls++;
	}
	return NULL;
}

TEST_F(mock, destroy_device_while_in_use)
{
	struct hammer h = { .fd = self->fd };
	pthread_t thread;
	__u32 stdev, idev;
	int i;

	ASSERT_EQ(0, pthread_create(&thread, NULL, get_hw_info_loop, &h));
	for (i = 0; i != 1000; i++) {
		ASSERT_EQ(0, _test_mock_domain(self->fd, self->ioas_id, &stdev,
					       NULL, &idev));
		__atomic_store_n(&h.idev, idev, __ATOMIC_RELAXED);
		test_destroy(stdev);
		/* The device went with its owner, not later */
		test_err_destroy(ENOENT, idev);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_LT(0, h.calls);
	test_destroy(self->ioas_id);
}

struct come_and_go {
	int fd;
	__u32 ioas;
	int failed;
	int rounds;
};

/*
 * 2000 rounds, or as many as a third of the test's time limit allows (a
 * slow debug kernel) but at least 50.
 */
static void *come_and_go_loop(void *arg)
{
	struct come_and_go *c = arg;
	struct timespec start, now;
	__u32 stdev;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (c->rounds = 0; c->rounds != 2000 && !c->failed; c->rounds++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (c->rounds >= 50 &&
		    now.tv_sec - start.tv_sec >= TEST_TIMEOUT_DEFAULT / 3)
			break;
		if (_test_mock_domain(c->fd, c->ioas, &stdev, NULL, NULL) ||
		    _test_destroy(c->fd, stdev))
			c->failed = 1;
	}
	return NULL;
}

/*
 * Devices come and go on one IOAS from two threads: the automatic HWPT
 * that the last device leaves is destroyed, never taken by an attach in
 * the meantime (refcount_t "addition on 0" from an attach before).
 */
TEST_F(mock, devices_come_and_go_on_one_ioas)
{
	struct come_and_go c[2] = {
		{ .fd = self->fd, .ioas = self->ioas_id },
		{ .fd = self->fd, .ioas = self->ioas_id },
	};
	pthread_t thread;

	test_map_fixed(self->ioas_id, self->buffer, MiB, IOVA);
	ASSERT_EQ(0, pthread_create(&thread, NULL, come_and_go_loop, &c[0]));
	come_and_go_loop(&c[1]);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%d and %d rounds", c[0].rounds, c[1].rounds);
	EXPECT_EQ(0, c[0].failed);
	EXPECT_EQ(0, c[1].failed);
	test_unmap(self->ioas_id, IOVA, MiB);
	EXPECT_EQ(self->vm_pin, pinned_kb());
}

static int _test_mock_domain_flags(int fd, __u32 pt_id, __u32 flags,
				   __u32 *stdev, __u32 *hwpt, __u32 *idev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt_id,
		.mock_domain_flags = { .dev_flags = flags },
	};
	int rc = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (rc)
		return rc;
	*stdev = cmd.mock_domain_flags.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain_flags.out_idev_id;
	return 0;
}

static int _test_hwpt_alloc(int fd, __u32 idev, __u32 pt_id, __u32 flags,
			    __u32 *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = idev,
		.pt_id = pt_id,
	};
	int rc = ioctl_errno(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*hwpt = cmd.out_hwpt_id;
	return rc;
}

static int _test_set_dirty(int fd, __u32 hwpt, __u32 flags)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.hwpt_id = hwpt,
	};

	return ioctl_errno(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

#define test_set_dirty(hwpt, on)                                            \
	ASSERT_EQ(0, _test_set_dirty(self->fd, hwpt,                        \
				     (on) ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE \
					  : 0))

static int _test_get_dirty(int fd, __u32 hwpt, __u64 iova, __u64 length,
			   __u64 page_size, void *bitmap, __u32 flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)bitmap,
	};

	return ioctl_errno(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

#define test_get_dirty(hwpt, iova, length, page_size, bitmap, flags)      \
	ASSERT_EQ(0, _test_get_dirty(self->fd, hwpt, iova, length,        \
				     page_size, bitmap, flags))
#define test_err_get_dirty(e, hwpt, iova, length, page_size, flags)       \
	EXPECT_EQ(e, _test_get_dirty(self->fd, hwpt, iova, length,        \
				     page_size, self->bitmap, flags))

/*
 * The mock IOMMU's pages that map the IOVAs of the bits set in @bitmap (a
 * bit per @page_size from @iova) are written, as by a device; *nr counts
 * the bits whose IOVA is mapped.
 */
static int _test_mock_write(int fd, __u32 hwpt, __u64 iova, __u64 length,
			    __u64 page_size, void *bitmap, __u64 *nr)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt,
		.dirty = {
			.iova = iova,
			.length = length,
			.page_size = page_size,
			.uptr = (uintptr_t)bitmap,
		},
	};
	int rc = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static int _test_hw_info(int fd, __u32 idev, __u64 *caps, __u8 *pasid_log2)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = idev,
	};
	int rc = ioctl_errno(fd, IOMMU_GET_HW_INFO, &cmd);

	if (!rc) {
		*caps = cmd.out_capabilities;
		*pasid_log2 = cmd.out_max_pasid_log2;
	}
	return rc;
}

/* Bitmaps of u64 words at any byte address, as the uAPI has them */
static __u64 word_at(const void *bitmap, unsigned long i)
{
	__u64 w;

	memcpy(&w, (const char *)bitmap + i * sizeof(w), sizeof(w));
	return w;
}

static int bit_at(const void *bitmap, unsigned long bit)
{
	return (word_at(bitmap, bit / 64) >> (bit % 64)) & 1;
}

static void set_bit_at(void *bitmap, unsigned long bit)
{
	__u64 w = word_at(bitmap, bit / 64) | 1ULL << (bit % 64);

	memcpy((char *)bitmap + bit / 64 * sizeof(w), &w, sizeof(w));
}

static unsigned long count_bits(const void *bitmap, unsigned long nbits)
{
	unsigned long bit, n = 0;

	for (bit = 0; bit != nbits; bit++)
		n += bit_at(bitmap, bit);
	return n;
}

/* Bits [first, first + n) are set, no other of the nbits */
static int only_bits(const void *bitmap, unsigned long nbits,
		     unsigned long first, unsigned long n)
{
	unsigned long bit;

	for (bit = 0; bit != nbits; bit++)
		if (bit_at(bitmap, bit) != (bit >= first && bit < first + n))
			return 0;
	return 1;
}

/* The most bits a test's bitmap holds, and a guard page around them */
#define DIRTY_BITMAP_BYTES (BUFFER_SIZE / 64 / 8 + 64)
#define GUARD 4096

/*
 * A mock device on an IOAS with the buffer mapped at IOVA, and a HWPT that
 * tracks dirty pages over that IOAS, tracking on.  The device's automatic
 * HWPT does not track dirty pages.
 */
FIXTURE(dirty)
{
	int fd;
	__u32 ioas_id;
	__u32 stdev;
	__u32 idev;
	__u32 auto_hwpt;
	__u32 hwpt;
	void *buffer;
	unsigned char *mem;
	void *bitmap;
	unsigned long nbits;
};

FIXTURE_SETUP(dirty)
{
	__u8 pasid_log2;
	__u64 caps;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioas_alloc(&self->ioas_id);
	self->buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buffer);
	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
	ASSERT_EQ(0, _test_mock_domain(self->fd, self->ioas_id, &self->stdev,
				       &self->auto_hwpt, &self->idev));
	/* Kernels before 6.7 have no IOMMU dirty tracking: HWPTs refuse it */
	ASSERT_EQ(0, _test_hw_info(self->fd, self->idev, &caps, &pasid_log2));
	if (!(caps & IOMMU_HW_CAP_DIRTY_TRACKING)) {
		ASSERT_EQ(EOPNOTSUPP,
			  _test_hwpt_alloc(self->fd, self->idev, self->ioas_id,
					   IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					   &self->hwpt));
		SKIP(return, "no IOMMU dirty tracking in this kernel");
	}
	ASSERT_EQ(0, _test_hwpt_alloc(self->fd, self->idev, self->ioas_id,
				      IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				      &self->hwpt));
	test_set_dirty(self->hwpt, true);
	/* The bitmap, with guard bytes before and after */
	self->mem = malloc(DIRTY_BITMAP_BYTES + 2 * GUARD);
	ASSERT_NE(NULL, self->mem);
	memset(self->mem, 0xa5, DIRTY_BITMAP_BYTES + 2 * GUARD);
	self->bitmap = self->mem + GUARD;
	self->nbits = BUFFER_SIZE / MOCK_IO_PAGE;
	memset(self->bitmap, 0, self->nbits / 8);
}

FIXTURE_TEARDOWN(dirty)
{
	close(self->fd);
	munmap(self->buffer, BUFFER_SIZE);
	free(self->mem);
}

/* Write the mock IO pages at these offsets of the buffer */
static int write_pages(int fd, __u32 hwpt, const unsigned long *offsets,
		       int n)
{
	/* A bit per IO page; they are 2 KiB or larger */
	__u64 marks[BUFFER_SIZE / 2048 / 64] = {};
	__u64 nr = 0;
	int i, rc;

	for (i = 0; i != n; i++)
		set_bit_at(marks, offsets[i] / MOCK_IO_PAGE);
	rc = _test_mock_write(fd, hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
			      marks, &nr);
	if (!rc && nr != (__u64)n)
		rc = EIO;
	return rc;
}

#define test_write_pages(...)                                               \
	({                                                                  \
		unsigned long __offs[] = { __VA_ARGS__ };                   \
		ASSERT_EQ(0, write_pages(self->fd, self->hwpt, __offs,      \
					 ARRAY_SIZE(__offs)));              \
	})

/* The guard bytes around the bitmap are as the fixture set them */
static int guards_intact(const unsigned char *mem, size_t used)
{
	size_t i;

	for (i = 0; i != GUARD; i++)
		if (mem[i] != 0xa5 || mem[GUARD + used + i] != 0xa5)
			return 0;
	return 1;
}

TEST_F(dirty, written_page_shows_once)
{
	test_write_pages(3 * MOCK_IO_PAGE);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
		       self->bitmap, 0);
	EXPECT_TRUE(only_bits(self->bitmap, self->nbits, 3, 1));
	/* Read and cleared: the next read finds nothing */
	memset(self->bitmap, 0, self->nbits / 8);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
		       self->bitmap, 0);
	EXPECT_EQ(0, count_bits(self->bitmap, self->nbits));
	EXPECT_TRUE(guards_intact(self->mem, self->nbits / 8));
}

TEST_F(dirty, no_clear_keeps_the_dirty_bit)
{
	unsigned long last = BUFFER_SIZE - MOCK_IO_PAGE;
	int i;

	test_write_pages(5 * MOCK_IO_PAGE, last);
	for (i = 0; i != 2; i++) {
		memset(self->bitmap, 0, self->nbits / 8);
		test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
			       self->bitmap,
			       IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
		EXPECT_EQ(2, count_bits(self->bitmap, self->nbits));
		EXPECT_EQ(1, bit_at(self->bitmap, 5));
		EXPECT_EQ(1, bit_at(self->bitmap, last / MOCK_IO_PAGE));
	}
	/* A clearing read still sees them, the one after it does not */
	memset(self->bitmap, 0, self->nbits / 8);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
		       self->bitmap, 0);
	EXPECT_EQ(2, count_bits(self->bitmap, self->nbits));
	memset(self->bitmap, 0, self->nbits / 8);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
		       self->bitmap, 0);
	EXPECT_EQ(0, count_bits(self->bitmap, self->nbits));
}

TEST_F(dirty, clean_pages_keep_the_users_bits)
{
	unsigned long i;

	memset(self->bitmap, 0x55, self->nbits / 8);
	test_write_pages(MOCK_IO_PAGE, 67 * MOCK_IO_PAGE);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
		       self->bitmap, 0);
	EXPECT_EQ(0x5555555555555557ULL, word_at(self->bitmap, 0));
	EXPECT_EQ(0x555555555555555dULL, word_at(self->bitmap, 1));
	for (i = 2; i != self->nbits / 64; i++)
		ASSERT_EQ(0x5555555555555555ULL, word_at(self->bitmap, i));
	EXPECT_TRUE(guards_intact(self->mem, self->nbits / 8));
}

/*
 * Bits smaller than the IOMMU's pages, more than a window (a page of words)
 * of them, and a bitmap at an odd address: each dirty IO page sets all its
 * bits, on either side of the windows' ends.
 */
TEST_F(dirty, small_bits_across_windows)
{
	unsigned long page_size = 64, nbits = BUFFER_SIZE / page_size;
	unsigned long per_page = MOCK_IO_PAGE / page_size;
	unsigned long window = getpagesize() / 8 * 64 * page_size;
	unsigned long offs[] = { window - MOCK_IO_PAGE, window,
				 BUFFER_SIZE - MOCK_IO_PAGE };
	unsigned char *bitmap = (unsigned char *)self->bitmap + 3;
	unsigned long i, bit;

	ASSERT_GE(DIRTY_BITMAP_BYTES, nbits / 8 + 3);
	memset(self->bitmap, 0xee, 3);
	memset(bitmap, 0, nbits / 8);
	test_write_pages(offs[0], offs[1], offs[2]);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, page_size, bitmap, 0);
	EXPECT_EQ(3 * per_page, count_bits(bitmap, nbits));
	for (i = 0; i != 3; i++)
		for (bit = 0; bit != per_page; bit++)
			ASSERT_EQ(1, bit_at(bitmap, offs[i] / page_size + bit));
	/* Nothing written before the bitmap or after its last word */
	EXPECT_EQ(0, memcmp(self->bitmap, "\xee\xee\xee", 3));
	EXPECT_TRUE(guards_intact(self->mem, nbits / 8 + 3));
}

TEST_F(dirty, enabling_clears_older_dirt)
{
	test_write_pages(7 * MOCK_IO_PAGE);
	test_set_dirty(self->hwpt, false);
	/* Not tracking: no reading */
	test_err_get_dirty(EINVAL, self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
			   0);
	EXPECT_EQ(EINVAL, _test_mock_write(self->fd, self->hwpt, IOVA,
					   BUFFER_SIZE, MOCK_IO_PAGE,
					   self->bitmap, NULL));
	test_set_dirty(self->hwpt, true);
	test_get_dirty(self->hwpt, IOVA, BUFFER_SIZE, MOCK_IO_PAGE,
		       self->bitmap, 0);
	EXPECT_EQ(0, count_bits(self->bitmap, self->nbits));
}

TEST_F(dirty, bad_requests)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = self->hwpt,
		.iova = IOVA,
		.length = BUFFER_SIZE,
		.page_size = MOCK_IO_PAGE,
		.data = (uintptr_t)self->bitmap,
	};
	unsigned long p = MOCK_IO_PAGE;

	/* Page sizes: none, not a power of two, larger than the range */
	test_err_get_dirty(EINVAL, self->hwpt, IOVA, BUFFER_SIZE, 0, 0);
	test_err_get_dirty(EINVAL, self->hwpt, IOVA, BUFFER_SIZE, 3 * p, 0);
	test_err_get_dirty(EINVAL, self->hwpt, IOVA, BUFFER_SIZE,
			   2 * BUFFER_SIZE, 0);
	/* A range not aligned to the page size or to the IOMMU's pages */
	test_err_get_dirty(EINVAL, self->hwpt, IOVA + p, 2 * p, 2 * p, 0);
	test_err_get_dirty(EINVAL, self->hwpt, IOVA + 64, p, 64, 0);
	/* Empty, wrapping, or not all mapped */
	test_err_get_dirty(EINVAL, self->hwpt, IOVA, 0, p, 0);
	test_err_get_dirty(EOVERFLOW, self->hwpt, -2 * p, 4 * p, p, 0);
	test_err_get_dirty(EINVAL, self->hwpt, IOVA, 2 * BUFFER_SIZE, p, 0);
	test_err_get_dirty(EINVAL, self->hwpt, IOVA - p, 2 * p, p, 0);
	/* Unknown flags, reserved field, no bitmap */
	test_err_get_dirty(EOPNOTSUPP, self->hwpt, IOVA, BUFFER_SIZE, p, 2);
	cmd.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP,
		  ioctl_errno(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd));
	EXPECT_EQ(EFAULT, _test_get_dirty(self->fd, self->hwpt, IOVA,
					  BUFFER_SIZE, p, NULL, 0));
	/* Not a HWPT, or one that does not track dirty pages */
	test_err_get_dirty(ENOENT, self->ioas_id, IOVA, BUFFER_SIZE, p, 0);
	test_err_get_dirty(EOPNOTSUPP, self->auto_hwpt, IOVA, BUFFER_SIZE, p,
			   0);
	EXPECT_EQ(EOPNOTSUPP, _test_set_dirty(self->fd, self->auto_hwpt,
					      IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
	EXPECT_EQ(EOPNOTSUPP, _test_set_dirty(self->fd, self->hwpt, 2));
	EXPECT_EQ(ENOENT, _test_set_dirty(self->fd, self->ioas_id, 0));
	/* The mock's own check: a whole bitmap to write */
	EXPECT_EQ(EINVAL, _test_mock_write(self->fd, self->hwpt, IOVA,
					   BUFFER_SIZE, 0, self->bitmap,
					   NULL));
}

TEST_F(dirty, devices_without_dirty_tracking)
{
	__u32 stdev, idev, hwpt, other, pasid_stdev, pasid_idev;
	__u8 pasid_log2;
	__u64 caps;

	ASSERT_EQ(0, _test_hw_info(self->fd, self->idev, &caps, &pasid_log2));
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, caps);
	EXPECT_EQ(0, pasid_log2);

	ASSERT_EQ(0, _test_mock_domain_flags(self->fd, self->ioas_id,
					     MOCK_FLAGS_DEVICE_NO_DIRTY,
					     &stdev, NULL, &idev));
	ASSERT_EQ(0, _test_hw_info(self->fd, idev, &caps, &pasid_log2));
	EXPECT_EQ(0, caps);
	/* It cannot have a HWPT that tracks, nor use one */
	EXPECT_EQ(EOPNOTSUPP,
		  _test_hwpt_alloc(self->fd, idev, self->ioas_id,
				   IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt));
	EXPECT_EQ(EINVAL,
		  _test_mock_domain_flags(self->fd, self->hwpt,
					  MOCK_FLAGS_DEVICE_NO_DIRTY, &other,
					  NULL, NULL));
	/* A device with PASIDs tells their width */
	ASSERT_EQ(0, _test_mock_domain_flags(self->fd, self->ioas_id,
					     MOCK_DEVICE_PASID,
					     &pasid_stdev, NULL, &pasid_idev));
	ASSERT_EQ(0, _test_hw_info(self->fd, pasid_idev, &caps, &pasid_log2));
	EXPECT_EQ(MOCK_PASID_LOG2, pasid_log2);
	test_destroy(pasid_stdev);
	test_destroy(stdev);
}

/*
 * A dirty huge IOMMU page (1 MiB) read with bits so small that it spans
 * several windows of the kernel's bitmap writer: all its bits are set, in
 * every window, and it is reported once.
 */
TEST_F(dirty, huge_page_across_windows)
{
	unsigned long page_size = 16, size = 2 * MiB;
	unsigned long nbits = size / page_size;
	__u32 ioas, stdev, idev, hwpt;
	void *huge;

	huge = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB huge page");
	ASSERT_GE(DIRTY_BITMAP_BYTES, nbits / 8);
	test_ioas_alloc(&ioas);
	test_map_fixed(ioas, huge, size, IOVA);
	ASSERT_EQ(0, _test_mock_domain_flags(self->fd, ioas,
					     MOCK_FLAGS_DEVICE_HUGE_IOVA,
					     &stdev, NULL, &idev));
	ASSERT_EQ(0, _test_hwpt_alloc(self->fd, idev, ioas,
				      IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt));
	test_set_dirty(hwpt, true);

	/* One IO page of the second huge page is written */
	memset(self->bitmap, 0, nbits / 8);
	set_bit_at(self->bitmap, (MOCK_HUGE_PAGE + 100 * MOCK_IO_PAGE) /
				 MOCK_IO_PAGE);
	ASSERT_EQ(0, _test_mock_write(self->fd, hwpt, IOVA, size,
				      MOCK_IO_PAGE, self->bitmap, NULL));

	memset(self->bitmap, 0, nbits / 8);
	test_get_dirty(hwpt, IOVA, size, page_size, self->bitmap, 0);
	EXPECT_TRUE(only_bits(self->bitmap, nbits,
			      MOCK_HUGE_PAGE / page_size,
			      MOCK_HUGE_PAGE / page_size));
	memset(self->bitmap, 0, nbits / 8);
	test_get_dirty(hwpt, IOVA, size, page_size, self->bitmap, 0);
	EXPECT_EQ(0, count_bits(self->bitmap, nbits));

	test_destroy(hwpt);
	test_destroy(stdev);
	test_unmap(ioas, IOVA, size);
	munmap(huge, size);
}

/* Shared with the thread: __atomic builtins only */
struct dirty_reader {
	int fd;
	__u32 hwpt;
	void *bitmap;
	int stop;
	int reads;
};

static void *dirty_read_loop(void *arg)
{
	struct dirty_reader *r = arg;
	__u64 all = ~0ULL;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		/* Write the first 64 IO pages, if mapped, and read them */
		_test_mock_write(r->fd, r->hwpt, IOVA, 64 * MOCK_IO_PAGE,
				 MOCK_IO_PAGE, &all, NULL);
		if (!_test_get_dirty(r->fd, r->hwpt, IOVA, BUFFER_SIZE,
				     MOCK_IO_PAGE, r->bitmap, 0))
			r->reads++;
	}
	return NULL;
}

/*
 * Unmapping while another thread dirties and reads: no harm done.  200
 * rounds, or as many as a quarter of the test's time limit allows (a slow
 * debug kernel) but at least 2.
 */
TEST_F(dirty, read_while_unmapping)
{
	struct dirty_reader r = {
		.fd = self->fd,
		.hwpt = self->hwpt,
		.bitmap = self->bitmap,
	};
	struct timespec start, now;
	pthread_t thread;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	ASSERT_EQ(0, pthread_create(&thread, NULL, dirty_read_loop, &r));
	for (i = 0; i != 200; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (i >= 2 && now.tv_sec - start.tv_sec >= TEST_TIMEOUT_DEFAULT / 4)
			break;
		test_unmap(self->ioas_id, IOVA, BUFFER_SIZE);
		test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA);
		usleep(1000);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	TH_LOG("%d rounds, %d reads", i, r.reads);
	EXPECT_LT(0, r.reads);
}

TEST_HARNESS_MAIN
