// SPDX-License-Identifier: GPL-2.0
/*
 * The type1 container ioctls on an IOAS.
 *
 * Each handler follows vfio_iommu_type1: the same argsz rules, flag
 * checks, alignment to the smallest IOMMU page size, and errno values, so
 * that a program cannot tell the two backends apart.  What differs is
 * underneath: mappings are areas of an IOAS, pinned once in iopt_pages and
 * mirrored into every domain of the container.  The same handlers serve a
 * view onto a /dev/iommu file (view.c), with the few differences that the
 * kernel's iommufd selftests expect there.
 *
 * Mapping rules of type1 kept here: a mapping is never split.  A v1
 * container's UNMAP_DMA removes every mapping that starts inside the range
 * (even past its end) and stops at one that starts before it; a v2
 * container refuses a range that would bisect a mapping.
 *
 * VFIO_UPDATE_VADDR: UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR only marks
 * the mappings' vaddr invalid; their pages stay pinned and mapped, so the
 * devices keep reaching the same memory.  MAP_DMA with
 * VFIO_DMA_MAP_FLAG_VADDR on exactly such a mapping gives the new address,
 * and the caller becomes the owner the pins are charged to.  Nothing pins
 * from a user address while one is invalid: attaching a group fails with
 * -EBUSY, pin_pages and dma_rw too, and containers with emulated groups
 * cannot invalidate.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_compat/vfio_compat.h"

/*
 * Take the container's lock and the IOAS its ioctls work on: a view's is
 * the file's vfio_ioas (-ENODEV without one), usable once VFIO_SET_IOMMU
 * chose the type (-EINVAL before, as vfio.ko answers without a backend).
 */
static int vfio_compat_begin(struct vfio_compat_container *c,
			     struct iommufd_ioas **ioas)
{
	if (!c->view) {
		mutex_lock(&c->lock);
		*ioas = c->ioas;
		return 0;
	}
	*ioas = vfio_compat_view_get_ioas(c->ictx);
	if (IS_ERR(*ioas))
		return PTR_ERR(*ioas);
	mutex_lock(&c->lock);
	if (!c->iommu_set) {
		mutex_unlock(&c->lock);
		iommufd_put_object(c->ictx, &(*ioas)->obj);
		return -EINVAL;
	}
	return 0;
}

static void vfio_compat_end(struct vfio_compat_container *c,
			    struct iommufd_ioas *ioas)
{
	mutex_unlock(&c->lock);
	if (c->view)
		iommufd_put_object(c->ictx, &ioas->obj);
}

/* IOMMU page sizes that every domain of @ioas supports */
static unsigned long vfio_compat_ioas_pgsize_bitmap(struct iommufd_ioas *ioas)
{
	struct iommufd_hwpt_paging *hwpt;
	unsigned long bitmap = ULONG_MAX;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item)
		bitmap &= hwpt->domain->pgsize_bitmap;
	mutex_unlock(&ioas->mutex);
	/* Sizes below PAGE_SIZE are hidden behind PAGE_SIZE, as type1 does */
	if (bitmap & ~PAGE_MASK) {
		bitmap &= PAGE_MASK;
		bitmap |= PAGE_SIZE;
	}
	return bitmap;
}

/*
 * IOMMU page sizes of the container: what every domain supports.  Groups
 * attach to a private container only through it, under its lock, which
 * keeps them in pgsize_bitmap; a view's IOAS may change behind its back.
 */
static unsigned long vfio_compat_pgsize_bitmap(struct vfio_compat_container *c,
					       struct iommufd_ioas *ioas)
{
	lockdep_assert_held(&c->lock);
	if (!c->view)
		return c->pgsize_bitmap;
	return vfio_compat_ioas_pgsize_bitmap(ioas);
}

/**
 * vfio_compat_pgsize() - the smallest IOMMU page size of a container
 * @c: the container, its lock held
 * @ioas: the container's IOAS
 *
 * MAP_DMA and UNMAP_DMA align to it; a dirty bitmap's bit stands for one.
 *
 * Return: the size, at least PAGE_SIZE.
 */
