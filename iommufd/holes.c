// SPDX-License-Identifier: GPL-2.0
/*
 * Holes in an interval tree: the runs of a range that no node covers.
 *
 * The IOAS uses them to list the allowed IOVA ranges and to find free IOVA;
 * iopt_pages uses them to find the pages of a new user that no other user
 * has pinned yet, and the pages a leaving user was the last to need.
 * interval_tree_iter_first/next give the overlapping nodes in start order;
 * a hole is what lies before the next node and after everything seen.
 */
#include <linux/interval_tree.h>

#include "iommufd/io_pagetable.h"

/* Advance to the next hole at or after iter->next; false when none is left */
static bool iopt_hole_find(struct iopt_hole_iter *iter)
{
	struct interval_tree_node *node;

	while (!iter->done) {
		node = iter->node;
		if (!node || node->start > iter->next) {
			iter->start = iter->next;
			iter->hole_last = node ? node->start - 1 : iter->last;
			if (iter->hole_last >= iter->last) {
				iter->hole_last = iter->last;
				iter->done = true;
			} else {
				iter->next = iter->hole_last + 1;
			}
			return true;
		}
		if (node->last >= iter->last) {
			iter->done = true;
			break;
		}
		if (node->last + 1 > iter->next)
			iter->next = node->last + 1;
		iter->node = interval_tree_iter_next(node, iter->next,
						     iter->last);
	}
	return false;
}

/**
 * iopt_hole_first() - start walking the holes of [@start, @last]
 * @iter: the iterator
 * @itree: the tree whose nodes cover the non-holes
 * @start: the range's first index
 * @last: the range's last index (inclusive)
 *
 * Return: true when there is a hole; it is [@iter->start, @iter->hole_last].
 */
bool iopt_hole_first(struct iopt_hole_iter *iter, struct rb_root_cached *itree,
		     unsigned long start, unsigned long last)
{
	iter->itree = itree;
	iter->next = start;
	iter->last = last;
	iter->done = start > last;
	iter->node = iter->done ? NULL :
		     interval_tree_iter_first(itree, start, last);
	return iopt_hole_find(iter);
}

/**
 * iopt_hole_next() - move to the next hole
 * @iter: the iterator, started with iopt_hole_first()
 *
 * The tree must not change during the walk.
 *
 * Return: true when there is another hole.
 */
bool iopt_hole_next(struct iopt_hole_iter *iter)
{
	return iopt_hole_find(iter);
}
