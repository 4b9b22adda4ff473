// SPDX-License-Identifier: GPL-2.0
/*
 * libkarena under threads: objects allocated in one thread and freed in
 * another with content stamps, thread churn (threads that exit holding
 * magazines), fork while other threads allocate; then the kernel's own
 * checks: every user cache of this client and the buddy allocator are
 * validated through debugfs, and their error counters must stay 0.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "lib_test_util.h"

#define PAIRS		4
#define PER_ROUND	1500
#define ROUNDS		4

struct lane {
	void *objs[PER_ROUND];
	size_t sizes[PER_ROUND];
	unsigned int seed;
	long bad;
};

static size_t pick_size(unsigned int *seed)
{
	unsigned int r = rand_r(seed);

	if (r % 100 < 85)
		return 1 + r % 512;
	if (r % 100 < 99)
		return 1 + r % 16384;
	return 16385 + r % 200000;
}

static void *producer(void *arg)
{
	struct lane *l = arg;
	unsigned int i;

	for (i = 0; i < PER_ROUND; i++) {
		l->sizes[i] = pick_size(&l->seed);
		l->objs[i] = i % 3 ? ka_malloc(l->sizes[i]) :
			     ka_calloc(1, l->sizes[i]);
		if (!l->objs[i]) {
			l->bad++;
			continue;
		}
		lt_stamp(l->objs[i], l->sizes[i] < 64 ? l->sizes[i] : 64, i);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct lane *l = arg;
	unsigned int i;

	for (i = 0; i < PER_ROUND; i++) {
		if (!l->objs[i])
			continue;
		if (!lt_stamp_ok(l->objs[i],
				 l->sizes[i] < 64 ? l->sizes[i] : 64, i))
			l->bad++;
		ka_free(l->objs[i]);
	}
	return NULL;
}

/* Validate every user cache of our client and the buddy allocator. */
static int kernel_validate(struct __test_metadata *_metadata, long cid)
{
	char prefix[32], path[512], buf[4096];
	struct dirent *de;
	int caches = 0;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "u%ld.", cid);
	d = opendir(LT_DEBUGFS "/caches");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), LT_DEBUGFS "/caches/%s/validate",
			 de->d_name);
		EXPECT_EQ(0, lt_write(path, "1")) TH_LOG("%s", path);
		snprintf(path, sizeof(path), LT_DEBUGFS "/caches/%s/errors",
			 de->d_name);
		EXPECT_LT(0, lt_read(path, buf, sizeof(buf)));
		EXPECT_EQ(0, atol(buf)) TH_LOG("%s: %s", path, buf);
		caches++;
	}
	closedir(d);
	EXPECT_EQ(0, lt_write(LT_DEBUGFS "/validate", "1"));
	EXPECT_LT(0, lt_read(LT_DEBUGFS "/arena", buf, sizeof(buf)));
	EXPECT_EQ(0, lt_kv(buf, "validate_failures")) TH_LOG("%s", buf);
	return caches;
}

/*
 * After a trim: the kernel holds no object of this client and refused
 * no free, and its validate of the client's caches finds nothing wrong.
 */
static void expect_client_clean(struct __test_metadata *_metadata)
{
	struct ka_client_stats cs;
	long cid;

	ka_trim();
	ASSERT_EQ(0, ka_client_stats(NULL, &cs));
	EXPECT_EQ(0U, cs.objects) TH_LOG("the kernel still counts objects");
	EXPECT_EQ(0U, cs.block_bytes);
	EXPECT_EQ(0U, cs.bad_frees);
	if (access(LT_DEBUGFS "/clients", R_OK))
		SKIP(return, "no debugfs: kernel-side validate not run");
	cid = ka_heap_client_id(NULL);
	ASSERT_LE(0, cid) TH_LOG("%s", ka_errmsg());
	EXPECT_LT(0, kernel_validate(_metadata, cid));
}

FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, cross_thread_free, 300)
{
	struct lane lanes[PAIRS];
	pthread_t p[PAIRS], c[PAIRS];
	struct ka_stats st;
	unsigned int r, i;
	long bad = 0;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	memset(lanes, 0, sizeof(lanes));
	for (i = 0; i < PAIRS; i++)
		lanes[i].seed = 1 + i;
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < PAIRS; i++)
			ASSERT_EQ(0, pthread_create(&p[i], NULL, producer,
						    &lanes[i]));
		for (i = 0; i < PAIRS; i++)
			pthread_join(p[i], NULL);
		/* Each lane is freed by another thread than made it. */
		for (i = 0; i < PAIRS; i++)
			ASSERT_EQ(0, pthread_create(&c[i], NULL, consumer,
						    &lanes[(i + 1) % PAIRS]));
		for (i = 0; i < PAIRS; i++)
			pthread_join(c[i], NULL);
	}
	for (i = 0; i < PAIRS; i++)
		bad += lanes[i].bad;
	EXPECT_EQ(0, bad) TH_LOG("failed allocations or broken stamps");

	ASSERT_EQ(0, ka_heap_stats(NULL, &st));
	EXPECT_EQ(0U, st.objects_in_use);
	EXPECT_EQ(0U, st.blocks_in_use);
	EXPECT_EQ(0U, st.double_frees + st.invalid_frees);
	/*
	 * The exited threads' magazines went to the depots (or back); a
	 * trim gives back the depots and the main thread's magazines.
	 */
	expect_client_clean(_metadata);
	ASSERT_EQ(0, ka_heap_stats(NULL, &st));
	EXPECT_EQ(0U, st.cached_objects)
		TH_LOG("trimmed, cached %llu",
		       (unsigned long long)st.cached_objects);
}

/*
 * The depot under many threads: RING_THREADS threads, each round every
 * one allocates a lane of mixed sizes and frees its neighbour's, so
 * every object is freed by another thread than made it and crosses the
 * depot.  Stamps prove no object was handed out twice; the counters and
 * the kernel's validate prove nothing was lost.
 */
#define RING_THREADS	8
#define RING_OBJS	300
#define RING_ROUNDS	40

static void *ring_lane[RING_THREADS][RING_OBJS];
static pthread_barrier_t ring_barrier;
static long ring_bad;

static void *ring(void *arg)
{
	unsigned int me = (uintptr_t)arg, next = (me + 1) % RING_THREADS;
	unsigned int seed = me + 1, r, i;
	unsigned char *p;
	size_t sz;

	for (r = 0; r < RING_ROUNDS; r++) {
		for (i = 0; i < RING_OBJS; i++) {
			sz = 16 << (rand_r(&seed) % 8);
			p = ka_malloc(sz);
			if (!p) {
				__atomic_fetch_add(&ring_bad, 1, __ATOMIC_RELAXED);
				continue;
			}
			memset(p, me, 16);
			ring_lane[me][i] = p;
		}
		pthread_barrier_wait(&ring_barrier);
		for (i = 0; i < RING_OBJS; i++) {
			p = ring_lane[next][i];
			if (p && (p[0] != next || p[15] != next))
				__atomic_fetch_add(&ring_bad, 1, __ATOMIC_RELAXED);
			ka_free(p);
			ring_lane[next][i] = NULL;
		}
		pthread_barrier_wait(&ring_barrier);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, depot_ring_of_threads, 300)
{
	pthread_t t[RING_THREADS];
	struct ka_stats st;
	unsigned int i;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	ASSERT_EQ(0, pthread_barrier_init(&ring_barrier, NULL, RING_THREADS));
	for (i = 0; i < RING_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, ring,
					    (void *)(uintptr_t)i));
	for (i = 0; i < RING_THREADS; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, ring_bad) TH_LOG("failed allocations or broken stamps");
	ASSERT_EQ(0, ka_heap_stats(NULL, &st));
	EXPECT_EQ(0U, st.objects_in_use);
	EXPECT_EQ((__u64)RING_THREADS * RING_OBJS * RING_ROUNDS, st.mallocs);
	EXPECT_EQ(st.mallocs, st.frees);
	EXPECT_EQ(0U, st.double_frees + st.invalid_frees);
	EXPECT_LT(0U, st.cached_objects) TH_LOG("the depots kept nothing");
	expect_client_clean(_metadata);
}

/*
 * mimalloc's test-stress pattern: short-lived threads that allocate,
 * hand objects over through a shared array and exit.  480 thread exits:
 * on the debug kernel under emulation each costs a good part of a
 * second (50 rounds took over 300 s there).
 */
#define CHURN_THREADS	32
#define CHURN_ITERS	15
#define CHURN_SLOTS	512

static void *churn_slots[CHURN_SLOTS];
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static long churn_bad;

static void *churn(void *arg)
{
	unsigned int seed = (uintptr_t)arg, i, k;
	void *mine[16];

	for (i = 0; i < 16; i++) {
		mine[i] = ka_malloc(16 + rand_r(&seed) % 2000);
		if (mine[i])
			memset(mine[i], 0x5a, 16);
	}
	for (i = 0; i < 40; i++) {
		k = rand_r(&seed) % CHURN_SLOTS;
		pthread_mutex_lock(&churn_lock);
		if (churn_slots[k]) {
			if (((unsigned char *)churn_slots[k])[0] != (k & 0xff))
				churn_bad++;
			ka_free(churn_slots[k]);
		}
		churn_slots[k] = ka_malloc(8 + rand_r(&seed) % 300);
		if (churn_slots[k])
			((unsigned char *)churn_slots[k])[0] = k & 0xff;
		pthread_mutex_unlock(&churn_lock);
	}
	for (i = 0; i < 16; i++)
		ka_free(mine[i]);
	return NULL;
}

