// SPDX-License-Identifier: GPL-2.0
/*
 * Clients of /dev/karena against each other: every page and object is
 * zero when first handed out, nothing one client (process, user) wrote
 * ever shows up in another's memory, quotas stop exactly at their limit
 * (per client and per user), several threads and processes allocating
 * and freeing at once keep the accounting exact, two frees of one object
 * race to exactly one success, and random bytes written over everything
 * a client owns followed by random commands break nothing.
 *
 * Round counts are bounded so that each test stays well under a minute
 * under TCG with KASAN; KARENA_ISOLATION_ROUNDS and KARENA_RACE_ITERS
 * make them longer.
 */
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <time.h>

#include "kselftest_harness.h"
#include "karena_test_util.h"

/* === Helpers === */

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible from the seed the test prints. */
static __u64 rnd(__u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Can an unprivileged user open the device (dev_mode opens it to all)? */
static const char *why_no_other_user(void)
{
	struct stat st;

	if (geteuid() != 0)
		return "needs root to switch users";
	if (stat(KT_DEV, &st))
		return "no " KT_DEV;
	if ((st.st_mode & 0006) != 0006)
		return KT_DEV " is not open to other users (dev_mode)";
	return NULL;
}

static int become(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		return -errno;
	return 0;
}

FIXTURE(iso) {
	struct kt_client c;
};

FIXTURE_SETUP(iso)
{
	KT_SETUP_CLIENT(&self->c, true);
}

FIXTURE_TEARDOWN(iso)
{
	kt_close(&self->c);
}

/* === Zero on first handout === */

/* Blocks of every order, filled and freed, come back zeroed every time. */
TEST_F_TIMEOUT(iso, every_block_is_zero_when_handed_out, 120)
{
	__u64 off[16], bytes, budget = self->c.info.quota_bytes / 8;
	unsigned int round, n, i, order;
	long nz;

	for (round = 0; round < 8; round++) {
		__u64 used = 0;

		n = 0;
		for (order = 0; order <= self->c.info.max_order && n < 16;
		     order++) {
			bytes = (__u64)self->c.page << order;
			if (used + bytes > budget)
				break;
			ASSERT_EQ(0, kt_pages_alloc(self->c.fd, order, &off[n]))
				TH_LOG("round %u order %u", round, order);
			nz = kt_first_nonzero(self->c.win + off[n], bytes);
			ASSERT_EQ(-1, nz) TH_LOG("round %u order %u byte %ld",
						 round, order, nz);
			memset(self->c.win + off[n], 0xa5 ^ round, bytes);
			used += bytes;
			n++;
		}
		ASSERT_LT(0U, n);
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, kt_pages_free(self->c.fd, off[i]));
	}
}

FIXTURE(zero) {
	struct kt_client c;
};

/*
 * struct _fixture_variant_zero - the debug flags of the caches.
 * @flags: KARENA_CACHE_* of every cache the test makes.
 */
FIXTURE_VARIANT(zero) {
	__u32 flags;
};

FIXTURE_VARIANT_ADD(zero, plain) { .flags = 0 };
FIXTURE_VARIANT_ADD(zero, poison) { .flags = KARENA_CACHE_POISON };
FIXTURE_VARIANT_ADD(zero, redzone) { .flags = KARENA_CACHE_RED_ZONE };
FIXTURE_VARIANT_ADD(zero, hwalign_track_consistency) {
	.flags = KARENA_CACHE_HWCACHE_ALIGN | KARENA_CACHE_STORE_USER |
		 KARENA_CACHE_CONSISTENCY_CHECKS,
};

FIXTURE_VARIANT_ADD(zero, all_flags) { .flags = KARENA_CACHE_FLAGS };

FIXTURE_SETUP(zero)
{
	KT_SETUP_CLIENT(&self->c, true);
}

FIXTURE_TEARDOWN(zero)
{
	kt_close(&self->c);
}

/*
 * Objects of a new cache sit on fresh slabs: all zero, for every size,
 * even though the previous cache left its pattern in the same arena.
 */
TEST_F_TIMEOUT(zero, objects_of_new_slabs_are_zero, 120)
{
	__u32 sizes[] = { 8, 24, 64, 200, 1000, 3000,
			  self->c.info.max_object_size };
	static __u64 offs[KARENA_MAX_BATCH];
	struct karena_cache_create cc;
	unsigned int k, i, round, bad;
	__u32 done, n;
	long nz, first;

	for (round = 0; round < 2; round++) {
		for (k = 0; k < ARRAY_SIZE(sizes); k++) {
			ASSERT_EQ(0, kt_cache_create(self->c.fd, "zero", sizes[k],
						     0, variant->flags, &cc));
			n = (self->c.info.quota_bytes / 16) / cc.object_stride;
			n = n > KARENA_MAX_BATCH ? KARENA_MAX_BATCH : n;
			ASSERT_LT(0U, n);
			ASSERT_EQ(0, kt_alloc(self->c.fd, cc.cache_id, n, offs,
					      &done)) TH_LOG("size %u", sizes[k]);
			bad = 0;
			first = -1;
			for (i = 0; i < done; i++) {
				nz = kt_first_nonzero(self->c.win + offs[i],
						      sizes[k]);
				if (nz >= 0 && !bad++)
					first = offs[i] + nz;
				memset(self->c.win + offs[i], 0x6b ^ k,
				       sizes[k]);
			}
			EXPECT_EQ(0U, bad)
				TH_LOG("size %u: %u of %u objects not zero, first at %#lx: %#x",
				       sizes[k], bad, done, first,
				       (unsigned char)self->c.win[first]);
			ASSERT_EQ(0, kt_free(self->c.fd, cc.cache_id, done,
					     offs, NULL));
			ASSERT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
		}
	}
}

