/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libkarena internals.
 *
 * Glossary:
 *   client     one open file of /dev/karena; a heap is one client.
 *   heap       the library's side of a client: its window, page map,
 *              slots, depots and block cache (struct ka_heap).  The
 *              kernel's pool of pages is the *arena*; a heap gets its
 *              memory from it.
 *   window     the client's mmap of everything it owns; an object or block
 *              is named by its offset in the window.  libkarena maps the
 *              window at an address aligned to the largest block, so a
 *              block aligned to its size in the window is aligned in memory.
 *   slot       a heap's record of one kernel user cache (a size class,
 *              an aligned class or an object cache), indexed 1..KA_SLOTS-1.
 *   class      a malloc size class: a slot created on first use.
 *   block      a page block of 2^order pages (PAGES_ALLOC).
 *   page map   one entry per window page: which slot's slab or which block
 *              the page is in, learnt when the kernel hands the page out.
 *   start map  one bit per 8 window bytes: an object of the page's slot
 *              starts here.
 *   live map   one byte per 8 window bytes: the object starting here is
 *              the program's.  A free must hit a start whose live byte it
 *              clears: anything else is misuse, found before the kernel is
 *              asked.
 *   magazine   a run of batch free objects of one slot.  A thread holds up
 *              to two of them per slot, as one stack (struct ka_mag).
 *   depot      a heap's store of full magazines of one slot, shared by its
 *              threads (depot.c); the kernel is called only when it runs
 *              dry (ALLOC_BULK) or is over its bound (FREE_BULK).
 *   block cache  a heap's free page blocks, kept for reuse (blocks.c).
 *   tcache     a thread's magazines for one heap, and its counters.
 *   owner      the thread a tcache belongs to; the only one that uses its
 *              magazines on the fast paths.
 *   remote     any other thread reaching into a tcache: a trim or a cache
 *              destroy (which empty magazines), a statistics reader (which
 *              only reads counters).
 *   gen        a number that changes whenever a heap's client is
 *              replaced (close, fork): a tcache of another gen is stale.
 *
 * Lock order: _ka_global_lock -> heap->lock -> tcache->lock ->
 * depot->lock (of a slot) -> blocks.lock.  A remote that empties
 * magazines may hold several tcache locks, in list order, under
 * heap->lock.  The fast paths (fast.h) take no lock and do no atomic
 * read-modify-write: the owner marks itself busy with a plain store, and
 * a remote that empties magazines takes tcache->lock, raises a flag and
 * makes every thread pass a memory barrier (membarrier(2)) before it
 * waits for the owner to leave; see magazine.c.  Where membarrier is not
 * available the owner takes tcache->lock instead, as a remote does.  An
 * owner takes a depot lock while busy; a remote takes depot locks only
 * after every owner has left, never while it waits for one.
 *
 * Every operating system call goes through one seam: prim.c (_ka_prim_*:
 * memory, files, clocks) and dev.c (_ka_dev_*: the device's open, ioctl
 * and window), so that everything else is logic a host test can run
 * over a fake device (dev_fake.c replaces dev.c alone).
 */
#ifndef KARENA_LIB_INTERNAL_H
#define KARENA_LIB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The library defines the 1.0 names itself, as aliases (compat.c). */
#define KA_NO_DEPRECATED
#include "karena.h"
#include "uapi/karena.h"

#define _KA_HIDDEN	__attribute__((visibility("hidden")))
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(nr)		(1UL << (nr))

/* Bytes of window per bit of the bitmaps: the smallest object spacing. */
#define KA_GRAIN_SHIFT	3
#define KA_GRAIN	BIT(KA_GRAIN_SHIFT)

/* Slots per heap (the kernel allows max_caches of them at once). */
#define KA_SLOTS	128
/* Heaps whose objects go through per-thread magazines. */
#define KA_TLS_HEAPS	8
/* Most page-block orders. */
#define KA_ORDERS	KA_MAX_ORDERS

/* malloc's alignment: that of max_align_t on x86-64. */
#define KA_MALLOC_ALIGN	16

/* === Small helpers === */

static inline void _ka_cpu_relax(void)
{
	__asm__ __volatile__("" ::: "memory");
}

