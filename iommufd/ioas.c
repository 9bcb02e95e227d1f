// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAS object and its ioctls.
 *
 * An IOAS is an io_pagetable with an id.  Its ioctls check the user's
 * struct the way the kernel's iommufd does (unknown flags and reserved
 * fields: -EOPNOTSUPP; values that do not fit an unsigned long:
 * -EOVERFLOW) and leave the work to io_pagetable.c.
 */
#include <linux/interval_tree.h>
#include <linux/slab.h>

#include "iommufd/iommufd_private.h"

/**
 * iommufd_ioas_destroy() - release an IOAS: unmap everything
 * @obj: the IOAS's object
 */
void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);
	int rc;

	/* Before anything its readers look at goes */
	iommufd_debugfs_ioas_remove(ioas);
	rc = iopt_unmap_all(&ioas->iopt, NULL);
	WARN_ON(rc);
	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

/**
 * iommufd_ioas_alloc() - make an empty IOAS, not yet published
 * @ictx: the file's context
 *
 * Return: the IOAS or an ERR_PTR.
 */
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	struct iommufd_ioas *ioas;

	obj = iommufd_object_alloc(ictx, sizeof(*ioas), IOMMUFD_OBJ_IOAS);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	ioas = container_of(obj, struct iommufd_ioas, obj);
	iopt_init_table(&ioas->iopt);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	mutex_init(&ioas->mutex);
	iommufd_debugfs_ioas_add(ictx, ioas);
	return ioas;
}

/**
 * iommufd_ioas_alloc_ioctl() - IOMMU_IOAS_ALLOC
 * @ucmd: the ioctl
 *
 * Return: 0 or a negative errno.
 */
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;

out_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_ioas_iova_ranges() - IOMMU_IOAS_IOVA_RANGES
 * @ucmd: the ioctl
 *
 * Lists the IOVA ranges no reservation covers.  When the user's array is
 * too short, the needed count is returned with -EMSGSIZE.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range __user *ranges;
	struct iopt_hole_iter hole;
	struct iommufd_ioas *ioas;
	u32 max_iovas;
	bool more;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	down_read(&ioas->iopt.iova_rwsem);
	max_iovas = cmd->num_iovas;
	ranges = u64_to_user_ptr(cmd->allowed_iovas);
	cmd->num_iovas = 0;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	for (more = iopt_hole_first(&hole, &ioas->iopt.reserved_itree, 0,
				    ULONG_MAX);
	     more; more = iopt_hole_next(&hole)) {
		if (cmd->num_iovas < max_iovas) {
			struct iommu_iova_range elm = {
				.start = hole.start,
				.last = hole.hole_last,
			};

			if (IOMMUFD_FAIL(sizeof(elm),
					 copy_to_user(&ranges[cmd->num_iovas],
						      &elm, sizeof(elm)))) {
				rc = -EFAULT;
				goto out_unlock;
			}
		}
		cmd->num_iovas++;
	}
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && cmd->num_iovas > max_iovas)
		rc = -EMSGSIZE;
out_unlock:
	up_read(&ioas->iopt.iova_rwsem);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static void iommufd_free_allowed(struct rb_root_cached *itree)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(itree, 0, ULONG_MAX))) {
		interval_tree_remove(node, itree);
		kfree(container_of(node, struct iopt_allowed, node));
	}
}

/* Read the user's ranges: each non-empty, none overlapping another */
static int iommufd_load_allowed(struct rb_root_cached *itree,
				struct iommu_iova_range __user *ranges, u32 num)
{
	u32 i;

	for (i = 0; i != num; i++) {
		struct iommu_iova_range range;
		struct iopt_allowed *allowed;

		if (IOMMUFD_FAIL(sizeof(range),
				 copy_from_user(&range, ranges + i,
						sizeof(range))))
			return -EFAULT;
		if (range.start >= range.last || range.last > ULONG_MAX)
			return -EINVAL;
		if (interval_tree_iter_first(itree, range.start, range.last))
			return -EINVAL;
		allowed = IOMMUFD_FAIL(NULL, kzalloc(sizeof(*allowed),
						     GFP_KERNEL_ACCOUNT));
		if (!allowed)
			return -ENOMEM;
		allowed->node.start = range.start;
		allowed->node.last = range.last;
		interval_tree_insert(&allowed->node, itree);
	}
	return 0;
}

/**
 * iommufd_ioas_allow_iovas() - IOMMU_IOAS_ALLOW_IOVAS
 * @ucmd: the ioctl
 *
 * Replaces the ranges kernel-chosen and fixed IOVAs must fall in; an empty
 * list allows everything not reserved.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct rb_root_cached allowed = RB_ROOT_CACHED;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iommufd_load_allowed(&allowed, u64_to_user_ptr(cmd->allowed_iovas),
				  cmd->num_iovas);
	if (!rc)
		rc = iopt_set_allow_iova(&ioas->iopt, &allowed);
	/* On success these are the old ranges */
	iommufd_free_allowed(&allowed);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_ioas_prot() - the IOMMU protection of IOMMU_IOAS_MAP flags
 * @map_flags: IOMMU_IOAS_MAP_READABLE / IOMMU_IOAS_MAP_WRITEABLE
 *
 * Return: IOMMU_CACHE with IOMMU_READ and IOMMU_WRITE as asked.  Cache
 * coherency is always asked for; a domain that cannot give it ignores it.
 */
