// SPDX-License-Identifier: GPL-2.0
/*
 * Races and lifetimes of a VFIO type1 container, with real DMA by QEMU's
 * edu device: maps and unmaps racing on one container while the device
 * DMAs, a process killed in the middle of a large MAP_DMA, the container
 * closed during a map, user memory unmapped while still DMA-mapped, fork
 * with mapped memory, and dma_entry_limit.  The same expectations hold for
 * whichever backend vfio.ko picks: vfio_iommu_type1 or this module
 * (selftests/vfio_races.sh runs both).
 *
 * Pinned pages are counted by the kernel's FOLL_PIN statistics in
 * /proc/vmstat (after /proc/sys/vm/stat_refresh), which both backends
 * pin through; the containers a backend serves hold its module
 * (/sys/module/NAME/refcnt).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lib/iommufd_utils.h"
#include "lib/vfio_edu.h"

#define IOVA 0x100000UL
#define IOVA2 0x200000UL
#define BUF_SIZE (64UL * 1024)
#define XFER 1024
#define PAGES(size) ((long)((size) / 4096))

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void fill(__u8 *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i != len; i++)
		p[i] = i * 13 + seed;
}

static bool filled(const __u8 *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i != len; i++)
		if (p[i] != (__u8)(i * 13 + seed))
			return false;
	return true;
}

/* The device copies XFER bytes from IOVA @src to IOVA @dst; 0 or errno */
static int dma_copy(struct edu *edu, __u64 src, __u64 dst)
{
	int rc = edu_dma(edu, src, EDU_BUFFER, XFER, false);

	return rc ? rc : edu_dma(edu, EDU_BUFFER, dst, XFER, true);
}

FIXTURE(races)
{
	struct edu edu;
	long vm_lck;
	long pins;
};

FIXTURE_VARIANT(races)
{
	unsigned long type;
};

FIXTURE_VARIANT_ADD(races, type1)
{
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_VARIANT_ADD(races, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_SETUP(races)
{
	int rc;

	self->vm_lck = proc_status_kb("VmLck");
	self->pins = pins_held();
	ASSERT_LE(0, self->pins);
	rc = edu_open(&self->edu, variant->type);
	if (rc == ENODEV)
		SKIP(return, "no edu device");
	ASSERT_EQ(0, rc);
}

FIXTURE_TEARDOWN(races)
{
	edu_close(&self->edu);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

#define RACE_IOVA 0x1000000UL
#define SLOT (64UL * 1024)
#define NSLOTS 32
#define RACE_SECONDS 4

struct racer {
	struct edu *edu;
	__u8 *buf;
	bool *stop;
	unsigned int seed;
	bool v2;
	/* Counts */
	unsigned long mapped, unmapped, maps, unmaps, eexist, einval;
	unsigned long transfers;
	int bad;
};

/*
 * Map one or two slots, or unmap them, at random.  Documented failures:
 * EEXIST for a map over a mapping, EINVAL for a v2 unmap that would
 * bisect a mapping of two slots (v1 unmaps what starts in the range).
 */
static void *map_unmap(void *arg)
{
	struct racer *r = arg;

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED) && !r->bad) {
		unsigned int x = rand_r(&r->seed);
		unsigned long slot = x % NSLOTS, n = (x >> 8) & 1 ? 2 : 1;
		__u64 iova = RACE_IOVA + slot * SLOT, done = 0;
		int rc;

		if (slot + n > NSLOTS)
			n = 1;
		if ((x >> 9) & 1) {
			rc = edu_map(r->edu, r->buf + slot * SLOT, iova,
				     n * SLOT);
			if (!rc) {
				r->maps++;
				r->mapped += n * SLOT;
			} else if (rc == EEXIST) {
				r->eexist++;
			} else {
				r->bad = rc;
			}
		} else {
			rc = edu_unmap(r->edu, iova, n * SLOT, 0, &done);
			if (!rc) {
				r->unmaps += !!done;
				r->unmapped += done;
			} else if (rc == EINVAL && r->v2) {
				r->einval++;
			} else {
				r->bad = rc;
			}
		}
	}
	return NULL;
}

/* DMA within the buffer at IOVA, a new pattern each time, checked */
static void *dma_loop(void *arg)
{
	struct racer *r = arg;

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED) && !r->bad) {
		unsigned int seed = r->transfers;

		fill(r->buf, XFER, seed);
		memset(r->buf + 0x8000, 0, XFER);
		r->bad = dma_copy(r->edu, IOVA, IOVA + 0x8000);
		if (!r->bad && !filled(r->buf + 0x8000, XFER, seed))
			r->bad = -1;
		r->transfers++;
	}
	return NULL;
}