unsigned long vfio_compat_pgsize(struct vfio_compat_container *c,
				 struct iommufd_ioas *ioas)
{
	return 1UL << __ffs(vfio_compat_pgsize_bitmap(c, ioas));
}

static bool vfio_compat_has_domains(struct iommufd_ioas *ioas)
{
	bool ret;

	mutex_lock(&ioas->mutex);
	ret = !list_empty(&ioas->hwpt_list);
	mutex_unlock(&ioas->mutex);
	return ret;
}

/* DMA_CC_IOMMU: every domain blocks no-snoop DMA */
static int vfio_compat_cache_coherent(struct iommufd_ioas *ioas)
{
	struct iommufd_hwpt_paging *hwpt;
	int ret = 1;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item)
		if (!hwpt->enforce_cache_coherency)
			ret = 0;
	mutex_unlock(&ioas->mutex);
	return ret;
}

/* A group of emulated devices is attached; container lock held */
static bool vfio_compat_has_emulated(struct vfio_compat_container *c)
{
	struct vfio_compat_group *cgroup;

	lockdep_assert_held(&c->lock);
	list_for_each_entry(cgroup, &c->groups, next)
		if (!cgroup->idev)
			return true;
	return false;
}

/* How many more mappings MAP_DMA may make */
static unsigned int vfio_compat_dma_avail(struct vfio_compat_container *c,
					  struct iommufd_ioas *ioas)
{
	unsigned long areas = READ_ONCE(ioas->iopt.nr_areas);

	return areas < c->dma_limit ? c->dma_limit - areas : 0;
}

/**
 * vfio_compat_find_dma() - the dirty bitmap of the mapping at an IOVA
 * @c: the container, its lock or pin_lock held
 * @iova: the IOVA
 *
 * Return: the mapping's struct vfio_compat_dma, or NULL (no mapping there,
 * or dirty pages are not tracked).
 */
struct vfio_compat_dma *vfio_compat_find_dma(struct vfio_compat_container *c,
					     unsigned long iova)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&c->dmas, iova, iova);
	return node ? container_of(node, struct vfio_compat_dma, node) : NULL;
}

/**
 * vfio_compat_remove_dma() - forget the dirty bitmap of a mapping
 * @c: the container, pin_lock held
 * @dma: the mapping's
 */
void vfio_compat_remove_dma(struct vfio_compat_container *c,
			    struct vfio_compat_dma *dma)
{
	lockdep_assert_held(&c->pin_lock);
	interval_tree_remove(&dma->node, &c->dmas);
	kvfree(dma->bitmap);
	kfree(dma);
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
	struct iommufd_ioas *ioas;
	int rc;

	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_TYPE1_NESTING_IOMMU:
		/* Claimed as type1 claims it; a view refuses it, as iommufd */
		return !container || !container->view;
	case VFIO_UPDATE_VADDR:
		/* Emulated devices cannot pin while a vaddr is invalid */
		if (!container || container->view)
			return 0;
		mutex_lock(&container->lock);
		rc = !vfio_compat_has_emulated(container);
		mutex_unlock(&container->lock);
		return rc;
	case VFIO_DMA_CC_IOMMU:
		if (!container)
			return 0;
		if (!container->view)
			return vfio_compat_cache_coherent(container->ioas);
		ioas = vfio_compat_view_get_ioas(container->ictx);
		if (IS_ERR(ioas))
			return 0;
		rc = vfio_compat_cache_coherent(ioas);
		iommufd_put_object(container->ictx, &ioas->obj);
		return rc;
	default:
		return 0;
	}
}

