// SPDX-License-Identifier: GPL-2.0
/*
 * karena: slab debugging: poison, red zones, owner tracking, the error
 * reports, and the invariant checks behind validate.
 *
 * The vocabulary is SLUB's (mm/slub.c, include/linux/poison.h):
 *
 *   poison     a free object of a KA_CACHE_POISON cache is filled with
 *              0x6b, its last byte 0xa5; an allocation checks that the
 *              pattern is intact ("Poison overwritten": a write after
 *              free).  Caches with a constructor are never poisoned.
 *   red zones  KA_CACHE_RED_ZONE puts a zone before and after every
 *              object, 0xbb while the object is free and 0xcc while it
 *              is allocated; a free checks 0xcc and an allocation 0xbb
 *              ("Redzone overwritten": an overflow or underflow).
 *   tracking   KA_CACHE_STORE_USER records the caller, pid, CPU and time
 *              of the last allocation and the last free of every object.
 *
 * Every report is a block of plain pr_err() lines, never a "BUG:" line or
 * a stack dump: a corrupted object is the caller's bug, and karena repairs
 * what it can ("FIX ..." lines), counts the report in the cache's error
 * counters (and in the running KUnit test's "karena_slab_errors"
 * resource), and keeps running.  Reports about user caches are
 * rate-limited, since a process can cause them at will.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <kunit/test.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "slab.h"

/* === Data === */

/* Reports about user caches: a process must not be able to flood dmesg. */
static DEFINE_RATELIMIT_STATE(ka_user_report_rs, 5 * HZ, 10);

static const char * const ka_error_titles[] = {
	[KA_ERROR_DOUBLE_FREE - KA_FIRST_ERROR]	= "Object already free",
	[KA_ERROR_INVALID - KA_FIRST_ERROR]	= "Invalid object pointer",
	[KA_ERROR_WRONG_CACHE - KA_FIRST_ERROR]	= "Wrong slab cache",
	[KA_ERROR_REDZONE - KA_FIRST_ERROR]	= "Redzone overwritten",
	[KA_ERROR_POISON - KA_FIRST_ERROR]	= "Poison overwritten",
	[KA_ERROR_FREELIST - KA_FIRST_ERROR]	= "Freechain corrupt",
	[KA_ERROR_COUNTS - KA_FIRST_ERROR]	= "Wrong number of objects",
};

static const char * const ka_list_names[KA_NR_LISTS] = {
	[KA_SLAB_PARTIAL]	= "partial",
	[KA_SLAB_FULL]		= "full",
	[KA_SLAB_FREE]		= "free",
};

/* Most live objects listed when a destroy is refused. */
#define KA_LEAKS_SHOWN		16
/* Most bytes of a zone shown in a report. */
#define KA_DUMP_MAX		64

/**
 * ka_error_title() - the headline of an error report.
 * @err: an error counter, KA_ERROR_*.
 *
 * Context: Any context.
 * Return: SLUB's wording ("Redzone overwritten", ...).
 */
const char *ka_error_title(enum ka_stat_item err)
{
	if (err < KA_FIRST_ERROR || err >= KA_NR_STATS)
		return "?";
	return ka_error_titles[err - KA_FIRST_ERROR];
}

static const char *ka_list_name(unsigned int list_id)
{
	return list_id < KA_NR_LISTS ? ka_list_names[list_id] : "no";
}

/* === Owner tracking === */

/**
 * ka_obj_track() - the tracking records of an object.
 * @cache: the cache.
 * @slab: the object's slab.
 * @idx: the object's index.
 *
 * Context: cache->lock held.
 * Return: KA_NR_TRACKS records (in the slot when on-slab, in the slab
 * descriptor when off-slab), or NULL without KA_CACHE_STORE_USER.
 */
struct ka_track *ka_obj_track(struct ka_cache *cache, struct ka_slab *slab,
			      unsigned int idx)
{
	if (!(cache->flags & KA_CACHE_STORE_USER))
		return NULL;
	if (cache->offslab)
		return slab->track + (unsigned long)idx * KA_NR_TRACKS;
	return ka_slot(cache, slab, idx) + cache->track_offset;
}
EXPORT_SYMBOL_IF_KUNIT(ka_obj_track);

static void ka_set_track(struct ka_track *t, unsigned long addr)
{
	t->addr = addr;
	t->when = jiffies;
	t->pid = current->pid;
	t->cpu = raw_smp_processor_id();
}

