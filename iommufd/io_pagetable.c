// SPDX-License-Identifier: GPL-2.0
/*
 * io_pagetable: the areas of an IOAS and their mirror in its domains.
 *
 * Mapping is three steps: the area is inserted into the IOVA tree with no
 * pages (the IOVA is now taken, and the area is busy to everybody else);
 * under domains_rwsem the pages are pinned (when there is a domain) and
 * mapped into every domain; then the area gets its pages and is live.
 * Unmapping runs the same steps backwards: the area loses its pages (busy
 * again), is unmapped from every domain, its pages unpinned, then it leaves
 * the tree.  Attaching a domain fills it with every live area under the
 * write side of domains_rwsem; a failure anywhere unwinds what was done.
 *
 * An area's pages are pinned exactly while the table has a domain: the
 * first domain makes every area a user of its pages, the last one leaving
 * takes that back.  In-kernel accesses pin their own ranges (access.c).
 */
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "iommufd/io_pagetable.h"
#include "iommufd/iommufd_private.h"

/**
 * iopt_area_iter_first() - the first area overlapping [@start, @last]
 * @iopt: the table, iova_rwsem held
 * @start: first IOVA
 * @last: last IOVA
 *
 * Return: the area or NULL.
 */
struct iopt_area *iopt_area_iter_first(struct io_pagetable *iopt,
				       unsigned long start,
				       unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&iopt->iova_rwsem);
	node = interval_tree_iter_first(&iopt->area_itree, start, last);
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

/**
 * iopt_area_iter_next() - the next area overlapping [@start, @last]
 * @area: the current area
 * @start: first IOVA
 * @last: last IOVA
 *
 * Return: the area or NULL.
 */
struct iopt_area *iopt_area_iter_next(struct iopt_area *area,
				      unsigned long start,
				      unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_next(&area->node, start, last);
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

/**
 * iopt_area_contig_init() - start walking live areas that cover a range
 * @iter: the iterator
 * @iopt: the table, iova_rwsem held
 * @iova: the range's first IOVA
 * @last_iova: the range's last IOVA
 *
 * The walk stops at the first gap or busy area; iopt_area_contig_done()
 * tells whether it covered the whole range.
 *
 * Return: the first area or NULL.
 */
struct iopt_area *iopt_area_contig_init(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt,
					unsigned long iova,
					unsigned long last_iova)
{
	iter->cur_iova = iova;
	iter->last_iova = last_iova;
	iter->area = iopt_area_iter_first(iopt, iova, iova);
	if (iter->area && !iter->area->pages)
		iter->area = NULL;
	return iter->area;
}

/**
 * iopt_area_contig_next() - the next area of a contiguous walk
 * @iter: the iterator
 *
 * Return: the next area, or NULL at the range's end, a gap or a busy area.
 */
struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter)
{
	unsigned long last = iopt_area_last_iova(iter->area);

	if (last >= iter->last_iova)
		return NULL;
	iter->cur_iova = last + 1;
	iter->area = iopt_area_iter_next(iter->area, iter->cur_iova,
					 iter->last_iova);
	if (iter->area && (iopt_area_iova(iter->area) != iter->cur_iova ||
			   !iter->area->pages))
		iter->area = NULL;
	return iter->area;
}

/**
 * iopt_init_table() - initialize an empty io_pagetable
 * @iopt: the table
 */
void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	init_rwsem(&iopt->iova_rwsem);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	iopt->iova_alignment = 1;
	RCU_INIT_POINTER(iopt->owner, NULL);
}

static void iopt_free_itree(struct rb_root_cached *itree, size_t offset)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(itree, 0, ULONG_MAX))) {
		interval_tree_remove(node, itree);
		kfree((void *)node - offset);
	}
}

/**
 * iopt_destroy_table() - free an io_pagetable with no areas and domains
 * @iopt: the table
 */
void iopt_destroy_table(struct io_pagetable *iopt)
{
	struct iopt_owner *owner = rcu_dereference_protected(iopt->owner, true);

	WARN_ON(!RB_EMPTY_ROOT(&iopt->area_itree.rb_root));
	WARN_ON(iopt->nr_domains);
	kfree(iopt->domains);
	WARN_ON(!xa_empty(&iopt->accesses));
	if (owner)
		iopt_put_owner(owner);
	iopt_free_itree(&iopt->reserved_itree,
			offsetof(struct iopt_reserved, node));
	iopt_free_itree(&iopt->allowed_itree,
			offsetof(struct iopt_allowed, node));
}

static bool iopt_has_domains(struct io_pagetable *iopt)
{
	return iopt->nr_domains != 0;
}

/*
 * Find, inside the free range [*start, last], an IOVA aligned to
 * @alignment and offset by @page_offset, for @length bytes.
 */
static bool iopt_fit_in(unsigned long *start, unsigned long last,
			unsigned long length, unsigned long alignment,
			unsigned long page_offset)
{
	unsigned long iova;

	if (check_add_overflow(*start, alignment - 1, &iova))
		return false;
	iova = (iova & ~(alignment - 1)) | page_offset;
	if (iova < *start || iova > last || last - iova < length - 1)
		return false;
	*start = iova;
	return true;
}

