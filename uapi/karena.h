/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * karena: the /dev/karena user API.
 *
 * Each open file of /dev/karena is a *client*.  A client creates user
 * caches (slab caches whose pages only it can reach), allocates objects
 * from them in batches, allocates page blocks, and mmaps one *window*
 * through which everything it owns is reachable.  The kernel names every
 * object and block by its offset in that window; offsets are per client.
 *
 * Rules that hold for every command (see Documentation/userspace-api.rst):
 *  - commands are _IOWR(KARENA_IOC_MAGIC, nr, struct); an unknown nr, a
 *    wrong magic or a wrong direction fails with ENOTTY;
 *  - structs are size-tolerant: the size encoded in the command may be
 *    smaller than the kernel's (missing fields read as zero; it must
 *    cover at least the fields up to and including the last mandatory
 *    one, the KARENA_*_SIZE_VER0 value) or larger (the extra bytes must
 *    be zero, else E2BIG);
 *  - every flags, padding and reserved field must be zero unless a flag
 *    is defined for it (EINVAL);
 *  - a bad pointer gives EFAULT and changes nothing; exhausted quota or
 *    arena gives ENOMEM;
 *  - a client may be used only by the process that opened it (EPERM
 *    after fork, SCM_RIGHTS or execve).
 *
 * Compiles standalone as C90; only fixed-width types; no implicit holes.
 */
#ifndef _UAPI_KARENA_H
#define _UAPI_KARENA_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ioctl magic: unused in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define KARENA_IOC_MAGIC	0xBA

/* Version of this interface, reported by KARENA_IOC_INFO. */
#define KARENA_ABI_VERSION	1

/* Longest user cache name, including the terminating NUL. */
#define KARENA_NAME_LEN		32

/* Most objects one bulk command moves. */
#define KARENA_MAX_BATCH	1024

/**
 * struct karena_info - KARENA_IOC_INFO: what this module offers.
 * @flags: in, must be 0.
 * @abi_version: out, KARENA_ABI_VERSION of the running module.
 * @page_size: out, bytes per page.
 * @max_order: out, largest page block order (the order of the arena's chunks,
 *	below the module's max_order parameter if the kernel was short of
 *	free blocks that large when the module was loaded).
 * @max_batch: out, most objects per bulk command (KARENA_MAX_BATCH).
 * @max_object_size: out, largest object size of a user cache.
 * @max_caches: out, most user caches one client may have at once.
 * @__pad: must be zero.
 * @arena_bytes: out, size of the whole arena.
 * @arena_free_bytes: out, arena bytes free right now.
 * @window_bytes: out, size of this client's window (the largest valid
 *	mmap length; offsets are below it).
 * @quota_bytes: out, most bytes this client may own at once.
 * @user_quota_bytes: out, most bytes all clients of this user may own.
 * @reserved: must be zero.
 */
struct karena_info {
	__u32 flags;
	__u32 abi_version;
	__u32 page_size;
	__u32 max_order;
	__u32 max_batch;
	__u32 max_object_size;
	__u32 max_caches;
	__u32 __pad;
	__u64 arena_bytes;
	__u64 arena_free_bytes;
	__u64 window_bytes;
	__u64 quota_bytes;
	__u64 user_quota_bytes;
	__u64 reserved[4];
};

#define KARENA_INFO_SIZE_VER0	4

/* User cache flags (struct karena_cache_create.flags); Linux's SLAB_* names. */
#define KARENA_CACHE_HWCACHE_ALIGN	0x01U /* align objects to cache lines */
#define KARENA_CACHE_POISON		0x02U /* poison free objects (0x6b/0xa5) */
#define KARENA_CACHE_RED_ZONE		0x04U /* red zones around objects */
#define KARENA_CACHE_STORE_USER		0x08U /* record last alloc/free owner */
#define KARENA_CACHE_CONSISTENCY_CHECKS	0x10U /* full checks on every free */
#define KARENA_CACHE_FLAGS		0x1fU

/*
 * Deprecated spellings of the flags above, kept so that programs written
 * against them still compile; new code uses the names above.
 */
#define KARENA_CACHE_HWALIGN	KARENA_CACHE_HWCACHE_ALIGN
#define KARENA_CACHE_REDZONE	KARENA_CACHE_RED_ZONE
#define KARENA_CACHE_TRACK	KARENA_CACHE_STORE_USER
#define KARENA_CACHE_CONSISTENCY	KARENA_CACHE_CONSISTENCY_CHECKS

/**
 * struct karena_cache_create - KARENA_IOC_CACHE_CREATE: a new user cache.
 * @flags: in, KARENA_CACHE_* bits.
 * @object_size: in, bytes per object, 1 to karena_info.max_object_size.
 * @align: in, object alignment: 0 for the default (8), else a power of
 *	two up to the page size.
 * @cache_id: out, names the cache in later commands (never 0).
 * @name: in, NUL-terminated, 1 to KARENA_NAME_LEN - 1 characters from
 *	[A-Za-z0-9_.-], unique among this client's caches.
 * @object_stride: out, distance between two objects of a slab in the
 *	window (object size plus red zones and alignment).
 * @slab_bytes: out, bytes per slab (a page block).
 * @objs_per_slab: out, objects per slab.
 * @object_offset: out, offset of an object's first usable byte from the
 *	start of its stride (non-zero with red zones).
 * @reserved: must be zero.
 */
