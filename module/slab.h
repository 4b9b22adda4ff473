/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: slab layer, private interface (module/slab*.c, magazine.c,
 * kmalloc.c, the device layer and the KUnit suite).
 *
 * A cache hands out objects of one size.  It takes blocks of 2^order pages
 * ("slabs") from the buddy layer, cuts each into objs_per_slab slots, and
 * keeps its slabs on three lists: partial (some objects free), full (none
 * free) and free (all free).  Kernel caches without debug flags put
 * per-CPU magazines with a depot in front of the slab lists (magazine.c,
 * Bonwick & Adams 2001).  Documentation/slab.rst has the figures.
 *
 * Two slab layouts (chosen once per cache by ka_cache_create()):
 *
 *   on-slab   kernel caches whose slot is at most KA_ONSLAB_MAX_SIZE
 *             bytes: the slab descriptor (struct ka_slab and its
 *             allocation bitmap) sits at the end of the slab's own pages,
 *             and the free list is a chain of pointers stored inside the
 *             free objects, optionally obfuscated (KA_CACHE_FREELIST_
 *             HARDENED) and shuffled (KA_CACHE_FREELIST_RANDOM).
 *   off-slab  user caches (KA_CACHE_USER), caches created with
 *             KA_CACHE_OFFSLAB, and kernel caches with larger slots: the
 *             descriptor, the allocation bitmap, the free list (a stack of
 *             object indices) and the owner-tracking records are all in
 *             kernel memory (ka_kmalloc_meta()).  The slab pages hold
 *             objects, red zones and poison bytes only, so a process that
 *             maps them and writes anything there cannot corrupt the
 *             allocator: the worst it can cause is a red zone or poison
 *             report about its own objects.
 *
 * Lock order: internal.h; the slab layer's locks are its 5 to 7.
 */
#ifndef KARENA_SLAB_H
#define KARENA_SLAB_H

#include <linux/fault-inject.h>
#include <linux/list.h>
#include <linux/local_lock.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/reciprocal_div.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>

#include "buddy.h"
#include <karena_kernel.h>

/* === Limits === */

/* Longest cache name, including the terminating NUL. */
#define KA_CACHE_NAME_LEN	32
/*
 * Largest slab order (as SLUB's PAGE_ALLOC_COSTLY_ORDER): bigger slabs
 * would make slab allocation compete with large kmalloc()s for the
 * arena's high orders.
 */
#define KA_SLAB_MAX_ORDER	3
/* Largest object a cache may have (one object in a KA_SLAB_MAX_ORDER slab). */
#define KA_CACHE_MAX_SIZE	(PAGE_SIZE << KA_SLAB_MAX_ORDER)
/* Largest slot of an on-slab kernel cache (Bonwick: 1/8 of a page). */
#define KA_ONSLAB_MAX_SIZE	(PAGE_SIZE / 8)
/* Largest number of rounds of a magazine. */
#define KA_MAG_MAX_ROUNDS	30
/*
 * Bytes of free objects a depot may hold in full magazines (at least
 * 2 * CPUs + 2 magazines): enough for bursts of about a thousand objects
 * of 256 bytes without going back to the slab lists.
 */
#define KA_DEPOT_BYTES		(256 * 1024)
/* Empty slabs a cache keeps on its free list before releasing more. */
#define KA_CACHE_FREE_KEEP	2

/* === Flags === */

/*
 * Private flags, beyond the public KA_CACHE_* flags of karena_kernel.h;
 * only ka_cache_create() accepts them.
 *
 * KA_CACHE_USER: a user cache of the device layer: off-slab layout, slab
 * pages zeroed before use and marked KA_PAGE_USER, no magazines (every
 * free is checked against the slab's bitmap).
 */
#define KA_CACHE_USER		0x00010000U
#define KA_CACHE_VALID_FLAGS	(KA_CACHE_FLAGS_MASK | KA_CACHE_USER)

/* Flags whose checks need every operation to reach the slab lists. */
#define KA_CACHE_DEBUG_FLAGS	(KA_CACHE_POISON | KA_CACHE_RED_ZONE | \
				 KA_CACHE_STORE_USER | \
				 KA_CACHE_CONSISTENCY_CHECKS)