int iommufd_ioas_prot(u32 map_flags)
{
	int prot = IOMMU_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

#define IOAS_MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | \
			IOMMU_IOAS_MAP_READABLE)

/**
 * iommufd_ioas_map() - IOMMU_IOAS_MAP
 * @ucmd: the ioctl
 *
 * Return: 0 or a negative errno, with nothing mapped or pinned.
 */
int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	unsigned int flags = 0;
	int rc;

	if ((cmd->flags & ~IOAS_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	rc = iopt_map_user_pages(&ioas->iopt, &iova,
				 u64_to_user_ptr(cmd->user_va), cmd->length,
				 iommufd_ioas_prot(cmd->flags), flags,
				 ucmd->ictx->account_mode);
	if (rc)
		goto out_put;
	cmd->iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	/* The user may not learn the IOVA; the mapping stays, as upstream */
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_ioas_copy() - IOMMU_IOAS_COPY
 * @ucmd: the ioctl
 *
 * Maps what an IOVA range of one IOAS maps, at an IOVA of another (or the
 * same) IOAS, sharing its pinned pages: nothing is pinned again.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src_ioas, *dst_ioas;
	LIST_HEAD(pages_list);
	unsigned int flags = 0;
	unsigned long iova;
	int rc;

	if (cmd->flags & ~IOAS_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags &
	      (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;

	src_ioas = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src_ioas))
		return PTR_ERR(src_ioas);
	rc = iopt_get_pages(&src_ioas->iopt, cmd->src_iova, cmd->length,
			    &pages_list);
	iommufd_put_object(ucmd->ictx, &src_ioas->obj);
	if (rc)
		return rc;

	dst_ioas = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst_ioas)) {
		rc = PTR_ERR(dst_ioas);
		goto out_pages;
	}
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	iova = cmd->dst_iova;
	rc = iopt_map_pages(&dst_ioas->iopt, &pages_list, cmd->length, &iova,
			    iommufd_ioas_prot(cmd->flags), flags);
	if (rc)
		goto out_put_dst;
	cmd->dst_iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put_dst:
	iommufd_put_object(ucmd->ictx, &dst_ioas->obj);
out_pages:
	iopt_free_pages_list(&pages_list);
	return rc;
}

/**
 * iommufd_ioas_unmap() - IOMMU_IOAS_UNMAP
 * @ucmd: the ioctl
 *
 * iova 0 with length U64_MAX unmaps everything.  The bytes unmapped are
 * returned in length.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->iova == 0 && cmd->length == U64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				     &unmapped);
	}
	if (!rc) {
		cmd->length = unmapped;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_option_rlimit_mode() - IOMMU_OPTION_RLIMIT_MODE
 * @cmd: the option command
 * @ictx: the file's context
 *
 * 0 charges pinned pages to the user, 1 to the process (mm->locked_vm).
 * Setting it needs CAP_SYS_RESOURCE and a file with no objects yet.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_option_rlimit_mode(struct iommu_option *cmd,
			       struct iommufd_ctx *ictx)
{
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;

	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		rc = -EBUSY;
	else if (cmd->val64 == 0)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		rc = -EINVAL;
	xa_unlock(&ictx->objects);
	return rc;
}

/**
 * iommufd_ioas_option() - IOMMU_OPTION_HUGE_PAGES on an IOAS
 * @ucmd: the ioctl
 *
 * Return: 0 or a negative errno.
 */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc = 0;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->op == IOMMU_OPTION_OP_GET)
		cmd->val64 = !ioas->iopt.disable_large_pages;
	else if (cmd->op != IOMMU_OPTION_OP_SET)
		rc = -EOPNOTSUPP;
	else if (cmd->val64 == 0)
		rc = iopt_disable_large_pages(&ioas->iopt);
	else if (cmd->val64 == 1)
		iopt_enable_large_pages(&ioas->iopt);
	else
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* The IOAS the VFIO container ioctls on this file use, with a reference */
static struct iommufd_ioas *iommufd_get_vfio_ioas(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ERR_PTR(-ENODEV);

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas && iommufd_lock_obj(&ictx->vfio_ioas->obj))
		ioas = ictx->vfio_ioas;
	xa_unlock(&ictx->objects);
	return ioas;
}

/**
 * iommufd_vfio_ioas() - IOMMU_VFIO_IOAS
 * @ucmd: the ioctl
 *
 * Gets, sets or clears the IOAS that VFIO container ioctls on this file
 * work on.
 *
 * Return: 0 or a negative errno (-ENODEV: GET with none set).
 */
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = iommufd_get_vfio_ioas(ucmd->ictx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		xa_lock(&ucmd->ictx->objects);
		ucmd->ictx->vfio_ioas = ioas;
		xa_unlock(&ucmd->ictx->objects);
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		xa_lock(&ucmd->ictx->objects);
		ucmd->ictx->vfio_ioas = NULL;
		xa_unlock(&ucmd->ictx->objects);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
