// SPDX-License-Identifier: GPL-2.0
/*
 * bench_floor.ko: the floor of MAP_DMA and UNMAP_DMA, for the benchmarks
 * only (bench/).  /dev/bench_floor does, for the caller's memory, only the
 * work that any backend must do, timed step by step:
 *
 * - pin every page: pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM), 512
 *   pages a call, into one array allocated beforehand;
 * - write the IOMMU page-table entries: one iommu_map() per physically
 *   contiguous run of pages, so that large IOMMU pages are used where the
 *   memory allows;
 * - clear them: one iommu_unmap() of the whole range;
 * - unpin every page and mark it dirty: unpin_user_pages_dirty_lock().
 *
 * The page table is that of a paging domain of QEMU's edu device
 * (1234:11e8), allocated as iommufd allocates user domains
 * (domain_alloc_user()), so it has the page sizes, levels and cache
 * coherency of the domain a container attaches.  No device is attached to
 * it: mapping needs no IOTLB flush either way, but its one unmap does not
 * flush the IOTLB, which a container's unmap does (once per call).  Nothing
 * is charged to locked_vm, nothing is recorded but the page array.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/iommu.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bench_floor.h"

#define FLOOR_PIN_BATCH 512

static struct iommu_domain *floor_domain;
static struct pci_dev *floor_pdev;
static DEFINE_MUTEX(floor_lock);

static int floor_map(struct bench_floor_cmd *cmd, struct page **pages,
		     unsigned long npages)
{
	unsigned long i = 0, n;
	phys_addr_t phys;
	int rc;

	while (i < npages) {
		phys = page_to_phys(pages[i]);
		for (n = 1; i + n < npages; n++)
			if (page_to_phys(pages[i + n]) != phys + n * PAGE_SIZE)
				break;
		rc = iommu_map(floor_domain, cmd->iova + i * PAGE_SIZE, phys,
			       n * PAGE_SIZE,
			       IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE,
			       GFP_KERNEL);
		if (rc) {
			if (i)
				iommu_unmap(floor_domain, cmd->iova,
					    i * PAGE_SIZE);
			return rc;
		}
		cmd->runs++;
		i += n;
		cond_resched();
	}
	return 0;
}

static int floor_run(struct bench_floor_cmd *cmd)
{
	unsigned long npages = cmd->length >> PAGE_SHIFT, done = 0;
	struct page **pages;
	u64 t0, t1, t2, t3;
	int rc = 0;

	if (!npages || (cmd->uaddr | cmd->length | cmd->iova) & ~PAGE_MASK)
		return -EINVAL;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	t0 = ktime_get_ns();
	while (done < npages) {
		int got = pin_user_pages_fast(cmd->uaddr + done * PAGE_SIZE,
					      min(npages - done,
						  FLOOR_PIN_BATCH),
					      FOLL_WRITE | FOLL_LONGTERM,
					      pages + done);

		if (got <= 0) {
			rc = got ? got : -EFAULT;
			goto out_unpin;
		}
		done += got;
	}
	t1 = ktime_get_ns();
	cmd->pin_ns = t1 - t0;

	cmd->runs = 0;
	rc = floor_map(cmd, pages, npages);
	if (rc)
		goto out_unpin;
	t2 = ktime_get_ns();
	cmd->map_ns = t2 - t1;

	iommu_unmap(floor_domain, cmd->iova, cmd->length);
	t3 = ktime_get_ns();
	cmd->unmap_ns = t3 - t2;

	unpin_user_pages_dirty_lock(pages, npages, true);
	cmd->unpin_ns = ktime_get_ns() - t3;
	kvfree(pages);
	return 0;

out_unpin:
	unpin_user_pages(pages, done);
	kvfree(pages);
	return rc;
}

static long floor_ioctl(struct file *file, unsigned int op, unsigned long arg)
{
	struct bench_floor_cmd cmd;
	int rc;

	if (op != BENCH_FLOOR_RUN)
		return -ENOTTY;
	if (copy_from_user(&cmd, (void __user *)arg, sizeof(cmd)))
		return -EFAULT;
	mutex_lock(&floor_lock);
	rc = floor_run(&cmd);
	mutex_unlock(&floor_lock);
	if (rc)
		return rc;
	return copy_to_user((void __user *)arg, &cmd, sizeof(cmd)) ? -EFAULT : 0;
}

static const struct file_operations floor_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = floor_ioctl,
};

static struct miscdevice floor_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "bench_floor",
	.fops = &floor_fops,
	.mode = 0600,
};

/* A user paging domain of @dev, as iommufd makes one; else a plain one */
static struct iommu_domain *floor_domain_alloc(struct device *dev)
{
	const struct iommu_ops *ops = dev->iommu->iommu_dev->ops;
	struct iommu_domain *domain;

	if (!ops->domain_alloc_user)
		return iommu_paging_domain_alloc(dev);
	domain = ops->domain_alloc_user(dev, 0, NULL, NULL);
	if (!IS_ERR(domain))
		domain->owner = ops;
	return domain;
}

static int __init floor_init(void)
{
	int rc;

	floor_pdev = pci_get_device(0x1234, 0x11e8, NULL);
	if (!floor_pdev)
		return -ENODEV;
	if (!device_iommu_mapped(&floor_pdev->dev)) {
		rc = -ENODEV;
		goto err_put;
	}
	floor_domain = floor_domain_alloc(&floor_pdev->dev);
	if (IS_ERR(floor_domain)) {
		rc = PTR_ERR(floor_domain);
		goto err_put;
	}
	rc = misc_register(&floor_misc);
	if (rc)
		goto err_free;
	pr_info("page sizes %#lx\n", floor_domain->pgsize_bitmap);
	return 0;

err_free:
	iommu_domain_free(floor_domain);
err_put:
	pci_dev_put(floor_pdev);
	return rc;
}

static void __exit floor_exit(void)
{
	misc_deregister(&floor_misc);
	iommu_domain_free(floor_domain);
	pci_dev_put(floor_pdev);
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_DESCRIPTION("The floor of VFIO MAP_DMA and UNMAP_DMA, for benchmarks");
MODULE_LICENSE("GPL");
