// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: per-thread magazines (Bonwick & Adams 2001, without the
 * depot: the kernel's slab lists are the depot).
 *
 * Each thread has, per arena with a tls index, a tcache: one magazine
 * per slot, a stack of up to 2 * batch free objects.  An allocation pops
 * one; an empty magazine is refilled with one ALLOC_BULK of batch
 * objects.  A free pushes one; a full magazine first gives its oldest
 * batch back with one FREE_BULK.  So at most one system call per batch
 * objects, and objects are fungible within a slot: a free from another
 * thread simply lands in the freeing thread's magazine.
 *
 * A thread that exits gives all its magazines back (the key destructor);
 * a trim, a cache destroy and the statistics reach into other threads'
 * tcaches through the arena's list, under each tcache's lock.  A tcache
 * whose gen is not its arena's (the arena was closed, or this is a fork
 * child) holds objects of a client that is gone: they are dropped, not
 * given back.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

/**
 * struct ka_tls - a thread's view of the magazines.
 * @tc: its tcache per arena tls index.
 * @state: 0 before the first tcache, 1 with the key set (so that the
 *	destructor runs), 2 after the destructor: no magazines any more.
 */
struct ka_tls {
	struct ka_tcache *tc[KA_TLS_ARENAS];
	int state;
};

/* initial-exec: no allocation on first access, even in the interposer. */
static __thread struct ka_tls ka_tls __attribute__((tls_model("initial-exec")));
static pthread_key_t ka_tls_key;

/* === Talking to the kernel === */

/**
 * _ka_bulk_alloc() - objects of a slot straight from the kernel.
 * @a: the arena, open.
 * @slot: a ready slot.
 * @objs: gets the objects.
 * @n: how many, at most the kernel's max_batch.
 *
 * Each object is entered in the page map and the start bitmap before
 * anyone can see it.
 *
 * Return: the number allocated (at least 1), or -errno.
 */
int _ka_bulk_alloc(struct ka_arena *a, unsigned int slot, void **objs,
		   unsigned int n)
{
	struct ka_slot *s = &a->slots[slot];
	__u64 offs[KARENA_MAX_BATCH];
	struct karena_bulk b;
	unsigned int i;
	int ret;

	memset(&b, 0, sizeof(b));
	b.cache_id = s->id;
	b.count = n;
	b.offsets = (uintptr_t)offs;
	ret = _ka_prim_ioctl(a->fd, KARENA_IOC_ALLOC_BULK, &b);
	__atomic_fetch_add(&s->refills, 1, __ATOMIC_RELAXED);
	KA_STAT_ADD(a, refills, 1);
	if (ret)
		return ret;
	for (i = 0; i < b.done; i++) {
		if (offs[i] < s->object_offset ||
		    offs[i] - s->object_offset + s->stride > a->win_bytes) {
			_ka_misuse(a, KA_MISUSE_INTERNAL, "malloc",
				   (void *)(uintptr_t)offs[i],
				   "the kernel returned an offset outside the window");
			return -EPROTO;
		}
		_ka_pm_learn_object(&a->pm, offs[i] - s->object_offset,
				    s->stride, slot);
		_ka_pm_test_and_set(a->pm.start, offs[i]);
		objs[i] = a->base + offs[i];
	}
	return b.done;
}

/**
 * _ka_bulk_free() - give objects of a slot back to the kernel.
 * @a: the arena, open.
 * @slot: their slot.
 * @objs: the objects, already checked and taken off the live bitmap.
 * @n: how many.
 *
 * The kernel checks each one again; one it refuses means the library's
 * own state is wrong, which is reported, and the rest still go back.
 */
void _ka_bulk_free(struct ka_arena *a, unsigned int slot, void **objs,
		   unsigned int n)
{
	struct ka_slot *s = &a->slots[slot];
	__u64 offs[KARENA_MAX_BATCH];
	struct karena_bulk b;
	unsigned int i, chunk;
	int ret;

	while (n) {
		chunk = n < a->info.max_batch ? n : a->info.max_batch;
		if (chunk > KARENA_MAX_BATCH)
			chunk = KARENA_MAX_BATCH;
		for (i = 0; i < chunk; i++)
			offs[i] = _ka_off(a, objs[i]);
		memset(&b, 0, sizeof(b));
		b.cache_id = s->id;
		b.count = chunk;
		b.offsets = (uintptr_t)offs;
		ret = _ka_prim_ioctl(a->fd, KARENA_IOC_FREE_BULK, &b);
		__atomic_fetch_add(&s->flushes, 1, __ATOMIC_RELAXED);
		KA_STAT_ADD(a, flushes, 1);
		if (ret) {
			if (b.done >= chunk)
				b.done = chunk - 1;
			_ka_misuse(a, KA_MISUSE_INTERNAL, "free", objs[b.done],
				   ret == -ENOENT ?
				   "the kernel says it is already free" :
				   "the kernel refused it");
			chunk = b.done + 1;
		}
		objs += chunk;
		n -= chunk;
	}
}

