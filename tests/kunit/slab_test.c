// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite karena_slab: the slab layer on small private arenas.
 *
 * Every case gets its own arena (ka_arena_create()) and makes its caches
 * with kt_cache(), so it may exhaust or corrupt them.  .exit validates
 * each cache with ka_cache_validate() (the checker behind debugfs'
 * validate file), destroys it (which fails if an object is still
 * allocated), and asserts that every arena page is free again.
 *
 * Error reports are counted through the KUnit resource
 * "karena_slab_errors" (the lib/slub_kunit.c technique): the slab layer
 * increments it on every report made from the test's thread.  A case that
 * provokes reports says how many it expects in kt->expected; .exit
 * compares, so an unexpected report fails the case.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kallsyms.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "buddy.h"
#include "slab.h"

/* === Fixture === */

#define KT_MAX_CACHES	8

struct kt_fixture {
	struct ka_arena *arena;
	struct ka_cache *caches[KT_MAX_CACHES];
	struct ka_kmalloc_set *set;
	struct ka_arena *extra;
	int errors;
	int expected;
	struct kunit_resource resource;
};

static int slab_test_init(struct kunit *test)
{
	struct kt_fixture *kt = kunit_kzalloc(test, sizeof(*kt), GFP_KERNEL);

	if (!kt)
		return -ENOMEM;
	/* 8 chunks of 64 pages: 2 MiB, slabs up to order 3 fit. */
	kt->arena = ka_arena_create("kt-slab", 8, 6);
	if (!kt->arena)
		return -ENOMEM;
	kunit_add_named_resource(test, NULL, NULL, &kt->resource,
				 KA_SLAB_KUNIT_ERRORS, &kt->errors);
	test->priv = kt;
	return 0;
}

static void slab_test_exit(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	int i;

	ka_fail_slab_set(0);
	if (kt->set)
		KUNIT_EXPECT_EQ(test, ka_kmalloc_set_destroy(kt->set), 0);
	for (i = KT_MAX_CACHES - 1; i >= 0; i--) {
		if (!kt->caches[i])
			continue;
		KUNIT_EXPECT_EQ(test, ka_cache_validate(kt->caches[i]), 0);
		KUNIT_EXPECT_EQ(test, karena_cache_destroy(kt->caches[i]), 0);
	}
	KUNIT_EXPECT_EQ(test, kt->errors, kt->expected);
	/* Every slab went back: the buddy layer's counters agree. */
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena),
			ka_arena_nr_pages(kt->arena));
	KUNIT_EXPECT_EQ(test, ka_arena_validate(kt->arena), 0);
	ka_arena_destroy(kt->arena);
	if (kt->extra) {
		KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->extra),
				ka_arena_nr_pages(kt->extra));
		ka_arena_destroy(kt->extra);
	}
}

/* A cache on the case's arena, destroyed by .exit. */
static struct ka_cache *kt_cache_ops(struct kunit *test, const char *name,
				     unsigned int size, unsigned int align,
				     unsigned int flags, void (*ctor)(void *),
				     const struct ka_cache_ops *ops,
				     void *owner)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache_args args = {
		.arena = kt->arena,
		.name = name,
		.size = size,
		.align = align,
		.flags = flags,
		.ctor = ctor,
		.ops = ops,
		.owner = owner,
	};
	struct ka_cache *cache;
	int i;

	cache = ka_cache_create(&args);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(cache), "create %s: %ld", name,
			       PTR_ERR(cache));
	for (i = 0; i < KT_MAX_CACHES && kt->caches[i]; i++)
		;
	KUNIT_ASSERT_LT(test, i, KT_MAX_CACHES);
	kt->caches[i] = cache;
	return cache;
}

static struct ka_cache *kt_cache(struct kunit *test, const char *name,
				 unsigned int size, unsigned int flags)
{
	return kt_cache_ops(test, name, size, 0, flags, NULL, NULL, NULL);
}

/* Destroy a cache of the fixture early (and forget it). */
static void kt_destroy(struct kunit *test, struct ka_cache *cache)
{
	struct kt_fixture *kt = test->priv;
	int i;

	KUNIT_EXPECT_EQ(test, karena_cache_destroy(cache), 0);
	for (i = 0; i < KT_MAX_CACHES; i++)
		if (kt->caches[i] == cache)
			kt->caches[i] = NULL;
}

static struct ka_slab *kt_slab(struct ka_cache *cache, const void *obj)
{
	return ka_virt_desc(cache->arena, obj)->owner;
}

static unsigned long kt_stat(struct ka_cache *cache, enum ka_stat_item item)
{
	return ka_cache_stat(cache, item);
}

static struct ka_cache_info kt_info(struct ka_cache *cache)
{
	struct ka_cache_info info;

	ka_cache_get_info(cache, &info);
	return info;
}

static void **kt_array(struct kunit *test, unsigned int n)
{
	void **objs = kunit_kcalloc(test, n, sizeof(*objs), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, objs);
	return objs;
}

/* Allocate @n objects into @objs; all must succeed. */
static void kt_alloc_n(struct kunit *test, struct ka_cache *cache,
		       void **objs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		objs[i] = karena_cache_alloc(cache, 0);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
}

static void kt_free_n(struct ka_cache *cache, void **objs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		karena_cache_free(cache, objs[i]);
}

/* === Life cycle === */

static void cache_lifecycle(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	unsigned long before = ka_arena_nr_free(kt->arena);
	void **objs = kt_array(test, 40);

	cache = kt_cache(test, "kt-life", 100, 0);
	KUNIT_EXPECT_STREQ(test, cache->name, "kt-life");
	KUNIT_EXPECT_EQ(test, cache->object_size, 100U);
	KUNIT_EXPECT_PTR_EQ(test, cache->arena, kt->arena);
	KUNIT_EXPECT_PTR_EQ(test, ka_cache_lookup("kt-life"), cache);
	KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(cache->dir));

	kt_alloc_n(test, cache, objs, 40);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 40UL);
	KUNIT_EXPECT_LT(test, ka_arena_nr_free(kt->arena), before);
	kt_free_n(cache, objs, 40);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 0UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	kt_destroy(test, cache);
	KUNIT_EXPECT_NULL(test, ka_cache_lookup("kt-life"));
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before);
}

struct kt_bad_args {
	const char *what;
	const char *name;
	unsigned int size, align, flags;
};

static const struct kt_bad_args kt_bad_args[] = {
	{ "NULL name", NULL, 64, 0, 0 },
	{ "empty name", "", 64, 0, 0 },
	{ "long name", "kt-0123456789012345678901234567890", 64, 0, 0 },
	{ "space in name", "kt bad", 64, 0, 0 },
	{ "slash in name", "kt/bad", 64, 0, 0 },
	{ "size 0", "kt-bad", 0, 0, 0 },
	{ "size too big", "kt-bad", KA_CACHE_MAX_SIZE + 1, 0, 0 },
	{ "align 3", "kt-bad", 64, 3, 0 },
	{ "align above a page", "kt-bad", 64, 2 * PAGE_SIZE, 0 },
	{ "unknown flag", "kt-bad", 64, 0, 0x80000000U },
	{ "red zones make it too big", "kt-bad", KA_CACHE_MAX_SIZE, 0,
	  KA_CACHE_RED_ZONE },
};

static void cache_create_rejects_bad_arguments(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kt_bad_args); i++) {
		const struct kt_bad_args *b = &kt_bad_args[i];
		struct ka_cache_args args = {
			.arena = kt->arena, .name = b->name, .size = b->size,
			.align = b->align, .flags = b->flags,
		};

		cache = ka_cache_create(&args);
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR(cache), -EINVAL, "%s",
				    b->what);
		if (!IS_ERR(cache))
			karena_cache_destroy(cache);
	}
	/* Private flags are refused through the public API. */
	cache = karena_cache_create("kt-user", 64, 0, KA_CACHE_USER, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(cache), -EINVAL);
	/* A name in use is refused, even in another arena. */
	kt_cache(test, "kt-dup", 64, 0);
	cache = karena_cache_create("kt-dup", 32, 0, 0, NULL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(cache), -EEXIST);
	KUNIT_EXPECT_EQ(test, karena_cache_destroy(NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, karena_cache_destroy(ERR_PTR(-EINVAL)), -EINVAL);
}

static void cache_destroy_refuses_live_objects(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	void *objs[3], *more;

	cache = kt_cache(test, "kt-busy", 64, KA_CACHE_STORE_USER);
	kt_alloc_n(test, cache, objs, 3);
	KUNIT_EXPECT_EQ(test, karena_cache_destroy(cache), -EBUSY);
	/* Refused means untouched: the cache is whole and usable. */
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 3UL);
	more = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_NOT_NULL(test, more);
	karena_cache_free(cache, more);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	kt_free_n(cache, objs, 3);
	kt_destroy(test, cache);
	KUNIT_EXPECT_EQ(test, kt->errors, 0);
}

