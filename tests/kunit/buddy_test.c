// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite karena_buddy: the buddy layer on small private arenas.
 *
 * Every case makes its own arena with ka_arena_create(), so it may exhaust
 * or corrupt it; .exit drains it, runs ka_arena_validate() (the same
 * checker as debugfs' validate file) and asserts that every page is free
 * again before destroying it.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "buddy_internal.h"

/* === Helpers === */

static struct ka_arena *kt_arena(struct kunit *test, unsigned int chunks,
				 unsigned int max_order)
{
	struct ka_arena *arena = ka_arena_create("kunit", chunks, max_order);

	KUNIT_ASSERT_NOT_NULL(test, arena);
	test->priv = arena;
	return arena;
}

static unsigned long kt_bad(struct ka_arena *arena, enum ka_bad_free kind)
{
	return atomic_long_read(&arena->bad_free[kind]);
}

static unsigned long kt_state(struct ka_arena *arena, enum ka_page_state s)
{
	if (s == KA_PAGE_FREE)
		return READ_ONCE(arena->nr_free);
	return atomic_long_read(&arena->nr_state[s]);
}

/* Drained and fully merged: every chunk one free block of max_order. */
static void kt_expect_whole(struct kunit *test, struct ka_arena *arena)
{
	unsigned int o;

	ka_drain_pcp(arena);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(arena), ka_arena_nr_pages(arena));
	KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[arena->max_order],
			(unsigned long)arena->nr_chunks);
	for (o = 0; o < arena->max_order; o++)
		KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[o], 0UL);
}

static bool kt_block_is(struct ka_arena *arena, struct page *page,
			unsigned int order, enum ka_page_state state)
{
	struct ka_page_desc *d = ka_page_desc(arena, page);
	unsigned long i;

	if (!d || !(d->flags & KA_DESC_HEAD) || d->order != order)
		return false;
	for (i = 0; i < (1UL << order); i++)
		if (d[i].state != state || (i && (d[i].flags & KA_DESC_HEAD)))
			return false;
	return true;
}

static bool kt_filled(struct page *page, unsigned int order, u8 byte)
{
	return !memchr_inv(page_address(page), byte, PAGE_SIZE << order);
}

static void buddy_test_exit(struct kunit *test)
{
	struct ka_arena *arena = test->priv;

	if (!arena)
		return;
	kt_expect_whole(test, arena);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_BLOCK), 0UL);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_SLAB), 0UL);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_USER), 0UL);
	ka_arena_destroy(arena);
	test->priv = NULL;
}

/* === Parameters === */

static const unsigned int kt_orders[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static void kt_order_desc(const unsigned int *order, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "order %u", *order);
}

KUNIT_ARRAY_PARAM(kt_order, kt_orders, kt_order_desc);

/* Orders 0..6 for the 2-chunk order-6 arenas. */
static const unsigned int kt_small_orders[] = { 0, 1, 2, 3, 4, 5, 6 };
KUNIT_ARRAY_PARAM(kt_small_order, kt_small_orders, kt_order_desc);

static const enum ka_page_state kt_alloc_states[] = {
	KA_PAGE_BLOCK, KA_PAGE_SLAB, KA_PAGE_USER,
};

static void kt_state_desc(const enum ka_page_state *s, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", ka_page_state_name(*s));
}

KUNIT_ARRAY_PARAM(kt_alloc_state, kt_alloc_states, kt_state_desc);

/* === Arena === */

static void buddy_arena_starts_whole(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 3, 5);
	unsigned int s;

	KUNIT_EXPECT_EQ(test, ka_arena_nr_pages(arena), 3UL << 5);
	KUNIT_EXPECT_EQ(test, ka_arena_max_order(arena), 5U);
	for (s = KA_PAGE_PCP; s < KA_PAGE_NR_STATES; s++)
		KUNIT_EXPECT_EQ(test, kt_state(arena, s), 0UL);
	kt_expect_whole(test, arena);
	/* Chunks are sorted by pfn and aligned to their size. */
	for (s = 0; s < arena->nr_chunks; s++) {
		KUNIT_EXPECT_EQ(test, arena->chunks[s].pfn & 31, 0UL);
		if (s)
			KUNIT_EXPECT_GT(test, arena->chunks[s].pfn,
					arena->chunks[s - 1].pfn);
	}
}

static void buddy_create_rejects_bad_arguments(struct kunit *test)
{
	KUNIT_EXPECT_NULL(test, ka_arena_create("kunit", 0, 3));
	KUNIT_EXPECT_NULL(test, ka_arena_create("kunit", 1, KA_MAX_ORDER + 1));
	KUNIT_EXPECT_NULL(test, ka_arena_create("kunit", 1, ~0U));
}

static void buddy_alloc_rejects_bad_arguments(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 3);

	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, 0, 4));
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, BIT(7), 0));
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(NULL, 0, 0));
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, NULL, 0), -EINVAL);
	kt_expect_whole(test, arena);
}

/* === Split and merge === */

