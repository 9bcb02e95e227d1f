// SPDX-License-Identifier: GPL-2.0
/*
 * An emulated device (vfio_emu.ko: selftests/kmod/) on a type1 container,
 * as an mdev driver uses one: it has no IOMMU and reaches user memory
 * only through the backend's pin_pages, unpin_pages and dma_rw.  Pinned
 * pages are the mapped ones and are charged to locked_vm while pinned (no
 * IOMMU-backed group pins them at map time); dma_rw reads and writes the
 * mapped memory; an unmap asks the device to unpin (dma_unmap) and then
 * succeeds; closing the device lets go of its pins; and the errnos of bad
 * requests.  Runs against whichever backend vfio.ko picks
 * (selftests/vfio_emu.sh runs both).
 */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "lib/iommufd_utils.h"
#include "kmod/vfio_emu.h"

#define IOVA 0x100000UL
#define PAGE 4096UL
#define NPAGES 16
#define BUF_SIZE (NPAGES * PAGE)

FIXTURE(emu)
{
	int container, group, device;
	__u8 *buf;
	long vm_lck, pins;
};

/* The container, the emulated device's group and the device */
static int emu_open(int *container, int *group, int *device,
		    unsigned long type)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	n = readlink("/sys/bus/platform/devices/vfio_emu/iommu_group", link,
		     sizeof(link) - 1);
	if (n < 0)
		return errno;
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	*container = open("/dev/vfio/vfio", O_RDWR);
	*group = open(path, O_RDWR);
	if (*container < 0 || *group < 0)
		return errno;
	if (ioctl(*group, VFIO_GROUP_SET_CONTAINER, container) ||
	    ioctl(*container, VFIO_SET_IOMMU, type))
		return errno;
	*device = ioctl(*group, VFIO_GROUP_GET_DEVICE_FD, "vfio_emu");
	return *device < 0 ? errno : 0;
}

