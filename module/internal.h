/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: private header shared by the module's files.
 *
 * Glossary
 *   arena     the pages a buddy allocator manages, taken from the kernel
 *             as chunks (struct ka_arena; buddy.h).
 *   page      one PAGE_SIZE page of the arena; each has a descriptor kept
 *             outside the page (struct ka_page_desc), never inside it.
 *   chunk     2^order physically contiguous, naturally aligned pages, a
 *             top-level buddy block; blocks never merge across chunks.
 *             All chunks of an arena have one order, the arena's
 *             max_order: the max_order parameter, or less when the kernel
 *             had too few free blocks that large at load and the arena
 *             took smaller ones, down to min_order (buddy.c).  A chunk is
 *             one alloc_pages() block or a part of one.
 *   block     2^order contiguous, naturally aligned pages inside a chunk;
 *             the unit the buddy layer hands out.  Its first page is the
 *             block head.
 *   order     log2 of a block's size in pages.
 *   slab      a block owned by a slab cache and cut into objects.
 *   object    one fixed-size allocation carved from a slab.
 *   magazine  a per-CPU stack of free objects in front of a cache's slabs
 *             (Bonwick & Adams 2001).
 *   depot     a cache's reserve of full and empty magazines.
 *   client    one open file of /dev/karena; owns user caches and page
 *             blocks (client.h).
 *   user cache  a slab cache owned by one client, whose slabs only that
 *             client can reach.
 *
 * Names (Documentation/naming.rst)
 *   karena_*, KARENA_*  public: the kernel API exported to other modules
 *                   (<karena_kernel.h>, EXPORT_SYMBOL_GPL), or the uapi
 *                   (uapi/karena.h: types and macros only).  No other
 *                   symbol of the module is named karena_*.
 *                   <karena_kernel.h> also shows other modules the slab
 *                   layer's struct ka_cache and KA_CACHE_* flags.
 *   ka_*, KA_*      the module's internals: buddy*, slab*, magazine.c,
 *                   kmalloc.c, main.c, debugfs.c; at most
 *                   EXPORT_SYMBOL_IF_KUNIT, for the KUnit suites.
 *   kdev_*, KDEV_*  the device layer (device.c, client*.c, window.c,
 *                   user_cache.c): kdev_client_* one client, kdev_uid_*
 *                   the per-uid quota, kdev_ucache_* user caches,
 *                   kdev_window_* the window, kdev_ioc_* the ioctls.
 *   kt_*            the KUnit suites' helpers (tests/kunit); the suites
 *                   are named karena_<area>.
 *   libkarena (userspace/) never links with the module and has names of
 *   its own: public ka_*, KA_* (<karena.h>), internal _ka_*.
 *
 * Lock order (outer first); the one statement of it, which every other
 * file points to.  In brackets: the file to read about the lock.
 *   1. kdev_clients_lock (mutex)    the list of clients [client.c]
 *   2. client->lock (mutex)         one client's caches, blocks, window
 *                                   map [client.h]
 *   3. client->window_lock (mutex)  the window's page table [window.c];
 *                                   also taken under mmap_lock by a fault
 *   4. cpus_read_lock()             ka_mag_drain_all(), before 5, never
 *                                   under it
 *   5. ka_slab_mutex                the list of all caches [slab.c]; also
 *                                   taken by the slab CPU-dead callback
 *   6. ka_cache_cpu.lock            one CPU's magazines of one cache
 *                                   (local lock, IRQs off) [magazine.c]
 *   7. cache->lock                  one cache's slab lists, counters and
 *                                   depot (spinlock, IRQs off) [slab.h]
 *   8. arena->validate_lock (mutex) serialises ka_arena_validate() and
 *                                   debugfs snapshots; the nest lock
 *                                   under which they take every 9 at
 *                                   once [buddy_internal.h]
 *   9. pcp->lock                    one CPU's buddy page lists
 *                                   (spinlock, IRQs off)
 *  10. arena->lock                  the buddy free lists, descriptors of
 *                                   free blocks, splits and merges
 *                                   (spinlock, IRQs off)
 *   The buddy calls never sleep (8 aside) and may be made under 1-5.
 *   The slab layer calls them, and runs its owner hooks (ka_cache_ops),
 *   with neither 6 nor 7 held.  Nothing faults on user memory under 2
 *   or 3 (client.h says why).
 */
#ifndef KARENA_INTERNAL_H
#define KARENA_INTERNAL_H

#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include <karena_kernel.h>

#include "compat.h"

/* Module parameters (main.c); validated once at load, read-only after. */
extern unsigned int ka_arena_mb;
extern unsigned int ka_max_order;
extern unsigned int ka_min_order;
extern unsigned int ka_dev_mode;

/* Root of /sys/kernel/debug/karena/ (debugfs.c); may be an error pointer. */
extern struct dentry *ka_debugfs_root;

int ka_check_params(unsigned int arena_mb, unsigned int max_order,
		    unsigned int min_order, unsigned int dev_mode);

int ka_debugfs_init(void);
void ka_debugfs_exit(void);

int kdev_init(void);
void kdev_exit(void);

#endif /* KARENA_INTERNAL_H */
