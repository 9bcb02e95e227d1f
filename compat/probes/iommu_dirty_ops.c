// SPDX-License-Identifier: GPL-2.0
/* struct iommu_dirty_ops, a domain's dirty tracking (6.7) */
#include <linux/iommu.h>

static bool __maybe_unused probe(struct iommu_domain *domain)
{
	return domain->dirty_ops &&
	       domain->dirty_ops->read_and_clear_dirty;
}
