// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the buddy layer's invariant checker.
 *
 * ka_arena_validate() is the one place that knows what a healthy arena
 * looks like.  KUnit runs it after every step, debugfs runs it on demand
 * (karena/validate), and ka_arena_destroy() runs it at unload.  It
 * checks, with every lock of the arena held:
 *
 *  1. every free list and per-CPU list: its length equals its counter;
 *     each entry is a block head of the list's order, aligned to its size,
 *     inside one chunk, all its pages in the list's state (FREE or PCP);
 *  2. no page is on two lists or twice on one (no overlap);
 *  3. no free block has a free buddy of the same order (nothing left
 *     unmerged);
 *  4. walking each chunk block by block from its first page covers every
 *     page exactly once; every block is in one state on all its pages;
 *     free and parked blocks are on a list, allocated blocks are not;
 *  5. the pages counted per state equal the arena's counters, and the
 *     free pages equal the free-list total.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "buddy_internal.h"

/* Print at most this many problems per run; count all of them. */
#define KA_VALIDATE_REPORT_MAX	16

struct ka_vctx {
	struct ka_arena *arena;
	unsigned long *seen;	/* pages met on a list, by arena index */
	unsigned int errors;
	unsigned long pages[KA_PAGE_NR_STATES];	/* met in the chunk walk */
};

static __printf(2, 3) void ka_problem(struct ka_vctx *v, const char *fmt,
				       ...)
{
	struct va_format vaf;
	va_list args;

	if (v->errors++ >= KA_VALIDATE_REPORT_MAX)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("validate: arena %s: %pV\n", v->arena->name, &vaf);
	va_end(args);
}

static bool ka_desc_in_arena(struct ka_arena *arena, struct ka_page_desc *d)
{
	return d >= arena->desc && d < arena->desc + arena->nr_pages;
}

/* Check one entry of a list of blocks of @order in @state (1, 2, 3). */
static void ka_check_listed(struct ka_vctx *v, struct ka_page_desc *d,
			    unsigned int order, unsigned int state,
			    const char *list)
{
	struct ka_arena *arena = v->arena;
	unsigned long idx = ka_desc_index(arena, d);
	unsigned long at = d - arena->desc;
	unsigned int chunk = ka_desc_chunk(arena, d);
	unsigned long i;

	if (!(d->flags & KA_DESC_HEAD) || d->order != order ||
	    d->state != state) {
		ka_problem(v, "%s: chunk %u page %lu: head %d order %u state %u, want head %u %u",
			   list, chunk, idx, !!(d->flags & KA_DESC_HEAD),
			   d->order, d->state, order, state);
		return;
	}
	if (idx & ((1UL << order) - 1)) {
		ka_problem(v, "%s: chunk %u page %lu: not aligned to order %u",
			   list, chunk, idx, order);
		return;
	}
	for (i = 0; i < (1UL << order); i++) {
		if (test_and_set_bit(at + i, v->seen))
			ka_problem(v, "%s: chunk %u page %lu is on a list twice (overlap)",
				   list, chunk, idx + i);
		if (i && (d[i].flags & KA_DESC_HEAD))
			ka_problem(v, "%s: chunk %u page %lu: a head inside block %lu",
				   list, chunk, idx + i, idx);
		if (d[i].state != state)
			ka_problem(v, "%s: chunk %u page %lu: state %u in a block of %u",
				   list, chunk, idx + i, d[i].state, state);
	}
	if (state == KA_PAGE_FREE && order < arena->max_order) {
		unsigned long bidx = idx ^ (1UL << order);
		struct ka_page_desc *b = d - idx + bidx;

		if (bidx > idx && (b->flags & KA_DESC_HEAD) &&
		    b->state == KA_PAGE_FREE && b->order == order)
			ka_problem(v, "chunk %u: free buddies %lu and %lu of order %u unmerged",
				   chunk, idx, bidx, order);
	}
}

/*
 * Walk one list; stop at a pointer outside the arena or a loop longer
 * than the arena, since the rest of such a list cannot be trusted.
 * Returns the entries met.
 */
static unsigned long ka_check_list(struct ka_vctx *v, struct list_head *head,
				   unsigned int order, unsigned int state,
				   const char *list)
{
	struct ka_arena *arena = v->arena;
	struct list_head *pos;
	unsigned long n = 0;

	for (pos = head->next; pos != head; pos = pos->next) {
		struct ka_page_desc *d = list_entry(pos, struct ka_page_desc,
						    lru);

		if (!ka_desc_in_arena(arena, d)) {
			ka_problem(v, "%s: entry %lu is not a descriptor of the arena",
				   list, n);
			break;
		}
		if (++n > arena->nr_pages) {
			ka_problem(v, "%s: longer than the arena (a loop)",
				   list);
			break;
		}
		ka_check_listed(v, d, order, state, list);
	}
	return n;
}