/* === Two clients in two processes (and two users) === */

/**
 * struct peer - what one worker of the cross-client check reports.
 * @rounds: turns it completed.
 * @pages: page bytes it checked, in pages.
 * @objects: objects it checked.
 * @leaks: non-zero bytes found in memory handed out to it.
 * @status: 0, or where it failed.
 * @msg: the first problem, for the log.
 */
struct peer {
	unsigned long rounds;
	unsigned long pages;
	unsigned long objects;
	unsigned long leaks;
	int status;
	char msg[160];
};

FIXTURE(xproc) {
	struct peer *peers;	/* shared with the workers */
};

/*
 * struct _fixture_variant_xproc - how the two workers run.
 * @other_user: the second worker runs as nobody (65534).
 * @lockstep: the workers take turns (the second allocates what the first
 *	has just freed); else they run at the same time.
 */
FIXTURE_VARIANT(xproc) {
	bool other_user;
	bool lockstep;
};

FIXTURE_VARIANT_ADD(xproc, same_user_taking_turns) {
	.other_user = false, .lockstep = true,
};

FIXTURE_VARIANT_ADD(xproc, two_users_taking_turns) {
	.other_user = true, .lockstep = true,
};

FIXTURE_VARIANT_ADD(xproc, two_users_at_once) {
	.other_user = true, .lockstep = false,
};

FIXTURE_SETUP(xproc)
{
	struct stat st;

	if (stat(KT_DEV, &st))
		SKIP(_exit(KT_SKIP_STATUS), KT_DEV " is missing: karena.ko not loaded");
	if (variant->other_user && why_no_other_user())
		SKIP(_exit(KT_SKIP_STATUS), "%s", why_no_other_user());
	self->peers = mmap(NULL, 2 * sizeof(struct peer),
			   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	ASSERT_NE(MAP_FAILED, self->peers);
}

FIXTURE_TEARDOWN(xproc)
{
}

static void note(struct peer *p, const char *fmt, unsigned long a, long b)
{
	if (!p->msg[0])
		snprintf(p->msg, sizeof(p->msg), fmt, a, b);
}

/*
 * One turn: 16 pages in blocks of mixed orders and a new cache's objects,
 * each checked for zero, filled with this worker's pattern, freed.
 */
static int turn(struct kt_client *c, struct peer *p, int pattern,
		unsigned long round)
{
	static const unsigned int orders[] = { 0, 1, 0, 2, 0, 0, 1, 0 };
	static const __u32 sizes[] = { 40, 128, 700, 2048 };
	struct karena_cache_create cc;
	__u64 off[ARRAY_SIZE(orders)], objs[128], bytes;
	unsigned int i;
	__u32 done;
	long nz, ret;

	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		bytes = c->page << orders[i];
		ret = kt_pages_alloc(c->fd, orders[i], &off[i]);
		if (ret) {
			note(p, "PAGES_ALLOC in round %lu: %ld", round, ret);
			return 20;
		}
		nz = kt_first_nonzero(c->win + off[i], bytes);
		if (nz >= 0) {
			p->leaks++;
			note(p, "block at %#lx: byte %ld not zero",
			     off[i], nz);
		}
		memset(c->win + off[i], pattern, bytes);
		p->pages += 1U << orders[i];
	}
	for (i = 0; i < ARRAY_SIZE(orders); i++)
		if (kt_pages_free(c->fd, off[i]))
			return 21;
	if (kt_cache_create(c->fd, "xproc", sizes[round % 4], 0, 0, &cc))
		return 22;
	if (kt_alloc(c->fd, cc.cache_id, ARRAY_SIZE(objs), objs, &done))
		return 23;
	for (i = 0; i < done; i++) {
		nz = kt_first_nonzero(c->win + objs[i], cc.object_size);
		if (nz >= 0) {
			p->leaks++;
			note(p, "object at %#lx: byte %ld not zero", objs[i],
			     nz);
		}
		memset(c->win + objs[i], pattern, cc.object_size);
		p->objects++;
	}
	if (kt_free(c->fd, cc.cache_id, done, objs, NULL) ||
	    kt_cache_destroy(c->fd, cc.cache_id))
		return 24;
	return 0;
}

/* Rounds every worker runs, however slow the machine. */
#define MIN_ROUNDS 100UL

/*
 * A worker's rounds: with @rfd/@wfd it takes turns with the other worker
 * ('t' passes the turn; 'q' or end of file ends both).  Past MIN_ROUNDS
 * it stops at @deadline (0: it follows the other worker, which decides).
 */
static int rounds_of(struct kt_client *c, struct peer *p, int pattern,
		     int rfd, int wfd, unsigned long rounds, double deadline)
{
	char tok = 't';
	int ret;

	for (p->rounds = 0; p->rounds < rounds; p->rounds++) {
		if (rfd >= 0 && (read(rfd, &tok, 1) != 1 || tok == 'q'))
			return 0;
		if (deadline && p->rounds >= MIN_ROUNDS && now_s() > deadline)
			return 0;
		ret = turn(c, p, pattern, p->rounds);
		if (ret)
			return ret;
		if (wfd >= 0 && write(wfd, &tok, 1) != 1)
			return 13;
	}
	return 0;
}

