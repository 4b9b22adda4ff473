// SPDX-License-Identifier: GPL-2.0
/*
 * karena: slab caches over the buddy layer.
 *
 * A cache (struct ka_cache) serves objects of one size.  It gets its
 * memory from the buddy layer in slabs: blocks of 2^order pages, each cut
 * into objs_per_slab equal slots.  Every slab is on exactly one of the
 * cache's three lists, by how many of its objects are out: free (none),
 * partial (some) or full (all).  Allocation takes from a partial slab
 * first, then a free one, then a new one; a free that empties a slab puts
 * it on the free list, and the cache gives empty slabs back to the buddy
 * layer beyond KA_CACHE_FREE_KEEP of them, or all of them on shrink.
 *
 * Object layout (one slot; Documentation/slab.rst has the figures):
 *
 *   |<- red_left ->|<--- object_size --->|<- right red zone ->|fp|track|pad|
 *   ^ slot          ^ object (aligned)                        ^ inuse
 *
 * The red zones exist only with KA_CACHE_RED_ZONE.  The free pointer (fp)
 * and the two owner-tracking records exist in the slot only in the
 * on-slab layout; the free pointer moves out of the object when the
 * object's contents must survive while it is free (constructor, poison).
 * The off-slab layout keeps free list and tracking in kernel memory.
 * Which layout a cache gets is described in slab.h.
 *
 * Slab order: the smallest order whose waste (bytes of the slab not in
 * any slot, counting an on-slab descriptor as waste) is at most 1/8 of
 * the slab; if no order up to KA_SLAB_MAX_ORDER achieves that, the order
 * with the smallest fraction of waste.  So for every cache the waste is
 * at most 12.5% whenever any allowed order can do it (every object of up
 * to KA_CACHE_MAX_SIZE / 8 bytes without debug flags), and as low as the
 * orders allow otherwise.
 *
 * Slab colouring (Bonwick 1994): the waste left at the end of a slab is
 * used to shift slot 0 by a multiple of the colour step, a different
 * multiple for each new slab, so that objects at equal indices of
 * different slabs do not all compete for the same cache lines.
 *
 * Every free reaches this file at last (directly, or when a magazine is
 * flushed) and is checked against the slab's allocation bitmap, which is
 * in kernel memory in both layouts: a pointer that is not an object of
 * this cache, or an object that is already free, is reported and refused.
 * Debug caches check red zones and poison on every operation as well
 * (slab_debug.c).
 *
 * Lock order: internal.h.  Since the buddy layer is never called under
 * cache->lock, new slabs are made and old ones released with no
 * slab-layer lock held, then linked or after being unlinked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/cache.h>
#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/swab.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "slab.h"

/* === Data === */

/* Serialises cache creation and destruction; protects ka_slab_caches. */
DEFINE_MUTEX(ka_slab_mutex);
/* Every live cache, karena's own included, oldest first (ka_slab_mutex). */
LIST_HEAD(ka_slab_caches);

/* The fail_slab fault attribute (see slab.h). */
struct ka_slab_fault ka_fail_slab;
EXPORT_SYMBOL_IF_KUNIT(ka_fail_slab);

/*
 * The cache of struct ka_cache ("karena_cache"): static, since it must
 * exist before any cache can be allocated.  karena eats its own food:
 * every other cache's descriptor comes from it.
 */
static struct ka_cache ka_cache_cache;

/* Set once the kmalloc classes exist: off-slab caches need them. */
static bool ka_slab_up;

static const char * const ka_stat_names[KA_NR_STATS] = {
	[KA_ALLOC_FASTPATH]	= "alloc_fastpath",
	[KA_ALLOC_SLOWPATH]	= "alloc_slowpath",
	[KA_FREE_FASTPATH]	= "free_fastpath",
	[KA_FREE_SLOWPATH]	= "free_slowpath",
	[KA_ALLOC_SLAB]		= "alloc_slab",
	[KA_FREE_SLAB]		= "free_slab",
	[KA_ALLOC_REFILL]	= "alloc_refill",
	[KA_ALLOC_FAILED]	= "alloc_failed",
	[KA_ALLOC_INJECTED]	= "alloc_injected",
	[KA_MAGAZINE_HIT]	= "magazine_hit",
	[KA_MAGAZINE_MISS]	= "magazine_miss",
	[KA_DEPOT_GET_FULL]	= "depot_get_full",
	[KA_DEPOT_PUT_FULL]	= "depot_put_full",
	[KA_DEPOT_GET_EMPTY]	= "depot_get_empty",
	[KA_DEPOT_PUT_EMPTY]	= "depot_put_empty",
	[KA_MAGAZINE_ALLOC]	= "magazine_alloc",
	[KA_MAGAZINE_FREE]	= "magazine_free",
	[KA_MAGAZINE_FLUSH]	= "magazine_flush",
	[KA_CPU_DRAIN]		= "cpu_drain",
	[KA_ERROR_DOUBLE_FREE]	= "error_double_free",
	[KA_ERROR_INVALID]	= "error_invalid_pointer",
	[KA_ERROR_WRONG_CACHE]	= "error_wrong_cache",
	[KA_ERROR_REDZONE]	= "error_redzone",
	[KA_ERROR_POISON]	= "error_poison",
	[KA_ERROR_FREELIST]	= "error_freelist",
	[KA_ERROR_COUNTS]	= "error_counts",
};

/* === Statistics === */

/**
 * ka_stat_name() - the name of a counter, as debugfs shows it.
 * @item: the counter.
 *
 * Context: Any context.
 * Return: a static string (SLUB_STATS names where one applies).
 */
const char *ka_stat_name(enum ka_stat_item item)
{
	return item < KA_NR_STATS ? ka_stat_names[item] : "?";
}

/**
 * ka_cache_stat() - the value of a counter, summed over every CPU.
 * @cache: the cache.
 * @item: the counter.
 *
 * Context: Any context; the sum is not a snapshot.
 * Return: the sum.
 */
unsigned long ka_cache_stat(struct ka_cache *cache, enum ka_stat_item item)
{
	unsigned long sum = 0;
	int cpu;

	/* Hits and misses are the fast and slow paths, not counted twice. */
	if (item == KA_MAGAZINE_HIT || item == KA_MAGAZINE_MISS) {
		if (!cache->mag_size)
			return 0;
		if (item == KA_MAGAZINE_HIT)
			return ka_cache_stat(cache, KA_ALLOC_FASTPATH) +
			       ka_cache_stat(cache, KA_FREE_FASTPATH);
		return ka_cache_stat(cache, KA_ALLOC_SLOWPATH) +
		       ka_cache_stat(cache, KA_FREE_SLOWPATH);
	}
	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(cache->cpu, cpu)->stat[item]);
	return sum;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_stat);

/**
 * ka_cache_stat_clear() - reset a counter to 0 on every CPU.
 * @cache: the cache.
 * @item: the counter.
 *
 * Increments racing with the reset may be lost, as with SLUB's counters.
 * Clearing magazine_hit (magazine_miss) clears the fast (slow) path
 * counters it is the sum of.
 *
 * Context: Any context.
 */
void ka_cache_stat_clear(struct ka_cache *cache, enum ka_stat_item item)
{
	int cpu;

	if (item == KA_MAGAZINE_HIT || item == KA_MAGAZINE_MISS) {
		bool hit = item == KA_MAGAZINE_HIT;

		ka_cache_stat_clear(cache, hit ? KA_ALLOC_FASTPATH :
						 KA_ALLOC_SLOWPATH);
		ka_cache_stat_clear(cache, hit ? KA_FREE_FASTPATH :
						 KA_FREE_SLOWPATH);
		return;
	}
	for_each_possible_cpu(cpu)
		WRITE_ONCE(per_cpu_ptr(cache->cpu, cpu)->stat[item], 0);
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_stat_clear);

/* === Free lists === */

