// SPDX-License-Identifier: GPL-2.0
/*
 * An emulated VFIO device, for the tests only: what an mdev driver does
 * with a container.  It has no IOMMU: vfio.ko gives it a group of its own
 * (vfio_register_emulated_iommu_dev()), and it reaches the memory mapped
 * in the container only through the backend's pin_pages, unpin_pages and
 * dma_rw, which its ioctls (vfio_emu.h) call.  When the container unmaps
 * a range, its dma_unmap callback unpins what it holds there, as such a
 * driver must.
 *
 * Locking: emu->lock guards emu->pins and the counters; it is held across
 * vfio_pin_pages(), so that dma_unmap, which takes it, finds every page
 * pinned, as mdev drivers do; the backend calls dma_unmap without its own
 * locks that unpin_pages takes.  On vfio_iommu_type1, lockdep still sees
 * a cycle through type1's device_list_lock (held around dma_unmap, taken
 * under iommu->lock when a device registers): scripts/check-debug does
 * not run vfio_emu_type1.
 */
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/xarray.h>

#include "vfio_emu.h"

#define VFIO_EMU_MAX_PIN 512

struct vfio_emu {
	struct vfio_device vdev;
	struct mutex lock;	/* pins and counters */
	struct xarray pins;	/* IOVA page -> times pinned (value) */
	u64 pinned;
	u64 unmaps;
	u64 unpinned_by_unmap;
	u64 last_iova;
	u64 last_length;
};

static struct platform_device *vfio_emu_pdev;

/* Unpin every page pinned in [first, last] (page indexes); lock held */
static u64 vfio_emu_unpin_range(struct vfio_emu *emu, unsigned long first,
				unsigned long last)
{
	unsigned long index;
	void *entry;
	u64 n = 0;

	xa_for_each_range(&emu->pins, index, entry, first, last) {
		unsigned long count = xa_to_value(entry);

		while (count--) {
			vfio_unpin_pages(&emu->vdev, (dma_addr_t)index << PAGE_SHIFT,
					 1);
			n++;
		}
		xa_erase(&emu->pins, index);
	}
	emu->pinned -= n;
	return n;
}

static int vfio_emu_record(struct vfio_emu *emu, unsigned long index)
{
	void *entry = xa_load(&emu->pins, index);
	unsigned long count = entry ? xa_to_value(entry) : 0;

	return xa_err(xa_store(&emu->pins, index, xa_mk_value(count + 1),
			       GFP_KERNEL));
}