/* A worker: its own client (as @uid if non-zero), its own pattern. */
static int worker(struct peer *p, uid_t uid, int pattern, int rfd, int wfd,
		  unsigned long rounds, double deadline)
{
	struct kt_client c;
	int ret;

	if (uid && become(uid))
		ret = 10;
	else
		ret = kt_open(&c);
	if (ret) {
		note(p, "open as uid %lu: %ld", uid, ret);
		ret = 11;
	} else if (kt_map(&c)) {
		ret = 12;
	} else {
		ret = rounds_of(&c, p, pattern, rfd, wfd, rounds, deadline);
	}
	/* Whatever happened, do not leave the other worker waiting. */
	if (wfd >= 0 && write(wfd, "q", 1) != 1 && !ret)
		ret = 14;
	if (!ret || ret > 12)
		kt_close(&c);
	return ret;
}

TEST_F_TIMEOUT(xproc, never_see_each_others_bytes, 300)
{
	unsigned long rounds = env_ulong("KARENA_ISOLATION_ROUNDS", 2000);
	double deadline = now_s() + env_ulong("KARENA_ISOLATION_SECONDS", 25);
	int ab[2], ba[2], status, i;
	pid_t pid[2];

	ASSERT_EQ(0, pipe(ab));
	ASSERT_EQ(0, pipe(ba));
	/* The first worker starts. */
	ASSERT_EQ(1, write(ba[1], "t", 1));
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			uid_t uid = i && variant->other_user ? 65534 : 0;
			int rfd = -1, wfd = -1;

			if (variant->lockstep) {
				rfd = i ? ab[0] : ba[0];
				wfd = i ? ba[1] : ab[1];
			}
			/* Taking turns, the first worker decides when to stop. */
			_exit(worker(&self->peers[i], uid, i ? 0x5a : 0xa5,
				     rfd, wfd, rounds,
				     i && variant->lockstep ? 0 : deadline));
		}
	}
	/* A worker that dies leaves its peer an end of file. */
	close(ab[0]);
	close(ab[1]);
	close(ba[0]);
	close(ba[1]);
	for (i = 0; i < 2; i++) {
		struct peer *p = &self->peers[i];

		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status))
			TH_LOG("worker %d: %s", i, p->msg);
		EXPECT_EQ(0U, p->leaks) TH_LOG("worker %d: %s", i, p->msg);
		/* A bounded run, but never a trivial one. */
		EXPECT_LE(MIN_ROUNDS, p->rounds);
		TH_LOG("worker %d: %lu rounds, %lu pages, %lu objects checked",
		       i, p->rounds, p->pages, p->objects);
	}
}

