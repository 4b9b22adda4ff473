// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the slab layer's debugfs files.
 *
 *   karena/slabinfo              every cache, /proc/slabinfo 2.1 format
 *   karena/kmalloc               large (buddy) kmalloc counters
 *   karena/fail_slab/            fault injection for object allocations
 *   karena/caches/<name>/        one directory per cache:
 *       object_size ... depot_empty   one value per file (SLUB's names)
 *       alloc_fastpath ... error_*    counters; writing 0 resets one
 *       errors                        sum of error_*; writing 0 resets all
 *       stats                         all of the above as key=value
 *       alloc_traces, free_traces     with owner tracking only
 *       validate, shrink              write 1 to run (no shrink for a
 *                                     cache whose owner has a
 *                                     slab_release hook: the device
 *                                     must hold its lock around it)
 *
 * Documentation/slab.rst defines every file and column.  debugfs is never
 * needed for correctness and its return values are not checked.  No
 * kernel pointer is printed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "internal.h"
#include "slab.h"

/* === Per-cache value files === */

/* Files with one value that are not counters. */
enum ka_attr_id {
	KA_ATTR_OBJECT_SIZE,
	KA_ATTR_SLAB_SIZE,
	KA_ATTR_OBJS_PER_SLAB,
	KA_ATTR_ORDER,
	KA_ATTR_ALIGN,
	KA_ATTR_OBJECT_OFFSET,
	KA_ATTR_OBJECTS,
	KA_ATTR_TOTAL_OBJECTS,
	KA_ATTR_SLABS,
	KA_ATTR_PARTIAL,
	KA_ATTR_FULL,
	KA_ATTR_EMPTY,
	KA_ATTR_CPU_SLABS,
	KA_ATTR_MAGAZINE_SIZE,
	KA_ATTR_DEPOT_FULL,
	KA_ATTR_DEPOT_EMPTY,
	KA_ATTR_HWCACHE_ALIGN,
	KA_ATTR_RED_ZONE,
	KA_ATTR_POISON,
	KA_ATTR_STORE_USER,
	KA_ATTR_SANITY_CHECKS,
	KA_ATTR_OFFSLAB,
	KA_ATTR_USER,
	KA_NR_ATTRS,
};

static const char * const ka_attr_names[KA_NR_ATTRS] = {
	[KA_ATTR_OBJECT_SIZE]	= "object_size",
	[KA_ATTR_SLAB_SIZE]	= "slab_size",
	[KA_ATTR_OBJS_PER_SLAB]	= "objs_per_slab",
	[KA_ATTR_ORDER]		= "order",
	[KA_ATTR_ALIGN]		= "align",
	[KA_ATTR_OBJECT_OFFSET]	= "object_offset",
	[KA_ATTR_OBJECTS]	= "objects",
	[KA_ATTR_TOTAL_OBJECTS]	= "total_objects",
	[KA_ATTR_SLABS]		= "slabs",
	[KA_ATTR_PARTIAL]	= "partial",
	[KA_ATTR_FULL]		= "full",
	[KA_ATTR_EMPTY]		= "empty",
	[KA_ATTR_CPU_SLABS]	= "cpu_slabs",
	[KA_ATTR_MAGAZINE_SIZE]	= "magazine_size",
	[KA_ATTR_DEPOT_FULL]	= "depot_full",
	[KA_ATTR_DEPOT_EMPTY]	= "depot_empty",
	[KA_ATTR_HWCACHE_ALIGN]	= "hwcache_align",
	[KA_ATTR_RED_ZONE]	= "red_zone",
	[KA_ATTR_POISON]	= "poison",
	[KA_ATTR_STORE_USER]	= "store_user",
	[KA_ATTR_SANITY_CHECKS]	= "sanity_checks",
	[KA_ATTR_OFFSLAB]	= "offslab",
	[KA_ATTR_USER]		= "user",
};

/* File ids: attributes, then counters, then the error sum. */
#define KA_FILE_STAT(item)	(KA_NR_ATTRS + (item))
#define KA_FILE_ERRORS		(KA_NR_ATTRS + KA_NR_STATS)
#define KA_NR_FILES		(KA_FILE_ERRORS + 1)

/* What one value file is about: its i_private. */
struct ka_cache_file {
	struct ka_cache *cache;
	unsigned int id;
};

/* debugfs directories of the slab layer; NULL when not created. */
static struct dentry *ka_caches_dir;
static struct dentry *ka_slabinfo_file;
static struct dentry *ka_kmalloc_file;

static u64 ka_attr_value(struct ka_cache *cache, unsigned int id)
{
	struct ka_cache_info info;
	unsigned int i;
	u64 sum = 0;

	if (id == KA_FILE_ERRORS) {
		for (i = KA_FIRST_ERROR; i < KA_NR_STATS; i++)
			sum += ka_cache_stat(cache, i);
		return sum;
	}
	if (id >= KA_NR_ATTRS)
		return ka_cache_stat(cache, id - KA_NR_ATTRS);

	switch (id) {
	case KA_ATTR_OBJECT_SIZE:
		return cache->object_size;
	case KA_ATTR_SLAB_SIZE:
		return cache->size;
	case KA_ATTR_OBJS_PER_SLAB:
		return cache->objs_per_slab;
	case KA_ATTR_ORDER:
		return cache->order;
	case KA_ATTR_ALIGN:
		return cache->align;
	case KA_ATTR_OBJECT_OFFSET:
		return cache->red_left;
	case KA_ATTR_MAGAZINE_SIZE:
		return cache->mag_size;
	case KA_ATTR_HWCACHE_ALIGN:
		return !!(cache->flags & KA_CACHE_HWCACHE_ALIGN);
	case KA_ATTR_RED_ZONE:
		return !!(cache->flags & KA_CACHE_RED_ZONE);
	case KA_ATTR_POISON:
		return (cache->flags & KA_CACHE_POISON) && !cache->ctor;
	case KA_ATTR_STORE_USER:
		return !!(cache->flags & KA_CACHE_STORE_USER);
	case KA_ATTR_SANITY_CHECKS:
		return !!(cache->flags & KA_CACHE_CONSISTENCY_CHECKS);
	case KA_ATTR_OFFSLAB:
		return cache->offslab;
	case KA_ATTR_USER:
		return !!(cache->flags & KA_CACHE_USER);
	}

	ka_cache_get_info(cache, &info);
	switch (id) {
	case KA_ATTR_OBJECTS:
		return info.objects;
	case KA_ATTR_TOTAL_OBJECTS:
		return info.total_objects;
	case KA_ATTR_SLABS:
		return info.slabs[KA_SLAB_PARTIAL] + info.slabs[KA_SLAB_FULL] +
		       info.slabs[KA_SLAB_FREE];
	case KA_ATTR_PARTIAL:
		return info.slabs[KA_SLAB_PARTIAL];
	case KA_ATTR_FULL:
		return info.slabs[KA_SLAB_FULL];
	case KA_ATTR_EMPTY:
		return info.slabs[KA_SLAB_FREE];
	case KA_ATTR_CPU_SLABS:
		return info.cpu_cached;
	case KA_ATTR_DEPOT_FULL:
		return info.depot_full;
	case KA_ATTR_DEPOT_EMPTY:
		return info.depot_empty;
	}
	return 0;
}

static int ka_attr_get(void *data, u64 *val)
{
	struct ka_cache_file *f = data;

	*val = ka_attr_value(f->cache, f->id);
	return 0;
}

/* Counters only: 0 resets, anything else is refused. */
static int ka_attr_set(void *data, u64 val)
{
	struct ka_cache_file *f = data;
	unsigned int i;

	if (val)
		return -EINVAL;
	if (f->id == KA_FILE_ERRORS) {
		for (i = KA_FIRST_ERROR; i < KA_NR_STATS; i++)
			ka_cache_stat_clear(f->cache, i);
		return 0;
	}
	ka_cache_stat_clear(f->cache, f->id - KA_NR_ATTRS);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(ka_attr_ro_fops, ka_attr_get, NULL, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(ka_attr_rw_fops, ka_attr_get, ka_attr_set, "%llu\n");

static const char *ka_file_name(unsigned int id)
{
	if (id < KA_NR_ATTRS)
		return ka_attr_names[id];
	if (id == KA_FILE_ERRORS)
		return "errors";
	return ka_stat_name(id - KA_NR_ATTRS);
}

/* === stats: every value as key=value === */

static int ka_stats_show(struct seq_file *m, void *v)
{
	struct ka_cache *cache = m->private;
	unsigned int id;

	seq_printf(m, "name=%s\n", cache->name);
	for (id = 0; id < KA_NR_FILES; id++)
		seq_printf(m, "%s=%llu\n", ka_file_name(id),
			   ka_attr_value(cache, id));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ka_stats);

/* === alloc_traces and free_traces === */

/* Most distinct callers listed; the rest are summed on one line. */
#define KA_TRACE_LOCS		128

/* One caller's objects. */
struct ka_loc {
	unsigned long addr;
	unsigned long count;
	unsigned long min_age;
	unsigned long max_age;
	u64 sum_age;
	pid_t min_pid;
	pid_t max_pid;
};

/* Aggregate @t into @locs; returns the new number of entries. */
static unsigned int ka_loc_add(struct ka_loc *locs, unsigned int nr,
			       const struct ka_track *t, unsigned long *other)
{
	unsigned long age = jiffies - t->when;
	unsigned int i;

	for (i = 0; i < nr && locs[i].addr != t->addr; i++)
		;
	if (i == nr) {
		if (nr == KA_TRACE_LOCS) {
			(*other)++;
			return nr;
		}
		locs[nr++] = (struct ka_loc){
			.addr = t->addr, .min_age = age, .max_age = age,
			.min_pid = t->pid, .max_pid = t->pid,
		};
	}
	locs[i].count++;
	locs[i].sum_age += age;
	locs[i].min_age = min(locs[i].min_age, age);
	locs[i].max_age = max(locs[i].max_age, age);
	locs[i].min_pid = min(locs[i].min_pid, t->pid);
	locs[i].max_pid = max(locs[i].max_pid, t->pid);
	return nr;
}

static int ka_loc_cmp(const void *a, const void *b)
{
	const struct ka_loc *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/*
 * alloc_traces: allocated objects by the caller that allocated them;
 * free_traces: free objects by the caller that last freed them.
 */
static int ka_traces_show(struct seq_file *m, bool alloc)
{
	struct ka_cache *cache = m->private;
	unsigned long other = 0, flags;
	unsigned int nr = 0, i, idx;
	struct ka_slab *slab;
	struct ka_loc *locs;

	locs = kcalloc(KA_TRACE_LOCS, sizeof(*locs), GFP_KERNEL);
	if (!locs)
		return -ENOMEM;
	ka_mag_drain_all(cache);
	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < KA_NR_LISTS; i++) {
		list_for_each_entry(slab, &cache->slabs[i], list) {
			for (idx = 0; idx < cache->objs_per_slab; idx++) {
				struct ka_track *t;

				if (test_bit(idx, slab->map) != alloc)
					continue;
				t = ka_obj_track(cache, slab, idx);
				t += alloc ? KA_TRACK_ALLOC : KA_TRACK_FREE;
				if (t->addr)
					nr = ka_loc_add(locs, nr, t, &other);
			}
		}
	}
	spin_unlock_irqrestore(&cache->lock, flags);

	sort(locs, nr, sizeof(*locs), ka_loc_cmp, NULL);
	for (i = 0; i < nr; i++)
		seq_printf(m, "%7lu %pS age=%u/%llu/%u pid=%d-%d\n",
			   locs[i].count, (void *)locs[i].addr,
			   jiffies_to_msecs(locs[i].min_age),
			   div_u64(jiffies64_to_msecs(locs[i].sum_age),
				   locs[i].count),
			   jiffies_to_msecs(locs[i].max_age),
			   locs[i].min_pid, locs[i].max_pid);
	if (other)
		seq_printf(m, "%7lu (other callers)\n", other);
	if (!nr && !other)
		seq_puts(m, "No data\n");
	kfree(locs);
	return 0;
}

static int ka_alloc_traces_show(struct seq_file *m, void *v)
{
	return ka_traces_show(m, true);
}
DEFINE_SHOW_ATTRIBUTE(ka_alloc_traces);

static int ka_free_traces_show(struct seq_file *m, void *v)
{
	return ka_traces_show(m, false);
}
DEFINE_SHOW_ATTRIBUTE(ka_free_traces);

/* === validate and shrink triggers === */

/* The triggers take exactly "1" (with an optional newline). */
static int ka_trigger_parse(const char __user *buf, size_t count)
{
	unsigned int val;
	int ret;

	ret = kstrtouint_from_user(buf, count, 10, &val);
	if (ret)
		return ret;
	return val == 1 ? 0 : -EINVAL;
}

static ssize_t ka_validate_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct ka_cache *cache = file_inode(file)->i_private;
	int ret = ka_trigger_parse(buf, count);

	if (ret)
		return ret;
	ret = ka_cache_validate(cache);
	if (ret < 0)
		return ret;
	pr_info("cache %s: validated, %d problems found\n", cache->name, ret);
	return count;
}

static const struct file_operations ka_validate_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ka_validate_write,
	.llseek = noop_llseek,
};

static ssize_t ka_shrink_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct ka_cache *cache = file_inode(file)->i_private;
	int ret = ka_trigger_parse(buf, count);

	if (ret)
		return ret;
	karena_cache_shrink(cache);
	return count;
}

