// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile and concurrent use of the module: random ioctl sequences with
 * random and malformed arguments, from several threads of three processes.
 *
 *   fuzz iommufd [-s SEED] [-n STEPS] [-t SECONDS]
 *	/dev/iommu files with the test build's mock devices (mock domains,
 *	in-kernel accesses, their pins and reads and writes, dirty tracking);
 *   fuzz type1 [-s SEED] [-n STEPS] [-t SECONDS]
 *	VFIO type1 containers of the edu's group (bound to vfio-pci, this
 *	module serving /dev/vfio/vfio) and /dev/iommu files without mock
 *	devices (production module).
 *
 * The parent opens its files, forks two children (which inherit them, so
 * that three processes, three mms, share the same files) and each process
 * runs THREADS threads.  A step is one random operation on a random slot:
 * an ioctl with a random mix of valid and malformed arguments (struct
 * sizes, flags, reserved fields, ids of live, destroyed and never
 * allocated objects, IOVAs, lengths, user pointers: NULL, unmapped,
 * read-only, PROT_NONE, kernel, unaligned, huge; the argument struct itself
 * at such an address), or closing and reopening a file, or dropping pages
 * under pins.  One child is killed with SIGKILL a third of the way in.  The
 * run ends after STEPS steps in all or SECONDS seconds.
 *
 * Each thread draws from its own generator seeded with SEED, its process
 * and its thread: its random stream repeats with the seed, the ids and
 * state it finds depend on the interleaving of the threads.
 *
 * Checks (a "violation" each, printed with its step):
 *  - no ENOTTY from an ioctl number the module serves (on a container: when
 *    the parent set an IOMMU on it, the group attached: children cannot tell);
 *  - no EBADF from an fd the process holds open (slots are not closed
 *    during an ioctl on them), no kernel-internal errno (>= 512);
 *  - no EFAULT when the struct is readable, has no user pointer inside and
 *    the ioctl pins no page;
 *  - an id destroyed (in a file no other process holds, no allocation in
 *    between) is ENOENT for DESTROY and IOAS_MAP; id 0 never exists.
 * After the run, with every file closed and the children reaped: VmLck and
 * VmPin of the parent back at their start, the killed child died of
 * SIGKILL, the other exited 0, and no process got a signal.  Each ioctl's
 * errnos are counted and printed as diagnostics.
 *
 * With the test build's fault injection control (lib/fail_nth.h), each
 * thread arms itself before one ioctl in ten: one of the first failure
 * points the ioctl passes fails.  An ioctl whose point failed may return
 * EFAULT (a user copy) whatever its struct; the failures injected are
 * counted per ioctl and printed.
 * Exit 4 (skip) in type1 mode without an edu device.
 */
#include <assert.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/iommufd_utils.h"
#include "lib/fail_nth.h"
#include "lib/vfio_edu.h"
#include "drivers/iommu/iommufd/iommufd_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PG 4096UL
#define THREADS 3
#define NPROC 3			/* the parent and two children */
#define VICTIM 2		/* the child killed with SIGKILL */
#define NSLOTS 4		/* /dev/iommu files, and as many containers */
#define NIDS 16			/* ids remembered per file */
#define NACCESS 4		/* access fds per file */
#define MAX_ERRNO 134		/* errnos counted one by one, then "other" */
#define MAX_REPORTS 20		/* violations printed */
#define IOVA_BASE 0x1000000UL	/* MOCK_APERTURE_START; edu's 28-bit space */
#define IOVA_PAGES 1024
#define KERNEL_VA 0xffff888000000000UL
#define REGION_PAGES 256
#define ARGBUF 4096
#define SCRATCH_PAGES 16

enum fuzz_op {
	OP_DESTROY, OP_IOAS_ALLOC, OP_ALLOW_IOVAS, OP_IOVA_RANGES, OP_MAP,
	OP_COPY, OP_UNMAP, OP_OPTION, OP_VFIO_IOAS, OP_HWPT_ALLOC,
	OP_HW_INFO, OP_SET_DIRTY, OP_GET_DIRTY, OP_MOCK_DOMAIN,
	OP_MOCK_REPLACE, OP_CREATE_ACCESS, OP_ACCESS_PAGES,
	OP_ACCESS_UNPIN, OP_ACCESS_RW, OP_ACCESS_REPLACE, OP_ADD_RESERVED,
	OP_MOCK_DIRTY, OP_RANDOM_IOMMU,
	/* containers */
	OP_SET_IOMMU, OP_MAP_DMA, OP_UNMAP_DMA, OP_GET_INFO, OP_CHECK_EXT,
	OP_DIRTY_PAGES, OP_SET_CONTAINER, OP_UNSET_CONTAINER,
	OP_RANDOM_VFIO,
	/* not ioctls */
	OP_DEAD_ID, OP_REOPEN, OP_CLOSE_ACCESS, OP_DROP_PAGES,
	NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"DESTROY", "IOAS_ALLOC", "IOAS_ALLOW_IOVAS", "IOAS_IOVA_RANGES",
	"IOAS_MAP", "IOAS_COPY", "IOAS_UNMAP", "OPTION", "VFIO_IOAS",
	"HWPT_ALLOC", "GET_HW_INFO", "HWPT_SET_DIRTY_TRACKING",
	"HWPT_GET_DIRTY_BITMAP", "TEST_MOCK_DOMAIN", "TEST_MOCK_REPLACE",
	"TEST_CREATE_ACCESS", "TEST_ACCESS_PAGES", "TEST_ACCESS_UNPIN",
	"TEST_ACCESS_RW", "TEST_ACCESS_REPLACE_IOAS", "TEST_ADD_RESERVED",
	"TEST_DIRTY", "random /dev/iommu ioctl",
	"VFIO_SET_IOMMU", "VFIO_IOMMU_MAP_DMA", "VFIO_IOMMU_UNMAP_DMA",
	"VFIO_IOMMU_GET_INFO", "VFIO_CHECK_EXTENSION",
	"VFIO_IOMMU_DIRTY_PAGES", "VFIO_GROUP_SET_CONTAINER",
	"VFIO_GROUP_UNSET_CONTAINER", "random container ioctl",
	"destroyed id", "close and reopen", "close access fd",
	"MADV_DONTNEED",
};