/* One order-10 chunk: allocating order o splits 10 - o times. */
static void buddy_split_and_merge_restore_max_order(struct kunit *test)
{
	unsigned int order = *(const unsigned int *)test->param_value;
	struct ka_arena *arena = kt_arena(test, 1, KA_MAX_ORDER);
	struct page *page;
	unsigned int o;

	page = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_TRUE(test, kt_block_is(arena, page, order, KA_PAGE_BLOCK));
	KUNIT_EXPECT_PTR_EQ(test, page, arena->chunks[0].page);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	/* One free upper half at each order from order to max_order - 1. */
	for (o = 0; o <= KA_MAX_ORDER; o++) {
		bool half = o >= order && o < KA_MAX_ORDER;

		KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[o], half ? 1UL : 0UL);
		KUNIT_EXPECT_EQ(test, arena->stats[o].splits,
				o > order ? 1UL : 0UL);
	}
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(arena),
			(1UL << KA_MAX_ORDER) - (1UL << order));

	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, order), 0);
	/* Low orders park on this CPU's list until drained. */
	ka_drain_pcp(arena);
	for (o = 0; o < KA_MAX_ORDER; o++)
		KUNIT_EXPECT_EQ(test, arena->stats[o].merges,
				o >= order ? 1UL : 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[order].allocs), 1L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[order].frees), 1L);
	kt_expect_whole(test, arena);
}

/* Freeing the two halves in either order gives back the whole. */
static void buddy_merge_is_order_independent(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 4);
	struct page *a, *b;

	a = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 3);
	b = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 3);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_EQ(test, abs((long)(page_to_pfn(a) - page_to_pfn(b))), 8L);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, b, 3), 0);
	KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[3], 1UL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, a, 3), 0);
	kt_expect_whole(test, arena);

	a = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 3);
	b = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 3);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, a, 3), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, b, 3), 0);
}

/* All blocks of one order: aligned, disjoint, exactly nr_pages >> order. */
static void buddy_blocks_aligned_to_their_order(struct kunit *test)
{
	unsigned int order = *(const unsigned int *)test->param_value;
	struct ka_arena *arena = kt_arena(test, 2, 6);
	unsigned long nr = ka_arena_nr_pages(arena) >> order, i, j;
	struct page **blocks;

	blocks = kunit_kcalloc(test, nr, sizeof(*blocks), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, blocks);
	for (i = 0; i < nr; i++) {
		blocks[i] = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, order);
		KUNIT_ASSERT_NOT_NULL(test, blocks[i]);
		KUNIT_EXPECT_EQ(test, page_to_pfn(blocks[i]) & ((1UL << order) - 1),
				0UL);
		KUNIT_EXPECT_TRUE(test, kt_block_is(arena, blocks[i], order,
						    KA_PAGE_BLOCK));
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, page_to_pfn(blocks[i]),
					page_to_pfn(blocks[j]));
	}
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, order));
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(arena), 0UL);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	for (i = 0; i < nr; i++)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, blocks[i], order), 0);
}

/* Chunks are top-level blocks: no merge across them. */
static void buddy_never_merges_across_chunks(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 4, 2);
	struct page *pages[16];
	unsigned int i;

	for (i = 0; i < 16; i++) {
		pages[i] = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 0);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, pages[i], 0), 0);
	/* Each chunk merged twice at order 0 and once at order 1, no more. */
	KUNIT_EXPECT_EQ(test, arena->stats[0].merges, 8UL);
	KUNIT_EXPECT_EQ(test, arena->stats[1].merges, 4UL);
	KUNIT_EXPECT_EQ(test, arena->stats[2].merges, 0UL);
	KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[2], 4UL);
}

/* === Exhaustion === */

static void buddy_exhaustion_and_recovery(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 2, 4);
	unsigned long nr = ka_arena_nr_pages(arena), i;
	struct page **pages;

	pages = kunit_kcalloc(test, nr, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (i = 0; i < nr; i++) {
		pages[i] = ka_alloc_pages(arena, 0, 0);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, 0, 0));
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, 0, 4));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[0].failures), 1L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[4].failures), 1L);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(arena), 0UL);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_BLOCK), nr);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);

	for (i = 0; i < nr; i++)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, pages[i], 0), 0);
	/* Recovered: both chunks can be had whole (pcp lists drained). */
	pages[0] = ka_alloc_pages(arena, 0, 4);
	pages[1] = ka_alloc_pages(arena, 0, 4);
	KUNIT_EXPECT_NOT_NULL(test, pages[0]);
	KUNIT_EXPECT_NOT_NULL(test, pages[1]);
	for (i = 0; i < 2; i++)
		if (pages[i])
			ka_free_pages(arena, pages[i], 4);
}

/* === Zeroing === */

static void buddy_zeroes_when_asked(struct kunit *test)
{
	unsigned int order = *(const unsigned int *)test->param_value;
	struct ka_arena *arena = kt_arena(test, 2, 6);
	struct page *page;
	unsigned int round;

	for (round = 0; round < 2; round++) {
		page = ka_alloc_pages(arena, round ? KARENA_ALLOC_ZERO : 0, order);
		KUNIT_ASSERT_NOT_NULL(test, page);
		if (round)
			KUNIT_EXPECT_TRUE(test, kt_filled(page, order, 0));
		memset(page_address(page), 0xa5, PAGE_SIZE << order);
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, order), 0);
	}
	/* The same block comes back zeroed even when it was dirty. */
	page = ka_alloc_pages(arena, KARENA_ALLOC_ZERO, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_TRUE(test, kt_filled(page, order, 0));
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, order), 0);
}

/* === Bulk === */

