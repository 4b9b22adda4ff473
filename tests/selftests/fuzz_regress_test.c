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
 *    a bad pointer changes nothing.
 */
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

TEST_HARNESS_MAIN
