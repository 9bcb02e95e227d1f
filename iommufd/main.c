// SPDX-License-Identifier: GPL-2.0
/*
 * The module, /dev/iommu, its objects and its ioctl table.
 *
 * Loading creates /sys/kernel/debug/iommufd/ (debugfs.c) and the misc
 * device /dev/iommu (mode 0660, root), and registers the VFIO container
 * backend with vfio.ko; unloading undoes them in reverse order.  An open
 * /dev/iommu file holds the module through its file operations, vfio.ko
 * holds it while a container uses the backend, and so does an open debugfs
 * file.
 *
 * Every open of /dev/iommu gets its own struct iommufd_ctx: objects made
 * through one file are not visible through another.  The object life cycle
 * is described in iommufd_private.h.
 *
 * The ioctl table records each command's struct and the size of its first
 * version: a shorter struct is refused with -EINVAL, a longer one is
 * accepted if the bytes the kernel does not know are zero (else -E2BIG).
 * Handlers refuse unknown flags and non-zero reserved fields with
 * -EOPNOTSUPP.  The numbers below the table's, of the same type, are the
 * VFIO container ioctls, answered by vfio_compat/view.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "iommufd/iommufd_private.h"
#ifdef IOMMUFD_TEST
#include "iommufd/iommufd_test.h"
#endif

static const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_DEVICE] = { .destroy = iommufd_device_destroy_object },
	[IOMMUFD_OBJ_HWPT_PAGING] = { .destroy = iommufd_hwpt_paging_destroy },
	[IOMMUFD_OBJ_IOAS] = { .destroy = iommufd_ioas_destroy },
	[IOMMUFD_OBJ_ACCESS] = { .destroy = iommufd_access_destroy_object },
#ifdef IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = { .destroy = iommufd_selftest_destroy },
#endif
};

/**
 * iommufd_object_alloc() - allocate an object and reserve its id
 * @ictx: the file's context
 * @size: the size of the structure that embeds struct iommufd_object
 *	as its first member
 * @type: the object's type
 *
 * The object is invisible until iommufd_object_finalize().
 *
 * Return: the object or an ERR_PTR.
 */
struct iommufd_object *iommufd_object_alloc(struct iommufd_ctx *ictx,
					    size_t size,
					    enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = IOMMUFD_FAIL(NULL, kzalloc(size, GFP_KERNEL_ACCOUNT));
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->shortterm_users, 1);
	refcount_set(&obj->users, 1);
	rc = IOMMUFD_FAIL(-ENOMEM, xa_alloc(&ictx->objects, &obj->id,
					    XA_ZERO_ENTRY, xa_limit_31b,
					    GFP_KERNEL_ACCOUNT));
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc);
	}
	return obj;
}

/**
 * iommufd_object_finalize() - publish a new object under its id
 * @ictx: the file's context
 * @obj: the object, from iommufd_object_alloc()
 */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	void *old;

	old = xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL);
	/* The id was reserved: the store replaces a zero entry in place */
	WARN_ON(old);
}

/**
 * iommufd_object_abort() - free a new object that holds nothing
 * @ictx: the file's context
 * @obj: the object, never finalized
 */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	void *old;

	old = xa_erase(&ictx->objects, obj->id);
	WARN_ON(old);
	kfree(obj);
}

/**
 * iommufd_object_abort_and_destroy() - undo a new, fully built object
 * @ictx: the file's context
 * @obj: the object, never finalized
 */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_lock_obj() - take a user and a short-term user of an object
 * @obj: the object, found under a lock that keeps it allocated
 *
 * Return: false when the object is being destroyed.
 */
bool iommufd_lock_obj(struct iommufd_object *obj)
{
	if (!refcount_inc_not_zero(&obj->users))
		return false;
	if (!refcount_inc_not_zero(&obj->shortterm_users)) {
		refcount_dec(&obj->users);
		return false;
	}
	return true;
}

/**
 * iommufd_get_object() - look up an object for the ioctl in flight
 * @ictx: the file's context
 * @id: its id
 * @type: its type, or IOMMUFD_OBJ_ANY
 *
 * Return: the object with a user and a short-term user taken, or
 * ERR_PTR(-ENOENT).
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !iommufd_lock_obj(obj))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

/**
 * iommufd_put_object() - drop what iommufd_get_object() took
 * @ictx: the file's context
 * @obj: the object
 */
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
	/* A destroyer waits for the short-term users to reach zero */
	if (refcount_dec_and_test(&obj->shortterm_users))
		wake_up_all(&ictx->destroy_wait);
}

/*
 * Destroy @obj, under the objects' lock (which this drops), if only its
 * own user is left.
 */