/* @x rounded up to a multiple of @a, a power of two. */
static inline size_t _ka_align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline void _ka_spin_lock(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(lock, __ATOMIC_RELAXED))
			_ka_cpu_relax();
}

static inline void _ka_spin_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

static inline bool _ka_is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

/* === The OS seam (prim.c) === */

void _ka_prim_close(int fd);
void *_ka_prim_reserve(void *hint, size_t len, bool fixed);
void _ka_prim_reserve_over(void *addr, size_t len);
void *_ka_prim_anon(size_t len);
void _ka_prim_unmap(void *addr, size_t len);
void _ka_prim_write(int fd, const char *buf, size_t len);
int _ka_prim_open_file(const char *path, bool write, bool trunc);
long _ka_prim_read_file(const char *path, char *buf, size_t len);
int _ka_prim_write_file(const char *path, const char *buf);
int _ka_prim_getpid(void);
void _ka_prim_yield(void);
int _ka_prim_exe_path(char *buf, size_t len);
int _ka_prim_memfd(size_t len);
long _ka_prim_pwrite(int fd, const void *buf, size_t len, __u64 off);
int _ka_prim_map_copy(int fd, void *addr, size_t len);
int _ka_prim_membarrier_register(void);
int _ka_prim_membarrier(void);
__u64 _ka_prim_now_ms(void);

/* === The device seam (dev.c, or dev_fake.c in the host tests) === */

int _ka_dev_open(const char *path);
void _ka_dev_close(int fd);
int _ka_dev_ioctl(int fd, unsigned long cmd, void *arg);
int _ka_dev_map_window(int fd, void *addr, size_t len, __u64 off);

/* === Options from the environment (env.c) === */

/**
 * struct ka_options - what the environment asked for, read once.
 * @abort_on_misuse: KARENA_ABORT (default 1).
 * @batch: KARENA_BATCH, most objects per refill or flush (default 64).
 * @debug_flags: KARENA_DEBUG, KA_CACHE_* flags for the size classes.
 * @leakcheck: KARENA_LEAKCHECK.
 * @require: KARENA_REQUIRE (interposer: no fallback).
 * @spill: KARENA_SPILL (interposer: system allocator beyond karena).
 * @quiet: KARENA_QUIET (interposer: no fallback notice).
 * @device: KARENA_DEVICE.
 * @trace: KARENA_TRACE, a file name ("%p" becomes the process id).
 * @exit_info: KARENA_EXIT_INFO, a file that gets ka_malloc_info() and
 *	this client's debugfs lines at exit.
 * @debugfs: KARENA_DEBUGFS.
 */
struct ka_options {
	bool abort_on_misuse;
	unsigned int batch;
	unsigned int debug_flags;
	bool leakcheck;
	bool require;
	bool spill;
	bool quiet;
	char device[256];
	char trace[256];
	char exit_info[256];
	char debugfs[256];
};

extern _KA_HIDDEN struct ka_options _ka_opt;
void _ka_options_read(void);

/* === Reports (report.c) === */

enum ka_misuse {
	KA_MISUSE_DOUBLE_FREE,
	KA_MISUSE_INVALID,
	KA_MISUSE_REDZONE,
	KA_MISUSE_PARENT,
	KA_MISUSE_INTERNAL,
};

void _ka_misuse(struct ka_heap *heap, enum ka_misuse kind,
		const char *func, const void *ptr, const char *detail);
void _ka_say(const char *fmt, ...);
void _ka_fatal(const char *fmt, ...);
void _ka_set_errmsg(const char *fmt, ...);

/* === Internal memory, never from malloc (meta.c) === */

void *_ka_meta_alloc(size_t size);
void _ka_meta_free(void *p, size_t size);
void _ka_meta_atfork_child(void);

/* === Page map and bitmaps (pagemap.c) === */

