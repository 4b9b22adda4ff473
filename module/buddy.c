// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the buddy page allocator over a private arena.
 *
 * The arena is a set of chunks, each 2^max_order physically contiguous,
 * naturally aligned pages from one alloc_pages() call, or a part of one
 * when the kernel ran short of blocks that large and the arena was made
 * of smaller chunks (ka_arena_create_flexible()).  A chunk is the largest
 * buddy block; blocks never merge across chunks, because two chunks are
 * not known to be adjacent.
 *
 * Inside a chunk, a block of order o starts at a page index i (relative to
 * the chunk) that is a multiple of 2^o.  Its buddy, the other half of the
 * block of order o + 1 that contains it, starts at i ^ (1 << o).  Freeing a
 * block looks at the buddy's descriptor: if the buddy is a free block of
 * the same order, the two are taken off the free list and become one block
 * of order o + 1 starting at min(i, buddy), and so on up to max_order.
 * Allocating takes the smallest free block of order >= o and splits it,
 * putting the upper halves on the free lists:
 *
 *   order 3 chunk  [0 1 2 3 4 5 6 7]          alloc order 1:
 *   split order 3  [0 1 2 3][4 5 6 7]         4..7 -> free list 2
 *   split order 2  [0 1][2 3]                 2..3 -> free list 1
 *   allocated      [0 1]                      head 0, order 1
 *
 * Page descriptors (struct ka_page_desc) live in a kvmalloc'ed array, one
 * per arena page, chunk after chunk; no metadata is ever stored inside an
 * arena page.  A page's descriptor is found in constant time through a
 * table indexed by pfn >> max_order over the span of the chunks (one u32
 * per possible chunk position), or by a binary search of the chunks
 * sorted by pfn if they are spread too far apart for that table.
 *
 * Low orders (0..KA_PCP_ORDERS-1) have per-CPU page lists in front of the
 * free lists, as in Linux: a free parks the block on the CPU's list, an
 * allocation takes from it, and the list is refilled from and trimmed to
 * the free lists in batches.  Parked blocks are in state KA_PAGE_PCP and
 * do not merge.  When the free lists cannot serve an allocation, every
 * CPU's lists are drained and the allocation is retried once; a dead
 * CPU's lists are drained by a CPU-hotplug callback.
 *
 * Every free is checked before it is trusted (ka_check_free()): a page
 * outside the arena, a page inside a block, a wrong order or a block that
 * is already free is rejected with -EINVAL, counted in arena->bad_free and
 * reported once per kind; the lists are not touched.
 *
 * Lock order: internal.h; what each lock protects: buddy_internal.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "buddy_internal.h"
#include "internal.h"

/* === Data === */

/* The module's arena, made by ka_buddy_init(); NULL before and after. */
struct ka_arena *ka_global_arena;

/* Dynamic CPU-hotplug state of the CPU-dead callback; 0 when not set up. */
static int ka_cpuhp_state;

static const char * const ka_bad_free_what[KA_BAD_NR] = {
	[KA_BAD_OUTSIDE]	= "the page is not in the arena",
	[KA_BAD_INTERIOR]	= "the page is inside a block, not its first page",
	[KA_BAD_ORDER]		= "the order is not the block's order",
	[KA_BAD_FREE]		= "the block is already free",
};

/* === Descriptors === */

static struct ka_chunk *ka_find_chunk(struct ka_arena *arena,
				      unsigned long pfn)
{
	unsigned int lo = 0, hi = arena->nr_chunks;

	if (likely(arena->chunk_map)) {
		/* Below chunk_base, the difference wraps to a huge slot. */
		unsigned long slot = (pfn >> arena->max_order) -
				     arena->chunk_base;

		if (slot >= arena->chunk_span || !arena->chunk_map[slot])
			return NULL;
		return &arena->chunks[arena->chunk_map[slot] - 1];
	}

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct ka_chunk *c = &arena->chunks[mid];

		if (pfn < c->pfn)
			hi = mid;
		else if (pfn - c->pfn >= (1UL << arena->max_order))
			lo = mid + 1;
		else
			return c;
	}
	return NULL;
}

/**
 * ka_page_desc() - the descriptor of an arena page.
 * @arena: the arena.
 * @page: any page.
 *
 * Context: Any context.
 * Return: the descriptor of @page, or NULL if @page is not in @arena.
 */
