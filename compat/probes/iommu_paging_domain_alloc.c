// SPDX-License-Identifier: GPL-2.0
/* iommu_paging_domain_alloc(), a domain for a device (6.11) */
#include <linux/iommu.h>

static bool __maybe_unused probe(struct device *dev)
{
	return !IS_ERR(iommu_paging_domain_alloc(dev));
}
