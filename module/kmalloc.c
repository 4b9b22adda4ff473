// SPDX-License-Identifier: GPL-2.0
/*
 * karena: kmalloc-style size classes.
 *
 * Untyped allocations are served by 13 caches, "kmalloc-8" to
 * "kmalloc-8192" in powers of two plus 96 and 192 (as SLUB's
 * kmalloc_caches): a request takes the smallest class that holds it.
 * Above 8192 bytes a request goes straight to the buddy layer as a block
 * of get_order(size) pages, marked KA_PAGE_BLOCK with the kmalloc set as
 * owner; ka_kfree() of such a block finds its order in the page
 * descriptor, so the caller never passes a size.
 *
 * ka_kfree() needs no cache either: the descriptor of the object's page
 * names its slab, the slab its cache.  A pointer that is neither an
 * object of one of the set's classes nor the start of one of its large
 * blocks is reported and refused.
 *
 * The module has one set over ka_global_arena (ka_kmalloc_global, exported
 * as karena_kmalloc() and friends); the KUnit suite makes private sets
 * over private arenas.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "slab.h"

/* === Data === */

/* The module's classes over ka_global_arena. */
struct ka_kmalloc_set ka_kmalloc_global;

static const unsigned int ka_kmalloc_sizes[KA_KMALLOC_NR] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

/*
 * Class of sizes 1 to 192, by (size - 1) / 8 (as SLUB's size_index):
 * 8, 16, 32, 32, 64 x 4, 96 x 4, 128 x 4, 192 x 8.  Larger sizes are
 * powers of two, found with fls().
 */
static const u8 ka_kmalloc_small_index[24] = {
	0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5,
	6, 6, 6, 6, 6, 6, 6, 6,
};

/* Extra flags for the module's kmalloc classes (like slub_debug=). */
static unsigned int ka_kmalloc_flags;
module_param_named(kmalloc_flags, ka_kmalloc_flags, uint, 0444);
MODULE_PARM_DESC(kmalloc_flags, "Extra KA_CACHE_* flags for the kmalloc classes, e.g. 0x6 for poison and red zones (default 0)");

/* === Classes === */

/**
 * ka_kmalloc_class_size() - the object size of a class.
 * @idx: class index, 0 to KA_KMALLOC_NR - 1.
 *
 * Context: Any context.
 * Return: the size in bytes, or 0 for a bad index.
 */
unsigned int ka_kmalloc_class_size(unsigned int idx)
{
	return idx < KA_KMALLOC_NR ? ka_kmalloc_sizes[idx] : 0;
}
EXPORT_SYMBOL_IF_KUNIT(ka_kmalloc_class_size);

/*
 * The smallest class holding @size (1 to KA_KMALLOC_MAX_CACHE), in
 * constant time: a table up to 192 bytes, then the power of two.
 */
static unsigned int ka_kmalloc_index(size_t size)
{
	BUILD_BUG_ON(KA_KMALLOC_MAX_CACHE != 8192 || KA_KMALLOC_NR != 13);
	if (size <= 192)
		return ka_kmalloc_small_index[(size - 1) / 8];
	/* 193..256 -> 7 (kmalloc-256), ..., 4097..8192 -> 12. */
	return fls(size - 1) - 1;
}

/* Is @cache one of @set's classes?  Its size says which one it would be. */
static bool ka_kmalloc_owns(const struct ka_kmalloc_set *set,
			    const struct ka_cache *cache)
{
	unsigned int size = cache->object_size;

	return size <= KA_KMALLOC_MAX_CACHE &&
	       set->caches[ka_kmalloc_index(size)] == cache;
}

/**
 * ka_kmalloc_set_init() - create the classes of a kmalloc set.
 * @set: a zeroed set.
 * @arena: the arena for slabs and large allocations.
 * @prefix: cache names are "<prefix>-<size>".
 * @flags: KA_CACHE_* flags for every class.
 *
 * Context: Process context.
 * Return: 0, or a negative errno with nothing left behind.
 */
