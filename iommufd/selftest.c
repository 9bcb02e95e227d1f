// SPDX-License-Identifier: GPL-2.0
/*
 * The test build's mock IOMMU and its ioctl, IOMMU_TEST_CMD.
 *
 * Only the test variant of the module (IOMMUFD_TEST) has this file.  The
 * kernel's own iommufd kselftests drive the engine with it:
 *
 * - mock paging domains: iommu_domains that no IOMMU driver registered,
 *   with our own domain ops.  The engine maps, unmaps and frees them with
 *   iommu_map(), iommu_unmap() and iommu_domain_free() as any domain; those
 *   need only the domain's ops, type and page sizes.  A mock domain's page
 *   table is an xarray indexed by IOVA / MOCK_IO_PAGE_SIZE, and the tests
 *   compare it with their own memory (MD_CHECK_MAP).  Its IO page size is
 *   half a CPU page, so that the engine meets IOVAs and lengths that are
 *   not page aligned.  A domain allocated with
 *   IOMMU_HWPT_ALLOC_DIRTY_TRACKING keeps a dirty bit per IOMMU page, which
 *   the tests set (DIRTY) as a device's DMA would and the engine reads
 *   through the domain's dirty_ops;
 * - mock devices: iommufd_device objects whose ops allocate mock domains.
 *   A selftest object (the tests' "stdev") owns each one, attaches it when
 *   it is made and destroys it with itself;
 * - in-kernel accesses (access.c), each behind a file descriptor of its
 *   own, that pin pages and read and write through IOVAs;
 * - checks that the pages of a user range carry the pins they should.
 *
 * Nesting and fault queues are beyond the engine: their operations
 * (MD_CHECK_IOTLB, TRIGGER_IOPF) get -EOPNOTSUPP.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "iommufd/iommufd_private.h"
#include "iommufd/iommufd_test.h"

static_assert(sizeof(struct iommu_test_cmd) == 72);
static_assert(offsetof(struct iommu_test_cmd, last) == 64);

enum {
	MOCK_IO_PAGE_SIZE = PAGE_SIZE / 2,
	/* What MOCK_FLAGS_DEVICE_HUGE_IOVA adds to the page sizes */
	MOCK_HUGE_PAGE_SIZE = 512 * MOCK_IO_PAGE_SIZE,
};

/*
 * A mock page table entry, an xarray value: the physical address divided
 * by MOCK_IO_PAGE_SIZE, and flags above it.  FIRST and LAST mark the first
 * and the last IO page of one map_pages() call: unmaps must cut the page
 * table only where maps did.  HUGE marks the IO pages of a
 * MOCK_HUGE_PAGE_SIZE IOMMU page (aligned, as iommu_map() maps them).
 * DIRTY is the dirty bit of an IOMMU page, kept in its first IO page.
 */
#define MOCK_PTE_ADDR_MASK	(ULONG_MAX / MOCK_IO_PAGE_SIZE)
#define MOCK_PTE_FIRST		(MOCK_PTE_ADDR_MASK + 1)
#define MOCK_PTE_LAST		(MOCK_PTE_FIRST << 1)
#define MOCK_PTE_HUGE		(MOCK_PTE_FIRST << 2)
#define MOCK_PTE_DIRTY		(MOCK_PTE_FIRST << 3)

static_assert(MOCK_PTE_DIRTY <= LONG_MAX);

/* The IO pages of a huge IOMMU page */
#define MOCK_HUGE_IO_PAGES	(MOCK_HUGE_PAGE_SIZE / MOCK_IO_PAGE_SIZE)

/* Longest IOVA range ACCESS_PAGES and ACCESS_RW take, as upstream's */
#define MOCK_ACCESS_MAX_LENGTH	(16UL * 1024 * 1024)

/**
 * struct mock_domain - a mock paging domain
 * @domain: the domain the engine sees
 * @ptes: its page table, see MOCK_PTE_*
 * @dirty_tracking: the engine turned dirty tracking on (with dirty_ops
 *	only)
 */
struct mock_domain {
	struct iommu_domain domain;
	struct xarray ptes;
	bool dirty_tracking;
};

/**
 * struct mock_dev - a mock device
 * @flags: MOCK_FLAGS_DEVICE_*
 * @domain: the domain it is attached to, or NULL (under the device's lock)
 */
struct mock_dev {
	u32 flags;
	struct iommu_domain *domain;
};