/*
 * Two threads map and unmap slots of one container while a third has the
 * device DMA into a buffer that stays mapped: every transfer lands, the
 * only failures are the documented ones, what was mapped is what was
 * unmapped, and nothing stays pinned or charged.
 */
TEST_F(races, map_unmap_during_dma)
{
	struct racer r[3] = {};
	pthread_t t[3];
	bool stop = false;
	__u8 *race_buf = map_anon(NSLOTS * SLOT), *dma_buf = map_anon(BUF_SIZE);
	unsigned long mapped = 0, unmapped = 0;
	__u64 done = 0;
	int i;

	ASSERT_NE(NULL, race_buf);
	ASSERT_NE(NULL, dma_buf);
	ASSERT_EQ(0, edu_map(&self->edu, dma_buf, IOVA, BUF_SIZE));
	for (i = 0; i != 3; i++) {
		r[i].edu = &self->edu;
		r[i].buf = i == 2 ? dma_buf : race_buf;
		r[i].stop = &stop;
		r[i].seed = i + 1;
		r[i].v2 = variant->type == VFIO_TYPE1v2_IOMMU;
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i == 2 ? dma_loop : map_unmap,
					    &r[i]));
	}
	sleep(RACE_SECONDS);
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));

	for (i = 0; i != 2; i++) {
		ksft_print_msg("thread %d: %lu maps, %lu unmaps, %lu EEXIST, %lu EINVAL\n",
			       i, r[i].maps, r[i].unmaps, r[i].eexist,
			       r[i].einval);
		EXPECT_EQ(0, r[i].bad);
		EXPECT_LT(0, r[i].maps);
		EXPECT_LT(0, r[i].unmaps);
		mapped += r[i].mapped;
		unmapped += r[i].unmapped;
	}
	ksft_print_msg("%lu transfers checked\n", r[2].transfers);
	EXPECT_EQ(0, r[2].bad);
	EXPECT_LT(10, r[2].transfers);

	/* The DMA buffer is still mapped, with whatever the race left */
	EXPECT_EQ(self->pins + PAGES(BUF_SIZE + mapped - unmapped),
		  pins_held());
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &done));
	EXPECT_EQ(mapped - unmapped + BUF_SIZE, done);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(self->pins, pins_held());
}

/*
 * munmap of memory that is still DMA-mapped: its pages stay pinned until
 * UNMAP_DMA; the device reads and writes the old pages, and a new mapping
 * at the same user address is untouched by it.
 */