/* === Tcaches === */

/* Forget what a stale tcache holds: its client is gone. */
static void ka_tcache_reset(struct ka_tcache *tc)
{
	unsigned int i;

	for (i = 0; i < KA_SLOTS; i++)
		tc->mags[i].count = 0;
}

/* A tcache of @a for this thread, set up or recycled. */
static struct ka_tcache *ka_tcache_setup(struct ka_arena *a)
{
	struct ka_tcache *tc = ka_tls.tc[a->tls];

	if (!tc) {
		tc = _ka_meta_alloc(sizeof(*tc));
		if (!tc)
			return NULL;
		ka_tls.tc[a->tls] = tc;
		if (!ka_tls.state) {
			pthread_setspecific(ka_tls_key, &ka_tls);
			ka_tls.state = 1;
		}
	}
	pthread_mutex_lock(&a->lock);
	_ka_spin_lock(&tc->lock);
	ka_tcache_reset(tc);
	tc->arena = a;
	tc->gen = a->gen;
	tc->next = a->tcaches;
	a->tcaches = tc;
	tc->linked = true;
	_ka_spin_unlock(&tc->lock);
	pthread_mutex_unlock(&a->lock);
	return tc;
}

/* This thread's tcache of @a, or NULL when there are no magazines. */
static inline struct ka_tcache *ka_tcache(struct ka_arena *a)
{
	struct ka_tcache *tc;

	if (unlikely(a->tls < 0 || ka_tls.state == 2))
		return NULL;
	tc = ka_tls.tc[a->tls];
	if (likely(tc && tc->arena == a &&
		   tc->gen == __atomic_load_n(&a->gen, __ATOMIC_ACQUIRE)))
		return tc;
	return ka_tcache_setup(a);
}

/* Make sure a magazine has its array, sized for the slot's batch. */
static bool ka_mag_ready(struct ka_mag *m, const struct ka_slot *s)
{
	__u32 cap = 2 * s->batch;

	if (likely(m->objs && m->cap == cap))
		return true;
	if (m->count)
		return m->objs;	/* resized only when empty */
	_ka_meta_free(m->objs, m->cap * sizeof(void *));
	m->objs = _ka_meta_alloc(cap * sizeof(void *));
	m->cap = m->objs ? cap : 0;
	return m->objs;
}

/* Give a magazine's oldest @n objects back; tc->lock held. */
static void ka_mag_flush(struct ka_arena *a, unsigned int slot,
			 struct ka_mag *m, __u32 n)
{
	if (n > m->count)
		n = m->count;
	if (!n)
		return;
	_ka_bulk_free(a, slot, m->objs, n);
	memmove(m->objs, m->objs + n, (m->count - n) * sizeof(void *));
	m->count -= n;
}

/**
 * _ka_mag_alloc() - one free object of a slot.
 * @a: the arena, open.
 * @slot: a ready slot.
 *
 * From this thread's magazine, refilled with one ALLOC_BULK when empty;
 * straight from the kernel for slots without magazines (debug caches,
 * KARENA_BATCH=0, arenas without a tls index, exiting threads).
 *
 * Return: the object (not yet marked live), or NULL with errno set.
 */
void *_ka_mag_alloc(struct ka_arena *a, unsigned int slot)
{
	struct ka_slot *s = &a->slots[slot];
	struct ka_tcache *tc;
	struct ka_mag *m;
	void *obj = NULL;
	int ret;

	tc = s->batch ? ka_tcache(a) : NULL;
	if (!tc) {
		ret = _ka_bulk_alloc(a, slot, &obj, 1);
		if (ret < 0) {
			errno = -ret;
			return NULL;
		}
		return obj;
	}
	_ka_spin_lock(&tc->lock);
	m = &tc->mags[slot];
	if (unlikely(!m->count)) {
		ret = ka_mag_ready(m, s) ? _ka_bulk_alloc(a, slot, m->objs,
							  s->batch) : -ENOMEM;
		if (ret < 0) {
			_ka_spin_unlock(&tc->lock);
			errno = -ret;
			return NULL;
		}
		m->count = ret;
	}
	obj = m->objs[--m->count];
	_ka_spin_unlock(&tc->lock);
	return obj;
}

/**
 * _ka_mag_free() - take back a checked object of a slot.
 * @a: the arena, open.
 * @slot: its slot.
 * @obj: the object, already off the live bitmap.
 */
