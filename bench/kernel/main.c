// SPDX-License-Identifier: GPL-2.0
/*
 * karena_bench: entry points, parameters, the results buffer and debugfs.
 *
 * Loading the module measures nothing.  debugfs/karena_bench/ has:
 *
 *   run      write "timing" to run every workload, "frag" to run the
 *            fragmentation soak and hold its blocks, "release" to give
 *            them back, "clear" to start the output afresh
 *   results  everything measured since the last "clear" (bench.h)
 *
 * A "timing" run makes its caches, then does reps rounds over the
 * workloads; in each round every workload runs on both sides back to back
 * (karena first in even rounds, the kernel first in odd ones), so that
 * both see the same state of the machine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "bench.h"
#include <karena_kernel.h>

/* === Parameters === */

static unsigned int reps = 9;
module_param(reps, uint, 0644);
MODULE_PARM_DESC(reps, "Rounds over the workloads; the first is a warm-up (default 9)");

static unsigned int scale = 100;
module_param(scale, uint, 0644);
MODULE_PARM_DESC(scale, "Iterations in percent of the built-in counts (default 100)");

static unsigned int arena_mb = 64;
module_param(arena_mb, uint, 0444);
MODULE_PARM_DESC(arena_mb, "karena's arena_mb, the pool of the fragmentation soak (default 64)");

/* === Results === */

#define KB_RESULTS_SIZE	(256 * 1024)

/* The results text and its length, under kb_lock. */
static char *kb_results;
static size_t kb_results_len;

/* Serialises runs, and guards the results buffer. */
static DEFINE_MUTEX(kb_lock);

static struct dentry *kb_dir;

/**
 * kb_emit() - append a line to the results.
 * @fmt: printf format.
 *
 * Output that does not fit is dropped.
 *
 * Context: Process context, kb_lock held (every run holds it).
 */
void kb_emit(const char *fmt, ...)
{
	va_list args;

	lockdep_assert_held(&kb_lock);
	va_start(args, fmt);
	kb_results_len += vscnprintf(kb_results + kb_results_len,
				     KB_RESULTS_SIZE - kb_results_len, fmt,
				     args);
	va_end(args);
}

/**
 * kb_iters() - a workload's iteration count, scaled.
 * @base: the count at scale=100.
 *
 * Return: at least 1.
 */
unsigned int kb_iters(unsigned int base)
{
	return max_t(u64, 1, div_u64((u64)base * scale, 100));
}

/**
 * kb_rnd_seed() - seed a pseudo-random state reproducibly.
 * @rnd: the state.
 * @seed: the seed; the same seed gives the same sequence on every run.
 */
void kb_rnd_seed(struct rnd_state *rnd, u64 seed)
{
	prandom_seed_state(rnd, seed);
}

/**
 * kb_shuffle() - a reproducible random permutation.
 * @perm: gets 0 to @n - 1 in random order.
 * @n: entries.
 * @seed: the seed.
 */
void kb_shuffle(unsigned int *perm, unsigned int n, u64 seed)
{
	struct rnd_state rnd;
	unsigned int i, j;

	kb_rnd_seed(&rnd, seed);
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n; i > 1; i--) {
		j = prandom_u32_state(&rnd) % i;
		swap(perm[i - 1], perm[j]);
	}
}

/* === Runs === */

static void kb_run_one(const struct kb_workload *w, unsigned int rep)
{
	u32 ours_ps, ref_ps;
	u64 ours, ref;

	if (rep & 1) {
		ref = w->run(w, false);
		ours = w->run(w, true);
	} else {
		ours = w->run(w, true);
		ref = w->run(w, false);
	}
	ours = div_u64_rem(ours, 1000, &ours_ps);
	ref = div_u64_rem(ref, 1000, &ref_ps);
	kb_emit("R\t%s\t%u\t%llu.%03u\t%llu.%03u\n", w->name, rep, ours,
		ours_ps, ref, ref_ps);
	cond_resched();
}

static int kb_run_timing(void)
{
	unsigned int rep, i;
	int ret;

	ret = kb_slab_setup();
	if (ret)
		return ret;
	for (rep = 0; rep < reps; rep++) {
		for (i = 0; i < kb_nr_slab_workloads; i++)
			kb_run_one(&kb_slab_workloads[i], rep);
		for (i = 0; i < kb_nr_page_workloads; i++)
			kb_run_one(&kb_page_workloads[i], rep);
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	kb_slab_extras();
	kb_slab_teardown();
	return ret;
}

/* === debugfs === */

static ssize_t kb_run_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	char cmd[16];
	int ret = 0;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';

	mutex_lock(&kb_lock);
	if (sysfs_streq(cmd, "timing"))
		ret = kb_run_timing();
	else if (sysfs_streq(cmd, "frag"))
		ret = kb_frag_hold((unsigned long)arena_mb << (20 - PAGE_SHIFT));
	else if (sysfs_streq(cmd, "release"))
		kb_frag_release();
	else if (sysfs_streq(cmd, "clear"))
		kb_results_len = 0;
	else
		ret = -EINVAL;
	mutex_unlock(&kb_lock);
	return ret ? ret : len;
}

static const struct file_operations kb_run_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kb_run_write,
	.llseek = noop_llseek,
};

static int results_show(struct seq_file *m, void *v)
{
	mutex_lock(&kb_lock);
	seq_write(m, kb_results, kb_results_len);
	mutex_unlock(&kb_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(results);

/* === Module === */

static int __init kb_init(void)
{
	if (!reps || !scale)
		return -EINVAL;
	kb_results = vzalloc(KB_RESULTS_SIZE);
	if (!kb_results)
		return -ENOMEM;
	kb_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0200, kb_dir, NULL, &kb_run_fops);
	debugfs_create_file("results", 0400, kb_dir, NULL, &results_fops);
	return 0;
}

static void __exit kb_exit(void)
{
	debugfs_remove(kb_dir);
	kb_frag_release();
	vfree(kb_results);
}

module_init(kb_init);
module_exit(kb_exit);

MODULE_DESCRIPTION("Benchmarks of karena's allocators against the kernel's");
MODULE_AUTHOR("The karena developers");
MODULE_LICENSE("GPL");