static void buddy_bulk_alloc_and_free(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 2, 6);
	unsigned long nr = 100, i, j;
	struct page **pages;

	pages = kunit_kcalloc(test, nr, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	KUNIT_EXPECT_EQ(test, ka_alloc_pages_bulk(arena, 0, nr, pages), nr);
	for (i = 0; i < nr; i++) {
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
		KUNIT_EXPECT_TRUE(test, kt_block_is(arena, pages[i], 0,
						    KA_PAGE_BLOCK));
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, pages[i], pages[j]);
	}
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[0].allocs),
			(long)nr);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_BLOCK), nr);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	ka_free_pages_bulk(arena, nr, pages);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[0].frees),
			(long)nr);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_BLOCK), 0UL);
}

static void buddy_bulk_fills_only_empty_slots(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 5);
	struct page *pages[8] = {}, *mine[2];
	unsigned int i;

	mine[0] = ka_alloc_pages(arena, 0, 0);
	mine[1] = ka_alloc_pages(arena, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, mine[0]);
	KUNIT_ASSERT_NOT_NULL(test, mine[1]);
	pages[1] = mine[0];
	pages[6] = mine[1];
	memset(page_address(mine[0]), 0x5a, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ka_alloc_pages_bulk(arena, KARENA_ALLOC_ZERO, 8,
						  pages), 8UL);
	KUNIT_EXPECT_PTR_EQ(test, pages[1], mine[0]);
	KUNIT_EXPECT_PTR_EQ(test, pages[6], mine[1]);
	/* Entries the caller filled are not zeroed; new ones are. */
	KUNIT_EXPECT_TRUE(test, kt_filled(mine[0], 0, 0x5a));
	for (i = 0; i < 8; i++)
		if (i != 1 && i != 6)
			KUNIT_EXPECT_TRUE(test, kt_filled(pages[i], 0, 0));
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_BLOCK), 8UL);
	ka_free_pages_bulk(arena, 8, pages);
}

static void buddy_bulk_partial_when_exhausted(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 4);
	struct page *pages[20] = {};

	KUNIT_EXPECT_EQ(test, ka_alloc_pages_bulk(arena, 0, 20, pages), 16UL);
	KUNIT_EXPECT_NULL(test, pages[16]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[0].failures), 1L);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	ka_free_pages_bulk(arena, 20, pages);
}

/* === Per-CPU lists === */

static struct ka_pcp *kt_this_pcp(struct ka_arena *arena)
{
	return this_cpu_ptr(arena->pcp);
}

static void pcp_alloc_refills_then_hits(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 8, 6);
	unsigned int batch = arena->pcp_batch[0];
	struct page *a, *b;
	struct ka_pcp *pcp;

	if (!arena->pcp_high[0])
		kunit_skip(test, "arena too small for per-CPU lists");
	KUNIT_ASSERT_GE(test, batch, 2U);
	/* Never sleeps: the two calls stay on this CPU. */
	preempt_disable();
	pcp = kt_this_pcp(arena);
	a = ka_alloc_pages(arena, 0, 0);
	b = ka_alloc_pages(arena, 0, 0);
	KUNIT_EXPECT_EQ(test, pcp->refills, 1UL);
	KUNIT_EXPECT_EQ(test, pcp->hits, 1UL);
	KUNIT_EXPECT_EQ(test, pcp->count[0], batch - 2);
	preempt_enable();
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_PCP),
			(unsigned long)batch - 2);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, a, 0), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, b, 0), 0);
	/* Frees park on a list: not merged until drained. */
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_PCP),
			(unsigned long)batch);
}

static void pcp_nopcp_bypasses_lists(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 8, 6);
	struct page *page;

	page = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 0);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_PCP), 0UL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 0), 0);
}

static void pcp_free_trims_at_high_mark(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 8, 6);
	unsigned int high = arena->pcp_high[1], i;
	struct page *pages[64];
	struct ka_pcp *pcp;

	if (!high)
		kunit_skip(test, "arena too small for per-CPU lists");
	KUNIT_ASSERT_LT(test, high, (unsigned int)ARRAY_SIZE(pages));
	for (i = 0; i <= high; i++) {
		pages[i] = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 1);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	preempt_disable();
	pcp = kt_this_pcp(arena);
	for (i = 0; i < high; i++)
		ka_free_pages(arena, pages[i], 1);
	KUNIT_EXPECT_EQ(test, pcp->count[1], high);
	KUNIT_EXPECT_EQ(test, pcp->drains, 0UL);
	ka_free_pages(arena, pages[high], 1);
	KUNIT_EXPECT_EQ(test, pcp->count[1], high + 1 - arena->pcp_batch[1]);
	KUNIT_EXPECT_EQ(test, pcp->drains, 1UL);
	preempt_enable();
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
}

static void pcp_drain_returns_every_page(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 8, 6);
	struct page *pages[4][8];
	unsigned int o, i;

	for (o = 0; o < KA_PCP_ORDERS; o++)
		for (i = 0; i < 8; i++)
			pages[o][i] = ka_alloc_pages(arena, 0, o);
	for (o = 0; o < KA_PCP_ORDERS; o++)
		for (i = 0; i < 8; i++)
			if (pages[o][i])
				ka_free_pages(arena, pages[o][i], o);
	KUNIT_EXPECT_GT(test, kt_state(arena, KA_PAGE_PCP), 0UL);
	ka_drain_pcp(arena);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_PCP), 0UL);
	KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[6],
			(unsigned long)arena->nr_chunks);
}