/* Where the free pointer of the free object @obj is stored. */
static unsigned long *ka_fp_addr(const struct ka_cache *cache,
				 const void *obj)
{
	return (unsigned long *)(obj - cache->red_left + cache->fp_offset);
}

/*
 * Hardened free pointers are stored as ptr ^ key ^ swab(location) (as
 * SLUB's CONFIG_SLAB_FREELIST_HARDENED): an overwrite or a leak of one
 * gives neither a usable pointer nor the key.
 */
static unsigned long ka_fp_mask(const struct ka_cache *cache,
				const unsigned long *where)
{
	if (!(cache->flags & KA_CACHE_FREELIST_HARDENED))
		return 0;
	return cache->fp_random ^ swab((unsigned long)where);
}

/**
 * ka_slab_fp_get() - decode the free pointer stored in a free object.
 * @cache: an on-slab cache.
 * @obj: a free object of @cache.
 *
 * Context: cache->lock held.
 * Return: the next free object as stored; not checked.
 */
void *ka_slab_fp_get(const struct ka_cache *cache, const void *obj)
{
	unsigned long *where = ka_fp_addr(cache, obj);

	return (void *)(*where ^ ka_fp_mask(cache, where));
}
EXPORT_SYMBOL_IF_KUNIT(ka_slab_fp_get);

static void ka_slab_fp_set(const struct ka_cache *cache, void *obj,
			   void *next)
{
	unsigned long *where = ka_fp_addr(cache, obj);

	*where = (unsigned long)next ^ ka_fp_mask(cache, where);
}

/**
 * ka_slab_obj_ok() - is a pointer the start of an object of a slab?
 * @cache: the cache.
 * @slab: a slab of @cache.
 * @obj: the pointer.
 *
 * Context: Any context.
 * Return: true if @obj is exactly one of the slab's objects.
 */
bool ka_slab_obj_ok(const struct ka_cache *cache, const struct ka_slab *slab,
		    const void *obj)
{
	unsigned int idx;

	if (obj < slab->base + cache->red_left)
		return false;
	if (obj >= slab->base + (unsigned long)cache->objs_per_slab *
		   cache->size)
		return false;
	idx = ka_obj_index(cache, slab, obj);
	return idx < cache->objs_per_slab && ka_obj(cache, slab, idx) == obj;
}

/* Is @obj fit to be on the free list: an object of @slab, not allocated? */
static bool ka_free_obj_ok(const struct ka_cache *cache,
			   const struct ka_slab *slab, const void *obj)
{
	return obj && ka_slab_obj_ok(cache, slab, obj) &&
	       !test_bit(ka_obj_index(cache, slab, obj), slab->map);
}

/* Build a new slab's free list, in index order or along random_seq. */
static void ka_slab_build_freelist(struct ka_cache *cache,
				   struct ka_slab *slab)
{
	unsigned int n = cache->objs_per_slab, start = 0, k;
	void *next = NULL;

	if (cache->random_seq)
		start = get_random_u32_below(n);
	for (k = n; k-- > 0;) {
		unsigned int pos = start + k >= n ? start + k - n : start + k;
		unsigned int idx = cache->random_seq ? cache->random_seq[pos] :
				   k;

		if (cache->offslab) {
			/* The stack pops from the top: first object last. */
			slab->free_idx[n - 1 - k] = idx;
		} else {
			void *obj = ka_obj(cache, slab, idx);

			ka_slab_fp_set(cache, obj, next);
			next = obj;
		}
	}
	if (!cache->offslab)
		slab->freelist = next;
}

/**
 * ka_slab_rebuild_freelist() - repair a slab's free list from its bitmap.
 * @cache: the cache.
 * @slab: a slab of @cache whose free list was found corrupt.
 *
 * The allocation bitmap is in kernel memory and is the truth: every object
 * whose bit is clear goes on the new free list, and @slab->inuse is
 * recounted from the bitmap.
 *
 * Context: cache->lock held.
 */
void ka_slab_rebuild_freelist(struct ka_cache *cache, struct ka_slab *slab)
{
	unsigned int n = cache->objs_per_slab, idx, top = 0;
	void *next = NULL;

	lockdep_assert_held(&cache->lock);
	slab->inuse = bitmap_weight(slab->map, n);
	for (idx = n; idx-- > 0;) {
		if (test_bit(idx, slab->map))
			continue;
		if (cache->offslab) {
			slab->free_idx[top++] = idx;
		} else {
			void *obj = ka_obj(cache, slab, idx);

			ka_slab_fp_set(cache, obj, next);
			next = obj;
		}
	}
	if (!cache->offslab)
		slab->freelist = next;
}

/* Take a free object off @slab, which has one. */
static void *ka_slab_pop(struct ka_cache *cache, struct ka_slab *slab)
{
	unsigned int n = cache->objs_per_slab, idx;
	void *obj, *next;

	lockdep_assert_held(&cache->lock);
	if (cache->offslab) {
		idx = slab->free_idx[n - slab->inuse - 1];
		__set_bit(idx, slab->map);
		slab->inuse++;
		return ka_obj(cache, slab, idx);
	}

	obj = slab->freelist;
	if (!ka_free_obj_ok(cache, slab, obj)) {
		ka_slab_report(cache, slab, NULL, KA_ERROR_FREELIST,
			       "rebuilt the free list from the allocation bitmap",
			       "free list head %p is not a free object of the slab",
			       obj);
		ka_slab_rebuild_freelist(cache, slab);
		obj = slab->freelist;
	}
	next = ka_slab_fp_get(cache, obj);
	idx = ka_obj_index(cache, slab, obj);
	__set_bit(idx, slab->map);
	slab->inuse++;
	if (slab->inuse < n ? !ka_free_obj_ok(cache, slab, next) : !!next) {
		ka_slab_report(cache, slab, obj, KA_ERROR_FREELIST,
			       "rebuilt the free list from the allocation bitmap",
			       "free pointer of object %u is %p, not a free object of the slab",
			       idx, next);
		ka_slab_rebuild_freelist(cache, slab);
		return obj;
	}
	slab->freelist = next;
	return obj;
}

/* Put object @idx, which is allocated, back on @slab's free list. */
static void ka_slab_push(struct ka_cache *cache, struct ka_slab *slab,
			 void *obj, unsigned int idx)
{
	lockdep_assert_held(&cache->lock);
	if (cache->offslab) {
		slab->free_idx[cache->objs_per_slab - slab->inuse] = idx;
	} else {
		ka_slab_fp_set(cache, obj, slab->freelist);
		slab->freelist = obj;
	}
	__clear_bit(idx, slab->map);
	slab->inuse--;
}

/* === Slab lists === */

/* Move @slab to the list its use count calls for. */
static void ka_slab_relist(struct ka_cache *cache, struct ka_slab *slab)
{
	unsigned int id = ka_slab_list_for(cache, slab);

	lockdep_assert_held(&cache->lock);
	if (id == slab->list_id)
		return;
	cache->nr_slabs[slab->list_id]--;
	cache->nr_slabs[id]++;
	list_move(&slab->list, &cache->slabs[id]);
	slab->list_id = id;
}

/* Link a new or checked slab on its list. */
static void ka_slab_link(struct ka_cache *cache, struct ka_slab *slab)
{
	unsigned int id = ka_slab_list_for(cache, slab);

	lockdep_assert_held(&cache->lock);
	list_add(&slab->list, &cache->slabs[id]);
	cache->nr_slabs[id]++;
	slab->list_id = id;
}

/* After a free: hand surplus empty slabs to @release. */
static void ka_slab_trim(struct ka_cache *cache, struct list_head *release)
{
	struct ka_slab *slab;

	lockdep_assert_held(&cache->lock);
	while (cache->nr_slabs[KA_SLAB_FREE] > KA_CACHE_FREE_KEEP) {
		slab = list_last_entry(&cache->slabs[KA_SLAB_FREE],
				       struct ka_slab, list);
		list_move(&slab->list, release);
		cache->nr_slabs[KA_SLAB_FREE]--;
		slab->list_id = KA_NR_LISTS;
	}
}

