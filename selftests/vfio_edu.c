// SPDX-License-Identifier: GPL-2.0
/*
 * Real DMA through a VFIO type1 container: QEMU's edu device, bound to
 * vfio-pci, copies bytes from a mapped buffer into its own memory and
 * back, and a DMA to an unmapped IOVA leaves the old buffer untouched.
 * Also the container ioctls' answers and errnos that a legacy program
 * sees, VFIO_UPDATE_VADDR (the device keeps reaching the memory while its
 * address changes), dirty page tracking, with their exact outputs, and
 * disable_hugepages.
 * Runs the same against whichever backend vfio.ko picks:
 * vfio_iommu_type1 or this module (selftests/vfio_edu.sh runs both), for
 * type1 v1 and v2 containers.
 */
#include <sys/wait.h>

#include "kselftest_harness.h"
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
	/* The bitmap of INT_MAX pages */
	EXPECT_EQ(1UL << 28, mig->max_dirty_bitmap_size);
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
	/* Nothing but an IOMMU-backed group: vaddrs may be updated */
	EXPECT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	EXPECT_EQ(1, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_EQ(0, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_EQ(0, ioctl(c, VFIO_CHECK_EXTENSION, 1000));
}

/* MAP_DMA with VFIO_DMA_MAP_FLAG_VADDR: the new address of a mapping */
static int edu_set_vaddr(struct edu *edu, void *buf, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	return ioctl(edu->container, VFIO_IOMMU_MAP_DMA, &map) ? errno : 0;
}

static void *map_memfd(int memfd)
{
	return mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		    0);
}

/*
 * VFIO_UPDATE_VADDR: the vaddr is invalidated, the memory moves to another
 * address (a memfd mapped again, as after exec), the device keeps reaching
 * it all along, and the new address is given.
 */
TEST_F(edu, update_vaddr)
{
	int memfd = memfd_create("edu", 0);
	__u8 *a, *b;
	__u64 unmapped = 0;
	int i;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, MAP_SIZE));
	a = map_memfd(memfd);
	ASSERT_NE(MAP_FAILED, a);
	for (i = 0; i != XFER; i++)
		a[i] = i * 5 + 1;
	ASSERT_EQ(0, edu_map(&self->edu, a, IOVA, MAP_SIZE));
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA, EDU_BUFFER, XFER, false));

	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, MAP_SIZE,
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(MAP_SIZE, unmapped);
	/* Still pinned and charged */
	EXPECT_EQ(self->vm_lck + (long)(MAP_SIZE / 1024),
		  proc_status_kb("VmLck"));
	/* Already invalid */
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, MAP_SIZE,
				    VFIO_DMA_UNMAP_FLAG_VADDR, NULL));

	/* The same memory at another address; the old one goes */
	b = map_memfd(memfd);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, munmap(a, MAP_SIZE));

	/* The device still reaches the pinned pages */
	ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUFFER, IOVA + 0x8000, XFER,
			     true));
	for (i = 0; i != XFER; i++)
		ASSERT_EQ((__u8)(i * 5 + 1), b[0x8000 + i]);

	/* A new vaddr takes no access flags, and exactly the mapping */
	{
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_VADDR |
				 VFIO_DMA_MAP_FLAG_READ,
			.vaddr = (uintptr_t)b,
			.iova = IOVA,
			.size = MAP_SIZE,
		};

		EXPECT_EQ(EINVAL, ioctl_errno(self->edu.container,
					      VFIO_IOMMU_MAP_DMA, &map));
	}
	EXPECT_EQ(EINVAL, edu_set_vaddr(&self->edu, b, IOVA, MAP_SIZE / 2));
	EXPECT_EQ(EINVAL, edu_set_vaddr(&self->edu, b, IOVA + 4096,
					MAP_SIZE - 4096));
	EXPECT_EQ(EINVAL, edu_set_vaddr(&self->edu, b + 8, IOVA, MAP_SIZE));
	EXPECT_EQ(ENOENT, edu_set_vaddr(&self->edu, b, IOVA + MAP_SIZE,
					MAP_SIZE));
	ASSERT_EQ(0, edu_set_vaddr(&self->edu, b, IOVA, MAP_SIZE));
	/* Valid again */
	EXPECT_EQ(EINVAL, edu_set_vaddr(&self->edu, b, IOVA, MAP_SIZE));
	EXPECT_EQ(self->vm_lck + (long)(MAP_SIZE / 1024),
		  proc_status_kb("VmLck"));

	/* And DMA goes on both ways */
	for (i = 0; i != XFER; i++)
		b[0x10000 + i] = i * 3 + 7;
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + 0x10000, EDU_BUFFER, XFER,
			     false));
	ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUFFER, IOVA + 0x20000, XFER,
			     true));
	EXPECT_EQ(0, memcmp(b + 0x10000, b + 0x20000, XFER));

	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &unmapped));
	EXPECT_EQ(MAP_SIZE, unmapped);
	munmap(b, MAP_SIZE);
	close(memfd);
}

