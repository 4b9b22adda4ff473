// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/karena ioctl contract (uapi/karena.h), bad inputs first: every
 * command with bad pointers, short and long struct sizes, non-zero flags,
 * padding and reserved fields, output fields set on input, zero and huge
 * sizes, counts and orders, frees of interior, misaligned, foreign and
 * already-freed objects, operations on destroyed caches, wrong fds, and a
 * client used by a process other than its opener.
 *
 * Each check sets errno = 0, makes one call that has exactly one thing
 * wrong with it, and asserts the errno; a failed call must change nothing
 * (STATS and INFO.arena_free_bytes are compared around it).
 */
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "karena_test_util.h"

/* Environment of the re-executed test binary in the execve check. */
#define EXEC_PROBE_ENV "KARENA_UAPI_EXEC_PROBE"

/* === Helpers === */

/* Everything a client's STATS says, plus the arena's free bytes. */
struct snapshot {
	struct karena_stats st;
	__u64 arena_free;
};

static void take_snapshot(struct __test_metadata *_metadata, int fd,
			  struct snapshot *s)
{
	struct karena_info info;

	ASSERT_EQ(0, kt_stats(fd, &s->st));
	ASSERT_EQ(0, kt_info(fd, &info));
	s->arena_free = info.arena_free_bytes;
}

/* A call that failed before doing anything must leave no trace at all. */
static void expect_unchanged(struct __test_metadata *_metadata, int fd,
			     const struct snapshot *before)
{
	struct snapshot now;

	take_snapshot(_metadata, fd, &now);
	EXPECT_EQ(before->st.nr_caches, now.st.nr_caches);
	EXPECT_EQ(before->st.bytes, now.st.bytes);
	EXPECT_EQ(before->st.slab_bytes, now.st.slab_bytes);
	EXPECT_EQ(before->st.block_bytes, now.st.block_bytes);
	EXPECT_EQ(before->st.objects, now.st.objects);
	EXPECT_EQ(before->st.alloc_calls, now.st.alloc_calls);
	EXPECT_EQ(before->st.free_calls, now.st.free_calls);
	EXPECT_EQ(before->st.objects_allocated, now.st.objects_allocated);
	EXPECT_EQ(before->st.objects_freed, now.st.objects_freed);
	EXPECT_EQ(before->st.bad_frees, now.st.bad_frees);
	EXPECT_EQ(before->st.quota_failures, now.st.quota_failures);
	EXPECT_EQ(before->arena_free, now.arena_free);
}

static __u64 bad_frees(struct __test_metadata *_metadata, int fd)
{
	struct karena_stats st;

	EXPECT_EQ(0, kt_stats(fd, &st));
	return st.bad_frees;
}

/* An address that was mapped a moment ago and is not any more. */
static void *unmapped_address(size_t page)
{
	void *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, page);
	return p;
}

