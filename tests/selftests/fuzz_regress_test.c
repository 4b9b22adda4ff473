// SPDX-License-Identifier: GPL-2.0
/*
 * Regressions found by karena_fuzz (tests/reliability/), each minimized
 * to the one call that showed it:
 *
 *  - FREE_BULK refused for a bad field (EINVAL before any entry is read)
 *    reported the caller's own @done back, as if that many entries had
 *    been freed (seed 0xb62b43b057ec9dc9: "FREE_BULK done 128 of 1");
 *  - a free whose struct could not be written back (read-only memory)
 *    freed anyway and then failed with EFAULT, so the caller could not
 *    tell that anything changed (seed 0xe41a6c496c76f131: STATS showed
 *    18 objects fewer than the fuzzer's model).  The uapi promises that
 *    a bad pointer changes nothing;
 *  - a command that hands something out told its caller only after
 *    dropping the client's lock, so another thread of the client could
 *    free or destroy what it was about to be told of: CACHE_CREATE then
 *    filled its answer in from a freed cache (seed 0x9a3a93165c7d10d4 in
 *    make check, and a 4x4-thread soak: KASAN use-after-free in
 *    kdev_ucache_create()), and the rollback of an ALLOC_BULK or
 *    PAGES_ALLOC whose answer could not be written freed objects or a
 *    block a second time.  The races below fail on the module before
 *    the fix (a guessed free succeeds; the debug kernel's KASAN and the
 *    oracle see the rest).
 */
#include <pthread.h>
#include <time.h>

#include "kselftest_harness.h"
#include "karena_test_util.h"

FIXTURE(regress) {
	struct kt_client c;
	__u32 cache;
	char *ro;	/* a read-only view of @rw */
	char *rw;	/* a page of a memfd, read-write */
};

FIXTURE_SETUP(regress)
{
	struct karena_cache_create cc;
	int mfd;

	KT_SETUP_CLIENT(&self->c, false);
	ASSERT_EQ(0, kt_cache_create(self->c.fd, "regress", 64, 0, 0, &cc));
	self->cache = cc.cache_id;
	mfd = memfd_create("fuzz_regress", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, self->c.page));
	self->rw = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE, MAP_SHARED,
			mfd, 0);
	ASSERT_NE(MAP_FAILED, self->rw);
	self->ro = mmap(NULL, self->c.page, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, self->ro);
	close(mfd);
}

FIXTURE_TEARDOWN(regress)
{
	munmap(self->rw, self->c.page);
	munmap(self->ro, self->c.page);
	kt_close(&self->c);
}

static __u64 objects(struct kt_client *c)
{
	struct karena_stats st;

	return kt_stats(c->fd, &st) ? ~0ULL : st.objects;
}

TEST_F(regress, free_bulk_bad_field_reports_nothing_done)
{
	__u64 offs[2];
	struct karena_bulk b;

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cache, 2, offs, NULL));
	memset(&b, 0, sizeof(b));
	b.cache_id = self->cache;
	b.count = 2;
	b.offsets = (uintptr_t)offs;
	b.done = 128;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_FREE_BULK, &b));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0U, b.done);
	EXPECT_EQ(2ULL, objects(&self->c));
}

TEST_F(regress, free_bulk_readonly_struct_frees_nothing)
{
	__u64 offs[4];
	struct karena_bulk b = { 0 };

	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cache, 4, offs, NULL));
	b.cache_id = self->cache;
	b.count = 4;
	b.offsets = (uintptr_t)offs;
	memcpy(self->rw, &b, sizeof(b));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_FREE_BULK, self->ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(4ULL, objects(&self->c));
	/* The same call from writable memory still works. */
	EXPECT_EQ(0, ioctl(self->c.fd, KARENA_IOC_FREE_BULK, self->rw));
	EXPECT_EQ(0ULL, objects(&self->c));
}

TEST_F(regress, pages_free_readonly_struct_frees_nothing)
{
	struct karena_pages p = { 0 };
	struct karena_stats st;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 1, &p.offset));
	memcpy(self->rw, &p, sizeof(p));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_PAGES_FREE, self->ro));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ((__u64)(2 * self->c.page), st.block_bytes);
	EXPECT_EQ(0, ioctl(self->c.fd, KARENA_IOC_PAGES_FREE, self->rw));
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(0ULL, st.block_bytes);
}

TEST_F(regress, cache_destroy_readonly_struct_destroys_nothing)
{
	struct karena_cache_destroy cd = { .cache_id = self->cache };
	struct karena_stats st;

	memcpy(self->rw, &cd, sizeof(cd));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->c.fd, KARENA_IOC_CACHE_DESTROY, self->ro));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(1U, st.nr_caches);
	EXPECT_EQ(0, ioctl(self->c.fd, KARENA_IOC_CACHE_DESTROY, self->rw));
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(0U, st.nr_caches);
}

/*
 * Two threads of one client: the caller repeats a command that can never
 * tell it anything (its answer goes to read-only memory), the other
 * frees what that command would hand out, guessing it right.  Nothing
 * may ever be freed: the caller was never given anything.
 */
