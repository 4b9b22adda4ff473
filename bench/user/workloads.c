// SPDX-License-Identifier: GPL-2.0
/*
 * karena-bench: the userspace workloads.
 *
 * Each op writes one byte of what it allocates (both sides), so neither
 * compiler nor library can treat the memory as unused.  One "op" is, per
 * workload: an alloc+free pair (pair, calloc, batch, mixed, prodcons), a
 * realloc call (realloc), a 4 KiB page mapped and touched (touch-64m).
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

static void *ub_objs[UB_BATCH];
static size_t ub_perm[UB_BATCH];
static size_t ub_mixed_size[UB_BATCH];

static inline void *
ub_malloc(bool ours, size_t size)
{
	void *p = ours ? ka_malloc(size) : malloc(size);

	if (p) {
		*(char *)p = 1;
		ub_escape(p);
	}
	return p;
}

static inline void ub_free(bool ours, void *p)
{
	if (ours)
		ka_free(p);
	else
		free(p);
}

/* === malloc+free pairs, calloc === */

static inline double
ub_pair_loop(bool ours, size_t size, size_t n, bool zero)
{
	__u64 start = ub_now();
	size_t k;
	void *p;

	for (k = 0; k < n; k++) {
		if (zero)
			p = ours ? ka_calloc(1, size) : calloc(1, size);
		else
			p = ub_malloc(ours, size);
		if (!p)
			return -1;
		ub_escape(p);
		ub_free(ours, p);
	}
	return (double)(ub_now() - start) / n;
}

/* arg: size; arg2: 1 for calloc. */
__attribute__((flatten))
static double ub_pair(const struct ub_workload *w, bool ours)
{
	size_t n = ub_iters(w->arg2 ? 20000 : 100000);

	if (ours)
		return ub_pair_loop(true, w->arg, n, w->arg2);
	return ub_pair_loop(false, w->arg, n, w->arg2);
}

/* === 1000 allocations, then frees in some order === */

enum ub_order { UB_LIFO, UB_FIFO, UB_SHUFFLED };

static inline double
ub_batch_loop(bool ours, enum ub_order order, bool mixed, size_t rounds)
{
	__u64 start = ub_now();
	size_t r, k, i;

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < UB_BATCH; k++) {
			ub_objs[k] = ub_malloc(ours,
					       mixed ? ub_mixed_size[k] : 64);
			if (!ub_objs[k])
				return -1;
		}
		if (!r)
			ub_peak_sample(ours);
		for (k = 0; k < UB_BATCH; k++) {
			i = order == UB_LIFO ? UB_BATCH - 1 - k :
			    order == UB_FIFO ? k : ub_perm[k];
			ub_free(ours, ub_objs[i]);
		}
	}
	return (double)(ub_now() - start) / (rounds * UB_BATCH);
}

/* arg: enum ub_order; arg2: 1 for sizes of 16 to 1016 bytes, else 64. */
__attribute__((flatten))
static double ub_batch(const struct ub_workload *w, bool ours)
{
	size_t rounds = ub_iters(100000) / UB_BATCH + 1;

	if (ours)
		return ub_batch_loop(true, w->arg, w->arg2, rounds);
	return ub_batch_loop(false, w->arg, w->arg2, rounds);
}

/* === realloc growth from 16 bytes to 1 MiB === */

static inline double
ub_realloc_loop(bool ours, size_t rounds)
{
	__u64 start = ub_now();
	size_t r, size, calls = 0;
	char *p, *q;

	for (r = 0; r < rounds; r++) {
		size = 16;
		p = ub_malloc(ours, size);
		if (!p)
			return -1;
		while (size < (1UL << 20)) {
			size += size / 8 + 16;
			if (size > (1UL << 20))
				size = 1UL << 20;
			q = ours ? ka_realloc(p, size) : realloc(p, size);
			if (!q) {
				ub_free(ours, p);
				return -1;
			}
			p = q;
			p[size - 1] = 1;
			calls++;
		}
		ub_peak_sample(ours);
		ub_free(ours, p);
	}
	return (double)(ub_now() - start) / calls;
}

