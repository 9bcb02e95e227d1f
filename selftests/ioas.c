// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAS ioctls of /dev/iommu with no domain attached: allocation and
 * destruction, struct size rules, map/unmap/copy and their errnos, IOVA
 * ranges, allowed ranges, options and the VFIO IOAS, and map/unmap from
 * two threads.  Every test ends with the process's pinned and locked
 * memory where it started.  Needs the module loaded
 * (selftests/with-module).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/iommufd_utils.h"

#define MiB (1024UL * 1024)
#define BUFFER_SIZE (16 * MiB)
#define IOVA_BASE 0x100000000UL

FIXTURE(ioas)
{
	int fd;
	__u32 ioas_id;
	void *buffer;
	long vm_pin;
	long vm_lck;
};

FIXTURE_SETUP(ioas)
{
	self->vm_pin = proc_status_kb("VmPin");
	self->vm_lck = proc_status_kb("VmLck");
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	test_ioas_alloc(&self->ioas_id);
	/* 2 MiB aligned, so that kernel-chosen IOVAs can be too */
	self->buffer = mmap(NULL, BUFFER_SIZE + 2 * MiB, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buffer);
	self->buffer = (void *)(((uintptr_t)self->buffer + 2 * MiB - 1) &
				~(2 * MiB - 1));
	memset(self->buffer, 0x5a, BUFFER_SIZE);
}

FIXTURE_TEARDOWN(ioas)
{
	close(self->fd);
	/* Everything the file held is released with it */
	EXPECT_EQ(self->vm_pin, proc_status_kb("VmPin"));
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(ioas, alloc_destroy)
{
	__u32 second;

	test_ioas_alloc(&second);
	EXPECT_NE(self->ioas_id, second);
	test_destroy(second);
	test_err_destroy(ENOENT, second);
	test_err_destroy(ENOENT, 0);
	test_err_destroy(ENOENT, 12345);
}

TEST_F(ioas, alloc_rejects_flags)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_IOAS_ALLOC, &cmd));
}

TEST_F(ioas, struct_size_rules)
{
	struct {
		struct iommu_ioas_alloc cmd;
		__u64 tail;
	} big = { .cmd = { .size = sizeof(big) } };
	struct iommu_destroy destroy = { .size = 4 };

	/* Shorter than the first version */
	EXPECT_EQ(EINVAL, ioctl_errno(self->fd, IOMMU_DESTROY, &destroy));
	/* Longer, with a zero tail: a newer struct the kernel accepts */
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_ALLOC, &big));
	test_destroy(big.cmd.out_ioas_id);
	/* Longer, with something in the tail */
	big.tail = 1;
	EXPECT_EQ(E2BIG, ioctl_errno(self->fd, IOMMU_IOAS_ALLOC, &big));
	/* No struct at all */
	EXPECT_EQ(EFAULT, ioctl_errno(self->fd, IOMMU_IOAS_ALLOC, NULL));
}

TEST_F(ioas, map_unmap_fixed)
{
	__u64 unmapped;

	test_map_fixed(self->ioas_id, self->buffer, 4 * MiB, IOVA_BASE);
	/* Any overlap is refused */
	test_err_map_fixed(EEXIST, self->ioas_id, self->buffer, 4 * MiB,
			   IOVA_BASE + 2 * MiB);
	test_err_map_fixed(EEXIST, self->ioas_id, self->buffer, 4096,
			   IOVA_BASE + 4 * MiB - 4096);
	/* Next to it is fine */
	test_map_fixed(self->ioas_id, self->buffer, 4096, IOVA_BASE + 4 * MiB);
	/* Unmapping part of an area is refused, and unmaps nothing */
	test_err_unmap(ENOENT, self->ioas_id, IOVA_BASE, 2 * MiB);
	test_err_unmap(ENOENT, self->ioas_id, IOVA_BASE + 4096, 4 * MiB);
	/* A range covering both areas whole unmaps both */
	ASSERT_EQ(0, _test_unmap(self->fd, self->ioas_id, IOVA_BASE - 4096,
				 8 * MiB, &unmapped));
	EXPECT_EQ(4 * MiB + 4096, unmapped);
	test_err_unmap(ENOENT, self->ioas_id, IOVA_BASE, 4 * MiB);
}

