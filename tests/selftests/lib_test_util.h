/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of libkarena's kselftest programs (lib_*_test.c): skip without
 * the device, run a function in a child with its stderr captured, read
 * debugfs, and the size classes the library documents.
 *
 * libkarena reads its environment (KARENA_ABORT, KARENA_TRACE, ...) at its
 * first use in a process.  The harness runs every test in a fresh child
 * of a process that never used the library, so a test may set the
 * environment before its first ka_* call.
 */
#ifndef LIB_TEST_UTIL_H
#define LIB_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "karena.h"		/* libkarena's public header */

#define LT_DEV		"/dev/karena"
#define LT_DEBUGFS	"/sys/kernel/debug/karena"

#define LT_NO_DEVICE	LT_DEV " is missing: karena.ko not loaded"
#define LT_NO_DEBUGFS	"karena's debugfs is not readable here"

/* Tests skip (LT_NO_DEVICE) when the module is not loaded. */
static inline int lt_no_device(void)
{
	return access(LT_DEV, F_OK) != 0;
}

/* Tests skip (LT_NO_DEBUGFS) when karena's debugfs cannot be read. */
static inline int lt_no_debugfs(void)
{
	return access(LT_DEBUGFS "/clients", R_OK) != 0;
}

/* The size classes of Documentation/library.rst. */
static const size_t lt_classes[] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448,
	512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584,
	4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
};

#define LT_NR_CLASSES ARRAY_SIZE(lt_classes)

/**
 * lt_child() - run @fn(@arg) in a child with stderr captured.
 * @fn: what to run; its return value is the child's exit status.
 * @arg: its argument.
 * @err: gets the child's stderr, NUL-terminated.
 * @len: room in @err.
 *
 * Return: the signal that ended the child, or 1000 + its exit status.
 */
static inline int lt_child(int (*fn)(void *), void *arg, char *err,
			   size_t len)
{
	int fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], 2);
		_exit(fn(arg));
	}
	close(fds[1]);
	while (got + 1 < len && (n = read(fds[0], err + got, len - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	return 1000 + WEXITSTATUS(status);
}

/* Read a whole file; return its length or -errno. */
static inline long lt_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	return got;
}

/* Write a string to a file; return 0 or -errno. */
static inline int lt_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The value of "key=" in a key=value text, or -1. */
static inline long long lt_kv(const char *text, const char *key)
{
	size_t len = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, len) && p[len] == '=')
			return strtoll(p + len + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Fill @p with a pattern derived from @seed; check it back. */
static inline void lt_stamp(void *p, size_t n, unsigned int seed)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7);
}

static inline int lt_stamp_ok(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

#endif /* LIB_TEST_UTIL_H */
