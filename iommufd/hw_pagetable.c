// SPDX-License-Identifier: GPL-2.0
/*
 * HW page tables: iommu_domains that mirror an IOAS.
 *
 * A HWPT_PAGING object owns one paging domain, allocated by a device's
 * ops so that the device can use it, and keeps it filled with every area
 * of its IOAS (iopt_table_add_domain).  It is made explicitly with
 * IOMMU_HWPT_ALLOC, or automatically when a device is attached to an IOAS
 * and no automatic domain of that IOAS suits it; an automatic one goes
 * away with its last device.
 *
 * A HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING has a domain with
 * dirty_ops: IOMMU_HWPT_SET_DIRTY_TRACKING and IOMMU_HWPT_GET_DIRTY_BITMAP
 * read its dirty bits (dirty.c).
 *
 * Nesting and fault queues are not supported: their flags and data types
 * are refused with -EOPNOTSUPP, and no HWPT is one that
 * IOMMU_HWPT_INVALIDATE could name.
 */
#include <linux/slab.h>

#include "iommufd/iommufd_private.h"

/**
 * iommufd_hwpt_paging_destroy() - release a HWPT: empty and free its domain
 * @obj: the HWPT's object
 */
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt =
		container_of(obj, struct iommufd_hwpt_paging, obj);
	struct iommufd_ioas *ioas = hwpt->ioas;

	WARN_ON(hwpt->devices);
	if (!list_empty(&hwpt->hwpt_item)) {
		mutex_lock(&ioas->mutex);
		list_del(&hwpt->hwpt_item);
		mutex_unlock(&ioas->mutex);
		iopt_table_remove_domain(&ioas->iopt, hwpt->domain);
	}
	if (hwpt->domain)
		iommu_domain_free(hwpt->domain);
	refcount_dec(&ioas->obj.users);
}

/**
 * iommufd_hwpt_paging_mirror() - fill a HWPT's domain with its IOAS
 * @hwpt: the HWPT, not yet mirroring
 * @idev: the device it was allocated for
 *
 * Some IOMMU drivers (virtio-iommu) set a domain's aperture and page sizes
 * only when the first device attaches: an automatic HWPT is mirrored after
 * its device is attached, as type1 replays mappings after attaching.
 *
 * Return: 0 or a negative errno, with nothing mirrored.
 */
int iommufd_hwpt_paging_mirror(struct iommufd_hwpt_paging *hwpt,
			       struct iommufd_device *idev)
{
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);

	/* Before any mapping: drivers only force snooping on empty domains */
	if (idev->ops->enforce_cache_coherency)
		hwpt->enforce_cache_coherency =
			idev->ops->enforce_cache_coherency(idev, hwpt->domain);
	rc = iopt_table_add_domain(&hwpt->ioas->iopt, hwpt->domain);
	if (rc)
		return rc;
	list_add_tail(&hwpt->hwpt_item, &hwpt->ioas->hwpt_list);
	return 0;
}

/**
 * iommufd_hwpt_paging_alloc() - make a HWPT for a device over an IOAS
 * @ictx: the file's context
 * @ioas: the IOAS; its mutex is held
 * @idev: the device whose ops allocate the domain
 * @flags: IOMMU_HWPT_ALLOC_* flags the device's ops understand
 * @auto_domain: made by a device attach, destroyed with its last device;
 *	the caller attaches the device, then calls
 *	iommufd_hwpt_paging_mirror()
 *
 * Return: the HWPT, not published, or an ERR_PTR.  Unless @auto_domain it
 * already mirrors the IOAS.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool auto_domain)
{
	const struct iommu_dirty_ops *dirty_ops;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *obj;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	obj = iommufd_object_alloc(ictx, sizeof(*hwpt),
				   IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hwpt_paging, obj);
	INIT_LIST_HEAD(&hwpt->hwpt_item);
	hwpt->auto_domain = auto_domain;
	refcount_inc(&ioas->obj.users);
	hwpt->ioas = ioas;

	hwpt->domain = IOMMUFD_FAIL(ERR_PTR(-ENOMEM),
				    idev->ops->domain_alloc(idev, flags));
	if (IS_ERR_OR_NULL(hwpt->domain)) {
		rc = hwpt->domain ? PTR_ERR(hwpt->domain) : -ENOMEM;
		hwpt->domain = NULL;
		goto err_abort;
	}
	dirty_ops = iommufd_domain_dirty_ops(hwpt->domain);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    (!dirty_ops || !dirty_ops->set_dirty_tracking ||
	     !dirty_ops->read_and_clear_dirty)) {
		rc = -EOPNOTSUPP;
		goto err_abort;
	}
	hwpt->dirty_capable = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	if (!auto_domain) {
		rc = iommufd_hwpt_paging_mirror(hwpt, idev);
		if (rc)
			goto err_abort;
	}
	return hwpt;

err_abort:
	iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
	return ERR_PTR(rc);
}

#define HWPT_ALLOC_SUPPORTED \
	(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING)

/**
 * iommufd_hwpt_alloc() - IOMMU_HWPT_ALLOC
 * @ucmd: the ioctl
 *
 * Makes a HWPT for a device over an IOAS.  Only paging domains are
 * supported, with dirty tracking if the device can: nesting (a data type
 * or an HWPT as parent) and fault queues get -EOPNOTSUPP, and so does
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING for a device that cannot track dirty
 * pages.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	struct iommufd_object *obj;
	struct iommufd_ioas *ioas;
	int rc;

	if ((cmd->flags & ~HWPT_ALLOC_SUPPORTED) || cmd->__reserved ||
	    cmd->__reserved2)
		return -EOPNOTSUPP;
	if (cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len)
		return -EINVAL;

	obj = iommufd_get_object(ucmd->ictx, cmd->dev_id, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	idev = container_of(obj, struct iommufd_device, obj);

	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE) {
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}
	if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING) {
		/* A nested domain on a parent: not supported */
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}
	if (pt_obj->type != IOMMUFD_OBJ_IOAS) {
		rc = -EINVAL;
		goto out_put_pt;
	}
	ioas = container_of(pt_obj, struct iommufd_ioas, obj);

	mutex_lock(&ioas->mutex);
	hwpt = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev, cmd->flags,
					 false);
	mutex_unlock(&ioas->mutex);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_put_pt;
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		iommufd_object_abort_and_destroy(ucmd->ictx, &hwpt->obj);
	else
		iommufd_object_finalize(ucmd->ictx, &hwpt->obj);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* The HWPT of a dirty tracking ioctl, with a reference, or an ERR_PTR */
