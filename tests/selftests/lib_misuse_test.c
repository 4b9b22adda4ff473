// SPDX-License-Identifier: GPL-2.0
/*
 * libkarena's misuse detection, each kind in a child process: a double
 * free, an interior pointer, a foreign pointer, a page block's interior,
 * a page block freed twice, an object freed to the wrong cache, and an
 * overwritten red zone.  By default: one line on stderr naming the
 * problem and the address, then SIGABRT.  With KARENA_ABORT=0: the same
 * line, counted, and the program goes on.
 */
#include <stdint.h>

#include "kselftest_harness.h"
#include "lib_test_util.h"

/* A misuse: what it does, and the line it must print. */
struct misuse {
	const char *name;
	void *(*fn)(void);	/* does it; returns the address reported */
	const char *what;	/* "double free detected: %p" etc. */
	const char *func;
};

static void *addr_seen;

static void *do_double_free(void)
{
	void *p = ka_malloc(64);

	ka_free(p);
	addr_seen = p;
	ka_free(p);
	return p;
}

static void *do_interior(void)
{
	char *p = ka_malloc(64);

	addr_seen = p + 8;
	ka_free(p + 8);
	return p + 8;
}

static void *do_foreign(void)
{
	static int x;

	addr_seen = &x;
	ka_free(&x);
	return &x;
}

static void *do_libc_pointer(void)
{
	void *p = malloc(32);	/* glibc's: not karena's */

	addr_seen = p;
	ka_free(p);
	return p;
}

static void *do_block_interior(void)
{
	char *b = ka_pages_alloc(NULL, 2);

	addr_seen = b + 4096;
	ka_free(b + 4096);
	return b + 4096;
}

static void *do_block_double_free(void)
{
	void *b = ka_malloc(100000);

	ka_free(b);
	addr_seen = b;
	ka_free(b);
	return b;
}

static void *do_wrong_cache(void)
{
	struct ka_cache *a = ka_cache_create(NULL, "misuse.a", 32, 0, 0);
	struct ka_cache *b = ka_cache_create(NULL, "misuse.b", 32, 0, 0);
	void *o = ka_cache_alloc(a);

	addr_seen = o;
	ka_cache_free(b, o);
	return o;
}

static void *do_redzone(void)
{
	struct ka_cache *c = ka_cache_create(NULL, "misuse.red", 40, 0,
					     KA_CACHE_RED_ZONE);
	char *o = ka_cache_alloc(c);

	o[40] = 'x';		/* one byte past the object */
	addr_seen = o;
	ka_cache_free(c, o);
	return o;
}

static void *do_redzone_underflow(void)
{
	struct ka_cache *c = ka_cache_create(NULL, "misuse.under", 40, 0,
					     KA_CACHE_RED_ZONE | KA_CACHE_POISON);
	char *o = ka_cache_alloc(c);

	o[-1] = 'x';
	addr_seen = o;
	ka_cache_free(c, o);
	return o;
}

static const struct misuse misuses[] = {
	{ "double free", do_double_free, "double free detected: ", "ka_free" },
	{ "interior", do_interior, "invalid pointer ", "ka_free" },
	{ "foreign", do_foreign, "invalid pointer ", "ka_free" },
	{ "libc pointer", do_libc_pointer, "invalid pointer ", "ka_free" },
	{ "block interior", do_block_interior, "invalid pointer ", "ka_free" },
	{ "block double free", do_block_double_free, "double free detected: ",
	  "ka_free" },
	{ "wrong cache", do_wrong_cache, "invalid pointer ", "ka_cache_free" },
	{ "red zone", do_redzone, "red zone overwritten at ", "ka_cache_free" },
	{ "red zone underflow", do_redzone_underflow,
	  "red zone overwritten at ", "ka_cache_free" },
};

#define NR_MISUSES ARRAY_SIZE(misuses)

/* The child: do the misuse; print the address on stdout-less stderr. */
static int run_misuse(void *arg)
{
	const struct misuse *m = arg;

	m->fn();
	return 0;
}

