// SPDX-License-Identifier: GPL-2.0
/*
 * Devices: what attaches to a HW page table.
 *
 * An iommufd_device is anything that does DMA through a domain: a mock
 * device of the test build, or a VFIO group behind a container.  Its ops
 * allocate domains it can use, attach it and say which IOVAs it cannot
 * use.  Attaching to an IOAS picks the first automatic HWPT of that IOAS
 * the device can attach to (its ops answer -EINVAL when the domain does
 * not suit it) or makes a new one; attaching to a HWPT uses that one.
 * While attached, the device's reserved IOVAs are reserved in the IOAS
 * and the device holds a user reference on the HWPT.
 *
 * Locks: iommufd_device::lock, then iommufd_ioas::mutex, then the
 * io_pagetable locks.
 */
#include <linux/slab.h>

#include "iommufd/iommufd_private.h"

/*
 * From a newer uAPI than 6.12's: the caller names the type it wants in
 * in_data_type, which shares out_data_type's place.
 */
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE BIT(0)

/**
 * iommufd_device_create() - make a device object
 * @ictx: the file's context
 * @ops: what this kind of device does
 * @data: the owner's, for @ops
 *
 * The object is published; its creator holds it until
 * iommufd_device_destroy().
 *
 * Return: the device or an ERR_PTR.
 */
struct iommufd_device *iommufd_device_create(struct iommufd_ctx *ictx,
					     const struct iommufd_device_ops *ops,
					     void *data)
{
	struct iommufd_device *idev;
	struct iommufd_object *obj;

	obj = iommufd_object_alloc(ictx, sizeof(*idev), IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	idev = container_of(obj, struct iommufd_device, obj);
	idev->ictx = ictx;
	idev->ops = ops;
	idev->data = data;
	mutex_init(&idev->lock);
	refcount_inc(&idev->obj.users);
	iommufd_object_finalize(ictx, &idev->obj);
	return idev;
}

/**
 * iommufd_device_destroy() - detach and destroy a device object
 * @idev: from iommufd_device_create()
 */
void iommufd_device_destroy(struct iommufd_device *idev)
{
	iommufd_object_destroy_owned(idev->ictx, &idev->obj);
}

/**
 * iommufd_device_destroy_object() - release a device object: detach it
 * @obj: the device's object
 */
void iommufd_device_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	iommufd_device_detach(idev);
	mutex_destroy(&idev->lock);
}

/*
 * Attach to @hwpt, whose IOAS's mutex is held.  -EINVAL from the device's
 * ops means the domain does not suit the device.  @reserved_in is the IOAS
 * that already holds the device's reservations (a replace in one IOAS).
 */
static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hwpt_paging *hwpt,
				    struct iommufd_ioas *reserved_in)
{
	bool reserve = idev->ops->reserve_iova && reserved_in != hwpt->ioas;
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	int rc;

	lockdep_assert_held(&idev->lock);
	lockdep_assert_held(&hwpt->ioas->mutex);

	if (reserve) {
		rc = idev->ops->reserve_iova(idev, iopt);
		if (rc)
			goto err_unreserve;
	}
	rc = idev->ops->attach(idev, hwpt->domain);
	if (rc)
		goto err_unreserve;
	refcount_inc(&hwpt->obj.users);
	hwpt->devices++;
	idev->hwpt = hwpt;
	return 0;

err_unreserve:
	if (reserve)
		iopt_remove_reserved_iova(iopt, idev);
	return rc;
}

/*
 * Undo the bookkeeping of iommufd_device_do_attach() on @hwpt, the IOAS's
 * mutex held; the caller sets idev->hwpt.  Returns true when @hwpt lost
 * its last device and is automatic: the device's user of it is then left
 * to the caller, to destroy it with (iommufd_object_put_and_remove()).
 */
static bool iommufd_device_unattach_locked(struct iommufd_device *idev,
					   struct iommufd_hwpt_paging *hwpt,
					   bool keep_reserved)
{
	lockdep_assert_held(&hwpt->ioas->mutex);

	if (!keep_reserved)
		iopt_remove_reserved_iova(&hwpt->ioas->iopt, idev);
	if (!--hwpt->devices && hwpt->auto_domain)
		return true;
	refcount_dec(&hwpt->obj.users);
	return false;
}