/**
 * struct iommufd_selftest - IOMMUFD_OBJ_SELFTEST: a mock device and the
 *	iommufd_device that stands for it
 * @obj: the object
 * @idev: the device object, owned
 * @mdev: the mock device, @idev's data
 */
struct iommufd_selftest {
	struct iommufd_object obj;
	struct iommufd_device *idev;
	struct mock_dev mdev;
};

static_assert(offsetof(struct iommufd_selftest, obj) == 0);

static const struct iommu_domain_ops mock_domain_ops;

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
}

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long n = pgsize / MOCK_IO_PAGE_SIZE * pgcount;
	unsigned long flags = pgsize == MOCK_IO_PAGE_SIZE ? 0 : MOCK_PTE_HUGE;
	unsigned long i;
	int rc;

	if (WARN_ON(iova % MOCK_IO_PAGE_SIZE || paddr % MOCK_IO_PAGE_SIZE ||
		    pgsize % MOCK_IO_PAGE_SIZE || !n))
		return -EINVAL;

	for (i = 0; i != n; i++) {
		unsigned long pte = (paddr / MOCK_IO_PAGE_SIZE + i) | flags;

		if (i == 0)
			pte |= MOCK_PTE_FIRST;
		if (i == n - 1)
			pte |= MOCK_PTE_LAST;
		rc = xa_insert(&mock->ptes, first + i, xa_mk_value(pte), gfp);
		if (rc)
			goto err_erase;
	}
	*mapped += n * MOCK_IO_PAGE_SIZE;
	return 0;

err_erase:
	/* -EBUSY: the engine mapped an IOVA that was mapped already */
	if (WARN_ON(rc == -EBUSY))
		rc = -EEXIST;
	while (i--)
		xa_erase(&mock->ptes, first + i);
	return rc;
}

/*
 * As a real IOMMU's page table does, stop at the first IO page that is not
 * mapped: the engine's callers check that they unmapped all they asked.
 */
static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long n = pgsize / MOCK_IO_PAGE_SIZE * pgcount;
	/*
	 * With huge pages, the kernel's iommu_unmap() picks page sizes from
	 * the IOVA alone and may cut an unmap where no map was cut.
	 */
	bool check = !(domain->pgsize_bitmap & MOCK_HUGE_PAGE_SIZE);
	unsigned long i;

	if (WARN_ON(iova % MOCK_IO_PAGE_SIZE || pgsize % MOCK_IO_PAGE_SIZE))
		return 0;

	for (i = 0; i != n; i++) {
		void *entry = xa_erase(&mock->ptes, first + i);
		unsigned long pte;

		if (!entry)
			break;
		pte = xa_to_value(entry);
		if (check && i == 0)
			WARN_ON_ONCE(!(pte & MOCK_PTE_FIRST));
		if (check && i == n - 1)
			WARN_ON_ONCE(!(pte & MOCK_PTE_LAST));
	}
	return i * MOCK_IO_PAGE_SIZE;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_domain *mock = to_mock_domain(domain);
	void *entry;

	entry = xa_load(&mock->ptes, iova / MOCK_IO_PAGE_SIZE);
	if (!entry)
		return 0;
	return (phys_addr_t)(xa_to_value(entry) & MOCK_PTE_ADDR_MASK) *
		       MOCK_IO_PAGE_SIZE + iova % MOCK_IO_PAGE_SIZE;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *mock = to_mock_domain(domain);

	/* The engine unmaps every area before it frees a domain */
	WARN_ON(!xa_empty(&mock->ptes));
	xa_destroy(&mock->ptes);
	kfree(mock);
}

static const struct iommu_domain_ops mock_domain_ops = {
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.free = mock_domain_free,
};

/* The index of the first IO page of the IOMMU page that holds @index */
static unsigned long mock_pte_head(unsigned long index, unsigned long pte)
{
	if (pte & MOCK_PTE_HUGE)
		return round_down(index, MOCK_HUGE_IO_PAGES);
	return index;
}

/*
 * Set, or clear, flags of the entry at @index, unless the engine unmaps it
 * meanwhile.  Returns false when there is no entry.
 */
static bool mock_pte_update(struct mock_domain *mock, unsigned long index,
			    unsigned long set, unsigned long clear)
{
	void *old = xa_load(&mock->ptes, index);

	while (old) {
		unsigned long pte = (xa_to_value(old) | set) & ~clear;
		void *cur;

		if (pte == xa_to_value(old))
			return true;
		cur = xa_cmpxchg(&mock->ptes, index, old, xa_mk_value(pte),
				 GFP_KERNEL);
		if (cur == old)
			return true;
		if (xa_is_err(cur))
			return false;
		old = cur;
	}
	return false;
}

