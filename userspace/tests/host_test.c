// SPDX-License-Identifier: GPL-2.0
/*
 * The library's logic under ASan and UBSan on the host (make asan-test),
 * over the fake device of lib/dev_fake.c: size classes, page map and
 * bitmaps, magazines with threads, misuse detection (counted, since
 * KARENA_ABORT=0 here), page blocks, object caches with red zones, fork,
 * statistics and the leak table.  TAP output; the real device is tested
 * in the VM by tests/selftests/lib_*_test.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

static int tests, failures;

#define CHECK(cond, ...) do {						\
	tests++;							\
	if (cond) {							\
		printf("ok %d - ", tests);				\
	} else {							\
		failures++;						\
		printf("not ok %d - ", tests);				\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

static struct ka_stats stats(void)
{
	struct ka_stats st;

	ka_heap_stats(NULL, &st);
	return st;
}

static void test_classes(void)
{
	unsigned int i, bad = 0;
	size_t s;

	for (i = 0; i < KA_NR_CLASSES; i++) {
		s = _ka_class_size(i);
		if (_ka_class_index(s) != i || _ka_class_index(s + 1) != i + 1 ||
		    (i && _ka_class_index(_ka_class_size(i - 1) + 1) != i) ||
		    s % 16)
			bad++;
	}
	CHECK(!bad && _ka_class_size(KA_NR_CLASSES - 1) == KA_MAX_CLASS,
	      "size classes: every boundary n, n+1 maps right (%u bad)", bad);
	CHECK(_ka_order_for(1, 12) == 0 && _ka_order_for(4096, 12) == 0 &&
	      _ka_order_for(4097, 12) == 1 && _ka_order_for(5 * 4096, 12) == 3,
	      "block orders are ceil(log2(pages))");
}

static void test_malloc_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 63, 64, 65, 100, 4095,
					4096, 4097, 16383, 16384, 16385,
					100000, 4 << 20 };
	unsigned int i, bad = 0;
	void *p[ARRAY_SIZE(sizes)];
	size_t u;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		p[i] = ka_malloc(sizes[i]);
		u = ka_malloc_usable_size(p[i]);
		if (!p[i] || u < sizes[i] || (uintptr_t)p[i] % 16)
			bad++;
		else
			memset(p[i], i, sizes[i]);
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (sizes[i] && ((unsigned char *)p[i])[sizes[i] - 1] != i)
			bad++;
		ka_free(p[i]);
	}
	CHECK(!bad, "malloc of every kind of size, stamped and freed (%u bad)",
	      bad);
	errno = 0;
	CHECK(!ka_malloc((32 << 20) + 1) && errno == ENOMEM,
	      "beyond the quota: NULL, ENOMEM");
	errno = 0;
	CHECK(!ka_malloc(SIZE_MAX) && errno == ENOMEM, "SIZE_MAX: ENOMEM");
	errno = 0;
	CHECK(!ka_calloc(SIZE_MAX / 2, 3) && errno == ENOMEM,
	      "calloc overflow: ENOMEM");
}

static void test_calloc_realloc(void)
{
	unsigned char *p, *q;
	unsigned int i, bad = 0;

	p = ka_malloc(200);
	memset(p, 0xee, 200);
	ka_free(p);
	q = ka_calloc(1, 200);
	for (i = 0; i < 200; i++)
		bad += q[i] != 0;
	CHECK(q && !bad, "calloc zeroes a recycled object");

	for (i = 0; i < 200; i++)
		q[i] = i;
	p = ka_realloc(q, 210);
	CHECK(p == q, "realloc within the class (200 -> 210, class 224) stays");
	q = ka_realloc(p, 5000);
	bad = 0;
	for (i = 0; i < 200; i++)
		bad += q[i] != i;
	CHECK(q && q != p && !bad, "realloc to another class moves, contents kept");
	p = ka_realloc(q, 100000);
	q = ka_realloc(p, 120000);
	CHECK(p == q, "realloc within a block order stays");
	bad = 0;
	for (i = 0; i < 200; i++)
		bad += q[i] != i;
	CHECK(!bad, "contents kept through blocks");
	CHECK(!ka_realloc(q, 0), "realloc to 0 frees and returns NULL");
	p = ka_realloc(NULL, 10);
	CHECK(p, "realloc(NULL) mallocs");
	ka_free(p);
}

static void test_align(void)
{
	unsigned int bad = 0;
	size_t a;
	void *p;
	int ret;

	for (a = 1; a <= (1 << 20); a <<= 1) {
		p = ka_aligned_alloc(a, 24);
		if (!p || (uintptr_t)p % a)
			bad++;
		ka_free(p);
		ret = ka_posix_memalign(&p, a < sizeof(void *) ? sizeof(void *) : a, 5000);
		if (ret || (uintptr_t)p % a)
			bad++;
		if (!ret)
			ka_free(p);
	}
	CHECK(!bad, "alignment 1 .. 1 MiB honoured (%u bad)", bad);
	CHECK(ka_posix_memalign(&p, 0, 8) == EINVAL &&
	      ka_posix_memalign(&p, 3, 8) == EINVAL &&
	      ka_posix_memalign(&p, 4, 8) == EINVAL,
	      "posix_memalign: 0, 3, 4 are EINVAL");
	CHECK(ka_posix_memalign(&p, 8 << 20, 8) == ENOMEM,
	      "posix_memalign beyond the largest block: ENOMEM");
}

/* === Threads === */

