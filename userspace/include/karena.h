/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libkarena: malloc on karena's slab and buddy allocators.
 *
 * A process that opens /dev/karena becomes a *client* of the kernel
 * module: it gets object caches (slab caches whose pages only it can
 * reach) and physically contiguous page blocks, all inside one mmapped
 * *window*.  libkarena turns that into:
 *
 *   - a malloc family (ka_malloc() ... ka_free()) on size classes served
 *     by per-thread magazines, refilled and flushed with one system call
 *     per batch, and page blocks for large sizes;
 *   - object caches (ka_cache_create() ...) with the kernel's debugging:
 *     poison, red zones, owner tracking;
 *   - page blocks (ka_pages_alloc()) for physically contiguous buffers;
 *   - statistics (ka_mallinfo(), ka_malloc_stats(), ka_malloc_info()) and
 *     the kernel's own numbers from debugfs (ka_cache_stats(),
 *     ka_snapshot_read());
 *   - misuse detection: a double free or a free of a pointer karena did
 *     not hand out is reported on stderr and aborts (KARENA_ABORT=0:
 *     counted, and the program goes on).
 *
 * Every function that can fail sets errno.  Documentation/library.rst
 * describes the environment variables, the LD_PRELOAD interposer
 * (libkarena-preload.so), tracing and the tools.
 */
#ifndef KARENA_LIB_H
#define KARENA_LIB_H

#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KA_API
#define KA_API __attribute__((visibility("default")))
#endif

#define KA_VERSION_MAJOR	1
#define KA_VERSION_MINOR	0

/* The device a default heap opens (KARENA_DEVICE overrides it). */
#define KA_DEFAULT_DEVICE	"/dev/karena"

/* Where ka_snapshot_read() and ka_cache_stats() look (KARENA_DEBUGFS). */
#define KA_DEFAULT_DEBUGFS	"/sys/kernel/debug/karena"

/* Object cache flags: the kernel's KARENA_CACHE_* bits, bit for bit. */
#define KA_CACHE_HWCACHE_ALIGN		0x01U /* align objects to cache lines */
#define KA_CACHE_POISON			0x02U /* poison free objects (0x6b) */
#define KA_CACHE_RED_ZONE		0x04U /* red zones around objects */
#define KA_CACHE_STORE_USER		0x08U /* record alloc/free owners */
#define KA_CACHE_CONSISTENCY_CHECKS	0x10U /* full checks on every free */
#define KA_CACHE_DEBUG		(KA_CACHE_POISON | KA_CACHE_RED_ZONE | \
				 KA_CACHE_STORE_USER | \
				 KA_CACHE_CONSISTENCY_CHECKS)

/* Longest object cache name, including the terminating NUL. */
#define KA_NAME_LEN		32

/* A heap: one client of /dev/karena and everything allocated in it. */
struct ka_heap;
/* An object cache of a heap. */
struct ka_cache;

/* === Heaps === */

/**
 * ka_open() - open a heap of its own.
 * @path: the device, or NULL for KA_DEFAULT_DEVICE.
 *
 * The heap is a client of its own, with its own quota, caches and
 * window.  Opening maps nothing yet: the device is opened here, the
 * window at the first allocation.  The default heap (the one
 * ka_malloc() uses) needs no ka_open().
 *
 * Context: Any thread.
 * Return: the heap, or NULL with errno set (ENOENT: no such device,
 * EACCES: no permission, ENOMEM).
 */
KA_API struct ka_heap *ka_open(const char *path);

/**
 * ka_close() - close a heap and give back all its memory.
 * @heap: a heap from ka_open(); NULL is ignored.
 *
 * Every object, cache and page block of @heap goes back to the kernel
 * at once; pointers into it become invalid (touching them faults).  No
 * other thread may use @heap during or after the call.
 *
 * Context: Any thread.
 */
KA_API void ka_close(struct ka_heap *heap);

/**
 * ka_default_heap() - the heap ka_malloc() and friends use.
 *
 * Opened on first use (KARENA_DEVICE, else KA_DEFAULT_DEVICE).
 *
 * Return: the default heap, or NULL with errno set when the device
 * cannot be opened.
 */
