// SPDX-License-Identifier: GPL-2.0
/*
 * libkarena's API at its edges, on the real device: malloc(0), class
 * boundaries n-1/n/n+1, the largest block and beyond, SIZE_MAX, calloc
 * and reallocarray overflow, realloc to 0 and from NULL, contents kept,
 * alignment 1..4096 and invalid alignments, usable sizes, page blocks,
 * object caches, a second heap, fork.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "lib_test_util.h"

/* The largest block: 4 MiB with the module's default max_order. */
#define MAX_BLOCK	(4UL << 20)

/* No state: the fixture exists for the timeouts (TCG, debug kernel). */
FIXTURE(api) {
	int unused;
};

FIXTURE_SETUP(api)
{
}

FIXTURE_TEARDOWN(api)
{
}

TEST_F_TIMEOUT(api, malloc_zero_is_unique, 120)
{
	void *a, *b;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	a = ka_malloc(0);
	b = ka_malloc(0);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_NE(a, b);
	EXPECT_LE(1U, ka_malloc_usable_size(a));
	ka_free(a);
	ka_free(b);
	ka_free(NULL);
	EXPECT_EQ(0U, ka_malloc_usable_size(NULL));
}

/* n-1, n and n+1 of every class: the usable size is the class's. */
TEST_F_TIMEOUT(api, class_boundaries, 120)
{
	void *p[LT_NR_CLASSES][3];
	unsigned int i, j;
	size_t size, want;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (i = 0; i < LT_NR_CLASSES; i++) {
		for (j = 0; j < 3; j++) {
			size = lt_classes[i] - 1 + j;
			want = j < 2 ? lt_classes[i] :
			       i + 1 < LT_NR_CLASSES ? lt_classes[i + 1] :
			       32768;	/* 5 pages: a block of order 3 */
			p[i][j] = ka_malloc(size);
			ASSERT_NE(NULL, p[i][j]) TH_LOG("malloc(%zu)", size);
			EXPECT_EQ(want, ka_malloc_usable_size(p[i][j]))
				TH_LOG("usable size of malloc(%zu)", size);
			EXPECT_EQ(0U, (uintptr_t)p[i][j] % 16);
			lt_stamp(p[i][j], size, i * 3 + j);
		}
	}
	for (i = 0; i < LT_NR_CLASSES; i++) {
		for (j = 0; j < 3; j++) {
			size = lt_classes[i] - 1 + j;
			EXPECT_TRUE(lt_stamp_ok(p[i][j], size, i * 3 + j))
				TH_LOG("contents of malloc(%zu)", size);
			ka_free(p[i][j]);
		}
	}
}

TEST_F_TIMEOUT(api, one_byte_and_page_sizes, 120)
{
	size_t sizes[] = { 1, 4095, 4096, 4097, 65536, 65537, 1 << 20 };
	unsigned int i;
	void *p;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		p = ka_malloc(sizes[i]);
		ASSERT_NE(NULL, p);
		EXPECT_LE(sizes[i], ka_malloc_usable_size(p));
		memset(p, 0xa5, sizes[i]);
		ka_free(p);
	}
}

/* The client's quota, from the kernel. */
static size_t lt_quota(void)
{
	struct ka_client_stats cs;

	return ka_client_stats(NULL, &cs) ? 0 : cs.quota_bytes;
}

TEST_F_TIMEOUT(api, largest_block_and_beyond, 120)
{
	void *p, *small;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	p = ka_malloc(MAX_BLOCK);
	ASSERT_NE(NULL, p) TH_LOG("malloc(4 MiB): %s", strerror(errno));
	EXPECT_EQ(MAX_BLOCK, ka_malloc_usable_size(p));
	EXPECT_EQ(0U, (uintptr_t)p % MAX_BLOCK) TH_LOG("a block is aligned to its size");
	memset(p, 1, MAX_BLOCK);
	ka_free(p);

	/* Beyond it, a run of chunks (Documentation/library.rst). */
	p = ka_malloc(MAX_BLOCK + 1);
	ASSERT_NE(NULL, p) TH_LOG("malloc(4 MiB + 1): %s", strerror(errno));
	EXPECT_EQ(2 * MAX_BLOCK, ka_malloc_usable_size(p));
	EXPECT_EQ(0U, (uintptr_t)p % MAX_BLOCK);
	memset(p, 2, 2 * MAX_BLOCK);
	ka_free(p);
	/* Beyond the client's quota: ENOMEM. */
	errno = 0;
	EXPECT_EQ(NULL, ka_malloc(lt_quota() + 1));
	EXPECT_EQ(ENOMEM, errno);
	/* After a small malloc/free too (glibc bug 22375's shape). */
	small = ka_malloc(10);
	ka_free(small);
	errno = 0;
	EXPECT_EQ(NULL, ka_malloc(SIZE_MAX));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_malloc((size_t)PTRDIFF_MAX + 1));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_malloc(SIZE_MAX - 4095));
	EXPECT_EQ(ENOMEM, errno);
}

