/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libkarena: the fast paths of malloc() and free(), inline.
 *
 * The common case of an allocation of up to 16 KiB and of its free, on
 * the default heap, by a thread that has used it before:
 *
 *   malloc                              free
 *   tc = _ka_tls.fast (NULL: slow)      tc = _ka_tls.fast (NULL: slow)
 *   class = table[size]                 page map entry of the pointer
 *   slot = heap->class_slot[class]      slab object start, live (else slow)
 *   pop from tc->mags[slot]             live byte = 0
 *     (empty, or slot 0: slow)          push on tc->mags[slot] (full: slow)
 *   live byte = 1, counters             counters
 *
 * The one readiness test is _ka_tls.fast, which is set only once the
 * library is initialised, the default heap open, this thread's tcache of
 * the heap's gen and nothing traced (struct ka_tls): no other gate.  A
 * class without a slot yet maps to slot 0, whose magazine stack is always
 * empty, and a magazine stack not set up yet has no room: both fall to the
 * slow path with no test of their own.  Debug classes have no magazines
 * (batch 0), so no object with red zones passes here.  The busy flag
 * (magazine.c) is the owner's plain stores; the counters too.
 *
 * Each returns NULL or false for anything else (the first call, refills
 * and flushes through the depot, blocks, aligned requests, misuse), and
 * the caller takes its noinline slow path: _ka_malloc_slow() and
 * _ka_free() for the ka_* functions, the interposer's own in preload.c.
 */
#ifndef KARENA_LIB_FAST_H
#define KARENA_LIB_FAST_H

#include "internal.h"

/* glibc's <sys/cdefs.h> spelling of the kernel's noinline. */
__attribute_noinline__ void *_ka_malloc_slow(size_t size, unsigned int flags,
					     const void *caller);

/* A slab object of the default heap's fast path, or NULL. */
static __always_inline void *_ka_fast_pop(struct ka_tcache *tc, size_t size)
{
	struct ka_heap *h = &_ka_default;
	struct ka_mag *m;
	bool lockless;
	void *p = NULL;
	__u64 off;

	m = &tc->mags[__atomic_load_n(&h->class_slot[_ka_class_of(size)],
				      __ATOMIC_RELAXED)];
	lockless = _ka_own_enter(tc);
	if (likely(m->count)) {
		p = m->objs[m->count - 1];
		__atomic_store_n(&m->count, m->count - 1, __ATOMIC_RELAXED);
		_ka_own_add(&m->in_use, 1);
		_ka_own_add(&tc->mallocs, 1);
	}
	_ka_own_leave(tc, lockless);
	if (likely(p)) {
		off = _ka_off(h, p);
		if (unlikely(_ka_pm_live(&h->pm, off)))
			_ka_misuse(h, KA_MISUSE_INTERNAL, "malloc", p,
				   "handed out twice");
		_ka_pm_set_live(&h->pm, off, true);
	}
	return p;
}

/**
 * _ka_malloc_fast() - malloc() on the default heap, the common case.
 * @size: bytes.
 * @flags: KA_ZERO for calloc.
 *
 * Return: the memory, or NULL: the caller takes its slow path.
 */
static __always_inline void *_ka_malloc_fast(size_t size, unsigned int flags)
{
	struct ka_tcache *tc = _ka_tls.fast;
	void *p;

	if (unlikely(!tc || size > KA_MAX_CLASS))
		return NULL;
	p = _ka_fast_pop(tc, size);
	if ((flags & KA_ZERO) && likely(p))
		__builtin_memset(p, 0, size);
	return p;
}

/*
 * Push a slab object of the default heap on this thread's magazine;
 * false for anything the fast path does not do.
 */
static __always_inline bool _ka_fast_push(struct ka_tcache *tc, void *ptr)
{
	struct ka_heap *h = &_ka_default;
	__u64 off = (__u64)((char *)ptr - h->base);
	struct ka_mag *m;
	bool lockless, done = false;
	__u32 e;

	if (unlikely(off >= h->win_bytes))
		return false;
	e = _ka_pm_entry(&h->pm, off);
	if (unlikely(KA_PM_KIND(e) != KA_PM_SLAB || !_ka_pm_start(&h->pm, off) ||
		     !_ka_pm_live(&h->pm, off)))
		return false;
	m = &tc->mags[KA_PM_SLOT(e)];
	lockless = _ka_own_enter(tc);
	if (likely(m->count < m->cap)) {
		_ka_pm_set_live(&h->pm, off, false);
		m->objs[m->count] = ptr;
		__atomic_store_n(&m->count, m->count + 1, __ATOMIC_RELAXED);
		_ka_own_add(&m->in_use, -1);
		_ka_own_add(&tc->frees, 1);
		done = true;
	}
	_ka_own_leave(tc, lockless);
	return done;
}

/**
 * _ka_free_fast() - free() on the default heap, the common case.
 * @ptr: the pointer, or NULL.
 *
 * Return: true when freed; false: the caller takes its slow path (which
 * also finds any misuse).
 */
static __always_inline bool _ka_free_fast(void *ptr)
{
	struct ka_tcache *tc = _ka_tls.fast;

	return likely(tc) && _ka_fast_push(tc, ptr);
}

#endif /* KARENA_LIB_FAST_H */