/* Look for free IOVA in [start, last]: neither reserved nor used by an area */
static bool iopt_find_free(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long start, unsigned long last,
			   unsigned long length, unsigned long alignment,
			   unsigned long page_offset)
{
	struct iopt_hole_iter unreserved, unused;
	bool more, more_unused;

	for (more = iopt_hole_first(&unreserved, &iopt->reserved_itree, start,
				    last);
	     more; more = iopt_hole_next(&unreserved)) {
		for (more_unused = iopt_hole_first(&unused, &iopt->area_itree,
						   unreserved.start,
						   unreserved.hole_last);
		     more_unused; more_unused = iopt_hole_next(&unused)) {
			unsigned long found = unused.start;

			if (iopt_fit_in(&found, unused.hole_last, length,
					alignment, page_offset)) {
				*iova = found;
				return true;
			}
		}
	}
	return false;
}

/*
 * Choose an IOVA for @length bytes of user memory at @uptr: aligned as
 * well as the memory is (up to a huge page), so that domains can use large
 * pages, inside the allowed ranges if there are any.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long uptr, unsigned long length)
{
	unsigned long page_offset = uptr % PAGE_SIZE;
	unsigned long max_alignment = PAGE_SIZE;
	struct interval_tree_node *allowed;
	unsigned long alignment;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (length == 0 || length >= ULONG_MAX / 2)
		return -EOVERFLOW;
	alignment = roundup_pow_of_two(length);
	if (uptr)
		alignment = min_t(unsigned long, alignment, 1UL << __ffs(uptr));
	if (IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		max_alignment = HPAGE_SIZE;
	alignment = min(alignment, max_alignment);
	if (alignment < iopt->iova_alignment)
		return -EINVAL;

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_find_free(iopt, iova, PAGE_SIZE,
				      ULONG_MAX - PAGE_SIZE, length, alignment,
				      page_offset) ? 0 : -ENOSPC;

	for (allowed = interval_tree_iter_first(&iopt->allowed_itree, 0,
						ULONG_MAX);
	     allowed;
	     allowed = interval_tree_iter_next(allowed, 0, ULONG_MAX)) {
		if (iopt_find_free(iopt, iova, allowed->start, allowed->last,
				   length, alignment, page_offset))
			return 0;
	}
	return -ENOSPC;
}

/* May an area of @length bytes go at the fixed @iova? */
static int iopt_check_iova(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (interval_tree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (!RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root)) {
		struct iopt_hole_iter hole;

		/* Every byte must be inside an allowed range */
		if (iopt_hole_first(&hole, &iopt->allowed_itree, iova, last))
			return -EINVAL;
	}
	if (iopt_area_iter_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

/**
 * iopt_check_fixed_iova() - may an area go at a fixed IOVA?
 * @iopt: the table
 * @iova: the area's first IOVA
 * @length: its length in bytes, not 0
 *
 * What iopt_map_pages() would say of the IOVA range, without mapping.
 *
 * Return: 0, -EINVAL (misaligned, reserved or not allowed), -EOVERFLOW or
 * -EEXIST (an area is there).
 */
int iopt_check_fixed_iova(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length)
{
	int rc;

	down_read(&iopt->iova_rwsem);
	rc = iopt_check_iova(iopt, iova, length);
	up_read(&iopt->iova_rwsem);
	return rc;
}

static int iopt_insert_area(struct io_pagetable *iopt, struct iopt_area *area,
			    struct iopt_pages *pages, unsigned long iova,
			    unsigned long start_byte, unsigned long length,
			    int iommu_prot)
{
	unsigned long last_byte;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if ((iommu_prot & IOMMU_WRITE) && !pages->writable)
		return -EPERM;
	area->iommu_prot = iommu_prot;
	area->page_offset = start_byte % PAGE_SIZE;
	if (area->page_offset & (iopt->iova_alignment - 1))
		return -EINVAL;
	area->node.start = iova;
	if (check_add_overflow(iova, length - 1, &area->node.last))
		return -EOVERFLOW;
	area->pin.node.start = start_byte / PAGE_SIZE;
	if (check_add_overflow(start_byte, length - 1, &last_byte))
		return -EOVERFLOW;
	area->pin.node.last = last_byte / PAGE_SIZE;
	if (WARN_ON(area->pin.node.last >= pages->npages))
		return -EOVERFLOW;
	interval_tree_insert(&area->node, &iopt->area_itree);
	iopt->nr_areas++;
	return 0;
}

/* Take an area that is not live out of its table and free it */
static void iopt_remove_area(struct io_pagetable *iopt, struct iopt_area *area)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);
	WARN_ON(area->pages || area->pinned);
	interval_tree_remove(&area->node, &iopt->area_itree);
	iopt->nr_areas--;
	kfree(area);
}