/* Counters shared by the three processes */
struct shared {
	unsigned long steps;
	unsigned long calls[NR_OPS];
	unsigned long errs[NR_OPS][MAX_ERRNO + 1];
	unsigned long violations;
	unsigned long signals[NSIG];
	unsigned long armed;
	unsigned long injected[NR_OPS];
};

struct slot {
	pthread_rwlock_t lock;	/* write: the fd or the group changes */
	int fd;
	bool shared;		/* inherited: other processes use it too */
	bool iommu_set;		/* parent: the group is on it, SET_IOMMU done */
	__u32 ids[NIDS];
	unsigned int next_id;
	int access[NACCESS];
};

static struct {
	bool type1;
	unsigned long seed;
	unsigned long max_steps;
	unsigned int seconds;
	struct timespec start;
	int proc;
	struct shared *sh;
	struct slot iommu[NSLOTS];
	struct slot cont[NSLOTS];
	int group;
	int group_cont;		/* container slot holding the group, or -1 */
	__u8 *mem;		/* REGION_PAGES each: RW, LAZY, RO, NONE, hole */
	__u8 *scratch;		/* SCRATCH_PAGES, then a PROT_NONE page */
	__u8 *shm;
	__u8 *huge;
	bool stop;
} g;

enum { R_RW, R_LAZY, R_RO, R_NONE, R_HOLE, NR_REGIONS };

struct thread {
	pthread_t tid;
	__u64 rnd;
	unsigned long step;
	__u8 *arg;	/* ARGBUF, page aligned */
	__u8 *out;	/* in the scratch pages: arrays, bitmaps, data */
	int fail_nth;	/* the fault injection control, or -1 */
};

static __u64 rnd(struct thread *t)
{
	t->rnd ^= t->rnd >> 12;
	t->rnd ^= t->rnd << 25;
	t->rnd ^= t->rnd >> 27;
	return t->rnd * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(struct thread *t, unsigned int n)
{
	return rnd(t) % n;
}

static bool chance(struct thread *t, unsigned int percent)
{
	return below(t, 100) < percent;
}

static double elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - g.start.tv_sec +
	       (now.tv_nsec - g.start.tv_nsec) / 1e9;
}

static void violation(struct thread *t, enum fuzz_op op, const char *what,
		      int err)
{
	unsigned long n = __atomic_fetch_add(&g.sh->violations, 1,
					     __ATOMIC_RELAXED);

	if (n < MAX_REPORTS)
		printf("# VIOLATION: process %d step %lu %s: %s (errno %d %s)\n",
		       g.proc, t->step, op_names[op], what, err,
		       strerror(err));
}

static void count(enum fuzz_op op, int err)
{
	__atomic_fetch_add(&g.sh->calls[op], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g.sh->errs[op][err > MAX_ERRNO ? MAX_ERRNO : err],
			   1, __ATOMIC_RELAXED);
}

/* What the caller knows about an ioctl's argument */
struct call {
	enum fuzz_op op;
	unsigned long cmd;
	void *arg;
	bool arg_ok;		/* readable and writable, size within it */
	bool inner_ptr;		/* the struct holds user pointers */
	bool fd_inside;		/* the struct holds an fd number */
	bool served;		/* the module serves this ioctl number */
};

/*
 * Issue the ioctl, count its errno and check the ones never valid.  One in
 * ten is armed to fail one of its first failure points.
 */
static int call(struct thread *t, int fd, struct call *c)
{
	bool armed = t->fail_nth >= 0 && chance(t, 10) &&
		     !fail_nth_set(t->fail_nth, 1 + below(t, 8));
	bool injected = false;
	int err;

	err = ioctl(fd, c->cmd, c->arg) < 0 ? errno : 0;
	if (armed) {
		injected = !fail_nth_left(t->fail_nth);
		fail_nth_set(t->fail_nth, 0);
		__atomic_fetch_add(&g.sh->armed, 1, __ATOMIC_RELAXED);
		if (injected)
			__atomic_fetch_add(&g.sh->injected[c->op], 1,
					   __ATOMIC_RELAXED);
	}
	count(c->op, err);
	if (err >= 512)
		violation(t, c->op, "kernel-internal errno", err);
	if (err == ENOTTY && c->served)
		violation(t, c->op, "known ioctl not served", err);
	if (err == EBADF && !c->fd_inside)
		violation(t, c->op, "open fd refused", err);
	if (err == EFAULT && c->arg_ok && !c->inner_ptr && !injected)
		violation(t, c->op, "readable struct without pointers", err);
	return err;
}

/* A user address and its region: good, bad or odd memory */
static __u64 pick_va(struct thread *t)
{
	unsigned int r = below(t, 16);
	__u64 off = below(t, REGION_PAGES / 2) * PG;

	switch (r) {
	case 0 ... 5:
		return (uintptr_t)g.mem + off;
	case 6:
		return (uintptr_t)g.mem + R_LAZY * REGION_PAGES * PG + off;
	case 7:
		return (uintptr_t)g.mem + R_RO * REGION_PAGES * PG + off;
	case 8:
		return (uintptr_t)g.mem + R_NONE * REGION_PAGES * PG + off;
	case 9:
		return (uintptr_t)g.mem + R_HOLE * REGION_PAGES * PG + off;
	case 10:
		return (uintptr_t)g.shm + off % (64 * PG);
	case 11:
		return g.huge ? (uintptr_t)g.huge : (uintptr_t)g.mem;
	case 12:
		return (uintptr_t)g.mem + off + 1 + below(t, PG - 1);
	case 13:
		return 0;
	case 14:
		return KERNEL_VA + off;
	default:
		return rnd(t);
	}
}

static __u64 pick_len(struct thread *t)
{
	switch (below(t, 12)) {
	case 0 ... 6:
		return (1 + below(t, 32)) * PG;
	case 7:
		return 0;
	case 8:
		return 1 + below(t, 3 * PG);
	case 9:
		return 1UL << (20 + below(t, 44));
	case 10:
		return UINT64_MAX - below(t, 2) * (PG - 1);
	default:
		return rnd(t);
	}
}

static __u64 pick_iova(struct thread *t)
{
	switch (below(t, 10)) {
	case 0 ... 6:
		return IOVA_BASE + below(t, IOVA_PAGES) * PG;
	case 7:
		return IOVA_BASE + below(t, IOVA_PAGES * PG);
	case 8:
		return UINT64_MAX - below(t, 4) * PG;
	default:
		return rnd(t) & ~(PG - 1);
	}
}

