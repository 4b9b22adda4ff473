/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by karena's kselftest programs and karena_client:
 * open a client and read its INFO, map its window, create a cache,
 * allocate and free through the bulk and page commands, read STATS, and
 * probe one byte of memory for SIGBUS/SIGSEGV.
 *
 * Every helper returns 0 or a negative errno and asserts nothing, so that
 * the tests keep the checks (and their one error path each) to themselves.
 */
#ifndef KARENA_TEST_UTIL_H
#define KARENA_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "karena.h"

#define KT_DEV "/dev/karena"

/* A kernel address no user pointer can ever be (x86-64 direct map). */
#define KT_KERNEL_PTR ((void *)0xffff888000000000UL)

/* A command with the right magic and direction but any size. */
#define KT_IOC(nr, size) _IOC(_IOC_READ | _IOC_WRITE, KARENA_IOC_MAGIC, \
			      (nr), (size))

/**
 * struct kt_client - one client of /dev/karena as the tests see it.
 * @fd: the open file, or -1.
 * @info: what KARENA_IOC_INFO said right after the open.
 * @win: the whole window mapped MAP_SHARED, or NULL.
 * @page: bytes per page (info.page_size).
 */
struct kt_client {
	int fd;
	struct karena_info info;
	char *win;
	size_t page;
};

static inline int kt_info(int fd, struct karena_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, KARENA_IOC_INFO, info) ? -errno : 0;
}

static inline int kt_stats(int fd, struct karena_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, KARENA_IOC_STATS, st) ? -errno : 0;
}