struct race {
	int fd;
	__u32 cache;
	__u64 offset;		/* what the caller would be handed */
	bool pages;		/* PAGES_FREE, else FREE_BULK of one object */
	bool stop;		/* __atomic */
	long frees, freed;
};

static void *race_free(void *arg)
{
	struct race *r = arg;
	__u64 off;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		off = r->offset;
		r->frees++;
		if (!(r->pages ? kt_pages_free(r->fd, off) :
				 kt_free(r->fd, r->cache, 1, &off, NULL)))
			r->freed++;
	}
	return NULL;
}

/* Seconds since an arbitrary point, for bounding a race by time. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define RACE_CALLS	20000
#define RACE_SECONDS	2.0

TEST_F(regress, alloc_bulk_unannounced_objects_cannot_be_freed)
{
	struct race r = { .fd = self->c.fd, .cache = self->cache };
	struct karena_bulk b = { 0 };
	double end = now() + RACE_SECONDS;
	long calls, efault = 0;
	pthread_t t;

	/* The object the next allocation gets: the one just freed. */
	ASSERT_EQ(0, kt_alloc(self->c.fd, self->cache, 1, &r.offset, NULL));
	ASSERT_EQ(0, kt_free(self->c.fd, self->cache, 1, &r.offset, NULL));
	b.cache_id = self->cache;
	b.count = 1;
	b.offsets = (uintptr_t)self->ro;
	ASSERT_EQ(0, pthread_create(&t, NULL, race_free, &r));
	for (calls = 0; calls < RACE_CALLS && now() < end; calls++) {
		errno = 0;
		if (ioctl(self->c.fd, KARENA_IOC_ALLOC_BULK, &b) && errno == EFAULT)
			efault++;
		b.done = 0;
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("%ld allocations, %ld guessed frees", calls, r.frees);
	EXPECT_EQ(calls, efault);
	EXPECT_EQ(0, r.freed);
	EXPECT_EQ(0ULL, objects(&self->c));
}

TEST_F(regress, pages_alloc_unannounced_block_cannot_be_freed)
{
	struct race r = { .fd = self->c.fd, .pages = true };
	struct karena_pages p = { 0 };
	double end = now() + RACE_SECONDS;
	long calls, efault = 0;
	struct karena_stats st;
	pthread_t t;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 0, &r.offset));
	ASSERT_EQ(0, kt_pages_free(self->c.fd, r.offset));
	memcpy(self->rw, &p, sizeof(p));
	ASSERT_EQ(0, pthread_create(&t, NULL, race_free, &r));
	for (calls = 0; calls < RACE_CALLS && now() < end; calls++) {
		errno = 0;
		if (ioctl(self->c.fd, KARENA_IOC_PAGES_ALLOC, self->ro) &&
		    errno == EFAULT)
			efault++;
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("%ld allocations, %ld guessed frees", calls, r.frees);
	EXPECT_EQ(calls, efault);
	EXPECT_EQ(0, r.freed);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(0ULL, st.block_bytes);
}

/* Destroys the cache id that CACHE_CREATE hands out next. */
struct create_race {
	int fd;
	__u32 last;		/* the id the creator got last (__atomic) */
	bool stop;		/* __atomic */
	long destroyed;
};

static void *race_destroy(void *arg)
{
	struct create_race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		__u32 next = __atomic_load_n(&r->last, __ATOMIC_RELAXED) + 1;

		if (!kt_cache_destroy(r->fd, next))
			r->destroyed++;
	}
	return NULL;
}

TEST_F(regress, cache_create_answers_from_a_live_cache)
{
	struct create_race r = { .fd = self->c.fd };
	struct karena_cache_create first, cc;
	double end = now() + RACE_SECONDS;
	long calls, created = 0, destroyed = 0;
	struct karena_stats st;
	pthread_t t;
	int ret;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "race", 64, 0, 0, &first));
	ASSERT_EQ(0, kt_cache_destroy(self->c.fd, first.cache_id));
	r.last = first.cache_id;
	ASSERT_EQ(0, pthread_create(&t, NULL, race_destroy, &r));
	for (calls = 0; calls < RACE_CALLS / 4 && now() < end; calls++) {
		ret = kt_cache_create(self->c.fd, "race", 64, 0, 0, &cc);
		if (ret == -EEXIST)
			continue;
		ASSERT_EQ(0, ret);
		created++;
		EXPECT_EQ(first.object_stride, cc.object_stride);
		EXPECT_EQ(first.slab_bytes, cc.slab_bytes);
		EXPECT_EQ(first.objs_per_slab, cc.objs_per_slab);
		__atomic_store_n(&r.last, cc.cache_id, __ATOMIC_RELAXED);
		if (!kt_cache_destroy(self->c.fd, cc.cache_id))
			destroyed++;
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("%ld creates, %ld destroyed by the other thread", created,
	       r.destroyed);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	/* The fixture's cache, and whatever the last destroy missed. */
	EXPECT_EQ(1 + created - destroyed - r.destroyed, (long)st.nr_caches);
}

TEST_HARNESS_MAIN