static int vfio_compat_add_iova_cap(struct iommufd_ioas *ioas,
				    struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_info_cap_header *header;
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_hole_iter hole;
	u32 nr = 0, i = 0;
	bool more;
	size_t size;
	int rc = 0;

	/* Type1 has no IOVA list until a domain is attached */
	if (!vfio_compat_has_domains(ioas))
		return 0;

	down_read(&iopt->iova_rwsem);
	for (more = iopt_hole_first(&hole, &iopt->reserved_itree, 0, ULONG_MAX);
	     more; more = iopt_hole_next(&hole))
		nr++;
	size = struct_size(cap, iova_ranges, nr);
	header = IOMMUFD_FAIL(ERR_PTR(-ENOMEM),
			      vfio_info_cap_add(caps, size,
						VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
						1));
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

static int vfio_compat_add_caps(struct vfio_compat_container *c,
				struct iommufd_ioas *ioas,
				unsigned long pgsizes,
				struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_migration mig = {};
	struct vfio_iommu_type1_info_dma_avail avail = {};
	int rc;

	/* A view tracks no dirty pages: no migration capability */
	if (!c->view) {
		mig.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION;
		mig.header.version = 1;
		mig.pgsize_bitmap = 1UL << __ffs(pgsizes);
		mig.max_dirty_bitmap_size = VFIO_COMPAT_DIRTY_BITMAP_MAX;
		rc = IOMMUFD_FAIL(-ENOMEM,
				  vfio_info_add_capability(caps, &mig.header,
							   sizeof(mig)));
		if (rc)
			return rc;
	}
	avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail.header.version = 1;
	avail.avail = vfio_compat_dma_avail(c, ioas);
	rc = IOMMUFD_FAIL(-ENOMEM,
			  vfio_info_add_capability(caps, &avail.header,
						   sizeof(avail)));
	if (rc)
		return rc;
	return vfio_compat_add_iova_cap(ioas, caps);
}

static int vfio_compat_get_info(struct vfio_compat_container *c,
				void __user *arg)
{
	struct vfio_iommu_type1_info info = {};
	struct vfio_info_cap caps = {};
	struct iommufd_ioas *ioas;
	unsigned long minsz;
	int rc;

	minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = iommufd_type1_info_size(info.argsz);

	rc = vfio_compat_begin(c, &ioas);
	if (rc)
		return rc;
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = vfio_compat_pgsize_bitmap(c, ioas);
	rc = vfio_compat_add_caps(c, ioas, info.iova_pgsizes, &caps);
	vfio_compat_end(c, ioas);
	if (rc)
		goto out_free;

	if (caps.size) {
		info.flags |= VFIO_IOMMU_INFO_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (IOMMUFD_FAIL(caps.size,
					 copy_to_user(arg + sizeof(info),
						      caps.buf, caps.size))) {
				rc = -EFAULT;
				goto out_free;
			}
			info.cap_offset = sizeof(info);
		}
	}
	rc = IOMMUFD_FAIL(minsz, copy_to_user(arg, &info, minsz)) ? -EFAULT : 0;
out_free:
	kfree(caps.buf);
	return rc;
}

/*
 * MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR: the new address of a mapping whose
 * vaddr was invalidated, exactly [iova, iova + size).  Only later pins read
 * it; the pages pinned and mapped now stay as they are.
 */
static int vfio_compat_set_vaddr(struct vfio_compat_container *c,
				 struct iommufd_ioas *ioas,
				 struct vfio_iommu_type1_dma_map *map)
{
	unsigned long last = map->iova + map->size - 1;
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_area *area;
	void __user *uptr;
	int rc;

	down_read(&iopt->iova_rwsem);
	area = iopt_area_iter_first(iopt, map->iova, last);
	if (!area) {
		rc = -ENOENT;
	} else if (!(area->owner_flags & VFIO_COMPAT_VADDR_INVALID) ||
		   iopt_area_iova(area) != map->iova ||
		   iopt_area_last_iova(area) != last) {
		rc = -EINVAL;
	} else if (WARN_ON(!area->pages)) {
		rc = -EINVAL;
	} else {
		/* Where the area's pages start in the new address space */
		uptr = u64_to_user_ptr(map->vaddr -
				       iopt_area_start_byte(area, map->iova));
		rc = iopt_pages_change_owner(area->pages, uptr);
		if (!rc)
			area->owner_flags &= ~VFIO_COMPAT_VADDR_INVALID;
	}
	up_read(&iopt->iova_rwsem);
	if (rc)
		return rc;

