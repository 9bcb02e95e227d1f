// SPDX-License-Identifier: GPL-2.0
/*
 * Native dirty tracking: the IOMMU's dirty bits of a HWPT's domain, read
 * into a user's bitmap (IOMMU_HWPT_SET_DIRTY_TRACKING and
 * IOMMU_HWPT_GET_DIRTY_BITMAP, whose ioctls are in hw_pagetable.c).
 *
 * A domain that tracks dirty pages has dirty_ops (struct iommu_dirty_ops):
 * the engine turns tracking on and off with set_dirty_tracking() and walks
 * the live areas of the IOAS with read_and_clear_dirty().  Upstream, a
 * domain reports each dirty range with iommu_dirty_bitmap_record(), which
 * writes through the kernel's iova_bitmap; Debian's kernels do not build
 * it (no CONFIG_IOMMUFD_DRIVER), so there that helper loses the bits.
 * Here the struct iommu_dirty_bitmap a domain gets is embedded in a struct
 * iopt_dirty, its ->bitmap is NULL (so that the header's helper, if a
 * domain called it, would only gather the IOTLB range) and the domain
 * records with iopt_dirty_record(), which finds the iopt_dirty around it.
 * Only device ops whose domains record so accept
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the test build's mock devices do, VFIO
 * groups do not.
 *
 * The user's bitmap has a bit per page_size bytes from the request's first
 * IOVA, in u64 words, at any byte address.  It is written a window at a
 * time, a page of words: the window's words are read from the user first
 * (a bitmap that is not user memory fails before any dirty bit is
 * cleared), the domain's dirty bits of the window's IOVAs are read under
 * iova_rwsem into a kernel copy, and the words are written back ORed with
 * them: the bits of clean pages keep what the user had, as upstream.  A
 * dirty IOMMU page larger than what is left of the window (a huge page)
 * sets its bits in the next windows too, which its domain will not report
 * again once it cleared it.
 */
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "iommufd/io_pagetable.h"
#include "iommufd/iommufd_private.h"

/* The words of the user's bitmap handled at a time */
#define IOPT_DIRTY_WINDOW_WORDS (PAGE_SIZE / sizeof(u64))
#define IOPT_DIRTY_WINDOW_BITS (IOPT_DIRTY_WINDOW_WORDS * 64)

/**
 * struct iopt_dirty - where a domain's read_and_clear_dirty() records
 * @dirty: what the domain gets; its ->bitmap is NULL, see above
 * @gather: the IOVAs whose IOTLB entries to flush after clearing
 * @last_iova: the last IOVA of the request
 * @pgshift: log2 of the page size of a bit
 * @words: the bits of the current window, or NULL when only clearing
 * @win_iova: the IOVA of the window's first bit
 * @win_last: the last IOVA of the window
 * @ahead: a dirty range went on past the window, up to @ahead_last
 * @ahead_last: see @ahead
 */
struct iopt_dirty {
	struct iommu_dirty_bitmap dirty;
	struct iommu_iotlb_gather gather;
	unsigned long last_iova;
	unsigned int pgshift;
	u64 *words;
	unsigned long win_iova;
	unsigned long win_last;
	bool ahead;
	unsigned long ahead_last;
};

/* Set the bits of the window for [first, last], both inside it */
static void iopt_dirty_set(struct iopt_dirty *d, unsigned long first,
			   unsigned long last)
{
	unsigned long bit = (first - d->win_iova) >> d->pgshift;
	unsigned long end = ((last - d->win_iova) >> d->pgshift) + 1;

	while (bit < end) {
		unsigned int shift = bit % 64;
		unsigned int len = min_t(unsigned long, end - bit, 64 - shift);

		d->words[bit / 64] |= len == 64 ? ~0ULL :
				      GENMASK_ULL(shift + len - 1, shift);
		bit += len;
	}
}