/* Same process, two clients: neither can free or reach the other's. */
TEST_F(iso, other_client_cannot_free_or_see_a_block)
{
	struct kt_client other;
	__u64 off;

	ASSERT_EQ(0, kt_pages_alloc(self->c.fd, 0, &off));
	memset(self->c.win + off, 0x77, self->c.page);
	ASSERT_EQ(0, kt_open(&other));
	ASSERT_EQ(0, kt_map(&other));
	EXPECT_EQ(-EINVAL, kt_pages_free(other.fd, off));
	EXPECT_EQ(SIGBUS, kt_probe(other.win + off, false, NULL));
	EXPECT_EQ(0x77, self->c.win[off + self->c.page - 1]);
	kt_close(&other);
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

/* === Quotas === */

/*
 * Fill @fd with blocks, largest order first, until no order fits: returns
 * the bytes allocated, and the ENOMEM answers in *@enomem.
 */
static __u64 fill(int fd, const struct karena_info *info, __u64 *offs,
		  unsigned int max, unsigned int *n, unsigned int *enomem)
{
	__u64 total = 0;
	int order, ret;

	*enomem = 0;
	for (order = info->max_order; order >= 0; order--) {
		while (*n < max) {
			ret = kt_pages_alloc(fd, order, &offs[*n]);
			if (ret == -ENOMEM) {
				(*enomem)++;
				break;
			}
			if (ret)
				return total;
			total += (__u64)info->page_size << order;
			(*n)++;
		}
	}
	return total;
}

/*
 * Exactly quota_bytes: not a page less, not a page more; each refusal
 * counted; a free makes room for exactly one more page.
 */
TEST_F_TIMEOUT(iso, client_quota_is_exact, 120)
{
	struct karena_info *i = &self->c.info;
	static __u64 offs[1 << 16];
	struct karena_pages freed = { 0 };
	struct karena_stats st;
	unsigned int n = 0, enomem;
	__u64 total, last;

	if (i->quota_bytes > i->user_quota_bytes)
		SKIP(return, "the user quota is below the client quota");
	if (i->quota_bytes > i->arena_free_bytes)
		SKIP(return, "the arena is smaller than a client's quota");
	total = fill(self->c.fd, i, offs, ARRAY_SIZE(offs), &n, &enomem);
	EXPECT_EQ(i->quota_bytes, total);
	EXPECT_EQ(i->max_order + 1, enomem);
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(i->quota_bytes, st.block_bytes);
	EXPECT_EQ(i->quota_bytes, st.bytes);
	EXPECT_EQ(enomem, st.quota_failures);
	/* One more page: refused and counted. */
	EXPECT_EQ(-ENOMEM, kt_pages_alloc(self->c.fd, 0, &last));
	ASSERT_EQ(0, kt_stats(self->c.fd, &st));
	EXPECT_EQ(enomem + 1, st.quota_failures);
	/* Free one block: a block of its order fits again, and no more. */
	ASSERT_LT(0U, n);
	freed.offset = offs[n - 1];
	ASSERT_EQ(0, ioctl(self->c.fd, KARENA_IOC_PAGES_FREE, &freed));
	EXPECT_EQ(0, kt_pages_alloc(self->c.fd, freed.order, &last));
	EXPECT_EQ(-ENOMEM, kt_pages_alloc(self->c.fd, 0, &last));
}

/* Slabs count against the quota too. */
TEST_F_TIMEOUT(iso, slabs_count_against_the_quota, 120)
{
	struct karena_info *i = &self->c.info;
	static __u64 offs[1 << 16];
	struct karena_stats before, after;
	unsigned int n = 0, enomem;
	__u64 obj;
	__u32 id;

	if (i->quota_bytes > i->user_quota_bytes ||
	    i->quota_bytes > i->arena_free_bytes)
		SKIP(return, "the quota is not the client's limit here");
	{
		struct karena_cache_create cc;

		ASSERT_EQ(0, kt_cache_create(self->c.fd, "quota", 64, 0, 0, &cc));
		id = cc.cache_id;
	}
	fill(self->c.fd, i, offs, ARRAY_SIZE(offs), &n, &enomem);
	ASSERT_EQ(0, kt_stats(self->c.fd, &before));
	EXPECT_EQ(-ENOMEM, kt_alloc(self->c.fd, id, 1, &obj, NULL));
	ASSERT_EQ(0, kt_stats(self->c.fd, &after));
	EXPECT_EQ(before.quota_failures + 1, after.quota_failures);
	EXPECT_EQ(0U, after.objects);
	/* Room for a slab again: the object comes. */
	ASSERT_EQ(0, kt_pages_free(self->c.fd, offs[0]));
	EXPECT_EQ(0, kt_alloc(self->c.fd, id, 1, &obj, NULL));
	ASSERT_EQ(0, kt_stats(self->c.fd, &after));
	EXPECT_EQ(1U, after.objects);
	EXPECT_LE(after.slab_bytes + after.block_bytes, i->quota_bytes);
}

/**
 * struct user_fill - what the user-quota children report.
 * @total: bytes the clients of the first user got together.
 * @other_ok: the second user could allocate a page then.
 * @refill_ok: after one free, the first user got one page again.
 * @status: 0 or where a child failed.
 */
struct user_fill {
	__u64 total;
	int other_ok;
	int refill_ok;
	int status;
};

#define MAX_USER_CLIENTS 64

/* Clients of one user, each filled to its own quota or the user's. */
static int fill_as_user(struct user_fill *r, int go_fd, int done_fd)
{
	static __u64 offs[MAX_USER_CLIENTS][1024];
	struct kt_client c[MAX_USER_CLIENTS];
	unsigned int n[MAX_USER_CLIENTS] = { 0 }, enomem, k;
	struct karena_pages freed = { 0 };
	__u64 got, off;
	char tok;

	if (become(60001))
		return 30;
	for (k = 0; k < MAX_USER_CLIENTS; k++) {
		if (kt_open(&c[k]))
			return 31;
		got = fill(c[k].fd, &c[k].info, offs[k], ARRAY_SIZE(offs[k]),
			   &n[k], &enomem);
		r->total += got;
		if (got < c[k].info.quota_bytes)
			break;
	}
	if (k == MAX_USER_CLIENTS)
		return 32;
	/* Full: let the other user try, then free one block and refill. */
	if (write(done_fd, "f", 1) != 1 || read(go_fd, &tok, 1) != 1)
		return 33;
	if (!n[0])
		return 34;
	freed.offset = offs[0][n[0] - 1];
	if (ioctl(c[0].fd, KARENA_IOC_PAGES_FREE, &freed))
		return 35;
	/* The last client has room under its own quota, not the user's. */
	r->refill_ok = kt_pages_alloc(c[k].fd, freed.order, &off) == 0 &&
		       kt_pages_alloc(c[k].fd, 0, &off) == -ENOMEM;
	return 0;
}

static int other_user_page(void *arg)
{
	struct kt_client c;
	__u64 off;

	if (become(60002) || kt_open(&c))
		return 2;
	return kt_pages_alloc(c.fd, 0, &off) == 0 ? 0 : 1;
}

/*
 * The clients of one user stop together at user_quota_bytes, while
 * another user still gets memory.
 */
TEST_F_TIMEOUT(iso, user_quota_is_exact_and_per_user, 180)
{
	struct karena_info *i = &self->c.info;
	int go[2], done[2], status;
	struct user_fill *r;
	char tok;
	pid_t pid;

	if (why_no_other_user())
		SKIP(return, "%s", why_no_other_user());
	if (i->user_quota_bytes + i->page_size > i->arena_free_bytes)
		SKIP(return, "the arena is smaller than a user's quota");
	if (i->user_quota_bytes / i->quota_bytes + 1 >= MAX_USER_CLIENTS)
		SKIP(return, "a user's quota needs more than %d clients",
		     MAX_USER_CLIENTS);
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(fill_as_user(r, go[0], done[1]));
	close(done[1]);
	ASSERT_EQ(1, read(done[0], &tok, 1));
	r->other_ok = kt_in_child(other_user_page, NULL) == 1000;
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("status %#x", status);
	EXPECT_EQ(i->user_quota_bytes, r->total);
	EXPECT_TRUE(r->other_ok);
	EXPECT_TRUE(r->refill_ok);
}

/* === Concurrency === */

struct shared_client {
	struct kt_client *c;
	__u32 cache_id;
	__u32 object_size;
	int stop;	/* __atomic: set once the workers are done */
};

/**
 * struct worker_state - one thread allocating and freeing at random.
 * @sc: the client it shares with the other threads.
 * @seed: its random sequence.
 * @iters: operations to run.
 * @alloc_calls: allocation commands it issued.
 * @free_calls: free commands it issued.
 * @objs_alloc: objects it allocated.
 * @objs_freed: objects it freed.
 * @enomem: allocations refused (quota, arena).
 * @errors: anything else that went wrong (wrong stamp, errno).
 * @msg: the first error.
 */
struct worker_state {
	struct shared_client *sc;
	__u64 seed;
	unsigned int iters;
	unsigned long alloc_calls, free_calls, objs_alloc, objs_freed;
	unsigned long enomem, errors;
	char msg[160];
};

#define LIVE_OBJS 256
#define LIVE_BLOCKS 8

static void werr(struct worker_state *w, const char *what, long v)
{
	if (!w->errors++)
		snprintf(w->msg, sizeof(w->msg), "%s: %ld", what, v);
}

static void stamp(char *p, size_t n, __u64 v)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8)
		memcpy(p + i, &v, 8);
}