	mutex_lock(&c->pin_lock);
	c->vaddr_invalid_count--;
	mutex_unlock(&c->pin_lock);
	return 0;
}

/*
 * Give a new mapping of a private container its dirty bitmap while dirty
 * pages are tracked; undo the map on failure.
 */
static int vfio_compat_add_dma(struct vfio_compat_container *c,
			       struct iommufd_ioas *ioas, unsigned long iova,
			       unsigned long size, unsigned long pgsize)
{
	int rc = 0;

	if (!c->dirty_tracking)
		return 0;
	mutex_lock(&c->pin_lock);
	rc = vfio_compat_dirty_add(c, iova, iova + size - 1, pgsize);
	mutex_unlock(&c->pin_lock);
	if (rc)
		/* Type1 makes the mapping, then removes it */
		iopt_unmap_iova(&ioas->iopt, iova, size, NULL);
	return rc;
}

static int vfio_compat_map_dma(struct vfio_compat_container *c,
			       void __user *arg)
{
	u32 mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_map map;
	unsigned long minsz, pgsize, iova;
	struct iommufd_ioas *ioas;
	bool set_vaddr, ends_at_top, overlap;
	int prot = 0;
	int rc;

	/* A view serves no VFIO_UPDATE_VADDR */
	if (!c->view)
		mask |= VFIO_DMA_MAP_FLAG_VADDR;
	minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || map.flags & ~mask)
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	/* A new mapping needs access rights, a new vaddr must have none */
	set_vaddr = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
	if (!prot == !set_vaddr)
		return -EINVAL;

	rc = vfio_compat_begin(c, &ioas);
	if (rc)
		return rc;
	pgsize = vfio_compat_pgsize(c, ioas);
	if (!map.size || (map.size | map.iova | map.vaddr) & (pgsize - 1) ||
	    map.iova + map.size - 1 < map.iova ||
	    map.vaddr + map.size - 1 < map.vaddr) {
		rc = -EINVAL;
		goto out_end;
	}
	/* Type1's lookup finds no mapping for a range that ends at 2^64 */
	ends_at_top = !(map.iova + map.size);
	if (set_vaddr) {
		rc = ends_at_top ? -ENOENT : vfio_compat_set_vaddr(c, ioas, &map);
		goto out_end;
	}
	/* Type1 looks for an overlap, at the entry limit, at the IOVA range */
	if (!ends_at_top) {
		down_read(&ioas->iopt.iova_rwsem);
		overlap = iopt_area_iter_first(&ioas->iopt, map.iova,
					       map.iova + map.size - 1);
		up_read(&ioas->iopt.iova_rwsem);
		if (overlap) {
			rc = -EEXIST;
			goto out_end;
		}
	}
	if (!vfio_compat_dma_avail(c, ioas)) {
		rc = -ENOSPC;
		goto out_end;
	}
	/* and then pins: memory outside the process faults */
	if (!access_ok(u64_to_user_ptr(map.vaddr), map.size)) {
		rc = iopt_check_fixed_iova(&ioas->iopt, map.iova, map.size);
		if (!rc || rc == -EEXIST)
			rc = -EFAULT;
		goto out_end;
	}
	iova = map.iova;
	rc = iopt_map_user_pages(&ioas->iopt, &iova,
				 u64_to_user_ptr(map.vaddr), map.size,
				 prot | IOMMU_CACHE, IOPT_MAP_PFNMAP,
				 IOPT_PAGES_ACCOUNT_MM);
	if (!rc)
		rc = vfio_compat_add_dma(c, ioas, map.iova, map.size, pgsize);
