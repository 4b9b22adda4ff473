// SPDX-License-Identifier: GPL-2.0
/*
 * make bench-host: libkarena's malloc family on the host, over the fake
 * device of lib/dev_fake.c, against glibc, mimalloc, jemalloc and
 * tcmalloc in the same process: where the library's own cost is, with no
 * system call in the way (the fake device's "ioctl" is a function call)
 * and no emulator.  Not part of any test run.
 *
 *   host_bench [iterations [rounds]]
 *
 * iterations: malloc+free pairs per run (1000000); the other workloads
 * scale with it.  rounds: 9, the first a warm-up that is dropped.
 *
 * Every side is called through its pointers in hb_cur, so every side
 * runs the same machine code: one indirect call per malloc or free.  The
 * peers are Debian's shared libraries, dlopen()ed with RTLD_LOCAL
 * (bench/user/peers.h); a peer that does not load is left out.  Each
 * round runs every workload on every side back to back, in an order
 * that rotates (by round / 2, backwards in odd rounds), and the table
 * gives the medians and the minimums of the rounds after the warm-up:
 * the host may be shared.  "calls" is libkarena's commands to the
 * (fake) device per 1000 ops (ka_stats: refills + flushes +
 * block_calls), which the real device would serve as system calls.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <karena.h>

#include "bench/user/peers.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define HB_BATCH	1000		/* objects of a batch */
#define HB_MAX_ROUNDS	64
#define HB_SIDES	5		/* karena, glibc, three peers */
#define HB_GOAL_MAX	256		/* the goal's pairs: 16 to 256 bytes */

/* The calls the timed loops make: the side being measured. */
static struct ub_malloc_fns hb_cur;
/* Ops of the last run. */
static size_t hb_ops;

static void *hb_objs[HB_BATCH];
static size_t hb_perm[HB_BATCH];
static size_t hb_size[HB_BATCH];

/* One allocator. */
struct hb_side {
	const char *name;
	struct ub_malloc_fns fns;
	bool karena;		/* count libkarena's commands */
};

/* One workload: runs the side in hb_cur once, returns ns per op. */
struct hb_workload {
	const char *name;
	double (*run)(size_t arg, size_t n);
	size_t arg;
};

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

/* @n malloc+free pairs of @size bytes. */
static double hb_pair(size_t size, size_t n)
{
	double t = hb_now();
	size_t k;
	void *p;

	for (k = 0; k < n; k++) {
		p = hb_cur.malloc(size);
		hb_touch(p);
		hb_cur.free(p);
	}
	hb_ops = n;
	return (hb_now() - t) / n;
}

enum hb_order { HB_LIFO, HB_FIFO, HB_SHUF, HB_MIXED };

/*
 * Batches of 1000 allocations of 64 bytes (HB_MIXED: 16 to 1016), then
 * the frees in reverse, the same or a shuffled order (HB_MIXED:
 * shuffled); @n / 1000 batches.
 */
static double hb_batch(size_t order, size_t n)
{
	size_t r, i, rounds = n / HB_BATCH ? n / HB_BATCH : 1;
	double t = hb_now();

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < HB_BATCH; i++) {
			hb_objs[i] = hb_cur.malloc(order == HB_MIXED ?
						   hb_size[i] : 64);
			hb_touch(hb_objs[i]);
		}
		for (i = 0; i < HB_BATCH; i++)
			hb_cur.free(hb_objs[order == HB_LIFO ?
					    HB_BATCH - 1 - i :
					    order == HB_FIFO ? i : hb_perm[i]]);
	}
	hb_ops = rounds * HB_BATCH;
	return (hb_now() - t) / hb_ops;
}

/*
 * realloc growth: 16 bytes grown by an eighth plus 16 bytes per call up
 * to @max bytes, the last byte written each time; @n / 100000 growths.
 * An op is one realloc.
 */
static double hb_realloc(size_t max, size_t n)
{
	size_t r, size, rounds = n / 100000 ? n / 100000 : 1, calls = 0;
	double t = hb_now();
	char *p, *q;

	for (r = 0; r < rounds; r++) {
		size = 16;
		p = hb_cur.malloc(size);
		hb_touch(p);
		while (size < max) {
			size += size / 8 + 16;
			if (size > max)
				size = max;
			q = hb_cur.realloc(p, size);
			if (!q)
				break;
			p = q;
			p[size - 1] = 1;
			calls++;
		}
		hb_cur.free(p);
	}
	hb_ops = calls ? calls : 1;
	return (hb_now() - t) / hb_ops;
}

static const struct hb_workload hb_workloads[] = {
	{ "pair-16",	hb_pair,	16 },
	{ "pair-64",	hb_pair,	64 },
	{ "pair-256",	hb_pair,	256 },
	{ "pair-1024",	hb_pair,	1024 },
	{ "pair-4096",	hb_pair,	4096 },
	{ "batch-lifo",	hb_batch,	HB_LIFO },
	{ "batch-fifo",	hb_batch,	HB_FIFO },
	{ "batch-shuf",	hb_batch,	HB_SHUF },
	{ "mixed-shuf",	hb_batch,	HB_MIXED },
	{ "realloc-1m",	hb_realloc,	1UL << 20 },
};

#define HB_WORKLOADS	ARRAY_SIZE(hb_workloads)

/* Every round's ns per op, and libkarena's commands and ops. */
static double hb_ns[HB_WORKLOADS][HB_SIDES][HB_MAX_ROUNDS];
static double hb_calls[HB_WORKLOADS][2];