/* Poison and red zone bytes, as include/linux/poison.h. */
#define KA_POISON_FREE		0x6b	/* free object */
#define KA_POISON_END		0xa5	/* last byte of a poisoned object */
#define KA_POISON_INUSE		0x5a	/* never-used slab padding */
#define KA_RED_INACTIVE		0xbb	/* red zone of a free object */
#define KA_RED_ACTIVE		0xcc	/* red zone of an allocated object */

/* Name of the KUnit resource (an int) that counts slab error reports. */
#define KA_SLAB_KUNIT_ERRORS	"karena_slab_errors"

/* === Statistics === */

/**
 * enum ka_stat_item - per-cache event counters (per CPU, summed on read).
 * @KA_ALLOC_FASTPATH: allocation served by the CPU's loaded or previous
 *	magazine.
 * @KA_ALLOC_SLOWPATH: allocation that needed the depot or the slab lists.
 * @KA_FREE_FASTPATH: free absorbed by the CPU's loaded or previous
 *	magazine.
 * @KA_FREE_SLOWPATH: free that needed the depot or the slab lists.
 * @KA_ALLOC_SLAB: slab taken from the buddy layer.
 * @KA_FREE_SLAB: slab given back to the buddy layer.
 * @KA_ALLOC_REFILL: magazine filled from the slab lists in one batch.
 * @KA_ALLOC_FAILED: allocation that returned nothing.
 * @KA_ALLOC_INJECTED: of those, failures injected through fail_slab.
 * @KA_MAGAZINE_HIT: allocation or free served by a CPU's magazines; not
 *	counted itself: ka_cache_stat() sums the fast paths of a cache with
 *	magazines.
 * @KA_MAGAZINE_MISS: allocation or free that went past them; the slow
 *	paths of a cache with magazines, summed the same way.
 * @KA_DEPOT_GET_FULL: full magazine taken from the depot.
 * @KA_DEPOT_PUT_FULL: full magazine given to the depot.
 * @KA_DEPOT_GET_EMPTY: empty magazine taken from the depot.
 * @KA_DEPOT_PUT_EMPTY: empty magazine given to the depot.
 * @KA_MAGAZINE_ALLOC: magazine allocated (from the karena_magazine cache).
 * @KA_MAGAZINE_FREE: magazine freed.
 * @KA_MAGAZINE_FLUSH: magazine whose rounds went back to the slab lists.
 * @KA_CPU_DRAIN: CPU whose magazines were drained (shrink, validate,
 *	destroy, CPU offline).
 * @KA_ERROR_DOUBLE_FREE: "Object already free" reports.
 * @KA_ERROR_INVALID: "Invalid object pointer" reports.
 * @KA_ERROR_WRONG_CACHE: "Wrong slab cache" reports.
 * @KA_ERROR_REDZONE: "Redzone overwritten" reports.
 * @KA_ERROR_POISON: "Poison overwritten" reports.
 * @KA_ERROR_FREELIST: "Freechain corrupt" reports.
 * @KA_ERROR_COUNTS: "Wrong number of objects" and descriptor reports.
 * @KA_NR_STATS: number of counters.
 */
enum ka_stat_item {
	KA_ALLOC_FASTPATH,
	KA_ALLOC_SLOWPATH,
	KA_FREE_FASTPATH,
	KA_FREE_SLOWPATH,
	KA_ALLOC_SLAB,
	KA_FREE_SLAB,
	KA_ALLOC_REFILL,
	KA_ALLOC_FAILED,
	KA_ALLOC_INJECTED,
	KA_MAGAZINE_HIT,
	KA_MAGAZINE_MISS,
	KA_DEPOT_GET_FULL,
	KA_DEPOT_PUT_FULL,
	KA_DEPOT_GET_EMPTY,
	KA_DEPOT_PUT_EMPTY,
	KA_MAGAZINE_ALLOC,
	KA_MAGAZINE_FREE,
	KA_MAGAZINE_FLUSH,
	KA_CPU_DRAIN,
	KA_ERROR_DOUBLE_FREE,
	KA_ERROR_INVALID,
	KA_ERROR_WRONG_CACHE,
	KA_ERROR_REDZONE,
	KA_ERROR_POISON,
	KA_ERROR_FREELIST,
	KA_ERROR_COUNTS,
	KA_NR_STATS,
};