out_end:
	vfio_compat_end(c, ioas);
	return rc;
}

/*
 * A v2 UNMAP_DMA, and a dirty bitmap, may not bisect a mapping: type1
 * says -EINVAL.  A view says -ENOENT, as the kernel's iommufd does.
 */
static int vfio_compat_check_cut(struct vfio_compat_container *c,
				 struct iommufd_ioas *ioas, unsigned long iova,
				 unsigned long last)
{
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_area *area;
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	area = iopt_area_iter_first(iopt, iova, iova);
	if (area && iopt_area_iova(area) != iova)
		rc = c->view ? -ENOENT : -EINVAL;
	area = iopt_area_iter_first(iopt, last, last);
	if (area && iopt_area_last_iova(area) != last)
		rc = c->view ? -ENOENT : -EINVAL;
	up_read(&iopt->iova_rwsem);
	return rc;
}

/*
 * UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR: mark the vaddr of every mapping
 * in [iova, last] invalid (v1: up to one that starts before the range).
 * One already invalid undoes the call: -EINVAL.
 */
static int vfio_compat_invalidate_vaddr(struct vfio_compat_container *c,
					struct iommufd_ioas *ioas,
					unsigned long iova, unsigned long last,
					u64 *unmapped)
{
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_area *area, *undo;
	int rc = 0;

	*unmapped = 0;
	mutex_lock(&c->pin_lock);
	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, iova, last); area;
	     area = iopt_area_iter_next(area, iova, last)) {
		if (!c->v2 && iopt_area_iova(area) < iova)
			break;
		if (area->owner_flags & VFIO_COMPAT_VADDR_INVALID) {
			for (undo = iopt_area_iter_first(iopt, iova, last);
			     undo != area;
			     undo = iopt_area_iter_next(undo, iova, last)) {
				undo->owner_flags &= ~VFIO_COMPAT_VADDR_INVALID;
				c->vaddr_invalid_count--;
			}
			*unmapped = 0;
			rc = -EINVAL;
			break;
		}
		area->owner_flags |= VFIO_COMPAT_VADDR_INVALID;
		c->vaddr_invalid_count++;
		*unmapped += iopt_area_length(area);
	}
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&c->pin_lock);
	return rc;
}

/**
 * struct vfio_compat_unmap_bitmap - where UNMAP_DMA reports dirty pages
 * @ubitmap: the user's bitmap
 * @base: the IOVA of its first bit
 * @pgsize: the page size of a bit
 */
struct vfio_compat_unmap_bitmap {
	u64 __user *ubitmap;
	unsigned long base;
	unsigned long pgsize;
};

/*
 * Unmap [iova, last] with type1's rules, after checking that no mapping
 * crosses its ends if @check_ends (v2), reporting dirty pages into @bitmap
 * if given; count the bytes unmapped.  When nothing is kept per mapping
 * (no dirty bitmap, no invalid vaddr) the engine does it in one call.
 * Otherwise the mappings to remove are looked up one at a time, each is
 * unmapped whole.
 */