TEST_F(races, munmap_while_mapped)
{
	__u8 *a = map_anon(BUF_SIZE), *c = map_anon(BUF_SIZE), *n;
	__u64 done = 0;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, c);
	fill(a, BUF_SIZE, 1);
	memset(c, 0, BUF_SIZE);
	ASSERT_EQ(0, edu_map(&self->edu, a, IOVA, BUF_SIZE));
	ASSERT_EQ(0, edu_map(&self->edu, c, IOVA2, BUF_SIZE));
	EXPECT_EQ(self->pins + 2 * PAGES(BUF_SIZE), pins_held());

	ASSERT_EQ(0, munmap(a, BUF_SIZE));
	/* Still pinned, still charged */
	EXPECT_EQ(self->pins + 2 * PAGES(BUF_SIZE), pins_held());
	EXPECT_EQ(self->vm_lck + 2 * (long)(BUF_SIZE / 1024),
		  proc_status_kb("VmLck"));
	/* New memory at the same address */
	n = mmap(a, BUF_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(a, n);
	fill(n, BUF_SIZE, 2);

	/* The device reads the old pages */
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA + 0x3000, IOVA2));
	EXPECT_TRUE(filled(c, XFER, 1 + 0x3000 * 13));
	/* and writes them, not the new memory */
	fill(c + 0x4000, XFER, 3);
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA2 + 0x4000, IOVA + 0x5000));
	EXPECT_TRUE(filled(n, BUF_SIZE, 2));
	memset(c, 0, XFER);
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA + 0x5000, IOVA2));
	EXPECT_TRUE(filled(c, XFER, 3));

	/* UNMAP_DMA lets the old pages go */
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA, BUF_SIZE, 0, &done));
	EXPECT_EQ(BUF_SIZE, done);
	EXPECT_EQ(self->pins + PAGES(BUF_SIZE), pins_held());
	EXPECT_EQ(self->vm_lck + (long)(BUF_SIZE / 1024),
		  proc_status_kb("VmLck"));
	EXPECT_TRUE(filled(n, BUF_SIZE, 2));
	ASSERT_EQ(0, edu_unmap(&self->edu, IOVA2, BUF_SIZE, 0, &done));
}

/*
 * fork with mapped memory: the pinned pages stay the parent's, so the
 * device and the parent keep sharing them while the child writes its own
 * copy, which the device does not see nor change; the child's exit
 * releases nothing.
 */
TEST_F(races, fork_keeps_parent_pages)
{
	__u8 *a = map_anon(BUF_SIZE), *c = map_anon(BUF_SIZE);
	int to_child[2], to_parent[2], status;
	__u64 done = 0;
	char x;
	pid_t pid;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, c);
	fill(a, BUF_SIZE, 1);
	memset(c, 0, BUF_SIZE);
	ASSERT_EQ(0, edu_map(&self->edu, a, IOVA, BUF_SIZE));
	ASSERT_EQ(0, edu_map(&self->edu, c, IOVA2, BUF_SIZE));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		bool ok = filled(a, BUF_SIZE, 1);

		/* Its copy: written, then unchanged by the device */
		fill(a, BUF_SIZE, 5);
		ok &= write(to_parent[1], "w", 1) == 1;
		ok &= read(to_child[0], &x, 1) == 1;
		ok &= filled(a, BUF_SIZE, 5);
		_exit(!ok);
	}
	ASSERT_EQ(1, read(to_parent[0], &x, 1));
	/* The device still reads what the parent has */
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA, IOVA2));
	EXPECT_TRUE(filled(c, XFER, 1));
	/* The parent writes after the fork: the device sees it */
	fill(a + 0x6000, XFER, 7);
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA + 0x6000, IOVA2 + 0x1000));
	EXPECT_TRUE(filled(c + 0x1000, XFER, 7));
	/* The device writes: the parent sees it */
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA2 + 0x1000, IOVA + 0x9000));
	EXPECT_TRUE(filled(a + 0x9000, XFER, 7));
	ASSERT_EQ(1, write(to_child[1], "d", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);

	/* The child's exit let nothing go */
	EXPECT_EQ(self->pins + 2 * PAGES(BUF_SIZE), pins_held());
	EXPECT_EQ(self->vm_lck + 2 * (long)(BUF_SIZE / 1024),
		  proc_status_kb("VmLck"));
	memset(c, 0, XFER);
	ASSERT_EQ(0, dma_copy(&self->edu, IOVA + 0x9000, IOVA2));
	EXPECT_TRUE(filled(c, XFER, 7));
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       &done));
	EXPECT_EQ(2 * BUF_SIZE, done);
}

/* A new container and a DMA round trip through it */
static int new_container_works(void)
{
	__u8 *a = map_anon(BUF_SIZE);
	struct edu edu = {};
	int rc;

	rc = a ? edu_open(&edu, VFIO_TYPE1v2_IOMMU) : errno;
	if (!rc)
		rc = edu_map(&edu, a, IOVA, BUF_SIZE);
	if (!rc) {
		fill(a, XFER, 9);
		rc = dma_copy(&edu, IOVA, IOVA + 0x8000);
	}
	if (!rc && !filled(a + 0x8000, XFER, 9))
		rc = EIO;
	edu_close(&edu);
	if (a)
		munmap(a, BUF_SIZE);
	return rc;
}

