/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the /dev/iommu selftests, in threes as the kernel's
 * selftests have them: _test_x() returns 0 or the errno, test_x() asserts
 * success, test_err_x(E, ...) asserts that exact errno.
 */
#ifndef SELFTESTS_IOMMUFD_UTILS_H
#define SELFTESTS_IOMMUFD_UTILS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>

/* A field of /proc/self/status, in kB; -1 if absent */
static inline long proc_status_kb(const char *field)
{
	char line[256];
	long val = -1;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* A counter of /proc/vmstat; -1 if absent */
static inline long vmstat_field(const char *name)
{
	size_t len = strlen(name);
	char line[128];
	long val = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ' ') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* A counter of /proc/vmstat, exact: the CPUs' deltas folded first */
static inline long vmstat_exact(const char *name)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd < 0)
		return -1;
	if (write(fd, "1", 1) != 1) {
		close(fd);
		return -1;
	}
	close(fd);
	return vmstat_field(name);
}

/* Pages pinned with FOLL_PIN in the whole system, exactly */
static inline long pins_held(void)
{
	return vmstat_exact("nr_foll_pin_acquired") -
	       vmstat_field("nr_foll_pin_released");
}

static inline int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static inline int _test_ioas_alloc(int fd, __u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = ioctl_errno(fd, IOMMU_IOAS_ALLOC, &cmd);

	if (!rc)
		*id = cmd.out_ioas_id;
	return rc;
}

#define test_ioas_alloc(id) ASSERT_EQ(0, _test_ioas_alloc(self->fd, id))

static inline int _test_destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl_errno(fd, IOMMU_DESTROY, &cmd);
}

#define test_destroy(id) ASSERT_EQ(0, _test_destroy(self->fd, id))
#define test_err_destroy(e, id) EXPECT_EQ(e, _test_destroy(self->fd, id))

static inline int _test_map(int fd, __u32 ioas, void *buf, size_t length,
			    __u64 *iova, __u32 flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = length,
		.iova = *iova,
	};
	int rc = ioctl_errno(fd, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define MAP_FIXED_RW (MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)

/* Map at a fixed IOVA */
#define test_map_fixed(ioas, buf, len, iova)                                \
	({                                                                  \
		__u64 __iova = (iova);                                      \
		ASSERT_EQ(0, _test_map(self->fd, ioas, buf, len, &__iova,   \
				       MAP_FIXED_RW));                      \
	})
#define test_err_map_fixed(e, ioas, buf, len, iova)                         \
	({                                                                  \
		__u64 __iova = (iova);                                      \
		EXPECT_EQ(e, _test_map(self->fd, ioas, buf, len, &__iova,   \
				       MAP_FIXED_RW));                      \
	})

static inline int _test_unmap(int fd, __u32 ioas, __u64 iova, __u64 length,
			      __u64 *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = length,
	};
	int rc = ioctl_errno(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (!rc && unmapped)
		*unmapped = cmd.length;
	return rc;
}

#define test_unmap(ioas, iova, len)                                          \
	({                                                                   \
		__u64 __unmapped;                                            \
		ASSERT_EQ(0, _test_unmap(self->fd, ioas, iova, len,          \
					 &__unmapped));                      \
		ASSERT_EQ((__u64)(len), __unmapped);                         \
	})
#define test_err_unmap(e, ioas, iova, len)                                   \
	EXPECT_EQ(e, _test_unmap(self->fd, ioas, iova, len, NULL))

static inline int _test_option(int fd, __u32 option, __u16 op, __u32 object,
			       __u64 *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option,
		.op = op,
		.object_id = object,
		.val64 = *val,
	};
	int rc = ioctl_errno(fd, IOMMU_OPTION, &cmd);

	if (!rc)
		*val = cmd.val64;
	return rc;
}

#endif