static __u32 pick_flags(struct thread *t, __u32 valid)
{
	if (chance(t, 5))
		return rnd(t);
	return rnd(t) & valid;
}

static __u32 pick_id(struct thread *t, struct slot *s)
{
	switch (below(t, 10)) {
	case 0 ... 6:
		return s->ids[below(t, NIDS)];
	case 7:
		return 0;
	case 8:
		return below(t, 64);
	default:
		return rnd(t);
	}
}

static void remember(struct slot *s, __u32 id)
{
	s->ids[__atomic_fetch_add(&s->next_id, 1, __ATOMIC_RELAXED) % NIDS] =
		id;
}

/*
 * Copy the struct @cmd of @size bytes into the thread's argument buffer
 * and malform it at random: (@size_first: its first 4 bytes are its size
 * or argsz) a smaller, larger (with or without a non-zero tail) or huge
 * size; a flipped bit past the size (reserved fields included); the whole
 * struct at a bad address.  Returns the address to pass.
 */
static void *arg_prepare(struct thread *t, struct call *c, void *cmd,
			 size_t size, bool size_first)
{
	__u32 *len = (__u32 *)t->arg;
	size_t tail = 0;

	memset(t->arg, 0, ARGBUF);
	memcpy(t->arg, cmd, size);
	c->arg_ok = true;
	if (size_first && chance(t, 10)) {
		switch (below(t, 5)) {
		case 0:
			*len = below(t, size);
			break;
		case 1:
			*len = size + 8 * (1 + below(t, 8));
			tail = *len - size;
			break;
		case 2:
			*len = size + 8 * (1 + below(t, 8));
			break;
		case 3:
			*len = ARGBUF;
			break;
		default:
			*len = 1 << (16 + below(t, 15));
			c->arg_ok = false;
			break;
		}
	}
	if (tail)
		t->arg[size + below(t, tail)] = 1 + below(t, 255);
	/* Not in the size, which the cases above malform */
	if (chance(t, 3))
		t->arg[4 + below(t, size - 4)] ^= 1 << below(t, 8);
	if (chance(t, 2)) {
		c->arg_ok = false;
		return (void *)(uintptr_t)pick_va(t);
	}
	return t->arg;
}

static void arg_copy_out(struct thread *t, void *cmd, size_t size)
{
	memcpy(cmd, t->arg, size);
}

static int iommu_ioctl(struct thread *t, struct slot *s, enum fuzz_op op,
		       unsigned long nr, void *cmd, size_t size, bool ptr)
{
	struct call c = {
		.op = op, .cmd = nr, .inner_ptr = ptr, .served = true,
	};
	int err;

	c.arg = arg_prepare(t, &c, cmd, size, true);
	err = call(t, s->fd, &c);
	if (c.arg == t->arg)
		arg_copy_out(t, cmd, size);
	return err;
}

static void op_ioas_alloc(struct thread *t, struct slot *s)
{
	struct iommu_ioas_alloc cmd = {
		.size = sizeof(cmd), .flags = pick_flags(t, 0),
	};

	if (!iommu_ioctl(t, s, OP_IOAS_ALLOC, IOMMU_IOAS_ALLOC, &cmd,
			 sizeof(cmd), false))
		remember(s, cmd.out_ioas_id);
}

static void op_map(struct thread *t, struct slot *s)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = pick_flags(t, 7),
		.ioas_id = pick_id(t, s),
		.user_va = pick_va(t),
		.length = pick_len(t),
		.iova = pick_iova(t),
	};

	iommu_ioctl(t, s, OP_MAP, IOMMU_IOAS_MAP, &cmd, sizeof(cmd), true);
}

static void op_copy(struct thread *t, struct slot *s)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = pick_flags(t, 7),
		.dst_ioas_id = pick_id(t, s),
		.src_ioas_id = pick_id(t, s),
		.length = pick_len(t),
		.dst_iova = pick_iova(t),
		.src_iova = pick_iova(t),
	};

	/* Domains of the destination pin the pages */
	iommu_ioctl(t, s, OP_COPY, IOMMU_IOAS_COPY, &cmd, sizeof(cmd), true);
}

static void op_unmap(struct thread *t, struct slot *s)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = pick_id(t, s),
		.iova = chance(t, 10) ? 0 : pick_iova(t),
		.length = chance(t, 10) ? UINT64_MAX : pick_len(t),
	};

	iommu_ioctl(t, s, OP_UNMAP, IOMMU_IOAS_UNMAP, &cmd, sizeof(cmd),
		    false);
}

static void op_iovas(struct thread *t, struct slot *s, bool allow)
{
	struct iommu_iova_range *ranges = (void *)t->out;
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = pick_id(t, s),
		.num_iovas = below(t, 4),
		.allowed_iovas = chance(t, 90) ? (uintptr_t)ranges :
						 pick_va(t),
	};
	unsigned int i;

	/* iommu_ioas_iova_ranges has the same layout up to its pointer */
	static_assert(offsetof(struct iommu_ioas_iova_ranges, allowed_iovas) ==
		      offsetof(struct iommu_ioas_allow_iovas, allowed_iovas));
	if (allow) {
		for (i = 0; i < cmd.num_iovas; i++) {
			ranges[i].start = pick_iova(t);
			ranges[i].last = ranges[i].start + pick_len(t) - 1;
		}
		iommu_ioctl(t, s, OP_ALLOW_IOVAS, IOMMU_IOAS_ALLOW_IOVAS, &cmd,
			    sizeof(cmd), true);
	} else {
		iommu_ioctl(t, s, OP_IOVA_RANGES, IOMMU_IOAS_IOVA_RANGES, &cmd,
			    sizeof(struct iommu_ioas_iova_ranges), true);
	}
}

static void op_option(struct thread *t, struct slot *s)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = below(t, 3),
		.op = below(t, 3),
		.object_id = chance(t, 30) ? 0 : pick_id(t, s),
		.val64 = below(t, 3),
	};

	iommu_ioctl(t, s, OP_OPTION, IOMMU_OPTION, &cmd, sizeof(cmd), false);
}

