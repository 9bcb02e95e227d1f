/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio.ko's interface for container IOMMU backends.
 *
 * The kernel declares it in its private drivers/vfio/vfio.h, which no
 * headers package ships, so no probe can see it.  This is the layout of
 * Linux 6.12 and 6.1; the members' order and types are an ABI between this
 * module and vfio.ko and must match the kernel built against exactly.  The
 * two differ only by 6.1's last member, notify, which vfio.ko calls, when
 * it is not NULL, as a container's file is closed: NULL here, it fits both
 * (6.12's vfio.ko never reads it).
 */
#ifndef IOMMUFD_VFIO_OPS_H
#define IOMMUFD_VFIO_OPS_H

#include <linux/iommu.h>
#include <linux/vfio.h>

/* What kind of group vfio.ko attaches (6.12: enum vfio_group_type). */
enum vfio_group_type {
	VFIO_IOMMU,		/* a physical device behind an IOMMU */
	VFIO_EMULATED_IOMMU,	/* a mediated device, DMA only through pin_pages */
	VFIO_NO_IOMMU,		/* a physical device with no IOMMU at all */
};

struct vfio_iommu_driver_ops {
	char *name;
	struct module *owner;
	void *(*open)(unsigned long arg);
	void (*release)(void *iommu_data);
	long (*ioctl)(void *iommu_data, unsigned int cmd, unsigned long arg);
	int (*attach_group)(void *iommu_data, struct iommu_group *group,
			    enum vfio_group_type type);
	void (*detach_group)(void *iommu_data, struct iommu_group *group);
	int (*pin_pages)(void *iommu_data, struct iommu_group *group,
			 dma_addr_t user_iova, int npage, int prot,
			 struct page **pages);
	void (*unpin_pages)(void *iommu_data, dma_addr_t user_iova, int npage);
	void (*register_device)(void *iommu_data, struct vfio_device *vdev);
	void (*unregister_device)(void *iommu_data, struct vfio_device *vdev);
	int (*dma_rw)(void *iommu_data, dma_addr_t user_iova, void *data,
		      size_t count, bool write);
	struct iommu_domain *(*group_iommu_domain)(void *iommu_data,
						   struct iommu_group *group);
	/* 6.1 only, left NULL: enum vfio_iommu_notify_type is an int */
	void (*notify)(void *iommu_data, int event);
};

int vfio_register_iommu_driver(const struct vfio_iommu_driver_ops *ops);
void vfio_unregister_iommu_driver(const struct vfio_iommu_driver_ops *ops);

#endif