/*
 * Attach to an automatic HWPT of @ioas, making one if none suits.  @old is
 * the HWPT the device stays attached to meanwhile (a replace), or NULL.
 */
static int iommufd_device_auto_attach(struct iommufd_device *idev,
				      struct iommufd_ioas *ioas, u32 *pt_id,
				      struct iommufd_hwpt_paging *old)
{
	struct iommufd_ioas *reserved_in = old ? old->ioas : NULL;
	struct iommufd_hwpt_paging *hwpt;
	int rc;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		/*
		 * Not one that iommufd_object_remove() is destroying: its
		 * users are zero, it leaves the list under the IOAS's mutex.
		 */
		if (!hwpt->auto_domain || !iommufd_lock_obj(&hwpt->obj))
			continue;
		rc = iommufd_device_do_attach(idev, hwpt, reserved_in);
		iommufd_put_object(idev->ictx, &hwpt->obj);
		if (rc == -EINVAL)
			continue;
		if (!rc)
			*pt_id = hwpt->obj.id;
		goto out_unlock;
	}

	hwpt = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, true);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_unlock;
	}
	rc = iommufd_device_do_attach(idev, hwpt, reserved_in);
	if (rc)
		goto err_abort;
	rc = iommufd_hwpt_paging_mirror(hwpt, idev);
	if (rc) {
		/* A replace leaves the device on its old domain */
		if (old)
			WARN_ON(idev->ops->attach(idev, old->domain));
		else
			idev->ops->detach(idev, hwpt->domain);
		idev->hwpt = NULL;
		/* Not published: err_abort destroys it whatever the users */
		if (iommufd_device_unattach_locked(idev, hwpt,
						   reserved_in == ioas))
			refcount_dec(&hwpt->obj.users);
		goto err_abort;
	}
	*pt_id = hwpt->obj.id;
	iommufd_object_finalize(idev->ictx, &hwpt->obj);
out_unlock:
	mutex_unlock(&ioas->mutex);
	return rc;

err_abort:
	mutex_unlock(&ioas->mutex);
	iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
	return rc;
}

/* @old: the HWPT the device stays attached to meanwhile, or NULL */
static int iommufd_device_attach_locked(struct iommufd_device *idev,
					u32 *pt_id,
					struct iommufd_hwpt_paging *old)
{
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *pt_obj;
	int rc;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);
	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
		hwpt = container_of(pt_obj, struct iommufd_hwpt_paging, obj);
		mutex_lock(&hwpt->ioas->mutex);
		rc = iommufd_device_do_attach(idev, hwpt,
					      old ? old->ioas : NULL);
		mutex_unlock(&hwpt->ioas->mutex);
		break;
	case IOMMUFD_OBJ_IOAS:
		rc = iommufd_device_auto_attach(idev,
						container_of(pt_obj,
							     struct iommufd_ioas,
							     obj),
						pt_id, old);
		break;
	default:
		rc = -EINVAL;
	}
	iommufd_put_object(idev->ictx, pt_obj);
	return rc;
}

/*
 * Let go of @hwpt, the device's HWPT until now, and of its reservations in
 * that IOAS unless @keep_reserved.  Returns the HWPT to destroy, an
 * automatic one that lost its last device, with the device's user of it
 * still held (another thread may attach to it and leave it again before
 * the caller destroys it: the user keeps it allocated), or NULL.
 */
static struct iommufd_hwpt_paging *
iommufd_device_release_hwpt(struct iommufd_device *idev,
			    struct iommufd_hwpt_paging *hwpt,
			    bool keep_reserved)
{
	bool last;

	lockdep_assert_held(&idev->lock);

	mutex_lock(&hwpt->ioas->mutex);
	last = iommufd_device_unattach_locked(idev, hwpt, keep_reserved);
	mutex_unlock(&hwpt->ioas->mutex);
	return last ? hwpt : NULL;
}

