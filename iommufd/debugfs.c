// SPDX-License-Identifier: GPL-2.0
/*
 * What the module holds, in /sys/kernel/debug/iommufd/.
 *
 * The tree follows the objects: each context (a /dev/iommu file, a VFIO
 * container) has a directory from iommufd_ctx_alloc() to
 * iommufd_ctx_destroy(), and each IOAS one inside it from
 * iommufd_ioas_alloc() to iommufd_ioas_destroy():
 *
 *   iommufd/<kind>-<n>/context    the opener, the account mode of new maps
 *   iommufd/<kind>-<n>/ioas<id>/areas    one line per area
 *   iommufd/<kind>-<n>/ioas<id>/pages    one line per iopt_pages the
 *                                        areas use, pins and their owner
 *   iommufd/<kind>-<n>/ioas<id>/domains  one line per attached HWPT
 *
 * The test build adds iommufd/fail_nth, its fault injection control
 * (fail_nth.c).
 *
 * <kind> is "iommu" for a /dev/iommu file, "vfio" for a VFIO container;
 * <n> counts the contexts made since the module was loaded.  Every file
 * starts with a line naming its fields; Documentation/design.rst explains
 * them and tools/iommufd-stat prints them as tables.
 *
 * Lifetime: the files are made with debugfs_create_file(), whose proxy
 * makes debugfs_remove() wait for the readers inside ->open or ->read and
 * fail later calls with -EIO.  An object removes its directory first thing
 * when it is destroyed, before it frees anything a reader looks at, so a
 * reader needs no reference on the context or the IOAS it shows.  The
 * iopt_pages are another matter: a reader of "pages" takes a reference on
 * each (under iova_rwsem, where areas hold theirs), so that an unmap racing
 * with it cannot free them.
 *
 * Locks: a reader holds one of the engine's locks at a time, so it cannot
 * take them out of order (iommufd_private.h, io_pagetable.h):
 *   context  the objects' xa_lock (account mode, VFIO IOAS), RCU for the
 *            opener's name;
 *   areas    iova_rwsem, for reading;
 *   pages    iova_rwsem for reading, to take the references, then, with it
 *            dropped, each iopt_pages::mutex in turn, so that a reader
 *            waiting for a long pin does not hold up the IOAS's other
 *            users;
 *   domains  iommufd_ioas::mutex.
 * Destroying an IOAS or a context, which waits for the readers, runs with
 * none of these locks held, so the wait always ends.
 */
#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/user.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "iommufd/iommufd_private.h"

static struct dentry *iommufd_debugfs_root;
/* How many contexts were made: names their directories */
static atomic_t iommufd_debugfs_nr_ctx;

static const char *iommufd_debugfs_account(u8 mode)
{
	return mode == IOPT_PAGES_ACCOUNT_MM ? "mm" : "user";
}

static int iommufd_debugfs_context_show(struct seq_file *m, void *unused)
{
	struct iommufd_ctx *ictx = m->private;
	char comm[TASK_COMM_LEN] = "-";
	struct task_struct *task;
	u32 vfio_ioas = 0;
	u8 account_mode;

	rcu_read_lock();
	task = pid_task(ictx->owner, PIDTYPE_TGID);
	if (task)
		get_task_comm(comm, task);
	rcu_read_unlock();
	xa_lock(&ictx->objects);
	account_mode = ictx->account_mode;
	if (ictx->vfio_ioas)
		vfio_ioas = ictx->vfio_ioas->obj.id;
	xa_unlock(&ictx->objects);

	seq_puts(m, "pid account vfio_ioas comm\n");
	seq_printf(m, "%d %s ", pid_vnr(ictx->owner),
		   iommufd_debugfs_account(account_mode));
	if (vfio_ioas)
		seq_printf(m, "%u ", vfio_ioas);
	else
		seq_puts(m, "- ");
	seq_escape(m, comm, " \t\n\\");
	seq_putc(m, '\n');
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iommufd_debugfs_context);

/*
 * One line per area, in IOVA order: a busy area (being mapped or unmapped)
 * has no pages to show.  An area is "pinned" while it is a user of its
 * pages (the IOAS has a domain), "mapped" otherwise.
 */
