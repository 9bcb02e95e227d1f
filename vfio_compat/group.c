// SPDX-License-Identifier: GPL-2.0
/*
 * A VFIO group as an engine device: the ops that let an iommu_group attach
 * to the HWPTs of a container's IOAS.
 *
 * The domain is allocated for the group's first device, attached with
 * iommu_attach_group() and freed by the HWPT.  A domain that another group
 * already uses is tried first (the engine's automatic HWPTs); the IOMMU
 * driver refuses with -EINVAL when the group cannot share it.  The group's
 * reserved regions, but for direct-mapped relaxable ones (as type1), are
 * reserved in the IOAS while the group is attached.  A software MSI window
 * gets its cookie as under type1.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/slab.h>

#include "vfio_compat/vfio_compat.h"

static struct iommu_group *vfio_compat_idev_group(struct iommufd_device *idev)
{
	struct vfio_compat_group *cgroup = idev->data;

	return cgroup->group;
}

static int vfio_compat_first_dev(struct device *dev, void *data)
{
	struct device **first = data;

	*first = dev;
	return 1;
}

/* Where the group's software-managed MSI window starts, if it has one */
static bool vfio_compat_sw_msi(struct list_head *regions, phys_addr_t *base)
{
	struct iommu_resv_region *region;

	list_for_each_entry(region, regions, list) {
		if (region->type == IOMMU_RESV_SW_MSI) {
			*base = region->start;
			return true;
		}
	}
	return false;
}

static void vfio_compat_put_regions(struct list_head *regions)
{
	struct iommu_resv_region *region, *tmp;

	list_for_each_entry_safe(region, tmp, regions, list) {
		list_del(&region->list);
		kfree(region);
	}
}

static struct iommu_domain *vfio_compat_domain_alloc(struct iommufd_device *idev,
						     u32 flags)
{
	struct iommu_group *group = vfio_compat_idev_group(idev);
	struct iommu_domain *domain;
	struct device *dev = NULL;
	LIST_HEAD(regions);
	phys_addr_t msi_base;
	int rc;

	if (flags)
		return ERR_PTR(-EOPNOTSUPP);
	iommu_group_for_each_dev(group, &dev, vfio_compat_first_dev);
	if (!dev)
		return ERR_PTR(-ENODEV);
	domain = iommu_paging_domain_alloc(dev);
	if (IS_ERR(domain))
		return domain;

	rc = iommu_get_group_resv_regions(group, &regions);
	if (!rc && vfio_compat_sw_msi(&regions, &msi_base)) {
		rc = iommu_get_msi_cookie(domain, msi_base);
		if (rc == -ENODEV)
			rc = 0;
	}
	vfio_compat_put_regions(&regions);
	if (rc) {
		iommu_domain_free(domain);
		return ERR_PTR(rc);
	}
	return domain;
}

static int vfio_compat_attach(struct iommufd_device *idev,
			      struct iommu_domain *domain)
{
	return iommu_attach_group(domain, vfio_compat_idev_group(idev));
}

static void vfio_compat_detach(struct iommufd_device *idev,
			       struct iommu_domain *domain)
{
	iommu_detach_group(domain, vfio_compat_idev_group(idev));
}

static int vfio_compat_reserve_iova(struct iommufd_device *idev,
				    struct io_pagetable *iopt)
{
	struct iommu_resv_region *region;
	LIST_HEAD(regions);
	int rc;

	rc = iommu_get_group_resv_regions(vfio_compat_idev_group(idev),
					  &regions);
	if (rc)
		return rc;
	list_for_each_entry(region, &regions, list) {
		if (region->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		rc = iopt_reserve_iova(iopt, region->start,
				       region->start + region->length - 1, idev);
		if (rc)
			break;
	}
	vfio_compat_put_regions(&regions);
	return rc;
}

/*
 * Only where the device's IOMMU can force snooping: otherwise a domain
 * forced before any device is attached would refuse the device.
 */
static bool vfio_compat_enforce_cc(struct iommufd_device *idev,
				   struct iommu_domain *domain)
{
	struct device *dev = NULL;

	iommu_group_for_each_dev(vfio_compat_idev_group(idev), &dev,
				 vfio_compat_first_dev);
	if (!dev || !iommufd_dev_can_enforce_cc(dev))
		return false;
	return domain->ops->enforce_cache_coherency &&
	       domain->ops->enforce_cache_coherency(domain);
}

const struct iommufd_device_ops vfio_compat_group_ops = {
	.domain_alloc = vfio_compat_domain_alloc,
	.attach = vfio_compat_attach,
	.detach = vfio_compat_detach,
	.reserve_iova = vfio_compat_reserve_iova,
	.enforce_cache_coherency = vfio_compat_enforce_cc,
};