/* Which mappings UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_VADDR invalidates */
TEST_F(edu, update_vaddr_ranges)
{
	bool v2 = variant->type == VFIO_TYPE1v2_IOMMU;
	__u8 *buf = self->buf;
	__u64 unmapped = 1;

	ASSERT_EQ(0, edu_map(&self->edu, buf, IOVA, 65536));
	ASSERT_EQ(0, edu_map(&self->edu, buf + 65536, IOVA + 65536, 65536));

	/* One already invalid undoes the others: none is invalid after */
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA + 65536, 65536,
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(65536, unmapped);
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, 2 * 65536,
				    VFIO_DMA_UNMAP_FLAG_VADDR, NULL));
	EXPECT_EQ(EINVAL, edu_set_vaddr(&self->edu, buf, IOVA, 65536));
	ASSERT_EQ(0, edu_set_vaddr(&self->edu, buf + 65536, IOVA + 65536,
				   65536));

	/* Bisecting: v2 refuses, v1 stops at a mapping starting before */
	if (v2) {
		EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA + 4096, 65536,
					    VFIO_DMA_UNMAP_FLAG_VADDR, NULL));
	} else {
		ASSERT_EQ(0, edu_unmap(&self->edu, IOVA + 4096, 65536,
				       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
		EXPECT_EQ(0, unmapped);
	}
	/* Nothing there */
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA + 8 * 65536, 65536,
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(0, unmapped);

	/* All of them */
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0,
			       VFIO_DMA_UNMAP_FLAG_ALL |
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(2 * 65536, unmapped);
	ASSERT_EQ(0, edu_set_vaddr(&self->edu, buf, IOVA, 65536));
	/* A mapping whose vaddr is invalid can still be unmapped */
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA + 65536, 65536, 0,
			       &unmapped));
	EXPECT_EQ(65536, unmapped);
	EXPECT_EQ(self->vm_lck + 64, proc_status_kb("VmLck"));
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, 65536, 0, &unmapped));
	EXPECT_EQ(65536, unmapped);
	/* Flags and sizes are checked as for any unmap */
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA + 1, 4096,
				    VFIO_DMA_UNMAP_FLAG_VADDR, NULL));
	EXPECT_EQ(EINVAL, edu_unmap(&self->edu, IOVA, 0,
				    VFIO_DMA_UNMAP_FLAG_VADDR, NULL));
}

/*
 * Another process gives the new vaddr: the pinned pages are charged to it
 * from then on, as type1 moves them to the new mm.
 */