/* Page map entry: kind in bits 0-1. */
#define KA_PM_NONE	0U
#define KA_PM_SLAB	1U	/* slot in bits 8-15 */
#define KA_PM_BLOCK	2U	/* head page; order in bits 2-6, live in bit 7 */
#define KA_PM_TAIL	3U	/* a block's other pages */
#define KA_PM_KIND(e)	((e) & 3U)
#define KA_PM_SLOT(e)	(((e) >> 8) & 0xffU)
#define KA_PM_ORDER(e)	(((e) >> 2) & 0x1fU)
#define KA_PM_LIVE	((unsigned int)BIT(7))
#define KA_PM_MKSLAB(s)	(KA_PM_SLAB | ((__u32)(s) << 8))
#define KA_PM_MKBLOCK(o) (KA_PM_BLOCK | ((__u32)(o) << 2))
/* A page changing owner, while its old start bits are cleared (kind none). */
#define KA_PM_BUSY	((unsigned int)BIT(31))

/**
 * struct ka_pagemap - what libkarena knows of every window byte.
 * @pages: window pages.
 * @page_shift: log2 of the page size.
 * @map: one entry per page (atomic loads and stores).
 * @start: bit per grain: an object starts here (atomic).
 * @live: byte per grain: 1 when the object here is the program's (relaxed
 *	loads and stores of single bytes, no read-modify-write: see
 *	pagemap.c).
 * @map_bytes: bytes mapped for @map.
 * @bits_bytes: bytes mapped for @start.
 * @live_bytes: bytes mapped for @live.
 */
struct ka_pagemap {
	size_t pages;
	unsigned int page_shift;
	__u32 *map;
	unsigned long *start;
	__u8 *live;
	size_t map_bytes;
	size_t bits_bytes;
	size_t live_bytes;
};

int _ka_pm_init(struct ka_pagemap *pm, size_t window_bytes,
		unsigned int page_shift);
void _ka_pm_destroy(struct ka_pagemap *pm);
void _ka_pm_learn_object(struct ka_pagemap *pm, __u64 off, __u32 len,
			 unsigned int slot);
void _ka_pm_learn_block(struct ka_pagemap *pm, __u64 off,
			unsigned int order);
bool _ka_pm_test_and_set(unsigned long *bits, __u64 off);

static inline __u32 _ka_pm_entry(const struct ka_pagemap *pm, __u64 off)
{
	return __atomic_load_n(&pm->map[off >> pm->page_shift],
			       __ATOMIC_ACQUIRE);
}

/* Whether an object starts at window offset @off. */
static inline bool _ka_pm_start(const struct ka_pagemap *pm, __u64 off)
{
	size_t g = off >> KA_GRAIN_SHIFT, bits = 8 * sizeof(unsigned long);

	/* Pairs with the fetch-or of _ka_pm_test_and_set(). */
	return __atomic_load_n(&pm->start[g / bits], __ATOMIC_ACQUIRE) &
	       (1UL << (g % bits));
}

/* Whether the object at window offset @off is the program's. */
static inline bool _ka_pm_live(const struct ka_pagemap *pm, __u64 off)
{
	return __atomic_load_n(&pm->live[off >> KA_GRAIN_SHIFT],
			       __ATOMIC_RELAXED);
}

/* Mark the object at window offset @off the program's, or not. */
static inline void _ka_pm_set_live(struct ka_pagemap *pm, __u64 off,
				   bool live)
{
	__atomic_store_n(&pm->live[off >> KA_GRAIN_SHIFT], live,
			 __ATOMIC_RELAXED);
}

/* === Size classes (classes.c) === */

#define KA_NR_CLASSES	36
#define KA_MAX_CLASS	16384
/* Sizes the fast paths map to a class by table: all of the classes. */
#define KA_SMALL_MAX	1024

unsigned int _ka_class_index(size_t size);
size_t _ka_class_size(unsigned int index);
unsigned int _ka_order_for(size_t bytes, unsigned int page_shift);

/*
 * Size to class by table: 16-byte steps up to KA_SMALL_MAX, 256-byte
 * steps above (every class boundary there is a multiple of 256).
 */
extern _KA_HIDDEN __u8 _ka_class_small[KA_SMALL_MAX / 16 + 1];
extern _KA_HIDDEN __u8 _ka_class_large[KA_MAX_CLASS / 256 + 1];

static inline unsigned int _ka_class_of(size_t size)
{
	if (size <= KA_SMALL_MAX)
		return _ka_class_small[(size + 15) >> 4];
	return _ka_class_large[(size + 255) >> 8];
}