struct ka_page_desc *ka_page_desc(struct ka_arena *arena, struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	struct ka_chunk *c = ka_find_chunk(arena, pfn);

	return c ? c->desc + (pfn - c->pfn) : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(ka_page_desc);

/**
 * ka_virt_desc() - the descriptor of the arena page holding an address.
 * @arena: the arena.
 * @addr: a kernel (linear map) address; need not be page aligned.
 *
 * This is how the slab layer finds the slab of an object:
 * ka_virt_desc(arena, obj)->owner.
 *
 * Context: Any context.
 * Return: the descriptor, or NULL if @addr is not in @arena.
 */
struct ka_page_desc *ka_virt_desc(struct ka_arena *arena, const void *addr)
{
	if (!virt_addr_valid(addr))
		return NULL;
	return ka_page_desc(arena, virt_to_page(addr));
}
EXPORT_SYMBOL_IF_KUNIT(ka_virt_desc);

/**
 * ka_desc_page() - the page an arena descriptor describes.
 * @arena: the arena.
 * @desc: a descriptor of @arena.
 *
 * Context: Any context.
 * Return: the page.
 */
struct page *ka_desc_page(struct ka_arena *arena, struct ka_page_desc *desc)
{
	return arena->chunks[ka_desc_chunk(arena, desc)].page +
	       ka_desc_index(arena, desc);
}

/* Give every page of a block the block's state and owner. */
static void ka_set_block_state(struct ka_page_desc *head, unsigned int order,
			       enum ka_page_state state, void *owner)
{
	unsigned long i;

	for (i = 0; i < (1UL << order); i++) {
		WRITE_ONCE(head[i].state, state);
		WRITE_ONCE(head[i].owner, owner);
	}
}

static bool ka_state_allocated(unsigned int state)
{
	return state >= KA_PAGE_BLOCK && state < KA_PAGE_NR_STATES;
}

/* === Free lists: every function here needs arena->lock === */

static void ka_add_free(struct ka_arena *arena, struct ka_page_desc *d,
			unsigned int order)
{
	lockdep_assert_held(&arena->lock);
	WRITE_ONCE(d->flags, d->flags | KA_DESC_HEAD);
	WRITE_ONCE(d->order, order);
	list_add(&d->lru, &arena->free_list[order]);
	arena->nr_free_blocks[order]++;
	arena->nr_free += 1UL << order;
}

static void ka_del_free(struct ka_arena *arena, struct ka_page_desc *d,
			unsigned int order)
{
	lockdep_assert_held(&arena->lock);
	list_del(&d->lru);
	arena->nr_free_blocks[order]--;
	arena->nr_free -= 1UL << order;
}

/*
 * Take a free block of @order off the free lists, splitting a larger one
 * if needed.  The block's pages stay in state FREE; the caller sets them.
 */
static struct ka_page_desc *ka_rmqueue(struct ka_arena *arena,
				       unsigned int order)
{
	struct ka_page_desc *d;
	unsigned int o;

	lockdep_assert_held(&arena->lock);
	for (o = order; o <= arena->max_order; o++)
		if (!list_empty(&arena->free_list[o]))
			break;
	if (o > arena->max_order)
		return NULL;

	d = list_first_entry(&arena->free_list[o], struct ka_page_desc, lru);
	ka_del_free(arena, d, o);
	while (o > order) {
		arena->stats[o].splits++;
		o--;
		/* The upper half becomes a free block of order o. */
		ka_add_free(arena, d + (1UL << o), o);
	}
	WRITE_ONCE(d->order, order);
	return d;
}

/*
 * Put a block whose head is no longer allocated on the free lists, merging
 * it with its buddy as long as the buddy is a free block of the same order.
 */
static void ka_merge_free(struct ka_arena *arena, struct ka_page_desc *d,
			  unsigned int order)
{
	unsigned long idx = ka_desc_index(arena, d);
	struct ka_page_desc *base = d - idx;

	lockdep_assert_held(&arena->lock);
	ka_set_block_state(d, order, KA_PAGE_FREE, NULL);
	while (order < arena->max_order) {
		unsigned long bidx = idx ^ (1UL << order);
		struct ka_page_desc *b = base + bidx;

		if (!(b->flags & KA_DESC_HEAD) || b->state != KA_PAGE_FREE ||
		    b->order != order)
			break;
		ka_del_free(arena, b, order);
		arena->stats[order].merges++;
		/* The upper half's head becomes an interior page. */
		if (bidx < idx) {
			WRITE_ONCE(d->flags, d->flags & ~KA_DESC_HEAD);
			d = b;
			idx = bidx;
		} else {
			WRITE_ONCE(b->flags, b->flags & ~KA_DESC_HEAD);
		}
		order++;
	}
	ka_add_free(arena, d, order);
}

/* === Checked frees === */

/*
 * Is (@page, @order) an allocated block head of @arena?  Lockless reads:
 * the caller then claims the block with ka_claim_block(), which is what
 * makes the answer stick.
 */
static enum ka_bad_free ka_check_free(struct ka_arena *arena,
				      struct page *page, unsigned int order,
				      struct ka_page_desc **descp)
{
	struct ka_page_desc *d = ka_page_desc(arena, page);
	unsigned int state;

	if (!d)
		return KA_BAD_OUTSIDE;
	if (!(READ_ONCE(d->flags) & KA_DESC_HEAD))
		return KA_BAD_INTERIOR;
	state = READ_ONCE(d->state);
	if (!ka_state_allocated(state))
		return KA_BAD_FREE;
	if (READ_ONCE(d->order) != order)
		return KA_BAD_ORDER;
	*descp = d;
	return KA_BAD_NR;
}

/*
 * Move a checked block head from its allocated state to @to.  Of two
 * racing frees of one block, only one sees the old state: the other is a
 * double free.  Returns the old state, or KA_PAGE_FREE if it lost.
 */
static unsigned int ka_claim_block(struct ka_page_desc *d,
				   enum ka_page_state to)
{
	u8 old = READ_ONCE(d->state);

	if (!ka_state_allocated(old) || cmpxchg(&d->state, old, to) != old)
		return KA_PAGE_FREE;
	return old;
}

static void ka_report_bad_free(struct ka_arena *arena, enum ka_bad_free kind,
			       struct page *page, unsigned int order)
{
	struct ka_page_desc *d;

	atomic_long_inc(&arena->bad_free[kind]);
	if (test_and_set_bit(kind, &arena->bad_reported))
		return;
	d = ka_page_desc(arena, page);
	if (d)
		pr_err("arena %s: rejected free of chunk %u page %lu order %u: %s (block order %u); later frees of this kind are only counted\n",
		       arena->name, ka_desc_chunk(arena, d),
		       ka_desc_index(arena, d), order, ka_bad_free_what[kind],
		       READ_ONCE(d->order));
	else
		pr_err("arena %s: rejected free of page %p order %u: %s; later frees of this kind are only counted\n",
		       arena->name, page, order, ka_bad_free_what[kind]);
}

/* === Per-CPU page lists === */

static bool ka_pcp_enabled(struct ka_arena *arena, unsigned int order,
			   unsigned int flags)
{
	return order < KA_PCP_ORDERS && arena->pcp_high[order] &&
	       !(flags & KARENA_ALLOC_NOPCP);
}

/* Lock this CPU's lists; the task stays on this CPU until unlock. */
static struct ka_pcp *ka_pcp_lock(struct ka_arena *arena,
				  unsigned long *flags)
	__acquires(&arena->pcp->lock)
{
	struct ka_pcp *pcp;

	/* Interrupts off first: no migration between the pick and the lock. */
	local_irq_save(*flags);
	pcp = this_cpu_ptr(arena->pcp);
	spin_lock(&pcp->lock);
	return pcp;
}

static void ka_pcp_unlock(struct ka_pcp *pcp, unsigned long flags)
	__releases(&pcp->lock)
{
	spin_unlock(&pcp->lock);
	local_irq_restore(flags);
}

/* Move up to a batch of blocks from the free lists to @pcp's list. */
static void ka_pcp_refill(struct ka_arena *arena, struct ka_pcp *pcp,
			  unsigned int order)
{
	struct ka_page_desc *d;
	unsigned int i;

	lockdep_assert_held(&pcp->lock);
	spin_lock(&arena->lock);
	for (i = 0; i < arena->pcp_batch[order]; i++) {
		d = ka_rmqueue(arena, order);
		if (!d)
			break;
		ka_set_block_state(d, order, KA_PAGE_PCP, NULL);
		list_add_tail(&d->lru, &pcp->list[order]);
	}
	spin_unlock(&arena->lock);
	if (i) {
		pcp->count[order] += i;
		atomic_long_add((unsigned long)i << order,
				&arena->nr_state[KA_PAGE_PCP]);
		pcp->refills++;
	}
}

/* Give the @nr coldest blocks of @pcp's list back to the free lists. */
static void ka_pcp_to_buddy(struct ka_arena *arena, struct ka_pcp *pcp,
			    unsigned int order, unsigned int nr)
{
	struct list_head *list = &pcp->list[order];
	struct ka_page_desc *d;

	lockdep_assert_held(&pcp->lock);
	spin_lock(&arena->lock);
	while (nr-- && !list_empty(list)) {
		d = list_last_entry(list, struct ka_page_desc, lru);
		list_del(&d->lru);
		pcp->count[order]--;
		atomic_long_sub(1L << order, &arena->nr_state[KA_PAGE_PCP]);
		ka_merge_free(arena, d, order);
	}
	spin_unlock(&arena->lock);
	pcp->drains++;
}

static struct ka_page_desc *ka_pcp_take(struct ka_arena *arena,
					struct ka_pcp *pcp,
					unsigned int order)
{
	struct list_head *list = &pcp->list[order];
	struct ka_page_desc *d;

	lockdep_assert_held(&pcp->lock);
	if (list_empty(list))
		ka_pcp_refill(arena, pcp, order);
	else
		pcp->hits++;
	d = list_first_entry_or_null(list, struct ka_page_desc, lru);
	if (!d)
		return NULL;
	list_del(&d->lru);
	pcp->count[order]--;
	atomic_long_sub(1L << order, &arena->nr_state[KA_PAGE_PCP]);
	ka_set_block_state(d, order, KA_PAGE_BLOCK, NULL);
	atomic_long_add(1L << order, &arena->nr_state[KA_PAGE_BLOCK]);
	return d;
}

/* Free one block to @pcp's list; returns KA_BAD_NR or why it was refused. */
static enum ka_bad_free ka_pcp_free(struct ka_arena *arena,
				    struct ka_pcp *pcp, struct page *page,
				    unsigned int order)
{
	struct ka_page_desc *d;
	enum ka_bad_free bad;
	unsigned int old;

	lockdep_assert_held(&pcp->lock);
	bad = ka_check_free(arena, page, order, &d);
	if (bad != KA_BAD_NR)
		return bad;
	old = ka_claim_block(d, KA_PAGE_PCP);
	if (old == KA_PAGE_FREE)
		return KA_BAD_FREE;
	ka_set_block_state(d, order, KA_PAGE_PCP, NULL);
	atomic_long_sub(1L << order, &arena->nr_state[old]);
	atomic_long_add(1L << order, &arena->nr_state[KA_PAGE_PCP]);
	list_add(&d->lru, &pcp->list[order]);
	if (++pcp->count[order] > arena->pcp_high[order])
		ka_pcp_to_buddy(arena, pcp, order, arena->pcp_batch[order]);
	return KA_BAD_NR;
}

static void ka_pcp_drain_cpu(struct ka_arena *arena, unsigned int cpu)
{
	struct ka_pcp *pcp = per_cpu_ptr(arena->pcp, cpu);
	unsigned long flags;
	unsigned int o;

	spin_lock_irqsave(&pcp->lock, flags);
	for (o = 0; o < KA_PCP_ORDERS; o++)
		if (pcp->count[o])
			ka_pcp_to_buddy(arena, pcp, o, pcp->count[o]);
	spin_unlock_irqrestore(&pcp->lock, flags);
}

/**
 * ka_drain_pcp() - give every CPU's parked blocks back to the free lists.
 * @arena: the arena.
 *
 * Afterwards (until the next low-order allocation or free) every free
 * page is on the free lists, fully merged.  Used when the free lists run
 * dry, before validation at unload, and by callers that want an exact
 * picture.
 *
 * Context: Any context that may take spinlocks; IRQs are disabled inside.
 */
void ka_drain_pcp(struct ka_arena *arena)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		ka_pcp_drain_cpu(arena, cpu);
}
EXPORT_SYMBOL_IF_KUNIT(ka_drain_pcp);