static void ka_check_lists(struct ka_vctx *v)
{
	struct ka_arena *arena = v->arena;
	unsigned long n, free_pages = 0;
	unsigned int o, cpu;
	char list[32];

	for (o = 0; o <= arena->max_order; o++) {
		snprintf(list, sizeof(list), "free list %u", o);
		n = ka_check_list(v, &arena->free_list[o], o, KA_PAGE_FREE,
				  list);
		if (n != arena->nr_free_blocks[o])
			ka_problem(v, "%s holds %lu blocks, its counter says %lu",
				   list, n, arena->nr_free_blocks[o]);
		free_pages += n << o;
	}
	if (free_pages != arena->nr_free)
		ka_problem(v, "free lists hold %lu pages, nr_free says %lu",
			   free_pages, arena->nr_free);

	for_each_possible_cpu(cpu) {
		struct ka_pcp *pcp = per_cpu_ptr(arena->pcp, cpu);

		for (o = 0; o < KA_PCP_ORDERS; o++) {
			snprintf(list, sizeof(list), "cpu %u list %u", cpu, o);
			n = ka_check_list(v, &pcp->list[o], o, KA_PAGE_PCP,
					  list);
			if (n != pcp->count[o])
				ka_problem(v, "%s holds %lu blocks, its counter says %u",
					   list, n, pcp->count[o]);
			if (n && o > arena->max_order)
				ka_problem(v, "%s is above max_order", list);
		}
	}
}

/* 4: walk a chunk block by block. */
static void ka_check_chunk(struct ka_vctx *v, unsigned int c)
{
	struct ka_arena *arena = v->arena;
	struct ka_page_desc *base = arena->chunks[c].desc;
	unsigned long size = 1UL << arena->max_order;
	unsigned long i = 0, j, at;

	while (i < size) {
		struct ka_page_desc *d = &base[i];
		unsigned int order = d->order, state = d->state;
		bool listed;

		if (!(d->flags & KA_DESC_HEAD)) {
			ka_problem(v, "chunk %u page %lu belongs to no block",
				   c, i);
			i++;
			continue;
		}
		if (order > arena->max_order || (i & ((1UL << order) - 1)) ||
		    state >= KA_PAGE_NR_STATES) {
			ka_problem(v, "chunk %u page %lu: bad head (order %u, state %u)",
				   c, i, order, state);
			i++;
			continue;
		}
		at = d - arena->desc;
		listed = state == KA_PAGE_FREE || state == KA_PAGE_PCP;
		for (j = 0; j < (1UL << order); j++) {
			if (j && (d[j].flags & KA_DESC_HEAD))
				ka_problem(v, "chunk %u page %lu: a head inside block %lu",
					   c, i + j, i);
			if (d[j].state != state)
				ka_problem(v, "chunk %u page %lu: state %u in a block of %u",
					   c, i + j, d[j].state, state);
			if (test_bit(at + j, v->seen) != listed)
				ka_problem(v, "chunk %u page %lu: a %s block %s",
					   c, i + j, ka_page_state_name(state),
					   listed ? "on no list" :
						    "on a free list");
		}
		v->pages[state] += 1UL << order;
		i += 1UL << order;
	}
}

/**
 * ka_arena_validate_locked() - check every invariant of a locked arena.
 * @arena: the arena; the caller holds every per-CPU list lock and
 *	arena->lock.
 * @seen: a zeroed bitmap of arena->nr_pages bits (scratch).
 *
 * Context: IRQs disabled, all the arena's locks held.
 * Return: the number of problems found (each reported, up to a limit).
 */
int ka_arena_validate_locked(struct ka_arena *arena, unsigned long *seen)
{
	struct ka_vctx v = { .arena = arena, .seen = seen };
	unsigned int c, s;

	lockdep_assert_held(&arena->lock);
	ka_check_lists(&v);
	for (c = 0; c < arena->nr_chunks; c++)
		ka_check_chunk(&v, c);

	if (v.pages[KA_PAGE_FREE] != arena->nr_free)
		ka_problem(&v, "%lu pages are free, nr_free says %lu",
			   v.pages[KA_PAGE_FREE], arena->nr_free);
	for (s = KA_PAGE_PCP; s < KA_PAGE_NR_STATES; s++) {
		long counted = atomic_long_read(&arena->nr_state[s]);

		if (v.pages[s] != counted)
			ka_problem(&v, "%lu pages are in state %s, the counter says %ld",
				   v.pages[s], ka_page_state_name(s), counted);
	}
	if (v.errors > KA_VALIDATE_REPORT_MAX)
		pr_err("validate: arena %s: %u more problems not shown\n",
		       arena->name, v.errors - KA_VALIDATE_REPORT_MAX);
	return v.errors;
}

/**
 * ka_arena_validate() - check every invariant of an arena.
 * @arena: the arena.
 *
 * Takes every lock of the arena, so the picture is exact even while
 * other CPUs allocate and free (they wait).  Each problem is reported
 * with pr_err() (the first 16 of a run), and the run is counted in the
 * arena's validate_runs/validate_failures.
 *
 * Context: Process context; sleeps (scratch bitmap, validate_lock).
 * Return: 0 if the arena is consistent, the number of problems found, or
 * -ENOMEM if the scratch bitmap could not be allocated.
 */
int ka_arena_validate(struct ka_arena *arena)
{
	unsigned long *seen;
	unsigned long flags;
	int errors;

	seen = bitmap_zalloc(arena->nr_pages, GFP_KERNEL);
	if (!seen)
		return -ENOMEM;
	mutex_lock(&arena->validate_lock);
	ka_pcp_lock_all(arena, &flags);
	spin_lock(&arena->lock);
	errors = ka_arena_validate_locked(arena, seen);
	spin_unlock(&arena->lock);
	ka_pcp_unlock_all(arena, flags);
	mutex_unlock(&arena->validate_lock);
	bitmap_free(seen);

	atomic_long_inc(&arena->validate_runs);
	if (errors)
		atomic_long_inc(&arena->validate_failures);
	return errors;
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_validate);
