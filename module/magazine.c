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
 * Bulk calls move whole magazines: ka_mag_alloc_bulk() empties the CPU's
 * two magazines, then takes the depot's full magazines one after the
 * other under a single cache->lock section; ka_mag_free_bulk() fills the
 * CPU's magazines and trades each full one for an empty one from the
 * depot, again under one cache->lock section.
 *
 * Locking: a CPU's slot (struct ka_cache_cpu) belongs to its CPU.  Only
 * that CPU touches it, inside local_lock_irqsave(&cache->cpu->lock): with
 * interrupts off, nothing else on the CPU can run in between, and the
 * task cannot migrate, so no spinlock and no atomic instruction is needed
 * (on PREEMPT_RT the local lock is a per-CPU lock, as everywhere else).
 * Everything that must reach other CPUs' slots goes through their owners
 * or waits until they are dead:
 *
 *   shrink, validate, destroy  ka_mag_drain_all(): on_each_cpu() makes
 *                              every online CPU hand its two magazines
 *                              over (interrupts are off in the IPI, so it
 *                              never lands inside a slot section); the
 *                              caller flushes them.  cpus_read_lock()
 *                              keeps the online mask fixed meanwhile.
 *   counts (ka_cache_get_info) ka_mag_count(): on_each_cpu() again.
 *   CPU offline                the CPU-dead callback empties the dead
 *                              CPU's slot; nothing runs there any more.
 *
 * A slot of a CPU that is not online is read or changed only under
 * cache->lock, by the CPU-dead callback or by a drain that holds
 * cpus_read_lock().  The depot is under cache->lock, which the slot
 * sections take nested (interrupts are already off).  Objects go to the
 * slab lists, and magazines are allocated or freed, only outside a slot
 * section.
 *
 * Only kernel caches without debug flags or owner hooks have magazines:
 * in the others every free must be checked at once against the slab.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/list.h>
#include <linux/local_lock.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/smp.h>
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

/* Flush and stash every magazine on @list (linked through ->link). */
static void ka_mag_flush_list(struct ka_cache *cache, struct list_head *list)
{
	struct ka_magazine *mag, *tmp;

	list_for_each_entry_safe(mag, tmp, list, link) {
		list_del_init(&mag->link);
		ka_mag_flush(cache, mag);
		ka_mag_stash_empty(cache, mag);
	}
}

/* === Depot (cache->lock) === */

static struct ka_magazine *ka_depot_get_full(struct ka_cache *cache)
{
	struct ka_magazine *mag;

	lockdep_assert_held(&cache->lock);
	mag = list_first_entry_or_null(&cache->depot_full, struct ka_magazine,
				       link);
	if (mag) {
		list_del_init(&mag->link);
		cache->depot_nr_full--;
		ka_stat_inc(cache, KA_DEPOT_GET_FULL);
	}
	return mag;
}

static struct ka_magazine *ka_depot_get_empty(struct ka_cache *cache)
{
	struct ka_magazine *mag;

	lockdep_assert_held(&cache->lock);
	mag = list_first_entry_or_null(&cache->depot_empty, struct ka_magazine,
				       link);
	if (mag) {
		list_del_init(&mag->link);
		cache->depot_nr_empty--;
		ka_stat_inc(cache, KA_DEPOT_GET_EMPTY);
	}
	return mag;
}

static void ka_depot_put_empty(struct ka_cache *cache,
			       struct ka_magazine *mag)
{
	lockdep_assert_held(&cache->lock);
	list_add(&mag->link, &cache->depot_empty);
	cache->depot_nr_empty++;
	ka_stat_inc(cache, KA_DEPOT_PUT_EMPTY);
}

/*
 * Give a full magazine to the depot; if the depot already holds depot_max
 * of them, put it on @flush instead, for the caller to flush to the slab
 * lists once interrupts are back on.
 */
static void ka_depot_put_full(struct ka_cache *cache, struct ka_magazine *mag,
			      struct list_head *flush)
{
	lockdep_assert_held(&cache->lock);
	if (cache->depot_nr_full < cache->depot_max) {
		list_add(&mag->link, &cache->depot_full);
		cache->depot_nr_full++;
		ka_stat_inc(cache, KA_DEPOT_PUT_FULL);
	} else {
		list_add(&mag->link, flush);
	}
}