/* === Depots (depot.c) === */

/**
 * struct ka_depot - a heap's full magazines of one slot, for all its
 * threads.
 * @lock: guards the fields below.
 * @objs: the objects, most recently given last; @room of them fit.
 * @count: objects held.
 * @bound: most objects held before a thread's magazine goes to the
 *	kernel instead; grows while the slot thrashes, shrinks with decay.
 * @room: size of @objs.
 * @low: fewest objects held since @since: what a whole period did not
 *	need, given back at the next (decay).
 * @high: most objects held since @since: a bound twice as large was not
 *	needed either, and shrinks.
 * @since: when the period began (_ka_prim_now_ms()).
 * @spilled: a magazine went to the kernel for want of room this period.
 * @gets: magazines taken by threads.
 * @puts: magazines given by threads.
 * @misses: gets the depot could not serve (one ALLOC_BULK each).
 * @overflows: puts over @bound (one FREE_BULK each).
 * @decays: objects given back by decay and trims.
 *
 * Counted in objects, moved in magazines of the slot's batch.
 */
struct ka_depot {
	pthread_mutex_t lock;
	void **objs;
	__u32 count;
	__u32 bound;
	__u32 room;
	__u32 low;
	__u32 high;
	__u64 since;
	bool spilled;
	__u64 gets;
	__u64 puts;
	__u64 misses;
	__u64 overflows;
	__u64 decays;
};

/* === Heaps (heap.c, window.c, slot.c, fork.c) === */

enum ka_slot_kind {
	KA_SLOT_FREE,
	KA_SLOT_CLASS,		/* malloc size class */
	KA_SLOT_ALIGNED,	/* malloc class of power-of-two size and align */
	KA_SLOT_USER,		/* a ka_cache */
};

/**
 * struct ka_slot - one kernel user cache of a heap.
 * @kind: enum ka_slot_kind; KA_SLOT_FREE when unused.
 * @id: the kernel's cache id; 0 while not created in this client (a
 *	class before its first use, any cache after a fork).
 * @object_size: usable bytes per object.
 * @align: alignment asked for.
 * @flags: KA_CACHE_* flags.
 * @stride: the kernel's object_stride.
 * @object_offset: the kernel's object_offset (left red zone).
 * @slab_bytes: the kernel's slab_bytes.
 * @batch: objects per magazine; 0: no magazine, every call goes to the
 *	kernel (debug caches).
 * @fill: objects the next refill from the kernel asks for: a small
 *	first magazine, doubling with each refill up to @batch, so that a
 *	class a program barely uses costs it little (atomic).
 * @name: the name given to the kernel.
 * @cache: the public handle of a KA_SLOT_USER slot.
 * @refills: ALLOC_BULK commands for this slot (atomic).
 * @flushes: FREE_BULK commands for this slot (atomic).
 * @in_use: objects the program holds, counted by threads without a
 *	tcache and folded in from exited threads (atomic); the rest is in
 *	the tcaches' magazines (ka_mag.in_use).
 * @depot: the slot's depot.
 *
 * Fields other than the counters and the depot are written under
 * heap->lock, before the slot is published through heap->class_slot or
 * a ka_cache.
 */
struct ka_slot {
	int kind;
	__u32 id;
	__u32 object_size;
	__u32 align;
	__u32 flags;
	__u32 stride;
	__u32 object_offset;
	__u32 slab_bytes;
	__u32 batch;
	__u32 fill;
	char name[KA_NAME_LEN];
	struct ka_cache *cache;
	__u64 refills;
	__u64 flushes;
	__u64 in_use;
	struct ka_depot depot;
};

/**
 * struct ka_block_list - the kept blocks of one order.
 * @offs: their window offsets, most recently freed last.
 * @count: how many.
 * @room: size of @offs.
 * @low: the fewest kept since the period began (decay, as the depots).
 */
struct ka_block_list {
	__u64 *offs;
	__u32 count;
	__u32 room;
	__u32 low;
};