/* === Slabs from and to the buddy layer === */

static unsigned int ka_slab_bytes(const struct ka_cache *cache)
{
	return PAGE_SIZE << cache->order;
}

/*
 * Make a slab: pages from the buddy layer, a descriptor, every object
 * initialised (red zones, poison, constructor), the free list, the owner
 * mark on every page, then the owner's hook.  Called with no lock held.
 */
static struct ka_slab *ka_slab_new(struct ka_cache *cache)
{
	bool user = cache->flags & KA_CACHE_USER;
	unsigned int n = cache->objs_per_slab, colour, i;
	struct ka_slab *slab;
	unsigned long flags;
	struct page *page;
	void *addr;

	page = ka_alloc_pages(cache->arena, user ? KARENA_ALLOC_ZERO : 0,
			      cache->order);
	if (!page)
		return NULL;
	addr = page_address(page);
	if (cache->offslab) {
		slab = ka_kmalloc_meta(cache->desc_size, __GFP_ZERO, _THIS_IP_);
		if (!slab)
			goto err_pages;
	} else {
		slab = addr + ka_slab_bytes(cache) - cache->desc_size;
		memset(slab, 0, cache->desc_size);
	}

	spin_lock_irqsave(&cache->lock, flags);
	colour = cache->colour_next;
	cache->colour_next = colour + 1 < cache->colours ? colour + 1 : 0;
	spin_unlock_irqrestore(&cache->lock, flags);

	INIT_LIST_HEAD(&slab->list);
	slab->cache = cache;
	slab->head = page;
	slab->addr = addr;
	slab->base = addr + colour * cache->colour_align;
	slab->list_id = KA_NR_LISTS;
	if (cache->offslab) {
		slab->free_idx = (u16 *)(slab->map + BITS_TO_LONGS(n));
		if (cache->flags & KA_CACHE_STORE_USER)
			slab->track = (struct ka_track *)
				PTR_ALIGN(slab->free_idx + n,
					  __alignof__(struct ka_track));
	}

	for (i = 0; i < n; i++) {
		void *obj = ka_obj(cache, slab, i);

		if (ka_cache_debug(cache))
			ka_debug_init_object(cache, slab, obj);
		if (cache->ctor)
			cache->ctor(obj);
	}
	ka_slab_build_freelist(cache, slab);

	ka_block_set_owner(cache->arena, page,
			   user ? KA_PAGE_USER : KA_PAGE_SLAB, slab);
	if (cache->ops && cache->ops->slab_alloc &&
	    cache->ops->slab_alloc(cache, page, cache->order))
		goto err_desc;
	ka_stat_inc(cache, KA_ALLOC_SLAB);
	return slab;

err_desc:
	if (cache->offslab)
		ka_kfree(&ka_kmalloc_global, slab, _THIS_IP_);
err_pages:
	ka_free_pages(cache->arena, page, cache->order);
	return NULL;
}

/* Give an unlinked, empty slab back to the buddy layer; no lock held. */
static void ka_slab_release(struct ka_cache *cache, struct ka_slab *slab)
{
	struct page *head = slab->head;

	if (cache->ops && cache->ops->slab_release)
		cache->ops->slab_release(cache, head, cache->order);
	if (cache->offslab)
		ka_kfree(&ka_kmalloc_global, slab, _THIS_IP_);
	/* An on-slab descriptor goes with the pages. */
	WARN_ON_ONCE(ka_free_pages(cache->arena, head, cache->order));
	ka_stat_inc(cache, KA_FREE_SLAB);
}

static unsigned int ka_slab_release_list(struct ka_cache *cache,
					 struct list_head *release)
{
	struct ka_slab *slab, *tmp;
	unsigned int n = 0;

	list_for_each_entry_safe(slab, tmp, release, list) {
		list_del(&slab->list);
		ka_slab_release(cache, slab);
		n++;
	}
	return n;
}

/* === Objects from and to the slab lists === */

/**
 * ka_slab_alloc_objs() - take objects from the slab lists.
 * @cache: the cache.
 * @objs: array to fill.
 * @nr: objects wanted.
 * @caller: return address recorded by owner tracking.
 *
 * Partial slabs are used first, then empty ones, then new slabs from the
 * buddy layer.  Debug caches check and prepare each object (slab_debug.c).
 *
 * Context: Any context the buddy layer allows (it never sleeps); no
 * slab-layer lock held.  May call the cache's slab_alloc hook.
 * Return: the number of objects put in @objs; less than @nr only when no
 * new slab could be had.
 */
unsigned int ka_slab_alloc_objs(struct ka_cache *cache, void **objs,
				unsigned int nr, unsigned long caller)
{
	unsigned int got = 0;
	struct ka_slab *slab;
	unsigned long flags;

	spin_lock_irqsave(&cache->lock, flags);
	while (got < nr) {
		slab = list_first_entry_or_null(&cache->slabs[KA_SLAB_PARTIAL],
						struct ka_slab, list);
		if (!slab)
			slab = list_first_entry_or_null(&cache->slabs[KA_SLAB_FREE],
							struct ka_slab, list);
		if (!slab) {
			spin_unlock_irqrestore(&cache->lock, flags);
			slab = ka_slab_new(cache);
			spin_lock_irqsave(&cache->lock, flags);
			if (!slab)
				break;
			ka_slab_link(cache, slab);
			continue;
		}
		if (cache->flags & KA_CACHE_CONSISTENCY_CHECKS)
			ka_slab_check(cache, slab, slab->list_id, NULL, false);
		while (got < nr && slab->inuse < cache->objs_per_slab) {
			void *obj = ka_slab_pop(cache, slab);

			if (ka_cache_debug(cache))
				ka_debug_alloc(cache, slab, obj, caller);
			objs[got++] = obj;
			/*
			 * Counted with the pop, under the same lock hold: the
			 * lock is dropped below to make a slab, and validate
			 * must not see a popped object the count lacks.
			 */
			cache->nr_out++;
		}
		ka_slab_relist(cache, slab);
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	return got;
}

/*
 * Find the slab of an object being freed, checking everything a free must
 * not trust: that @obj is in the cache's arena, in a slab, of this cache,
 * at an object start, and allocated.  Reports and returns -EINVAL (not an
 * object of this cache) or -ENOENT (already free).
 */
static int ka_obj_lookup(struct ka_cache *cache, const void *obj,
			 struct ka_slab **slabp)
{
	struct ka_page_desc *desc;
	struct ka_cache *other;
	struct ka_slab *slab;
	unsigned int state;

	lockdep_assert_held(&cache->lock);
	desc = ka_virt_desc(cache->arena, obj);
	state = desc ? READ_ONCE(desc->state) : KA_PAGE_FREE;
	if (state != KA_PAGE_SLAB && state != KA_PAGE_USER) {
		ka_slab_report(cache, NULL, obj, KA_ERROR_INVALID, NULL,
			       "free of %p: %s", obj,
			       desc ? "the page is not part of a slab" :
				      "the address is not in the cache's arena");
		return -EINVAL;
	}
	slab = READ_ONCE(desc->owner);
	other = slab ? READ_ONCE(slab->cache) : NULL;
	/*
	 * A slab of another cache is not locked here: its fields are read
	 * only to be compared, and an address outside @slab's own block
	 * means it is not ours.
	 */
	if (other != cache || obj < slab->addr ||
	    obj >= slab->addr + ka_slab_bytes(cache)) {
		ka_slab_report(cache, NULL, obj, KA_ERROR_WRONG_CACHE, NULL,
			       "free of %p: the object is from cache %.*s", obj,
			       KA_CACHE_NAME_LEN, other ? other->name : "?");
		return -EINVAL;
	}
	if (!ka_slab_obj_ok(cache, slab, obj)) {
		ka_slab_report(cache, slab, NULL, KA_ERROR_INVALID, NULL,
			       "free of %p @offset=%lu: not the start of an object",
			       obj, (unsigned long)(obj - slab->addr));
		return -EINVAL;
	}
	if (!test_bit(ka_obj_index(cache, slab, obj), slab->map)) {
		ka_slab_report(cache, slab, obj, KA_ERROR_DOUBLE_FREE,
			       "free refused", "free of %p", obj);
		return -ENOENT;
	}
	*slabp = slab;
	return 0;
}

/* Free one checked object under cache->lock; surplus slabs to @release. */
static int ka_slab_free_one(struct ka_cache *cache, void *obj,
			    unsigned long caller, struct list_head *release)
{
	struct ka_slab *slab;
	int ret;

	lockdep_assert_held(&cache->lock);
	ret = ka_obj_lookup(cache, obj, &slab);
	if (ret)
		return ret;
	if (cache->flags & KA_CACHE_CONSISTENCY_CHECKS)
		ka_slab_check(cache, slab, slab->list_id, NULL, false);
	if (ka_cache_debug(cache))
		ka_debug_free(cache, slab, obj, caller);
	ka_slab_push(cache, slab, obj, ka_obj_index(cache, slab, obj));
	ka_slab_relist(cache, slab);
	cache->nr_out--;
	ka_slab_trim(cache, release);
	return 0;
}

/**
 * ka_slab_free_objs() - give objects back to their slabs.
 * @cache: the cache.
 * @objs: the objects.
 * @nr: how many.
 * @caller: return address recorded by owner tracking.
 *
 * Each object is checked (ka_obj_lookup()); a bad one is reported, counted
 * and skipped.  Slabs emptied beyond KA_CACHE_FREE_KEEP go back to the
 * buddy layer after the lock is dropped.
 *
 * Context: Any context the buddy layer allows; no slab-layer lock held.
 * May call the cache's slab_release hook.
 */
void ka_slab_free_objs(struct ka_cache *cache, void **objs, unsigned int nr,
		       unsigned long caller)
{
	LIST_HEAD(release);
	unsigned long flags;
	unsigned int i;

	if (!nr)
		return;
	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < nr; i++)
		ka_slab_free_one(cache, objs[i], caller, &release);
	spin_unlock_irqrestore(&cache->lock, flags);
	ka_slab_release_list(cache, &release);
}