static int vfio_compat_do_unmap(struct vfio_compat_container *c,
				struct iommufd_ioas *ioas, unsigned long iova,
				unsigned long last, bool check_ends,
				struct vfio_compat_unmap_bitmap *bitmap,
				u64 *unmapped)
{
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_area *area;
	int rc = 0;

	lockdep_assert_held(&c->lock);
	*unmapped = 0;
	if (!bitmap && !c->dirty_tracking && !c->vaddr_invalid_count) {
		unsigned int flags = c->v2 ? 0 : IOPT_UNMAP_V1;
		unsigned long done = 0;

		if (check_ends)
			flags |= IOPT_UNMAP_CHECK_ENDS;
		rc = iopt_unmap_range(iopt, iova, last, flags, &done);
		/* A v2 range cutting a mapping: -EINVAL, in a view -ENOENT */
		if (rc == -ENOENT && !c->view)
			rc = -EINVAL;
		*unmapped = done;
		return rc;
	}
	if (check_ends) {
		rc = vfio_compat_check_cut(c, ioas, iova, last);
		if (rc)
			return rc;
	}
	while (true) {
		unsigned long start, length, done;
		struct vfio_compat_dma *dma = NULL;
		bool all_dirty = false;
		bool vaddr_invalid;

		down_read(&iopt->iova_rwsem);
		area = iopt_area_iter_first(iopt, iova, last);
		if (area) {
			start = iopt_area_iova(area);
			length = iopt_area_length(area);
			vaddr_invalid = area->owner_flags &
					VFIO_COMPAT_VADDR_INVALID;
		}
		up_read(&iopt->iova_rwsem);
		if (!area || (!c->v2 && start < iova))
			break;

		if (c->dirty_tracking)
			dma = vfio_compat_find_dma(c, start);
		if (bitmap && dma) {
			/* Fail before unmapping when the bitmap is not there */
			mutex_lock(&c->pin_lock);
			all_dirty = c->num_non_pinned_groups;
			rc = vfio_compat_dirty_report(c, dma, bitmap->base,
						      bitmap->pgsize,
						      bitmap->ubitmap);
			mutex_unlock(&c->pin_lock);
			if (rc)
				break;
		}
		rc = iopt_unmap_iova(iopt, start, length, &done);
		if (rc)
			break;
		*unmapped += done;
		if (dma || vaddr_invalid) {
			mutex_lock(&c->pin_lock);
			/* Devices that pinned pages dirtied them until now */
			if (bitmap && dma && !all_dirty)
				rc = vfio_compat_dirty_report(c, dma,
							      bitmap->base,
							      bitmap->pgsize,
							      bitmap->ubitmap);
			if (dma)
				vfio_compat_remove_dma(c, dma);
			if (vaddr_invalid)
				c->vaddr_invalid_count--;
			mutex_unlock(&c->pin_lock);
		}
		if (rc || start + length - 1 >= last)
			break;
		iova = start + length;
	}
	return rc;
}

static int vfio_compat_unmap_dma(struct vfio_compat_container *c,
				 void __user *arg)
{
	u32 mask = VFIO_DMA_UNMAP_FLAG_ALL;
	struct vfio_compat_unmap_bitmap report = {};
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = {};
	bool unmap_all, get_bitmap, check_ends, ends_at_top;
	unsigned long minsz, pgsize, last;
	struct iommufd_ioas *ioas;
	u64 unmapped = 0;
	int rc;

	/* A view serves neither VFIO_UPDATE_VADDR nor dirty tracking */
	if (!c->view)
		mask |= VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			VFIO_DMA_UNMAP_FLAG_VADDR;
	minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~mask)
		return -EINVAL;
	get_bitmap = unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	if (get_bitmap && (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL |
					  VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (get_bitmap) {
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (copy_from_user(&bitmap, arg + minsz, sizeof(bitmap)))
			return -EFAULT;
		rc = vfio_compat_dirty_check_bitmap(&bitmap, unmap.size);
		if (rc)
			return rc;
	}
	unmap_all = unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL;

	rc = vfio_compat_begin(c, &ioas);
	if (rc)
		return rc;
	if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR) &&
	    vfio_compat_has_emulated(c)) {
		rc = -EBUSY;
		goto out_end;
	}
	pgsize = vfio_compat_pgsize(c, ioas);
	rc = -EINVAL;
	if (unmap.iova & (pgsize - 1))
		goto out_end;
	if (unmap_all) {
		if (unmap.iova || unmap.size)
			goto out_end;
		last = ULONG_MAX;
	} else if (!unmap.size || unmap.size & (pgsize - 1) ||
		   unmap.iova + unmap.size - 1 < unmap.iova ||
		   unmap.size > SIZE_MAX) {
		goto out_end;
	} else {
		last = unmap.iova + unmap.size - 1;
	}
	/* Dirty pages are reported in the smallest IOMMU page size only */
	if (get_bitmap && (!c->dirty_tracking || bitmap.pgsize != pgsize))
		goto out_end;
	/* v2 refuses to cut a mapping; do_unmap() checks for itself */
	check_ends = c->v2 && !unmap_all;
	ends_at_top = !unmap_all && !(unmap.iova + unmap.size);
	if (check_ends &&
	    (ends_at_top || (unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR))) {
		rc = vfio_compat_check_cut(c, ioas, unmap.iova, last);
		if (rc)
			goto out_end;
	}
	/* Type1 unmaps nothing in a range that ends at 2^64, and says so */
	if (ends_at_top) {
		rc = 0;
		goto out_end;
	}

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR) {
		rc = vfio_compat_invalidate_vaddr(c, ioas, unmap.iova, last,
						  &unmapped);
	} else {
		report.ubitmap = bitmap.data;
		report.base = unmap.iova;
		report.pgsize = pgsize;
		rc = vfio_compat_do_unmap(c, ioas, unmap.iova, last, check_ends,
					  get_bitmap ? &report : NULL,
					  &unmapped);
	}