/**
 * struct ka_blocks - a heap's free page blocks, kept for reuse.
 * @lock: guards the fields below.
 * @list: per order, the blocks kept.
 * @bytes: bytes of all of them.
 * @high: most bytes kept since the period began.
 * @bound: most bytes kept; grows while blocks thrash, shrinks with decay.
 * @since: when the period began (_ka_prim_now_ms()).
 * @spilled: a block went to the kernel for want of room this period.
 * @hits: allocations served from the cache.
 * @misses: allocations that went to the kernel (PAGES_ALLOC).
 * @released: blocks given back to the kernel (PAGES_FREE).
 *
 * A kept block stays in the window and in the page map as a block that
 * is not live, so a second free of it is still found; its memory holds
 * the program's old data, zeroed again only for calloc.
 */
struct ka_blocks {
	pthread_mutex_t lock;
	struct ka_block_list list[KA_ORDERS];
	__u64 bytes;
	__u64 high;
	__u64 bound;
	__u64 since;
	bool spilled;
	__u64 hits;
	__u64 misses;
	__u64 released;
};

/* Runs, live or freed, a heap knows at once. */
#define KA_RUNS		32

/**
 * struct ka_run - an allocation larger than the largest block (run.c).
 * @base: its address range, NULL for an unused entry.
 * @room: chunks the range holds.
 * @nr: chunks mapped.
 * @live: the program's; false once freed (the range is kept).
 * @offs: the window offset of each mapped chunk (@room of them).
 * @fork_fd: during a fork, the copy of the run for the child, or -1.
 */
struct ka_run {
	char *base;
	__u32 room;
	__u32 nr;
	bool live;
	__u64 *offs;
	int fork_fd;
};

/**
 * struct ka_runs - a heap's runs.
 * @lock: guards the table and every run in it.
 * @run: the table.
 */
struct ka_runs {
	pthread_mutex_t lock;
	struct ka_run run[KA_RUNS];
};

/* ka_heap.state */
enum ka_heap_state {
	KA_HEAP_NEW,		/* nothing opened yet */
	KA_HEAP_OPEN,		/* client and window ready */
	KA_HEAP_FAILED,	/* the device could not be used: @err */
};

/**
 * struct ka_heap - one client of /dev/karena.
 * @lock: guards the fields below but the atomics and @base/@win_bytes.
 * @state: enum ka_heap_state (atomic load on the slow paths).
 * @err: errno of the failed open.
 * @fd: the client, -1 when none.
 * @path: the device.
 * @gen: changes with every new client (_ka_next_gen()).
 * @tls: index in a thread's tcache table, -1 for none (no magazines).
 * @is_default: the default heap (never freed).
 * @info: the client's KARENA_IOC_INFO.
 * @base: the window; NULL when not mapped.
 * @win_bytes: its length.
 * @page_shift: log2 of the page size.
 * @pm: the page map and bitmaps of the window.
 * @class_slot: size class -> slot, 0 until created (atomic).
 * @aligned_slot: log2(size) -> slot of the aligned classes (atomic).
 * @slots: the caches; slot 0 is never used (its magazines stay empty,
 *	so a class without a slot fails the fast paths' test for free).
 * @tcaches: the threads' tcaches of this gen (list under @lock).
 * @blocks: the block cache.
 * @runs: the allocations larger than a block.
 * @fork_fd: during a fork, the copy of the heap for the child, or -1.
 * @next: the list of heaps (_ka_global_lock).
 * @stats: the library's counters (atomic): all of them for slow paths
 *	and threads without a tcache, plus the fast-path counters of exited
 *	threads (folded in under @lock); the live threads' fast-path counts
 *	are in their tcaches.
 */
struct ka_heap {
	pthread_mutex_t lock;
	int state;
	int err;
	int fd;
	char path[256];
	__u64 gen;
	int tls;
	bool is_default;
	struct karena_info info;
	char *base;
	size_t win_bytes;
	unsigned int page_shift;
	struct ka_pagemap pm;
	__u16 class_slot[KA_NR_CLASSES];
	__u16 aligned_slot[16];
	struct ka_slot slots[KA_SLOTS];
	struct ka_tcache *tcaches;
	struct ka_blocks blocks;
	struct ka_runs runs;
	int fork_fd;
	struct ka_heap *next;
	struct ka_stats stats;
};