TEST_F(ioas, map_bad_input)
{
	__u64 iova = IOVA_BASE;
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = MAP_FIXED_RW,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)self->buffer,
		.length = 4096,
		.iova = IOVA_BASE,
	};

	/* Neither readable nor writeable */
	EXPECT_EQ(EINVAL, _test_map(self->fd, self->ioas_id, self->buffer,
				    4096, &iova, IOMMU_IOAS_MAP_FIXED_IOVA));
	/* Unknown flag, reserved field */
	cmd.flags |= 1 << 7;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = MAP_FIXED_RW;
	cmd.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.__reserved = 0;
	/* Zero length, wrapping IOVA, wrapping user address */
	cmd.length = 0;
	EXPECT_EQ(EINVAL, ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.length = 2 * 4096;
	cmd.iova = -4096UL;
	EXPECT_EQ(EOVERFLOW, ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.iova = IOVA_BASE;
	cmd.user_va = -4096UL;
	EXPECT_EQ(EOVERFLOW, ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd));
	/* No such IOAS */
	cmd.user_va = (uintptr_t)self->buffer;
	cmd.ioas_id = self->ioas_id + 100;
	EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_IOAS_MAP, &cmd));
	/* Nothing was mapped by any of these */
	test_err_unmap(ENOENT, self->ioas_id, 0, IOVA_BASE * 2);
}

TEST_F(ioas, map_chooses_aligned_iova)
{
	__u64 iova = 0;

	ASSERT_EQ(0, _test_map(self->fd, self->ioas_id, self->buffer, 2 * MiB,
			       &iova, MAP_RW));
	/* The buffer is 2 MiB aligned, so is the chosen IOVA */
	EXPECT_EQ(0, iova % (2 * MiB));
	test_unmap(self->ioas_id, iova, 2 * MiB);
	/* An unaligned buffer keeps its offset inside the page */
	iova = 0;
	ASSERT_EQ(0, _test_map(self->fd, self->ioas_id, self->buffer + 4096,
			       8192, &iova, MAP_RW));
	EXPECT_EQ(0, iova % 4096);
	EXPECT_NE(0, iova);
	test_unmap(self->ioas_id, iova, 8192);
}

TEST_F(ioas, iova_ranges)
{
	struct iommu_iova_range ranges[2];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 0,
		.allowed_iovas = (uintptr_t)ranges,
	};

	/* Too short an array: the count needed, -EMSGSIZE */
	EXPECT_EQ(EMSGSIZE, ioctl_errno(self->fd, IOMMU_IOAS_IOVA_RANGES,
					&cmd));
	EXPECT_EQ(1, cmd.num_iovas);
	cmd.num_iovas = 2;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	ASSERT_EQ(1, cmd.num_iovas);
	/* No domain: nothing is reserved */
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(UINT64_MAX, ranges[0].last);
	EXPECT_EQ(1, cmd.out_iova_alignment);
}

