/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forced (gcc -include) into the kernel's own iommufd kselftests from
 * build/linux-source.  Debian's 6.12 source ships those tests a little
 * newer than its own include/uapi/linux/iommufd.h and
 * drivers/iommu/iommufd/iommufd_test.h: they use these names, which only
 * later upstream headers define.  The values are upstream's.  Once the
 * headers define a name, its definition here breaks the build: drop it.
 */

/* uAPI, enum iommu_hw_info_type: the "any type" request (same as NONE) */
#define IOMMU_HW_INFO_TYPE_DEFAULT	0
/* uAPI, enum iommufd_hw_info_flags: in_data_type carries a request */
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE	(1 << 0)
/*
 * uAPI, struct iommu_hw_info: upstream's in_data_type is in a union with
 * out_data_type (offset 24), so it is that field here, not __reserved.
 */
#define in_data_type			out_data_type

/* iommufd_test.h: a mock device that supports PASIDs */
#define MOCK_FLAGS_DEVICE_PASID		(1 << 2)
/* iommufd_test.h: the PASID width of the mock device and IOMMU */
#define MOCK_PASID_WIDTH		20