#define KA_FIRST_ERROR		KA_ERROR_DOUBLE_FREE

/* === Data structures === */

/**
 * struct ka_track - owner tracking: who last allocated or freed an object.
 * @addr: caller (return address into the caller of the karena API); 0 if
 *	never.
 * @when: jiffies at the time.
 * @pid: pid of the task.
 * @cpu: CPU it ran on.
 */
struct ka_track {
	unsigned long addr;
	unsigned long when;
	pid_t pid;
	int cpu;
};

/* Index of a track record: [KA_TRACK_ALLOC] and [KA_TRACK_FREE]. */
enum ka_track_item { KA_TRACK_ALLOC, KA_TRACK_FREE, KA_NR_TRACKS };

/**
 * struct ka_slab - descriptor of one slab.
 * @list: link on the cache's partial, full or free list (cache->lock).
 * @cache: the owning cache; constant.
 * @head: first page of the slab's block; constant.
 * @addr: kernel address of the block; constant.
 * @base: address of slot 0 (@addr plus the colour offset); constant.
 * @inuse: objects out of the slab, to callers or magazines (cache->lock).
 * @list_id: the list the slab is on, enum ka_slab_list (cache->lock).
 * @freelist: on-slab layout: first free object, the chain continuing in
 *	the objects (encoded when hardened); cache->lock.
 * @free_idx: off-slab layout: stack of free object indices, entries
 *	[0, objs_per_slab - @inuse) valid, top last; cache->lock.
 * @track: off-slab layout with owner tracking: KA_NR_TRACKS records per
 *	object, in kernel memory; else NULL (cache->lock).
 * @map: allocation bitmap, bit i set while object i is out of the slab
 *	(cache->lock).  In both layouts it is in kernel-only memory, so a
 *	double free is always detected at the slab layer.
 */
struct ka_slab {
	struct list_head list;
	struct ka_cache *cache;
	struct page *head;
	void *addr;
	void *base;
	unsigned int inuse;
	unsigned int list_id;
	union {
		void *freelist;
		u16 *free_idx;
	};
	struct ka_track *track;
	unsigned long map[];
};

/* Lists a slab can be on. */
enum ka_slab_list { KA_SLAB_PARTIAL, KA_SLAB_FULL, KA_SLAB_FREE, KA_NR_LISTS };

/**
 * struct ka_magazine - a stack of free objects (Bonwick & Adams 2001).
 * @link: on the depot's full or empty list (cache->lock), or unlinked
 *	while loaded in a CPU's slot.
 * @rounds: objects in @objs.
 * @objs: the objects, top at @rounds - 1.
 *
 * A cache uses the first cache->mag_size entries of @objs.
 */
struct ka_magazine {
	struct list_head link;
	unsigned int rounds;
	void *objs[KA_MAG_MAX_ROUNDS];
};

/**
 * struct ka_cache_cpu - one CPU's state of one cache.
 * @lock: the slot section: local_lock_irqsave() by the owning CPU, which
 *	alone uses @loaded and @previous while it is online (interrupts off;
 *	no spinlock, no atomic).  Other CPUs reach a slot only through the
 *	owner (an IPI, magazine.c) or, for a CPU that is not online, under
 *	cache->lock.
 * @loaded: magazine objects are popped from and pushed to; may be NULL.
 * @previous: the magazine loaded before; always NULL, full or empty.
 * @stat: event counters, updated with this_cpu_inc() (no lock).
 */
struct ka_cache_cpu {
	local_lock_t lock;	/* see above */
	struct ka_magazine *loaded;
	struct ka_magazine *previous;
	unsigned long stat[KA_NR_STATS];
};