static int iommufd_debugfs_areas_show(struct seq_file *m, void *unused)
{
	struct iommufd_ioas *ioas = m->private;
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_area *area;

	seq_puts(m, "iova length prot pages offset state\n");
	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		seq_printf(m, "%#lx %#lx %c%c%c ", iopt_area_iova(area),
			   iopt_area_length(area),
			   area->iommu_prot & IOMMU_READ ? 'r' : '-',
			   area->iommu_prot & IOMMU_WRITE ? 'w' : '-',
			   area->iommu_prot & IOMMU_CACHE ? 'c' : '-');
		if (!area->pages) {
			seq_puts(m, "- - busy\n");
			continue;
		}
		seq_printf(m, "%lu %#lx %s\n", area->pages->id,
			   iopt_area_start_byte(area, iopt_area_iova(area)),
			   area->pinned ? "pinned" : "mapped");
	}
	up_read(&iopt->iova_rwsem);
	return 0;
}

static int iommufd_debugfs_cmp_pages(const void *a, const void *b)
{
	const struct iopt_pages *pa = *(struct iopt_pages * const *)a;
	const struct iopt_pages *pb = *(struct iopt_pages * const *)b;

	return pa->id < pb->id ? -1 : pa->id > pb->id;
}

/* One iopt_pages: its pins, where they are charged, whose memory it is */
static void iommufd_debugfs_pages_line(struct seq_file *m,
				       struct iopt_pages *pages)
{
	char comm[TASK_COMM_LEN];

	mutex_lock(&pages->mutex);
	get_task_comm(comm, pages->source_task);
	seq_printf(m, "%lu %#lx %lu %lu %s %u %d %s%s%s ", pages->id,
		   (unsigned long)pages->uptr, pages->npages, pages->npinned,
		   iommufd_debugfs_account(pages->account_mode),
		   from_kuid_munged(seq_user_ns(m), pages->owner->user->uid),
		   task_tgid_vnr(pages->source_task),
		   pages->writable ? "rw" : "ro",
		   pages->pfnmap ? ",pfnmap" : "",
		   pages->lock_cap ? ",lock_cap" : "");
	seq_escape(m, comm, " \t\n\\");
	seq_putc(m, '\n');
	mutex_unlock(&pages->mutex);
}

/*
 * One line per iopt_pages the areas use, by id; areas sharing one (copies)
 * show it once.
 */
static int iommufd_debugfs_pages_show(struct seq_file *m, void *unused)
{
	struct iommufd_ioas *ioas = m->private;
	struct io_pagetable *iopt = &ioas->iopt;
	struct iopt_pages **list;
	struct iopt_area *area;
	unsigned long n = 0, i;

	down_read(&iopt->iova_rwsem);
	list = kvmalloc_array(iopt->nr_areas, sizeof(*list), GFP_KERNEL);
	if (!list) {
		up_read(&iopt->iova_rwsem);
		return -ENOMEM;
	}
	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		if (!area->pages)
			continue;
		kref_get(&area->pages->kref);
		list[n++] = area->pages;
	}
	up_read(&iopt->iova_rwsem);

	sort(list, n, sizeof(*list), iommufd_debugfs_cmp_pages, NULL);
	seq_puts(m, "pages vaddr npages pinned account uid pid flags comm\n");
	for (i = 0; i != n; i++)
		if (!i || list[i] != list[i - 1])
			iommufd_debugfs_pages_line(m, list[i]);
	for (i = 0; i != n; i++)
		iopt_put_pages(list[i]);
	kvfree(list);
	return 0;
}

static int iommufd_debugfs_domains_show(struct seq_file *m, void *unused)
{
	struct iommufd_ioas *ioas = m->private;
	struct iommufd_hwpt_paging *hwpt;

	seq_puts(m, "hwpt devices kind dirty pgsizes aperture_start aperture_end\n");
	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		struct iommu_domain *domain = hwpt->domain;

		seq_printf(m, "%u %u %s %s %#lx %#llx %#llx\n", hwpt->obj.id,
			   hwpt->devices, hwpt->auto_domain ? "auto" : "user",
			   !hwpt->dirty_capable ? "-" :
			   hwpt->dirty_tracking ? "on" : "off",
			   domain->pgsize_bitmap,
			   (u64)domain->geometry.aperture_start,
			   (u64)domain->geometry.aperture_end);
	}
	mutex_unlock(&ioas->mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iommufd_debugfs_domains);

