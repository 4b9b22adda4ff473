// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/karena basics: open and close, unknown ioctls, and who may open.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "karena.h"

#define KARENA_DEV "/dev/karena"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open(KARENA_DEV, O_RDWR | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, KARENA_DEV " is missing: karena.ko not loaded");
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", KARENA_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	if (self->fd >= 0)
		EXPECT_EQ(0, close(self->fd));
}

TEST_F(dev, open_close_many)
{
	int i, fd;

	for (i = 0; i < 1000; i++) {
		fd = open(KARENA_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, close(fd));
	}
}

TEST_F(dev, two_opens_at_once)
{
	int fd2 = open(KARENA_DEV, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd2);
	EXPECT_NE(self->fd, fd2);
	EXPECT_EQ(0, close(fd2));
}

TEST_F(dev, unknown_nr_is_enotty)
{
	char buf[64] = { 0 };

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(KARENA_IOC_MAGIC, 0xff, buf), buf));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, wrong_magic_is_enotty)
{
	char buf[64] = { 0 };

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('x', 1, buf), buf));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, cmd_zero_is_enotty)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, 0, 0));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, tty_ioctl_is_enotty)
{
	struct winsize ws;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, TIOCGWINSZ, &ws));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dev, node_is_char_device_with_mode_param)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0U, st.st_uid);
	/* Never executable, never setuid: the module refuses such modes. */
	EXPECT_EQ(0U, st.st_mode & 07111);
}

/*
 * An unprivileged user may open the device exactly when the node's mode
 * grants "other" read and write.
 */
TEST_F(dev, unprivileged_open_follows_mode)
{
	struct stat st;
	int status, allowed;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch to an unprivileged user");
	ASSERT_EQ(0, fstat(self->fd, &st));
	allowed = (st.st_mode & 0006) == 0006;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		errno = 0;
		fd = open(KARENA_DEV, O_RDWR);
		if (fd >= 0)
			_exit(0);
		_exit(errno == EACCES ? 1 : 11);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(allowed ? 0 : 1, WEXITSTATUS(status))
		TH_LOG("mode %o, child status %d", st.st_mode & 0777,
		       WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
