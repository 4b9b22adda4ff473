// SPDX-License-Identifier: GPL-2.0
/*
 * karena-bench: the userspace workloads.
 *
 * Each op writes one byte of what it allocates (every side), so neither
 * compiler nor library can treat the memory as unused.  One "op" is, per
 * workload: an alloc+free pair (pair, calloc, batch, mixed, prodcons), a
 * realloc call (realloc), a 4 KiB page mapped and touched (touch-64m).
 * Each run sets ub_ops to the ops it made.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <karena.h>

#include "bench.h"

#define UB_BATCH	1000		/* objects of a batch */
#define UB_RING		1024		/* slots of the producer/consumer ring */
#define UB_TOUCH_BYTES	(64UL << 20)	/* the touch workload's mapping */
#define UB_TOUCH_ORDER	10		/* karena blocks of 4 MiB */

size_t ub_ops;
__u64 ub_extra_calls;

static void *ub_objs[UB_BATCH];
static size_t ub_perm[UB_BATCH];
static size_t ub_mixed_size[UB_BATCH];

/*
 * The calls of one side.  @side is a constant in every timed loop, so
 * each of these becomes one call.
 */
static inline void *ub_alloc(enum ub_side side, size_t size)
{
	if (side == UB_KARENA)
		return ka_malloc(size);
	if (side == UB_GLIBC)
		return malloc(size);
	return ub_cur.malloc(size);
}

static inline void *ub_zalloc(enum ub_side side, size_t size)
{
	if (side == UB_KARENA)
		return ka_calloc(1, size);
	if (side == UB_GLIBC)
		return calloc(1, size);
	return ub_cur.calloc(1, size);
}

static inline void *ub_resize(enum ub_side side, void *p, size_t size)
{
	if (side == UB_KARENA)
		return ka_realloc(p, size);
	if (side == UB_GLIBC)
		return realloc(p, size);
	return ub_cur.realloc(p, size);
}

static inline void ub_free(enum ub_side side, void *p)
{
	if (side == UB_KARENA)
		ka_free(p);
	else if (side == UB_GLIBC)
		free(p);
	else
		ub_cur.free(p);
}

/* An allocation with one byte written. */
static inline void *ub_malloc(enum ub_side side, size_t size)
{
	void *p = ub_alloc(side, size);

	if (p) {
		*(char *)p = 1;
		ub_escape(p);
	}
	return p;
}

/* === malloc+free pairs, calloc === */

static inline double
ub_pair_loop(enum ub_side side, size_t size, size_t n, bool zero)
{
	__u64 start = ub_now();
	size_t k;
	void *p;

	for (k = 0; k < n; k++) {
		if (zero)
			p = ub_zalloc(side, size);
		else
			p = ub_malloc(side, size);
		if (!p)
			return -1;
		ub_escape(p);
		ub_free(side, p);
	}
	ub_ops = n;
	return (double)(ub_now() - start) / n;
}

/* arg: size; arg2: 1 for calloc. */
__attribute__((flatten))
static double ub_pair(const struct ub_workload *w, enum ub_side side)
{
	size_t n = ub_iters(w->arg2 ? 20000 : 100000);

	if (side == UB_KARENA)
		return ub_pair_loop(UB_KARENA, w->arg, n, w->arg2);
	if (side == UB_GLIBC)
		return ub_pair_loop(UB_GLIBC, w->arg, n, w->arg2);
	return ub_pair_loop(UB_PEER, w->arg, n, w->arg2);
}

/* === 1000 allocations, then frees in some order === */

enum ub_order { UB_LIFO, UB_FIFO, UB_SHUFFLED };

static inline double
ub_batch_loop(enum ub_side side, enum ub_order order, bool mixed,
	      size_t rounds)
{
	__u64 start = ub_now();
	size_t r, k, i;

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < UB_BATCH; k++) {
			ub_objs[k] = ub_malloc(side,
					       mixed ? ub_mixed_size[k] : 64);
			if (!ub_objs[k])
				return -1;
		}
		if (!r)
			ub_peak_sample(side);
		for (k = 0; k < UB_BATCH; k++) {
			i = order == UB_LIFO ? UB_BATCH - 1 - k :
			    order == UB_FIFO ? k : ub_perm[k];
			ub_free(side, ub_objs[i]);
		}
	}
	ub_ops = rounds * UB_BATCH;
	return (double)(ub_now() - start) / (rounds * UB_BATCH);
}

