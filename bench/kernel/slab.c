// SPDX-License-Identifier: GPL-2.0
/*
 * karena_bench: object workloads, karena's slab layer against SLUB.
 *
 * Each loop is written once as an __always_inline function of a constant
 * @ours, so that the compiler makes two copies without a branch or an
 * indirect call inside the timed loop: karena_cache_*() on one side,
 * kmem_cache_*() on the other, both direct calls into another module or
 * the kernel.  The caches are made once per run with the same object
 * size, the default alignment (8 bytes on both) and no flags; nothing is
 * zeroed unless the workload's name ends in "-zero".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "bench.h"
#include <karena_kernel.h>

/* === Caches === */

/* Object sizes with a cache on each side; the others use KB_SIZE_BATCH. */
static const unsigned int kb_sizes[] = { 64, 256, 1024 };

#define KB_NR_SIZES	ARRAY_SIZE(kb_sizes)
#define KB_SIZE_BATCH	256	/* batches, bulk, remote and all-CPU frees */
#define KB_MAX_BATCH	1000	/* longest batch */
#define KB_MIX_NR	1024	/* sizes in the kmalloc mix table */
#define KB_MIX_ROUND	128	/* objects live at once in the kmalloc mix */

/* The caches of one run, made by kb_slab_setup(). */
static struct ka_cache *kb_ours[KB_NR_SIZES];
static struct kmem_cache *kb_ref[KB_NR_SIZES];

/* Scratch for batches: objects and a free order per batch length. */
static void **kb_objs;
static unsigned int *kb_perm[KB_MAX_BATCH + 1];
static unsigned int *kb_mix_size;

static unsigned int kb_size_index(unsigned int size)
{
	unsigned int i;

	for (i = 0; i < KB_NR_SIZES; i++)
		if (kb_sizes[i] == size)
			return i;
	return 1;
}

static __always_inline void *kb_alloc(bool ours, unsigned int i, gfp_t gfp)
{
	if (ours)
		return karena_cache_alloc(kb_ours[i], gfp);
	return kmem_cache_alloc(kb_ref[i], gfp);
}

static __always_inline void kb_free(bool ours, unsigned int i, void *p)
{
	if (ours)
		karena_cache_free(kb_ours[i], p);
	else
		kmem_cache_free(kb_ref[i], p);
}

/* === Single alloc+free === */

static __always_inline u64 kb_single_loop(bool ours, unsigned int i,
					  unsigned int n, gfp_t gfp)
{
	unsigned int k;
	u64 start;
	void *p;

	start = ktime_get_ns();
	for (k = 0; k < n; k++) {
		p = kb_alloc(ours, i, gfp);
		if (unlikely(!p))
			return 0;
		kb_free(ours, i, p);
	}
	return kb_ps_per_op(start, n);
}

/* arg: object size; arg2: 1 to zero each object (__GFP_ZERO). */
static u64 kb_single(const struct kb_workload *w, bool ours)
{
	unsigned int i = kb_size_index(w->arg), n = kb_iters(60000);
	gfp_t gfp = GFP_KERNEL | (w->arg2 ? __GFP_ZERO : 0);
	u64 ps;

	migrate_disable();
	ps = ours ? kb_single_loop(true, i, n, gfp) :
		    kb_single_loop(false, i, n, gfp);
	migrate_enable();
	return ps;
}

/* === Batches: allocate arg objects, then free them FIFO or shuffled === */

static __always_inline u64 kb_batch_loop(bool ours, unsigned int nr,
					 const unsigned int *perm,
					 unsigned int rounds)
{
	unsigned int i = kb_size_index(KB_SIZE_BATCH), r, k;
	u64 start;

	start = ktime_get_ns();
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < nr; k++) {
			kb_objs[k] = kb_alloc(ours, i, GFP_KERNEL);
			if (unlikely(!kb_objs[k]))
				goto fail;
		}
		for (k = 0; k < nr; k++)
			kb_free(ours, i, kb_objs[perm ? perm[k] : k]);
	}
	return kb_ps_per_op(start, (u64)rounds * nr);

fail:
	while (k--)
		kb_free(ours, i, kb_objs[k]);
	return 0;
}

/* arg: batch length; arg2: 1 for shuffled frees, 0 for FIFO. */
static u64 kb_batch(const struct kb_workload *w, bool ours)
{
	const unsigned int *perm = w->arg2 ? kb_perm[w->arg] : NULL;
	unsigned int rounds = max(1U, kb_iters(60000) / w->arg);
	u64 ps;

	migrate_disable();
	ps = ours ? kb_batch_loop(true, w->arg, perm, rounds) :
		    kb_batch_loop(false, w->arg, perm, rounds);
	migrate_enable();
	return ps;
}