/* A page-aligned anonymous buffer of @pages pages, zeroed. */
static char *anon_pages(size_t page, int pages)
{
	char *p = mmap(NULL, page * pages, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * What a process that is not the opener gets from the client: every
 * command and mmap must fail with EPERM.  Prints each miss; returns how
 * many there were.
 */
struct foreign_args {
	int fd;
	__u32 cache_id;
	__u64 object;
	__u64 block;
	size_t window_bytes;
	size_t page;
};

static int try_as_foreigner(const struct foreign_args *a)
{
	struct karena_info info = { 0 };
	struct karena_stats st = { 0 };
	struct karena_cache_create cc = { .object_size = 8, .name = "x" };
	struct karena_cache_destroy cd = { .cache_id = a->cache_id };
	__u64 offs[1] = { a->object };
	struct karena_bulk ab = { .cache_id = a->cache_id, .count = 1,
				  .offsets = (__u64)(unsigned long)offs };
	struct karena_bulk fb = ab;
	struct karena_pages pa = { .order = 0 };
	struct karena_pages pf = { .offset = a->block };
	struct {
		const char *name;
		unsigned long cmd;
		void *arg;
	} cmds[] = {
		{ "INFO", KARENA_IOC_INFO, &info },
		{ "STATS", KARENA_IOC_STATS, &st },
		{ "CACHE_CREATE", KARENA_IOC_CACHE_CREATE, &cc },
		{ "ALLOC_BULK", KARENA_IOC_ALLOC_BULK, &ab },
		{ "FREE_BULK", KARENA_IOC_FREE_BULK, &fb },
		{ "PAGES_ALLOC", KARENA_IOC_PAGES_ALLOC, &pa },
		{ "PAGES_FREE", KARENA_IOC_PAGES_FREE, &pf },
		{ "CACHE_DESTROY", KARENA_IOC_CACHE_DESTROY, &cd },
	};
	int i, ret, misses = 0;
	void *p;

	for (i = 0; i < (int)ARRAY_SIZE(cmds); i++) {
		errno = 0;
		ret = ioctl(a->fd, cmds[i].cmd, cmds[i].arg);
		if (ret != -1 || errno != EPERM) {
			fprintf(stderr, "# foreign %s: ret %d errno %d (%s)\n",
				cmds[i].name, ret, errno, strerror(errno));
			misses++;
		}
	}
	errno = 0;
	p = mmap(NULL, a->page, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (p != MAP_FAILED || errno != EPERM) {
		fprintf(stderr, "# foreign mmap: %s\n",
			p == MAP_FAILED ? strerror(errno) : "succeeded");
		misses++;
	}
	if (p != MAP_FAILED)
		munmap(p, a->page);
	return misses;
}

/*
 * The execve check re-executes this binary with the fd left open; the
 * new image runs the probe before the harness starts.
 */
static void __attribute__((constructor)) exec_probe(void)
{
	const char *env = getenv(EXEC_PROBE_ENV);
	struct foreign_args a = { 0 };
	unsigned long long object, block;
	unsigned long window;

	if (!env)
		return;
	if (sscanf(env, "%d,%u,%llu,%llu,%lu", &a.fd, &a.cache_id, &object,
		   &block, &window) != 5)
		_exit(100);
	a.object = object;
	a.block = block;
	a.window_bytes = window;
	a.page = sysconf(_SC_PAGESIZE);
	_exit(try_as_foreigner(&a));
}

/* === The same checks for every command: FIXTURE_VARIANT(cmd) === */

/**
 * struct cmd_ctx - what the checks of one command work with.
 * @c: the client.
 * @buf: three pages: 0 and 1 read-write, 2 PROT_NONE.
 * @cache_id: a cache of @c with one live object (in @offs[3]), made by
 *	the first bulk command's preparation.
 * @offs: offsets arrays for the bulk commands.
 * @before: STATS and arena_free_bytes before the checked call.
 */
struct cmd_ctx {
	struct kt_client c;
	char *buf;
	__u32 cache_id;
	__u64 offs[4];
	struct snapshot before;
};

/* Fills a valid argument (zeroed, the struct's size) at @arg. */
typedef void (*prep_fn)(struct __test_metadata *_metadata,
			struct cmd_ctx *x, void *arg);

FIXTURE(cmd) {
	struct cmd_ctx x;
};

/*
 * struct _fixture_variant_cmd - one command of the uapi.
 * @nr: its _IOC_NR.
 * @size: sizeof its struct.
 * @ver0: its KARENA_*_SIZE_VER0.
 * @reserved: offset of its reserved field(s), which run to the end.
 * @prep: fills a valid argument at @arg.
 */
FIXTURE_VARIANT(cmd) {
	unsigned int nr;
	unsigned int size;
	unsigned int ver0;
	unsigned int reserved;
	prep_fn prep;
};

FIXTURE_SETUP(cmd)
{
	KT_SETUP_CLIENT(&self->x.c, false);
	self->x.buf = anon_pages(self->x.c.page, 3);
	ASSERT_NE(NULL, self->x.buf);
	ASSERT_EQ(0, mprotect(self->x.buf + 2 * self->x.c.page, self->x.c.page,
			      PROT_NONE));
}

FIXTURE_TEARDOWN(cmd)
{
	kt_close(&self->x.c);
}

static void prep_nothing(struct __test_metadata *_metadata,
			 struct cmd_ctx *x, void *arg)
{
}

static void prep_cache_create(struct __test_metadata *_metadata,
			      struct cmd_ctx *x, void *arg)
{
	struct karena_cache_create *cc = arg;

	cc->object_size = 100;
	strcpy(cc->name, "uapi.new");
}

static void prep_cache_destroy(struct __test_metadata *_metadata,
			       struct cmd_ctx *x, void *arg)
{
	struct karena_cache_destroy *cd = arg;
	struct karena_cache_create cc;

	ASSERT_EQ(0, kt_cache_create(x->c.fd, "uapi.victim", 32, 0, 0, &cc));
	cd->cache_id = cc.cache_id;
}

/* The bulk commands' cache, with one live object so that a slab exists. */
static void prep_cache(struct __test_metadata *_metadata, struct cmd_ctx *x)
{
	struct karena_cache_create cc;
	__u32 done;

	if (x->cache_id)
		return;
	ASSERT_EQ(0, kt_cache_create(x->c.fd, "uapi.cmd", 64, 0, 0, &cc));
	x->cache_id = cc.cache_id;
	ASSERT_EQ(0, kt_alloc(x->c.fd, x->cache_id, 1, &x->offs[3], &done));
	ASSERT_EQ(1U, done);
}

static void prep_alloc_bulk(struct __test_metadata *_metadata,
			    struct cmd_ctx *x, void *arg)
{
	struct karena_bulk *b = arg;

	prep_cache(_metadata, x);
	b->cache_id = x->cache_id;
	b->count = 1;
	b->offsets = (__u64)(unsigned long)x->offs;
}

static void prep_free_bulk(struct __test_metadata *_metadata,
			   struct cmd_ctx *x, void *arg)
{
	struct karena_bulk *b = arg;
	__u32 done;

	prep_cache(_metadata, x);
	ASSERT_EQ(0, kt_alloc(x->c.fd, x->cache_id, 1, x->offs,
			      &done));
	b->cache_id = x->cache_id;
	b->count = 1;
	b->offsets = (__u64)(unsigned long)x->offs;
}

static void prep_pages_alloc(struct __test_metadata *_metadata,
			     struct cmd_ctx *x, void *arg)
{
	struct karena_pages *p = arg;

	p->order = 0;
}

static void prep_pages_free(struct __test_metadata *_metadata,
			    struct cmd_ctx *x, void *arg)
{
	struct karena_pages *p = arg;
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(x->c.fd, 0, &off));
	p->offset = off;
}

FIXTURE_VARIANT_ADD(cmd, info) {
	.nr = _IOC_NR(KARENA_IOC_INFO),
	.size = sizeof(struct karena_info),
	.ver0 = KARENA_INFO_SIZE_VER0,
	.reserved = offsetof(struct karena_info, reserved),
	.prep = prep_nothing,
};

FIXTURE_VARIANT_ADD(cmd, cache_create) {
	.nr = _IOC_NR(KARENA_IOC_CACHE_CREATE),
	.size = sizeof(struct karena_cache_create),
	.ver0 = KARENA_CACHE_CREATE_SIZE_VER0,
	.reserved = offsetof(struct karena_cache_create, reserved),
	.prep = prep_cache_create,
};

FIXTURE_VARIANT_ADD(cmd, cache_destroy) {
	.nr = _IOC_NR(KARENA_IOC_CACHE_DESTROY),
	.size = sizeof(struct karena_cache_destroy),
	.ver0 = KARENA_CACHE_DESTROY_SIZE_VER0,
	.reserved = offsetof(struct karena_cache_destroy, reserved),
	.prep = prep_cache_destroy,
};

FIXTURE_VARIANT_ADD(cmd, alloc_bulk) {
	.nr = _IOC_NR(KARENA_IOC_ALLOC_BULK),
	.size = sizeof(struct karena_bulk),
	.ver0 = KARENA_BULK_SIZE_VER0,
	.reserved = offsetof(struct karena_bulk, reserved),
	.prep = prep_alloc_bulk,
};

FIXTURE_VARIANT_ADD(cmd, free_bulk) {
	.nr = _IOC_NR(KARENA_IOC_FREE_BULK),
	.size = sizeof(struct karena_bulk),
	.ver0 = KARENA_BULK_SIZE_VER0,
	.reserved = offsetof(struct karena_bulk, reserved),
	.prep = prep_free_bulk,
};

FIXTURE_VARIANT_ADD(cmd, pages_alloc) {
	.nr = _IOC_NR(KARENA_IOC_PAGES_ALLOC),
	.size = sizeof(struct karena_pages),
	.ver0 = KARENA_PAGES_SIZE_VER0,
	.reserved = offsetof(struct karena_pages, reserved),
	.prep = prep_pages_alloc,
};

FIXTURE_VARIANT_ADD(cmd, pages_free) {
	.nr = _IOC_NR(KARENA_IOC_PAGES_FREE),
	.size = sizeof(struct karena_pages),
	.ver0 = KARENA_PAGES_SIZE_VER0,
	.reserved = offsetof(struct karena_pages, reserved),
	.prep = prep_pages_free,
};

FIXTURE_VARIANT_ADD(cmd, stats) {
	.nr = _IOC_NR(KARENA_IOC_STATS),
	.size = sizeof(struct karena_stats),
	.ver0 = KARENA_STATS_SIZE_VER0,
	.reserved = offsetof(struct karena_stats, reserved),
	.prep = prep_nothing,
};

/*
 * Prepare a valid argument of @size bytes (the struct, cut or zero
 * extended) ending @size bytes before the PROT_NONE page, so that the
 * kernel cannot read or write a byte past @size without EFAULT; take the
 * snapshot after the preparation.
 */
static char *prep_at_page_end(struct __test_metadata *_metadata,
			      struct cmd_ctx *x, prep_fn prep,
			      unsigned int struct_size, unsigned int size)
{
	char full[4096] = { 0 };
	char *arg = x->buf + 2 * x->c.page - size;

	memset(x->buf, 0, 2 * x->c.page);
	prep(_metadata, x, full);
	memcpy(arg, full, size < struct_size ? size : struct_size);
	take_snapshot(_metadata, x->c.fd, &x->before);
	return arg;
}

/* The valid argument at its exact size works: the baseline of the rest. */
TEST_F(cmd, exact_size_works)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	EXPECT_EQ(0, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size), arg))
		TH_LOG("%s", strerror(errno));
}

TEST_F(cmd, size_zero_is_einval)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, 0), arg));
	EXPECT_EQ(EINVAL, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, size_below_ver0_is_einval)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->ver0 - 1);

	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->ver0 - 1),
			    arg));
	EXPECT_EQ(EINVAL, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

/* An old caller's struct (VER0 bytes) works, and nothing past it is used. */
TEST_F(cmd, ver0_size_works_at_page_end)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->ver0);

	EXPECT_EQ(0, ioctl(x->c.fd, KT_IOC(variant->nr, variant->ver0), arg))
		TH_LOG("%s", strerror(errno));
}

/* A struct cut in its reserved tail works, reading and writing only it. */
TEST_F(cmd, short_size_works_at_page_end)
{
	struct cmd_ctx *x = &self->x;
	unsigned int size = variant->size - 8;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, size);

	EXPECT_EQ(0, ioctl(x->c.fd, KT_IOC(variant->nr, size), arg))
		TH_LOG("%s", strerror(errno));
}

/* A newer caller's longer struct with a zero tail works. */
TEST_F(cmd, long_size_zero_tail_works)
{
	struct cmd_ctx *x = &self->x;
	unsigned int size = variant->size + 64;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, size);

	EXPECT_EQ(0, ioctl(x->c.fd, KT_IOC(variant->nr, size), arg))
		TH_LOG("%s", strerror(errno));
}

