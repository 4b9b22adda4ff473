// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the malloc family.
 *
 * Where a request goes:
 *
 *   alignment <= 16, size <= 16 KiB   size class (classes.c), magazines
 *   alignment 32..page, size <= page  aligned class: 2^k bytes aligned to
 *                                     2^k, k = log2 max(align, size)
 *   anything else up to the largest   page block of ceil(log2(pages))
 *   block (PAGE_SIZE << max_order)    order, at least the alignment
 *   beyond                            ENOMEM
 *
 * A free is checked against the page map, the start bitmap and the live
 * map before anything else happens (pagemap.c); misuse is reported by
 * _ka_misuse().  The object paths do no atomic read-modify-write: the
 * live map takes plain byte stores, the magazines and the counters are
 * the thread's own (magazine.c).  Objects
 * of caches with red zones have them checked here too, since most frees
 * never reach the kernel.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Bytes of the largest block of an open arena. */
static inline size_t ka_max_block(const struct ka_arena *a)
{
	return (size_t)a->info.page_size << a->info.max_order;
}

/* === Allocation === */

/**
 * _ka_alloc_slot() - one object of a slot, marked live and counted
 * (mallocs, in use).
 * @a: the arena, open.
 * @slot: the slot.
 *
 * Return: the object, or NULL with errno set.
 */
void *_ka_alloc_slot(struct ka_arena *a, unsigned int slot)
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

/**
 * _ka_block_alloc() - a page block, zeroed by the kernel.
 * @a: the arena, open.
 * @order: its order.
 *
 * Return: the block, or NULL with errno set.
 */
void *_ka_block_alloc(struct ka_arena *a, unsigned int order)
{
	struct karena_pages pg;
	size_t bytes;
	int ret;

	if (order > a->info.max_order) {
		errno = ENOMEM;
		return NULL;
	}
	memset(&pg, 0, sizeof(pg));
	pg.order = order;
	ret = _ka_prim_ioctl(a->fd, KARENA_IOC_PAGES_ALLOC, &pg);
	KA_STAT_ADD(a, block_calls, 1);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	bytes = (size_t)a->info.page_size << order;
	if (pg.offset + bytes > a->win_bytes) {
		_ka_misuse(a, KA_MISUSE_INTERNAL, "malloc",
			   (void *)(uintptr_t)pg.offset,
			   "the kernel returned a block outside the window");
		errno = EPROTO;
		return NULL;
	}
	_ka_pm_learn_block(&a->pm, pg.offset, order);
	KA_STAT_ADD(a, blocks_in_use, 1);
	KA_STAT_ADD(a, block_bytes, bytes);
	KA_STAT_ADD(a, bytes_in_use, bytes);
	return a->base + pg.offset;
}