/* === Bulk: the bulk API for arg objects at once === */

static __always_inline u64 kb_bulk_loop(bool ours, unsigned int nr,
					unsigned int rounds)
{
	unsigned int i = kb_size_index(KB_SIZE_BATCH), r;
	u64 start;

	start = ktime_get_ns();
	for (r = 0; r < rounds; r++) {
		if (ours) {
			if (karena_cache_alloc_bulk(kb_ours[i], GFP_KERNEL, nr,
						    kb_objs) != nr)
				return 0;
			karena_cache_free_bulk(kb_ours[i], nr, kb_objs);
		} else {
			if (kmem_cache_alloc_bulk(kb_ref[i], GFP_KERNEL, nr,
						  kb_objs) != nr)
				return 0;
			kmem_cache_free_bulk(kb_ref[i], nr, kb_objs);
		}
	}
	return kb_ps_per_op(start, (u64)rounds * nr);
}

static u64 kb_bulk(const struct kb_workload *w, bool ours)
{
	unsigned int rounds = max(1U, kb_iters(60000) / w->arg);
	u64 ps;

	migrate_disable();
	ps = ours ? kb_bulk_loop(true, w->arg, rounds) :
		    kb_bulk_loop(false, w->arg, rounds);
	migrate_enable();
	return ps;
}

/* === kmalloc: a size mix, freed shuffled === */

static __always_inline u64 kb_mix_loop(bool ours, unsigned int rounds)
{
	const unsigned int *perm = kb_perm[KB_MIX_ROUND];
	unsigned int r, k, next = 0;
	u64 start;

	start = ktime_get_ns();
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < KB_MIX_ROUND; k++) {
			size_t size = kb_mix_size[next++ % KB_MIX_NR];

			kb_objs[k] = ours ? karena_kmalloc(size, GFP_KERNEL) :
					    kmalloc(size, GFP_KERNEL);
			if (unlikely(!kb_objs[k]))
				goto fail;
		}
		for (k = 0; k < KB_MIX_ROUND; k++) {
			if (ours)
				karena_kfree(kb_objs[perm[k]]);
			else
				kfree(kb_objs[perm[k]]);
		}
	}
	return kb_ps_per_op(start, (u64)rounds * KB_MIX_ROUND);

fail:
	while (k--) {
		if (ours)
			karena_kfree(kb_objs[k]);
		else
			kfree(kb_objs[k]);
	}
	return 0;
}

static u64 kb_mix(const struct kb_workload *w, bool ours)
{
	unsigned int rounds = max(1U, kb_iters(60000) / KB_MIX_ROUND);
	u64 ps;

	migrate_disable();
	ps = ours ? kb_mix_loop(true, rounds) : kb_mix_loop(false, rounds);
	migrate_enable();
	return ps;
}

/* === Frees on another CPU than the allocation === */

/* What the two CPUs of the remote-free workload share. */
struct kb_remote {
	bool ours;
	unsigned int nr;
	u64 ns;		/* time spent in both phases */
};

static long kb_remote_alloc(void *arg)
{
	struct kb_remote *rm = arg;
	unsigned int i = kb_size_index(KB_SIZE_BATCH), k;
	u64 start = ktime_get_ns();

	for (k = 0; k < rm->nr; k++) {
		kb_objs[k] = rm->ours ? kb_alloc(true, i, GFP_KERNEL) :
					kb_alloc(false, i, GFP_KERNEL);
		if (!kb_objs[k])
			break;
	}
	rm->ns += ktime_get_ns() - start;
	return k;
}

static long kb_remote_free(void *arg)
{
	struct kb_remote *rm = arg;
	unsigned int i = kb_size_index(KB_SIZE_BATCH), k;
	u64 start = ktime_get_ns();

	for (k = 0; k < rm->nr; k++) {
		if (rm->ours)
			kb_free(true, i, kb_objs[k]);
		else
			kb_free(false, i, kb_objs[k]);
	}
	rm->ns += ktime_get_ns() - start;
	return 0;
}

/* arg: objects per round; every round allocates on one CPU, frees on the next. */
static u64 kb_remote(const struct kb_workload *w, bool ours)
{
	struct kb_remote rm = { .ours = ours, .nr = w->arg };
	unsigned int rounds = max(1U, kb_iters(60000) / w->arg), r;
	int a, b;
	long got;

	cpus_read_lock();
	a = cpumask_first(cpu_online_mask);
	b = cpumask_next(a, cpu_online_mask);
	if (b >= nr_cpu_ids) {
		cpus_read_unlock();
		return 0;
	}
	for (r = 0; r < rounds; r++) {
		got = work_on_cpu(a, kb_remote_alloc, &rm);
		if (got < rm.nr) {
			rm.nr = got;
			work_on_cpu(b, kb_remote_free, &rm);
			cpus_read_unlock();
			return 0;
		}
		work_on_cpu(b, kb_remote_free, &rm);
	}
	cpus_read_unlock();
	return div64_u64(rm.ns * 1000, (u64)rounds * w->arg);
}

