/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The objects of /dev/iommu and what the parts of the module share.
 *
 * Every object embeds struct iommufd_object first.  Creation reserves an
 * id in its file's xarray, builds the object, then publishes it
 * (iommufd_object_finalize) or undoes it (iommufd_object_abort*).  Two
 * counts keep it alive:
 *   users           long-term references: the xarray's own (1), one for
 *                   each object that links to it (an HWPT to its IOAS, a
 *                   device to its HWPT) and one for each ioctl in flight;
 *   shortterm_users the xarray's own (1) and one for each ioctl in flight.
 * IOMMU_DESTROY removes an object only when users is 1 (else -EBUSY), then
 * waits for racing iommufd_put_object() calls to finish before destroying
 * it.  Objects the kernel owns (devices, accesses) hold their owner's user
 * reference and are destroyed by iommufd_object_destroy_owned(), which
 * stops lookups and waits for ioctls in flight.  Closing the file destroys
 * what is left, users before what they use.
 *
 * Locks, outermost first: iommufd_ioas::mutex (the IOAS's HWPT list and
 * device attachment), then the io_pagetable locks (io_pagetable.h).  The
 * objects xarray's spinlock is innermost and held only briefly.
 */
#ifndef IOMMUFD_PRIVATE_H
#define IOMMUFD_PRIVATE_H

#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "iommufd/io_pagetable.h"

struct dentry;
struct pid;
struct vfio_compat_container;

/* The test build's fault injection (fail_nth.c) */
#ifdef IOMMUFD_TEST
bool iommufd_should_fail(void);
void iommufd_fail_nth_init(struct dentry *root);
void iommufd_fail_nth_exit(void);
#else
static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline void iommufd_fail_nth_init(struct dentry *root)
{
}

static inline void iommufd_fail_nth_exit(void)
{
}
#endif

/**
 * IOMMUFD_FAIL() - a failure point: a call that can fail
 * @err: what @call returns when it fails: NULL, an ERR_PTR, a negative
 *	errno, the bytes a user copy did not copy
 * @call: the call
 *
 * In the test build the fault injection of fail_nth.c may pick the point:
 * it is then @err, and @call is not made.  In the production build
 * iommufd_should_fail() is a constant false: the point compiles to @call
 * alone.
 */
#define IOMMUFD_FAIL(err, call) (iommufd_should_fail() ? (err) : (call))

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu file
 * @file: the file, or NULL for a VFIO container's context
 * @objects: the objects made through it, by id
 * @destroy_wait: destroyers wait here for short-term users to go
 * @vfio_ioas: the IOAS the VFIO container ioctls on this file use
 * @vfio_compat: the state of those ioctls (vfio_compat/view.c), made on
 *	first use
 * @account_mode: where IOAS_MAP charges pinned pages
 *	(IOMMU_OPTION_RLIMIT_MODE); written under the objects' xa_lock
 * @owner: the thread group that opened it (a reference is held)
 * @debugfs: its directory in debugfs (debugfs.c)
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	wait_queue_head_t destroy_wait;
	struct iommufd_ioas *vfio_ioas;
	struct vfio_compat_container *vfio_compat;
	u8 account_mode;
	struct pid *owner;
	struct dentry *debugfs;
};

struct iommufd_ctx *iommufd_ctx_alloc(const char *kind);
void iommufd_ctx_destroy(struct iommufd_ctx *ictx);

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_SELFTEST,
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - what every object starts with
 * @shortterm_users: see the top of this file
 * @users: see the top of this file
 * @type: what the object is
 * @id: its id in the file's xarray
 */
struct iommufd_object {
	refcount_t shortterm_users;
	refcount_t users;
	enum iommufd_object_type type;
	u32 id;
};

/**
 * struct iommufd_object_ops - what differs between object types
 * @destroy: release what the object holds; it cannot fail
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
};

struct iommufd_object *iommufd_object_alloc(struct iommufd_ctx *ictx,
					    size_t size,
					    enum iommufd_object_type type);

void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
bool iommufd_lock_obj(struct iommufd_object *obj);
void iommufd_object_destroy_owned(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);
int iommufd_object_remove(struct iommufd_ctx *ictx, u32 id);
int iommufd_object_put_and_remove(struct iommufd_ctx *ictx,
				  struct iommufd_object *obj);

/**
 * struct iommufd_ucmd - one ioctl in flight
 * @ictx: the file's context
 * @ubuffer: the user's struct
 * @user_size: the size the user gave
 * @cmd: the struct, copied in (zero-extended to the kernel's size)
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Copy the command struct back to the user, at most the size they gave */
static inline int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd,
				       size_t cmd_len)
{
	size_t n = min_t(size_t, ucmd->user_size, cmd_len);

	if (IOMMUFD_FAIL(n, copy_to_user(ucmd->ubuffer, ucmd->cmd, n)))
		return -EFAULT;
	return 0;
}

