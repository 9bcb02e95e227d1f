// SPDX-License-Identifier: GPL-2.0
/*
 * struct vfio_iommu_type1_info ends with a pad member, and type1's
 * VFIO_IOMMU_GET_INFO writes back as much of the struct as argsz holds
 */
#include <linux/stddef.h>
#include <linux/vfio.h>

static size_t __maybe_unused probe(void)
{
	return offsetofend(struct vfio_iommu_type1_info, pad);
}