TEST_F(edu, update_vaddr_new_owner)
{
	long kb = MAP_SIZE / 1024, child[2] = { -1, -1 };
	int memfd = memfd_create("edu", 0), pipefd[2], status;
	__u64 unmapped = 0;
	__u8 *a;
	pid_t pid;
	int i;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, MAP_SIZE));
	a = map_memfd(memfd);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_EQ(0, edu_map(&self->edu, a, IOVA, MAP_SIZE));
	EXPECT_EQ(self->vm_lck + kb, proc_status_kb("VmLck"));
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, MAP_SIZE,
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long before = proc_status_kb("VmLck"), res[2];
		void *b = map_memfd(memfd);

		res[0] = b == MAP_FAILED ? errno :
			 edu_set_vaddr(&self->edu, b, IOVA, MAP_SIZE);
		res[1] = proc_status_kb("VmLck") - before;
		_exit(write(pipefd[1], res, sizeof(res)) != sizeof(res));
	}
	ASSERT_EQ(sizeof(child), read(pipefd[0], child, sizeof(child)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, child[0]);
	/* The child was charged, the parent no longer is */
	EXPECT_EQ(kb, child[1]);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));

	/* The child is gone: the device still reaches the memory */
	for (i = 0; i != XFER; i++)
		a[i] = i ^ 0x5a;
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA, EDU_BUFFER, XFER, false));
	ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUFFER, IOVA + 0x4000, XFER,
			     true));
	EXPECT_EQ(0, memcmp(a, a + 0x4000, XFER));

	/* Back to this process */
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, MAP_SIZE,
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	ASSERT_EQ(0, edu_set_vaddr(&self->edu, a, IOVA, MAP_SIZE));
	EXPECT_EQ(self->vm_lck + kb, proc_status_kb("VmLck"));
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &unmapped));
	EXPECT_EQ(MAP_SIZE, unmapped);
	munmap(a, MAP_SIZE);
	close(memfd);
}

/*
 * Another group bound to vfio-pci, if there is one and it is viable: its
 * file, open, and the PCI address of its device into @bdf (of size
 * sizeof(edu->bdf)) when not NULL; -1 if there is none.
 */
static int other_vfio_group(struct edu *edu, char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	const char *drv = "/sys/bus/pci/drivers/vfio-pci";
	DIR *dir = opendir(drv);
	char path[PATH_MAX];
	struct dirent *d;
	int group = -1;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t n;

		if (!strchr(d->d_name, ':') || !strcmp(d->d_name, edu->bdf))
			continue;
		snprintf(link, sizeof(link), "%s/%s/iommu_group", drv,
			 d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		snprintf(path, sizeof(path), "/dev/vfio/%s", basename(target));
		if (bdf)
			snprintf(bdf, sizeof(edu->bdf), "%.*s",
				 (int)sizeof(edu->bdf) - 1, d->d_name);
		group = open(path, O_RDWR);
		break;
	}
	closedir(dir);
	if (group >= 0 && (ioctl(group, VFIO_GROUP_GET_STATUS, &status) ||
			   !(status.flags & VFIO_GROUP_FLAGS_VIABLE))) {
		close(group);
		group = -1;
	}
	return group;
}

/* Attaching could pin from user addresses: refused while one is invalid */
TEST_F(edu, update_vaddr_blocks_attach)
{
	__u64 unmapped = 0;
	int group;

	group = other_vfio_group(&self->edu, NULL);
	if (group < 0)
		SKIP(return, "no second viable group bound to vfio-pci");

	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, MAP_SIZE));
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, MAP_SIZE,
			       VFIO_DMA_UNMAP_FLAG_VADDR, &unmapped));
	EXPECT_EQ(EBUSY, ioctl_errno(group, VFIO_GROUP_SET_CONTAINER,
				     &self->edu.container));
	ASSERT_EQ(0, edu_set_vaddr(&self->edu, self->buf, IOVA, MAP_SIZE));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER,
			   &self->edu.container));
	EXPECT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	close(group);
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &unmapped));
	EXPECT_EQ(MAP_SIZE, unmapped);
}

#define P2P_IOVA 0x400000UL
#define E1000_STATUS 0x8