int ka_kmalloc_set_init(struct ka_kmalloc_set *set, struct ka_arena *arena,
			const char *prefix, unsigned int flags)
{
	char name[KA_CACHE_NAME_LEN];
	struct ka_cache_args args = {
		.arena = arena,
		.name = name,
		.flags = flags,
	};
	unsigned int i;

	set->arena = arena;
	for (i = 0; i < KA_KMALLOC_NR; i++) {
		struct ka_cache *cache;

		snprintf(name, sizeof(name), "%s-%u", prefix,
			 ka_kmalloc_sizes[i]);
		args.size = ka_kmalloc_sizes[i];
		/* Power-of-two sizes are naturally aligned, as in Linux. */
		args.align = is_power_of_2(args.size) ?
			     min_t(unsigned int, args.size, PAGE_SIZE) : 0;
		cache = ka_cache_create(&args);
		if (IS_ERR(cache)) {
			ka_kmalloc_set_destroy(set);
			return PTR_ERR(cache);
		}
		set->caches[i] = cache;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(ka_kmalloc_set_init);

/**
 * ka_kmalloc_set_destroy() - destroy the classes of a kmalloc set.
 * @set: the set; classes not created yet are skipped.
 *
 * Largest class first: off-slab classes keep their slab descriptors in
 * smaller classes of the module's set.  A class that still has objects
 * refuses (and reports them); it is then left in place.
 *
 * Context: Process context.
 * Return: 0, or -EBUSY if a class still had objects.
 */
int ka_kmalloc_set_destroy(struct ka_kmalloc_set *set)
{
	int i, ret = 0;

	for (i = KA_KMALLOC_NR - 1; i >= 0; i--) {
		if (!set->caches[i])
			continue;
		if (karena_cache_destroy(set->caches[i]))
			ret = -EBUSY;
		else
			set->caches[i] = NULL;
	}
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(ka_kmalloc_set_destroy);

/* === Allocation === */

static void *ka_kmalloc_large(struct ka_kmalloc_set *set, size_t size,
			      gfp_t gfp)
{
	unsigned int order = get_order(size);
	struct page *page;

	if (order > ka_arena_max_order(set->arena))
		return NULL;
	page = ka_alloc_pages(set->arena,
			      (gfp & __GFP_ZERO) ? KARENA_ALLOC_ZERO : 0, order);
	if (!page)
		return NULL;
	ka_block_set_owner(set->arena, page, KA_PAGE_BLOCK, set);
	atomic_long_inc(&set->large_allocs);
	atomic_long_add(1L << order, &set->large_pages);
	return page_address(page);
}

/**
 * ka_kmalloc() - allocate @size bytes from a kmalloc set.
 * @set: the set.
 * @size: bytes; 0 gives ZERO_SIZE_PTR.
 * @gfp: __GFP_ZERO to zero; other bits ignored.
 * @caller: recorded by owner tracking.
 *
 * Context: Any context the buddy layer allows.
 * Return: the memory, ZERO_SIZE_PTR, or NULL.
 */
void *ka_kmalloc(struct ka_kmalloc_set *set, size_t size, gfp_t gfp,
		 unsigned long caller)
{
	if (!size)
		return ZERO_SIZE_PTR;
	if (size > KA_KMALLOC_MAX_CACHE)
		return ka_kmalloc_large(set, size, gfp);
	return ka_cache_alloc_inline(set->caches[ka_kmalloc_index(size)], gfp,
				     caller);
}
EXPORT_SYMBOL_IF_KUNIT(ka_kmalloc);

/**
 * ka_kmalloc_meta() - allocate slab-layer metadata from the module's set.
 * @size: bytes.
 * @gfp: __GFP_ZERO to zero.
 * @caller: recorded by owner tracking.
 *
 * For off-slab slab descriptors: they come from a kmalloc class only if
 * that class is itself on-slab, else from whole pages of the buddy layer.
 * A descriptor thus never needs a slab that needs a descriptor, whatever
 * flags the classes have (with kmalloc_flags=0x8, kmalloc-512 is off-slab
 * and its own descriptors would fall in kmalloc-512).  Free with ka_kfree()
 * on ka_kmalloc_global.
 *
 * Context: Any context the buddy layer allows.
 * Return: the memory, or NULL.
 */
void *ka_kmalloc_meta(size_t size, gfp_t gfp, unsigned long caller)
{
	struct ka_kmalloc_set *set = &ka_kmalloc_global;
	struct ka_cache *cache = NULL;

	if (size && size <= KA_KMALLOC_MAX_CACHE)
		cache = set->caches[ka_kmalloc_index(size)];
	if (cache && !cache->offslab)
		return ka_cache_alloc_caller(cache, gfp, caller);
	return ka_kmalloc_large(set, size, gfp);
}

/*
 * What @p is in @set: its class (and slab), or a large block (*order set,
 * NULL returned).  Reports and returns ERR_PTR(-EINVAL) for anything else.
 */
static struct ka_cache *ka_kmalloc_lookup(struct ka_kmalloc_set *set,
					  const void *p, unsigned int *order)
{
	struct ka_page_desc *d = ka_virt_desc(set->arena, p);
	unsigned int state = d ? READ_ONCE(d->state) : KA_PAGE_FREE;
	struct ka_slab *slab;

	if (state == KA_PAGE_SLAB) {
		slab = READ_ONCE(d->owner);
		if (slab && ka_kmalloc_owns(set, slab->cache) &&
		    ka_slab_obj_ok(slab->cache, slab, p))
			return slab->cache;
	} else if (state == KA_PAGE_BLOCK && READ_ONCE(d->owner) == set &&
		   (READ_ONCE(d->flags) & KA_DESC_HEAD) && PAGE_ALIGNED(p)) {
		*order = READ_ONCE(d->order);
		return NULL;
	}
	atomic_long_inc(&set->bad_frees);
	ka_slab_kunit_error();
	pr_err("kfree: Invalid object pointer %p: not an allocation of %s (%s)\n",
	       p, set->caches[0] ? set->caches[0]->name : "kmalloc",
	       !d ? "outside the arena" :
	       state == KA_PAGE_SLAB ? "not an object start of a kmalloc class" :
	       state == KA_PAGE_BLOCK ? "not the start of a large kmalloc block" :
	       "the page is free or not kmalloc memory");
	return ERR_PTR(-EINVAL);
}

/**
 * ka_kfree() - free memory from ka_kmalloc().
 * @set: the set it came from.
 * @p: the memory; NULL and ZERO_SIZE_PTR are ignored.
 * @caller: recorded by owner tracking.
 *
 * A pointer that is not a live allocation of @set is reported, counted
 * (kmalloc bad_frees) and ignored.
 *
 * Context: Any context the buddy layer allows.
 */
void ka_kfree(struct ka_kmalloc_set *set, const void *p, unsigned long caller)
{
	unsigned int order = 0;
	struct ka_cache *cache;

	if (ZERO_OR_NULL_PTR(p))
		return;
	cache = ka_kmalloc_lookup(set, p, &order);
	if (IS_ERR(cache))
		return;
	if (cache) {
		ka_cache_free_inline(cache, (void *)p, caller);
		return;
	}
	if (!ka_free_pages(set->arena, virt_to_page(p), order)) {
		atomic_long_inc(&set->large_frees);
		atomic_long_sub(1L << order, &set->large_pages);
	}
}
EXPORT_SYMBOL_IF_KUNIT(ka_kfree);

/**
 * ka_ksize() - the usable size of an allocation.
 * @set: the set it came from.
 * @p: the allocation.
 *
 * Context: Any context.
 * Return: the class size or the large block's size; 0 for NULL,
 * ZERO_SIZE_PTR or a pointer that is not an allocation (reported).
 */
size_t ka_ksize(struct ka_kmalloc_set *set, const void *p)
{
	unsigned int order = 0;
	struct ka_cache *cache;

	if (ZERO_OR_NULL_PTR(p))
		return 0;
	cache = ka_kmalloc_lookup(set, p, &order);
	if (IS_ERR(cache))
		return 0;
	return cache ? cache->object_size : PAGE_SIZE << order;
}
EXPORT_SYMBOL_IF_KUNIT(ka_ksize);

/**
 * ka_kmalloc_roundup() - the usable size ka_kmalloc(@size) would give.
 * @set: the set.
 * @size: a request size.
 *
 * As kmalloc_size_roundup(): callers may use the whole rounded size.
 *
 * Context: Any context.
 * Return: the class size, the large block size, 0 for 0, or @size itself
 * if no allocation of that size is possible.
 */
size_t ka_kmalloc_roundup(struct ka_kmalloc_set *set, size_t size)
{
	if (!size)
		return 0;
	if (size <= KA_KMALLOC_MAX_CACHE)
		return ka_kmalloc_sizes[ka_kmalloc_index(size)];
	if (get_order(size) > ka_arena_max_order(set->arena))
		return size;
	return PAGE_SIZE << get_order(size);
}
EXPORT_SYMBOL_IF_KUNIT(ka_kmalloc_roundup);

/**
 * ka_krealloc() - resize an allocation, keeping its contents.
 * @set: the set.
 * @p: the allocation, or NULL/ZERO_SIZE_PTR (then as ka_kmalloc()).
 * @new_size: new size; 0 frees @p and returns ZERO_SIZE_PTR.
 * @gfp: __GFP_ZERO zeroes the new memory beyond the old usable size.
 * @caller: recorded by owner tracking.
 *
 * The allocation stays where it is if its usable size holds @new_size and
 * is not more than twice what @new_size needs; otherwise a new one is
 * made, min(old usable size, @new_size) bytes are copied, and the old one
 * is freed.
 *
 * Context: Any context the buddy layer allows.
 * Return: the allocation, or NULL (then @p is untouched).
 */
void *ka_krealloc(struct ka_kmalloc_set *set, const void *p,
		  size_t new_size, gfp_t gfp, unsigned long caller)
{
	size_t old, want;
	void *ret;

	if (ZERO_OR_NULL_PTR(p))
		return ka_kmalloc(set, new_size, gfp, caller);
	if (!new_size) {
		ka_kfree(set, p, caller);
		return ZERO_SIZE_PTR;
	}
	old = ka_ksize(set, p);
	if (!old)
		return NULL;
	want = ka_kmalloc_roundup(set, new_size);
	if (new_size <= old && old <= 2 * want)
		return (void *)p;

	ret = ka_kmalloc(set, new_size, gfp & ~__GFP_ZERO, caller);
	if (!ret)
		return NULL;
	memcpy(ret, p, min(old, new_size));
	if ((gfp & __GFP_ZERO) && new_size > old)
		memset(ret + old, 0, ka_ksize(set, ret) - old);
	ka_kfree(set, p, caller);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(ka_krealloc);

/* === The module's set and the exported API === */

/**
 * ka_kmalloc_init() - create the module's kmalloc classes.
 *
 * Context: Process context, module load.
 * Return: 0, or a negative errno (-EINVAL for a bad kmalloc_flags).
 */
int ka_kmalloc_init(void)
{
	unsigned int i;
	int ret;

	if (ka_kmalloc_flags & ~KA_CACHE_FLAGS_MASK) {
		pr_err("kmalloc_flags=%#x: only KA_CACHE_* flags (%#x) are allowed\n",
		       ka_kmalloc_flags, KA_CACHE_FLAGS_MASK);
		return -EINVAL;
	}
	/*
	 * No KA_CACHE_FREELIST_RANDOM: the classes would need themselves
	 * for their random sequences while being created.
	 */
	ret = ka_kmalloc_set_init(&ka_kmalloc_global, ka_global_arena, "kmalloc",
				  (KA_CACHE_FREELIST_HARDENED |
				   ka_kmalloc_flags) &
				  ~KA_CACHE_FREELIST_RANDOM);
	if (ret)
		return ret;
	for (i = 0; i < KA_KMALLOC_NR; i++)
		ka_kmalloc_global.caches[i]->internal = true;
	return 0;
}

/**
 * ka_kmalloc_exit() - destroy the module's kmalloc classes.
 *
 * Classes with objects still allocated are reported and destroyed anyway.
 *
 * Context: Process context, module unload.
 */
void ka_kmalloc_exit(void)
{
	int i;

	for (i = KA_KMALLOC_NR - 1; i >= 0; i--) {
		if (!ka_kmalloc_global.caches[i])
			continue;
		ka_cache_destroy_force(ka_kmalloc_global.caches[i]);
		ka_kmalloc_global.caches[i] = NULL;
	}
	if (atomic_long_read(&ka_kmalloc_global.large_pages))
		pr_err("kmalloc: %ld pages of large allocations still allocated at unload\n",
		       atomic_long_read(&ka_kmalloc_global.large_pages));
}

/**
 * karena_kmalloc() - allocate memory from karena's arena.
 * @size: bytes; up to 8192 from a size class, above that whole pages from
 *	the buddy layer (up to the arena's largest block).
 * @gfp: __GFP_ZERO to zero the memory; other bits are ignored.
 *
 * Context: Any context the buddy layer allows (never sleeps).
 * Return: the memory, ZERO_SIZE_PTR for @size 0, or NULL.
 */
void *karena_kmalloc(size_t size, gfp_t gfp)
{
	return ka_kmalloc(&ka_kmalloc_global, size, gfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(karena_kmalloc);

/**
 * karena_kfree() - free memory from karena_kmalloc() or karena_krealloc().
 * @p: the memory; NULL and ZERO_SIZE_PTR are ignored.
 *
 * A pointer that karena did not allocate this way is reported and ignored.
 *
 * Context: Any context the buddy layer allows.
 */
void karena_kfree(const void *p)
{
	ka_kfree(&ka_kmalloc_global, p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(karena_kfree);

/**
 * karena_krealloc() - resize karena_kmalloc() memory, keeping its contents.
 * @p: the memory, or NULL.
 * @new_size: the new size; 0 frees @p.
 * @gfp: as for karena_kmalloc().
 *
 * Context: Any context the buddy layer allows.
 * Return: the memory (possibly moved), ZERO_SIZE_PTR, or NULL if it could
 * not grow (then @p is still valid).
 */
void *karena_krealloc(const void *p, size_t new_size, gfp_t gfp)
{
	return ka_krealloc(&ka_kmalloc_global, p, new_size, gfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(karena_krealloc);

/**
 * karena_ksize() - the usable size of karena_kmalloc() memory.
 * @p: the memory.
 *
 * Context: Any context.
 * Return: bytes usable at @p (at least what was asked), or 0.
 */
size_t karena_ksize(const void *p)
{
	return ka_ksize(&ka_kmalloc_global, p);
}
EXPORT_SYMBOL_GPL(karena_ksize);

/**
 * karena_kmalloc_size_roundup() - the usable size karena_kmalloc() gives.
 * @size: a request size.
 *
 * Context: Any context.
 * Return: the size that karena_kmalloc(@size) really provides.
 */
size_t karena_kmalloc_size_roundup(size_t size)
{
	return ka_kmalloc_roundup(&ka_kmalloc_global, size);
}
EXPORT_SYMBOL_GPL(karena_kmalloc_size_roundup);
