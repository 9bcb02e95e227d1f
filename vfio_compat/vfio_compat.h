/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFIO type1 container on the core engine.
 *
 * A container opened through vfio.ko is a private iommufd_ctx holding one
 * IOAS, one in-kernel access (for emulated devices' pin_pages and dma_rw)
 * and a device object per IOMMU-backed group attached; groups that can
 * share a domain share an automatic HWPT, as they share a vfio_domain in
 * vfio_iommu_type1.  Each MAP_DMA is one area of the IOAS, so type1's
 * per-mapping rules (no bisecting in v2, the entry limit) apply to areas.
 * Pinned pages are charged to the process's locked_vm, as type1 does.
 *
 * Locks: vfio_compat_container::lock serializes the container's ioctls,
 * group attach and detach, like type1's iommu->lock; it is taken before
 * the engine's locks.  The access's unmap callback runs under it (inside
 * UNMAP_DMA) and calls the registered devices' dma_unmap, which unpin
 * through the access without taking it.
 */
#ifndef IOMMUFD_VFIO_COMPAT_H
#define IOMMUFD_VFIO_COMPAT_H

#include <linux/list.h>
#include <linux/mutex.h>

#include "iommufd/iommufd_private.h"

extern unsigned int vfio_compat_dma_entry_limit;
extern bool vfio_compat_allow_unsafe_interrupts;
extern bool vfio_compat_disable_hugepages;

/**
 * struct vfio_compat_container - a VFIO container served by this module
 * @lock: see above
 * @ictx: the private context of its objects
 * @ioas: its IOAS
 * @access: the in-kernel access of its emulated devices
 * @v2: VFIO_TYPE1v2_IOMMU semantics
 * @dma_avail: how many more mappings MAP_DMA may make
 * @groups: struct vfio_compat_group attached
 * @devices_lock: protects @devices
 * @devices: struct vfio_compat_device registered for dma_unmap
 */
struct vfio_compat_container {
	struct mutex lock; /* see above */
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;
	struct iommufd_access *access;
	bool v2;
	unsigned int dma_avail;
	struct list_head groups;
	struct mutex devices_lock; /* see above */
	struct list_head devices;
};

/**
 * struct vfio_compat_group - an iommu_group attached to a container
 * @next: in the container's list
 * @group: the group
 * @idev: its device object, attached to an automatic HWPT of the IOAS;
 *	NULL for an emulated group
 */
struct vfio_compat_group {
	struct list_head next;
	struct iommu_group *group;
	struct iommufd_device *idev;
};

/**
 * struct vfio_compat_device - a vfio_device told about unmaps
 * @next: in the container's list
 * @vdev: the device
 */
struct vfio_compat_device {
	struct list_head next;
	struct vfio_device *vdev;
};

extern const struct iommufd_device_ops vfio_compat_group_ops;

struct vfio_compat_container *vfio_compat_container_open(bool v2);
void vfio_compat_container_release(struct vfio_compat_container *container);
long vfio_compat_container_ioctl(struct vfio_compat_container *container,
				 unsigned int cmd, void __user *arg);
int vfio_compat_check_extension(struct vfio_compat_container *container,
				unsigned long arg);
int vfio_compat_attach_group(struct vfio_compat_container *container,
			     struct iommu_group *group, bool emulated);
void vfio_compat_detach_group(struct vfio_compat_container *container,
			      struct iommu_group *group);
struct iommu_domain *
vfio_compat_group_domain(struct vfio_compat_container *container,
			 struct iommu_group *group);

#endif