/**
 * struct ka_cache_ops - hooks of a cache's owner (the device layer).
 * @slab_alloc: optional; called after a new slab's pages are allocated,
 *	zeroed (user caches), initialised and marked with the slab as owner,
 *	before any of its objects is handed out.  A non-zero return refuses
 *	the slab (it goes back to the buddy layer without @slab_release) and
 *	the allocation that needed it fails.  Use: quota accounting.
 * @slab_release: optional; called right before a slab's pages go back to
 *	the buddy layer, when none of its objects is allocated; the pages
 *	still carry the slab as owner.  Use: unmap the pages from every user
 *	page table first.
 *
 * Both run without any slab-layer lock held, in the context of the call
 * that grows or shrinks the cache: ka_cache_alloc*() for @slab_alloc;
 * ka_cache_free*() (beyond KA_CACHE_FREE_KEEP empty slabs),
 * ka_cache_shrink() and ka_cache_destroy() for @slab_release.  A cache
 * whose hooks sleep must only be used from process context.
 */
struct ka_cache_ops {
	int (*slab_alloc)(struct ka_cache *cache, struct page *head,
			  unsigned int order);
	void (*slab_release)(struct ka_cache *cache, struct page *head,
			     unsigned int order);
};

/**
 * struct ka_cache - a slab cache.
 * @name: unique among all karena caches; the debugfs directory name.
 * @flags: KA_CACHE_* flags as given (validated).
 * @object_size: bytes the creator asked for per object.
 * @size: bytes per slot (the stride between objects), a multiple of
 *	@align.
 * @align: alignment of every object (at least 8).
 * @red_left: offset of the object in its slot; the left red zone when
 *	KA_CACHE_RED_ZONE, else 0.
 * @inuse: end of the object and its right red zone in the slot.
 * @fp_offset: on-slab layout: offset of the free pointer in the slot.
 * @track_offset: on-slab layout with owner tracking: offset of the two
 *	struct ka_track in the slot.
 * @order: slab order.
 * @objs_per_slab: slots per slab.
 * @desc_size: bytes of a slab descriptor (at the block's end when
 *	on-slab, from karena_kmalloc() when off-slab).
 * @offslab: true for the off-slab layout.
 * @colour_align: colour step in bytes.
 * @colours: number of colours (distinct first-object offsets).
 * @mag_size: rounds per magazine; 0 if the cache has no magazines.
 * @depot_max: most full (and most empty) magazines the depot keeps.
 * @reciprocal_size: for index = offset / @size.
 * @fp_random: obfuscation key of the in-object free pointers.
 * @random_seq: KA_CACHE_FREELIST_RANDOM: a random permutation of
 *	[0, @objs_per_slab); each new slab's free list follows it from a
 *	random start.
 * @ctor: constructor, run once per object when its slab is created.
 * @ops: owner hooks, or NULL.
 * @owner: opaque owner (the device's client), or NULL.
 * @arena: the buddy arena slabs come from.
 * @cpu: per-CPU magazines and counters.
 * @list: link on ka_slab_caches (ka_slab_mutex).
 * @dir: debugfs directory caches/<name>/ (may be an error pointer).
 * @files: debugfs per-attribute data (slab_debugfs.c).
 * @internal: one of karena's own caches (cache of caches, magazines,
 *	kmalloc classes); destroyed last at unload.
 * @lock: protects the fields below.
 * @slabs: the partial, full and free lists.
 * @nr_slabs: number of slabs on each list.
 * @nr_out: objects out of slabs (to callers and magazines).
 * @colour_next: colour of the next slab.
 * @depot_full: full magazines.
 * @depot_empty: empty magazines.
 * @depot_nr_full: length of @depot_full.
 * @depot_nr_empty: length of @depot_empty.
 */
struct ka_cache {
	char name[KA_CACHE_NAME_LEN];
	unsigned int flags;
	unsigned int object_size;
	unsigned int size;
	unsigned int align;
	unsigned int red_left;
	unsigned int inuse;
	unsigned int fp_offset;
	unsigned int track_offset;
	unsigned int order;
	unsigned int objs_per_slab;
	unsigned int desc_size;
	bool offslab;
	unsigned int colour_align;
	unsigned int colours;
	unsigned int mag_size;
	unsigned int depot_max;
	struct reciprocal_value reciprocal_size;
	unsigned long fp_random;
	u16 *random_seq;
	void (*ctor)(void *obj);
	const struct ka_cache_ops *ops;
	void *owner;
	struct ka_arena *arena;
	struct ka_cache_cpu __percpu *cpu;
	struct list_head list;
	struct dentry *dir;
	void *files;
	bool internal;

