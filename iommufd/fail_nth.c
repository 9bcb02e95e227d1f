// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection in the test build: the Nth failure point a thread passes
 * fails.
 *
 * The engine and the container backend mark every point that can fail on
 * an ioctl's path with IOMMUFD_FAIL() or iommufd_should_fail()
 * (iommufd_private.h): allocations, xarray stores, page pinning,
 * iommu_map(), domain allocation, copies to and from user memory.  A
 * point that fails gives what the real failure would (NULL, -ENOMEM,
 * -EFAULT, ...) without doing its work.  The production build has the
 * bare calls.
 *
 * Debian's kernels have no CONFIG_FAULT_INJECTION, so neither
 * /proc/<pid>/task/<tid>/fail-nth nor failslab: a thread arms itself
 * through /sys/kernel/debug/iommufd/fail_nth instead, with the same
 * semantics:
 *
 *   write N (N > 0)  the Nth point the writing thread passes from now on
 *                    fails, once; the points before it do their work
 *   write 0          disarm
 *   read             "%u\n": the points left to pass before the one that
 *                    fails; 0 once it failed (or when not armed)
 *
 * So a thread that armed N and reads L > 0 passed N - L points without a
 * failure: arming a large N counts the points of a sequence of calls.
 * An open file arms one thread at a time, the last one that wrote to it;
 * closing the file disarms that thread.
 *
 * On a kernel with CONFIG_FAULT_INJECTION the points also ask the fault
 * attribute fail_iommufd, as upstream's iommufd does: its knobs in
 * /sys/kernel/debug/fail_iommufd/ (probability, interval, times, ...) and
 * the kernel's own per-task fail-nth reach them too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "iommufd/iommufd_private.h"

/**
 * struct iommufd_fail_nth - an open fail_nth file
 * @task: the thread it arms, with a reference, or NULL
 * @tid: @task's pid, its index in iommufd_fail_nth_armed
 * @nth: the points @task has left to pass, the last one failing; 0: none
 * @rcu: frees it after the points that may be looking at it
 */
struct iommufd_fail_nth {
	struct task_struct *task;
	pid_t tid;
	atomic_t nth;
	struct rcu_head rcu;
};

/* The armed threads, by pid: struct iommufd_fail_nth */
static DEFINE_XARRAY(iommufd_fail_nth_armed);
/* Serializes the writers and closers of the files */
static DEFINE_MUTEX(iommufd_fail_nth_lock);

/*
 * The kernel's fault injection, where it has it (6.1's header declares
 * nothing of it without CONFIG_FAULT_INJECTION).
 */
#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *iommufd_fail_nth_attr_dir;

static bool iommufd_fail_attr(void)
{
	return should_fail(&fail_iommufd, 1);
}

static void iommufd_fail_attr_init(void)
{
	struct dentry *dir;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS))
		return;
	dir = fault_create_debugfs_attr("fail_iommufd", NULL, &fail_iommufd);
	if (!IS_ERR(dir))
		iommufd_fail_nth_attr_dir = dir;
}

static void iommufd_fail_attr_exit(void)
{
	debugfs_remove(iommufd_fail_nth_attr_dir);
}
#else
static bool iommufd_fail_attr(void)
{
	return false;
}

static void iommufd_fail_attr_init(void)
{
}

static void iommufd_fail_attr_exit(void)
{
}
#endif

/**
 * iommufd_should_fail() - should this failure point fail?
 *
 * Called by each failure point of the test build (see IOMMUFD_FAIL()),
 * in process context.
 *
 * Return: true when the current thread armed this point through
 * /sys/kernel/debug/iommufd/fail_nth, or when the kernel's fault injection
 * (fail_iommufd) picks it.
 */
