// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: runs, the allocations larger than the largest block.
 *
 * The kernel's largest block is one chunk (PAGE_SIZE << max_order, 4 MiB
 * by default).  A larger allocation is a *run*: chunk-sized blocks of
 * the client, each mapped again from the device at its window offset,
 * back to back in an address range of the run's own:
 *
 *   window   |....[chunk A]........[chunk B]....[chunk C]..........|
 *                    \                  |            /
 *   run               [ chunk A | chunk B | chunk C | reserved ... ]
 *                     ^ the pointer the program gets
 *
 * The kernel lets any part of the window be mapped at any address (one
 * address_space per client: taking a page back unmaps it from every
 * mapping), so a run needs nothing of it but blocks.  Its range is
 * reserved with room to grow, twice its size: realloc() grows and
 * shrinks a run in place, a chunk at a time, while it fits.  A run's
 * chunks are marked in the page map as tails, so a free of their window
 * addresses is refused as "inside a page block".
 *
 * A freed run gives its chunks back at once but keeps its address range
 * (PROT_NONE, no memory) in the heap's table: a second free of it is
 * found as a double free, and the next run that fits reuses the range.
 * Up to KA_RUNS runs, live or freed, are known per heap; a freed one is
 * forgotten (its range unmapped) to make room.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static size_t ka_chunk(const struct ka_heap *h)
{
	return (size_t)h->info.page_size << h->info.max_order;
}

/* Map one new chunk as the run's @i-th; runs lock held.  Return: 0/-errno. */
static int ka_run_map_chunk(struct ka_heap *h, struct ka_run *r, __u32 i)
{
	long long off = _ka_block_get(h, h->info.max_order);
	size_t chunk = ka_chunk(h), p;
	int ret;

	if (off < 0)
		return off;
	/* Its window addresses are no allocation of the program's. */
	for (p = off >> h->page_shift; p < (off + chunk) >> h->page_shift; p++)
		__atomic_store_n(&h->pm.map[p], KA_PM_TAIL, __ATOMIC_RELEASE);
	ret = _ka_dev_map_window(h->fd, r->base + i * chunk, chunk, off);
	if (ret) {
		_ka_block_put(h, off);
		return ret;
	}
	r->offs[i] = off;
	return 0;
}

/* Give the run's chunks from @from on back; runs lock held. */
static void ka_run_unmap_from(struct ka_heap *h, struct ka_run *r, __u32 from)
{
	size_t chunk = ka_chunk(h);
	__u32 i;

	if (from >= r->nr)
		return;
	/* Address space back to a reservation before the pages go. */
	_ka_prim_reserve_over(r->base + from * chunk, (r->nr - from) * chunk);
	for (i = from; i < r->nr; i++)
		_ka_block_put(h, r->offs[i]);
	r->nr = from;
}

/* Map chunks until the run has @nr; runs lock held.  Return: 0/-errno. */
static int ka_run_map_to(struct ka_heap *h, struct ka_run *r, __u32 nr)
{
	int ret = 0;

	while (r->nr < nr) {
		ret = ka_run_map_chunk(h, r, r->nr);
		if (ret)
			break;
		r->nr++;
	}
	return ret;
}

/* A free table entry with at least @room chunks of range, or NULL. */
static struct ka_run *ka_run_slot(struct ka_heap *h, __u32 room)
{
	struct ka_runs *t = &h->runs;
	struct ka_run *r, *unused = NULL, *victim = NULL;
	unsigned int i;

	for (i = 0; i < KA_RUNS; i++) {
		r = &t->run[i];
		if (!r->base) {
			unused = unused ?: r;
			continue;
		}
		if (r->live)
			continue;
		if (r->room >= room)
			return r;	/* a freed run's range, reused */
		victim = victim ?: r;
	}
	r = unused ?: victim;
	if (r && r->base) {
		/* Forget a freed run that is too small. */
		_ka_prim_unmap(r->base, (size_t)r->room * ka_chunk(h));
		_ka_meta_free(r->offs, r->room * sizeof(*r->offs));
		memset(r, 0, sizeof(*r));
	}
	return r;
}