	spinlock_t lock;	/* protects every field below */
	struct list_head slabs[KA_NR_LISTS];
	unsigned long nr_slabs[KA_NR_LISTS];
	unsigned long nr_out;
	unsigned int colour_next;
	struct list_head depot_full;
	struct list_head depot_empty;
	unsigned long depot_nr_full;
	unsigned long depot_nr_empty;
};

/*
 * What code outside the slab layer (the device layer) may read of a
 * cache; the rest of struct ka_cache is the slab layer's.  All of it is
 * constant from ka_cache_create() on.
 */

/* The owner given in struct ka_cache_args. */
static inline void *ka_cache_owner(const struct ka_cache *cache)
{
	return cache->owner;
}

/* KA_CACHE_* flags. */
static inline unsigned int ka_cache_flags(const struct ka_cache *cache)
{
	return cache->flags;
}

/* Bytes of an object, as asked for. */
static inline unsigned int ka_cache_object_size(const struct ka_cache *cache)
{
	return cache->object_size;
}

/* Distance between two objects of a slab (object, red zones, padding). */
static inline unsigned int ka_cache_stride(const struct ka_cache *cache)
{
	return cache->size;
}

/* Offset of an object's first byte from the start of its slot. */
static inline unsigned int ka_cache_object_offset(const struct ka_cache *cache)
{
	return cache->red_left;
}

/* Bytes of one slab. */
static inline unsigned long ka_cache_slab_bytes(const struct ka_cache *cache)
{
	return PAGE_SIZE << cache->order;
}

/* Objects in one slab. */
static inline unsigned int ka_cache_objs_per_slab(const struct ka_cache *cache)
{
	return cache->objs_per_slab;
}

/**
 * struct ka_cache_args - what ka_cache_create() needs.
 * @arena: buddy arena for the slabs; NULL for ka_global_arena.
 * @name: unique name, 1 to KA_CACHE_NAME_LEN - 1 characters from
 *	[A-Za-z0-9_.:-] (a debugfs directory and a slabinfo column).  The
 *	device layer must make user cache names unique itself, for example
 *	by prefixing a client number.
 * @size: object size in bytes, 1 to KA_CACHE_MAX_SIZE.
 * @align: 0 (8 bytes) or a power of two up to PAGE_SIZE.
 * @flags: KA_CACHE_VALID_FLAGS bits; anything else is -EINVAL, so a uapi
 *	may pass its flags through unchanged (karena_kernel.h: the first
 *	five are the uapi's KARENA_CACHE_* bits).
 * @ctor: optional constructor (see ka_cache_create()).
 * @ops: optional owner hooks.
 * @owner: optional opaque owner, stored in cache->owner.
 */
struct ka_cache_args {
	struct ka_arena *arena;
	const char *name;
	unsigned int size;
	unsigned int align;
	unsigned int flags;
	void (*ctor)(void *obj);
	const struct ka_cache_ops *ops;
	void *owner;
};

/**
 * struct ka_cache_info - a consistent snapshot of a cache's counts.
 * @slabs: slabs on each list.
 * @total_objects: slots in all slabs.
 * @objects: objects allocated to callers.
 * @cached: free objects held in magazines (CPU slots and depot).
 * @cpu_cached: of those, in CPU slots.
 * @depot_full: full magazines in the depot.
 * @depot_empty: empty magazines in the depot.
 */
struct ka_cache_info {
	unsigned long slabs[KA_NR_LISTS];
	unsigned long total_objects;
	unsigned long objects;
	unsigned long cached;
	unsigned long cpu_cached;
	unsigned long depot_full;
	unsigned long depot_empty;
};

/* === Global state (slab.c) === */

/* Every cache, including karena's own, on ka_slab_caches. */
extern struct mutex ka_slab_mutex;
extern struct list_head ka_slab_caches;

/* === Cache API (slab.c); the public half is in karena_kernel.h === */

struct ka_cache *ka_cache_create(const struct ka_cache_args *args);
void *ka_cache_alloc_caller(struct ka_cache *cache, gfp_t gfp,
			    unsigned long caller);
void ka_cache_free_caller(struct ka_cache *cache, void *obj,
			  unsigned long caller);
