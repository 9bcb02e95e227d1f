// SPDX-License-Identifier: GPL-2.0
/*
 * iopt_pages: user memory, pinned once, shared by every mapping of it.
 *
 * An iopt_pages stands for a page-aligned range of one process's virtual
 * memory.  Nothing is pinned when it is made.  A user (an area whose
 * io_pagetable has a domain, or an in-kernel access pin) adds the range of
 * page indexes it needs; the pages of that range that no other user already
 * needs are then pinned with FOLL_LONGTERM, a batch at a time, charged to
 * RLIMIT_MEMLOCK, and their PFNs kept in @pinned_pfns.  When a user leaves,
 * the pages no remaining user covers are unpinned (dirtied first if they
 * could be written) and uncharged.  So a page is pinned and charged once
 * however many areas, IOASes and domains map it, and nothing stays pinned
 * after its last user.
 *
 * The PFNs always live in @pinned_pfns, whatever maps them: domains are
 * filled from it and emptied with iommu_unmap() before the pages are
 * unpinned, so a device never reaches a page after it was unpinned.  An
 * entry holds the PFN minus the index (an xarray value, signed), the same
 * for every page of a physically contiguous run: an aligned run of
 * 2^IOPT_PFN_RUN_ORDER pages (huge pages, say) is one multi-index entry of
 * that order, which fills one slot of a node above the leaves and so has
 * no sibling entries; other pages have an entry each.  Before a range is
 * erased, a run entry that straddles one of its ends is split.
 *
 * A VM_PFNMAP range (a device BAR mmap'ed by vfio-pci, say) has no pages
 * to pin: when its iopt_pages is made with iopt_pages_detect_pfnmap(), its
 * PFNs are looked up (faulted in if need be) where others are pinned, kept
 * in @pinned_pfns the same way, and neither charged nor unpinned.  The
 * CPU paths that need a struct page (access pins, rw) refuse it.
 *
 * Reserved pages are pinned but not charged, as vfio_iommu_type1 charges
 * none: the shared zero page, which kernels before 6.2 give read-only
 * long-term pins of never written private memory.
 *
 * Charging follows the pages' account mode: IOPT_PAGES_ACCOUNT_USER adds
 * to the user's locked_vm (shown as the mm's VmPin), IOPT_PAGES_ACCOUNT_MM
 * to the mm's locked_vm (VmLck) as vfio_iommu_type1 does.  Either way the
 * limit is the mapping task's RLIMIT_MEMLOCK, unless that task had
 * CAP_IPC_LOCK when it mapped.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "iommufd/io_pagetable.h"
#include "iommufd/iommufd_private.h"

/* Pages pinned by one call to the pinning functions: a page of pointers */
#define IOPT_PIN_BATCH (PAGE_SIZE / sizeof(struct page *))

/* The order of a run entry of pinned_pfns (see above) */
#define IOPT_PFN_RUN_ORDER XA_CHUNK_SHIFT
#define IOPT_PFN_RUN BIT(IOPT_PFN_RUN_ORDER)

static void *iopt_pfn_entry(unsigned long index, unsigned long pfn)
{
	return xa_mk_value((pfn - index) & (ULONG_MAX >> 1));
}

static unsigned long iopt_entry_pfn(unsigned long index, void *entry)
{
	return index + ((long)(xa_to_value(entry) << 1) >> 1);
}

/* The order of the entry an xas walk stands on: a run entry or a page's */
static unsigned int iopt_entry_order(struct xa_state *xas)
{
	return xas->xa_node ? xas->xa_node->shift : 0;
}

/* The id of the last iopt_pages made */
static atomic_long_t iopt_pages_last_id;

/**
 * iopt_owner_alloc() - the current process as the owner of pages
 * @lock_cap: it has CAP_IPC_LOCK
 *
 * Return: the owner with one reference, or NULL.
 */
struct iopt_owner *iopt_owner_alloc(bool lock_cap)
{
	struct iopt_owner *owner;