/*
 * Peer to peer: BAR0 of a second device (an e1000e NIC), mmap'ed through
 * vfio-pci (a VM_PFNMAP mapping), is mapped by PFN as type1 maps it, so
 * nothing is pinned or charged; the edu's DMA then reads the NIC's STATUS
 * register through the IOMMU, and finds what a read of the region gives.
 */
TEST_F(edu, p2p_bar)
{
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	char bdf[sizeof(self->edu.bdf)];
	void *regs;
	__u64 unmapped = 0;
	int group, device;
	__u32 reg;

	group = other_vfio_group(&self->edu, bdf);
	if (group < 0)
		SKIP(return, "no second viable group bound to vfio-pci");
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER,
			   &self->edu.container));
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, device);
	ASSERT_EQ(0, ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar));
	ASSERT_TRUE(bar.flags & VFIO_REGION_INFO_FLAG_MMAP);
	regs = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
		    bar.offset);
	ASSERT_NE(MAP_FAILED, regs);

	ASSERT_EQ(0, edu_map(&self->edu, regs, P2P_IOVA, bar.size));
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, MAP_SIZE));
	ASSERT_EQ(0, edu_dma(&self->edu, P2P_IOVA + E1000_STATUS, EDU_BUFFER,
			     sizeof(reg), false));
	ASSERT_EQ(0, edu_dma(&self->edu, EDU_BUFFER, IOVA, sizeof(reg), true));
	ASSERT_EQ(sizeof(reg), pread(device, &reg, sizeof(reg),
				     bar.offset + E1000_STATUS));
	EXPECT_NE(0, reg);
	EXPECT_EQ(reg, *(__u32 *)self->buf);

	ASSERT_EQ(0, edu_unmap(&self->edu, P2P_IOVA, bar.size, 0, &unmapped));
	EXPECT_EQ(bar.size, unmapped);
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, MAP_SIZE, 0, &unmapped));
	munmap(regs, bar.size);
	close(device);
	EXPECT_EQ(0, ioctl(group, VFIO_GROUP_UNSET_CONTAINER));
	close(group);
}

/* VFIO_IOMMU_DIRTY_PAGES; 0 or the errno */
static int edu_dirty(struct edu *edu, __u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty),
		.flags = flags,
	};

	return ioctl_errno(edu->container, VFIO_IOMMU_DIRTY_PAGES, &dirty);
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP; 0 or the errno */
static int edu_get_bitmap(struct edu *edu, __u64 iova, __u64 size,
			  __u64 pgsize, __u64 *bitmap, __u64 bitmap_size)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap dirty;
		struct vfio_iommu_type1_dirty_bitmap_get range;
	} cmd = {
		.dirty = {
			.argsz = sizeof(cmd),
			.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
		},
		.range = {
			.iova = iova,
			.size = size,
			.bitmap = {
				.pgsize = pgsize,
				.size = bitmap_size,
				.data = bitmap,
			},
		},
	};

	return ioctl_errno(edu->container, VFIO_IOMMU_DIRTY_PAGES, &cmd);
}

/* UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP; 0 or the errno */
static int edu_unmap_bitmap(struct edu *edu, __u64 iova, __u64 size,
			    __u32 flags, __u64 pgsize, __u64 *bitmap,
			    __u64 bitmap_size, __u64 *unmapped)
{
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} cmd = {
		.unmap = {
			.argsz = sizeof(cmd),
			.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | flags,
			.iova = iova,
			.size = size,
		},
		.bitmap = {
			.pgsize = pgsize,
			.size = bitmap_size,
			.data = bitmap,
		},
	};

	if (ioctl(edu->container, VFIO_IOMMU_UNMAP_DMA, &cmd))
		return errno;
	if (unmapped)
		*unmapped = cmd.unmap.size;
	return 0;
}

#define PATTERN 0xa5a5a5a5a5a5a5a5ULL