KA_API struct ka_heap *ka_default_heap(void);

/**
 * ka_heap_client_id() - the kernel's id of the client behind a heap.
 * @heap: the heap, or NULL for the default heap.
 *
 * The id names the heap's caches in debugfs
 * (caches/u<id>.<cache id>:<name>).  It is found in debugfs' clients
 * file by process id, so it needs debugfs.
 *
 * Return: the id, or -1 with errno set (see ka_snapshot_read()).
 */
KA_API long ka_heap_client_id(struct ka_heap *heap);

/* === The malloc family, on the default heap === */

/**
 * ka_malloc() - allocate memory.
 * @size: bytes; 0 gives a unique minimum-size object.
 *
 * Sizes up to 16 KiB come from size classes (16 bytes and up, in steps
 * of a quarter of a power of two), larger ones from page blocks of
 * 2^order pages up to the largest order (PAGE_SIZE << max_order, 4 MiB
 * by default), and larger still from runs of such blocks, up to the
 * client's quota.  Memory is aligned to 16 bytes and not initialised.
 *
 * Return: the memory, or NULL with errno ENOMEM (too large, quota or
 * arena exhausted) or the error of opening the device.
 */
KA_API void *ka_malloc(size_t size);

/**
 * ka_calloc() - allocate zeroed memory for an array.
 * @nmemb: elements.
 * @size: bytes per element.
 *
 * Return: the memory, or NULL with errno ENOMEM, also when @nmemb *
 * @size overflows.
 */
KA_API void *ka_calloc(size_t nmemb, size_t size);

/**
 * ka_realloc() - resize memory, keeping its contents.
 * @ptr: memory from this library, or NULL (then as ka_malloc()).
 * @size: new size; 0 frees @ptr and returns NULL, as glibc does.
 *
 * The memory stays in place when @size falls in the same size class (or
 * the same block order); otherwise it moves, with the first
 * min(old, new) bytes copied.  It keeps the heap it was in.
 *
 * Return: the memory, or NULL with errno ENOMEM (then @ptr is untouched).
 */
KA_API void *ka_realloc(void *ptr, size_t size);

/**
 * ka_reallocarray() - ka_realloc() for an array, overflow-checked.
 * @ptr: as for ka_realloc().
 * @nmemb: elements.
 * @size: bytes per element.
 *
 * Return: as ka_realloc(); NULL with errno ENOMEM when @nmemb * @size
 * overflows.
 */
KA_API void *ka_reallocarray(void *ptr, size_t nmemb, size_t size);

/**
 * ka_free() - free memory from any heap.
 * @ptr: memory from this library, or NULL (nothing happens).
 *
 * A double free or a pointer this library did not hand out (interior,
 * foreign, from the parent before a fork) is reported on stderr and
 * aborts the program, or with KARENA_ABORT=0 is counted and ignored.
 */
KA_API void ka_free(void *ptr);

/**
 * ka_posix_memalign() - allocate aligned memory.
 * @memptr: gets the memory.
 * @alignment: a power of two and a multiple of sizeof(void *).
 * @size: bytes.
 *
 * Alignments up to the page size come from size classes, larger ones
 * from page blocks (aligned to their size).
 *
 * Return: 0; EINVAL for a bad @alignment, ENOMEM when the memory cannot
 * be had (errno is not changed, as POSIX says).
 */
KA_API int ka_posix_memalign(void **memptr, size_t alignment, size_t size);

/**
 * ka_aligned_alloc() - allocate aligned memory (ISO C).
 * @alignment: a power of two (1 is fine).
 * @size: bytes.
 *
 * Return: the memory, or NULL with errno EINVAL (bad @alignment) or
 * ENOMEM.
 */
KA_API void *ka_aligned_alloc(size_t alignment, size_t size);

/**
 * ka_memalign() - allocate aligned memory (obsolete, as glibc's).
 * @alignment: rounded up to a power of two, as glibc does.
 * @size: bytes.
 *
 * Return: the memory, or NULL with errno EINVAL or ENOMEM.
 */
