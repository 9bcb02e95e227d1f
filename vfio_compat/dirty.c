// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page tracking of type1 containers: VFIO_IOMMU_DIRTY_PAGES and the
 * bitmap of UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP.
 *
 * No IOMMU here tracks dirtiness, so the answers are type1's: while a group
 * that may DMA anywhere is attached (an IOMMU-backed group none of whose
 * devices used pin_pages), every mapped page is dirty.  Otherwise the dirty
 * pages are those pinned through pin_pages, or written through dma_rw,
 * since tracking started or the bitmap was last read, and those still
 * pinned.  Each mapping keeps a bitmap of its PAGE_SIZE pages while
 * tracking is on; pin_pages and dma_rw set bits in it.
 *
 * A bitmap given by the user has one bit per page of the smallest IOMMU
 * page size, from the range's first IOVA, in u64 words.  Each mapping is
 * written as type1 writes it: from the word that holds its first bit to the
 * word that holds its last, where the bits before the mapping in its first
 * word are ORed with what the user's word held, and the bits after it in
 * its last word are cleared (but for a mapping that fits in one word, whose
 * word is ORed whole).  Bits of words no mapping touches are left alone.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vfio_compat/vfio_compat.h"

/* Words of the user's bitmap written with one copy */
#define VFIO_COMPAT_DIRTY_CHUNK (PAGE_SIZE / sizeof(u64))

static void vfio_compat_set_bits(u64 *words, unsigned long start,
				 unsigned long n)
{
	while (n) {
		unsigned int bit = start % 64;
		unsigned int len = min_t(unsigned long, n, 64 - bit);
		u64 mask = len == 64 ? ~0ULL : GENMASK_ULL(bit + len - 1, bit);

		words[start / 64] |= mask;
		start += len;
		n -= len;
	}
}

/**
 * vfio_compat_dirty_check_bitmap() - type1's checks of a user's bitmap
 * @bitmap: the user's struct vfio_bitmap
 * @size: the length of the range it describes
 *
 * Return: 0, or -EINVAL when the bitmap is not user memory, its page size
 * is 0, or its size is 0, too small for the range or over type1's maximum.
 */
int vfio_compat_dirty_check_bitmap(struct vfio_bitmap *bitmap, u64 size)
{
	u64 npages;

	if (!bitmap->pgsize ||
	    !access_ok(bitmap->data, bitmap->size))
		return -EINVAL;
	npages = size >> __ffs64(bitmap->pgsize);
	if (!npages || !bitmap->size ||
	    bitmap->size > VFIO_COMPAT_DIRTY_BITMAP_MAX ||
	    bitmap->size < VFIO_COMPAT_DIRTY_BYTES(npages))
		return -EINVAL;
	return 0;
}

/* Set the bits of the pages pin_pages holds pinned in @dma */
static void vfio_compat_dirty_add_pins(struct vfio_compat_container *c,
				       struct vfio_compat_dma *dma)
{
	unsigned long first = dma->node.start >> PAGE_SHIFT;
	unsigned long index;
	void *entry;

	xa_for_each_range(&c->pins, index, entry, first,
			  dma->node.last >> PAGE_SHIFT)
		__set_bit(index - first, dma->bitmap);
}

/**
 * vfio_compat_dirty_add() - give a mapping its bitmap when tracking
 * @c: the container, pin_lock held
 * @iova: the mapping's first IOVA
 * @last: its last IOVA
 * @pgsize: the smallest IOMMU page size
 *
 * Return: 0, -EINVAL for a mapping of more pages than a bitmap may
 * describe, or -ENOMEM.
 */
int vfio_compat_dirty_add(struct vfio_compat_container *c, unsigned long iova,
			  unsigned long last, unsigned long pgsize)
{
	unsigned long npages = (last - iova + 1) >> PAGE_SHIFT;
	struct vfio_compat_dma *dma;

	lockdep_assert_held(&c->pin_lock);
	if ((last - iova + 1) / pgsize > VFIO_COMPAT_DIRTY_PAGES_MAX)
		return -EINVAL;
	dma = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*dma), GFP_KERNEL_ACCOUNT));
	if (!dma)
		return -ENOMEM;
	dma->node.start = iova;
	dma->node.last = last;
	dma->bitmap = IOMMUFD_FAIL(NULL, kvcalloc(BITS_TO_LONGS(npages),
						  sizeof(long),
						  GFP_KERNEL_ACCOUNT));
	if (!dma->bitmap) {
		kfree(dma);
		return -ENOMEM;
	}
	vfio_compat_dirty_add_pins(c, dma);
	interval_tree_insert(&dma->node, &c->dmas);
	return 0;
}

/**
 * vfio_compat_dirty_free_all() - forget every dirty bitmap
 * @c: the container, pin_lock held
 */