TEST_F(cmd, long_size_nonzero_tail_is_e2big)
{
	struct cmd_ctx *x = &self->x;
	unsigned int size = variant->size + 64;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, size);

	arg[size - 1] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, size), arg));
	EXPECT_EQ(E2BIG, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

/* The largest size the command encoding allows, non-zero at its end. */
TEST_F(cmd, max_size_nonzero_tail_is_e2big)
{
	struct cmd_ctx *x = &self->x;
	unsigned int size = _IOC_SIZEMASK;
	char *arg = anon_pages(x->c.page, 5);
	char full[4096] = { 0 };

	ASSERT_NE(NULL, arg);
	variant->prep(_metadata, x, full);
	memcpy(arg, full, variant->size);
	arg[size - 1] = 0x80;
	take_snapshot(_metadata, x->c.fd, &x->before);
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, size), arg));
	EXPECT_EQ(E2BIG, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, read_only_direction_is_enotty)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, _IOC(_IOC_READ, KARENA_IOC_MAGIC,
					  variant->nr, variant->size), arg));
	EXPECT_EQ(ENOTTY, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, write_only_direction_is_enotty)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, _IOC(_IOC_WRITE, KARENA_IOC_MAGIC,
					  variant->nr, variant->size), arg));
	EXPECT_EQ(ENOTTY, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, no_direction_is_enotty)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, _IO(KARENA_IOC_MAGIC, variant->nr),
			    arg));
	EXPECT_EQ(ENOTTY, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, wrong_magic_is_enotty)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, _IOC(_IOC_READ | _IOC_WRITE,
					  KARENA_IOC_MAGIC + 1, variant->nr,
					  variant->size), arg));
	EXPECT_EQ(ENOTTY, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, null_arg_is_efault)
{
	struct cmd_ctx *x = &self->x;

	prep_at_page_end(_metadata, x, variant->prep, variant->size, variant->size);
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    NULL));
	EXPECT_EQ(EFAULT, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, kernel_address_arg_is_efault)
{
	struct cmd_ctx *x = &self->x;

	prep_at_page_end(_metadata, x, variant->prep, variant->size, variant->size);
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    KT_KERNEL_PTR));
	EXPECT_EQ(EFAULT, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, unmapped_arg_is_efault)
{
	struct cmd_ctx *x = &self->x;
	void *hole;

	prep_at_page_end(_metadata, x, variant->prep, variant->size, variant->size);
	hole = unmapped_address(x->c.page);
	ASSERT_NE(NULL, hole);
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    hole));
	EXPECT_EQ(EFAULT, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, prot_none_arg_is_efault)
{
	struct cmd_ctx *x = &self->x;

	prep_at_page_end(_metadata, x, variant->prep, variant->size, variant->size);
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    x->buf + 2 * x->c.page));
	EXPECT_EQ(EFAULT, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

/* The struct's first byte readable, the rest in the PROT_NONE page. */
TEST_F(cmd, arg_straddling_prot_none_is_efault)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);
	char *straddle = x->buf + 2 * x->c.page - 4;

	memmove(straddle, arg, 4);
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    straddle));
	EXPECT_EQ(EFAULT, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, unknown_flag_is_einval)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	((__u32 *)arg)[0] |= 1U << 31;
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    arg));
	EXPECT_EQ(EINVAL, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, first_reserved_byte_nonzero_is_einval)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	arg[variant->reserved] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    arg));
	EXPECT_EQ(EINVAL, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

TEST_F(cmd, last_reserved_byte_nonzero_is_einval)
{
	struct cmd_ctx *x = &self->x;
	char *arg = prep_at_page_end(_metadata, x, variant->prep,
				     variant->size, variant->size);

	arg[variant->size - 1] = 0x80;
	errno = 0;
	EXPECT_EQ(-1, ioctl(x->c.fd, KT_IOC(variant->nr, variant->size),
			    arg));
	EXPECT_EQ(EINVAL, errno);
	expect_unchanged(_metadata, x->c.fd, &x->before);
}

/* === One client with its window: FIXTURE(uapi) === */

FIXTURE(uapi) {
	struct kt_client c;
};

FIXTURE_SETUP(uapi)
{
	KT_SETUP_CLIENT(&self->c, true);
}

FIXTURE_TEARDOWN(uapi)
{
	kt_close(&self->c);
}

/* --- Commands that do not exist --- */

TEST_F(uapi, unknown_nr_is_enotty)
{
	struct karena_stats st = { 0 };
	unsigned int nr;

	for (nr = 0x08; nr <= 0xff; nr += 0x1f) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->c.fd, KT_IOC(nr, sizeof(st)), &st));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("nr %#x", nr);
	}
}

TEST_F(uapi, cmd_zero_is_enotty)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, 0, NULL));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(uapi, cmd_all_ones_is_enotty)
{
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, 0xffffffffUL, NULL));
	EXPECT_EQ(ENOTTY, errno);
}

/* --- INFO --- */

TEST_F(uapi, info_reports_a_usable_module)
{
	struct karena_info *i = &self->c.info;

	EXPECT_EQ((__u32)KARENA_ABI_VERSION, i->abi_version);
	EXPECT_EQ((__u32)sysconf(_SC_PAGESIZE), i->page_size);
	EXPECT_EQ((__u32)KARENA_MAX_BATCH, i->max_batch);
	EXPECT_LT(0U, i->max_object_size);
	EXPECT_LT(0U, i->max_caches);
	EXPECT_LT(0U, i->arena_bytes);
	EXPECT_GE(i->arena_bytes, i->arena_free_bytes);
	EXPECT_EQ(0U, i->arena_bytes % i->page_size);
	EXPECT_LT(0U, i->window_bytes);
	EXPECT_EQ(0U, i->window_bytes % i->page_size);
	EXPECT_LT(0U, i->quota_bytes);
	/* The window has room for everything the client may own. */
	EXPECT_GE(i->window_bytes, i->quota_bytes);
	EXPECT_EQ(0U, i->flags);
	EXPECT_EQ(0U, i->__pad);
}

TEST_F(uapi, info_pad_nonzero_is_einval)
{
	struct karena_info i = { .__pad = 1 };

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_INFO, &i));
	EXPECT_EQ(EINVAL, errno);
}

/* Output fields carry nothing in: each one set alone is EINVAL. */
TEST_F(uapi, info_output_field_nonzero_is_einval)
{
	static const size_t fields32[] = {
		offsetof(struct karena_info, abi_version),
		offsetof(struct karena_info, page_size),
		offsetof(struct karena_info, max_order),
		offsetof(struct karena_info, max_batch),
		offsetof(struct karena_info, max_object_size),
		offsetof(struct karena_info, max_caches),
	};
	static const size_t fields64[] = {
		offsetof(struct karena_info, arena_bytes),
		offsetof(struct karena_info, arena_free_bytes),
		offsetof(struct karena_info, window_bytes),
		offsetof(struct karena_info, quota_bytes),
		offsetof(struct karena_info, user_quota_bytes),
	};
	struct karena_info i;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(fields32); k++) {
		memset(&i, 0, sizeof(i));
		*(__u32 *)((char *)&i + fields32[k]) = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_INFO, &i));
		EXPECT_EQ(EINVAL, errno) TH_LOG("field at %zu", fields32[k]);
	}
	for (k = 0; k < ARRAY_SIZE(fields64); k++) {
		memset(&i, 0, sizeof(i));
		*(__u64 *)((char *)&i + fields64[k]) = 1ULL << 40;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_INFO, &i));
		EXPECT_EQ(EINVAL, errno) TH_LOG("field at %zu", fields64[k]);
	}
}

TEST_F(uapi, info_each_reserved_word_nonzero_is_einval)
{
	struct karena_info i;
	int k;

	for (k = 0; k < 4; k++) {
		memset(&i, 0, sizeof(i));
		i.reserved[k] = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_INFO, &i));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", k);
	}
}

TEST_F(uapi, info_into_read_only_page_is_efault)
{
	char *p = anon_pages(self->c.page, 1);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mprotect(p, self->c.page, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_INFO, p));
	EXPECT_EQ(EFAULT, errno);
}

/* Only the first size bytes are written back to an old caller. */
TEST_F(uapi, info_short_struct_gets_only_its_bytes)
{
	unsigned int size = offsetof(struct karena_info, window_bytes) + 8;
	struct karena_info i;

	memset(&i, 0, sizeof(i));
	memset((char *)&i + size, 0x5a, sizeof(i) - size);
	ASSERT_EQ(0, ioctl(self->c.fd, KT_IOC(0, size), &i));
	EXPECT_EQ(self->c.info.window_bytes, i.window_bytes);
	EXPECT_EQ(self->c.info.page_size, i.page_size);
	EXPECT_EQ(0x5a5a5a5a5a5a5a5aULL, i.quota_bytes);
}

/* --- STATS --- */

