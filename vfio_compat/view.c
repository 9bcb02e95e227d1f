// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO container ioctls on a /dev/iommu file.
 *
 * On kernels whose iommufd serves VFIO containers, a program may issue the
 * type1 container ioctls on an iommufd file: they work on the IOAS that
 * IOMMU_VFIO_IOAS chose (iommufd_ctx::vfio_ioas).  This file gives such a
 * file a view container, made on its first VFIO ioctl, and hands the
 * ioctls to the type1 handlers of container.c.  As vfio.ko does for a
 * container: VFIO_SET_IOMMU chooses the type once (VFIO_TYPE1_IOMMU also
 * disables large pages in the IOAS, as the kernel's iommufd does, so that
 * IOMMU_OPTION_HUGE_PAGES reports it); the other ioctls but
 * VFIO_GET_API_VERSION and VFIO_CHECK_EXTENSION need it.  Without an IOAS
 * they fail with -ENODEV, as the kernel's iommufd fails them.
 */
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio_compat/vfio_compat.h"

/**
 * vfio_compat_view_get_ioas() - the IOAS of a file's VFIO ioctls
 * @ictx: the file's context
 *
 * Return: the IOAS with a user and a short-term user taken (drop them with
 * iommufd_put_object()), or ERR_PTR(-ENODEV) when none is chosen.
 */
struct iommufd_ioas *vfio_compat_view_get_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ERR_PTR(-ENODEV);

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas && iommufd_lock_obj(&ictx->vfio_ioas->obj))
		ioas = ictx->vfio_ioas;
	xa_unlock(&ictx->objects);
	return ioas;
}

static int vfio_compat_view_set_iommu(struct vfio_compat_container *c,
				      unsigned long type)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	ioas = vfio_compat_view_get_ioas(c->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	mutex_lock(&c->lock);
	if (c->iommu_set) {
		rc = -EINVAL;
		goto out_unlock;
	}
	switch (type) {
	case VFIO_TYPE1_IOMMU:
		/* Mappings cannot be cut, but no IOPTE need be either */
		rc = iopt_disable_large_pages(&ioas->iopt);
		break;
	case VFIO_TYPE1v2_IOMMU:
		c->v2 = true;
		break;
	default:
		/* vfio.ko: no backend claims the type */
		rc = -ENODEV;
		break;
	}
	if (!rc)
		c->iommu_set = true;
out_unlock:
	mutex_unlock(&c->lock);
	iommufd_put_object(c->ictx, &ioas->obj);
	return rc;
}

/* The file's view, made on first use */
static struct vfio_compat_container *
vfio_compat_view(struct iommufd_ctx *ictx)
{
	struct vfio_compat_container *c, *old;

	/* Pairs with cmpxchg_release(): a view seen is fully made */
	c = smp_load_acquire(&ictx->vfio_compat);
	if (c)
		return c;
	c = vfio_compat_view_alloc(ictx);
	if (!c)
		return NULL;
	old = cmpxchg_release(&ictx->vfio_compat, NULL, c);
	if (old) {
		/* Another ioctl made it first */
		vfio_compat_container_release(c);
		c = old;
	}
	return c;
}

/**
 * iommufd_vfio_ioctl() - a VFIO container ioctl on a /dev/iommu file
 * @ictx: the file's context
 * @cmd: the ioctl, of VFIO_TYPE
 * @arg: its argument
 *
 * Return: as a type1 container answers, -ENOTTY for other ioctls.
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	struct vfio_compat_container *c;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
	case VFIO_SET_IOMMU:
	case VFIO_IOMMU_GET_INFO:
	case VFIO_IOMMU_MAP_DMA:
	case VFIO_IOMMU_UNMAP_DMA:
	case VFIO_IOMMU_DIRTY_PAGES:
		break;
	default:
		return -ENOTTY;
	}
	c = vfio_compat_view(ictx);
	if (!c)
		return -ENOMEM;
	if (cmd == VFIO_SET_IOMMU)
		return vfio_compat_view_set_iommu(c, arg);
	return vfio_compat_container_ioctl(c, cmd, (void __user *)arg);
}

/**
 * iommufd_vfio_release() - free a /dev/iommu file's view, if it has one
 * @ictx: the file's context, with no ioctl in flight
 */
void iommufd_vfio_release(struct iommufd_ctx *ictx)
{
	if (ictx->vfio_compat)
		vfio_compat_container_release(ictx->vfio_compat);
	ictx->vfio_compat = NULL;
}