/*
 * Take the not yet live areas of a list that failed to map out of the
 * table, those that went in, and free them.
 */
static void iopt_abort_areas(struct io_pagetable *iopt,
			     struct list_head *pages_list)
{
	struct iopt_pages_list *elm;

	down_write(&iopt->iova_rwsem);
	list_for_each_entry(elm, pages_list, next) {
		if (!elm->area)
			continue;
		if (RB_EMPTY_NODE(&elm->area->node.rb))
			kfree(elm->area);
		else
			iopt_remove_area(iopt, elm->area);
		elm->area = NULL;
	}
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_free_pages_list() - drop a list made by iopt_get_pages()
 * @pages_list: the list
 */
void iopt_free_pages_list(struct list_head *pages_list)
{
	struct iopt_pages_list *elm, *tmp;

	list_for_each_entry_safe(elm, tmp, pages_list, next) {
		WARN_ON(elm->area);
		if (elm->pages)
			iopt_put_pages(elm->pages);
		list_del(&elm->next);
		kfree(elm);
	}
}

/* Map one physically contiguous run into a domain */
static int iopt_map_run(struct iommu_domain *domain, unsigned long iova,
			phys_addr_t phys, unsigned long length, int prot)
{
	return IOMMUFD_FAIL(-ENOMEM, iommu_map(domain, iova, phys, length, prot,
					       GFP_KERNEL_ACCOUNT));
}

/*
 * Map the area into @domain.  Its pages are pinned.  Runs of physically
 * contiguous pages go to iommu_map() whole so that large IOMMU pages can be
 * used, unless the table disables them.
 */
static int iopt_area_map_domain(struct io_pagetable *iopt,
				struct iopt_area *area,
				struct iopt_pages *pages,
				struct iommu_domain *domain)
{
	unsigned long byte = iopt_area_start_byte(area, iopt_area_iova(area));
	unsigned long last = iopt_area_last_iova(area);
	unsigned long iova = iopt_area_iova(area);
	unsigned long max_run = iopt->disable_large_pages ? PAGE_SIZE :
							  ULONG_MAX;
	unsigned long run_iova = iova, run_len = 0;
	/* Only what was read is used: no zeroing of 512 bytes per call */
	unsigned long pfns[64] __uninitialized;
	unsigned long npfns = 0, next = 0;
	phys_addr_t run_phys = 0;
	int rc;

	while (true) {
		unsigned long offset = byte % PAGE_SIZE;
		unsigned long n = min(PAGE_SIZE - offset, last - iova + 1);
		phys_addr_t phys;

		if (next == npfns) {
			unsigned long want = (last - iova + offset) / PAGE_SIZE + 1;

			next = 0;
			npfns = iopt_pages_read_pfns(pages, byte / PAGE_SIZE,
						     min(want, ARRAY_SIZE(pfns)),
						     pfns);
			if (!npfns) {
				rc = -EFAULT;
				goto err_unmap;
			}
			cond_resched();
		}
		phys = PFN_PHYS(pfns[next++]) + offset;
		if (run_len && (phys != run_phys + run_len ||
				run_len + n > max_run)) {
			rc = iopt_map_run(domain, run_iova, run_phys, run_len,
					  area->iommu_prot);
			if (rc)
				goto err_unmap;
			run_len = 0;
		}
		if (!run_len) {
			run_iova = iova;
			run_phys = phys;
		}
		run_len += n;
		if (iova + (n - 1) == last)
			break;
		iova += n;
		byte += n;
	}
	rc = iopt_map_run(domain, run_iova, run_phys, run_len, area->iommu_prot);
	if (rc)
		goto err_unmap;
	return 0;

err_unmap:
	if (run_iova != iopt_area_iova(area))
		iommu_unmap(domain, iopt_area_iova(area),
			    run_iova - iopt_area_iova(area));
	return rc;
}

static void iopt_area_unmap_domain(struct iopt_area *area,
				   struct iommu_domain *domain)
{
	size_t unmapped;

	unmapped = iommu_unmap(domain, iopt_area_iova(area),
			       iopt_area_length(area));
	WARN_ON(unmapped != iopt_area_length(area));
}

/* Pin the area's pages and map them into every domain of its table */
static int iopt_area_fill_domains(struct io_pagetable *iopt,
				  struct iopt_area *area,
				  struct iopt_pages *pages)
{
	unsigned int i, undo;
	int rc;

	lockdep_assert_held(&iopt->domains_rwsem);

	if (!iopt_has_domains(iopt))
		return 0;
	rc = iopt_pages_add_user(pages, &area->pin);
	if (rc)
		return rc;
	area->pinned = true;
	for (i = 0; i != iopt->nr_domains; i++) {
		rc = iopt_area_map_domain(iopt, area, pages, iopt->domains[i]);
		if (rc)
			goto err_unmap;
	}
	return 0;

err_unmap:
	for (undo = 0; undo != i; undo++)
		iopt_area_unmap_domain(area, iopt->domains[undo]);
	iopt_pages_remove_user(pages, &area->pin);
	area->pinned = false;
	return rc;
}

/* Unmap the area from every domain of its table, then unpin its pages */
static void iopt_area_unfill_domains(struct io_pagetable *iopt,
				     struct iopt_area *area,
				     struct iopt_pages *pages)
{
	unsigned int i;