/* A counter of heap->stats, for the slow paths. */
#define KA_STAT_ADD(heap, field, n) \
	__atomic_fetch_add(&(heap)->stats.field, (n), __ATOMIC_RELAXED)

extern _KA_HIDDEN pthread_mutex_t _ka_global_lock;
extern _KA_HIDDEN struct ka_heap _ka_default;
/* Every heap struct, open or recycled (list under _ka_global_lock). */
extern _KA_HIDDEN struct ka_heap *_ka_heaps;

struct ka_heap *_ka_heap_get(struct ka_heap *heap);
int _ka_heap_ready(struct ka_heap *heap);
struct ka_heap *_ka_heap_of(const void *ptr, bool *parent);
int _ka_window_open(struct ka_heap *heap);
void _ka_window_close(struct ka_heap *heap);
size_t _ka_parent_usable(const void *ptr);
int _ka_slot_ready(struct ka_heap *heap, unsigned int slot);
unsigned int _ka_class_slot(struct ka_heap *heap, unsigned int class);
unsigned int _ka_aligned_slot(struct ka_heap *heap, unsigned int shift);
int _ka_slot_add(struct ka_heap *heap, int kind, const char *name,
		 __u32 size, __u32 align, __u32 flags);
int _ka_slot_remove(struct ka_heap *heap, unsigned int slot);
void _ka_slots_forget(struct ka_heap *heap);
void _ka_slots_clear(struct ka_heap *heap);
bool _ka_in_parent(const void *ptr);
__u64 _ka_next_gen(void);
void _ka_init(void);
void _ka_fork_init(void);

static inline bool _ka_in_window(const struct ka_heap *h, const void *p)
{
	return h->base && (const char *)p >= h->base &&
	       (const char *)p < h->base + h->win_bytes;
}

static inline __u64 _ka_off(const struct ka_heap *h, const void *p)
{
	return (__u64)((const char *)p - h->base);
}

/**
 * struct ka_cache - an object cache (the public handle).
 * @heap: its heap.
 * @slot: its slot there.
 */
struct ka_cache {
	struct ka_heap *heap;
	unsigned int slot;
};

/* === Magazines (magazine.c) === */

/**
 * struct ka_mag - a thread's free objects of one slot: up to two
 * magazines, as one stack.
 * @count: objects in @objs (written by the owner, or by a remote that
 *	excludes it; read by statistics readers: relaxed atomics).
 * @cap: room in @objs (2 * the slot's batch); 0 until the first slow
 *	path sets the array up, so that the fast paths need no other test.
 * @objs: the objects, most recently freed last.
 * @in_use: objects of this slot this thread handed out less those it
 *	took back (may wrap below 0: objects move between threads); owner's
 *	relaxed stores, readers' relaxed loads.
 */
struct ka_mag {
	__u32 count;
	__u32 cap;
	void **objs;
	__u64 in_use;
};

/**
 * struct ka_tcache - a thread's magazines for one heap.
 * @busy: 1 while the owner uses the magazines without @lock (the
 *	owner's plain stores; see magazine.c).
 * @remote: 1 while a remote holding @lock empties magazines.
 * @lock: held by a remote that empties magazines, and by the owner when
 *	@remote is up or membarrier is not available.
 * @heap: the heap.
 * @gen: the heap's gen when this was set up; stale otherwise.
 * @linked: on @heap->tcaches.
 * @next: next on @heap->tcaches (heap->lock).
 * @mallocs: objects this thread handed out (owner's relaxed stores; an
 *	exiting thread folds them into heap->stats).
 * @frees: objects it took back.
 * @mags: one magazine stack per slot.
 */
struct ka_tcache {
	int busy;
	int remote;
	int lock;
	struct ka_heap *heap;
	__u64 gen;
	bool linked;
	struct ka_tcache *next;
	__u64 mallocs;
	__u64 frees;
	struct ka_mag mags[KA_SLOTS];
};

/**
 * struct ka_tls - a thread's view of the magazines.
 * @fast: the default heap's tcache while the fast paths may use it: the
 *	library is initialised, the heap open, the tcache of its gen, no
 *	tracing, the thread not exiting.  NULL otherwise, which sends every
 *	call to the slow paths; the one test the fast paths make.
 * @tc: its tcache per heap tls index.
 * @state: 0 before the first tcache, 1 with the key set (so that the
 *	destructor runs), 2 after the destructor: no magazines any more.
 */