/* === Cache geometry === */

static unsigned int ka_onslab_desc_size(unsigned int n)
{
	return ALIGN(sizeof(struct ka_slab) + BITS_TO_LONGS(n) * sizeof(long),
		     sizeof(long));
}

static unsigned int ka_offslab_desc_size(const struct ka_cache *cache,
					 unsigned int n)
{
	unsigned int size = sizeof(struct ka_slab) +
			    BITS_TO_LONGS(n) * sizeof(long) + n * sizeof(u16);

	if (cache->flags & KA_CACHE_STORE_USER)
		size = ALIGN(size, __alignof__(struct ka_track)) +
		       n * KA_NR_TRACKS * sizeof(struct ka_track);
	return size;
}

/* Slots that fit in a slab of @bytes, and the descriptor size for them. */
static unsigned int ka_objs_fit(const struct ka_cache *cache,
				unsigned long bytes, unsigned int *desc)
{
	/* Object indices are u16 in the off-slab free stack. */
	unsigned int n = min_t(unsigned long, bytes / cache->size, 1U << 16);

	if (cache->offslab) {
		*desc = ka_offslab_desc_size(cache, n);
		return n;
	}
	while (n && (unsigned long)n * cache->size + ka_onslab_desc_size(n) >
		    bytes)
		n--;
	*desc = ka_onslab_desc_size(n);
	return n;
}

/* Pick the slab order (see the head comment for the waste bound). */
static int ka_cache_pick_order(struct ka_cache *cache)
{
	unsigned int max_order = min_t(unsigned int, KA_SLAB_MAX_ORDER,
				       ka_arena_max_order(cache->arena));
	unsigned long best_waste = 0, best_bytes = 1;
	unsigned int order, n, desc, waste_desc;
	int best = -1;

	for (order = 0; order <= max_order; order++) {
		unsigned long bytes = PAGE_SIZE << order, waste;

		n = ka_objs_fit(cache, bytes, &desc);
		if (!n)
			continue;
		waste = bytes - (unsigned long)n * cache->size;
		if (best < 0 || waste * best_bytes < best_waste * bytes) {
			best = order;
			best_waste = waste;
			best_bytes = bytes;
		}
		if (waste * 8 <= bytes) {
			best = order;
			break;
		}
	}
	if (best < 0)
		return -EINVAL;

	cache->order = best;
	cache->objs_per_slab = ka_objs_fit(cache, PAGE_SIZE << best, &desc);
	cache->desc_size = desc;
	waste_desc = cache->offslab ? 0 : desc;
	cache->colour_align = max_t(unsigned int, cache->align,
				    cache_line_size());
	cache->colours = ((PAGE_SIZE << best) - waste_desc -
			  cache->objs_per_slab * cache->size) /
			 cache->colour_align + 1;
	return 0;
}

/* Lay out a slot and pick the order; sets every geometry field. */
static int ka_cache_layout(struct ka_cache *cache, unsigned int align)
{
	unsigned int flags = cache->flags, size, s;
	bool red = flags & KA_CACHE_RED_ZONE;

	align = max_t(unsigned int, align, sizeof(void *));
	if (flags & KA_CACHE_HWCACHE_ALIGN) {
		unsigned int ralign = cache_line_size();

		/* As SLUB: small objects share a line, aligned to a fraction. */
		while (cache->object_size <= ralign / 2)
			ralign /= 2;
		align = max(align, ralign);
	}
	cache->align = align;
	cache->red_left = red ? ALIGN(sizeof(void *), align) : 0;
	size = ALIGN(cache->red_left + cache->object_size, sizeof(void *));
	if (red)
		size += sizeof(void *);	/* at least a word of right red zone */
	cache->inuse = size;

	cache->offslab = flags & (KA_CACHE_USER | KA_CACHE_OFFSLAB);
	if (!cache->offslab) {
		s = size;
		/* The free pointer overlays the object unless it must survive. */
		if (cache->ctor || (flags & KA_CACHE_POISON) ||
		    (red && cache->object_size < sizeof(void *))) {
			cache->fp_offset = s;
			s += sizeof(void *);
		} else {
			cache->fp_offset = cache->red_left +
				ALIGN_DOWN(cache->object_size / 2,
					   sizeof(void *));
		}
		if (flags & KA_CACHE_STORE_USER) {
			cache->track_offset = s;
			s += KA_NR_TRACKS * sizeof(struct ka_track);
		}
		if (ALIGN(s, align) <= KA_ONSLAB_MAX_SIZE)
			size = s;
		else
			cache->offslab = true;
	}
	if (cache->offslab) {
		cache->fp_offset = 0;
		cache->track_offset = 0;
	}
	cache->size = ALIGN(size, align);
	cache->reciprocal_size = reciprocal_value(cache->size);
	return ka_cache_pick_order(cache);
}

/* Rounds per magazine (Bonwick 2001: fewer for bigger objects). */
static unsigned int ka_cache_mag_size(const struct ka_cache *cache)
{
	if ((cache->flags & (KA_CACHE_DEBUG_FLAGS | KA_CACHE_USER |
			     KA_CACHE_NO_MAGAZINE)) || cache->ops)
		return 0;
	if (cache->size <= 256)
		return KA_MAG_MAX_ROUNDS;
	if (cache->size <= 1024)
		return 15;
	if (cache->size <= 4096)
		return 7;
	return 3;
}