/* arg: enum ub_order; arg2: 1 for sizes of 16 to 1016 bytes, else 64. */
__attribute__((flatten))
static double ub_batch(const struct ub_workload *w, enum ub_side side)
{
	size_t rounds = ub_iters(100000) / UB_BATCH + 1;

	if (side == UB_KARENA)
		return ub_batch_loop(UB_KARENA, w->arg, w->arg2, rounds);
	if (side == UB_GLIBC)
		return ub_batch_loop(UB_GLIBC, w->arg, w->arg2, rounds);
	return ub_batch_loop(UB_PEER, w->arg, w->arg2, rounds);
}

/* === realloc growth from 16 bytes to 1 MiB === */

static inline double
ub_realloc_loop(enum ub_side side, size_t rounds)
{
	__u64 start = ub_now();
	size_t r, size, calls = 0;
	char *p, *q;

	for (r = 0; r < rounds; r++) {
		size = 16;
		p = ub_malloc(side, size);
		if (!p)
			return -1;
		while (size < (1UL << 20)) {
			size += size / 8 + 16;
			if (size > (1UL << 20))
				size = 1UL << 20;
			q = ub_resize(side, p, size);
			if (!q) {
				ub_free(side, p);
				return -1;
			}
			p = q;
			p[size - 1] = 1;
			calls++;
		}
		ub_peak_sample(side);
		ub_free(side, p);
	}
	ub_ops = calls;
	return (double)(ub_now() - start) / calls;
}

__attribute__((flatten))
static double ub_realloc(const struct ub_workload *w, enum ub_side side)
{
	size_t rounds = ub_iters(200) / 10 + 1;

	if (side == UB_KARENA)
		return ub_realloc_loop(UB_KARENA, rounds);
	if (side == UB_GLIBC)
		return ub_realloc_loop(UB_GLIBC, rounds);
	return ub_realloc_loop(UB_PEER, rounds);
}

/* === producer/consumer: one thread allocates, the other frees === */

/* A single-producer, single-consumer ring of pointers. */
struct ub_ring {
	void *slot[UB_RING];
	size_t head;		/* next to write, producer's (atomic) */
	size_t tail;		/* next to read, consumer's (atomic) */
	size_t n;		/* objects the producer makes */
	enum ub_side side;
	bool failed;
};

/* Not flattened: both threads test the side on every op, on every side. */
static void *ub_malloc_any(enum ub_side side, size_t size)
{
	if (side == UB_KARENA)
		return ub_malloc(UB_KARENA, size);
	if (side == UB_GLIBC)
		return ub_malloc(UB_GLIBC, size);
	return ub_malloc(UB_PEER, size);
}

static void ub_free_any(enum ub_side side, void *p)
{
	if (side == UB_KARENA)
		ub_free(UB_KARENA, p);
	else if (side == UB_GLIBC)
		ub_free(UB_GLIBC, p);
	else
		ub_free(UB_PEER, p);
}