static int mock_domain_set_dirty_tracking(struct iommu_domain *domain,
					  bool enable)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enable);
	return 0;
}

/*
 * Report each dirty IOMMU page that maps some of [iova, iova + size), whole
 * (iopt_dirty_record(): the engine's recorder, see iommufd/dirty.c), and
 * clear its dirty bit unless IOMMU_DIRTY_NO_CLEAR.
 */
static int mock_domain_read_and_clear_dirty(struct iommu_domain *domain,
					    unsigned long iova, size_t size,
					    unsigned long flags,
					    struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long index = iova / MOCK_IO_PAGE_SIZE;
	unsigned long last = (iova + size - 1) / MOCK_IO_PAGE_SIZE;
	void *entry;

	while ((entry = xa_find(&mock->ptes, &index, last, XA_PRESENT))) {
		unsigned long pte = xa_to_value(entry);
		unsigned long head = mock_pte_head(index, pte);
		unsigned long n = pte & MOCK_PTE_HUGE ? MOCK_HUGE_IO_PAGES : 1;

		if (head != index)
			entry = xa_load(&mock->ptes, head);
		if (entry && (xa_to_value(entry) & MOCK_PTE_DIRTY)) {
			iopt_dirty_record(dirty, head * MOCK_IO_PAGE_SIZE,
					  n * MOCK_IO_PAGE_SIZE);
			if (!(flags & IOMMU_DIRTY_NO_CLEAR))
				mock_pte_update(mock, head, 0, MOCK_PTE_DIRTY);
		}
		if (head + n - 1 >= last)
			break;
		index = head + n;
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_domain_set_dirty_tracking,
	.read_and_clear_dirty = mock_domain_read_and_clear_dirty,
};

static struct mock_domain *mock_domain_get(struct iommu_domain *domain)
{
	if (!domain || domain->ops != &mock_domain_ops)
		return NULL;
	return to_mock_domain(domain);
}

static struct mock_dev *to_mock_dev(struct iommufd_device *idev)
{
	return idev->data;
}

/*
 * IOMMU_HWPT_ALLOC_NEST_PARENT only asks for a paging domain that could be
 * a parent, which any mock domain could.  Dirty tracking is for devices
 * without MOCK_FLAGS_DEVICE_NO_DIRTY.
 */
static struct iommu_domain *mock_dev_domain_alloc(struct iommufd_device *idev,
						  u32 flags)
{
	struct mock_dev *mdev = to_mock_dev(idev);
	struct mock_domain *mock;

	if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
		      IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    ((mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY) ||
	     !iommufd_dirty_ops_supported()))
		return ERR_PTR(-EOPNOTSUPP);

	mock = kzalloc(sizeof(*mock), GFP_KERNEL_ACCOUNT);
	if (!mock)
		return ERR_PTR(-ENOMEM);
	xa_init(&mock->ptes);
	mock->domain.type = IOMMU_DOMAIN_UNMANAGED;
	mock->domain.ops = &mock_domain_ops;
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (mdev->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		iommufd_domain_set_dirty_ops(&mock->domain, &mock_dirty_ops);
	return &mock->domain;
}

/*
 * Any mock domain suits any mock device, but one that tracks dirty pages a
 * MOCK_FLAGS_DEVICE_NO_DIRTY device; nothing else does.
 */
static int mock_dev_attach(struct iommufd_device *idev,
			   struct iommu_domain *domain)
{
	if (!mock_domain_get(domain))
		return -EINVAL;
	if (iommufd_domain_dirty_ops(domain) &&
	    (to_mock_dev(idev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	to_mock_dev(idev)->domain = domain;
	return 0;
}

static void mock_dev_detach(struct iommufd_device *idev,
			    struct iommu_domain *domain)
{
	struct mock_dev *mdev = to_mock_dev(idev);

	WARN_ON(mdev->domain != domain);
	mdev->domain = NULL;
}

/*
 * Dirty tracking unless MOCK_FLAGS_DEVICE_NO_DIRTY; MOCK_PASID_WIDTH bits
 * of PASID for a MOCK_FLAGS_DEVICE_PASID device, as newer kernels' mock
 * (the engine has no PASIDs beyond that).
 */
static int mock_dev_hw_info(struct iommufd_device *idev,
			    struct iommufd_hw_info *hw)
{
	struct mock_dev *mdev = to_mock_dev(idev);
	struct iommu_test_hw_info *info = hw->data;

	if (hw->length < sizeof(*info))
		return -EMSGSIZE;
	info->flags = 0;
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	hw->length = sizeof(*info);
	hw->type = IOMMU_HW_INFO_TYPE_SELFTEST;
	if (!(mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY) &&
	    iommufd_dirty_ops_supported())
		hw->capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	if (mdev->flags & MOCK_FLAGS_DEVICE_PASID)
		hw->max_pasid_log2 = MOCK_PASID_WIDTH;
	return 0;
}

/* Mock domains can always block no-snoop DMA: there is none */
static bool mock_dev_enforce_cache_coherency(struct iommufd_device *idev,
					     struct iommu_domain *domain)
{
	return true;
}

/*
 * No reserve_iova: a mock device has no MSI window or other reserved
 * region, as upstream's mock IOMMU, which reports none.
 */
static const struct iommufd_device_ops mock_dev_ops = {
	.domain_alloc = mock_dev_domain_alloc,
	.attach = mock_dev_attach,
	.detach = mock_dev_detach,
	.hw_info = mock_dev_hw_info,
	.enforce_cache_coherency = mock_dev_enforce_cache_coherency,
};

/**
 * iommufd_selftest_destroy() - release a selftest object: its device
 * @obj: the selftest object
 */
void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct iommufd_selftest *sobj =
		container_of(obj, struct iommufd_selftest, obj);

	iommufd_device_detach(sobj->idev);
	iommufd_device_destroy(sobj->idev);
}

/* MOCK_DOMAIN(_FLAGS): a mock device attached to an IOAS or a HWPT */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct iommufd_selftest *sobj;
	struct iommufd_device *idev;
	struct iommufd_object *obj;
	u32 pt_id = cmd->id;
	u32 dev_flags = 0;
	int rc;

	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;
	/*
	 * PASID is accepted, as newer kernels do, but the engine has no
	 * PASIDs: only IOMMU_GET_HW_INFO shows it.
	 */
	if (dev_flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY |
			  MOCK_FLAGS_DEVICE_HUGE_IOVA |
			  MOCK_FLAGS_DEVICE_PASID))
		return -EINVAL;

	obj = iommufd_object_alloc(ucmd->ictx, sizeof(*sobj),
				   IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sobj = container_of(obj, struct iommufd_selftest, obj);
	sobj->mdev.flags = dev_flags;

	idev = iommufd_device_create(ucmd->ictx, &mock_dev_ops, &sobj->mdev);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto err_abort;
	}
	sobj->idev = idev;
	rc = iommufd_device_attach(idev, &pt_id);
	if (rc)
		goto err_destroy;

	/* The same fields for MOCK_DOMAIN_FLAGS */
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto err_detach;
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;

err_detach:
	iommufd_device_detach(idev);
err_destroy:
	iommufd_device_destroy(idev);
err_abort:
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
	return rc;
}

/* MOCK_DOMAIN_REPLACE: move a selftest device to another IOAS or HWPT */
static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct iommufd_selftest *sobj;
	struct iommufd_object *obj;
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	int rc;

	/* Holding the selftest object keeps IOMMU_DESTROY off its device */
	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	sobj = container_of(obj, struct iommufd_selftest, obj);

	rc = iommufd_device_replace(sobj->idev, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/* The owner of the IOVAs ADD_RESERVED reserves: never released */
static char iommufd_test_reserved_owner;

/* ADD_RESERVED: reserve an IOVA range of an IOAS for good */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	u64 start = cmd->add_reserved.start;
	u64 length = cmd->add_reserved.length;
	struct iommufd_ioas *ioas;
	u64 last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_iova(&ioas->iopt, start, last,
			       &iommufd_test_reserved_owner);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* The PFN of the page behind a user address, faulted in if need be */
static int iommufd_test_user_pfn(unsigned long uaddr, unsigned long *pfn)
{
	struct page *page;
	long got;

	got = get_user_pages_fast(uaddr & PAGE_MASK, 1, 0, &page);
	if (got < 0)
		return got;
	if (got != 1)
		return -EFAULT;
	*pfn = page_to_pfn(page);
	put_page(page);
	return 0;
}

/*
 * MD_CHECK_MAP: every IO page of [iova, iova + length) of a mock HWPT must
 * map the physical address behind the same offset of the user's buffer.
 */
static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long uaddr = cmd->check_map.uptr;
	u64 length = cmd->check_map.length;
	u64 iova = cmd->check_map.iova;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *obj;
	struct mock_domain *mock;
	unsigned long end, pfn = 0;
	int rc = 0;

	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    uaddr % MOCK_IO_PAGE_SIZE || length > ULONG_MAX ||
	    check_add_overflow(uaddr, (unsigned long)length, &end))
		return -EINVAL;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hwpt_paging, obj);
	mock = mock_domain_get(hwpt->domain);
	if (!mock) {
		rc = -EINVAL;
		goto out_put;
	}

	for (; uaddr != end; uaddr += MOCK_IO_PAGE_SIZE,
	     iova += MOCK_IO_PAGE_SIZE) {
		void *entry;

		/* A new CPU page: look its PFN up */
		if (!(uaddr % PAGE_SIZE) || uaddr == cmd->check_map.uptr) {
			rc = iommufd_test_user_pfn(uaddr, &pfn);
			if (rc)
				break;
		}
		entry = xa_load(&mock->ptes, iova / MOCK_IO_PAGE_SIZE);
		if (!entry ||
		    (xa_to_value(entry) & MOCK_PTE_ADDR_MASK) * MOCK_IO_PAGE_SIZE !=
			    PFN_PHYS(pfn) + uaddr % PAGE_SIZE) {
			rc = -EINVAL;
			break;
		}
		cond_resched();
	}

