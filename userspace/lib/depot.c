// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the depot, Bonwick and Adams' depot layer in userspace.
 *
 * Each slot of a heap has a depot of full magazines that all the heap's
 * threads share.  A thread whose magazine stack runs empty takes a
 * magazine from the depot; one whose stack is full gives its oldest
 * magazine to it.  Only when the depot is dry does the thread call the
 * kernel (one ALLOC_BULK), and only when the depot is at its bound does
 * a magazine go back to the kernel (one FREE_BULK).  So objects freed by
 * one thread and allocated by another, or a working set that swings by
 * thousands of objects, cost no system call once the depot has learnt
 * its size:
 *
 *   thread A  [stack of 2 magazines] --put--+        +--get--> thread B
 *                                           v        |
 *   depot of the slot           [ m | m | m | ... | m ]  <= bound
 *                                  |               ^
 *                       FREE_BULK  v (over bound)  | ALLOC_BULK (dry)
 *   kernel                      the client's user cache
 *
 * The bound adapts to the working set, as Bonwick's magazine resizing and
 * jemalloc's decay do:
 *
 * - grow: a period in which a magazine went to the kernel for want of
 *   room and a later get found the depot dry is thrashing (the kernel
 *   took objects the program needed again); the bound doubles, up to
 *   KA_DEPOT_MAX_BYTES of objects.
 * - decay: at the first depot operation after a period (KA_DECAY_MS),
 *   the objects the depot held all through it (its low-water mark) were
 *   not needed; half of them go back to the kernel, and a period that
 *   neither thrashed nor filled half the bound shrinks it by a quarter,
 *   down to KA_DEPOT_MIN (so a steady working set keeps its bound).
 * - ka_trim(), malloc_trim() and a failing allocation (quota or arena
 *   exhausted) give everything back (_ka_depot_drain()).
 *
 * The objects are kept as one array, a magazine being a run of batch
 * entries of it: a get or put is one copy of batch pointers under the
 * depot's lock, taken once per batch objects.
 */
#include <string.h>

#include "internal.h"

/* A period of the decay, in milliseconds. */
#define KA_DECAY_MS		1000
/* The bound to start from and shrink back to, in magazines. */
#define KA_DEPOT_MIN		4
/* The most a depot grows to: objects of this many bytes (or 16 magazines). */
#define KA_DEPOT_MAX_BYTES	(16UL << 20)

static __u32 ka_depot_max(const struct ka_slot *s)
{
	size_t n = KA_DEPOT_MAX_BYTES / s->object_size;

	if (n < 16UL * s->batch)
		n = 16UL * s->batch;
	if (n > (1UL << 24))
		n = 1UL << 24;
	return n;
}

/* Make room for @n objects; d->lock held.  Return: false out of memory. */
static bool ka_depot_room(struct ka_depot *d, __u32 n)
{
	void **objs;
	__u32 room;

	if (n <= d->room)
		return true;
	room = d->room ? d->room : 64;
	while (room < n)
		room *= 2;
	objs = _ka_meta_alloc(room * sizeof(void *));
	if (!objs)
		return false;
	if (d->count)
		memcpy(objs, d->objs, d->count * sizeof(void *));
	_ka_meta_free(d->objs, d->room * sizeof(void *));
	d->objs = objs;
	d->room = room;
	return true;
}

/* Give the depot's oldest @n objects back to the kernel; d->lock held. */
static void ka_depot_release(struct ka_heap *h, unsigned int slot,
			     struct ka_depot *d, __u32 n)
{
	if (n > d->count)
		n = d->count;
	if (!n)
		return;
	_ka_bulk_free(h, slot, d->objs, n);
	memmove(d->objs, d->objs + n, (d->count - n) * sizeof(void *));
	__atomic_store_n(&d->count, d->count - n, __ATOMIC_RELAXED);
	d->decays += n;
	if (d->low > d->count)
		d->low = d->count;
}

/*
 * Start the depot's first period, or end one that is over: decay what
 * it did not need and shrink a bound that was not needed either.
 * d->lock held.
 */
static void ka_depot_tick(struct ka_heap *h, unsigned int slot,
			  struct ka_depot *d)
{
	const struct ka_slot *s = &h->slots[slot];
	__u64 now = _ka_prim_now_ms();
	__u32 min = KA_DEPOT_MIN * s->batch, excess;

	if (!d->bound) {
		d->bound = min;
		d->since = now;
		d->low = d->count;
		return;
	}
	if (now - d->since < KA_DECAY_MS)
		return;
	excess = d->low / 2;
	if (excess)
		ka_depot_release(h, slot, d, excess);
	if (!d->spilled && 2 * d->high < d->bound && d->bound > min) {
		d->bound -= d->bound / 4;
		if (d->bound < min)
			d->bound = min;
	}
	d->since = now;
	d->low = d->count;
	d->high = d->count;
	d->spilled = false;
}

