// SPDX-License-Identifier: GPL-2.0
/*
 * karena_client: a small /dev/karena client for tests/selftests/lifecycle.sh.
 * Not a harness test (no _test suffix, so the runner does not run it).
 *
 *   karena_client          open, create a cache, allocate objects and page
 *                          blocks, map the window, check that everything
 *                          is zero, write every byte, check STATS, exit
 *                          (the exit gives everything back)
 *   karena_client -f       print "arena_bytes=N arena_free_bytes=N" as a
 *                          new client sees them
 *   karena_client -l       as the default, then allocate and free in a
 *                          loop until killed, holding a bounded part
 *   karena_client -c       as the default, then close the fd, check that
 *                          the mapping still works, and wait until killed
 *   karena_client -w       as the default, then wait until killed, fd
 *                          and mapping held
 *   karena_client -g       greedy: as the default, then take page blocks
 *                          (order 3 down to 0, each checked zero) until
 *                          refused; the refusal must be ENOMEM; print
 *                          "greedy_pages=N" and wait until killed
 *   -r FILE                create FILE once the allocations are done
 *
 * Exit status: 0 on success, 1 on a failed check (with a message).
 */
#include <getopt.h>

#include "karena_test_util.h"

#define NR_OBJECTS 256
#define OBJECT_SIZE 100
#define MAX_BLOCK_ORDER 3

static int fail(const char *what, int err)
{
	fprintf(stderr, "karena_client: %s: %s\n", what, strerror(err));
	return 1;
}

/* Zero first, then ours: every byte of @p. */
static int claim(char *p, size_t n, int pattern, const char *what)
{
	long nz = kt_first_nonzero(p, n);

	if (nz >= 0) {
		fprintf(stderr, "karena_client: %s: byte %ld is %#x, not 0\n",
			what, nz, (unsigned char)p[nz]);
		return 1;
	}
	memset(p, pattern, n);
	return 0;
}

/* The default run: everything a client can own, touched. */
static int setup(struct kt_client *c, __u32 *cache_id, __u64 *objs,
		 __u64 *blocks)
{
	struct karena_cache_create cc;
	struct karena_stats st;
	__u64 block_bytes = 0;
	unsigned int order;
	__u32 done, n = 0;
	int ret;

	ret = kt_open(c);
	if (ret)
		return fail("open " KT_DEV " and INFO", -ret);
	ret = kt_map(c);
	if (ret)
		return fail("mmap of the window", -ret);
	ret = kt_cache_create(c->fd, "karena_client", OBJECT_SIZE, 0,
			      KARENA_CACHE_RED_ZONE, &cc);
	if (ret)
		return fail("CACHE_CREATE", -ret);
	*cache_id = cc.cache_id;
	while (n < NR_OBJECTS) {
		ret = kt_alloc(c->fd, cc.cache_id, NR_OBJECTS - n, objs + n,
			       &done);
		if (ret)
			return fail("ALLOC_BULK", -ret);
		n += done;
	}
	for (n = 0; n < NR_OBJECTS; n++)
		if (claim(c->win + objs[n], OBJECT_SIZE, 0x5a, "object"))
			return 1;
	for (order = 0; order <= MAX_BLOCK_ORDER; order++) {
		ret = kt_pages_alloc(c->fd, order, &blocks[order]);
		if (ret)
			return fail("PAGES_ALLOC", -ret);
		if (claim(c->win + blocks[order], c->page << order, 0xa5,
			  "block"))
			return 1;
		block_bytes += c->page << order;
	}
	ret = kt_stats(c->fd, &st);
	if (ret)
		return fail("STATS", -ret);
	if (st.objects != NR_OBJECTS || st.block_bytes != block_bytes ||
	    st.nr_caches != 1) {
		fprintf(stderr, "karena_client: STATS: %llu objects, %llu block bytes, %u caches\n",
			(unsigned long long)st.objects,
			(unsigned long long)st.block_bytes, st.nr_caches);
		return 1;
	}
	return 0;
}

#define KEPT 32

/*
 * Allocate and free until killed; every handout checked and touched.
 * Every 8th batch and block is kept (the process dies holding), up to
 * KEPT of them, the oldest freed first, so the loop may run for ever.
 */