static void op_vfio_ioas(struct thread *t, struct slot *s)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = pick_id(t, s),
		.op = below(t, 4),
	};

	iommu_ioctl(t, s, OP_VFIO_IOAS, IOMMU_VFIO_IOAS, &cmd, sizeof(cmd),
		    false);
}

static void op_hwpt_alloc(struct thread *t, struct slot *s)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = pick_flags(t, 7),
		.dev_id = pick_id(t, s),
		.pt_id = pick_id(t, s),
		.data_type = chance(t, 90) ? 0 : rnd(t),
		.data_len = chance(t, 90) ? 0 : below(t, 64),
		.data_uptr = chance(t, 90) ? 0 : pick_va(t),
	};

	/* data_uptr, and the IOAS's pages that the new domain pins */
	if (!iommu_ioctl(t, s, OP_HWPT_ALLOC, IOMMU_HWPT_ALLOC, &cmd,
			 sizeof(cmd), true))
		remember(s, cmd.out_hwpt_id);
}

static void op_hw_info(struct thread *t, struct slot *s)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = pick_id(t, s),
		.data_len = below(t, 64),
		.data_uptr = chance(t, 80) ? (uintptr_t)t->out :
					     pick_va(t),
	};

	iommu_ioctl(t, s, OP_HW_INFO, IOMMU_GET_HW_INFO, &cmd, sizeof(cmd),
		    true);
}

static void op_dirty(struct thread *t, struct slot *s, bool get)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = pick_flags(t, 1),
		.hwpt_id = pick_id(t, s),
	};
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = pick_id(t, s),
		.flags = pick_flags(t, 1),
		.iova = pick_iova(t),
		.length = pick_len(t),
		.page_size = chance(t, 80) ? PG : 1UL << below(t, 64),
		.data = chance(t, 80) ? (uintptr_t)t->out :
					pick_va(t),
	};

	if (!get)
		iommu_ioctl(t, s, OP_SET_DIRTY, IOMMU_HWPT_SET_DIRTY_TRACKING,
			    &set, sizeof(set), false);
	else
		iommu_ioctl(t, s, OP_GET_DIRTY, IOMMU_HWPT_GET_DIRTY_BITMAP,
			    &cmd, sizeof(cmd), true);
}

/*
 * IOMMU_TEST_CMD; its size must be exactly the struct's.  Returns the
 * errno, or -1 when a flipped bit made it another op.
 */
static int test_cmd(struct thread *t, struct slot *s, enum fuzz_op op,
		    struct iommu_test_cmd *cmd, bool ptr, bool fd_inside)
{
	struct call c = {
		.op = op, .cmd = IOMMU_TEST_CMD, .inner_ptr = ptr,
		.fd_inside = fd_inside, .served = true,
	};
	bool other_op;
	int err;

	cmd->size = sizeof(*cmd);
	c.arg = arg_prepare(t, &c, cmd, sizeof(*cmd), false);
	/* A bit flipped in op makes another op, with pointers or an fd maybe */
	other_op = c.arg == t->arg &&
		   ((struct iommu_test_cmd *)t->arg)->op != cmd->op;
	c.inner_ptr |= other_op;
	c.fd_inside |= other_op;
	err = call(t, s->fd, &c);
	if (c.arg == t->arg)
		arg_copy_out(t, cmd, sizeof(*cmd));
	/* Not the outputs of the op asked for (no fd to keep, no id) */
	return other_op ? -1 : err;
}

static int pick_access(struct thread *t, struct slot *s)
{
	return chance(t, 90) ? s->access[below(t, NACCESS)] : (int)rnd(t);
}

static void op_test(struct thread *t, struct slot *s, enum fuzz_op op)
{
	struct iommu_test_cmd cmd = { .id = pick_id(t, s) };
	unsigned int i;
	int fd;

	switch (op) {
	case OP_MOCK_DOMAIN:
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		cmd.mock_domain_flags.dev_flags = pick_flags(t, 3);
		/* A new domain pins the IOAS's pages: EFAULT from bad ones */
		if (test_cmd(t, s, op, &cmd, true, false))
			return;
		remember(s, cmd.mock_domain_flags.out_stdev_id);
		remember(s, cmd.mock_domain_flags.out_hwpt_id);
		remember(s, cmd.mock_domain_flags.out_idev_id);
		return;
	case OP_MOCK_REPLACE:
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
		cmd.mock_domain_replace.pt_id = pick_id(t, s);
		test_cmd(t, s, op, &cmd, true, false);
		return;
	case OP_CREATE_ACCESS:
		cmd.op = IOMMU_TEST_OP_CREATE_ACCESS;
		cmd.create_access.flags = pick_flags(t, 1);
		if (test_cmd(t, s, op, &cmd, false, false))
			return;
		/* Replace a slot's access fd: close the one it had */
		i = below(t, NACCESS);
		fd = __atomic_exchange_n(&s->access[i],
					 cmd.create_access.out_access_fd,
					 __ATOMIC_RELAXED);
		if (fd >= 0)
			close(fd);
		return;
	case OP_ACCESS_PAGES:
		cmd.op = IOMMU_TEST_OP_ACCESS_PAGES;
		cmd.id = pick_access(t, s);
		cmd.access_pages.flags = pick_flags(t, 1);
		cmd.access_pages.iova = pick_iova(t);
		cmd.access_pages.length = chance(t, 80) ? (1 + below(t, 8)) * PG :
							   pick_len(t);
		cmd.access_pages.uptr = pick_va(t);
		if (!test_cmd(t, s, op, &cmd, true, true))
			remember(s, cmd.access_pages.out_access_pages_id);
		return;
	case OP_ACCESS_UNPIN:
		cmd.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
		cmd.id = pick_access(t, s);
		cmd.destroy_access_pages.access_pages_id = pick_id(t, s);
		test_cmd(t, s, op, &cmd, false, true);
		return;
	case OP_ACCESS_RW:
		cmd.op = IOMMU_TEST_OP_ACCESS_RW;
		cmd.id = pick_access(t, s);
		cmd.access_rw.iova = pick_iova(t) + below(t, 64);
		cmd.access_rw.length = chance(t, 80) ? 1 + below(t, 3 * PG) :
						       pick_len(t);
		cmd.access_rw.uptr = pick_va(t);
		cmd.access_rw.flags = pick_flags(t, 5);
		test_cmd(t, s, op, &cmd, true, true);
		return;
	case OP_ACCESS_REPLACE:
		cmd.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS;
		cmd.id = pick_access(t, s);
		cmd.access_replace_ioas.ioas_id = pick_id(t, s);
		test_cmd(t, s, op, &cmd, true, true);
		return;
	case OP_ADD_RESERVED:
		cmd.op = IOMMU_TEST_OP_ADD_RESERVED;
		cmd.add_reserved.start = pick_iova(t);
		cmd.add_reserved.length = pick_len(t);
		test_cmd(t, s, op, &cmd, false, false);
		return;
	default:
		cmd.op = IOMMU_TEST_OP_DIRTY;
		cmd.dirty.flags = pick_flags(t, 1);
		cmd.dirty.iova = pick_iova(t);
		cmd.dirty.length = pick_len(t);
		cmd.dirty.page_size = chance(t, 80) ? PG : 1UL << below(t, 64);
		cmd.dirty.uptr = chance(t, 80) ? (uintptr_t)t->out :
						 pick_va(t);
		test_cmd(t, s, op, &cmd, true, false);
		return;
	}
}

