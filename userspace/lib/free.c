// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: free, and the checks every free makes.
 *
 * A free that the fast path (fast.h) did not take is checked against the
 * page map, the start bitmap and the live map before anything else
 * happens (pagemap.c); misuse is reported by _ka_misuse().  The object
 * paths do no atomic read-modify-write: the live map takes plain byte
 * stores, the magazines and the counters are the thread's own
 * (magazine.c).  Objects of caches with red zones (which never take the
 * fast path: they have no magazines) have them checked here, since most
 * frees never reach the kernel.  A freed block goes to the block cache
 * (blocks.c).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fast.h"

/**
 * _ka_lookup() - find and check a pointer that is to be freed or resized.
 * @ptr: the pointer.
 * @func: the API function, for reports.
 * @flags: KA_FOREIGN_OK when a pointer of no heap is someone else's.
 * @want_slot: the slot it must be of, or -1.
 * @w: filled in with what it is.
 *
 * Checks its heap, that it is the start of a live object or block, and
 * (for @want_slot >= 0) that it is of that slot.  Misuse is reported
 * here.
 *
 * Return: what the pointer is (enum ka_owner).
 */
enum ka_owner _ka_lookup(void *ptr, const char *func, unsigned int flags,
			 int want_slot, struct ka_where *w)
{
	const struct ka_slot *s;
	bool parent;

	w->run = NULL;
	w->h = _ka_heap_of(ptr, &parent);
	if (!w->h && !parent && ptr) {
		w->h = _ka_run_of(ptr, &w->run);
		if (w->h) {
			if (want_slot >= 0) {
				_ka_misuse(w->h, KA_MISUSE_INVALID, func, ptr,
					   "a large allocation, not an object");
				return KA_OWNER_BAD;
			}
			w->usable = _ka_run_check(w->h, w->run, ptr, func);
			return w->usable ? KA_OWNER_KARENA : KA_OWNER_BAD;
		}
	}
	if (!w->h) {
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
	w->off = _ka_off(w->h, ptr);
	w->entry = _ka_pm_entry(&w->h->pm, w->off);
	switch (KA_PM_KIND(w->entry)) {
	case KA_PM_SLAB:
		w->slot = KA_PM_SLOT(w->entry);
		s = &w->h->slots[w->slot];
		if (want_slot >= 0 && (int)w->slot != want_slot) {
			_ka_misuse(w->h, KA_MISUSE_INVALID, func, ptr,
				   "an object of another cache");
			return KA_OWNER_BAD;
		}
		if (!_ka_pm_start(&w->h->pm, w->off)) {
			_ka_misuse(w->h, KA_MISUSE_INVALID, func, ptr,
				   "not the start of an object");
			return KA_OWNER_BAD;
		}
		if (!_ka_pm_live(&w->h->pm, w->off)) {
			_ka_misuse(w->h, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
			return KA_OWNER_BAD;
		}
		w->usable = s->object_size;
		return KA_OWNER_KARENA;
	case KA_PM_BLOCK:
		if (want_slot >= 0 ||
		    (w->off & (w->h->info.page_size - 1))) {
			_ka_misuse(w->h, KA_MISUSE_INVALID, func, ptr,
				   want_slot >= 0 ? "a page block, not an object" :
				   "inside a page block");
			return KA_OWNER_BAD;
		}
		if (!(w->entry & KA_PM_LIVE)) {
			_ka_misuse(w->h, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
			return KA_OWNER_BAD;
		}
		w->usable = (size_t)w->h->info.page_size <<
			    KA_PM_ORDER(w->entry);
		return KA_OWNER_KARENA;
	case KA_PM_TAIL:
		_ka_misuse(w->h, KA_MISUSE_INVALID, func, ptr,
			   "inside a page block");
		return KA_OWNER_BAD;
	default:
		_ka_misuse(w->h, KA_MISUSE_INVALID, func, ptr,
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

/**
 * _ka_release() - free a checked object or block.
 * @ptr: the pointer.
 * @func: the API function, for reports.
 * @w: what _ka_lookup() found.
 *
 * Return: KA_OWNER_KARENA, or KA_OWNER_BAD when another thread freed it
 * since the lookup (reported).
 */
enum ka_owner _ka_release(void *ptr, const char *func, struct ka_where *w)
{
	struct ka_heap *a = w->h;
	const struct ka_slot *s;
	__u32 old;

	if (w->run)
		return _ka_run_free(a, w->run, ptr, func);
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
		_ka_block_free(a, w->off, KA_PM_ORDER(w->entry));
		return KA_OWNER_KARENA;
	}

	s = &a->slots[w->slot];
	/*
	 * Checked again: realloc() comes here after its copy, and another
	 * thread may have freed the pointer since _ka_lookup().  Not atomic
	 * with the store below: see pagemap.c for the race this leaves.
	 */
	if (unlikely(!_ka_pm_live(&a->pm, w->off))) {
		_ka_misuse(a, KA_MISUSE_DOUBLE_FREE, func, ptr, NULL);
		return KA_OWNER_BAD;
	}
	_ka_pm_set_live(&a->pm, w->off, false);
	if ((s->flags & KA_CACHE_RED_ZONE) && !ka_redzones_ok(s, ptr))
		_ka_misuse(a, KA_MISUSE_REDZONE, func, ptr, s->name);
	_ka_mag_free(a, w->slot, ptr);
	return KA_OWNER_KARENA;
}

/**
 * _ka_free() - the free behind every free-like function.
 * @ptr: the pointer, or NULL.
 * @func: the API function, for reports.
 * @caller: the program's return address for the trace, or NULL.
 * @flags: KA_FOREIGN_OK when a pointer of no heap is someone else's.
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
	owner = _ka_lookup(ptr, func, flags, want_slot, &w);
	if (owner != KA_OWNER_KARENA)
		return owner;
	if (unlikely(_ka_tracing)) {
		_ka_track_del(w.h, ptr);
		if (caller)
			_ka_trace_free(caller, ptr);
	}
	return _ka_release(ptr, func, &w);
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
	*owner = _ka_lookup(ptr, func, flags, -1, &w);
	if (*owner == KA_OWNER_PARENT)
		return _ka_parent_usable(ptr);
	return *owner == KA_OWNER_KARENA ? w.usable : 0;
}

/* === Public === */

#define KA_CALLER	__builtin_return_address(0)

/* The slow path of ka_free(): the first call, a refill, misuse. */
static __attribute_noinline__ void
ka_free_slow(void *ptr, const void *caller)
{
	_ka_init();
	_ka_free(ptr, "ka_free", caller, 0, -1);
}

void ka_free(void *ptr)
{
	if (likely(_ka_free_fast(ptr)))
		return;
	ka_free_slow(ptr, KA_CALLER);
}

size_t ka_malloc_usable_size(void *ptr)
{
	enum ka_owner owner;

	_ka_init();
	return _ka_usable(ptr, "ka_malloc_usable_size", 0, &owner);
}