bool iommufd_should_fail(void)
{
	struct iommufd_fail_nth *f;
	bool fail = false;

	if (!xa_empty(&iommufd_fail_nth_armed)) {
		rcu_read_lock();
		f = xa_load(&iommufd_fail_nth_armed, task_pid_nr(current));
		/* Counting down to 1, then 0: that point fails */
		if (f && READ_ONCE(f->task) == current)
			fail = atomic_dec_if_positive(&f->nth) == 0;
		rcu_read_unlock();
		if (fail) {
			pr_debug("fail_nth: %pS fails\n", (void *)_RET_IP_);
			return true;
		}
	}
	return iommufd_fail_attr();
}

/* Stop arming f->task; the lock held */
static void iommufd_fail_nth_disarm(struct iommufd_fail_nth *f)
{
	lockdep_assert_held(&iommufd_fail_nth_lock);

	atomic_set(&f->nth, 0);
	if (!f->task)
		return;
	/* Another file may have armed the same thread since */
	xa_cmpxchg(&iommufd_fail_nth_armed, f->tid, f, NULL, GFP_KERNEL);
	put_task_struct(f->task);
	WRITE_ONCE(f->task, NULL);
}

static int iommufd_fail_nth_open(struct inode *inode, struct file *file)
{
	struct iommufd_fail_nth *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	file->private_data = f;
	return 0;
}

static int iommufd_fail_nth_release(struct inode *inode, struct file *file)
{
	struct iommufd_fail_nth *f = file->private_data;

	mutex_lock(&iommufd_fail_nth_lock);
	iommufd_fail_nth_disarm(f);
	mutex_unlock(&iommufd_fail_nth_lock);
	kfree_rcu(f, rcu);
	return 0;
}

static ssize_t iommufd_fail_nth_read(struct file *file, char __user *buf,
				     size_t count, loff_t *ppos)
{
	struct iommufd_fail_nth *f = file->private_data;
	char num[16];
	int len;

	len = scnprintf(num, sizeof(num), "%u\n", atomic_read(&f->nth));
	return simple_read_from_buffer(buf, count, ppos, num, len);
}

static ssize_t iommufd_fail_nth_write(struct file *file,
				      const char __user *buf, size_t count,
				      loff_t *ppos)
{
	struct iommufd_fail_nth *f = file->private_data;
	unsigned int nth;
	void *old;
	int rc;

	rc = kstrtouint_from_user(buf, count, 0, &nth);
	if (rc)
		return rc;
	if (nth > INT_MAX)
		return -EINVAL;

	mutex_lock(&iommufd_fail_nth_lock);
	iommufd_fail_nth_disarm(f);
	if (nth) {
		f->tid = task_pid_nr(current);
		old = xa_store(&iommufd_fail_nth_armed, f->tid, f, GFP_KERNEL);
		rc = xa_err(old);
		if (!rc) {
			atomic_set(&f->nth, nth);
			WRITE_ONCE(f->task, get_task_struct(current));
		}
	}
	mutex_unlock(&iommufd_fail_nth_lock);
	return rc ?: count;
}

static const struct file_operations iommufd_fail_nth_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fail_nth_open,
	.release = iommufd_fail_nth_release,
	.read = iommufd_fail_nth_read,
	.write = iommufd_fail_nth_write,
};

/**
 * iommufd_fail_nth_init() - make the fault injection controls
 * @root: /sys/kernel/debug/iommufd/, for its fail_nth file
 *
 * Also /sys/kernel/debug/fail_iommufd/ when the kernel has
 * CONFIG_FAULT_INJECTION_DEBUG_FS.
 */
void iommufd_fail_nth_init(struct dentry *root)
{
	debugfs_create_file("fail_nth", 0600, root, NULL,
			    &iommufd_fail_nth_fops);
	iommufd_fail_attr_init();
}

/**
 * iommufd_fail_nth_exit() - remove /sys/kernel/debug/fail_iommufd/
 *
 * The fail_nth file goes with its directory.  No file of it is open (each
 * holds the module), so no thread is armed.
 */
void iommufd_fail_nth_exit(void)
{
	iommufd_fail_attr_exit();
	WARN_ON(!xa_empty(&iommufd_fail_nth_armed));
	xa_destroy(&iommufd_fail_nth_armed);
}