void *ka_cache_alloc_slow(struct ka_cache *cache, unsigned long caller);
void *ka_cache_alloc_injected(struct ka_cache *cache);
void ka_cache_free_slow(struct ka_cache *cache, void *obj,
			unsigned long caller);
unsigned int ka_cache_alloc_some(struct ka_cache *cache, gfp_t gfp,
				 unsigned int nr, void **objs);
int ka_cache_free_checked(struct ka_cache *cache, void *obj);
int ka_cache_free_bulk_checked(struct ka_cache *cache, unsigned int nr,
			       void **objs, unsigned int *done);
/* Called for each slab by ka_cache_walk_slabs(). */
typedef int (*ka_slab_visit_t)(struct ka_cache *cache, struct page *head,
			       unsigned int order, void *arg);
int ka_cache_walk_slabs(struct ka_cache *cache, ka_slab_visit_t fn,
			void *arg);
struct ka_cache *ka_cache_lookup(const char *name);
struct ka_cache *ka_addr_cache(struct ka_arena *arena, const void *addr,
			       struct page **head);
int ka_cache_validate(struct ka_cache *cache);
void ka_cache_get_info(struct ka_cache *cache, struct ka_cache_info *info);
unsigned long ka_cache_stat(struct ka_cache *cache, enum ka_stat_item item);
void ka_cache_stat_clear(struct ka_cache *cache, enum ka_stat_item item);
const char *ka_stat_name(enum ka_stat_item item);

void ka_cache_destroy_force(struct ka_cache *cache);
int ka_slab_init(void);
void ka_slab_exit(void);

/* === Slab layer, for magazine.c, kmalloc.c and slab_debug.c === */

unsigned int ka_slab_alloc_objs(struct ka_cache *cache, void **objs,
				unsigned int nr, unsigned long caller);
void ka_slab_free_objs(struct ka_cache *cache, void **objs, unsigned int nr,
		       unsigned long caller);
bool ka_slab_obj_ok(const struct ka_cache *cache, const struct ka_slab *slab,
		    const void *obj);
void *ka_slab_fp_get(const struct ka_cache *cache, const void *obj);
void ka_slab_rebuild_freelist(struct ka_cache *cache, struct ka_slab *slab);

/* === Magazines and depot (magazine.c) === */

int ka_magazine_init(void);
void ka_magazine_exit(void);
void *ka_mag_alloc(struct ka_cache *cache, unsigned long caller);
void ka_mag_free(struct ka_cache *cache, void *obj, unsigned long caller);
unsigned int ka_mag_alloc_bulk(struct ka_cache *cache, unsigned int nr,
			       void **objs);
void ka_mag_free_bulk(struct ka_cache *cache, unsigned int nr, void **objs,
		      unsigned long caller);
void ka_mag_drain_all(struct ka_cache *cache);
void ka_mag_count(struct ka_cache *cache, struct ka_cache_info *info);

/* === Debugging (slab_debug.c) === */

void ka_debug_init_object(struct ka_cache *cache, struct ka_slab *slab,
			  void *obj);
void ka_debug_alloc(struct ka_cache *cache, struct ka_slab *slab, void *obj,
		    unsigned long caller);
void ka_debug_free(struct ka_cache *cache, struct ka_slab *slab, void *obj,
		   unsigned long caller);
void ka_slab_report(struct ka_cache *cache, struct ka_slab *slab,
		    const void *obj, enum ka_stat_item err, const char *fix,
		    const char *fmt, ...) __printf(6, 7);
void ka_slab_kunit_error(void);
int ka_slab_check(struct ka_cache *cache, struct ka_slab *slab,
		  unsigned int list_id, unsigned long *scratch, bool objects);
void ka_report_leaked_objects(struct ka_cache *cache, bool force);
struct ka_track *ka_obj_track(struct ka_cache *cache, struct ka_slab *slab,
			      unsigned int idx);
const char *ka_error_title(enum ka_stat_item err);

/* === debugfs (slab_debugfs.c) === */

void ka_slab_debugfs_init(void);
void ka_slab_debugfs_exit(void);
void ka_cache_debugfs_add(struct ka_cache *cache);
void ka_cache_debugfs_remove(struct ka_cache *cache);

