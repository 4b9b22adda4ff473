// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: page blocks, and the block cache in front of the kernel.
 *
 * Allocations above the largest size class are page blocks of 2^order
 * pages (PAGES_ALLOC).  A freed block is not given back at once: it is
 * kept, per order, and the next allocation of that order takes it
 * without a system call.  The cache is bounded in bytes and adapts as
 * the depots do (depot.c): a period in which a block went back for want
 * of room and a later allocation of that order missed is thrashing, and
 * the bound doubles (up to half the client's quota); the blocks an order
 * kept all through a period (its low-water mark) were not needed, and
 * half of them go back at the next operation, and a period that neither
 * thrashed nor filled half the bound shrinks it; ka_trim(), malloc_trim()
 * and a failing allocation give all of them back.
 *
 * A kept block stays the client's, mapped in the window, and in the page
 * map as a block head that is not live: a second free of it is found as
 * a double free, exactly as for a block the kernel took back.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* A period of the decay, in milliseconds (as the depots'). */
#define KA_BLOCKS_DECAY_MS	1000
/* The bound to start from and shrink back to. */
#define KA_BLOCKS_MIN_BYTES	(4UL << 20)

static size_t ka_block_bytes(const struct ka_heap *h, unsigned int order)
{
	return (size_t)h->info.page_size << order;
}

static __u64 ka_blocks_max(const struct ka_heap *h)
{
	__u64 max = h->info.quota_bytes / 2;

	return max > KA_BLOCKS_MIN_BYTES ? max : KA_BLOCKS_MIN_BYTES;
}

/**
 * _ka_block_get() - one PAGES_ALLOC, its answer checked.
 * @h: the heap, open.
 * @order: the block's order.
 *
 * Return: the block's window offset (the page map not yet told), or
 * -errno.
 */
long long _ka_block_get(struct ka_heap *h, unsigned int order)
{
	size_t bytes = ka_block_bytes(h, order);
	struct karena_pages pg;
	int ret;

	memset(&pg, 0, sizeof(pg));
	pg.order = order;
	ret = _ka_dev_ioctl(h->fd, KARENA_IOC_PAGES_ALLOC, &pg);
	KA_STAT_ADD(h, block_calls, 1);
	if (ret)
		return ret;
	if (pg.offset + bytes > h->win_bytes) {
		_ka_misuse(h, KA_MISUSE_INTERNAL, "malloc",
			   (void *)(uintptr_t)pg.offset,
			   "the kernel returned a block outside the window");
		return -EPROTO;
	}
	return pg.offset;
}

/**
 * _ka_block_put() - one PAGES_FREE; a refusal is the library's fault,
 * reported.
 * @h: the heap, open.
 * @off: the block's window offset; the page map no longer has it live.
 */
void _ka_block_put(struct ka_heap *h, __u64 off)
{
	struct karena_pages pg;

	memset(&pg, 0, sizeof(pg));
	pg.offset = off;
	KA_STAT_ADD(h, block_calls, 1);
	if (_ka_dev_ioctl(h->fd, KARENA_IOC_PAGES_FREE, &pg))
		_ka_misuse(h, KA_MISUSE_INTERNAL, "free", h->base + off,
			   "the kernel refused the block");
}

/* Give the oldest @n kept blocks of @order back; b->lock held. */
static void ka_blocks_release(struct ka_heap *h, unsigned int order, __u32 n)
{
	struct ka_blocks *b = &h->blocks;
	struct ka_block_list *l = &b->list[order];
	__u32 i;

	if (n > l->count)
		n = l->count;
	if (!n)
		return;
	for (i = 0; i < n; i++)
		_ka_block_put(h, l->offs[i]);
	memmove(l->offs, l->offs + n, (l->count - n) * sizeof(*l->offs));
	l->count -= n;
	if (l->low > l->count)
		l->low = l->count;
	b->bytes -= (__u64)n * ka_block_bytes(h, order);
	b->released += n;
}

/* Start the first period, or end one that is over; b->lock held. */
static void ka_blocks_tick(struct ka_heap *h)
{
	struct ka_blocks *b = &h->blocks;
	__u64 now = _ka_prim_now_ms();
	unsigned int o;

	if (!b->bound) {
		b->bound = KA_BLOCKS_MIN_BYTES;
		b->since = now;
		return;
	}
	if (now - b->since < KA_BLOCKS_DECAY_MS)
		return;
	for (o = 0; o < KA_ORDERS; o++) {
		if (b->list[o].low / 2)
			ka_blocks_release(h, o, b->list[o].low / 2);
		b->list[o].low = b->list[o].count;
	}
	if (!b->spilled && 2 * b->high < b->bound &&
	    b->bound > KA_BLOCKS_MIN_BYTES) {
		b->bound -= b->bound / 4;
		if (b->bound < KA_BLOCKS_MIN_BYTES)
			b->bound = KA_BLOCKS_MIN_BYTES;
	}
	b->since = now;
	b->high = b->bytes;
	b->spilled = false;
}

/* A kept block of @order, or 0 with none; b->lock held. */
static bool ka_blocks_take(struct ka_heap *h, unsigned int order, __u64 *off)
{
	struct ka_blocks *b = &h->blocks;
	struct ka_block_list *l = &b->list[order];

	if (!l->count) {
		b->misses++;
		l->low = 0;
		if (b->spilled && b->bound < ka_blocks_max(h)) {
			/* Thrashing: the kernel has what we need again. */
			b->bound *= 2;
			if (b->bound > ka_blocks_max(h))
				b->bound = ka_blocks_max(h);
			b->spilled = false;
		}
		return false;
	}
	*off = l->offs[--l->count];
	if (l->low > l->count)
		l->low = l->count;
	b->bytes -= ka_block_bytes(h, order);
	b->hits++;
	return true;
}

/* Keep a freed block if there is room; b->lock held. */
static bool ka_blocks_keep(struct ka_heap *h, unsigned int order, __u64 off)
{
	struct ka_blocks *b = &h->blocks;
	struct ka_block_list *l = &b->list[order];
	size_t bytes = ka_block_bytes(h, order);
	__u64 *offs;
	__u32 room;

	if (b->bytes + bytes > b->bound) {
		b->spilled = true;
		return false;
	}
	if (l->count == l->room) {
		room = l->room ? 2 * l->room : 8;
		offs = _ka_meta_alloc(room * sizeof(*offs));
		if (!offs)
			return false;
		if (l->count)
			memcpy(offs, l->offs, l->count * sizeof(*offs));
		_ka_meta_free(l->offs, l->room * sizeof(*offs));
		l->offs = offs;
		l->room = room;
	}
	l->offs[l->count++] = off;
	b->bytes += bytes;
	if (b->high < b->bytes)
		b->high = b->bytes;
	return true;
}

/* A new block from the kernel, learnt.  Return: its offset, or -errno. */
static long long ka_block_new(struct ka_heap *h, unsigned int order)
{
	long long off = _ka_block_get(h, order);

	if (off >= 0)
		_ka_pm_learn_block(&h->pm, off, order);
	return off;
}

/**
 * _ka_block_alloc() - a page block: a kept one, or a new one from the
 * kernel (zeroed).
 * @h: the heap, open.
 * @order: its order.
 * @fresh: set when the block is new from the kernel, so zeroed.
 *
 * When the kernel says ENOMEM, what the heap caches is given back
 * (_ka_trim()) and the kernel asked once more.  Counted in blocks in
 * use and bytes.
 *
 * Return: the block, marked live in the page map, or NULL with errno set.
 */
void *_ka_block_alloc(struct ka_heap *h, unsigned int order, bool *fresh)
{
	struct ka_blocks *b = &h->blocks;
	size_t bytes = ka_block_bytes(h, order);
	long long off;
	__u64 kept;
	bool hit;

	if (order > h->info.max_order) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&b->lock);
	ka_blocks_tick(h);
	hit = ka_blocks_take(h, order, &kept);
	pthread_mutex_unlock(&b->lock);
	if (hit) {
		/* Pairs with the acquire of _ka_pm_entry() in a free. */
		__atomic_store_n(&h->pm.map[kept >> h->page_shift],
				 KA_PM_MKBLOCK(order) | KA_PM_LIVE,
				 __ATOMIC_RELEASE);
		off = kept;
		*fresh = false;
	} else {
		off = ka_block_new(h, order);
		if (off == -ENOMEM && _ka_trim(h))
			off = ka_block_new(h, order);
		if (off < 0) {
			errno = -off;
			return NULL;
		}
		*fresh = true;
	}
	KA_STAT_ADD(h, blocks_in_use, 1);
	KA_STAT_ADD(h, block_bytes, bytes);
	KA_STAT_ADD(h, bytes_in_use, bytes);
	return h->base + off;
}

/**
 * _ka_block_free() - take back a checked block.
 * @h: the heap, open.
 * @off: its window offset; its page map entry is no longer live.
 * @order: its order.
 *
 * Kept for reuse if the cache has room, else given back to the kernel.
 */
void _ka_block_free(struct ka_heap *h, __u64 off, unsigned int order)
{
	struct ka_blocks *b = &h->blocks;
	size_t bytes = ka_block_bytes(h, order);
	bool kept;

	pthread_mutex_lock(&b->lock);
	ka_blocks_tick(h);
	kept = ka_blocks_keep(h, order, off);
	pthread_mutex_unlock(&b->lock);
	if (!kept)
		_ka_block_put(h, off);
	KA_STAT_ADD(h, blocks_in_use, -1);
	KA_STAT_ADD(h, block_bytes, -bytes);
	KA_STAT_ADD(h, bytes_in_use, -bytes);
	KA_STAT_ADD(h, frees, 1);
}

/**
 * _ka_blocks_drain() - give every kept block back to the kernel.
 * @h: the heap.
 *
 * Context: takes the cache's lock.
 * Return: bytes given back.
 */
size_t _ka_blocks_drain(struct ka_heap *h)
{
	struct ka_blocks *b = &h->blocks;
	size_t bytes;
	unsigned int o;

	pthread_mutex_lock(&b->lock);
	bytes = b->bytes;
	for (o = 0; o < KA_ORDERS; o++)
		ka_blocks_release(h, o, b->list[o].count);
	pthread_mutex_unlock(&b->lock);
	return bytes;
}

/**
 * _ka_blocks_bytes() - bytes the block cache keeps.
 * @h: the heap.
 *
 * Return: the bytes, read without the lock (statistics).
 */
__u64 _ka_blocks_bytes(struct ka_heap *h)
{
	return __atomic_load_n(&h->blocks.bytes, __ATOMIC_RELAXED);
}

/**
 * _ka_blocks_forget() - forget the kept blocks: their client is gone
 * (a fork child, a closed heap).
 * @b: the cache.
 *
 * Context: single-threaded (fork child) or heap->lock held (close).
 */
void _ka_blocks_forget(struct ka_blocks *b)
{
	unsigned int o;

	pthread_mutex_init(&b->lock, NULL);
	for (o = 0; o < KA_ORDERS; o++) {
		b->list[o].count = 0;
		b->list[o].low = 0;
	}
	b->bytes = 0;
	b->high = 0;
	b->bound = 0;
	b->spilled = false;
	b->hits = 0;
	b->misses = 0;
	b->released = 0;
}