static int iommufd_object_remove_locked(struct iommufd_ctx *ictx,
					struct iommufd_object *obj)
	__releases(&ictx->objects.xa_lock)
{
	if (!refcount_dec_if_one(&obj->users)) {
		xa_unlock(&ictx->objects);
		return -EBUSY;
	}
	__xa_erase(&ictx->objects, obj->id);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	xa_unlock(&ictx->objects);

	/* Only iommufd_put_object() calls still running can hold it now */
	if (!refcount_dec_and_test(&obj->shortterm_users))
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->shortterm_users) == 0);

	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
	return 0;
}

/**
 * iommufd_object_remove() - destroy an object nobody uses
 * @ictx: the file's context
 * @id: its id
 *
 * Return: 0, -ENOENT when there is no such object, -EBUSY when another
 * object or an ioctl in flight uses it.
 */
int iommufd_object_remove(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj) {
		xa_unlock(&ictx->objects);
		return -ENOENT;
	}
	return iommufd_object_remove_locked(ictx, obj);
}

/**
 * iommufd_object_put_and_remove() - drop a user, then destroy the object
 *	if nobody else uses it
 * @ictx: the file's context
 * @obj: a published object, a user of it held by the caller
 *
 * For the kernel's own objects (an automatic HWPT its last device left):
 * the caller's user keeps @obj allocated until here, where an id could
 * name another object by now.
 *
 * Return: 0, or -EBUSY when another user remains: the object stays, for
 * its last user or the file's release to destroy.
 */
int iommufd_object_put_and_remove(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj)
{
	xa_lock(&ictx->objects);
	/* Never the last: the object's own user remains */
	refcount_dec(&obj->users);
	return iommufd_object_remove_locked(ictx, obj);
}

/**
 * iommufd_object_destroy_owned() - destroy an object the kernel owns
 * @ictx: the file's context
 * @obj: a device or an access, holding its owner's user reference
 *
 * Unlike IOMMU_DESTROY this cannot fail: new lookups are stopped first,
 * then the ioctls that hold the object are waited for.
 */
void iommufd_object_destroy_owned(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj)
{
	/* Drop the xarray's short-term user: lookups fail from now on */
	if (!refcount_dec_and_test(&obj->shortterm_users))
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->shortterm_users) == 0);

	xa_lock(&ictx->objects);
	refcount_dec(&obj->users);
	/* Long-term users must have been let go by the owner */
	WARN_ON(!refcount_dec_if_one(&obj->users));
	__xa_erase(&ictx->objects, obj->id);
	xa_unlock(&ictx->objects);

	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
}

/**
 * iommufd_destroy() - IOMMU_DESTROY: destroy an object by its id
 * @ucmd: the ioctl
 *
 * Return: 0; -ENOENT for an id no object of this file has; -EBUSY while
 * another object or an ioctl in flight uses it.
 */
static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_remove(ucmd->ictx, cmd->id);
}

/**
 * iommufd_option() - IOMMU_OPTION: set or get an option
 * @ucmd: the ioctl
 *
 * IOMMU_OPTION_RLIMIT_MODE is the file's (set only while it has no
 * object), IOMMU_OPTION_HUGE_PAGES an IOAS's; the value is written back
 * for IOMMU_OPTION_OP_GET.
 *
 * Return: 0 or a negative errno; -EOPNOTSUPP for an unknown option or a
 * non-zero reserved field.
 */
static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	if (IOMMUFD_FAIL(sizeof(cmd->val64),
			 copy_to_user(&((struct iommu_option __user *)
					ucmd->ubuffer)->val64,
				      &cmd->val64, sizeof(cmd->val64))))
		return -EFAULT;
	return 0;
}

/* Every command struct, for the size of the buffer they are copied into */
union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hw_info info;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_invalidate invalidate;
#ifdef IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

/**
 * struct iommufd_ioctl_op - one command of the ioctl table
 * @size: the size of the kernel's struct
 * @min_size: the size of its first version, up to and including its
 *	last field then
 * @execute: the handler
 *
 * Every command is _IO(IOMMUFD_TYPE, nr); the table is indexed by nr.
 */
struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

