// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/iommufd/ against what this process holds: a type1
 * container of QEMU's edu device (v1 and v2) with buffers mapped at known
 * IOVAs shows each mapping as an area of its length and protection, each
 * buffer as an iopt_pages at its address with every page pinned and
 * charged to this process, as much as VmLck says, and the edu's domain;
 * tools/iommufd-stat prints the same numbers.  The edu's BAR0, mapped too,
 * shows as VM_PFNMAP memory with nothing pinned.  Unmapped areas and their
 * pages leave the tree, and the container's directory goes with it.  A
 * /dev/iommu file shows its IOASes, a copy sharing the pages of its source,
 * nothing pinned without a domain, and the IOAS its VFIO ioctls use.
 * Readers racing with maps, unmaps, IOAS destruction and closes get whole
 * files or ENOENT/EIO, never a hang.
 * Needs debugfs mounted, the edu bound to vfio-pci and this module serving
 * type1 containers (selftests/vfio_debugfs.sh).
 */
#include <glob.h>
#include <linux/capability.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "lib/iommufd_utils.h"
#include "lib/vfio_edu.h"

#define TREE "/sys/kernel/debug/iommufd"
#define CONTEXT_HEADER "pid account vfio_ioas comm\n"
#define AREAS_HEADER "iova length prot pages offset state\n"
#define PAGES_HEADER "pages vaddr npages pinned account uid pid flags comm\n"
#define DOMAINS_HEADER \
	"hwpt devices kind dirty pgsizes aperture_start aperture_end\n"

#define TASK_COMM_LEN 16
/* Lengths of the tree's directory names and paths: short */
#define DIR_LEN 128
#define PATH_LEN 256
#define MAX_ROWS 32
#define MAX_FIELDS 10

/* The rows of a file of the tree, split into fields, header left out */
struct table {
	int rows;
	char cell[MAX_ROWS][MAX_FIELDS][48];
};

/* Read @path, whose first line must be @header; 0 or an errno */
static int read_table(const char *path, const char *header, struct table *t)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!f)
		return errno;
	if (!fgets(line, sizeof(line), f) || strcmp(line, header))
		rc = EPROTO;
	while (!rc && fgets(line, sizeof(line), f)) {
		char *save, *tok;
		int i = 0;

		if (t->rows == MAX_ROWS) {
			rc = E2BIG;
			break;
		}
		for (tok = strtok_r(line, "\n ", &save); tok && i < MAX_FIELDS;
		     tok = strtok_r(NULL, "\n ", &save))
			snprintf(t->cell[t->rows][i++], sizeof(t->cell[0][0]),
				 "%s", tok);
		t->rows++;
	}
	if (!rc && ferror(f))
		rc = EIO;
	fclose(f);
	return rc;
}

static unsigned long num(const char *cell)
{
	return strtoul(cell, NULL, 0);
}

/*
 * The directory of the context of @kind opened by process @pid, into @dir;
 * returns how many there are.
 */
static int find_ctx(const char *kind, pid_t pid, char *dir, size_t len)
{
	char pattern[64], path[PATH_MAX];
	struct table t;
	int found = 0;
	glob_t g;
	size_t i;

	snprintf(pattern, sizeof(pattern), TREE "/%s-*", kind);
	if (glob(pattern, 0, NULL, &g))
		return 0;
	for (i = 0; i != g.gl_pathc; i++) {
		snprintf(path, sizeof(path), "%s/context", g.gl_pathv[i]);
		if (read_table(path, CONTEXT_HEADER, &t) || t.rows != 1 ||
		    num(t.cell[0][0]) != (unsigned long)pid)
			continue;
		snprintf(dir, len, "%s", g.gl_pathv[i]);
		found++;
	}
	globfree(&g);
	return found;
}

/* Read file @name of the directory @dir */
static int read_in(const char *dir, const char *name, const char *header,
		   struct table *t)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_table(path, header, t);
}

