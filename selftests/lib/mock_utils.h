/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the selftests that drive the test build's mock IOMMU through
 * IOMMU_TEST_CMD (the test ABI of the kernel's iommufd_test.h), in the
 * threes of lib/iommufd_utils.h.
 */
#ifndef SELFTESTS_MOCK_UTILS_H
#define SELFTESTS_MOCK_UTILS_H

#include "iommufd_utils.h"
#include "drivers/iommu/iommufd/iommufd_test.h"

/* A mock device attached to @pt_id (IOAS or HWPT); its ids out */
static inline int _test_mock_domain(int fd, __u32 pt_id, __u32 *stdev, __u32 *hwpt,
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

/* CREATE_ACCESS: an in-kernel access to @ioas_id, as a new file descriptor */
static inline int _test_create_access(int fd, __u32 ioas_id, __u32 flags,
				      int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas_id,
		.create_access = { .flags = flags },
	};
	int rc = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (!rc)
		*access_fd = cmd.create_access.out_access_fd;
	return rc;
}

#define test_create_access(ioas_id, flags, access_fd)                       \
	ASSERT_EQ(0, _test_create_access(self->fd, ioas_id, flags, access_fd))

/*
 * ACCESS_PAGES: pin [iova, iova + length) through an access; the pin's id
 * out.  @uptr, unless NULL, is the user memory that must be mapped there
 * (EBADE if the pages pinned are not its pages).
 */
static inline int _test_access_pages(int fd, int access_fd, __u64 iova,
				     __u64 length, const void *uptr,
				     __u32 flags, __u32 *pin_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = {
			.flags = flags,
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)uptr,
		},
	};
	int rc = ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);

	if (!rc && pin_id)
		*pin_id = cmd.access_pages.out_access_pages_id;
	return rc;
}

/* DESTROY_ACCESS_PAGES: unpin what ACCESS_PAGES pinned */
static inline int _test_destroy_access_pages(int fd, int access_fd,
					     __u32 pin_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = access_fd,
		.destroy_access_pages = { .access_pages_id = pin_id },
	};

	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/*
 * ACCESS_RW: copy [iova, iova + length) into @buf through an access, or
 * @buf there with MOCK_ACCESS_RW_WRITE in @flags
 */
static inline int _test_access_rw(int fd, int access_fd, __u64 iova,
				  void *buf, __u64 length, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_fd,
		.access_rw = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)buf,
			.flags = flags,
		},
	};

	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

#endif