/**
 * iommufd_device_attach() - attach a device to an IOAS or a HWPT
 * @idev: the device, not attached
 * @pt_id: an IOAS id (an automatic HWPT is used or made) or a HWPT id;
 *	receives the HWPT's id
 *
 * Return: 0, -EBUSY when already attached, -ENOENT for no such object,
 * -EINVAL for an object of another kind or a domain the device cannot use,
 * or another negative errno.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	int rc;

	mutex_lock(&idev->lock);
	if (idev->hwpt)
		rc = -EBUSY;
	else
		rc = iommufd_device_attach_locked(idev, pt_id, NULL);
	mutex_unlock(&idev->lock);
	return rc;
}

/**
 * iommufd_device_replace() - move an attached device to another IOAS or
 *	HWPT
 * @idev: the device, attached
 * @pt_id: as for iommufd_device_attach()
 *
 * The device's ops attach it to the new domain while it is attached to the
 * old one, which they must allow.
 *
 * Return: 0 or a negative errno, with the device still on its old HWPT.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_hwpt_paging *old, *gone = NULL;
	int rc;

	mutex_lock(&idev->lock);
	old = idev->hwpt;
	if (!old) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (*pt_id == old->obj.id) {
		rc = 0;
		goto out_unlock;
	}
	/* Hold the old one: attaching again replaces idev->hwpt */
	refcount_inc(&old->obj.users);
	idev->hwpt = NULL;
	rc = iommufd_device_attach_locked(idev, pt_id, old);
	if (rc)
		idev->hwpt = old;
	else
		gone = iommufd_device_release_hwpt(idev, old,
						   old->ioas == idev->hwpt->ioas);
	refcount_dec(&old->obj.users);
out_unlock:
	mutex_unlock(&idev->lock);
	if (gone)
		iommufd_object_put_and_remove(idev->ictx, &gone->obj);
	return rc;
}

/**
 * iommufd_device_detach() - detach a device from its HWPT
 * @idev: the device; nothing happens when it is not attached
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hwpt_paging *hwpt, *gone = NULL;

	mutex_lock(&idev->lock);
	hwpt = idev->hwpt;
	if (hwpt) {
		idev->ops->detach(idev, hwpt->domain);
		idev->hwpt = NULL;
		gone = iommufd_device_release_hwpt(idev, hwpt, false);
	}
	mutex_unlock(&idev->lock);
	if (gone)
		iommufd_object_put_and_remove(idev->ictx, &gone->obj);
}

/**
 * iommufd_get_hw_info() - IOMMU_GET_HW_INFO
 * @ucmd: the ioctl
 *
 * Copies the device's IOMMU information into the user's buffer, zero
 * filling what the kernel does not have, and returns its type and length,
 * the capabilities (IOMMU_HW_CAP_DIRTY_TRACKING for a device whose HWPTs
 * can track dirty pages) and the PASID width.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *user_ptr = u64_to_user_ptr(cmd->data_uptr);
	struct iommufd_hw_info info = { .type = IOMMU_HW_INFO_TYPE_NONE };
	struct iommufd_device *idev;
	struct iommufd_object *obj;
	u32 copy_len;
	int rc = 0;

	if ((cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) ||
	    cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	obj = iommufd_get_object(ucmd->ictx, cmd->dev_id, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	idev = container_of(obj, struct iommufd_device, obj);

	info.data = IOMMUFD_FAIL(NULL, kzalloc(PAGE_SIZE, GFP_KERNEL));
	if (!info.data) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (idev->ops->hw_info) {
		info.length = PAGE_SIZE;
		rc = idev->ops->hw_info(idev, &info);
		if (rc)
			goto out_free;
	}
	/* in_data_type shares out_data_type's place (newer uAPI) */
	if ((cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) &&
	    cmd->out_data_type != IOMMU_HW_INFO_TYPE_NONE &&
	    cmd->out_data_type != info.type) {
		rc = -EOPNOTSUPP;
		goto out_free;
	}
	copy_len = min(cmd->data_len, info.length);
	if (IOMMUFD_FAIL(copy_len, copy_to_user(user_ptr, info.data,
						copy_len))) {
		rc = -EFAULT;
		goto out_free;
	}
	if (copy_len < cmd->data_len &&
	    IOMMUFD_FAIL(1, clear_user(user_ptr + copy_len,
				       cmd->data_len - copy_len))) {
		rc = -EFAULT;
		goto out_free;
	}
	cmd->data_len = info.length;
	cmd->out_data_type = info.type;
	cmd->out_capabilities = info.capabilities;
	cmd->out_max_pasid_log2 = info.max_pasid_log2;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kfree(info.data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