static int emu_map(int container, void *buf, __u64 iova, __u64 size,
		   __u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	return ioctl_errno(container, VFIO_IOMMU_MAP_DMA, &map);
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static int emu_unmap(int container, __u64 iova, __u64 size, __u32 flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	return ioctl_errno(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

/* Pages pinned, or -errno; *sum: the sum of their first words */
static long emu_pin(int device, __u64 iova, __u32 npage, bool write,
		    __u64 *sum)
{
	struct vfio_emu_pin pin = {
		.iova = iova,
		.npage = npage,
		.write = write,
	};
	long rc = ioctl(device, VFIO_EMU_PIN, &pin);

	if (rc < 0)
		return -errno;
	if (sum)
		*sum = pin.sum;
	return rc;
}

static int emu_unpin(int device, __u64 iova, __u32 npage)
{
	struct vfio_emu_pin pin = { .iova = iova, .npage = npage };

	return ioctl_errno(device, VFIO_EMU_UNPIN, &pin);
}

static int emu_rw(int device, __u64 iova, void *data, __u64 len, bool write)
{
	struct vfio_emu_rw rw = {
		.iova = iova,
		.uaddr = (uintptr_t)data,
		.len = len,
		.write = write,
	};

	return ioctl_errno(device, VFIO_EMU_RW, &rw);
}

static struct vfio_emu_state emu_state(int device)
{
	struct vfio_emu_state state = {};

	if (ioctl(device, VFIO_EMU_STATE, &state))
		state.pinned = ~0ULL;
	return state;
}

/* The first word of each page: a value of its own */
static __u64 page_word(unsigned int i)
{
	return 0x1000 + i * 3;
}

FIXTURE_SETUP(emu)
{
	unsigned int i;
	int rc;

	self->vm_lck = proc_status_kb("VmLck");
	self->pins = pins_held();
	rc = emu_open(&self->container, &self->group, &self->device,
		      VFIO_TYPE1v2_IOMMU);
	if (rc == ENOENT)
		SKIP(return, "no vfio_emu device");
	ASSERT_EQ(0, rc);
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	for (i = 0; i != NPAGES; i++)
		*(__u64 *)(self->buf + i * PAGE) = page_word(i);
	ASSERT_EQ(0, emu_map(self->container, self->buf, IOVA, BUF_SIZE, RW));
	/* No IOMMU-backed group: the map pins and charges nothing */
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

FIXTURE_TEARDOWN(emu)
{
	if (self->device > 0)
		close(self->device);
	if (self->group > 0)
		close(self->group);
	if (self->container > 0)
		close(self->container);
	/* Whatever the test left pinned, closing let go of it */
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

TEST_F(emu, pin_reaches_the_mapped_pages)
{
	__u64 sum = 0, want = 0;
	unsigned int i;

	ASSERT_EQ(4, emu_pin(self->device, IOVA + 2 * PAGE, 4, true, &sum));
	for (i = 2; i != 6; i++) {
		want += page_word(i);
		/* The device wrote each page's IOVA into it */
		EXPECT_EQ(IOVA + i * PAGE, *(__u64 *)(self->buf + i * PAGE));
	}
	EXPECT_EQ(want, sum);
	EXPECT_EQ(4, emu_state(self->device).pinned);
	/* Charged while pinned, and pinned for real */
	EXPECT_EQ(self->vm_lck + 16, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins + 4, pins_held());
	/* A page pinned twice is charged once */
	ASSERT_EQ(1, emu_pin(self->device, IOVA + 2 * PAGE, 1, false, NULL));
	EXPECT_EQ(self->vm_lck + 16, proc_status_kb("VmLck"));

	ASSERT_EQ(0, emu_unpin(self->device, IOVA + 2 * PAGE, 4));
	EXPECT_EQ(self->vm_lck + 4, proc_status_kb("VmLck"));
	ASSERT_EQ(0, emu_unpin(self->device, IOVA + 2 * PAGE, 1));
	EXPECT_EQ(0, emu_state(self->device).pinned);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
	/* Unpinning is not an unmap */
	EXPECT_EQ(0, emu_state(self->device).unmaps);
}

TEST_F(emu, dma_rw)
{
	__u8 data[300], back[300];
	unsigned int i;

	for (i = 0; i != sizeof(data); i++)
		data[i] = i * 13 + 5;
	/* Across a page boundary, both ways */
	ASSERT_EQ(0, emu_rw(self->device, IOVA + 3 * PAGE - 100, data,
			    sizeof(data), true));
	EXPECT_EQ(0, memcmp(self->buf + 3 * PAGE - 100, data, sizeof(data)));
	memset(self->buf + 3 * PAGE - 100 + 7, 0x5a, 10);
	ASSERT_EQ(0, emu_rw(self->device, IOVA + 3 * PAGE - 100, back,
			    sizeof(back), false));
	EXPECT_EQ(0, memcmp(self->buf + 3 * PAGE - 100, back, sizeof(back)));
	/* Nothing stays pinned or charged */
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

TEST_F(emu, unmap_makes_the_device_unpin)
{
	struct vfio_emu_state state;

	ASSERT_EQ(3, emu_pin(self->device, IOVA + 5 * PAGE, 3, true, NULL));
	ASSERT_EQ(2, emu_pin(self->device, IOVA + 9 * PAGE, 2, false, NULL));
	EXPECT_EQ(self->vm_lck + 20, proc_status_kb("VmLck"));

	ASSERT_EQ(0, emu_unmap(self->container, IOVA, BUF_SIZE, 0));
	state = emu_state(self->device);
	EXPECT_EQ(0, state.pinned);
	EXPECT_EQ(5, state.unpinned_by_unmap);
	EXPECT_LE(1, state.unmaps);
	/* The range told covers what was pinned */
	EXPECT_LE(state.last_iova, IOVA + 5 * PAGE);
	EXPECT_GE(state.last_iova + state.last_length, IOVA + 11 * PAGE);
	ksft_print_msg("dma_unmap calls: %llu, last [%#llx, +%#llx)\n",
		       state.unmaps, state.last_iova, state.last_length);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
	/* Gone: neither pin nor dma_rw reaches it */
	EXPECT_EQ(-EINVAL, emu_pin(self->device, IOVA + 5 * PAGE, 1, false,
				   NULL));
	EXPECT_EQ(EINVAL, emu_rw(self->device, IOVA, self->buf, 8, false));
}

TEST_F(emu, unmap_all_makes_the_device_unpin)
{
	ASSERT_EQ(0, emu_map(self->container, self->buf, IOVA + BUF_SIZE,
			     BUF_SIZE, RW));
	ASSERT_EQ(2, emu_pin(self->device, IOVA + PAGE, 2, true, NULL));
	ASSERT_EQ(2, emu_pin(self->device, IOVA + BUF_SIZE + PAGE, 2, true,
			     NULL));
	/* The same pages through two mappings: charged for each, as type1 */
	EXPECT_EQ(self->vm_lck + 16, proc_status_kb("VmLck"));
	ASSERT_EQ(0, emu_unmap(self->container, 0, 0,
			       VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(0, emu_state(self->device).pinned);
	EXPECT_EQ(4, emu_state(self->device).unpinned_by_unmap);
	EXPECT_LE(1, emu_state(self->device).unmaps);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

/* An unmap of a range the device holds nothing in leaves its pins */
TEST_F(emu, unmap_elsewhere_keeps_pins)
{
	ASSERT_EQ(0, emu_map(self->container, self->buf, IOVA + BUF_SIZE,
			     BUF_SIZE, RW));
	ASSERT_EQ(2, emu_pin(self->device, IOVA, 2, false, NULL));
	ASSERT_EQ(0, emu_unmap(self->container, IOVA + BUF_SIZE, BUF_SIZE, 0));
	EXPECT_EQ(2, emu_state(self->device).pinned);
	EXPECT_EQ(0, emu_state(self->device).unpinned_by_unmap);
	EXPECT_EQ(self->vm_lck + 8, proc_status_kb("VmLck"));
}

TEST_F(emu, errors)
{
	__u64 word;

	/* Nothing mapped there */
	EXPECT_EQ(EINVAL, emu_rw(self->device, IOVA + BUF_SIZE, &word,
				 sizeof(word), false));
	/* Running off the end of the mapping */
	EXPECT_EQ(EINVAL, emu_rw(self->device, IOVA + BUF_SIZE - 4, &word,
				 sizeof(word), false));
	EXPECT_EQ(-EINVAL, emu_pin(self->device, IOVA + BUF_SIZE, 1, false,
				   NULL));
	/* Part mapped, part not: nothing stays pinned */
	EXPECT_EQ(-EINVAL, emu_pin(self->device, IOVA + BUF_SIZE - 2 * PAGE,
				   4, false, NULL));
	EXPECT_EQ(-EINVAL, emu_pin(self->device, IOVA, 0, false, NULL));
	EXPECT_EQ(0, emu_state(self->device).pinned);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());

	/* A read-only mapping is pinned for reading only */
	ASSERT_EQ(0, emu_map(self->container, self->buf, IOVA + BUF_SIZE,
			     BUF_SIZE, VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(-EPERM, emu_pin(self->device, IOVA + BUF_SIZE, 1, true,
				  NULL));
	EXPECT_EQ(1, emu_pin(self->device, IOVA + BUF_SIZE, 1, false, NULL));
	EXPECT_EQ(1, emu_state(self->device).pinned);
}

/* Closing the device with pages pinned lets go of them (teardown checks) */
TEST_F(emu, close_with_pins)
{
	ASSERT_EQ(NPAGES, emu_pin(self->device, IOVA, NPAGES, true, NULL));
	EXPECT_EQ(self->vm_lck + (long)(BUF_SIZE / 1024),
		  proc_status_kb("VmLck"));
	close(self->device);
	self->device = -1;
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

struct pinner {
	int device;
	bool stop;
	long pinned, refused, bad;
};

/* Pin and unpin pages while the main thread unmaps and maps them again */
static void *pin_loop(void *arg)
{
	struct pinner *p = arg;
	unsigned int i = 0;

	while (!__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
		__u64 iova = IOVA + (i++ % NPAGES) * PAGE;
		long rc = emu_pin(p->device, iova, 1, i & 1, NULL);
		int unpin;

		if (rc == -EINVAL) {
			p->refused++;
			continue;
		}
		if (rc != 1) {
			p->bad++;
			continue;
		}
		p->pinned++;
		/* ENOENT: an unmap made the device unpin it first */
		unpin = emu_unpin(p->device, iova, 1);
		if (unpin && unpin != ENOENT)
			p->bad++;
	}
	return NULL;
}

/*
 * Unmaps race with a device pinning: each unmap gets the device to unpin
 * what it holds in the range, and succeeds; nothing stays pinned.  A
 * driver holds its own lock across pin_pages and in dma_unmap, as this
 * device does: the backend must not call dma_unmap holding a lock that
 * pin_pages takes.
 */
TEST_F(emu, pins_race_unmaps)
{
	struct pinner p = { .device = self->device };
	struct timespec start, now;
	pthread_t thread;
	long rounds = 0;

	ASSERT_EQ(0, pthread_create(&thread, NULL, pin_loop, &p));
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		ASSERT_EQ(0, emu_unmap(self->container, IOVA, BUF_SIZE, 0));
		ASSERT_EQ(0, emu_map(self->container, self->buf, IOVA,
				     BUF_SIZE, RW));
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	__atomic_store_n(&p.stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	ksft_print_msg("%ld unmaps, %ld pins, %ld refused, %llu unpinned by unmaps\n",
		       rounds, p.pinned, p.refused,
		       emu_state(self->device).unpinned_by_unmap);
	EXPECT_EQ(0, p.bad);
	EXPECT_LT(0, p.pinned);
	EXPECT_EQ(0, emu_state(self->device).pinned);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

/* A v1 container does not pin for devices; dma_rw works */
TEST(v1_container_refuses_pins)
{
	int container = -1, group = -1, device = -1;
	__u64 word = 0x1234, back = 0;
	long vm_lck = proc_status_kb("VmLck");
	__u8 *buf;
	int rc;

	rc = emu_open(&container, &group, &device, VFIO_TYPE1_IOMMU);
	if (rc == ENOENT)
		SKIP(return, "no vfio_emu device");
	ASSERT_EQ(0, rc);
	buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, emu_map(container, buf, IOVA, PAGE, RW));
	EXPECT_EQ(-EACCES, emu_pin(device, IOVA, 1, false, NULL));
	EXPECT_EQ(0, emu_state(device).pinned);
	ASSERT_EQ(0, emu_rw(device, IOVA + 8, &word, sizeof(word), true));
	ASSERT_EQ(0, emu_rw(device, IOVA + 8, &back, sizeof(back), false));
	EXPECT_EQ(word, back);
	EXPECT_EQ(word, *(__u64 *)(buf + 8));
	close(device);
	close(group);
	close(container);
	EXPECT_EQ(vm_lck, proc_status_kb("VmLck"));
}

TEST_HARNESS_MAIN