__attribute__((flatten))
static double ub_realloc(const struct ub_workload *w, bool ours)
{
	size_t rounds = ub_iters(200) / 10 + 1;

	if (ours)
		return ub_realloc_loop(true, rounds);
	return ub_realloc_loop(false, rounds);
}

/* === producer/consumer: one thread allocates, the other frees === */

/* A single-producer, single-consumer ring of pointers. */
struct ub_ring {
	void *slot[UB_RING];
	size_t head;		/* next to write, producer's (atomic) */
	size_t tail;		/* next to read, consumer's (atomic) */
	size_t n;		/* objects the producer makes */
	bool ours;
	bool failed;
};

static void *ub_producer(void *arg)
{
	struct ub_ring *ring = arg;
	size_t k, head = 0;
	void *p;

	for (k = 0; k < ring->n; k++) {
		p = ring->ours ? ub_malloc(true, 64) : ub_malloc(false, 64);
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

static double ub_prodcons(const struct ub_workload *w, bool ours)
{
	static struct ub_ring ring;
	__u64 start;
	pthread_t thread;
	size_t tail = 0;

	memset(&ring, 0, sizeof(ring));
	ring.n = ub_iters(100000);
	ring.ours = ours;
	start = ub_now();
	if (pthread_create(&thread, NULL, ub_producer, &ring))
		return -1;
	while (tail < ring.n) {
		while (__atomic_load_n(&ring.head, __ATOMIC_ACQUIRE) == tail)
			sched_yield();
		ub_free(ours, ring.slot[tail % UB_RING]);
		/* Pairs with the producer's acquire of tail. */
		__atomic_store_n(&ring.tail, ++tail, __ATOMIC_RELEASE);
	}
	pthread_join(thread, NULL);
	if (ring.failed)
		return -1;
	return (double)(ub_now() - start) / ring.n;
}

/* === 64 MiB mapped and touched === */

/* A fresh arena: open, window, 16 blocks of 4 MiB, every page touched. */
static double ub_touch_ours(void)
{
	size_t nr = UB_TOUCH_BYTES >> (12 + UB_TOUCH_ORDER), k, off;
	size_t block = 4096UL << UB_TOUCH_ORDER;
	struct ka_arena *a;
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
		struct ka_client_stats st;

		if (!ka_client_stats(a, &st))
			ub_peak_note(st.bytes);
	}
	ka_close(a);
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
	ub_peak_sample(false);
	munmap(p, UB_TOUCH_BYTES);
	return (double)(ub_now() - start) / (UB_TOUCH_BYTES / 4096);
}

static double ub_touch(const struct ub_workload *w, bool ours)
{
	return ours ? ub_touch_ours() : ub_touch_ref();
}

/* === The table === */

const struct ub_workload ub_workloads[] = {
	{ "u.pair-16",		ub_pair,	16,		0 },
	{ "u.pair-64",		ub_pair,	64,		0 },
	{ "u.pair-256",		ub_pair,	256,		0 },
	{ "u.pair-1024",	ub_pair,	1024,		0 },
	{ "u.pair-4096",	ub_pair,	4096,		0 },
	{ "u.batch-lifo",	ub_batch,	UB_LIFO,	0 },
	{ "u.batch-fifo",	ub_batch,	UB_FIFO,	0 },
	{ "u.batch-shuf",	ub_batch,	UB_SHUFFLED,	0 },
	{ "u.mixed-shuf",	ub_batch,	UB_SHUFFLED,	1 },
	{ "u.calloc-4096",	ub_pair,	4096,		1 },
	{ "u.realloc-1m",	ub_realloc,	0,		0 },
	{ "u.prodcons",		ub_prodcons,	0,		0 },
	{ "u.touch-64m",	ub_touch,	0,		0 },
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
