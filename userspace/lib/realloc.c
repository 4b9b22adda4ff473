// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: realloc.
 *
 * A size that still fits where the memory is (the same size class, an
 * object cache's object, the same block order, a run with room in its
 * range: run.c) keeps it in place; anything else moves once: a new
 * allocation in the same heap, a copy, and the free of the old one,
 * which keeps blocks in the block cache for the next growth.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Whether @size can stay where @w is (a run is resized here). */
static bool ka_fits_in_place(const struct ka_where *w, size_t size)
{
	struct ka_heap *a = w->h;
	const struct ka_slot *s;

	if (w->run)	/* grown or shrunk a chunk at a time, if it has room */
		return size > ((size_t)a->info.page_size << a->info.max_order) &&
		       _ka_run_resize(a, w->run, size);
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
	*owner = _ka_lookup(ptr, "realloc", flags, -1, &w);
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
			_ka_track_del(w.h, ptr);
			_ka_track_add(w.h, ptr, size, caller);
			_ka_trace_realloc(caller, ptr, ptr, size);
		}
		return ptr;
	}
	p = _ka_alloc(w.h, size, 0, 0, NULL);
	if (!p)
		return NULL;
	memcpy(p, ptr, size < w.usable ? size : w.usable);
	if (unlikely(_ka_tracing)) {
		_ka_track_del(w.h, ptr);
		_ka_track_add(w.h, p, size, caller);
		_ka_trace_realloc(caller, ptr, p, size);
	}
	/* Checked above; another thread freeing it now is reported here. */
	_ka_release(ptr, "realloc", &w);
	return p;
}

/* === Public === */

#define KA_CALLER	__builtin_return_address(0)

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
