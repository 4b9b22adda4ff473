/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: buddy layer, the arena's layout (module/buddy*.c and the KUnit
 * suite only; other layers use buddy.h).
 *
 * Lock order: internal.h; an arena's locks are its 8 (validate_lock), 9
 * (pcp->lock) and 10 (arena->lock).  Descriptor states change only under
 * pcp->lock or arena->lock.  The head's state moves from an allocated
 * state to FREE or PCP with cmpxchg, so two racing frees of one block on
 * different CPUs (under different locks) cannot both win.
 */
#ifndef KARENA_BUDDY_INTERNAL_H
#define KARENA_BUDDY_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fault-inject.h>
#include <linux/list.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "buddy.h"

/* Largest order an arena may use: one alloc_pages() call per chunk. */
#define KA_MAX_ORDER		KARENA_MAX_PAGE_ORDER
/* Orders 0..KA_PCP_ORDERS-1 have per-CPU page lists (as in Linux: 0..3). */
#define KA_PCP_ORDERS		4
/* Largest chunk map (entries); chunks spread wider use a binary search. */
#define KA_CHUNK_MAP_MAX	(1024UL * 1024)
/* Per-CPU lists hold at most this many pages per order and CPU. */
#define KA_PCP_HIGH_MAX		256
#define KA_NAME_LEN		16

/**
 * enum ka_bad_free - kinds of rejected ka_free_pages() calls.
 * @KA_BAD_OUTSIDE: the page is not in the arena.
 * @KA_BAD_INTERIOR: the page is inside a block, not its head.
 * @KA_BAD_ORDER: a block head, but the order differs from the block's.
 * @KA_BAD_FREE: the block is already free (double free).
 * @KA_BAD_NR: number of kinds.
 */
enum ka_bad_free {
	KA_BAD_OUTSIDE,
	KA_BAD_INTERIOR,
	KA_BAD_ORDER,
	KA_BAD_FREE,
	KA_BAD_NR,
};

/**
 * struct ka_chunk - one chunk (internal.h): 2^arena->max_order pages.
 * @pfn: first page frame number; a multiple of 2^arena->max_order.
 * @page: first page.
 * @desc: the chunk's 2^arena->max_order descriptors (a slice of arena->desc).
 * @alloc_order: the order of the alloc_pages() block that starts with
 *	this chunk, freed with it; KA_CHUNK_PART if the chunk is a later
 *	part of a larger block (an arena made of chunks smaller than the
 *	blocks first taken, see ka_arena_create_flexible()).
 */
struct ka_chunk {
	unsigned long pfn;
	struct page *page;
	struct ka_page_desc *desc;
	unsigned int alloc_order;
};

#define KA_CHUNK_PART	UINT_MAX

/**
 * struct ka_order_stats - counters of one order.
 * @allocs: successful allocations of this order.
 * @frees: accepted frees of this order.
 * @failures: allocations of this order that returned nothing.
 * @splits: blocks of this order split in two (arena->lock).
 * @merges: blocks of this order merged with their buddy (arena->lock).
 */
struct ka_order_stats {
	atomic_long_t allocs;
	atomic_long_t frees;
	atomic_long_t failures;
	unsigned long splits;
	unsigned long merges;
};

/**
 * struct ka_pcp - one CPU's page lists of one arena.
 * @lock: protects every other field; taken by its own CPU with
 *	interrupts disabled (so it stays on that CPU), and by
 *	ka_drain_pcp()/CPU-dead from elsewhere.
 * @list: blocks of each low order, linked through ka_page_desc.lru.
 * @count: blocks on each list.
 * @hits: allocations served from a list without refilling it.
 * @refills: batches moved from the free lists to a list.
 * @drains: batches or whole lists given back to the free lists.
 */
struct ka_pcp {
	spinlock_t lock;	/* see the lock order, internal.h */
	struct list_head list[KA_PCP_ORDERS];
	unsigned int count[KA_PCP_ORDERS];
	unsigned long hits;
	unsigned long refills;
	unsigned long drains;
};

