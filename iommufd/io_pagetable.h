/* SPDX-License-Identifier: GPL-2.0 */
/*
 * I/O page tables: what an IOAS maps, and the pinned memory behind it.
 *
 * An io_pagetable is a set of areas over the IOVA space.  Each area maps a
 * slice of one iopt_pages: a range of user virtual memory, pinned once and
 * shared by every area that maps it (IOMMU_IOAS_MAP makes one, COPY gives
 * another area, perhaps in another IOAS, a reference to the same).  The
 * io_pagetable mirrors every area into each iommu_domain attached to it.
 *
 * Words: "index" is a page index inside an iopt_pages; "last" is inclusive
 * (an area covers [start, last]); "length" is in bytes.
 *
 * Who needs a page pinned is kept as users of the iopt_pages: an area is a
 * user of its page range while its io_pagetable has at least one domain; an
 * in-kernel access is a user of the ranges it pins.  A page is pinned, and
 * charged to RLIMIT_MEMLOCK, exactly while some user covers it, so pinning
 * and accounting happen once however many areas and domains map it.
 *
 * Locks, outermost first:
 *   io_pagetable::domains_rwsem  the set of domains, and every domain's
 *                                contents; the set changes with
 *                                iova_rwsem also held for writing
 *   io_pagetable::iova_rwsem     the area, allowed and reserved trees
 *   iopt_pages::mutex            the users tree and pinned PFNs of a pages
 * An area whose ->pages is NULL is being mapped or unmapped by a thread
 * that dropped iova_rwsem: others treat it as busy.
 */
#ifndef IOMMUFD_IO_PAGETABLE_H
#define IOMMUFD_IO_PAGETABLE_H

#include <linux/atomic.h>
#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

#include "compat/compat.h"

struct iommu_dirty_bitmap;
struct iommu_domain;
struct iommufd_access;

/**
 * enum iopt_account_mode - where pinned pages are charged
 * @IOPT_PAGES_ACCOUNT_USER: the user's locked_vm, shown in the mm's
 *	pinned_vm (VmPin); the default of /dev/iommu
 * @IOPT_PAGES_ACCOUNT_MM: the mm's locked_vm (VmLck), as vfio_iommu_type1
 */
enum iopt_account_mode {
	IOPT_PAGES_ACCOUNT_USER,
	IOPT_PAGES_ACCOUNT_MM,
};

/**
 * struct iopt_pages_user - a range of an iopt_pages that must stay pinned
 * @node: page indexes [start, last], in iopt_pages::users_itree
 * @access_refs: for an in-kernel access pin, how many pins share the range;
 *	0 for an area's user
 */
struct iopt_pages_user {
	struct interval_tree_node node;
	unsigned int access_refs;
};

/**
 * struct iopt_owner - whose memory an iopt_pages is, who is charged for it
 * @refs: one per iopt_pages it owns, and the io_pagetable's that keeps it
 *	for its next maps (io_pagetable::owner)
 * @lock_cap: the task had CAP_IPC_LOCK: no RLIMIT_MEMLOCK check
 * @mm: the address space (a reference is held)
 * @task: the thread group leader (its RLIMIT_MEMLOCK applies)
 * @user: the user charged in IOPT_PAGES_ACCOUNT_USER mode
 * @rcu: freed after the readers of io_pagetable::owner
 *
 * The maps of one process into an io_pagetable share one, so that a map
 * and an unmap take and drop one reference, not three.
 */
struct iopt_owner {
	refcount_t refs;
	bool lock_cap;
	struct mm_struct *mm;
	struct task_struct *task;
	struct user_struct *user;
	struct rcu_head rcu;
};

struct iopt_owner *iopt_owner_alloc(bool lock_cap);
void iopt_put_owner(struct iopt_owner *owner);

/**
 * struct iopt_pages - user memory, pinned on demand and shared
 * @kref: one reference per area or copy in flight that uses it, and per
 *	debugfs reader listing it
 * @writable: pinned for writing; areas of it may map IOMMU_WRITE
 * @account_mode: where pins are charged
 * @lock_cap: the mapping task had CAP_IPC_LOCK: no RLIMIT_MEMLOCK check
 * @pfnmap: the range is a VM_PFNMAP mapping, such as a device BAR: its
 *	PFNs are looked up, never pinned nor charged, and have no struct page
 * @id: a number naming it in debugfs, unique while the module is loaded
 * @mutex: protects @users_itree, @pinned_pfns, @npinned, @uptr and the
 *	owner (@owner, @lock_cap, @source_mm, @source_task)
 * @uptr: the first page's user address (page aligned)
 * @npages: the range's size in pages
 * @npinned: pages charged now: those pinned, less reserved ones
 * @source_mm: the address space @uptr belongs to: @owner's
 * @source_task: the task that mapped it (its RLIMIT_MEMLOCK applies):
 *	@owner's
 * @owner: who owns the pages, a reference held; @lock_cap, @source_mm and
 *	@source_task are its own, copied
 * @users_itree: struct iopt_pages_user ranges that need the pages pinned
 * @pinned_pfns: index -> PFN (as an xarray value) of every pinned page
 */
