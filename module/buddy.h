/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: buddy layer, private interface (module/buddy*.c).
 *
 * An arena is a set of chunks (internal.h's glossary says what a chunk
 * is).  Every arena page has a descriptor in a kernel-only array (struct
 * ka_page_desc), so no allocator metadata ever lives inside a page that a
 * user can map.
 *
 * The module has one global arena, ka_global_arena, made at load from the
 * arena_mb, max_order and min_order parameters.  KUnit tests make small private
 * arenas with ka_arena_create() so that they can exhaust and corrupt them
 * without disturbing anything else.
 */
#ifndef KARENA_BUDDY_H
#define KARENA_BUDDY_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/types.h>

#include <karena_kernel.h>

#include "compat.h"

struct ka_arena;

/**
 * enum ka_page_state - what an arena page is used for.
 * @KA_PAGE_FREE: on a buddy free list (head) or inside a free block.
 * @KA_PAGE_PCP: part of a free low-order block parked on a per-CPU page
 *	list (orders below KA_PCP_ORDERS); does not merge until drained.
 * @KA_PAGE_BLOCK: allocated as a page block through the page API
 *	(ka_alloc_pages(), karena_alloc_pages()), no layer has claimed it.
 * @KA_PAGE_SLAB: part of a slab of a kernel-side cache.
 * @KA_PAGE_USER: given to a /dev/karena client (page block or user slab).
 * @KA_PAGE_NR_STATES: number of states (for per-state counters).
 *
 * Every page of a block carries the block's state; only the head carries
 * the order and %KA_DESC_HEAD.
 */
enum ka_page_state {
	KA_PAGE_FREE,
	KA_PAGE_PCP,
	KA_PAGE_BLOCK,
	KA_PAGE_SLAB,
	KA_PAGE_USER,
	KA_PAGE_NR_STATES,
};

/* ka_page_desc.flags */
#define KA_DESC_HEAD	BIT(0)	/* first page of a block (free or allocated) */

/**
 * struct ka_page_desc - descriptor of one arena page, outside the page.
 * @lru: free-list or per-CPU-list link while free (arena->lock, or the
 *	per-CPU list's local lock); the owner's list link while allocated
 *	(the owner's lock).
 * @owner: while allocated, the object that owns the block (a slab, a
 *	client); set on every page of the block by ka_block_set_owner().
 * @state: enum ka_page_state.
 * @order: block order, valid on a block head.
 * @flags: KA_DESC_* bits.
 */
struct ka_page_desc {
	struct list_head lru;
	void *owner;
	u8 state;
	u8 order;
	u16 flags;
};

/*
 * Flags of ka_alloc_pages() and the bulk calls: the KARENA_ALLOC_* flags of
 * the exported API (karena_kernel.h), passed through unchanged.
 */
#define KA_ALLOC_FLAGS	(KARENA_ALLOC_ZERO | KARENA_ALLOC_NOPCP)

/* The global arena; NULL until ka_buddy_init() succeeds. */
extern struct ka_arena *ka_global_arena;

int ka_buddy_init(void);
void ka_buddy_exit(void);

struct ka_arena *ka_arena_create(const char *name, unsigned int nr_chunks,
				 unsigned int max_order);
struct ka_arena *ka_arena_create_flexible(const char *name,
					  unsigned int nr_chunks,
					  unsigned int max_order,
					  unsigned int min_order);
void ka_arena_destroy(struct ka_arena *arena);

struct page *ka_alloc_pages(struct ka_arena *arena, unsigned int flags,
			    unsigned int order);
int ka_free_pages(struct ka_arena *arena, struct page *page,
		  unsigned int order);
unsigned long ka_alloc_pages_bulk(struct ka_arena *arena, unsigned int flags,
				  unsigned long nr, struct page **pages);
void ka_free_pages_bulk(struct ka_arena *arena, unsigned long nr,
			struct page **pages);
void ka_drain_pcp(struct ka_arena *arena);

struct ka_page_desc *ka_page_desc(struct ka_arena *arena, struct page *page);
struct ka_page_desc *ka_virt_desc(struct ka_arena *arena, const void *addr);
void ka_block_set_owner(struct ka_arena *arena, struct page *head,
			enum ka_page_state state, void *owner);

unsigned int ka_arena_max_order(struct ka_arena *arena);
unsigned long ka_arena_nr_pages(struct ka_arena *arena);
unsigned long ka_arena_nr_free(struct ka_arena *arena);
int ka_arena_validate(struct ka_arena *arena);

#endif /* KARENA_BUDDY_H */