KA_API void *ka_memalign(size_t alignment, size_t size);

/**
 * ka_valloc() - allocate page-aligned memory.
 * @size: bytes.
 *
 * Return: the memory, or NULL with errno ENOMEM.
 */
KA_API void *ka_valloc(size_t size);

/**
 * ka_pvalloc() - allocate whole pages.
 * @size: bytes, rounded up to whole pages (0 gives one page).
 *
 * Return: the memory, or NULL with errno ENOMEM.
 */
KA_API void *ka_pvalloc(size_t size);

/**
 * ka_malloc_usable_size() - bytes usable at an allocation.
 * @ptr: memory from this library, or NULL.
 *
 * Return: the size of @ptr's class or block (at least what was asked
 * for); 0 for NULL.  A pointer this library did not hand out is reported
 * as ka_free() would.
 */
KA_API size_t ka_malloc_usable_size(void *ptr);

/* === The malloc family on a given heap === */

/**
 * ka_heap_malloc() - ka_malloc() on @heap.
 * @heap: a heap, or NULL for the default heap.
 * @size: bytes.
 *
 * ka_free(), ka_realloc() and ka_malloc_usable_size() find the heap of
 * a pointer by themselves.
 *
 * Return: as ka_malloc().
 */
KA_API void *ka_heap_malloc(struct ka_heap *heap, size_t size);

/**
 * ka_heap_calloc() - ka_calloc() on @heap.
 * @heap: a heap, or NULL for the default heap.
 * @nmemb: elements.
 * @size: bytes per element.
 *
 * Return: as ka_calloc().
 */
KA_API void *ka_heap_calloc(struct ka_heap *heap, size_t nmemb,
			    size_t size);

/**
 * ka_heap_aligned_alloc() - ka_aligned_alloc() on @heap.
 * @heap: a heap, or NULL for the default heap.
 * @alignment: a power of two.
 * @size: bytes.
 *
 * Return: as ka_aligned_alloc().
 */
KA_API void *ka_heap_aligned_alloc(struct ka_heap *heap, size_t alignment,
				   size_t size);

/**
 * ka_heap_trim() - give every cached free object and block back to the
 * kernel.
 * @heap: a heap, or NULL for the default heap.
 *
 * Flushes the magazines of every thread, the depots shared by them and
 * the kept page blocks (malloc_trim() does this in the interposer).  The
 * library also does it by itself when the kernel refuses an allocation
 * for want of memory, and gives back what went unused for a second.
 *
 * Return: bytes given back.
 */
KA_API size_t ka_heap_trim(struct ka_heap *heap);

/**
 * ka_trim() - ka_heap_trim() of the default heap; malloc_trim() under the
 * interposer.
 *
 * Return: bytes given back.
 */
KA_API size_t ka_trim(void);

/* === Object caches === */

/**
 * ka_cache_create() - create an object cache.
 * @heap: the heap, or NULL for the default heap.
 * @name: 1 to KA_NAME_LEN - 1 characters of [A-Za-z0-9_.-], unique in
 *	the heap; debugfs shows it as u<client>.<id>:<name>.
 * @size: bytes per object, 1 to the kernel's max_object_size (16 KiB).
 * @align: 0 for the default (8), else a power of two up to the page size.
 * @flags: KA_CACHE_* bits.
 *
 * A cache without debug flags serves objects through per-thread
 * magazines like the size classes.  With any of KA_CACHE_DEBUG every
 * allocation and free goes to the kernel, which checks poison and red
 * zones each time; libkarena also checks the red zones itself at free.
 *
 * Return: the cache, or NULL with errno EINVAL (bad argument), EEXIST
 * (name in use) or ENOMEM (too many caches, no memory).
 */
KA_API struct ka_cache *ka_cache_create(struct ka_heap *heap,
					const char *name, size_t size,
					size_t align, unsigned int flags);

/**
 * ka_cache_alloc() - allocate one object.
 * @cache: the cache.
 *
 * The object is not initialised (fresh slabs are zeroed by the kernel,
 * recycled objects keep what they held; poisoned caches hold 0x6b).
 *
 * Return: the object, or NULL with errno ENOMEM.
 */