#define BIG (512UL * 1024 * 1024)
#define KILLS 3

/*
 * A process SIGKILLed in the middle of a MAP_DMA of 512 MiB of 4 KiB
 * pages (after a random delay of up to 50 ms): nothing stays pinned, the
 * backend's module is held by nothing more, and a new container works.
 */
TEST(kill_during_map)
{
	long pins = pins_held(), refcnt = module_read("refcnt");
	int i, interrupted = 0;
	char bdf[32];

	if (edu_find(bdf, sizeof(bdf)))
		SKIP(return, "no edu device");
	ASSERT_LE(0, pins);
	ASSERT_LE(0, refcnt);
	srand(getpid());
	for (i = 0; i != KILLS; i++) {
		int p[2], status;
		char c[2] = "";
		pid_t pid;

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			struct edu edu = {};
			void *big = map_anon(BIG);

			if (!big || edu_open(&edu, VFIO_TYPE1v2_IOMMU))
				_exit(1);
			if (write(p[1], "m", 1) != 1)
				_exit(1);
			if (!edu_map(&edu, big, 0, BIG) &&
			    write(p[1], "d", 1) != 1)
				_exit(1);
			pause();
			_exit(1);
		}
		close(p[1]);
		ASSERT_EQ(1, read(p[0], c, 1));
		ASSERT_EQ('m', c[0]);
		usleep(rand() % 50000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
		/* "d" if the map was done before the kill */
		if (read(p[0], c, 1) != 1)
			interrupted++;
		close(p[0]);
		EXPECT_EQ(pins, pins_held());
		EXPECT_EQ(refcnt, module_read("refcnt"));
	}
	ksft_print_msg("%d of %d kills during the map\n", interrupted, KILLS);
	EXPECT_LT(0, interrupted);
	EXPECT_EQ(0, new_container_works());
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(refcnt, module_read("refcnt"));
}

struct closer {
	struct edu *edu;
	bool started, finished;
	int rc;
};

static void *map_big(void *arg)
{
	struct closer *cl = arg;
	void *big = map_anon(BIG / 2);

	if (!big) {
		cl->rc = ENOMEM;
		return NULL;
	}
	__atomic_store_n(&cl->started, true, __ATOMIC_RELAXED);
	cl->rc = edu_map(cl->edu, big, 0, BIG / 2);
	__atomic_store_n(&cl->finished, true, __ATOMIC_RELAXED);
	munmap(big, BIG / 2);
	return NULL;
}

/*
 * The device, group and container files closed by another thread while a
 * MAP_DMA of 256 MiB runs: the map completes, then everything goes with
 * the container (nothing pinned or charged, the module held by nothing
 * more) and a new container works.
 */
TEST(close_during_map)
{
	long vm_lck = proc_status_kb("VmLck"), pins = pins_held();
	long refcnt = module_read("refcnt");
	struct closer cl = {};
	struct edu edu = {};
	pthread_t t;
	int rc;

	rc = edu_open(&edu, VFIO_TYPE1v2_IOMMU);
	if (rc == ENODEV)
		SKIP(return, "no edu device");
	ASSERT_EQ(0, rc);
	EXPECT_EQ(refcnt + 1, module_read("refcnt"));
	cl.edu = &edu;
	ASSERT_EQ(0, pthread_create(&t, NULL, map_big, &cl));
	while (!__atomic_load_n(&cl.started, __ATOMIC_RELAXED))
		usleep(100);
	usleep(10000);
	/* Still mapping as the files close */
	EXPECT_FALSE(__atomic_load_n(&cl.finished, __ATOMIC_RELAXED));
	edu_close(&edu);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, cl.rc);

	EXPECT_EQ(vm_lck, proc_status_kb("VmLck"));
	EXPECT_EQ(pins, pins_held());
	EXPECT_EQ(refcnt, module_read("refcnt"));
	EXPECT_EQ(0, new_container_works());
	EXPECT_EQ(refcnt, module_read("refcnt"));
}