static void ka_print_track(const char *what, const struct ka_track *t)
{
	if (!t->addr)
		return;
	pr_err("%s by %pS age=%u ms pid=%d cpu=%d\n", what, (void *)t->addr,
	       jiffies_to_msecs(jiffies - t->when), t->pid, t->cpu);
}

/* === Reports === */

static void ka_dump(const char *what, const void *p, unsigned int len)
{
	char prefix[32];

	if (!len)
		return;
	snprintf(prefix, sizeof(prefix), KBUILD_MODNAME ": %-8s ", what);
	print_hex_dump(KERN_ERR, prefix, DUMP_PREFIX_OFFSET, 16, 1, p,
		       min_t(unsigned int, len, KA_DUMP_MAX), false);
}

/* Where an object is, who used it last, and its bytes. */
static void ka_print_object(struct ka_cache *cache, struct ka_slab *slab,
			    const void *obj)
{
	unsigned int idx = ka_obj_index(cache, slab, obj);
	const void *slot = obj - cache->red_left;
	struct ka_track *t;

	pr_err("Object %p @offset=%lu: index %u of %u in a slab of order %u, %u in use\n",
	       obj, (unsigned long)(obj - slab->addr), idx,
	       cache->objs_per_slab, cache->order, slab->inuse);
	t = ka_obj_track(cache, slab, idx);
	if (t) {
		ka_print_track("Allocated", &t[KA_TRACK_ALLOC]);
		ka_print_track("Freed", &t[KA_TRACK_FREE]);
	}
	ka_dump("Redzone", slot, cache->red_left);
	ka_dump("Object", obj, cache->object_size);
	ka_dump("Redzone", obj + cache->object_size,
		cache->inuse - cache->red_left - cache->object_size);
}

/**
 * ka_slab_kunit_error() - count an error report in the running KUnit test.
 *
 * Adds one to the test's named resource KA_SLAB_KUNIT_ERRORS, if the
 * current task runs a KUnit test that has one (mm/slub.c's technique for
 * lib/slub_kunit.c); does nothing otherwise, or without KUnit.
 *
 * Context: Any context.
 */
#if IS_ENABLED(CONFIG_KUNIT)
void ka_slab_kunit_error(void)
{
	struct kunit_resource *res;

	if (likely(!current->kunit_test))
		return;
	res = kunit_find_named_resource(current->kunit_test,
					KA_SLAB_KUNIT_ERRORS);
	if (!res)
		return;
	(*(int *)res->data)++;
	kunit_put_resource(res);
}
#else
void ka_slab_kunit_error(void) { }
#endif

/**
 * ka_slab_report() - report, count and describe a slab error.
 * @cache: the cache.
 * @slab: the slab concerned, or NULL.
 * @obj: the object concerned (an object of @slab), or NULL.
 * @err: the error counter, KA_ERROR_*; also picks the headline.
 * @fix: what was done about it ("FIX <cache>: ..." line), or NULL.
 * @fmt: printf format of the detail line.
 *
 * Counts first (the per-CPU counter and the KUnit resource), then prints,
 * rate-limited for user caches.
 *
 * Context: Any context; the caller holds cache->lock when @slab or @obj
 * is given.
 */
void ka_slab_report(struct ka_cache *cache, struct ka_slab *slab,
		    const void *obj, enum ka_stat_item err, const char *fix,
		    const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	ka_stat_inc(cache, err);
	ka_slab_kunit_error();
	if ((cache->flags & KA_CACHE_USER) && !__ratelimit(&ka_user_report_rs))
		return;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("=============================================================================\n");
	pr_err("%s: %s\n", cache->name, ka_error_title(err));
	pr_err("-----------------------------------------------------------------------------\n");
	pr_err("%pV\n", &vaf);
	va_end(args);
	if (slab && obj)
		ka_print_object(cache, slab, obj);
	else if (slab)
		pr_err("Slab %p: order %u, %u objects, %u in use, on the %s list\n",
		       slab->addr, cache->order, cache->objs_per_slab,
		       slab->inuse, ka_list_name(slab->list_id));
	if (fix)
		pr_err("FIX %s: %s\n", cache->name, fix);
}

/* === Poison and red zones === */

static bool ka_cache_poisons(const struct ka_cache *cache)
{
	return (cache->flags & KA_CACHE_POISON) && !cache->ctor;
}