void _ka_mag_free(struct ka_arena *a, unsigned int slot, void *obj)
{
	struct ka_slot *s = &a->slots[slot];
	struct ka_tcache *tc;
	struct ka_mag *m;

	tc = s->batch ? ka_tcache(a) : NULL;
	if (!tc) {
		_ka_bulk_free(a, slot, &obj, 1);
		return;
	}
	_ka_spin_lock(&tc->lock);
	m = &tc->mags[slot];
	if (unlikely(!ka_mag_ready(m, s))) {
		_ka_spin_unlock(&tc->lock);
		_ka_bulk_free(a, slot, &obj, 1);
		return;
	}
	if (unlikely(m->count == m->cap))
		ka_mag_flush(a, slot, m, s->batch);
	m->objs[m->count++] = obj;
	_ka_spin_unlock(&tc->lock);
}

/* Empty one tcache's magazines (@slot < 0: all); tc->lock held. */
static size_t ka_tcache_drain(struct ka_arena *a, struct ka_tcache *tc,
			      int slot)
{
	size_t bytes = 0;
	unsigned int i;

	for (i = 1; i < KA_SLOTS; i++) {
		if (slot >= 0 && (int)i != slot)
			continue;
		if (!tc->mags[i].count)
			continue;
		bytes += (size_t)tc->mags[i].count * a->slots[i].object_size;
		ka_mag_flush(a, i, &tc->mags[i], tc->mags[i].count);
	}
	return bytes;
}

/**
 * _ka_mag_drain() - give back what every thread caches of an arena.
 * @a: the arena.
 * @slot: one slot, or -1 for all.
 *
 * Context: takes a->lock and each tcache's lock in turn.
 * Return: bytes given back.
 */
size_t _ka_mag_drain(struct ka_arena *a, int slot)
{
	struct ka_tcache *tc;
	size_t bytes = 0;

	pthread_mutex_lock(&a->lock);
	if (a->state == KA_ARENA_OPEN) {
		for (tc = a->tcaches; tc; tc = tc->next) {
			_ka_spin_lock(&tc->lock);
			if (tc->gen == a->gen)
				bytes += ka_tcache_drain(a, tc, slot);
			_ka_spin_unlock(&tc->lock);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return bytes;
}

/**
 * _ka_mag_count() - what every thread caches of an arena.
 * @a: the arena.
 * @per_slot: gets the cached objects of each slot (KA_SLOTS entries).
 * @objects: gets the number of cached objects.
 * @bytes: gets their bytes.
 *
 * Context: takes a->lock and each tcache's lock in turn.
 */
void _ka_mag_count(struct ka_arena *a, __u64 *per_slot, __u64 *objects,
		   __u64 *bytes)
{
	struct ka_tcache *tc;
	unsigned int i;

	memset(per_slot, 0, KA_SLOTS * sizeof(*per_slot));
	*objects = 0;
	*bytes = 0;
	pthread_mutex_lock(&a->lock);
	for (tc = a->tcaches; tc; tc = tc->next) {
		_ka_spin_lock(&tc->lock);
		if (tc->gen == a->gen) {
			for (i = 1; i < KA_SLOTS; i++) {
				per_slot[i] += tc->mags[i].count;
				*objects += tc->mags[i].count;
				*bytes += (__u64)tc->mags[i].count *
					  a->slots[i].object_size;
			}
		}
		_ka_spin_unlock(&tc->lock);
	}
	pthread_mutex_unlock(&a->lock);
}

/* The key destructor: a thread exits; its magazines go back. */
static void ka_thread_exit(void *arg)
{
	struct ka_tls *tls = arg;
	struct ka_tcache *tc, **pp;
	struct ka_arena *a;
	unsigned int i, j;

	tls->state = 2;
	for (i = 0; i < KA_TLS_ARENAS; i++) {
		tc = tls->tc[i];
		if (!tc)
			continue;
		tls->tc[i] = NULL;
		a = tc->arena;
		if (a) {
			pthread_mutex_lock(&a->lock);
			_ka_spin_lock(&tc->lock);
			if (tc->gen == a->gen && a->state == KA_ARENA_OPEN)
				ka_tcache_drain(a, tc, -1);
			for (pp = &a->tcaches; *pp; pp = &(*pp)->next) {
				if (*pp == tc) {
					*pp = tc->next;
					break;
				}
			}
			_ka_spin_unlock(&tc->lock);
			pthread_mutex_unlock(&a->lock);
		}
		for (j = 0; j < KA_SLOTS; j++)
			_ka_meta_free(tc->mags[j].objs,
				      tc->mags[j].cap * sizeof(void *));
		_ka_meta_free(tc, sizeof(*tc));
	}
}

/**
 * _ka_mag_thread_init() - create the key whose destructor flushes an
 * exiting thread's magazines.
 *
 * Context: once, from _ka_init().
 */
void _ka_mag_thread_init(void)
{
	pthread_key_create(&ka_tls_key, ka_thread_exit);
}
