// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: allocation; the slow paths behind fast.h, and the malloc
 * family.
 *
 * Where a request goes:
 *
 *   alignment <= 16, size <= 16 KiB   size class (classes.c): the
 *                                     thread's magazines (fast.h,
 *                                     magazine.c), the depot (depot.c),
 *                                     the kernel
 *   alignment 32..page, size <= page  aligned class: 2^k bytes aligned to
 *                                     2^k, k = log2 max(align, size)
 *   anything else up to the largest   page block of ceil(log2(pages))
 *   block (PAGE_SIZE << max_order)    order, at least the alignment: the
 *                                     block cache (blocks.c), the kernel
 *   beyond, up to the quota           a run of chunks (run.c)
 *
 * When the kernel refuses for want of memory (the client's quota or the
 * arena exhausted), everything the heap caches is given back (_ka_trim())
 * and the kernel is asked once more.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fast.h"

/* Bytes of the largest block of an open heap. */
static inline size_t ka_max_block(const struct ka_heap *a)
{
	return (size_t)a->info.page_size << a->info.max_order;
}

/* === Allocation === */

/**
 * _ka_alloc_slot() - one object of a slot, marked live and counted
 * (mallocs, in use).
 * @a: the heap, open.
 * @slot: the slot.
 *
 * Return: the object, or NULL with errno set.
 */
void *_ka_alloc_slot(struct ka_heap *a, unsigned int slot)
{
	int ret = _ka_slot_ready(a, slot);
	void *p;

	if (ret) {
		errno = -ret;
		return NULL;
	}
	p = _ka_mag_alloc(a, slot);
	if (!p)
		return NULL;
	if (unlikely(_ka_pm_live(&a->pm, _ka_off(a, p))))
		_ka_misuse(a, KA_MISUSE_INTERNAL, "malloc", p,
			   "handed out twice");
	_ka_pm_set_live(&a->pm, _ka_off(a, p), true);
	return p;
}

/* The slot for @size bytes aligned to @align, or 0 for a block. */
static unsigned int ka_pick_slot(struct ka_heap *a, size_t size,
				 size_t align)
{
	unsigned int class, shift, slot;

	if (align <= KA_MALLOC_ALIGN) {
		if (size > KA_MAX_CLASS)
			return 0;
		class = _ka_class_index(size);
		/* A class that exists fits; pairs with _ka_class_slot(). */
		slot = __atomic_load_n(&a->class_slot[class], __ATOMIC_ACQUIRE);
		if (likely(slot))
			return slot;
		if (_ka_class_size(class) > a->info.max_object_size)
			return 0;
		return _ka_class_slot(a, class);
	}
	if (align > a->info.page_size || size > a->info.page_size)
		return 0;
	for (shift = 5; (1UL << shift) < size || (1UL << shift) < align; )
		shift++;
	return _ka_aligned_slot(a, shift);
}

/**
 * _ka_alloc() - the allocation behind every malloc-like function.
 * @a: the heap.
 * @size: bytes (0 is served as 1).
 * @align: a power of two; 0 for malloc's.
 * @flags: KA_ZERO to zero the memory.
 * @caller: the program's return address for the trace, or NULL for no
 *	trace line (internal calls).
 *
 * Return: the memory, or NULL with errno set.
 */
void *_ka_alloc(struct ka_heap *a, size_t size, size_t align,
		unsigned int flags, const void *caller)
{
	size_t want = size ? size : 1, bytes;
	unsigned int slot, order;
	bool block = false, fresh = false;
	void *p = NULL;
	int ret;

	ret = _ka_heap_ready(a);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	if (align > ka_max_block(a)) {
		errno = ENOMEM;
		return NULL;
	}
	if (want > ka_max_block(a)) {
		/* A run: aligned to a chunk, zeroed, counted by run.c. */
		p = _ka_run_alloc(a, want);
		if (p && caller && unlikely(_ka_tracing)) {
			_ka_track_add(a, p, size, caller);
			_ka_trace_alloc(caller, p, size);
		}
		return p;
	}
	slot = ka_pick_slot(a, want, align);
	if (slot) {
		p = _ka_alloc_slot(a, slot);
		bytes = a->slots[slot].object_size;
	} else {
		/* A class whose cache could not be made falls back to blocks. */
		order = _ka_order_for(want > align ? want : align,
				      a->page_shift);
		p = _ka_block_alloc(a, order, &fresh);
		bytes = (size_t)a->info.page_size << order;
		block = true;
	}
	if (!p) {
		if (errno != EINVAL)
			errno = ENOMEM;
		return NULL;
	}
	if ((flags & KA_ZERO) && !fresh)
		memset(p, 0, size < bytes ? size : bytes);
	if (block)	/* objects were counted by _ka_alloc_slot() */
		KA_STAT_ADD(a, mallocs, 1);
	if (caller && unlikely(_ka_tracing)) {
		_ka_track_add(a, p, size, caller);
		_ka_trace_alloc(caller, p, size);
	}
	return p;
}