TEST_F(ioas, allow_iovas)
{
	struct iommu_iova_range ranges[2] = {
		{ .start = IOVA_BASE, .last = IOVA_BASE + 8 * MiB - 1 },
		{ .start = IOVA_BASE + 4 * MiB, .last = IOVA_BASE + 16 * MiB },
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 2,
		.allowed_iovas = (uintptr_t)ranges,
	};
	__u64 iova = 0;

	/* Overlapping ranges, an empty range */
	EXPECT_EQ(EINVAL, ioctl_errno(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	ranges[1].start = ranges[1].last;
	EXPECT_EQ(EINVAL, ioctl_errno(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.num_iovas = 1;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));

	/* Chosen IOVAs fall inside; fixed ones outside are refused */
	ASSERT_EQ(0, _test_map(self->fd, self->ioas_id, self->buffer, 4 * MiB,
			       &iova, MAP_RW));
	EXPECT_LE(IOVA_BASE, iova);
	EXPECT_GE(IOVA_BASE + 8 * MiB - 4 * MiB, iova);
	test_err_map_fixed(EINVAL, self->ioas_id, self->buffer, 4096,
			   IOVA_BASE + 8 * MiB);
	test_err_map_fixed(EINVAL, self->ioas_id, self->buffer, 8192,
			   IOVA_BASE + 8 * MiB - 4096);
	/* Allowed ranges that leave an area out are refused */
	ranges[0].start = IOVA_BASE + 16 * MiB;
	ranges[0].last = IOVA_BASE + 32 * MiB;
	EXPECT_EQ(EADDRINUSE, ioctl_errno(self->fd, IOMMU_IOAS_ALLOW_IOVAS,
					  &cmd));
	test_unmap(self->ioas_id, iova, 4 * MiB);
	/* An empty list allows everything again */
	cmd.num_iovas = 0;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	test_map_fixed(self->ioas_id, self->buffer, 4096, 4096);
}

TEST_F(ioas, copy_between_ioas)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = MAP_RW,
		.src_iova = IOVA_BASE,
		.length = 4 * MiB,
	};
	__u32 dst;

	test_ioas_alloc(&dst);
	test_map_fixed(self->ioas_id, self->buffer, 8 * MiB, IOVA_BASE);
	cmd.src_ioas_id = self->ioas_id;
	cmd.dst_ioas_id = dst;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_IOAS_COPY, &cmd));
	EXPECT_NE(0, cmd.dst_iova);
	/* The copy outlives the source mapping */
	test_unmap(self->ioas_id, IOVA_BASE, 8 * MiB);
	test_unmap(dst, cmd.dst_iova, 4 * MiB);

	/* Copying what is not mapped */
	EXPECT_EQ(ENOENT, ioctl_errno(self->fd, IOMMU_IOAS_COPY, &cmd));
	/* A copy at a fixed, taken IOVA */
	test_map_fixed(self->ioas_id, self->buffer, 8 * MiB, IOVA_BASE);
	cmd.flags = MAP_FIXED_RW;
	cmd.dst_ioas_id = self->ioas_id;
	cmd.dst_iova = IOVA_BASE + 4 * MiB;
	EXPECT_EQ(EEXIST, ioctl_errno(self->fd, IOMMU_IOAS_COPY, &cmd));
	test_destroy(dst);
}

TEST_F(ioas, unmap_all)
{
	__u64 unmapped;
	int i;

	for (i = 0; i != 3; i++)
		test_map_fixed(self->ioas_id, self->buffer, MiB,
			       IOVA_BASE + i * 4 * MiB);
	ASSERT_EQ(0, _test_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				 &unmapped));
	EXPECT_EQ(3 * MiB, unmapped);
	/* Unmap all of nothing succeeds */
	ASSERT_EQ(0, _test_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				 &unmapped));
	EXPECT_EQ(0, unmapped);
}

TEST_F(ioas, no_pin_without_domain)
{
	long before = proc_status_kb("VmPin");

	test_map_fixed(self->ioas_id, self->buffer, BUFFER_SIZE, IOVA_BASE);
	/* Pages are pinned only when a domain or an access needs them */
	EXPECT_EQ(before, proc_status_kb("VmPin"));
	test_unmap(self->ioas_id, IOVA_BASE, BUFFER_SIZE);
}