/* === Layout: every flag combination === */

#define KT_ALL_FLAGS	(KA_CACHE_FLAGS_MASK | KA_CACHE_USER)
#define KT_NR_COMBOS	1024

static unsigned int kt_combos[KT_NR_COMBOS];

/* Each combination of the nine public flags and KA_CACHE_USER. */
static const void *kt_combo_gen(KARENA_GEN_PARAMS_ARGS)
{
	const unsigned int *p = prev;
	unsigned int i;

	if (!p) {
		for (i = 0; i < KT_NR_COMBOS; i++) {
			unsigned int bits = i & 0x1ff;

			kt_combos[i] = bits | ((i & 0x200) ? KA_CACHE_USER : 0);
		}
		p = kt_combos;
	} else if (++p == kt_combos + KT_NR_COMBOS) {
		return NULL;
	}
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "flags %#x", *p);
	return p;
}

struct kt_geom {
	unsigned int size, align;
};

static const struct kt_geom kt_geoms[] = {
	{ 1, 0 }, { 24, 0 }, { 64, 64 }, { 100, 32 }, { 200, 128 },
	{ 700, 256 }, { 3000, 0 }, { 5000, PAGE_SIZE },
};

/* The alignment the flags promise (see ka_cache_layout()). */
static unsigned int kt_expected_align(unsigned int size, unsigned int align,
				      unsigned int flags)
{
	unsigned int a = max_t(unsigned int, align, sizeof(void *));

	if (flags & KA_CACHE_HWCACHE_ALIGN) {
		unsigned int line = cache_line_size();

		while (size <= line / 2)
			line /= 2;
		a = max(a, line);
	}
	return a;
}

static void kt_check_layout(struct kunit *test, unsigned int flags,
			    const struct kt_geom *g, unsigned int nr)
{
	unsigned int want = kt_expected_align(g->size, g->align, flags), i;
	void **objs = kt_array(test, 64);
	struct ka_cache *cache;
	char name[32];

	snprintf(name, sizeof(name), "kt-layout-%x-%u", flags, g->size);
	cache = kt_cache_ops(test, name, g->size, g->align, flags, NULL, NULL,
			     NULL);
	KUNIT_EXPECT_EQ(test, cache->align, want);
	if (flags & (KA_CACHE_USER | KA_CACHE_OFFSLAB))
		KUNIT_EXPECT_TRUE(test, cache->offslab);
	if (cache->size > KA_ONSLAB_MAX_SIZE)
		KUNIT_EXPECT_TRUE(test, cache->offslab);
	KUNIT_EXPECT_EQ(test, cache->size % want, 0U);
	if (flags & KA_CACHE_RED_ZONE)
		KUNIT_EXPECT_GE(test, cache->inuse,
				cache->red_left + g->size + 1);
	nr = min(nr, 2 * cache->objs_per_slab + 1);
	for (i = 0; i < nr; i++) {
		u8 *obj = karena_cache_alloc(cache, 0);
		struct ka_slab *slab;
		void *end;

		KUNIT_ASSERT_NOT_NULL(test, obj);
		objs[i] = obj;
		slab = kt_slab(cache, obj);
		end = cache->offslab ? slab->addr + (PAGE_SIZE << cache->order) :
				       (void *)slab;
		KUNIT_EXPECT_EQ(test, (unsigned long)obj % want, 0UL);
		KUNIT_EXPECT_TRUE(test, (void *)obj >= slab->addr);
		/* The whole slot, not only the object, is inside the slab. */
		KUNIT_EXPECT_TRUE(test, (void *)obj - cache->red_left +
					cache->size <= end);
		/* Writing the whole object must never touch metadata. */
		memset(obj, 0x3c, g->size);
	}
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	for (i = 0; i < nr; i++) {
		if (flags & KA_CACHE_USER)
			KUNIT_EXPECT_EQ(test,
					ka_cache_free_checked(cache, objs[i]),
					0);
		else
			karena_cache_free(cache, objs[i]);
	}
	kt_destroy(test, cache);
}

static void layout_aligned_for_every_flag_combination(struct kunit *test)
{
	unsigned int flags = *(const unsigned int *)test->param_value;
	unsigned int idx = (flags & 0x1ff) | ((flags & KA_CACHE_USER) >> 7);

	/* Each geometry meets every flag combination of the others' bits. */
	kt_check_layout(test, flags, &kt_geoms[idx % ARRAY_SIZE(kt_geoms)],
			40);
}

static void layout_waste_bounded(struct kunit *test)
{
	unsigned int sizes[] = { 8, 24, 96, 192, 256, 500, 1000, 2000, 4000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct ka_cache *cache;
		unsigned long bytes, waste;
		char name[32];

		snprintf(name, sizeof(name), "kt-waste-%u", sizes[i]);
		cache = kt_cache(test, name, sizes[i], 0);
		bytes = PAGE_SIZE << cache->order;
		waste = bytes - (unsigned long)cache->objs_per_slab *
				cache->size;
		KUNIT_EXPECT_LE_MSG(test, waste * 8, bytes, "size %u order %u",
				    sizes[i], cache->order);
		KUNIT_EXPECT_GE(test, cache->objs_per_slab, 1U);
		kt_destroy(test, cache);
	}
}

static void slab_colour_shifts_first_object(struct kunit *test)
{
	struct ka_cache *cache;
	void **objs = kt_array(test, 200);
	unsigned int n, i, nslabs = 0;
	unsigned long bases[4];

	/* 20 slots of 192 bytes leave 176: colours 0, 64 and 128. */
	cache = kt_cache(test, "kt-colour", 192, KA_CACHE_NO_MAGAZINE);
	KUNIT_ASSERT_GE(test, cache->colours, 3U);
	n = min(3 * cache->objs_per_slab, 200U);
	kt_alloc_n(test, cache, objs, n);
	for (i = 0; i < n && nslabs < 3; i += cache->objs_per_slab) {
		struct ka_slab *slab = kt_slab(cache, objs[i]);

		bases[nslabs++] = slab->base - slab->addr;
	}
	KUNIT_EXPECT_EQ(test, nslabs, 3U);
	KUNIT_EXPECT_EQ(test, bases[0], 0UL);
	KUNIT_EXPECT_EQ(test, bases[1], (unsigned long)cache->colour_align);
	KUNIT_EXPECT_EQ(test, bases[2], 2UL * cache->colour_align);
	kt_free_n(cache, objs, n);
}

/* === Constructor === */

static atomic_t kt_ctor_calls;

#define KT_CTOR_MAGIC	0x5eed1234U

static void kt_ctor(void *obj)
{
	atomic_inc(&kt_ctor_calls);
	*(u32 *)obj = KT_CTOR_MAGIC;
}

static const unsigned int kt_ctor_flags[] = {
	0, KA_CACHE_POISON | KA_CACHE_RED_ZONE, KA_CACHE_USER,
};

static void kt_flags_desc(const unsigned int *flags, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "flags %#x", *flags);
}

KUNIT_ARRAY_PARAM(kt_ctor_flags, kt_ctor_flags, kt_flags_desc);

static void ctor_runs_once_per_object_lifetime(struct kunit *test)
{
	unsigned int flags = *(const unsigned int *)test->param_value;
	void **objs = kt_array(test, 200);
	struct ka_cache *cache;
	unsigned int n, i;

	atomic_set(&kt_ctor_calls, 0);
	cache = kt_cache_ops(test, "kt-ctor", 64, 0, flags, kt_ctor, NULL,
			     NULL);
	n = min(cache->objs_per_slab + 1, 200U);
	kt_alloc_n(test, cache, objs, n);
	/* Once for every object of every slab made, at slab creation. */
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_ctor_calls),
			(int)(kt_stat(cache, KA_ALLOC_SLAB) *
			      cache->objs_per_slab));
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, *(u32 *)objs[i], KT_CTOR_MAGIC);

	/* Free and reuse: no new calls, the constructed state survives. */
	atomic_set(&kt_ctor_calls, 0);
	kt_free_n(cache, objs, n);
	kt_alloc_n(test, cache, objs, n);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_ctor_calls), 0);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, *(u32 *)objs[i], KT_CTOR_MAGIC);
	kt_free_n(cache, objs, n);

	/* A released slab's objects are constructed again in a new one. */
	KUNIT_EXPECT_GT(test, karena_cache_shrink(cache), 0);
	objs[0] = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	KUNIT_EXPECT_EQ(test, atomic_read(&kt_ctor_calls),
			(int)cache->objs_per_slab);
	karena_cache_free(cache, objs[0]);
}

/* === Magazines and depot === */