#define NT 8
#define PER 2000
static void *shared[NT][PER];

static void *producer(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = 0; i < PER; i++) {
		shared[t][i] = ka_malloc(16 + (i % 700));
		memset(shared[t][i], t, 16);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long t = (long)arg;
	int i, bad = 0;

	for (i = 0; i < PER; i++) {
		if (((unsigned char *)shared[t][i])[0] != t)
			bad++;
		ka_free(shared[t][i]);
	}
	return (void *)(long)bad;
}

static void test_threads(void)
{
	pthread_t th[NT];
	struct ka_stats st;
	long t, bad = 0;
	void *r;

	for (t = 0; t < NT; t++)
		pthread_create(&th[t], NULL, producer, (void *)t);
	for (t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	for (t = 0; t < NT; t++)
		pthread_create(&th[t], NULL, consumer, (void *)((t + 1) % NT));
	for (t = 0; t < NT; t++) {
		pthread_join(th[t], &r);
		bad += (long)r;
	}
	st = stats();
	CHECK(!bad, "objects allocated in one thread, freed in another");
	CHECK(st.objects_in_use == 0, "nothing left in use (%llu)",
	      (unsigned long long)st.objects_in_use);
	/* Exited threads gave their magazines back: only main's remain. */
	ka_heap_trim(NULL);
	st = stats();
	CHECK(st.cached_objects == 0, "after trim nothing is cached (%llu)",
	      (unsigned long long)st.cached_objects);
}

/* === Per-thread counters, remote drains === */

static pthread_barrier_t hold_bar;
static struct ka_cache *hold_cache;

/* Allocate 50 objects, keep them, then wait until main has looked. */
static void *holder(void *arg)
{
	void *p[50];
	int i;

	(void)arg;
	for (i = 0; i < 50; i++)
		p[i] = ka_malloc(100);
	pthread_barrier_wait(&hold_bar);	/* main reads the stats */
	pthread_barrier_wait(&hold_bar);
	for (i = 0; i < 50; i++)
		ka_free(p[i]);
	return NULL;
}

static void test_thread_counts(void)
{
	struct ka_stats before = stats(), mid, after;
	pthread_t th;

	pthread_barrier_init(&hold_bar, NULL, 2);
	pthread_create(&th, NULL, holder, NULL);
	pthread_barrier_wait(&hold_bar);
	mid = stats();
	CHECK(mid.objects_in_use == before.objects_in_use + 50 &&
	      mid.mallocs == before.mallocs + 50,
	      "a live thread's counters are summed (%llu in use, %llu mallocs)",
	      (unsigned long long)(mid.objects_in_use - before.objects_in_use),
	      (unsigned long long)(mid.mallocs - before.mallocs));
	CHECK(mid.cached_objects > before.cached_objects,
	      "and its magazine is counted as cached");
	pthread_barrier_wait(&hold_bar);
	pthread_join(th, NULL);
	after = stats();
	CHECK(after.objects_in_use == before.objects_in_use &&
	      after.mallocs == before.mallocs + 50 &&
	      after.frees == before.frees + 50 &&
	      after.bytes_in_use == before.bytes_in_use,
	      "an exited thread's counters are folded into the arena's");
	pthread_barrier_destroy(&hold_bar);
}

/* Free in this thread what main allocated from hold_cache, keep cached. */
static void *cache_freer(void *arg)
{
	void **o = arg;
	int i;

	for (i = 0; i < 10; i++)
		ka_cache_free(hold_cache, o[i]);
	pthread_barrier_wait(&hold_bar);	/* main destroys the cache */
	pthread_barrier_wait(&hold_bar);
	return NULL;
}

static void test_remote_destroy(void)
{
	void *o[10], *x;
	pthread_t th;
	int i;

	hold_cache = ka_cache_create(NULL, "host-remote", 72, 0, 0);
	for (i = 0; i < 10; i++)
		o[i] = ka_cache_alloc(hold_cache);
	pthread_barrier_init(&hold_bar, NULL, 2);
	pthread_create(&th, NULL, cache_freer, o);
	pthread_barrier_wait(&hold_bar);
	/* The objects sit in a live thread's magazine; in_use is 0 overall. */
	CHECK(ka_cache_destroy(hold_cache) == 0,
	      "destroy empties a live thread's magazine (remote drain)");
	hold_cache = ka_cache_create(NULL, "host-remote2", 72, 0, 0);
	x = ka_cache_alloc(hold_cache);
	errno = 0;
	CHECK(ka_cache_destroy(hold_cache) == -1 && errno == EBUSY,
	      "a cache in a recycled slot counts from 0: one out is EBUSY");
	ka_cache_free(hold_cache, x);
	CHECK(ka_cache_destroy(hold_cache) == 0, "and 0 out destroys it");
	pthread_barrier_wait(&hold_bar);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&hold_bar);
}

