/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFIO type1 container on the core engine.
 *
 * One implementation serves two kinds of container:
 *
 * - a container opened through vfio.ko (backend.c) is a private
 *   iommufd_ctx holding one IOAS, one in-kernel access (for emulated
 *   devices' pin_pages and dma_rw) and a device object per IOMMU-backed
 *   group attached; groups that can share a domain share an automatic HWPT,
 *   as they share a vfio_domain in vfio_iommu_type1.  Each MAP_DMA is one
 *   area of the IOAS.  What type1 keeps per mapping and the engine does
 *   not is kept beside it: whether its vaddr is valid (VFIO_UPDATE_VADDR)
 *   in the area's owner_flags, and while dirty pages are tracked, its
 *   dirty bitmap in a struct vfio_compat_dma.  Pinned pages are charged to
 *   the process's locked_vm, as type1 does;
 * - a view (view.c) answers the container ioctls on a /dev/iommu file, on
 *   the IOAS that IOMMU_VFIO_IOAS chose (iommufd_ctx::vfio_ioas), as the
 *   kernel's iommufd does.  That IOAS is the user's: other ioctls map, copy
 *   and unmap in it, and devices attach to it without the container
 *   knowing, so a view keeps no per-mapping state and offers neither
 *   VFIO_UPDATE_VADDR nor dirty page tracking.
 *
 * Locks, outermost first:
 *   vfio_compat_container::lock     the container's ioctls, group attach
 *                                   and detach (type1's iommu->lock)
 *   vfio_compat_container::devices_lock  the devices told about unmaps
 *   vfio_compat_container::pin_lock the struct vfio_compat_dma tree (also
 *                                   written under @lock), their dirty
 *                                   bitmaps, the pin records, the groups'
 *                                   dirty scope and the vaddr counter
 *   then the engine's locks.
 * The areas' owner_flags are read and written under @lock, with the
 * IOAS's iova_rwsem held to reach the areas.
 * The access's unmap callback runs under @lock (inside UNMAP_DMA) with no
 * engine lock held and calls the registered devices' dma_unmap, which
 * unpin through pin_lock; pin_pages, unpin_pages and dma_rw never take
 * @lock, so that a driver may wait in its dma_unmap for a thread pinning.
 */
#ifndef IOMMUFD_VFIO_COMPAT_H
#define IOMMUFD_VFIO_COMPAT_H

#include <linux/interval_tree.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/vfio.h>
#include <linux/xarray.h>

#include "iommufd/iommufd_private.h"

extern unsigned int vfio_compat_dma_entry_limit;
extern bool vfio_compat_allow_unsafe_interrupts;
extern bool vfio_compat_disable_hugepages;

/* Type1's limit on the pages one dirty bitmap may describe */
#define VFIO_COMPAT_DIRTY_PAGES_MAX ((u64)INT_MAX)
#define VFIO_COMPAT_DIRTY_BYTES(npages) \
	(ALIGN((u64)(npages), BITS_PER_TYPE(u64)) / BITS_PER_BYTE)
#define VFIO_COMPAT_DIRTY_BITMAP_MAX \
	VFIO_COMPAT_DIRTY_BYTES(VFIO_COMPAT_DIRTY_PAGES_MAX)

/**
 * struct vfio_compat_container - a VFIO type1 container served by this
 *	module
 * @lock: see above
 * @ictx: the private context of its objects, or the /dev/iommu file's
 * @ioas: its IOAS; NULL in a view, which uses @ictx's vfio_ioas
 * @view: a view onto a /dev/iommu file
 * @iommu_set: VFIO_SET_IOMMU chose the type (always, but in a view)
 * @v2: VFIO_TYPE1v2_IOMMU semantics
 * @nesting: VFIO_TYPE1_NESTING_IOMMU: v2 whose domains must nest
 * @dma_limit: how many mappings the IOAS may hold (dma_entry_limit when
 *	the container was made)
 * @pgsize_bitmap: the IOMMU page sizes every domain of @ioas supports,
 *	PAGE_SIZE and up; updated when a group attaches or detaches (under
 *	@lock).  Not used in a view
 * @access: the in-kernel access of its emulated devices
 * @groups: struct vfio_compat_group attached
 * @devices_lock: protects @devices
 * @devices: struct vfio_compat_device registered for dma_unmap
 * @pin_lock: see above
 * @dmas: struct vfio_compat_dma by IOVA, one per mapping while
 *	@dirty_tracking
 * @pins: pages pinned by pin_pages: IOVA >> PAGE_SHIFT -> count (an
 *	xarray value)
 * @ndevices: how many devices @devices holds
 * @vaddr_invalid_count: mappings whose vaddr UNMAP_DMA invalidated
 * @num_non_pinned_groups: IOMMU-backed groups that may dirty any page (no
 *	device of theirs used pin_pages)
 * @dirty_tracking: VFIO_IOMMU_DIRTY_PAGES_FLAG_START is in effect
 */
struct vfio_compat_container {
	struct mutex lock; /* see above */
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;
	bool view;
	bool iommu_set;
	bool v2;
	bool nesting;
	unsigned int dma_limit;
	unsigned long pgsize_bitmap;
	struct iommufd_access *access;
	struct list_head groups;
	struct mutex devices_lock; /* see above */
	struct list_head devices;
	struct mutex pin_lock; /* see above */
	struct rb_root_cached dmas;
	struct xarray pins;
	unsigned int ndevices;
	unsigned int vaddr_invalid_count;
	unsigned int num_non_pinned_groups;
	bool dirty_tracking;
};

/* Flags of iopt_area::owner_flags in a private container's IOAS */
enum {
	/*
	 * UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR invalidated the mapping's
	 * vaddr; MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR has not given the new
	 * one yet
	 */
	VFIO_COMPAT_VADDR_INVALID = 1 << 0,
};

/**
 * struct vfio_compat_dma - the dirty bitmap of one MAP_DMA of a private
 *	container, while dirty pages are tracked
 * @node: its IOVA range [start, last], in vfio_compat_container::dmas
 * @bitmap: one bit per PAGE_SIZE page: dirtied since tracking started or
 *	the bitmap was last read
 */
struct vfio_compat_dma {
	struct interval_tree_node node;
	unsigned long *bitmap;
};

static inline unsigned long vfio_compat_dma_size(struct vfio_compat_dma *dma)
{
	return dma->node.last - dma->node.start + 1;
}

/**
 * struct vfio_compat_group - an iommu_group attached to a container
 * @next: in the container's list
 * @group: the group
 * @idev: its device object, attached to an automatic HWPT of the IOAS;
 *	NULL for an emulated group
 * @pinned_scope: the group dirties only pages pinned through pin_pages:
 *	an emulated group, or one whose device called pin_pages
 */
struct vfio_compat_group {
	struct list_head next;
	struct iommu_group *group;
	struct iommufd_device *idev;
	bool pinned_scope;
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

/* container.c */
struct vfio_compat_container *vfio_compat_container_open(unsigned long type);
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
struct vfio_compat_dma *vfio_compat_find_dma(struct vfio_compat_container *c,
					     unsigned long iova);
void vfio_compat_remove_dma(struct vfio_compat_container *c,
			    struct vfio_compat_dma *dma);
unsigned long vfio_compat_pgsize(struct vfio_compat_container *c,
				 struct iommufd_ioas *ioas);

struct vfio_compat_container *vfio_compat_view_alloc(struct iommufd_ctx *ictx);

/* view.c */
struct iommufd_ioas *vfio_compat_view_get_ioas(struct iommufd_ctx *ictx);

/* dirty.c */
int vfio_compat_dirty_pages(struct vfio_compat_container *c,
			    void __user *arg);
int vfio_compat_dirty_check_bitmap(struct vfio_bitmap *bitmap, u64 size);
int vfio_compat_dirty_add(struct vfio_compat_container *c, unsigned long iova,
			  unsigned long last, unsigned long pgsize);
void vfio_compat_dirty_free_all(struct vfio_compat_container *c);
void vfio_compat_dirty_mark(struct vfio_compat_container *c,
			    unsigned long iova, unsigned long last);
void vfio_compat_dirty_mark_all(struct vfio_compat_container *c);
int vfio_compat_dirty_report(struct vfio_compat_container *c,
			     struct vfio_compat_dma *dma, unsigned long base,
			     unsigned long pgsize, u64 __user *ubitmap);

#endif
