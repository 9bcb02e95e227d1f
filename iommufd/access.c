// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel access to an IOAS: the path of emulated devices (mdev-style
 * drivers, VFIO's pin_pages and dma_rw) that have no IOMMU of their own.
 *
 * An access is attached to one IOAS.  It may pin the pages behind a range
 * of IOVA (each pinned page is a user of its iopt_pages, so it stays
 * pinned however the IOAS changes) or copy to and from it.  When
 * userspace unmaps a range that an access has pinned, the unmap calls the
 * access's unmap callback, which must unpin, and retries; an area with
 * access pins is never removed under them.
 *
 * Locks: access::ioas_lock, then the io_pagetable locks.
 */
#include <linux/slab.h>

#include "iommufd/iommufd_private.h"

/**
 * iommufd_access_iova_alignment() - the IOVA alignment an access needs
 * @access: the access
 *
 * Return: PAGE_SIZE for one that pins pages, else 1.
 */
unsigned long iommufd_access_iova_alignment(struct iommufd_access *access)
{
	return access->ops->needs_pin_pages ? PAGE_SIZE : 1;
}

/**
 * iommufd_access_create() - make an access object
 * @ictx: the file's context
 * @ops: the user's callbacks
 * @data: passed to @ops
 * @id: receives the object's id
 *
 * Return: the access, published and not attached, or an ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;
	struct iommufd_object *obj;

	obj = iommufd_object_alloc(ictx, sizeof(*access), IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	access = container_of(obj, struct iommufd_access, obj);
	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->ioas_lock);
	/* The creator holds it until iommufd_access_destroy() */
	refcount_inc(&access->obj.users);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}

/**
 * iommufd_access_destroy() - detach and destroy an access
 * @access: from iommufd_access_create()
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	iommufd_object_destroy_owned(access->ictx, &access->obj);
}

/**
 * iommufd_access_destroy_object() - release an access object
 * @obj: the access's object
 */
void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	iommufd_access_detach(access);
	mutex_destroy(&access->ioas_lock);
}

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: the access, not attached
 * @ioas_id: the IOAS's id in the access's file
 *
 * Return: 0, -EINVAL when already attached, -ENOENT for no such IOAS,
 * -EADDRINUSE when the IOAS's areas do not fit the access's alignment.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	struct iommufd_ioas *ioas;
	int rc;

	mutex_lock(&access->ioas_lock);
	if (access->ioas) {
		rc = -EINVAL;
		goto out_unlock;
	}
	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	rc = iopt_add_access(&ioas->iopt, access, &access->iopt_access_id);
	if (!rc) {
		/* Keep the user reference for as long as we are attached */
		refcount_inc(&ioas->obj.users);
		access->ioas = ioas;
	}
	iommufd_put_object(access->ictx, &ioas->obj);
out_unlock:
	mutex_unlock(&access->ioas_lock);
	return rc;
}

/**
 * iommufd_access_detach() - detach an access from its IOAS
 * @access: the access; it must have unpinned everything
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&access->ioas_lock);
	ioas = access->ioas;
	if (ioas) {
		iopt_remove_access(&ioas->iopt, access->iopt_access_id);
		access->ioas = NULL;
		refcount_dec(&ioas->obj.users);
	}
	mutex_unlock(&access->ioas_lock);
}

/*
 * Hold an access found in a table's list, as iommufd_lock_obj() would but
 * the short-term user first.  iommufd_lock_obj() takes a user first,
 * which is safe only under the lock of the file's objects: here an
 * iommufd_object_destroy_owned() that has seen the short-term users at
 * zero could find that passing user and WARN.  A short-term user it has
 * not seen at zero is one it waits for, and until then its owner's user
 * keeps the users above zero.
 */
static bool iommufd_access_hold(struct iommufd_access *access)
{
	if (!refcount_inc_not_zero(&access->obj.shortterm_users))
		return false;
	refcount_inc(&access->obj.users);
	return true;
}

/**
 * iommufd_access_notify_unmap() - ask every access of a table to let go
 *	of an IOVA range
 * @iopt: the table
 * @iova: the range's first IOVA
 * @length: its length
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	struct iommufd_access *access;
	unsigned long index;

	xa_lock(&iopt->accesses);
	xa_for_each(&iopt->accesses, index, access) {
		if (!iommufd_access_hold(access))
			continue;
		xa_unlock(&iopt->accesses);
		access->ops->unmap(access->data, iova, length);
		iommufd_put_object(access->ictx, &access->obj);
		xa_lock(&iopt->accesses);
	}
	xa_unlock(&iopt->accesses);
}

/* The page indexes inside area->pages of [iova, last] */
static void iommufd_access_indexes(struct iopt_area *area, unsigned long iova,
				   unsigned long last, unsigned long *first_index,
				   unsigned long *last_index)
{
	*first_index = iopt_area_start_byte(area, iova) / PAGE_SIZE;
	*last_index = iopt_area_start_byte(area, last) / PAGE_SIZE;
}