static const struct file_operations ka_shrink_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ka_shrink_write,
	.llseek = noop_llseek,
};

/**
 * ka_cache_debugfs_add() - create caches/<name>/ for a cache.
 * @cache: a listed cache.
 *
 * Context: Process context.
 */
void ka_cache_debugfs_add(struct ka_cache *cache)
{
	struct ka_cache_file *files;
	struct dentry *dir;
	unsigned int id;

	if (!ka_caches_dir || cache->dir)
		return;
	files = ka_kmalloc(&ka_kmalloc_global, KA_NR_FILES * sizeof(*files),
			   0, _THIS_IP_);
	if (!files)
		return;
	dir = debugfs_create_dir(cache->name, ka_caches_dir);
	for (id = 0; id < KA_NR_FILES; id++) {
		bool rw = id >= KA_NR_ATTRS;

		files[id].cache = cache;
		files[id].id = id;
		debugfs_create_file_unsafe(ka_file_name(id), rw ? 0644 : 0444,
					   dir, &files[id],
					   rw ? &ka_attr_rw_fops :
						&ka_attr_ro_fops);
	}
	debugfs_create_file("stats", 0444, dir, cache, &ka_stats_fops);
	if (cache->flags & KA_CACHE_STORE_USER) {
		debugfs_create_file("alloc_traces", 0400, dir, cache,
				    &ka_alloc_traces_fops);
		debugfs_create_file("free_traces", 0400, dir, cache,
				    &ka_free_traces_fops);
	}
	debugfs_create_file("validate", 0200, dir, cache, &ka_validate_fops);
	/* A cache whose owner unmaps released slabs shrinks on its terms. */
	if (!cache->ops || !cache->ops->slab_release)
		debugfs_create_file("shrink", 0200, dir, cache,
				    &ka_shrink_fops);
	cache->files = files;
	cache->dir = dir;
}