static void magazine_boundary_stays_on_cpu(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-mag", 64, 0);
	unsigned int m = cache->mag_size, i, top;
	void **objs = kt_array(test, 4 * KA_MAG_MAX_ROUNDS + 2);
	unsigned long fast, miss, depot;

	KUNIT_ASSERT_EQ(test, m, (unsigned int)KA_MAG_MAX_ROUNDS);
	migrate_disable();
	/* First allocation: nothing cached, one magazine refilled. */
	objs[0] = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_SLOWPATH), 1UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_REFILL), 1UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_DEPOT_GET_FULL), 1UL);
	for (i = 1; i < m; i++)
		objs[i] = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_FASTPATH),
			(unsigned long)m - 1);
	/* m + 1: loaded empty, previous absent: a second refill. */
	objs[m] = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_REFILL), 2UL);
	top = m + 1;

	/* Free, free, alloc, alloc across the boundary: never the depot. */
	fast = kt_stat(cache, KA_ALLOC_FASTPATH) +
	       kt_stat(cache, KA_FREE_FASTPATH);
	miss = kt_stat(cache, KA_MAGAZINE_MISS);
	depot = kt_stat(cache, KA_DEPOT_GET_FULL) +
		kt_stat(cache, KA_DEPOT_PUT_FULL) +
		kt_stat(cache, KA_DEPOT_GET_EMPTY) +
		kt_stat(cache, KA_DEPOT_PUT_EMPTY);
	for (i = 0; i < 1000; i++) {
		karena_cache_free(cache, objs[--top]);
		karena_cache_free(cache, objs[--top]);
		objs[top++] = karena_cache_alloc(cache, 0);
		objs[top++] = karena_cache_alloc(cache, 0);
	}
	migrate_enable();
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_FASTPATH) +
			kt_stat(cache, KA_FREE_FASTPATH), fast + 4000);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_MAGAZINE_MISS), miss);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_DEPOT_GET_FULL) +
			kt_stat(cache, KA_DEPOT_PUT_FULL) +
			kt_stat(cache, KA_DEPOT_GET_EMPTY) +
			kt_stat(cache, KA_DEPOT_PUT_EMPTY), depot);
	for (i = 0; i < top; i++)
		KUNIT_EXPECT_NOT_NULL(test, objs[i]);
	kt_free_n(cache, objs, top);
}

static void magazine_depot_trades_full_and_empty(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-depot", 64, 0);
	unsigned int n = 4 * cache->mag_size + 1;
	void **objs = kt_array(test, n);
	unsigned long slabs, refills, get_full;
	struct ka_cache_info info;

	migrate_disable();
	kt_alloc_n(test, cache, objs, n);
	kt_free_n(cache, objs, n);
	info = kt_info(cache);
	/* Two magazines stay on the CPU, the rest went to the depot. */
	KUNIT_EXPECT_GE(test, info.cpu_cached, (unsigned long)cache->mag_size);
	KUNIT_EXPECT_GE(test, info.depot_full, 1UL);
	KUNIT_EXPECT_GE(test, kt_stat(cache, KA_DEPOT_PUT_FULL), 1UL);
	KUNIT_EXPECT_EQ(test, info.objects, 0UL);

	slabs = kt_stat(cache, KA_ALLOC_SLAB);
	refills = kt_stat(cache, KA_ALLOC_REFILL);
	get_full = kt_stat(cache, KA_DEPOT_GET_FULL);
	kt_alloc_n(test, cache, objs, n);
	migrate_enable();
	/* All served by magazines: from the CPU, then full ones from the depot. */
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_SLAB), slabs);
	KUNIT_EXPECT_LE(test, kt_stat(cache, KA_ALLOC_REFILL), refills + 1);
	KUNIT_EXPECT_GT(test, kt_stat(cache, KA_DEPOT_GET_FULL), get_full);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, (unsigned long)n);
	kt_free_n(cache, objs, n);
}

static void magazine_depot_limit_flushes_to_slabs(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-depot-max", 64, 0);
	unsigned int n = (cache->depot_max + 4) * cache->mag_size;
	void **objs = kt_array(test, n);
	struct ka_cache_info info;

	migrate_disable();
	kt_alloc_n(test, cache, objs, n);
	kt_free_n(cache, objs, n);
	migrate_enable();
	info = kt_info(cache);
	KUNIT_EXPECT_LE(test, info.depot_full, (unsigned long)cache->depot_max);
	KUNIT_EXPECT_GT(test, kt_stat(cache, KA_MAGAZINE_FLUSH), 0UL);
	KUNIT_EXPECT_EQ(test, info.objects, 0UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
}

static void shrink_returns_slabs_to_buddy(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	unsigned long before = ka_arena_nr_free(kt->arena);
	struct ka_cache *plain, *mag;
	void **objs = kt_array(test, 200);
	unsigned int n;

	plain = kt_cache(test, "kt-shrink", 256, KA_CACHE_NO_MAGAZINE);
	n = 5 * plain->objs_per_slab;
	kt_alloc_n(test, plain, objs, n);
	KUNIT_EXPECT_EQ(test, kt_info(plain).slabs[KA_SLAB_FULL], 5UL);
	kt_free_n(plain, objs, n);
	/* Frees keep KA_CACHE_FREE_KEEP empty slabs, release the others. */
	KUNIT_EXPECT_EQ(test, kt_info(plain).slabs[KA_SLAB_FREE],
			(unsigned long)KA_CACHE_FREE_KEEP);
	KUNIT_EXPECT_EQ(test, kt_stat(plain, KA_FREE_SLAB),
			5UL - KA_CACHE_FREE_KEEP);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena),
			before - (KA_CACHE_FREE_KEEP << plain->order));
	KUNIT_EXPECT_EQ(test, karena_cache_shrink(plain), KA_CACHE_FREE_KEEP);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before);

	/* With magazines, shrink first drains every CPU and the depot. */
	mag = kt_cache(test, "kt-shrink-mag", 64, 0);
	n = 3 * mag->mag_size;
	kt_alloc_n(test, mag, objs, n);
	kt_free_n(mag, objs, n);
	KUNIT_EXPECT_GT(test, kt_info(mag).cached, 0UL);
	KUNIT_EXPECT_LT(test, ka_arena_nr_free(kt->arena), before);
	KUNIT_EXPECT_GT(test, karena_cache_shrink(mag), 0);
	KUNIT_EXPECT_EQ(test, kt_info(mag).cached, 0UL);
	KUNIT_EXPECT_EQ(test, kt_info(mag).depot_empty, 0UL);
	KUNIT_EXPECT_EQ(test, kt_stat(mag, KA_MAGAZINE_ALLOC),
			kt_stat(mag, KA_MAGAZINE_FREE));
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before);
}

struct kt_cpu_work {
	struct work_struct work;
	struct ka_cache *cache;
	bool ok;
};

/* On the target CPU: leave objects in its magazines. */
static void kt_fill_cpu(struct work_struct *work)
{
	struct kt_cpu_work *w = container_of(work, struct kt_cpu_work, work);
	void *objs[8];
	unsigned int i;

	w->ok = true;
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = karena_cache_alloc(w->cache, 0);
		w->ok &= !!objs[i];
	}
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		karena_cache_free(w->cache, objs[i]);
}

static void magazine_remote_cpu_drained_by_shrink(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-remote", 64, 0);
	struct kt_cpu_work w = { .cache = cache };
	struct ka_cache_cpu *cc;
	unsigned int cpu;

	cpus_read_lock();
	cpu = cpumask_last(cpu_online_mask);
	cpus_read_unlock();
	cc = per_cpu_ptr(cache->cpu, cpu);

	INIT_WORK_ONSTACK(&w.work, kt_fill_cpu);
	schedule_work_on(cpu, &w.work);
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_ASSERT_TRUE(test, w.ok);
	KUNIT_EXPECT_GT(test, kt_info(cache).cpu_cached, 0UL);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 0UL);

	/* The owner hands its magazines over; this thread flushes them. */
	KUNIT_EXPECT_GT(test, karena_cache_shrink(cache), 0);
	KUNIT_EXPECT_NULL(test, READ_ONCE(cc->loaded));
	KUNIT_EXPECT_NULL(test, READ_ONCE(cc->previous));
	KUNIT_EXPECT_EQ(test, kt_info(cache).cached, 0UL);
	KUNIT_EXPECT_GE(test, kt_stat(cache, KA_CPU_DRAIN), 1UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_MAGAZINE_ALLOC),
			kt_stat(cache, KA_MAGAZINE_FREE));
	KUNIT_EXPECT_EQ(test, kt_info(cache).slabs[KA_SLAB_FREE], 0UL);
}

