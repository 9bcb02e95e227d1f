// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel accesses (the path of mdev-style drivers, driven through the
 * test build's IOMMU_TEST_CMD) racing with the IOAS changing under them.
 *
 * Threads pin page ranges through an access (ACCESS_PAGES, reading and
 * writing, with and without a mock domain) while others unmap and map the
 * same ranges again: every unmap succeeds, since the access's unmap
 * callback lets its pins go, and a pin gets only ENOENT (nothing mapped)
 * or EINVAL (being unmapped).  ACCESS_RW reads and writes (both paths)
 * racing with unmaps of ranges that map one buffer or another: a read
 * that succeeds returns the bytes of one of them, a write that succeeds
 * lands in exactly one of them and one that fails nowhere.  An access
 * closed and its IOAS destroyed while pins race; ACCESS_REPLACE_IOAS
 * racing with unmaps of both IOASes; a forked child pinning through the
 * inherited files, killed, or holding the last reference to them; the
 * /dev/iommu file closed in the middle.
 *
 * After each test nothing is pinned: the kernel's FOLL_PIN counters
 * (lib/iommufd_utils.h's pins_held()), the process's VmPin and VmLck and
 * the module's refcnt are back where they started, and IOMMU_DESTROY
 * finds none of the objects (ENOENT).  Needs the test variant loaded
 * (selftests/with-module build/test/iommufd.ko).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/mock_utils.h"

#define PAGE 4096UL
/* The IOAS maps NSLOTS slots of a buffer, each its own area */
#define SLOT (64UL * 1024)
#define NSLOTS 16
#define AREA (NSLOTS * SLOT)
#define IOVA MOCK_APERTURE_START
#define SLOT_IOVA(s) (IOVA + (unsigned long)(s) * SLOT)
#define RACE_MS 1500
#define PIN_ACCESS MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES
/* Word i of the buffers holds BUF_WORD | i or ALT_WORD | i */
#define BUF_WORD 0x10000000U
#define ALT_WORD 0x20000000U
#define WRITTEN 0xf0000000U

/* Read-only slots, when a test has them */
static bool slot_ro(unsigned long s)
{
	return s % 4 == 3;
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/iommufd/refcnt", "r");
	long val = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static __u32 max_id(__u32 a, __u32 b)
{
	return a > b ? a : b;
}

static int map_slot(int fd, __u32 ioas, __u8 *buf, unsigned long s, bool ro)
{
	__u64 iova = SLOT_IOVA(s);

	return _test_map(fd, ioas, buf + s * SLOT, SLOT, &iova,
			 IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (ro ? 0 : IOMMU_IOAS_MAP_WRITEABLE));
}

static int replace_ioas(int fd, int access_fd, __u32 ioas)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = access_fd,
		.access_replace_ioas = { .ioas_id = ioas },
	};

	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* The mock domain of @hwpt maps @buf's slots */
static int check_map(int fd, __u32 hwpt, __u8 *buf)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt,
		.check_map = {
			.iova = IOVA,
			.length = AREA,
			.uptr = (uintptr_t)buf,
		},
	};

	return ioctl_errno(fd, IOMMU_TEST_CMD, &cmd);
}

/* The pages pinned in the system, the process's charges, the module's users */
struct env {
	int fd;
	__u32 ioas;
	__u32 hwpt;
	/* The highest object id so far */
	__u32 last_id;
	/* AREA bytes each; slot s maps the bytes at s * SLOT of one */
	__u8 *buf, *alt;
	long pins, vm_pin, vm_lck, refcnt;
};

static void env_setup(struct __test_metadata *_metadata, struct env *e,
		      bool domain, bool ro_slots)
{
	__u32 *words;
	unsigned long i, s;

	e->fd = -1;
	e->pins = pins_held();
	e->vm_pin = proc_status_kb("VmPin");
	e->vm_lck = proc_status_kb("VmLck");
	e->refcnt = module_refcnt();
	ASSERT_LE(0, e->pins);
	ASSERT_LE(0, e->refcnt);
	ASSERT_EQ(PAGE, (unsigned long)getpagesize());

	e->buf = mmap(NULL, 2 * AREA, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e->buf);
	e->alt = e->buf + AREA;
	words = (__u32 *)e->buf;
	for (i = 0; i != AREA / 4; i++) {
		words[i] = BUF_WORD | i;
		words[AREA / 4 + i] = ALT_WORD | i;
	}

	e->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, e->fd);
	ASSERT_EQ(0, _test_ioas_alloc(e->fd, &e->ioas));
	e->last_id = e->ioas;
	if (domain) {
		__u32 stdev, idev;

		ASSERT_EQ(0, _test_mock_domain(e->fd, e->ioas, &stdev,
					       &e->hwpt, &idev));
		/* All newer than the IOAS */
		e->last_id = max_id(max_id(stdev, idev), e->hwpt);
	}
	for (s = 0; s != NSLOTS; s++)
		ASSERT_EQ(0, map_slot(e->fd, e->ioas, e->buf, s,
				      ro_slots && slot_ro(s)));
}

