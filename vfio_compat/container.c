// SPDX-License-Identifier: GPL-2.0
/*
 * The type1 container ioctls on an IOAS.
 *
 * Each handler follows vfio_iommu_type1: the same argsz rules, flag
 * checks, alignment to the smallest IOMMU page size, and errno values, so
 * that a program cannot tell the two backends apart (the differences that
 * remain are listed in Documentation/).  What differs is underneath:
 * mappings are areas of an IOAS, pinned once in iopt_pages and mirrored
 * into every domain of the container.
 *
 * Mapping rules of type1 kept here: a mapping is never split.  A v1
 * container's UNMAP_DMA removes every mapping that starts inside the range
 * (even past its end) and stops at one that starts before it; a v2
 * container refuses a range that would bisect a mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_compat/vfio_compat.h"

/* Type1's limit on the pages one dirty bitmap may describe */
#define VFIO_COMPAT_DIRTY_PAGES_MAX ((u64)INT_MAX)
#define VFIO_COMPAT_DIRTY_BITMAP_MAX \
	(BITS_TO_U64(VFIO_COMPAT_DIRTY_PAGES_MAX) * sizeof(u64))

/* IOMMU page sizes of the container: what every domain supports */
static unsigned long vfio_compat_pgsize_bitmap(struct vfio_compat_container *c)
{
	struct iommufd_hwpt_paging *hwpt;
	unsigned long bitmap = ULONG_MAX;

	mutex_lock(&c->ioas->mutex);
	list_for_each_entry(hwpt, &c->ioas->hwpt_list, hwpt_item)
		bitmap &= hwpt->domain->pgsize_bitmap;
	mutex_unlock(&c->ioas->mutex);
	/* Sizes below PAGE_SIZE are hidden behind PAGE_SIZE, as type1 does */
	if (bitmap & ~PAGE_MASK) {
		bitmap &= PAGE_MASK;
		bitmap |= PAGE_SIZE;
	}
	return bitmap;
}

static bool vfio_compat_has_domains(struct vfio_compat_container *c)
{
	bool ret;

	mutex_lock(&c->ioas->mutex);
	ret = !list_empty(&c->ioas->hwpt_list);
	mutex_unlock(&c->ioas->mutex);
	return ret;
}

/* DMA_CC_IOMMU: every domain blocks no-snoop DMA */
static int vfio_compat_cache_coherent(struct vfio_compat_container *c)
{
	struct iommufd_hwpt_paging *hwpt;
	int ret = 1;

	mutex_lock(&c->ioas->mutex);
	list_for_each_entry(hwpt, &c->ioas->hwpt_list, hwpt_item)
		if (!hwpt->enforce_cache_coherency)
			ret = 0;
	mutex_unlock(&c->ioas->mutex);
	return ret;
}

/**
 * vfio_compat_check_extension() - VFIO_CHECK_EXTENSION
 * @container: the container, or NULL when vfio.ko asks before one exists
 * @arg: the extension
 *
 * Return: 1 when supported, else 0.
 */
int vfio_compat_check_extension(struct vfio_compat_container *container,
				unsigned long arg)
{
	/* VFIO_UPDATE_VADDR is not claimed until MAP/UNMAP_DMA handle it */
	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		return container ? vfio_compat_cache_coherent(container) : 0;
	default:
		return 0;
	}
}