out_put:
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * MD_CHECK_REFS: every page of the user's range must be pinned exactly
 * refs times.  Pins of a page of a large folio are counted for the whole
 * folio, not per page: those pages are not checked.
 */
static int iommufd_test_md_check_refs(struct iommu_test_cmd *cmd)
{
	unsigned long uaddr = cmd->check_refs.uptr;
	u64 length = cmd->check_refs.length;
	unsigned long end;
	int rc = 0;

	if (length % PAGE_SIZE || uaddr % PAGE_SIZE || length > ULONG_MAX ||
	    check_add_overflow(uaddr, (unsigned long)length, &end))
		return -EINVAL;

	for (; uaddr != end; uaddr += PAGE_SIZE) {
		struct folio *folio;
		struct page *page;
		long got;

		got = get_user_pages_fast(uaddr, 1, 0, &page);
		if (got < 0)
			return got;
		if (got != 1)
			return -EFAULT;
		folio = page_folio(page);
		if (!folio_test_large(folio) &&
		    folio_ref_count(folio) / GUP_PIN_COUNTING_BIAS !=
			    cmd->check_refs.refs)
			rc = -EIO;
		put_page(page);
		if (rc)
			return rc;
		cond_resched();
	}
	return 0;
}

/**
 * struct iommufd_test_access - an in-kernel access behind a file
 * @access: the access, attached to an IOAS
 * @file: the file
 * @ictx_file: the /dev/iommu file of @access, held: its objects must not
 *	go before the access
 * @lock: protects @pins and @next_id; held across a pin so that an unmap
 *	waits for the pin to be recorded
 * @pins: struct iommufd_test_access_pin, the ranges pinned
 * @next_id: the id of the next pin
 */