/* Open a client and read its INFO; -ENOENT means the device is missing. */
static inline int kt_open(struct kt_client *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = open(KT_DEV, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	ret = kt_info(c->fd, &c->info);
	if (ret) {
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	c->page = c->info.page_size;
	return 0;
}

/* Map the whole window of @c read-write, MAP_SHARED. */
static inline int kt_map(struct kt_client *c)
{
	void *p;

	p = mmap(NULL, c->info.window_bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED, c->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->win = p;
	return 0;
}

static inline void kt_close(struct kt_client *c)
{
	if (c->win)
		munmap(c->win, c->info.window_bytes);
	c->win = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * The exit status that the 6.1 harness's __wait_for_test() reads as SKIP.
 * A SKIP(return, ...) in FIXTURE_SETUP() does not stop the test body in
 * 6.1 (the wrapper only checks ->passed), so fixture setups skip by
 * ending the test process with this status instead.
 */
#define KT_SKIP_STATUS 255

/*
 * Fixture setup: open (and map) a client, SKIP when the device is missing,
 * fail on anything else.  Needs the harness's _metadata in scope.
 */
#define KT_SETUP_CLIENT(c, map) do {					\
	struct kt_client *__kt_c = (c);					\
	int __kt_ret = kt_open(__kt_c);					\
									\
	if (__kt_ret == -ENOENT)					\
		SKIP(_exit(KT_SKIP_STATUS),				\
		     KT_DEV " is missing: karena.ko not loaded");	\
	ASSERT_EQ(0, __kt_ret)						\
		TH_LOG("open and INFO: %s", strerror(-__kt_ret));	\
	if (map) {							\
		__kt_ret = kt_map(__kt_c);				\
		ASSERT_EQ(0, __kt_ret)					\
			TH_LOG("mmap of the window: %s",		\
			       strerror(-__kt_ret));			\
	}								\
} while (0)

/* Create a cache; the whole reply is left in @cc when it is non-NULL. */
static inline int kt_cache_create(int fd, const char *name, __u32 size,
				  __u32 align, __u32 flags,
				  struct karena_cache_create *cc)
{
	struct karena_cache_create tmp;

	if (!cc)
		cc = &tmp;
	memset(cc, 0, sizeof(*cc));
	cc->flags = flags;
	cc->object_size = size;
	cc->align = align;
	memcpy(cc->name, name, strnlen(name, KARENA_NAME_LEN - 1));
	return ioctl(fd, KARENA_IOC_CACHE_CREATE, cc) ? -errno : 0;
}

static inline int kt_cache_destroy(int fd, __u32 cache_id)
{
	struct karena_cache_destroy cd = { .cache_id = cache_id };

	return ioctl(fd, KARENA_IOC_CACHE_DESTROY, &cd) ? -errno : 0;
}

/* ALLOC_BULK or FREE_BULK; *@done (if non-NULL) gets the reply's done. */
static inline int kt_bulk(int fd, unsigned long cmd, __u32 cache_id,
			  __u32 count, __u64 *offsets, __u32 *done)
{
	struct karena_bulk b = {
		.cache_id = cache_id,
		.count = count,
		.offsets = (__u64)(unsigned long)offsets,
	};
	int ret = ioctl(fd, cmd, &b) ? -errno : 0;

	if (done)
		*done = b.done;
	return ret;
}

static inline int kt_alloc(int fd, __u32 cache_id, __u32 count,
			   __u64 *offsets, __u32 *done)
{
	return kt_bulk(fd, KARENA_IOC_ALLOC_BULK, cache_id, count, offsets,
		       done);
}

static inline int kt_free(int fd, __u32 cache_id, __u32 count,
			  __u64 *offsets, __u32 *done)
{
	return kt_bulk(fd, KARENA_IOC_FREE_BULK, cache_id, count, offsets,
		       done);
}

static inline int kt_pages_alloc(int fd, __u32 order, __u64 *offset)
{
	struct karena_pages p = { .order = order };
	int ret = ioctl(fd, KARENA_IOC_PAGES_ALLOC, &p) ? -errno : 0;

	*offset = p.offset;
	return ret;
}

static inline int kt_pages_free(int fd, __u64 offset)
{
	struct karena_pages p = { .offset = offset };

	return ioctl(fd, KARENA_IOC_PAGES_FREE, &p) ? -errno : 0;
}

/* Index of the first non-zero byte of @p[0..@n), or -1 if all are zero. */
static inline long kt_first_nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return i;
	return -1;
}

/* === What debugfs says about clients === */

#define KT_DEBUGFS "/sys/kernel/debug/karena"

/* The value of "@key=N" in the debugfs arena summary, or -1. */
static inline long kt_arena_value(const char *key)
{
	char line[128];
	size_t len = strlen(key);
	long v = -1;
	FILE *f;

	f = fopen(KT_DEBUGFS "/arena", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == '=') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Arena pages owned by clients right now (user= in the debugfs arena
 * summary), or -1 if debugfs cannot tell (not root, no debugfs).  This,
 * not arena_free_bytes, says whether clients gave everything back:
 * karena's own caches may keep a few slabs cached across clients.
 */
static inline long kt_user_pages(void)
{
	return kt_arena_value("user");
}

/* Clients listed in debugfs (lines not starting with '#'), or -1. */
static inline long kt_nr_clients(void)
{
	char line[256];
	long n = 0;
	FILE *f;

	f = fopen(KT_DEBUGFS "/clients", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && line[0] != '\n')
			n++;
	fclose(f);
	return n;
}

/*
 * Run the arena's own checker (write 1 to debugfs validate); returns the
 * problems it counted (validate_failures before and after), or -1.
 */
static inline long kt_validate_arena(void)
{
	long before = kt_arena_value("validate_failures");
	int fd = open(KT_DEBUGFS "/validate", O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0 || before < 0)
		return -1;
	w = write(fd, "1", 1);
	close(fd);
	if (w != 1)
		return -1;
	return kt_arena_value("validate_failures") - before;
}

/* kt_user_pages() once it is @want; a release may be deferred (2 s). */
static inline long kt_user_pages_settled(long want)
{
	long got = kt_user_pages();
	int i;

	for (i = 0; i < 200 && got != want; i++) {
		usleep(10000);
		got = kt_user_pages();
	}
	return got;
}

/* === Probing memory for SIGBUS and SIGSEGV === */

/*
 * The window is VM_DONTCOPY, so a forked child cannot probe it for the
 * parent: the probe catches the signal in the process itself and jumps
 * back, which also lets one test check several addresses and si_addr.
 */
struct kt_probe_state {
	sigjmp_buf env;
	void *addr;
	int code;
};

static inline struct kt_probe_state *kt_probe_state(void)
{
	static struct kt_probe_state state;

	return &state;
}

static inline void kt_probe_handler(int sig, siginfo_t *si, void *uc)
{
	struct kt_probe_state *s = kt_probe_state();

	s->addr = si->si_addr;
	s->code = si->si_code;
	siglongjmp(s->env, sig);
}

/**
 * kt_probe() - read (or read and write back) one byte.
 * @p: the byte.
 * @write: also store the byte back.
 * @fault_addr: if non-NULL, gets si_addr of the signal (NULL if none).
 *
 * Return: 0 if the access worked, else the signal it raised (SIGBUS or
 * SIGSEGV).
 */
static inline int kt_probe(char *p, bool write, void **fault_addr)
{
	struct kt_probe_state *s = kt_probe_state();
	struct sigaction sa, old_bus, old_segv;
	int sig;
	char v;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kt_probe_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	s->addr = NULL;
	sig = sigsetjmp(s->env, 1);
	if (!sig) {
		/* Atomic accesses: the compiler may neither drop nor merge them. */
		v = __atomic_load_n(p, __ATOMIC_RELAXED);
		if (write)
			__atomic_store_n(p, v, __ATOMIC_RELAXED);
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	if (fault_addr)
		*fault_addr = sig ? s->addr : NULL;
	return sig;
}

/*
 * Run @fn(@arg) in a forked child; return the signal that ended it, or
 * 1000 + its exit status if it exited.
 */
static inline int kt_in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	return 1000 + WEXITSTATUS(status);
}

#endif /* KARENA_TEST_UTIL_H */