/* Nothing pinned or charged beyond what the test started with */
static void env_check(struct __test_metadata *_metadata, struct env *e)
{
	EXPECT_EQ(e->pins, pins_held());
	EXPECT_EQ(e->vm_pin, proc_status_kb("VmPin"));
	EXPECT_EQ(e->vm_lck, proc_status_kb("VmLck"));
}

static void env_teardown(struct __test_metadata *_metadata, struct env *e)
{
	if (e->fd >= 0)
		close(e->fd);
	env_check(_metadata, e);
	EXPECT_EQ(e->refcnt, module_refcnt());
}

struct writes;

/* What the threads of a race share */
struct race {
	int fd;
	__u8 *buf, *alt;
	bool ro_slots;
	int stop;
	/* Set just before the /dev/iommu file is closed */
	int fd_closed;
	/* Set when the IOAS may be destroyed: its accesses are closed */
	int ioas_may_go;
};

struct worker {
	struct race *r;
	pthread_t thread;
	unsigned int seed;
	__u32 ioas, ioas2;
	int access_fd;
	/* Set just before the access file is closed */
	int *access_closed;
	/* ACCESS_PAGES or ACCESS_RW flags */
	__u32 flags;
	/* Pinners: check the pages against r->buf; keep every pin */
	bool check_pages, keep;
	/* Unmappers: their slots; map r->alt or r->buf at random */
	unsigned long first_slot, nslots;
	bool alternate;
	/* The writer's record */
	struct writes *log;
	unsigned long ok, enoent, einval, eperm, released, maps, busy;
	/* Stopped by a closed file or a destroyed IOAS */
	int gone;
	/* The first unexpected result: an errno, or -1 for wrong data */
	int bad;
	char why[80];
};

static bool flag(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void set_flag(int *p)
{
	__atomic_store_n(p, 1, __ATOMIC_RELEASE);
}

static bool stopped(struct worker *w)
{
	return flag(&w->r->stop) || w->bad || w->gone;
}

static void worker_fail(struct worker *w, int rc, const char *what)
{
	w->bad = rc ? rc : -1;
	snprintf(w->why, sizeof(w->why), "%s: %s", what,
		 rc > 0 ? strerror(rc) : "wrong result");
}

/* A closed file's errno, expected once it is closed; else a failure */
static void worker_closed(struct worker *w, int rc, const char *what)
{
	if (rc == EBADF && flag(&w->r->fd_closed))
		w->gone = 1;
	else if (rc == EBADFD && w->access_closed && flag(w->access_closed))
		w->gone = 1;
	else
		worker_fail(w, rc, what);
}

static void print_worker(struct worker *w, const char *name)
{
	static const char *const what[] = { "ok", "ENOENT", "EINVAL", "EPERM",
					    "EBUSY", "let go by an unmap first",
					    "maps" };
	unsigned long n[] = { w->ok, w->enoent, w->einval, w->eperm, w->busy,
			      w->released, w->maps };
	char line[256];
	size_t len = 0;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(n); i++)
		if (n[i] && len < sizeof(line))
			len += snprintf(line + len, sizeof(line) - len, ", %lu %s",
					n[i], what[i]);
	ksft_print_msg("%s: %s%s\n", name, len ? line + 2 : "nothing",
		       w->gone ? "; stopped by a close" : "");
	if (w->bad)
		ksft_print_msg("%s: %s\n", name, w->why);
}

static bool range_has_ro(struct race *r, __u64 iova, __u64 len)
{
	unsigned long s;

	if (!r->ro_slots)
		return false;
	for (s = (iova - IOVA) / SLOT; s <= (iova + len - 1 - IOVA) / SLOT; s++)
		if (slot_ro(s))
			return true;
	return false;
}

/*
 * Pin random page ranges of one or two slots through the access; let half
 * of the pins go at once (ENOENT when an unmap let it go first), leave the
 * others to the unmaps.  ENOENT (not mapped) and EINVAL (being unmapped)
 * are the only failures, and EPERM for writing a read-only slot.
 */