/* === Cache life cycle === */

static bool ka_cache_name_ok(const char *name)
{
	size_t len, i;

	if (!name)
		return false;
	len = strnlen(name, KA_CACHE_NAME_LEN);
	if (!len || len >= KA_CACHE_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("_.:-", name[i]))
			return false;
	return true;
}

static int ka_cache_check_args(const struct ka_cache_args *args)
{
	if (!args || !ka_cache_name_ok(args->name))
		return -EINVAL;
	if (!args->size || args->size > KA_CACHE_MAX_SIZE)
		return -EINVAL;
	if (args->align && (!is_power_of_2(args->align) ||
			    args->align > PAGE_SIZE))
		return -EINVAL;
	if (args->flags & ~KA_CACHE_VALID_FLAGS)
		return -EINVAL;
	if (!args->arena && !ka_global_arena)
		return -EINVAL;
	return 0;
}

/* Random permutation of the slot indices (Fisher-Yates). */
static int ka_cache_init_random(struct ka_cache *cache)
{
	unsigned int n = cache->objs_per_slab, i;
	u16 *seq;

	seq = ka_kmalloc(&ka_kmalloc_global, n * sizeof(*seq), 0, _THIS_IP_);
	if (!seq)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		seq[i] = i;
	for (i = n - 1; i > 0; i--) {
		/* Not inside swap(): it evaluates its arguments twice. */
		unsigned int j = get_random_u32_below(i + 1);

		swap(seq[i], seq[j]);
	}
	cache->random_seq = seq;
	return 0;
}

/*
 * Fill in a zeroed cache from checked @args: geometry, keys, per-CPU
 * state, lists.  Allocates only the per-CPU area and the random sequence.
 */
static int ka_cache_setup(struct ka_cache *cache,
			  const struct ka_cache_args *args)
{
	unsigned int i;
	int cpu, ret;

	strscpy(cache->name, args->name, sizeof(cache->name));
	cache->flags = args->flags;
	cache->object_size = args->size;
	cache->ctor = args->ctor;
	cache->ops = args->ops;
	cache->owner = args->owner;
	cache->arena = args->arena ?: ka_global_arena;
	spin_lock_init(&cache->lock);
	for (i = 0; i < KA_NR_LISTS; i++)
		INIT_LIST_HEAD(&cache->slabs[i]);
	INIT_LIST_HEAD(&cache->depot_full);
	INIT_LIST_HEAD(&cache->depot_empty);
	INIT_LIST_HEAD(&cache->list);

	ret = ka_cache_layout(cache, args->align);
	if (ret)
		return ret;
	cache->mag_size = ka_cache_mag_size(cache);
	cache->depot_max = 2 * num_possible_cpus() + 2;
	if (cache->mag_size)
		cache->depot_max = max(cache->depot_max, KA_DEPOT_BYTES /
				       (cache->mag_size * cache->size));
	cache->fp_random = get_random_long();

	cache->cpu = alloc_percpu(struct ka_cache_cpu);
	if (!cache->cpu)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		local_lock_init(&per_cpu_ptr(cache->cpu, cpu)->lock);

	if (cache->flags & KA_CACHE_FREELIST_RANDOM) {
		ret = ka_cache_init_random(cache);
		if (ret)
			goto err_percpu;
	}
	return 0;

err_percpu:
	free_percpu(cache->cpu);
	cache->cpu = NULL;
	return ret;
}

static void ka_cache_teardown(struct ka_cache *cache)
{
	if (cache->random_seq)
		ka_kfree(&ka_kmalloc_global, cache->random_seq, _THIS_IP_);
	cache->random_seq = NULL;
	free_percpu(cache->cpu);
	cache->cpu = NULL;
}

static struct ka_cache *ka_cache_find(const char *name)
{
	struct ka_cache *cache;

	lockdep_assert_held(&ka_slab_mutex);
	list_for_each_entry(cache, &ka_slab_caches, list)
		if (!strcmp(cache->name, name))
			return cache;
	return NULL;
}

/**
 * ka_cache_lookup() - find a cache by name.
 * @name: the name.
 *
 * Context: Process context (takes ka_slab_mutex).
 * Return: the cache, or NULL; it may be destroyed at once unless the
 * caller owns it.
 */
struct ka_cache *ka_cache_lookup(const char *name)
{
	struct ka_cache *cache;

	mutex_lock(&ka_slab_mutex);
	cache = ka_cache_find(name);
	mutex_unlock(&ka_slab_mutex);
	return cache;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_lookup);

/* Publish a set-up cache: refuse a duplicate name, then list it. */
static int ka_cache_register(struct ka_cache *cache)
{
	mutex_lock(&ka_slab_mutex);
	if (ka_cache_find(cache->name)) {
		mutex_unlock(&ka_slab_mutex);
		return -EEXIST;
	}
	list_add_tail(&cache->list, &ka_slab_caches);
	mutex_unlock(&ka_slab_mutex);
	if (ka_slab_up)
		ka_cache_debugfs_add(cache);
	return 0;
}

/**
 * ka_cache_create() - create a slab cache (private interface).
 * @args: name, size, alignment, flags, constructor, hooks, owner, arena.
 *
 * Validates everything first: a bad name, a size of 0 or above
 * KA_CACHE_MAX_SIZE, an alignment that is not a power of two up to
 * PAGE_SIZE, or an unknown flag gives -EINVAL; a name already in use gives
 * -EEXIST.  The layout (slab.h) follows from the flags: KA_CACHE_USER and
 * KA_CACHE_OFFSLAB caches are off-slab, and user caches get zeroed slab
 * pages marked KA_PAGE_USER.
 *
 * The constructor runs once per object lifetime in Bonwick's sense: for
 * every object of a slab when the slab is created, never on allocation or
 * free; an object is returned to the cache in its constructed state and
 * handed out again as it was.  Caches with a constructor are therefore
 * never poisoned (KA_CACHE_POISON is accepted and has no effect there).
 *
 * Context: Process context (takes ka_slab_mutex, creates debugfs files).
 * Return: the cache, or an ERR_PTR(): -EINVAL, -EEXIST or -ENOMEM.
 */
struct ka_cache *ka_cache_create(const struct ka_cache_args *args)
{
	struct ka_cache *cache;
	int ret;

	ret = ka_cache_check_args(args);
	if (ret)
		return ERR_PTR(ret);
	cache = ka_cache_alloc_caller(&ka_cache_cache, __GFP_ZERO, _RET_IP_);
	if (!cache)
		return ERR_PTR(-ENOMEM);
	ret = ka_cache_setup(cache, args);
	if (ret)
		goto err_free;
	ret = ka_cache_register(cache);
	if (ret)
		goto err_teardown;
	return cache;

err_teardown:
	ka_cache_teardown(cache);
err_free:
	ka_cache_free_caller(&ka_cache_cache, cache, _RET_IP_);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_create);

/**
 * karena_cache_create() - create a slab cache in karena's arena.
 * @name: unique name, 1 to 31 characters from [A-Za-z0-9_.:-].
 * @size: object size in bytes, 1 to 8 pages.
 * @align: 0 for the default (8 bytes) or a power of two up to PAGE_SIZE.
 * @flags: KA_CACHE_* flags of karena_kernel.h.
 * @ctor: optional constructor, run once per object when its slab is made
 *	(not on each allocation: see ka_cache_create()).
 *
 * The counterpart of kmem_cache_create().  Nonsense arguments are refused
 * rather than corrected.
 *
 * Context: Process context.
 * Return: the cache, or ERR_PTR(-EINVAL) for a bad argument,
 * ERR_PTR(-EEXIST) if the name is taken, ERR_PTR(-ENOMEM).
 */