/**
 * struct iommufd_ioas - an I/O address space
 * @obj: the object
 * @iopt: its areas and domains
 * @mutex: protects @hwpt_list and the dirty_tracking of its HWPTs
 * @hwpt_list: struct iommufd_hwpt_paging using this IOAS
 * @debugfs: its directory in debugfs (debugfs.c)
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct mutex mutex; /* see above */
	struct list_head hwpt_list;
	struct dentry *debugfs;
};

static_assert(offsetof(struct iommufd_ioas, obj) == 0);

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_ioas, obj);
}

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_ioas_destroy(struct iommufd_object *obj);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_option_rlimit_mode(struct iommu_option *cmd,
			       struct iommufd_ctx *ictx);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_prot(u32 map_flags);

/**
 * struct iommufd_hwpt_paging - an HW page table: an iommu_domain that
 *	mirrors an IOAS
 * @obj: the object
 * @ioas: the IOAS it mirrors, with a user reference
 * @domain: the domain, filled with every area of @ioas
 * @hwpt_item: in the IOAS's hwpt_list
 * @auto_domain: made by attaching a device to the IOAS; destroyed when its
 *	last device detaches
 * @enforce_cache_coherency: the domain blocks no-snoop DMA
 * @dirty_capable: allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the
 *	domain's dirty_ops record through iopt_dirty_record()
 * @dirty_tracking: IOMMU_HWPT_SET_DIRTY_TRACKING turned the domain's dirty
 *	tracking on (under the IOAS's mutex; read without it)
 * @devices: how many devices are attached
 */
struct iommufd_hwpt_paging {
	struct iommufd_object obj;
	struct iommufd_ioas *ioas;
	struct iommu_domain *domain;
	struct list_head hwpt_item;
	bool auto_domain;
	bool enforce_cache_coherency;
	bool dirty_capable;
	bool dirty_tracking;
	unsigned int devices;
};

static_assert(offsetof(struct iommufd_hwpt_paging, obj) == 0);

struct iommufd_device;

/**
 * struct iommufd_hw_info - what IOMMU_GET_HW_INFO tells of a device
 * @data: the IOMMU's data of type @type, zero filled by the engine
 * @length: on entry the size of @data; the length of the data
 * @type: IOMMU_HW_INFO_TYPE_*
 * @capabilities: IOMMU_HW_CAP_* the device and its IOMMU support
 * @max_pasid_log2: the width of the device's PASIDs, 0 without PASIDs
 *
 * The engine sets every field but @data to 0 (@length to the size of
 * @data) before the device's ops fill what they know.
 */
struct iommufd_hw_info {
	void *data;
	u32 length;
	u32 type;
	u64 capabilities;
	u8 max_pasid_log2;
};

/**
 * struct iommufd_device_ops - what a kind of device does for the engine
 * @domain_alloc: allocate a paging domain the device can use; @flags are
 *	IOMMU_HWPT_ALLOC_* flags.  With IOMMU_HWPT_ALLOC_DIRTY_TRACKING the
 *	domain must have dirty_ops whose read_and_clear_dirty() records
 *	through iopt_dirty_record() (see iommufd/dirty.c); -EOPNOTSUPP when
 *	the device cannot track dirty pages
 * @attach: attach the device to @domain; -EINVAL when the domain is not
 *	compatible with the device (another may be)
 * @detach: undo @attach
 * @reserve_iova: reserve in @iopt (owner: the device) the IOVAs the
 *	device cannot use, such as its MSI window
 * @hw_info: fill IOMMU_GET_HW_INFO's answer
 * @enforce_cache_coherency: make @domain block no-snoop DMA; true on
 *	success
 */