KA_API void *ka_cache_alloc(struct ka_cache *cache);

/**
 * ka_cache_free() - free one object.
 * @cache: the cache the object came from.
 * @obj: the object, or NULL.
 *
 * An object of another cache or heap, an interior pointer, a double
 * free and (with KA_CACHE_RED_ZONE) an overwritten red zone are reported
 * as ka_free() reports misuse.
 */
KA_API void ka_cache_free(struct ka_cache *cache, void *obj);

/**
 * ka_cache_destroy() - destroy an empty cache.
 * @cache: the cache; NULL is ignored.
 *
 * Cached free objects are flushed first, from every thread's magazine.
 *
 * Return: 0; -1 with errno EBUSY while objects are allocated (the cache
 * stays usable).
 */
KA_API int ka_cache_destroy(struct ka_cache *cache);

/**
 * ka_cache_object_size() - the usable bytes of a cache's objects.
 * @cache: the cache.
 *
 * Return: the size given to ka_cache_create().
 */
KA_API size_t ka_cache_object_size(const struct ka_cache *cache);

/* === Page blocks === */

/**
 * ka_pages_alloc() - allocate a block of physically contiguous pages.
 * @heap: the heap, or NULL for the default heap.
 * @order: the block is 2^@order pages, 0 to the kernel's max_order.
 *
 * The block is zeroed and aligned to its size.
 *
 * Return: the block, or NULL with errno EINVAL (order too large) or
 * ENOMEM.
 */
KA_API void *ka_pages_alloc(struct ka_heap *heap, unsigned int order);

/**
 * ka_pages_free() - free a page block.
 * @block: a block from ka_pages_alloc(), or NULL.
 *
 * Misuse is reported as ka_free() reports it.  ka_free() frees page
 * blocks too.
 */
KA_API void ka_pages_free(void *block);

/* === Statistics of this process === */

/**
 * struct ka_stats - what libkarena counted in one heap.
 * @mallocs: allocations handed out (every function, every size).
 * @frees: allocations taken back.
 * @bytes_in_use: usable bytes of the allocations out now.
 * @objects_in_use: of which slab objects.
 * @blocks_in_use: page blocks out now.
 * @block_bytes: bytes of those blocks.
 * @cached_objects: free objects in the threads' magazines.
 * @cached_bytes: their bytes.
 * @refills: ALLOC_BULK commands (magazine refills and direct allocations).
 * @flushes: FREE_BULK commands.
 * @block_calls: PAGES_ALLOC and PAGES_FREE commands.
 * @caches: kernel caches this heap created (size classes included).
 * @spills: allocations the interposer passed to the system allocator
 *	(too large for a page block, or karena out of memory).
 * @double_frees: double frees detected.
 * @invalid_frees: frees of pointers not handed out by karena.
 * @redzone_errors: red zones found overwritten.
 * @parent_frees: frees of pointers inherited from the parent after a
 *	fork (ignored: that memory is not the child's).
 */
struct ka_stats {
	__u64 mallocs;
	__u64 frees;
	__u64 bytes_in_use;
	__u64 objects_in_use;
	__u64 blocks_in_use;
	__u64 block_bytes;
	__u64 cached_objects;
	__u64 cached_bytes;
	__u64 refills;
	__u64 flushes;
	__u64 block_calls;
	__u64 caches;
	__u64 spills;
	__u64 double_frees;
	__u64 invalid_frees;
	__u64 redzone_errors;
	__u64 parent_frees;
};

/**
 * struct ka_client_stats - the kernel's KARENA_IOC_STATS of a heap.
 * @nr_caches: user caches alive.
 * @bytes: bytes owned, counted against the quota.
 * @slab_bytes: of which in slabs.
 * @block_bytes: of which in page blocks.
 * @objects: objects allocated (including those in magazines).
 * @alloc_calls: ALLOC_BULK and PAGES_ALLOC commands.
 * @free_calls: FREE_BULK and PAGES_FREE commands.
 * @objects_allocated: objects ever allocated.
 * @objects_freed: objects ever freed.
 * @bad_frees: frees the kernel refused.
 * @quota_failures: allocations refused by a quota.
 * @quota_bytes: the client's quota.
 * @window_bytes: the window's size.
 */
