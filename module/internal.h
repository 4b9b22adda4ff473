/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: private header shared by the module's files.
 *
 * Glossary
 *   page      one PAGE_SIZE page of the arena; each has a descriptor kept
 *             outside the page (struct ka_page_desc), never inside it.
 *   chunk     2^max_order physically contiguous pages taken from the
 *             kernel with alloc_pages() at load; a top-level buddy block.
 *   block     2^order contiguous, naturally aligned pages inside a chunk;
 *             the unit the buddy layer hands out.  Its first page is the
 *             block head.
 *   order     log2 of a block's size in pages.
 *   slab      a block owned by a slab cache and cut into objects.
 *   object    one fixed-size allocation carved from a slab.
 *   magazine  a per-CPU stack of free objects in front of a cache's slabs
 *             (Bonwick & Adams 2001).
 *   depot     a cache's reserve of full and empty magazines.
 *   client    one open file of /dev/karena; owns user caches and blocks.
 *
 * Lock order (outer first)
 *   1. karena_clients_lock (mutex)  the list of clients (client.c)
 *   2. client->lock (mutex)         one client's caches, blocks, window map
 *   3. client->window_lock (mutex)  the window's page table (window.c);
 *                                   also taken under mmap_lock by a fault
 *   4. cpus_read_lock()             ka_mag_drain_all(), before 5, never
 *                                   under it
 *   5. ka_slab_mutex                the list of all caches (slab.c); also
 *                                   taken by the slab CPU-dead callback
 *   6. ka_cache_cpu.lock            one CPU's magazines of one cache
 *                                   (local lock, IRQs off; magazine.c)
 *   7. cache->lock                  one cache's slab lists and depot
 *                                   (spinlock, IRQs off)
 *   8. arena->validate_lock (mutex) ka_arena_validate(), debugfs snapshots
 *   9. pcp->lock                    one CPU's buddy page lists (IRQs off)
 *  10. arena->lock                  the buddy free lists (IRQs off)
 *   The buddy calls never sleep (8 aside) and may be made under 1-5;
 *   see buddy_internal.h.  The slab layer calls them, and its owner
 *   hooks, with neither 6 nor 7 held; see slab.h.  Nothing faults on
 *   user memory under 2 or 3 (client.h says why).
 */
#ifndef KARENA_INTERNAL_H
#define KARENA_INTERNAL_H

#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "compat.h"
#include "karena.h"

/* Module parameters (main.c); validated once at load, read-only after. */
extern unsigned int karena_arena_mb;
extern unsigned int karena_max_order;
extern unsigned int karena_min_order;
extern unsigned int karena_dev_mode;

/* Root of /sys/kernel/debug/karena/ (debugfs.c); may be an error pointer. */
extern struct dentry *karena_debugfs_root;

int karena_check_params(unsigned int arena_mb, unsigned int max_order,
			unsigned int min_order, unsigned int dev_mode);

int karena_debugfs_init(void);
void karena_debugfs_exit(void);

int karena_device_init(void);
void karena_device_exit(void);

#endif /* KARENA_INTERNAL_H */