struct iommufd_test_access {
	struct iommufd_access *access;
	struct file *file;
	struct file *ictx_file;
	struct mutex lock; /* see above */
	struct list_head pins;
	u32 next_id;
};

/**
 * struct iommufd_test_access_pin - a range pinned by ACCESS_PAGES
 * @node: in iommufd_test_access::pins
 * @iova: its first IOVA
 * @length: its length
 * @id: what DESTROY_ACCESS_PAGES names it by
 */
struct iommufd_test_access_pin {
	struct list_head node;
	unsigned long iova;
	unsigned long length;
	u32 id;
};

/* Unpin what overlaps [iova, last] */
static void iommufd_test_access_unpin(struct iommufd_test_access *staccess,
				      unsigned long iova, unsigned long last)
{
	struct iommufd_test_access_pin *pin, *next;

	lockdep_assert_held(&staccess->lock);

	list_for_each_entry_safe(pin, next, &staccess->pins, node) {
		if (pin->iova > last || pin->iova + pin->length - 1 < iova)
			continue;
		iommufd_access_unpin_pages(staccess->access, pin->iova,
					   pin->length);
		list_del(&pin->node);
		kfree(pin);
	}
}

/* The access's unmap callback: let go of what userspace unmaps */
static void iommufd_test_access_unmap(void *data, unsigned long iova,
				      unsigned long length)
{
	struct iommufd_test_access *staccess = data;

	mutex_lock(&staccess->lock);
	iommufd_test_access_unpin(staccess, iova, iova + length - 1);
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops iommufd_test_access_ops = {
	.unmap = iommufd_test_access_unmap,
};

static const struct iommufd_access_ops iommufd_test_access_pin_ops = {
	.needs_pin_pages = 1,
	.unmap = iommufd_test_access_unmap,
};

static int iommufd_test_access_release(struct inode *inode, struct file *file)
{
	struct iommufd_test_access *staccess = file->private_data;

	mutex_lock(&staccess->lock);
	iommufd_test_access_unpin(staccess, 0, ULONG_MAX);
	mutex_unlock(&staccess->lock);
	iommufd_access_destroy(staccess->access);
	fput(staccess->ictx_file);
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations iommufd_test_access_fops = {
	.owner = THIS_MODULE,
	.release = iommufd_test_access_release,
};

/* The access behind a file descriptor, with a reference on its file */
static struct iommufd_test_access *iommufd_test_access_get(u32 fd)
{
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADFD);
	if (file->f_op != &iommufd_test_access_fops) {
		fput(file);
		return ERR_PTR(-EBADFD);
	}
	return file->private_data;
}

static void iommufd_test_access_put(struct iommufd_test_access *staccess)
{
	fput(staccess->file);
}

/* CREATE_ACCESS: an access attached to an IOAS, as a new file descriptor */
static int iommufd_test_create_access(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	u32 flags = cmd->create_access.flags;
	struct iommufd_test_access *staccess;
	struct iommufd_access *access;
	struct file *file;
	u32 access_id;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock);
	INIT_LIST_HEAD(&staccess->pins);

	access = iommufd_access_create(ucmd->ictx,
				       flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES ?
				       &iommufd_test_access_pin_ops :
				       &iommufd_test_access_ops,
				       staccess, &access_id);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto err_free;
	}
	rc = iommufd_access_attach(access, cmd->id);
	if (rc)
		goto err_destroy;
	staccess->access = access;
	staccess->ictx_file = get_file(ucmd->ictx->file);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto err_put_ictx;
	}
	/* From here on the file's release undoes everything */
	file = anon_inode_getfile("[iommufd_test_access]",
				  &iommufd_test_access_fops, staccess, O_RDWR);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto err_put_fd;
	}
	staccess->file = file;
	cmd->create_access.out_access_fd = fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		put_unused_fd(fd);
		fput(file);
		return rc;
	}
	fd_install(fd, file);
	return 0;