static void *pinner(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	bool write = w->flags & MOCK_FLAGS_ACCESS_WRITE;

	while (!stopped(w)) {
		unsigned long s = rand_r(&w->seed) % NSLOTS;
		unsigned long n = s + 1 < NSLOTS && rand_r(&w->seed) % 2 ? 2 : 1;
		unsigned long first = rand_r(&w->seed) % (SLOT / PAGE);
		unsigned long npages = 1 + rand_r(&w->seed) %
					       (n * SLOT / PAGE - first);
		__u64 iova = SLOT_IOVA(s) + first * PAGE, len = npages * PAGE;
		bool ro = range_has_ro(r, iova, len);
		__u32 id;
		int rc;

		rc = _test_access_pages(r->fd, w->access_fd, iova, len,
					w->check_pages ? r->buf + (iova - IOVA) :
							 NULL,
					w->flags, &id);
		switch (rc) {
		case 0:
			if (write && ro) {
				worker_fail(w, 0, "write pin of a read-only slot");
				break;
			}
			w->ok++;
			if (w->keep || rand_r(&w->seed) % 2)
				break;
			rc = _test_destroy_access_pages(r->fd, w->access_fd, id);
			if (rc == ENOENT)
				w->released++;
			else if (rc)
				worker_closed(w, rc, "DESTROY_ACCESS_PAGES");
			break;
		case ENOENT:
			w->enoent++;
			break;
		case EINVAL:
			w->einval++;
			break;
		case EPERM:
			if (write && ro)
				w->eperm++;
			else
				worker_fail(w, rc, "ACCESS_PAGES");
			break;
		default:
			worker_closed(w, rc, "ACCESS_PAGES");
		}
	}
	return NULL;
}

/*
 * Unmap one of its slots and map it again, from r->buf or r->alt: both
 * succeed, unless the IOAS may be gone (then ENOENT ends the thread).
 */
static void *unmapper(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;

	while (!stopped(w)) {
		unsigned long s = w->first_slot + rand_r(&w->seed) % w->nslots;
		__u8 *src = w->alternate && rand_r(&w->seed) % 2 ? r->alt :
								 r->buf;
		__u64 done = 0;
		int rc;

		rc = _test_unmap(r->fd, w->ioas, SLOT_IOVA(s), SLOT, &done);
		if (!rc && done != SLOT) {
			worker_fail(w, 0, "IOMMU_IOAS_UNMAP length");
			break;
		}
		if (rc == ENOENT && flag(&r->ioas_may_go)) {
			w->gone = 1;
			break;
		}
		if (rc) {
			worker_closed(w, rc, "IOMMU_IOAS_UNMAP");
			break;
		}
		w->ok++;
		rc = map_slot(r->fd, w->ioas, src, s, r->ro_slots && slot_ro(s));
		if (rc == ENOENT && flag(&r->ioas_may_go))
			w->gone = 1;
		else if (rc)
			worker_closed(w, rc, "IOMMU_IOAS_MAP");
		else
			w->maps++;
	}
	return NULL;
}

/* Each slot's part of a read is the bytes of r->buf or of r->alt */
static bool read_matches(struct race *r, __u64 iova, const __u8 *out,
			 __u64 len)
{
	while (len) {
		unsigned long off = iova - IOVA;
		unsigned long n = SLOT - off % SLOT;

		if (n > len)
			n = len;
		if (memcmp(out, r->buf + off, n) &&
		    (!r->alt || memcmp(out, r->alt + off, n)))
			return false;
		iova += n;
		out += n;
		len -= n;
	}
	return true;
}

/* The slots that readers read and writers leave alone */
#define READ_SLOTS (NSLOTS / 2)

/*
 * ACCESS_RW reads at random addresses and lengths in the first half of the
 * slots: 0, ENOENT or EINVAL, and what it reads is what is mapped.
 */
static void *reader(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	__u8 *out = malloc(2 * SLOT);

	if (!out) {
		worker_fail(w, ENOMEM, "malloc");
		return NULL;
	}
	while (!stopped(w)) {
		unsigned long off = rand_r(&w->seed) % (READ_SLOTS * SLOT);
		unsigned long max = READ_SLOTS * SLOT - off, len;
		int rc;

		if (max > 2 * SLOT)
			max = 2 * SLOT;
		len = 1 + rand_r(&w->seed) % max;
		rc = _test_access_rw(r->fd, w->access_fd, IOVA + off, out, len,
				     w->flags);
		switch (rc) {
		case 0:
			if (!read_matches(r, IOVA + off, out, len))
				worker_fail(w, 0, "ACCESS_RW read data");
			else
				w->ok++;
			break;
		case ENOENT:
			w->enoent++;
			break;
		case EINVAL:
			w->einval++;
			break;
		default:
			worker_closed(w, rc, "ACCESS_RW read");
		}
	}
	free(out);
	return NULL;
}

#define WRITE_WORDS ((NSLOTS - READ_SLOTS) * SLOT / 4)
#define WRITE_BASE (READ_SLOTS * SLOT / 4)
#define SLOT_WORDS (SLOT / 4)

/* What the writer did to each word of the second half of the slots */
enum { UNTOUCHED, WRITE_OK, WRITE_FAILED };

struct writes {
	__u8 state[WRITE_WORDS];
	/* The first word of the write that wrote each one */
	__u32 run[WRITE_WORDS];
};

/*
 * ACCESS_RW writes of 1 to 16 words within a slot, to each slot of the
 * second half in turn, until every word was written once, each with its
 * own index: 0, ENOENT or EINVAL, and what happened is recorded for
 * writes_check().
 */