out_end:
	vfio_compat_end(c, ioas);
	if (rc)
		return rc;
	unmap.size = unmapped;
	return IOMMUFD_FAIL(minsz, copy_to_user(arg, &unmap, minsz)) ?
	       -EFAULT : 0;
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
		if (container->view)
			return -ENOTTY;
		return vfio_compat_dirty_pages(container, arg);
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

static void vfio_compat_container_init(struct vfio_compat_container *c)
{
	mutex_init(&c->lock);
	mutex_init(&c->devices_lock);
	mutex_init(&c->pin_lock);
	INIT_LIST_HEAD(&c->groups);
	INIT_LIST_HEAD(&c->devices);
	c->dmas = RB_ROOT_CACHED;
	xa_init(&c->pins);
	c->dma_limit = READ_ONCE(vfio_compat_dma_entry_limit);
}

/**
 * vfio_compat_view_alloc() - make the container state of a /dev/iommu file
 * @ictx: the file's context
 *
 * Return: the view or NULL.
 */
struct vfio_compat_container *vfio_compat_view_alloc(struct iommufd_ctx *ictx)
{
	struct vfio_compat_container *c;

	c = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT));
	if (!c)
		return NULL;
	vfio_compat_container_init(c);
	c->view = true;
	c->ictx = ictx;
	return c;
}

/**
 * vfio_compat_container_open() - make a container's state
 * @type: VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_NESTING_IOMMU
 *
 * Return: the container or an ERR_PTR.
 */
struct vfio_compat_container *vfio_compat_container_open(unsigned long type)
{
	struct vfio_compat_container *c;
	u32 access_id;
	int rc;

	c = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT));
	if (!c)
		return ERR_PTR(-ENOMEM);
	vfio_compat_container_init(c);
	c->iommu_set = true;
	c->v2 = type != VFIO_TYPE1_IOMMU;
	c->nesting = type == VFIO_TYPE1_NESTING_IOMMU;

	c->ictx = iommufd_ctx_alloc("vfio");
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
	c->pgsize_bitmap = vfio_compat_ioas_pgsize_bitmap(c->ioas);
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
		c->v2 ? "v2" : "", current->comm, task_tgid_nr(current));
	return c;

err_access:
	iommufd_access_destroy(c->access);
err_ctx:
	iommufd_ctx_destroy(c->ictx);
err_free:
	mutex_destroy(&c->pin_lock);
	mutex_destroy(&c->devices_lock);
	mutex_destroy(&c->lock);
	kfree(c);
	return ERR_PTR(rc);
}

/**
 * vfio_compat_container_release() - free a container's state
 * @container: the container; vfio.ko detached every group, or the view's
 *	file is being released
 */