static struct vfio_iommu_type1_info_dma_avail *
dma_avail_cap(struct vfio_iommu_type1_info *info)
{
	__u32 off = info->cap_offset;

	while (off) {
		struct vfio_info_cap_header *hdr = (void *)info + off;

		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
			return (void *)hdr;
		off = hdr->next;
	}
	return NULL;
}

/* GET_INFO's DMA_AVAIL; -1 without it */
static long dma_avail(struct edu *edu)
{
	char buf[4096] = {};
	struct vfio_iommu_type1_info *info = (void *)buf;
	struct vfio_iommu_type1_info_dma_avail *avail;

	info->argsz = sizeof(buf);
	if (ioctl(edu->container, VFIO_IOMMU_GET_INFO, info))
		return -1;
	avail = dma_avail_cap(info);
	return avail ? avail->avail : -1;
}

#define LIMIT 8

/*
 * dma_entry_limit, as a container is made: the (limit + 1)th MAP_DMA fails
 * with ENOSPC, pinning nothing, and DMA_AVAIL tells what is left.
 */
TEST(dma_entry_limit)
{
	long limit = module_read("parameters/dma_entry_limit");
	long pins = pins_held();
	__u8 *a = map_anon((LIMIT + 1) * 4096UL);
	struct edu edu = {};
	__u64 done = 0;
	int i, rc;

	if (edu_find(edu.bdf, sizeof(edu.bdf)))
		SKIP(return, "no edu device");
	ASSERT_LT(LIMIT, limit);
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, module_write("parameters/dma_entry_limit", LIMIT));
	rc = edu_open(&edu, VFIO_TYPE1v2_IOMMU);
	/* The container keeps the limit it was made with */
	ASSERT_EQ(0, module_write("parameters/dma_entry_limit", limit));
	ASSERT_EQ(0, rc);

	for (i = 0; i != LIMIT; i++) {
		EXPECT_EQ(LIMIT - i, dma_avail(&edu));
		ASSERT_EQ(0, edu_map(&edu, a + i * 4096UL, IOVA + i * 8192UL,
				     4096));
	}
	EXPECT_EQ(0, dma_avail(&edu));
	EXPECT_EQ(ENOSPC, edu_map(&edu, a + LIMIT * 4096UL,
				  IOVA + LIMIT * 8192UL, 4096));
	EXPECT_EQ(pins + LIMIT, pins_held());
	/* Overlaps are still told apart */
	EXPECT_EQ(EEXIST, edu_map(&edu, a, IOVA, 4096));
	/* An unmap gives one back */
	ASSERT_EQ(0, edu_unmap(&edu, IOVA, 4096, 0, &done));
	EXPECT_EQ(4096, done);
	EXPECT_EQ(1, dma_avail(&edu));
	ASSERT_EQ(0, edu_map(&edu, a + LIMIT * 4096UL, IOVA + LIMIT * 8192UL,
			     4096));
	EXPECT_EQ(0, dma_avail(&edu));
	fill(a + LIMIT * 4096UL, XFER, 4);
	ASSERT_EQ(0, dma_copy(&edu, IOVA + LIMIT * 8192UL, IOVA + 8192));
	EXPECT_TRUE(filled(a + 4096, XFER, 4));
	ASSERT_EQ(0, edu_unmap(&edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done));
	EXPECT_EQ(LIMIT * 4096UL, done);
	EXPECT_EQ(LIMIT, dma_avail(&edu));
	edu_close(&edu);
	EXPECT_EQ(pins, pins_held());

	/* A new container has the limit restored */
	memset(&edu, 0, sizeof(edu));
	ASSERT_EQ(0, edu_open(&edu, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(limit, dma_avail(&edu));
	edu_close(&edu);
}

TEST_HARNESS_MAIN