static void *writer(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	struct writes *log = w->log;
	unsigned long cur[NSLOTS - READ_SLOTS], i, k, left = WRITE_WORDS;
	__u32 words[16];

	for (k = 0; k != NSLOTS - READ_SLOTS; k++)
		cur[k] = k * SLOT_WORDS;
	for (k = 0; !stopped(w) && left; k = (k + 1) % (NSLOTS - READ_SLOTS)) {
		unsigned long m = 1 + rand_r(&w->seed) % 16;
		unsigned long c = cur[k], end = (k + 1) * SLOT_WORDS;
		int rc;

		if (c == end)
			continue;
		if (c + m > end)
			m = end - c;
		for (i = 0; i != m; i++)
			words[i] = WRITTEN | (c + i);
		rc = _test_access_rw(r->fd, w->access_fd,
				     IOVA + (WRITE_BASE + c) * 4, words, m * 4,
				     w->flags | MOCK_ACCESS_RW_WRITE);
		switch (rc) {
		case 0:
			w->ok++;
			break;
		case ENOENT:
			w->enoent++;
			break;
		case EINVAL:
			w->einval++;
			break;
		default:
			worker_closed(w, rc, "ACCESS_RW write");
			return NULL;
		}
		for (i = 0; i != m; i++) {
			log->state[c + i] = rc ? WRITE_FAILED : WRITE_OK;
			log->run[c + i] = c;
		}
		cur[k] = c + m;
		left -= m;
	}
	return NULL;
}

/*
 * A word written with success is in exactly one buffer, the same for
 * every word of its write; the other buffer, and both for a word whose
 * write failed or that was not written, hold what they were filled with.
 * Returns the index of the first word that breaks this, or -1.
 */
static long writes_check(struct race *r, struct writes *log)
{
	const __u32 *b = (const __u32 *)r->buf, *a = (const __u32 *)r->alt;
	unsigned long j;

	for (j = 0; j != WRITE_WORDS; j++) {
		unsigned long k = WRITE_BASE + j;
		bool in_b = b[k] == (WRITTEN | j), in_a = a[k] == (WRITTEN | j);

		if (log->state[j] != WRITE_OK) {
			if (b[k] != (BUF_WORD | k) || a[k] != (ALT_WORD | k))
				return j;
			continue;
		}
		if (in_b == in_a)
			return j;
		if ((!in_b && b[k] != (BUF_WORD | k)) ||
		    (!in_a && a[k] != (ALT_WORD | k)))
			return j;
		/* The same buffer as the write's first word */
		if (in_b != (b[WRITE_BASE + log->run[j]] ==
			     (WRITTEN | log->run[j])))
			return j;
	}
	return -1;
}

static int start(struct worker *w, void *(*fn)(void *))
{
	return pthread_create(&w->thread, NULL, fn, w);
}

static bool all_ok(struct worker *w, int n, const char *const *names)
{
	bool ok = true;
	int i;

	for (i = 0; i != n; i++) {
		print_worker(&w[i], names[i]);
		ok &= !w[i].bad;
	}
	return ok;
}

/* IOMMU_DESTROY of every IOAS of @fd in @ids: 0 */
static void destroy_all_ioas(struct __test_metadata *_metadata, int fd,
			     const __u32 *ids, int n)
{
	int i;

	for (i = 0; i != n; i++) {
		EXPECT_EQ(0, _test_destroy(fd, ids[i]));
		EXPECT_EQ(ENOENT, _test_destroy(fd, ids[i]));
	}
}

/*
 * ACCESS_PAGES racing with unmaps
 */
FIXTURE(pins)
{
	struct env e;
};

FIXTURE_VARIANT(pins)
{
	__u32 flags;
	bool domain;
};

FIXTURE_VARIANT_ADD(pins, read)
{
	.flags = 0,
};

FIXTURE_VARIANT_ADD(pins, write)
{
	.flags = MOCK_FLAGS_ACCESS_WRITE,
};

FIXTURE_VARIANT_ADD(pins, write_with_domain)
{
	.flags = MOCK_FLAGS_ACCESS_WRITE,
	.domain = true,
};

FIXTURE_SETUP(pins)
{
	env_setup(_metadata, &self->e, variant->domain,
		  variant->flags & MOCK_FLAGS_ACCESS_WRITE);
}

FIXTURE_TEARDOWN(pins)
{
	env_teardown(_metadata, &self->e);
}

/*
 * Two threads pin through one access (the kernel checks that the pages are
 * the buffer's) while two others unmap and map the slots again: every
 * unmap succeeds.  Then, the access still open, unmapping everything
 * leaves nothing pinned: the unmaps let every pin go.
 */