struct ka_client_stats {
	__u64 nr_caches;
	__u64 bytes;
	__u64 slab_bytes;
	__u64 block_bytes;
	__u64 objects;
	__u64 alloc_calls;
	__u64 free_calls;
	__u64 objects_allocated;
	__u64 objects_freed;
	__u64 bad_frees;
	__u64 quota_failures;
	__u64 quota_bytes;
	__u64 window_bytes;
};

/**
 * ka_heap_stats() - library counters of a heap.
 * @heap: the heap, or NULL for the default heap.
 * @st: filled in.
 *
 * Return: 0, or -1 with errno set.
 */
KA_API int ka_heap_stats(struct ka_heap *heap, struct ka_stats *st);

/**
 * ka_client_stats() - the kernel's counters of a heap's client.
 * @heap: the heap, or NULL for the default heap.
 * @st: filled in.
 *
 * Return: 0, or -1 with errno set (the device's error).
 */
KA_API int ka_client_stats(struct ka_heap *heap,
			   struct ka_client_stats *st);

/**
 * ka_mallinfo() - mallinfo2() for the default heap.
 *
 * heap: bytes the kernel charges to this process (slabs and blocks);
 * ordblks: free objects cached in magazines; smblks, usmblks, fsmblks:
 * 0; hblks, hblkhd: page blocks in use and their bytes; uordblks: usable
 * bytes of the slab objects in use; fordblks: slab bytes not in use
 * (magazines, free slots, slab tails), so that uordblks + fordblks +
 * hblkhd = heap; keepcost: bytes in magazines, which ka_heap_trim()
 * would give back.
 *
 * Return: the numbers (all 0 if the heap cannot be opened).
 */
KA_API struct mallinfo2 ka_mallinfo(void);

/**
 * ka_heap_mallinfo() - ka_mallinfo() for any heap.
 * @heap: the heap, or NULL for the default heap.
 *
 * Return: as ka_mallinfo().
 */
KA_API struct mallinfo2 ka_heap_mallinfo(struct ka_heap *heap);

/**
 * ka_malloc_stats() - print a table of the default heap to stderr.
 *
 * One line per cache in use (size class, object cache), then the
 * totals and the kernel's counters, like glibc's malloc_stats().
 */
KA_API void ka_malloc_stats(void);

/**
 * ka_malloc_info() - write the default heap's numbers as JSON.
 * @options: must be 0.
 * @fp: where to write.
 *
 * The object has "mallinfo", "stats", "client" and "caches" members;
 * Documentation/library.rst shows one.
 *
 * Return: 0, or -1 with errno set (EINVAL for non-zero @options).
 */
KA_API int ka_malloc_info(int options, FILE *fp);

/**
 * ka_heap_info() - ka_malloc_info() for any heap.
 * @heap: the heap, or NULL for the default heap.
 * @fp: where to write.
 *
 * Return: 0, or -1 with errno set.
 */
KA_API int ka_heap_info(struct ka_heap *heap, FILE *fp);

/* === The kernel's numbers, from debugfs === */

/**
 * struct ka_cache_kstats - one cache as the kernel's debugfs shows it.
 * @name: debugfs name, u<client>.<id>:<name> for user caches.
 * @object_size: bytes per object.
 * @slab_size: bytes per slot (object, red zones, alignment).
 * @objs_per_slab: slots per slab.
 * @order: slab order.
 * @objects: objects allocated (including those in magazines).
 * @total_objects: slots in all slabs.
 * @slabs: slabs.
 * @alloc_slowpath: objects allocated from the slab lists.
 * @free_slowpath: objects freed to the slab lists.
 * @alloc_slab: slabs taken from the buddy layer.
 * @free_slab: slabs given back.
 * @errors: problems found (double frees, red zones, poison, ...).
 */