/* === Every CPU at once === */

/* One CPU's part of the all-CPU workload. */
struct kb_all_cpu {
	struct work_struct work;
	bool ours;
	unsigned int n;
	atomic_t *arrived;	/* CPUs that reached the start line */
	unsigned int nr_cpus;
	u64 ns;			/* this CPU's time, 0 on failure */
};

static void kb_all_cpu_fn(struct work_struct *work)
{
	struct kb_all_cpu *c = container_of(work, struct kb_all_cpu, work);
	unsigned int i = kb_size_index(KB_SIZE_BATCH);
	u64 start, deadline;
	u64 ps;

	/* Start together; give up waiting after a second. */
	atomic_inc(c->arrived);
	deadline = ktime_get_ns() + NSEC_PER_SEC;
	while (atomic_read(c->arrived) < c->nr_cpus &&
	       ktime_get_ns() < deadline)
		cpu_relax();
	start = ktime_get_ns();
	ps = c->ours ? kb_single_loop(true, i, c->n, GFP_KERNEL) :
		       kb_single_loop(false, i, c->n, GFP_KERNEL);
	c->ns = ps ? ktime_get_ns() - start : 0;
}

/* Each online CPU runs alloc+free pairs; the slowest CPU's time counts. */
static u64 kb_all_cpus(const struct kb_workload *w, bool ours)
{
	unsigned int n = kb_iters(60000), nr = 0, k = 0;
	struct kb_all_cpu *cpus;
	atomic_t arrived = ATOMIC_INIT(0);
	u64 worst = 0;
	int cpu;

	cpus_read_lock();
	cpus = kcalloc(num_online_cpus(), sizeof(*cpus), GFP_KERNEL);
	if (!cpus) {
		cpus_read_unlock();
		return 0;
	}
	nr = num_online_cpus();
	for_each_online_cpu(cpu) {
		INIT_WORK_ONSTACK(&cpus[k].work, kb_all_cpu_fn);
		cpus[k].ours = ours;
		cpus[k].n = n;
		cpus[k].arrived = &arrived;
		cpus[k].nr_cpus = nr;
		queue_work_on(cpu, system_highpri_wq, &cpus[k].work);
		k++;
	}
	for (k = 0; k < nr; k++) {
		flush_work(&cpus[k].work);
		destroy_work_on_stack(&cpus[k].work);
		if (!cpus[k].ns)
			worst = U64_MAX;
		else if (worst != U64_MAX)
			worst = max(worst, cpus[k].ns);
	}
	cpus_read_unlock();
	kfree(cpus);
	return worst == U64_MAX ? 0 : div64_u64(worst * 1000, n);
}

/* === The table === */

const struct kb_workload kb_slab_workloads[] = {
	{ "k.single-64",	kb_single,	64,	0 },
	{ "k.single-256",	kb_single,	256,	0 },
	{ "k.single-1024",	kb_single,	1024,	0 },
	{ "k.single-256-zero",	kb_single,	256,	1 },
	{ "k.batch-10-fifo",	kb_batch,	10,	0 },
	{ "k.batch-10-shuf",	kb_batch,	10,	1 },
	{ "k.batch-100-fifo",	kb_batch,	100,	0 },
	{ "k.batch-100-shuf",	kb_batch,	100,	1 },
	{ "k.batch-1000-fifo",	kb_batch,	1000,	0 },
	{ "k.batch-1000-shuf",	kb_batch,	1000,	1 },
	{ "k.bulk-8",		kb_bulk,	8,	0 },
	{ "k.bulk-32",		kb_bulk,	32,	0 },
	{ "k.bulk-64",		kb_bulk,	64,	0 },
	{ "k.kmalloc-mix",	kb_mix,		0,	0 },
	{ "k.remote-free",	kb_remote,	500,	0 },
	{ "k.all-cpus",		kb_all_cpus,	0,	0 },
};

const unsigned int kb_nr_slab_workloads = ARRAY_SIZE(kb_slab_workloads);

/* === Set-up === */

/*
 * The kmalloc mix: 60 % of 8-256 bytes, 30 % of 257-1024, 10 % of
 * 1025-8192, uniform within each range.
 */