/**
 * ka_pcp_lock_all() - lock every CPU's page lists and disable IRQs.
 * @arena: the arena; the caller holds arena->validate_lock.
 * @flags: where to save the IRQ state.
 *
 * Context: Process context; returns with IRQs disabled.
 */
void ka_pcp_lock_all(struct ka_arena *arena, unsigned long *flags)
	__acquires(&arena->pcp->lock)
{
	unsigned int cpu;

	lockdep_assert_held(&arena->validate_lock);
	local_irq_save(*flags);
	for_each_possible_cpu(cpu) {
		spin_lock_nest_lock(&per_cpu_ptr(arena->pcp, cpu)->lock,
				    &arena->validate_lock);
		/* For sparse: the loop's locks count as one, taken below. */
		__release(&arena->pcp->lock);
	}
	__acquire(&arena->pcp->lock);
}

/**
 * ka_pcp_unlock_all() - undo ka_pcp_lock_all().
 * @arena: the arena.
 * @flags: the IRQ state ka_pcp_lock_all() saved.
 *
 * Context: After ka_pcp_lock_all().
 */
void ka_pcp_unlock_all(struct ka_arena *arena, unsigned long flags)
	__releases(&arena->pcp->lock)
{
	unsigned int cpu;

	__release(&arena->pcp->lock);
	for_each_possible_cpu(cpu) {
		__acquire(&arena->pcp->lock);
		spin_unlock(&per_cpu_ptr(arena->pcp, cpu)->lock);
	}
	local_irq_restore(flags);
}

/**
 * ka_arena_pcp_pages() - pages parked on per-CPU lists.
 * @arena: the arena.
 *
 * Context: Any context; the value may be stale at once.
 * Return: the number of pages in state %KA_PAGE_PCP.
 */
unsigned long ka_arena_pcp_pages(struct ka_arena *arena)
{
	return atomic_long_read(&arena->nr_state[KA_PAGE_PCP]);
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_pcp_pages);

static int ka_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct ka_arena *arena = hlist_entry(node, struct ka_arena,
					     cpuhp_node);

	ka_pcp_drain_cpu(arena, cpu);
	return 0;
}