	/* Either keeps the set of domains (see iopt_unmap_range()) */
	lockdep_assert(lockdep_is_held(&iopt->domains_rwsem) ||
		       lockdep_is_held_type(&iopt->iova_rwsem, 0));

	if (!area->pinned)
		return;
	for (i = 0; i != iopt->nr_domains; i++)
		iopt_area_unmap_domain(area, iopt->domains[i]);
	iopt_pages_remove_user(pages, &area->pin);
	area->pinned = false;
}

static int iopt_alloc_area_pages(struct io_pagetable *iopt,
				 struct list_head *pages_list,
				 unsigned long length, unsigned long *dst_iova,
				 int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list *elm;
	unsigned long iova;
	int rc = 0;

	list_for_each_entry(elm, pages_list, next) {
		elm->area = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*elm->area),
						       GFP_KERNEL_ACCOUNT));
		if (!elm->area)
			return -ENOMEM;
		/* Not in the table yet */
		RB_CLEAR_NODE(&elm->area->node.rb);
	}

	down_write(&iopt->iova_rwsem);
	if (!length || (length & (iopt->iova_alignment - 1))) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (flags & IOPT_ALLOC_IOVA) {
		elm = list_first_entry(pages_list, struct iopt_pages_list, next);
		rc = iopt_alloc_iova(iopt, dst_iova,
				     (uintptr_t)elm->pages->uptr +
				     elm->start_byte, length);
	} else {
		rc = iopt_check_iova(iopt, *dst_iova, length);
	}
	if (rc)
		goto out_unlock;

	iova = *dst_iova;
	list_for_each_entry(elm, pages_list, next) {
		rc = iopt_insert_area(iopt, elm->area, elm->pages, iova,
				      elm->start_byte, elm->length, iommu_prot);
		if (rc)
			goto out_unlock;
		iova += elm->length;
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_map_pages() - map slices of existing iopt_pages at an IOVA
 * @iopt: the table
 * @pages_list: struct iopt_pages_list, mapped one after the other; on
 *	success the areas and page references move into the table
 * @length: the total length
 * @dst_iova: the IOVA, or where the chosen one is returned
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA to choose the IOVA
 *
 * Return: 0 or a negative errno; on failure the list is as it was given,
 * for the caller to free.
 */
int iopt_map_pages(struct io_pagetable *iopt, struct list_head *pages_list,
		   unsigned long length, unsigned long *dst_iova,
		   int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list *elm, *undo;
	int rc;

	rc = iopt_alloc_area_pages(iopt, pages_list, length, dst_iova,
				   iommu_prot, flags);
	if (rc)
		goto err_abort;

	down_read(&iopt->domains_rwsem);
	list_for_each_entry(elm, pages_list, next) {
		rc = iopt_area_fill_domains(iopt, elm->area, elm->pages);
		if (rc)
			goto err_unfill;
	}

	down_write(&iopt->iova_rwsem);
	list_for_each_entry(elm, pages_list, next) {
		elm->area->pages = elm->pages;
		elm->pages = NULL;
		elm->area = NULL;
	}
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return 0;

err_unfill:
	list_for_each_entry(undo, pages_list, next) {
		if (undo == elm)
			break;
		iopt_area_unfill_domains(iopt, undo->area, undo->pages);
	}
	up_read(&iopt->domains_rwsem);
err_abort:
	iopt_abort_areas(iopt, pages_list);
	return rc;
}

/*
 * The current process as the owner of pages it maps: the one of the last
 * map when it is the same (and as privileged), else a new one kept for the
 * next maps.  Returns a reference, or NULL.
 */
static struct iopt_owner *iopt_get_owner(struct io_pagetable *iopt)
{
	bool lock_cap = capable(CAP_IPC_LOCK);
	struct iopt_owner *owner, *old;

	rcu_read_lock();
	owner = rcu_dereference(iopt->owner);
	if (owner && owner->mm == current->mm &&
	    owner->task == current->group_leader &&
	    owner->user == current_user() && owner->lock_cap == lock_cap &&
	    refcount_inc_not_zero(&owner->refs)) {
		rcu_read_unlock();
		return owner;
	}
	rcu_read_unlock();

	owner = iopt_owner_alloc(lock_cap);
	if (!owner)
		return NULL;
	refcount_inc(&owner->refs);
	old = unrcu_pointer(xchg(&iopt->owner, RCU_INITIALIZER(owner)));
	if (old)
		iopt_put_owner(old);
	return owner;
}

/**
 * iopt_map_user_pages() - map user memory at an IOVA
 * @iopt: the table
 * @iova: the IOVA, or where the chosen one is returned
 * @uptr: the user memory
 * @length: its length
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA to choose the IOVA, IOPT_MAP_PFNMAP to map a
 *	VM_PFNMAP range by PFN (what vfio_iommu_type1 does), not refuse it
 * @account_mode: where the pages will be charged when pinned
 *
 * Return: 0 or a negative errno, with nothing mapped or pinned.
 */
int iopt_map_user_pages(struct io_pagetable *iopt, unsigned long *iova,
			void __user *uptr, unsigned long length,
			int iommu_prot, unsigned int flags, u8 account_mode)
{
	struct iopt_pages_list elm = {};
	struct iopt_owner *owner;
	LIST_HEAD(pages_list);
	int rc;

	owner = iopt_get_owner(iopt);
	if (!owner)
		return -ENOMEM;
	elm.pages = iopt_alloc_pages(uptr, length, iommu_prot & IOMMU_WRITE,
				     owner);
	if (IS_ERR(elm.pages)) {
		iopt_put_owner(owner);
		return PTR_ERR(elm.pages);
	}
	elm.pages->account_mode = account_mode;
	if (flags & IOPT_MAP_PFNMAP) {
		rc = iopt_pages_detect_pfnmap(elm.pages);
		if (rc) {
			iopt_put_pages(elm.pages);
			return rc;
		}
	}
	elm.start_byte = uptr - elm.pages->uptr;
	elm.length = length;
	list_add(&elm.next, &pages_list);

	rc = iopt_map_pages(iopt, &pages_list, length, iova, iommu_prot, flags);
	if (rc)
		iopt_put_pages(elm.pages);
	return rc;
}

/**
 * iopt_get_pages() - take references on what maps an IOVA range
 * @iopt: the table
 * @iova: the range's first IOVA
 * @length: its length
 * @pages_list: receives a struct iopt_pages_list per area slice
 *
 * Return: 0, -ENOENT when the range is not fully mapped by live areas,
 * or another negative errno; on failure the list is empty.
 */
int iopt_get_pages(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long length, struct list_head *pages_list)
{
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;
	unsigned long last_iova;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_init(&iter, iopt, iova, last_iova); area;
	     area = iopt_area_contig_next(&iter)) {
		unsigned long last = min(last_iova, iopt_area_last_iova(area));
		struct iopt_pages_list *elm;

		elm = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*elm), GFP_KERNEL_ACCOUNT));
		if (!elm) {
			rc = -ENOMEM;
			goto err_free;
		}
		elm->start_byte = iopt_area_start_byte(area, iter.cur_iova);
		elm->pages = area->pages;
		elm->length = last - iter.cur_iova + 1;
		kref_get(&elm->pages->kref);
		list_add_tail(&elm->next, pages_list);
	}
	if (!iopt_area_contig_done(&iter)) {
		rc = -ENOENT;
		goto err_free;
	}
	up_read(&iopt->iova_rwsem);
	return 0;