/* No state: the fixture exists for the timeouts (TCG, debug kernel). */
FIXTURE(misuse) {
	int unused;
};

FIXTURE_SETUP(misuse)
{
}

FIXTURE_TEARDOWN(misuse)
{
}

/* Every kind aborts with one line naming it and the address. */
TEST_F_TIMEOUT(misuse, misuse_aborts, 300)
{
	char err[4096], want[256];
	unsigned int i;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	unsetenv("KARENA_ABORT");
	for (i = 0; i < NR_MISUSES; i++) {
		const struct misuse *m = &misuses[i];
		char *line;

		ret = lt_child(run_misuse, (void *)m, err, sizeof(err));
		EXPECT_EQ(SIGABRT, ret) TH_LOG("%s: ended with %d, stderr: %s",
					       m->name, ret, err);
		snprintf(want, sizeof(want), "karena: %s(): %s", m->func,
			 m->what);
		line = strstr(err, want);
		EXPECT_NE(NULL, line) TH_LOG("%s: want '%s...', stderr: %s",
					     m->name, want, err);
		/* Exactly one line. */
		EXPECT_EQ(NULL, strchr(err, '\n') ?
			  strchr(strchr(err, '\n') + 1, '\n') : NULL)
			TH_LOG("%s: more than one line: %s", m->name, err);
		/* And an address ("0x..."): the child's is not known here. */
		if (line)
			EXPECT_NE(NULL, strstr(line, "0x"));
	}
}

/* With KARENA_ABORT=0 every kind is reported, counted, and survived. */
static int run_counted(void *arg)
{
	struct ka_stats st;
	unsigned int i;
	char line[64];

	(void)arg;
	setenv("KARENA_ABORT", "0", 1);
	for (i = 0; i < NR_MISUSES; i++) {
		misuses[i].fn();
		/* Say which address it was, after the library's line. */
		snprintf(line, sizeof(line), "addr %p\n", addr_seen);
		if (write(2, line, strlen(line)) < 0)
			return 10;
	}
	if (ka_heap_stats(NULL, &st))
		return 11;
	if (st.double_frees != 2)
		return 12;
	if (st.invalid_frees != 5)
		return 13;
	if (st.redzone_errors != 2)
		return 14;
	/* The allocator still works. */
	ka_free(ka_malloc(100));
	return 0;
}

TEST_F_TIMEOUT(misuse, misuse_counted_with_karena_abort_0, 300)
{
	char err[8192], *p, *addr;
	unsigned int i;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	ret = lt_child(run_counted, NULL, err, sizeof(err));
	ASSERT_EQ(1000, ret) TH_LOG("exit %d, stderr: %s", ret - 1000, err);
	/* Each report line is followed by the address it must name. */
	p = err;
	for (i = 0; i < NR_MISUSES; i++) {
		char *nl = strchr(p, '\n');

		ASSERT_NE(NULL, nl);
		*nl = '\0';
		EXPECT_EQ(0, strncmp(p, "karena: ", 8)) TH_LOG("line: %s", p);
		addr = strstr(nl + 1, "addr ");
		ASSERT_NE(NULL, addr);
		*strchr(addr, '\n') = '\0';
		EXPECT_NE(NULL, strstr(p, addr + 5))
			TH_LOG("%s: '%s' does not name %s", misuses[i].name, p,
			       addr + 5);
		p = addr + strlen(addr) + 1;
	}
}

/* A free the kernel would refuse never gets that far: nothing counted. */
TEST_F_TIMEOUT(misuse, misuse_never_reaches_the_kernel, 300)
{
	struct ka_client_stats cs;
	void *p;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	setenv("KARENA_ABORT", "0", 1);
	p = ka_malloc(64);
	ka_free(p);
	ka_free(p);
	ka_free((char *)ka_malloc(64) + 16);
	ASSERT_EQ(0, ka_client_stats(NULL, &cs));
	EXPECT_EQ(0U, cs.bad_frees);
}

TEST_HARNESS_MAIN