struct ka_cache *karena_cache_create(const char *name, unsigned int size,
				     unsigned int align, unsigned int flags,
				     void (*ctor)(void *obj))
{
	struct ka_cache_args args = {
		.name = name,
		.size = size,
		.align = align,
		.flags = flags,
		.ctor = ctor,
	};

	if (flags & ~KA_CACHE_FLAGS_MASK)
		return ERR_PTR(-EINVAL);
	return ka_cache_create(&args);
}
EXPORT_SYMBOL_GPL(karena_cache_create);

/* Release every slab of an unlisted, idle cache; count them. */
static unsigned int ka_cache_release_all(struct ka_cache *cache)
{
	LIST_HEAD(release);
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < KA_NR_LISTS; i++) {
		list_splice_init(&cache->slabs[i], &release);
		cache->nr_slabs[i] = 0;
	}
	cache->nr_out = 0;
	spin_unlock_irqrestore(&cache->lock, flags);
	return ka_slab_release_list(cache, &release);
}

/*
 * Unlist a cache if it is idle.  With @force (module unload), a cache
 * with objects still out is reported and unlisted anyway.
 */
static int ka_cache_unregister(struct ka_cache *cache, bool force)
{
	unsigned long flags, out;

	ka_mag_drain_all(cache);
	mutex_lock(&ka_slab_mutex);
	spin_lock_irqsave(&cache->lock, flags);
	out = cache->nr_out;
	/* A user cache dies with its client's objects: that is normal. */
	if (out && !(force && (cache->flags & KA_CACHE_USER)))
		ka_report_leaked_objects(cache, force);
	spin_unlock_irqrestore(&cache->lock, flags);
	if (out && !force) {
		mutex_unlock(&ka_slab_mutex);
		return -EBUSY;
	}
	list_del_init(&cache->list);
	mutex_unlock(&ka_slab_mutex);
	return 0;
}

static void ka_cache_free_struct(struct ka_cache *cache)
{
	ka_cache_debugfs_remove(cache);
	/* Magazines of CPUs or the depot could only be refilled by misuse. */
	ka_mag_drain_all(cache);
	ka_cache_release_all(cache);
	ka_cache_teardown(cache);
	if (cache != &ka_cache_cache)
		ka_cache_free_caller(&ka_cache_cache, cache, _THIS_IP_);
}

/**
 * karena_cache_destroy() - destroy a cache whose objects are all free.
 * @cache: the cache (NULL or an error pointer is accepted and ignored).
 *
 * Drains the magazines, then, if any object is still allocated, reports
 * the cache and up to 16 of its live objects (with their owner tracking
 * if it is on) and refuses: the cache stays fully usable and nothing is
 * leaked; free the objects and call again.  Otherwise every slab goes back
 * to the buddy layer (through the slab_release hook if there is one) and
 * the cache is gone.
 *
 * Context: Process context; the caller makes sure nobody uses @cache
 * concurrently.
 * Return: 0, -EBUSY if objects are still allocated, -EINVAL for NULL or
 * an error pointer.
 */
int karena_cache_destroy(struct ka_cache *cache)
{
	int ret;

	if (IS_ERR_OR_NULL(cache))
		return -EINVAL;
	ret = ka_cache_unregister(cache, false);
	if (ret)
		return ret;
	ka_cache_free_struct(cache);
	return 0;
}
EXPORT_SYMBOL_GPL(karena_cache_destroy);

/**
 * karena_cache_shrink() - give a cache's free memory back to the buddy
 * layer.
 * @cache: the cache.
 *
 * Flushes every CPU's magazines and the depot into the slabs, then
 * releases every empty slab.  The counterpart of kmem_cache_shrink().
 *
 * Context: Process context if the cache has magazines (every CPU is asked
 * to hand its magazines over, ka_mag_drain_all()) or a sleeping
 * slab_release hook, else any context the buddy layer allows.
 * Return: the number of slabs given back.
 */
int karena_cache_shrink(struct ka_cache *cache)
{
	LIST_HEAD(release);
	unsigned long flags;

	ka_mag_drain_all(cache);
	spin_lock_irqsave(&cache->lock, flags);
	list_splice_init(&cache->slabs[KA_SLAB_FREE], &release);
	cache->nr_slabs[KA_SLAB_FREE] = 0;
	spin_unlock_irqrestore(&cache->lock, flags);
	return ka_slab_release_list(cache, &release);
}
EXPORT_SYMBOL_GPL(karena_cache_shrink);

/* === Allocation and free === */

/**
 * ka_cache_alloc_slow() - allocate an object past the inline fast path.
 * @cache: the cache.
 * @caller: return address recorded by owner tracking.
 *
 * For ka_cache_alloc_inline() (slab.h) when the CPU's loaded magazine is
 * empty, or the cache has none: the rest of the magazine layer, or the
 * slab lists.  Counts the failure if nothing could be had.
 *
 * Context: Any context the buddy layer allows (it never sleeps).
 * Return: the object (not zeroed), or NULL.
 */
void *ka_cache_alloc_slow(struct ka_cache *cache, unsigned long caller)
{
	void *obj = NULL;

	if (cache->mag_size) {
		obj = ka_mag_alloc(cache, caller);
	} else {
		ka_stat_inc(cache, KA_ALLOC_SLOWPATH);
		ka_slab_alloc_objs(cache, &obj, 1, caller);
	}
	if (unlikely(!obj))
		ka_stat_inc(cache, KA_ALLOC_FAILED);
	return obj;
}

/**
 * ka_cache_alloc_injected() - count an allocation failed by fail_slab.
 * @cache: the cache.
 *
 * Context: Any context.
 * Return: NULL.
 */
void *ka_cache_alloc_injected(struct ka_cache *cache)
{
	ka_stat_inc(cache, KA_ALLOC_INJECTED);
	ka_stat_inc(cache, KA_ALLOC_FAILED);
	return NULL;
}

/**
 * ka_cache_free_slow() - free an object past the inline fast path.
 * @cache: the cache the object came from.
 * @obj: the object, not NULL.
 * @caller: return address recorded by owner tracking.
 *
 * For ka_cache_free_inline() (slab.h) when the CPU's loaded magazine is
 * full, or the cache has none.
 *
 * Context: Any context the buddy layer allows.
 */
void ka_cache_free_slow(struct ka_cache *cache, void *obj,
			unsigned long caller)
{
	if (cache->mag_size) {
		ka_mag_free(cache, obj, caller);
		return;
	}
	ka_stat_inc(cache, KA_FREE_SLOWPATH);
	ka_slab_free_objs(cache, &obj, 1, caller);
}

/**
 * ka_cache_alloc_caller() - allocate an object, naming the caller.
 * @cache: the cache.
 * @gfp: only __GFP_ZERO is used (karena never sleeps or reclaims).
 * @caller: return address recorded by owner tracking.
 *
 * Context: Any context the buddy layer allows (it never sleeps).
 * Return: the object, or NULL.
 */
void *ka_cache_alloc_caller(struct ka_cache *cache, gfp_t gfp,
			    unsigned long caller)
{
	return ka_cache_alloc_inline(cache, gfp, caller);
}

/**
 * ka_cache_free_caller() - free an object, naming the caller.
 * @cache: the cache the object came from.
 * @obj: the object, or NULL.
 * @caller: return address recorded by owner tracking.
 *
 * Context: Any context the buddy layer allows.
 */
void ka_cache_free_caller(struct ka_cache *cache, void *obj,
			  unsigned long caller)
{
	ka_cache_free_inline(cache, obj, caller);
}

/**
 * karena_cache_alloc() - allocate an object from a cache.
 * @cache: the cache.
 * @gfp: __GFP_ZERO to zero the object (even one that has a constructor);
 *	other bits are accepted and ignored, since karena never sleeps.
 *
 * Kernel caches without debug flags serve from the CPU's magazines; the
 * others take the object from the slab lists and check it there.
 *
 * Context: Any context: never sleeps, every lock is taken with interrupts
 * off (as the buddy layer's).  A cache with owner hooks that sleep (user
 * caches) is used from process context only.
 * Return: the object, or NULL if no memory could be had (or a failure was
 * injected through fail_slab).
 */
