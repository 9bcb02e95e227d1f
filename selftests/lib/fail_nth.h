/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test build's fault injection control (iommufd/fail_nth.c): a thread
 * writes N to /sys/kernel/debug/iommufd/fail_nth and the Nth failure point
 * it passes from then on fails, once; reading gives the points it has left
 * to pass before that one, 0 once it failed.
 */
#ifndef SELFTESTS_FAIL_NTH_H
#define SELFTESTS_FAIL_NTH_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FAIL_NTH_PATH "/sys/kernel/debug/iommufd/fail_nth"

/* The control, for the calling thread to arm itself: an fd or -1 */
static inline int fail_nth_open(void)
{
	return open(FAIL_NTH_PATH, O_RDWR | O_CLOEXEC);
}

/* Arm the calling thread: its @nth-th failure point fails; 0 disarms */
static inline int fail_nth_set(int fd, unsigned int nth)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", nth);

	return pwrite(fd, buf, len, 0) == len ? 0 : errno;
}

/* The points left before the failing one: 0 once it failed; -1: error */
static inline long fail_nth_left(int fd)
{
	char buf[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

#endif