/**
 * iopt_dirty_record() - a domain reports dirty IOVAs
 * @dirty: what the engine gave its read_and_clear_dirty()
 * @iova: the first dirty IOVA
 * @length: how many bytes from it are dirty
 *
 * What iommu_dirty_bitmap_record() is upstream, for the dirty_ops of
 * domains the engine allocates with IOMMU_HWPT_ALLOC_DIRTY_TRACKING: only
 * the engine calls those, always with the struct iommu_dirty_bitmap of a
 * struct iopt_dirty.  The range may start before and end after what the
 * engine asked about: a whole IOMMU page is dirty.
 */
void iopt_dirty_record(struct iommu_dirty_bitmap *dirty, unsigned long iova,
		       unsigned long length)
{
	struct iopt_dirty *d = container_of(dirty, struct iopt_dirty, dirty);
	unsigned long last;

	if (!length || WARN_ON_ONCE(check_add_overflow(iova, length - 1,
						       &last)))
		return;
	iommu_iotlb_gather_add_range(&d->gather, iova, length);
	if (!d->words)
		return;

	if (last > d->win_last && d->win_last < d->last_iova) {
		unsigned long ahead = min(last, d->last_iova);

		d->ahead_last = d->ahead ? max(d->ahead_last, ahead) : ahead;
		d->ahead = true;
	}
	iova = max(iova, d->win_iova);
	last = min(last, d->win_last);
	if (iova <= last)
		iopt_dirty_set(d, iova, last);
}

/*
 * Read the dirty bits of [first, last] into @d: every IOVA must be in a
 * live area.  iova_rwsem is held, so that the areas, and what they map in
 * the domain, stay.
 */
static int iopt_dirty_walk(struct io_pagetable *iopt,
			   struct iommu_domain *domain, unsigned long first,
			   unsigned long last, unsigned long flags,
			   struct iopt_dirty *d)
{
	const struct iommu_dirty_ops *ops = iommufd_domain_dirty_ops(domain);
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_contig_init(&iter, iopt, first, last); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long end = min(last, iopt_area_last_iova(area));

		rc = ops->read_and_clear_dirty(domain, iter.cur_iova,
					       end - iter.cur_iova + 1, flags,
					       &d->dirty);
		if (rc)
			return rc;
	}
	return iopt_area_contig_done(&iter) ? 0 : -EINVAL;
}