static void magazine_drained_when_cpu_goes_offline(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-hotplug", 64, 0);
	struct kt_cpu_work w = { .cache = cache };
	struct ka_cache_cpu *cc;
	unsigned int cpu;
	int ret;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	cpu = cpumask_last(cpu_online_mask);
	if (!cpu)
		kunit_skip(test, "no CPU other than 0");
	cc = per_cpu_ptr(cache->cpu, cpu);

	INIT_WORK_ONSTACK(&w.work, kt_fill_cpu);
	schedule_work_on(cpu, &w.work);
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_ASSERT_TRUE(test, w.ok);
	KUNIT_EXPECT_NOT_NULL(test, READ_ONCE(cc->loaded));
	KUNIT_EXPECT_GT(test, kt_info(cache).cpu_cached, 0UL);

	ret = remove_cpu(cpu);
	if (ret)
		kunit_skip(test, "cannot offline cpu %u: %d", cpu, ret);
	KUNIT_EXPECT_NULL(test, READ_ONCE(cc->loaded));
	KUNIT_EXPECT_NULL(test, READ_ONCE(cc->previous));
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_CPU_DRAIN), 1UL);
	KUNIT_EXPECT_EQ(test, kt_info(cache).cpu_cached, 0UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	KUNIT_EXPECT_EQ(test, add_cpu(cpu), 0);
}

/* === Debug reports === */

static void debug_double_free_reported(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	void *obj, *again;

	cache = kt_cache(test, "kt-dfree", 64, KA_CACHE_RED_ZONE |
			 KA_CACHE_STORE_USER);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	karena_cache_free(cache, obj);
	karena_cache_free(cache, obj);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_DOUBLE_FREE), 1UL);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 0UL);
	/* Still usable, and nothing was corrupted. */
	again = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_NOT_NULL(test, again);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	karena_cache_free(cache, again);
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
}

static void debug_double_free_in_magazine_caught_at_flush(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache = kt_cache(test, "kt-dfree-mag", 64, 0);
	void *obj = karena_cache_alloc(cache, 0);

	KUNIT_ASSERT_NOT_NULL(test, obj);
	KUNIT_ASSERT_GT(test, cache->mag_size, 0U);
	karena_cache_free(cache, obj);
	karena_cache_free(cache, obj);
	KUNIT_EXPECT_EQ(test, kt->errors, 0);
	/* The flush gives each round to its slab, which knows. */
	karena_cache_shrink(cache);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_DOUBLE_FREE), 1UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
}

static void debug_invalid_pointer_reported(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache, *other;
	u8 *obj, *foreign, *kmem;
	struct page *page;

	cache = kt_cache(test, "kt-invalid", 64, KA_CACHE_CONSISTENCY_CHECKS);
	other = kt_cache(test, "kt-other", 64, KA_CACHE_NO_MAGAZINE);
	obj = karena_cache_alloc(cache, 0);
	foreign = karena_cache_alloc(other, 0);
	kmem = kunit_kzalloc(test, 64, GFP_KERNEL);
	page = ka_alloc_pages(kt->arena, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	KUNIT_ASSERT_NOT_NULL(test, foreign);
	KUNIT_ASSERT_NOT_NULL(test, kmem);
	KUNIT_ASSERT_NOT_NULL(test, page);

	karena_cache_free(cache, obj + 1);		/* inside an object */
	karena_cache_free(cache, kmem);		/* not in the arena */
	karena_cache_free(cache, page_address(page));	/* not a slab */
	karena_cache_free(cache, foreign);		/* another cache */
	kt->expected = 4;
	KUNIT_EXPECT_EQ(test, kt->errors, 4);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_INVALID), 3UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_WRONG_CACHE), 1UL);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 1UL);
	KUNIT_EXPECT_EQ(test, kt_info(other).objects, 1UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(other), 0);
	karena_cache_free(cache, obj);
	karena_cache_free(other, foreign);
	KUNIT_EXPECT_EQ(test, ka_free_pages(kt->arena, page, 0), 0);
	KUNIT_EXPECT_EQ(test, kt->errors, 4);
}

static void debug_redzone_overwrite_caught_on_free(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	u8 *obj, *again;

	cache = kt_cache(test, "kt-rz-free", 50, KA_CACHE_RED_ZONE |
			 KA_CACHE_STORE_USER);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	memset(obj, 0, 50);		/* the whole object is fine */
	obj[50] = 0x12;			/* one byte past it is not */
	karena_cache_free(cache, obj);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_REDZONE), 1UL);
	/* Repaired and freed: nothing left to find, cache usable. */
	KUNIT_EXPECT_EQ(test, obj[50], (u8)KA_RED_INACTIVE);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 0UL);
	again = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_NOT_NULL(test, again);
	karena_cache_free(cache, again);
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
}

static void debug_redzone_underflow_caught_by_validate(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	u8 *obj;

	cache = kt_cache(test, "kt-rz-validate", 64, KA_CACHE_RED_ZONE);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	obj[-1] = 0;
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 1);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, obj[-1], (u8)KA_RED_ACTIVE);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	karena_cache_free(cache, obj);
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_REDZONE), 1UL);
}

static void debug_poison_overwrite_caught_on_alloc(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	u8 *obj, *again;

	cache = kt_cache(test, "kt-poison", 64, KA_CACHE_POISON |
			 KA_CACHE_STORE_USER);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	karena_cache_free(cache, obj);
	KUNIT_EXPECT_EQ(test, obj[0], (u8)KA_POISON_FREE);
	KUNIT_EXPECT_EQ(test, obj[63], (u8)KA_POISON_END);
	obj[10] = 0;			/* a write after free */
	again = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_PTR_EQ(test, again, obj);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_POISON), 1UL);
	karena_cache_free(cache, again);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
}

static void debug_poison_overwrite_caught_by_validate(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	u8 *obj;

	cache = kt_cache(test, "kt-poison-v", 100, KA_CACHE_POISON |
			 KA_CACHE_RED_ZONE);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	karena_cache_free(cache, obj);
	obj[3] = 0x42;
	obj[99] = 0;			/* the 0xa5 end marker */
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 2);
	kt->expected = 2;
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_POISON), 2UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_NOT_NULL(test, obj);
	karena_cache_free(cache, obj);
	KUNIT_EXPECT_EQ(test, kt->errors, 2);
}

static void debug_freelist_corruption_repaired(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	void **objs = kt_array(test, 600);
	struct ka_cache *cache;
	unsigned long *fp;
	unsigned int n, i, j;
	u8 *a, *b;

	/* Poisoned: the free pointer sits after the object. */
	cache = kt_cache(test, "kt-freechain", 64, KA_CACHE_POISON |
			 KA_CACHE_FREELIST_HARDENED);
	KUNIT_ASSERT_FALSE(test, cache->offslab);
	a = karena_cache_alloc(cache, 0);
	b = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	karena_cache_free(cache, a);
	karena_cache_free(cache, b);		/* free list: b, a, ... */
	fp = (unsigned long *)(b - cache->red_left + cache->fp_offset);
	*fp ^= 0x1000;
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 1);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_FREELIST), 1UL);

	/* Corrupt it again and let an allocation find it. */
	*fp ^= 0x2000;
	n = min(cache->objs_per_slab, 600U);
	kt_alloc_n(test, cache, objs, n);
	kt->expected = 2;
	KUNIT_EXPECT_EQ(test, kt->errors, 2);
	/* Every object handed out once, all of them valid. */
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_PTR_EQ(test, kt_slab(cache, objs[i]),
				    kt_slab(cache, objs[0]));
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, objs[i], objs[j]);
	}
	kt_free_n(cache, objs, n);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
}

static void debug_wrong_counts_repaired_by_validate(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache;
	struct ka_slab *slab;
	unsigned long flags;
	void *objs[3];

	cache = kt_cache(test, "kt-counts", 64, KA_CACHE_NO_MAGAZINE);
	kt_alloc_n(test, cache, objs, 3);
	slab = kt_slab(cache, objs[0]);
	/* A descriptor and a cache count gone wrong (a kernel bug's work). */
	spin_lock_irqsave(&cache->lock, flags);
	slab->inuse++;
	cache->nr_out += 2;
	spin_unlock_irqrestore(&cache->lock, flags);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 2);
	kt->expected = 2;
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_COUNTS), 2UL);
	/* Both set back from the allocation bitmap. */
	KUNIT_EXPECT_EQ(test, slab->inuse, 3U);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 3UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	kt_free_n(cache, objs, 3);
}

static void hardened_freelist_pointers_obfuscated(struct kunit *test)
{
	struct ka_cache *plain, *hard;
	unsigned long *where;
	u8 *a, *b;

	plain = kt_cache(test, "kt-fp-plain", 64, KA_CACHE_NO_MAGAZINE);
	hard = kt_cache(test, "kt-fp-hard", 64, KA_CACHE_NO_MAGAZINE |
			KA_CACHE_FREELIST_HARDENED);

	a = karena_cache_alloc(plain, 0);
	b = karena_cache_alloc(plain, 0);
	karena_cache_free(plain, a);
	karena_cache_free(plain, b);
	where = (unsigned long *)(b + plain->fp_offset);
	KUNIT_EXPECT_EQ(test, *where, (unsigned long)a);

	a = karena_cache_alloc(hard, 0);
	b = karena_cache_alloc(hard, 0);
	karena_cache_free(hard, a);
	karena_cache_free(hard, b);
	where = (unsigned long *)(b + hard->fp_offset);
	KUNIT_EXPECT_NE(test, *where, (unsigned long)a);
	KUNIT_EXPECT_PTR_EQ(test, ka_slab_fp_get(hard, b), (void *)a);
	/* A free pointer in the middle of the object, as SLUB. */
	KUNIT_EXPECT_EQ(test, hard->fp_offset, 32U);
}