static bool stamped(const char *p, size_t n, __u64 v)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8)
		if (memcmp(p + i, &v, 8))
			return false;
	return true;
}

/* Free live objects [from, *n) after checking their stamps. */
static void free_objs(struct worker_state *w, __u64 *objs, __u64 *stamps,
		      unsigned int from, unsigned int *n)
{
	struct kt_client *c = w->sc->c;
	unsigned int i;
	__u32 done;
	int ret;

	if (from >= *n)
		return;
	for (i = from; i < *n; i++)
		if (!stamped(c->win + objs[i], w->sc->object_size, stamps[i]))
			werr(w, "object overwritten at", objs[i]);
	ret = kt_free(c->fd, w->sc->cache_id, *n - from, objs + from, &done);
	if (ret || done != *n - from)
		werr(w, "FREE_BULK", ret ? ret : (long)done);
	else
		w->free_calls++;
	w->objs_freed += done;
	*n = from;
}

static void *alloc_free_loop(void *arg)
{
	struct worker_state *w = arg;
	struct kt_client *c = w->sc->c;
	__u64 objs[LIVE_OBJS], stamps[LIVE_OBJS];
	__u64 blocks[LIVE_BLOCKS], bstamps[LIVE_BLOCKS];
	unsigned int it, i, nobj = 0, nblk = 0, order[LIVE_BLOCKS];
	__u64 r, s;
	__u32 done, want;
	int ret;

	for (it = 0; it < w->iters; it++) {
		r = rnd(&w->seed);
		if (r % 4 == 0) {
			if (nblk == LIVE_BLOCKS) {
				nblk--;
				if (!stamped(c->win + blocks[nblk],
					     c->page << order[nblk],
					     bstamps[nblk]))
					werr(w, "block overwritten at",
					     blocks[nblk]);
				ret = kt_pages_free(c->fd, blocks[nblk]);
				if (ret)
					werr(w, "PAGES_FREE", ret);
				else
					w->free_calls++;
				continue;
			}
			order[nblk] = (r >> 8) % 2;
			ret = kt_pages_alloc(c->fd, order[nblk], &blocks[nblk]);
			if (ret == -ENOMEM) {
				w->enomem++;
				continue;
			}
			if (ret) {
				werr(w, "PAGES_ALLOC", ret);
				continue;
			}
			w->alloc_calls++;
			if (kt_first_nonzero(c->win + blocks[nblk],
					     c->page << order[nblk]) >= 0)
				werr(w, "block not zeroed at", blocks[nblk]);
			bstamps[nblk] = rnd(&w->seed);
			stamp(c->win + blocks[nblk], c->page << order[nblk],
			      bstamps[nblk]);
			nblk++;
			continue;
		}
		if (nobj > LIVE_OBJS / 2 && r % 3) {
			/* The newest 1 to 32 objects. */
			free_objs(w, objs, stamps, nobj - 1 - (r >> 8) % 32,
				  &nobj);
			continue;
		}
		want = 1 + (r >> 16) % 32;
		if (want > LIVE_OBJS - nobj)
			want = LIVE_OBJS - nobj;
		if (!want)
			continue;
		ret = kt_alloc(c->fd, w->sc->cache_id, want, objs + nobj,
			       &done);
		if (ret == -ENOMEM) {
			w->enomem++;
			continue;
		}
		if (ret || !done || done > want) {
			werr(w, "ALLOC_BULK", ret ? ret : (long)done);
			continue;
		}
		w->alloc_calls++;
		w->objs_alloc += done;
		for (i = 0; i < done; i++) {
			s = rnd(&w->seed);
			stamps[nobj] = s;
			stamp(c->win + objs[nobj], w->sc->object_size, s);
			nobj++;
		}
	}
	free_objs(w, objs, stamps, 0, &nobj);
	while (nblk--) {
		if (!stamped(c->win + blocks[nblk], c->page << order[nblk],
			     bstamps[nblk]))
			werr(w, "block overwritten at", blocks[nblk]);
		ret = kt_pages_free(c->fd, blocks[nblk]);
		if (ret)
			werr(w, "PAGES_FREE", ret);
		else
			w->free_calls++;
	}
	return NULL;
}

