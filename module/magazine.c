// SPDX-License-Identifier: GPL-2.0
/*
 * karena: per-CPU magazines and the depot (Bonwick & Adams, "Magazines
 * and Vmem", USENIX 2001).
 *
 * A magazine is a stack of up to cache->mag_size free objects.  Each CPU
 * has two for each cache: the loaded one, which allocations pop from and
 * frees push to, and the previous one, which is always either full or
 * empty (or absent).  Behind them the cache's depot keeps a list of full
 * and a list of empty magazines.
 *
 *   alloc: loaded not empty           -> pop                    (fast)
 *          previous full              -> swap loaded/previous, pop
 *          depot has a full magazine  -> previous (empty) to the depot,
 *                                        loaded becomes previous, load the
 *                                        full one, pop
 *          else                       -> fill a magazine from the slab
 *                                        lists in one batch (alloc_refill),
 *                                        give it to the depot, retry; if
 *                                        that fails, one object from the
 *                                        slab lists
 *   free:  loaded not full            -> push                   (fast)
 *          previous empty             -> swap, push
 *          depot has an empty one     -> previous (full) to the depot (or
 *                                        flushed to the slabs when the
 *                                        depot holds depot_max full ones),
 *                                        loaded becomes previous, load the
 *                                        empty one, push
 *          else                       -> allocate an empty magazine and
 *                                        retry; if that fails, free to the
 *                                        slab lists
 *
 * The two-magazine rule means a CPU that alternates allocations and frees
 * around a magazine boundary touches the depot at most once per
 * mag_size operations.
 *
 * Locking (as the Solaris per-CPU caches): each CPU slot has a spinlock,
 * taken with interrupts off.  A task picks the slot of the CPU it runs on
 * with raw_cpu_ptr() and then locks it; if it migrates in between, it
 * simply works on another CPU's slot under that slot's lock, which is
 * still correct.  The same lock lets shrink, validate, destroy and the
 * CPU-dead callback empty any CPU's slot from elsewhere, so preemption and
 * CPU hotplug need no other care.  The depot is under cache->lock, nested
 * inside the slot lock.  Objects go to the slab lists, and magazines are
 * allocated or freed, only with no slot lock held.
 *
 * Only kernel caches without debug flags or owner hooks have magazines:
 * in the others every free must be checked at once against the slab.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>

#include "internal.h"
#include "slab.h"

/* === Data === */

/* Where magazines come from ("karena_magazine", no magazines itself). */
static struct ka_cache *ka_magazine_cache;

/* Dynamic CPU-hotplug state of the CPU-dead callback; 0 when not set up. */
static int ka_mag_cpuhp_state;

/* === Magazines === */

static struct ka_magazine *ka_mag_new(struct ka_cache *cache)
{
	struct ka_magazine *mag;

	if (!ka_magazine_cache)
		return NULL;
	mag = ka_cache_alloc_caller(ka_magazine_cache, 0, _THIS_IP_);
	if (!mag)
		return NULL;
	INIT_LIST_HEAD(&mag->link);
	mag->rounds = 0;
	ka_stat_inc(cache, KA_MAGAZINE_ALLOC);
	return mag;
}

static void ka_mag_delete(struct ka_cache *cache, struct ka_magazine *mag)
{
	ka_cache_free_caller(ka_magazine_cache, mag, _THIS_IP_);
	ka_stat_inc(cache, KA_MAGAZINE_FREE);
}

/* Give a magazine's rounds back to the slab lists; no lock held. */
static void ka_mag_flush(struct ka_cache *cache, struct ka_magazine *mag)
{
	if (mag->rounds) {
		ka_slab_free_objs(cache, mag->objs, mag->rounds, _THIS_IP_);
		ka_stat_inc(cache, KA_MAGAZINE_FLUSH);
	}
	mag->rounds = 0;
}

/* Keep an empty magazine in the depot, or free it if the depot has many. */
static void ka_mag_stash_empty(struct ka_cache *cache,
			       struct ka_magazine *mag)
{
	unsigned long flags;
	bool keep;