/* The checks that need the table: alignment and no gap in the range */
static int iopt_dirty_check_range(struct io_pagetable *iopt,
				  unsigned long iova, unsigned long last)
{
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;
	int rc = 0;

	down_read(&iopt->iova_rwsem);
	if ((iova | (last + 1)) & (iopt->iova_alignment - 1)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	for (area = iopt_area_contig_init(&iter, iopt, iova, last); area;
	     area = iopt_area_contig_next(&iter))
		;
	if (!iopt_area_contig_done(&iter))
		rc = -EINVAL;
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/* One window: @ubits are the user's words, @d->words the kernel's */
static int iopt_dirty_read_window(struct io_pagetable *iopt,
				  struct iommu_domain *domain,
				  struct iopt_dirty *d, u64 *ubits,
				  u64 __user *uptr, unsigned long nwords,
				  unsigned long flags)
{
	size_t bytes = nwords * sizeof(u64);
	bool any = false;
	unsigned long i;
	int rc;

	if (IOMMUFD_FAIL(bytes, copy_from_user(ubits, uptr, bytes)))
		return -EFAULT;
	memset(d->words, 0, bytes);
	if (d->ahead) {
		iopt_dirty_set(d, d->win_iova, min(d->ahead_last, d->win_last));
		d->ahead = d->ahead_last > d->win_last;
	}

	down_read(&iopt->iova_rwsem);
	rc = iopt_dirty_walk(iopt, domain, d->win_iova, d->win_last, flags, d);
	if (!(flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_sync(domain, &d->gather);
	up_read(&iopt->iova_rwsem);
	if (rc)
		return rc;

	for (i = 0; i != nwords; i++) {
		if (d->words[i] & ~ubits[i])
			any = true;
		ubits[i] |= d->words[i];
	}
	if (any && IOMMUFD_FAIL(bytes, copy_to_user(uptr, ubits, bytes)))
		return -EFAULT;
	return 0;
}

/**
 * iopt_read_dirty() - read a domain's dirty bits into a user's bitmap
 * @iopt: the table the domain mirrors
 * @domain: the domain, with dirty_ops, tracking turned on
 * @iova: the IOVA of the bitmap's first bit
 * @length: the length of the range
 * @page_size: the bytes each bit stands for, a power of two
 * @bitmap: the user's bitmap, u64 words
 * @flags: IOMMU_DIRTY_NO_CLEAR to leave the domain's dirty bits set
 *
 * Sets the bits of the dirty pages, leaves the others as they are.  The
 * range must be aligned to @page_size and to the table's IOVA alignment,
 * and mapped by live areas without a gap.
 *
 * Return: 0, -EINVAL for a bad range or page size, -EOVERFLOW for a range
 * that wraps, -EFAULT for a bitmap that is not user memory, -ENOMEM,
 * -EINTR, or the domain's errno.  On an error the dirty bits of the
 * windows already written are cleared (unless IOMMU_DIRTY_NO_CLEAR).
 */
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long iova, unsigned long length,
		    unsigned long page_size, u64 __user *bitmap,
		    unsigned long flags)
{
	struct iopt_dirty d = {};
	unsigned long nbits, bit, last;
	u64 *ubits;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (!is_power_of_2(page_size) || ((iova | (last + 1)) & (page_size - 1)))
		return -EINVAL;
	rc = iopt_dirty_check_range(iopt, iova, last);
	if (rc)
		return rc;

	d.words = IOMMUFD_FAIL(NULL, kmalloc(PAGE_SIZE, GFP_KERNEL));
	ubits = IOMMUFD_FAIL(NULL, kmalloc(PAGE_SIZE, GFP_KERNEL));
	if (!d.words || !ubits) {
		rc = -ENOMEM;
		goto out_free;
	}
	iommu_dirty_bitmap_init(&d.dirty, NULL, &d.gather);
	d.last_iova = last;
	d.pgshift = __ffs(page_size);
	nbits = ((last - iova) >> d.pgshift) + 1;

	for (bit = 0; bit < nbits; bit += IOPT_DIRTY_WINDOW_BITS) {
		unsigned long n = min_t(unsigned long, nbits - bit,
					 IOPT_DIRTY_WINDOW_BITS);

		d.win_iova = iova + (bit << d.pgshift);
		d.win_last = d.win_iova + ((n - 1) << d.pgshift) +
			     (page_size - 1);
		rc = iopt_dirty_read_window(iopt, domain, &d, ubits,
					    bitmap + bit / 64,
					    DIV_ROUND_UP(n, 64), flags);
		if (rc)
			break;
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		cond_resched();
	}

out_free:
	kfree(ubits);
	kfree(d.words);
	return rc;
}

/**
 * iopt_set_dirty_tracking() - turn a domain's dirty tracking on or off
 * @iopt: the table the domain mirrors
 * @domain: the domain
 * @enable: on or off
 *
 * Turning it on first clears every dirty bit of the domain, so that what
 * is read afterwards was dirtied since.
 *
 * Return: 0, -EOPNOTSUPP for a domain without dirty_ops, or the domain's
 * errno.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	const struct iommu_dirty_ops *ops = iommufd_domain_dirty_ops(domain);
	struct iopt_dirty d = {};
	struct iopt_area *area;
	int rc = 0;

	if (!ops)
		return -EOPNOTSUPP;
	iommu_dirty_bitmap_init(&d.dirty, NULL, &d.gather);

	down_read(&iopt->iova_rwsem);
	if (enable) {
		for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
		     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
			/* A busy area is new (clean) or going away */
			if (!area->pages)
				continue;
			rc = ops->read_and_clear_dirty(domain,
						       iopt_area_iova(area),
						       iopt_area_length(area),
						       0, &d.dirty);
			if (rc)
				break;
		}
		iommu_iotlb_sync(domain, &d.gather);
	}
	if (!rc)
		rc = ops->set_dirty_tracking(domain, enable);
	up_read(&iopt->iova_rwsem);
	return rc;
}