/* Blocks parked on a list come back when the free lists run dry. */
static void pcp_drained_when_arena_runs_low(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 7);
	struct page *page;

	if (!arena->pcp_high[0])
		kunit_skip(test, "arena too small for per-CPU lists");
	page = ka_alloc_pages(arena, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 0), 0);
	KUNIT_EXPECT_GT(test, kt_state(arena, KA_PAGE_PCP), 0UL);
	KUNIT_EXPECT_EQ(test, arena->nr_free_blocks[7], 0UL);

	page = ka_alloc_pages(arena, 0, 7);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_PCP), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[7].failures), 0L);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 7), 0);
}

struct kt_work {
	struct work_struct work;
	struct ka_arena *arena;
	int ok;
};

static void kt_park_one(struct work_struct *work)
{
	struct kt_work *w = container_of(work, struct kt_work, work);
	struct page *page = ka_alloc_pages(w->arena, 0, 0);

	w->ok = page && !ka_free_pages(w->arena, page, 0);
}

/* A CPU going offline gives its parked blocks back (CPU-dead callback). */
static void pcp_drained_when_cpu_goes_offline(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 8, 6);
	struct kt_work w = { .arena = arena };
	struct ka_pcp *pcp;
	unsigned int cpu;
	int ret;

	if (!arena->pcp_high[0])
		kunit_skip(test, "arena too small for per-CPU lists");
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	cpu = cpumask_last(cpu_online_mask);
	if (!cpu)
		kunit_skip(test, "no CPU other than 0");
	pcp = per_cpu_ptr(arena->pcp, cpu);

	INIT_WORK_ONSTACK(&w.work, kt_park_one);
	schedule_work_on(cpu, &w.work);
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	KUNIT_ASSERT_TRUE(test, w.ok);
	KUNIT_EXPECT_GT(test, READ_ONCE(pcp->count[0]), 0U);

	ret = remove_cpu(cpu);
	if (ret)
		kunit_skip(test, "cannot offline cpu %u: %d", cpu, ret);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pcp->count[0]), 0U);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_PCP), 0UL);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, add_cpu(cpu), 0);
}

/* === Checked frees === */

static void bad_free_outside_arena_refused(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 3);
	struct ka_arena *other = ka_arena_create("kunit-other", 1, 3);
	struct page *kpage, *opage;

	KUNIT_ASSERT_NOT_NULL(test, other);
	kpage = alloc_page(GFP_KERNEL);
	opage = ka_alloc_pages(other, 0, 0);
	KUNIT_EXPECT_NOT_NULL(test, kpage);
	KUNIT_EXPECT_NOT_NULL(test, opage);
	if (kpage)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, kpage, 0), -EINVAL);
	if (opage)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, opage, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_bad(arena, KA_BAD_OUTSIDE), 2UL);
	KUNIT_EXPECT_TRUE(test, test_bit(KA_BAD_OUTSIDE, &arena->bad_reported));
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	if (opage)
		KUNIT_EXPECT_EQ(test, ka_free_pages(other, opage, 0), 0);
	if (kpage)
		__free_page(kpage);
	ka_arena_destroy(other);
}

static void bad_free_interior_page_refused(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 4);
	struct page *page;

	page = ka_alloc_pages(arena, 0, 2);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page + 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page + 3, 2), -EINVAL);
	/* Inside a free block, too. */
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena,
					    arena->chunks[0].page + 9, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, kt_bad(arena, KA_BAD_INTERIOR), 3UL);
	KUNIT_EXPECT_TRUE(test, kt_block_is(arena, page, 2, KA_PAGE_BLOCK));
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 2), 0);
}

static void bad_free_wrong_order_refused(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 4);
	struct page *page;

	page = ka_alloc_pages(arena, 0, 2);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 99), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_bad(arena, KA_BAD_ORDER), 3UL);
	KUNIT_EXPECT_TRUE(test, kt_block_is(arena, page, 2, KA_PAGE_BLOCK));
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 2), 0);
}

/* Double free, through a per-CPU list (order 0) and the free lists. */
static void bad_free_double_free_refused(struct kunit *test)
{
	unsigned int order = *(const unsigned int *)test->param_value;
	struct ka_arena *arena = kt_arena(test, 2, 6);
	unsigned long free_before;
	struct page *page, *keep;

	/* keep stops the block from merging away into a larger one. */
	page = ka_alloc_pages(arena, 0, order);
	keep = ka_alloc_pages(arena, 0, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_NOT_NULL(test, keep);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, order), 0);
	free_before = ka_arena_nr_free(arena);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, order), -EINVAL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, order), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_bad(arena, KA_BAD_FREE), 2UL);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(arena), free_before);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[order].frees), 1L);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, keep, order), 0);
}

/* Bad entries in a bulk free are refused one by one; the rest go. */
static void bad_free_in_bulk_refused(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 5);
	struct page *pages[6] = {}, *big;

	KUNIT_ASSERT_EQ(test, ka_alloc_pages_bulk(arena, 0, 4, pages), 4UL);
	big = ka_alloc_pages(arena, 0, 2);
	KUNIT_ASSERT_NOT_NULL(test, big);
	pages[4] = pages[0];	/* a double free */
	pages[5] = big + 1;	/* an interior page */
	ka_free_pages_bulk(arena, 6, pages);
	KUNIT_EXPECT_EQ(test, kt_bad(arena, KA_BAD_FREE), 1UL);
	KUNIT_EXPECT_EQ(test, kt_bad(arena, KA_BAD_INTERIOR), 1UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[0].frees), 4L);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, big, 2), 0);
}

/* === Owners === */