/**
 * _ka_malloc_slow() - malloc() on the default heap when the fast path
 * could not serve it.
 * @size: bytes.
 * @flags: KA_ZERO for calloc.
 * @caller: the program's return address, for the trace.
 *
 * The first call of a process or a thread, a magazine to refill, a block,
 * tracing: everything but the common case.
 *
 * Return: the memory, or NULL with errno set.
 */
void *_ka_malloc_slow(size_t size, unsigned int flags, const void *caller)
{
	_ka_init();
	return _ka_alloc(&_ka_default, size, 0, flags, caller);
}

/**
 * _ka_trim() - give back everything a heap caches: the threads'
 * magazines, the depots and the kept blocks.
 * @a: the heap.
 *
 * Context: no lock of the heap held; not from an owner that is busy.
 * Return: bytes given back.
 */
size_t _ka_trim(struct ka_heap *a)
{
	size_t bytes = _ka_mag_drain(a, -1);

	if (__atomic_load_n(&a->state, __ATOMIC_ACQUIRE) == KA_HEAP_OPEN)
		bytes += _ka_blocks_drain(a);
	return bytes;
}

/**
 * _ka_memalign_check() - is an alignment acceptable?
 * @align: the alignment.
 * @posix: posix_memalign()'s rule (a multiple of sizeof(void *)) rather
 *	than aligned_alloc()'s (any power of two).
 *
 * Return: 0 or EINVAL.
 */
int _ka_memalign_check(size_t align, bool posix)
{
	bool ok = _ka_is_pow2(align) && !(posix && align % sizeof(void *));

	return ok ? 0 : EINVAL;
}

/* === Public: the malloc family === */

#define KA_CALLER	__builtin_return_address(0)

void *ka_malloc(size_t size)
{
	void *p = _ka_malloc_fast(size, 0);

	return likely(p) ? p : _ka_malloc_slow(size, 0, KA_CALLER);
}

void *ka_calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	p = _ka_malloc_fast(bytes, KA_ZERO);
	return likely(p) ? p : _ka_malloc_slow(bytes, KA_ZERO, KA_CALLER);
}

int ka_posix_memalign(void **memptr, size_t alignment, size_t size)
{
	int saved = errno, ret;
	void *p;

	_ka_init();
	ret = _ka_memalign_check(alignment, true);
	if (ret)
		return ret;
	p = _ka_alloc(&_ka_default, size, alignment, 0, KA_CALLER);
	ret = p ? 0 : errno;
	errno = saved;
	if (p)
		*memptr = p;
	return ret == EINVAL ? ENOMEM : ret;
}

void *ka_aligned_alloc(size_t alignment, size_t size)
{
	_ka_init();
	if (_ka_memalign_check(alignment, false)) {
		errno = EINVAL;
		return NULL;
	}
	return _ka_alloc(&_ka_default, size, alignment, 0, KA_CALLER);
}

/* glibc's memalign(): round a non-power-of-two alignment up. */
static size_t ka_memalign_round(size_t alignment)
{
	size_t a = 1;

	while (a < alignment && a)
		a <<= 1;
	return a;
}

void *ka_memalign(size_t alignment, size_t size)
{
	size_t align;

	_ka_init();
	align = ka_memalign_round(alignment);
	if (!align) {
		errno = EINVAL;
		return NULL;
	}
	return _ka_alloc(&_ka_default, size, align, 0, KA_CALLER);
}

void *ka_valloc(size_t size)
{
	struct ka_heap *a = ka_default_heap();

	if (!a)
		return NULL;
	return _ka_alloc(a, size, a->info.page_size, 0, KA_CALLER);
}

void *ka_pvalloc(size_t size)
{
	struct ka_heap *a = ka_default_heap();
	size_t page;

	if (!a)
		return NULL;
	page = a->info.page_size;
	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	size = size ? _ka_align_up(size, page) : page;
	return _ka_alloc(a, size, page, 0, KA_CALLER);
}

void *ka_heap_malloc(struct ka_heap *heap, size_t size)
{
	return _ka_alloc(_ka_heap_get(heap), size, 0, 0, KA_CALLER);
}

void *ka_heap_calloc(struct ka_heap *heap, size_t nmemb, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return _ka_alloc(_ka_heap_get(heap), bytes, 0, KA_ZERO, KA_CALLER);
}

void *ka_heap_aligned_alloc(struct ka_heap *heap, size_t alignment,
			    size_t size)
{
	if (_ka_memalign_check(alignment, false)) {
		errno = EINVAL;
		return NULL;
	}
	return _ka_alloc(_ka_heap_get(heap), size, alignment, 0, KA_CALLER);
}

size_t ka_heap_trim(struct ka_heap *heap)
{
	return _ka_trim(_ka_heap_get(heap));
}

size_t ka_trim(void)
{
	return ka_heap_trim(NULL);
}