/**
 * struct ka_arena - a buddy allocator over a set of chunks.
 * @name: shown in debugfs and messages.
 * @max_order: order of a chunk, the largest block.
 * @nr_chunks: number of chunks.
 * @nr_pages: nr_chunks << max_order.
 * @chunks: the chunks, sorted by pfn.
 * @chunk_map: page -> descriptor lookup in constant time: entry
 *	(pfn >> max_order) - @chunk_base is the index in @chunks plus one
 *	of the chunk holding pfn, 0 if none; NULL if the chunks are spread
 *	too far for a table (then a binary search of @chunks).  Constant.
 * @chunk_base: pfn >> max_order of the first chunk.
 * @chunk_span: entries of @chunk_map.
 * @desc: nr_pages descriptors, chunk after chunk.
 * @lock: protects @free_list, @nr_free_blocks, @nr_free, the splits and
 *	merges counters, and descriptors of free blocks.
 * @free_list: heads of free blocks of each order.
 * @nr_free_blocks: length of each free list.
 * @nr_free: pages on the free lists.
 * @nr_state: pages in each state other than FREE; changed under a pcp
 *	lock or @lock, so exact when ka_arena_validate() holds them all.
 * @stats: per-order counters.
 * @pcp: the per-CPU page lists.
 * @pcp_high: per order, most blocks a per-CPU list keeps (0: no list).
 * @pcp_batch: per order, blocks moved per refill or trim.
 * @bad_free: rejected frees of each kind.
 * @bad_reported: bit per kind, set once that kind has been reported.
 * @validate_runs: ka_arena_validate() calls.
 * @validate_failures: ka_arena_validate() calls that found a problem.
 * @validate_lock: see the lock order, internal.h.
 * @cpuhp_node: instance of the CPU-dead callback that drains a dead
 *	CPU's lists.
 * @fail_page: fault injection for allocations from this arena.
 */
struct ka_arena {
	char name[KA_NAME_LEN];
	unsigned int max_order;
	unsigned int nr_chunks;
	unsigned long nr_pages;
	struct ka_chunk *chunks;
	u32 *chunk_map;
	unsigned long chunk_base;
	unsigned long chunk_span;
	struct ka_page_desc *desc;

	spinlock_t lock;	/* see the lock order, internal.h */
	struct list_head free_list[KA_MAX_ORDER + 1];
	unsigned long nr_free_blocks[KA_MAX_ORDER + 1];
	unsigned long nr_free;

	atomic_long_t nr_state[KA_PAGE_NR_STATES];
	struct ka_order_stats stats[KA_MAX_ORDER + 1];

	struct ka_pcp __percpu *pcp;
	unsigned int pcp_high[KA_PCP_ORDERS];
	unsigned int pcp_batch[KA_PCP_ORDERS];

	atomic_long_t bad_free[KA_BAD_NR];
	unsigned long bad_reported;
	atomic_long_t validate_runs;
	atomic_long_t validate_failures;
	struct mutex validate_lock;	/* see the lock order, internal.h */

	struct hlist_node cpuhp_node;
#ifdef CONFIG_FAULT_INJECTION
	struct fault_attr fail_page;
#endif
};

/* === Fault injection: compiled away without CONFIG_FAULT_INJECTION === */
#ifdef CONFIG_FAULT_INJECTION
static inline void ka_fail_init(struct ka_arena *arena)
{
	arena->fail_page = (struct fault_attr)FAULT_ATTR_INITIALIZER;
	/* A message per injected failure, but no stack dump. */
	arena->fail_page.verbose = 1;
}

static inline bool ka_fail_should(struct ka_arena *arena, unsigned int order)
{
	return should_fail(&arena->fail_page, PAGE_SIZE << order);
}

/*
 * Tests: make @times allocations fail, each the @interval-th attempt
 * after the previous one (0 times: none), without messages.
 */