	owner = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*owner), GFP_KERNEL_ACCOUNT));
	if (!owner)
		return NULL;
	refcount_set(&owner->refs, 1);
	owner->lock_cap = lock_cap;
	owner->mm = current->mm;
	mmgrab(owner->mm);
	owner->task = current->group_leader;
	get_task_struct(owner->task);
	owner->user = get_uid(current_user());
	return owner;
}

/**
 * iopt_put_owner() - drop a reference to an owner
 * @owner: the owner
 */
void iopt_put_owner(struct iopt_owner *owner)
{
	if (!refcount_dec_and_test(&owner->refs))
		return;
	mmdrop(owner->mm);
	put_task_struct(owner->task);
	free_uid(owner->user);
	kfree_rcu(owner, rcu);
}

/* Make @owner the owner of @pages; return the one it had */
static struct iopt_owner *iopt_pages_set_owner(struct iopt_pages *pages,
					       struct iopt_owner *owner)
{
	struct iopt_owner *old = pages->owner;

	pages->owner = owner;
	pages->lock_cap = owner->lock_cap;
	pages->source_mm = owner->mm;
	pages->source_task = owner->task;
	return old;
}

/**
 * iopt_alloc_pages() - describe a range of the current process's memory
 * @uptr: the range's first byte
 * @length: its length in bytes
 * @writable: pin for writing
 * @owner: the current process as an owner (iopt_owner_alloc()): on
 *	success the reference passed moves to the pages
 *
 * Return: the new iopt_pages with one reference, or an ERR_PTR.
 */
struct iopt_pages *iopt_alloc_pages(void __user *uptr, unsigned long length,
				    bool writable, struct iopt_owner *owner)
{
	unsigned long start = (uintptr_t)uptr;
	unsigned long end;
	struct iopt_pages *pages;

	if (!length)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(start, length, &end) ||
	    end > ULONG_MAX - PAGE_SIZE)
		return ERR_PTR(-EOVERFLOW);

	pages = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT));
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	pages->id = atomic_long_inc_return(&iopt_pages_last_id);
	mutex_init(&pages->mutex);
	xa_init_flags(&pages->pinned_pfns, XA_FLAGS_ACCOUNT);
	pages->users_itree = RB_ROOT_CACHED;
	pages->uptr = (void __user *)ALIGN_DOWN(start, PAGE_SIZE);
	pages->npages = (ALIGN(end, PAGE_SIZE) - ALIGN_DOWN(start, PAGE_SIZE)) /
			PAGE_SIZE;
	pages->writable = writable;
	pages->account_mode = IOPT_PAGES_ACCOUNT_USER;
	iopt_pages_set_owner(pages, owner);
	return pages;
}

/**
 * iopt_pages_detect_pfnmap() - make an iopt_pages of a VM_PFNMAP range
 *	look PFNs up instead of pinning
 * @pages: the pages, new, of the current process
 *
 * A range that starts in a VM_PFNMAP mapping must lie inside it.
 *
 * Return: 0 (also for ordinary memory) or -EFAULT.
 */
int iopt_pages_detect_pfnmap(struct iopt_pages *pages)
{
	unsigned long start = (uintptr_t)pages->uptr;
	struct vm_area_struct *vma;
	int rc = 0;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, start);
	if (vma && (vma->vm_flags & VM_PFNMAP)) {
		if (pages->npages > (vma->vm_end - start) / PAGE_SIZE)
			rc = -EFAULT;
		else
			pages->pfnmap = true;
	}
	mmap_read_unlock(current->mm);
	return rc;
}

/**
 * iopt_release_pages() - free an iopt_pages when its last reference goes
 * @kref: the iopt_pages' kref
 */
