// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO container backend: this module as an IOMMU driver of vfio.ko.
 *
 * vfio.ko keeps a list of container backends.  For VFIO_CHECK_EXTENSION on
 * a container without a backend, and for VFIO_SET_IOMMU, it asks each of
 * them, newest first, with a NULL iommu_data; only a backend that claims
 * the requested IOMMU type is opened for the container.
 *
 * Until the type1 container ioctls are implemented on the core engine this
 * backend claims no IOMMU type and extension, so vfio.ko never selects it:
 * registering only makes the module a user of vfio.ko.
 */
#include <linux/module.h>
#include <linux/vfio.h>

#include "iommufd/iommufd_private.h"
#include "vfio_compat/vfio_ops.h"

static long iommufd_vfio_ioctl(void *iommu_data, unsigned int cmd,
			       unsigned long arg)
{
	if (cmd == VFIO_CHECK_EXTENSION)
		return 0;
	return -ENOTTY;
}

static const struct vfio_iommu_driver_ops iommufd_vfio_ops = {
	.name = "iommufd",
	.owner = THIS_MODULE,
	.ioctl = iommufd_vfio_ioctl,
};

/**
 * iommufd_vfio_backend_register() - offer this module to vfio.ko
 *
 * Return: 0, or the negative errno of vfio_register_iommu_driver().
 */
int iommufd_vfio_backend_register(void)
{
	return vfio_register_iommu_driver(&iommufd_vfio_ops);
}

/**
 * iommufd_vfio_backend_unregister() - withdraw this module from vfio.ko
 */
void iommufd_vfio_backend_unregister(void)
{
	vfio_unregister_iommu_driver(&iommufd_vfio_ops);
}