/* Create and destroy caches with a few objects, while the others run. */
static void *cache_churn(void *arg)
{
	struct worker_state *w = arg;
	struct kt_client *c = w->sc->c;
	struct karena_cache_create cc;
	char name[KARENA_NAME_LEN];
	unsigned int it;
	__u64 offs[8];
	__u32 done;
	int ret;

	for (it = 0; it < w->iters / 8; it++) {
		snprintf(name, sizeof(name), "churn%u", it);
		ret = kt_cache_create(c->fd, name, 16 + it % 500, 0,
				      it % 2 ? KARENA_CACHE_RED_ZONE : 0, &cc);
		if (ret) {
			werr(w, "CACHE_CREATE", ret);
			continue;
		}
		ret = kt_alloc(c->fd, cc.cache_id, 8, offs, &done);
		if (ret == -ENOMEM) {
			w->enomem++;
		} else if (ret) {
			werr(w, "ALLOC_BULK", ret);
		} else {
			w->alloc_calls++;
			w->objs_alloc += done;
			ret = kt_free(c->fd, cc.cache_id, done, offs, NULL);
			if (ret)
				werr(w, "FREE_BULK", ret);
			else
				w->free_calls++;
			w->objs_freed += done;
		}
		ret = kt_cache_destroy(c->fd, cc.cache_id);
		if (ret)
			werr(w, "CACHE_DESTROY", ret);
	}
	return NULL;
}

/* Read every debugfs file of karena, over and over, until told to stop. */
static void read_tree(const char *dir, unsigned long *files)
{
	char path[512], buf[4096];
	struct dirent *e;
	DIR *d = opendir(dir);
	int fd;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			read_tree(path, files);
			continue;
		}
		fd = open(path, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			continue;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		(*files)++;
	}
	closedir(d);
}

static void *debugfs_reader(void *arg)
{
	struct shared_client *sc = arg;
	unsigned long files = 0;

	while (!__atomic_load_n(&sc->stop, __ATOMIC_ACQUIRE))
		read_tree("/sys/kernel/debug/karena", &files);
	return (void *)files;
}

#define THREADS 4

static int unbalanced(const char *what, __u64 want, __u64 got)
{
	if (want == got)
		return 0;
	fprintf(stderr, "# STATS.%s: want %llu, got %llu\n", what,
		(unsigned long long)want, (unsigned long long)got);
	return 1;
}

/*
 * THREADS threads on one client plus a cache churner; returns the number
 * of problems, each logged to stderr.
 */
static int run_client(struct kt_client *c, __u64 seed, unsigned int iters,
		      bool reader)
{
	struct worker_state w[THREADS + 1];
	struct shared_client sc = { .c = c };
	struct karena_cache_create cc;
	struct karena_stats st;
	pthread_t t[THREADS + 1], rt;
	unsigned long allocs = 0, frees = 0, oa = 0, of = 0, enomem = 0;
	int i, problems = 0;

	if (kt_cache_create(c->fd, "shared", 72, 0, KARENA_CACHE_POISON, &cc))
		return 1;
	sc.cache_id = cc.cache_id;
	sc.object_size = cc.object_size;
	memset(w, 0, sizeof(w));
	if (reader)
		pthread_create(&rt, NULL, debugfs_reader, &sc);
	for (i = 0; i <= THREADS; i++) {
		w[i].sc = &sc;
		w[i].seed = seed + i * 0x9e3779b97f4a7c15ULL;
		w[i].iters = iters;
		pthread_create(&t[i], NULL, i < THREADS ? alloc_free_loop :
			       cache_churn, &w[i]);
	}
	for (i = 0; i <= THREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].errors) {
			fprintf(stderr, "# thread %d: %lu errors, first %s\n",
				i, w[i].errors, w[i].msg);
			problems++;
		}
		allocs += w[i].alloc_calls;
		frees += w[i].free_calls;
		oa += w[i].objs_alloc;
		of += w[i].objs_freed;
		enomem += w[i].enomem;
	}
	__atomic_store_n(&sc.stop, 1, __ATOMIC_RELEASE);
	if (reader)
		pthread_join(rt, NULL);
	if (kt_cache_destroy(c->fd, sc.cache_id))
		problems++;
	if (kt_stats(c->fd, &st))
		return problems + 1;
	problems += unbalanced("objects", 0, st.objects);
	problems += unbalanced("block_bytes", 0, st.block_bytes);
	problems += unbalanced("nr_caches", 0, st.nr_caches);
	problems += unbalanced("objects_allocated", oa, st.objects_allocated);
	problems += unbalanced("objects_freed", of, st.objects_freed);
	problems += unbalanced("free_calls", frees, st.free_calls);
	problems += unbalanced("bad_frees", 0, st.bad_frees);
	if (!enomem)
		problems += unbalanced("alloc_calls", allocs, st.alloc_calls);
	else
		fprintf(stderr, "# %lu allocations refused (ENOMEM)\n", enomem);
	return problems;
}

