// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO container backend: this module as an IOMMU driver of vfio.ko.
 *
 * vfio.ko keeps a list of container backends, newest first.  For
 * VFIO_CHECK_EXTENSION on a container without a backend, and for
 * VFIO_SET_IOMMU, it asks each of them with a NULL iommu_data; the first
 * that claims the requested type is opened for the container.  This module
 * claims VFIO_TYPE1_IOMMU and VFIO_TYPE1v2_IOMMU, so loaded after
 * vfio_iommu_type1 it serves every new type1 container.
 *
 * The module parameters have type1's names and defaults.
 */
#include <linux/module.h>
#include <linux/vfio.h>

#include "vfio_compat/vfio_compat.h"
#include "vfio_compat/vfio_ops.h"

unsigned int vfio_compat_dma_entry_limit __read_mostly = U16_MAX;
module_param_named(dma_entry_limit, vfio_compat_dma_entry_limit, uint, 0644);
MODULE_PARM_DESC(dma_entry_limit,
		 "Maximum number of user DMA mappings per container (65535).");

bool vfio_compat_allow_unsafe_interrupts;
module_param_named(allow_unsafe_interrupts,
		   vfio_compat_allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Enable VFIO IOMMU support for on platforms without interrupt remapping support.");

bool vfio_compat_disable_hugepages;
module_param_named(disable_hugepages, vfio_compat_disable_hugepages, bool,
		   0644);
MODULE_PARM_DESC(disable_hugepages,
		 "Disable VFIO IOMMU support for IOMMU hugepages.");

static void *vfio_compat_open(unsigned long arg)
{
	if (arg != VFIO_TYPE1_IOMMU && arg != VFIO_TYPE1v2_IOMMU)
		return ERR_PTR(-EINVAL);
	return vfio_compat_container_open(arg == VFIO_TYPE1v2_IOMMU);
}

static void vfio_compat_release(void *iommu_data)
{
	vfio_compat_container_release(iommu_data);
}

static long vfio_compat_ioctl(void *iommu_data, unsigned int cmd,
			      unsigned long arg)
{
	if (!iommu_data)
		return cmd == VFIO_CHECK_EXTENSION ?
			       vfio_compat_check_extension(NULL, arg) : -ENOTTY;
	return vfio_compat_container_ioctl(iommu_data, cmd,
					   (void __user *)arg);
}

static int vfio_compat_attach_group_op(void *iommu_data,
				       struct iommu_group *group,
				       enum vfio_group_type type)
{
	if (type == VFIO_NO_IOMMU)
		return -EINVAL;
	return vfio_compat_attach_group(iommu_data, group,
					type == VFIO_EMULATED_IOMMU);
}

static void vfio_compat_detach_group_op(void *iommu_data,
					struct iommu_group *group)
{
	vfio_compat_detach_group(iommu_data, group);
}

/*
 * Emulated devices pin a page at a time through the container's access, so
 * that they may unpin any subset later, as type1 allows.
 */
static int vfio_compat_pin_pages(void *iommu_data, struct iommu_group *group,
				 dma_addr_t user_iova, int npage, int prot,
				 struct page **pages)
{
	struct vfio_compat_container *c = iommu_data;
	unsigned int flags = prot & IOMMU_WRITE ? IOMMUFD_ACCESS_RW_WRITE : 0;
	int i, rc;

	if (!c || !pages)
		return -EINVAL;
	if (!c->v2)
		return -EACCES;
	mutex_lock(&c->devices_lock);
	rc = list_empty(&c->devices) ? -EINVAL : 0;
	mutex_unlock(&c->devices_lock);
	if (rc)
		return rc;

	for (i = 0; i < npage; i++) {
		rc = iommufd_access_pin_pages(c->access,
					      user_iova + i * PAGE_SIZE,
					      PAGE_SIZE, &pages[i], flags);
		if (rc)
			goto err_unpin;
	}
	return npage;

err_unpin:
	while (i--)
		iommufd_access_unpin_pages(c->access,
					   user_iova + i * PAGE_SIZE, PAGE_SIZE);
	/* Type1 reports an IOVA that nothing maps as -EINVAL */
	return rc == -ENOENT ? -EINVAL : rc;
}

static void vfio_compat_unpin_pages(void *iommu_data, dma_addr_t user_iova,
				    int npage)
{
	struct vfio_compat_container *c = iommu_data;
	int i;

	for (i = 0; i < npage; i++)
		iommufd_access_unpin_pages(c->access, user_iova + i * PAGE_SIZE,
					   PAGE_SIZE);
}

static void vfio_compat_register_device(void *iommu_data,
					struct vfio_device *vdev)
{
	struct vfio_compat_container *c = iommu_data;
	struct vfio_compat_device *cdev;

	/* Only devices that pin pages need to hear of unmaps */
	if (!vdev->ops->dma_unmap)
		return;
	cdev = kzalloc(sizeof(*cdev), GFP_KERNEL);
	if (WARN_ON(!cdev))
		return;
	cdev->vdev = vdev;
	mutex_lock(&c->devices_lock);
	list_add(&cdev->next, &c->devices);
	mutex_unlock(&c->devices_lock);
}

static void vfio_compat_unregister_device(void *iommu_data,
					  struct vfio_device *vdev)
{
	struct vfio_compat_container *c = iommu_data;
	struct vfio_compat_device *cdev;

	mutex_lock(&c->devices_lock);
	list_for_each_entry(cdev, &c->devices, next) {
		if (cdev->vdev == vdev) {
			list_del(&cdev->next);
			kfree(cdev);
			break;
		}
	}
	mutex_unlock(&c->devices_lock);
}

static int vfio_compat_dma_rw(void *iommu_data, dma_addr_t user_iova,
			      void *data, size_t count, bool write)
{
	struct vfio_compat_container *c = iommu_data;
	int rc;

	rc = iommufd_access_rw(c->access, user_iova, data, count,
			       write ? IOMMUFD_ACCESS_RW_WRITE : 0);
	return rc == -ENOENT ? -EINVAL : rc;
}

static struct iommu_domain *
vfio_compat_group_iommu_domain(void *iommu_data, struct iommu_group *group)
{
	if (!iommu_data || !group)
		return ERR_PTR(-EINVAL);
	return vfio_compat_group_domain(iommu_data, group);
}

static const struct vfio_iommu_driver_ops iommufd_vfio_ops = {
	.name = "iommufd-vfio-type1",
	.owner = THIS_MODULE,
	.open = vfio_compat_open,
	.release = vfio_compat_release,
	.ioctl = vfio_compat_ioctl,
	.attach_group = vfio_compat_attach_group_op,
	.detach_group = vfio_compat_detach_group_op,
	.pin_pages = vfio_compat_pin_pages,
	.unpin_pages = vfio_compat_unpin_pages,
	.register_device = vfio_compat_register_device,
	.unregister_device = vfio_compat_unregister_device,
	.dma_rw = vfio_compat_dma_rw,
	.group_iommu_domain = vfio_compat_group_iommu_domain,
};

/**
 * iommufd_vfio_backend_register() - offer this module to vfio.ko
 *
 * Return: 0, or the negative errno of vfio_register_iommu_driver().
 */
int iommufd_vfio_backend_register(void)
{
	return vfio_register_iommu_driver(&iommufd_vfio_ops);
}

/**
 * iommufd_vfio_backend_unregister() - withdraw this module from vfio.ko
 */
void iommufd_vfio_backend_unregister(void)
{
	vfio_unregister_iommu_driver(&iommufd_vfio_ops);
}