static int vfio_compat_add_iova_cap(struct vfio_compat_container *c,
				    struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_info_cap_header *header;
	struct io_pagetable *iopt = &c->ioas->iopt;
	struct iopt_hole_iter hole;
	u32 nr = 0, i = 0;
	bool more;
	size_t size;
	int rc = 0;

	/* Type1 has no IOVA list until a domain is attached */
	if (!vfio_compat_has_domains(c))
		return 0;

	down_read(&iopt->iova_rwsem);
	for (more = iopt_hole_first(&hole, &iopt->reserved_itree, 0, ULONG_MAX);
	     more; more = iopt_hole_next(&hole))
		nr++;
	size = struct_size(cap, iova_ranges, nr);
	header = vfio_info_cap_add(caps, size,
				   VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(header)) {
		rc = PTR_ERR(header);
		goto out_unlock;
	}
	cap = container_of(header, struct vfio_iommu_type1_info_cap_iova_range,
			   header);
	cap->nr_iovas = nr;
	for (more = iopt_hole_first(&hole, &iopt->reserved_itree, 0, ULONG_MAX);
	     more && i < nr; more = iopt_hole_next(&hole), i++) {
		cap->iova_ranges[i].start = hole.start;
		cap->iova_ranges[i].end = hole.hole_last;
	}
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

static int vfio_compat_get_info(struct vfio_compat_container *c,
				void __user *arg)
{
	struct vfio_iommu_type1_info_cap_migration mig = {};
	struct vfio_iommu_type1_info_dma_avail avail = {};
	struct vfio_iommu_type1_info info = {};
	struct vfio_info_cap caps = {};
	unsigned long minsz;
	int rc;

	minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = min_t(size_t, info.argsz, sizeof(info));

	mutex_lock(&c->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = vfio_compat_pgsize_bitmap(c);

	mig.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION;
	mig.header.version = 1;
	mig.pgsize_bitmap = 1UL << __ffs(info.iova_pgsizes);
	mig.max_dirty_bitmap_size = VFIO_COMPAT_DIRTY_BITMAP_MAX;
	rc = vfio_info_add_capability(&caps, &mig.header, sizeof(mig));
	if (!rc) {
		avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
		avail.header.version = 1;
		avail.avail = c->dma_avail;
		rc = vfio_info_add_capability(&caps, &avail.header,
					      sizeof(avail));
	}
	if (!rc)
		rc = vfio_compat_add_iova_cap(c, &caps);
	mutex_unlock(&c->lock);
	if (rc)
		goto out_free;

	if (caps.size) {
		info.flags |= VFIO_IOMMU_INFO_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(arg + sizeof(info), caps.buf,
					 caps.size)) {
				rc = -EFAULT;
				goto out_free;
			}
			info.cap_offset = sizeof(info);
		}
	}
	rc = copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
out_free:
	kfree(caps.buf);
	return rc;
}

static int vfio_compat_map_dma(struct vfio_compat_container *c,
			       void __user *arg)
{
	u32 mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
		   VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;
	unsigned long minsz, pgsize, iova;
	int prot = IOMMU_CACHE;
	int rc;

	minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~mask)
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_VADDR)
		return -EOPNOTSUPP;
	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return -EINVAL;

	mutex_lock(&c->lock);
	pgsize = 1UL << __ffs(vfio_compat_pgsize_bitmap(c));
	if (!map.size || (map.size | map.iova | map.vaddr) & (pgsize - 1) ||
	    map.iova + map.size - 1 < map.iova ||
	    map.vaddr + map.size - 1 < map.vaddr) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (!c->dma_avail) {
		/* Type1 looks for an overlap first */
		down_read(&c->ioas->iopt.iova_rwsem);
		rc = iopt_area_iter_first(&c->ioas->iopt, map.iova,
					  map.iova + map.size - 1) ?
			     -EEXIST : -ENOSPC;
		up_read(&c->ioas->iopt.iova_rwsem);
		goto out_unlock;
	}
	iova = map.iova;
	rc = iopt_map_user_pages(&c->ioas->iopt, &iova,
				 u64_to_user_ptr(map.vaddr), map.size, prot, 0,
				 IOPT_PAGES_ACCOUNT_MM);
	if (!rc)
		c->dma_avail--;
out_unlock:
	mutex_unlock(&c->lock);
	return rc;
}

/*
 * Unmap [iova, last] with type1's rules; return the bytes unmapped.  The
 * mappings to remove are looked up first, then each is unmapped whole.
 */
static int vfio_compat_do_unmap(struct vfio_compat_container *c,
				unsigned long iova, unsigned long last,
				bool unmap_all, u64 *unmapped)
{
	struct io_pagetable *iopt = &c->ioas->iopt;
	struct iopt_area *area;
	int rc = 0;

	*unmapped = 0;
	down_read(&iopt->iova_rwsem);
	if (c->v2 && !unmap_all) {
		area = iopt_area_iter_first(iopt, iova, iova);
		if (area && iopt_area_iova(area) != iova)
			rc = -EINVAL;
		area = iopt_area_iter_first(iopt, last, last);
		if (area && iopt_area_last_iova(area) != last)
			rc = -EINVAL;
	}
	up_read(&iopt->iova_rwsem);
	if (rc)
		return rc;

	while (true) {
		unsigned long start, length, done;

		down_read(&iopt->iova_rwsem);
		area = iopt_area_iter_first(iopt, iova, last);
		if (area) {
			start = iopt_area_iova(area);
			length = iopt_area_length(area);
		}
		up_read(&iopt->iova_rwsem);
		if (!area || (!c->v2 && start < iova))
			break;
		rc = iopt_unmap_iova(iopt, start, length, &done);
		if (rc)
			break;
		*unmapped += done;
		c->dma_avail++;
		if (start + length - 1 >= last)
			break;
		iova = start + length;
	}
	return rc;
}