static int process_client(void *arg)
{
	struct kt_client c;
	int problems;

	if (kt_open(&c) || kt_map(&c))
		return 100;
	problems = run_client(&c, (__u64)(unsigned long)arg, 300, false);
	kt_close(&c);
	return problems;
}

/*
 * Threads through one client, processes through their own clients, a
 * debugfs reader: every stamp survives, every counter balances, and the
 * arena gets everything back.
 */
TEST_F_TIMEOUT(iso, threads_and_processes_keep_accounting_exact, 300)
{
	__u64 seed = env_ulong("KARENA_SEED", time(NULL)) | 1;
	int status, i, problems;
	pid_t pid[2];

	TH_LOG("seed %llu", (unsigned long long)seed);
	for (i = 0; i < 2; i++) {
		fflush(stderr);
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			_exit(process_client((void *)(unsigned long)
					     (seed * (i + 3))));
	}
	problems = run_client(&self->c, seed, 300, true);
	EXPECT_EQ(0, problems);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("process %d", i);
	}
	kt_close(&self->c);
	/* Nothing of any client left, and the arena still consistent. */
	EXPECT_EQ(0, kt_user_pages_settled(0));
	EXPECT_EQ(0, kt_nr_clients());
	EXPECT_EQ(0, kt_validate_arena());
}

/**
 * struct race - two threads freeing the same thing at the same time.
 * @fd: the client.
 * @cache_id: the cache, or 0 for page blocks.
 * @off: what both free.
 * @ret: what each got.
 * @start: the three-party barrier before one race.
 * @end: the three-party barrier after it.
 * @iters: races to run.
 */
struct race {
	int fd;
	__u32 cache_id;
	__u64 off;
	int ret[2];
	pthread_barrier_t start, end;
	unsigned int iters;
};

struct racer {
	struct race *r;
	int id;
};