err_put_fd:
	put_unused_fd(fd);
err_put_ictx:
	fput(staccess->ictx_file);
err_destroy:
	iommufd_access_destroy(access);
err_free:
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return rc;
}

/*
 * MOCK_FLAGS_ACCESS_SYZ: syzkaller cannot know the IOVAs the kernel chose,
 * so it names one as an offset inside the nth area of the access's IOAS,
 * laid over the 64 bits of the IOVA.  0 when there is no such area.
 */
static unsigned long iommufd_test_syz_iova(struct iommufd_access *access,
					   u64 iova)
{
	struct {
		u32 nth_area;
		u32 offset;
	} syz;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long found = 0;
	u32 nth;

	BUILD_BUG_ON(sizeof(syz) != sizeof(iova));
	memcpy(&syz, &iova, sizeof(syz));
	nth = syz.nth_area;

	mutex_lock(&access->ioas_lock);
	if (!access->ioas)
		goto out_unlock;
	iopt = &access->ioas->iopt;
	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (!nth--) {
			found = iopt_area_iova(area) + syz.offset;
			break;
		}
	}
	up_read(&iopt->iova_rwsem);
out_unlock:
	mutex_unlock(&access->ioas_lock);
	return found;
}

/* The pinned pages must be those behind the user's buffer */
static int iommufd_test_check_pages(unsigned long uaddr, struct page **pages,
				    unsigned long npages)
{
	unsigned long i, pfn;
	int rc;

	for (i = 0; i != npages; i++, uaddr += PAGE_SIZE) {
		rc = iommufd_test_user_pfn(uaddr, &pfn);
		if (rc)
			return rc;
		if (page_to_pfn(pages[i]) != pfn)
			return -EBADE;
	}
	return 0;
}

