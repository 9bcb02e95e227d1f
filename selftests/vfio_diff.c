// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test of the VFIO type1 container ioctls: vfio_iommu_type1
 * (the reference) against this module, on a container holding QEMU's edu
 * device (bound to vfio-pci), in one guest boot.
 *
 *   vfio_diff record DIR    runs every test against the backend vfio.ko
 *                           picks now (vfio_iommu_type1) and writes one
 *                           trace per test into DIR;
 *   vfio_diff compare DIR   runs them again (iommufd.ko loaded: this
 *                           module) and compares each step with the trace;
 *                           prints KTAP, one test per seed, container type
 *                           and kind.
 *
 * A test is a sequence of steps drawn from a seed: MAP_DMA, UNMAP_DMA,
 * GET_INFO, CHECK_EXTENSION, DIRTY_PAGES and unknown ioctls, valid and
 * not (overlaps, partial unmaps, zero, unaligned and wrapping sizes and
 * addresses, bad flags, short argsz, memory that cannot be pinned, maps
 * past dma_entry_limit, unmap-all, VFIO_UPDATE_VADDR, bad bitmaps).  The
 * arguments are drawn from the seed and from a model of the container's
 * mappings that follows the reference's results only (in compare mode,
 * those of the trace), so both runs issue the same bytes.  A step's
 * outcome is its return value, errno, the argument bytes after the call
 * (and the bytes past them, that nothing may write), the dirty bitmap
 * buffer (filled with a pattern first) and the process's VmLck.  Episodes
 * of steps end with a probe of which IOVAs are mapped (a MAP_DMA of an
 * unpinnable page on each page of the window: EEXIST where mapped) and an
 * unmap-all.  The first difference of an episode is printed in full, with
 * the mappings before it (a reproducer); the ones after it in the same
 * episode are only counted, as they may follow from it.
 *
 * Tests: per seed, type1 and type1v2 containers (VFIO_TYPE1_NESTING_IOMMU
 * with the first seed only: type1 refuses it where the IOMMU cannot nest)
 * of two kinds: "plain" (first with the default dma_entry_limit, then a
 * new container with a low one, set through both modules' parameters)
 * and "dirty" (dirty page tracking mixed in).  Any difference fails the
 * test unless an entry of the allowlist (allowlist[] below, each with its
 * reason) matches it.  A container that type1 refuses must be refused
 * with the same errno.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include "lib/vfio_edu.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PG 4096UL
#define VA_BASE 0x300000000000UL
#define KERNEL_VA 0xffff888000000000UL
/* The IOVA window most steps use, and a hot zone inside it */
#define WIN_PAGES 512
#define HOT_BASE (64 * PG)
#define HOT_PAGES 64
#define MAX_MAPS 1024
#define MAX_RANGES 8
#define ARG_REC 64		/* argument bytes recorded by default */
#define INFO_REC 512		/* GET_INFO bytes recorded */
#define BMP_REC 320		/* bitmap bytes recorded, from its start */
#define BMP_TAIL 64		/* and from its end */
#define OUT_MAX 1024
#define MAX_PROBE 640
#define TRACE_MAGIC 0x46494456	/* "VDIF" */
#define MAX_DETAILS 12		/* differences printed in full per test */
#define MAX_SIGS 64
#define MAX_ERRNO 134

/* The process's memory, at fixed addresses so that both runs agree */
enum {
	R_ARG, R_BMP, R_RW, R_THP, R_SHM, R_LAZY, R_RO, R_NONE, R_HOLE,
	NR_REGIONS
};

static const struct region {
	const char *name;
	__u64 off;	/* pages from VA_BASE */
	__u64 pages;
} regions[NR_REGIONS] = {
	[R_ARG] = { "ARG", 0, 2 },	/* ioctl arguments */
	[R_BMP] = { "BMP", 16, 2 },	/* dirty bitmaps */
	[R_RW] = { "RW", 64, 512 },	/* anonymous, populated */
	[R_THP] = { "THP", 1024, 512 },	/* anonymous, transparent huge */
	[R_SHM] = { "SHM", 1600, 64 },	/* memfd, shared */
	[R_LAZY] = { "LAZY", 1700, 64 },	/* anonymous, never touched */
	[R_RO] = { "RO", 1800, 32 },	/* read-only */
	[R_NONE] = { "NONE", 1850, 32 },	/* PROT_NONE */
	[R_HOLE] = { "HOLE", 1900, 32 },	/* page 16 unmapped */
};

#define HOLE_PAGE 16
#define VA_END (VA_BASE + 1932 * PG)

static inline __u64 region_va(int r)
{
	return VA_BASE + regions[r].off * PG;
}

#define ARG ((__u8 *)region_va(R_ARG))
#define BMP ((__u8 *)region_va(R_BMP))

enum op {
	OP_OPEN, OP_MAP, OP_UNMAP, OP_GET_INFO, OP_CHECK_EXT, OP_DIRTY,
	OP_IOCTL, OP_PROBE, OP_RESET, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"OPEN", "MAP_DMA", "UNMAP_DMA", "GET_INFO", "CHECK_EXTENSION",
	"DIRTY_PAGES", "IOCTL", "PROBE", "UNMAP_ALL(reset)",
};

struct step {
	enum op op;
	unsigned long cmd;
	unsigned long ularg;	/* CHECK_EXTENSION's argument */
	__u8 in[96];
	__u32 in_len;
	__u32 out_len;		/* argument bytes recorded */
	bool bmp;		/* the bitmap buffer is filled and recorded */
	bool dirty;		/* a dirty tracking step */
	__u64 bmp_seed;
	char desc[256];
};

struct result {
	__s64 ret;
	__s32 err;
	__u32 out_len;
	__s64 vmlck;
	__u8 out[OUT_MAX];
};

struct rec_hdr {
	__u32 magic;
	__u32 step;
	__u32 op;
	__u32 in_hash;
	__s64 ret;
	__s32 err;
	__u32 out_len;
	__s64 vmlck;
};

struct mapping {
	__u64 iova;
	__u64 size;
	__u64 vaddr;
	bool invalid;	/* vaddr invalidated (VFIO_DMA_UNMAP_FLAG_VADDR) */
};

/* The reference's state, as its results tell it */
struct model {
	struct mapping m[MAX_MAPS];
	int n;
	bool tracking;
	bool uncertain;	/* a failed step may have changed something */
	__u32 info_size;
	__u64 pgsizes;
	int nr_ranges;
	__u64 rstart[MAX_RANGES];
	__u64 rend[MAX_RANGES];
	int nr_probe;
	__u64 probe[MAX_PROBE];
};

enum kind { K_PLAIN, K_DIRTY };

struct test {
	__u64 seed;
	unsigned long type;
	const char *type_name;
	enum kind kind;
	char name[64];
};

struct sig {
	char text[200];
	int count;
	__u32 first;
};

/* One difference the allowlist may excuse */
struct diff_ctx {
	const struct step *s;
	const struct model *mdl;	/* before the step */
	const struct result *ref;
	const struct result *ours;
};

struct allow {
	const char *name;
	const char *reason;
	bool (*match)(const struct diff_ctx *d);
};

static struct {
	bool record;
	bool ktap;
	bool verbose;
	bool no_allow;	/* -a: report what the allowlist excuses too */
	const char *dir;
	FILE *trace;
	struct edu edu;
	bool open;
	__u64 rng;
	struct model mdl;
	__u32 stepno;
	unsigned long type;
	/* per test */
	int diffs, allowed, harness_errors;
	int followers;	/* differences after one in the same episode */
	bool diverged;	/* the containers may differ until the reset */
	int details;
	bool not_served;
	int ref_refused;	/* errno of the reference's edu_open() */
	struct sig sigs[MAX_SIGS];
	int nr_sigs;
	/* outcomes per op, by errno (0: success) */
	int stats[NR_OPS][MAX_ERRNO];
	/* totals */
	long total_steps;
} g;

static void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

/* splitmix64 */
static __u64 rnd(void)
{
	__u64 z = (g.rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static bool pct(unsigned int p)
{
	return below(100) < p;
}

static __u32 hash(const void *buf, size_t len, __u32 h)
{
	const __u8 *p = buf;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static long proc_vmlck_kb(void)
{
	char line[256];
	long val = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmLck:", 6)) {
			val = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Memory */

static int setup_memory(void)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	int r, fd;
	void *p;

	for (r = 0; r < NR_REGIONS; r++) {
		size_t len = regions[r].pages * PG;
		int prot = PROT_READ | PROT_WRITE;

		if (r == R_RO)
			prot = PROT_READ;
		if (r == R_NONE)
			prot = PROT_NONE;
		if (r == R_SHM) {
			fd = memfd_create("vfio_diff", 0);
			if (fd < 0 || ftruncate(fd, len))
				return -1;
			p = mmap((void *)region_va(r), len, prot,
				 MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
			close(fd);
		} else {
			p = mmap((void *)region_va(r), len, prot, flags, -1, 0);
		}
		if (p != (void *)region_va(r)) {
			diag("mmap of %s at %#llx failed", regions[r].name,
			     (unsigned long long)region_va(r));
			return -1;
		}
		madvise(p, len, r == R_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		if (r == R_RW || r == R_THP || r == R_SHM || r == R_HOLE)
			memset(p, 0x10 + r, len);
	}
	return munmap((void *)(region_va(R_HOLE) + HOLE_PAGE * PG), PG);
}

static void va_name(char *buf, size_t len, __u64 va)
{
	int r;

	for (r = 0; r < NR_REGIONS; r++) {
		__u64 start = region_va(r);

		if (va >= start && va < start + regions[r].pages * PG) {
			snprintf(buf, len, "%s+%#llx", regions[r].name,
				 (unsigned long long)(va - start));
			return;
		}
	}
	snprintf(buf, len, "%#llx", (unsigned long long)va);
}

/* The model */

static int model_first(const struct model *m, __u64 iova, __u64 last)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->m[i].iova <= last &&
		    m->m[i].iova + m->m[i].size - 1 >= iova)
			return i;
	return -1;
}

static int model_find(const struct model *m, __u64 iova)
{
	return model_first(m, iova, iova);
}

static void model_insert(struct model *m, __u64 iova, __u64 size,
			 __u64 vaddr)
{
	int i;

	if (m->n == MAX_MAPS) {
		m->uncertain = true;
		return;
	}
	for (i = m->n; i > 0 && m->m[i - 1].iova > iova; i--)
		m->m[i] = m->m[i - 1];
	m->m[i] = (struct mapping){ .iova = iova, .size = size,
				    .vaddr = vaddr };
	m->n++;
}

static void model_remove(struct model *m, int i)
{
	memmove(&m->m[i], &m->m[i + 1], (m->n - i - 1) * sizeof(m->m[0]));
	m->n--;
}

/*
 * What type1's UNMAP_DMA removes (or, with VADDR, invalidates), as
 * vfio_dma_do_unmap() walks its tree, u64 wrap included: from the first
 * mapping ending after iova, each one starting before iova + size; v1 stops
 * at one starting before iova.  Returns the bytes.
 */
static __u64 model_unmap(struct model *m, __u64 iova, __u64 size,
			 bool all, bool vaddr, bool v2)
{
	__u64 end, done = 0;
	int i;

	if (all) {
		iova = 0;
		size = ~0ULL;
	}
	end = iova + size;
	for (i = 0; i < m->n; i++)
		if (m->m[i].iova + m->m[i].size > iova)
			break;
	if (i < m->n && m->m[i].iova >= end)
		return 0;
	while (i < m->n) {
		struct mapping *mp = &m->m[i];

		if (mp->iova >= end || (!v2 && iova > mp->iova))
			break;
		done += mp->size;
		if (vaddr) {
			mp->invalid = true;
			i++;
		} else {
			model_remove(m, i);
		}
	}
	return done;
}

static void model_parse_info(struct model *m, const __u8 *buf)
{
	const struct vfio_iommu_type1_info *info = (const void *)buf;
	__u32 off = info->cap_offset;
	int guard = 0;

	m->info_size = info->argsz;
	m->pgsizes = info->iova_pgsizes;
	m->nr_ranges = 0;
	while (off && off + sizeof(struct vfio_info_cap_header) <= INFO_REC &&
	       guard++ < 16) {
		const struct vfio_info_cap_header *h = (const void *)(buf + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			const struct vfio_iommu_type1_info_cap_iova_range *r =
				(const void *)h;
			__u32 i;

			for (i = 0; i < r->nr_iovas && i < MAX_RANGES; i++) {
				if (off + sizeof(*r) + (i + 1) * 16 > INFO_REC)
					break;
				m->rstart[i] = r->iova_ranges[i].start;
				m->rend[i] = r->iova_ranges[i].end;
				m->nr_ranges = i + 1;
			}
		}
		off = h->next;
	}
}

static void probe_add(struct model *m, __u64 iova)
{
	int i;

	if (iova & (PG - 1) || iova < WIN_PAGES * PG)
		return;
	for (i = WIN_PAGES; i < m->nr_probe; i++)
		if (m->probe[i] == iova)
			return;
	if (m->nr_probe < MAX_PROBE)
		m->probe[m->nr_probe++] = iova;
}

/* The pages a probe looks at: the window and the ranges' edges */
static void model_probe_pages(struct model *m)
{
	int i;

	m->nr_probe = 0;
	for (i = 0; i < WIN_PAGES; i++)
		m->probe[m->nr_probe++] = i * PG;
	for (i = 0; i < m->nr_ranges; i++) {
		__u64 s = m->rstart[i], e = m->rend[i];

		probe_add(m, s);
		probe_add(m, s + PG);
		if (s >= PG)
			probe_add(m, s - PG);
		probe_add(m, (e & ~(PG - 1)) - PG);
		probe_add(m, e & ~(PG - 1));
		if (e + 1 > e)
			probe_add(m, e + 1);
	}
}

/* Apply the reference's result of a step */
static void model_update(struct model *m, const struct step *s,
			 const struct result *r)
{
	const struct vfio_iommu_type1_dma_map *map = (const void *)s->in;
	const struct vfio_iommu_type1_dma_unmap *un = (const void *)s->in;
	const struct vfio_iommu_type1_dirty_bitmap *dirty = (const void *)s->in;
	bool v2 = g.type != VFIO_TYPE1_IOMMU;
	__u64 done, reported;
	int i;

	switch (s->op) {
	case OP_MAP:
		if (r->ret)
			break;
		if (map->flags & VFIO_DMA_MAP_FLAG_VADDR) {
			i = model_find(m, map->iova);
			if (i >= 0) {
				m->m[i].vaddr = map->vaddr;
				m->m[i].invalid = false;
			}
		} else {
			model_insert(m, map->iova, map->size, map->vaddr);
		}
		break;
	case OP_UNMAP:
	case OP_RESET:
		if (r->ret) {
			/* An unmap with a bitmap may fail half way */
			if (un->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
				m->uncertain = true;
			break;
		}
		if (s->op == OP_RESET && m->uncertain) {
			m->n = 0;
			break;
		}
		done = model_unmap(m, un->iova, un->size,
				   un->flags & VFIO_DMA_UNMAP_FLAG_ALL,
				   un->flags & VFIO_DMA_UNMAP_FLAG_VADDR, v2);
		memcpy(&reported, r->out + 16, 8);
		if (done != reported) {
			diag("model: step %u unmapped %#llx, model says %#llx",
			     g.stepno, (unsigned long long)reported,
			     (unsigned long long)done);
			m->uncertain = true;
		}
		break;
	case OP_DIRTY:
		if (r->ret)
			break;
		if (dirty->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
			m->tracking = true;
		if (dirty->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)
			m->tracking = false;
		break;
	case OP_GET_INFO:
		if (!r->ret && m->info_size == 0)
			model_parse_info(m, r->out);
		break;
	case OP_PROBE:
		/* A probe that mapped something unmapped it again */
		break;
	default:
		break;
	}
}

/* Generation: arguments from the seed and the model */

static const struct mapping *pick_mapping(void)
{
	return g.mdl.n ? &g.mdl.m[below(g.mdl.n)] : NULL;
}

static __u64 gen_npages(void)
{
	__u64 p = below(100);

	if (p < 55)
		return 1 + below(8);
	if (p < 82)
		return 9 + below(56);
	if (p < 92)
		return 65 + below(192);
	return 1 + below(3);
}

static __u64 gen_special_iova(void)
{
	static const __u64 wild[] = {
		0xfee00000UL, 0xfedff000UL, 0xfef00000UL, 0x100000000UL,
		0x7ffffff000UL, 0x8000000000UL, 0xfffffffff000UL,
		0x1000000000000UL, 0xfffffffffffff000UL, 0xffffffffffffe000UL,
		0x8000000000000000UL,
	};
	const struct model *m = &g.mdl;

	if (m->nr_ranges && pct(60)) {
		int i = below(m->nr_ranges);
		__s64 k = (__s64)below(5) - 2;

		if (pct(50))
			return m->rstart[i] + k * (__s64)PG;
		return (m->rend[i] & ~(PG - 1)) + k * (__s64)PG;
	}
	if (pct(10))
		return rnd() & ~(PG - 1);
	return wild[below(ARRAY_SIZE(wild))];
}

static __u64 gen_iova(void)
{
	const struct mapping *mp = pick_mapping();
	__u64 p = below(100);

	if (p < 33)
		return below(WIN_PAGES) * PG;
	if (p < 50)
		return HOT_BASE + below(HOT_PAGES) * PG;
	if (mp && p < 62)
		return mp->iova;
	if (mp && p < 72)
		return mp->iova + mp->size;
	if (mp && p < 78)
		return mp->iova + below(mp->size / PG) * PG;
	if (p < 90)
		return gen_special_iova();
	if (p < 95)
		return below(WIN_PAGES) * PG + 1 + below(PG - 1);
	return HOT_BASE + below(HOT_PAGES) * PG;
}

static __u64 gen_size(__u64 iova, __u64 npages)
{
	__u64 p = below(100);

	if (p < 3)
		return 0;
	if (p < 6)
		return npages * PG + 1 + below(PG - 1);
	if (p < 8)
		return -iova;			/* ends at the top of the space */
	if (p < 10)
		return -iova + PG;		/* wraps by a page */
	if (p < 11)
		return 0x10000000000UL;
	if (p < 12)
		return ~0ULL & ~(PG - 1);
	return npages * PG;
}

static __u64 gen_vaddr(__u64 npages)
{
	static const __u64 wild[] = {
		0, PG, KERNEL_VA, 0xfffffffffffff000UL, VA_END,
		0x7ffffffff000UL,
	};
	static const int pick[] = {
		R_RW, R_RW, R_RW, R_RW, R_RW, R_RW, R_RW, R_RW, R_RW, R_RW,
		R_RW, R_THP, R_THP, R_SHM, R_SHM, R_LAZY, R_RO, R_NONE,
		R_HOLE, R_HOLE,
	};
	const struct mapping *mp = pick_mapping();
	__u64 pages, off, va;
	int r;

	if (mp && pct(6))
		return mp->vaddr;		/* the same memory twice */
	if (pct(2))
		return wild[below(ARRAY_SIZE(wild))];
	r = pick[below(ARRAY_SIZE(pick))];
	pages = regions[r].pages;
	if (pct(8))			/* runs past the region's end */
		off = pages - 1 - below(npages < pages ? npages : pages);
	else
		off = npages < pages ? below(pages - npages + 1) : 0;
	va = region_va(r) + off * PG;
	if (pct(3))
		va += 1 + below(PG - 1);
	return va;
}

static __u32 gen_argsz(__u32 size, __u32 minsz)
{
	__u64 p = below(100);

	if (p < 92)
		return size;
	if (p < 94)
		return minsz - 1;
	if (p < 95)
		return 0;
	if (p < 96)
		return minsz - 1 - below(minsz - 1);
	if (p < 98)
		return size + 8 * below(4);
	return ~0u;
}

#define DESC(s, ...) \
	snprintf((s)->desc, sizeof((s)->desc), __VA_ARGS__)

static void gen_map(struct step *s)
{
	struct vfio_iommu_type1_dma_map *map = (void *)s->in;
	const struct mapping *mp = NULL;
	__u64 npages = gen_npages(), p = below(100);
	char va[48];
	int i;

	s->op = OP_MAP;
	s->cmd = VFIO_IOMMU_MAP_DMA;
	s->in_len = sizeof(*map);
	s->out_len = ARG_REC;
	map->argsz = gen_argsz(sizeof(*map), sizeof(*map));
	map->iova = gen_iova();
	map->size = gen_size(map->iova, npages);
	map->vaddr = gen_vaddr(npages);
	if (p < 76)
		map->flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	else if (p < 83)
		map->flags = VFIO_DMA_MAP_FLAG_READ;
	else if (p < 89)
		map->flags = VFIO_DMA_MAP_FLAG_WRITE;
	else if (p < 91)
		map->flags = 0;
	else if (p < 92)
		map->flags = VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ;
	else if (p < 95)
		map->flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			     (8u << below(29));
	else
		map->flags = VFIO_DMA_MAP_FLAG_VADDR;
	/* A new vaddr for an invalidated mapping, usually exactly */
	if (map->flags == VFIO_DMA_MAP_FLAG_VADDR) {
		for (i = 0; i < g.mdl.n; i++)
			if (g.mdl.m[i].invalid) {
				mp = &g.mdl.m[i];
				break;
			}
		if (!mp)
			mp = pick_mapping();
		if (mp && pct(80)) {
			map->iova = mp->iova;
			map->size = pct(90) ? mp->size : mp->size + PG;
			map->vaddr = pct(70) ? mp->vaddr :
				gen_vaddr(mp->size / PG);
		}
	}
	va_name(va, sizeof(va), map->vaddr);
	DESC(s, "MAP_DMA argsz=%u flags=%#x vaddr=%s iova=%#llx size=%#llx",
	     map->argsz, map->flags, va, (unsigned long long)map->iova,
	     (unsigned long long)map->size);
}

/* A bitmap for [iova, iova + size) as type1 wants it, or a bad one */
static void gen_bitmap(struct vfio_bitmap *b, __u64 size, struct step *s)
{
	__u64 npages = size / PG, bytes = (npages + 63) / 64 * 8;
	__u64 p = below(100);

	s->bmp = true;
	s->bmp_seed = rnd();
	b->pgsize = PG;
	if (p < 4)
		b->pgsize = 0;
	else if (p < 7)
		b->pgsize = 2 * PG;
	else if (p < 9)
		b->pgsize = 0x200000;
	else if (p < 10)
		b->pgsize = PG / 2;
	p = below(100);
	b->size = bytes;
	if (p < 5)
		b->size = bytes - 1;
	else if (p < 9)
		b->size = 0;
	else if (p < 14)
		b->size = bytes + 8 * below(4);
	else if (p < 16)
		b->size = 0x10000008UL;	/* past DIRTY_BITMAP_SIZE_MAX */
	p = below(100);
	b->data = (__u64 *)BMP;
	if (p < 6)
		b->data = (__u64 *)(BMP + 8 * below(8));
	else if (p < 8)
		b->data = (__u64 *)(BMP + 1 + below(7));
	else if (p < 10)
		b->data = NULL;
	else if (p < 11)
		b->data = (__u64 *)KERNEL_VA;
	else if (p < 12)
		b->data = (__u64 *)region_va(R_NONE);
	else if (p < 14)
		b->data = (__u64 *)(BMP + 2 * PG - 8);
}

static void bitmap_desc(char *buf, size_t len, const struct vfio_bitmap *b)
{
	char data[48];

	va_name(data, sizeof(data), (__u64)(uintptr_t)b->data);
	snprintf(buf, len, "bitmap={pgsize=%#llx size=%#llx data=%s}",
		 (unsigned long long)b->pgsize, (unsigned long long)b->size,
		 data);
}

/* A range for UNMAP_DMA or a bitmap read, from the model */
static void gen_range(__u64 *iova, __u64 *size)
{
	const struct model *m = &g.mdl;
	const struct mapping *a = pick_mapping(), *b;
	__u64 p = below(100);

	if (!a || p >= 85) {
		*iova = gen_iova();
		*size = gen_size(*iova, gen_npages());
		if (pct(10)) {
			*iova = 0;
			*size = WIN_PAGES * PG;
		}
		return;
	}
	b = &m->m[(a - m->m) + below(m->n - (a - m->m))];
	if (p < 35) {
		*iova = a->iova;
		*size = a->size;
	} else if (p < 50) {
		*iova = a->iova;
		*size = b->iova + b->size - a->iova;
	} else if (p < 58 && a->size > PG) {
		*iova = a->iova;
		*size = (1 + below(a->size / PG - 1)) * PG;
	} else if (p < 66 && a->size > PG) {
		*iova = a->iova + (1 + below(a->size / PG - 1)) * PG;
		*size = b->iova + b->size - *iova;
	} else if (p < 72) {
		*iova = a->iova + below(a->size / PG) * PG;
		*size = b->iova + below(b->size / PG + 1) * PG +
			PG - *iova;
	} else if (p < 78 && a->iova >= 4 * PG) {
		*iova = a->iova - (1 + below(4)) * PG;
		*size = a->iova + a->size - *iova + below(3) * PG;
	} else {
		*iova = a->iova;
		*size = a->size;
		if (pct(50))
			*iova += 1 + below(PG - 1);
		else
			*size += 1 + below(PG - 1);
	}
}

static void gen_unmap(struct step *s, bool dirty_kind)
{
	struct vfio_iommu_type1_dma_unmap *un = (void *)s->in;
	struct vfio_bitmap *b = (void *)(s->in + sizeof(*un));
	__u32 minsz = sizeof(*un);
	__u64 p = below(100);

	s->op = OP_UNMAP;
	s->cmd = VFIO_IOMMU_UNMAP_DMA;
	s->in_len = sizeof(*un);
	s->out_len = ARG_REC;
	gen_range(&un->iova, &un->size);
	if (p < 78) {
		un->flags = 0;
	} else if (p < 84) {
		un->flags = VFIO_DMA_UNMAP_FLAG_ALL;
		if (pct(80)) {
			un->iova = 0;
			un->size = 0;
		}
	} else if (p < 90) {
		un->flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	} else if (p < 92) {
		un->flags = VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL;
		if (pct(80)) {
			un->iova = 0;
			un->size = 0;
		}
	} else if (p < 95) {
		un->flags = 8u << below(29);
	} else {
		un->flags = 0;
	}
	if (dirty_kind && pct(40)) {
		s->dirty = true;
		un->flags |= VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
		if (pct(85))
			un->flags &= ~(VFIO_DMA_UNMAP_FLAG_ALL |
				       VFIO_DMA_UNMAP_FLAG_VADDR);
		gen_bitmap(b, un->size, s);
		s->in_len += sizeof(*b);
		minsz += sizeof(*b);
	}
	un->argsz = gen_argsz(s->in_len, minsz);
	if (s->dirty) {
		char bm[128];

		bitmap_desc(bm, sizeof(bm), b);
		DESC(s, "UNMAP_DMA argsz=%u flags=%#x iova=%#llx size=%#llx %s",
		     un->argsz, un->flags, (unsigned long long)un->iova,
		     (unsigned long long)un->size, bm);
	} else {
		DESC(s, "UNMAP_DMA argsz=%u flags=%#x iova=%#llx size=%#llx",
		     un->argsz, un->flags, (unsigned long long)un->iova,
		     (unsigned long long)un->size);
	}
}

static void gen_reset(struct step *s)
{
	struct vfio_iommu_type1_dma_unmap *un = (void *)s->in;

	s->op = OP_RESET;
	s->cmd = VFIO_IOMMU_UNMAP_DMA;
	s->in_len = sizeof(*un);
	s->out_len = ARG_REC;
	un->argsz = sizeof(*un);
	un->flags = VFIO_DMA_UNMAP_FLAG_ALL;
	DESC(s, "UNMAP_DMA argsz=24 flags=ALL iova=0 size=0 (episode end)");
}

static void gen_get_info(struct step *s, bool full)
{
	struct vfio_iommu_type1_info *info = (void *)s->in;
	__u32 need = g.mdl.info_size ? g.mdl.info_size : 256;
	static const __u32 sizes[] = { 0, 1, 4, 8, 15, 16, 17, 20, 23, 24, 25,
				       32, 64, 256, 511 };
	__u64 p = below(100);

	s->op = OP_GET_INFO;
	s->cmd = VFIO_IOMMU_GET_INFO;
	s->in_len = sizeof(*info);
	s->out_len = INFO_REC;
	if (full)
		info->argsz = INFO_REC;
	else if (p < 30)
		info->argsz = need;
	else if (p < 40)
		info->argsz = need - 1 - below(8);
	else if (p < 50)
		info->argsz = need + 1 + below(64);
	else if (p < 60)
		info->argsz = ~0u;
	else
		info->argsz = sizes[below(ARRAY_SIZE(sizes))];
	/* What the caller leaves in the output fields */
	info->flags = pct(50) ? 0 : rnd();
	info->iova_pgsizes = pct(50) ? 0 : rnd();
	info->cap_offset = pct(50) ? 0 : rnd();
	/* The kernel writes at most INFO_REC bytes: keep argsz honest */
	if (info->argsz > INFO_REC && info->argsz != ~0u && need > INFO_REC)
		info->argsz = INFO_REC;
	DESC(s, "GET_INFO argsz=%u", info->argsz);
}

static void gen_check_ext(struct step *s)
{
	static const unsigned long odd[] = {
		0x100, 0xffffffffUL, 0x100000001UL, 0x100000003UL, ~0UL,
		0x8000000000000001UL,
	};

	s->op = OP_CHECK_EXT;
	s->cmd = VFIO_CHECK_EXTENSION;
	s->ularg = pct(85) ? below(13) : odd[below(ARRAY_SIZE(odd))];
	DESC(s, "CHECK_EXTENSION %#lx", s->ularg);
}

static void gen_ioctl(struct step *s, bool dirty_kind)
{
	static const unsigned int nr[] = {
		0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 18, 19, 20, 21, 22, 30,
		63, 255,
	};
	__u64 i;

	s->op = OP_IOCTL;
	s->in_len = 64;
	s->out_len = ARG_REC;
	for (i = 0; i < 64; i++)
		s->in[i] = rnd();
	*(__u32 *)s->in = 64;
	s->cmd = _IO(VFIO_TYPE, VFIO_BASE + nr[below(ARRAY_SIZE(nr))]);
	if (pct(15))
		s->cmd = _IOWR(VFIO_TYPE, VFIO_BASE + 13,
			       struct vfio_iommu_type1_dma_map);
	else if (pct(5))
		s->cmd = _IO('x', below(256));
	DESC(s, "ioctl %#lx", s->cmd);
}

static void gen_dirty(struct step *s)
{
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)s->in;
	struct vfio_iommu_type1_dirty_bitmap_get *get = (void *)d->data;
	__u32 minsz = sizeof(*d);
	__u64 p = below(100);
	char bm[128];

	s->op = OP_DIRTY;
	s->dirty = true;
	s->cmd = VFIO_IOMMU_DIRTY_PAGES;
	s->in_len = sizeof(*d) + sizeof(*get);
	s->out_len = ARG_REC;
	if (p < 8)
		d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	else if (p < 12)
		d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	else if (p < 92)
		d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	else if (p < 94)
		d->flags = 0;
	else if (p < 96)
		d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			   VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	else
		d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP |
			   (8u << below(29));
	if (d->flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
		gen_range(&get->iova, &get->size);
		gen_bitmap(&get->bitmap, get->size, s);
		minsz += sizeof(*get);
	} else {
		s->in_len = sizeof(*d);
	}
	d->argsz = gen_argsz(s->in_len, minsz);
	if (d->flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP && pct(3))
		d->argsz = sizeof(*d) + 8 * below(4);
	bitmap_desc(bm, sizeof(bm), &get->bitmap);
	if (s->in_len > sizeof(*d))
		DESC(s, "DIRTY_PAGES argsz=%u flags=%#x iova=%#llx size=%#llx %s",
		     d->argsz, d->flags, (unsigned long long)get->iova,
		     (unsigned long long)get->size, bm);
	else
		DESC(s, "DIRTY_PAGES argsz=%u flags=%#x", d->argsz, d->flags);
}

static void gen_dirty_start(struct step *s)
{
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)s->in;

	s->op = OP_DIRTY;
	s->dirty = true;
	s->cmd = VFIO_IOMMU_DIRTY_PAGES;
	s->in_len = sizeof(*d);
	s->out_len = ARG_REC;
	d->argsz = sizeof(*d);
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	DESC(s, "DIRTY_PAGES argsz=8 flags=START (episode start)");
}

static void gen_probe(struct step *s)
{
	s->op = OP_PROBE;
	DESC(s, "probe of the mapped IOVAs");
}

static void gen_step(struct step *s, enum kind kind)
{
	__u64 p = below(100);

	memset(s, 0, sizeof(*s));
	if (kind == K_DIRTY) {
		if (p < 36)
			gen_map(s);
		else if (p < 56)
			gen_unmap(s, true);
		else if (p < 90)
			gen_dirty(s);
		else if (p < 95)
			gen_get_info(s, false);
		else if (p < 97)
			gen_check_ext(s);
		else
			gen_ioctl(s, true);
		return;
	}
	if (p < 42)
		gen_map(s);
	else if (p < 74)
		gen_unmap(s, false);
	else if (p < 84)
		gen_get_info(s, false);
	else if (p < 93)
		gen_check_ext(s);
	else if (p < 97)
		gen_ioctl(s, false);
	else
		gen_probe(s);
}

/* Execution */

static void fill_bmp(__u8 *buf, __u64 seed)
{
	__u64 save = g.rng, i;

	g.rng = seed;
	for (i = 0; i < 2 * PG; i += 8)
		*(__u64 *)(buf + i) = pct(50) ? rnd() : (pct(50) ? 0 : ~0ULL);
	g.rng = save;
}

/* Which of the probe pages are mapped: MAP_DMA of a PROT_NONE page */
static void do_probe(struct result *r)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = region_va(R_NONE),
		.size = PG,
	};
	struct vfio_iommu_type1_dma_unmap un = {
		.argsz = sizeof(un),
		.size = PG,
	};
	int i;

	for (i = 0; i < g.mdl.nr_probe && i < OUT_MAX; i++) {
		char c;

		map.iova = g.mdl.probe[i];
		if (!ioctl(g.edu.container, VFIO_IOMMU_MAP_DMA, &map)) {
			c = 'M';
			un.iova = map.iova;
			ioctl(g.edu.container, VFIO_IOMMU_UNMAP_DMA, &un);
		} else if (errno == EEXIST) {
			c = 'x';
		} else if (errno == EFAULT) {
			c = '.';
		} else if (errno == EINVAL) {
			c = 'I';
		} else if (errno == ENOSPC) {
			c = 'N';
		} else {
			c = '?';
		}
		r->out[i] = c;
	}
	r->out_len = i;
	r->ret = 0;
	r->err = 0;
}

static void exec_step(const struct step *s, struct result *r)
{
	long ret;

	memset(r, 0, sizeof(*r));
	memset(ARG, 0xa5, INFO_REC);
	memcpy(ARG, s->in, s->in_len);
	if (s->bmp)
		fill_bmp(BMP, s->bmp_seed);
	if (s->op == OP_PROBE) {
		do_probe(r);
	} else {
		if (s->op == OP_CHECK_EXT)
			ret = ioctl(g.edu.container, s->cmd, s->ularg);
		else
			ret = ioctl(g.edu.container, s->cmd, ARG);
		r->ret = ret;
		r->err = ret < 0 ? errno : 0;
		r->out_len = s->out_len;
		memcpy(r->out, ARG, s->out_len);
		if (s->bmp) {
			memcpy(r->out + r->out_len, BMP, BMP_REC);
			memcpy(r->out + r->out_len + BMP_REC,
			       BMP + 2 * PG - BMP_TAIL, BMP_TAIL);
			r->out_len += BMP_REC + BMP_TAIL;
		}
	}
	r->vmlck = proc_vmlck_kb();
}

static __u32 step_hash(const struct step *s)
{
	__u32 h = 2166136261u;

	h = hash(&s->op, sizeof(s->op), h);
	h = hash(&s->cmd, sizeof(s->cmd), h);
	h = hash(&s->ularg, sizeof(s->ularg), h);
	h = hash(s->in, s->in_len, h);
	return hash(&s->bmp_seed, sizeof(s->bmp_seed), h);
}

/* The allowlist: differences that are deliberate, each with its reason */

static bool model_mapped(const struct model *m, __u64 iova)
{
	return model_find(m, iova) >= 0;
}

/*
 * type1 shifts a mapping's bitmap in place when a read does not start on a
 * 64-page boundary of it and never clears the bits shifted past its end;
 * a later read of the mapping copies them out into the rest of its last
 * u64 word (bits of the user's buffer ORed in by an earlier read too).
 * The only bits this excuses: set by type1, clear here, after a mapping
 * read, in that mapping's last word, of a page that is not mapped or not
 * in the range read.
 */
static bool allow_type1_stale_bits(const struct diff_ctx *d)
{
	const struct vfio_iommu_type1_dirty_bitmap *dirty = (void *)d->s->in;
	const struct vfio_iommu_type1_dirty_bitmap_get *get =
		(void *)dirty->data;
	const struct vfio_iommu_type1_dma_unmap *un = (void *)d->s->in;
	const struct vfio_bitmap *b = (void *)(d->s->in + sizeof(*un));
	__u64 base, data, nbits, bit, off;
	const __u8 *ref, *ours;
	int i;

	if (!d->s->bmp || d->ref->ret != d->ours->ret ||
	    d->ref->err != d->ours->err || d->ref->out_len != d->ours->out_len ||
	    memcmp(d->ref->out, d->ours->out, d->s->out_len))
		return false;
	if (d->s->op == OP_DIRTY) {
		base = get->iova;
		data = (__u64)(uintptr_t)get->bitmap.data;
		nbits = get->size / PG;
	} else {
		base = un->iova;
		data = (__u64)(uintptr_t)b->data;
		nbits = un->size / PG;
	}
	if (data < (__u64)(uintptr_t)BMP ||
	    data >= (__u64)(uintptr_t)BMP + 2 * PG)
		return false;
	off = (data - (__u64)(uintptr_t)BMP) * 8;
	ref = d->ref->out + d->s->out_len;
	ours = d->ours->out + d->s->out_len;
	for (i = 0; i < (BMP_REC + BMP_TAIL) * 8; i++) {
		bool r = ref[i / 8] & (1 << (i % 8));
		bool o = ours[i / 8] & (1 << (i % 8));
		/* The bit's place in the buffer: its head, then its tail */
		__u64 pos = i < BMP_REC * 8 ? i :
			    i + (2 * PG - BMP_REC - BMP_TAIL) * 8;
		const struct mapping *mp;
		__u64 iova;
		int j;

		if (r == o)
			continue;
		if (!r || pos < off)
			return false;
		bit = pos - off;
		iova = base + bit * PG;
		/* Of an unmapped page, or past the range read */
		if (bit < nbits && model_mapped(d->mdl, iova))
			return false;
		/* After the last page of a mapping read, in its word */
		for (j = 0; j < d->mdl->n; j++) {
			__u64 last;

			mp = &d->mdl->m[j];
			if (mp->iova < base || mp->iova - base >= nbits * PG ||
			    mp->iova + mp->size > iova)
				continue;
			last = (mp->iova + mp->size - PG - base) / PG;
			if (last / 64 == bit / 64)
				break;
		}
		if (j == d->mdl->n)
			return false;
	}
	return true;
}

static const struct allow allowlist[] = {
	{
		"type1_stale_bitmap_bits",
		"type1 leaks stale bits of a mapping's earlier, shifted bitmap reads into the pages after it; this module reports them clean (deliberate: Documentation/vfio-compat.rst, \"Where this differs\")",
		allow_type1_stale_bits,
	},
};

/* Comparison */

static void add_sig(const char *text)
{
	int i;

	for (i = 0; i < g.nr_sigs; i++)
		if (!strcmp(g.sigs[i].text, text)) {
			g.sigs[i].count++;
			return;
		}
	if (g.nr_sigs == MAX_SIGS)
		return;
	snprintf(g.sigs[g.nr_sigs].text, sizeof(g.sigs[0].text), "%s", text);
	g.sigs[g.nr_sigs].count = 1;
	g.sigs[g.nr_sigs].first = g.stepno;
	g.nr_sigs++;
}

static void print_bytes(const char *who, const __u8 *p, int from, int to)
{
	char buf[3 * 40 + 1];
	int i, n = 0;

	for (i = from; i < to && i < from + 40; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%02x", p[i]);
	diag("      %-8s out[%d..%d): %s%s", who, from, to, buf,
	     to > from + 40 ? "..." : "");
}

static void print_model(const struct model *m)
{
	char va[48];
	int i;

	diag("    state before it: %d mapping(s)%s%s", m->n,
	     m->tracking ? ", dirty tracking on" : "",
	     m->n ? ":" : "");
	for (i = 0; i < m->n && i < 24; i++) {
		va_name(va, sizeof(va), m->m[i].vaddr);
		diag("      iova=%#llx size=%#llx vaddr=%s%s",
		     (unsigned long long)m->m[i].iova,
		     (unsigned long long)m->m[i].size, va,
		     m->m[i].invalid ? " (vaddr invalidated)" : "");
	}
	if (m->n > 24)
		diag("      ... %d more", m->n - 24);
}

static void add_sig_prefixed(const char *prefix, const struct step *s,
			     const struct result *ref,
			     const struct result *ours, bool out_differs,
			     bool lck_differs)
{
	char text[200];

	snprintf(text, sizeof(text),
		 "%s%s%s: type1 %lld/%s, iommufd %lld/%s%s%s", prefix,
		 op_names[s->op], s->dirty ? " (dirty)" : "",
		 (long long)ref->ret,
		 ref->err ? strerrorname_np(ref->err) : "ok",
		 (long long)ours->ret,
		 ours->err ? strerrorname_np(ours->err) : "ok",
		 out_differs ? ", output bytes differ" : "",
		 lck_differs ? ", VmLck differs" : "");
	add_sig(text);
}

static void report_diff(const struct step *s, const struct model *before,
			const struct result *ref, const struct result *ours,
			bool out_differs, bool lck_differs)
{
	int i, from;

	add_sig_prefixed("", s, ref, ours, out_differs, lck_differs);
	if (g.details++ >= MAX_DETAILS)
		return;
	diag("  DIFF step %u: %s", g.stepno, s->desc);
	diag("    type1: ret=%lld errno=%d (%s) VmLck=%lld kB",
	     (long long)ref->ret, ref->err, strerror(ref->err),
	     (long long)ref->vmlck);
	diag("    iommufd: ret=%lld errno=%d (%s) VmLck=%lld kB",
	     (long long)ours->ret, ours->err, strerror(ours->err),
	     (long long)ours->vmlck);
	if (out_differs) {
		for (i = 0; i < (int)ref->out_len; i++) {
			if (ref->out[i] == ours->out[i])
				continue;
			from = i;
			while (i < (int)ref->out_len && ref->out[i] != ours->out[i])
				i++;
			diag("    output differs at bytes [%d, %d)%s", from, i,
			     s->bmp && from >= (int)s->out_len ?
			     " (the bitmap buffer)" : "");
			if (s->bmp && from >= (int)s->out_len &&
			    i <= (int)s->out_len + BMP_REC) {
				static __u8 fill[OUT_MAX + 2 * PG];

				fill_bmp(fill + s->out_len, s->bmp_seed);
				print_bytes("before", fill, from, i);
			}
			print_bytes("type1", ref->out, from, i);
			print_bytes("iommufd", ours->out, from, i);
		}
	}
	print_model(before);
}

static void compare_step(const struct step *s, const struct model *before,
			 const struct result *ref, const struct result *ours)
{
	bool ret_differs = ref->ret != ours->ret || ref->err != ours->err;
	bool out_differs = ref->out_len != ours->out_len ||
			   memcmp(ref->out, ours->out, ref->out_len);
	bool lck_differs = ref->vmlck != ours->vmlck;
	struct diff_ctx d = { s, before, ref, ours };
	unsigned int i;

	if (!ret_differs && !out_differs && !lck_differs)
		return;
	for (i = 0; i < ARRAY_SIZE(allowlist) && !g.no_allow; i++) {
		if (!lck_differs && allowlist[i].match(&d)) {
			char text[200];

			snprintf(text, sizeof(text), "allowed: %s",
				 allowlist[i].name);
			add_sig(text);
			g.allowed++;
			return;
		}
	}
	if (g.diverged) {
		/* Most likely a consequence of the first: not detailed */
		g.followers++;
		add_sig_prefixed("  after it: ", s, ref, ours, out_differs,
				 lck_differs);
		return;
	}
	g.diffs++;
	report_diff(s, before, ref, ours, out_differs, lck_differs);
	/* A difference that may leave the containers apart */
	if (lck_differs ||
	    (ret_differs && (s->op == OP_MAP || s->op == OP_UNMAP ||
			     s->op == OP_RESET || s->op == OP_DIRTY)) ||
	    ((s->op == OP_UNMAP || s->op == OP_RESET) &&
	     memcmp(ref->out + 16, ours->out + 16, 8)))
		g.diverged = true;
}

/* Trace I/O */

static int trace_write(const struct step *s, const struct result *r)
{
	struct rec_hdr h = {
		.magic = TRACE_MAGIC, .step = g.stepno, .op = s->op,
		.in_hash = step_hash(s), .ret = r->ret, .err = r->err,
		.out_len = r->out_len, .vmlck = r->vmlck,
	};

	if (fwrite(&h, sizeof(h), 1, g.trace) != 1 ||
	    fwrite(r->out, 1, r->out_len, g.trace) != r->out_len)
		return -1;
	return 0;
}

static int trace_read(const struct step *s, struct result *r)
{
	struct rec_hdr h;

	memset(r, 0, sizeof(*r));
	if (fread(&h, sizeof(h), 1, g.trace) != 1 ||
	    h.magic != TRACE_MAGIC || h.out_len > OUT_MAX ||
	    fread(r->out, 1, h.out_len, g.trace) != h.out_len) {
		diag("  trace: no record for step %u", g.stepno);
		return -1;
	}
	if (h.step != g.stepno || h.op != s->op ||
	    h.in_hash != step_hash(s)) {
		diag("  trace: step %u is not the recorded one (%u, op %u)",
		     g.stepno, h.step, h.op);
		return -1;
	}
	r->ret = h.ret;
	r->err = h.err;
	r->out_len = h.out_len;
	r->vmlck = h.vmlck;
	return 0;
}

/*
 * One step: run it, record or compare, and move the model by the
 * reference's result.  Returns -1 when the test cannot go on.
 */
static int do_step(const struct step *s)
{
	static struct result live, ref;
	static struct model before;

	exec_step(s, &live);
	g.total_steps++;
	g.stats[s->op][live.err < MAX_ERRNO ? live.err : 0]++;
	if (g.verbose)
		diag("  %u: %s -> %lld %s", g.stepno, s->desc,
		     (long long)live.ret, live.err ? strerror(live.err) : "");
	if (g.record) {
		if (trace_write(s, &live))
			return -1;
		model_update(&g.mdl, s, &live);
	} else {
		if (trace_read(s, &ref)) {
			g.harness_errors++;
			return -1;
		}
		before = g.mdl;
		compare_step(s, &before, &ref, &live);
		if (s->op == OP_RESET)
			g.diverged = false;
		model_update(&g.mdl, s, &ref);
	}
	g.stepno++;
	return 0;
}

/* Containers */

static const char *const limit_params[] = {
	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
	"/sys/module/iommufd/parameters/dma_entry_limit",
};

static void set_limits(long *vals, long *old)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(limit_params); i++) {
		FILE *f;

		if (old) {
			old[i] = -1;
			f = fopen(limit_params[i], "r");
			if (!f)
				continue;
			if (fscanf(f, "%ld", &old[i]) != 1)
				old[i] = -1;
			fclose(f);
		}
		if (vals[i] < 0)
			continue;
		f = fopen(limit_params[i], "w");
		if (!f)
			continue;
		fprintf(f, "%ld\n", vals[i]);
		fclose(f);
	}
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/iommufd/refcnt", "r");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

static void close_container(void)
{
	if (g.open)
		edu_close(&g.edu);
	memset(&g.edu, 0, sizeof(g.edu));
	g.open = false;
}

/* OPEN as a step: its outcome is edu_open()'s errno */
static int open_container(long limit)
{
	static struct result live, ref;
	long vals[ARRAY_SIZE(limit_params)], old[ARRAY_SIZE(limit_params)];
	long before = module_refcnt();
	struct step s = { .op = OP_OPEN };
	unsigned int i;
	int rc;

	DESC(&s, "open the container (type %lu, dma_entry_limit %ld) and the edu group",
	     g.type, limit);
	s.ularg = g.type | (limit << 8);
	for (i = 0; i < ARRAY_SIZE(vals); i++)
		vals[i] = limit;
	set_limits(vals, old);
	memset(&g.edu, 0, sizeof(g.edu));
	rc = edu_open(&g.edu, g.type);
	set_limits(old, NULL);
	g.open = true;
	memset(&live, 0, sizeof(live));
	live.err = rc;
	live.ret = rc ? -1 : 0;
	live.vmlck = proc_vmlck_kb();
	if (g.record) {
		if (trace_write(&s, &live))
			return -1;
		g.stepno++;
		g.ref_refused = rc;
		return rc ? -1 : 0;
	}
	if (trace_read(&s, &ref)) {
		g.harness_errors++;
		return -1;
	}
	g.stepno++;
	if (ref.err != rc) {
		diag("  DIFF step %u: %s: type1 %s, iommufd %s", g.stepno - 1,
		     s.desc, ref.err ? strerror(ref.err) : "ok",
		     rc ? strerror(rc) : "ok");
		g.stepno--;
		add_sig(ref.err ? "OPEN: type1 refuses, iommufd accepts" :
			"OPEN: type1 accepts, iommufd refuses");
		g.stepno++;
		g.diffs++;
		return -1;
	}
	if (rc) {
		g.ref_refused = rc;
		return -1;
	}
	if (before >= 0 && module_refcnt() <= before) {
		diag("  the container is not served by iommufd (its refcnt stayed %ld)",
		     before);
		g.not_served = true;
	}
	return 0;
}

/* One test: phases of a fresh container each, episodes of steps */
static void run_phase(const struct test *t, long limit, int steps)
{
	struct step s;
	int left = 0;

	memset(&g.mdl, 0, sizeof(g.mdl));
	g.diverged = false;
	if (open_container(limit))
		goto out;
	memset(&s, 0, sizeof(s));
	gen_get_info(&s, true);
	if (do_step(&s))
		goto out;
	model_probe_pages(&g.mdl);
	while (steps-- > 0) {
		if (left-- <= 0 || g.mdl.uncertain) {
			memset(&s, 0, sizeof(s));
			if (!g.mdl.uncertain) {
				gen_probe(&s);
				if (do_step(&s))
					goto out;
			}
			gen_reset(&s);
			if (do_step(&s))
				goto out;
			g.mdl.uncertain = false;
			left = 16 + below(80);
			if (t->kind == K_DIRTY && !g.mdl.tracking && pct(85)) {
				memset(&s, 0, sizeof(s));
				gen_dirty_start(&s);
				if (do_step(&s))
					goto out;
			}
			continue;
		}
		gen_step(&s, t->kind);
		if (do_step(&s))
			goto out;
	}
	memset(&s, 0, sizeof(s));
	gen_probe(&s);
	do_step(&s);
out:
	close_container();
}

static int plain_steps = 3000, dirty_steps = 1500;

static void run_test(const struct test *t)
{
	long limits[] = { 0, 1, 2, 3, 5, 8 };

	g.type = t->type;
	g.rng = t->seed * 0x100000001b3ULL + t->type * 131 + t->kind;
	rnd();
	if (t->kind == K_PLAIN) {
		run_phase(t, -1, plain_steps * 3 / 4);
		if (!g.harness_errors)
			run_phase(t, limits[t->seed % ARRAY_SIZE(limits)],
				  plain_steps / 4);
	} else {
		run_phase(t, -1, t->type == VFIO_TYPE1_IOMMU ?
				  dirty_steps / 4 : dirty_steps);
	}
}

/* What the reference answered, per op */
static void print_stats(void)
{
	char buf[512];
	int op, e, n, total;

	for (op = 0; op < NR_OPS; op++) {
		total = 0;
		n = 0;
		for (e = 0; e < MAX_ERRNO; e++) {
			if (!g.stats[op][e])
				continue;
			total += g.stats[op][e];
			n += snprintf(buf + n, sizeof(buf) - n, " %s %d",
				      e ? strerrorname_np(e) : "ok",
				      g.stats[op][e]);
			if (n >= (int)sizeof(buf))
				break;
		}
		if (total)
			diag("  %s %d:%s", op_names[op], total, buf);
	}
	memset(g.stats, 0, sizeof(g.stats));
}

static int run_all(struct test *tests, int nr)
{
	int i, j, failed = 0;
	char path[PATH_MAX];

	if (g.ktap) {
		printf("KTAP version 1\n1..%d\n", nr);
		fflush(stdout);
	}
	for (i = 0; i < nr; i++) {
		const struct test *t = &tests[i];
		bool fail;

		snprintf(path, sizeof(path), "%s/%s.trace", g.dir, t->name);
		g.trace = fopen(path, g.record ? "w" : "r");
		g.stepno = 0;
		g.diffs = 0;
		g.followers = 0;
		g.allowed = 0;
		g.harness_errors = 0;
		g.details = 0;
		g.nr_sigs = 0;
		g.not_served = false;
		g.ref_refused = 0;
		if (!g.trace) {
			diag("%s: %s: %s", t->name, path, strerror(errno));
			g.harness_errors++;
		} else {
			run_test(t);
			fclose(g.trace);
		}
		if (g.record) {
			diag("recorded %s: %u steps%s%s", t->name, g.stepno,
			     g.ref_refused ? ", the container is refused: " : "",
			     g.ref_refused ? strerror(g.ref_refused) : "");
			print_stats();
			if (g.harness_errors)
				failed++;
			continue;
		}
		diag("%s: seed %llu, %u steps, %d difference(s) (+%d after them), %d allowed",
		     t->name, (unsigned long long)t->seed, g.stepno, g.diffs,
		     g.followers, g.allowed);
		for (j = 0; j < g.nr_sigs; j++)
			diag("  %dx (first at step %u) %s", g.sigs[j].count,
			     g.sigs[j].first, g.sigs[j].text);
		fail = g.diffs || g.harness_errors || g.not_served;
		/* Only a nesting container may be refused by both */
		if (g.ref_refused && t->type != VFIO_TYPE1_NESTING_IOMMU) {
			diag("  vfio_iommu_type1 refuses a %s container (%s)",
			     t->type_name, strerrorname_np(g.ref_refused));
			fail = 1;
		}
		if (!g.ktap) {
			failed += fail;
			continue;
		}
		if (g.ref_refused && !fail)
			diag("  both refuse the container with %s",
			     strerrorname_np(g.ref_refused));
		printf("%sok %d %s\n", fail ? "not " : "", i + 1, t->name);
		failed += fail;
		fflush(stdout);
	}
	return failed;
}

/* NAME is an item of the comma-separated LIST */
static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || !p[len]))
			return true;
		p += len;
	}
	return false;
}

