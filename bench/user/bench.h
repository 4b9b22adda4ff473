/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena-bench: libkarena against glibc malloc and the peers (mimalloc,
 * jemalloc, tcmalloc: peers.h), in one process.
 *
 * Every workload is one loop of a constant @side, inlined three times
 * (the callers are flattened) so that the timed loop calls ka_malloc()
 * and friends, malloc() or the current peer's calls with no branch
 * between them.  libkarena and glibc are shared objects called through
 * the PLT; a peer is called through its pointer in ub_cur: one indirect
 * call either way.
 *
 * Output lines, read by bench/report.py, as the kernel module's (see
 * bench/kernel/bench.h):
 *
 *   R <workload> <rep> <ours ns/op> <ref ns/op>
 *   A <workload> <rep> <peer> <ns/op>
 *     a peer's time in the same round (after R)
 *   C <workload> <rep> <calls> <ops>
 *     libkarena's system calls in that round's run (ka_stats: refills +
 *     flushes + block_calls) and the run's operations
 *   P <workload> <ours> <ref> <ours growth> <ref growth> <ours karena>
 *     peak memory in bytes (main.c)
 *   Q <workload> <peer> <peak> <growth>
 *     a peer's peak memory in bytes
 */
#ifndef KARENA_BENCH_USER_H
#define KARENA_BENCH_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "peers.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Whose calls a run makes. */
enum ub_side {
	UB_KARENA,		/* libkarena's ka_*() */
	UB_GLIBC,		/* glibc's malloc() and friends */
	UB_PEER,		/* the calls in ub_cur */
};

/* The peer that UB_PEER runs call (main.c sets it before each run). */
extern struct ub_malloc_fns ub_cur;

/* Operations of the last run (each workload sets it). */
extern size_t ub_ops;

/* libkarena's system calls of the last run outside the default heap. */
extern __u64 ub_extra_calls;

/* One workload: a name and the function that runs one side once. */
struct ub_workload {
	const char *name;
	/* Run once; return ns per op, or a negative number on failure. */
	double (*run)(const struct ub_workload *w, enum ub_side side);
	size_t arg;		/* size, or how frees are ordered */
	size_t arg2;
	bool karena_only;	/* no peers: not a malloc workload */
};

extern const struct ub_workload ub_workloads[];
extern const size_t ub_nr_workloads;

/* Iterations of a workload, scaled by BENCH_SCALE (percent). */
size_t ub_iters(size_t base);

/* Monotonic time in ns. */
__u64 ub_now(void);

/*
 * The memory high points of a workload: called where it holds the most.
 * Measures only in a peak-memory child (ub_peak_mode).
 */
void ub_peak_sample(enum ub_side side);
/* The same with karena's bytes already known (an arena of its own). */
void ub_peak_note(__u64 karena_bytes);
extern bool ub_peak_mode;

/* Fixed inputs of the workloads: free orders, sizes. */
void ub_workloads_init(void);

/* A reproducible pseudo-random generator (xorshift64*). */
static inline __u64 ub_rand(__u64 *state)
{
	__u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Keep the compiler from proving a pointer unused. */
static inline void ub_escape(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

#endif /* KARENA_BENCH_USER_H */