struct karena_cache_create {
	__u32 flags;
	__u32 object_size;
	__u32 align;
	__u32 cache_id;
	char name[KARENA_NAME_LEN];
	__u32 object_stride;
	__u32 slab_bytes;
	__u32 objs_per_slab;
	__u32 object_offset;
	__u64 reserved[2];
};

#define KARENA_CACHE_CREATE_SIZE_VER0	48

/**
 * struct karena_cache_destroy - KARENA_IOC_CACHE_DESTROY.
 * @flags: in, must be 0.
 * @cache_id: in, a cache of this client.
 * @reserved: must be zero.
 *
 * Fails with EBUSY while the cache has objects allocated.
 */
struct karena_cache_destroy {
	__u32 flags;
	__u32 cache_id;
	__u64 reserved;
};

#define KARENA_CACHE_DESTROY_SIZE_VER0	8

/**
 * struct karena_bulk - KARENA_IOC_ALLOC_BULK and KARENA_IOC_FREE_BULK.
 * @flags: in, must be 0.
 * @cache_id: in, a cache of this client.
 * @count: in, objects to allocate or free, 1 to KARENA_MAX_BATCH.
 * @done: out, objects allocated or freed.
 * @offsets: in, user address of an array of @count __u64 window
 *	offsets; ALLOC fills it, FREE reads it.
 * @reserved: must be zero.
 *
 * ALLOC allocates up to @count objects: it succeeds if it allocated at
 * least one (@done tells how many, the first @done entries are valid) and
 * fails with ENOMEM if it allocated none.  If the offsets cannot be
 * written back, every object of the call is freed again and the call
 * fails with EFAULT.
 *
 * FREE frees the objects in array order and stops at the first offset
 * that is not a live object of this cache: EINVAL if it is not the start
 * of an object of the cache, ENOENT if the object is already free.
 * @done is then the index of that entry; everything before it is freed,
 * nothing after it is touched.
 */
struct karena_bulk {
	__u32 flags;
	__u32 cache_id;
	__u32 count;
	__u32 done;
	__u64 offsets;
	__u64 reserved;
};

#define KARENA_BULK_SIZE_VER0	24

/**
 * struct karena_pages - KARENA_IOC_PAGES_ALLOC and KARENA_IOC_PAGES_FREE.
 * @flags: in, must be 0.
 * @order: in (ALLOC), out (FREE): the block is 2^@order pages, physically
 *	contiguous and aligned to its size in the arena.
 * @offset: out (ALLOC), in (FREE): window offset of the block.
 * @reserved: must be zero.
 *
 * Every block is zeroed before the client can see it.  FREE of an offset
 * that is not the start of a block of this client fails with EINVAL.
 */
struct karena_pages {
	__u32 flags;
	__u32 order;
	__u64 offset;
	__u64 reserved[2];
};

#define KARENA_PAGES_SIZE_VER0	16

/**
 * struct karena_stats - KARENA_IOC_STATS: this client's usage.
 * @flags: in, must be 0.
 * @nr_caches: out, user caches alive.
 * @bytes: out, bytes owned (slabs and page blocks), counted against the
 *	quota.
 * @slab_bytes: out, of which in slabs of user caches.
 * @block_bytes: out, of which in page blocks.
 * @objects: out, objects allocated.
 * @alloc_calls: out, ALLOC_BULK and PAGES_ALLOC commands served.
 * @free_calls: out, FREE_BULK and PAGES_FREE commands served.
 * @objects_allocated: out, objects ever allocated.
 * @objects_freed: out, objects ever freed.
 * @bad_frees: out, frees rejected (not an object, foreign, already free).
 * @quota_failures: out, allocations refused by a quota.
 * @reserved: must be zero.
 */
struct karena_stats {
	__u32 flags;
	__u32 nr_caches;
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
	__u64 reserved[4];
};

#define KARENA_STATS_SIZE_VER0	4

#define KARENA_IOC_INFO		_IOWR(KARENA_IOC_MAGIC, 0x00, struct karena_info)
#define KARENA_IOC_CACHE_CREATE	_IOWR(KARENA_IOC_MAGIC, 0x01, struct karena_cache_create)
#define KARENA_IOC_CACHE_DESTROY _IOWR(KARENA_IOC_MAGIC, 0x02, struct karena_cache_destroy)
#define KARENA_IOC_ALLOC_BULK	_IOWR(KARENA_IOC_MAGIC, 0x03, struct karena_bulk)
#define KARENA_IOC_FREE_BULK	_IOWR(KARENA_IOC_MAGIC, 0x04, struct karena_bulk)
#define KARENA_IOC_PAGES_ALLOC	_IOWR(KARENA_IOC_MAGIC, 0x05, struct karena_pages)
#define KARENA_IOC_PAGES_FREE	_IOWR(KARENA_IOC_MAGIC, 0x06, struct karena_pages)
#define KARENA_IOC_STATS	_IOWR(KARENA_IOC_MAGIC, 0x07, struct karena_stats)

#endif /* _UAPI_KARENA_H */