TEST_F_TIMEOUT(api, calloc_zeroes_and_checks_overflow, 120)
{
	unsigned char *p;
	unsigned int i, nonzero = 0;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	/* Dirty an object, free it, and get it back through calloc. */
	p = ka_malloc(300);
	ASSERT_NE(NULL, p);
	memset(p, 0xff, 300);
	ka_free(p);
	p = ka_calloc(3, 100);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 300; i++)
		nonzero += p[i] != 0;
	EXPECT_EQ(0U, nonzero);
	ka_free(p);

	p = ka_calloc(0, 10);
	EXPECT_NE(NULL, p);
	ka_free(p);
	errno = 0;
	EXPECT_EQ(NULL, ka_calloc(SIZE_MAX / 2 + 1, 2));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_calloc(1UL << 33, 1UL << 31));
	EXPECT_EQ(ENOMEM, errno);
	p = ka_calloc(1, 100000);
	ASSERT_NE(NULL, p);
	for (i = 0, nonzero = 0; i < 100000; i++)
		nonzero += p[i] != 0;
	EXPECT_EQ(0U, nonzero);
	ka_free(p);
}

TEST_F_TIMEOUT(api, realloc_semantics, 120)
{
	struct ka_stats before, after;
	char *p, *q;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	p = ka_realloc(NULL, 100);
	ASSERT_NE(NULL, p) TH_LOG("realloc(NULL, n) is malloc(n)");
	lt_stamp(p, 100, 1);

	q = ka_realloc(p, 110);		/* class 112 */
	EXPECT_EQ(p, q) TH_LOG("same class: in place");
	q = ka_realloc(q, 5000);	/* class 5120 */
	ASSERT_NE(NULL, q);
	EXPECT_NE(p, q);
	EXPECT_TRUE(lt_stamp_ok(q, 100, 1));
	lt_stamp(q, 5000, 2);
	p = ka_realloc(q, 200000);	/* block of order 6 */
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(lt_stamp_ok(p, 5000, 2));
	q = ka_realloc(p, 250000);	/* still order 6 */
	EXPECT_EQ(p, q);
	p = ka_realloc(q, 40);		/* shrink into a class */
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(lt_stamp_ok(p, 40, 2));
	EXPECT_EQ(48U, ka_malloc_usable_size(p));

	/* realloc(p, 0) frees p and returns NULL, as glibc does. */
	ka_heap_stats(NULL, &before);
	EXPECT_EQ(NULL, ka_realloc(p, 0));
	ka_heap_stats(NULL, &after);
	EXPECT_EQ(before.frees + 1, after.frees);

	/* A failed realloc leaves the memory alone. */
	p = ka_malloc(64);
	ASSERT_NE(NULL, p);
	lt_stamp(p, 64, 3);
	errno = 0;
	EXPECT_EQ(NULL, ka_realloc(p, SIZE_MAX));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_TRUE(lt_stamp_ok(p, 64, 3));
	errno = 0;
	EXPECT_EQ(NULL, ka_reallocarray(p, SIZE_MAX / 4, 8));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_TRUE(lt_stamp_ok(p, 64, 3));
	q = ka_reallocarray(p, 10, 100);
	ASSERT_NE(NULL, q);
	EXPECT_TRUE(lt_stamp_ok(q, 64, 3));
	ka_free(q);
}