void iopt_release_pages(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	WARN_ON(!RB_EMPTY_ROOT(&pages->users_itree.rb_root));
	WARN_ON(pages->npinned);
	WARN_ON(!xa_empty(&pages->pinned_pfns));
	iopt_put_owner(pages->owner);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

static int iopt_pages_charge_user(struct iopt_pages *pages, unsigned long n)
{
	unsigned long limit, cur;

	limit = task_rlimit(pages->source_task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	do {
		cur = atomic_long_read(&pages->owner->user->locked_vm);
		if (!pages->lock_cap && cur + n > limit)
			return -ENOMEM;
	} while (atomic_long_cmpxchg(&pages->owner->user->locked_vm, cur,
				     cur + n) != cur);
	atomic64_add(n, &pages->source_mm->pinned_vm);
	return 0;
}

/* Charge (@inc) or uncharge @n pinned pages; only charging can fail */
static int iopt_pages_charge(struct iopt_pages *pages, unsigned long n,
			     bool inc)
{
	int rc;

	if (!n)
		return 0;
	switch (pages->account_mode) {
	case IOPT_PAGES_ACCOUNT_USER:
		if (inc)
			return iopt_pages_charge_user(pages, n);
		atomic_long_sub(n, &pages->owner->user->locked_vm);
		atomic64_sub(n, &pages->source_mm->pinned_vm);
		return 0;
	case IOPT_PAGES_ACCOUNT_MM:
		mmap_write_lock(pages->source_mm);
		rc = __account_locked_vm(pages->source_mm, n, inc,
					 pages->source_task, pages->lock_cap);
		mmap_write_unlock(pages->source_mm);
		return rc;
	}
	return 0;
}

/* How many of the @n pages of @batch are charged: all but reserved ones */
static unsigned long iopt_pages_chargeable(struct page **batch,
					   unsigned long n)
{
	unsigned long i, count = n;

	for (i = 0; i != n; i++)
		if (PageReserved(batch[i]))
			count--;
	return count;
}

/**
 * iopt_pages_change_owner() - hand an iopt_pages to the current process
 * @pages: the pages
 * @uptr: the page-aligned address of their first page in the current
 *	process
 *
 * For VFIO_DMA_MAP_FLAG_VADDR: a process, often the same program after
 * exec, gives the new address of memory that is mapped already.  The pinned
 * pages, and whatever maps them, are left alone: only pins made from now on
 * read @uptr, in the current process's address space.  The pages pinned now
 * are charged to the current process (its RLIMIT_MEMLOCK applies, unless it
 * has CAP_IPC_LOCK) and uncharged from the old owner, as vfio_iommu_type1
 * moves locked_vm to the new mm; an old mm that has exited is left as it
 * is.  When the current process owns the pages already only @uptr changes.
 *
 * Return: 0, or -ENOMEM over the new owner's limit (or without memory)
 * with nothing changed.
 */
int iopt_pages_change_owner(struct iopt_pages *pages, void __user *uptr)
{
	bool lock_cap = capable(CAP_IPC_LOCK);
	struct iopt_owner *owner, *old;
	bool alive;
	int rc = 0;

	if (WARN_ON((uintptr_t)uptr % PAGE_SIZE))
		return -EINVAL;
	mutex_lock(&pages->mutex);
	if (pages->source_mm == current->mm)
		goto out_set_uptr;
	owner = iopt_owner_alloc(lock_cap);
	if (!owner) {
		rc = -ENOMEM;
		goto out_unlock;
	}

	/* Charge the new owner, then uncharge the old one */
	old = iopt_pages_set_owner(pages, owner);
	rc = iopt_pages_charge(pages, pages->npinned, true);
	iopt_pages_set_owner(pages, old);
	if (rc) {
		iopt_put_owner(owner);
		goto out_unlock;
	}
	alive = mmget_not_zero(pages->source_mm);
	if (alive || pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
		iopt_pages_charge(pages, pages->npinned, false);
	if (alive)
		mmput(pages->source_mm);

	iopt_pages_set_owner(pages, owner);
	iopt_put_owner(old);
out_set_uptr:
	pages->uptr = uptr;
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/* Do the @n pages from index @index make a run entry? */
static bool iopt_pages_is_run(struct page **batch, unsigned long n,
			      unsigned long index)
{
	unsigned long pfn, i;

	if (index % IOPT_PFN_RUN || n < IOPT_PFN_RUN)
		return false;
	pfn = page_to_pfn(batch[0]);
	for (i = 1; i != IOPT_PFN_RUN; i++)
		if (page_to_pfn(batch[i]) != pfn + i)
			return false;
	return true;
}

static int iopt_pages_store_pfns(struct iopt_pages *pages,
				 unsigned long index, struct page **batch,
				 unsigned long n)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	unsigned long i = 0;

	/* The xarray allocates in xas_nomem() below: fail as it would */
	if (iommufd_should_fail())
		return -ENOMEM;
	do {
		xas_lock(&xas);
		xas_set_order(&xas, index + i, 0);
		while (i != n) {
			unsigned int order = 0;

			if (iopt_pages_is_run(batch + i, n - i, index + i))
				order = IOPT_PFN_RUN_ORDER;
			if (order || xas.xa_shift)
				xas_set_order(&xas, index + i, order);
			xas_store(&xas, iopt_pfn_entry(index + i,
						       page_to_pfn(batch[i])));
			if (xas_error(&xas))
				break;
			i += 1UL << order;
			if (!order)
				xas_next(&xas);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
	return xas_error(&xas);
}

/* Split the run entry that covers @index and the index before it, if any */
static void iopt_pages_split_run(struct iopt_pages *pages,
				 unsigned long index)
{
	XA_STATE(xas, &pages->pinned_pfns, ALIGN_DOWN(index, IOPT_PFN_RUN));
	void *entry;

	if (!(index % IOPT_PFN_RUN))
		return;
	rcu_read_lock();
	do {
		entry = xas_load(&xas);
	} while (xas_retry(&xas, entry));
	rcu_read_unlock();
	if (!entry || !iopt_entry_order(&xas))
		return;
	/* One node: a failure would leave pinned pages no entry knows */
	xas_split_alloc(&xas, entry, IOPT_PFN_RUN_ORDER,
			GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	xas_lock(&xas);
	xas_split(&xas, entry, IOPT_PFN_RUN_ORDER);
	xas_unlock(&xas);
}

/*
 * Unpin the pinned pages of [start, last]: one walk of the xarray,
 * physically contiguous runs of pages collected a batch at a time and
 * unpinned outside the RCU read side; then one erase of the range (whole
 * nodes at a time where aligned).  Returns how many pages to uncharge.
 */
static unsigned long iopt_pages_unpin_runs(struct iopt_pages *pages,
					   unsigned long start,
					   unsigned long last)
{
	XA_STATE(xas, &pages->pinned_pfns, start);
	/* Only what was written is read: no zeroing of 512 bytes per call */
	struct {
		unsigned long pfn;
		unsigned long n;
	} runs[32] __uninitialized;
	unsigned long total = 0;
	unsigned int nr, i;
	void *entry;

	do {
		nr = 0;
		rcu_read_lock();
		xas_for_each(&xas, entry, last) {
			unsigned long n, index, pfn;

			if (xas_retry(&xas, entry))
				continue;
			n = 1UL << iopt_entry_order(&xas);
			index = ALIGN_DOWN(xas.xa_index, n);
			pfn = iopt_entry_pfn(index, entry);
			if (nr && runs[nr - 1].pfn + runs[nr - 1].n == pfn) {
				runs[nr - 1].n += n;
				continue;
			}
			if (nr == ARRAY_SIZE(runs)) {
				xas_set(&xas, index);
				break;
			}
			runs[nr].pfn = pfn;
			runs[nr++].n = n;
		}
		xas_pause(&xas);
		rcu_read_unlock();
		for (i = 0; i != nr; i++) {
			struct page *first = pfn_to_page(runs[i].pfn);

			if (pages->pfnmap)
				continue;
			/* The zero page is never part of a longer run */
			if (!PageReserved(first))
				total += runs[i].n;
			unpin_user_page_range_dirty_lock(first, runs[i].n,
							 pages->writable);
		}
		cond_resched();
	} while (nr == ARRAY_SIZE(runs));
	xa_store_range(&pages->pinned_pfns, start, last, NULL, GFP_KERNEL);
	return total;
}

/*
 * Unpin the pinned page @index, which has an entry of its own: load and
 * erase it, without the walk above, its pause and its batch.  Returns how
 * many pages to uncharge.
 */
static unsigned long iopt_pages_unpin_page(struct iopt_pages *pages,
					   unsigned long index)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	struct page *page;
	bool charged;
	void *entry;

	xas_lock(&xas);
	entry = xas_load(&xas);
	if (entry)
		xas_store(&xas, NULL);
	xas_unlock(&xas);
	if (!entry || pages->pfnmap)
		return 0;
	page = pfn_to_page(iopt_entry_pfn(index, entry));
	charged = !PageReserved(page);
	unpin_user_page_range_dirty_lock(page, 1, pages->writable);
	return charged;
}

/* Unpin and uncharge the pinned pages of [start, last] */
static void iopt_pages_unpin_range(struct iopt_pages *pages,
				   unsigned long start, unsigned long last)
{
	unsigned long total;

	lockdep_assert_held(&pages->mutex);

	iopt_pages_split_run(pages, start);
	/* No entry lies beyond the last page */
	if (last + 1 < pages->npages)
		iopt_pages_split_run(pages, last + 1);
	/* One page, the ends being split: an entry of its own */
	if (start == last)
		total = iopt_pages_unpin_page(pages, start);
	else
		total = iopt_pages_unpin_runs(pages, start, last);
	if (!pages->pfnmap) {
		pages->npinned -= total;
		iopt_pages_charge(pages, total, false);
	}
}

/* The PFN at @uaddr of a VM_PFNMAP mapping of @mm, faulted in if need be */
static int iopt_follow_pfn(struct mm_struct *mm, unsigned long uaddr,
			   bool write, unsigned long *pfn)
{
	struct follow_pfnmap_args args = { .address = uaddr };
	bool faulted = false;
	int rc;

	mmap_assert_locked(mm);
	while (true) {
		bool unlocked = false;

		/* Faulting may drop the lock: look the vma up again */
		args.vma = vma_lookup(mm, uaddr);
		if (!args.vma || !(args.vma->vm_flags & VM_PFNMAP))
			return -EFAULT;
		rc = follow_pfnmap_start(&args);
		if (!rc || faulted)
			break;
		rc = fixup_user_fault(mm, uaddr,
				      FAULT_FLAG_REMOTE |
				      (write ? FAULT_FLAG_WRITE : 0),
				      &unlocked);
		if (rc)
			return rc;
		faulted = true;
	}
	if (rc)
		return rc;
	if (write && !args.writable)
		rc = -EFAULT;
	else
		*pfn = args.pfn;
	follow_pfnmap_end(&args);
	return rc;
}

/* Look the PFNs of [start, last] of VM_PFNMAP pages up; none is known yet */
static int iopt_pages_follow_range(struct iopt_pages *pages,
				   unsigned long start, unsigned long last)
{
	struct mm_struct *mm = pages->source_mm;
	unsigned long index, pfn;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	for (index = start; index <= last; index++) {
		void *entry;

		rc = iopt_follow_pfn(mm, (uintptr_t)pages->uptr +
					 index * PAGE_SIZE,
				     pages->writable, &pfn);
		if (rc)
			break;
		entry = iopt_pfn_entry(index, pfn);
		rc = IOMMUFD_FAIL(-ENOMEM,
				  xa_err(xa_store(&pages->pinned_pfns, index,
						  entry, GFP_KERNEL_ACCOUNT)));
		if (rc)
			break;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	if (rc && index > start)
		iopt_pages_unpin_range(pages, start, index - 1);
	return rc;
}

/*
 * Pin @n pages from @uaddr in @mm: the current process's, or another that
 * the caller holds with mmget().
 */
static long iopt_pin_user_pages(struct mm_struct *mm, unsigned long uaddr,
				unsigned long n, unsigned int gup_flags,
				struct page **pages)
{
	int locked = 1;
	long got;

	if (mm == current->mm)
		return pin_user_pages_fast(uaddr, n, gup_flags, pages);
	mmap_read_lock(mm);
	got = pin_user_pages_remote(mm, uaddr, n, gup_flags, pages, &locked);
	if (locked)
		mmap_read_unlock(mm);
	return got;
}

/*
 * Pin [start, last], none of which is pinned yet, a batch at a time.  On
 * failure nothing of the range stays pinned.
 */
static int iopt_pages_pin_range(struct iopt_pages *pages, unsigned long start,
				unsigned long last)
{
	unsigned int gup_flags = FOLL_LONGTERM | (pages->writable ? FOLL_WRITE : 0);
	bool remote = current->mm != pages->source_mm;
	struct mm_struct *mm = pages->source_mm;
	unsigned long index = start;
	struct page **batch;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	if (pages->pfnmap)
		return iopt_pages_follow_range(pages, start, last);
	batch = IOMMUFD_FAIL(NULL, kmalloc_array(IOPT_PIN_BATCH,
						 sizeof(*batch), GFP_KERNEL));
	if (!batch)
		return -ENOMEM;
	if (remote && !mmget_not_zero(mm)) {
		kfree(batch);
		return -EFAULT;
	}

	while (index <= last) {
		unsigned long n = min(last - index + 1, IOPT_PIN_BATCH);
		unsigned long uaddr = (uintptr_t)pages->uptr + index * PAGE_SIZE;
		unsigned long charged;
		long got;

		rc = iopt_pages_charge(pages, n, true);
		if (rc)
			break;
		got = IOMMUFD_FAIL(-EFAULT,
				   iopt_pin_user_pages(mm, uaddr, n, gup_flags,
						       batch));
		if (got <= 0) {
			iopt_pages_charge(pages, n, false);
			rc = got ? got : -EFAULT;
			break;
		}
		charged = iopt_pages_chargeable(batch, got);
		iopt_pages_charge(pages, n - charged, false);
		rc = iopt_pages_store_pfns(pages, index, batch, got);
		if (rc) {
			/* Those stored are unpinned below with the rest */
			unpin_user_pages(batch, got);
			iopt_pages_charge(pages, charged, false);
			xa_store_range(&pages->pinned_pfns, index, index + got - 1,
				       NULL, GFP_KERNEL);
			break;
		}
		pages->npinned += charged;
		index += got;
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
	}

	if (remote)
		mmput(mm);
	kfree(batch);
	if (rc && index > start)
		iopt_pages_unpin_range(pages, start, index - 1);
	return rc;
}

static int __iopt_pages_add_user(struct iopt_pages *pages,
				 struct iopt_pages_user *user)
{
	struct iopt_hole_iter hole;
	unsigned long failed;
	bool more;
	int rc;

	lockdep_assert_held(&pages->mutex);

	if (WARN_ON(user->node.last >= pages->npages))
		return -EINVAL;
	for (more = iopt_hole_first(&hole, &pages->users_itree,
				    user->node.start, user->node.last);
	     more; more = iopt_hole_next(&hole)) {
		rc = iopt_pages_pin_range(pages, hole.start, hole.hole_last);
		if (rc)
			goto err_unpin;
	}
	interval_tree_insert(&user->node, &pages->users_itree);
	return 0;

err_unpin:
	/* The holes before the one that failed were pinned for this user */
	failed = hole.start;
	if (failed == user->node.start)
		return rc;
	for (more = iopt_hole_first(&hole, &pages->users_itree,
				    user->node.start, failed - 1);
	     more; more = iopt_hole_next(&hole))
		iopt_pages_unpin_range(pages, hole.start, hole.hole_last);
	return rc;
}

/* Unpin the pages of [start, last] that no user covers */
static void iopt_pages_unpin_holes(struct iopt_pages *pages,
				   unsigned long start, unsigned long last)
{
	struct iopt_hole_iter hole;
	bool more;

	for (more = iopt_hole_first(&hole, &pages->users_itree, start, last);
	     more; more = iopt_hole_next(&hole))
		iopt_pages_unpin_range(pages, hole.start, hole.hole_last);
}

static void __iopt_pages_remove_user(struct iopt_pages *pages,
				     struct iopt_pages_user *user)
{
	lockdep_assert_held(&pages->mutex);

	/* The only user (an area mapping pages of its own): no tree walk */
	if (pages->users_itree.rb_root.rb_node == &user->node.rb &&
	    !user->node.rb.rb_left && !user->node.rb.rb_right) {
		pages->users_itree = RB_ROOT_CACHED;
		iopt_pages_unpin_range(pages, user->node.start,
				       user->node.last);
		return;
	}
	interval_tree_remove(&user->node, &pages->users_itree);
	iopt_pages_unpin_holes(pages, user->node.start, user->node.last);
}

/**
 * iopt_pages_add_user() - make sure a range of pages stays pinned
 * @pages: the pages
 * @user: the range of page indexes, not yet a user of @pages
 *
 * Pins and charges what no other user has pinned.
 *
 * Return: 0, or a negative errno with nothing new pinned or charged.
 */
int iopt_pages_add_user(struct iopt_pages *pages, struct iopt_pages_user *user)
{
	int rc;

	mutex_lock(&pages->mutex);
	rc = __iopt_pages_add_user(pages, user);
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_pages_remove_user() - let a range of pages go
 * @pages: the pages
 * @user: a user added by iopt_pages_add_user()
 *
 * Unpins and uncharges the pages no other user covers.  Whatever maps them
 * into a domain must have been unmapped.
 */
void iopt_pages_remove_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user)
{
	mutex_lock(&pages->mutex);
	__iopt_pages_remove_user(pages, user);
	mutex_unlock(&pages->mutex);
}

static struct iopt_pages_user *
iopt_pages_find_access(struct iopt_pages *pages, unsigned long start,
		       unsigned long last)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&pages->users_itree, start, last);
	     node; node = interval_tree_iter_next(node, start, last)) {
		struct iopt_pages_user *user =
			container_of(node, struct iopt_pages_user, node);

		if (user->access_refs && node->start == start &&
		    node->last == last)
			return user;
	}
	return NULL;
}

/**
 * iopt_pages_access_pin() - pin pages for an in-kernel access
 * @pages: the pages
 * @start: the first page index
 * @last: the last page index
 * @out_pages: if not NULL, receives the struct page of each
 *
 * Pins of the same range share one user, counted.
 *
 * Return: 0 or a negative errno with nothing pinned: -EFAULT for VM_PFNMAP
 * pages, which have no struct page to give.
 */
int iopt_pages_access_pin(struct iopt_pages *pages, unsigned long start,
			  unsigned long last, struct page **out_pages)
{
	struct iopt_pages_user *user;
	unsigned long i;
	int rc = 0;

	if (pages->pfnmap)
		return -EFAULT;
	mutex_lock(&pages->mutex);
	user = iopt_pages_find_access(pages, start, last);
	if (user) {
		user->access_refs++;
	} else {
		user = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*user),
						  GFP_KERNEL_ACCOUNT));
		if (!user) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		user->node.start = start;
		user->node.last = last;
		user->access_refs = 1;
		rc = __iopt_pages_add_user(pages, user);
		if (rc) {
			kfree(user);
			goto out_unlock;
		}
	}
	for (i = start; out_pages && i <= last; i++) {
		unsigned long pfn = 0;

		iopt_pages_read_pfns(pages, i, 1, &pfn);
		out_pages[i - start] = pfn_to_page(pfn);
	}
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_pages_access_unpin() - undo iopt_pages_access_pin()
 * @pages: the pages
 * @start: the first page index, as pinned
 * @last: the last page index, as pinned
 */
void iopt_pages_access_unpin(struct iopt_pages *pages, unsigned long start,
			     unsigned long last)
{
	struct iopt_pages_user *user;

	mutex_lock(&pages->mutex);
	user = iopt_pages_find_access(pages, start, last);
	if (!WARN_ON(!user) && !--user->access_refs) {
		__iopt_pages_remove_user(pages, user);
		kfree(user);
	}
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_pages_read_pfns() - the PFNs of pinned pages, in one walk
 * @pages: the pages
 * @index: the first page's index
 * @n: how many pages; some user must cover them all
 * @pfns: receives their PFNs
 *
 * Return: how many PFNs were read: @n unless a page was not pinned.
 */
unsigned long iopt_pages_read_pfns(struct iopt_pages *pages,
				   unsigned long index, unsigned long n,
				   unsigned long *pfns)
{
	XA_STATE(xas, &pages->pinned_pfns, index);
	unsigned long i = 0;
	void *entry;

	rcu_read_lock();
	while (i != n) {
		entry = xas_next(&xas);
		if (xas_retry(&xas, entry))
			continue;
		if (WARN_ON(!xa_is_value(entry)))
			break;
		pfns[i++] = iopt_entry_pfn(xas.xa_index, entry);
	}
	rcu_read_unlock();
	return i;
}

/* Copy within one page, pinning it for the copy if no user has */
static int iopt_pages_rw_page(struct iopt_pages *pages, unsigned long index,
			      unsigned long offset, void *data,
			      unsigned long length, bool write)
{
	unsigned int gup_flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	unsigned long uaddr = (uintptr_t)pages->uptr + index * PAGE_SIZE;
	struct page *page;
	void *entry;
	void *va;
	long got;

	entry = xa_load(&pages->pinned_pfns, index);
	if (entry) {
		page = pfn_to_page(iopt_entry_pfn(index, entry));
	} else {
		if (!mmget_not_zero(pages->source_mm))
			return -EFAULT;
		got = IOMMUFD_FAIL(-EFAULT,
				   iopt_pin_user_pages(pages->source_mm, uaddr,
						       1, gup_flags, &page));
		mmput(pages->source_mm);
		if (got != 1)
			return got < 0 ? got : -EFAULT;
	}

	va = kmap_local_page(page);
	if (write)
		memcpy(va + offset, data, length);
	else
		memcpy(data, va + offset, length);
	kunmap_local(va);
	if (!entry)
		unpin_user_pages_dirty_lock(&page, 1, write);
	else if (write)
		set_page_dirty_lock(page);
	return 0;
}

/**
 * iopt_pages_rw() - read or write the memory of an iopt_pages
 * @pages: the pages
 * @start_byte: where to start, in bytes from the first page's start
 * @data: the kernel buffer
 * @length: how many bytes
 * @write: copy @data into the pages instead of out of them
 *
 * Pinned pages are used as pinned (what a device sees); others are pinned
 * only for the copy.
 *
 * Return: 0 or a negative errno: -EFAULT for VM_PFNMAP pages.
 */
int iopt_pages_rw(struct iopt_pages *pages, unsigned long start_byte,
		  void *data, unsigned long length, bool write)
{
	int rc = 0;

	if (pages->pfnmap)
		return -EFAULT;
	if (write && !pages->writable)
		return -EPERM;
	mutex_lock(&pages->mutex);
	while (length) {
		unsigned long offset = start_byte % PAGE_SIZE;
		unsigned long n = min(length, PAGE_SIZE - offset);

		rc = iopt_pages_rw_page(pages, start_byte / PAGE_SIZE, offset,
					data, n, write);
		if (rc)
			break;
		start_byte += n;
		data += n;
		length -= n;
	}
	mutex_unlock(&pages->mutex);
	return rc;
}