static void ka_poison(const struct ka_cache *cache, void *obj)
{
	memset(obj, KA_POISON_FREE, cache->object_size - 1);
	((u8 *)obj)[cache->object_size - 1] = KA_POISON_END;
}

static void ka_set_redzones(const struct ka_cache *cache, void *obj, u8 val)
{
	memset(obj - cache->red_left, val, cache->red_left);
	memset(obj + cache->object_size, val,
	       cache->inuse - cache->red_left - cache->object_size);
}

/*
 * Check that [@start, @start + @len) holds @val; report and restore it if
 * not.  Returns true if it was intact.
 */
static bool ka_check_bytes(struct ka_cache *cache, struct ka_slab *slab,
			   void *obj, enum ka_stat_item err, const char *what,
			   u8 *start, unsigned int len, u8 val)
{
	u8 *bad = memchr_inv(start, val, len), *end;
	char fix[96];

	if (!bad)
		return true;
	end = start + len;
	while (end > bad && end[-1] == val)
		end--;
	snprintf(fix, sizeof(fix), "Restoring %s %p-%p=0x%02x", what, bad,
		 end - 1, val);
	ka_slab_report(cache, slab, obj, err, fix,
		       "%p-%p @offset=%lu. First byte 0x%02x instead of 0x%02x",
		       bad, end - 1, (unsigned long)(bad - (u8 *)slab->addr),
		       *bad, val);
	memset(bad, val, end - bad);
	return false;
}

static int ka_check_redzones(struct ka_cache *cache, struct ka_slab *slab,
			     void *obj, u8 val)
{
	int errors = 0;

	errors += !ka_check_bytes(cache, slab, obj, KA_ERROR_REDZONE,
				  "Redzone", obj - cache->red_left,
				  cache->red_left, val);
	errors += !ka_check_bytes(cache, slab, obj, KA_ERROR_REDZONE,
				  "Redzone", obj + cache->object_size,
				  cache->inuse - cache->red_left -
				  cache->object_size, val);
	return errors;
}

static int ka_check_poison(struct ka_cache *cache, struct ka_slab *slab,
			   void *obj)
{
	u8 *last = obj + cache->object_size - 1;
	int errors = 0;

	errors += !ka_check_bytes(cache, slab, obj, KA_ERROR_POISON, "Poison",
				  obj, cache->object_size - 1,
				  KA_POISON_FREE);
	errors += !ka_check_bytes(cache, slab, obj, KA_ERROR_POISON, "Poison",
				  last, 1, KA_POISON_END);
	return errors;
}

/**
 * ka_debug_init_object() - prepare an object of a new slab.
 * @cache: a cache with debug flags.
 * @slab: the new slab.
 * @obj: one of its objects.
 *
 * Inactive red zones, poison, and no tracking yet.
 *
 * Context: Any context; the slab is not yet visible to anyone else.
 */
void ka_debug_init_object(struct ka_cache *cache, struct ka_slab *slab,
			  void *obj)
{
	struct ka_track *t;

	if (cache->flags & KA_CACHE_RED_ZONE)
		ka_set_redzones(cache, obj, KA_RED_INACTIVE);
	if (ka_cache_poisons(cache))
		ka_poison(cache, obj);
	t = ka_obj_track(cache, slab, ka_obj_index(cache, slab, obj));
	if (t)
		memset(t, 0, KA_NR_TRACKS * sizeof(*t));
}

/**
 * ka_debug_alloc() - check and prepare an object being allocated.
 * @cache: a cache with debug flags.
 * @slab: the object's slab.
 * @obj: the object, just taken off the free list.
 * @caller: recorded as the allocator.
 *
 * Checks the inactive red zones and the poison (reporting and repairing
 * any damage), then activates the red zones and records the owner.
 *
 * Context: cache->lock held.
 */
void ka_debug_alloc(struct ka_cache *cache, struct ka_slab *slab, void *obj,
		    unsigned long caller)
{
	struct ka_track *t;

	if (cache->flags & KA_CACHE_RED_ZONE)
		ka_check_redzones(cache, slab, obj, KA_RED_INACTIVE);
	if (ka_cache_poisons(cache))
		ka_check_poison(cache, slab, obj);
	if (cache->flags & KA_CACHE_RED_ZONE)
		ka_set_redzones(cache, obj, KA_RED_ACTIVE);
	t = ka_obj_track(cache, slab, ka_obj_index(cache, slab, obj));
	if (t)
		ka_set_track(&t[KA_TRACK_ALLOC], caller);
}