static int vfio_compat_unmap_dma(struct vfio_compat_container *c,
				 void __user *arg)
{
	u32 mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
		   VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL;
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long minsz, pgsize;
	bool unmap_all;
	u64 size, unmapped;
	int rc;

	minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~mask)
		return -EINVAL;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) &&
	    (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL |
			    VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (unmap.flags & (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			   VFIO_DMA_UNMAP_FLAG_VADDR))
		return -EOPNOTSUPP;
	unmap_all = unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL;
	size = unmap.size;

	mutex_lock(&c->lock);
	pgsize = 1UL << __ffs(vfio_compat_pgsize_bitmap(c));
	rc = -EINVAL;
	if (unmap.iova & (pgsize - 1))
		goto out_unlock;
	if (unmap_all) {
		if (unmap.iova || size)
			goto out_unlock;
		size = U64_MAX;
	} else if (!size || size & (pgsize - 1) ||
		   unmap.iova + size - 1 < unmap.iova || size > SIZE_MAX) {
		goto out_unlock;
	}
	rc = vfio_compat_do_unmap(c, unmap.iova, unmap.iova + size - 1,
				  unmap_all, &unmapped);
out_unlock:
	mutex_unlock(&c->lock);
	if (rc)
		return rc;
	unmap.size = unmapped;
	return copy_to_user(arg, &unmap, minsz) ? -EFAULT : 0;
}

/**
 * vfio_compat_container_ioctl() - the container ioctls of type1
 * @container: the container
 * @cmd: the ioctl
 * @arg: its user argument
 *
 * Return: as vfio_iommu_type1 returns for the same call.
 */