#define IOCTL_OP(_nr, _fn, _struct, _last)                                     \
	[(_nr) - IOMMUFD_CMD_BASE] = {                                         \
		.size = sizeof(_struct) +                                      \
			BUILD_BUG_ON_ZERO(sizeof(union ucmd_buffer) <          \
					  sizeof(_struct)),                    \
		.min_size = offsetofend(_struct, _last),                       \
		.execute = _fn,                                                \
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMUFD_CMD_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMUFD_CMD_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		 struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMUFD_CMD_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		 src_iova),
	IOCTL_OP(IOMMUFD_CMD_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMUFD_CMD_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map,
		 iova),
	IOCTL_OP(IOMMUFD_CMD_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		 length),
	IOCTL_OP(IOMMUFD_CMD_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMUFD_CMD_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		 __reserved),
	IOCTL_OP(IOMMUFD_CMD_HWPT_ALLOC, iommufd_hwpt_alloc,
		 struct iommu_hwpt_alloc, __reserved),
	IOCTL_OP(IOMMUFD_CMD_GET_HW_INFO, iommufd_get_hw_info,
		 struct iommu_hw_info, __reserved),
	IOCTL_OP(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
		 iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
		 iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMUFD_CMD_HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		 struct iommu_hwpt_invalidate, __reserved),
#ifdef IOMMUFD_TEST
	IOCTL_OP(IOMMUFD_CMD_BASE + 32, iommufd_test, struct iommu_test_cmd,
		 last),
#endif
};

/**
 * iommufd_ctx_alloc() - make an empty context
 * @kind: what it is for, in the name of its debugfs directory: "iommu"
 *	for a /dev/iommu file, "vfio" for a VFIO container
 *
 * A /dev/iommu file has one; so has each VFIO container of the backend,
 * whose objects no file can reach.
 *
 * Return: the context or NULL.
 */
struct iommufd_ctx *iommufd_ctx_alloc(const char *kind)
{
	struct iommufd_ctx *ictx;

	ictx = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT));
	if (!ictx)
		return NULL;
	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	init_waitqueue_head(&ictx->destroy_wait);
	ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	iommufd_debugfs_ctx_add(ictx, kind);
	return ictx;
}

/**
 * iommufd_ctx_destroy() - destroy every object of a context, then it
 * @ictx: the context
 *
 * Each pass destroys the objects nothing else holds, so users go before
 * what they use, until none is left.
 */
void iommufd_ctx_destroy(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;

	/* The VFIO ioctls' IOAS goes below: debugfs must not read it then */
	xa_lock(&ictx->objects);
	ictx->vfio_ioas = NULL;
	xa_unlock(&ictx->objects);
	while (!xa_empty(&ictx->objects)) {
		unsigned int destroyed = 0;

		xa_for_each(&ictx->objects, index, obj) {
			if (!refcount_dec_if_one(&obj->users))
				continue;
			destroyed++;
			xa_erase(&ictx->objects, index);
			iommufd_object_ops[obj->type].destroy(obj);
			kfree(obj);
		}
		/* A reference loop between objects would be a bug */
		if (WARN_ON(!destroyed))
			break;
	}
	iommufd_debugfs_ctx_remove(ictx);
	xa_destroy(&ictx->objects);
	kfree(ictx);
}

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = iommufd_ctx_alloc("iommu");

	if (!ictx)
		return -ENOMEM;
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	iommufd_vfio_release(filp->private_data);
	iommufd_ctx_destroy(filp->private_data);
	return 0;
}

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	struct iommufd_ctx *ictx = filp->private_data;
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd = {};
	union ucmd_buffer buf;
	unsigned int nr;
	int rc;

	nr = _IOC_NR(cmd);
	/* VFIO_TYPE is IOMMUFD_TYPE: the container ioctls come below the base */
	if (_IOC_TYPE(cmd) == VFIO_TYPE && nr < IOMMUFD_CMD_BASE)
		return iommufd_vfio_ioctl(ictx, cmd, arg);
	if (nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return -ENOTTY;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (cmd != _IO(IOMMUFD_TYPE, nr) || !op->execute)
		return -ENOTTY;

	ucmd.ictx = ictx;
	ucmd.ubuffer = (void __user *)arg;
	rc = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (rc)
		return rc;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ucmd.cmd = &buf;
	rc = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice iommufd_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.fops = &iommufd_fops,
	.nodename = "iommu",
	.mode = 0660,
};

static int __init iommufd_init(void)
{
	int ret;

	/* Before any context can be made */
	iommufd_debugfs_init();
	ret = misc_register(&iommufd_misc_dev);
	if (ret)
		goto err_debugfs;

	ret = iommufd_vfio_backend_register();
	if (ret) {
		pr_err("cannot register with vfio as a container backend: %d\n",
		       ret);
		goto err_misc;
	}
	return 0;

err_misc:
	misc_deregister(&iommufd_misc_dev);
err_debugfs:
	iommufd_debugfs_exit();
	return ret;
}

static void __exit iommufd_exit(void)
{
	iommufd_vfio_backend_unregister();
	misc_deregister(&iommufd_misc_dev);
	iommufd_debugfs_exit();
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_DESCRIPTION("IOMMUFD engine and VFIO type1 container backend, out of tree");
MODULE_LICENSE("GPL");
