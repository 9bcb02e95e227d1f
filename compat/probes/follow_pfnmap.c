// SPDX-License-Identifier: GPL-2.0
/* follow_pfnmap_start() and follow_pfnmap_end() (6.12) */
#include <linux/mm.h>

static int __maybe_unused probe(struct vm_area_struct *vma)
{
	struct follow_pfnmap_args args = { .vma = vma };
	int rc = follow_pfnmap_start(&args);

	if (!rc)
		follow_pfnmap_end(&args);
	return rc;
}