/**
 * _ka_depot_get() - fill an empty magazine stack from the depot.
 * @h: the heap.
 * @slot: the slot.
 * @m: the owner's magazine stack, empty, its array set up.
 *
 * Context: the owner, busy or holding tc->lock; takes the depot's lock.
 * Return: true with up to one batch of objects in @m; false when the
 * depot is dry (the caller asks the kernel, counted as a miss).
 */
bool _ka_depot_get(struct ka_heap *h, unsigned int slot, struct ka_mag *m)
{
	struct ka_slot *s = &h->slots[slot];
	struct ka_depot *d = &s->depot;
	__u32 n;

	pthread_mutex_lock(&d->lock);
	ka_depot_tick(h, slot, d);
	if (!d->count) {
		d->misses++;
		if (d->spilled && d->bound < ka_depot_max(s)) {
			/* Thrashing: the kernel has what we need again. */
			d->bound *= 2;
			if (d->bound > ka_depot_max(s))
				d->bound = ka_depot_max(s);
			d->spilled = false;
		}
		d->low = 0;
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	n = d->count < s->batch ? d->count : s->batch;
	memcpy(m->objs, d->objs + d->count - n, n * sizeof(void *));
	__atomic_store_n(&d->count, d->count - n, __ATOMIC_RELAXED);
	if (d->low > d->count)
		d->low = d->count;
	d->gets++;
	pthread_mutex_unlock(&d->lock);
	__atomic_store_n(&m->count, n, __ATOMIC_RELAXED);
	return true;
}

/**
 * _ka_depot_put() - take the oldest magazine of a magazine stack.
 * @h: the heap.
 * @slot: the slot.
 * @m: the owner's magazine stack, full (2 * batch) or, from an exiting
 *	thread, holding anything (a partial magazine goes whole).
 *
 * Context: the owner, busy or holding tc->lock; takes the depot's lock.
 * Return: true with one batch fewer in @m (or none left); false when the
 * depot is at its bound (the caller gives the batch to the kernel).
 */
bool _ka_depot_put(struct ka_heap *h, unsigned int slot, struct ka_mag *m)
{
	struct ka_slot *s = &h->slots[slot];
	struct ka_depot *d = &s->depot;
	__u32 n = m->count < s->batch ? m->count : s->batch;

	pthread_mutex_lock(&d->lock);
	ka_depot_tick(h, slot, d);
	if (d->count + n > d->bound || !ka_depot_room(d, d->count + n)) {
		d->overflows++;
		d->spilled = true;
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	memcpy(d->objs + d->count, m->objs, n * sizeof(void *));
	__atomic_store_n(&d->count, d->count + n, __ATOMIC_RELAXED);
	if (d->high < d->count)
		d->high = d->count;
	d->puts++;
	pthread_mutex_unlock(&d->lock);
	memmove(m->objs, m->objs + n, (m->count - n) * sizeof(void *));
	__atomic_store_n(&m->count, m->count - n, __ATOMIC_RELAXED);
	return true;
}

/**
 * _ka_depot_drain() - give back everything the depots of a heap hold.
 * @h: the heap, open.
 * @slot: one slot, or -1 for all.
 *
 * Context: the owners excluded or not: takes each depot's lock.
 * Return: bytes given back.
 */
size_t _ka_depot_drain(struct ka_heap *h, int slot)
{
	struct ka_depot *d;
	size_t bytes = 0;
	unsigned int i;

	for (i = 1; i < KA_SLOTS; i++) {
		if ((slot >= 0 && (int)i != slot) || !h->slots[i].id)
			continue;
		d = &h->slots[i].depot;
		pthread_mutex_lock(&d->lock);
		bytes += (size_t)d->count * h->slots[i].object_size;
		ka_depot_release(h, i, d, d->count);
		d->low = 0;
		pthread_mutex_unlock(&d->lock);
	}
	return bytes;
}

/**
 * _ka_depot_count() - objects a slot's depot holds.
 * @h: the heap.
 * @slot: the slot.
 *
 * Return: the count, read without the lock (statistics).
 */
__u64 _ka_depot_count(struct ka_heap *h, unsigned int slot)
{
	return __atomic_load_n(&h->slots[slot].depot.count, __ATOMIC_RELAXED);
}

/**
 * _ka_depot_forget() - forget a depot's objects: their client is gone.
 * @d: the depot.
 *
 * Context: a fork child, single-threaded.
 */
void _ka_depot_forget(struct ka_depot *d)
{
	pthread_mutex_init(&d->lock, NULL);
	d->count = 0;
	d->bound = 0;
	d->low = 0;
	d->high = 0;
	d->spilled = false;
	d->gets = 0;
	d->puts = 0;
	d->misses = 0;
	d->overflows = 0;
	d->decays = 0;
}

/**
 * _ka_depot_destroy() - free a depot's array, whatever it held.
 * @d: the depot; its objects are given back already or were the gone
 *	client's.
 *
 * Context: the slot is being removed or cleared, under heap->lock.
 */
void _ka_depot_destroy(struct ka_depot *d)
{
	_ka_meta_free(d->objs, d->room * sizeof(void *));
	d->objs = NULL;
	d->room = 0;
	d->count = 0;
}