static void op_random_ioctl(struct thread *t, int fd, enum fuzz_op op, int type)
{
	/* Any struct: it may hold an fd number (IOMMU_TEST_CMD's accesses) */
	struct call c = { .op = op, .fd_inside = true };

	c.cmd = _IOC(below(t, 4), type, below(t, 256), below(t, 64));
	c.arg = arg_prepare(t, &c, t->arg, 64, true);
	/* Any errno but the kernel's own may come back */
	call(t, fd, &c);
}

/* A destroyed id is gone: DESTROY and IOAS_MAP say ENOENT */
static void op_dead_id(struct thread *t, struct slot *s)
{
	__u64 iova = IOVA_BASE;
	__u32 id;
	int err;

	if (_test_ioas_alloc(s->fd, &id))
		return;
	count(OP_DEAD_ID, 0);
	err = _test_destroy(s->fd, id);
	if (err) {
		violation(t, OP_DEAD_ID, "a new IOAS not destroyed", err);
		return;
	}
	err = _test_destroy(s->fd, id);
	if (err != ENOENT)
		violation(t, OP_DEAD_ID, "destroyed twice", err);
	err = _test_map(s->fd, id, g.mem, PG, &iova, MAP_FIXED_RW);
	if (err != ENOENT)
		violation(t, OP_DEAD_ID, "mapped after destroy", err);
	err = _test_destroy(s->fd, 0);
	if (err != ENOENT)
		violation(t, OP_DEAD_ID, "id 0 destroyed", err);
	remember(s, id);
}

static int open_slot(struct slot *s, bool container)
{
	unsigned int i;

	s->fd = open(container ? "/dev/vfio/vfio" : "/dev/iommu", O_RDWR);
	s->shared = false;
	s->iommu_set = false;
	for (i = 0; i < NACCESS; i++)
		s->access[i] = -1;
	return s->fd < 0 ? errno : 0;
}

static void close_slot(struct slot *s)
{
	unsigned int i;

	for (i = 0; i < NACCESS; i++) {
		if (s->access[i] >= 0)
			close(s->access[i]);
		s->access[i] = -1;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* VFIO type1 containers */
static int cont_ioctl(struct thread *t, struct slot *s, enum fuzz_op op,
		      unsigned long nr, void *cmd, size_t size, bool ptr)
{
	struct call c = {
		.op = op, .cmd = nr, .inner_ptr = ptr,
		/* Only the parent moves the group: only it knows this */
		.served = s->iommu_set,
	};
	int err;

	c.arg = arg_prepare(t, &c, cmd, size, true);
	err = call(t, s->fd, &c);
	if (c.arg == t->arg)
		arg_copy_out(t, cmd, size);
	return err;
}

static void op_container(struct thread *t, struct slot *s, enum fuzz_op op)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = chance(t, 70) ? 3 : pick_flags(t, 7),
		.vaddr = pick_va(t),
		.iova = pick_iova(t) & 0xfffffff,
		.size = pick_len(t),
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = pick_flags(t, 7),
		.iova = chance(t, 10) ? 0 : map.iova,
		.size = chance(t, 10) ? 0 : pick_len(t),
	};
	struct {
		struct vfio_iommu_type1_dirty_bitmap hdr;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} dirty = {
		.hdr.argsz = sizeof(dirty),
		.hdr.flags = 1 << below(t, 4),
		.get.iova = map.iova,
		.get.size = pick_len(t),
		.get.bitmap.pgsize = chance(t, 80) ? PG : 1UL << below(t, 64),
		.get.bitmap.size = below(t, 512),
		.get.bitmap.data = chance(t, 80) ?
			(void *)t->out : (void *)pick_va(t),
	};
	struct call c = { .op = op, .arg_ok = true };

	switch (op) {
	case OP_MAP_DMA:
		cont_ioctl(t, s, op, VFIO_IOMMU_MAP_DMA, &map, sizeof(map),
			   true);
		return;
	case OP_UNMAP_DMA:
		cont_ioctl(t, s, op, VFIO_IOMMU_UNMAP_DMA, &unmap,
			   sizeof(unmap), true);
		return;
	case OP_GET_INFO:
		*(__u32 *)t->out = below(t, 512);
		c.cmd = VFIO_IOMMU_GET_INFO;
		c.served = s->iommu_set;
		c.inner_ptr = true;	/* capability chain */
		c.arg = t->out;
		call(t, s->fd, &c);
		return;
	case OP_CHECK_EXT:
		c.cmd = VFIO_CHECK_EXTENSION;
		c.arg = (void *)(uintptr_t)below(t, 12);
		call(t, s->fd, &c);
		return;
	default:
		cont_ioctl(t, s, op, VFIO_IOMMU_DIRTY_PAGES, &dirty,
			   sizeof(dirty), true);
		return;
	}
}