struct iopt_pages {
	struct kref kref;
	bool writable;
	u8 account_mode;
	bool lock_cap;
	bool pfnmap;
	unsigned long id;
	struct mutex mutex; /* see above */
	void __user *uptr;
	unsigned long npages;
	unsigned long npinned;
	struct mm_struct *source_mm;
	struct task_struct *source_task;
	struct iopt_owner *owner;
	struct rb_root_cached users_itree;
	struct xarray pinned_pfns;
};

struct iopt_pages *iopt_alloc_pages(void __user *uptr, unsigned long length,
				    bool writable, struct iopt_owner *owner);
void iopt_release_pages(struct kref *kref);
int iopt_pages_change_owner(struct iopt_pages *pages, void __user *uptr);
int iopt_pages_detect_pfnmap(struct iopt_pages *pages);

static inline void iopt_put_pages(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_release_pages);
}

int iopt_pages_add_user(struct iopt_pages *pages,
			struct iopt_pages_user *user);
void iopt_pages_remove_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user);
int iopt_pages_access_pin(struct iopt_pages *pages, unsigned long start,
			  unsigned long last, struct page **out_pages);
void iopt_pages_access_unpin(struct iopt_pages *pages, unsigned long start,
			     unsigned long last);
int iopt_pages_rw(struct iopt_pages *pages, unsigned long start_byte,
		  void *data, unsigned long length, bool write);
unsigned long iopt_pages_read_pfns(struct iopt_pages *pages,
				   unsigned long index, unsigned long n,
				   unsigned long *pfns);

/**
 * struct iopt_area - one mapping of an io_pagetable
 * @node: the IOVA range [start, last], in io_pagetable::area_itree
 * @pin: the area's page indexes in @pages; a user of @pages while the
 *	io_pagetable has domains (@pinned)
 * @pages: the memory mapped; NULL while the area is being created or
 *	destroyed
 * @page_offset: the byte offset of the first IOVA in its page
 * @iommu_prot: IOMMU_READ / IOMMU_WRITE / IOMMU_CACHE
 * @pinned: @pin is a user of @pages
 * @prevent_access: an unmap is waiting for in-kernel accesses to go
 * @owner_flags: for the VFIO container that owns the io_pagetable
 *	(vfio_compat), under its lock; the engine leaves them alone
 * @num_accesses: in-kernel access pins inside this area
 */
struct iopt_area {
	struct interval_tree_node node;
	struct iopt_pages_user pin;
	struct iopt_pages *pages;
	unsigned int page_offset;
	int iommu_prot;
	bool pinned;
	bool prevent_access;
	u8 owner_flags;
	atomic_t num_accesses;
};

static inline unsigned long iopt_area_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long iopt_area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline unsigned long iopt_area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/* The byte offset inside area->pages that @iova maps */
static inline unsigned long iopt_area_start_byte(struct iopt_area *area,
						 unsigned long iova)
{
	return area->pin.node.start * PAGE_SIZE + area->page_offset +
	       (iova - iopt_area_iova(area));
}

/**
 * struct io_pagetable - the IOVA space of an IOAS
 * @domains_rwsem: see the lock order above
 * @domains: the @nr_domains attached iommu_domains, in no order: an
 *	array, walked by every map and unmap
 * @nr_domains: how many domains are attached
 * @iova_rwsem: see the lock order above
 * @area_itree: struct iopt_area by IOVA
 * @nr_areas: how many areas @area_itree holds, busy ones included
 * @allowed_itree: if not empty, the only IOVAs areas may use
 * @reserved_itree: struct iopt_reserved: IOVAs no area may use
 * @accesses: in-kernel accesses using this table, told about unmaps
 * @iova_alignment: every area's IOVA and length are multiples of this:
 *	the largest minimum page size of the attached domains and accesses
 * @disable_large_pages: map domains with PAGE_SIZE pages only
 * @owner: the owner of the pages of the last map, with a reference,
 *	replaced when another process maps (RCU)
 */
struct io_pagetable {
	struct rw_semaphore domains_rwsem;
	struct iommu_domain **domains;
	unsigned int nr_domains;
	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	unsigned long nr_areas;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	struct xarray accesses;
	unsigned long iova_alignment;
	bool disable_large_pages;
	struct iopt_owner __rcu *owner;
};