TEST_F(pins, race_unmap)
{
	static const char *const names[] = { "pinner 0", "pinner 1",
					     "unmapper 0", "unmapper 1" };
	struct env *e = &self->e;
	struct race r = {
		.fd = e->fd,
		.buf = e->buf,
		.ro_slots = variant->flags & MOCK_FLAGS_ACCESS_WRITE,
	};
	struct worker w[4] = {};
	__u64 done = 0;
	/* Object ids are given lowest first */
	__u32 access_id = e->last_id + 1;
	int access_fd, i;

	ASSERT_EQ(0, _test_create_access(e->fd, e->ioas, PIN_ACCESS,
					 &access_fd));
	/* The access is the newest object, held by its file */
	EXPECT_EQ(EBUSY, _test_destroy(e->fd, access_id));
	for (i = 0; i != 4; i++) {
		w[i].r = &r;
		w[i].seed = i + 1;
		w[i].ioas = e->ioas;
		w[i].access_fd = access_fd;
		w[i].flags = variant->flags;
		w[i].check_pages = true;
		w[i].first_slot = i < 2 ? 0 : (i - 2) * NSLOTS / 2;
		w[i].nslots = NSLOTS / 2;
		ASSERT_EQ(0, start(&w[i], i < 2 ? pinner : unmapper));
	}
	sleep_ms(RACE_MS);
	set_flag(&r.stop);
	for (i = 0; i != 4; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));

	EXPECT_TRUE(all_ok(w, 4, names));
	for (i = 0; i != 2; i++) {
		EXPECT_LT(0, w[i].ok);
		EXPECT_LT(0, w[i + 2].ok);
		if (r.ro_slots)
			EXPECT_LT(0, w[i].eperm);
	}
	if (e->hwpt)
		EXPECT_EQ(0, check_map(e->fd, e->hwpt, e->buf));

	/* Every slot is mapped again: the unmap lets the remaining pins go */
	ASSERT_EQ(0, _test_unmap(e->fd, e->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(AREA, done);
	env_check(_metadata, e);
	close(access_fd);
	EXPECT_EQ(ENOENT, _test_destroy(e->fd, access_id));
}

/*
 * ACCESS_RW racing with unmaps
 */
FIXTURE(rw)
{
	struct env e;
};

FIXTURE_VARIANT(rw)
{
	__u32 create_flags;
	__u32 rw_flags;
	bool domain;
};

FIXTURE_VARIANT_ADD(rw, plain)
{
	.rw_flags = 0,
};

FIXTURE_VARIANT_ADD(rw, plain_slow_path)
{
	.rw_flags = MOCK_ACCESS_RW_SLOW_PATH,
};

FIXTURE_VARIANT_ADD(rw, pinning)
{
	.create_flags = PIN_ACCESS,
};

FIXTURE_VARIANT_ADD(rw, pinning_slow_path)
{
	.create_flags = PIN_ACCESS,
	.rw_flags = MOCK_ACCESS_RW_SLOW_PATH,
};

FIXTURE_VARIANT_ADD(rw, with_domain)
{
	.domain = true,
};

FIXTURE_SETUP(rw)
{
	env_setup(_metadata, &self->e, variant->domain, false);
}

FIXTURE_TEARDOWN(rw)
{
	env_teardown(_metadata, &self->e);
}

/*
 * One thread unmaps the slots and maps them again from one buffer or the
 * other, while ACCESS_RW reads the first half of the slots and writes the
 * second half, word by word, once; with a pinning access, a third thread
 * pins the same ranges.  Reads return what is mapped; every word written
 * with success is in one buffer, and the words of failed writes nowhere.
 */
TEST_F(rw, race_unmap)
{
	static const char *const names[] = { "unmapper", "reader", "writer",
					     "pinner" };
	struct env *e = &self->e;
	struct race r = { .fd = e->fd, .buf = e->buf, .alt = e->alt };
	int nthreads = variant->create_flags & PIN_ACCESS ? 4 : 3;
	struct {
		struct worker w[4];
		struct writes log;
	} *t;
	struct worker *w;
	__u64 done = 0;
	int access_fd, i;
	long bad_word;

	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	w = t->w;
	ASSERT_EQ(0, _test_create_access(e->fd, e->ioas,
					 variant->create_flags, &access_fd));
	for (i = 0; i != nthreads; i++) {
		w[i].r = &r;
		w[i].seed = i + 1;
		w[i].ioas = e->ioas;
		w[i].access_fd = access_fd;
		w[i].flags = variant->rw_flags;
		w[i].nslots = NSLOTS;
		w[i].alternate = true;
	}
	w[2].log = &t->log;
	w[3].flags = 0;
	ASSERT_EQ(0, start(&w[0], unmapper));
	ASSERT_EQ(0, start(&w[1], reader));
	ASSERT_EQ(0, start(&w[2], writer));
	if (nthreads == 4)
		ASSERT_EQ(0, start(&w[3], pinner));
	sleep_ms(RACE_MS);
	set_flag(&r.stop);
	for (i = 0; i != nthreads; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));

	EXPECT_TRUE(all_ok(w, nthreads, names));
	for (i = 0; i != nthreads; i++)
		EXPECT_LT(0, w[i].ok);
	bad_word = writes_check(&r, &t->log);
	if (bad_word >= 0)
		ksft_print_msg("word %ld of the written slots: %#x, %#x\n",
			       bad_word,
			       ((__u32 *)e->buf)[WRITE_BASE + bad_word],
			       ((__u32 *)e->alt)[WRITE_BASE + bad_word]);
	EXPECT_EQ(-1, bad_word);

	ASSERT_EQ(0, _test_unmap(e->fd, e->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(AREA, done);
	env_check(_metadata, e);
	close(access_fd);
	free(t);
}

/*
 * Lifetimes: accesses closed, IOASes destroyed and replaced, files closed
 * and inherited while pins race
 */
FIXTURE(life)
{
	struct env e;
};

FIXTURE_SETUP(life)
{
	env_setup(_metadata, &self->e, false, false);
}

FIXTURE_TEARDOWN(life)
{
	env_teardown(_metadata, &self->e);
}

/* IOMMU_DESTROY of w->ioas until it succeeds: EBUSY before */
static void *destroyer(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;

	while (!stopped(w)) {
		int rc = _test_destroy(r->fd, w->ioas);

		if (rc == EBUSY) {
			w->busy++;
			continue;
		}
		if (rc || !flag(&r->ioas_may_go))
			worker_fail(w, rc, "IOMMU_DESTROY of the IOAS");
		else
			__atomic_store_n(&w->ok, 1, __ATOMIC_RELEASE);
		break;
	}
	return NULL;
}

#define CLOSE_MS 2500

/* ACCESS_REPLACE_IOAS to w->ioas2 and back, again and again: 0 */
static void *replacer(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;

	while (!stopped(w)) {
		int rc = replace_ioas(r->fd, w->access_fd,
				      w->ok % 2 ? w->ioas : w->ioas2);

		if (rc)
			worker_closed(w, rc, "ACCESS_REPLACE_IOAS");
		else
			w->ok++;
	}
	return NULL;
}

/*
 * Rounds of: a new IOAS mapping the slots and two accesses to it, one
 * pinning and letting go, the other keeping its pins (so that unmaps
 * always have an access to ask); an unmapper, and a thread that destroys
 * the IOAS as soon as it can.  The first access is closed 0-100 ms in,
 * the other 0-50 ms later.  IOMMU_DESTROY fails with EBUSY until both
 * are closed, then succeeds; after the round nothing is pinned and none
 * of its objects is left.
 */
TEST_F(life, close_access_and_destroy_ioas_race_pins)
{
	static const char *const names[] = { "pinner A", "pinner B",
					     "unmapper", "destroyer" };
	struct env *e = &self->e;
	unsigned long rounds = 0, waited = 0, pins = 0, unmaps = 0;
	unsigned int seed = 1;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct race r = { .fd = e->fd, .buf = e->buf };
		struct worker w[4] = {};
		int closed[2] = {}, afd[2];
		__u32 ioas, aid[2];
		unsigned long s;
		int i;

		ASSERT_EQ(0, _test_ioas_alloc(e->fd, &ioas));
		for (s = 0; s != NSLOTS; s++)
			ASSERT_EQ(0, map_slot(e->fd, ioas, e->buf, s, false));
		for (i = 0; i != 2; i++) {
			ASSERT_EQ(0, _test_create_access(e->fd, ioas,
							 PIN_ACCESS, &afd[i]));
			/* ids are given lowest first: the IOAS's are free */
			aid[i] = ioas + 1 + i;
			ASSERT_EQ(EBUSY, _test_destroy(e->fd, aid[i]));
		}
		ASSERT_EQ(EBUSY, _test_destroy(e->fd, ioas));
		for (i = 0; i != 4; i++) {
			w[i].r = &r;
			w[i].seed = seed++;
			w[i].ioas = ioas;
			w[i].access_fd = afd[i % 2];
			w[i].access_closed = &closed[i % 2];
			w[i].check_pages = true;
			w[i].nslots = NSLOTS;
		}
		w[1].keep = true;
		ASSERT_EQ(0, start(&w[0], pinner));
		ASSERT_EQ(0, start(&w[1], pinner));
		ASSERT_EQ(0, start(&w[2], unmapper));
		ASSERT_EQ(0, start(&w[3], destroyer));

		sleep_ms(rand_r(&seed) % 100);
		set_flag(&closed[0]);
		close(afd[0]);
		sleep_ms(rand_r(&seed) % 50);
		set_flag(&r.ioas_may_go);
		set_flag(&closed[1]);
		close(afd[1]);
		/* The destroyer succeeds, within 3 s */
		for (i = 0; i != 300 && !__atomic_load_n(&w[3].ok,
							 __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&w[3].bad, __ATOMIC_RELAXED); i++)
			sleep_ms(10);
		set_flag(&r.stop);
		for (i = 0; i != 4; i++)
			ASSERT_EQ(0, pthread_join(w[i].thread, NULL));

		if (w[0].bad || w[1].bad || w[2].bad || w[3].bad ||
		    w[3].ok != 1) {
			ksft_print_msg("round %lu:\n", rounds);
			EXPECT_TRUE(all_ok(w, 4, names));
			EXPECT_EQ(1, w[3].ok);
			break;
		}
		/* Nothing of the round is left */
		EXPECT_EQ(ENOENT, _test_destroy(e->fd, aid[0]));
		EXPECT_EQ(ENOENT, _test_destroy(e->fd, aid[1]));
		EXPECT_EQ(ENOENT, _test_destroy(e->fd, ioas));
		EXPECT_EQ(e->pins, pins_held());
		rounds++;
		waited += w[3].busy != 0;
		pins += w[0].ok + w[1].ok;
		unmaps += w[2].ok;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!_metadata->exit_code && (t.tv_sec - t0.tv_sec) * 1000 +
		 (t.tv_nsec - t0.tv_nsec) / 1000000 < CLOSE_MS);
	ksft_print_msg("%lu rounds (%lu with an EBUSY destroy first), %lu pins, %lu unmaps\n",
		       rounds, waited, pins, unmaps);
	EXPECT_LT(0, rounds);
	env_check(_metadata, e);
}

/*
 * An access moved between two IOASes that map the same buffer
 * (ACCESS_REPLACE_IOAS, which lets go of its pins) while it pins and
 * reads and both IOASes are unmapped and mapped again: every replace,
 * unmap and map succeeds, pins and reads fail only with ENOENT or EINVAL
 * and read the buffer.  Then unmapping both leaves nothing pinned.
 */
TEST_F(life, replace_ioas_races_unmap)
{
	static const char *const names[] = { "replacer", "pinner", "reader",
					     "unmapper 1", "unmapper 2" };
	struct env *e = &self->e;
	struct race r = { .fd = e->fd, .buf = e->buf };
	struct worker w[5] = {};
	__u32 ioas2, access_id;
	unsigned long s;
	__u64 done;
	int access_fd, i;

	ASSERT_EQ(0, _test_ioas_alloc(e->fd, &ioas2));
	for (s = 0; s != NSLOTS; s++)
		ASSERT_EQ(0, map_slot(e->fd, ioas2, e->buf, s, false));
	ASSERT_EQ(0, _test_create_access(e->fd, e->ioas, PIN_ACCESS,
					 &access_fd));
	access_id = ioas2 + 1;
	ASSERT_EQ(EBUSY, _test_destroy(e->fd, access_id));
	for (i = 0; i != 5; i++) {
		w[i].r = &r;
		w[i].seed = i + 1;
		w[i].ioas = i == 4 ? ioas2 : e->ioas;
		w[i].ioas2 = ioas2;
		w[i].access_fd = access_fd;
		w[i].check_pages = true;
		w[i].nslots = NSLOTS;
	}
	ASSERT_EQ(0, start(&w[0], replacer));
	ASSERT_EQ(0, start(&w[1], pinner));
	ASSERT_EQ(0, start(&w[2], reader));
	ASSERT_EQ(0, start(&w[3], unmapper));
	ASSERT_EQ(0, start(&w[4], unmapper));
	sleep_ms(RACE_MS);
	set_flag(&r.stop);
	for (i = 0; i != 5; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));

	EXPECT_TRUE(all_ok(w, 5, names));
	for (i = 0; i != 5; i++)
		EXPECT_LT(0, w[i].ok);
	for (i = 0; i != 2; i++) {
		done = 0;
		ASSERT_EQ(0, _test_unmap(e->fd, i ? ioas2 : e->ioas, 0,
					 UINT64_MAX, &done));
		EXPECT_EQ(AREA, done);
	}
	env_check(_metadata, e);
	close(access_fd);
	EXPECT_EQ(ENOENT, _test_destroy(e->fd, access_id));
	destroy_all_ioas(_metadata, e->fd, &ioas2, 1);
}