static void random_freelist_shuffles_order(struct kunit *test)
{
	struct ka_cache *cache;
	void **objs = kt_array(test, 1024);
	unsigned int n, i, k, ascending = 0, differ = 0;
	unsigned long *seen;
	struct ka_slab *slab;

	cache = kt_cache(test, "kt-random", 32, KA_CACHE_NO_MAGAZINE |
			 KA_CACHE_FREELIST_RANDOM);
	n = cache->objs_per_slab;
	KUNIT_ASSERT_GE(test, n, 32U);
	KUNIT_ASSERT_LE(test, 4 * n, 1024U);
	seen = kunit_kzalloc(test, BITS_TO_LONGS(n) * sizeof(long),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	kt_alloc_n(test, cache, objs, 4 * n);
	slab = kt_slab(cache, objs[0]);
	for (i = 0; i < n; i++) {
		unsigned int idx = ka_obj_index(cache, slab, objs[i]);

		KUNIT_EXPECT_PTR_EQ(test, kt_slab(cache, objs[i]), slab);
		KUNIT_EXPECT_FALSE(test, __test_and_set_bit(idx, seen));
		if (i && objs[i] > objs[i - 1])
			ascending++;
	}
	/* Each new slab starts the sequence somewhere else. */
	for (k = 1; k < 4; k++) {
		struct ka_slab *other = kt_slab(cache, objs[k * n]);

		for (i = 0; i < n; i++)
			if (ka_obj_index(cache, slab, objs[i]) !=
			    ka_obj_index(cache, other, objs[k * n + i]))
				break;
		differ += i < n;
	}
	/* A permutation, not the identity, not the same in every slab. */
	KUNIT_EXPECT_LT(test, ascending, n - 1);
	KUNIT_EXPECT_GT(test, differ, 0U);
	kt_free_n(cache, objs, 4 * n);
}

static const unsigned int kt_track_flags[] = {
	KA_CACHE_STORE_USER, KA_CACHE_STORE_USER | KA_CACHE_OFFSLAB,
	KA_CACHE_STORE_USER | KA_CACHE_USER,
};

KUNIT_ARRAY_PARAM(kt_track_flags, kt_track_flags, kt_flags_desc);

static void owner_tracking_records_alloc_and_free(struct kunit *test)
{
	unsigned int flags = *(const unsigned int *)test->param_value;
	struct ka_cache *cache;
	struct ka_track *t;
	struct ka_slab *slab;
	char sym[KSYM_SYMBOL_LEN];
	void *obj;

	cache = kt_cache(test, "kt-track", 64, flags);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	slab = kt_slab(cache, obj);
	t = ka_obj_track(cache, slab, ka_obj_index(cache, slab, obj));
	KUNIT_ASSERT_NOT_NULL(test, t);
	if (cache->offslab) {
		/* Off-slab records live in kernel memory, not the slab. */
		KUNIT_EXPECT_TRUE(test, (void *)t < slab->addr ||
				  (void *)t >= slab->addr +
				  (PAGE_SIZE << cache->order));
	}
	KUNIT_EXPECT_EQ(test, t[KA_TRACK_ALLOC].pid, current->pid);
	KUNIT_EXPECT_EQ(test, t[KA_TRACK_FREE].addr, 0UL);
	/* The caller recorded is this test, not the allocator. */
	snprintf(sym, sizeof(sym), "%pS", (void *)t[KA_TRACK_ALLOC].addr);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(sym, __func__), "%s", sym);
	karena_cache_free(cache, obj);
	KUNIT_EXPECT_NE(test, t[KA_TRACK_FREE].addr, 0UL);
	KUNIT_EXPECT_GE(test, t[KA_TRACK_FREE].when, t[KA_TRACK_ALLOC].when);
}

/* === kmalloc classes === */

static const unsigned int kt_classes[] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

static void kt_class_desc(const unsigned int *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "class %u", *size);
}

KUNIT_ARRAY_PARAM(kt_class, kt_classes, kt_class_desc);

/* The usable size karena must give for @size, from the class table. */
static size_t kt_expected_size(size_t size)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kt_classes); i++)
		if (size <= kt_classes[i])
			return kt_classes[i];
	return PAGE_SIZE << get_order(size);
}

static struct ka_kmalloc_set *kt_kmalloc_set(struct kunit *test,
					     unsigned int flags)
{
	struct kt_fixture *kt = test->priv;
	struct ka_kmalloc_set *set;

	set = kunit_kzalloc(test, sizeof(*set), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, set);
	KUNIT_ASSERT_EQ(test, ka_kmalloc_set_init(set, kt->arena, "kt-kmalloc",
						  flags), 0);
	kt->set = set;
	return set;
}

static void kmalloc_boundary_sizes(struct kunit *test)
{
	unsigned int n = *(const unsigned int *)test->param_value, i;
	struct ka_kmalloc_set *set;
	size_t sizes[3] = { n - 1, n, n + 1 };

	/* Red zones and poison: writing the usable size must be safe. */
	set = kt_kmalloc_set(test, KA_CACHE_RED_ZONE | KA_CACHE_POISON);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t want = kt_expected_size(sizes[i]);
		u8 *p = ka_kmalloc(set, sizes[i], 0, _THIS_IP_);

		KUNIT_ASSERT_NOT_NULL(test, p);
		KUNIT_EXPECT_EQ_MSG(test, ka_ksize(set, p), want, "size %zu",
				    sizes[i]);
		KUNIT_EXPECT_EQ(test, ka_kmalloc_roundup(set, sizes[i]), want);
		/* Power-of-two sizes are naturally aligned, as kmalloc's. */
		if (is_power_of_2(want))
			KUNIT_EXPECT_EQ(test, (unsigned long)p %
					min_t(size_t, want, PAGE_SIZE), 0UL);
		memset(p, 0x77, want);
		ka_kfree(set, p, _THIS_IP_);
	}
	for (i = 0; i < KA_KMALLOC_NR; i++)
		KUNIT_EXPECT_EQ(test, ka_cache_validate(set->caches[i]), 0);
}

static void kmalloc_class_of_every_size(struct kunit *test)
{
	struct ka_kmalloc_set *set = kt_kmalloc_set(test, 0);
	size_t size;

	/* The lookup table agrees with a scan of the classes everywhere. */
	for (size = 1; size <= KA_KMALLOC_MAX_CACHE; size++)
		KUNIT_EXPECT_EQ(test, ka_kmalloc_roundup(set, size),
				kt_expected_size(size));
}

static void kmalloc_large_goes_to_buddy(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	unsigned long before = ka_arena_nr_free(kt->arena);
	struct ka_kmalloc_set *set = kt_kmalloc_set(test, 0);
	struct ka_page_desc *d;
	u8 *p;

	p = ka_kmalloc(set, KA_KMALLOC_MAX_CACHE + 1, __GFP_ZERO, _THIS_IP_);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(p));
	KUNIT_EXPECT_EQ(test, ka_ksize(set, p), PAGE_SIZE << 2);
	KUNIT_EXPECT_NULL(test, memchr_inv(p, 0, PAGE_SIZE << 2));
	d = ka_virt_desc(kt->arena, p);
	KUNIT_EXPECT_EQ(test, d->state, (u8)KA_PAGE_BLOCK);
	KUNIT_EXPECT_EQ(test, d->order, (u8)2);
	KUNIT_EXPECT_PTR_EQ(test, d->owner, (void *)set);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before - 4);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&set->large_pages), 4L);

	/* Not the block's start: refused, still allocated. */
	ka_kfree(set, p + PAGE_SIZE, _THIS_IP_);
	kt->expected = 1;
	KUNIT_EXPECT_EQ(test, atomic_long_read(&set->bad_frees), 1L);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before - 4);
	/* The free finds the order in the descriptor. */
	ka_kfree(set, p, _THIS_IP_);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&set->large_pages), 0L);
	/* Beyond the arena's largest block. */
	KUNIT_EXPECT_NULL(test, ka_kmalloc(set, PAGE_SIZE << 7, 0, _THIS_IP_));
	KUNIT_EXPECT_EQ(test, ka_kmalloc_roundup(set, PAGE_SIZE << 7),
			PAGE_SIZE << 7);
	KUNIT_EXPECT_EQ(test, kt->errors, 1);
}

static void kt_fill(u8 *p, size_t n, u8 seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = seed + i * 7;
}

static bool kt_filled(const u8 *p, size_t n, u8 seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (u8)(seed + i * 7))
			return false;
	return true;
}