/* === Allocation === */

/*
 * Pop an object from this CPU's magazines, exchanging with the depot if
 * needed.  @first: count the fast or slow path (only on the first
 * attempt).  Called in the slot section.
 */
static void *ka_mag_pop(struct ka_cache *cache, struct ka_cache_cpu *cc,
			bool first)
{
	struct ka_magazine *full;

	lockdep_assert_held(this_cpu_ptr(&cache->cpu->lock));
	if (cc->loaded && cc->loaded->rounds)
		goto hit;
	if (cc->previous && cc->previous->rounds == cache->mag_size) {
		swap(cc->loaded, cc->previous);
		goto hit;
	}
	if (first)
		ka_stat_inc(cache, KA_ALLOC_SLOWPATH);

	/* Loaded and previous are empty or absent. */
	spin_lock(&cache->lock);
	full = ka_depot_get_full(cache);
	if (full) {
		if (cc->previous)
			ka_depot_put_empty(cache, cc->previous);
		cc->previous = cc->loaded;
		cc->loaded = full;
	}
	spin_unlock(&cache->lock);
	if (!full)
		return NULL;
	return cc->loaded->objs[--cc->loaded->rounds];

hit:
	if (first)
		ka_stat_inc(cache, KA_ALLOC_FASTPATH);
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
	LIST_HEAD(flush);

	spin_lock_irqsave(&cache->lock, flags);
	mag = ka_depot_get_empty(cache);
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
	ka_depot_put_full(cache, mag, &flush);
	spin_unlock_irqrestore(&cache->lock, flags);
	/* Only if other CPUs filled the depot meanwhile. */
	ka_mag_flush_list(cache, &flush);
	return true;
}

/**
 * ka_mag_alloc() - allocate an object through the magazine layer.
 * @cache: a cache with magazines.
 * @caller: return address, for a direct slab allocation.
 *
 * The fast path pops the CPU's loaded magazine with interrupts off: no
 * lock, no atomic instruction.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 * Return: the object, or NULL if no memory could be had.
 */
void *ka_mag_alloc(struct ka_cache *cache, unsigned long caller)
{
	struct ka_cache_cpu *cc;
	struct ka_magazine *mag;
	unsigned long flags;
	void *obj;
	int pass;

	local_lock_irqsave(&cache->cpu->lock, flags);
	cc = this_cpu_ptr(cache->cpu);
	mag = cc->loaded;
	if (likely(mag && mag->rounds)) {
		obj = mag->objs[--mag->rounds];
		ka_stat_inc(cache, KA_ALLOC_FASTPATH);
		local_unlock_irqrestore(&cache->cpu->lock, flags);
		return obj;
	}
	for (pass = 0;; pass++) {
		obj = ka_mag_pop(cache, cc, pass == 0);
		local_unlock_irqrestore(&cache->cpu->lock, flags);
		if (obj)
			return obj;
		/* Another CPU may take the refilled magazine: retry once. */
		if (pass || !ka_mag_refill(cache))
			break;
		local_lock_irqsave(&cache->cpu->lock, flags);
		cc = this_cpu_ptr(cache->cpu);
	}
	obj = NULL;
	ka_slab_alloc_objs(cache, &obj, 1, caller);
	return obj;
}

/* Move up to @nr rounds off the top of @mag into @objs. */
static unsigned int ka_mag_take(struct ka_magazine *mag, void **objs,
				unsigned int nr)
{
	unsigned int n = min(nr, mag->rounds), i;

	for (i = 0; i < n; i++)
		objs[i] = mag->objs[--mag->rounds];
	return n;
}

/**
 * ka_mag_alloc_bulk() - take up to @nr objects from the magazine layer.
 * @cache: a cache with magazines.
 * @nr: objects wanted.
 * @objs: array to fill.
 *
 * Empties this CPU's loaded and previous magazines, then takes the
 * depot's full magazines whole, all in one slot section with cache->lock
 * taken at most once.  Emptied depot magazines go back to the depot's
 * empty list; the last one, if only partly used, stays loaded.  The
 * caller gets the rest from the slab lists.  Objects from the CPU's
 * magazines count as fast-path allocations, those from the depot as
 * slow-path ones.
 *
 * Context: Any context; no slab-layer lock held.
 * Return: the number of objects stored.
 */