/* === kmalloc classes (kmalloc.c) === */

/* Number of kmalloc classes: 8..8192 in powers of two, plus 96 and 192. */
#define KA_KMALLOC_NR		13
/* Largest kmalloc class; larger requests go to the buddy layer. */
#define KA_KMALLOC_MAX_CACHE	8192

/**
 * struct ka_kmalloc_set - kmalloc-style classes over one arena.
 * @arena: where the classes' slabs and the large allocations come from.
 * @caches: the classes, smallest first.
 * @large_allocs: allocations above KA_KMALLOC_MAX_CACHE served.
 * @large_frees: and freed.
 * @large_pages: pages they hold now.
 * @bad_frees: ka_kfree() calls refused (not a kmalloc allocation).
 */
struct ka_kmalloc_set {
	struct ka_arena *arena;
	struct ka_cache *caches[KA_KMALLOC_NR];
	atomic_long_t large_allocs;
	atomic_long_t large_frees;
	atomic_long_t large_pages;
	atomic_long_t bad_frees;
};

/* The module's classes over ka_global_arena ("kmalloc-8" ...). */
extern struct ka_kmalloc_set ka_kmalloc_global;

int ka_kmalloc_set_init(struct ka_kmalloc_set *set, struct ka_arena *arena,
			const char *prefix, unsigned int flags);
int ka_kmalloc_set_destroy(struct ka_kmalloc_set *set);
unsigned int ka_kmalloc_class_size(unsigned int idx);
void *ka_kmalloc(struct ka_kmalloc_set *set, size_t size, gfp_t gfp,
		 unsigned long caller);
void *ka_kmalloc_meta(size_t size, gfp_t gfp, unsigned long caller);
void ka_kfree(struct ka_kmalloc_set *set, const void *p,
	      unsigned long caller);
void *ka_krealloc(struct ka_kmalloc_set *set, const void *p,
		  size_t new_size, gfp_t gfp, unsigned long caller);
size_t ka_ksize(struct ka_kmalloc_set *set, const void *p);
size_t ka_kmalloc_roundup(struct ka_kmalloc_set *set, size_t size);
int ka_kmalloc_init(void);
void ka_kmalloc_exit(void);

/* === Inline helpers === */

static inline bool ka_cache_debug(const struct ka_cache *cache)
{
	return cache->flags & KA_CACHE_DEBUG_FLAGS;
}

/* Slot @idx of @slab: start of the slot, before the left red zone. */
static inline void *ka_slot(const struct ka_cache *cache,
			    const struct ka_slab *slab, unsigned int idx)
{
	return slab->base + (unsigned long)idx * cache->size;
}

/* Object @idx of @slab, as handed to callers. */
static inline void *ka_obj(const struct ka_cache *cache,
			   const struct ka_slab *slab, unsigned int idx)
{
	return ka_slot(cache, slab, idx) + cache->red_left;
}

/* Index of @obj in @slab; @obj must be an object of @slab. */
static inline unsigned int ka_obj_index(const struct ka_cache *cache,
					const struct ka_slab *slab,
					const void *obj)
{
	return reciprocal_divide(obj - slab->base, cache->reciprocal_size);
}

/* The list a slab belongs on, by its use count. */
static inline unsigned int ka_slab_list_for(const struct ka_cache *cache,
					    const struct ka_slab *slab)
{
	if (!slab->inuse)
		return KA_SLAB_FREE;
	return slab->inuse == cache->objs_per_slab ? KA_SLAB_FULL :
						     KA_SLAB_PARTIAL;
}

static inline void ka_stat_inc(struct ka_cache *cache, enum ka_stat_item item)
{
	this_cpu_inc(cache->cpu->stat[item]);
}

static inline void ka_stat_add(struct ka_cache *cache, enum ka_stat_item item,
			       unsigned long n)
{
	this_cpu_add(cache->cpu->stat[item], n);
}

/*
 * Fault injection for object allocations: karena/fail_slab in debugfs.
 * The attribute is wrapped in a struct so that slab.c can define it
 * without an #ifdef.
 */
struct ka_slab_fault {
#ifdef CONFIG_FAULT_INJECTION
	struct fault_attr attr;
#endif
};

