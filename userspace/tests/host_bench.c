// SPDX-License-Identifier: GPL-2.0
/*
 * The malloc/free fast path on the host, over the fake device of
 * lib/prim_fake.c, against glibc: where the library's own cost is, with
 * no system call in the way (the fake device's "ioctl" is a function
 * call).  Not part of any test run; build and run it by hand (see
 * Documentation/performance.rst), e.g. under perf stat or perf record.
 *
 *   host_bench [iterations]
 *
 * Each figure is the minimum of 7 runs, the two sides alternating: the
 * host may be shared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define HB_BATCH	1000

static void *hb_objs[HB_BATCH];
static size_t hb_perm[HB_BATCH];
static size_t hb_size[HB_BATCH];

static double hb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Write one byte of @p where the compiler cannot drop it. */
static void hb_touch(void *p)
{
	*(char *)p = 1;
	__asm__ __volatile__("" : : "g"(p) : "memory");
}

static void *hb_malloc(int ours, size_t n)
{
	return ours ? ka_malloc(n) : malloc(n);
}

static void hb_free(int ours, void *p)
{
	if (ours)
		ka_free(p);
	else
		free(p);
}

static double hb_pair(int ours, size_t size, size_t n)
{
	double t = hb_now();
	size_t k;
	void *p;

	for (k = 0; k < n; k++) {
		p = hb_malloc(ours, size);
		hb_touch(p);
		hb_free(ours, p);
	}
	return (hb_now() - t) / n;
}

/* 1000 allocations, then frees in order (@shuf: shuffled); @mixed sizes. */
static double hb_batch(int ours, int shuf, int mixed, size_t rounds)
{
	double t = hb_now();
	size_t r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < HB_BATCH; i++) {
			hb_objs[i] = hb_malloc(ours, mixed ? hb_size[i] : 64);
			hb_touch(hb_objs[i]);
		}
		for (i = 0; i < HB_BATCH; i++)
			hb_free(ours, hb_objs[shuf ? hb_perm[i] : i]);
	}
	return (hb_now() - t) / (rounds * HB_BATCH);
}

static void hb_row(const char *name, double ours, double ref)
{
	printf("%-16s %8.2f %8.2f %6.2f\n", name, ours, ref, ours / ref);
}

/* The minimum of HB_ROUNDS runs of each side, alternating. */
#define HB_ROUNDS	7
#define HB_MIN(name, call_ours, call_ref) do {				\
	double o = 1e30, r = 1e30, x;					\
	int k;								\
									\
	for (k = 0; k < HB_ROUNDS; k++) {				\
		x = (call_ours);					\
		o = x < o ? x : o;					\
		x = (call_ref);						\
		r = x < r ? x : r;					\
	}								\
	hb_row(name, o, r);						\
} while (0)

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 16, 64, 256, 1024, 4096 };
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 5000000, i, j, t;
	char name[32];
	unsigned int seed = 1;

	for (i = 0; i < HB_BATCH; i++) {
		hb_perm[i] = i;
		hb_size[i] = 16 + 8 * (i % 126);
	}
	for (i = HB_BATCH - 1; i > 0; i--) {
		j = rand_r(&seed) % (i + 1);
		t = hb_perm[i];
		hb_perm[i] = hb_perm[j];
		hb_perm[j] = t;
	}
	/* Warm up both: classes created, magazines and heaps filled. */
	hb_batch(1, 1, 1, 10);
	hb_batch(0, 1, 1, 10);
	printf("%-16s %8s %8s %6s\n", "workload (min)", "ours ns", "glibc ns",
	       "ratio");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "pair-%zu", sizes[i]);
		HB_MIN(name, hb_pair(1, sizes[i], n), hb_pair(0, sizes[i], n));
	}
	HB_MIN("batch-fifo", hb_batch(1, 0, 0, n / 1000),
	       hb_batch(0, 0, 0, n / 1000));
	HB_MIN("batch-shuf", hb_batch(1, 1, 0, n / 1000),
	       hb_batch(0, 1, 0, n / 1000));
	HB_MIN("mixed-shuf", hb_batch(1, 1, 1, n / 1000),
	       hb_batch(0, 1, 1, n / 1000));
	return 0;
}