TEST_F(uapi, stats_of_a_new_client_are_zero)
{
	struct karena_stats st;

	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(0U, st.nr_caches);
	EXPECT_EQ(0U, st.bytes);
	EXPECT_EQ(0U, st.objects);
	EXPECT_EQ(0U, st.alloc_calls);
	EXPECT_EQ(0U, st.free_calls);
	EXPECT_EQ(0U, st.bad_frees);
	EXPECT_EQ(0U, st.quota_failures);
}

TEST_F(uapi, stats_output_field_nonzero_is_einval)
{
	static const size_t fields64[] = {
		offsetof(struct karena_stats, bytes),
		offsetof(struct karena_stats, slab_bytes),
		offsetof(struct karena_stats, block_bytes),
		offsetof(struct karena_stats, objects),
		offsetof(struct karena_stats, alloc_calls),
		offsetof(struct karena_stats, free_calls),
		offsetof(struct karena_stats, objects_allocated),
		offsetof(struct karena_stats, objects_freed),
		offsetof(struct karena_stats, bad_frees),
		offsetof(struct karena_stats, quota_failures),
	};
	struct karena_stats st;
	unsigned int k;

	memset(&st, 0, sizeof(st));
	st.nr_caches = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_STATS, &st));
	EXPECT_EQ(EINVAL, errno) TH_LOG("nr_caches");
	for (k = 0; k < ARRAY_SIZE(fields64); k++) {
		memset(&st, 0, sizeof(st));
		*(__u64 *)((char *)&st + fields64[k]) = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_STATS, &st));
		EXPECT_EQ(EINVAL, errno) TH_LOG("field at %zu", fields64[k]);
	}
}

TEST_F(uapi, stats_each_reserved_word_nonzero_is_einval)
{
	struct karena_stats st;
	int k;

	for (k = 0; k < 4; k++) {
		memset(&st, 0, sizeof(st));
		st.reserved[k] = 1ULL << 63;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_STATS, &st));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", k);
	}
}

TEST_F(uapi, stats_into_read_only_page_is_efault)
{
	char *p = anon_pages(self->c.page, 1);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mprotect(p, self->c.page, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_STATS, p));
	EXPECT_EQ(EFAULT, errno);
}

/* --- CACHE_CREATE --- */

static int create_raw(int fd, struct karena_cache_create *cc)
{
	return ioctl(fd, KARENA_IOC_CACHE_CREATE, cc);
}

static void fill_create(struct karena_cache_create *cc, const char *name,
			__u32 size)
{
	memset(cc, 0, sizeof(*cc));
	cc->object_size = size;
	strncpy(cc->name, name, KARENA_NAME_LEN);
}

TEST_F(uapi, cache_create_fills_its_reply)
{
	struct karena_cache_create cc;
	struct karena_stats st;

	fill_create(&cc, "reply", 100);
	ASSERT_EQ(0, create_raw(self->c.fd, &cc));
	EXPECT_NE(0U, cc.cache_id);
	EXPECT_LE(100U, cc.object_stride);
	EXPECT_EQ(0U, cc.object_stride % 8);
	EXPECT_LE(1U, cc.objs_per_slab);
	EXPECT_EQ(0U, cc.slab_bytes % self->c.page);
	EXPECT_LE((__u64)cc.object_stride * cc.objs_per_slab,
		  (__u64)cc.slab_bytes);
	EXPECT_GE(cc.object_stride, cc.object_offset + 100);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(1U, st.nr_caches);
}

TEST_F(uapi, cache_create_every_defined_flag_works)
{
	struct karena_cache_create cc;

	fill_create(&cc, "allflags", 24);
	cc.flags = KARENA_CACHE_FLAGS;
	EXPECT_EQ(0, create_raw(self->c.fd, &cc)) TH_LOG("%s", strerror(errno));
}

TEST_F(uapi, cache_create_each_undefined_flag_is_einval)
{
	struct karena_cache_create cc;
	int bit;

	for (bit = 0; bit < 32; bit++) {
		if (KARENA_CACHE_FLAGS & (1U << bit))
			continue;
		fill_create(&cc, "badflag", 24);
		cc.flags = 1U << bit;
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flag bit %d", bit);
	}
}

TEST_F(uapi, cache_create_object_size_zero_is_einval)
{
	struct karena_cache_create cc;

	fill_create(&cc, "size0", 0);
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(uapi, cache_create_object_size_max_works)
{
	struct karena_cache_create cc;

	fill_create(&cc, "sizemax", self->c.info.max_object_size);
	EXPECT_EQ(0, create_raw(self->c.fd, &cc)) TH_LOG("%s", strerror(errno));
}

TEST_F(uapi, cache_create_object_size_max_plus_one_is_einval)
{
	struct karena_cache_create cc;

	fill_create(&cc, "sizemax1", self->c.info.max_object_size + 1);
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
	EXPECT_EQ(EINVAL, errno);
}

/* The syzkaller edge list over object_size. */
TEST_F(uapi, cache_create_object_size_huge_is_einval)
{
	static const __u32 sizes[] = {
		0x80000000U, 0xfffff000U, 0xffffffffU, 0x7fffffffU,
	};
	struct karena_cache_create cc;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(sizes); k++) {
		fill_create(&cc, "sizehuge", sizes[k]);
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %#x", sizes[k]);
	}
}

TEST_F(uapi, cache_create_align_not_power_of_two_is_einval)
{
	static const __u32 aligns[] = { 3, 12, 24, 0x3000, 0xffffffffU };
	struct karena_cache_create cc;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(aligns); k++) {
		fill_create(&cc, "align", 64);
		cc.align = aligns[k];
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("align %#x", aligns[k]);
	}
}

TEST_F(uapi, cache_create_align_over_page_is_einval)
{
	__u32 aligns[] = { 2 * (__u32)self->c.page, 1U << 20, 1U << 31 };
	struct karena_cache_create cc;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(aligns); k++) {
		fill_create(&cc, "alignbig", 64);
		cc.align = aligns[k];
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("align %#x", aligns[k]);
	}
}

TEST_F(uapi, cache_create_every_valid_align_works)
{
	struct karena_cache_create cc;
	char name[KARENA_NAME_LEN];
	__u32 align;

	for (align = 1; align <= self->c.page; align <<= 1) {
		snprintf(name, sizeof(name), "align%u", align);
		fill_create(&cc, name, 40);
		cc.align = align;
		EXPECT_EQ(0, create_raw(self->c.fd, &cc))
			TH_LOG("align %u: %s", align, strerror(errno));
		EXPECT_EQ(0U, cc.object_stride % align) TH_LOG("align %u", align);
		kt_cache_destroy(self->c.fd, cc.cache_id);
	}
}