/* The slot for @size bytes aligned to @align, or 0 for a block. */
static unsigned int ka_pick_slot(struct ka_arena *a, size_t size,
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
 * @a: the arena.
 * @size: bytes (0 is served as 1).
 * @align: a power of two; 0 for malloc's.
 * @flags: KA_ZERO to zero the memory.
 * @caller: the program's return address for the trace, or NULL for no
 *	trace line (internal calls).
 *
 * Return: the memory, or NULL with errno set.
 */
void *_ka_alloc(struct ka_arena *a, size_t size, size_t align,
		unsigned int flags, const void *caller)
{
	size_t want = size ? size : 1, bytes;
	unsigned int slot, order;
	bool fresh = false;
	void *p = NULL;
	int ret;

	ret = _ka_arena_ready(a);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	if (want > ka_max_block(a) || align > ka_max_block(a)) {
		errno = ENOMEM;
		return NULL;
	}
	slot = ka_pick_slot(a, want, align);
	if (slot) {
		p = _ka_alloc_slot(a, slot);
		bytes = a->slots[slot].object_size;
	} else {
		/* A class whose cache could not be made falls back to blocks. */
		order = _ka_order_for(want > align ? want : align,
				      a->page_shift);
		p = _ka_block_alloc(a, order);
		bytes = (size_t)a->info.page_size << order;
		fresh = true;
	}
	if (!p) {
		if (errno != EINVAL)
			errno = ENOMEM;
		return NULL;
	}
	if ((flags & KA_ZERO) && !fresh)
		memset(p, 0, size < bytes ? size : bytes);
	if (fresh)	/* objects were counted by _ka_alloc_slot() */
		KA_STAT_ADD(a, mallocs, 1);
	if (caller && unlikely(_ka_tracing)) {
		_ka_track_add(a, p, size, caller);
		_ka_trace_alloc(caller, p, size);
	}
	return p;
}

/* === Checking a pointer === */

/**
 * struct ka_where - what a pointer of an arena is.
 * @a: the arena.
 * @off: its window offset.
 * @entry: its page's map entry.
 * @slot: for objects, the slot.
 * @usable: usable bytes.
 */
struct ka_where {
	struct ka_arena *a;
	__u64 off;
	__u32 entry;
	unsigned int slot;
	size_t usable;
};

/*
 * Find and check a pointer that is to be freed or resized: its arena,
 * that it is the start of a live object or block, and (for @want_slot
 * >= 0) that it is of that slot.  Misuse is reported here.
 */
static enum ka_owner ka_lookup(void *ptr, const char *func,
			       unsigned int flags, int want_slot,
			       struct ka_where *w)
{
	const struct ka_slot *s;
	bool parent;

	w->a = _ka_arena_of(ptr, &parent);
	if (!w->a) {
		if (parent) {
			_ka_misuse(NULL, KA_MISUSE_PARENT, func, ptr, NULL);
			return KA_OWNER_PARENT;
		}
		if (flags & KA_FOREIGN_OK)
			return KA_OWNER_FOREIGN;
		_ka_misuse(NULL, KA_MISUSE_INVALID, func, ptr,
			   "not from karena");
		return KA_OWNER_BAD;
	}
	w->off = _ka_off(w->a, ptr);
	w->entry = _ka_pm_entry(&w->a->pm, w->off);
	switch (KA_PM_KIND(w->entry)) {
	case KA_PM_SLAB:
		w->slot = KA_PM_SLOT(w->entry);
		s = &w->a->slots[w->slot];
		if (want_slot >= 0 && (int)w->slot != want_slot) {
			_ka_misuse(w->a, KA_MISUSE_INVALID, func, ptr,
				   "an object of another cache");
			return KA_OWNER_BAD;
		}
		if (!_ka_pm_start(&w->a->pm, w->off)) {
			_ka_misuse(w->a, KA_MISUSE_INVALID, func, ptr,
				   "not the start of an object");
			return KA_OWNER_BAD;
		}
		if (!_ka_pm_live(&w->a->pm, w->off)) {
			_ka_misuse(w->a, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
			return KA_OWNER_BAD;
		}
		w->usable = s->object_size;
		return KA_OWNER_KARENA;
	case KA_PM_BLOCK:
		if (want_slot >= 0 ||
		    (w->off & (w->a->info.page_size - 1))) {
			_ka_misuse(w->a, KA_MISUSE_INVALID, func, ptr,
				   want_slot >= 0 ? "a page block, not an object" :
				   "inside a page block");
			return KA_OWNER_BAD;
		}
		if (!(w->entry & KA_PM_LIVE)) {
			_ka_misuse(w->a, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
			return KA_OWNER_BAD;
		}
		w->usable = (size_t)w->a->info.page_size <<
			    KA_PM_ORDER(w->entry);
		return KA_OWNER_KARENA;
	case KA_PM_TAIL:
		_ka_misuse(w->a, KA_MISUSE_INVALID, func, ptr,
			   "inside a page block");
		return KA_OWNER_BAD;
	default:
		_ka_misuse(w->a, KA_MISUSE_INVALID, func, ptr,
			   "never allocated");
		return KA_OWNER_BAD;
	}
}

/*
 * Red zones of a live object: 0xcc on both sides (the kernel's
 * SLUB_RED_ACTIVE), the right one up to the next word after the object
 * plus one word, as the kernel lays out a slot.
 */
static bool ka_redzones_ok(const struct ka_slot *s, const unsigned char *p)
{
	const unsigned char *slot = p - s->object_offset;
	size_t end = _ka_align_up((size_t)s->object_offset + s->object_size,
			      sizeof(void *)) + sizeof(void *), i;

	if (end > s->stride)
		end = s->stride;
	for (i = 0; i < end; i++) {
		if (i == s->object_offset)
			i += s->object_size;
		if (i < end && slot[i] != 0xcc)
			return false;
	}
	return true;
}

/* Free a checked object or block; @w from ka_lookup(). */
static enum ka_owner ka_release(void *ptr, const char *func,
				struct ka_where *w)
{
	struct ka_arena *a = w->a;
	struct karena_pages pg;
	const struct ka_slot *s;
	size_t bytes;
	__u32 old;
	int ret;

	if (KA_PM_KIND(w->entry) == KA_PM_BLOCK) {
		/* Not live before the kernel can hand the block out again. */
		old = w->entry;
		if (!__atomic_compare_exchange_n(&a->pm.map[w->off >> a->page_shift],
						 &old, old & ~KA_PM_LIVE, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE)) {
			_ka_misuse(a, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
			return KA_OWNER_BAD;
		}
		memset(&pg, 0, sizeof(pg));
		pg.offset = w->off;
		ret = _ka_prim_ioctl(a->fd, KARENA_IOC_PAGES_FREE, &pg);
		KA_STAT_ADD(a, block_calls, 1);
		if (ret)
			_ka_misuse(a, KA_MISUSE_INTERNAL, func, ptr,
				   "the kernel refused the block");
		bytes = (size_t)a->info.page_size << KA_PM_ORDER(w->entry);
		KA_STAT_ADD(a, blocks_in_use, -1);
		KA_STAT_ADD(a, block_bytes, -bytes);
		KA_STAT_ADD(a, bytes_in_use, -bytes);
		KA_STAT_ADD(a, frees, 1);
		return KA_OWNER_KARENA;
	}

	s = &a->slots[w->slot];
	/*
	 * Checked again: realloc() comes here after its copy, and another
	 * thread may have freed the pointer since ka_lookup().  Not atomic
	 * with the store below: see pagemap.c for the race this leaves.
	 */
	if (unlikely(!_ka_pm_live(&a->pm, w->off))) {
		_ka_misuse(a, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
		return KA_OWNER_BAD;
	}
	_ka_pm_set_live(&a->pm, w->off, false);
	if ((s->flags & KA_CACHE_REDZONE) && !ka_redzones_ok(s, ptr))
		_ka_misuse(a, KA_MISUSE_REDZONE, func, ptr, s->name);
	_ka_mag_free(a, w->slot, ptr);
	return KA_OWNER_KARENA;
}

/**
 * _ka_free() - the free behind every free-like function.
 * @ptr: the pointer, or NULL.
 * @func: the API function, for reports.
 * @caller: the program's return address for the trace, or NULL.
 * @flags: KA_FOREIGN_OK when a pointer of no arena is someone else's.
 * @want_slot: the slot it must be of, or -1.
 *
 * Return: what the pointer was (see enum ka_owner).
 */
enum ka_owner _ka_free(void *ptr, const char *func, const void *caller,
		       unsigned int flags, int want_slot)
{
	struct ka_where w;
	enum ka_owner owner;

	if (!ptr)
		return KA_OWNER_NONE;
	owner = ka_lookup(ptr, func, flags, want_slot, &w);
	if (owner != KA_OWNER_KARENA)
		return owner;
	if (unlikely(_ka_tracing)) {
		_ka_track_del(w.a, ptr);
		if (caller)
			_ka_trace_free(caller, ptr);
	}
	return ka_release(ptr, func, &w);
}

/* Whether @size can stay where @w is. */
static bool ka_fits_in_place(const struct ka_where *w, size_t size)
{
	const struct ka_arena *a = w->a;
	const struct ka_slot *s;

	if (KA_PM_KIND(w->entry) == KA_PM_BLOCK)
		return size > KA_MAX_CLASS &&
		       _ka_order_for(size, a->page_shift) ==
		       KA_PM_ORDER(w->entry);
	s = &a->slots[w->slot];
	if (s->kind == KA_SLOT_CLASS)
		return size <= KA_MAX_CLASS &&
		       _ka_class_size(_ka_class_index(size)) == s->object_size;
	return size <= s->object_size;
}

/**
 * _ka_realloc() - the realloc behind ka_realloc() and the interposer's.
 * @ptr: the memory, or NULL.
 * @size: the new size; 0 frees.
 * @caller: the program's return address for the trace.
 * @flags: KA_FOREIGN_OK as for _ka_free().
 * @owner: gets what @ptr was; KA_OWNER_FOREIGN leaves the work to the
 *	caller.
 *
 * Return: the memory, or NULL (errno set unless @size was 0).
 */
void *_ka_realloc(void *ptr, size_t size, const void *caller,
		  unsigned int flags, enum ka_owner *owner)
{
	struct ka_where w;
	void *p;

	*owner = KA_OWNER_NONE;
	if (!ptr)
		return _ka_alloc(&_ka_default, size, 0, 0, caller);
	*owner = ka_lookup(ptr, "realloc", flags, -1, &w);
	if (*owner == KA_OWNER_PARENT) {
		/* The child's copy of the parent's heap: copy it out. */
		w.usable = _ka_parent_usable(ptr);
		if (!w.usable) {
			_ka_misuse(NULL, KA_MISUSE_INVALID, "realloc", ptr,
				   "not an allocation of the parent process");
			errno = EINVAL;
			return NULL;
		}
		if (!size)
			return NULL;
		p = _ka_alloc(&_ka_default, size, 0, 0, caller);
		if (p)
			memcpy(p, ptr, size < w.usable ? size : w.usable);
		return p;
	}
	if (*owner != KA_OWNER_KARENA) {
		errno = *owner == KA_OWNER_BAD ? EINVAL : errno;
		return NULL;
	}
	if (!size) {
		_ka_free(ptr, "realloc", caller, flags, -1);
		return NULL;
	}
	if (ka_fits_in_place(&w, size)) {
		if (unlikely(_ka_tracing)) {
			_ka_track_del(w.a, ptr);
			_ka_track_add(w.a, ptr, size, caller);
			_ka_trace_realloc(caller, ptr, ptr, size);
		}
		return ptr;
	}
	p = _ka_alloc(w.a, size, 0, 0, NULL);
	if (!p)
		return NULL;
	memcpy(p, ptr, size < w.usable ? size : w.usable);
	if (unlikely(_ka_tracing)) {
		_ka_track_del(w.a, ptr);
		_ka_track_add(w.a, p, size, caller);
		_ka_trace_realloc(caller, ptr, p, size);
	}
	/* Checked above; another thread freeing it now is reported here. */
	ka_release(ptr, "realloc", &w);
	return p;
}

/**
 * _ka_usable() - the usable size behind malloc_usable_size().
 * @ptr: the memory, or NULL.
 * @func: the API function, for reports.
 * @flags: KA_FOREIGN_OK as for _ka_free().
 * @owner: gets what @ptr was.
 *
 * Return: the usable bytes, 0 for NULL and anything not live.
 */
size_t _ka_usable(void *ptr, const char *func, unsigned int flags,
		  enum ka_owner *owner)
{
	struct ka_where w;

	*owner = KA_OWNER_NONE;
	if (!ptr)
		return 0;
	*owner = ka_lookup(ptr, func, flags, -1, &w);
	if (*owner == KA_OWNER_PARENT)
		return _ka_parent_usable(ptr);
	return *owner == KA_OWNER_KARENA ? w.usable : 0;
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
	_ka_init();
	return _ka_alloc(&_ka_default, size, 0, 0, KA_CALLER);
}

void *ka_calloc(size_t nmemb, size_t size)
{
	size_t bytes;

	_ka_init();
	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return _ka_alloc(&_ka_default, bytes, 0, KA_ZERO, KA_CALLER);
}

void *ka_realloc(void *ptr, size_t size)
{
	enum ka_owner owner;

	_ka_init();
	return _ka_realloc(ptr, size, KA_CALLER, 0, &owner);
}

void *ka_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	enum ka_owner owner;
	size_t bytes;

	_ka_init();
	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return _ka_realloc(ptr, bytes, KA_CALLER, 0, &owner);
}

void ka_free(void *ptr)
{
	_ka_init();
	_ka_free(ptr, "ka_free", KA_CALLER, 0, -1);
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
	struct ka_arena *a = ka_default_arena();

	if (!a)
		return NULL;
	return _ka_alloc(a, size, a->info.page_size, 0, KA_CALLER);
}

void *ka_pvalloc(size_t size)
{
	struct ka_arena *a = ka_default_arena();
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

size_t ka_malloc_usable_size(void *ptr)
{
	enum ka_owner owner;

	_ka_init();
	return _ka_usable(ptr, "ka_malloc_usable_size", 0, &owner);
}

void *ka_arena_malloc(struct ka_arena *arena, size_t size)
{
	return _ka_alloc(_ka_arena_get(arena), size, 0, 0, KA_CALLER);
}

void *ka_arena_calloc(struct ka_arena *arena, size_t nmemb, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return _ka_alloc(_ka_arena_get(arena), bytes, 0, KA_ZERO, KA_CALLER);
}

void *ka_arena_aligned_alloc(struct ka_arena *arena, size_t alignment,
			     size_t size)
{
	if (_ka_memalign_check(alignment, false)) {
		errno = EINVAL;
		return NULL;
	}
	return _ka_alloc(_ka_arena_get(arena), size, alignment, 0, KA_CALLER);
}

size_t ka_arena_trim(struct ka_arena *arena)
{
	return _ka_mag_drain(_ka_arena_get(arena), -1);
}