/**
 * ka_debug_free() - check and retire an object being freed.
 * @cache: a cache with debug flags.
 * @slab: the object's slab.
 * @obj: the object, allocated (already checked by the caller).
 * @caller: recorded as the freer.
 *
 * Checks the active red zones (reporting and repairing any damage), then
 * poisons the object, deactivates the red zones and records the freer.
 * The object is freed in any case.
 *
 * Context: cache->lock held.
 */
void ka_debug_free(struct ka_cache *cache, struct ka_slab *slab, void *obj,
		   unsigned long caller)
{
	struct ka_track *t;

	if (cache->flags & KA_CACHE_RED_ZONE)
		ka_check_redzones(cache, slab, obj, KA_RED_ACTIVE);
	if (ka_cache_poisons(cache))
		ka_poison(cache, obj);
	if (cache->flags & KA_CACHE_RED_ZONE)
		ka_set_redzones(cache, obj, KA_RED_INACTIVE);
	t = ka_obj_track(cache, slab, ka_obj_index(cache, slab, obj));
	if (t)
		ka_set_track(&t[KA_TRACK_FREE], caller);
}

/* === Invariant checks === */

/* The slab's pages: right descriptor state and owner, head and order. */
static int ka_check_pages(struct ka_cache *cache, struct ka_slab *slab)
{
	unsigned int want = (cache->flags & KA_CACHE_USER) ? KA_PAGE_USER :
							     KA_PAGE_SLAB;
	unsigned long i, nr = 1UL << cache->order;

	for (i = 0; i < nr; i++) {
		struct ka_page_desc *d = ka_page_desc(cache->arena,
						      nth_page(slab->head, i));

		if (d && d->state == want && d->owner == slab &&
		    (i || ((d->flags & KA_DESC_HEAD) &&
			   d->order == cache->order)))
			continue;
		ka_slab_report(cache, slab, NULL, KA_ERROR_COUNTS, NULL,
			       "page %lu of the slab: descriptor %s, state %d, owner %s",
			       i, d ? "present" : "missing", d ? d->state : -1,
			       d && d->owner == slab ? "this slab" : "wrong");
		return 1;
	}
	return 0;
}

/*
 * Walk the free list (on-slab chain or off-slab stack) into @seen.
 * Returns false if it is corrupt: an entry that is not a free object of
 * the slab, a repeat (@seen), or a length that does not match @inuse.
 */
static bool ka_walk_freelist(struct ka_cache *cache, struct ka_slab *slab,
			     unsigned long *seen, unsigned int *bad_idx)
{
	unsigned int n = cache->objs_per_slab, nr_free = n - slab->inuse;
	unsigned int k, idx;
	void *obj;

	*bad_idx = n;
	if (slab->inuse > n)
		return false;
	if (cache->offslab) {
		for (k = 0; k < nr_free; k++) {
			idx = slab->free_idx[k];
			if (idx >= n || test_bit(idx, slab->map) ||
			    (seen && __test_and_set_bit(idx, seen)))
				return false;
		}
		return true;
	}
	obj = slab->freelist;
	for (k = 0; k < nr_free; k++) {
		if (!obj || !ka_slab_obj_ok(cache, slab, obj))
			return false;
		idx = ka_obj_index(cache, slab, obj);
		if (test_bit(idx, slab->map) ||
		    (seen && __test_and_set_bit(idx, seen))) {
			*bad_idx = idx;
			return false;
		}
		obj = ka_slab_fp_get(cache, obj);
	}
	return !obj;
}

/* Red zones and poison of every object, by its state in the bitmap. */
static int ka_check_objects(struct ka_cache *cache, struct ka_slab *slab)
{
	unsigned int idx;
	int errors = 0;

	for (idx = 0; idx < cache->objs_per_slab; idx++) {
		void *obj = ka_obj(cache, slab, idx);
		bool used = test_bit(idx, slab->map);

		if (cache->flags & KA_CACHE_RED_ZONE)
			errors += ka_check_redzones(cache, slab, obj,
						    used ? KA_RED_ACTIVE :
							   KA_RED_INACTIVE);
		if (!used && ka_cache_poisons(cache))
			errors += ka_check_poison(cache, slab, obj);
	}
	return errors;
}