struct ka_cache_kstats {
	char name[64];
	__u64 object_size;
	__u64 slab_size;
	__u64 objs_per_slab;
	__u64 order;
	__u64 objects;
	__u64 total_objects;
	__u64 slabs;
	__u64 alloc_slowpath;
	__u64 free_slowpath;
	__u64 alloc_slab;
	__u64 free_slab;
	__u64 errors;
};

/**
 * ka_cache_stats() - the kernel's numbers of an object cache.
 * @cache: the cache.
 * @st: filled in.
 *
 * Reads caches/<name>/stats in debugfs (KARENA_DEBUGFS, else
 * KA_DEFAULT_DEBUGFS).
 *
 * Return: 0, or -1 with errno set and ka_errmsg() saying why (debugfs
 * not mounted, not readable, karena not loaded).
 */
KA_API int ka_cache_stats(struct ka_cache *cache, struct ka_cache_kstats *st);

/* Most orders a snapshot holds. */
#define KA_MAX_ORDERS		16

/**
 * struct ka_slab_row - one line of debugfs' slabinfo (format 2.1).
 * @name: the cache; u<client>.<id>:<name> for user caches.
 * @active_objs: objects allocated.
 * @num_objs: slots in all slabs.
 * @objsize: bytes per slot.
 * @objperslab: slots per slab.
 * @pagesperslab: pages per slab.
 * @limit: magazine rounds (0: no magazines, as for user caches).
 * @batchcount: objects moved per magazine exchange.
 * @sharedfactor: most full magazines in the depot.
 * @active_slabs: slabs with objects allocated.
 * @num_slabs: all slabs.
 * @sharedavail: objects in the depot's full magazines.
 */
struct ka_slab_row {
	char name[64];
	unsigned long active_objs;
	unsigned long num_objs;
	unsigned long objsize;
	unsigned long objperslab;
	unsigned long pagesperslab;
	unsigned long limit;
	unsigned long batchcount;
	unsigned long sharedfactor;
	unsigned long active_slabs;
	unsigned long num_slabs;
	unsigned long sharedavail;
};

/**
 * struct ka_client_row - one line of debugfs' clients file.
 * @id: the client's id (names its caches, u<id>.<cache id>:<name>).
 * @pid: the process that opened it.
 * @comm: that process's command name.
 * @uid: its user.
 * @pages: pages it owns.
 * @quota_pages: its quota.
 * @slab_pages: pages in slabs of its caches.
 * @block_pages: pages in its page blocks.
 * @objects: objects it has allocated.
 * @caches: its user caches.
 */
struct ka_client_row {
	unsigned long id;
	long pid;
	char comm[32];
	unsigned long uid;
	unsigned long pages;
	unsigned long quota_pages;
	unsigned long slab_pages;
	unsigned long block_pages;
	unsigned long objects;
	unsigned long caches;
};

/**
 * struct ka_snapshot - the whole arena, read from debugfs at one time.
 * @orders: orders in the buddy numbers (max_order + 1).
 * @chunks: chunks of the arena.
 * @page_size: bytes per page.
 * @pages: pages in the arena.
 * @free_pages: free pages (from the buddy Total line).
 * @nr_free: free blocks per order (buddyinfo, Total line).
 * @unusable: unusable free space index per order, 0 to 1.
 * @extfrag: fragmentation index per order, -1 (would succeed) or 0 to 1.
 * @slabs: the slabinfo rows, @nr_slabs of them.
 * @nr_slabs: rows in @slabs.
 * @clients: the clients rows, @nr_clients of them.
 * @nr_clients: rows in @clients.
 */
struct ka_snapshot {
	unsigned int orders;
	unsigned int chunks;
	unsigned long page_size;
	unsigned long pages;
	unsigned long free_pages;
	unsigned long nr_free[KA_MAX_ORDERS];
	double unusable[KA_MAX_ORDERS];
	double extfrag[KA_MAX_ORDERS];
	struct ka_slab_row *slabs;
	size_t nr_slabs;
	struct ka_client_row *clients;
	size_t nr_clients;
};