static long vfio_emu_pin(struct vfio_emu *emu, struct vfio_emu_pin __user *up)
{
	struct vfio_emu_pin pin;
	struct page **pages;
	int rc, i;

	if (copy_from_user(&pin, up, sizeof(pin)))
		return -EFAULT;
	if (pin.npage > VFIO_EMU_MAX_PIN)
		return -E2BIG;
	pages = kcalloc(max(pin.npage, 1U), sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	mutex_lock(&emu->lock);
	rc = vfio_pin_pages(&emu->vdev, pin.iova, pin.npage,
			    IOMMU_READ | (pin.write ? IOMMU_WRITE : 0), pages);
	if (rc < 0)
		goto out_unlock;
	if (WARN_ON(rc != pin.npage)) {
		vfio_unpin_pages(&emu->vdev, pin.iova, rc);
		rc = -EIO;
		goto out_unlock;
	}
	pin.sum = 0;
	for (i = 0; i < pin.npage; i++) {
		u64 *p = kmap_local_page(pages[i]);
		u64 iova = pin.iova + (u64)i * PAGE_SIZE;

		pin.sum += *p;
		if (pin.write)
			*p = iova;
		kunmap_local(p);
		if (vfio_emu_record(emu, iova >> PAGE_SHIFT)) {
			/* Not recorded: let go of this one and the rest */
			vfio_unpin_pages(&emu->vdev, iova, pin.npage - i);
			rc = -ENOMEM;
			break;
		}
		emu->pinned++;
	}
	if (rc >= 0 && copy_to_user(up, &pin, sizeof(pin)))
		rc = -EFAULT;
out_unlock:
	mutex_unlock(&emu->lock);
	kfree(pages);
	return rc;
}

static long vfio_emu_unpin(struct vfio_emu *emu,
			   struct vfio_emu_pin __user *up)
{
	struct vfio_emu_pin pin;
	unsigned long index, i;
	int rc = 0;

	if (copy_from_user(&pin, up, sizeof(pin)))
		return -EFAULT;
	mutex_lock(&emu->lock);
	/* Only what this device pinned: the backend trusts its callers */
	for (i = 0; i < pin.npage; i++) {
		index = (pin.iova >> PAGE_SHIFT) + i;
		if (!xa_load(&emu->pins, index)) {
			rc = -ENOENT;
			goto out_unlock;
		}
	}
	for (i = 0; i < pin.npage; i++) {
		unsigned long count;
		void *entry;

		index = (pin.iova >> PAGE_SHIFT) + i;
		entry = xa_load(&emu->pins, index);
		count = xa_to_value(entry);
		vfio_unpin_pages(&emu->vdev, (dma_addr_t)index << PAGE_SHIFT, 1);
		if (count == 1)
			xa_erase(&emu->pins, index);
		else
			xa_store(&emu->pins, index, xa_mk_value(count - 1),
				 GFP_KERNEL);
		emu->pinned--;
	}
out_unlock:
	mutex_unlock(&emu->lock);
	return rc;
}

static long vfio_emu_rw(struct vfio_emu *emu, struct vfio_emu_rw __user *urw)
{
	void __user *ubuf;
	struct vfio_emu_rw rw;
	void *buf;
	long rc;

	if (copy_from_user(&rw, urw, sizeof(rw)))
		return -EFAULT;
	if (rw.len > SZ_16M)
		return -E2BIG;
	ubuf = u64_to_user_ptr(rw.uaddr);
	buf = kvzalloc(max_t(u64, rw.len, 1), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	rc = 0;
	if (rw.write && copy_from_user(buf, ubuf, rw.len))
		rc = -EFAULT;
	if (!rc)
		rc = vfio_dma_rw(&emu->vdev, rw.iova, buf, rw.len, rw.write);
	if (!rc && !rw.write && copy_to_user(ubuf, buf, rw.len))
		rc = -EFAULT;
	kvfree(buf);
	return rc;
}

static long vfio_emu_ioctl(struct vfio_device *vdev, unsigned int cmd,
			   unsigned long arg)
{
	struct vfio_emu *emu = container_of(vdev, struct vfio_emu, vdev);
	void __user *uarg = (void __user *)arg;
	struct vfio_emu_state state;

	switch (cmd) {
	case VFIO_EMU_PIN:
		return vfio_emu_pin(emu, uarg);
	case VFIO_EMU_UNPIN:
		return vfio_emu_unpin(emu, uarg);
	case VFIO_EMU_RW:
		return vfio_emu_rw(emu, uarg);
	case VFIO_EMU_STATE:
		mutex_lock(&emu->lock);
		state = (struct vfio_emu_state) {
			.pinned = emu->pinned,
			.unmaps = emu->unmaps,
			.unpinned_by_unmap = emu->unpinned_by_unmap,
			.last_iova = emu->last_iova,
			.last_length = emu->last_length,
		};
		mutex_unlock(&emu->lock);
		return copy_to_user(uarg, &state, sizeof(state)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

static void vfio_emu_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct vfio_emu *emu = container_of(vdev, struct vfio_emu, vdev);

	mutex_lock(&emu->lock);
	emu->unmaps++;
	emu->last_iova = iova;
	emu->last_length = length;
	if (length)
		emu->unpinned_by_unmap +=
			vfio_emu_unpin_range(emu, iova >> PAGE_SHIFT,
					     (iova + length - 1) >> PAGE_SHIFT);
	mutex_unlock(&emu->lock);
}

static int vfio_emu_open_device(struct vfio_device *vdev)
{
	struct vfio_emu *emu = container_of(vdev, struct vfio_emu, vdev);

	mutex_lock(&emu->lock);
	emu->unmaps = 0;
	emu->unpinned_by_unmap = 0;
	emu->last_iova = 0;
	emu->last_length = 0;
	mutex_unlock(&emu->lock);
	return 0;
}

/* A device must not keep pages pinned once closed */
static void vfio_emu_close_device(struct vfio_device *vdev)
{
	struct vfio_emu *emu = container_of(vdev, struct vfio_emu, vdev);

	mutex_lock(&emu->lock);
	vfio_emu_unpin_range(emu, 0, ULONG_MAX);
	mutex_unlock(&emu->lock);
}

static int vfio_emu_init(struct vfio_device *vdev)
{
	struct vfio_emu *emu = container_of(vdev, struct vfio_emu, vdev);

	mutex_init(&emu->lock);
	xa_init(&emu->pins);
	return 0;
}

static void vfio_emu_release(struct vfio_device *vdev)
{
	struct vfio_emu *emu = container_of(vdev, struct vfio_emu, vdev);

	xa_destroy(&emu->pins);
	mutex_destroy(&emu->lock);
}

static const struct vfio_device_ops vfio_emu_ops = {
	.name = "vfio-emu",
	.init = vfio_emu_init,
	.release = vfio_emu_release,
	.open_device = vfio_emu_open_device,
	.close_device = vfio_emu_close_device,
	.ioctl = vfio_emu_ioctl,
	.dma_unmap = vfio_emu_dma_unmap,
	/* No iommufd ops: the kernels this serves are built without it */
};

/* vfio.ko takes a reference on the driver of the device it opens */
static int vfio_emu_probe(struct platform_device *pdev)
{
	struct vfio_emu *emu;
	int rc;

	emu = vfio_alloc_device(vfio_emu, vdev, &pdev->dev, &vfio_emu_ops);
	if (IS_ERR(emu))
		return PTR_ERR(emu);
	rc = vfio_register_emulated_iommu_dev(&emu->vdev);
	if (rc) {
		vfio_put_device(&emu->vdev);
		return rc;
	}
	platform_set_drvdata(pdev, emu);
	return 0;
}

static void vfio_emu_remove(struct platform_device *pdev)
{
	struct vfio_emu *emu = platform_get_drvdata(pdev);

	vfio_unregister_group_dev(&emu->vdev);
	vfio_put_device(&emu->vdev);
}

static struct platform_driver vfio_emu_driver = {
	.probe = vfio_emu_probe,
	.remove_new = vfio_emu_remove,
	.driver = {
		.name = "vfio_emu",
	},
};

static int __init vfio_emu_module_init(void)
{
	int rc;

	rc = platform_driver_register(&vfio_emu_driver);
	if (rc)
		return rc;
	vfio_emu_pdev = platform_device_register_simple("vfio_emu", -1, NULL, 0);
	if (IS_ERR(vfio_emu_pdev)) {
		platform_driver_unregister(&vfio_emu_driver);
		return PTR_ERR(vfio_emu_pdev);
	}
	if (!platform_get_drvdata(vfio_emu_pdev)) {
		/* Not probed: no VFIO device */
		platform_device_unregister(vfio_emu_pdev);
		platform_driver_unregister(&vfio_emu_driver);
		return -ENODEV;
	}
	return 0;
}

static void __exit vfio_emu_module_exit(void)
{
	platform_device_unregister(vfio_emu_pdev);
	platform_driver_unregister(&vfio_emu_driver);
}

module_init(vfio_emu_module_init);
module_exit(vfio_emu_module_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("An emulated VFIO device for iommufd's tests");
