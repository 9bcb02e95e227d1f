/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the module share.
 *
 * One module holds two front ends over one engine: /dev/iommu (the
 * kernel's iommufd uAPI, iommufd/main.c) and the VFIO type1 container
 * backend registered with vfio.ko (vfio_compat/).
 */
#ifndef IOMMUFD_PRIVATE_H
#define IOMMUFD_PRIVATE_H

#include <linux/types.h>
#include <linux/xarray.h>

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu file
 * @file: the file this context belongs to
 * @objects: the objects this file created, by id
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
};

int iommufd_vfio_backend_register(void);
void iommufd_vfio_backend_unregister(void);

#endif