/**
 * struct iopt_reserved - IOVAs no area may use
 * @node: the range
 * @owner: who reserved it (a device, a domain, or the IOAS itself)
 */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

/**
 * struct iopt_allowed - IOVAs areas may use (IOMMU_IOAS_ALLOW_IOVAS)
 * @node: the range
 */
struct iopt_allowed {
	struct interval_tree_node node;
};

/* Flags of iopt_map_user_pages() and iopt_map_pages() */
enum {
	IOPT_ALLOC_IOVA = 1 << 0,	/* choose the IOVA */
	IOPT_MAP_PFNMAP = 1 << 1,	/* map VM_PFNMAP memory by PFN */
};

/**
 * struct iopt_pages_list - one slice of iopt_pages to map
 * @pages: the pages (a reference is held)
 * @area: the area being made for it
 * @next: in the caller's list
 * @start_byte: where the slice starts inside @pages
 * @length: the slice's length in bytes
 */
struct iopt_pages_list {
	struct iopt_pages *pages;
	struct iopt_area *area;
	struct list_head next;
	unsigned long start_byte;
	unsigned long length;
};

void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_map_user_pages(struct io_pagetable *iopt, unsigned long *iova,
			void __user *uptr, unsigned long length,
			int iommu_prot, unsigned int flags, u8 account_mode);
int iopt_check_fixed_iova(struct io_pagetable *iopt, unsigned long iova,
			  unsigned long length);
int iopt_get_pages(struct io_pagetable *iopt, unsigned long iova,
		   unsigned long length, struct list_head *pages_list);
int iopt_map_pages(struct io_pagetable *iopt, struct list_head *pages_list,
		   unsigned long length, unsigned long *dst_iova,
		   int iommu_prot, unsigned int flags);
void iopt_free_pages_list(struct list_head *pages_list);
/* Flags of iopt_unmap_range(): the areas that cross the range's ends */
enum {
	/* Fail with -ENOENT before unmapping anything */
	IOPT_UNMAP_CHECK_ENDS = 1 << 0,
	/*
	 * As VFIO type1 v1 does: an area that crosses the last IOVA is
	 * unmapped whole; one that crosses the first ends the walk, with
	 * nothing unmapped and no error
	 */
	IOPT_UNMAP_V1 = 1 << 1,
};

int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
		     unsigned long last, unsigned int flags,
		     unsigned long *unmapped);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    u32 *id);
void iopt_remove_access(struct io_pagetable *iopt, u32 id);
int iopt_set_access_alignment(struct io_pagetable *iopt);

/* Dirty tracking (dirty.c) */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long iova, unsigned long length,
		    unsigned long page_size, u64 __user *bitmap,
		    unsigned long flags);
void iopt_dirty_record(struct iommu_dirty_bitmap *dirty, unsigned long iova,
		       unsigned long length);

struct iopt_area *iopt_area_iter_first(struct io_pagetable *iopt,
				       unsigned long start,
				       unsigned long last);
struct iopt_area *iopt_area_iter_next(struct iopt_area *area,
				      unsigned long start,
				      unsigned long last);

/**
 * struct iopt_area_contig_iter - walk areas that cover a range without a gap
 * @cur_iova: the first IOVA of the current area inside the range
 * @last_iova: the range's last IOVA
 * @area: the current area, NULL when the walk stopped
 */
struct iopt_area_contig_iter {
	unsigned long cur_iova;
	unsigned long last_iova;
	struct iopt_area *area;
};

struct iopt_area *iopt_area_contig_init(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt,
					unsigned long iova,
					unsigned long last_iova);
struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter);

/* True when the walk reached the range's end with no gap */
static inline bool iopt_area_contig_done(struct iopt_area_contig_iter *iter)
{
	return iter->area && iopt_area_last_iova(iter->area) >= iter->last_iova;
}

/**
 * struct iopt_hole_iter - the runs of a range that no node of a tree covers
 * @itree: the tree
 * @next: the first index not yet looked at
 * @last: the range's last index
 * @node: the next node overlapping [@next, @last], in start order
 * @start: the current hole's first index
 * @hole_last: the current hole's last index
 * @done: no hole is left after the current one
 *
 * Our own span iterator: Debian's kernels do not export the kernel's.
 */
struct iopt_hole_iter {
	struct rb_root_cached *itree;
	unsigned long next;
	unsigned long last;
	struct interval_tree_node *node;
	unsigned long start;
	unsigned long hole_last;
	bool done;
};

bool iopt_hole_first(struct iopt_hole_iter *iter, struct rb_root_cached *itree,
		     unsigned long start, unsigned long last);
bool iopt_hole_next(struct iopt_hole_iter *iter);

#endif