static void krealloc_keeps_contents(struct kunit *test)
{
	struct ka_kmalloc_set *set = kt_kmalloc_set(test, KA_CACHE_RED_ZONE);
	u8 *p, *q;

	p = ka_krealloc(set, NULL, 10, 0, _THIS_IP_);
	KUNIT_ASSERT_NOT_NULL(test, p);
	kt_fill(p, 10, 1);
	/* Grow within the class: in place. */
	q = ka_krealloc(set, p, 16, 0, _THIS_IP_);
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	/* Grow across classes, zeroing the new part. */
	p = ka_krealloc(set, q, 100, __GFP_ZERO, _THIS_IP_);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_ksize(set, p), 128UL);
	KUNIT_EXPECT_TRUE(test, kt_filled(p, 10, 1));
	KUNIT_EXPECT_NULL(test, memchr_inv(p + 16, 0, 128 - 16));
	kt_fill(p, 100, 2);
	/* Into a large block and back. */
	p = ka_krealloc(set, p, 20000, 0, _THIS_IP_);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_ksize(set, p), PAGE_SIZE << get_order(20000));
	KUNIT_EXPECT_TRUE(test, kt_filled(p, 100, 2));
	kt_fill(p, 20000, 3);
	p = ka_krealloc(set, p, 6000, 0, _THIS_IP_);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_ksize(set, p), 8192UL);
	KUNIT_EXPECT_TRUE(test, kt_filled(p, 6000, 3));
	/* Shrink within twice the need: in place. */
	q = ka_krealloc(set, p, 5000, 0, _THIS_IP_);
	KUNIT_EXPECT_PTR_EQ(test, q, p);
	/* Shrink far: moves to a small class, keeps the prefix. */
	p = ka_krealloc(set, q, 100, 0, _THIS_IP_);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ka_ksize(set, p), 128UL);
	KUNIT_EXPECT_TRUE(test, kt_filled(p, 100, 3));
	/* Too big to grow: NULL, the old memory stays valid. */
	q = ka_krealloc(set, p, PAGE_SIZE << 7, 0, _THIS_IP_);
	KUNIT_EXPECT_NULL(test, q);
	KUNIT_EXPECT_TRUE(test, kt_filled(p, 100, 3));
	/* Size 0 frees. */
	KUNIT_EXPECT_PTR_EQ(test, ka_krealloc(set, p, 0, 0, _THIS_IP_),
			    (void *)ZERO_SIZE_PTR);
}

static void kmalloc_zero_and_null(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_kmalloc_set *set = kt_kmalloc_set(test, 0);
	int local;

	KUNIT_EXPECT_PTR_EQ(test, ka_kmalloc(set, 0, 0, _THIS_IP_),
			    (void *)ZERO_SIZE_PTR);
	ka_kfree(set, NULL, _THIS_IP_);
	ka_kfree(set, ZERO_SIZE_PTR, _THIS_IP_);
	KUNIT_EXPECT_EQ(test, ka_ksize(set, NULL), 0UL);
	KUNIT_EXPECT_EQ(test, ka_kmalloc_roundup(set, 0), 0UL);
	KUNIT_EXPECT_EQ(test, kt->errors, 0);
	/* Not karena memory at all. */
	ka_kfree(set, &local, _THIS_IP_);
	KUNIT_EXPECT_EQ(test, ka_ksize(set, &local), 0UL);
	kt->expected = 2;
	KUNIT_EXPECT_EQ(test, atomic_long_read(&set->bad_frees), 2L);
}

static void kmalloc_public_api(struct kunit *test)
{
	u8 *p, *q;

	p = karena_kzalloc(200, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, karena_ksize(p), 256UL);
	KUNIT_EXPECT_NULL(test, memchr_inv(p, 0, 200));
	kt_fill(p, 200, 9);
	q = karena_krealloc(p, 3000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_TRUE(test, kt_filled(q, 200, 9));
	KUNIT_EXPECT_EQ(test, karena_kmalloc_size_roundup(3000), 4096UL);
	KUNIT_EXPECT_EQ(test, karena_kmalloc_size_roundup(9000),
			PAGE_SIZE << get_order(9000));
	karena_kfree(q);
	p = karena_kmalloc(PAGE_SIZE * 3, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, karena_ksize(p), PAGE_SIZE * 4);
	karena_kfree(p);
}

/* === Bulk, failures === */

/* Every allocation and free counted once, as a fast or a slow path. */
static void kt_expect_counted(struct kunit *test, struct ka_cache *cache,
			      unsigned long allocs, unsigned long frees)
{
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_FASTPATH) +
			kt_stat(cache, KA_ALLOC_SLOWPATH), allocs);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_FREE_FASTPATH) +
			kt_stat(cache, KA_FREE_SLOWPATH), frees);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_MAGAZINE_HIT) +
			kt_stat(cache, KA_MAGAZINE_MISS), allocs + frees);
}

static void bulk_crosses_magazine_boundaries(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-bulk-mag", 64, 0);
	unsigned int m = cache->mag_size, n = 3 * m + 7, i, j, nulls = 0;
	void **objs = kt_array(test, n), **copy = kt_array(test, n + n / 11 + 1);
	unsigned long slabs, allocs = 0, frees = 0;
	struct ka_cache_info info;

	KUNIT_ASSERT_GT(test, m, 2U);
	migrate_disable();
	/* Nothing cached: the magazines give nothing, the slabs the rest. */
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, n, objs),
			(int)n);
	allocs += n;
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, objs[i], objs[j]);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, (unsigned long)n);

	/* Free with NULL holes: the magazines fill, whole ones to the depot. */
	for (i = 0, j = 0; i < n; i++) {
		if (!(i % 11)) {
			copy[j++] = NULL;
			nulls++;
		}
		copy[j++] = objs[i];
	}
	KUNIT_ASSERT_EQ(test, j, n + nulls);
	karena_cache_free_bulk(cache, j, copy);
	frees += n;
	info = kt_info(cache);
	KUNIT_EXPECT_EQ(test, info.objects, 0UL);
	KUNIT_EXPECT_EQ(test, info.cached, (unsigned long)n);
	KUNIT_EXPECT_GE(test, info.depot_full, 1UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_MAGAZINE_FLUSH), 0UL);
	kt_expect_counted(test, cache, allocs, frees);

	/* Again, a partial magazine on the CPU first: no new slab. */
	slabs = kt_stat(cache, KA_ALLOC_SLAB);
	objs[0] = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	allocs++;
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, n - 1,
						      objs + 1), (int)n - 1);
	allocs += n - 1;
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_SLAB), slabs);
	KUNIT_EXPECT_EQ(test, kt_info(cache).cached, 0UL);
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, objs[i], objs[j]);

	/* Bulk calls of odd sizes mixed with single ones. */
	for (i = 0; i + m + 1 <= n; i += m + 1) {
		karena_cache_free_bulk(cache, m + 1, objs + i);
		frees += m + 1;
		karena_cache_free(cache, objs[n - 1]);
		objs[n - 1] = karena_cache_alloc(cache, 0);
		KUNIT_ASSERT_NOT_NULL(test, objs[n - 1]);
		frees++;
		allocs++;
		KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, m + 1,
							      objs + i),
				(int)m + 1);
		allocs += m + 1;
	}
	migrate_enable();
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, (unsigned long)n);
	kt_expect_counted(test, cache, allocs, frees);
	karena_cache_free_bulk(cache, n, objs);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 0UL);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
}

static void bulk_free_beyond_depot_goes_to_slabs(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-bulk-deep", 1024, 0);
	unsigned int n = (cache->depot_max + 4) * cache->mag_size;
	void **objs = kt_array(test, n);
	struct ka_cache_info info;

	KUNIT_ASSERT_GT(test, cache->mag_size, 0U);
	migrate_disable();
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, n, objs),
			(int)n);
	karena_cache_free_bulk(cache, n, objs);
	migrate_enable();
	info = kt_info(cache);
	KUNIT_EXPECT_EQ(test, info.objects, 0UL);
	KUNIT_EXPECT_LE(test, info.depot_full, (unsigned long)cache->depot_max);
	KUNIT_EXPECT_GT(test, kt_stat(cache, KA_MAGAZINE_FLUSH), 0UL);
	kt_expect_counted(test, cache, n, n);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_MAGAZINE_ALLOC),
			kt_stat(cache, KA_MAGAZINE_FREE));
}

