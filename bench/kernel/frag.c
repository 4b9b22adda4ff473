// SPDX-License-Identifier: GPL-2.0
/*
 * karena_bench: the fragmentation soak.
 *
 * One pseudo-random pattern of mixed-order allocations and frees (seven
 * allocations for three frees of a random held block) runs until the
 * blocks held fill 90 % of a pool: karena's whole arena on one side, the
 * kernel's free memory less a 64 MiB reserve on the other (the kernel's
 * allocator cannot be confined to a region of the arena's size, so the
 * pool is what it has free).  Both sides then try every order from the
 * largest down and report the largest they could still allocate, and keep
 * holding their blocks so that userspace can read karena's buddyinfo and
 * /proc/buddyinfo (the unusable index per order comes from those) before
 * kb_frag_release() gives everything back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vmstat.h>

#include "bench.h"
#include <karena_kernel.h>

#define KB_FRAG_MAX_ORDER	10	/* largest order probed on both sides */
#define KB_FRAG_RESERVE_PAGES	(64UL << (20 - PAGE_SHIFT))
#define KB_FRAG_MAX_FAILS	1000	/* allocation failures before stopping */

/* A block held by the soak. */
struct kb_block {
	struct page *page;
	unsigned int order;
};

/* The blocks each side holds until kb_frag_release(); [1] is karena's. */
static struct kb_block *kb_held[2];
static unsigned long kb_nr_held[2];

/* Orders 0 to 9, small ones most often (percent: 40 20 15 10 8 4 2 1). */
static unsigned int kb_frag_order(struct rnd_state *rnd)
{
	static const unsigned char cumulative[] = { 40, 60, 75, 85, 93, 97, 99 };
	unsigned int r = prandom_u32_state(rnd) % 100, o;

	for (o = 0; o < ARRAY_SIZE(cumulative); o++)
		if (r < cumulative[o])
			return o;
	return 9;
}

static struct page *kb_frag_alloc(bool ours, unsigned int order)
{
	if (ours)
		return karena_alloc_pages(0, order);
	return alloc_pages(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN, order);
}

static void kb_frag_free(bool ours, struct page *page, unsigned int order)
{
	if (ours)
		karena_free_pages(page, order);
	else
		__free_pages(page, order);
}

/* Run the pattern on one side until @target pages are held. */
static void kb_frag_soak(bool ours, unsigned long pool, unsigned long target)
{
	struct kb_block *held = kb_held[ours];
	unsigned long nr = 0, pages = 0, fails = 0, steps = 0, i;
	struct rnd_state rnd;
	struct page *page;
	unsigned int order;
	int largest = -1;

	kb_rnd_seed(&rnd, 0x66726167ULL);
	while (pages < target && fails < KB_FRAG_MAX_FAILS) {
		if (!(++steps % 256))
			cond_resched();
		if (nr && prandom_u32_state(&rnd) % 10 < 3) {
			i = prandom_u32_state(&rnd) % nr;
			kb_frag_free(ours, held[i].page, held[i].order);
			pages -= 1UL << held[i].order;
			held[i] = held[--nr];
			continue;
		}
		order = kb_frag_order(&rnd);
		page = kb_frag_alloc(ours, order);
		if (!page) {
			fails++;
			continue;
		}
		held[nr].page = page;
		held[nr++].order = order;
		pages += 1UL << order;
	}
	kb_nr_held[ours] = nr;

	for (order = KB_FRAG_MAX_ORDER + 1; order-- > 0;) {
		page = kb_frag_alloc(ours, order);
		if (page) {
			kb_frag_free(ours, page, order);
			largest = order;
			break;
		}
	}
	kb_emit("F\t%s\tpool=%lu\ttarget=%lu\theld=%lu\tblocks=%lu\tfailures=%lu\tlargest=%d\n",
		ours ? "ours" : "ref", pool, target, pages, nr, fails,
		largest);
}

/**
 * kb_frag_hold() - run the soak on both sides and keep the blocks.
 * @arena_pages: pages in karena's arena (its arena_mb parameter).
 *
 * Context: Process context; nothing held yet.
 * Return: 0, -EBUSY if blocks are still held, -ENOMEM.
 */
int kb_frag_hold(unsigned long arena_pages)
{
	unsigned long pool[2], free;
	int side;

	if (kb_held[0] || kb_held[1])
		return -EBUSY;
	free = global_zone_page_state(NR_FREE_PAGES);
	pool[0] = free > KB_FRAG_RESERVE_PAGES ? free - KB_FRAG_RESERVE_PAGES : 0;
	pool[1] = arena_pages;
	for (side = 0; side < 2; side++) {
		kb_held[side] = kvcalloc(pool[side] + 1, sizeof(struct kb_block),
					 GFP_KERNEL);
		if (!kb_held[side]) {
			kb_frag_release();
			return -ENOMEM;
		}
	}
	/* karena first, so that the kernel's pool is measured after it. */
	kb_frag_soak(true, pool[1], pool[1] / 10 * 9);
	kb_frag_soak(false, pool[0], pool[0] / 10 * 9);
	return 0;
}

/**
 * kb_frag_release() - free every block the soak holds.
 *
 * Context: Process context.
 */
void kb_frag_release(void)
{
	unsigned long i;
	int side;

	for (side = 0; side < 2; side++) {
		if (!kb_held[side])
			continue;
		for (i = 0; i < kb_nr_held[side]; i++)
			kb_frag_free(side, kb_held[side][i].page,
				     kb_held[side][i].order);
		kvfree(kb_held[side]);
		kb_held[side] = NULL;
		kb_nr_held[side] = 0;
	}
}