void *karena_cache_alloc(struct ka_cache *cache, gfp_t gfp)
{
	return ka_cache_alloc_inline(cache, gfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(karena_cache_alloc);

/**
 * karena_cache_free() - free an object to its cache.
 * @cache: the cache it was allocated from.
 * @obj: the object, or NULL.
 *
 * A free that reaches the slab lists is always checked: a pointer that is
 * not an object of @cache, or an object already free, is reported
 * ("Invalid object pointer", "Wrong slab cache", "Object already free"),
 * counted and ignored.  On caches with magazines the check happens when
 * the magazine is flushed.
 *
 * Context: As karena_cache_alloc().
 */
void karena_cache_free(struct ka_cache *cache, void *obj)
{
	ka_cache_free_inline(cache, obj, _RET_IP_);
}
EXPORT_SYMBOL_GPL(karena_cache_free);

/**
 * ka_cache_alloc_some() - allocate up to @nr objects.
 * @cache: the cache.
 * @gfp: as for karena_cache_alloc().
 * @nr: objects wanted.
 * @objs: array of @nr entries to fill.
 *
 * For the device layer's bulk command, which succeeds if it gets at least
 * one object.  Each object counts as one allocation; injected failures
 * stop the fill where they hit.
 *
 * Context: As karena_cache_alloc().
 * Return: the number of objects stored in @objs[0..].
 */
unsigned int ka_cache_alloc_some(struct ka_cache *cache, gfp_t gfp,
				 unsigned int nr, void **objs)
{
	unsigned int got = 0, want = 0, i;

	while (want < nr && !ka_should_fail_slab(cache))
		want++;
	if (want < nr) {
		ka_stat_inc(cache, KA_ALLOC_INJECTED);
		ka_stat_inc(cache, KA_ALLOC_FAILED);
	}
	if (cache->mag_size)
		got = ka_mag_alloc_bulk(cache, want, objs);
	if (got < want) {
		unsigned int more;

		more = ka_slab_alloc_objs(cache, objs + got, want - got,
					  _RET_IP_);
		ka_stat_add(cache, KA_ALLOC_SLOWPATH, more);
		if (more < want - got)
			ka_stat_inc(cache, KA_ALLOC_FAILED);
		got += more;
	}
	if (gfp & __GFP_ZERO)
		for (i = 0; i < got; i++)
			memset(objs[i], 0, cache->object_size);
	return got;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_alloc_some);

/**
 * karena_cache_alloc_bulk() - allocate @nr objects or none.
 * @cache: the cache.
 * @gfp: as for karena_cache_alloc().
 * @nr: number of objects.
 * @objs: array of @nr entries to fill.
 *
 * The counterpart of kmem_cache_alloc_bulk(): all or nothing.
 *
 * Context: As karena_cache_alloc().
 * Return: @nr, or 0 (and nothing allocated) if not all could be had.
 */
int karena_cache_alloc_bulk(struct ka_cache *cache, gfp_t gfp, size_t nr,
			    void **objs)
{
	unsigned int got;

	if (!nr || nr > INT_MAX)
		return 0;
	got = ka_cache_alloc_some(cache, gfp, nr, objs);
	if (got < nr) {
		karena_cache_free_bulk(cache, got, objs);
		return 0;
	}
	return nr;
}
EXPORT_SYMBOL_GPL(karena_cache_alloc_bulk);

/**
 * karena_cache_free_bulk() - free @nr objects.
 * @cache: the cache they came from.
 * @nr: number of objects.
 * @objs: the objects; NULL entries are skipped.
 *
 * Each object is checked as by karena_cache_free().  On caches with
 * magazines the objects fill this CPU's magazines in one interrupts-off
 * section, whole magazines going to the depot; on the others the slab
 * lock is taken once for the whole array.
 *
 * Context: As karena_cache_alloc().
 */
void karena_cache_free_bulk(struct ka_cache *cache, size_t nr, void **objs)
{
	LIST_HEAD(release);
	unsigned long flags;
	size_t i;

	if (cache->mag_size) {
		for (i = 0; i < nr; i += UINT_MAX)
			ka_mag_free_bulk(cache, min_t(size_t, nr - i, UINT_MAX),
					 objs + i, _RET_IP_);
		return;
	}
	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < nr; i++) {
		if (!objs[i])
			continue;
		ka_stat_inc(cache, KA_FREE_SLOWPATH);
		ka_slab_free_one(cache, objs[i], _RET_IP_, &release);
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	ka_slab_release_list(cache, &release);
}
EXPORT_SYMBOL_GPL(karena_cache_free_bulk);

/**
 * ka_cache_free_bulk_checked() - free objects named by an untrusted
 * caller, stopping at the first bad one.
 * @cache: the cache.
 * @nr: number of entries in @objs.
 * @objs: the objects, in order.
 * @done: set to the number of objects freed; on error, the index of the
 *	refused entry.
 *
 * For frees that come from userspace: every object goes straight to the
 * slab lists (never a magazine) and is checked against the slab's
 * allocation bitmap, which is in kernel memory.  A refused entry is
 * reported (rate-limited for user caches) and counted, and changes
 * nothing; entries after it are not looked at.
 *
 * Context: As karena_cache_alloc(); process context if the cache has a
 * sleeping slab_release hook.
 * Return: 0 if all were freed; -EINVAL if *@done is not the start of an
 * object of @cache; -ENOENT if it is an object that is already free.
 */
int ka_cache_free_bulk_checked(struct ka_cache *cache, unsigned int nr,
			       void **objs, unsigned int *done)
{
	LIST_HEAD(release);
	unsigned long flags;
	unsigned int i;
	int ret = 0;

	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < nr; i++) {
		ret = ka_slab_free_one(cache, objs[i], _RET_IP_, &release);
		if (ret)
			break;
		ka_stat_inc(cache, KA_FREE_SLOWPATH);
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	ka_slab_release_list(cache, &release);
	*done = i;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_free_bulk_checked);

/**
 * ka_cache_free_checked() - free one object named by an untrusted caller.
 * @cache: the cache.
 * @obj: the object.
 *
 * As ka_cache_free_bulk_checked() for one object.
 *
 * Context: As ka_cache_free_bulk_checked().
 * Return: 0, -EINVAL (not an object start of @cache) or -ENOENT (already
 * free).
 */
int ka_cache_free_checked(struct ka_cache *cache, void *obj)
{
	unsigned int done;

	return ka_cache_free_bulk_checked(cache, 1, &obj, &done);
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_free_checked);

/* === Queries for the device layer and debugfs === */

/**
 * ka_cache_walk_slabs() - call a function for every slab of a cache.
 * @cache: the cache.
 * @fn: called with the cache, the slab's head page and order, and @arg;
 *	a non-zero return stops the walk.
 * @arg: passed to @fn.
 *
 * For the device layer, to map a user cache's slabs.  @fn runs under
 * cache->lock with interrupts off: it must not sleep or call into the
 * cache.
 *
 * Context: Any context.
 * Return: 0, or the first non-zero value @fn returned.
 */
int ka_cache_walk_slabs(struct ka_cache *cache, ka_slab_visit_t fn,
			void *arg)
{
	struct ka_slab *slab;
	unsigned long flags;
	unsigned int i;
	int ret = 0;

	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < KA_NR_LISTS && !ret; i++) {
		list_for_each_entry(slab, &cache->slabs[i], list) {
			ret = fn(cache, slab->head, cache->order, arg);
			if (ret)
				break;
		}
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_walk_slabs);

/**
 * ka_addr_cache() - the cache whose slab holds an arena address.
 * @arena: the arena.
 * @addr: any address.
 * @head: if not NULL, set to the slab's head page.
 *
 * For the device layer's fault handler.  The answer is stable only while
 * the caller prevents the slab from being released (e.g. by holding the
 * lock it also takes in its slab_release hook).
 *
 * Context: Any context.
 * Return: the cache, or NULL if @addr is not in a slab of @arena.
 */
struct ka_cache *ka_addr_cache(struct ka_arena *arena, const void *addr,
			       struct page **head)
{
	struct ka_page_desc *desc = ka_virt_desc(arena, addr);
	unsigned int state = desc ? READ_ONCE(desc->state) : KA_PAGE_FREE;
	struct ka_slab *slab;

	if (state != KA_PAGE_SLAB && state != KA_PAGE_USER)
		return NULL;
	slab = READ_ONCE(desc->owner);
	if (!slab)
		return NULL;
	if (head)
		*head = slab->head;
	return slab->cache;
}
EXPORT_SYMBOL_IF_KUNIT(ka_addr_cache);

/**
 * ka_cache_get_info() - counts of a cache.
 * @cache: the cache.
 * @info: filled in.
 *
 * Each CPU counts its own magazines (an IPI, ka_mag_count()), then the
 * slab lists and the depot are read under cache->lock; with concurrent
 * users the result is approximate, on an idle cache it is exact.
 *
 * Context: Interrupts on, not in interrupt context, if the cache has
 * magazines; else any context.
 */
void ka_cache_get_info(struct ka_cache *cache, struct ka_cache_info *info)
{
	unsigned long flags, out, slabs = 0;
	unsigned int i;

	memset(info, 0, sizeof(*info));
	ka_mag_count(cache, info);
	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < KA_NR_LISTS; i++) {
		info->slabs[i] = cache->nr_slabs[i];
		slabs += cache->nr_slabs[i];
	}
	out = cache->nr_out;
	info->depot_full = cache->depot_nr_full;
	info->depot_empty = cache->depot_nr_empty;
	spin_unlock_irqrestore(&cache->lock, flags);
	info->total_objects = slabs * cache->objs_per_slab;
	info->cached = info->cpu_cached + info->depot_full * cache->mag_size;
	info->objects = out > info->cached ? out - info->cached : 0;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_get_info);

/**
 * ka_cache_validate() - check every slab and object of a cache.
 * @cache: the cache.
 *
 * Flushes the magazines into the slabs (as SLUB's validate flushes the CPU
 * slabs), then walks every slab under cache->lock: page descriptors and
 * owner, allocation bitmap against the free list and the use count, the
 * list the slab is on, and with debug flags every object's red zones and
 * poison.  Everything found is reported, counted and repaired; the totals
 * are checked last.
 *
 * Context: Process context (allocates a scratch bitmap).
 * Return: the number of problems found (0 if none), or -ENOMEM.
 */
int ka_cache_validate(struct ka_cache *cache)
{
	unsigned long *scratch, flags, out = 0;
	struct ka_slab *slab, *tmp;
	LIST_HEAD(all);
	int errors = 0;
	unsigned int i;

	scratch = bitmap_zalloc(cache->objs_per_slab, GFP_KERNEL);
	if (!scratch)
		return -ENOMEM;
	ka_mag_drain_all(cache);

	spin_lock_irqsave(&cache->lock, flags);
	for (i = 0; i < KA_NR_LISTS; i++) {
		list_splice_init(&cache->slabs[i], &all);
		cache->nr_slabs[i] = 0;
	}
	list_for_each_entry_safe(slab, tmp, &all, list) {
		list_del(&slab->list);
		errors += ka_slab_check(cache, slab, slab->list_id, scratch,
					true);
		out += slab->inuse;
		ka_slab_link(cache, slab);
	}
	if (out != cache->nr_out) {
		ka_slab_report(cache, NULL, NULL, KA_ERROR_COUNTS,
			       "object count set to the slabs' sum",
			       "Wrong number of objects. Found %lu but should be %lu",
			       out, cache->nr_out);
		cache->nr_out = out;
		errors++;
	}
	spin_unlock_irqrestore(&cache->lock, flags);
	bitmap_free(scratch);
	return errors;
}
EXPORT_SYMBOL_IF_KUNIT(ka_cache_validate);

/* === Module init and exit === */

/**
 * ka_cache_destroy_force() - destroy a cache even if objects are out.
 * @cache: the cache.
 *
 * For module unload only: live objects are reported, then every slab goes
 * back to the buddy layer anyway.
 *
 * Context: Process context, module unload.
 */
void ka_cache_destroy_force(struct ka_cache *cache)
{
	ka_cache_unregister(cache, true);
	ka_cache_free_struct(cache);
}

/**
 * ka_slab_init() - create karena's own caches and the slab debugfs.
 *
 * Order: the static cache of caches, the magazine cache and the CPU-dead
 * callback (magazine.c), the kmalloc classes (kmalloc.c), then debugfs
 * for all of them.  Called after the buddy layer is up.
 *
 * Context: Process context, module load.
 * Return: 0 or a negative errno; on error nothing is left behind.
 */
int ka_slab_init(void)
{
	struct ka_cache_args args = {
		.name = "karena_cache",
		.size = sizeof(struct ka_cache),
		/* Cache creation is rare: no magazines to bootstrap. */
		.flags = KA_CACHE_HWCACHE_ALIGN | KA_CACHE_NO_MAGAZINE,
	};
	struct ka_cache *cache;
	int ret;

	ka_fail_slab_init();
	ret = ka_cache_setup(&ka_cache_cache, &args);
	if (ret)
		return ret;
	/* The bootstrap cache must not need a kmalloc'ed descriptor. */
	if (WARN_ON_ONCE(ka_cache_cache.offslab)) {
		ka_cache_teardown(&ka_cache_cache);
		return -EINVAL;
	}
	ka_cache_cache.internal = true;
	ka_cache_register(&ka_cache_cache);

	ret = ka_magazine_init();
	if (ret)
		goto err_cache;
	ret = ka_kmalloc_init();
	if (ret)
		goto err_magazine;

	ka_slab_up = true;
	ka_slab_debugfs_init();
	mutex_lock(&ka_slab_mutex);
	list_for_each_entry(cache, &ka_slab_caches, list)
		ka_cache_debugfs_add(cache);
	mutex_unlock(&ka_slab_mutex);
	return 0;

err_magazine:
	ka_magazine_exit();
err_cache:
	ka_cache_destroy_force(&ka_cache_cache);
	return ret;
}

/* The newest cache that is not one of karena's own, or NULL. */
static struct ka_cache *ka_cache_leftover(void)
{
	struct ka_cache *cache, *found = NULL;

	mutex_lock(&ka_slab_mutex);
	list_for_each_entry_reverse(cache, &ka_slab_caches, list) {
		if (!cache->internal) {
			found = cache;
			break;
		}
	}
	mutex_unlock(&ka_slab_mutex);
	return found;
}

/**
 * ka_slab_exit() - destroy every cache and the slab debugfs.
 *
 * The device layer has destroyed its user caches and the modules that use
 * karena are gone, so normally only karena's own caches are left.  A
 * leftover cache, or one that still has objects, is reported and its
 * slabs go back to the buddy layer anyway: the arena is about to go.
 * Leftovers go first (their descriptors may be kmalloc'ed), then the
 * kmalloc classes, the magazines, and the cache of caches last.
 *
 * Context: Process context, module unload.
 */
void ka_slab_exit(void)
{
	struct ka_cache *cache;

	ka_slab_debugfs_exit();
	while ((cache = ka_cache_leftover())) {
		pr_err("cache %s still exists at unload; destroying it\n",
		       cache->name);
		ka_cache_destroy_force(cache);
	}
	ka_kmalloc_exit();
	ka_magazine_exit();
	ka_slab_up = false;
	ka_cache_destroy_force(&ka_cache_cache);
}
