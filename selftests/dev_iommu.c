// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/iommu as a file: who may open it, and what an ioctl the module does
 * not know gets.  Needs the module loaded (selftests/with-module).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"

TEST(unknown_ioctl_is_enotty)
{
	int fd = open("/dev/iommu", O_RDWR);

	ASSERT_LE(0, fd);
	/* The iommufd ioctl type with a number past every defined command */
	EXPECT_EQ(-1, ioctl(fd, _IO(IOMMUFD_TYPE, 0xff)));
	EXPECT_EQ(ENOTTY, errno);
	/* Another subsystem's ioctl type */
	EXPECT_EQ(-1, ioctl(fd, _IO('T', 0x01)));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST(unprivileged_user_cannot_open)
{
	struct stat st;
	pid_t pid;
	int status;

	ASSERT_EQ(0, stat("/dev/iommu", &st));
	ASSERT_EQ(0660U, st.st_mode & 07777);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (open("/dev/iommu", O_RDWR) >= 0)
			_exit(1);
		_exit(errno == EACCES ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
