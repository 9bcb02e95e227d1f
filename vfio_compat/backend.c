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
	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
		return vfio_compat_container_open(arg);
	default:
		return ERR_PTR(-EINVAL);
	}
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

/* Count a page pinned by pin_pages; pin_lock held */
static int vfio_compat_record_pin(struct vfio_compat_container *c,
				  unsigned long iova)
{
	unsigned long index = iova >> PAGE_SHIFT;
	void *entry = xa_load(&c->pins, index);
	unsigned long count = entry ? xa_to_value(entry) : 0;

	return IOMMUFD_FAIL(-ENOMEM,
			    xa_err(xa_store(&c->pins, index,
					    xa_mk_value(count + 1),
					    GFP_KERNEL_ACCOUNT)));
}

/* Undo vfio_compat_record_pin(); pin_lock held */
static void vfio_compat_forget_pin(struct vfio_compat_container *c,
				   unsigned long iova)
{
	unsigned long index = iova >> PAGE_SHIFT;
	void *entry = xa_load(&c->pins, index);

	if (WARN_ON(!entry))
		return;
	if (xa_to_value(entry) == 1)
		xa_erase(&c->pins, index);
	else
		/* Replacing an entry allocates nothing: it cannot fail */
		xa_store(&c->pins, index, xa_mk_value(xa_to_value(entry) - 1),
			 GFP_KERNEL);
}

/*
 * Emulated devices pin a page at a time through the container's access, so
 * that they may unpin any subset later, as type1 allows.  Each pinned page
 * is recorded: while pinned it counts as dirty.  A group whose device pins
 * is taken to dirty only what it pins from then on, as type1 does.
 */
static int vfio_compat_pin_pages(void *iommu_data, struct iommu_group *group,
				 dma_addr_t user_iova, int npage, int prot,
				 struct page **pages)
{
	struct vfio_compat_container *c = iommu_data;
	unsigned int flags = prot & IOMMU_WRITE ? IOMMUFD_ACCESS_RW_WRITE : 0;
	struct vfio_compat_group *cgroup;
	int i, rc;

	if (!c || !pages)
		return -EINVAL;
	if (!c->v2)
		return -EACCES;
	mutex_lock(&c->pin_lock);
	if (c->vaddr_invalid_count) {
		/* Type1 warns, once: the caller misuses VFIO_UPDATE_VADDR */
		pr_warn_once("pin_pages while a vaddr is invalid (VFIO_UPDATE_VADDR)\n");
		rc = -EBUSY;
		goto out_unlock;
	}
	if (!c->ndevices) {
		rc = -EINVAL;
		goto out_unlock;
	}

	for (i = 0; i < npage; i++) {
		unsigned long iova = user_iova + i * PAGE_SIZE;

		rc = iommufd_access_pin_pages(c->access, iova, PAGE_SIZE,
					      &pages[i], flags);
		if (rc)
			goto err_unpin;
		rc = vfio_compat_record_pin(c, iova);
		if (rc) {
			iommufd_access_unpin_pages(c->access, iova, PAGE_SIZE);
			goto err_unpin;
		}
		vfio_compat_dirty_mark(c, iova, iova + PAGE_SIZE - 1);
	}
	list_for_each_entry(cgroup, &c->groups, next) {
		if (cgroup->group == group && !cgroup->pinned_scope) {
			cgroup->pinned_scope = true;
			c->num_non_pinned_groups--;
		}
	}
	rc = npage;
	goto out_unlock;

err_unpin:
	while (i--) {
		unsigned long iova = user_iova + i * PAGE_SIZE;

		vfio_compat_forget_pin(c, iova);
		iommufd_access_unpin_pages(c->access, iova, PAGE_SIZE);
	}
	/* Type1 reports an IOVA that nothing maps as -EINVAL */
	if (rc == -ENOENT)
		rc = -EINVAL;
out_unlock:
	mutex_unlock(&c->pin_lock);
	return rc;
}

static void vfio_compat_unpin_pages(void *iommu_data, dma_addr_t user_iova,
				    int npage)
{
	struct vfio_compat_container *c = iommu_data;
	int i;

	mutex_lock(&c->pin_lock);
	for (i = 0; i < npage; i++) {
		unsigned long iova = user_iova + i * PAGE_SIZE;

		vfio_compat_forget_pin(c, iova);
		iommufd_access_unpin_pages(c->access, iova, PAGE_SIZE);
	}
	mutex_unlock(&c->pin_lock);
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
	mutex_lock(&c->pin_lock);
	c->ndevices++;
	mutex_unlock(&c->pin_lock);
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
			mutex_lock(&c->pin_lock);
			c->ndevices--;
			mutex_unlock(&c->pin_lock);
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

	mutex_lock(&c->pin_lock);
	rc = c->vaddr_invalid_count ? -EBUSY : 0;
	mutex_unlock(&c->pin_lock);
	if (rc) {
		pr_warn_once("dma_rw while a vaddr is invalid (VFIO_UPDATE_VADDR)\n");
		return rc;
	}
	rc = iommufd_access_rw(c->access, user_iova, data, count,
			       write ? IOMMUFD_ACCESS_RW_WRITE : 0);
	/* What was written is dirty; a failure may follow a partial write */
	if (write && count) {
		mutex_lock(&c->pin_lock);
		vfio_compat_dirty_mark(c, user_iova, user_iova + count - 1);
		mutex_unlock(&c->pin_lock);
	}
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