err_free:
	up_read(&iopt->iova_rwsem);
	iopt_free_pages_list(pages_list);
	return rc;
}

/*
 * The largest area unmapped without dropping iova_rwsem: emptying it from
 * the domains and unpinning it then costs more than taking the lock again.
 */
#define IOPT_UNMAP_HOLD_MAX (64 * PAGE_SIZE)

/*
 * -ENOENT when an area crosses the first or the last IOVA of a range.
 * @first is the range's first area (the one over @start if there is one).
 */
static int iopt_check_ends(struct io_pagetable *iopt, struct iopt_area *first,
			   unsigned long start, unsigned long last)
{
	struct iopt_area *area = first;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (!area)
		return 0;
	if (iopt_area_iova(area) < start)
		return -ENOENT;
	/* Perhaps also the one over @last */
	if (iopt_area_last_iova(area) < last)
		area = iopt_area_iter_first(iopt, last, last);
	if (area && iopt_area_last_iova(area) > last)
		return -ENOENT;
	return 0;
}

/**
 * iopt_unmap_range() - unmap the areas of an IOVA range
 * @iopt: the table
 * @start: the range's first IOVA
 * @last: its last IOVA
 * @flags: IOPT_UNMAP_* for the areas that cross the range's ends
 * @unmapped: if not NULL, receives the bytes unmapped
 *
 * Every area inside the range is unmapped, each found, emptied and taken
 * out of the table under one write hold of iova_rwsem (dropped while the
 * domains are emptied of a large area and its pages unpinned; then, and
 * only then, domains_rwsem is held too).  Without
 * flags an area crossing either end makes the call fail with -ENOENT when
 * the walk reaches it; what was unmapped before stays unmapped and is
 * counted.
 *
 * Return: 0, also when nothing was mapped there; -ENOENT for an area
 * crossing an end, -EBUSY for an area being changed, or another errno.
 */
