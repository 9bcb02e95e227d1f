// SPDX-License-Identifier: GPL-2.0
/*
 * Real DMA through a VFIO type1 container: QEMU's edu device, bound to
 * vfio-pci, copies bytes from a mapped buffer into its own memory and
 * back, and a DMA to an unmapped IOVA leaves the old buffer untouched.
 * Also the container ioctls' answers and errnos that a legacy program
 * sees.  Runs the same against whichever backend vfio.ko picks:
 * vfio_iommu_type1 or this module (selftests/vfio_edu.sh runs both), for
 * type1 v1 and v2 containers.
 */
#include "lib/iommufd_utils.h"
#include "lib/vfio_edu.h"

#define IOVA 0x100000UL
#define MAP_SIZE (1024UL * 1024)
#define XFER 1024

FIXTURE(edu)
{
	struct edu edu;
	__u8 *buf;
	long vm_lck;
};

FIXTURE_VARIANT(edu)
{
	unsigned long type;
};

FIXTURE_VARIANT_ADD(edu, type1)
{
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_VARIANT_ADD(edu, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_SETUP(edu)
{
	int rc;

	self->vm_lck = proc_status_kb("VmLck");
	rc = edu_open(&self->edu, variant->type);
	if (rc == ENODEV)
		SKIP(return, "no edu device");
	ASSERT_EQ(0, rc);
	self->buf = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, MAP_SIZE);
}

FIXTURE_TEARDOWN(edu)
{
	edu_close(&self->edu);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(edu, dma_roundtrip)
{
	__u8 *in = self->buf + 0x10000;
	__u64 unmapped = 0;
	int i;

	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, MAP_SIZE));
	/* Pinned and charged to the process, as type1 does */
	EXPECT_EQ(self->vm_lck + (long)(MAP_SIZE / 1024),
		  proc_status_kb("VmLck"));
	for (i = 0; i != XFER; i++)
		self->buf[i] = i * 7 + 3;
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA, EDU_BUFFER, XFER, false));
	ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUFFER, IOVA + 0x10000, XFER,
			     true));
	EXPECT_EQ(0, memcmp(self->buf, in, XFER));
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &unmapped));
	EXPECT_EQ(MAP_SIZE, unmapped);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(edu, unmapped_iova_is_not_reached)
{
	__u64 unmapped = 0;

	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, MAP_SIZE));
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, MAP_SIZE, 0, &unmapped));
	EXPECT_EQ(MAP_SIZE, unmapped);
	memset(self->buf, 0xaa, XFER);
	/* The device writes to the old IOVA: the IOMMU must block it */
	ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUFFER, IOVA, XFER, true));
	for (int i = 0; i != XFER; i++)
		ASSERT_EQ(0xaa, self->buf[i]);
}

static struct vfio_info_cap_header *
find_cap(struct vfio_iommu_type1_info *info, __u16 id)
{
	__u32 off = info->cap_offset;

	while (off) {
		struct vfio_info_cap_header *hdr = (void *)info + off;

		if (hdr->id == id)
			return hdr;
		off = hdr->next;
	}
	return NULL;
}