/**
 * ka_snapshot_read() - read buddyinfo, fragmentation, slabinfo, clients.
 * @root: karena's debugfs directory, or NULL for KARENA_DEBUGFS or
 *	KA_DEFAULT_DEBUGFS.
 *
 * Return: the snapshot (free it with ka_snapshot_free()), or NULL with
 * errno set: ENOENT when debugfs is not mounted or karena is not loaded,
 * EACCES when debugfs is not readable (it is root's); ka_errmsg() says
 * which.
 */
KA_API struct ka_snapshot *ka_snapshot_read(const char *root);

/**
 * ka_snapshot_free() - free a snapshot.
 * @snap: from ka_snapshot_read(), or NULL.
 */
KA_API void ka_snapshot_free(struct ka_snapshot *snap);

/* Columns ka_snapshot_sort() sorts slabinfo rows by. */
enum ka_slab_key {
	KA_SORT_NAME,
	KA_SORT_ACTIVE,		/* active_objs */
	KA_SORT_OBJECTS,	/* num_objs */
	KA_SORT_SIZE,		/* objsize */
	KA_SORT_SLABS,		/* num_slabs */
	KA_SORT_BYTES,		/* num_slabs * pagesperslab * page_size */
	KA_SORT_USE,		/* active_objs / num_objs */
};

/**
 * ka_snapshot_sort() - sort a snapshot's slabinfo rows.
 * @snap: the snapshot.
 * @key: the column; numbers sort largest first, names A to Z.
 */
KA_API void ka_snapshot_sort(struct ka_snapshot *snap, enum ka_slab_key key);

/**
 * ka_snapshot_json() - write a snapshot as one JSON object.
 * @snap: the snapshot.
 * @fp: where to write.
 *
 * Return: 0, or -1 with errno set.
 */
KA_API int ka_snapshot_json(const struct ka_snapshot *snap, FILE *fp);

/**
 * ka_errmsg() - why the last failing debugfs call of this thread failed.
 *
 * Return: a message for a person (never NULL).
 */
KA_API const char *ka_errmsg(void);

/* === Names of libkarena 1.0 === */

/*
 * Until 1.1 a heap was called an arena, which is also the name of the
 * kernel's pool of pages.  Programs written for 1.0 still build and run:
 * the old symbols stay in the library (version KARENA_1.0) and these
 * declarations say what replaced them.  Define KA_NO_DEPRECATED to leave
 * them out.
 */
#ifndef KA_NO_DEPRECATED
#define KA_DEPRECATED(new) __attribute__((deprecated("use " #new)))
#define ka_arena		ka_heap
#define KA_CACHE_HWALIGN	KA_CACHE_HWCACHE_ALIGN
#define KA_CACHE_REDZONE	KA_CACHE_RED_ZONE
#define KA_CACHE_TRACK		KA_CACHE_STORE_USER
#define KA_CACHE_CONSISTENCY	KA_CACHE_CONSISTENCY_CHECKS
KA_API KA_DEPRECATED(ka_default_heap) struct ka_heap *ka_default_arena(void);
KA_API KA_DEPRECATED(ka_heap_client_id)
long ka_arena_client_id(struct ka_heap *heap);
KA_API KA_DEPRECATED(ka_heap_malloc)
void *ka_arena_malloc(struct ka_heap *heap, size_t size);
KA_API KA_DEPRECATED(ka_heap_calloc)
void *ka_arena_calloc(struct ka_heap *heap, size_t nmemb, size_t size);
KA_API KA_DEPRECATED(ka_heap_aligned_alloc)
void *ka_arena_aligned_alloc(struct ka_heap *heap, size_t alignment,
			     size_t size);
KA_API KA_DEPRECATED(ka_heap_trim) size_t ka_arena_trim(struct ka_heap *heap);
KA_API KA_DEPRECATED(ka_heap_stats)
int ka_arena_stats(struct ka_heap *heap, struct ka_stats *st);
KA_API KA_DEPRECATED(ka_heap_mallinfo)
struct mallinfo2 ka_arena_mallinfo(struct ka_heap *heap);
KA_API KA_DEPRECATED(ka_heap_info) int ka_arena_info(struct ka_heap *heap, FILE *fp);
#endif /* KA_NO_DEPRECATED */

#ifdef __cplusplus
}
#endif

#endif /* KARENA_LIB_H */
