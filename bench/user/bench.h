/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena-bench: libkarena against glibc malloc, in one process.
 *
 * Every workload is one loop of a constant @ours, inlined twice (the
 * callers are flattened) so that the timed loop calls ka_malloc() and
 * friends on one side and malloc() on the other with no branch or
 * indirect call between them.
 * Both libraries are shared objects, so both are called through the PLT.
 *
 * Output lines, read by bench/report.py, as the kernel module's (see
 * bench/kernel/bench.h):
 *
 *   R <workload> <rep> <ours ns/op> <ref ns/op>
 *   P <workload> <ours> <ref> <ours growth> <ref growth> <ours karena>
 *     peak memory in bytes (main.c)
 */
#ifndef KARENA_BENCH_USER_H
#define KARENA_BENCH_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* One workload: a name and the function that runs one side once. */
struct ub_workload {
	const char *name;
	/* Run once; return ns per op, or a negative number on failure. */
	double (*run)(const struct ub_workload *w, bool ours);
	size_t arg;		/* size, or how frees are ordered */
	size_t arg2;
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
void ub_peak_sample(bool ours);
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