	spin_lock_irqsave(&cache->lock, flags);
	keep = cache->depot_nr_empty < cache->depot_max;
	if (keep) {
		list_add(&mag->link, &cache->depot_empty);
		cache->depot_nr_empty++;
		ka_stat_inc(cache, KA_DEPOT_PUT_EMPTY);
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	if (!keep)
		ka_mag_delete(cache, mag);
}

/* === Allocation === */

/*
 * Pop an object from this CPU's magazines, exchanging with the depot if
 * needed.  @first: count the hit or miss (only on the first attempt).
 */
static void *ka_mag_pop(struct ka_cache *cache, struct ka_cache_cpu *cc,
			bool first)
{
	struct ka_magazine *full;

	lockdep_assert_held(&cc->lock);
	if (cc->loaded && cc->loaded->rounds)
		goto hit;
	if (cc->previous && cc->previous->rounds == cache->mag_size) {
		swap(cc->loaded, cc->previous);
		goto hit;
	}
	if (first) {
		ka_stat_inc(cache, KA_ALLOC_SLOWPATH);
		ka_stat_inc(cache, KA_MAGAZINE_MISS);
	}

	/* Loaded and previous are empty or absent. */
	spin_lock(&cache->lock);
	full = list_first_entry_or_null(&cache->depot_full,
					struct ka_magazine, link);
	if (full) {
		list_del_init(&full->link);
		cache->depot_nr_full--;
		ka_stat_inc(cache, KA_DEPOT_GET_FULL);
		if (cc->previous) {
			list_add(&cc->previous->link, &cache->depot_empty);
			cache->depot_nr_empty++;
			ka_stat_inc(cache, KA_DEPOT_PUT_EMPTY);
		}
		cc->previous = cc->loaded;
		cc->loaded = full;
	}
	spin_unlock(&cache->lock);
	if (!full)
		return NULL;
	return cc->loaded->objs[--cc->loaded->rounds];

hit:
	if (first) {
		ka_stat_inc(cache, KA_ALLOC_FASTPATH);
		ka_stat_inc(cache, KA_MAGAZINE_HIT);
	}
	return cc->loaded->objs[--cc->loaded->rounds];
}

/*
 * Fill a whole magazine from the slab lists and give it to the depot.
 * Returns false if memory ran out (nothing is kept then).
 */
static bool ka_mag_refill(struct ka_cache *cache)
{
	struct ka_magazine *mag;
	unsigned long flags;

	spin_lock_irqsave(&cache->lock, flags);
	mag = list_first_entry_or_null(&cache->depot_empty,
				       struct ka_magazine, link);
	if (mag) {
		list_del_init(&mag->link);
		cache->depot_nr_empty--;
		ka_stat_inc(cache, KA_DEPOT_GET_EMPTY);
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	if (!mag) {
		mag = ka_mag_new(cache);
		if (!mag)
			return false;
	}

	mag->rounds = ka_slab_alloc_objs(cache, mag->objs, cache->mag_size,
					 _THIS_IP_);
	if (mag->rounds < cache->mag_size) {
		/* The depot holds only full magazines: undo. */
		ka_mag_flush(cache, mag);
		ka_mag_delete(cache, mag);
		return false;
	}
	ka_stat_inc(cache, KA_ALLOC_REFILL);

	spin_lock_irqsave(&cache->lock, flags);
	list_add(&mag->link, &cache->depot_full);
	cache->depot_nr_full++;
	ka_stat_inc(cache, KA_DEPOT_PUT_FULL);
	spin_unlock_irqrestore(&cache->lock, flags);
	return true;
}

/**
 * ka_mag_alloc() - allocate an object through the magazine layer.
 * @cache: a cache with magazines.
 * @caller: return address, for a direct slab allocation.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 * Return: the object, or NULL if no memory could be had.
 */
void *ka_mag_alloc(struct ka_cache *cache, unsigned long caller)
{
	struct ka_cache_cpu *cc;
	unsigned long flags;
	void *obj;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		cc = raw_cpu_ptr(cache->cpu);
		spin_lock_irqsave(&cc->lock, flags);
		obj = ka_mag_pop(cache, cc, pass == 0);
		spin_unlock_irqrestore(&cc->lock, flags);
		if (obj)
			return obj;
		/* Another CPU may take the refilled magazine: retry once. */
		if (!ka_mag_refill(cache))
			break;
	}
	obj = NULL;
	ka_slab_alloc_objs(cache, &obj, 1, caller);
	return obj;
}

/**
 * ka_mag_alloc_bulk() - take up to @nr objects from this CPU's magazines.
 * @cache: a cache with magazines.
 * @nr: objects wanted.
 * @objs: array to fill.
 *
 * Uses only the loaded and previous magazines (no depot, no slab lists);
 * the caller gets the rest from the slab lists.
 *
 * Context: Any context; no slab-layer lock held.
 * Return: the number of objects stored.
 */
unsigned int ka_mag_alloc_bulk(struct ka_cache *cache, unsigned int nr,
			       void **objs)
{
	struct ka_cache_cpu *cc = raw_cpu_ptr(cache->cpu);
	unsigned int got = 0;
	unsigned long flags;

	spin_lock_irqsave(&cc->lock, flags);
	while (got < nr) {
		if (!cc->loaded || !cc->loaded->rounds) {
			if (!cc->previous ||
			    cc->previous->rounds != cache->mag_size)
				break;
			swap(cc->loaded, cc->previous);
		}
		objs[got++] = cc->loaded->objs[--cc->loaded->rounds];
	}
	spin_unlock_irqrestore(&cc->lock, flags);
	ka_stat_add(cache, KA_ALLOC_FASTPATH, got);
	ka_stat_add(cache, KA_MAGAZINE_HIT, got);
	return got;
}

/* === Free === */

/*
 * Push @obj on this CPU's magazines, exchanging with the depot if needed.
 * @spare: an empty magazine the caller allocated, used if the depot has
 * none (then set to NULL).  @flush: set to a full magazine that the depot
 * had no room for; the caller flushes it.  Returns false if no empty
 * magazine was available.
 */
static bool ka_mag_push(struct ka_cache *cache, struct ka_cache_cpu *cc,
			void *obj, bool first, struct ka_magazine **spare,
			struct ka_magazine **flush)
{
	struct ka_magazine *empty;