/*
 * A child pinning through the files it inherited, until killed: 0,
 * ENOENT or EINVAL; it tells the parent when it holds ten pins.
 */
static void pin_child(int fd, int access_fd, int ready)
{
	unsigned int seed = getpid();
	int n = 0;

	alarm(10);
	for (;;) {
		unsigned long s = rand_r(&seed) % NSLOTS;
		unsigned long first = rand_r(&seed) % (SLOT / PAGE);
		unsigned long npages = 1 + rand_r(&seed) % (SLOT / PAGE - first);
		int rc = _test_access_pages(fd, access_fd,
					    SLOT_IOVA(s) + first * PAGE,
					    npages * PAGE, NULL, 0, NULL);

		if (rc && rc != ENOENT && rc != EINVAL)
			_exit(rc);
		if (!rc && ++n == 10 && write(ready, "p", 1) != 1)
			_exit(1);
	}
}

#define CHILD_UNMAPS 20

/*
 * A forked child pins through the inherited /dev/iommu and access files
 * while the parent unmaps and maps slots again, CHILD_UNMAPS times, then
 * kills it 0-20 ms later: the parent's unmaps succeed, and unmapping
 * everything lets go of the pins the dead child made.
 */
TEST_F(life, fork_child_killed_while_pinning)
{
	struct env *e = &self->e;
	unsigned int seed = getpid();
	int access_fd, p[2], status, i;
	__u64 done = 0;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, _test_create_access(e->fd, e->ioas, PIN_ACCESS,
					 &access_fd));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		pin_child(e->fd, access_fd, p[1]);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	EXPECT_LT(e->pins, pins_held());

	for (i = 0; i != CHILD_UNMAPS; i++) {
		unsigned long s = rand_r(&seed) % NSLOTS;

		done = 0;
		ASSERT_EQ(0, _test_unmap(e->fd, e->ioas, SLOT_IOVA(s), SLOT,
					 &done));
		ASSERT_EQ(SLOT, done);
		ASSERT_EQ(0, map_slot(e->fd, e->ioas, e->buf, s, false));
	}
	sleep_ms(rand_r(&seed) % 20);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFEXITED(status))
		ksft_print_msg("child exited with %d\n", WEXITSTATUS(status));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	close(p[0]);

	ASSERT_EQ(0, _test_unmap(e->fd, e->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(AREA, done);
	env_check(_metadata, e);
	close(access_fd);
}

/*
 * The parent closes its /dev/iommu and access files while a child it
 * forked pins through them; the child, killed 0-50 ms later, held the
 * last references: once it is reaped nothing is pinned.  The child also
 * pins its own memory through its own IOAS and access.
 */
TEST_F(life, child_holds_the_last_reference)
{
	struct env *e = &self->e;
	unsigned int seed = getpid();
	int access_fd, p[2], status;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, _test_create_access(e->fd, e->ioas, PIN_ACCESS,
					 &access_fd));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__u8 *mine = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fd2 = open("/dev/iommu", O_RDWR), afd2;
		__u32 ioas2;
		unsigned long s;

		close(p[0]);
		if (mine == MAP_FAILED || fd2 < 0 ||
		    _test_ioas_alloc(fd2, &ioas2))
			_exit(1);
		memset(mine, 0x5a, AREA);
		for (s = 0; s != NSLOTS; s++)
			if (map_slot(fd2, ioas2, mine, s, false))
				_exit(2);
		if (_test_create_access(fd2, ioas2, PIN_ACCESS, &afd2) ||
		    _test_access_pages(fd2, afd2, IOVA, AREA / 2, mine, 0,
				       NULL))
			_exit(3);
		pin_child(e->fd, access_fd, p[1]);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	close(access_fd);
	close(e->fd);
	e->fd = -1;
	/* The child's files hold the pins */
	EXPECT_LT(e->pins + (long)(AREA / 2 / PAGE), pins_held());
	sleep_ms(rand_r(&seed) % 50);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFEXITED(status))
		ksft_print_msg("child exited with %d\n", WEXITSTATUS(status));
	ASSERT_TRUE(WIFSIGNALED(status));
	close(p[0]);
	env_check(_metadata, e);
}