int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
		     unsigned long last, unsigned int flags,
		     unsigned long *unmapped)
{
	/*
	 * The set of domains changes only with iova_rwsem held for writing
	 * as well: a range of small areas, unmapped with iova_rwsem held
	 * throughout, needs no domains_rwsem.
	 */
	bool domains_locked = last - start >= IOPT_UNMAP_HOLD_MAX;
	unsigned long unmapped_bytes = 0;
	unsigned int tries = 0;
	struct iopt_area *area;
	int rc = 0;

again:
	if (domains_locked)
		down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	area = iopt_area_iter_first(iopt, start, last);
	if (flags & IOPT_UNMAP_CHECK_ENDS) {
		rc = iopt_check_ends(iopt, area, start, last);
		if (rc)
			goto out_unlock;
		/* Nothing is unmapped yet: a retry need not check again */
		flags &= ~IOPT_UNMAP_CHECK_ENDS;
	}
	while (area) {
		unsigned long area_first = iopt_area_iova(area);
		unsigned long area_last = iopt_area_last_iova(area);
		struct iopt_pages *pages;
		bool hold;

		if ((flags & IOPT_UNMAP_V1) && area_first < start)
			break;
		if (!area->pages) {
			rc = -EBUSY;
			break;
		}
		if (area_first < start ||
		    (area_last > last && !(flags & IOPT_UNMAP_V1))) {
			rc = -ENOENT;
			break;
		}
		if (atomic_read(&area->num_accesses)) {
			/* In-kernel users must let go first; then retry */
			area->prevent_access = true;
			up_write(&iopt->iova_rwsem);
			if (domains_locked)
				up_read(&iopt->domains_rwsem);
			iommufd_access_notify_unmap(iopt, area_first,
						    area_last - area_first + 1);
			if (WARN_ON(++tries > 100)) {
				rc = -EDEADLOCK;
				goto out;
			}
			start = area_first;
			goto again;
		}

		/*
		 * A large area is emptied with iova_rwsem dropped, and is busy
		 * to everybody else meanwhile; a small one under it.
		 */
		hold = area_last - area_first < IOPT_UNMAP_HOLD_MAX;
		if (!hold && !domains_locked) {
			/* Crossing the range's end (v1): start again, locked */
			up_write(&iopt->iova_rwsem);
			domains_locked = true;
			goto again;
		}
		pages = area->pages;
		area->pages = NULL;
		if (!hold)
			up_write(&iopt->iova_rwsem);

		iopt_area_unfill_domains(iopt, area, pages);
		iopt_put_pages(pages);
		unmapped_bytes += area_last - area_first + 1;

		if (!hold)
			down_write(&iopt->iova_rwsem);
		iopt_remove_area(iopt, area);
		if (area_last >= last)
			break;
		start = area_last + 1;
		/* Let the table's other users in between small areas too */
		if (hold && (need_resched() ||
			     rwsem_is_contended(&iopt->iova_rwsem))) {
			up_write(&iopt->iova_rwsem);
			cond_resched();
			down_write(&iopt->iova_rwsem);
		}
		area = iopt_area_iter_first(iopt, start, last);
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	if (domains_locked)
		up_read(&iopt->domains_rwsem);
out:
	if (unmapped)
		*unmapped = unmapped_bytes;
	return rc;
}

/**
 * iopt_unmap_iova() - unmap the areas of an IOVA range
 * @iopt: the table
 * @iova: the range's first IOVA
 * @length: its length
 * @unmapped: if not NULL, receives the bytes unmapped
 *
 * Every area must be fully inside the range.
 *
 * Return: 0, -ENOENT when nothing was mapped there or an area crosses the
 * range's ends, -EBUSY for an area being changed, or another errno.
 */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped)
{
	unsigned long last, done;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	rc = iopt_unmap_range(iopt, iova, last, 0, &done);
	if (unmapped)
		*unmapped = done;
	if (!rc && !done)
		rc = -ENOENT;
	return rc;
}

/**
 * iopt_unmap_all() - unmap every area
 * @iopt: the table
 * @unmapped: if not NULL, receives the bytes unmapped
 *
 * Return: 0 (also when nothing was mapped) or a negative errno.
 */
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	return iopt_unmap_range(iopt, 0, ULONG_MAX, 0, unmapped);
}