TEST_F(uapi, cache_create_empty_name_is_einval)
{
	struct karena_cache_create cc;

	fill_create(&cc, "", 64);
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(uapi, cache_create_unterminated_name_is_einval)
{
	struct karena_cache_create cc;

	fill_create(&cc, "", 64);
	memset(cc.name, 'a', KARENA_NAME_LEN);
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(uapi, cache_create_longest_name_works)
{
	struct karena_cache_create cc;

	fill_create(&cc, "", 64);
	memset(cc.name, 'b', KARENA_NAME_LEN - 1);
	EXPECT_EQ(0, create_raw(self->c.fd, &cc)) TH_LOG("%s", strerror(errno));
}

TEST_F(uapi, cache_create_every_allowed_character_works)
{
	struct karena_cache_create cc;

	fill_create(&cc, "AZaz09_.-", 64);
	EXPECT_EQ(0, create_raw(self->c.fd, &cc)) TH_LOG("%s", strerror(errno));
}

TEST_F(uapi, cache_create_bad_name_character_is_einval)
{
	static const char bad[] = " /\\\n\t%*:;,'\"$()[]{}<>|!?~`@#&=+^\x01\x7f\x80\xff";
	struct karena_cache_create cc;
	unsigned int k;

	for (k = 0; k < sizeof(bad) - 1; k++) {
		fill_create(&cc, "ab", 64);
		cc.name[1] = bad[k];
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("character %#x",
						(unsigned char)bad[k]);
	}
}

TEST_F(uapi, cache_create_duplicate_name_is_eexist)
{
	struct karena_cache_create cc;

	fill_create(&cc, "twice", 64);
	ASSERT_EQ(0, create_raw(self->c.fd, &cc));
	fill_create(&cc, "twice", 128);
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
	EXPECT_EQ(EEXIST, errno);
}

TEST_F(uapi, cache_create_name_of_another_client_works)
{
	struct kt_client other;
	struct karena_cache_create cc;

	ASSERT_EQ(0, kt_open(&other));
	fill_create(&cc, "shared.name", 64);
	ASSERT_EQ(0, create_raw(other.fd, &cc));
	fill_create(&cc, "shared.name", 64);
	EXPECT_EQ(0, create_raw(self->c.fd, &cc)) TH_LOG("%s", strerror(errno));
	kt_close(&other);
}

TEST_F(uapi, cache_create_name_is_free_again_after_destroy)
{
	struct karena_cache_create cc;

	fill_create(&cc, "again", 64);
	ASSERT_EQ(0, create_raw(self->c.fd, &cc));
	ASSERT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
	fill_create(&cc, "again", 64);
	EXPECT_EQ(0, create_raw(self->c.fd, &cc)) TH_LOG("%s", strerror(errno));
}

TEST_F(uapi, cache_create_output_field_nonzero_is_einval)
{
	static const size_t fields[] = {
		offsetof(struct karena_cache_create, cache_id),
		offsetof(struct karena_cache_create, object_stride),
		offsetof(struct karena_cache_create, slab_bytes),
		offsetof(struct karena_cache_create, objs_per_slab),
		offsetof(struct karena_cache_create, object_offset),
	};
	struct karena_cache_create cc;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(fields); k++) {
		fill_create(&cc, "outfield", 64);
		*(__u32 *)((char *)&cc + fields[k]) = 64;
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("field at %zu", fields[k]);
	}
}

TEST_F(uapi, cache_create_each_reserved_word_nonzero_is_einval)
{
	struct karena_cache_create cc;
	int k;

	for (k = 0; k < 2; k++) {
		fill_create(&cc, "reserved", 64);
		cc.reserved[k] = 1;
		errno = 0;
		EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", k);
	}
}

TEST_F(uapi, cache_create_beyond_max_caches_is_enomem)
{
	struct karena_cache_create cc;
	char name[KARENA_NAME_LEN];
	__u32 i;

	for (i = 0; i < self->c.info.max_caches; i++) {
		snprintf(name, sizeof(name), "many%u", i);
		fill_create(&cc, name, 16);
		ASSERT_EQ(0, create_raw(self->c.fd, &cc))
			TH_LOG("cache %u: %s", i, strerror(errno));
	}
	fill_create(&cc, "one.too.many", 16);
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, &cc));
	EXPECT_EQ(ENOMEM, errno);
}

/* The reply cannot be written: the cache must not exist afterwards. */
TEST_F(uapi, cache_create_read_only_arg_is_efault_and_rolled_back)
{
	struct karena_cache_create *cc = (void *)anon_pages(self->c.page, 1);
	struct karena_stats st;

	ASSERT_NE(NULL, cc);
	fill_create(cc, "rollback", 64);
	ASSERT_EQ(0, mprotect(cc, self->c.page, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, create_raw(self->c.fd, cc));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(0U, st.nr_caches);
	EXPECT_EQ(0, kt_cache_create(self->c.fd, "rollback", 64, 0, 0, NULL));
}

/* --- CACHE_DESTROY --- */

TEST_F(uapi, cache_destroy_id_zero_is_enoent)
{
	errno = 0;
	EXPECT_EQ(-ENOENT, kt_cache_destroy(self->c.fd, 0));
}

TEST_F(uapi, cache_destroy_unknown_id_is_enoent)
{
	struct karena_cache_create cc;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "known", 64, 0, 0, &cc));
	EXPECT_EQ(-ENOENT, kt_cache_destroy(self->c.fd, cc.cache_id + 1000));
	EXPECT_EQ(-ENOENT, kt_cache_destroy(self->c.fd, 0xffffffffU));
	EXPECT_EQ(-ENOENT, kt_cache_destroy(self->c.fd, 0x80000000U));
}

TEST_F(uapi, cache_destroy_twice_is_enoent)
{
	struct karena_cache_create cc;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "once", 64, 0, 0, &cc));
	ASSERT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
	EXPECT_EQ(-ENOENT, kt_cache_destroy(self->c.fd, cc.cache_id));
}

/* This client has no cache at all; the other client's id names none here. */
TEST_F(uapi, cache_destroy_of_another_clients_cache_is_enoent)
{
	struct karena_cache_create cc;
	struct kt_client other;

	ASSERT_EQ(0, kt_open(&other));
	ASSERT_EQ(0, kt_cache_create(other.fd, "theirs", 64, 0, 0, &cc));
	EXPECT_EQ(-ENOENT, kt_cache_destroy(self->c.fd, cc.cache_id));
	EXPECT_EQ(0, kt_cache_destroy(other.fd, cc.cache_id));
	kt_close(&other);
}

TEST_F(uapi, cache_destroy_with_live_objects_is_ebusy)
{
	struct karena_cache_create cc;
	__u64 off[2];
	__u32 done;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "busy", 64, 0, 0, &cc));
	ASSERT_EQ(0, kt_alloc(self->c.fd, cc.cache_id, 2, off, &done));
	ASSERT_EQ(2U, done);
	EXPECT_EQ(-EBUSY, kt_cache_destroy(self->c.fd, cc.cache_id));
	ASSERT_EQ(0, kt_free(self->c.fd, cc.cache_id, 1, off, &done));
	EXPECT_EQ(-EBUSY, kt_cache_destroy(self->c.fd, cc.cache_id));
	ASSERT_EQ(0, kt_free(self->c.fd, cc.cache_id, 1, off + 1, &done));
	EXPECT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
}

/* --- ALLOC_BULK and FREE_BULK --- */

FIXTURE(bulk) {
	struct kt_client c;
	struct karena_cache_create cc;	/* 48-byte objects, align 16 */
	struct karena_cache_create cc2;	/* another cache, 48 bytes */
	__u64 offs[KARENA_MAX_BATCH + 1];
};

FIXTURE_SETUP(bulk)
{
	KT_SETUP_CLIENT(&self->c, true);
	ASSERT_EQ(0, kt_cache_create(self->c.fd, "bulk", 48, 16, 0,
				     &self->cc));
	ASSERT_EQ(0, kt_cache_create(self->c.fd, "bulk2", 48, 16, 0,
				     &self->cc2));
}

FIXTURE_TEARDOWN(bulk)
{
	kt_close(&self->c);
}

static int bulk_raw(int fd, unsigned long cmd, struct karena_bulk *b)
{
	return ioctl(fd, cmd, b);
}

TEST_F(bulk, alloc_count_zero_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id, .count = 0,
				 .offsets = (__u64)(unsigned long)self->offs };

	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_ALLOC_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, alloc_count_over_max_batch_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id,
				 .count = KARENA_MAX_BATCH + 1,
				 .offsets = (__u64)(unsigned long)self->offs };

	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_ALLOC_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, alloc_count_huge_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id,
				 .count = 0xffffffffU,
				 .offsets = (__u64)(unsigned long)self->offs };

	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_ALLOC_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, alloc_done_nonzero_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id, .count = 1,
				 .done = 1,
				 .offsets = (__u64)(unsigned long)self->offs };

	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_ALLOC_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, alloc_cache_zero_is_enoent)
{
	EXPECT_EQ(-ENOENT, kt_alloc(self->c.fd, 0, 1, self->offs, NULL));
}

TEST_F(bulk, alloc_unknown_cache_is_enoent)
{
	EXPECT_EQ(-ENOENT, kt_alloc(self->c.fd, 0xffffffffU, 1, self->offs,
				    NULL));
}

TEST_F(bulk, alloc_from_destroyed_cache_is_enoent)
{
	struct karena_cache_create cc;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "gone", 32, 0, 0, &cc));
	ASSERT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
	EXPECT_EQ(-ENOENT, kt_alloc(self->c.fd, cc.cache_id, 1, self->offs,
				    NULL));
}