long vfio_compat_container_ioctl(struct vfio_compat_container *container,
				 unsigned int cmd, void __user *arg)
{
	switch (cmd) {
	case VFIO_CHECK_EXTENSION:
		return vfio_compat_check_extension(container, (uintptr_t)arg);
	case VFIO_IOMMU_GET_INFO:
		return vfio_compat_get_info(container, arg);
	case VFIO_IOMMU_MAP_DMA:
		return vfio_compat_map_dma(container, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return vfio_compat_unmap_dma(container, arg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return container->v2 ? -EOPNOTSUPP : -EACCES;
	default:
		return -ENOTTY;
	}
}

static void vfio_compat_access_unmap(void *data, unsigned long iova,
				     unsigned long length)
{
	struct vfio_compat_container *c = data;
	struct vfio_compat_device *cdev;

	mutex_lock(&c->devices_lock);
	list_for_each_entry(cdev, &c->devices, next)
		cdev->vdev->ops->dma_unmap(cdev->vdev, iova, length);
	mutex_unlock(&c->devices_lock);
}

static const struct iommufd_access_ops vfio_compat_access_ops = {
	.needs_pin_pages = 1,
	.unmap = vfio_compat_access_unmap,
};

/**
 * vfio_compat_container_open() - make a container's state
 * @v2: VFIO_TYPE1v2_IOMMU semantics
 *
 * Return: the container or an ERR_PTR.
 */
struct vfio_compat_container *vfio_compat_container_open(bool v2)
{
	struct vfio_compat_container *c;
	u32 access_id;
	int rc;

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return ERR_PTR(-ENOMEM);
	mutex_init(&c->lock);
	mutex_init(&c->devices_lock);
	INIT_LIST_HEAD(&c->groups);
	INIT_LIST_HEAD(&c->devices);
	c->v2 = v2;
	c->dma_avail = vfio_compat_dma_entry_limit;

	c->ictx = iommufd_ctx_alloc();
	if (!c->ictx) {
		rc = -ENOMEM;
		goto err_free;
	}
	c->ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	c->ioas = iommufd_ioas_alloc(c->ictx);
	if (IS_ERR(c->ioas)) {
		rc = PTR_ERR(c->ioas);
		goto err_ctx;
	}
	iommufd_object_finalize(c->ictx, &c->ioas->obj);
	if (vfio_compat_disable_hugepages) {
		rc = iopt_disable_large_pages(&c->ioas->iopt);
		if (rc)
			goto err_ctx;
	}
	c->access = iommufd_access_create(c->ictx, &vfio_compat_access_ops, c,
					  &access_id);
	if (IS_ERR(c->access)) {
		rc = PTR_ERR(c->access);
		goto err_ctx;
	}
	rc = iommufd_access_attach(c->access, c->ioas->obj.id);
	if (rc)
		goto err_access;
	pr_info("serving a VFIO type1%s container for %s[%d]\n",
		v2 ? "v2" : "", current->comm, task_tgid_nr(current));
	return c;

err_access:
	iommufd_access_destroy(c->access);
err_ctx:
	iommufd_ctx_destroy(c->ictx);
err_free:
	kfree(c);
	return ERR_PTR(rc);
}

/**
 * vfio_compat_container_release() - free a container's state
 * @container: the container; vfio.ko detached every group
 */
void vfio_compat_container_release(struct vfio_compat_container *container)
{
	WARN_ON(!list_empty(&container->groups));
	WARN_ON(!list_empty(&container->devices));
	iommufd_access_destroy(container->access);
	iommufd_ctx_destroy(container->ictx);
	mutex_destroy(&container->devices_lock);
	mutex_destroy(&container->lock);
	kfree(container);
}

static struct vfio_compat_group *
vfio_compat_find_group(struct vfio_compat_container *c,
		       struct iommu_group *group)
{
	struct vfio_compat_group *cgroup;

	list_for_each_entry(cgroup, &c->groups, next)
		if (cgroup->group == group)
			return cgroup;
	return NULL;
}

/**
 * vfio_compat_attach_group() - attach a group to a container
 * @container: the container
 * @group: the group
 * @emulated: a group of emulated devices, with no IOMMU
 *
 * Return: 0, -EINVAL when already attached or its reserved regions clash
 * with mappings, -EPERM without MSI isolation (unless
 * allow_unsafe_interrupts), or another negative errno.
 */
int vfio_compat_attach_group(struct vfio_compat_container *container,
			     struct iommu_group *group, bool emulated)
{
	struct vfio_compat_group *cgroup;
	u32 pt_id;
	int rc;

	mutex_lock(&container->lock);
	if (vfio_compat_find_group(container, group)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	cgroup = kzalloc(sizeof(*cgroup), GFP_KERNEL_ACCOUNT);
	if (!cgroup) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	cgroup->group = group;
	if (emulated) {
		list_add_tail(&cgroup->next, &container->groups);
		rc = 0;
		goto out_unlock;
	}
	if (!vfio_compat_allow_unsafe_interrupts &&
	    !iommu_group_has_isolated_msi(group)) {
		pr_warn("%s: No interrupt remapping support.  Use the module param \"allow_unsafe_interrupts\" to enable VFIO IOMMU support on this platform\n",
			__func__);
		rc = -EPERM;
		goto err_free;
	}
	cgroup->idev = iommufd_device_create(container->ictx,
					     &vfio_compat_group_ops, cgroup);
	if (IS_ERR(cgroup->idev)) {
		rc = PTR_ERR(cgroup->idev);
		goto err_free;
	}
	pt_id = container->ioas->obj.id;
	rc = iommufd_device_attach(cgroup->idev, &pt_id);
	if (rc) {
		iommufd_device_destroy(cgroup->idev);
		/* A reserved region over a mapping: type1 says -EINVAL */
		if (rc == -EADDRINUSE)
			rc = -EINVAL;
		goto err_free;
	}
	list_add_tail(&cgroup->next, &container->groups);
	mutex_unlock(&container->lock);
	return 0;

err_free:
	kfree(cgroup);
out_unlock:
	mutex_unlock(&container->lock);
	return rc;
}

/**
 * vfio_compat_detach_group() - detach a group from a container
 * @container: the container
 * @group: the group, attached
 *
 * As type1, a container left with no group loses its mappings.
 */
void vfio_compat_detach_group(struct vfio_compat_container *container,
			      struct iommu_group *group)
{
	struct vfio_compat_group *cgroup;

	mutex_lock(&container->lock);
	cgroup = vfio_compat_find_group(container, group);
	if (WARN_ON(!cgroup))
		goto out_unlock;
	list_del(&cgroup->next);
	if (cgroup->idev) {
		iommufd_device_detach(cgroup->idev);
		iommufd_device_destroy(cgroup->idev);
	}
	kfree(cgroup);
	if (list_empty(&container->groups)) {
		u64 unmapped;

		vfio_compat_do_unmap(container, 0, ULONG_MAX, true, &unmapped);
		container->dma_avail = vfio_compat_dma_entry_limit;
	}
out_unlock:
	mutex_unlock(&container->lock);
}

/**
 * vfio_compat_group_domain() - the domain a group is attached to
 * @container: the container
 * @group: the group
 *
 * Return: the domain, or ERR_PTR(-ENODEV) for a group without one.
 */
struct iommu_domain *
vfio_compat_group_domain(struct vfio_compat_container *container,
			 struct iommu_group *group)
{
	struct iommu_domain *domain = ERR_PTR(-ENODEV);
	struct vfio_compat_group *cgroup;

	mutex_lock(&container->lock);
	cgroup = vfio_compat_find_group(container, group);
	if (cgroup && cgroup->idev && cgroup->idev->hwpt)
		domain = cgroup->idev->hwpt->domain;
	mutex_unlock(&container->lock);
	return domain;
}