/* ACCESS_PAGES: pin an IOVA range through an access, record it */
static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long uaddr = cmd->access_pages.uptr;
	u64 length = cmd->access_pages.length;
	u32 flags = cmd->access_pages.flags;
	u64 iova = cmd->access_pages.iova;
	struct iommufd_test_access *staccess;
	struct iommufd_test_access_pin *pin;
	unsigned long npages, last;
	struct page **pages;
	int rc;

	if (length > MOCK_ACCESS_MAX_LENGTH)
		return -ENOMEM;
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;

	staccess = iommufd_test_access_get(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (staccess->access->ops != &iommufd_test_access_pin_ops) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = iommufd_test_syz_iova(staccess->access, iova);
	if (!length) {
		rc = -EINVAL;
		goto out_put;
	}
	if (iova > ULONG_MAX || check_add_overflow((unsigned long)iova,
						   (unsigned long)length - 1,
						   &last)) {
		rc = -EOVERFLOW;
		goto out_put;
	}

	npages = last / PAGE_SIZE - iova / PAGE_SIZE + 1;
	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pages || !pin) {
		rc = -ENOMEM;
		goto out_free;
	}

	/*
	 * An unmap of the range waits on the lock until the pin is recorded,
	 * then unpins it through the unmap callback.
	 */
	mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pages,
				      flags & MOCK_FLAGS_ACCESS_WRITE ?
				      IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	/* syzkaller may give no buffer to compare with */
	if (uaddr) {
		rc = iommufd_test_check_pages(uaddr - iova % PAGE_SIZE, pages,
					      npages);
		if (rc)
			goto out_unpin;
	}

	pin->iova = iova;
	pin->length = length;
	pin->id = staccess->next_id++;
	cmd->access_pages.out_access_pages_id = pin->id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_unpin;
	list_add_tail(&pin->node, &staccess->pins);
	pin = NULL;
	goto out_unlock;

out_unpin:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(pin);
	kvfree(pages);
out_put:
	iommufd_test_access_put(staccess);
	return rc;
}