static void bulk_alloc_all_or_nothing(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache, *small;
	void **objs = kt_array(test, 100);
	unsigned int i, j, got;
	struct ka_cache_args args = {
		.name = "kt-bulk-tiny", .size = 1024,
		.flags = KA_CACHE_NO_MAGAZINE,
	};

	small = kt_cache(test, "kt-bulk", 128, 0);
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(small, 0, 100, objs),
			100);
	for (i = 0; i < 100; i++)
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, objs[i], objs[j]);
	KUNIT_EXPECT_EQ(test, kt_info(small).objects, 100UL);
	karena_cache_free_bulk(small, 100, objs);
	KUNIT_EXPECT_EQ(test, kt_info(small).objects, 0UL);

	/* 4 pages of 1 KiB objects: 16 at most, so 20 is all-or-nothing. */
	kt->extra = ka_arena_create("kt-tiny", 1, 2);
	KUNIT_ASSERT_NOT_NULL(test, kt->extra);
	args.arena = kt->extra;
	cache = ka_cache_create(&args);
	KUNIT_ASSERT_FALSE(test, IS_ERR(cache));
	kt->caches[KT_MAX_CACHES - 1] = cache;
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, 20, objs), 0);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 0UL);
	got = ka_cache_alloc_some(cache, 0, 20, objs);
	KUNIT_EXPECT_EQ(test, got, 16U);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->extra), 0UL);
	KUNIT_EXPECT_GT(test, kt_stat(cache, KA_ALLOC_FAILED), 0UL);
	/* Exhaustion is not an error, and the cache recovers. */
	karena_cache_free_bulk(cache, got, objs);
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, got, objs),
			(int)got);
	karena_cache_free_bulk(cache, got, objs);
}

static void injected_failures_fail_cleanly(struct kunit *test)
{
	struct ka_cache *cache = kt_cache(test, "kt-inject", 64, 0);
	void *objs[4], *obj;

	obj = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	if (!ka_fail_slab_set(2))
		kunit_skip(test, "kernel without CONFIG_FAULT_INJECTION");
	KUNIT_EXPECT_NULL(test, karena_cache_alloc(cache, 0));
	KUNIT_EXPECT_NULL(test, karena_cache_alloc(cache, 0));
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_INJECTED), 2UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_FAILED), 2UL);
	/* The attribute is spent: allocations work again. */
	karena_cache_free(cache, obj);
	obj = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_NOT_NULL(test, obj);
	/* A failure in a bulk allocation undoes all of it. */
	ka_fail_slab_set(1);
	KUNIT_EXPECT_EQ(test, karena_cache_alloc_bulk(cache, 0, 4, objs), 0);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 1UL);
	ka_fail_slab_set(0);
	karena_cache_free(cache, obj);
}

/* === User caches === */

struct kt_hooks {
	unsigned int allocs, releases, refuse, bad;
	struct ka_arena *arena;
};

static int kt_hook_slab_alloc(struct ka_cache *cache, struct page *head,
			      unsigned int order)
{
	struct kt_hooks *h = cache->owner;
	struct ka_page_desc *d = ka_page_desc(h->arena, head);

	/* Marked and zeroed before the owner sees it. */
	if (!d || d->state != KA_PAGE_USER || !d->owner ||
	    memchr_inv(page_address(head), 0, PAGE_SIZE << order))
		h->bad++;
	if (h->refuse)
		return -ENOMEM;
	h->allocs++;
	return 0;
}

static void kt_hook_slab_release(struct ka_cache *cache, struct page *head,
				 unsigned int order)
{
	struct kt_hooks *h = cache->owner;
	struct ka_page_desc *d = ka_page_desc(h->arena, head);

	/* Called before the pages go back: still the cache's. */
	if (!d || d->state != KA_PAGE_USER || !d->owner)
		h->bad++;
	h->releases++;
}

static const struct ka_cache_ops kt_hook_ops = {
	.slab_alloc = kt_hook_slab_alloc,
	.slab_release = kt_hook_slab_release,
};

/* Dirty every free page of the arena, so that zeroing is visible. */
static void kt_dirty_arena(struct kunit *test, struct ka_arena *arena)
{
	unsigned long n = ka_arena_nr_free(arena), i;
	struct page **pages = kunit_kcalloc(test, n, sizeof(*pages),
					    GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (i = 0; i < n; i++) {
		pages[i] = ka_alloc_pages(arena, 0, 0);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
		memset(page_address(pages[i]), 0xee, PAGE_SIZE);
	}
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, pages[i], 0), 0);
	ka_drain_pcp(arena);
}

static void user_cache_pages_zeroed_marked_hooked(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct kt_hooks h = { .arena = kt->arena };
	void **objs = kt_array(test, 1100);
	struct ka_cache *cache;
	struct ka_page_desc *d;
	struct page *head;
	unsigned long before;
	unsigned int n, i;

	kt_dirty_arena(test, kt->arena);
	cache = kt_cache_ops(test, "kt-user", 40, 0, KA_CACHE_USER, NULL,
			     &kt_hook_ops, &h);
	KUNIT_EXPECT_TRUE(test, cache->offslab);
	KUNIT_EXPECT_EQ(test, cache->mag_size, 0U);
	KUNIT_EXPECT_PTR_EQ(test, cache->owner, (void *)&h);
	objs[0] = karena_cache_alloc(cache, 0);
	KUNIT_ASSERT_NOT_NULL(test, objs[0]);
	KUNIT_EXPECT_EQ(test, h.allocs, 1U);
	/* No allocator byte in the slab: it is still all zero. */
	KUNIT_EXPECT_PTR_EQ(test, ka_addr_cache(kt->arena, objs[0], &head),
			    cache);
	KUNIT_EXPECT_NULL(test, memchr_inv(page_address(head), 0,
					   PAGE_SIZE << cache->order));
	for (i = 0; i < (1U << cache->order); i++) {
		d = ka_page_desc(kt->arena, nth_page(head, i));
		KUNIT_EXPECT_EQ(test, d->state, (u8)KA_PAGE_USER);
		KUNIT_EXPECT_PTR_EQ(test, d->owner,
				    (void *)kt_slab(cache, objs[0]));
	}

	/* The owner refuses a slab: the allocation fails, nothing leaks. */
	n = cache->objs_per_slab;
	KUNIT_ASSERT_LE(test, n + 1, 1100U);
	for (i = 1; i < n; i++)
		objs[i] = karena_cache_alloc(cache, 0);
	before = ka_arena_nr_free(kt->arena);
	h.refuse = 1;
	KUNIT_EXPECT_NULL(test, karena_cache_alloc(cache, 0));
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(kt->arena), before);
	h.refuse = 0;
	objs[n] = karena_cache_alloc(cache, 0);
	KUNIT_EXPECT_NOT_NULL(test, objs[n]);
	KUNIT_EXPECT_EQ(test, h.allocs, 2U);

	for (i = 0; i <= n; i++)
		KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, objs[i]), 0);
	KUNIT_EXPECT_EQ(test, karena_cache_shrink(cache), 2);
	KUNIT_EXPECT_EQ(test, h.releases, 2U);
	KUNIT_EXPECT_EQ(test, h.bad, 0U);
}

static int kt_scribble(struct ka_cache *cache, struct page *head,
		       unsigned int order, void *arg)
{
	memset(page_address(head), *(u8 *)arg, PAGE_SIZE << order);
	return 0;
}

static const unsigned int kt_user_flags[] = {
	KA_CACHE_USER, KA_CACHE_USER | KA_CACHE_RED_ZONE | KA_CACHE_POISON,
	KA_CACHE_USER | KA_CACHE_STORE_USER | KA_CACHE_CONSISTENCY_CHECKS,
};

KUNIT_ARRAY_PARAM(kt_user_flags, kt_user_flags, kt_flags_desc);

static void user_cache_survives_scribbled_slabs(struct kunit *test)
{
	unsigned int flags = *(const unsigned int *)test->param_value;
	struct kt_fixture *kt = test->priv;
	void **objs = kt_array(test, 2200);
	unsigned int n, half, i, slabs, reports = 0;
	struct ka_cache *cache;
	u8 junk = 0x11;

	cache = kt_cache(test, "kt-scribble", 48, flags);
	n = cache->objs_per_slab;
	half = n + n / 2;
	KUNIT_ASSERT_LE(test, 2 * n, 2200U);
	kt_alloc_n(test, cache, objs, half);
	slabs = kt_stat(cache, KA_ALLOC_SLAB);
	KUNIT_EXPECT_EQ(test, slabs, 2U);

	/* A process may write anything into the pages it maps. */
	KUNIT_EXPECT_EQ(test, ka_cache_walk_slabs(cache, kt_scribble,
						  &junk), 0);
	/* Only the user-visible checks fire: red zones and poison. */
	if (flags & KA_CACHE_RED_ZONE)
		reports = 2 * half + 4 * (2 * n - half);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), (int)reports);
	kt->expected = reports;
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);

	/* The allocator itself is intact. */
	for (i = 0; i < half; i++)
		KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, objs[i]), 0);
	kt_alloc_n(test, cache, objs, 2 * n);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ALLOC_SLAB), (unsigned long)slabs);
	for (i = 0; i < 2 * n; i++)
		KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, objs[i]), 0);
	KUNIT_EXPECT_EQ(test, kt->errors, (int)reports);
}