/* Undo the pins of [iova, last_iova] in contiguous live areas */
static void iommufd_access_unpin_range(struct io_pagetable *iopt,
				       unsigned long iova,
				       unsigned long last_iova)
{
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;

	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long last = min(last_iova, iopt_area_last_iova(area));
		unsigned long first_index, last_index;

		iommufd_access_indexes(area, iter.cur_iova, last, &first_index,
				       &last_index);
		iopt_pages_access_unpin(area->pages, first_index, last_index);
		atomic_dec(&area->num_accesses);
	}
}

/**
 * iommufd_access_pin_pages() - pin the pages behind an IOVA range
 * @access: the access, attached
 * @iova: the range's first IOVA, page aligned
 * @length: its length, a multiple of PAGE_SIZE
 * @out_pages: receives a struct page per PAGE_SIZE of the range
 * @flags: IOMMUFD_ACCESS_RW_WRITE when the pages will be written
 *
 * Return: 0, -ENOENT when the range is not fully mapped, -EINVAL for bad
 * alignment or a range being unmapped, -EPERM for writing a read-only
 * mapping, or another negative errno; on failure nothing stays pinned.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	unsigned long last_iova;
	struct iopt_area *area;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;
	if ((iova | length) & ~PAGE_MASK)
		return -EINVAL;

	mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		mutex_unlock(&access->ioas_lock);
		return -ENOENT;
	}
	iopt = &access->ioas->iopt;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long last = min(last_iova, iopt_area_last_iova(area));
		unsigned long first_index, last_index;

		if (area->prevent_access ||
		    iopt_area_start_byte(area, iter.cur_iova) % PAGE_SIZE ||
		    (last != last_iova &&
		     (iopt_area_start_byte(area, last) + 1) % PAGE_SIZE)) {
			rc = -EINVAL;
			break;
		}
		if ((flags & IOMMUFD_ACCESS_RW_WRITE) &&
		    !(area->iommu_prot & IOMMU_WRITE)) {
			rc = -EPERM;
			break;
		}
		iommufd_access_indexes(area, iter.cur_iova, last, &first_index,
				       &last_index);
		rc = iopt_pages_access_pin(area->pages, first_index, last_index,
					   out_pages);
		if (rc)
			break;
		atomic_inc(&area->num_accesses);
		out_pages += last_index - first_index + 1;
	}
	if (!rc && !iopt_area_contig_done(&iter))
		rc = -ENOENT;
	/* Whatever the failure, the slices before iter.cur_iova are pinned */
	if (rc && iter.cur_iova > iova)
		iommufd_access_unpin_range(iopt, iova, iter.cur_iova - 1);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}

/**
 * iommufd_access_unpin_pages() - undo iommufd_access_pin_pages()
 * @access: the access
 * @iova: as pinned
 * @length: as pinned
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	unsigned long last_iova;

	if (WARN_ON(!length) ||
	    WARN_ON(check_add_overflow(iova, length - 1, &last_iova)))
		return;
	mutex_lock(&access->ioas_lock);
	if (!WARN_ON(!access->ioas)) {
		struct io_pagetable *iopt = &access->ioas->iopt;

		down_read(&iopt->iova_rwsem);
		iommufd_access_unpin_range(iopt, iova, last_iova);
		up_read(&iopt->iova_rwsem);
	}
	mutex_unlock(&access->ioas_lock);
}

/**
 * iommufd_access_rw() - read or write through an IOVA range
 * @access: the access, attached
 * @iova: the range's first IOVA
 * @data: the kernel buffer
 * @length: how many bytes
 * @flags: IOMMUFD_ACCESS_RW_WRITE to write @data into the range
 *
 * Return: 0, -ENOENT when the range is not fully mapped, -EPERM for
 * writing a read-only mapping, or another negative errno.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	unsigned long last_iova;
	struct iopt_area *area;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		mutex_unlock(&access->ioas_lock);
		return -ENOENT;
	}
	iopt = &access->ioas->iopt;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long last = min(last_iova, iopt_area_last_iova(area));
		unsigned long n = last - iter.cur_iova + 1;

		if (area->prevent_access) {
			rc = -EINVAL;
			break;
		}
		if (write && !(area->iommu_prot & IOMMU_WRITE)) {
			rc = -EPERM;
			break;
		}
		rc = iopt_pages_rw(area->pages,
				   iopt_area_start_byte(area, iter.cur_iova),
				   data, n, write);
		if (rc)
			break;
		data += n;
	}
	if (!rc && !iopt_area_contig_done(&iter))
		rc = -ENOENT;
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