/* The row of @t whose first field is @id, or -1 */
static int row_of(struct table *t, unsigned long id)
{
	int r;

	for (r = 0; r != t->rows; r++)
		if (num(t->cell[r][0]) == id)
			return r;
	return -1;
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

/* This process's name, as the kernel has it */
static void own_comm(char *comm, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "r");

	comm[0] = 0;
	if (f) {
		if (fgets(comm, len, f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
}

/* This process has CAP_IPC_LOCK: its pages are flagged lock_cap */
static bool cap_ipc_lock(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	if (f)
		fclose(f);
	return caps & (1ULL << CAP_IPC_LOCK);
}

/* The flags of the pages this process maps */
static const char *pages_flags(bool writable)
{
	if (cap_ipc_lock())
		return writable ? "rw,lock_cap" : "ro,lock_cap";
	return writable ? "rw" : "ro";
}

static int map_flags(struct edu *edu, void *buf, __u64 iova, __u64 size,
		     __u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};

	return ioctl(edu->container, VFIO_IOMMU_MAP_DMA, &map) ? errno : 0;
}

/* What the mapping tests map: three buffers, one of them read-only */
static const struct {
	__u64 iova;
	__u64 size;
	bool writable;
} maps[] = {
	{ 0x100000, 1024 * 1024, true },
	{ 0x400000, 64 * 1024, false },
	{ 0x800000, 8 * 1024, true },
};

#define NR_MAPS ARRAY_SIZE(maps)

FIXTURE(container)
{
	struct edu edu;
	char ctx[DIR_LEN];
	char ioas[DIR_LEN + 16];
	void *buf[NR_MAPS];
	long vm_lck;
};

FIXTURE_VARIANT(container)
{
	unsigned long type;
};

FIXTURE_VARIANT_ADD(container, type1)
{
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_VARIANT_ADD(container, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_SETUP(container)
{
	glob_t g;
	size_t i;
	int rc;

	self->vm_lck = proc_status_kb("VmLck");
	rc = edu_open(&self->edu, variant->type);
	if (rc == ENODEV)
		SKIP(return, "no edu device");
	ASSERT_EQ(0, rc);
	ASSERT_TRUE(exists(TREE));
	/* The container has a directory with one IOAS */
	ASSERT_EQ(1, find_ctx("vfio", getpid(), self->ctx, sizeof(self->ctx)));
	snprintf(self->ioas, sizeof(self->ioas), "%s/ioas*", self->ctx);
	ASSERT_EQ(0, glob(self->ioas, 0, NULL, &g));
	ASSERT_EQ(1, g.gl_pathc);
	snprintf(self->ioas, sizeof(self->ioas), "%s", g.gl_pathv[0]);
	globfree(&g);
	for (i = 0; i != NR_MAPS; i++) {
		self->buf[i] = mmap(NULL, maps[i].size, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->buf[i]);
		memset(self->buf[i], 1, maps[i].size);
	}
}

FIXTURE_TEARDOWN(container)
{
	edu_close(&self->edu);
}

/* Map every buffer of @buf as maps[] says; 0 or the first errno */
static int map_all(struct edu *edu, void * const *buf)
{
	size_t i;
	int rc;

	for (i = 0; i != NR_MAPS; i++) {
		rc = map_flags(edu, buf[i], maps[i].iova, maps[i].size,
			       VFIO_DMA_MAP_FLAG_READ |
			       (maps[i].writable ? VFIO_DMA_MAP_FLAG_WRITE : 0));
		if (rc)
			return rc;
	}
	return 0;
}

/* The bytes pinned for @t's pages rows of account @account and this pid */
static long pinned_kb(struct table *t, const char *account)
{
	long kb = 0;
	int r;

	for (r = 0; r != t->rows; r++)
		if (!strcmp(t->cell[r][4], account) &&
		    num(t->cell[r][6]) == (unsigned long)getpid())
			kb += num(t->cell[r][3]) * (getpagesize() / 1024);
	return kb;
}

TEST_F(container, empty)
{
	char comm[TASK_COMM_LEN];
	struct table t;

	ASSERT_EQ(0, read_in(self->ctx, "context", CONTEXT_HEADER, &t));
	ASSERT_EQ(1, t.rows);
	EXPECT_STREQ("mm", t.cell[0][1]);
	EXPECT_STREQ("-", t.cell[0][2]);
	own_comm(comm, sizeof(comm));
	EXPECT_STREQ(comm, t.cell[0][3]);
	ASSERT_EQ(0, read_in(self->ioas, "areas", AREAS_HEADER, &t));
	EXPECT_EQ(0, t.rows);
	ASSERT_EQ(0, read_in(self->ioas, "pages", PAGES_HEADER, &t));
	EXPECT_EQ(0, t.rows);
	/* The edu's group got an automatic domain with 4 KiB pages */
	ASSERT_EQ(0, read_in(self->ioas, "domains", DOMAINS_HEADER, &t));
	ASSERT_EQ(1, t.rows);
	EXPECT_EQ(1, num(t.cell[0][1]));
	EXPECT_STREQ("auto", t.cell[0][2]);
	EXPECT_STREQ("-", t.cell[0][3]);
	EXPECT_TRUE(num(t.cell[0][4]) & 4096);
	EXPECT_LT(num(t.cell[0][5]), num(t.cell[0][6]));
}

TEST_F(container, mapped)
{
	char comm[TASK_COMM_LEN], cmd[128], line[256];
	struct table areas, pages;
	unsigned long ids[NR_MAPS];
	long total_kb = 0;
	bool charged = false;
	size_t i;
	FILE *out;

	ASSERT_EQ(0, map_all(&self->edu, self->buf));
	own_comm(comm, sizeof(comm));
	ASSERT_EQ(0, read_in(self->ioas, "areas", AREAS_HEADER, &areas));
	ASSERT_EQ(0, read_in(self->ioas, "pages", PAGES_HEADER, &pages));
	ASSERT_EQ(NR_MAPS, areas.rows);
	ASSERT_EQ(NR_MAPS, pages.rows);
	for (i = 0; i != NR_MAPS; i++) {
		char (*a)[48] = areas.cell[i];
		int r;

		/* In IOVA order, as mapped, each with its own pages */
		EXPECT_EQ(maps[i].iova, num(a[0]));
		EXPECT_EQ(maps[i].size, num(a[1]));
		EXPECT_STREQ(maps[i].writable ? "rwc" : "r-c", a[2]);
		EXPECT_EQ(0, num(a[4]));
		EXPECT_STREQ("pinned", a[5]);
		ids[i] = num(a[3]);
		EXPECT_NE(0, ids[i]);
		if (i)
			EXPECT_NE(ids[i - 1], ids[i]);

		/* Every page pinned, charged to this process's locked_vm */
		r = row_of(&pages, ids[i]);
		ASSERT_LE(0, r);
		EXPECT_EQ((uintptr_t)self->buf[i], num(pages.cell[r][1]));
		EXPECT_EQ(maps[i].size / getpagesize(), num(pages.cell[r][2]));
		EXPECT_EQ(maps[i].size / getpagesize(), num(pages.cell[r][3]));
		EXPECT_STREQ("mm", pages.cell[r][4]);
		EXPECT_EQ(getuid(), num(pages.cell[r][5]));
		EXPECT_EQ(getpid(), num(pages.cell[r][6]));
		EXPECT_STREQ(pages_flags(maps[i].writable), pages.cell[r][7]);
		EXPECT_STREQ(comm, pages.cell[r][8]);
		total_kb += maps[i].size / 1024;
	}
	EXPECT_EQ(total_kb, pinned_kb(&pages, "mm"));
	EXPECT_EQ(self->vm_lck + total_kb, proc_status_kb("VmLck"));

	/* The tool adds it up the same */
	snprintf(cmd, sizeof(cmd), "tools/iommufd-stat -p %d", getpid());
	out = popen(cmd, "r");
	ASSERT_NE(NULL, out);
	snprintf(cmd, sizeof(cmd), "  charged: %ld KiB to mm of %s[%d] (VmLck)\n",
		 total_kb, comm, getpid());
	while (fgets(line, sizeof(line), out)) {
		printf("# %s", line);
		if (!strcmp(line, cmd))
			charged = true;
	}
	EXPECT_EQ(0, pclose(out));
	EXPECT_TRUE(charged);
}

TEST_F(container, unmapped_and_closed)
{
	struct table areas, pages;
	unsigned long id0, id1;
	__u64 unmapped = 0;

	ASSERT_EQ(0, map_all(&self->edu, self->buf));
	ASSERT_EQ(0, read_in(self->ioas, "areas", AREAS_HEADER, &areas));
	ASSERT_EQ(NR_MAPS, areas.rows);
	id0 = num(areas.cell[0][3]);
	id1 = num(areas.cell[1][3]);

	/* The second mapping leaves, with its pages and their charge */
	ASSERT_EQ(0, edu_unmap(&self->edu, maps[1].iova, maps[1].size, 0,
			       &unmapped));
	ASSERT_EQ(maps[1].size, unmapped);
	ASSERT_EQ(0, read_in(self->ioas, "areas", AREAS_HEADER, &areas));
	ASSERT_EQ(0, read_in(self->ioas, "pages", PAGES_HEADER, &pages));
	ASSERT_EQ(NR_MAPS - 1, areas.rows);
	EXPECT_EQ(maps[0].iova, num(areas.cell[0][0]));
	EXPECT_EQ(maps[2].iova, num(areas.cell[1][0]));
	EXPECT_EQ(NR_MAPS - 1, pages.rows);
	EXPECT_LE(0, row_of(&pages, id0));
	EXPECT_EQ(-1, row_of(&pages, id1));
	EXPECT_EQ(self->vm_lck + pinned_kb(&pages, "mm"),
		  proc_status_kb("VmLck"));
	EXPECT_EQ((maps[0].size + maps[2].size) / 1024,
		  pinned_kb(&pages, "mm"));

	/* All of them: the IOAS stays, empty, with its domain */
	ASSERT_EQ(0, edu_unmap(&self->edu, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			       NULL));
	ASSERT_EQ(0, read_in(self->ioas, "areas", AREAS_HEADER, &areas));
	ASSERT_EQ(0, read_in(self->ioas, "pages", PAGES_HEADER, &pages));
	EXPECT_EQ(0, areas.rows);
	EXPECT_EQ(0, pages.rows);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
	ASSERT_EQ(0, read_in(self->ioas, "domains", DOMAINS_HEADER, &pages));
	EXPECT_EQ(1, pages.rows);

	/* Closing the container takes its directory away, mappings or not */
	ASSERT_EQ(0, map_all(&self->edu, self->buf));
	edu_close(&self->edu);
	memset(&self->edu, 0, sizeof(self->edu));
	EXPECT_FALSE(exists(self->ioas));
	EXPECT_FALSE(exists(self->ctx));
	EXPECT_EQ(0, find_ctx("vfio", getpid(), self->ctx, sizeof(self->ctx)));
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

TEST_F(container, pfnmap)
{
	__u64 iova = 0x1000000, size = self->edu.bar0_size;
	struct table areas, pages;

	/* The edu's own BAR0: its PFNs are looked up, not pinned */
	ASSERT_EQ(0, edu_map(&self->edu, (void *)self->edu.bar0, iova, size));
	ASSERT_EQ(0, read_in(self->ioas, "areas", AREAS_HEADER, &areas));
	ASSERT_EQ(0, read_in(self->ioas, "pages", PAGES_HEADER, &pages));
	ASSERT_EQ(1, areas.rows);
	ASSERT_EQ(1, pages.rows);
	EXPECT_EQ(iova, num(areas.cell[0][0]));
	EXPECT_EQ(size, num(areas.cell[0][1]));
	EXPECT_STREQ("pinned", areas.cell[0][5]);
	EXPECT_EQ((uintptr_t)self->edu.bar0, num(pages.cell[0][1]));
	EXPECT_EQ(size / getpagesize(), num(pages.cell[0][2]));
	EXPECT_EQ(0, num(pages.cell[0][3]));
	EXPECT_STREQ(cap_ipc_lock() ? "rw,pfnmap,lock_cap" : "rw,pfnmap",
		     pages.cell[0][7]);
	EXPECT_EQ(self->vm_lck, proc_status_kb("VmLck"));
}

static int _test_copy(int fd, __u32 dst, __u32 src, __u64 iova, __u64 len)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = iova,
		.src_iova = iova,
	};

	return ioctl_errno(fd, IOMMU_IOAS_COPY, &cmd);
}

static int _test_vfio_ioas(int fd, __u32 id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = id,
		.op = IOMMU_VFIO_IOAS_SET,
	};

	return ioctl_errno(fd, IOMMU_VFIO_IOAS, &cmd);
}

TEST(dev_iommu)
{
	char ctx[DIR_LEN], dir1[DIR_LEN + 16], dir2[DIR_LEN + 16];
	long vm_pin = proc_status_kb("VmPin");
	struct table t, t2;
	__u32 ioas1, ioas2;
	__u64 iova = 0x10000;
	size_t len = 16 * 4096;
	void *buf;
	int fd;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, find_ctx("iommu", getpid(), ctx, sizeof(ctx)));
	ASSERT_EQ(0, read_in(ctx, "context", CONTEXT_HEADER, &t));
	EXPECT_STREQ("user", t.cell[0][1]);

	ASSERT_EQ(0, _test_ioas_alloc(fd, &ioas1));
	ASSERT_EQ(0, _test_ioas_alloc(fd, &ioas2));
	snprintf(dir1, sizeof(dir1), "%s/ioas%u", ctx, ioas1);
	snprintf(dir2, sizeof(dir2), "%s/ioas%u", ctx, ioas2);
	ASSERT_TRUE(exists(dir1));
	ASSERT_TRUE(exists(dir2));
	ASSERT_EQ(0, _test_map(fd, ioas1, buf, len, &iova, MAP_FIXED_RW));
	/* The copy of pages 2 to 5 */
	ASSERT_EQ(0, _test_copy(fd, ioas2, ioas1, iova + 0x2000, 0x4000));

	/* Both IOASes map the same pages; without a domain none is pinned */
	ASSERT_EQ(0, read_in(dir1, "areas", AREAS_HEADER, &t));
	ASSERT_EQ(1, t.rows);
	EXPECT_EQ(iova, num(t.cell[0][0]));
	EXPECT_EQ(len, num(t.cell[0][1]));
	EXPECT_STREQ("rwc", t.cell[0][2]);
	EXPECT_EQ(0, num(t.cell[0][4]));
	EXPECT_STREQ("mapped", t.cell[0][5]);
	ASSERT_EQ(0, read_in(dir2, "areas", AREAS_HEADER, &t2));
	ASSERT_EQ(1, t2.rows);
	EXPECT_EQ(iova + 0x2000, num(t2.cell[0][0]));
	EXPECT_EQ(0x4000, num(t2.cell[0][1]));
	EXPECT_STREQ(t.cell[0][3], t2.cell[0][3]);
	EXPECT_EQ(0x2000, num(t2.cell[0][4]));
	ASSERT_EQ(0, read_in(dir2, "pages", PAGES_HEADER, &t2));
	ASSERT_EQ(1, t2.rows);
	EXPECT_STREQ(t.cell[0][3], t2.cell[0][0]);
	EXPECT_EQ((uintptr_t)buf, num(t2.cell[0][1]));
	EXPECT_EQ(16, num(t2.cell[0][2]));
	EXPECT_EQ(0, num(t2.cell[0][3]));
	EXPECT_STREQ("user", t2.cell[0][4]);
	EXPECT_STREQ(pages_flags(true), t2.cell[0][7]);
	EXPECT_EQ(vm_pin, proc_status_kb("VmPin"));
	ASSERT_EQ(0, read_in(dir2, "domains", DOMAINS_HEADER, &t2));
	EXPECT_EQ(0, t2.rows);

	/* The IOAS of the VFIO ioctls, until it is destroyed */
	ASSERT_EQ(0, _test_vfio_ioas(fd, ioas2));
	ASSERT_EQ(0, read_in(ctx, "context", CONTEXT_HEADER, &t));
	EXPECT_EQ(ioas2, num(t.cell[0][2]));
	ASSERT_EQ(0, _test_destroy(fd, ioas2));
	EXPECT_FALSE(exists(dir2));
	EXPECT_TRUE(exists(dir1));
	ASSERT_EQ(0, read_in(ctx, "context", CONTEXT_HEADER, &t));
	EXPECT_STREQ("-", t.cell[0][2]);

	close(fd);
	EXPECT_FALSE(exists(ctx));
	EXPECT_EQ(0, find_ctx("iommu", getpid(), ctx, sizeof(ctx)));
	munmap(buf, len);
}

/*
 * Read every file of the tree, and run tools/iommufd-stat every fourth
 * round, until told to stop on @stop; write a byte to @progress after each
 * round that read a file whole; exit 0 when some files were read whole,
 * none failed but for vanishing (ENOENT at open, EIO at read after
 * removal) and the tool always succeeded.
 */
static void reader(int stop, int progress)
{
	static const char * const files[] = {
		TREE "/*/context", TREE "/*/ioas*/areas", TREE "/*/ioas*/pages",
		TREE "/*/ioas*/domains",
	};
	unsigned long whole = 0, before, round;
	char buf[4096];
	size_t i, j;

	for (round = 0; read(stop, buf, 1) < 0 && errno == EAGAIN; round++) {
		before = whole;
		if (!(round % 4) && system("tools/iommufd-stat >/dev/null"))
			_exit(3);
		for (i = 0; i != ARRAY_SIZE(files); i++) {
			glob_t g;

			if (glob(files[i], 0, NULL, &g))
				continue;
			for (j = 0; j != g.gl_pathc; j++) {
				int fd = open(g.gl_pathv[j], O_RDONLY);
				ssize_t n;

				if (fd < 0) {
					if (errno != ENOENT)
						_exit(1);
					continue;
				}
				while ((n = read(fd, buf, sizeof(buf))) > 0)
					;
				if (n < 0 && errno != EIO)
					_exit(1);
				whole += !n;
				close(fd);
			}
			globfree(&g);
		}
		if (whole != before && write(progress, "r", 1) != 1)
			_exit(4);
	}
	_exit(whole ? 0 : 2);
}

/* The rounds of reader() that read a file whole, reported so far */
static int reader_rounds(int progress)
{
	static int rounds;
	char buf[64];
	ssize_t n;

	while ((n = read(progress, buf, sizeof(buf))) > 0)
		rounds += n;
	return rounds;
}

/*
 * The writer goes on for 5 s and until the reader has read the tree whole
 * in 2 rounds (a slow debug kernel), but for half the test's time limit.
 */
TEST(readers_race)
{
	int pipefd[2], progress[2], status, i, n, fd;
	struct timespec start, now;
	__u32 ioas;
	__u64 iova;
	struct edu edu;
	char bdf[32];
	pid_t child;
	void *buf;

	if (edu_find(bdf, sizeof(bdf)))
		SKIP(return, "no edu device");
	buf = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 1, 64 * 4096);
	ASSERT_EQ(0, pipe2(pipefd, O_NONBLOCK));
	ASSERT_EQ(0, pipe2(progress, O_NONBLOCK));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(pipefd[1]);
		close(progress[0]);
		reader(pipefd[0], progress[1]);
	}
	close(pipefd[0]);
	close(progress[1]);

	/* Containers and /dev/iommu files made, filled, emptied, closed */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (n = 0;; n++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= TEST_TIMEOUT_DEFAULT / 2 ||
		    (now.tv_sec - start.tv_sec >= 5 &&
		     reader_rounds(progress[0]) >= 2))
			break;
		memset(&edu, 0, sizeof(edu));
		ASSERT_EQ(0, edu_open(&edu, VFIO_TYPE1v2_IOMMU));
		for (i = 0; i != 64; i++)
			ASSERT_EQ(0, edu_map(&edu, buf + i * 4096,
					     0x100000 + i * 8192, 4096));
		ASSERT_EQ(0, edu_unmap(&edu, 0x100000, 64 * 8192, 0, NULL));
		for (i = 0; i != 16; i++)
			ASSERT_EQ(0, edu_map(&edu, buf + i * 4096,
					     0x100000 + i * 8192, 4096));
		edu_close(&edu);

		fd = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, _test_ioas_alloc(fd, &ioas));
		for (i = 0; i != 64; i++) {
			iova = 0x100000 + i * 8192;
			ASSERT_EQ(0, _test_map(fd, ioas, buf + i * 4096, 4096,
					       &iova, MAP_FIXED_RW));
		}
		ASSERT_EQ(0, _test_destroy(fd, ioas));
		ASSERT_EQ(0, _test_ioas_alloc(fd, &ioas));
		iova = 0x100000;
		ASSERT_EQ(0, _test_map(fd, ioas, buf, 4096, &iova,
				       MAP_FIXED_RW));
		close(fd);
	}
	close(pipefd[1]);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	TH_LOG("%d rounds, %d of the reader's", n,
	       reader_rounds(progress[0]));
	EXPECT_LT(0, n);
	EXPECT_LE(2, reader_rounds(progress[0]));
	close(progress[0]);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(buf, 64 * 4096);
}

TEST_HARNESS_MAIN