TEST_F(edu, get_info)
{
	struct vfio_iommu_type1_info small = { .argsz = sizeof(small) };
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_cap_migration *mig;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info *info;
	__u32 i, msi_covered = 0;

	/* Too small for the capabilities: the size needed comes back */
	ASSERT_EQ(0, ioctl(self->edu.container, VFIO_IOMMU_GET_INFO, &small));
	EXPECT_TRUE(small.flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_TRUE(small.flags & VFIO_IOMMU_INFO_CAPS);
	EXPECT_EQ(0, small.cap_offset);
	ASSERT_LT(sizeof(small), small.argsz);
	EXPECT_TRUE(small.iova_pgsizes & 4096);
	EXPECT_EQ(0, small.iova_pgsizes & 4095);

	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, MAP_SIZE));
	info = calloc(1, small.argsz);
	ASSERT_NE(NULL, info);
	info->argsz = small.argsz;
	ASSERT_EQ(0, ioctl(self->edu.container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(sizeof(*info), info->cap_offset);

	avail = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	ASSERT_NE(NULL, avail);
	EXPECT_EQ(65534, avail->avail);
	mig = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	ASSERT_NE(NULL, mig);
	EXPECT_EQ(4096, mig->pgsize_bitmap);
	ranges = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ASSERT_NE(NULL, ranges);
	ASSERT_LE(2, ranges->nr_iovas);
	/* The x86 MSI window is not in any range */
	for (i = 0; i != ranges->nr_iovas; i++) {
		EXPECT_LT(ranges->iova_ranges[i].start,
			  ranges->iova_ranges[i].end);
		if (ranges->iova_ranges[i].start <= 0xfee00000 &&
		    ranges->iova_ranges[i].end >= 0xfee00000)
			msi_covered++;
	}
	EXPECT_EQ(0, msi_covered);
	EXPECT_EQ(0, ranges->iova_ranges[0].start);
	free(info);
}

TEST_F(edu, map_errors)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)self->buf,
		.iova = IOVA,
		.size = 0,
	};
	int c = self->edu.container;

	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.size = 4096;
	map.iova = IOVA + 1;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.iova = IOVA;
	map.vaddr += 8;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.vaddr -= 8;
	map.flags = 0;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = VFIO_DMA_MAP_FLAG_READ | 0x80;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = VFIO_DMA_MAP_FLAG_READ;
	map.argsz = 8;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.argsz = sizeof(map);
	/* Wrapping IOVA, the MSI window */
	map.iova = -4096UL;
	map.size = 8192;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.iova = 0xfee00000;
	map.size = 4096;
	EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	/* An overlap */
	map.iova = IOVA;
	map.size = 65536;
	ASSERT_EQ(0, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	map.iova = IOVA + 4096;
	EXPECT_EQ(EEXIST, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	/* Memory that is not there */
	map.iova = IOVA + MAP_SIZE;
	map.vaddr = 4096;
	map.size = 4096;
	EXPECT_EQ(EFAULT, ioctl_errno(c, VFIO_IOMMU_MAP_DMA, &map));
	/* None of the failures left anything pinned */
	EXPECT_EQ(self->vm_lck + 64, proc_status_kb("VmLck"));
}

TEST_F(edu, unmap_rules)
{
	__u64 unmapped = 1;
	bool v2 = variant->type == VFIO_TYPE1v2_IOMMU;

	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, 65536));
	ASSERT_EQ(0, edu_map(&self->edu, self->buf + 65536, IOVA + 65536,
			     65536));
	/* Flags and sizes */
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, 0, 0, NULL));
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA + 1, 4096, 0, NULL));
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, 4096, 0x80, NULL));
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, 4096,
				    VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	/* A range starting inside the first mapping */
	if (v2) {
		EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA + 4096, 65536, 0,
					    NULL));
	} else {
		/* v1 stops at a mapping starting before the range */
		ASSERT_EQ(0, edu_unmap(&self->edu, IOVA + 4096, 65536, 0,
				       &unmapped));
		EXPECT_EQ(0, unmapped);
	}
	/* A range ending inside the first mapping */
	if (v2) {
		EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, 4096, 0, NULL));
	} else {
		/* v1 unmaps the whole mapping that starts in the range */
		ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, 4096, 0, &unmapped));
		EXPECT_EQ(65536, unmapped);
	}
	/* Nothing there: success, nothing unmapped */
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA + 8 * 65536, 65536, 0,
			       &unmapped));
	EXPECT_EQ(0, unmapped);
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &unmapped));
	EXPECT_EQ(v2 ? 2 * 65536 : 65536, unmapped);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(edu, check_extension)
{
	int c = self->edu.container;

	EXPECT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	EXPECT_EQ(0, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_EQ(0, ioctl(c, VFIO_CHECK_EXTENSION, 1000));
}

TEST_HARNESS_MAIN