/**
 * _ka_run_alloc() - an allocation larger than the largest block.
 * @h: the heap, open.
 * @size: bytes, more than one chunk.
 *
 * When the kernel refuses a chunk for want of memory, what the heap
 * caches is given back (_ka_trim()) and it is asked once more.
 *
 * Return: the run (zeroed: its chunks are new from the kernel), or NULL
 * with errno set (ENOMEM: over the quota, or too many runs).
 */
void *_ka_run_alloc(struct ka_heap *h, size_t size)
{
	struct ka_runs *t = &h->runs;
	size_t chunk = ka_chunk(h);
	__u32 nr = (size + chunk - 1) / chunk, room = 2 * nr;
	bool trimmed = false;
	struct ka_run *r;
	char *res, *base;
	int ret;

	if (size > h->info.quota_bytes) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	r = ka_run_slot(h, room);
	if (!r) {
		pthread_mutex_unlock(&t->lock);
		errno = ENOMEM;
		return NULL;
	}
	if (!r->base) {
		/* A range aligned to the chunk, as a block is to its size. */
		res = _ka_prim_reserve(NULL, (size_t)(room + 1) * chunk, false);
		r->offs = _ka_meta_alloc(room * sizeof(*r->offs));
		if (!res || !r->offs) {
			if (res)
				_ka_prim_unmap(res, (size_t)(room + 1) * chunk);
			_ka_meta_free(r->offs, room * sizeof(*r->offs));
			r->offs = NULL;
			pthread_mutex_unlock(&t->lock);
			errno = ENOMEM;
			return NULL;
		}
		base = (char *)_ka_align_up((uintptr_t)res, chunk);
		if (base > res)
			_ka_prim_unmap(res, base - res);
		_ka_prim_unmap(base + (size_t)room * chunk,
			       res + chunk - base);
		r->base = base;
		r->room = room;
	}
	for (;;) {
		ret = ka_run_map_to(h, r, nr);
		if (ret != -ENOMEM || trimmed)
			break;
		/* Memory pressure: give back what is cached, once. */
		pthread_mutex_unlock(&t->lock);
		trimmed = true;
		_ka_trim(h);
		pthread_mutex_lock(&t->lock);
	}
	if (ret) {
		ka_run_unmap_from(h, r, 0);
		pthread_mutex_unlock(&t->lock);
		errno = -ret;
		return NULL;
	}
	r->live = true;
	pthread_mutex_unlock(&t->lock);
	KA_STAT_ADD(h, blocks_in_use, 1);
	KA_STAT_ADD(h, block_bytes, (__u64)nr * chunk);
	KA_STAT_ADD(h, bytes_in_use, (__u64)nr * chunk);
	KA_STAT_ADD(h, mallocs, 1);
	return r->base;
}

/**
 * _ka_run_of() - the run a pointer is in.
 * @ptr: a pointer in no heap's window.
 * @run: set to the run, live or freed.
 *
 * Return: the run's heap, or NULL when @ptr is in no run.
 */
struct ka_heap *_ka_run_of(const void *ptr, struct ka_run **run)
{
	struct ka_heap *h;
	struct ka_run *r;
	unsigned int i;

	for (h = __atomic_load_n(&_ka_heaps, __ATOMIC_ACQUIRE); h;
	     h = __atomic_load_n(&h->next, __ATOMIC_ACQUIRE)) {
		if (h->state != KA_HEAP_OPEN)
			continue;
		pthread_mutex_lock(&h->runs.lock);
		for (i = 0; i < KA_RUNS; i++) {
			r = &h->runs.run[i];
			if (r->base && (const char *)ptr >= r->base &&
			    (const char *)ptr < r->base +
			    (size_t)r->room * ka_chunk(h)) {
				pthread_mutex_unlock(&h->runs.lock);
				*run = r;
				return h;
			}
		}
		pthread_mutex_unlock(&h->runs.lock);
	}
	return NULL;
}

/**
 * _ka_run_check() - check a pointer into a run that is to be freed or
 * resized.
 * @h: its heap.
 * @r: the run.
 * @ptr: the pointer.
 * @func: the API function, for reports.
 *
 * Return: the run's usable bytes; 0 for a pointer inside it or a run
 * already freed (reported).
 */