/**
 * iopt_set_allow_iova() - replace the allowed IOVA ranges
 * @iopt: the table
 * @allowed_iova: struct iopt_allowed ranges; on success they move into the
 *	table and the old ones are left in @allowed_iova for the caller to
 *	free
 *
 * Return: 0, or -EADDRINUSE when a range would be reserved or an area would
 * fall outside every allowed range.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova)
{
	struct interval_tree_node *node;
	struct iopt_area *area;
	struct rb_root_cached old;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed_iova, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(&iopt->reserved_itree, node->start,
					     node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	if (!RB_EMPTY_ROOT(&allowed_iova->rb_root)) {
		for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
		     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
			struct iopt_hole_iter hole;

			if (iopt_hole_first(&hole, allowed_iova,
					    iopt_area_iova(area),
					    iopt_area_last_iova(area))) {
				up_write(&iopt->iova_rwsem);
				return -EADDRINUSE;
			}
		}
	}
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed_iova;
	*allowed_iova = old;
	up_write(&iopt->iova_rwsem);
	return 0;
}

static int __iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_reserved *reserved;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (iopt_area_iter_first(iopt, start, last) ||
	    interval_tree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	reserved = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*reserved),
					      GFP_KERNEL_ACCOUNT));
	if (!reserved)
		return -ENOMEM;
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	interval_tree_insert(&reserved->node, &iopt->reserved_itree);
	return 0;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_reserved *reserved =
			container_of(node, struct iopt_reserved, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (reserved->owner == owner) {
			interval_tree_remove(node, &iopt->reserved_itree);
			kfree(reserved);
		}
	}
}

/**
 * iopt_reserve_iova() - keep areas out of an IOVA range
 * @iopt: the table
 * @start: the range's first IOVA
 * @last: its last IOVA
 * @owner: who reserves it, for iopt_remove_reserved_iova()
 *
 * Return: 0, -EADDRINUSE when an area or an allowed range is there, or
 * -ENOMEM.
 */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = __iopt_reserve_iova(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_remove_reserved_iova() - drop every range reserved by @owner
 * @iopt: the table
 * @owner: as given to iopt_reserve_iova()
 */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	__iopt_remove_reserved_iova(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/* The alignment the domains and accesses need, and the areas must have */
static unsigned long iopt_needed_alignment(struct io_pagetable *iopt,
					   struct iommu_domain *extra)
{
	unsigned long alignment = iopt->disable_large_pages ? PAGE_SIZE : 1;
	struct iommufd_access *access;
	unsigned long index;
	unsigned int i;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held(&iopt->iova_rwsem);

	for (i = 0; i != iopt->nr_domains; i++)
		alignment = max(alignment,
				1UL << __ffs(iopt->domains[i]->pgsize_bitmap));
	if (extra)
		alignment = max(alignment, 1UL << __ffs(extra->pgsize_bitmap));
	xa_for_each(&iopt->accesses, index, access)
		alignment = max(alignment, iommufd_access_iova_alignment(access));
	return alignment;
}

static int iopt_check_alignment(struct io_pagetable *iopt,
				unsigned long alignment)
{
	struct iopt_area *area;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if ((iopt_area_iova(area) & (alignment - 1)) ||
		    (iopt_area_length(area) & (alignment - 1)) ||
		    (area->page_offset & (alignment - 1)))
			return -EADDRINUSE;
	}
	return 0;
}

/**
 * iopt_set_access_alignment() - recompute the alignment after an access
 *	changed its needs
 * @iopt: the table
 *
 * Return: 0, or -EADDRINUSE when existing areas do not fit the new one.
 */
int iopt_set_access_alignment(struct io_pagetable *iopt)
{
	unsigned long alignment;
	int rc = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	alignment = iopt_needed_alignment(iopt, NULL);
	if (alignment > iopt->iova_alignment)
		rc = iopt_check_alignment(iopt, alignment);
	if (!rc)
		iopt->iova_alignment = alignment;
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/*
 * Make every live area of a table that had no domain a user of its pages,
 * or undo that.
 */
static int iopt_pin_all_areas(struct io_pagetable *iopt)
{
	struct iopt_area *area, *undo;
	int rc;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (!area->pages)
			continue;
		rc = iopt_pages_add_user(area->pages, &area->pin);
		if (rc)
			goto err_unpin;
		area->pinned = true;
	}
	return 0;

err_unpin:
	for (undo = iopt_area_iter_first(iopt, 0, ULONG_MAX); undo != area;
	     undo = iopt_area_iter_next(undo, 0, ULONG_MAX)) {
		if (!undo->pinned)
			continue;
		iopt_pages_remove_user(undo->pages, &undo->pin);
		undo->pinned = false;
	}
	return rc;
}

static void iopt_unpin_all_areas(struct io_pagetable *iopt)
{
	struct iopt_area *area;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (!area->pinned)
			continue;
		iopt_pages_remove_user(area->pages, &area->pin);
		area->pinned = false;
	}
}

/* Map every live area into a new domain, or undo it */
static int iopt_fill_domain(struct io_pagetable *iopt,
			    struct iommu_domain *domain)
{
	struct iopt_area *area, *undo;
	int rc;

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (!area->pages)
			continue;
		rc = iopt_area_map_domain(iopt, area, area->pages, domain);
		if (rc)
			goto err_unmap;
	}
	return 0;

err_unmap:
	for (undo = iopt_area_iter_first(iopt, 0, ULONG_MAX); undo != area;
	     undo = iopt_area_iter_next(undo, 0, ULONG_MAX)) {
		if (undo->pages)
			iopt_area_unmap_domain(undo, domain);
	}
	return rc;
}