TEST_F(ioas, option_rlimit_mode)
{
	__u64 val = 0;
	int fd;

	ASSERT_EQ(0, _test_option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				  IOMMU_OPTION_OP_GET, 0, &val));
	EXPECT_EQ(0, val);
	/* Only on a file with no objects */
	val = 1;
	EXPECT_EQ(EBUSY, _test_option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				      IOMMU_OPTION_OP_SET, 0, &val));
	/* Not on an object */
	EXPECT_EQ(EOPNOTSUPP, _test_option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
					   IOMMU_OPTION_OP_SET, self->ioas_id,
					   &val));
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	val = 2;
	EXPECT_EQ(EINVAL, _test_option(fd, IOMMU_OPTION_RLIMIT_MODE,
				       IOMMU_OPTION_OP_SET, 0, &val));
	val = 1;
	ASSERT_EQ(0, _test_option(fd, IOMMU_OPTION_RLIMIT_MODE,
				  IOMMU_OPTION_OP_SET, 0, &val));
	val = 0;
	ASSERT_EQ(0, _test_option(fd, IOMMU_OPTION_RLIMIT_MODE,
				  IOMMU_OPTION_OP_GET, 0, &val));
	EXPECT_EQ(1, val);
	close(fd);
}

TEST_F(ioas, option_huge_pages)
{
	__u64 val = 0;

	ASSERT_EQ(0, _test_option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_GET, self->ioas_id, &val));
	EXPECT_EQ(1, val);
	val = 0;
	ASSERT_EQ(0, _test_option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_SET, self->ioas_id, &val));
	val = 1;
	ASSERT_EQ(0, _test_option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_GET, self->ioas_id, &val));
	EXPECT_EQ(0, val);
	/* Large pages off: areas must be PAGE_SIZE aligned */
	test_err_map_fixed(EINVAL, self->ioas_id, self->buffer, 100, IOVA_BASE);
	val = 2;
	EXPECT_EQ(EINVAL, _test_option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				       IOMMU_OPTION_OP_SET, self->ioas_id,
				       &val));
	/* Unknown option, not an IOAS */
	EXPECT_EQ(EOPNOTSUPP, _test_option(self->fd, 99, IOMMU_OPTION_OP_GET,
					   self->ioas_id, &val));
	EXPECT_EQ(ENOENT, _test_option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				       IOMMU_OPTION_OP_GET, 999, &val));
}

TEST_F(ioas, vfio_ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
	};

	EXPECT_EQ(ENODEV, ioctl_errno(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = IOMMU_VFIO_IOAS_SET;
	cmd.ioas_id = self->ioas_id;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = IOMMU_VFIO_IOAS_GET;
	cmd.ioas_id = 0;
	ASSERT_EQ(0, ioctl_errno(self->fd, IOMMU_VFIO_IOAS, &cmd));
	EXPECT_EQ(self->ioas_id, cmd.ioas_id);
	/* Destroying the IOAS clears it */
	test_destroy(self->ioas_id);
	EXPECT_EQ(ENODEV, ioctl_errno(self->fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = 7;
	EXPECT_EQ(EOPNOTSUPP, ioctl_errno(self->fd, IOMMU_VFIO_IOAS, &cmd));
}

struct map_thread {
	int fd;
	__u32 ioas_id;
	void *buffer;
	__u64 iova;
	int failures;
};

static void *map_unmap_loop(void *arg)
{
	struct map_thread *t = arg;
	int i;

	for (i = 0; i != 2000; i++) {
		__u64 iova = t->iova;
		__u64 unmapped = 0;

		if (_test_map(t->fd, t->ioas_id, t->buffer, 64 * 1024, &iova,
			      MAP_FIXED_RW) ||
		    _test_unmap(t->fd, t->ioas_id, iova, 64 * 1024, &unmapped) ||
		    unmapped != 64 * 1024)
			t->failures++;
	}
	return NULL;
}

TEST_F(ioas, map_unmap_two_threads)
{
	struct map_thread t[2];
	pthread_t threads[2];
	__u64 unmapped;
	int i;

	for (i = 0; i != 2; i++) {
		t[i] = (struct map_thread){
			.fd = self->fd,
			.ioas_id = self->ioas_id,
			.buffer = self->buffer + i * MiB,
			.iova = IOVA_BASE + i * MiB,
		};
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, map_unmap_loop,
					    &t[i]));
	}
	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
		EXPECT_EQ(0, t[i].failures);
	}
	/* Nothing is left behind */
	ASSERT_EQ(0, _test_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				 &unmapped));
	EXPECT_EQ(0, unmapped);
}

TEST_HARNESS_MAIN