static void owner_set_on_every_page(struct kunit *test)
{
	enum ka_page_state state =
		*(const enum ka_page_state *)test->param_value;
	struct ka_arena *arena = kt_arena(test, 1, 5);
	int owner;
	struct page *page;
	char *addr;

	page = ka_alloc_pages(arena, 0, 3);
	KUNIT_ASSERT_NOT_NULL(test, page);
	ka_block_set_owner(arena, page, state, &owner);
	KUNIT_EXPECT_TRUE(test, kt_block_is(arena, page, 3, state));
	KUNIT_EXPECT_EQ(test, kt_state(arena, state), 8UL);
	addr = page_address(page);
	KUNIT_EXPECT_PTR_EQ(test, ka_virt_desc(arena, addr)->owner,
			    (void *)&owner);
	KUNIT_EXPECT_PTR_EQ(test,
			    ka_virt_desc(arena, addr + 5 * PAGE_SIZE + 17)->owner,
			    (void *)&owner);
	KUNIT_EXPECT_PTR_EQ(test, ka_page_desc(arena, page + 7)->owner,
			    (void *)&owner);
	KUNIT_EXPECT_NULL(test, ka_virt_desc(arena, &owner));
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	/* Frees accept every allocated state and clear the owner. */
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 3), 0);
	KUNIT_EXPECT_EQ(test, kt_state(arena, state), 0UL);
	KUNIT_EXPECT_NULL(test, ka_page_desc(arena, page + 7)->owner);
}

static void owner_refused_on_free_block(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 3);
	struct page *page = arena->chunks[0].page;
	int owner;

	ka_block_set_owner(arena, page, KA_PAGE_SLAB, &owner);
	KUNIT_EXPECT_TRUE(test, kt_block_is(arena, page, 3, KA_PAGE_FREE));
	KUNIT_EXPECT_NULL(test, ka_page_desc(arena, page)->owner);
	KUNIT_EXPECT_EQ(test, kt_state(arena, KA_PAGE_SLAB), 0UL);
}

/* === Fault injection === */

static void injected_failure_fails_alloc(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 4);
	struct page *page;

	if (!ka_fail_set(arena, 1, 1))
		kunit_skip(test, "kernel without CONFIG_FAULT_INJECTION");
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, 0, 2));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[2].failures), 1L);
	KUNIT_EXPECT_EQ(test, ka_arena_nr_free(arena), 16UL);
	/* times was 1: the next allocation succeeds. */
	page = ka_alloc_pages(arena, 0, 2);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 2), 0);
}

static void injected_failure_stops_bulk(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 5);
	struct page *pages[10] = {};

	/* The fifth page allocation fails. */
	if (!ka_fail_set(arena, 5, 1))
		kunit_skip(test, "kernel without CONFIG_FAULT_INJECTION");
	KUNIT_EXPECT_EQ(test, ka_alloc_pages_bulk(arena, 0, 10, pages), 4UL);
	KUNIT_EXPECT_NOT_NULL(test, pages[3]);
	KUNIT_EXPECT_NULL(test, pages[4]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->stats[0].failures), 1L);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	ka_free_pages_bulk(arena, 10, pages);
}

/* === The checker itself === */

static void validate_detects_corruption(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 2, 3);
	struct ka_page_desc *d;
	struct page *page;

	page = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 1);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, ka_arena_validate(arena), 0);
	d = ka_page_desc(arena, page);

	/* A page of an allocated block claims to be free. */
	d[1].state = KA_PAGE_FREE;
	KUNIT_EXPECT_GT(test, ka_arena_validate(arena), 0);
	d[1].state = KA_PAGE_BLOCK;

	/* A free-list counter is off. */
	arena->nr_free_blocks[1]++;
	KUNIT_EXPECT_GT(test, ka_arena_validate(arena), 0);
	arena->nr_free_blocks[1]--;

	/* A per-state counter is off. */
	atomic_long_inc(&arena->nr_state[KA_PAGE_SLAB]);
	KUNIT_EXPECT_GT(test, ka_arena_validate(arena), 0);
	atomic_long_dec(&arena->nr_state[KA_PAGE_SLAB]);

	/* An interior page of the allocated block claims to be a head. */
	d[1].flags |= KA_DESC_HEAD;
	KUNIT_EXPECT_GT(test, ka_arena_validate(arena), 0);
	d[1].flags &= ~KA_DESC_HEAD;

	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&arena->validate_failures), 4L);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, page, 1), 0);
}

/* The constant-time lookup finds every page of every chunk, and no other. */
static void buddy_desc_lookup_every_chunk_page(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 8, 3);
	unsigned long n = 1UL << arena->max_order, i;
	struct ka_chunk *c;
	unsigned int k;

	KUNIT_EXPECT_NOT_NULL(test, arena->chunk_map);
	for (k = 0; k < arena->nr_chunks; k++) {
		c = &arena->chunks[k];
		for (i = 0; i < n; i++)
			KUNIT_EXPECT_PTR_EQ(test, ka_page_desc(arena, c->page + i),
					    c->desc + i);
		KUNIT_EXPECT_PTR_EQ(test,
				    ka_virt_desc(arena, page_address(c->page) +
						 PAGE_SIZE * n - 1),
				    c->desc + n - 1);
		/* The neighbours are outside unless another chunk is there. */
		if (!k || arena->chunks[k - 1].pfn + n != c->pfn)
			KUNIT_EXPECT_NULL(test, ka_page_desc(arena, c->page - 1));
		if (k == arena->nr_chunks - 1 ||
		    arena->chunks[k + 1].pfn != c->pfn + n)
			KUNIT_EXPECT_NULL(test, ka_page_desc(arena, c->page + n));
	}
}