void vfio_compat_dirty_free_all(struct vfio_compat_container *c)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(&c->dmas, 0, ULONG_MAX)))
		vfio_compat_remove_dma(c, container_of(node,
						       struct vfio_compat_dma,
						       node));
}

/**
 * vfio_compat_dirty_mark() - note that pages were dirtied
 * @c: the container, pin_lock held
 * @iova: the first IOVA dirtied
 * @last: the last IOVA dirtied
 *
 * Does nothing unless dirty pages are tracked.
 */
void vfio_compat_dirty_mark(struct vfio_compat_container *c,
			    unsigned long iova, unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&c->pin_lock);
	if (!c->dirty_tracking)
		return;
	for (node = interval_tree_iter_first(&c->dmas, iova, last); node;
	     node = interval_tree_iter_next(node, iova, last)) {
		struct vfio_compat_dma *dma =
			container_of(node, struct vfio_compat_dma, node);
		unsigned long first = max(iova, node->start) - node->start;
		unsigned long end = min(last, node->last) - node->start;

		bitmap_set(dma->bitmap, first >> PAGE_SHIFT,
			   (end >> PAGE_SHIFT) - (first >> PAGE_SHIFT) + 1);
	}
}

/**
 * vfio_compat_dirty_mark_all() - note that every mapped page may be dirty
 * @c: the container, pin_lock held
 *
 * For a group that could DMA anywhere going away: what it dirtied must
 * still be reported.  Does nothing unless dirty pages are tracked.
 */
void vfio_compat_dirty_mark_all(struct vfio_compat_container *c)
{
	vfio_compat_dirty_mark(c, 0, ULONG_MAX);
}

/**
 * vfio_compat_dirty_report() - write a mapping's dirty bits into a user's
 *	bitmap
 * @c: the container, pin_lock held
 * @dma: the mapping, at or after @base
 * @base: the IOVA of the bitmap's first bit
 * @pgsize: the page size of a bit: the smallest IOMMU page size
 * @ubitmap: the user's bitmap, large enough (checked by the caller)
 *
 * The mapping's bits are not cleared.
 *
 * Return: 0 or -EFAULT.
 */
int vfio_compat_dirty_report(struct vfio_compat_container *c,
			     struct vfio_compat_dma *dma, unsigned long base,
			     unsigned long pgsize, u64 __user *ubitmap)
{
	unsigned int pgshift = __ffs(pgsize);
	unsigned long nbits = vfio_compat_dma_size(dma) >> pgshift;
	unsigned long bit_offset = (dma->node.start - base) >> pgshift;
	unsigned int shift = bit_offset % 64;
	unsigned long total = nbits + shift, nwords = DIV_ROUND_UP(total, 64);
	unsigned int pages_per_bit_shift = pgshift - PAGE_SHIFT;
	bool all = c->num_non_pinned_groups;
	unsigned long w, n;
	u64 leftover = 0;
	u64 *buf;
	int rc = 0;

	lockdep_assert_held(&c->pin_lock);
	ubitmap += bit_offset / 64;
	if (shift && IOMMUFD_FAIL(-EFAULT, get_user(leftover, ubitmap)))
		return -EFAULT;
	buf = IOMMUFD_FAIL(NULL, kmalloc_array(VFIO_COMPAT_DIRTY_CHUNK,
					       sizeof(*buf), GFP_KERNEL));
	if (!buf)
		return -ENOMEM;

	for (w = 0; w < nwords; w += n) {
		/* Bits [lo, hi) of these words are the mapping's */
		unsigned long lo = max(w * 64, (unsigned long)shift);
		unsigned long hi;

		n = min(nwords - w, VFIO_COMPAT_DIRTY_CHUNK);
		hi = min((w + n) * 64, total);
		memset(buf, 0, n * sizeof(*buf));
		if (all) {
			vfio_compat_set_bits(buf, lo - w * 64, hi - lo);
		} else {
			unsigned long npages = vfio_compat_dma_size(dma) >>
					       PAGE_SHIFT;
			unsigned long end = min(npages,
						(hi - shift) << pages_per_bit_shift);
			unsigned long page = (lo - shift) << pages_per_bit_shift;

			for_each_set_bit_from(page, dma->bitmap, end)
				vfio_compat_set_bits(buf,
						     (page >> pages_per_bit_shift) +
						     shift - w * 64, 1);
		}
		if (!w)
			buf[0] |= leftover;
		if (IOMMUFD_FAIL(n * sizeof(*buf),
				 copy_to_user(ubitmap + w, buf,
					      n * sizeof(*buf)))) {
			rc = -EFAULT;
			break;
		}
	}
	kfree(buf);
	return rc;
}