static void user_cache_checked_free_rejects(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *cache, *other;
	void *objs[4];
	unsigned int done;
	u8 *a, *b, *c, *x;
	int local;

	cache = kt_cache(test, "kt-checked", 64, KA_CACHE_USER);
	other = kt_cache(test, "kt-checked-2", 64, KA_CACHE_USER);
	a = karena_cache_alloc(cache, 0);
	b = karena_cache_alloc(cache, 0);
	c = karena_cache_alloc(cache, 0);
	x = karena_cache_alloc(other, 0);
	KUNIT_ASSERT_TRUE(test, a && b && c && x);

	KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, a + 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, x), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, &local), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, a), 0);
	KUNIT_EXPECT_EQ(test, ka_cache_free_checked(cache, a), -ENOENT);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_INVALID), 2UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_WRONG_CACHE), 1UL);
	KUNIT_EXPECT_EQ(test, kt_stat(cache, KA_ERROR_DOUBLE_FREE), 1UL);

	/* Bulk: stops at the first bad entry, which changes nothing. */
	objs[0] = b;
	objs[1] = b;
	objs[2] = c;
	KUNIT_EXPECT_EQ(test, ka_cache_free_bulk_checked(cache, 3, objs, &done),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, done, 1U);
	KUNIT_EXPECT_EQ(test, kt_info(cache).objects, 1UL);
	KUNIT_EXPECT_EQ(test, ka_cache_free_bulk_checked(cache, 1, objs + 2,
							 &done), 0);
	KUNIT_EXPECT_EQ(test, done, 1U);
	KUNIT_EXPECT_EQ(test, ka_cache_free_checked(other, x), 0);
	kt->expected = 5;
	KUNIT_EXPECT_EQ(test, kt->errors, 5);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(cache), 0);
}

/* === Concurrency === */

#define KT_STRESS_SLOTS	64
#define KT_STRESS_STEPS	6000

struct kt_stress {
	struct ka_cache *caches[2];
	void *slots[2][KT_STRESS_SLOTS];
	struct completion done;
	struct task_struct *task;
	unsigned int cpu;
	unsigned int errors;
	unsigned long ops;
};

static int kt_stress_fn(void *data)
{
	struct kt_stress *s = data;
	void *(*slots)[KT_STRESS_SLOTS] = s->slots;
	struct rnd_state rnd;
	unsigned int i, k;

	prandom_seed_state(&rnd, 0x5eed + s->cpu);
	for (i = 0; i < KT_STRESS_STEPS; i++) {
		unsigned int which = prandom_u32_state(&rnd) & 1;
		unsigned int slot = prandom_u32_state(&rnd) % KT_STRESS_SLOTS;
		struct ka_cache *cache = s->caches[which];
		u32 tag = (s->cpu << 16) | (which << 8) | slot;
		u32 *obj = slots[which][slot];

		if (obj) {
			if (*obj != tag)
				s->errors++;
			karena_cache_free(cache, obj);
			slots[which][slot] = NULL;
		} else {
			obj = karena_cache_alloc(cache, 0);
			if (!obj) {
				s->errors++;
				continue;
			}
			*obj = tag;
			slots[which][slot] = obj;
		}
		s->ops++;
		if (!(i % 256))
			cond_resched();
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < KT_STRESS_SLOTS; i++)
			karena_cache_free(s->caches[k], slots[k][i]);
	complete(&s->done);
	return 0;
}

static void stress_thread_per_cpu_then_validate(struct kunit *test)
{
	struct kt_fixture *kt = test->priv;
	struct ka_cache *mag, *dbg;
	struct kt_stress *s;
	unsigned int cpu, n = 0, i;

	mag = kt_cache(test, "kt-stress-mag", 96, 0);
	dbg = kt_cache(test, "kt-stress-dbg", 200, KA_CACHE_RED_ZONE |
		       KA_CACHE_POISON | KA_CACHE_STORE_USER |
		       KA_CACHE_CONSISTENCY_CHECKS);
	s = kunit_kcalloc(test, nr_cpu_ids, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		s[cpu].caches[0] = mag;
		s[cpu].caches[1] = dbg;
		s[cpu].cpu = cpu;
		init_completion(&s[cpu].done);
		s[cpu].task = kthread_create_on_cpu(kt_stress_fn, &s[cpu], cpu,
						    "kt_slab/%u");
		if (IS_ERR(s[cpu].task)) {
			s[cpu].task = NULL;
			continue;
		}
		get_task_struct(s[cpu].task);
		wake_up_process(s[cpu].task);
		n++;
	}
	cpus_read_unlock();
	KUNIT_ASSERT_GT(test, n, 0U);
	/* Validate (which drains every CPU) while they run. */
	for (i = 0; i < 10; i++) {
		KUNIT_EXPECT_EQ(test, ka_cache_validate(mag), 0);
		KUNIT_EXPECT_EQ(test, ka_cache_validate(dbg), 0);
		msleep(20);
	}
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (!s[cpu].task)
			continue;
		wait_for_completion(&s[cpu].done);
		kthread_stop(s[cpu].task);
		put_task_struct(s[cpu].task);
		KUNIT_EXPECT_EQ(test, s[cpu].errors, 0U);
		KUNIT_EXPECT_EQ(test, s[cpu].ops, (unsigned long)KT_STRESS_STEPS);
	}
	KUNIT_EXPECT_EQ(test, ka_cache_validate(mag), 0);
	KUNIT_EXPECT_EQ(test, ka_cache_validate(dbg), 0);
	KUNIT_EXPECT_EQ(test, kt_info(mag).objects, 0UL);
	KUNIT_EXPECT_EQ(test, kt_info(dbg).objects, 0UL);
	KUNIT_EXPECT_EQ(test, kt->errors, 0);
}

/* === Suite === */

static struct kunit_case kt_slab_cases[] = {
	KUNIT_CASE(cache_lifecycle),
	KUNIT_CASE(cache_create_rejects_bad_arguments),
	KUNIT_CASE(cache_destroy_refuses_live_objects),
	KUNIT_CASE_PARAM(layout_aligned_for_every_flag_combination,
			 kt_combo_gen),
	KUNIT_CASE(layout_waste_bounded),
	KUNIT_CASE(slab_colour_shifts_first_object),
	KUNIT_CASE_PARAM(ctor_runs_once_per_object_lifetime,
			 kt_ctor_flags_gen_params),
	KUNIT_CASE(magazine_boundary_stays_on_cpu),
	KUNIT_CASE(magazine_depot_trades_full_and_empty),
	KUNIT_CASE(magazine_depot_limit_flushes_to_slabs),
	KUNIT_CASE(shrink_returns_slabs_to_buddy),
	KUNIT_CASE(magazine_remote_cpu_drained_by_shrink),
	KUNIT_CASE(magazine_drained_when_cpu_goes_offline),
	KUNIT_CASE(debug_double_free_reported),
	KUNIT_CASE(debug_double_free_in_magazine_caught_at_flush),
	KUNIT_CASE(debug_invalid_pointer_reported),
	KUNIT_CASE(debug_redzone_overwrite_caught_on_free),
	KUNIT_CASE(debug_redzone_underflow_caught_by_validate),
	KUNIT_CASE(debug_poison_overwrite_caught_on_alloc),
	KUNIT_CASE(debug_poison_overwrite_caught_by_validate),
	KUNIT_CASE(debug_freelist_corruption_repaired),
	KUNIT_CASE(debug_wrong_counts_repaired_by_validate),
	KUNIT_CASE(hardened_freelist_pointers_obfuscated),
	KUNIT_CASE(random_freelist_shuffles_order),
	KUNIT_CASE_PARAM(owner_tracking_records_alloc_and_free,
			 kt_track_flags_gen_params),
	KUNIT_CASE_PARAM(kmalloc_boundary_sizes, kt_class_gen_params),
	KUNIT_CASE(kmalloc_class_of_every_size),
	KUNIT_CASE(kmalloc_large_goes_to_buddy),
	KUNIT_CASE(krealloc_keeps_contents),
	KUNIT_CASE(kmalloc_zero_and_null),
	KUNIT_CASE(kmalloc_public_api),
	KUNIT_CASE(bulk_crosses_magazine_boundaries),
	KUNIT_CASE(bulk_free_beyond_depot_goes_to_slabs),
	KUNIT_CASE(bulk_alloc_all_or_nothing),
	KUNIT_CASE(injected_failures_fail_cleanly),
	KUNIT_CASE(user_cache_pages_zeroed_marked_hooked),
	KUNIT_CASE_PARAM(user_cache_survives_scribbled_slabs,
			 kt_user_flags_gen_params),
	KUNIT_CASE(user_cache_checked_free_rejects),
	KUNIT_CASE(stress_thread_per_cpu_then_validate),
	{}
};

static struct kunit_suite kt_slab_suite = {
	.name = "karena_slab",
	.init = slab_test_init,
	.exit = slab_test_exit,
	.test_cases = kt_slab_cases,
};

kunit_test_suites(&kt_slab_suite);