static void *ub_producer(void *arg)
{
	struct ub_ring *ring = arg;
	size_t k, head = 0;
	void *p;

	for (k = 0; k < ring->n; k++) {
		p = ub_malloc_any(ring->side, 64);
		if (!p) {
			__atomic_store_n(&ring->failed, true, __ATOMIC_RELEASE);
			p = NULL;
		}
		while (head - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) ==
		       UB_RING)
			sched_yield();
		ring->slot[head % UB_RING] = p;
		/* Pairs with the consumer's acquire of head. */
		__atomic_store_n(&ring->head, ++head, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double ub_prodcons(const struct ub_workload *w, enum ub_side side)
{
	static struct ub_ring ring;
	__u64 start;
	pthread_t thread;
	size_t tail = 0;

	memset(&ring, 0, sizeof(ring));
	ring.n = ub_iters(100000);
	ring.side = side;
	start = ub_now();
	if (pthread_create(&thread, NULL, ub_producer, &ring))
		return -1;
	while (tail < ring.n) {
		while (__atomic_load_n(&ring.head, __ATOMIC_ACQUIRE) == tail)
			sched_yield();
		ub_free_any(side, ring.slot[tail % UB_RING]);
		/* Pairs with the producer's acquire of tail. */
		__atomic_store_n(&ring.tail, ++tail, __ATOMIC_RELEASE);
	}
	pthread_join(thread, NULL);
	if (ring.failed)
		return -1;
	ub_ops = ring.n;
	return (double)(ub_now() - start) / ring.n;
}

/* === 64 MiB mapped and touched === */

/* A fresh heap: open, window, 16 blocks of 4 MiB, every page touched. */
static double ub_touch_ours(void)
{
	size_t nr = UB_TOUCH_BYTES >> (12 + UB_TOUCH_ORDER), k, off;
	size_t block = 4096UL << UB_TOUCH_ORDER;
	struct ka_stats st;
	struct ka_heap *a;
	__u64 start;
	char *p;

	start = ub_now();
	a = ka_open(NULL);
	if (!a)
		return -1;
	for (k = 0; k < nr; k++) {
		p = ka_pages_alloc(a, UB_TOUCH_ORDER);
		if (!p) {
			ka_close(a);
			return -1;
		}
		for (off = 0; off < block; off += 4096)
			p[off] = 1;
	}
	if (ub_peak_mode) {
		struct ka_client_stats cst;

		if (!ka_client_stats(a, &cst))
			ub_peak_note(cst.bytes);
	}
	/* A fresh heap: its counters are this run's. */
	if (!ka_heap_stats(a, &st))
		ub_extra_calls = st.refills + st.flushes + st.block_calls;
	ka_close(a);
	ub_ops = UB_TOUCH_BYTES / 4096;
	return (double)(ub_now() - start) / (UB_TOUCH_BYTES / 4096);
}

static double ub_touch_ref(void)
{
	__u64 start = ub_now();
	size_t off;
	char *p;

	p = mmap(NULL, UB_TOUCH_BYTES, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	for (off = 0; off < UB_TOUCH_BYTES; off += 4096)
		p[off] = 1;
	ub_peak_sample(UB_GLIBC);
	munmap(p, UB_TOUCH_BYTES);
	ub_ops = UB_TOUCH_BYTES / 4096;
	return (double)(ub_now() - start) / (UB_TOUCH_BYTES / 4096);
}

/* Not a malloc workload: karena's page blocks against mmap(), no peer. */
static double ub_touch(const struct ub_workload *w, enum ub_side side)
{
	return side == UB_KARENA ? ub_touch_ours() : ub_touch_ref();
}

/* === The table === */

const struct ub_workload ub_workloads[] = {
	{ "u.pair-16",		ub_pair,	16,		0, false },
	{ "u.pair-64",		ub_pair,	64,		0, false },
	{ "u.pair-256",		ub_pair,	256,		0, false },
	{ "u.pair-1024",	ub_pair,	1024,		0, false },
	{ "u.pair-4096",	ub_pair,	4096,		0, false },
	{ "u.batch-lifo",	ub_batch,	UB_LIFO,	0, false },
	{ "u.batch-fifo",	ub_batch,	UB_FIFO,	0, false },
	{ "u.batch-shuf",	ub_batch,	UB_SHUFFLED,	0, false },
	{ "u.mixed-shuf",	ub_batch,	UB_SHUFFLED,	1, false },
	{ "u.calloc-4096",	ub_pair,	4096,		1, false },
	{ "u.realloc-1m",	ub_realloc,	0,		0, false },
	{ "u.prodcons",		ub_prodcons,	0,		0, false },
	{ "u.touch-64m",	ub_touch,	0,		0, true },
};

const size_t ub_nr_workloads = ARRAY_SIZE(ub_workloads);

/**
 * ub_workloads_init() - the shuffled free order and the mixed sizes.
 *
 * The same on every run: a fixed seed.
 */
void ub_workloads_init(void)
{
	__u64 rnd = 0x6b6172656e61ULL;
	size_t k, j, t;

	for (k = 0; k < UB_BATCH; k++) {
		ub_perm[k] = k;
		/* 16 to 1016 bytes, in steps of 8. */
		ub_mixed_size[k] = 16 + ub_rand(&rnd) % 126 * 8;
	}
	for (k = UB_BATCH; k > 1; k--) {
		j = ub_rand(&rnd) % k;
		t = ub_perm[k - 1];
		ub_perm[k - 1] = ub_perm[j];
		ub_perm[j] = t;
	}
}