static int churn_stop;

static void *churner(void *arg)
{
	unsigned long n = 0;
	void *p[8];
	int i;

	(void)arg;
	while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < 8; i++) {
			p[i] = ka_malloc(16 + 48 * i);
			memset(p[i], i, 16);
		}
		for (i = 0; i < 8; i++)
			ka_free(p[i]);
		n++;
	}
	return (void *)n;
}

static void test_trim_races(void)
{
	struct ka_stats before = stats(), after;
	pthread_t th[2];
	unsigned long loops = 0;
	size_t trimmed = 0;
	void *r;
	int i;

	churn_stop = 0;
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, churner, NULL);
	for (i = 0; i < 300; i++) {
		trimmed += ka_heap_trim(NULL);
		stats();
	}
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], &r);
		loops += (unsigned long)r;
	}
	after = stats();
	CHECK(after.double_frees == before.double_frees &&
	      after.invalid_frees == before.invalid_frees &&
	      after.objects_in_use == before.objects_in_use,
	      "300 trims against 2 threads in malloc/free: nothing lost or doubled (%lu loops, %zu bytes trimmed)",
	      loops, trimmed);
}

static void *late_free(void *arg)
{
	ka_free(arg);
	return NULL;
}

static void test_double_free_threads(void)
{
	struct ka_stats before = stats(), after;
	void *p = ka_malloc(48);
	pthread_t th;

	ka_free(p);
	pthread_create(&th, NULL, late_free, p);
	pthread_join(th, NULL);
	after = stats();
	CHECK(after.double_frees == before.double_frees + 1,
	      "a double free by another thread is detected");
}

/*
 * Threads learn the objects of one new slab at once, from their own
 * refills, on pages that held another slot's slab before: each page's
 * stale start bits must be cleared once, before any new one is set.
 * (Before the page was held BUSY while it was cleared, one thread could
 * clear a page after the other had set a start bit on it, and that
 * object's free was then refused as "not the start of an object".)
 */
#define RELEARN_PAGES	16
#define RELEARN_STRIDE	48	/* some objects straddle two pages */
#define RELEARN_ROUNDS	2000
#define RELEARN_THREADS	16	/* more than the CPUs: some are preempted */

static struct ka_pagemap relearn_pm;
static pthread_barrier_t relearn_barrier;
static unsigned long relearn_lost;

