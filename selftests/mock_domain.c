// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning, accounting and object lifetimes with the test build's mock
 * IOMMU: pages are pinned and charged once however many domains and IOASes
 * map them, only while a domain or an access needs them; RLIMIT_MEMLOCK is
 * enforced and a refused map leaves nothing pinned; busy objects cannot be
 * destroyed; an access pin is let go on unmap; destroying mock devices
 * while another thread uses them is safe.  Needs the test variant loaded
 * (selftests/with-module build/test/iommufd.ko).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "lib/iommufd_utils.h"
#include "drivers/iommu/iommufd/iommufd_test.h"

#define MiB (1024UL * 1024)
#define BUFFER_SIZE (8 * MiB)
#define IOVA MOCK_APERTURE_START

static int _test_mock_domain(int fd, __u32 pt_id, __u32 *stdev, __u32 *hwpt,
			     __u32 *idev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int rc = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (rc)
		return rc;
	*stdev = cmd.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain.out_idev_id;
	return 0;
}

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

TEST_HARNESS_MAIN