/* === Allocation and free === */

static struct ka_page_desc *ka_buddy_alloc(struct ka_arena *arena,
					   unsigned int order)
{
	struct ka_page_desc *d;
	unsigned long flags;

	spin_lock_irqsave(&arena->lock, flags);
	d = ka_rmqueue(arena, order);
	if (d) {
		ka_set_block_state(d, order, KA_PAGE_BLOCK, NULL);
		atomic_long_add(1L << order, &arena->nr_state[KA_PAGE_BLOCK]);
	}
	spin_unlock_irqrestore(&arena->lock, flags);
	return d;
}

static void ka_zero_block(struct page *page, unsigned int order)
{
	unsigned long i;

	for (i = 0; i < (1UL << order); i++)
		clear_highpage(page + i);
}

/**
 * ka_alloc_pages() - allocate a block of 2^order pages from an arena.
 * @arena: the arena.
 * @flags: %KARENA_ALLOC_ZERO to zero the block, %KARENA_ALLOC_NOPCP to
 *	bypass the per-CPU lists.
 * @order: log2 of the number of pages, at most the arena's max_order.
 *
 * The block is physically contiguous and aligned to its size; its pages
 * are in state %KA_PAGE_BLOCK with no owner (see ka_block_set_owner()).
 * If the free lists are empty, every CPU's lists are drained and the
 * allocation is retried once.
 *
 * Context: Any context; never sleeps.
 * Return: the first page of the block, or NULL if the arena has no free
 * block of @order, an injected failure hit, or @flags or @order is bad.
 */
