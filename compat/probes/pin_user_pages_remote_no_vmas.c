// SPDX-License-Identifier: GPL-2.0
/* pin_user_pages_remote() without its vmas argument (6.5) */
#include <linux/mm.h>

static long __maybe_unused probe(struct mm_struct *mm, struct page **pages,
				 int *locked)
{
	return pin_user_pages_remote(mm, 0, 1, FOLL_WRITE, pages, locked);
}