/**
 * ka_cache_debugfs_remove() - remove caches/<name>/ of a cache.
 * @cache: the cache.
 *
 * debugfs_remove() waits for handlers running on the files, so the
 * cache may be freed afterwards.  None of those handlers takes
 * ka_slab_mutex, so the caller may hold it.
 *
 * Context: Process context.
 */
void ka_cache_debugfs_remove(struct ka_cache *cache)
{
	if (!cache->dir)
		return;
	debugfs_remove(cache->dir);
	cache->dir = NULL;
	ka_kfree(&ka_kmalloc_global, cache->files, _THIS_IP_);
	cache->files = NULL;
}

/* === slabinfo === */

static int ka_slabinfo_show(struct seq_file *m, void *v)
{
	struct ka_cache_info info;
	struct ka_cache *cache;

	seq_puts(m, "slabinfo - version: 2.1\n");
	seq_puts(m, "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	mutex_lock(&ka_slab_mutex);
	list_for_each_entry(cache, &ka_slab_caches, list) {
		unsigned long active, slabs;

		ka_cache_get_info(cache, &info);
		active = info.slabs[KA_SLAB_PARTIAL] + info.slabs[KA_SLAB_FULL];
		slabs = active + info.slabs[KA_SLAB_FREE];
		seq_printf(m, "%-17s %6lu %6lu %6u %4u %4d", cache->name,
			   info.objects, info.total_objects, cache->size,
			   cache->objs_per_slab, 1 << cache->order);
		seq_printf(m, " : tunables %4u %4u %4u", cache->mag_size,
			   cache->mag_size,
			   cache->mag_size ? cache->depot_max : 0);
		seq_printf(m, " : slabdata %6lu %6lu %6lu\n", active, slabs,
			   info.depot_full * cache->mag_size);
	}
	mutex_unlock(&ka_slab_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ka_slabinfo);

static int ka_kmalloc_show(struct seq_file *m, void *v)
{
	struct ka_kmalloc_set *set = &ka_kmalloc_global;

	seq_printf(m, "classes=%d\n", KA_KMALLOC_NR);
	seq_printf(m, "max_class=%u\n", KA_KMALLOC_MAX_CACHE);
	seq_printf(m, "large_allocs=%ld\n",
		   atomic_long_read(&set->large_allocs));
	seq_printf(m, "large_frees=%ld\n", atomic_long_read(&set->large_frees));
	seq_printf(m, "large_pages=%ld\n", atomic_long_read(&set->large_pages));
	seq_printf(m, "bad_frees=%ld\n", atomic_long_read(&set->bad_frees));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ka_kmalloc);

/**
 * ka_slab_debugfs_init() - create slabinfo, kmalloc, fail_slab and caches/.
 *
 * Context: Process context, module load.
 */
void ka_slab_debugfs_init(void)
{
	ka_slabinfo_file = debugfs_create_file("slabinfo", 0444,
					       ka_debugfs_root, NULL,
					       &ka_slabinfo_fops);
	ka_kmalloc_file = debugfs_create_file("kmalloc", 0444,
					      ka_debugfs_root, NULL,
					      &ka_kmalloc_fops);
	ka_fail_slab_debugfs(ka_debugfs_root);
	ka_caches_dir = debugfs_create_dir("caches", ka_debugfs_root);
}

/**
 * ka_slab_debugfs_exit() - remove every file of the slab layer.
 *
 * Context: Process context, module unload.
 */
void ka_slab_debugfs_exit(void)
{
	struct ka_cache *cache;

	/* No per-cache handler takes ka_slab_mutex: removal cannot block. */
	mutex_lock(&ka_slab_mutex);
	list_for_each_entry(cache, &ka_slab_caches, list)
		ka_cache_debugfs_remove(cache);
	mutex_unlock(&ka_slab_mutex);
	debugfs_lookup_and_remove("fail_slab", ka_debugfs_root);
	debugfs_remove(ka_caches_dir);
	debugfs_remove(ka_kmalloc_file);
	debugfs_remove(ka_slabinfo_file);
	ka_caches_dir = NULL;
	ka_kmalloc_file = NULL;
	ka_slabinfo_file = NULL;
}