/* Moves of the group and SET_IOMMU, under every container's write lock */
static void op_group(struct thread *t, int i, enum fuzz_op op)
{
	struct slot *s = &g.cont[i];
	struct call c = { .op = op, .arg_ok = true, .served = true };
	int err;

	switch (op) {
	case OP_SET_IOMMU:
		c.cmd = VFIO_SET_IOMMU;
		c.arg = (void *)(uintptr_t)(chance(t, 90) ? 1 + 2 * below(t, 2) :
							    below(t, 16));
		c.served = false;	/* vfio.ko's own: ENOTTY is fine */
		if (!call(t, s->fd, &c) && g.group_cont == i)
			s->iommu_set = true;
		break;
	case OP_SET_CONTAINER:
		c.cmd = VFIO_GROUP_SET_CONTAINER;
		c.fd_inside = true;
		c.arg = &s->fd;
		if (!call(t, g.group, &c))
			g.group_cont = i;
		break;
	default:
		c.cmd = VFIO_GROUP_UNSET_CONTAINER;
		err = call(t, g.group, &c);
		if (!err && g.group_cont >= 0) {
			g.cont[g.group_cont].iommu_set = false;
			g.group_cont = -1;
		}
		break;
	}
}

/*
 * Put the group back on a container with an IOMMU set: after it was left
 * on a closed container or unset, or a SET_IOMMU was refused.
 */
static void group_repair(struct thread *t)
{
	if (g.group_cont < 0 && g.cont[0].fd >= 0) {
		op_group(t, 0, OP_UNSET_CONTAINER);
		op_group(t, 0, OP_SET_CONTAINER);
	}
	if (g.group_cont >= 0 && !g.cont[g.group_cont].iommu_set)
		op_group(t, g.group_cont, OP_SET_IOMMU);
}

static void drop_pages(struct thread *t)
{
	count(OP_DROP_PAGES, 0);
	madvise(g.mem + below(t, REGION_PAGES) * PG, (1 + below(t, 16)) * PG,
		MADV_DONTNEED);
}

static const enum fuzz_op iommu_ops[] = {
	OP_DESTROY, OP_IOAS_ALLOC, OP_IOAS_ALLOC, OP_ALLOW_IOVAS,
	OP_IOVA_RANGES, OP_MAP, OP_MAP, OP_MAP, OP_MAP, OP_COPY, OP_UNMAP,
	OP_UNMAP, OP_OPTION, OP_VFIO_IOAS, OP_HWPT_ALLOC, OP_HW_INFO,
	OP_SET_DIRTY, OP_GET_DIRTY, OP_RANDOM_IOMMU, OP_DEAD_ID,
	/* the test build's */
	OP_MOCK_DOMAIN, OP_MOCK_DOMAIN, OP_MOCK_REPLACE, OP_CREATE_ACCESS,
	OP_ACCESS_PAGES, OP_ACCESS_PAGES, OP_ACCESS_UNPIN, OP_ACCESS_RW,
	OP_ACCESS_RW, OP_ACCESS_REPLACE, OP_ADD_RESERVED, OP_MOCK_DIRTY,
	OP_CLOSE_ACCESS,
};

#define NR_PROD_OPS 20	/* iommu_ops[] without the test build's */

static const enum fuzz_op cont_ops[] = {
	OP_SET_IOMMU, OP_MAP_DMA, OP_MAP_DMA, OP_MAP_DMA, OP_UNMAP_DMA,
	OP_UNMAP_DMA, OP_GET_INFO, OP_CHECK_EXT, OP_DIRTY_PAGES,
	OP_RANDOM_VFIO, OP_SET_CONTAINER, OP_UNSET_CONTAINER,
};

static void iommu_step(struct thread *t, struct slot *s, enum fuzz_op op)
{
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int fd;

	switch (op) {
	case OP_DESTROY:
		destroy.id = pick_id(t, s);
		/* destroy.id: as passed, a bit of it flipped maybe */
		if (!iommu_ioctl(t, s, op, IOMMU_DESTROY, &destroy,
				 sizeof(destroy), false) &&
		    (destroy.id == 0 || destroy.id > INT32_MAX))
			violation(t, op, "never allocated id destroyed", 0);
		return;
	case OP_IOAS_ALLOC:
		return op_ioas_alloc(t, s);
	case OP_ALLOW_IOVAS:
	case OP_IOVA_RANGES:
		return op_iovas(t, s, op == OP_ALLOW_IOVAS);
	case OP_MAP:
		return op_map(t, s);
	case OP_COPY:
		return op_copy(t, s);
	case OP_UNMAP:
		return op_unmap(t, s);
	case OP_OPTION:
		return op_option(t, s);
	case OP_VFIO_IOAS:
		return op_vfio_ioas(t, s);
	case OP_HWPT_ALLOC:
		return op_hwpt_alloc(t, s);
	case OP_HW_INFO:
		return op_hw_info(t, s);
	case OP_SET_DIRTY:
	case OP_GET_DIRTY:
		return op_dirty(t, s, op == OP_GET_DIRTY);
	case OP_RANDOM_IOMMU:
		return op_random_ioctl(t, s->fd, op, IOMMUFD_TYPE);
	case OP_CLOSE_ACCESS:
		/* Less often than they are made */
		if (chance(t, 75))
			return op_test(t, s, OP_ACCESS_RW);
		count(op, 0);
		fd = __atomic_exchange_n(&s->access[below(t, NACCESS)], -1,
					 __ATOMIC_RELAXED);
		if (fd >= 0)
			close(fd);
		return;
	default:
		return op_test(t, s, op);
	}
}

