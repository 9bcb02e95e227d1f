// SPDX-License-Identifier: GPL-2.0
/*
 * The module and /dev/iommu.
 *
 * Loading creates the misc device /dev/iommu (mode 0660, root) and
 * registers the VFIO container backend with vfio.ko; unloading undoes both
 * in reverse order.  vfio.ko holds a reference on this module only while a
 * container uses the backend, and an open /dev/iommu file holds one through
 * its file operations, so the module cannot go while either is in use.
 *
 * Every open of /dev/iommu gets its own struct iommufd_ctx: objects made
 * through one file are not visible through another.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "iommufd/iommufd_private.h"

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;
	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;

	WARN_ON(!xa_empty(&ictx->objects));
	xa_destroy(&ictx->objects);
	kfree(ictx);
	return 0;
}

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	return -ENOTTY;
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

	ret = misc_register(&iommufd_misc_dev);
	if (ret)
		return ret;

	ret = iommufd_vfio_backend_register();
	if (ret) {
		pr_err("cannot register with vfio as a container backend: %d\n",
		       ret);
		goto err_misc;
	}
	return 0;

err_misc:
	misc_deregister(&iommufd_misc_dev);
	return ret;
}

static void __exit iommufd_exit(void)
{
	iommufd_vfio_backend_unregister();
	misc_deregister(&iommufd_misc_dev);
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_DESCRIPTION("IOMMUFD engine and VFIO type1 container backend, out of tree");
MODULE_LICENSE("GPL");