/*
 * An IOAS may hold 65535 areas and more: a buffer sized for all of them
 * spares seq_file its retries, each of which would walk the tree again.
 */
#define IOMMUFD_DEBUGFS_LINE 96

static int iommufd_debugfs_areas_open(struct inode *inode, struct file *file)
{
	struct iommufd_ioas *ioas = inode->i_private;
	size_t size = (READ_ONCE(ioas->iopt.nr_areas) + 1) *
		      IOMMUFD_DEBUGFS_LINE;

	return single_open_size(file, iommufd_debugfs_areas_show, ioas, size);
}

static int iommufd_debugfs_pages_open(struct inode *inode, struct file *file)
{
	struct iommufd_ioas *ioas = inode->i_private;
	size_t size = (READ_ONCE(ioas->iopt.nr_areas) + 1) *
		      IOMMUFD_DEBUGFS_LINE;

	return single_open_size(file, iommufd_debugfs_pages_show, ioas, size);
}

static const struct file_operations iommufd_debugfs_areas_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_debugfs_areas_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

static const struct file_operations iommufd_debugfs_pages_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_debugfs_pages_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/**
 * iommufd_debugfs_ctx_add() - make a context's directory
 * @ictx: the context, new, made by the current process
 * @kind: "iommu" for a /dev/iommu file, "vfio" for a VFIO container
 */
void iommufd_debugfs_ctx_add(struct iommufd_ctx *ictx, const char *kind)
{
	char name[32];

	ictx->owner = get_task_pid(current, PIDTYPE_TGID);
	snprintf(name, sizeof(name), "%s-%d", kind,
		 atomic_inc_return(&iommufd_debugfs_nr_ctx));
	ictx->debugfs = debugfs_create_dir(name, iommufd_debugfs_root);
	debugfs_create_file("context", 0400, ictx->debugfs, ictx,
			    &iommufd_debugfs_context_fops);
}

/**
 * iommufd_debugfs_ctx_remove() - remove a context's directory
 * @ictx: the context, with no IOAS left
 *
 * Waits for the readers of its files.
 */
void iommufd_debugfs_ctx_remove(struct iommufd_ctx *ictx)
{
	debugfs_remove(ictx->debugfs);
	ictx->debugfs = NULL;
	put_pid(ictx->owner);
	ictx->owner = NULL;
}

/**
 * iommufd_debugfs_ioas_add() - make an IOAS's directory
 * @ictx: its context
 * @ioas: the IOAS, initialized, with its id
 */
void iommufd_debugfs_ioas_add(struct iommufd_ctx *ictx,
			      struct iommufd_ioas *ioas)
{
	char name[16];

	snprintf(name, sizeof(name), "ioas%u", ioas->obj.id);
	ioas->debugfs = debugfs_create_dir(name, ictx->debugfs);
	debugfs_create_file("areas", 0400, ioas->debugfs, ioas,
			    &iommufd_debugfs_areas_fops);
	debugfs_create_file("pages", 0400, ioas->debugfs, ioas,
			    &iommufd_debugfs_pages_fops);
	debugfs_create_file("domains", 0400, ioas->debugfs, ioas,
			    &iommufd_debugfs_domains_fops);
}

/**
 * iommufd_debugfs_ioas_remove() - remove an IOAS's directory
 * @ioas: the IOAS, being destroyed; no engine lock is held
 *
 * Waits for the readers of its files.
 */
void iommufd_debugfs_ioas_remove(struct iommufd_ioas *ioas)
{
	debugfs_remove(ioas->debugfs);
	ioas->debugfs = NULL;
}

/**
 * iommufd_debugfs_init() - make /sys/kernel/debug/iommufd/
 *
 * The test build adds its fault injection control there (fail_nth.c).
 * Without debugfs the module works the same and shows nothing.
 */
void iommufd_debugfs_init(void)
{
	iommufd_debugfs_root = debugfs_create_dir("iommufd", NULL);
	iommufd_fail_nth_init(iommufd_debugfs_root);
}

/**
 * iommufd_debugfs_exit() - remove /sys/kernel/debug/iommufd/
 */
void iommufd_debugfs_exit(void)
{
	iommufd_fail_nth_exit();
	debugfs_remove(iommufd_debugfs_root);
}