/* Two free buddies of the same order left unmerged are found. */
static void validate_detects_unmerged_buddies(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 2);
	struct ka_page_desc *d = arena->chunks[0].desc;
	unsigned long flags;

	/* Split the order-2 chunk by hand into two free order-1 blocks. */
	spin_lock_irqsave(&arena->lock, flags);
	list_del(&d[0].lru);
	arena->nr_free_blocks[2]--;
	d[0].order = 1;
	list_add(&d[0].lru, &arena->free_list[1]);
	d[2].flags |= KA_DESC_HEAD;
	d[2].order = 1;
	list_add(&d[2].lru, &arena->free_list[1]);
	arena->nr_free_blocks[1] += 2;
	spin_unlock_irqrestore(&arena->lock, flags);

	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 1);

	spin_lock_irqsave(&arena->lock, flags);
	list_del(&d[0].lru);
	list_del(&d[2].lru);
	arena->nr_free_blocks[1] -= 2;
	d[2].flags &= ~KA_DESC_HEAD;
	d[0].order = 2;
	list_add(&d[0].lru, &arena->free_list[2]);
	arena->nr_free_blocks[2]++;
	spin_unlock_irqrestore(&arena->lock, flags);
}

/* The create path gives back what it got when the kernel runs short. */
static void buddy_create_gives_back_on_shortfall(struct kunit *test)
{
	struct ka_arena_sim two = { 2, KA_MAX_ORDER, 0 };
	struct ka_arena_sim none = { 0, KA_MAX_ORDER, 0 };
	struct ka_arena_sim four = { 4, KA_MAX_ORDER, 0 };
	struct ka_arena *arena;

	KUNIT_EXPECT_NULL(test, __ka_arena_create("kunit", 4, 3, 3, &two));
	KUNIT_EXPECT_NULL(test, __ka_arena_create("kunit", 4, 3, 3, &none));
	/* min_order above max_order, and chunks too many to count. */
	KUNIT_EXPECT_NULL(test, __ka_arena_create("kunit", 4, 3, 4, NULL));
	KUNIT_EXPECT_NULL(test, __ka_arena_create("kunit", UINT_MAX >> 2, 3, 0,
						  &none));
	arena = __ka_arena_create("kunit", 4, 3, 3, &four);
	KUNIT_ASSERT_NOT_NULL(test, arena);
	test->priv = arena;
	KUNIT_EXPECT_EQ(test, ka_arena_nr_pages(arena), 32UL);
	KUNIT_EXPECT_EQ(test, ka_arena_max_order(arena), 3U);
}

/*
 * No free blocks of the order asked for: the arena is made of smaller
 * chunks, down to min_order, and works as an arena of that order.
 */
static void buddy_create_falls_back_to_smaller_chunks(struct kunit *test)
{
	/* Two blocks of order 3, then nothing above order 1. */
	struct ka_arena_sim frag = { UINT_MAX, 1, 2 };
	struct ka_arena_sim none = { UINT_MAX, 1, 0 };
	struct page *pages[16];
	struct ka_arena *arena;
	unsigned int i, heads = 0, parts = 0;

	/* Order 1 is below min_order 2: refused, everything given back. */
	KUNIT_EXPECT_NULL(test, __ka_arena_create("kunit", 4, 3, 2, &frag));

	arena = __ka_arena_create("kunit", 4, 3, 1, &frag);
	KUNIT_ASSERT_NOT_NULL(test, arena);
	test->priv = arena;
	KUNIT_EXPECT_EQ(test, ka_arena_nr_pages(arena), 32UL);
	KUNIT_EXPECT_EQ(test, ka_arena_max_order(arena), 1U);
	KUNIT_EXPECT_EQ(test, arena->nr_chunks, 16U);
	for (i = 0; i < arena->nr_chunks; i++) {
		struct ka_chunk *c = &arena->chunks[i];

		KUNIT_EXPECT_EQ(test, c->pfn & 1, 0UL);
		if (c->alloc_order == KA_CHUNK_PART) {
			parts++;
			continue;
		}
		heads++;
		/* 2 blocks of order 3 (4 chunks each), 8 of order 1. */
		KUNIT_EXPECT_TRUE(test,
				  c->alloc_order == 3 || c->alloc_order == 1);
	}
	KUNIT_EXPECT_EQ(test, heads, 10U);
	KUNIT_EXPECT_EQ(test, parts, 6U);
	kt_expect_whole(test, arena);

	/* Blocks above the chunks' order are not to be had. */
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, 0, 2));
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 1);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	KUNIT_EXPECT_NULL(test, ka_alloc_pages(arena, KARENA_ALLOC_NOPCP, 0));
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, pages[i], 1), 0);
	kt_expect_whole(test, arena);

	/* No order-3 block at all: chunks of order 1 from the start. */
	ka_arena_destroy(arena);
	arena = __ka_arena_create("kunit", 4, 3, 0, &none);
	test->priv = arena;
	KUNIT_ASSERT_NOT_NULL(test, arena);
	KUNIT_EXPECT_EQ(test, arena->nr_chunks, 16U);
	KUNIT_EXPECT_EQ(test, ka_arena_max_order(arena), 1U);
	kt_expect_whole(test, arena);
}