TEST_F_TIMEOUT(api, alignment_honoured, 120)
{
	size_t sizes[] = { 1, 7, 100, 4096, 5000 };
	size_t a;
	unsigned int i;
	void *p;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (a = 1; a <= 4096; a <<= 1) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			p = ka_aligned_alloc(a, sizes[i]);
			ASSERT_NE(NULL, p);
			EXPECT_EQ(0U, (uintptr_t)p % a)
				TH_LOG("aligned_alloc(%zu, %zu) = %p", a,
				       sizes[i], p);
			EXPECT_LE(sizes[i], ka_malloc_usable_size(p));
			memset(p, 0x3c, sizes[i]);
			ka_free(p);
			if (a < sizeof(void *))
				continue;
			p = NULL;
			ret = ka_posix_memalign(&p, a, sizes[i]);
			ASSERT_EQ(0, ret);
			EXPECT_EQ(0U, (uintptr_t)p % a);
			ka_free(p);
		}
	}
	/* Beyond the page size: page blocks aligned to their size. */
	for (a = 8192; a <= MAX_BLOCK; a <<= 1) {
		ASSERT_EQ(0, ka_posix_memalign(&p, a, 100));
		EXPECT_EQ(0U, (uintptr_t)p % a) TH_LOG("alignment %zu", a);
		ka_free(p);
	}
}

TEST_F_TIMEOUT(api, alignment_invalid, 120)
{
	void *p = (void *)1;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	errno = 1234;
	EXPECT_EQ(EINVAL, ka_posix_memalign(&p, 0, 8));
	EXPECT_EQ(EINVAL, ka_posix_memalign(&p, 3, 8));
	EXPECT_EQ(EINVAL, ka_posix_memalign(&p, sizeof(void *) / 2, 8))
		TH_LOG("not a multiple of sizeof(void *)");
	EXPECT_EQ(EINVAL, ka_posix_memalign(&p, 24, 8));
	EXPECT_EQ(ENOMEM, ka_posix_memalign(&p, MAX_BLOCK * 2, 8));
	EXPECT_EQ(ENOMEM, ka_posix_memalign(&p, 16, SIZE_MAX));
	EXPECT_EQ(1234, errno) TH_LOG("posix_memalign leaves errno alone");
	EXPECT_EQ((void *)1, p);

	errno = 0;
	EXPECT_EQ(NULL, ka_aligned_alloc(0, 8));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_aligned_alloc(3, 8));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_aligned_alloc(MAX_BLOCK * 2, 8));
	EXPECT_EQ(ENOMEM, errno);
}

TEST_F_TIMEOUT(api, memalign_valloc_pvalloc, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	p = ka_memalign(48, 10);	/* rounded up to 64, as glibc */
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0U, (uintptr_t)p % 64);
	ka_free(p);
	p = ka_valloc(10);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0U, (uintptr_t)p % page);
	ka_free(p);
	p = ka_pvalloc(1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0U, (uintptr_t)p % page);
	EXPECT_EQ((size_t)page, ka_malloc_usable_size(p));
	ka_free(p);
	p = ka_pvalloc(0);
	ASSERT_NE(NULL, p);
	EXPECT_EQ((size_t)page, ka_malloc_usable_size(p));
	ka_free(p);
	errno = 0;
	EXPECT_EQ(NULL, ka_pvalloc(SIZE_MAX));
	EXPECT_EQ(ENOMEM, errno);
}

TEST_F_TIMEOUT(api, page_blocks, 120)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned int order;
	unsigned char *b;
	size_t bytes, i, nonzero;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (order = 0; order <= 10; order++) {
		bytes = (size_t)page << order;
		b = ka_pages_alloc(NULL, order);
		ASSERT_NE(NULL, b) TH_LOG("order %u: %s", order, strerror(errno));
		EXPECT_EQ(0U, (uintptr_t)b % bytes);
		for (i = 0, nonzero = 0; i < bytes; i += 64)
			nonzero += b[i] != 0;
		EXPECT_EQ(0U, nonzero) TH_LOG("blocks are zeroed");
		EXPECT_EQ(bytes, ka_malloc_usable_size(b));
		memset(b, 0x77, bytes);
		ka_pages_free(b);
	}
	errno = 0;
	EXPECT_EQ(NULL, ka_pages_alloc(NULL, 11));
	EXPECT_EQ(EINVAL, errno);
	ka_pages_free(NULL);
}