void vfio_compat_container_release(struct vfio_compat_container *container)
{
	WARN_ON(!list_empty(&container->groups));
	WARN_ON(!list_empty(&container->devices));
	if (!container->view) {
		iommufd_access_destroy(container->access);
		iommufd_ctx_destroy(container->ictx);
	}
	/* The IOAS is gone with its areas: forget their dirty bitmaps */
	mutex_lock(&container->pin_lock);
	vfio_compat_dirty_free_all(container);
	mutex_unlock(&container->pin_lock);
	WARN_ON(!xa_empty(&container->pins));
	xa_destroy(&container->pins);
	mutex_destroy(&container->pin_lock);
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

/* Container lock held */
static void vfio_compat_add_group(struct vfio_compat_container *c,
				  struct vfio_compat_group *cgroup)
{
	mutex_lock(&c->pin_lock);
	list_add_tail(&cgroup->next, &c->groups);
	/* An IOMMU-backed group may DMA anywhere until it uses pin_pages */
	cgroup->pinned_scope = !cgroup->idev;
	if (!cgroup->pinned_scope)
		c->num_non_pinned_groups++;
	mutex_unlock(&c->pin_lock);
}

/**
 * vfio_compat_attach_group() - attach a group to a container
 * @container: the container
 * @group: the group
 * @emulated: a group of emulated devices, with no IOMMU
 *
 * Return: 0, -EBUSY while a vaddr is invalid, -EINVAL when already
 * attached or its reserved regions clash with mappings, -EPERM without MSI
 * isolation (unless allow_unsafe_interrupts), or another negative errno.
 */
int vfio_compat_attach_group(struct vfio_compat_container *container,
			     struct iommu_group *group, bool emulated)
{
	struct vfio_compat_group *cgroup;
	u32 pt_id;
	int rc;

	mutex_lock(&container->lock);
	/* Attaching may pin, from user addresses */
	if (container->vaddr_invalid_count) {
		rc = -EBUSY;
		goto out_unlock;
	}
	if (vfio_compat_find_group(container, group)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	cgroup = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*cgroup),
					    GFP_KERNEL_ACCOUNT));
	if (!cgroup) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	cgroup->group = group;
	if (emulated) {
		vfio_compat_add_group(container, cgroup);
		rc = 0;
		goto out_unlock;
	}
	/*
	 * Type1 has a nesting container's domains enable nesting, which no
	 * IOMMU driver of x86 offers (iommu_enable_nesting() is -EINVAL); the
	 * engine's domains cannot nest either.
	 */
	if (container->nesting) {
		rc = -EINVAL;
		goto err_free;
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
	container->pgsize_bitmap =
		vfio_compat_ioas_pgsize_bitmap(container->ioas);
	vfio_compat_add_group(container, cgroup);
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
 * As type1, a container left with no group loses its mappings; while dirty
 * pages are tracked, a group that could DMA anywhere leaves every mapped
 * page dirty.
 */
void vfio_compat_detach_group(struct vfio_compat_container *container,
			      struct iommu_group *group)
{
	struct vfio_compat_group *cgroup;

	mutex_lock(&container->lock);
	cgroup = vfio_compat_find_group(container, group);
	if (WARN_ON(!cgroup))
		goto out_unlock;
	mutex_lock(&container->pin_lock);
	list_del(&cgroup->next);
	mutex_unlock(&container->pin_lock);
	if (cgroup->idev) {
		iommufd_device_detach(cgroup->idev);
		iommufd_device_destroy(cgroup->idev);
		container->pgsize_bitmap =
			vfio_compat_ioas_pgsize_bitmap(container->ioas);
	}
	if (list_empty(&container->groups)) {
		u64 unmapped;

		vfio_compat_do_unmap(container, container->ioas, 0, ULONG_MAX,
				     false, NULL, &unmapped);
	}
	if (!cgroup->pinned_scope) {
		mutex_lock(&container->pin_lock);
		container->num_non_pinned_groups--;
		vfio_compat_dirty_mark_all(container);
		mutex_unlock(&container->pin_lock);
	}
	kfree(cgroup);
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
