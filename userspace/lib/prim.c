// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: every call into the operating system but the device's,
 * and nothing else.
 *
 * The rest of the library is logic over what these and dev.c return.
 * Nothing here allocates with malloc: the interposer calls these from
 * inside malloc.  Errors come back as negative errno values (or NULL
 * with errno set for the mappings).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/**
 * _ka_prim_close() - close a descriptor of the library's own (a trace
 * file, a fork copy).
 * @fd: the descriptor.
 */
void _ka_prim_close(int fd)
{
	close(fd);
}

/**
 * _ka_prim_reserve() - reserve address space, inaccessible.
 * @hint: where, or NULL for anywhere.
 * @len: bytes.
 * @fixed: exactly at @hint, but never over an existing mapping.
 *
 * Return: the reservation, or NULL with errno set.
 */
void *_ka_prim_reserve(void *hint, size_t len, bool fixed)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p;

	if (fixed)
		flags |= MAP_FIXED_NOREPLACE;
	p = mmap(hint, len, PROT_NONE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (fixed && p != hint) {
		/* Kernels before 4.17 take the flag as a mere hint. */
		munmap(p, len);
		errno = EEXIST;
		return NULL;
	}
	return p;
}

/**
 * _ka_prim_reserve_over() - make part of the library's own range a
 * reservation again (inaccessible, no memory), whatever was mapped there.
 * @addr: start, in a range the library reserved.
 * @len: bytes.
 */
void _ka_prim_reserve_over(void *addr, size_t len)
{
	mmap(addr, len, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
}

/**
 * _ka_prim_anon() - zeroed memory for the library's own bookkeeping.
 * @len: bytes (rounded up to pages).
 *
 * Pages are only backed once touched, so large sparse tables are cheap.
 * Not with transparent huge pages, though: with THP "always" (Debian's
 * default) the first touch of a table would back 2 MiB of it, so the
 * tables are marked MADV_NOHUGEPAGE.
 *
 * Return: the memory, or NULL with errno set.
 */
void *_ka_prim_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Only a hint: a kernel without THP refuses it, which is fine. */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/**
 * _ka_prim_unmap() - unmap anything mapped above.
 * @addr: start.
 * @len: bytes.
 */
void _ka_prim_unmap(void *addr, size_t len)
{
	munmap(addr, len);
}

/**
 * _ka_prim_write() - write all of a buffer, ignoring errors.
 * @fd: where.
 * @buf: what.
 * @len: bytes.
 */
void _ka_prim_write(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

/**
 * _ka_prim_open_file() - open a file for the trace or the exit report.
 * @path: the file.
 * @write: for writing (appending), else for reading.
 * @trunc: empty it first.
 *
 * Return: the descriptor, or -errno.
 */
int _ka_prim_open_file(const char *path, bool write, bool trunc)
{
	int flags = O_CLOEXEC;
	int fd;

	if (write)
		flags |= O_WRONLY | O_CREAT | O_APPEND | (trunc ? O_TRUNC : 0);
	else
		flags |= O_RDONLY;
	fd = open(path, flags, 0644);
	return fd < 0 ? -errno : fd;
}

/**
 * _ka_prim_read_file() - read a whole (debugfs) file.
 * @path: the file.
 * @buf: gets its contents, NUL-terminated.
 * @len: room in @buf.
 *
 * Return: bytes read (a file longer than @len - 1 is cut), or -errno.
 */
long _ka_prim_read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		got += n;
	}
	buf[got] = '\0';
	close(fd);
	return got;
}

/**
 * _ka_prim_write_file() - write a string to a (debugfs) file.
 * @path: the file.
 * @buf: what to write.
 *
 * Return: 0, or -errno.
 */
int _ka_prim_write_file(const char *path, const char *buf)
{
	size_t len = strlen(buf);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

/**
 * _ka_prim_getpid() - this process.
 *
 * Return: the process id.
 */
int _ka_prim_getpid(void)
{
	return getpid();
}

/**
 * _ka_prim_yield() - let another thread run: one that holds what this
 * one waits for may have been preempted.
 */
void _ka_prim_yield(void)
{
	sched_yield();
}

/**
 * _ka_prim_exe_path() - the running program's file.
 * @buf: gets the path.
 * @len: room in @buf.
 *
 * Return: 0, or -errno.
 */
int _ka_prim_exe_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/**
 * _ka_prim_memfd() - an anonymous file for the heap a fork child keeps.
 * @len: its size (sparse).
 *
 * Return: the descriptor, or -errno.
 */
int _ka_prim_memfd(size_t len)
{
	int fd = memfd_create("karena-fork", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/**
 * _ka_prim_pwrite() - copy memory into a file.
 * @fd: the file.
 * @buf: the memory; a window page the client no longer owns makes the
 *	kernel stop there (a short count, or -EFAULT), never a signal.
 * @len: bytes.
 * @off: file offset.
 *
 * Return: bytes written, or -errno.
 */
long _ka_prim_pwrite(int fd, const void *buf, size_t len, __u64 off)
{
	ssize_t n;

	do {
		n = pwrite(fd, buf, len, off);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/**
 * _ka_prim_map_copy() - map a file privately at a fixed, free address.
 * @fd: the file.
 * @addr: where.
 * @len: bytes.
 *
 * Return: 0, or -errno.
 */
int _ka_prim_map_copy(int fd, void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	if (p != addr) {
		munmap(p, len);
		return -EEXIST;
	}
	return 0;
}

/**
 * _ka_prim_membarrier_register() - announce that this process will use
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED).
 *
 * The registration belongs to the address space: a fork child keeps it,
 * exec drops it.
 *
 * Return: 0, or -errno (no membarrier: old kernel, seccomp).
 */
int _ka_prim_membarrier_register(void)
{
	long ret = syscall(__NR_membarrier,
			   MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);

	return ret < 0 ? -errno : 0;
}

/**
 * _ka_prim_membarrier() - make every running thread of this process
 * execute a full memory barrier.
 *
 * Return: 0, or -errno.
 */
int _ka_prim_membarrier(void)
{
	long ret = syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED,
			   0, 0);

	return ret < 0 ? -errno : 0;
}

/**
 * _ka_prim_now_ms() - a coarse monotonic clock, for the caches' decay.
 *
 * CLOCK_MONOTONIC_COARSE is read from the vDSO: no system call.
 *
 * Return: milliseconds since some fixed point.
 */
__u64 _ka_prim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