size_t _ka_run_check(struct ka_heap *h, struct ka_run *r, const void *ptr,
		     const char *func)
{
	size_t n;
	bool live;

	pthread_mutex_lock(&h->runs.lock);
	live = r->live;
	n = (size_t)r->nr * ka_chunk(h);
	pthread_mutex_unlock(&h->runs.lock);
	if (ptr != r->base) {
		_ka_misuse(h, KA_MISUSE_INVALID, func, ptr,
			   "inside a large allocation");
		return 0;
	}
	if (!live) {
		_ka_misuse(h, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
		return 0;
	}
	return n;
}

/**
 * _ka_run_free() - free a run: its chunks go back, its range is kept.
 * @h: its heap.
 * @r: the run.
 * @ptr: what the program passed.
 * @func: the API function, for reports.
 *
 * Return: KA_OWNER_KARENA, or KA_OWNER_BAD for a pointer inside a run or
 * a run already freed (reported).
 */
enum ka_owner _ka_run_free(struct ka_heap *h, struct ka_run *r, void *ptr,
			   const char *func)
{
	__u64 bytes;

	pthread_mutex_lock(&h->runs.lock);
	if (ptr != r->base || !r->live) {
		pthread_mutex_unlock(&h->runs.lock);
		if (ptr != r->base)
			_ka_misuse(h, KA_MISUSE_INVALID, func, ptr,
				   "inside a large allocation");
		else
			_ka_misuse(h, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
		return KA_OWNER_BAD;
	}
	bytes = (__u64)r->nr * ka_chunk(h);
	ka_run_unmap_from(h, r, 0);
	r->live = false;
	pthread_mutex_unlock(&h->runs.lock);
	KA_STAT_ADD(h, blocks_in_use, -1);
	KA_STAT_ADD(h, block_bytes, -bytes);
	KA_STAT_ADD(h, bytes_in_use, -bytes);
	KA_STAT_ADD(h, frees, 1);
	return KA_OWNER_KARENA;
}

/**
 * _ka_run_resize() - grow or shrink a live run in place.
 * @h: its heap.
 * @r: the run.
 * @size: the new size, more than one chunk.
 *
 * New chunks are zeroed (new from the kernel); chunks past the new size
 * go back.
 *
 * Return: true when the run now holds @size bytes; false when its range
 * has no room (the caller moves it) or the kernel refused (nothing
 * changed).
 */
bool _ka_run_resize(struct ka_heap *h, struct ka_run *r, size_t size)
{
	size_t chunk = ka_chunk(h);
	__u32 nr = (size + chunk - 1) / chunk, old;
	int ret = 0;

	pthread_mutex_lock(&h->runs.lock);
	old = r->nr;
	if (!r->live || nr > r->room) {
		pthread_mutex_unlock(&h->runs.lock);
		return false;
	}
	if (nr > old) {
		ret = ka_run_map_to(h, r, nr);
		if (ret)
			ka_run_unmap_from(h, r, old);
	} else {
		ka_run_unmap_from(h, r, nr);
	}
	pthread_mutex_unlock(&h->runs.lock);
	if (ret)
		return false;
	KA_STAT_ADD(h, block_bytes, ((__u64)nr - old) * chunk);
	KA_STAT_ADD(h, bytes_in_use, ((__u64)nr - old) * chunk);
	return true;
}

/**
 * _ka_runs_forget() - forget the runs of a client that is gone.
 * @h: the heap (a fork child's, whose runs fork.c copied, or a closed
 *	one's).
 *
 * Their ranges stay reserved or copied; the table is emptied.
 */
void _ka_runs_forget(struct ka_heap *h)
{
	pthread_mutex_init(&h->runs.lock, NULL);
	memset(h->runs.run, 0, sizeof(h->runs.run));
}

/**
 * _ka_runs_close() - drop the runs of a heap being closed: their ranges
 * are unmapped (the close gives their chunks back).
 * @h: the heap.
 *
 * Context: h->lock held; no other thread may use the heap.
 */
void _ka_runs_close(struct ka_heap *h)
{
	struct ka_run *r;
	unsigned int i;

	for (i = 0; i < KA_RUNS; i++) {
		r = &h->runs.run[i];
		if (!r->base)
			continue;
		_ka_prim_unmap(r->base, (size_t)r->room * ka_chunk(h));
		_ka_meta_free(r->offs, r->room * sizeof(*r->offs));
	}
	_ka_runs_forget(h);
}