/* After a read: only the pages still pinned stay dirty */
static void vfio_compat_dirty_reset(struct vfio_compat_container *c,
				    struct vfio_compat_dma *dma)
{
	bitmap_zero(dma->bitmap, vfio_compat_dma_size(dma) >> PAGE_SHIFT);
	vfio_compat_dirty_add_pins(c, dma);
}

/* A bitmap for every mapping, which the container's lock keeps as they are */
static int vfio_compat_dirty_start(struct vfio_compat_container *c)
{
	struct io_pagetable *iopt = &c->ioas->iopt;
	struct iopt_area *area;
	unsigned long pgsize;
	int rc = 0;

	mutex_lock(&c->lock);
	if (c->dirty_tracking)
		goto out_unlock;
	pgsize = vfio_compat_pgsize(c, c->ioas);
	mutex_lock(&c->pin_lock);
	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		rc = vfio_compat_dirty_add(c, iopt_area_iova(area),
					   iopt_area_last_iova(area), pgsize);
		if (rc)
			break;
	}
	up_read(&iopt->iova_rwsem);
	if (rc)
		vfio_compat_dirty_free_all(c);
	else
		c->dirty_tracking = true;
	mutex_unlock(&c->pin_lock);
out_unlock:
	mutex_unlock(&c->lock);
	return rc;
}

static void vfio_compat_dirty_stop(struct vfio_compat_container *c)
{
	mutex_lock(&c->lock);
	mutex_lock(&c->pin_lock);
	if (c->dirty_tracking) {
		c->dirty_tracking = false;
		vfio_compat_dirty_free_all(c);
	}
	mutex_unlock(&c->pin_lock);
	mutex_unlock(&c->lock);
}

static int vfio_compat_dirty_get(struct vfio_compat_container *c,
				 struct vfio_iommu_type1_dirty_bitmap_get *range)
{
	u64 __user *ubitmap = range->bitmap.data;
	unsigned long last = range->iova + range->size - 1;
	struct interval_tree_node *node;
	struct vfio_compat_dma *dma;
	unsigned long pgsize;
	int rc = 0;

	mutex_lock(&c->lock);
	pgsize = vfio_compat_pgsize(c, c->ioas);
	if (range->bitmap.pgsize != pgsize || range->iova & (pgsize - 1) ||
	    !range->size || range->size & (pgsize - 1) || !c->dirty_tracking) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* The range must not cut a mapping */
	dma = vfio_compat_find_dma(c, range->iova);
	if (dma && dma->node.start != range->iova)
		rc = -EINVAL;
	dma = vfio_compat_find_dma(c, last);
	if (dma && dma->node.last != last)
		rc = -EINVAL;
	if (rc)
		goto out_unlock;

	mutex_lock(&c->pin_lock);
	for (node = interval_tree_iter_first(&c->dmas, range->iova, last);
	     node; node = interval_tree_iter_next(node, range->iova, last)) {
		dma = container_of(node, struct vfio_compat_dma, node);
		rc = vfio_compat_dirty_report(c, dma, range->iova, pgsize,
					      ubitmap);
		if (rc)
			break;
		vfio_compat_dirty_reset(c, dma);
	}
	mutex_unlock(&c->pin_lock);
out_unlock:
	mutex_unlock(&c->lock);
	return rc;
}

/**
 * vfio_compat_dirty_pages() - VFIO_IOMMU_DIRTY_PAGES of a private container
 * @c: the container
 * @arg: the user's struct vfio_iommu_type1_dirty_bitmap
 *
 * Return: as vfio_iommu_type1 returns: -EACCES for a v1 container,
 * -EINVAL for a bad argument or GET_BITMAP while not tracking, -EFAULT, or
 * -ENOMEM.
 */
int vfio_compat_dirty_pages(struct vfio_compat_container *c,
			    void __user *arg)
{
	u32 mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
		   VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
		   VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	struct vfio_iommu_type1_dirty_bitmap dirty;
	unsigned long minsz;
	int rc;

	if (!c->v2)
		return -EACCES;
	minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	if (copy_from_user(&dirty, arg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || dirty.flags & ~mask)
		return -EINVAL;
	/* Exactly one operation */
	if (hweight32(dirty.flags) != 1)
		return -EINVAL;

	switch (dirty.flags) {
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_START:
		return vfio_compat_dirty_start(c);
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP:
		vfio_compat_dirty_stop(c);
		return 0;
	default:
		break;
	}

	if (dirty.argsz - minsz < sizeof(range))
		return -EINVAL;
	if (copy_from_user(&range, arg + minsz, sizeof(range)))
		return -EFAULT;
	if (range.iova + range.size < range.iova)
		return -EINVAL;
	rc = vfio_compat_dirty_check_bitmap(&range.bitmap, range.size);
	if (rc)
		return rc;
	return vfio_compat_dirty_get(c, &range);
}