static int churn(struct kt_client *c, __u32 cache_id, const char *ready)
{
	static __u64 kept_objs[KEPT][64], kept_block[KEPT];
	static __u32 kept_done[KEPT];
	__u64 objs[64], off;
	unsigned long round, nr_kept = 0;
	unsigned int k;
	__u32 done;
	int ret;

	for (round = 0;; round++) {
		ret = kt_alloc(c->fd, cache_id, 64, objs, &done);
		if (ret)
			return fail("ALLOC_BULK", -ret);
		ret = kt_pages_alloc(c->fd, round % 3, &off);
		if (ret)
			return fail("PAGES_ALLOC", -ret);
		if (claim(c->win + off, c->page << (round % 3), 0x77, "block"))
			return 1;
		if (round % 8 == 0) {
			k = nr_kept++ % KEPT;
			if (nr_kept > KEPT) {
				ret = kt_free(c->fd, cache_id, kept_done[k],
					      kept_objs[k], NULL);
				if (!ret)
					ret = kt_pages_free(c->fd,
							    kept_block[k]);
				if (ret)
					return fail("free of a kept batch",
						    -ret);
			}
			memcpy(kept_objs[k], objs, sizeof(objs));
			kept_done[k] = done;
			kept_block[k] = off;
		} else {
			ret = kt_free(c->fd, cache_id, done, objs, NULL);
			if (ret)
				return fail("FREE_BULK", -ret);
			ret = kt_pages_free(c->fd, off);
			if (ret)
				return fail("PAGES_FREE", -ret);
		}
		if (round == 16 && ready && creat(ready, 0644) < 0)
			return fail(ready, errno);
	}
}

/* Take blocks until the arena or a quota says no; then hold them. */
static int greedy(struct kt_client *c, const char *ready)
{
	unsigned long pages = 0;
	int order = MAX_BLOCK_ORDER, ret;
	__u64 off;

	while (order >= 0) {
		ret = kt_pages_alloc(c->fd, order, &off);
		if (ret == -ENOMEM) {
			order--;
			continue;
		}
		if (ret)
			return fail("PAGES_ALLOC (expected ENOMEM at the end)",
				    -ret);
		if (claim(c->win + off, c->page << order, 0x66, "block"))
			return 1;
		pages += 1UL << order;
	}
	printf("greedy_pages=%lu\n", pages);
	fflush(stdout);
	if (ready && creat(ready, 0644) < 0)
		return fail(ready, errno);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	__u64 objs[NR_OBJECTS], blocks[MAX_BLOCK_ORDER + 1];
	const char *ready = NULL;
	struct kt_client c;
	int opt, mode = 0, ret;
	__u32 cache_id = 0;

	while ((opt = getopt(argc, argv, "flcwgr:")) != -1) {
		switch (opt) {
		case 'f':
		case 'l':
		case 'c':
		case 'w':
		case 'g':
			mode = opt;
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-f | -l | -c | -w | -g] [-r FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (mode == 'f') {
		ret = kt_open(&c);
		if (ret)
			return fail("open " KT_DEV " and INFO", -ret);
		printf("arena_bytes=%llu arena_free_bytes=%llu\n",
		       (unsigned long long)c.info.arena_bytes,
		       (unsigned long long)c.info.arena_free_bytes);
		kt_close(&c);
		return 0;
	}
	if (setup(&c, &cache_id, objs, blocks))
		return 1;
	if (mode == 'l')
		return churn(&c, cache_id, ready);
	if (mode == 'g')
		return greedy(&c, ready);
	if (mode == 'c') {
		if (close(c.fd))
			return fail("close", errno);
		c.fd = -1;
		/* The window outlives the fd: the memory is still ours. */
		if (c.win[objs[0]] != 0x5a ||
		    c.win[blocks[MAX_BLOCK_ORDER] + c.page - 1] != (char)0xa5) {
			fprintf(stderr, "karena_client: window changed after close\n");
			return 1;
		}
		memset(c.win + blocks[0], 0x33, c.page);
		if (ready && creat(ready, 0644) < 0)
			return fail(ready, errno);
		for (;;)
			pause();
	}
	if (ready && creat(ready, 0644) < 0)
		return fail(ready, errno);
	if (mode == 'w')
		for (;;)
			pause();
	return 0;
}
