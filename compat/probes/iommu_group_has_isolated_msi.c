// SPDX-License-Identifier: GPL-2.0
/* iommu_group_has_isolated_msi(), MSI isolation of a group (6.3) */
#include <linux/iommu.h>

static bool __maybe_unused probe(struct iommu_group *group)
{
	return iommu_group_has_isolated_msi(group);
}