static void *relearn(void *arg)
{
	unsigned long first = (uintptr_t)arg;
	__u64 off, end = (__u64)RELEARN_PAGES << relearn_pm.page_shift;
	int round;

	for (round = 0; round < RELEARN_ROUNDS; round++) {
		pthread_barrier_wait(&relearn_barrier);
		for (off = first * RELEARN_STRIDE; off + RELEARN_STRIDE <= end;
		     off += RELEARN_THREADS * RELEARN_STRIDE)
			_ka_pm_learn_object(&relearn_pm, off, RELEARN_STRIDE,
					    1 + round % 2);
		pthread_barrier_wait(&relearn_barrier);
		for (off = first * RELEARN_STRIDE; off + RELEARN_STRIDE <= end;
		     off += RELEARN_THREADS * RELEARN_STRIDE)
			if (!_ka_pm_start(&relearn_pm, off))
				__atomic_add_fetch(&relearn_lost, 1,
						   __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_relearn_race(void)
{
	pthread_t th[RELEARN_THREADS];
	unsigned long i;

	if (_ka_pm_init(&relearn_pm, RELEARN_PAGES << 12, 12)) {
		CHECK(0, "page map for the relearn race");
		return;
	}
	pthread_barrier_init(&relearn_barrier, NULL, RELEARN_THREADS);
	for (i = 0; i < RELEARN_THREADS; i++)
		pthread_create(&th[i], NULL, relearn, (void *)i);
	for (i = 0; i < RELEARN_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&relearn_barrier);
	_ka_pm_destroy(&relearn_pm);
	CHECK(relearn_lost == 0,
	      "%d threads learning one new slab's objects lose no start bit (%lu lost in %d rounds)",
	      RELEARN_THREADS, relearn_lost, RELEARN_ROUNDS);
}

/* === Misuse, counted (KARENA_ABORT=0) === */

static void test_misuse(void)
{
	struct ka_stats before = stats(), after;
	char *p = ka_malloc(64), *b;
	int x;

	ka_free(p);
	ka_free(p);
	after = stats();
	CHECK(after.double_frees == before.double_frees + 1,
	      "double free detected");
	p = ka_malloc(64);
	ka_free(p + 16);
	ka_free(&x);
	after = stats();
	CHECK(after.invalid_frees == before.invalid_frees + 2,
	      "interior and foreign pointers detected");
	ka_free(p);
	b = ka_pages_alloc(NULL, 2);
	ka_free(b + 4096);
	ka_pages_free(b);
	ka_pages_free(b);
	after = stats();
	CHECK(after.invalid_frees == before.invalid_frees + 3 &&
	      after.double_frees == before.double_frees + 2,
	      "block interior and block double free detected");
}

static void test_caches(void)
{
	struct ka_cache *c = ka_cache_create(NULL, "host-obj", 40, 0, 0);
	struct ka_cache *r = ka_cache_create(NULL, "host-red", 40, 0,
					     KA_CACHE_RED_ZONE);
	struct ka_stats before = stats(), after;
	void *o[100], *x;
	int i;

	CHECK(c && r, "caches created");
	errno = 0;
	CHECK(!ka_cache_create(NULL, "host-obj", 8, 0, 0) && errno == EEXIST,
	      "a name in use: EEXIST");
	errno = 0;
	CHECK(!ka_cache_create(NULL, "bad name", 8, 0, 0) && errno == EINVAL,
	      "a bad name: EINVAL");
	for (i = 0; i < 100; i++)
		o[i] = ka_cache_alloc(c);
	errno = 0;
	CHECK(ka_cache_destroy(c) == -1 && errno == EBUSY, "busy cache: EBUSY");
	x = ka_cache_alloc(r);
	ka_cache_free(c, x);
	after = stats();
	CHECK(after.invalid_frees == before.invalid_frees + 1,
	      "an object freed to the wrong cache is detected");
	((char *)x)[40] = 1;	/* one byte past the object */
	ka_cache_free(r, x);
	after = stats();
	CHECK(after.redzone_errors == before.redzone_errors + 1,
	      "red zone overwrite detected at free");
	for (i = 0; i < 100; i++)
		ka_cache_free(c, o[i]);
	CHECK(ka_cache_destroy(c) == 0 && ka_cache_destroy(r) == 0,
	      "empty caches destroyed");
}

static void test_fork(void)
{
	char *p = ka_malloc(100);
	pid_t pid;
	int status;

	strcpy(p, "parent");
	pid = fork();
	if (!pid) {
		struct ka_stats st;
		char *q = ka_malloc(100);

		char *r;

		if (strcmp(p, "parent"))	/* a copy of the parent's heap */
			_exit(3);
		r = ka_realloc(p, 5000);	/* copied out of it */
		if (!r || strcmp(r, "parent") || ka_malloc_usable_size(p) != 112)
			_exit(4);
		ka_free(p);	/* the parent's: ignored */
		ka_heap_stats(NULL, &st);
		strcpy(q, "child");
		ka_free(q);
		ka_free(r);
		_exit(st.parent_frees >= 1 && q != p ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork child gets a client of its own, parent memory ignored");
	CHECK(!strcmp(p, "parent"), "the parent's memory is untouched");
	ka_free(p);
}

static void test_stats(void)
{
	struct mallinfo2 m0 = ka_mallinfo(), m1;
	void *p[10], *b;
	int i;

	for (i = 0; i < 10; i++)
		p[i] = ka_malloc(1000);	/* class 1024 */
	b = ka_malloc(100000);		/* order 5 block */
	m1 = ka_mallinfo();
	CHECK(m1.uordblks == m0.uordblks + 10 * 1024,
	      "mallinfo uordblks counts the objects (%zu -> %zu)",
	      m0.uordblks, m1.uordblks);
	CHECK(m1.hblks == m0.hblks + 1 && m1.hblkhd == m0.hblkhd + (128 << 10),
	      "mallinfo hblks/hblkhd count the block");
	CHECK(m1.uordblks + m1.fordblks + m1.hblkhd == m1.arena,
	      "uordblks + fordblks + hblkhd = arena");
	for (i = 0; i < 10; i++)
		ka_free(p[i]);
	ka_free(b);
}

static void test_arenas(void)
{
	struct ka_heap *a = ka_open(NULL);
	void *p = ka_heap_malloc(a, 50), *q;

	CHECK(a && p, "a second arena allocates");
	q = ka_realloc(p, 60);
	CHECK(q == p, "realloc keeps the arena's object");
	ka_free(q);
	ka_close(a);
	errno = 0;
	CHECK(!ka_open("/dev/nonexistent") && errno == ENOENT,
	      "ka_open of a missing device: ENOENT");
}

static void test_leaks(void)
{
	void *p = ka_malloc(77);

	(void)p;
	/* Reported at exit; here only the table is exercised under ASan. */
	CHECK(_ka_tracing && !_ka_tls.fast,
	      "leak tracking on, and the fast paths with it off");
}

/* The leak table, in a process of its own (host_test leaks). */
static void test_leaks_in_child(const char *self)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		execl(self, self, "leaks", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
	      "the leak check runs in a process of its own");
}

/* === The fast paths, the depot and the block cache === */

/* System calls the library made: ALLOC_BULK, FREE_BULK, PAGES_*. */
static __u64 calls(void)
{
	struct ka_stats st = stats();

	return st.refills + st.flushes + st.block_calls;
}

static void test_fast_steady(void)
{
	static const size_t sizes[] = { 1, 16, 24, 100, 256, 1000, 3000, 16384 };
	struct ka_stats a, b;
	unsigned int i, r;
	void *p;
	__u64 c;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		ka_free(ka_malloc(sizes[i]));	/* warm-up */
	CHECK(_ka_tls.fast,
	      "after the first calls the thread takes the fast path");
	a = stats();
	c = calls();
	for (r = 0; r < 1000; r++)
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			p = ka_malloc(sizes[i]);
			memset(p, 0x5a, sizes[i]);
			ka_free(p);
		}
	b = stats();
	CHECK(calls() == c, "8000 malloc+free pairs after warm-up: no system call (%llu)",
	      (unsigned long long)(calls() - c));
	CHECK(b.mallocs - a.mallocs == 8000 && b.frees - a.frees == 8000 &&
	      b.objects_in_use == a.objects_in_use,
	      "and every one counted (%llu mallocs, %llu frees)",
	      (unsigned long long)(b.mallocs - a.mallocs),
	      (unsigned long long)(b.frees - a.frees));
	p = ka_calloc(1, 200);
	memset(p, 0x77, 200);
	ka_free(p);
	p = ka_calloc(1, 200);
	for (i = 0; i < 200 && !((char *)p)[i]; i++)
		;
	CHECK(i == 200, "calloc on the fast path zeroes a reused object");
	ka_free(p);
}

static void test_batches_steady(void)
{
	static void *objs[3000];
	unsigned int i, r;
	__u64 c = 0;

	for (r = 0; r < 30; r++) {
		if (r == 10)	/* the depot has learnt the working set */
			c = calls();
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			objs[i] = ka_malloc(48);
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			ka_free(objs[(i * 7) % ARRAY_SIZE(objs)]);
	}
	CHECK(calls() == c,
	      "3000 allocations then shuffled frees, rounds 10-29: no system call (%llu)",
	      (unsigned long long)(calls() - c));
	CHECK(stats().cached_objects >= ARRAY_SIZE(objs),
	      "the depot holds the working set (%llu objects cached)",
	      (unsigned long long)stats().cached_objects);
}

#define PC_OBJS	512
#define PC_ROUNDS	200

struct pc_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *objs[PC_OBJS];
	unsigned int n;
	bool done;
	unsigned int round;
	__u64 calls_at;
	unsigned int bad;
};

/* Consumer: frees what the producer allocated, checking each is intact. */
static void *pc_consumer(void *arg)
{
	struct pc_queue *q = arg;
	unsigned int i;

	pthread_mutex_lock(&q->lock);
	while (!q->done || q->n) {
		while (!q->n && !q->done)
			pthread_cond_wait(&q->cond, &q->lock);
		for (i = 0; i < q->n; i++) {
			if (*(unsigned int *)q->objs[i] != i)
				q->bad++;
			ka_free(q->objs[i]);
		}
		q->n = 0;
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void test_producer_consumer(void)
{
	struct pc_queue q = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER };
	struct ka_stats a = stats(), b;
	unsigned int i, r;
	pthread_t t;
	__u64 c = 0;

	pthread_create(&t, NULL, pc_consumer, &q);
	for (r = 0; r < PC_ROUNDS; r++) {
		if (r == 20)
			c = calls();
		pthread_mutex_lock(&q.lock);
		while (q.n)
			pthread_cond_wait(&q.cond, &q.lock);
		for (i = 0; i < PC_OBJS; i++) {
			q.objs[i] = ka_malloc(200);
			*(unsigned int *)q.objs[i] = i;
		}
		q.n = PC_OBJS;
		pthread_cond_broadcast(&q.cond);
		pthread_mutex_unlock(&q.lock);
	}
	pthread_mutex_lock(&q.lock);
	q.done = true;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	pthread_join(t, NULL);
	b = stats();
	CHECK(!q.bad && b.mallocs - a.mallocs == PC_OBJS * PC_ROUNDS &&
	      b.objects_in_use == a.objects_in_use,
	      "producer/consumer: %u objects freed by another thread, intact and counted",
	      PC_OBJS * PC_ROUNDS);
	CHECK(calls() - c < (PC_ROUNDS - 20) * PC_OBJS / 64 / 4,
	      "the depot carries them between the threads (%llu calls in %u rounds, not %u)",
	      (unsigned long long)(calls() - c), PC_ROUNDS - 20,
	      2 * (PC_ROUNDS - 20) * PC_OBJS / 32);
}

static void test_depot_trim(void)
{
	struct ka_client_stats k0, k1;
	static void *objs[2000];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i] = ka_malloc(64);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		ka_free(objs[i]);
	ka_client_stats(NULL, &k0);
	CHECK(stats().cached_objects > 0 && ka_trim() > 0 &&
	      !stats().cached_objects && !stats().cached_bytes,
	      "ka_trim() empties the magazines, depots and block cache");
	ka_client_stats(NULL, &k1);
	CHECK(k1.objects < k0.objects,
	      "and the kernel has the objects back (%llu -> %llu)",
	      (unsigned long long)k0.objects, (unsigned long long)k1.objects);
}

static void test_block_cache(void)
{
	struct ka_stats st0, st1;
	struct ka_client_stats k;
	void *p, *q;
	__u64 c;
	size_t i;

	p = ka_malloc(100000);
	ka_free(p);
	c = calls();
	q = ka_malloc(100000);
	CHECK(q == p && calls() == c,
	      "a freed block is kept and reused without a system call");
	memset(q, 0x33, 100000);
	ka_free(q);
	q = ka_calloc(1, 100000);
	for (i = 0; i < 100000 && !((char *)q)[i]; i++)
		;
	CHECK(q == p && i == 100000, "calloc of a kept block zeroes it");
	ka_free(q);
	st0 = stats();
	ka_free(q);
	st1 = stats();
	CHECK(st1.double_frees == st0.double_frees + 1,
	      "a double free of a kept block is detected");
	q = ka_pages_alloc(NULL, 5);
	for (i = 0; i < (128 << 10) && !((char *)q)[i]; i++)
		;
	CHECK(q == p && i == 128 << 10, "ka_pages_alloc() of a kept block is zeroed");
	ka_pages_free(q);
	ka_trim();
	ka_client_stats(NULL, &k);
	CHECK(k.block_bytes == 0 && !stats().cached_bytes,
	      "ka_trim() gives the kept blocks back (%llu bytes left)",
	      (unsigned long long)k.block_bytes);
}

static void test_pressure(void)
{
	void *p[30], *q[6];
	unsigned int i, r, got = 0;

	/* Blocks that thrash: the cache learns to keep half the quota. */
	for (r = 0; r < 3; r++) {
		for (i = 0; i < ARRAY_SIZE(p); i++)
			p[i] = ka_malloc(1 << 20);
		for (i = 0; i < ARRAY_SIZE(p); i++)
			ka_free(p[i]);
	}
	CHECK(stats().cached_bytes >= (8 << 20),
	      "the block cache grew while blocks thrashed (%llu KiB kept)",
	      (unsigned long long)stats().cached_bytes >> 10);
	/* Now memory the quota only has if the cache gives it back. */
	for (i = 0; i < ARRAY_SIZE(q); i++)
		got += !!(q[i] = ka_malloc(4 << 20));
	CHECK(got == ARRAY_SIZE(q) && stats().cached_bytes < (8 << 20),
	      "under the quota's pressure the cache gives its blocks back (%u of %zu allocated, %llu KiB kept)",
	      got, ARRAY_SIZE(q),
	      (unsigned long long)stats().cached_bytes >> 10);
	for (i = 0; i < ARRAY_SIZE(q); i++)
		ka_free(q[i]);
	ka_trim();
}

static void test_fork_depot(void)
{
	static void *objs[1000];
	unsigned int i, bad = 0;
	int status;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i] = ka_malloc(80);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		ka_free(objs[i]);
	pid = fork();
	if (!pid) {
		/* The depot's objects were the parent client's: forgotten. */
		for (i = 0; i < ARRAY_SIZE(objs); i++) {
			objs[i] = ka_malloc(80);
			if (!objs[i])
				_exit(2);
			memset(objs[i], 0x11, 80);
		}
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			ka_free(objs[i]);
		_exit(stats().double_frees || stats().invalid_frees ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
	      "a fork child with the parent's depot full allocates its own memory");
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = ka_malloc(80);
		memset(objs[i], i, 80);
	}
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		bad += ((unsigned char *)objs[i])[79] != (i & 0xff);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		ka_free(objs[i]);
	CHECK(!bad, "and the parent's depot still serves distinct objects");
}

static void test_runs(void)
{
	struct ka_client_stats k0, k1;
	struct ka_stats st0, st1;
	size_t chunk = 4 << 20, i, bad = 0;
	unsigned char *p, *q;
	int status;
	pid_t pid;

	ka_trim();
	ka_client_stats(NULL, &k0);
	st0 = stats();
	p = ka_malloc(3 * chunk + 1);
	CHECK(p && !((uintptr_t)p % chunk) &&
	      ka_malloc_usable_size(p) == 4 * chunk,
	      "an allocation over the largest block is a run of 4 chunks, aligned to one");
	for (i = 0; i < 4 * chunk; i += 4096)
		bad += p[i] != 0;
	memset(p, 0xa5, 4 * chunk);
	ka_client_stats(NULL, &k1);
	st1 = stats();
	CHECK(!bad && k1.block_bytes == k0.block_bytes + 4 * chunk &&
	      st1.spills == st0.spills &&
	      st1.block_bytes == st0.block_bytes + 4 * chunk,
	      "zeroed, all of it writable, charged and counted as blocks");
	q = ka_realloc(p, 5 * chunk);
	for (i = bad = 0; i < 4 * chunk; i += 4096)
		bad += q[i] != 0xa5;
	for (; i < 5 * chunk; i += 4096)
		bad += q[i] != 0;
	CHECK(q == p && !bad && ka_malloc_usable_size(p) == 5 * chunk,
	      "realloc grows a run in place, keeping its contents");
	q = ka_realloc(p, chunk + 1);
	ka_client_stats(NULL, &k1);
	CHECK(q == p && p[chunk] == 0xa5 &&
	      k1.block_bytes == k0.block_bytes + 2 * chunk,
	      "and shrinks it in place, giving chunks back");
	st0 = stats();
	ka_free(p + 4096);
	st1 = stats();
	CHECK(st1.invalid_frees == st0.invalid_frees + 1,
	      "a free inside a run is refused");

	pid = fork();
	if (!pid) {
		/* The parent's run, as a copy; freeing it is ignored. */
		if (p[0] != 0xa5 || p[chunk] != 0xa5)
			_exit(1);
		ka_free(p);
		_exit(stats().parent_frees == 1 ? 0 : 2);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
	      "a fork child sees a copy of the parent's run");

	ka_free(p);
	ka_client_stats(NULL, &k1);
	CHECK(k1.block_bytes == k0.block_bytes, "a freed run's chunks go back");
	st0 = stats();
	ka_free(p);
	st1 = stats();
	CHECK(st1.double_frees == st0.double_frees + 1,
	      "a double free of a run is found");
	q = ka_malloc(2 * chunk);
	CHECK(q == p, "the next run that fits reuses the freed range");
	ka_free(q);

	p = ka_malloc(1 << 20);
	memset(p, 0x3c, 1 << 20);
	q = ka_realloc(p, 3 * chunk);
	for (i = bad = 0; i < (1 << 20); i += 512)
		bad += q[i] != 0x3c;
	CHECK(q && q != p && !bad, "realloc of a block beyond a chunk moves it to a run");
	ka_free(q);
	ka_trim();
}

static void test_fast_misuse(void)
{
	struct ka_stats st0 = stats(), st1;
	char *p = ka_malloc(40);

	ka_free(p);
	ka_free(p);
	ka_free(p + 16);
	st1 = stats();
	CHECK(st1.double_frees == st0.double_frees + 1 &&
	      st1.invalid_frees == st0.invalid_frees + 1,
	      "a double and an interior free are found behind the fast path");
}

int main(int argc, char **argv)
{
	setenv("KARENA_ABORT", "0", 1);
	setenv("KARENA_BATCH", "32", 1);
	if (argc > 1 && !strcmp(argv[1], "leaks")) {
		/* Tracking allocations turns the fast paths off: on its own. */
		setenv("KARENA_LEAKCHECK", "1", 1);
		test_leaks();
		return failures;
	}
	printf("TAP version 13\n");
	test_classes();
	test_malloc_sizes();
	test_calloc_realloc();
	test_align();
	test_threads();
	test_thread_counts();
	test_remote_destroy();
	test_trim_races();
	test_double_free_threads();
	test_relearn_race();
	test_misuse();
	test_caches();
	test_fork();
	test_stats();
	test_arenas();
	test_fast_steady();
	test_batches_steady();
	test_producer_consumer();
	test_depot_trim();
	test_block_cache();
	test_pressure();
	test_fork_depot();
	test_fast_misuse();
	test_runs();
	test_leaks_in_child(argv[0]);
	printf("1..%d\n", tests);
	printf("# host_test: %d passed, %d failed\n", tests - failures,
	       failures);
	return failures ? 1 : 0;
}