TEST_F(bulk, alloc_from_another_clients_cache_is_enoent)
{
	struct karena_cache_create cc;
	struct kt_client other;
	char name[KARENA_NAME_LEN];
	__u32 id;
	int i;

	ASSERT_EQ(0, kt_open(&other));
	/* An id of the other client's that this client does not have. */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "theirs%d", i);
		ASSERT_EQ(0, kt_cache_create(other.fd, name, 32, 0, 0, &cc));
		id = cc.cache_id;
		if (id != self->cc.cache_id && id != self->cc2.cache_id)
			break;
	}
	ASSERT_NE(self->cc.cache_id, id);
	ASSERT_NE(self->cc2.cache_id, id);
	EXPECT_EQ(-ENOENT, kt_alloc(self->c.fd, id, 1, self->offs, NULL));
	kt_close(&other);
}

/* Nothing may stay allocated when the offsets cannot be written. */
static void expect_nothing_allocated(struct __test_metadata *_metadata,
				     int fd, const struct snapshot *before)
{
	struct snapshot now;

	take_snapshot(_metadata, fd, &now);
	EXPECT_EQ(before->st.objects, now.st.objects);
	EXPECT_EQ(before->st.objects_allocated - before->st.objects_freed,
		  now.st.objects_allocated - now.st.objects_freed);
	EXPECT_EQ(before->st.bytes, now.st.bytes);
	EXPECT_EQ(before->arena_free, now.arena_free);
}

/*
 * Keep one object live so that the cache's first slab exists before the
 * failing call: then nothing in the arena may move because of it.
 */
static __u64 warm(struct __test_metadata *_metadata, int fd, __u32 cache_id)
{
	__u64 off = 0;
	__u32 done;

	EXPECT_EQ(0, kt_alloc(fd, cache_id, 1, &off, &done));
	EXPECT_EQ(1U, done);
	return off;
}

TEST_F(bulk, alloc_offsets_null_is_efault_and_allocates_nothing)
{
	struct snapshot before;

	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	EXPECT_EQ(-EFAULT, kt_alloc(self->c.fd, self->cc.cache_id, 4, NULL,
				    NULL));
	expect_nothing_allocated(_metadata, self->c.fd, &before);
}

TEST_F(bulk, alloc_offsets_kernel_address_is_efault_and_allocates_nothing)
{
	struct snapshot before;

	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	EXPECT_EQ(-EFAULT, kt_alloc(self->c.fd, self->cc.cache_id, 4,
				    KT_KERNEL_PTR, NULL));
	expect_nothing_allocated(_metadata, self->c.fd, &before);
}

TEST_F(bulk, alloc_offsets_read_only_is_efault_and_rolled_back)
{
	__u64 *ro = (void *)anon_pages(self->c.page, 1);
	struct snapshot before;

	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, mprotect(ro, self->c.page, PROT_READ));
	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	EXPECT_EQ(-EFAULT, kt_alloc(self->c.fd, self->cc.cache_id, 4, ro,
				    NULL));
	expect_nothing_allocated(_metadata, self->c.fd, &before);
}

/* The array's first entries writable, the last one not. */
TEST_F(bulk, alloc_offsets_straddling_prot_none_is_efault_and_rolled_back)
{
	char *buf = anon_pages(self->c.page, 2);
	struct snapshot before;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mprotect(buf + self->c.page, self->c.page, PROT_NONE));
	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	EXPECT_EQ(-EFAULT, kt_alloc(self->c.fd, self->cc.cache_id, 4,
				    (__u64 *)(buf + self->c.page - 24), NULL));
	expect_nothing_allocated(_metadata, self->c.fd, &before);
}

/* The struct itself is read-only: done cannot be written back. */
TEST_F(bulk, alloc_read_only_arg_is_efault_and_rolled_back)
{
	struct karena_bulk *b = (void *)anon_pages(self->c.page, 1);
	struct snapshot before;

	ASSERT_NE(NULL, b);
	b->cache_id = self->cc.cache_id;
	b->count = 2;
	b->offsets = (__u64)(unsigned long)self->offs;
	ASSERT_EQ(0, mprotect(b, self->c.page, PROT_READ));
	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_ALLOC_BULK, b));
	EXPECT_EQ(EFAULT, errno);
	expect_nothing_allocated(_metadata, self->c.fd, &before);
}

/* What a successful allocation promises, for a full batch. */
TEST_F(bulk, alloc_full_batch_gives_distinct_aligned_zeroed_objects)
{
	__u32 done, i, j;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc.cache_id, KARENA_MAX_BATCH,
			      self->offs, &done));
	ASSERT_LE(1U, done);
	ASSERT_GE((__u32)KARENA_MAX_BATCH, done);
	for (i = 0; i < done; i++) {
		__u64 off = self->offs[i];

		ASSERT_GE(self->c.info.window_bytes, off + 48) TH_LOG("%u", i);
		EXPECT_EQ(0U, off % 16) TH_LOG("offset %#llx",
					       (unsigned long long)off);
		EXPECT_EQ(-1, kt_first_nonzero(self->c.win + off, 48))
			TH_LOG("object %u at %#llx", i, (unsigned long long)off);
		memset(self->c.win + off, 0xa5, 48);
	}
	for (i = 0; i < done; i++) {
		for (j = i + 1; j < done; j++) {
			ASSERT_LE(48U, self->offs[i] > self->offs[j] ?
				  self->offs[i] - self->offs[j] :
				  self->offs[j] - self->offs[i])
				TH_LOG("objects %u and %u overlap", i, j);
		}
	}
}

TEST_F(bulk, free_count_zero_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id, .count = 0,
				 .offsets = (__u64)(unsigned long)self->offs };

	self->offs[0] = warm(_metadata, self->c.fd, self->cc.cache_id);
	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_FREE_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, free_count_over_max_batch_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id,
				 .count = KARENA_MAX_BATCH + 1,
				 .offsets = (__u64)(unsigned long)self->offs };

	self->offs[0] = warm(_metadata, self->c.fd, self->cc.cache_id);
	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_FREE_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, free_done_nonzero_is_einval)
{
	struct karena_bulk b = { .cache_id = self->cc.cache_id, .count = 1,
				 .done = 1,
				 .offsets = (__u64)(unsigned long)self->offs };

	self->offs[0] = warm(_metadata, self->c.fd, self->cc.cache_id);
	errno = 0;
	EXPECT_EQ(-1, bulk_raw(self->c.fd, KARENA_IOC_FREE_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(bulk, free_unknown_cache_is_enoent)
{
	self->offs[0] = warm(_metadata, self->c.fd, self->cc.cache_id);
	EXPECT_EQ(-ENOENT, kt_free(self->c.fd, 0xfffffffeU, 1, self->offs,
				   NULL));
}

TEST_F(bulk, free_into_destroyed_cache_is_enoent)
{
	struct karena_cache_create cc;
	__u64 off;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "gone", 48, 16, 0, &cc));
	ASSERT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
	off = warm(_metadata, self->c.fd, self->cc.cache_id);
	EXPECT_EQ(-ENOENT, kt_free(self->c.fd, cc.cache_id, 1, &off, NULL));
}

TEST_F(bulk, free_offsets_null_is_efault_and_frees_nothing)
{
	struct snapshot before;

	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	EXPECT_EQ(-EFAULT, kt_free(self->c.fd, self->cc.cache_id, 1, NULL,
				   NULL));
	expect_unchanged(_metadata, self->c.fd, &before);
}

TEST_F(bulk, free_offsets_prot_none_is_efault_and_frees_nothing)
{
	char *buf = anon_pages(self->c.page, 1);
	struct snapshot before;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mprotect(buf, self->c.page, PROT_NONE));
	warm(_metadata, self->c.fd, self->cc.cache_id);
	take_snapshot(_metadata, self->c.fd, &before);
	EXPECT_EQ(-EFAULT, kt_free(self->c.fd, self->cc.cache_id, 1,
				   (__u64 *)buf, NULL));
	expect_unchanged(_metadata, self->c.fd, &before);
}

/*
 * One bad offset, alone in the array: @expect, done = 0, the call counted
 * once in bad_frees, the cache's live object untouched.
 */
static void expect_bad_free(struct __test_metadata *_metadata, int fd,
			    __u32 cache_id, __u64 bad, int expect)
{
	struct karena_stats st;
	__u64 bf = bad_frees(_metadata, fd);
	__u32 done = 0xdead;

	EXPECT_EQ(expect, kt_free(fd, cache_id, 1, &bad, &done))
		TH_LOG("offset %#llx", (unsigned long long)bad);
	EXPECT_EQ(0U, done);
	EXPECT_EQ(bf + 1, bad_frees(_metadata, fd));
	ASSERT_EQ(0, kt_stats(fd, &st));
	EXPECT_EQ(st.objects_allocated - st.objects_freed, st.objects);
}