/**
 * iopt_table_add_domain() - mirror the table into a new domain
 * @iopt: the table
 * @domain: a paging domain not attached to any table
 *
 * IOVAs outside the domain's aperture become reserved; every area is
 * mapped into it (the first domain pins the pages of every area).
 *
 * Return: 0, -EADDRINUSE when areas lie outside the aperture or are not
 * aligned to the domain's page size, or another negative errno; on failure
 * nothing changed.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geometry = &domain->geometry;
	bool first = !iopt_has_domains(iopt);
	struct iommu_domain **domains;
	unsigned long alignment;
	int rc;

	/* A domain its driver has not finished setting up maps nothing */
	if (!domain->pgsize_bitmap)
		return -EINVAL;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	first = !iopt_has_domains(iopt);

	alignment = iopt_needed_alignment(iopt, domain);
	rc = iopt_check_alignment(iopt, alignment);
	if (rc)
		goto out_unlock;
	if (geometry->aperture_start) {
		rc = __iopt_reserve_iova(iopt, 0, geometry->aperture_start - 1,
					 domain);
		if (rc)
			goto err_reserved;
	}
	if (geometry->aperture_end < ULONG_MAX) {
		rc = __iopt_reserve_iova(iopt, geometry->aperture_end + 1,
					 ULONG_MAX, domain);
		if (rc)
			goto err_reserved;
	}
	domains = IOMMUFD_FAIL(NULL, krealloc_array(iopt->domains,
						    iopt->nr_domains + 1,
						    sizeof(*domains),
						    GFP_KERNEL_ACCOUNT));
	if (!domains) {
		rc = -ENOMEM;
		goto err_reserved;
	}
	iopt->domains = domains;
	iopt->domains[iopt->nr_domains++] = domain;
	if (first) {
		rc = iopt_pin_all_areas(iopt);
		if (rc)
			goto err_erase;
	}
	rc = iopt_fill_domain(iopt, domain);
	if (rc)
		goto err_unpin;
	iopt->iova_alignment = alignment;
	goto out_unlock;

err_unpin:
	if (first)
		iopt_unpin_all_areas(iopt);
err_erase:
	iopt->nr_domains--;
err_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_table_remove_domain() - stop mirroring the table into a domain
 * @iopt: the table
 * @domain: a domain added by iopt_table_add_domain()
 *
 * Every area is unmapped from it; when it was the last domain the areas'
 * pages are unpinned.
 */
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	struct iopt_area *area;
	unsigned int i;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	for (i = 0; i != iopt->nr_domains; i++)
		if (iopt->domains[i] == domain)
			break;
	if (WARN_ON(i == iopt->nr_domains))
		goto out_unlock;
	iopt->domains[i] = iopt->domains[--iopt->nr_domains];

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (area->pages)
			iopt_area_unmap_domain(area, domain);
	}
	if (!iopt_has_domains(iopt))
		iopt_unpin_all_areas(iopt);
	__iopt_remove_reserved_iova(iopt, domain);
	iopt->iova_alignment = iopt_needed_alignment(iopt, NULL);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_disable_large_pages() - map domains with PAGE_SIZE pages only
 *
 * Areas must then be PAGE_SIZE aligned, so that any page can be unmapped
 * alone.
 *
 * @iopt: the table
 *
 * Return: 0, -EINVAL when domains already map areas (with their pages as
 * they are), or -EADDRINUSE when areas are not PAGE_SIZE aligned.
 */
int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	unsigned long alignment;
	int rc = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (iopt->disable_large_pages)
		goto out_unlock;
	if (iopt_has_domains(iopt) &&
	    !RB_EMPTY_ROOT(&iopt->area_itree.rb_root)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	iopt->disable_large_pages = true;
	alignment = iopt_needed_alignment(iopt, NULL);
	rc = iopt_check_alignment(iopt, alignment);
	if (rc)
		iopt->disable_large_pages = false;
	else
		iopt->iova_alignment = alignment;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_enable_large_pages() - let domains use large pages again
 * @iopt: the table
 */
void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	iopt->disable_large_pages = false;
	iopt->iova_alignment = iopt_needed_alignment(iopt, NULL);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_add_access() - register an in-kernel access with the table
 * @iopt: the table
 * @access: the access, told about unmaps from now on
 * @id: receives the access's id in the table
 *
 * Return: 0, -EADDRINUSE when the areas do not fit the access's alignment,
 * or -ENOMEM.
 */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    u32 *id)
{
	unsigned long alignment;
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	alignment = max(iopt_needed_alignment(iopt, NULL),
			iommufd_access_iova_alignment(access));
	rc = iopt_check_alignment(iopt, alignment);
	if (rc)
		goto out_unlock;
	rc = IOMMUFD_FAIL(-ENOMEM, xa_alloc(&iopt->accesses, id, access,
					    xa_limit_32b, GFP_KERNEL_ACCOUNT));
	if (rc)
		goto out_unlock;
	iopt->iova_alignment = alignment;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_remove_access() - undo iopt_add_access()
 * @iopt: the table
 * @id: the access's id
 */
void iopt_remove_access(struct io_pagetable *iopt, u32 id)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WARN_ON(!xa_erase(&iopt->accesses, id));
	iopt->iova_alignment = iopt_needed_alignment(iopt, NULL);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}