static void kb_mix_sizes(void)
{
	struct rnd_state rnd;
	unsigned int k, p;

	kb_rnd_seed(&rnd, 0x6b6d616c6c6f63ULL);
	for (k = 0; k < KB_MIX_NR; k++) {
		p = prandom_u32_state(&rnd) % 100;
		if (p < 60)
			kb_mix_size[k] = 8 + prandom_u32_state(&rnd) % 249;
		else if (p < 90)
			kb_mix_size[k] = 257 + prandom_u32_state(&rnd) % 768;
		else
			kb_mix_size[k] = 1025 + prandom_u32_state(&rnd) % 7168;
	}
}

/**
 * kb_slab_setup() - make the caches and scratch arrays of a run.
 *
 * Context: Process context.
 * Return: 0 or -ENOMEM.
 */
int kb_slab_setup(void)
{
	static const unsigned int perms[] = { 10, 100, KB_MIX_ROUND, 1000 };
	char name[32];
	unsigned int i;

	for (i = 0; i < KB_NR_SIZES; i++) {
		snprintf(name, sizeof(name), "bench-%u", kb_sizes[i]);
		kb_ours[i] = karena_cache_create(name, kb_sizes[i], 0, 0, NULL);
		snprintf(name, sizeof(name), "karena_bench_%u", kb_sizes[i]);
		kb_ref[i] = kmem_cache_create(name, kb_sizes[i], 0, 0, NULL);
		if (!kb_ours[i] || !kb_ref[i])
			goto fail;
	}
	kb_objs = vcalloc(KB_MAX_BATCH, sizeof(*kb_objs));
	kb_mix_size = vcalloc(KB_MIX_NR, sizeof(*kb_mix_size));
	if (!kb_objs || !kb_mix_size)
		goto fail;
	for (i = 0; i < ARRAY_SIZE(perms); i++) {
		kb_perm[perms[i]] = vcalloc(perms[i], sizeof(unsigned int));
		if (!kb_perm[perms[i]])
			goto fail;
		kb_shuffle(kb_perm[perms[i]], perms[i], perms[i]);
	}
	kb_mix_sizes();
	return 0;

fail:
	kb_slab_teardown();
	return -ENOMEM;
}

/**
 * kb_slab_teardown() - destroy what kb_slab_setup() made.
 *
 * Context: Process context; no workload running.
 */
void kb_slab_teardown(void)
{
	unsigned int i;

	for (i = 0; i < KB_NR_SIZES; i++) {
		if (kb_ours[i])
			karena_cache_destroy(kb_ours[i]);
		kmem_cache_destroy(kb_ref[i]);
		kb_ours[i] = NULL;
		kb_ref[i] = NULL;
	}
	for (i = 0; i <= KB_MAX_BATCH; i++) {
		vfree(kb_perm[i]);
		kb_perm[i] = NULL;
	}
	vfree(kb_objs);
	vfree(kb_mix_size);
	kb_objs = NULL;
	kb_mix_size = NULL;
}

/**
 * kb_slab_extras() - report the internal fragmentation of the kmalloc mix.
 *
 * Allocates the whole mix table on each side and prints, per side, the
 * percentage of the bytes handed out (ksize) that were not asked for.
 *
 * Context: Process context, after kb_slab_setup().
 */
void kb_slab_extras(void)
{
	u64 asked = 0, ours = 0, ref = 0;
	void **objs;
	unsigned int k;

	objs = vcalloc(KB_MIX_NR, sizeof(*objs));
	if (!objs)
		return;
	for (k = 0; k < KB_MIX_NR; k++) {
		asked += kb_mix_size[k];
		objs[k] = karena_kmalloc(kb_mix_size[k], GFP_KERNEL);
		if (objs[k])
			ours += karena_ksize(objs[k]);
	}
	for (k = 0; k < KB_MIX_NR; k++)
		karena_kfree(objs[k]);
	for (k = 0; k < KB_MIX_NR; k++) {
		objs[k] = kmalloc(kb_mix_size[k], GFP_KERNEL);
		if (objs[k])
			ref += ksize(objs[k]);
	}
	for (k = 0; k < KB_MIX_NR; k++)
		kfree(objs[k]);
	vfree(objs);
	if (ours && ref)
		kb_emit("X\tkmalloc-mix.waste_pct\t%llu.%02llu\t%llu.%02llu\n",
			div64_u64((ours - asked) * 100, ours),
			div64_u64((ours - asked) * 10000, ours) % 100,
			div64_u64((ref - asked) * 100, ref),
			div64_u64((ref - asked) * 10000, ref) % 100);
}