unsigned int ka_mag_alloc_bulk(struct ka_cache *cache, unsigned int nr,
			       void **objs)
{
	unsigned int got = 0, fast;
	struct ka_magazine *full;
	struct ka_cache_cpu *cc;
	unsigned long flags;

	local_lock_irqsave(&cache->cpu->lock, flags);
	cc = this_cpu_ptr(cache->cpu);
	if (cc->loaded)
		got += ka_mag_take(cc->loaded, objs, nr);
	if (got < nr && cc->previous &&
	    cc->previous->rounds == cache->mag_size) {
		swap(cc->loaded, cc->previous);
		got += ka_mag_take(cc->loaded, objs + got, nr - got);
	}
	fast = got;
	if (got < nr) {
		/* Loaded and previous are empty or absent. */
		spin_lock(&cache->lock);
		while (got < nr && (full = ka_depot_get_full(cache))) {
			if (nr - got < full->rounds) {
				/* Partly used: load it, as ka_mag_pop(). */
				if (cc->previous)
					ka_depot_put_empty(cache, cc->previous);
				cc->previous = cc->loaded;
				cc->loaded = full;
			}
			got += ka_mag_take(full, objs + got, nr - got);
			if (full != cc->loaded)
				ka_depot_put_empty(cache, full);
		}
		spin_unlock(&cache->lock);
	}
	ka_stat_add(cache, KA_ALLOC_FASTPATH, fast);
	ka_stat_add(cache, KA_ALLOC_SLOWPATH, got - fast);
	local_unlock_irqrestore(&cache->cpu->lock, flags);
	return got;
}

/* === Free === */

/*
 * Push @obj on this CPU's magazines, exchanging with the depot if needed.
 * @spare: an empty magazine the caller allocated, used if the depot has
 * none (then set to NULL).  @flush: gets a full magazine that the depot
 * had no room for; the caller flushes it.  Returns false if no empty
 * magazine was available.  Called in the slot section.
 */
static bool ka_mag_push(struct ka_cache *cache, struct ka_cache_cpu *cc,
			void *obj, bool first, struct ka_magazine **spare,
			struct list_head *flush)
{
	struct ka_magazine *empty;

	lockdep_assert_held(this_cpu_ptr(&cache->cpu->lock));
	if (cc->loaded && cc->loaded->rounds < cache->mag_size)
		goto hit;
	if (cc->previous && !cc->previous->rounds) {
		swap(cc->loaded, cc->previous);
		goto hit;
	}
	if (first)
		ka_stat_inc(cache, KA_FREE_SLOWPATH);

	/* Loaded is full or absent; previous is full or absent. */
	spin_lock(&cache->lock);
	empty = ka_depot_get_empty(cache);
	if (!empty) {
		empty = *spare;
		*spare = NULL;
	}
	if (empty && cc->previous)
		ka_depot_put_full(cache, cc->previous, flush);
	spin_unlock(&cache->lock);
	if (!empty)
		return false;
	cc->previous = cc->loaded;
	cc->loaded = empty;
	cc->loaded->objs[cc->loaded->rounds++] = obj;
	return true;

hit:
	if (first)
		ka_stat_inc(cache, KA_FREE_FASTPATH);
	cc->loaded->objs[cc->loaded->rounds++] = obj;
	return true;
}

/*
 * The slow path of ka_mag_free(): exchange with the depot, allocate an
 * empty magazine if it has none, and as a last resort free to the slab
 * lists.
 */