static __u64 hb_commands(void)
{
	struct ka_stats st;

	if (ka_heap_stats(NULL, &st))
		return 0;
	return st.refills + st.flushes + st.block_calls;
}

static int hb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median (@min false) or minimum of rounds 1 to @rounds - 1. */
static double hb_stat(const double *v, unsigned int rounds, bool min)
{
	double s[HB_MAX_ROUNDS];
	unsigned int n = rounds > 1 ? rounds - 1 : 1;

	memcpy(s, rounds > 1 ? v + 1 : v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), hb_cmp);
	if (min)
		return s[0];
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void hb_table(const struct hb_side *sides, unsigned int nr,
		     unsigned int rounds, bool min)
{
	double v[HB_SIDES];
	unsigned int w, s;

	printf("\n%s, ns per op; ratios to glibc; karena / peer%s\n",
	       min ? "minimums" : "medians",
	       min ? "" : "; libkarena's device commands per 1000 ops");
	printf("%-12s", "workload");
	for (s = 0; s < nr; s++)
		printf(" %8s", sides[s].name);
	printf("  |");
	for (s = 0; s < nr; s++)
		if (s != 1)
			printf(" %3.2s/gl", sides[s].name);
	printf(" |");
	for (s = 2; s < nr; s++)
		printf("  ka/%.2s", sides[s].name);
	printf("%s\n", min ? "" : " |  calls");
	for (w = 0; w < HB_WORKLOADS; w++) {
		printf("%-12s", hb_workloads[w].name);
		for (s = 0; s < nr; s++) {
			v[s] = hb_stat(hb_ns[w][s], rounds, min);
			printf(" %8.2f", v[s]);
		}
		printf("  |");
		for (s = 0; s < nr; s++)
			if (s != 1)
				printf(" %6.2f", v[s] / v[1]);
		printf(" |");
		for (s = 2; s < nr; s++)
			printf(" %6.2f", v[0] / v[s]);
		if (!min)
			printf(" | %6.2f", hb_calls[w][1] ?
			       1000 * hb_calls[w][0] / hb_calls[w][1] : 0);
		printf("\n");
	}
}

/* Issue 12's goal: a 16-256 B pair no slower than mimalloc's. */
static void hb_goal(const struct hb_side *sides, unsigned int nr,
		    unsigned int rounds)
{
	double worst = 0, med, min;
	const char *at = NULL;
	static const char goal[] =
		"\ngoal: a 16-256 B pair no slower than mimalloc's";
	unsigned int w, mi;

	for (mi = 2; mi < nr && strcmp(sides[mi].name, "mimalloc"); mi++)
		;
	if (mi == nr) {
		printf("%s: not measured (no mimalloc)\n", goal);
		return;
	}
	for (w = 0; w < HB_WORKLOADS; w++) {
		if (hb_workloads[w].run != hb_pair ||
		    hb_workloads[w].arg > HB_GOAL_MAX)
			continue;
		med = hb_stat(hb_ns[w][0], rounds, false) /
		      hb_stat(hb_ns[w][mi], rounds, false);
		min = hb_stat(hb_ns[w][0], rounds, true) /
		      hb_stat(hb_ns[w][mi], rounds, true);
		if (med > worst || min > worst) {
			worst = med > min ? med : min;
			at = hb_workloads[w].name;
		}
	}
	printf("%s (medians and minimums): %s (worst %s, karena / mimalloc %.2f)\n",
	       goal, worst <= 1.0 ? "MET" : "MISSED", at, worst);
}

int main(int argc, char **argv)
{
	static struct ub_peer peers[] = UB_PEERS_INIT;
	struct hb_side sides[HB_SIDES] = {
		{ "karena", { ka_malloc, ka_calloc, ka_realloc, ka_free },
		  true },
		{ "glibc", { malloc, calloc, realloc, free }, false },
	};
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	unsigned int rounds = argc > 2 ? strtoul(argv[2], NULL, 0) : 9;
	unsigned int nr = 2, r, w, k, s;
	unsigned int seed = 1;
	__u64 before;
	size_t i, j, t;

	ub_peers_tls(argv);
	if (!n || rounds < 1 || rounds > HB_MAX_ROUNDS) {
		fprintf(stderr, "usage: host_bench [iterations [rounds (1-%d)]]\n",
			HB_MAX_ROUNDS);
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(peers); i++)
		if (ub_peer_load(&peers[i])) {
			sides[nr].name = peers[i].name;
			sides[nr++].fns = peers[i].fns;
		}
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

	printf("host_bench: %zu iterations, %u rounds (round 0 a warm-up, dropped)\n",
	       n, rounds);
	for (r = 0; r < rounds; r++) {
		for (w = 0; w < HB_WORKLOADS; w++) {
			for (k = 0; k < nr; k++) {
				s = (r / 2 + (r & 1 ? nr - 1 - k : k)) % nr;
				hb_cur = sides[s].fns;
				before = hb_commands();
				hb_ns[w][s][r] = hb_workloads[w].run(hb_workloads[w].arg, n);
				if (!sides[s].karena || !r)
					continue;
				hb_calls[w][0] += hb_commands() - before;
				hb_calls[w][1] += hb_ops;
			}
		}
	}
	hb_table(sides, nr, rounds, false);
	hb_table(sides, nr, rounds, true);
	hb_goal(sides, nr, rounds);
	return 0;
}
