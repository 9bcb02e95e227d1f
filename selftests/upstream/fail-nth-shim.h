/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forced (gcc -include, after compat-shim.h) into the kernel's
 * iommufd_fail_nth kselftest.  That test arms the kernel's fault injection
 * through /proc/self/task/<tid>/fail-nth, and its set-up writes to
 * failslab's knobs in debugfs: Debian's kernels, without
 * CONFIG_FAULT_INJECTION, have neither, and the test skips.  The test
 * build of this module has its own control with the same semantics,
 * /sys/kernel/debug/iommufd/fail_nth (iommufd/fail_nth.c).  So when the
 * kernel has no fail-nth file, the test's open of it opens that control
 * instead, and when it has no failslab, the knob the set-up writes first
 * is /dev/null.  On a kernel with fault injection nothing changes: the
 * module's failure points follow the kernel's fail-nth there too, through
 * their fault attribute fail_iommufd, as do the kernel's slab
 * allocations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#define SHIM_FAIL_NTH "/sys/kernel/debug/iommufd/fail_nth"

/* /proc/self/task/<tid>/fail-nth */
static inline int shim_is_fail_nth(const char *path)
{
	size_t len = strlen(path);

	return !strncmp(path, "/proc/self/task/", 16) && len > 25 &&
	       !strcmp(path + len - 9, "/fail-nth");
}

static inline int shim_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = open(path, flags, mode);
	if (fd < 0 && errno == ENOENT && shim_is_fail_nth(path))
		fd = open(SHIM_FAIL_NTH, flags);
	return fd;
}

static inline int shim_openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = openat(dfd, path, flags, mode);
	if (fd < 0 && errno == ENOENT &&
	    !strcmp(path, "failslab/ignore-gfp-wait") &&
	    !access(SHIM_FAIL_NTH, F_OK))
		fd = open("/dev/null", flags);
	return fd;
}

#define open(...) shim_open(__VA_ARGS__)
#define openat(...) shim_openat(__VA_ARGS__)
