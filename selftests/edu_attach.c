// SPDX-License-Identifier: GPL-2.0
/*
 * usage: edu_attach
 *
 * Attach the edu device's group to a VFIO_TYPE1v2_IOMMU container, as a
 * legacy program does, and print what became of it: "attach: ok" or
 * "attach: ERRNO" (the errno's name).  Exits 0 when attached, 1 if not.
 * selftests/msi_isolation.sh reads it.
 */
#include "lib/vfio_edu.h"

int main(void)
{
	struct edu edu = {};
	int rc;

	rc = edu_open(&edu, VFIO_TYPE1v2_IOMMU);
	printf("attach: %s\n", rc ? strerrorname_np(rc) : "ok");
	edu_close(&edu);
	return !!rc;
}