struct ka_tls {
	struct ka_tcache *fast;
	struct ka_tcache *tc[KA_TLS_HEAPS];
	int state;
};

/* initial-exec: no allocation on first access, even in the interposer. */
extern _KA_HIDDEN __thread struct ka_tls _ka_tls
	__attribute__((tls_model("initial-exec")));
/* Owners use their tcache without tc->lock: membarrier is registered. */
extern _KA_HIDDEN bool _ka_lockless;

/**
 * struct ka_tsum - what the live threads' tcaches and the depots of a
 * heap hold.
 * @mallocs: the threads' mallocs, summed.
 * @frees: their frees.
 * @objects: objects they handed out less those they took back.
 * @bytes: the usable bytes of those.
 * @in_use: per slot, the sum of ka_mag.in_use.
 * @cached: per slot, the objects in magazines and the depot.
 * @cached_objects: all objects in magazines and depots.
 * @cached_bytes: their bytes.
 */
struct ka_tsum {
	__u64 mallocs;
	__u64 frees;
	__u64 objects;
	__u64 bytes;
	__u64 in_use[KA_SLOTS];
	__u64 cached[KA_SLOTS];
	__u64 cached_objects;
	__u64 cached_bytes;
};

void *_ka_mag_alloc(struct ka_heap *heap, unsigned int slot);
void _ka_mag_free(struct ka_heap *heap, unsigned int slot, void *obj);
size_t _ka_mag_drain(struct ka_heap *heap, int slot);
void _ka_mag_sum(struct ka_heap *heap, struct ka_tsum *sum);
__u64 _ka_mag_in_use(struct ka_heap *heap, unsigned int slot);
__u64 _ka_slot_in_use(struct ka_heap *heap, unsigned int slot);
void _ka_mag_thread_init(void);
void _ka_mag_atfork_child(void);
int _ka_bulk_alloc(struct ka_heap *heap, unsigned int slot, void **objs,
		   unsigned int n);
void _ka_bulk_free(struct ka_heap *heap, unsigned int slot, void **objs,
		   unsigned int n);

