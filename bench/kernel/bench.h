/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena_bench: karena's allocators against the kernel's, side by side.
 *
 * Glossary:
 *   workload  one thing measured, e.g. "k.single-256": the same loop run
 *             once against karena ("ours") and once against the kernel's
 *             own allocator ("ref"), with the same sizes, alignment and
 *             zeroing;
 *   rep       one round over every workload; round 0 is the warm-up, and
 *             the reader of the results discards it;
 *   op        what a workload's time is divided by: one alloc+free pair,
 *             one object of a batch, one block of pages (per workload,
 *             Documentation/performance.rst).
 *
 * Results are lines of text in a buffer that debugfs shows
 * (karena_bench/results), read by bench/report.py:
 *
 *   R <workload> <rep> <ours ns/op> <ref ns/op>
 *   X <name> <ours> <ref>        other figures (waste, orders, pages)
 *
 * Times are printed with three decimals (picoseconds).  Nothing here is
 * part of karena.ko: this module uses only karena's exported API.
 */
#ifndef KARENA_BENCH_H
#define KARENA_BENCH_H

#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/prandom.h>
#include <linux/types.h>

/* One workload: its name and the function that runs one side of it. */
struct kb_workload {
	const char *name;
	/* Run once; return picoseconds per op, or 0 if it could not run. */
	u64 (*run)(const struct kb_workload *w, bool ours);
	unsigned int arg;	/* size, batch length or order */
	unsigned int arg2;	/* order of frees, bulk count, ... */
};

/* Iterations of a workload, scaled by the module's scale parameter. */
unsigned int kb_iters(unsigned int base);

/* Picoseconds per op from a start time in ns. */
static inline u64 kb_ps_per_op(u64 start_ns, u64 ops)
{
	u64 ns = ktime_get_ns() - start_ns;

	return ops ? div64_u64(ns * 1000, ops) : 0;
}

/* Append a line to the results; printf-style. */
__printf(1, 2) void kb_emit(const char *fmt, ...);

/* The same pseudo-random sequence on every run and for both sides. */
void kb_rnd_seed(struct rnd_state *rnd, u64 seed);

/* A random permutation of 0..@n-1 into @perm (Fisher-Yates). */
void kb_shuffle(unsigned int *perm, unsigned int n, u64 seed);

/* Workload tables, defined in slab.c and pages.c. */
extern const struct kb_workload kb_slab_workloads[];
extern const unsigned int kb_nr_slab_workloads;
extern const struct kb_workload kb_page_workloads[];
extern const unsigned int kb_nr_page_workloads;

int kb_slab_setup(void);
void kb_slab_teardown(void);
void kb_slab_extras(void);

/* The fragmentation soak, frag.c. */
int kb_frag_hold(unsigned long arena_pages);
void kb_frag_release(void);

#endif /* KARENA_BENCH_H */