TEST_F(bulk, free_interior_offset_is_einval)
{
	__u64 off = warm(_metadata, self->c.fd, self->cc.cache_id);

	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off + 16, -EINVAL);
}

TEST_F(bulk, free_misaligned_offset_is_einval)
{
	__u64 off = warm(_metadata, self->c.fd, self->cc.cache_id);

	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off + 1, -EINVAL);
}

TEST_F(bulk, free_offset_just_before_object_is_einval)
{
	__u64 off, offs[2];
	__u32 done;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc.cache_id, 2, offs, &done));
	ASSERT_EQ(2U, done);
	off = offs[0] > offs[1] ? offs[0] : offs[1];
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off - 8, -EINVAL);
}

/* A live object, but of the other cache. */
TEST_F(bulk, free_object_of_another_cache_is_einval)
{
	__u64 off;
	__u32 done;

	warm(_metadata, self->c.fd, self->cc.cache_id);
	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc2.cache_id, 1, &off, &done));
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off, -EINVAL);
	EXPECT_EQ(0, kt_free(self->c.fd, self->cc2.cache_id, 1, &off, NULL));
}

TEST_F(bulk, free_page_block_offset_is_einval)
{
	__u64 off;

	warm(_metadata, self->c.fd, self->cc.cache_id);
	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 0, &off));
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off, -EINVAL);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

TEST_F(bulk, free_offset_at_window_end_is_einval)
{
	warm(_metadata, self->c.fd, self->cc.cache_id);
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id,
			self->c.info.window_bytes, -EINVAL);
}

TEST_F(bulk, free_offset_all_ones_is_einval)
{
	warm(_metadata, self->c.fd, self->cc.cache_id);
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, ~0ULL, -EINVAL);
}

TEST_F(bulk, free_offset_top_bit_is_einval)
{
	__u64 off = warm(_metadata, self->c.fd, self->cc.cache_id);

	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off | 1ULL << 63,
			-EINVAL);
}

/* offset + object size wraps around to 0. */
TEST_F(bulk, free_offset_wrapping_u64_is_einval)
{
	warm(_metadata, self->c.fd, self->cc.cache_id);
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, -48ULL, -EINVAL);
}

TEST_F(bulk, free_twice_is_enoent)
{
	__u64 off[2];
	__u32 done;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc.cache_id, 2, off, &done));
	ASSERT_EQ(2U, done);
	ASSERT_EQ(0, kt_free(self->c.fd, self->cc.cache_id, 1, off, &done));
	ASSERT_EQ(1U, done);
	expect_bad_free(_metadata, self->c.fd, self->cc.cache_id, off[0], -ENOENT);
}

TEST_F(bulk, free_same_object_twice_in_one_call_is_enoent_at_second)
{
	__u64 off[3];
	__u32 done;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc.cache_id, 2, off, &done));
	ASSERT_EQ(2U, done);
	off[2] = off[0];
	EXPECT_EQ(-ENOENT, kt_free(self->c.fd, self->cc.cache_id, 3, off,
				   &done));
	EXPECT_EQ(2U, done);
}

/*
 * [a, b, bad, c]: a and b are freed, the call stops at index 2, c is not
 * touched.
 */
TEST_F(bulk, free_stops_at_first_bad_entry)
{
	struct karena_stats before, after;
	__u64 off[4];
	__u32 done;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc.cache_id, 3, off, &done));
	ASSERT_EQ(3U, done);
	off[3] = off[2];
	off[2] = off[0] + 1;
	ASSERT_EQ(0, kt_stats(self->c.fd, &before));
	done = 0;
	errno = 0;
	EXPECT_EQ(-EINVAL, kt_free(self->c.fd, self->cc.cache_id, 4, off,
				   &done));
	EXPECT_EQ(2U, done);
	ASSERT_EQ(0, kt_stats(self->c.fd, &after));
	EXPECT_EQ(before.objects - 2, after.objects);
	EXPECT_EQ(before.objects_freed + 2, after.objects_freed);
	EXPECT_EQ(before.bad_frees + 1, after.bad_frees);
	/* a and b are free now, c still lives. */
	EXPECT_EQ(-ENOENT, kt_free(self->c.fd, self->cc.cache_id, 1, &off[0],
				   NULL));
	EXPECT_EQ(-ENOENT, kt_free(self->c.fd, self->cc.cache_id, 1, &off[1],
				   NULL));
	EXPECT_EQ(0, kt_free(self->c.fd, self->cc.cache_id, 1, &off[3], NULL));
}

/* Every rejected call counts exactly once, however many entries follow. */
TEST_F(bulk, bad_frees_count_one_per_rejected_call)
{
	__u64 off[3], bf;
	__u32 done;
	int i;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cc.cache_id, 1, off, &done));
	off[1] = off[0] + 1;
	off[2] = off[0] + 2;
	bf = bad_frees(_metadata, self->c.fd);
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(-EINVAL, kt_free(self->c.fd, self->cc.cache_id, 2,
					   off + 1, NULL));
	}
	EXPECT_EQ(bf + 5, bad_frees(_metadata, self->c.fd));
}

/* --- PAGES_ALLOC and PAGES_FREE --- */

static int pages_raw(int fd, unsigned long cmd, struct karena_pages *p)
{
	return ioctl(fd, cmd, p);
}

TEST_F(uapi, pages_alloc_order_over_max_is_einval)
{
	__u64 off;

	EXPECT_EQ(-EINVAL, kt_pages_alloc(self->c.fd,
					  self->c.info.max_order + 1, &off));
}

TEST_F(uapi, pages_alloc_order_huge_is_einval)
{
	static const __u32 orders[] = { 31, 32, 63, 64, 0x7fffffffU,
					0xffffffffU };
	unsigned int k;
	__u64 off;

	for (k = 0; k < ARRAY_SIZE(orders); k++) {
		EXPECT_EQ(-EINVAL, kt_pages_alloc(self->c.fd, orders[k], &off))
			TH_LOG("order %#x", orders[k]);
	}
}

TEST_F(uapi, pages_alloc_offset_nonzero_is_einval)
{
	struct karena_pages p = { .order = 0, .offset = 4096 };

	errno = 0;
	EXPECT_EQ(-1, pages_raw(self->c.fd, KARENA_IOC_PAGES_ALLOC, &p));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(uapi, pages_alloc_each_reserved_word_nonzero_is_einval)
{
	struct karena_pages p;
	int k;

	for (k = 0; k < 2; k++) {
		memset(&p, 0, sizeof(p));
		p.reserved[k] = 1;
		errno = 0;
		EXPECT_EQ(-1, pages_raw(self->c.fd, KARENA_IOC_PAGES_ALLOC, &p));
		EXPECT_EQ(EINVAL, errno) TH_LOG("reserved[%d]", k);
	}
}

TEST_F(uapi, pages_alloc_read_only_arg_is_efault_and_rolled_back)
{
	struct karena_pages *p = (void *)anon_pages(self->c.page, 1);
	struct snapshot before, now;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mprotect(p, self->c.page, PROT_READ));
	take_snapshot(_metadata, self->c.fd, &before);
	errno = 0;
	EXPECT_EQ(-1, pages_raw(self->c.fd, KARENA_IOC_PAGES_ALLOC, p));
	EXPECT_EQ(EFAULT, errno);
	take_snapshot(_metadata, self->c.fd, &now);
	EXPECT_EQ(before.st.block_bytes, now.st.block_bytes);
	EXPECT_EQ(before.st.bytes, now.st.bytes);
	EXPECT_EQ(before.arena_free, now.arena_free);
}