struct page *ka_alloc_pages(struct ka_arena *arena, unsigned int flags,
			    unsigned int order)
{
	struct ka_page_desc *d = NULL;
	struct page *page;

	if (!arena || (flags & ~KA_ALLOC_FLAGS) || order > arena->max_order)
		return NULL;
	if (ka_fail_should(arena, order))
		goto fail;

	if (ka_pcp_enabled(arena, order, flags)) {
		unsigned long irqflags;
		struct ka_pcp *pcp = ka_pcp_lock(arena, &irqflags);

		d = ka_pcp_take(arena, pcp, order);
		ka_pcp_unlock(pcp, irqflags);
	}
	if (!d)
		d = ka_buddy_alloc(arena, order);
	if (!d) {
		/* The arena ran low: take back what the CPUs have parked. */
		ka_drain_pcp(arena);
		d = ka_buddy_alloc(arena, order);
	}
	if (!d)
		goto fail;

	atomic_long_inc(&arena->stats[order].allocs);
	page = ka_desc_page(arena, d);
	if (flags & KARENA_ALLOC_ZERO)
		ka_zero_block(page, order);
	return page;

fail:
	atomic_long_inc(&arena->stats[order].failures);
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(ka_alloc_pages);

/**
 * ka_free_pages() - give a block back to its arena, after checking it.
 * @arena: the arena.
 * @page: the block's first page, as ka_alloc_pages() returned it.
 * @order: the order it was allocated with.
 *
 * The block may be in any allocated state (buddy, slab, user).  A free of
 * a page outside the arena, of a page inside a block, with the wrong order
 * or of a block already free is refused, counted in the arena's bad-free
 * counters and reported once per kind; nothing is changed.
 *
 * Context: Any context; never sleeps.
 * Return: 0, or -EINVAL if the free was refused.
 */
int ka_free_pages(struct ka_arena *arena, struct page *page,
		  unsigned int order)
{
	enum ka_bad_free bad;
	unsigned long flags;

	if (!arena || !page)
		return -EINVAL;

	if (ka_pcp_enabled(arena, order, 0)) {
		struct ka_pcp *pcp = ka_pcp_lock(arena, &flags);

		bad = ka_pcp_free(arena, pcp, page, order);
		ka_pcp_unlock(pcp, flags);
	} else {
		struct ka_page_desc *d;
		unsigned int old;

		spin_lock_irqsave(&arena->lock, flags);
		bad = ka_check_free(arena, page, order, &d);
		if (bad == KA_BAD_NR) {
			old = ka_claim_block(d, KA_PAGE_FREE);
			if (old == KA_PAGE_FREE) {
				bad = KA_BAD_FREE;
			} else {
				atomic_long_sub(1L << order,
						&arena->nr_state[old]);
				ka_merge_free(arena, d, order);
			}
		}
		spin_unlock_irqrestore(&arena->lock, flags);
	}

	if (bad != KA_BAD_NR) {
		ka_report_bad_free(arena, bad, page, order);
		return -EINVAL;
	}
	if (order <= arena->max_order)
		atomic_long_inc(&arena->stats[order].frees);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(ka_free_pages);

/**
 * ka_alloc_pages_bulk() - fill an array with order-0 pages.
 * @arena: the arena.
 * @flags: as for ka_alloc_pages().
 * @nr: number of entries in @pages.
 * @pages: array; only its NULL entries are filled.
 *
 * Like alloc_pages_bulk_array(): takes each lock once for many pages.
 * The injected-failure attribute is consulted once per page to allocate;
 * a failure stops the fill there.
 *
 * Context: Any context; never sleeps.
 * Return: the number of non-NULL entries in @pages afterwards (@nr if all
 * could be filled).
 */
unsigned long ka_alloc_pages_bulk(struct ka_arena *arena, unsigned int flags,
				  unsigned long nr, struct page **pages)
{
	unsigned long i, have = 0, want, got = 0;
	struct ka_page_desc *d, *tmp;
	unsigned long irqflags;
	bool drained = false;
	LIST_HEAD(taken);

	if (!arena || (flags & ~KA_ALLOC_FLAGS) || !pages)
		return 0;
	for (i = 0; i < nr; i++)
		have += !!pages[i];
	/* How many may be allocated before an injected failure hits. */
	for (want = 0; want < nr - have; want++)
		if (ka_fail_should(arena, 0))
			break;

	/* Collect the blocks under the locks, hand them out after. */
	if (want && ka_pcp_enabled(arena, 0, flags)) {
		struct ka_pcp *pcp = ka_pcp_lock(arena, &irqflags);

		for (; got < want; got++) {
			d = ka_pcp_take(arena, pcp, 0);
			if (!d)
				break;
			list_add_tail(&d->lru, &taken);
		}
		ka_pcp_unlock(pcp, irqflags);
	}
	while (got < want) {
		spin_lock_irqsave(&arena->lock, irqflags);
		for (; got < want; got++) {
			d = ka_rmqueue(arena, 0);
			if (!d)
				break;
			ka_set_block_state(d, 0, KA_PAGE_BLOCK, NULL);
			atomic_long_inc(&arena->nr_state[KA_PAGE_BLOCK]);
			list_add_tail(&d->lru, &taken);
		}
		spin_unlock_irqrestore(&arena->lock, irqflags);
		if (got == want || drained)
			break;
		ka_drain_pcp(arena);
		drained = true;
	}

	i = 0;
	list_for_each_entry_safe(d, tmp, &taken, lru) {
		struct page *page = ka_desc_page(arena, d);

		list_del(&d->lru);
		if (flags & KARENA_ALLOC_ZERO)
			clear_highpage(page);
		while (pages[i])
			i++;
		pages[i++] = page;
	}
	atomic_long_add(got, &arena->stats[0].allocs);
	if (have + got < nr)
		atomic_long_inc(&arena->stats[0].failures);
	return have + got;
}
EXPORT_SYMBOL_IF_KUNIT(ka_alloc_pages_bulk);

/**
 * ka_free_pages_bulk() - free the order-0 pages of an array.
 * @arena: the arena.
 * @nr: number of entries in @pages.
 * @pages: array; NULL entries are skipped, the others are freed (each
 *	checked as by ka_free_pages()) and left as they are.
 *
 * Context: Any context; never sleeps.
 */
void ka_free_pages_bulk(struct ka_arena *arena, unsigned long nr,
			struct page **pages)
{
	unsigned long i, freed = 0;

	if (!arena || !pages)
		return;
	if (!ka_pcp_enabled(arena, 0, 0)) {
		for (i = 0; i < nr; i++)
			if (pages[i])
				ka_free_pages(arena, pages[i], 0);
		return;
	}
	for (i = 0; i < nr;) {
		enum ka_bad_free bad = KA_BAD_NR;
		unsigned long flags;
		struct ka_pcp *pcp;

		pcp = ka_pcp_lock(arena, &flags);
		for (; i < nr; i++) {
			if (!pages[i])
				continue;
			bad = ka_pcp_free(arena, pcp, pages[i], 0);
			if (bad != KA_BAD_NR)
				break;
			freed++;
		}
		ka_pcp_unlock(pcp, flags);
		/* Report a refused page outside the lock, then go on. */
		if (bad != KA_BAD_NR)
			ka_report_bad_free(arena, bad, pages[i++], 0);
	}
	atomic_long_add(freed, &arena->stats[0].frees);
}
EXPORT_SYMBOL_IF_KUNIT(ka_free_pages_bulk);

/**
 * ka_block_set_owner() - mark an allocated block as used by a layer.
 * @arena: the arena.
 * @head: the block's first page, allocated from @arena.
 * @state: %KA_PAGE_BLOCK, %KA_PAGE_SLAB or %KA_PAGE_USER.
 * @owner: the owning object (a slab, a client), or NULL.
 *
 * Sets @state and @owner on every page of the block, so that
 * ka_virt_desc() of any address inside it finds @owner.  A call on
 * anything but an allocated block head is refused with a message.
 *
 * Context: Any context; never sleeps.
 */
void ka_block_set_owner(struct ka_arena *arena, struct page *head,
			enum ka_page_state state, void *owner)
{
	struct ka_page_desc *d = ka_page_desc(arena, head);
	unsigned long flags;
	unsigned int old;

	if (!d || !ka_state_allocated(state)) {
		pr_err("arena %s: set_owner refused: %s\n", arena->name,
		       d ? "not an allocated state" : "page not in the arena");
		return;
	}
	spin_lock_irqsave(&arena->lock, flags);
	old = d->state;
	if (!(d->flags & KA_DESC_HEAD) || !ka_state_allocated(old)) {
		spin_unlock_irqrestore(&arena->lock, flags);
		pr_err("arena %s: set_owner refused: chunk %u page %lu is not an allocated block head\n",
		       arena->name, ka_desc_chunk(arena, d),
		       ka_desc_index(arena, d));
		return;
	}
	ka_set_block_state(d, d->order, state, owner);
	atomic_long_sub(1L << d->order, &arena->nr_state[old]);
	atomic_long_add(1L << d->order, &arena->nr_state[state]);
	spin_unlock_irqrestore(&arena->lock, flags);
}
EXPORT_SYMBOL_IF_KUNIT(ka_block_set_owner);

/* === Accessors === */

/**
 * ka_arena_max_order() - the order of the arena's chunks.
 * @arena: the arena.
 *
 * Context: Any context.
 * Return: the largest order ka_alloc_pages() accepts.
 */
unsigned int ka_arena_max_order(struct ka_arena *arena)
{
	return arena->max_order;
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_max_order);

/**
 * ka_arena_nr_pages() - the size of the arena.
 * @arena: the arena.
 *
 * Context: Any context.
 * Return: the number of pages in all chunks.
 */
unsigned long ka_arena_nr_pages(struct ka_arena *arena)
{
	return arena->nr_pages;
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_nr_pages);

/**
 * ka_arena_nr_free() - pages not allocated.
 * @arena: the arena.
 *
 * Context: Any context; the value may be stale at once.
 * Return: pages on the free lists plus pages parked on per-CPU lists.
 */
unsigned long ka_arena_nr_free(struct ka_arena *arena)
{
	return READ_ONCE(arena->nr_free) + ka_arena_pcp_pages(arena);
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_nr_free);

/* === Arena life cycle === */

static int ka_chunk_cmp(const void *a, const void *b)
{
	const struct ka_chunk *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/* Give back every kernel allocation behind the chunks. */
static void ka_free_chunks(struct ka_arena *arena)
{
	unsigned int i;

	for (i = 0; i < arena->nr_chunks; i++) {
		struct ka_chunk *c = &arena->chunks[i];

		if (c->alloc_order != KA_CHUNK_PART)
			__free_pages(c->page, c->alloc_order);
	}
}

/*
 * The constant-time page -> chunk table, if the chunks' span allows one;
 * without it (too wide, or no memory) lookups use the binary search.
 */
static void ka_chunk_map_init(struct ka_arena *arena)
{
	unsigned long first, last;
	unsigned int i;

	first = arena->chunks[0].pfn >> arena->max_order;
	last = arena->chunks[arena->nr_chunks - 1].pfn >> arena->max_order;
	if (last - first >= KA_CHUNK_MAP_MAX)
		return;
	arena->chunk_map = kvcalloc(last - first + 1,
				    sizeof(*arena->chunk_map), GFP_KERNEL);
	if (!arena->chunk_map)
		return;
	arena->chunk_base = first;
	arena->chunk_span = last - first + 1;
	for (i = 0; i < arena->nr_chunks; i++)
		arena->chunk_map[(arena->chunks[i].pfn >> arena->max_order) -
				 first] = i + 1;
}

/* Per-CPU list sizes: at most 1/8 of the arena parked over all CPUs. */
static void ka_pcp_size(struct ka_arena *arena)
{
	unsigned long high = arena->nr_pages / (8 * num_possible_cpus());
	unsigned int o;

	high = min_t(unsigned long, high, KA_PCP_HIGH_MAX);
	for (o = 0; o < KA_PCP_ORDERS && o <= arena->max_order; o++) {
		unsigned long blocks = high >> o;

		if (blocks < 2)
			break;
		arena->pcp_high[o] = blocks;
		arena->pcp_batch[o] = max(blocks / 4, 1UL);
	}
}

/* Every chunk one free block of max_order. */
static void ka_arena_init_lists(struct ka_arena *arena)
{
	unsigned int i, o;

	for (o = 0; o <= KA_MAX_ORDER; o++)
		INIT_LIST_HEAD(&arena->free_list[o]);
	for (i = 0; i < arena->nr_chunks; i++) {
		struct ka_chunk *c = &arena->chunks[i];

		c->desc = arena->desc + ((unsigned long)i << arena->max_order);
		spin_lock_irq(&arena->lock);
		ka_add_free(arena, c->desc, arena->max_order);
		spin_unlock_irq(&arena->lock);
	}
}

/* One alloc_pages() block taken for an arena under construction. */
struct ka_grab {
	struct page *page;
	unsigned int order;
};

static struct page *ka_grab_one(unsigned int order, unsigned int nr_grabbed,
				const struct ka_arena_sim *sim)
{
	if (sim && (nr_grabbed >= sim->max_grabs ||
		    (order > sim->max_avail_order &&
		     nr_grabbed >= sim->big_grabs)))
		return NULL;
	return alloc_pages(GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL,
			   order);
}

/*
 * Take the arena's nr_pages from the kernel in blocks of @max_order, then,
 * when no more of those are to be had, of each smaller order down to
 * @min_order.
 * Return: the number of blocks taken (all of @nr_pages) or -ENOMEM (and
 * the blocks taken are given back).  The last block has the smallest
 * order: the order of the arena's chunks.
 */
static long ka_grab_pages(struct ka_arena *arena, struct ka_grab *grabs,
			  unsigned int max_order, unsigned int min_order,
			  const struct ka_arena_sim *sim)
{
	unsigned long need = arena->nr_pages, kib;
	unsigned int order = max_order, n = 0;

	while (need) {
		struct page *page = ka_grab_one(order, n, sim);

		if (page) {
			grabs[n].page = page;
			grabs[n++].order = order;
			need -= 1UL << order;
		} else if (order > min_order) {
			order--;
		} else {
			break;
		}
	}
	if (!need)
		return n;

	kib = (arena->nr_pages - need) << (PAGE_SHIFT - 10);
	if (min_order == max_order)
		pr_err("arena %s: asked the kernel for %lu chunks of %lu KiB (%lu KiB), obtained %lu (%lu KiB); giving them back\n",
		       arena->name, arena->nr_pages >> max_order,
		       PAGE_SIZE << max_order >> 10,
		       arena->nr_pages << (PAGE_SHIFT - 10),
		       kib >> (max_order + PAGE_SHIFT - 10), kib);
	else
		pr_err("arena %s: asked the kernel for %lu KiB in blocks of %lu KiB down to %lu KiB, obtained %lu KiB; giving them back\n",
		       arena->name, arena->nr_pages << (PAGE_SHIFT - 10),
		       PAGE_SIZE << max_order >> 10,
		       PAGE_SIZE << min_order >> 10, kib);
	while (n--)
		__free_pages(grabs[n].page, grabs[n].order);
	return -ENOMEM;
}

/*
 * Cut the blocks taken into chunks of the smallest order among them.
 * The first chunk of each block gives the whole block back at destroy;
 * the others are marked KA_CHUNK_PART.
 */
static void ka_grabs_to_chunks(struct ka_arena *arena,
			       const struct ka_grab *grabs, unsigned int nr)
{
	unsigned int order = arena->max_order, g, i = 0;
	unsigned long k;

	for (g = 0; g < nr; g++) {
		unsigned long pfn = page_to_pfn(grabs[g].page);

		for (k = 0; k < 1UL << (grabs[g].order - order); k++) {
			struct ka_chunk *c = &arena->chunks[i++];

			c->pfn = pfn + (k << order);
			c->page = pfn_to_page(c->pfn);
			c->alloc_order = k ? KA_CHUNK_PART : grabs[g].order;
		}
	}
}

/**
 * __ka_arena_create() - ka_arena_create_flexible() with a simulated
 * shortage.
 * @name: as for ka_arena_create().
 * @nr_chunks: as for ka_arena_create().
 * @max_order: as for ka_arena_create().
 * @min_order: as for ka_arena_create_flexible().
 * @sim: act as if the kernel had less to give (tests); NULL for none.
 *
 * Context: Process context; sleeps.
 * Return: as for ka_arena_create().
 */
struct ka_arena *__ka_arena_create(const char *name, unsigned int nr_chunks,
				   unsigned int max_order,
				   unsigned int min_order,
				   const struct ka_arena_sim *sim)
{
	struct ka_grab *grabs;
	struct ka_arena *arena;
	unsigned int cpu, o;
	long nr_grabs;

	if (!nr_chunks || max_order > KA_MAX_ORDER || min_order > max_order ||
	    nr_chunks > (ULONG_MAX >> max_order) / 2 ||
	    ((unsigned long)nr_chunks << (max_order - min_order)) > UINT_MAX)
		return NULL;
	arena = kzalloc(sizeof(*arena), GFP_KERNEL);
	if (!arena)
		return NULL;
	strscpy(arena->name, name, sizeof(arena->name));
	arena->nr_pages = (unsigned long)nr_chunks << max_order;
	spin_lock_init(&arena->lock);
	mutex_init(&arena->validate_lock);
	ka_fail_init(arena);

	/* At most one block per chunk of min_order. */
	grabs = kvmalloc_array(arena->nr_pages >> min_order, sizeof(*grabs),
			       GFP_KERNEL);
	arena->desc = kvcalloc(arena->nr_pages, sizeof(*arena->desc),
			       GFP_KERNEL);
	arena->pcp = alloc_percpu(struct ka_pcp);
	if (!grabs || !arena->desc || !arena->pcp)
		goto err_meta;

	nr_grabs = ka_grab_pages(arena, grabs, max_order, min_order, sim);
	if (nr_grabs < 0)
		goto err_meta;
	arena->max_order = grabs[nr_grabs - 1].order;
	arena->nr_chunks = arena->nr_pages >> arena->max_order;
	arena->chunks = kvcalloc(arena->nr_chunks, sizeof(*arena->chunks),
				 GFP_KERNEL);
	if (!arena->chunks) {
		while (nr_grabs--)
			__free_pages(grabs[nr_grabs].page,
				     grabs[nr_grabs].order);
		goto err_meta;
	}
	ka_grabs_to_chunks(arena, grabs, nr_grabs);
	kvfree(grabs);
	sort(arena->chunks, arena->nr_chunks, sizeof(*arena->chunks),
	     ka_chunk_cmp, NULL);
	ka_chunk_map_init(arena);

	ka_arena_init_lists(arena);
	for_each_possible_cpu(cpu) {
		struct ka_pcp *pcp = per_cpu_ptr(arena->pcp, cpu);

		spin_lock_init(&pcp->lock);
		for (o = 0; o < KA_PCP_ORDERS; o++)
			INIT_LIST_HEAD(&pcp->list[o]);
	}
	ka_pcp_size(arena);
	if (ka_cpuhp_state > 0)
		cpuhp_state_add_instance_nocalls(ka_cpuhp_state,
						 &arena->cpuhp_node);
	return arena;

err_meta:
	kvfree(grabs);
	free_percpu(arena->pcp);
	kvfree(arena->desc);
	kfree(arena);
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(__ka_arena_create);

/**
 * ka_arena_create() - make an arena of chunks taken from the kernel.
 * @name: shown in messages and debugfs (truncated to 15 characters).
 * @nr_chunks: number of chunks.
 * @max_order: order of each chunk, at most MAX_ORDER - 1.
 *
 * Each chunk is one alloc_pages() call that fails quietly rather than
 * invoke the OOM killer.  If not all chunks can be had, the ones obtained
 * are given back, the shortfall is reported, and NULL is returned.
 *
 * Context: Process context; sleeps.
 * Return: the arena, every page free, or NULL (bad arguments or no memory).
 */
struct ka_arena *ka_arena_create(const char *name, unsigned int nr_chunks,
				 unsigned int max_order)
{
	return __ka_arena_create(name, nr_chunks, max_order, max_order, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_create);

/**
 * ka_arena_create_flexible() - make an arena, in smaller chunks if the
 * kernel has no free blocks of the size asked for.
 * @name: as for ka_arena_create().
 * @nr_chunks: as for ka_arena_create(): the arena has
 *	@nr_chunks << @max_order pages.
 * @max_order: the order of chunk wanted.
 * @min_order: the smallest order of chunk accepted.
 *
 * Takes blocks of @max_order from the kernel while it has them, then of
 * each smaller order down to @min_order (after a while up, free memory is
 * fragmented: a kernel may have gigabytes free and no 4 MiB block).  The
 * arena's chunks all have the smallest order that was needed, so a block
 * taken at a larger order becomes several chunks, and that order is the
 * arena's ka_arena_max_order(): allocations above it fail.
 *
 * Context: Process context; sleeps.
 * Return: the arena, every page free, or NULL (bad arguments or no memory,
 * after giving back what was obtained and reporting the shortfall).
 */
struct ka_arena *ka_arena_create_flexible(const char *name,
					  unsigned int nr_chunks,
					  unsigned int max_order,
					  unsigned int min_order)
{
	return __ka_arena_create(name, nr_chunks, max_order, min_order, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_create_flexible);

static const char * const ka_state_name[KA_PAGE_NR_STATES] = {
	[KA_PAGE_FREE]	= "free",
	[KA_PAGE_PCP]	= "pcp",
	[KA_PAGE_BLOCK]	= "block",
	[KA_PAGE_SLAB]	= "slab",
	[KA_PAGE_USER]	= "user",
};

/**
 * ka_page_state_name() - the name of a page state, as debugfs shows it.
 * @state: an enum ka_page_state value.
 *
 * Context: Any context.
 * Return: a static string ("free", "pcp", "block", "slab", "user" or "?").
 */
const char *ka_page_state_name(unsigned int state)
{
	return state < KA_PAGE_NR_STATES ? ka_state_name[state] : "?";
}
EXPORT_SYMBOL_IF_KUNIT(ka_page_state_name);

/**
 * ka_arena_report_leaks() - say what is still allocated in an arena.
 * @arena: the arena.
 *
 * Reports the pages still allocated per state and the first blocks
 * (chunk, page, order, state, hashed owner).
 *
 * Context: Process context, nothing else using @arena.
 * Return: the number of pages still allocated (0: nothing reported).
 */
unsigned long ka_arena_report_leaks(struct ka_arena *arena)
{
	unsigned long i, blocks = 0, pages = 0;
	unsigned int shown = 0;

	for (i = 0; i < arena->nr_pages; i++) {
		struct ka_page_desc *d = &arena->desc[i];

		if (!(d->flags & KA_DESC_HEAD) || !ka_state_allocated(d->state))
			continue;
		blocks++;
		pages += 1UL << d->order;
	}
	if (!blocks)
		return 0;
	pr_err("arena %s: %lu pages in %lu blocks still allocated at destroy (block %ld, slab %ld, user %ld); the chunks go back to the kernel anyway\n",
	       arena->name, pages, blocks,
	       atomic_long_read(&arena->nr_state[KA_PAGE_BLOCK]),
	       atomic_long_read(&arena->nr_state[KA_PAGE_SLAB]),
	       atomic_long_read(&arena->nr_state[KA_PAGE_USER]));
	for (i = 0; i < arena->nr_pages && shown < 8; i++) {
		struct ka_page_desc *d = &arena->desc[i];

		if (!(d->flags & KA_DESC_HEAD) || !ka_state_allocated(d->state))
			continue;
		pr_err("arena %s:   chunk %u page %lu order %u state %s owner %p\n",
		       arena->name, ka_desc_chunk(arena, d),
		       ka_desc_index(arena, d), d->order,
		       ka_page_state_name(d->state), d->owner);
		shown++;
	}
	return pages;
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_report_leaks);

/**
 * ka_arena_destroy() - give an arena's chunks back to the kernel.
 * @arena: the arena, or NULL.
 *
 * Drains the per-CPU lists, validates the arena, and reports anything
 * still allocated (how many pages per state and the first blocks).  The
 * chunks are freed in any case: nothing may use the arena any more.
 *
 * Context: Process context; sleeps.
 */
void ka_arena_destroy(struct ka_arena *arena)
{
	if (!arena)
		return;
	if (ka_cpuhp_state > 0)
		cpuhp_state_remove_instance_nocalls(ka_cpuhp_state,
						    &arena->cpuhp_node);
	ka_drain_pcp(arena);
	ka_arena_validate(arena);
	ka_arena_report_leaks(arena);
	ka_free_chunks(arena);
	free_percpu(arena->pcp);
	kvfree(arena->chunk_map);
	kvfree(arena->desc);
	kvfree(arena->chunks);
	mutex_destroy(&arena->validate_lock);
	kfree(arena);
}
EXPORT_SYMBOL_IF_KUNIT(ka_arena_destroy);

/* === The module's arena and its public API === */

/**
 * ka_buddy_init() - set up the buddy layer and the module's arena.
 *
 * Makes ka_global_arena from the arena_mb, max_order and min_order parameters
 * (already checked by ka_check_params()), in chunks of max_order if
 * the kernel has enough free blocks of that order, else of the smallest
 * order down to min_order that it has (ka_arena_create_flexible()), and
 * adds its debugfs files.
 *
 * Context: Process context, module load.
 * Return: 0, or a negative errno (-ENOMEM if the arena cannot be had).
 */
int ka_buddy_init(void)
{
	struct ka_arena *arena;
	unsigned int chunks;
	int ret;

	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN, "karena:dead",
				      NULL, ka_cpu_dead);
	if (ret < 0)
		return ret;
	ka_cpuhp_state = ret;

	chunks = ((unsigned long)ka_arena_mb << 20) >>
		 (PAGE_SHIFT + ka_max_order);
	arena = ka_arena_create_flexible(KBUILD_MODNAME, chunks,
					 ka_max_order, ka_min_order);
	if (!arena) {
		ret = -ENOMEM;
		goto err_cpuhp;
	}
	ka_global_arena = arena;
	ka_arena_debugfs_init(arena, ka_debugfs_root);
	if (arena->max_order < ka_max_order)
		pr_warn("arena: %u MiB in %u chunks of order %u: the kernel ran out of free blocks of order %u; page blocks above order %u are not available\n",
			ka_arena_mb, arena->nr_chunks, arena->max_order,
			arena->max_order + 1, arena->max_order);
	else
		pr_info("arena: %u MiB in %u chunks of order %u\n",
			ka_arena_mb, arena->nr_chunks, arena->max_order);
	return 0;

err_cpuhp:
	cpuhp_remove_multi_state(ka_cpuhp_state);
	ka_cpuhp_state = 0;
	return ret;
}

/**
 * ka_buddy_exit() - destroy the module's arena.
 *
 * Context: Process context, module unload, after every user is gone.
 */
void ka_buddy_exit(void)
{
	ka_arena_debugfs_exit(ka_global_arena);
	ka_arena_destroy(ka_global_arena);
	ka_global_arena = NULL;
	cpuhp_remove_multi_state(ka_cpuhp_state);
	ka_cpuhp_state = 0;
}

/**
 * karena_alloc_pages() - allocate 2^order pages from karena's arena.
 * @flags: %KARENA_ALLOC_ZERO and/or %KARENA_ALLOC_NOPCP.
 * @order: log2 of the number of pages, at most ka_arena_max_order().
 *
 * The counterpart of alloc_pages() for karena's arena: a physically
 * contiguous block, aligned to its size, in the kernel's linear map.
 *
 * Context: Any context; never sleeps.
 * Return: the first page, or NULL.
 */
struct page *karena_alloc_pages(unsigned int flags, unsigned int order)
{
	return ka_alloc_pages(ka_global_arena, flags, order);
}
EXPORT_SYMBOL_GPL(karena_alloc_pages);

/**
 * karena_free_pages() - free a block allocated by karena_alloc_pages().
 * @page: the block's first page.
 * @order: the order it was allocated with.
 *
 * The counterpart of __free_pages().  Bad frees (not a block of karena's
 * arena, wrong order, already free) are refused, counted and reported.
 *
 * Context: Any context; never sleeps.
 * Return: 0, or -EINVAL if the free was refused.
 */
int karena_free_pages(struct page *page, unsigned int order)
{
	return ka_free_pages(ka_global_arena, page, order);
}
EXPORT_SYMBOL_GPL(karena_free_pages);

/**
 * karena_alloc_pages_bulk_array() - fill the NULL entries of an array with
 * order-0 pages from karena's arena.
 * @flags: as for karena_alloc_pages().
 * @nr: number of entries of @pages.
 * @pages: the array.
 *
 * The counterpart of alloc_pages_bulk_array().
 *
 * Context: Any context; never sleeps.
 * Return: the number of non-NULL entries of @pages afterwards.
 */
unsigned long karena_alloc_pages_bulk_array(unsigned int flags,
					    unsigned long nr,
					    struct page **pages)
{
	return ka_alloc_pages_bulk(ka_global_arena, flags, nr, pages);
}
EXPORT_SYMBOL_GPL(karena_alloc_pages_bulk_array);

/**
 * karena_free_pages_bulk_array() - free the order-0 pages of an array.
 * @nr: number of entries of @pages.
 * @pages: the array; NULL entries are skipped.
 *
 * Each page is checked as by karena_free_pages().
 *
 * Context: Any context; never sleeps.
 */
void karena_free_pages_bulk_array(unsigned long nr, struct page **pages)
{
	ka_free_pages_bulk(ka_global_arena, nr, pages);
}
EXPORT_SYMBOL_GPL(karena_free_pages_bulk_array);