TEST_F_TIMEOUT(api, object_caches, 120)
{
	struct ka_cache *c, *a;
	void *o[200];
	unsigned int i;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	c = ka_cache_create(NULL, "api.obj", 40, 0, 0);
	ASSERT_NE(NULL, c) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(40U, ka_cache_object_size(c));
	for (i = 0; i < 200; i++) {
		o[i] = ka_cache_alloc(c);
		ASSERT_NE(NULL, o[i]);
		EXPECT_EQ(40U, ka_malloc_usable_size(o[i]));
		lt_stamp(o[i], 40, i);
	}
	for (i = 0; i < 200; i++)
		EXPECT_TRUE(lt_stamp_ok(o[i], 40, i));
	errno = 0;
	EXPECT_EQ(-1, ka_cache_destroy(c));
	EXPECT_EQ(EBUSY, errno);
	for (i = 0; i < 200; i++)
		ka_cache_free(c, o[i]);
	EXPECT_EQ(0, ka_cache_destroy(c));

	a = ka_cache_create(NULL, "api.aligned", 100, 256, KA_CACHE_POISON);
	ASSERT_NE(NULL, a);
	for (i = 0; i < 20; i++) {
		o[i] = ka_cache_alloc(a);
		ASSERT_NE(NULL, o[i]);
		EXPECT_EQ(0U, (uintptr_t)o[i] % 256);
	}
	for (i = 0; i < 20; i++)
		ka_cache_free(a, o[i]);
	EXPECT_EQ(0, ka_cache_destroy(a));
}

TEST_F_TIMEOUT(api, object_cache_bad_arguments, 120)
{
	struct ka_cache *c;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "zero", 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "huge", 16385, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "align3", 8, 3, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "bad name", 8, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "", 8, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "flags", 8, 0, 1U << 20));
	EXPECT_EQ(EINVAL, errno);
	c = ka_cache_create(NULL, "twice", 8, 0, 0);
	ASSERT_NE(NULL, c);
	errno = 0;
	EXPECT_EQ(NULL, ka_cache_create(NULL, "twice", 8, 0, 0));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, ka_cache_destroy(c));
	EXPECT_EQ(0, ka_cache_destroy(NULL));
}

TEST_F_TIMEOUT(api, second_arena, 120)
{
	struct ka_heap *a;
	struct ka_client_stats cs;
	void *p, *q;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	errno = 0;
	EXPECT_EQ(NULL, ka_open("/dev/karena-does-not-exist"));
	EXPECT_EQ(ENOENT, errno);
	a = ka_open(NULL);
	ASSERT_NE(NULL, a);
	p = ka_heap_malloc(a, 1000);
	ASSERT_NE(NULL, p);
	q = ka_heap_calloc(a, 10, 10);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, ka_client_stats(a, &cs));
	EXPECT_LT(0U, cs.bytes);
	p = ka_realloc(p, 1010);	/* stays in its arena and class */
	ka_free(p);
	ka_free(q);
	ka_close(a);
}

/* The child of a fork gets a client of its own. */
TEST_F_TIMEOUT(api, fork_child_allocates, 120)
{
	struct ka_stats st;
	char *p;
	int status;
	pid_t pid;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	p = ka_malloc(100);
	ASSERT_NE(NULL, p);
	strcpy(p, "parent");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *q = ka_malloc(100);

		if (!q || q == p)
			_exit(1);
		strcpy(q, "child");
		ka_free(p);		/* the parent's: ignored, counted */
		ka_free(q);
		ka_heap_stats(NULL, &st);
		_exit(st.parent_frees == 1 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("parent", p);
	ka_free(p);
}

/*
 * The child sees a private copy of the parent's heap (as a shell's child
 * does until it execs): readable, writable, realloc() copies out of it,
 * and nothing it does reaches the parent.
 */
TEST_F_TIMEOUT(api, fork_child_has_a_copy_of_the_heap, 120)
{
	char *p, *b;
	int status;
	pid_t pid;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	p = ka_malloc(100);
	b = ka_malloc(100000);		/* a page block */
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, b);
	strcpy(p, "parent");
	strcpy(b + 99000, "block");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *r;

		if (strcmp(p, "parent") || strcmp(b + 99000, "block"))
			_exit(1);
		strcpy(p, "child");
		if (ka_malloc_usable_size(p) != 112 ||
		    ka_malloc_usable_size(b) != 131072)
			_exit(2);
		r = ka_realloc(b, 200000);
		if (!r || r == b || strcmp(r + 99000, "block"))
			_exit(3);
		ka_free(r);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("parent", p);
	ka_free(p);
	ka_free(b);
}

TEST_HARNESS_MAIN