static void die_usage(void)
{
	fprintf(stderr,
		"usage: %s record|compare DIR [-s SEED,...] [-n PLAIN_STEPS]\n"
		"         [-d DIRTY_STEPS] [-t type1,type1v2,nesting] [-k plain,dirty] [-q] [-v] [-a]\n"
		"  -q: no KTAP, diagnostics only (exit status 1 on a difference)\n"
		"  -v: every step; -a: no allowlist\n",
		"vfio_diff");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned long type;
	} types[] = {
		{ "type1", VFIO_TYPE1_IOMMU },
		{ "type1v2", VFIO_TYPE1v2_IOMMU },
		{ "nesting", VFIO_TYPE1_NESTING_IOMMU },
	};
	static const char *const kinds[] = { "plain", "dirty" };
	const char *seeds = "1,2,3,4,5,6,7,8", *tlist = "type1,type1v2,nesting";
	const char *klist = "plain,dirty";
	struct test tests[256];
	int nr = 0, opt, failed;
	unsigned int k, ti;
	struct timespec t0, t1;
	char *dup, *tok, *save;

	if (argc < 3)
		die_usage();
	if (!strcmp(argv[1], "record"))
		g.record = true;
	else if (strcmp(argv[1], "compare"))
		die_usage();
	g.dir = argv[2];
	g.ktap = !g.record;
	optind = 3;
	while ((opt = getopt(argc, argv, "s:n:d:t:k:qva")) != -1) {
		switch (opt) {
		case 's':
			seeds = optarg;
			break;
		case 'n':
			plain_steps = atoi(optarg);
			break;
		case 'd':
			dirty_steps = atoi(optarg);
			break;
		case 't':
			tlist = optarg;
			break;
		case 'k':
			klist = optarg;
			break;
		case 'q':
			g.ktap = false;
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'a':
			g.no_allow = true;
			break;
		default:
			die_usage();
		}
	}
	dup = strdup(seeds);
	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			if (!in_list(klist, kinds[k]))
				continue;
			for (ti = 0; ti < ARRAY_SIZE(types); ti++) {
				struct test *t = &tests[nr];

				if (!in_list(tlist, types[ti].name))
					continue;
				/* type1 may refuse it: with one seed only */
				if (types[ti].type == VFIO_TYPE1_NESTING_IOMMU &&
				    tok != dup)
					continue;
				if (nr == ARRAY_SIZE(tests))
					break;
				t->seed = strtoull(tok, NULL, 0);
				t->type = types[ti].type;
				t->type_name = types[ti].name;
				t->kind = k;
				snprintf(t->name, sizeof(t->name),
					 "seed%llu_%s_%s",
					 (unsigned long long)t->seed,
					 t->type_name, kinds[k]);
				nr++;
			}
		}
	}
	free(dup);
	if (!nr)
		die_usage();
	if (setup_memory())
		return 1;
	if (g.record)
		mkdir(g.dir, 0755);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	failed = run_all(tests, nr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	diag("%s: %d test(s), %ld steps, seeds %s, %lds", argv[1], nr,
	     g.total_steps, seeds, (long)(t1.tv_sec - t0.tv_sec));
	if (g.ktap)
		printf("# %d failed\n", failed);
	return failed ? 1 : 0;
}
