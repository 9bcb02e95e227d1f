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

#endif