/* Owner: add to one of its own counters (no read-modify-write). */
static inline void _ka_own_add(__u64 *c, __u64 n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/*
 * Owner: start using the magazines.  Return: true when lockless (then
 * _ka_own_leave(tc, true)), false with tc->lock held.
 */
static inline bool _ka_own_enter(struct ka_tcache *tc)
{
	if (likely(_ka_lockless)) {
		__atomic_store_n(&tc->busy, 1, __ATOMIC_RELAXED);
		/* Ordered for the CPU by a remote's membarrier(). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		/* Pairs with the release in ka_remote_leave(). */
		if (likely(!__atomic_load_n(&tc->remote, __ATOMIC_ACQUIRE)))
			return true;
		__atomic_store_n(&tc->busy, 0, __ATOMIC_RELEASE);
	}
	_ka_spin_lock(&tc->lock);
	return false;
}

static inline void _ka_own_leave(struct ka_tcache *tc, bool lockless)
{
	if (lockless)
		/* Pairs with the acquire in ka_remote_enter(). */
		__atomic_store_n(&tc->busy, 0, __ATOMIC_RELEASE);
	else
		_ka_spin_unlock(&tc->lock);
}

/*
 * The depot behind the magazines (depot.c); the owner is busy or holds
 * tc->lock.  A get fills an empty magazine stack with up to one batch, a
 * put takes its oldest batch; each returns whether the depot did it.
 */
bool _ka_depot_get(struct ka_heap *heap, unsigned int slot,
		   struct ka_mag *m);
bool _ka_depot_put(struct ka_heap *heap, unsigned int slot,
		   struct ka_mag *m);
size_t _ka_depot_drain(struct ka_heap *heap, int slot);
__u64 _ka_depot_count(struct ka_heap *heap, unsigned int slot);
void _ka_depot_forget(struct ka_depot *d);
void _ka_depot_destroy(struct ka_depot *d);

/* === Page blocks (blocks.c) === */

long long _ka_block_get(struct ka_heap *heap, unsigned int order);
void _ka_block_put(struct ka_heap *heap, __u64 off);
void *_ka_block_alloc(struct ka_heap *heap, unsigned int order,
		      bool *fresh);
void _ka_block_free(struct ka_heap *heap, __u64 off, unsigned int order);
size_t _ka_blocks_drain(struct ka_heap *heap);
void _ka_blocks_forget(struct ka_blocks *b);
__u64 _ka_blocks_bytes(struct ka_heap *heap);

/* What _ka_free() found. */
enum ka_owner {
	KA_OWNER_KARENA,	/* freed */
	KA_OWNER_NONE,		/* NULL */
	KA_OWNER_FOREIGN,	/* not in any window: someone else's */
	KA_OWNER_PARENT,	/* a window of the parent, before fork */
	KA_OWNER_BAD,		/* misuse, reported */
};

/* === Runs (run.c) === */

void *_ka_run_alloc(struct ka_heap *heap, size_t size);
struct ka_heap *_ka_run_of(const void *ptr, struct ka_run **run);
size_t _ka_run_check(struct ka_heap *heap, struct ka_run *run,
		     const void *ptr, const char *func);
enum ka_owner _ka_run_free(struct ka_heap *heap, struct ka_run *run,
			   void *ptr, const char *func);
bool _ka_run_resize(struct ka_heap *heap, struct ka_run *run, size_t size);
void _ka_runs_forget(struct ka_heap *heap);
void _ka_runs_close(struct ka_heap *heap);

/* === Allocation (alloc.c), free (free.c), realloc (realloc.c) === */

/* Flags of _ka_alloc(). */
#define KA_ZERO		((unsigned int)BIT(0))	/* calloc */
#define KA_FOREIGN_OK	((unsigned int)BIT(1))	/* interposer: not ours is fine */

void *_ka_alloc(struct ka_heap *heap, size_t size, size_t align,
		unsigned int flags, const void *caller);
void *_ka_alloc_slot(struct ka_heap *heap, unsigned int slot);
size_t _ka_trim(struct ka_heap *heap);

/**
 * struct ka_where - what a pointer of a heap is.
 * @h: the heap.
 * @off: its window offset.
 * @entry: its page's map entry.
 * @slot: for objects, the slot.
 * @usable: usable bytes.
 * @run: for a run (outside the window), the run; else NULL.
 */
struct ka_where {
	struct ka_heap *h;
	__u64 off;
	__u32 entry;
	unsigned int slot;
	size_t usable;
	struct ka_run *run;
};

enum ka_owner _ka_lookup(void *ptr, const char *func, unsigned int flags,
			 int want_slot, struct ka_where *w);
enum ka_owner _ka_release(void *ptr, const char *func, struct ka_where *w);
enum ka_owner _ka_free(void *ptr, const char *func, const void *caller,
		       unsigned int flags, int want_slot);
void *_ka_realloc(void *ptr, size_t size, const void *caller,
		  unsigned int flags, enum ka_owner *owner);
size_t _ka_usable(void *ptr, const char *func, unsigned int flags,
		  enum ka_owner *owner);
int _ka_memalign_check(size_t align, bool posix);

/* === Tracing and leak tracking (trace.c) === */

void _ka_trace_init(void);
void _ka_trace_alloc(const void *caller, const void *p, size_t size);
void _ka_trace_free(const void *caller, const void *p);
void _ka_trace_realloc(const void *caller, const void *old, const void *p,
		       size_t size);
void _ka_track_add(struct ka_heap *heap, const void *p, size_t size,
		   const void *caller);
void _ka_track_del(struct ka_heap *heap, const void *p);
void _ka_leak_report(struct ka_heap *heap);
void _ka_trace_fini(void);
void _ka_trace_atfork_child(void);
extern _KA_HIDDEN bool _ka_tracing;

/* === Statistics (stats.c) and debugfs (debugfs.c) === */

void _ka_exit_info(void);
int _ka_debugfs_root(char *buf, size_t len, const char *root);

#endif /* KARENA_LIB_INTERNAL_H */