static void *racer(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->r;
	unsigned int i;
	__u64 off;

	for (i = 0; i < r->iters; i++) {
		pthread_barrier_wait(&r->start);
		off = r->off;
		if (r->cache_id)
			me->r->ret[me->id] = kt_free(r->fd, r->cache_id, 1,
						     &off, NULL);
		else
			me->r->ret[me->id] = kt_pages_free(r->fd, off);
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static void run_race(struct __test_metadata *_metadata, struct race *r)
{
	struct racer a = { r, 0 }, b = { r, 1 };
	unsigned int i, wins, losses = 0;
	struct karena_stats before, after;
	pthread_t ta, tb;
	__u32 done;
	int ret;

	ASSERT_EQ(0, kt_stats(r->fd, &before));
	ASSERT_EQ(0, pthread_barrier_init(&r->start, NULL, 3));
	ASSERT_EQ(0, pthread_barrier_init(&r->end, NULL, 3));
	ASSERT_EQ(0, pthread_create(&ta, NULL, racer, &a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, racer, &b));
	for (i = 0; i < r->iters; i++) {
		if (r->cache_id)
			ret = kt_alloc(r->fd, r->cache_id, 1, &r->off, &done);
		else
			ret = kt_pages_alloc(r->fd, 0, &r->off);
		ASSERT_EQ(0, ret) TH_LOG("race %u", i);
		pthread_barrier_wait(&r->start);
		pthread_barrier_wait(&r->end);
		wins = (r->ret[0] == 0) + (r->ret[1] == 0);
		ASSERT_EQ(1U, wins) TH_LOG("race %u: %d and %d", i, r->ret[0],
					   r->ret[1]);
		ret = r->ret[0] ? r->ret[0] : r->ret[1];
		ASSERT_TRUE(ret == -ENOENT || ret == -EINVAL)
			TH_LOG("race %u: loser got %d", i, ret);
		losses++;
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ASSERT_EQ(0, kt_stats(r->fd, &after));
	EXPECT_EQ(before.objects, after.objects);
	EXPECT_EQ(before.block_bytes, after.block_bytes);
	EXPECT_EQ(before.bad_frees + losses, after.bad_frees);
}

/* CVE-2016-9120 shape: exactly one of two concurrent frees succeeds. */
TEST_F_TIMEOUT(iso, racing_double_free_of_an_object_frees_once, 120)
{
	struct karena_cache_create cc;
	struct race r = { .fd = self->c.fd };

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "race", 32, 0, 0, &cc));
	r.cache_id = cc.cache_id;
	r.iters = env_ulong("KARENA_RACE_ITERS", 3000);
	run_race(_metadata, &r);
	EXPECT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
}

TEST_F_TIMEOUT(iso, racing_double_free_of_a_block_frees_once, 120)
{
	struct race r = { .fd = self->c.fd, .cache_id = 0 };

	r.iters = env_ulong("KARENA_RACE_ITERS", 3000) / 2;
	run_race(_metadata, &r);
}

/* === Hostile userspace === */

/* Every byte the client owns (blocks and whole slab pages) made random. */
static void scribble(struct kt_client *c, const __u64 *offs, unsigned int n,
		     __u64 *seed)
{
	unsigned int i;
	__u64 *p;
	size_t k;

	for (i = 0; i < n; i++) {
		p = (__u64 *)(c->win + offs[i] / c->page * c->page);
		/* The commands may have freed it: then it faults. */
		if (kt_probe((char *)p, true, NULL))
			continue;
		for (k = 0; k < c->page / 8; k++)
			p[k] = rnd(seed);
	}
}

/*
 * Random bytes over all owned memory, then thousands of commands with
 * random and half-valid arguments: only documented errors, the client
 * keeps working, and closing it gives everything back.
 */
TEST_F_TIMEOUT(iso, hostile_scribbling_then_random_commands, 180)
{
	static const unsigned int sizes[] = {
		sizeof(struct karena_info), sizeof(struct karena_cache_create),
		sizeof(struct karena_cache_destroy), sizeof(struct karena_bulk),
		sizeof(struct karena_bulk), sizeof(struct karena_pages),
		sizeof(struct karena_pages), sizeof(struct karena_stats),
	};
	__u64 seed = env_ulong("KARENA_SEED", time(NULL)) | 1;
	__u64 owned[512], arr[64], r;
	unsigned int n = 0, it, k, nr, size, bad = 0;
	struct karena_cache_create cc;
	__u32 ids[3], done;
	char buf[512];
	int ret, err;
	long nz;

	TH_LOG("seed %llu", (unsigned long long)seed);
	for (k = 0; k < 3; k++) {
		snprintf(buf, sizeof(buf), "hostile%u", k);
		ASSERT_EQ(0, kt_cache_create(self->c.fd, buf, 24 + k * 500, 0,
					     k == 0 ? KARENA_CACHE_FLAGS : 0,
					     &cc));
		ids[k] = cc.cache_id;
		ASSERT_EQ(0, kt_alloc(self->c.fd, ids[k], 64, owned + n, &done));
		n += done;
	}
	for (k = 0; k < 4; k++)
		ASSERT_EQ(0, kt_pages_alloc(self->c.fd, k, &owned[n++]));
	scribble(&self->c, owned, n, &seed);

	for (it = 0; it < 4000; it++) {
		r = rnd(&seed);
		nr = r % 10 < 9 ? (r >> 4) % 8 : 8 + (r >> 4) % 200;
		size = nr < 8 ? sizes[nr] : 64;
		if ((r >> 12) % 8 == 0)
			size = (r >> 16) % sizeof(buf);
		memset(buf, 0, sizeof(buf));
		if ((r >> 20) % 4 == 0) {
			for (k = 0; k < sizeof(buf) / 8; k++)
				((__u64 *)buf)[k] = rnd(&seed);
		} else {
			/* Plausible: right layout, wrong values. */
			__u32 *w = (__u32 *)buf;
			__u64 *q = (__u64 *)buf;

			w[1] = (r >> 24) % 2 ? ids[(r >> 25) % 3] :
			       (__u32)rnd(&seed);
			if (nr == 5 || nr == 6) {
				w[1] = (r >> 26) % 14;
				q[1] = (r >> 27) % 2 ?
				       owned[(r >> 28) % n] + (r >> 40) % 9 :
				       rnd(&seed) % (2 * self->c.info.window_bytes);
			}
			if (nr == 3 || nr == 4) {
				w[2] = (r >> 30) % 80;
				for (k = 0; k < ARRAY_SIZE(arr); k++)
					arr[k] = (r >> 31) % 2 ?
						 owned[rnd(&seed) % n] +
						 rnd(&seed) % 3 * 8 :
						 rnd(&seed);
				q[2] = (r >> 33) % 16 ? (__u64)(unsigned long)arr :
				       rnd(&seed);
			}
			if (nr == 1) {
				w[1] = (__u32)rnd(&seed) % 5000;
				snprintf(buf + 16, KARENA_NAME_LEN, "h%u", it % 7);
			}
		}
		if (it % 500 == 0)
			scribble(&self->c, owned, n, &seed);
		errno = 0;
		ret = ioctl(self->c.fd, KT_IOC(nr, size), buf);
		err = errno;
		if (!ret)
			continue;
		if (nr >= 8 ? err == ENOTTY :
		    err == EINVAL || err == ENOENT || err == EEXIST ||
		    err == EBUSY || err == ENOMEM || err == EFAULT ||
		    err == E2BIG)
			continue;
		bad++;
		TH_LOG("command %u size %u: %s", nr, size, strerror(err));
	}
	EXPECT_EQ(0U, bad);
	/* Still a working client. */
	EXPECT_EQ(0, kt_info(self->c.fd, &self->c.info));
	EXPECT_EQ(0, kt_stats(self->c.fd, &(struct karena_stats){ 0 }));
	kt_close(&self->c);
	/* Nothing of any client left, and the arena still consistent. */
	EXPECT_EQ(0, kt_user_pages_settled(0));
	EXPECT_EQ(0, kt_nr_clients());
	EXPECT_EQ(0, kt_validate_arena());
	/* And a new client gets clean memory. */
	ASSERT_EQ(0, kt_open(&self->c));
	ASSERT_EQ(0, kt_map(&self->c));
	for (k = 0; k < 8; k++) {
		ASSERT_EQ(0, kt_pages_alloc(self->c.fd, k % 3, &owned[k]));
		nz = kt_first_nonzero(self->c.win + owned[k],
				      self->c.page << (k % 3));
		EXPECT_EQ(-1, nz) TH_LOG("block %u byte %ld", k, nz);
	}
}

TEST_HARNESS_MAIN