/*
 * The /dev/iommu file closed, 300-800 ms in, while threads pin through an
 * access, read through it and unmap: they then get EBADF and nothing
 * else unexpected.  The access's file still holds the context and its
 * pins; closing it lets everything go.
 */
TEST_F(life, close_iommufd_while_pinning)
{
	static const char *const names[] = { "pinner 0", "pinner 1", "reader",
					     "unmapper" };
	struct env *e = &self->e;
	struct race r = { .fd = e->fd, .buf = e->buf };
	unsigned int seed = getpid();
	struct worker w[4] = {};
	int access_fd, i;

	ASSERT_EQ(0, _test_create_access(e->fd, e->ioas, PIN_ACCESS,
					 &access_fd));
	for (i = 0; i != 4; i++) {
		w[i].r = &r;
		w[i].seed = i + 1;
		w[i].ioas = e->ioas;
		w[i].access_fd = access_fd;
		w[i].check_pages = true;
		w[i].nslots = NSLOTS;
	}
	w[1].keep = true;
	ASSERT_EQ(0, start(&w[0], pinner));
	ASSERT_EQ(0, start(&w[1], pinner));
	ASSERT_EQ(0, start(&w[2], reader));
	ASSERT_EQ(0, start(&w[3], unmapper));
	sleep_ms(300 + rand_r(&seed) % 500);
	set_flag(&r.fd_closed);
	close(e->fd);
	e->fd = -1;
	/* The threads see EBADF at their next ioctl */
	for (i = 0; i != 4; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
	EXPECT_TRUE(all_ok(w, 4, names));
	for (i = 0; i != 4; i++) {
		EXPECT_LT(0, w[i].ok);
		EXPECT_EQ(1, w[i].gone);
	}
	close(access_fd);
	env_check(_metadata, e);
}

TEST_HARNESS_MAIN