extern struct ka_slab_fault ka_fail_slab;

#ifdef CONFIG_FAULT_INJECTION
static inline void ka_fail_slab_init(void)
{
	ka_fail_slab.attr = (struct fault_attr)FAULT_ATTR_INITIALIZER;
	/* A message per injected failure, but no stack dump. */
	ka_fail_slab.attr.verbose = 1;
}

static inline bool ka_should_fail_slab(struct ka_cache *cache)
{
	return should_fail(&ka_fail_slab.attr, cache->object_size);
}

static inline void ka_fail_slab_debugfs(struct dentry *parent)
{
	fault_create_debugfs_attr("fail_slab", parent, &ka_fail_slab.attr);
}

/* Make the next @times object allocations fail (0: none), silently. */
static inline bool ka_fail_slab_set(int times)
{
	ka_fail_slab.attr.verbose = 0;
	ka_fail_slab.attr.interval = 1;
	ka_fail_slab.attr.probability = times ? 100 : 0;
	atomic_set(&ka_fail_slab.attr.times, times);
	return true;
}
#else
static inline void ka_fail_slab_init(void) { }

static inline bool ka_should_fail_slab(struct ka_cache *cache)
{
	return false;
}

static inline void ka_fail_slab_debugfs(struct dentry *parent) { }

static inline bool ka_fail_slab_set(int times)
{
	return false;
}
#endif

/* === Fast paths, inline into the exported calls and kmalloc === */

/*
 * Pop from this CPU's loaded magazine in the slot section (magazine.c);
 * NULL if it is empty or absent, and ka_cache_alloc_slow() does the rest.
 */
static __always_inline void *ka_mag_alloc_fast(struct ka_cache *cache)
{
	struct ka_cache_cpu *cc;
	struct ka_magazine *mag;
	unsigned long flags;
	void *obj = NULL;

	local_lock_irqsave(&cache->cpu->lock, flags);
	cc = this_cpu_ptr(cache->cpu);
	mag = cc->loaded;
	if (likely(mag && mag->rounds)) {
		obj = mag->objs[--mag->rounds];
		ka_stat_inc(cache, KA_ALLOC_FASTPATH);
	}
	local_unlock_irqrestore(&cache->cpu->lock, flags);
	return obj;
}

/* Push on this CPU's loaded magazine; false if it is full or absent. */
static __always_inline bool ka_mag_free_fast(struct ka_cache *cache,
					     void *obj)
{
	struct ka_cache_cpu *cc;
	struct ka_magazine *mag;
	unsigned long flags;
	bool done = false;

	local_lock_irqsave(&cache->cpu->lock, flags);
	cc = this_cpu_ptr(cache->cpu);
	mag = cc->loaded;
	if (likely(mag && mag->rounds < cache->mag_size)) {
		mag->objs[mag->rounds++] = obj;
		ka_stat_inc(cache, KA_FREE_FASTPATH);
		done = true;
	}
	local_unlock_irqrestore(&cache->cpu->lock, flags);
	return done;
}

/* ka_cache_alloc_caller(), inline: fail_slab, the magazine, the rest. */
static __always_inline void *ka_cache_alloc_inline(struct ka_cache *cache,
						   gfp_t gfp,
						   unsigned long caller)
{
	void *obj = NULL;

	if (unlikely(ka_should_fail_slab(cache)))
		return ka_cache_alloc_injected(cache);
	if (likely(cache->mag_size))
		obj = ka_mag_alloc_fast(cache);
	if (unlikely(!obj)) {
		obj = ka_cache_alloc_slow(cache, caller);
		if (!obj)
			return NULL;
	}
	if (unlikely(gfp & __GFP_ZERO))
		memset(obj, 0, cache->object_size);
	return obj;
}

/* ka_cache_free_caller(), inline. */
static __always_inline void ka_cache_free_inline(struct ka_cache *cache,
						 void *obj,
						 unsigned long caller)
{
	if (unlikely(!obj))
		return;
	if (likely(cache->mag_size) && ka_mag_free_fast(cache, obj))
		return;
	ka_cache_free_slow(cache, obj, caller);
}

#endif /* KARENA_SLAB_H */