	lockdep_assert_held(&cc->lock);
	if (cc->loaded && cc->loaded->rounds < cache->mag_size)
		goto hit;
	if (cc->previous && !cc->previous->rounds) {
		swap(cc->loaded, cc->previous);
		goto hit;
	}
	if (first) {
		ka_stat_inc(cache, KA_FREE_SLOWPATH);
		ka_stat_inc(cache, KA_MAGAZINE_MISS);
	}

	/* Loaded is full or absent; previous is full or absent. */
	spin_lock(&cache->lock);
	empty = list_first_entry_or_null(&cache->depot_empty,
					 struct ka_magazine, link);
	if (empty) {
		list_del_init(&empty->link);
		cache->depot_nr_empty--;
		ka_stat_inc(cache, KA_DEPOT_GET_EMPTY);
	} else if (*spare) {
		empty = *spare;
		*spare = NULL;
	}
	if (empty && cc->previous) {
		if (cache->depot_nr_full < cache->depot_max) {
			list_add(&cc->previous->link, &cache->depot_full);
			cache->depot_nr_full++;
			ka_stat_inc(cache, KA_DEPOT_PUT_FULL);
		} else {
			*flush = cc->previous;
		}
	}
	spin_unlock(&cache->lock);
	if (!empty)
		return false;
	cc->previous = cc->loaded;
	cc->loaded = empty;
	cc->loaded->objs[cc->loaded->rounds++] = obj;
	return true;

hit:
	if (first) {
		ka_stat_inc(cache, KA_FREE_FASTPATH);
		ka_stat_inc(cache, KA_MAGAZINE_HIT);
	}
	cc->loaded->objs[cc->loaded->rounds++] = obj;
	return true;
}

/**
 * ka_mag_free() - free an object through the magazine layer.
 * @cache: a cache with magazines.
 * @obj: the object.
 * @caller: return address, for a direct free to the slab lists.
 *
 * The object is not checked here; it is checked against its slab when its
 * magazine is flushed (shrink, validate, destroy, a full depot).
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 */
void ka_mag_free(struct ka_cache *cache, void *obj, unsigned long caller)
{
	struct ka_magazine *spare = NULL, *flush;
	struct ka_cache_cpu *cc;
	unsigned long flags;
	bool done = false;
	int pass;

	for (pass = 0; pass < 2 && !done; pass++) {
		flush = NULL;
		cc = raw_cpu_ptr(cache->cpu);
		spin_lock_irqsave(&cc->lock, flags);
		done = ka_mag_push(cache, cc, obj, pass == 0, &spare, &flush);
		spin_unlock_irqrestore(&cc->lock, flags);
		if (flush) {
			ka_mag_flush(cache, flush);
			ka_mag_stash_empty(cache, flush);
		}
		if (!done && !spare)
			spare = ka_mag_new(cache);
		if (!done && !spare)
			break;
	}
	if (spare)
		ka_mag_stash_empty(cache, spare);
	if (!done)
		ka_slab_free_objs(cache, &obj, 1, caller);
}

/* === Draining === */

/**
 * ka_mag_drain_cpu() - flush one CPU's magazines into the slab lists.
 * @cache: the cache.
 * @cpu: any possible CPU, online or not.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 */
void ka_mag_drain_cpu(struct ka_cache *cache, unsigned int cpu)
{
	struct ka_cache_cpu *cc = per_cpu_ptr(cache->cpu, cpu);
	struct ka_magazine *loaded, *previous;
	unsigned long flags;

	spin_lock_irqsave(&cc->lock, flags);
	loaded = cc->loaded;
	previous = cc->previous;
	cc->loaded = NULL;
	cc->previous = NULL;
	spin_unlock_irqrestore(&cc->lock, flags);
	if (!loaded && !previous)
		return;
	if (loaded) {
		ka_mag_flush(cache, loaded);
		ka_mag_delete(cache, loaded);
	}
	if (previous) {
		ka_mag_flush(cache, previous);
		ka_mag_delete(cache, previous);
	}
	ka_stat_inc(cache, KA_CPU_DRAIN);
}

/**
 * ka_mag_drain_all() - flush every CPU's magazines and the depot.
 * @cache: the cache (one without magazines is left alone).
 *
 * Afterwards every free object is back in its slab and every magazine is
 * freed, unless the cache is used concurrently.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 */
void ka_mag_drain_all(struct ka_cache *cache)
{
	struct ka_magazine *mag, *tmp;
	LIST_HEAD(full);
	LIST_HEAD(empty);
	unsigned long flags;
	int cpu;

	if (!cache->mag_size)
		return;
	for_each_possible_cpu(cpu)
		ka_mag_drain_cpu(cache, cpu);

	spin_lock_irqsave(&cache->lock, flags);
	list_splice_init(&cache->depot_full, &full);
	list_splice_init(&cache->depot_empty, &empty);
	cache->depot_nr_full = 0;
	cache->depot_nr_empty = 0;
	spin_unlock_irqrestore(&cache->lock, flags);

	list_for_each_entry_safe(mag, tmp, &full, link) {
		list_del(&mag->link);
		ka_mag_flush(cache, mag);
		ka_mag_delete(cache, mag);
	}
	list_for_each_entry_safe(mag, tmp, &empty, link) {
		list_del(&mag->link);
		ka_mag_delete(cache, mag);
	}
}

/**
 * ka_mag_count() - count the objects held in CPU magazines.
 * @cache: the cache.
 * @info: ->cpu_cached is incremented by the rounds of every CPU's loaded
 *	and previous magazines.
 *
 * Context: Any context; no slab-layer lock held.
 */
void ka_mag_count(struct ka_cache *cache, struct ka_cache_info *info)
{
	unsigned long flags;
	int cpu;

	if (!cache->mag_size)
		return;
	for_each_possible_cpu(cpu) {
		struct ka_cache_cpu *cc = per_cpu_ptr(cache->cpu, cpu);

		spin_lock_irqsave(&cc->lock, flags);
		if (cc->loaded)
			info->cpu_cached += cc->loaded->rounds;
		if (cc->previous)
			info->cpu_cached += cc->previous->rounds;
		spin_unlock_irqrestore(&cc->lock, flags);
	}
}

/* === CPU hotplug === */

/* A CPU went away: nothing may stay stranded in its magazines. */
static int ka_mag_cpu_dead(unsigned int cpu)
{
	struct ka_cache *cache;

	mutex_lock(&ka_slab_mutex);
	list_for_each_entry(cache, &ka_slab_caches, list)
		if (cache->mag_size)
			ka_mag_drain_cpu(cache, cpu);
	mutex_unlock(&ka_slab_mutex);
	return 0;
}

/**
 * ka_magazine_init() - create the magazine cache and the CPU-dead
 * callback.
 *
 * Context: Process context, module load; the cache of caches exists.
 * Return: 0 or a negative errno.
 */
int ka_magazine_init(void)
{
	struct ka_cache_args args = {
		.name = "karena_magazine",
		.size = sizeof(struct ka_magazine),
		.flags = KA_CACHE_NO_MAGAZINE,
	};
	struct ka_cache *cache;
	int ret;

	cache = ka_cache_create(&args);
	if (IS_ERR(cache))
		return PTR_ERR(cache);
	cache->internal = true;
	ka_magazine_cache = cache;

	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN,
					"karena/slab:dead", NULL,
					ka_mag_cpu_dead);
	if (ret < 0) {
		ka_cache_destroy_force(cache);
		ka_magazine_cache = NULL;
		return ret;
	}
	ka_mag_cpuhp_state = ret;
	return 0;
}

/**
 * ka_magazine_exit() - remove the CPU-dead callback and the magazine
 * cache.
 *
 * Context: Process context, module unload; every cache with magazines is
 * gone.
 */
void ka_magazine_exit(void)
{
	if (ka_mag_cpuhp_state > 0)
		cpuhp_remove_state_nocalls(ka_mag_cpuhp_state);
	ka_mag_cpuhp_state = 0;
	if (ka_magazine_cache)
		ka_cache_destroy_force(ka_magazine_cache);
	ka_magazine_cache = NULL;
}
