// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the calls that reach /dev/karena, and nothing else.
 *
 * The host tests link dev_fake.c in its place: the same four calls over
 * anonymous memory, so that everything else of the library runs there
 * unchanged.  Errors come back as negative errno values.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/**
 * _ka_dev_open() - open the device for one client.
 * @path: the device node.
 *
 * Close-on-exec: a descriptor inherited by exec is useless (EPERM).
 *
 * Return: the file descriptor, or -errno.
 */
int _ka_dev_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/**
 * _ka_dev_close() - close a client's file descriptor.
 * @fd: the descriptor.
 */
void _ka_dev_close(int fd)
{
	close(fd);
}

/**
 * _ka_dev_ioctl() - one KARENA_IOC_* command.
 * @fd: the client.
 * @cmd: the command.
 * @arg: its struct.
 *
 * Return: 0, or -errno.
 */
int _ka_dev_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

/**
 * _ka_dev_map_window() - map part of a client's window at an address.
 * @fd: the client.
 * @addr: the reserved address.
 * @len: bytes.
 * @off: window offset of the first byte (0 for the whole window; a
 *	chunk's offset for a run).
 *
 * Return: 0, or -errno.
 */
int _ka_dev_map_window(int fd, void *addr, size_t len, __u64 off)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		       fd, off);

	return p == MAP_FAILED ? -errno : 0;
}