static void ka_mag_free_slow(struct ka_cache *cache, void *obj,
			     unsigned long caller)
{
	struct ka_magazine *spare = NULL;
	struct ka_cache_cpu *cc;
	unsigned long flags;
	bool done = false;
	LIST_HEAD(flush);
	int pass;

	for (pass = 0; pass < 2 && !done; pass++) {
		local_lock_irqsave(&cache->cpu->lock, flags);
		cc = this_cpu_ptr(cache->cpu);
		done = ka_mag_push(cache, cc, obj, pass == 0, &spare, &flush);
		local_unlock_irqrestore(&cache->cpu->lock, flags);
		ka_mag_flush_list(cache, &flush);
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

/**
 * ka_mag_free() - free an object through the magazine layer.
 * @cache: a cache with magazines.
 * @obj: the object.
 * @caller: return address, for a direct free to the slab lists.
 *
 * The object is not checked here; it is checked against its slab when its
 * magazine is flushed (shrink, validate, destroy, a full depot).  The fast
 * path pushes on the CPU's loaded magazine with interrupts off.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 */
void ka_mag_free(struct ka_cache *cache, void *obj, unsigned long caller)
{
	struct ka_cache_cpu *cc;
	struct ka_magazine *mag;
	unsigned long flags;

	local_lock_irqsave(&cache->cpu->lock, flags);
	cc = this_cpu_ptr(cache->cpu);
	mag = cc->loaded;
	if (likely(mag && mag->rounds < cache->mag_size)) {
		mag->objs[mag->rounds++] = obj;
		ka_stat_inc(cache, KA_FREE_FASTPATH);
		local_unlock_irqrestore(&cache->cpu->lock, flags);
		return;
	}
	local_unlock_irqrestore(&cache->cpu->lock, flags);
	ka_mag_free_slow(cache, obj, caller);
}

/* Push non-NULL @objs[*@next..@nr) on @mag until it is full; count them. */
static unsigned int ka_mag_fill(struct ka_cache *cache,
				struct ka_magazine *mag, void **objs,
				unsigned int nr, unsigned int *next)
{
	unsigned int i = *next, n = 0;

	for (; i < nr && mag->rounds < cache->mag_size; i++) {
		if (!objs[i])
			continue;
		mag->objs[mag->rounds++] = objs[i];
		n++;
	}
	*next = i;
	return n;
}

/*
 * The depot part of ka_mag_push_bulk(), under one cache->lock section:
 * give the full previous magazine to the depot, load an empty one (from
 * the depot, else *@spare), fill it, and again, until the objects are
 * all in or no empty magazine is left.
 */
static void ka_mag_push_depot(struct ka_cache *cache, struct ka_cache_cpu *cc,
			      void **objs, unsigned int nr,
			      unsigned int *next, struct ka_magazine **spare,
			      struct list_head *flush)
{
	struct ka_magazine *empty;
	unsigned int n = 0;

	spin_lock(&cache->lock);
	while (*next < nr) {
		empty = ka_depot_get_empty(cache);
		if (!empty) {
			empty = *spare;
			*spare = NULL;
		}
		if (!empty)
			break;
		/* Loaded is full or absent; previous is full or absent. */
		if (cc->previous)
			ka_depot_put_full(cache, cc->previous, flush);
		cc->previous = cc->loaded;
		cc->loaded = empty;
		n += ka_mag_fill(cache, empty, objs, nr, next);
	}
	spin_unlock(&cache->lock);
	ka_stat_add(cache, KA_FREE_SLOWPATH, n);
}

/*
 * Push @objs[*@next..@nr) (NULL entries skipped) on this CPU's magazines,
 * trading full magazines for empty ones with the depot under one
 * cache->lock section; *@spare is used when the depot has no empty one.
 * Advances *@next; stops early only when no empty magazine is left.
 * Called in the slot section.
 */
static void ka_mag_push_bulk(struct ka_cache *cache, struct ka_cache_cpu *cc,
			     void **objs, unsigned int nr, unsigned int *next,
			     struct ka_magazine **spare,
			     struct list_head *flush)
{
	unsigned int fast = 0;

	lockdep_assert_held(this_cpu_ptr(&cache->cpu->lock));
	while (*next < nr) {
		if (cc->loaded && cc->loaded->rounds < cache->mag_size) {
			fast += ka_mag_fill(cache, cc->loaded, objs, nr, next);
			continue;
		}
		if (cc->previous && !cc->previous->rounds) {
			swap(cc->loaded, cc->previous);
			continue;
		}
		ka_mag_push_depot(cache, cc, objs, nr, next, spare, flush);
		break;
	}
	ka_stat_add(cache, KA_FREE_FASTPATH, fast);
}

/**
 * ka_mag_free_bulk() - free objects through the magazine layer.
 * @cache: a cache with magazines.
 * @nr: number of entries in @objs.
 * @objs: the objects; NULL entries are skipped.
 * @caller: return address, for direct frees to the slab lists.
 *
 * Fills the CPU's magazines in one slot section, giving full ones to the
 * depot and loading empty ones from it under one cache->lock section.
 * Whenever the depot has no empty magazine left, a new one is allocated
 * and the fill goes on; full magazines beyond depot_max are flushed to
 * the slab lists.  Only if no magazine can be allocated does the rest go
 * to the slab lists directly, a run of objects per lock section.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 */
void ka_mag_free_bulk(struct ka_cache *cache, unsigned int nr, void **objs,
		      unsigned long caller)
{
	struct ka_magazine *spare = NULL;
	unsigned int next = 0, end;
	struct ka_cache_cpu *cc;
	unsigned long flags;
	LIST_HEAD(flush);

	while (next < nr) {
		local_lock_irqsave(&cache->cpu->lock, flags);
		cc = this_cpu_ptr(cache->cpu);
		ka_mag_push_bulk(cache, cc, objs, nr, &next, &spare, &flush);
		local_unlock_irqrestore(&cache->cpu->lock, flags);
		/* Flushed magazines go back to the depot as empty ones. */
		ka_mag_flush_list(cache, &flush);
		if (next == nr)
			break;
		/* No empty magazine anywhere: make one (each is filled). */
		if (!spare)
			spare = ka_mag_new(cache);
		if (!spare)
			break;
	}
	if (spare)
		ka_mag_stash_empty(cache, spare);
	/* The rest goes to the slab lists, a run of non-NULL entries at once. */
	while (next < nr) {
		while (next < nr && !objs[next])
			next++;
		for (end = next; end < nr && objs[end]; end++)
			;
		ka_stat_add(cache, KA_FREE_SLOWPATH, end - next);
		ka_slab_free_objs(cache, objs + next, end - next, caller);
		next = end;
	}
}

/* === Draining === */

/*
 * Take a slot's magazines: onto @list, which the caller flushes.  On the
 * owning CPU in its slot section (the IPI), or for a CPU that is not
 * online under cache->lock.  Returns true if there were any.
 */
static bool ka_mag_detach(struct ka_cache_cpu *cc, struct list_head *list)
{
	bool any = cc->loaded || cc->previous;

	if (cc->loaded)
		list_add_tail(&cc->loaded->link, list);
	if (cc->previous)
		list_add_tail(&cc->previous->link, list);
	WRITE_ONCE(cc->loaded, NULL);
	WRITE_ONCE(cc->previous, NULL);
	return any;
}

/* What ka_mag_drain_all() gives the CPUs it interrupts. */
struct ka_mag_drain {
	struct ka_cache *cache;
	struct list_head mags;	/* detached magazines (cache->lock) */
};

/* On each online CPU, interrupts off: hand this CPU's magazines over. */
static void ka_mag_drain_ipi(void *arg)
{
	struct ka_mag_drain *d = arg;
	struct ka_cache *cache = d->cache;
	bool any;

	local_lock(&cache->cpu->lock);
	spin_lock(&cache->lock);
	any = ka_mag_detach(this_cpu_ptr(cache->cpu), &d->mags);
	spin_unlock(&cache->lock);
	local_unlock(&cache->cpu->lock);
	if (any)
		ka_stat_inc(cache, KA_CPU_DRAIN);
}

/* Flush and free every magazine on @list. */
static void ka_mag_delete_list(struct ka_cache *cache, struct list_head *list)
{
	struct ka_magazine *mag, *tmp;

	list_for_each_entry_safe(mag, tmp, list, link) {
		list_del(&mag->link);
		ka_mag_flush(cache, mag);
		ka_mag_delete(cache, mag);
	}
}

/* Empty the slot of a CPU that is not online; no slab-layer lock held. */
static void ka_mag_drain_offline(struct ka_cache *cache, unsigned int cpu)
{
	unsigned long flags;
	LIST_HEAD(mags);
	bool any;

	spin_lock_irqsave(&cache->lock, flags);
	any = ka_mag_detach(per_cpu_ptr(cache->cpu, cpu), &mags);
	spin_unlock_irqrestore(&cache->lock, flags);
	if (!any)
		return;
	ka_mag_delete_list(cache, &mags);
	ka_stat_inc(cache, KA_CPU_DRAIN);
}

/**
 * ka_mag_drain_all() - flush every CPU's magazines and the depot.
 * @cache: the cache (one without magazines is left alone).
 *
 * Every online CPU hands its magazines over in an IPI (on_each_cpu());
 * the slots of the others are emptied here, with CPU hotplug held off.
 * The rounds are then flushed to the slab lists in the caller's context,
 * so errors they reveal are reported there.  Afterwards every free object
 * is back in its slab and every magazine is freed, unless the cache is
 * used concurrently.
 *
 * Context: Process context, interrupts on, not under ka_slab_mutex (the
 * CPU-dead callback takes it inside the hotplug lock); sleeps in
 * cpus_read_lock().  A cache without magazines: any context.
 */
void ka_mag_drain_all(struct ka_cache *cache)
{
	struct ka_mag_drain d = { .cache = cache };
	unsigned long flags;
	LIST_HEAD(empty);
	int cpu;

	if (!cache->mag_size)
		return;
	INIT_LIST_HEAD(&d.mags);
	cpus_read_lock();
	on_each_cpu(ka_mag_drain_ipi, &d, 1);
	for_each_possible_cpu(cpu)
		if (!cpu_online(cpu))
			ka_mag_drain_offline(cache, cpu);
	cpus_read_unlock();

	spin_lock_irqsave(&cache->lock, flags);
	list_splice_tail_init(&cache->depot_full, &d.mags);
	list_splice_init(&cache->depot_empty, &empty);
	cache->depot_nr_full = 0;
	cache->depot_nr_empty = 0;
	spin_unlock_irqrestore(&cache->lock, flags);

	ka_mag_delete_list(cache, &d.mags);
	ka_mag_delete_list(cache, &empty);
}

/* What ka_mag_count() gives the CPUs it interrupts. */
struct ka_mag_census {
	struct ka_cache *cache;
	atomic_long_t rounds;
};

/* On each online CPU, interrupts off: count this CPU's rounds. */
static void ka_mag_count_ipi(void *arg)
{
	struct ka_mag_census *c = arg;
	struct ka_cache_cpu *cc;
	unsigned long n = 0;

	local_lock(&c->cache->cpu->lock);
	cc = this_cpu_ptr(c->cache->cpu);
	if (cc->loaded)
		n += cc->loaded->rounds;
	if (cc->previous)
		n += cc->previous->rounds;
	local_unlock(&c->cache->cpu->lock);
	atomic_long_add(n, &c->rounds);
}

/**
 * ka_mag_count() - count the objects held in CPU magazines.
 * @cache: the cache.
 * @info: ->cpu_cached is incremented by the rounds of every online CPU's
 *	loaded and previous magazines.
 *
 * Each CPU counts its own slot in an IPI.  A CPU that is not online holds
 * nothing once its CPU-dead callback has run; in the moment between its
 * death and the callback its rounds are not counted.
 *
 * Context: Interrupts on, not in interrupt context (IPIs to every online
 * CPU); no slab-layer spinlock held.
 */
void ka_mag_count(struct ka_cache *cache, struct ka_cache_info *info)
{
	struct ka_mag_census c = { .cache = cache };

	if (!cache->mag_size)
		return;
	atomic_long_set(&c.rounds, 0);
	on_each_cpu(ka_mag_count_ipi, &c, 1);
	info->cpu_cached += atomic_long_read(&c.rounds);
}

/* === CPU hotplug === */

/* A CPU went away: nothing may stay stranded in its magazines. */
static int ka_mag_cpu_dead(unsigned int cpu)
{
	struct ka_cache *cache;

	mutex_lock(&ka_slab_mutex);
	list_for_each_entry(cache, &ka_slab_caches, list)
		if (cache->mag_size)
			ka_mag_drain_offline(cache, cpu);
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