/* What is still allocated at destroy is counted and reported. */
static void destroy_reports_what_is_still_allocated(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 1, 4);
	struct page *a, *b;
	int owner;

	KUNIT_EXPECT_EQ(test, ka_arena_report_leaks(arena), 0UL);
	a = ka_alloc_pages(arena, 0, 2);
	b = ka_alloc_pages(arena, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	ka_block_set_owner(arena, a, KA_PAGE_USER, &owner);
	KUNIT_EXPECT_EQ(test, ka_arena_report_leaks(arena), 5UL);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, a, 2), 0);
	KUNIT_EXPECT_EQ(test, ka_free_pages(arena, b, 0), 0);
	KUNIT_EXPECT_EQ(test, ka_arena_report_leaks(arena), 0UL);
}

/* === Fragmentation indices: mm/vmstat.c's formulas === */

static void kt_expect_indices(struct kunit *test, const unsigned long *nr_free,
			      unsigned int orders, unsigned int order,
			      int unusable, int extfrag)
{
	struct ka_contig_info info;

	ka_fill_contig(nr_free, orders, order, &info);
	KUNIT_EXPECT_EQ_MSG(test, ka_unusable_index(order, &info), unusable,
			    "unusable index at order %u", order);
	KUNIT_EXPECT_EQ_MSG(test, ka_extfrag_index(order, &info), extfrag,
			    "fragmentation index at order %u", order);
}

static void frag_indices_match_kernel_formulas(struct kunit *test)
{
	/* F = 8 pages in B = 5 blocks: four of order 0, one of order 2. */
	static const unsigned long mixed[4] = { 4, 0, 1, 0 };
	static const unsigned long none[4] = { 0, 0, 0, 0 };
	/* Half of a 64 MiB arena free, every other page. */
	static const unsigned long holes[11] = { 8192 };

	kt_expect_indices(test, mixed, 4, 0, 0, -1000);
	kt_expect_indices(test, mixed, 4, 1, 500, -1000);
	kt_expect_indices(test, mixed, 4, 2, 500, -1000);
	/* 1 - (1 + 8/8) / 5 = 0.600 */
	kt_expect_indices(test, mixed, 4, 3, 1000, 600);
	kt_expect_indices(test, none, 4, 0, 1000, 0);
	kt_expect_indices(test, none, 4, 3, 1000, 0);
	/* 1 - (1 + 8192/2) / 8192 = 0.500, 1 - (1 + 8) / 8192 = 0.999 */
	kt_expect_indices(test, holes, 11, 0, 0, -1000);
	kt_expect_indices(test, holes, 11, 1, 1000, 500);
	kt_expect_indices(test, holes, 11, 10, 1000, 999);
}

/* === Random sequence against a shadow model === */

#define KT_RANDOM_STEPS		4000
#define KT_RANDOM_SLOTS		64

struct kt_block {
	struct page *page;	/* NULL: slot empty */
	unsigned int order;
	u8 fill;
};

static void buddy_random_sequence_matches_shadow(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 2, 6);
	unsigned long nr = ka_arena_nr_pages(arena), held = 0, *used;
	struct kt_block *slots;
	struct rnd_state rnd;
	unsigned int step, bad = 0;

	slots = kunit_kcalloc(test, KT_RANDOM_SLOTS, sizeof(*slots),
			      GFP_KERNEL);
	used = kunit_kcalloc(test, BITS_TO_LONGS(nr), sizeof(long),
			     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, slots);
	KUNIT_ASSERT_NOT_NULL(test, used);
	prandom_seed_state(&rnd, 20261121);

	for (step = 0; step < KT_RANDOM_STEPS && !bad; step++) {
		u32 r = prandom_u32_state(&rnd);
		struct kt_block *b = &slots[r % KT_RANDOM_SLOTS];
		unsigned long at;

		if (b->page) {
			at = ka_page_desc(arena, b->page) - arena->desc;
			if (!kt_filled(b->page, b->order, b->fill))
				bad++;
			if (ka_free_pages(arena, b->page, b->order))
				bad++;
			bitmap_clear(used, at, 1 << b->order);
			held -= 1UL << b->order;
			b->page = NULL;
		} else {
			unsigned int order = (r >> 8) % 5;
			unsigned int flags = (r >> 12) & KA_ALLOC_FLAGS;

			b->page = ka_alloc_pages(arena, flags, order);
			if (!b->page) {
				/* Only when no block is large enough. */
				ka_drain_pcp(arena);
				while (order <= arena->max_order)
					if (arena->nr_free_blocks[order++])
						bad++;
				continue;
			}
			b->order = order;
			b->fill = r >> 24;
			at = ka_page_desc(arena, b->page) - arena->desc;
			if (at & ((1UL << order) - 1))
				bad++;
			/* Not handed out twice: disjoint from the shadow. */
			if (find_next_bit(used, at + (1UL << order), at) <
			    at + (1UL << order))
				bad++;
			if ((flags & KARENA_ALLOC_ZERO) &&
			    !kt_filled(b->page, order, 0))
				bad++;
			bitmap_set(used, at, 1 << order);
			held += 1UL << order;
			memset(page_address(b->page), b->fill,
			       PAGE_SIZE << order);
		}
		if ((r >> 20) % 64 == 0)
			ka_drain_pcp(arena);
		if (ka_arena_validate(arena))
			bad++;
		if (ka_arena_nr_free(arena) + held != nr)
			bad++;
		if (bitmap_weight(used, nr) != held)
			bad++;
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0U, "first problem at step %u",
			    step - 1);
	KUNIT_EXPECT_EQ(test, step, (unsigned int)KT_RANDOM_STEPS);

	for (step = 0; step < KT_RANDOM_SLOTS; step++) {
		struct kt_block *b = &slots[step];

		if (!b->page)
			continue;
		KUNIT_EXPECT_TRUE(test, kt_filled(b->page, b->order, b->fill));
		KUNIT_EXPECT_EQ(test, ka_free_pages(arena, b->page, b->order),
				0);
	}
}