static inline bool ka_fail_set(struct ka_arena *arena, unsigned long interval,
			       int times)
{
	arena->fail_page.verbose = 0;
	arena->fail_page.interval = interval;
	arena->fail_page.count = 0;
	arena->fail_page.probability = times ? 100 : 0;
	atomic_set(&arena->fail_page.times, times);
	return true;
}

static inline struct dentry *ka_fail_debugfs(struct ka_arena *arena,
					     struct dentry *parent)
{
	return fault_create_debugfs_attr("fail_page", parent,
					 &arena->fail_page);
}
#else
static inline void ka_fail_init(struct ka_arena *arena) { }

static inline bool ka_fail_should(struct ka_arena *arena, unsigned int order)
{
	return false;
}

static inline bool ka_fail_set(struct ka_arena *arena, unsigned long interval,
			       int times)
{
	return false;
}

static inline struct dentry *ka_fail_debugfs(struct ka_arena *arena,
					     struct dentry *parent)
{
	return NULL;
}
#endif

/* === Helpers shared by buddy.c, buddy_validate.c, buddy_debugfs.c === */

/* Index of @desc in its chunk. */
static inline unsigned long ka_desc_index(const struct ka_arena *arena,
					  const struct ka_page_desc *desc)
{
	return (desc - arena->desc) & ((1UL << arena->max_order) - 1);
}

/* Number (in pfn order) of the chunk that holds @desc. */
static inline unsigned int ka_desc_chunk(const struct ka_arena *arena,
					 const struct ka_page_desc *desc)
{
	return (desc - arena->desc) >> arena->max_order;
}

struct page *ka_desc_page(struct ka_arena *arena, struct ka_page_desc *desc);
void ka_pcp_lock_all(struct ka_arena *arena, unsigned long *flags)
	__acquires(&arena->pcp->lock);
void ka_pcp_unlock_all(struct ka_arena *arena, unsigned long flags)
	__releases(&arena->pcp->lock);
unsigned long ka_arena_pcp_pages(struct ka_arena *arena);
const char *ka_page_state_name(unsigned int state);

unsigned long ka_arena_report_leaks(struct ka_arena *arena);

/**
 * struct ka_arena_sim - a kernel with less to give than it has (tests).
 * @max_grabs: alloc_pages() calls that may succeed.
 * @max_avail_order: no free block above this order ...
 * @big_grabs: ... once this many alloc_pages() calls have succeeded.
 */
struct ka_arena_sim {
	unsigned int max_grabs;
	unsigned int max_avail_order;
	unsigned int big_grabs;
};

struct ka_arena *__ka_arena_create(const char *name, unsigned int nr_chunks,
				   unsigned int max_order,
				   unsigned int min_order,
				   const struct ka_arena_sim *sim);

/* buddy_validate.c */
int ka_arena_validate_locked(struct ka_arena *arena, unsigned long *seen);

/* buddy_debugfs.c */

/**
 * struct ka_contig_info - inputs of the fragmentation indices (mm/vmstat.c).
 * @free_pages: F, pages in free blocks.
 * @free_blocks_total: B, free blocks of any order.
 * @free_blocks_suitable: S_j, blocks of order j that the free blocks of
 *	order >= j could be split into.
 */
struct ka_contig_info {
	unsigned long free_pages;
	unsigned long free_blocks_total;
	unsigned long free_blocks_suitable;
};

void ka_fill_contig(const unsigned long *nr_free, unsigned int orders,
		    unsigned int order, struct ka_contig_info *info);
int ka_unusable_index(unsigned int order, const struct ka_contig_info *info);
int ka_extfrag_index(unsigned int order, const struct ka_contig_info *info);
void ka_arena_debugfs_init(struct ka_arena *arena, struct dentry *parent);
void ka_arena_debugfs_exit(struct ka_arena *arena);

#endif /* KARENA_BUDDY_INTERNAL_H */