/**
 * ka_slab_check() - check a slab's invariants, repairing what is broken.
 * @cache: the cache.
 * @slab: one of its slabs.
 * @list_id: the list @slab is (or was) on.
 * @scratch: a zeroed bitmap of objs_per_slab bits, to find repeated free
 *	list entries; NULL to skip that (cheaper) check.  Left dirty.
 * @objects: also check every object's red zones and poison.
 *
 * Checks the page descriptors (state, owner, head, order), that the free
 * list holds exactly the objects whose bitmap bit is clear, that the use
 * count matches the bitmap, and the list.  A broken free list or count is
 * rebuilt from the bitmap ("Freechain corrupt"); the caller relinks the
 * slab if its list was wrong.
 *
 * Context: cache->lock held.
 * Return: the number of problems reported.
 */
int ka_slab_check(struct ka_cache *cache, struct ka_slab *slab,
		  unsigned int list_id, unsigned long *scratch, bool objects)
{
	unsigned int n = cache->objs_per_slab, weight, bad_idx;
	int errors = 0;

	lockdep_assert_held(&cache->lock);
	if (slab->cache != cache) {
		ka_slab_report(cache, slab, NULL, KA_ERROR_COUNTS, NULL,
			       "the slab's descriptor names another cache");
		return 1;
	}
	errors += ka_check_pages(cache, slab);

	weight = bitmap_weight(slab->map, n);
	if (weight != slab->inuse) {
		ka_slab_report(cache, slab, NULL, KA_ERROR_COUNTS,
			       "use count set from the allocation bitmap",
			       "Wrong number of objects. Found %u but should be %u",
			       slab->inuse, weight);
		slab->inuse = weight;
		errors++;
	}
	if (scratch)
		bitmap_zero(scratch, n);
	if (!ka_walk_freelist(cache, slab, scratch, &bad_idx)) {
		ka_slab_report(cache, slab,
			       bad_idx < n ? ka_obj(cache, slab, bad_idx) :
					     NULL,
			       KA_ERROR_FREELIST,
			       "rebuilt the free list from the allocation bitmap",
			       "the free list does not hold exactly the %u free objects",
			       n - slab->inuse);
		ka_slab_rebuild_freelist(cache, slab);
		errors++;
	}
	if (list_id != ka_slab_list_for(cache, slab)) {
		ka_slab_report(cache, slab, NULL, KA_ERROR_COUNTS,
			       "slab moved to the right list",
			       "slab on the %s list with %u of %u objects in use",
			       ka_list_name(list_id), slab->inuse, n);
		errors++;
	}
	if (objects)
		errors += ka_check_objects(cache, slab);
	return errors;
}

/**
 * ka_report_leaked_objects() - say which objects of a cache are still
 * allocated.
 * @cache: the cache, whose magazines have been drained.
 * @force: the cache goes anyway (unload), else the destroy is refused.
 *
 * Prints the count, then up to KA_LEAKS_SHOWN objects with their offset
 * and, with owner tracking, who allocated them.  Wording chosen not to
 * look like SLUB's "Objects remaining" bug report: this is a refusal.
 *
 * Context: cache->lock held.
 */
void ka_report_leaked_objects(struct ka_cache *cache, bool force)
{
	unsigned int shown = 0, i, idx;
	struct ka_slab *slab;

	lockdep_assert_held(&cache->lock);
	pr_err("cache %s: %lu objects still allocated; %s\n", cache->name,
	       cache->nr_out, force ? "slabs released anyway (unload)" :
				      "not destroyed");
	for (i = 0; i < KA_NR_LISTS; i++) {
		list_for_each_entry(slab, &cache->slabs[i], list) {
			for_each_set_bit(idx, slab->map, cache->objs_per_slab) {
				void *obj = ka_obj(cache, slab, idx);
				struct ka_track *t;

				if (shown++ >= KA_LEAKS_SHOWN)
					return;
				pr_err("cache %s:   object %p @offset=%lu still allocated\n",
				       cache->name, obj,
				       (unsigned long)(obj - slab->addr));
				t = ka_obj_track(cache, slab, idx);
				if (t)
					ka_print_track("Allocated",
						       &t[KA_TRACK_ALLOC]);
			}
		}
	}
}