/* === Concurrency === */

struct kt_stress {
	struct work_struct work;
	struct ka_arena *arena;
	unsigned int seed;
	unsigned int errors;
};

static void kt_stress_fn(struct work_struct *work)
{
	struct kt_stress *s = container_of(work, struct kt_stress, work);
	struct page *held[16] = {};
	unsigned int orders[16] = {};
	struct rnd_state rnd;
	unsigned int i;

	prandom_seed_state(&rnd, s->seed);
	for (i = 0; i < 3000; i++) {
		u32 r = prandom_u32_state(&rnd);
		unsigned int k = r % 16;

		if (held[k]) {
			if (ka_free_pages(s->arena, held[k], orders[k]))
				s->errors++;
			held[k] = NULL;
		} else {
			orders[k] = (r >> 8) % 4;
			held[k] = ka_alloc_pages(s->arena, 0, orders[k]);
		}
		if (i % 256 == 0)
			cond_resched();
	}
	for (i = 0; i < 16; i++)
		if (held[i] && ka_free_pages(s->arena, held[i], orders[i]))
			s->errors++;
}

/* Every online CPU allocates and frees while this one validates. */
static void buddy_concurrent_use_stays_consistent(struct kunit *test)
{
	struct ka_arena *arena = kt_arena(test, 4, 6);
	struct kt_stress *s;
	unsigned int cpu, n = 0, i;

	s = kunit_kcalloc(test, nr_cpu_ids, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		s[cpu].arena = arena;
		s[cpu].seed = cpu + 1;
		INIT_WORK(&s[cpu].work, kt_stress_fn);
		schedule_work_on(cpu, &s[cpu].work);
		n++;
	}
	for (i = 0; i < 20; i++)
		KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
	for_each_online_cpu(cpu) {
		flush_work(&s[cpu].work);
		KUNIT_EXPECT_EQ(test, s[cpu].errors, 0U);
	}
	cpus_read_unlock();
	KUNIT_EXPECT_GT(test, n, 0U);
	KUNIT_EXPECT_EQ(test, ka_arena_validate(arena), 0);
}

/* === Suite === */

static struct kunit_case kt_buddy_cases[] = {
	KUNIT_CASE(buddy_arena_starts_whole),
	KUNIT_CASE(buddy_desc_lookup_every_chunk_page),
	KUNIT_CASE(buddy_create_rejects_bad_arguments),
	KUNIT_CASE(buddy_create_gives_back_on_shortfall),
	KUNIT_CASE(buddy_create_falls_back_to_smaller_chunks),
	KUNIT_CASE(buddy_alloc_rejects_bad_arguments),
	KUNIT_CASE_PARAM(buddy_split_and_merge_restore_max_order,
			 kt_order_gen_params),
	KUNIT_CASE(buddy_merge_is_order_independent),
	KUNIT_CASE_PARAM(buddy_blocks_aligned_to_their_order,
			 kt_small_order_gen_params),
	KUNIT_CASE(buddy_never_merges_across_chunks),
	KUNIT_CASE(buddy_exhaustion_and_recovery),
	KUNIT_CASE_PARAM(buddy_zeroes_when_asked, kt_small_order_gen_params),
	KUNIT_CASE(buddy_bulk_alloc_and_free),
	KUNIT_CASE(buddy_bulk_fills_only_empty_slots),
	KUNIT_CASE(buddy_bulk_partial_when_exhausted),
	KUNIT_CASE(pcp_alloc_refills_then_hits),
	KUNIT_CASE(pcp_nopcp_bypasses_lists),
	KUNIT_CASE(pcp_free_trims_at_high_mark),
	KUNIT_CASE(pcp_drain_returns_every_page),
	KUNIT_CASE(pcp_drained_when_arena_runs_low),
	KUNIT_CASE(pcp_drained_when_cpu_goes_offline),
	KUNIT_CASE(bad_free_outside_arena_refused),
	KUNIT_CASE(bad_free_interior_page_refused),
	KUNIT_CASE(bad_free_wrong_order_refused),
	KUNIT_CASE_PARAM(bad_free_double_free_refused,
			 kt_small_order_gen_params),
	KUNIT_CASE(bad_free_in_bulk_refused),
	KUNIT_CASE_PARAM(owner_set_on_every_page, kt_alloc_state_gen_params),
	KUNIT_CASE(owner_refused_on_free_block),
	KUNIT_CASE(injected_failure_fails_alloc),
	KUNIT_CASE(injected_failure_stops_bulk),
	KUNIT_CASE(validate_detects_corruption),
	KUNIT_CASE(validate_detects_unmerged_buddies),
	KUNIT_CASE(destroy_reports_what_is_still_allocated),
	KUNIT_CASE(frag_indices_match_kernel_formulas),
	KUNIT_CASE(buddy_random_sequence_matches_shadow),
	KUNIT_CASE(buddy_concurrent_use_stays_consistent),
	{}
};

static struct kunit_suite kt_buddy_suite = {
	.name = "karena_buddy",
	.exit = buddy_test_exit,
	.test_cases = kt_buddy_cases,
};

kunit_test_suites(&kt_buddy_suite);