struct iommufd_device_ops {
	struct iommu_domain *(*domain_alloc)(struct iommufd_device *idev,
					     u32 flags);
	int (*attach)(struct iommufd_device *idev, struct iommu_domain *domain);
	void (*detach)(struct iommufd_device *idev,
		       struct iommu_domain *domain);
	int (*reserve_iova)(struct iommufd_device *idev,
			    struct io_pagetable *iopt);
	int (*hw_info)(struct iommufd_device *idev,
		       struct iommufd_hw_info *info);
	bool (*enforce_cache_coherency)(struct iommufd_device *idev,
					struct iommu_domain *domain);
};

/**
 * struct iommufd_device - something that does DMA through a domain: a mock
 *	device (test build) or a VFIO group
 * @obj: the object
 * @ictx: the file's context
 * @ops: what this kind of device does
 * @data: the owner's
 * @hwpt: the HW page table it is attached to, with a user reference, or
 *	NULL
 * @lock: protects @hwpt
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_device_ops *ops;
	void *data;
	struct iommufd_hwpt_paging *hwpt;
	struct mutex lock; /* see above */
};

static_assert(offsetof(struct iommufd_device, obj) == 0);

struct iommufd_device *iommufd_device_create(struct iommufd_ctx *ictx,
					     const struct iommufd_device_ops *ops,
					     void *data);
void iommufd_device_destroy(struct iommufd_device *idev);
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);
void iommufd_device_destroy_object(struct iommufd_object *obj);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags,
			  bool auto_domain);
int iommufd_hwpt_paging_mirror(struct iommufd_hwpt_paging *hwpt,
			       struct iommufd_device *idev);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);

/**
 * struct iommufd_access_ops - what an in-kernel user of an IOAS provides
 * @needs_pin_pages: it pins pages (so IOVAs must be PAGE_SIZE aligned)
 * @unmap: userspace unmaps [iova, iova + length): the user must unpin
 *	every page it pinned there before returning
 */
struct iommufd_access_ops {
	u8 needs_pin_pages : 1;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

/**
 * struct iommufd_access - an in-kernel user of an IOAS (an emulated
 *	device's driver): it pins pages or reads and writes through IOVAs
 * @obj: the object
 * @ictx: the file's context
 * @ops: its callbacks
 * @data: passed to @ops
 * @ioas_lock: protects @ioas and @iopt_access_id
 * @ioas: the IOAS it is attached to, with a user reference, or NULL
 * @iopt_access_id: its id in the IOAS's io_pagetable
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	const struct iommufd_access_ops *ops;
	void *data;
	struct mutex ioas_lock; /* see above */
	struct iommufd_ioas *ioas;
	u32 iopt_access_id;
};

static_assert(offsetof(struct iommufd_access, obj) == 0);

/* Flags of iommufd_access_pin_pages() and iommufd_access_rw() */
enum {
	IOMMUFD_ACCESS_RW_READ = 0,
	IOMMUFD_ACCESS_RW_WRITE = 1 << 0,
};

/*
 * The module never includes <linux/iommufd.h>: with CONFIG_IOMMUFD off it
 * defines inline stubs under these names.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id);
void iommufd_access_detach(struct iommufd_access *access);
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags);
unsigned long iommufd_access_iova_alignment(struct iommufd_access *access);
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length);
void iommufd_access_destroy_object(struct iommufd_object *obj);

#ifdef IOMMUFD_TEST
/* The test build's mock IOMMU and IOMMU_TEST_CMD (selftest.c) */
void iommufd_selftest_destroy(struct iommufd_object *obj);
int iommufd_test(struct iommufd_ucmd *ucmd);
#endif

/* What the module shows in /sys/kernel/debug/iommufd/ (debugfs.c) */
void iommufd_debugfs_init(void);
void iommufd_debugfs_exit(void);
void iommufd_debugfs_ctx_add(struct iommufd_ctx *ictx, const char *kind);
void iommufd_debugfs_ctx_remove(struct iommufd_ctx *ictx);
void iommufd_debugfs_ioas_add(struct iommufd_ctx *ictx,
			      struct iommufd_ioas *ioas);
void iommufd_debugfs_ioas_remove(struct iommufd_ioas *ioas);

int iommufd_vfio_backend_register(void);
void iommufd_vfio_backend_unregister(void);
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);
void iommufd_vfio_release(struct iommufd_ctx *ictx);

#endif