/* Dirty page tracking is v2 only */
TEST_F(edu, dirty_pages_v1)
{
	struct vfio_iommu_type1_dirty_bitmap dirty = { .argsz = 1 };
	__u64 bitmap = 0;

	if (variant->type != VFIO_TYPE1_IOMMU)
		SKIP(return, "v2 container");
	EXPECT_EQ(EACCES, edu_dirty(&self->edu,
				    VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	EXPECT_EQ(EACCES, edu_dirty(&self->edu,
				    VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	/* Before any other check */
	EXPECT_EQ(EACCES, ioctl_errno(self->edu.container,
				      VFIO_IOMMU_DIRTY_PAGES, &dirty));
	ASSERT_EQ(0, edu_map(&self->edu, self->buf, IOVA, 65536));
	EXPECT_EQ(EACCES, edu_get_bitmap(&self->edu, IOVA, 65536, 4096,
					 &bitmap, sizeof(bitmap)));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA, 65536, 0, 4096,
					   &bitmap, sizeof(bitmap), NULL));
	EXPECT_EQ(0, bitmap);
}

/*
 * With an IOMMU-backed group attached every mapped page is dirty, at each
 * read: type1 cannot know what the device wrote.  The bitmaps are written
 * as type1 writes them, around the mappings too.
 */
TEST_F(edu, dirty_pages)
{
	__u64 bitmap[4], unmapped = 0;
	__u8 *buf = self->buf;
	int c = self->edu.container;

	if (variant->type != VFIO_TYPE1v2_IOMMU)
		SKIP(return, "v1 container");

	/* 16 pages, 16 pages right after, 8 pages 64 pages later */
	ASSERT_EQ(0, edu_map(&self->edu, buf, IOVA, 65536));
	ASSERT_EQ(0, edu_map(&self->edu, buf + 65536, IOVA + 65536, 65536));
	ASSERT_EQ(0, edu_map(&self->edu, buf + 0x40000, IOVA + 0x40000,
			     0x8000));

	/* Not tracking */
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536, 4096,
					 bitmap, 8));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA, 65536, 0, 4096,
					   bitmap, 8, NULL));
	ASSERT_EQ(0, edu_dirty(&self->edu, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, edu_dirty(&self->edu, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));

	/* Each mapping from its start: whole words are written */
	bitmap[0] = PATTERN;
	ASSERT_EQ(0, edu_get_bitmap(&self->edu, IOVA, 65536, 4096, bitmap,
				    8));
	EXPECT_EQ(0xffffULL, bitmap[0]);
	/* Read again: still dirty, the device may have written */
	bitmap[0] = 0;
	ASSERT_EQ(0, edu_get_bitmap(&self->edu, IOVA, 65536, 4096, bitmap,
				    8));
	EXPECT_EQ(0xffffULL, bitmap[0]);
	bitmap[0] = PATTERN;
	bitmap[1] = PATTERN;
	ASSERT_EQ(0, edu_get_bitmap(&self->edu, IOVA + 0x40000, 0x8000, 4096,
				    bitmap, 16));
	EXPECT_EQ(0xffULL, bitmap[0]);
	EXPECT_EQ(PATTERN, bitmap[1]);

	/*
	 * From 16 pages before the first: a mapping's first word keeps the
	 * user's bits, its last word is cleared after it, other words are
	 * left alone.
	 */
	bitmap[0] = PATTERN;
	bitmap[1] = PATTERN;
	bitmap[2] = PATTERN;
	bitmap[3] = PATTERN;
	ASSERT_EQ(0, edu_get_bitmap(&self->edu, IOVA - 65536, 0x58000, 4096,
				    bitmap, 16));
	EXPECT_EQ(PATTERN | 0x0000ffffffff0000ULL, bitmap[0]);
	EXPECT_EQ(PATTERN | 0x0000000000ff0000ULL, bitmap[1]);
	EXPECT_EQ(PATTERN, bitmap[2]);

	/* Errors */
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536, 8192,
					 bitmap, 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536, 0,
					 bitmap, 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536, 4096,
					 bitmap, 0));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65 * 65536, 4096,
					 bitmap, 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536, 4096,
					 bitmap, (1ULL << 28) + 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 0, 4096, bitmap,
					 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA + 1, 65536, 4096,
					 bitmap, 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536 + 1, 4096,
					 bitmap, 8));
	/* The range cuts a mapping, at its start or at its end */
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA + 4096, 65536,
					 4096, bitmap, 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536 + 4096,
					 4096, bitmap, 8));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, -4096ULL, 8192, 4096,
					 bitmap, 8));
	/* A bitmap that is not there */
	EXPECT_EQ(EFAULT, edu_get_bitmap(&self->edu, IOVA, 65536, 4096,
					 (__u64 *)4096, 8));
	{
		struct vfio_iommu_type1_dirty_bitmap dirty = {
			.argsz = sizeof(dirty),
			.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
		};

		/* No room for the range */
		EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_DIRTY_PAGES,
					      &dirty));
		dirty.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			      VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
		EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_DIRTY_PAGES,
					      &dirty));
		dirty.flags = 0;
		EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_DIRTY_PAGES,
					      &dirty));
		dirty.flags = 1 << 3;
		EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_DIRTY_PAGES,
					      &dirty));
		dirty.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
		dirty.argsz = 4;
		EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_DIRTY_PAGES,
					      &dirty));
	}

	/* A mapping made while tracking is dirty too */
	ASSERT_EQ(0, edu_map(&self->edu, buf + 0x80000, IOVA + 0x80000,
			     65536));
	bitmap[0] = PATTERN;
	ASSERT_EQ(0, edu_get_bitmap(&self->edu, IOVA + 0x80000, 65536, 4096,
				    bitmap, 8));
	EXPECT_EQ(0xffffULL, bitmap[0]);

	/* Unmap with the bitmap: the same rules and output */
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA + 0x80000, 65536,
					   0, 8192, bitmap, 8, NULL));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA + 0x80000, 65536,
					   0, 4096, bitmap, 0, NULL));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, 0, 0,
					   VFIO_DMA_UNMAP_FLAG_ALL, 4096,
					   bitmap, 8, NULL));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA + 0x80000, 65536,
					   VFIO_DMA_UNMAP_FLAG_VADDR, 4096,
					   bitmap, 8, NULL));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA + 0x80000, 4096,
					   0, 4096, bitmap, 8, NULL));
	{
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			.iova = IOVA + 0x80000,
			.size = 65536,
		};

		/* No room for the bitmap */
		EXPECT_EQ(EINVAL, ioctl_errno(c, VFIO_IOMMU_UNMAP_DMA,
					      &unmap));
	}
	/* From 8 pages before it */
	bitmap[0] = PATTERN;
	bitmap[1] = PATTERN;
	ASSERT_EQ(0, edu_unmap_bitmap(&self->edu, IOVA + 0x78000, 0x18000, 0,
				      4096, bitmap, 8, &unmapped));
	EXPECT_EQ(65536, unmapped);
	EXPECT_EQ(PATTERN | 0x0000000000ffff00ULL, bitmap[0]);
	EXPECT_EQ(PATTERN, bitmap[1]);
	/* Nothing left there: nothing written */
	bitmap[0] = PATTERN;
	ASSERT_EQ(0, edu_unmap_bitmap(&self->edu, IOVA + 0x78000, 0x18000, 0,
				      4096, bitmap, 8, &unmapped));
	EXPECT_EQ(0, unmapped);
	EXPECT_EQ(PATTERN, bitmap[0]);

	ASSERT_EQ(0, edu_dirty(&self->edu, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	ASSERT_EQ(0, edu_dirty(&self->edu, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_EQ(EINVAL, edu_get_bitmap(&self->edu, IOVA, 65536, 4096,
					 bitmap, 8));
	EXPECT_EQ(EINVAL, edu_unmap_bitmap(&self->edu, IOVA, 65536, 0, 4096,
					   bitmap, 8, NULL));

	/* Tracking again: a fresh start, every page dirty */
	ASSERT_EQ(0, edu_dirty(&self->edu, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	bitmap[0] = 0;
	ASSERT_EQ(0, edu_unmap_bitmap(&self->edu, IOVA, 2 * 65536, 0, 4096,
				      bitmap, 8, &unmapped));
	EXPECT_EQ(2 * 65536, unmapped);
	EXPECT_EQ(0xffffffffULL, bitmap[0]);
	/* Closing the container with tracking on */
}

#define HUGE_IOVA 0x8000000UL
#define HUGE_SIZE (8UL << 20)

/*
 * Map 8 MiB of 2 MiB hugetlb pages and DMA through the last of them;
 * *tables: the IOMMU page-table pages the map added (nr_iommu_pages).
 */
static int map_huge(struct edu *edu, __u8 *huge, long *tables)
{
	long before = vmstat_exact("nr_iommu_pages");
	__u64 off = HUGE_SIZE - 0x3000;
	int rc, i;

	rc = edu_map(edu, huge, HUGE_IOVA, HUGE_SIZE);
	if (rc)
		return rc;
	*tables = vmstat_exact("nr_iommu_pages") - before;
	for (i = 0; i != XFER; i++)
		huge[off + i] = i * 5 + 1;
	memset(huge + off + 0x1000, 0, XFER);
	rc = edu_dma(edu, HUGE_IOVA + off, EDU_BUFFER, XFER, false) ?:
	     edu_dma(edu, EDU_BUFFER, HUGE_IOVA + off + 0x1000, XFER, true);
	if (!rc && memcmp(huge + off, huge + off + 0x1000, XFER))
		rc = EIO;
	return rc ?: edu_unmap(edu, HUGE_IOVA, HUGE_SIZE, 0, NULL);
}

/*
 * disable_hugepages=1 maps every page on its own: a 2 MiB hugetlb page
 * takes a last-level page table instead of one large IOMMU page.  The
 * container's page sizes are those of the domain all the same; type1
 * reads the parameter at each map, this module when the container's
 * IOMMU type is set, so it is changed between two containers.
 */
TEST_F(edu, disable_hugepages)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	long large, small;
	__u64 pgsizes;
	__u8 *huge;
	int rc;

	if (vmstat_exact("nr_iommu_pages") < 0)
		SKIP(return, "no nr_iommu_pages in /proc/vmstat");
	huge = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB huge pages");
	ASSERT_EQ(0, ioctl(self->edu.container, VFIO_IOMMU_GET_INFO, &info));
	pgsizes = info.iova_pgsizes;
	ASSERT_EQ(0, map_huge(&self->edu, huge, &large));

	edu_close(&self->edu);
	ASSERT_EQ(0, module_write("parameters/disable_hugepages", 1));
	rc = edu_open(&self->edu, variant->type);
	info.argsz = sizeof(info);	/* the first call set the size needed */
	if (!rc)
		rc = ioctl(self->edu.container, VFIO_IOMMU_GET_INFO, &info) ?
		     errno : 0;
	if (!rc)
		rc = map_huge(&self->edu, huge, &small);
	ASSERT_EQ(0, module_write("parameters/disable_hugepages", 0));
	ASSERT_EQ(0, rc);
	EXPECT_EQ(pgsizes, info.iova_pgsizes);
	munmap(huge, HUGE_SIZE);
	ksft_print_msg("IOMMU page-table pages for 8 MiB: %ld, %ld with disable_hugepages\n",
		       large, small);
	if (!large && !small)
		SKIP(return, "the IOMMU keeps no page tables in the guest");
	/* A last-level table per 2 MiB, on top of the upper levels */
	EXPECT_LE(HUGE_SIZE >> 21, small);
	if (pgsizes & (1UL << 21))
		EXPECT_EQ(large + (long)(HUGE_SIZE >> 21), small);
}

TEST_HARNESS_MAIN
