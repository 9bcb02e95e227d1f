// SPDX-License-Identifier: GPL-2.0
/* IOMMU_CAP_ENFORCE_CACHE_COHERENCY, whether a device's IOMMU can (6.4) */
#include <linux/iommu.h>

static bool __maybe_unused probe(struct device *dev)
{
	return device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
}