TEST_F_TIMEOUT(stress, thread_churn, 300)
{
	pthread_t th[CHURN_THREADS];
	struct ka_client_stats cs;
	struct ka_stats st;
	unsigned int it, i;
	long cid;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (it = 0; it < CHURN_ITERS; it++) {
		for (i = 0; i < CHURN_THREADS; i++)
			ASSERT_EQ(0, pthread_create(&th[i], NULL, churn,
						    (void *)(uintptr_t)(it * 100 + i)));
		for (i = 0; i < CHURN_THREADS; i++)
			pthread_join(th[i], NULL);
	}
	EXPECT_EQ(0, churn_bad);
	for (i = 0; i < CHURN_SLOTS; i++)
		ka_free(churn_slots[i]);
	ASSERT_EQ(0, ka_heap_stats(NULL, &st));
	EXPECT_EQ(0U, st.objects_in_use);
	EXPECT_EQ(0U, st.double_frees + st.invalid_frees);
	ka_heap_trim(NULL);
	ASSERT_EQ(0, ka_client_stats(NULL, &cs));
	EXPECT_EQ(0U, cs.objects);
	EXPECT_EQ(0U, cs.bad_frees);
	if (access(LT_DEBUGFS "/clients", R_OK))
		SKIP(return, "no debugfs: kernel-side validate not run");
	cid = ka_heap_client_id(NULL);
	ASSERT_LE(0, cid);
	EXPECT_LT(0, kernel_validate(_metadata, cid));
}

/* glibc's tst-malloc-fork-deadlock shape: fork while threads allocate. */
static int fork_stop;

static void *busy(void *arg)
{
	unsigned int seed = (uintptr_t)arg;
	void *p;

	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		p = ka_malloc(1 + rand_r(&seed) % 4000);
		ka_free(p);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, fork_while_threads_allocate, 300)
{
	pthread_t th[4];
	unsigned int i, forks;
	int status;
	pid_t pid;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, busy,
					    (void *)(uintptr_t)i));
	for (forks = 0; forks < 20; forks++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			void *p[100];

			alarm(60);
			for (i = 0; i < 100; i++)
				p[i] = ka_malloc(1 + i * 37);
			for (i = 0; i < 100; i++)
				ka_free(p[i]);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status))
			TH_LOG("child ended by signal %d", WTERMSIG(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	__atomic_store_n(&fork_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}

static void *first_malloc(void *arg)
{
	ka_free(ka_malloc(16));
	return arg;
}

/*
 * This program exec'd with LT_FORK_DURING_INIT set: one thread makes the
 * library's first call while the main thread forks; the child must be
 * able to allocate (it hung on the library's init lock when the fork
 * came in the middle of its initialisation).  Runs before main(), so
 * that nothing has called the library yet.
 */
static void __attribute__((constructor)) fork_during_init(void)
{
	pthread_t t;
	int status;
	pid_t pid;

	if (!getenv("LT_FORK_DURING_INIT"))
		return;
	pthread_create(&t, NULL, first_malloc, NULL);
	pid = fork();
	if (!pid) {
		alarm(60);
		ka_free(ka_malloc(16));
		_exit(0);
	}
	pthread_join(t, NULL);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		_exit(0);
	fprintf(stderr, "# fork during the first call: child %s %d\n",
		WIFSIGNALED(status) ? "killed by signal" : "exited with",
		WIFSIGNALED(status) ? WTERMSIG(status) :
		WEXITSTATUS(status));
	_exit(1);
}

/*
 * The race is the library's own, so the kernel does not matter: 100
 * rounds by default (the bug hung 24 children of 2000), fewer where an
 * exec costs seconds (LT_FORK_INIT_ROUNDS; make check's debug kernel).
 */
TEST_F_TIMEOUT(stress, fork_during_first_call, 600)
{
	const char *env = getenv("LT_FORK_INIT_ROUNDS");
	int i, status, bad = 0, rounds = env ? atoi(env) : 100;
	pid_t pid;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (i = 0; i < rounds; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			setenv("LT_FORK_DURING_INIT", "1", 1);
			execl("/proc/self/exe", "lib_stress_test", (char *)NULL);
			_exit(127);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	EXPECT_EQ(0, bad) TH_LOG("%d of %d children hung or failed", bad, rounds);
}

TEST_HARNESS_MAIN