static void step(struct thread *t)
{
	bool cont = g.type1 && chance(t, 60);
	/* Containers: mostly the first, that the group mostly joins */
	unsigned int i = cont && chance(t, 75) ? 0 : below(t, NSLOTS);
	struct slot *s = cont ? &g.cont[i] : &g.iommu[i];
	enum fuzz_op op;

	if (chance(t, 1)) {
		/* Close a file (and its access fds) and open a new one */
		pthread_rwlock_wrlock(&s->lock);
		count(OP_REOPEN, 0);
		close_slot(s);
		if (cont && g.group_cont == (int)i)
			g.group_cont = -1;
		open_slot(s, cont);
		pthread_rwlock_unlock(&s->lock);
		return;
	}
	if (chance(t, 1))
		return drop_pages(t);
	if (cont)
		op = cont_ops[below(t, ARRAY_SIZE(cont_ops))];
	else
		op = iommu_ops[below(t, g.type1 ? NR_PROD_OPS :
					    ARRAY_SIZE(iommu_ops))];
	if (op == OP_DEAD_ID) {
		/* Only where no other process can allocate in between */
		pthread_rwlock_wrlock(&s->lock);
		if (s->fd >= 0 && !s->shared)
			op_dead_id(t, s);
		pthread_rwlock_unlock(&s->lock);
		return;
	}
	/* Keep the group on a container with an IOMMU most of the time */
	if (op == OP_UNSET_CONTAINER && chance(t, 80))
		op = OP_MAP_DMA;
	if (op == OP_SET_IOMMU || op == OP_SET_CONTAINER ||
	    op == OP_UNSET_CONTAINER) {
		unsigned int j;

		/* The group moves in the parent only */
		if (g.proc)
			return;
		for (j = 0; j < NSLOTS; j++)
			pthread_rwlock_wrlock(&g.cont[j].lock);
		if (chance(t, 50))
			group_repair(t);
		else if (s->fd >= 0)
			op_group(t, i, op);
		for (j = 0; j < NSLOTS; j++)
			pthread_rwlock_unlock(&g.cont[j].lock);
		return;
	}
	pthread_rwlock_rdlock(&s->lock);
	if (s->fd < 0)
		;
	else if (!cont)
		iommu_step(t, s, op);
	else if (op == OP_RANDOM_VFIO)
		op_random_ioctl(t, s->fd, op, VFIO_TYPE);
	else
		op_container(t, s, op);
	pthread_rwlock_unlock(&s->lock);
}

static void *worker(void *arg)
{
	struct thread *t = arg;

	t->fail_nth = fail_nth_open();
	while (!__atomic_load_n(&g.stop, __ATOMIC_RELAXED)) {
		t->step = __atomic_fetch_add(&g.sh->steps, 1, __ATOMIC_RELAXED);
		if (t->step >= g.max_steps || elapsed() >= g.seconds)
			break;
		step(t);
	}
	__atomic_store_n(&g.stop, true, __ATOMIC_RELAXED);
	if (t->fail_nth >= 0)
		close(t->fail_nth);
	return NULL;
}

static void on_signal(int sig)
{
	__atomic_fetch_add(&g.sh->signals[sig], 1, __ATOMIC_RELAXED);
	if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)
		_exit(3);
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			sigaction(sig, &sa, NULL);
}