/* Each order up to max_order (while the quota allows): where it should be. */
TEST_F(uapi, pages_alloc_every_order_is_aligned_and_zeroed)
{
	__u64 off, bytes, used = 0;
	__u32 order;

	for (order = 0; order <= self->c.info.max_order; order++) {
		bytes = (__u64)self->c.page << order;
		if (used + bytes > self->c.info.quota_bytes)
			break;
		ASSERT_EQ(0, kt_pages_alloc(self->c.fd, order, &off))
			TH_LOG("order %u", order);
		EXPECT_EQ(0U, off % self->c.page);
		ASSERT_GE(self->c.info.window_bytes, off + bytes);
		EXPECT_EQ(-1, kt_first_nonzero(self->c.win + off, bytes))
			TH_LOG("order %u", order);
		used += bytes;
	}
	EXPECT_LT(0U, order);
}

TEST_F(uapi, pages_free_reports_the_order)
{
	struct karena_pages p = { 0 };
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 1, &off));
	p.offset = off;
	ASSERT_EQ(0, pages_raw(self->c.fd, KARENA_IOC_PAGES_FREE, &p));
	EXPECT_EQ(1U, p.order);
}

TEST_F(uapi, pages_free_order_nonzero_is_einval)
{
	struct karena_pages p = { 0 };
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 0, &off));
	p.offset = off;
	p.order = 1;
	errno = 0;
	EXPECT_EQ(-1, pages_raw(self->c.fd, KARENA_IOC_PAGES_FREE, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

/* A rejected PAGES_FREE is a bad free: EINVAL, counted once. */
static void expect_bad_pages_free(struct __test_metadata *_metadata,
				  int fd, __u64 off)
{
	__u64 bf = bad_frees(_metadata, fd);

	EXPECT_EQ(-EINVAL, kt_pages_free(fd, off))
		TH_LOG("offset %#llx", (unsigned long long)off);
	EXPECT_EQ(bf + 1, bad_frees(_metadata, fd));
}

TEST_F(uapi, pages_free_interior_page_is_einval)
{
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 2, &off));
	expect_bad_pages_free(_metadata, self->c.fd, off + self->c.page);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

TEST_F(uapi, pages_free_last_page_of_block_is_einval)
{
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 2, &off));
	expect_bad_pages_free(_metadata, self->c.fd, off + 3 * self->c.page);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

TEST_F(uapi, pages_free_unaligned_offset_is_einval)
{
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 0, &off));
	expect_bad_pages_free(_metadata, self->c.fd, off + 1);
	expect_bad_pages_free(_metadata, self->c.fd, off + self->c.page / 2);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

TEST_F(uapi, pages_free_object_offset_is_einval)
{
	struct karena_cache_create cc;
	__u64 obj;
	__u32 done;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "objs", 64, 0, 0, &cc));
	ASSERT_EQ(0, kt_alloc(self->c.fd, cc.cache_id, 1, &obj, &done));
	expect_bad_pages_free(_metadata, self->c.fd, obj);
	/* Even the slab's first page, which is page aligned, is no block. */
	expect_bad_pages_free(_metadata, self->c.fd,
			      obj - obj % self->c.page);
}

TEST_F(uapi, pages_free_never_allocated_is_einval)
{
	expect_bad_pages_free(_metadata, self->c.fd, 0);
	expect_bad_pages_free(_metadata, self->c.fd,
			      self->c.info.window_bytes - self->c.page);
}

TEST_F(uapi, pages_free_twice_is_einval)
{
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 0, &off));
	ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	expect_bad_pages_free(_metadata, self->c.fd, off);
}

TEST_F(uapi, pages_free_at_window_end_is_einval)
{
	expect_bad_pages_free(_metadata, self->c.fd, self->c.info.window_bytes);
}

TEST_F(uapi, pages_free_all_ones_is_einval)
{
	expect_bad_pages_free(_metadata, self->c.fd, ~0ULL);
}

TEST_F(uapi, pages_free_page_aligned_huge_offset_is_einval)
{
	expect_bad_pages_free(_metadata, self->c.fd,
			      ~0ULL & ~(__u64)(self->c.page - 1));
}

/* --- The client belongs to its opener --- */

static int foreign_child(void *arg)
{
	return try_as_foreigner(arg);
}

/*
 * Fill @a with a block of @c, the arguments of a foreigner's commands
 * (EPERM comes before any argument is looked at: cache 1 and an object
 * at the block's offset are as good as real ones).
 */
static void make_foreign_args(struct __test_metadata *_metadata,
			      struct kt_client *c, struct foreign_args *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = c->fd;
	a->page = c->page;
	a->window_bytes = c->info.window_bytes;
	ASSERT_EQ(0, kt_pages_alloc(c->fd, 0, &a->block));
	a->cache_id = 1;
	a->object = a->block;
}

TEST_F(uapi, forked_child_gets_eperm_for_everything)
{
	struct karena_stats before, after;
	struct foreign_args a;

	make_foreign_args(_metadata, &self->c, &a);
	ASSERT_EQ(0, kt_stats(self->c.fd, &before));
	EXPECT_EQ(1000, kt_in_child(foreign_child, &a));
	/* The opener is unaffected: same usage, and it still works. */
	ASSERT_EQ(0, kt_stats(self->c.fd, &after));
	EXPECT_EQ(before.nr_caches, after.nr_caches);
	EXPECT_EQ(before.objects, after.objects);
	EXPECT_EQ(before.block_bytes, after.block_bytes);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, a.block));
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'k';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -EPIPE;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * The child opens a client, fills it, and sends the fd (and what it
 * allocated) to this process, which never had the file before.
 */
TEST_F(uapi, fd_received_by_scm_rights_gets_eperm_for_everything)
{
	struct foreign_args a;
	int sv[2], status, fd;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kt_client c;
		char go;

		close(sv[0]);
		if (kt_open(&c))
			_exit(10);
		make_foreign_args(_metadata, &c, &a);
		if (send_fd(sv[1], c.fd) ||
		    write(sv[1], &a, sizeof(a)) != sizeof(a))
			_exit(11);
		/* Stay alive (the opener exists) until the parent is done. */
		if (read(sv[1], &go, 1) != 1)
			_exit(12);
		_exit(0);
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(a), read(sv[0], &a, sizeof(a)));
	a.fd = fd;
	EXPECT_EQ(0, try_as_foreigner(&a));
	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The opener has exited; this process still is not the opener. */
	EXPECT_EQ(0, try_as_foreigner(&a));
	close(fd);
}

/*
 * The opener itself calls execve() with the fd open: the new program
 * image is not the opener any more.
 */
static int exec_child(void *arg)
{
	struct foreign_args a;
	struct __test_metadata *_metadata = arg;
	struct kt_client c;
	char env[128];

	if (kt_open(&c))
		return 20;
	make_foreign_args(_metadata, &c, &a);
	if (fcntl(c.fd, F_SETFD, 0))
		return 21;
	snprintf(env, sizeof(env), "%d,%u,%llu,%llu,%lu", c.fd, a.cache_id,
		 (unsigned long long)a.object, (unsigned long long)a.block,
		 (unsigned long)a.window_bytes);
	setenv(EXEC_PROBE_ENV, env, 1);
	execl("/proc/self/exe", "uapi_test", (char *)NULL);
	return 22;
}

TEST_F(uapi, fd_kept_across_execve_gets_eperm_for_everything)
{
	EXPECT_EQ(1000, kt_in_child(exec_child, _metadata));
}

/* --- karena's other files: debugfs --- */

TEST_F(uapi, karena_command_on_debugfs_file_is_enotty)
{
	struct karena_info info = { 0 };
	int fd = open("/sys/kernel/debug/karena/version", O_RDONLY);

	if (fd < 0)
		SKIP(return, "no /sys/kernel/debug/karena/version: %s",
		     strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, KARENA_IOC_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

/* A debugfs file has no mmap: it never becomes a second window. */
TEST_F(uapi, mmap_of_debugfs_file_is_enodev)
{
	int fd = open("/sys/kernel/debug/karena/version", O_RDONLY);
	void *p;

	if (fd < 0)
		SKIP(return, "no /sys/kernel/debug/karena/version: %s",
		     strerror(errno));
	errno = 0;
	p = mmap(NULL, self->c.page, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

/* dup() shares the client: same process, same file, same state. */
TEST_F(uapi, dup_fd_is_the_same_client)
{
	struct karena_stats st;
	__u64 off;
	int fd = dup(self->c.fd);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_pages_alloc(fd, 0, &off));
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(self->c.page, st.block_bytes);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
	close(fd);
}

TEST_HARNESS_MAIN