static struct iommufd_hwpt_paging *
iommufd_get_hwpt_paging(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_hwpt_paging, obj);
}

/**
 * iommufd_hwpt_set_dirty_tracking() - IOMMU_HWPT_SET_DIRTY_TRACKING
 * @ucmd: the ioctl
 *
 * Turns the dirty tracking of a HWPT's domain on (clearing its dirty bits
 * first) or off.
 *
 * Return: 0, -EOPNOTSUPP for a HWPT allocated without
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING, or another negative errno.
 */
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	bool enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	struct iommufd_hwpt_paging *hwpt;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;

	hwpt = iommufd_get_hwpt_paging(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (!hwpt->dirty_capable) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	/* The IOAS's mutex orders the changes of hwpt->dirty_tracking */
	mutex_lock(&hwpt->ioas->mutex);
	rc = iopt_set_dirty_tracking(&hwpt->ioas->iopt, hwpt->domain, enable);
	if (!rc)
		WRITE_ONCE(hwpt->dirty_tracking, enable);
	mutex_unlock(&hwpt->ioas->mutex);
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/**
 * iommufd_hwpt_get_dirty_bitmap() - IOMMU_HWPT_GET_DIRTY_BITMAP
 * @ucmd: the ioctl
 *
 * Sets the bits of the user's bitmap for the pages of the range the
 * HWPT's domain saw dirtied, and clears their dirty bits unless
 * IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR; see iopt_read_dirty().
 *
 * Return: 0, -EOPNOTSUPP for a HWPT allocated without
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING, -EINVAL when its tracking is off or for
 * a bad range, or another negative errno.
 */
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt;
	unsigned long flags = 0;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		flags |= IOMMU_DIRTY_NO_CLEAR;
	if (cmd->iova > ULONG_MAX || cmd->length > ULONG_MAX ||
	    cmd->page_size > ULONG_MAX)
		return -EOVERFLOW;

	hwpt = iommufd_get_hwpt_paging(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (!hwpt->dirty_capable)
		rc = -EOPNOTSUPP;
	else if (!READ_ONCE(hwpt->dirty_tracking))
		rc = -EINVAL;
	else
		rc = iopt_read_dirty(&hwpt->ioas->iopt, hwpt->domain, cmd->iova,
				     cmd->length, cmd->page_size,
				     u64_to_user_ptr(cmd->data), flags);
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/* Upstream's bound on entry_num, so that one call cannot hold the CPU */
#define HWPT_INVALIDATE_ENTRY_NUM_MAX BIT(19)

/**
 * iommufd_hwpt_invalidate() - IOMMU_HWPT_INVALIDATE
 * @ucmd: the ioctl
 *
 * Only nested (user-managed) HWPTs take invalidations and the engine has
 * none: after upstream's checks of the request array, every id gets
 * -ENOENT, as upstream answers an id that is no nested HWPT.  No entry is
 * handled: entry_num is set to 0.
 *
 * Return: -EOPNOTSUPP, -EINVAL, -ENOENT or -EFAULT.
 */
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		rc = -EOPNOTSUPP;
	else if (cmd->entry_num &&
		 (!cmd->data_uptr || !cmd->entry_len ||
		  cmd->entry_len > PAGE_SIZE ||
		  cmd->entry_num > HWPT_INVALIDATE_ENTRY_NUM_MAX))
		rc = -EINVAL;
	else
		rc = -ENOENT;
	cmd->entry_num = 0;
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}