static int map_memory(void)
{
	unsigned int i;
	int memfd;

	g.mem = mmap(NULL, NR_REGIONS * REGION_PAGES * PG,
		     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.mem == MAP_FAILED)
		return errno;
	memset(g.mem, 0x5a, REGION_PAGES * PG);
	memset(g.mem + R_RO * REGION_PAGES * PG, 0xa5, REGION_PAGES * PG);
	if (mprotect(g.mem + R_RO * REGION_PAGES * PG, REGION_PAGES * PG,
		     PROT_READ) ||
	    mprotect(g.mem + R_NONE * REGION_PAGES * PG, REGION_PAGES * PG,
		     PROT_NONE) ||
	    munmap(g.mem + R_HOLE * REGION_PAGES * PG, REGION_PAGES * PG))
		return errno;
	memfd = memfd_create("fuzz", 0);
	if (memfd < 0 || ftruncate(memfd, 64 * PG))
		return errno;
	g.scratch = mmap(NULL, THREADS * (SCRATCH_PAGES + 1) * PG,
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (g.scratch == MAP_FAILED)
		return errno;
	for (i = 1; i <= THREADS; i++)
		if (mprotect(g.scratch + (i * (SCRATCH_PAGES + 1) - 1) * PG, PG,
			     PROT_NONE))
			return errno;
	g.shm = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		     0);
	close(memfd);
	if (g.shm == MAP_FAILED)
		return errno;
	/* A huge page when the machine has one */
	g.huge = mmap(NULL, 512 * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (g.huge == MAP_FAILED)
		g.huge = NULL;
	else
		memset(g.huge, 1, 512 * PG);
	return 0;
}

static bool open_group(void)
{
	char path[PATH_MAX], link[PATH_MAX], bdf[32];
	ssize_t n;

	if (edu_find(bdf, sizeof(bdf)))
		return false;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	g.group = open(path, O_RDWR);
	return g.group >= 0;
}

/*
 * Close the files left: access fds that IOMMU_TEST_OP_CREATE_ACCESS made
 * when a flipped bit or a random ioctl turned another op into it.
 */
static void close_untracked(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	int n = -1;	/* the directory's own */

	if (!dir)
		return;
	while ((d = readdir(dir)))
		n += atoi(d->d_name) > 2;
	closedir(dir);
	if (n > 0)
		printf("# process %d: access fds of ops turned into CREATE_ACCESS: %d\n",
		       g.proc, n);
	close_range(3, ~0U, 0);
}

/* Run the threads of this process, then close every file */
static void *run_process(void *unused)
{
	struct thread t[THREADS] = {};
	unsigned int i;

	for (i = 0; i < THREADS; i++) {
		t[i].rnd = g.seed * 0x9e3779b97f4a7c15ULL + g.proc * 131 + i + 1;
		t[i].arg = aligned_alloc(PG, ARGBUF);
		t[i].out = g.scratch + i * (SCRATCH_PAGES + 1) * PG;
		pthread_create(&t[i].tid, NULL, worker, &t[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i].tid, NULL);
		free(t[i].arg);
	}
	for (i = 0; i < NSLOTS; i++) {
		close_slot(&g.iommu[i]);
		close_slot(&g.cont[i]);
	}
	if (g.group >= 0)
		close(g.group);
	g.group = -1;
	close_untracked();
	return NULL;
}

static unsigned long injected_total(void)
{
	unsigned long total = 0;
	unsigned int op;

	for (op = 0; op < NR_OPS; op++)
		total += g.sh->injected[op];
	return total;
}

static void print_injected(void)
{
	unsigned long total = 0;
	char line[1024];
	unsigned int op;
	int len;

	len = snprintf(line, sizeof(line), "# failures injected:");
	for (op = 0; op < NR_OPS; op++) {
		if (!g.sh->injected[op] || len >= (int)sizeof(line))
			continue;
		total += g.sh->injected[op];
		len += snprintf(line + len, sizeof(line) - len, "%s %s %lu",
				total == g.sh->injected[op] ? "" : ",",
				op_names[op], g.sh->injected[op]);
	}
	if (g.sh->armed)
		puts(line);
}

static void print_errnos(void)
{
	unsigned int op, e;

	for (op = 0; op < NR_OPS; op++) {
		char line[1024];
		int len;

		if (!g.sh->calls[op])
			continue;
		len = snprintf(line, sizeof(line), "# %s: %lu", op_names[op],
			       g.sh->calls[op]);
		for (e = 0; e <= MAX_ERRNO; e++) {
			if (!g.sh->errs[op][e] || len >= (int)sizeof(line))
				continue;
			len += snprintf(line + len, sizeof(line) - len, " %s %lu",
					!e ? "ok" : e == MAX_ERRNO ? "other" :
					strerrorname_np(e), g.sh->errs[op][e]);
		}
		puts(line);
	}
}

static int ktap(int n, bool ok, const char *name)
{
	printf("%sok %d %s_%s\n", ok ? "" : "not ", n, g.type1 ? "type1" :
	       "iommufd", name);
	return !ok;
}

static void help(const char *prog)
{
	fprintf(stderr,
		"usage: %s iommufd|type1 [-s SEED] [-n STEPS] [-t SECONDS]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	long lck = proc_status_kb("VmLck"), pin = proc_status_kb("VmPin");
	pid_t pid[NPROC] = {};
	int status[NPROC] = {};
	bool children_ok = true, signals_ok = true;
	unsigned long killed_at = 0;
	unsigned int i;
	int opt, err, failed = 0;

	g.seed = time(NULL);
	g.max_steps = 5000000;
	g.seconds = 35;
	g.group = -1;
	g.group_cont = -1;
	if (argc < 2 || (strcmp(argv[1], "iommufd") && strcmp(argv[1], "type1")))
		help(argv[0]);
	g.type1 = !strcmp(argv[1], "type1");
	optind = 2;
	while ((opt = getopt(argc, argv, "s:n:t:")) != -1) {
		switch (opt) {
		case 's':
			g.seed = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			g.max_steps = strtoul(optarg, NULL, 0);
			break;
		case 't':
			g.seconds = strtoul(optarg, NULL, 0);
			break;
		default:
			help(argv[0]);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	if (g.type1 && !open_group()) {
		printf("1..0 # SKIP no edu group to open\n");
		return 4;
	}
	printf("1..4\n# seed %lu, at most %lu steps and %u s, %d processes of %d threads\n",
	       g.seed, g.max_steps, g.seconds, NPROC, THREADS);
	g.sh = mmap(NULL, sizeof(*g.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	err = g.sh == MAP_FAILED ? errno : map_memory();
	for (i = 0; !err && i < NSLOTS; i++) {
		pthread_rwlock_init(&g.iommu[i].lock, NULL);
		pthread_rwlock_init(&g.cont[i].lock, NULL);
		err = open_slot(&g.iommu[i], false);
		g.cont[i].fd = -1;
		if (!err && g.type1)
			err = open_slot(&g.cont[i], true);
	}
	if (err) {
		printf("# setting up: %s\nBail out!\n", strerror(err));
		return 1;
	}
	catch_signals();
	clock_gettime(CLOCK_MONOTONIC, &g.start);

	/* The children share the parent's files; they never move the group */
	for (g.proc = 1; g.proc < NPROC; g.proc++) {
		pid[g.proc] = fork();
		if (pid[g.proc] < 0) {
			printf("# fork: %s\nBail out!\n", strerror(errno));
			return 1;
		}
		if (!pid[g.proc]) {
			for (i = 0; i < NSLOTS; i++) {
				g.iommu[i].shared = true;
				g.cont[i].shared = true;
			}
			run_process(NULL);
			return 0;
		}
	}
	g.proc = 0;
	for (i = 0; i < NSLOTS; i++) {
		g.iommu[i].shared = true;
		g.cont[i].shared = true;
	}
	/* The parent's threads, and SIGKILL for one child a third in */
	{
		pthread_t runner;

		pthread_create(&runner, NULL, run_process, NULL);
		while (!__atomic_load_n(&g.stop, __ATOMIC_RELAXED) &&
		       g.sh->steps < g.max_steps / 3 &&
		       elapsed() < g.seconds / 3.0)
			usleep(10000);
		killed_at = g.sh->steps;
		kill(pid[VICTIM], SIGKILL);
		pthread_join(runner, NULL);
	}
	for (i = 1; i < NPROC; i++)
		waitpid(pid[i], &status[i], 0);

	/* Everything closed and reaped: nothing pinned nor locked remains */
	lck = proc_status_kb("VmLck") - lck;
	pin = proc_status_kb("VmPin") - pin;

	printf("# %lu steps in %.1f s; child %d killed at step %lu\n",
	       g.sh->steps < g.max_steps ? g.sh->steps : g.max_steps,
	       elapsed(), pid[VICTIM], killed_at);
	print_errnos();
	print_injected();
	for (i = 1; i < NPROC; i++) {
		bool ok = i == VICTIM ?
			  WIFSIGNALED(status[i]) && WTERMSIG(status[i]) == SIGKILL :
			  WIFEXITED(status[i]) && !WEXITSTATUS(status[i]);

		if (!ok)
			printf("# child %d: status 0x%x\n", pid[i], status[i]);
		children_ok &= ok;
	}
	failed += ktap(1, children_ok, "processes");
	failed += ktap(2, !g.sh->violations, "errnos");
	printf("# VmLck %+ld kB, VmPin %+ld kB after the run\n", lck, pin);
	failed += ktap(3, !lck && !pin, "accounting");
	for (i = 1; i < NSIG; i++) {
		if (g.sh->signals[i]) {
			printf("# signal %d (%s) received %lu times\n", i,
			       strsignal(i), g.sh->signals[i]);
			signals_ok = false;
		}
	}
	failed += ktap(4, signals_ok, "signals");
	printf("# fuzz %s: seed %lu, %lu steps, %lu violations",
	       g.type1 ? "type1" : "iommufd", g.seed,
	       g.sh->steps < g.max_steps ? g.sh->steps : g.max_steps,
	       g.sh->violations);
	if (g.sh->armed)
		printf(", %lu failures injected in %lu ioctls armed",
		       injected_total(), g.sh->armed);
	printf("\n");
	return failed ? 1 : 0;
}