/* DESTROY_ACCESS_PAGES: unpin what ACCESS_PAGES pinned */
static int iommufd_test_destroy_access_pages(struct iommu_test_cmd *cmd)
{
	u32 id = cmd->destroy_access_pages.access_pages_id;
	struct iommufd_test_access *staccess;
	struct iommufd_test_access_pin *pin;
	int rc = -ENOENT;

	staccess = iommufd_test_access_get(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	mutex_lock(&staccess->lock);
	list_for_each_entry(pin, &staccess->pins, node) {
		if (pin->id != id)
			continue;
		iommufd_access_unpin_pages(staccess->access, pin->iova,
					   pin->length);
		list_del(&pin->node);
		kfree(pin);
		rc = 0;
		break;
	}
	mutex_unlock(&staccess->lock);
	iommufd_test_access_put(staccess);
	return rc;
}

/*
 * ACCESS_RW: copy between the user's buffer and an IOVA range through an
 * access.  Upstream's engine has a fast path through pinned pages and a
 * slow one that MOCK_ACCESS_RW_SLOW_PATH forces; ours has a single path
 * (iopt_pages_rw), so that flag changes nothing.
 */
static int iommufd_test_access_rw(struct iommu_test_cmd *cmd)
{
	void __user *ubuf = u64_to_user_ptr(cmd->access_rw.uptr);
	u64 length = cmd->access_rw.length;
	u32 flags = cmd->access_rw.flags;
	u64 iova = cmd->access_rw.iova;
	bool write = flags & MOCK_ACCESS_RW_WRITE;
	struct iommufd_test_access *staccess;
	void *tmp;
	int rc;

	if (length > MOCK_ACCESS_MAX_LENGTH)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH |
		      MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;

	staccess = iommufd_test_access_get(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = iommufd_test_syz_iova(staccess->access, iova);
	if (iova > ULONG_MAX) {
		rc = -EOVERFLOW;
		goto out_put;
	}

	tmp = kvzalloc(length, GFP_KERNEL_ACCOUNT);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (write && copy_from_user(tmp, ubuf, length)) {
		rc = -EFAULT;
		goto out_free;
	}
	rc = iommufd_access_rw(staccess->access, iova, tmp, length,
			       write ? IOMMUFD_ACCESS_RW_WRITE :
				       IOMMUFD_ACCESS_RW_READ);
	if (!rc && !write && copy_to_user(ubuf, tmp, length))
		rc = -EFAULT;
out_free:
	kvfree(tmp);
out_put:
	iommufd_test_access_put(staccess);
	return rc;
}

/*
 * ACCESS_REPLACE_IOAS: move an attached access to another IOAS of its
 * file.  As upstream's does, the move lets go of every pin through the
 * unmap callback.  access.c has no replace, so this detaches and attaches:
 * meanwhile the access is attached nowhere, and when the new IOAS refuses
 * it, it goes back to the old one (which took it before) unless memory
 * runs out, when it stays detached.
 */
static int iommufd_test_access_replace_ioas(struct iommu_test_cmd *cmd)
{
	u32 ioas_id = cmd->access_replace_ioas.ioas_id;
	struct iommufd_test_access *staccess;
	struct iommufd_ioas *old, *new;
	struct iommufd_access *access;
	int rc;

	staccess = iommufd_test_access_get(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	access = staccess->access;

	mutex_lock(&staccess->lock);
	mutex_lock(&access->ioas_lock);
	old = access->ioas;
	/* Keep the old IOAS from IOMMU_DESTROY until we are done */
	if (old)
		refcount_inc(&old->obj.users);
	mutex_unlock(&access->ioas_lock);
	if (!old) {
		rc = -ENOENT;
		goto out_unlock;
	}

	new = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(new)) {
		rc = PTR_ERR(new);
		goto out_put_old;
	}
	if (new == old) {
		rc = 0;
		goto out_put_new;
	}

	iommufd_test_access_unpin(staccess, 0, ULONG_MAX);
	iommufd_access_detach(access);
	rc = iommufd_access_attach(access, ioas_id);
	if (rc)
		iommufd_access_attach(access, old->obj.id);

out_put_new:
	iommufd_put_object(access->ictx, &new->obj);
out_put_old:
	refcount_dec(&old->obj.users);
out_unlock:
	mutex_unlock(&staccess->lock);
	iommufd_test_access_put(staccess);
	return rc;
}

/*
 * DIRTY: as a device's DMA would, dirty the IOMMU pages of a mock HWPT that
 * map the IOVAs of the set bits of the user's bitmap (a bit per page_size
 * bytes from iova); out_nr_dirty counts the bits whose IOVA is mapped.
 * The domain must track dirty pages.  As upstream's, dirty.flags is not
 * looked at and the bitmap is read as unsigned longs.
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->dirty.uptr);
	u64 page_size = cmd->dirty.page_size;
	u64 length = cmd->dirty.length;
	u64 iova = cmd->dirty.iova;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *obj;
	struct mock_domain *mock;
	unsigned long nbits, i, last, count = 0;
	unsigned long *bits;
	int rc;

	if (!page_size || !length || iova % page_size || length % page_size ||
	    !uptr)
		return -EINVAL;
	if (length / page_size > SZ_16M * BITS_PER_BYTE)
		return -EOVERFLOW;
	if (iova > ULONG_MAX || length > ULONG_MAX ||
	    check_add_overflow((unsigned long)iova,
			       (unsigned long)length - 1, &last))
		return -EOVERFLOW;
	nbits = length / page_size;

	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hwpt_paging, obj);
	mock = mock_domain_get(hwpt->domain);
	if (!mock || !READ_ONCE(mock->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}

	bits = kvcalloc(BITS_TO_LONGS(nbits), sizeof(*bits),
			GFP_KERNEL_ACCOUNT);
	if (!bits) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (copy_from_user(bits, uptr, DIV_ROUND_UP(nbits, BITS_PER_BYTE))) {
		rc = -EFAULT;
		goto out_free;
	}
	for_each_set_bit(i, bits, nbits) {
		unsigned long index = (iova + i * page_size) / MOCK_IO_PAGE_SIZE;
		void *entry = xa_load(&mock->ptes, index);

		if (entry &&
		    mock_pte_update(mock,
				    mock_pte_head(index, xa_to_value(entry)),
				    MOCK_PTE_DIRTY, 0))
			count++;
		cond_resched();
	}
	cmd->dirty.out_nr_dirty = count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kvfree(bits);
out_put:
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/**
 * iommufd_test() - IOMMU_TEST_CMD
 * @ucmd: the ioctl, a struct iommu_test_cmd
 *
 * Return: 0 or a negative errno; -EOPNOTSUPP for an unknown operation.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(cmd);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_destroy_access_pages(cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/*
		 * Upstream's engine bounds the memory of its pinning batches
		 * by this, to exercise batches that fill up.  Ours pins a
		 * fixed batch, a page of page pointers (IOPT_PIN_BATCH in
		 * pages.c), and has no such limit: the value is checked as
		 * upstream checks it, then ignored.
		 */
		if (cmd->memory_limit.limit <
		    sizeof(unsigned long) + sizeof(u32))
			return -EINVAL;
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		/* The IOTLB of nested domains: the engine has no nesting */
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		/* I/O page faults: the engine has no fault queues */
	default:
		return -EOPNOTSUPP;
	}
}
