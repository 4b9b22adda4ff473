// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: per-thread magazines (Bonwick & Adams 2001), the layer
 * above the depot (depot.c).
 *
 * Each thread has, per heap with a tls index, a tcache: per slot a stack
 * of up to two magazines (2 * batch free objects).  An allocation pops
 * one; an empty stack takes a magazine from the depot, or, when the
 * depot is dry, one ALLOC_BULK of batch objects.  A free pushes one; a
 * full stack gives its oldest magazine to the depot, or, when the depot
 * is at its bound, back with one FREE_BULK.  Objects are fungible within
 * a slot: a free from another thread simply lands in the freeing
 * thread's magazine, and reaches the allocating thread through the depot.
 *
 * The common case of malloc() and free() on the default heap is inline
 * (fast.h): one test of _ka_tls.fast, a pop or push, the live byte and
 * the owner's counters.  Everything here is the slow path behind it.
 *
 * A thread that exits gives its magazines to the depot (the rest back to
 * the kernel) and folds its counters into the heap's (the key
 * destructor).  A tcache whose gen is not its heap's (the heap was
 * closed, or this is a fork child) holds objects of a client that is
 * gone: they are dropped, not given back.
 *
 * No atomic read-modify-write on the fast paths.  Only the owner pushes
 * and pops, and only the owner writes its counters (mallocs, frees,
 * ka_mag.in_use): relaxed loads and stores, which are plain moves on
 * x86-64.  Remotes reach the tcaches through the heap's list, under
 * heap->lock, which keeps a tcache from being freed meanwhile:
 *
 * - a statistics reader only reads: counters and magazine counts, with
 *   relaxed loads.  A sum taken while other threads allocate is a sum of
 *   per-thread values read at slightly different times, so it may be off
 *   by the operations in flight (an object allocated by one thread and
 *   freed by another can be seen freed and not yet allocated; such a
 *   negative in-use count reads as 0); once the threads stop, it is
 *   exact.
 * - a trim or a cache destroy empties magazines, so it must exclude the
 *   owner.  The owner does not take a lock for that; it announces itself:
 *
 *     owner                          remote (heap->lock held)
 *     busy = 1                       lock(tc->lock); remote = 1
 *     (compiler barrier)             membarrier(PRIVATE_EXPEDITED)
 *     if remote: busy = 0,           while (busy) wait
 *         lock(tc->lock) instead     ... empty magazines ...
 *     ... pop or push ...            remote = 0; unlock(tc->lock)
 *     busy = 0 (release)
 *
 *   The owner's store and load may be reordered by its CPU (a store
 *   buffer); membarrier() makes every running thread of the process
 *   execute a full barrier, so after it either the owner's busy = 1 is
 *   visible to the remote, or the owner's next load of remote sees 1
 *   (the asymmetric Dekker pattern of liburcu's membarrier flavour).
 *   The remote's one system call is the price of the owner's none.
 *   Without membarrier (old kernel, seccomp) the owner always takes
 *   tc->lock, which is correct and slower.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

/* === Data === */

__thread struct ka_tls _ka_tls __attribute__((tls_model("initial-exec")));
bool _ka_lockless;
static pthread_key_t ka_tls_key;

/* === Talking to the kernel === */

/**
 * _ka_bulk_alloc() - objects of a slot straight from the kernel.
 * @a: the heap, open.
 * @slot: a ready slot.
 * @objs: gets the objects.
 * @n: how many, at most the kernel's max_batch.
 *
 * Each object is entered in the page map and the start bitmap before
 * anyone can see it.
 *
 * Return: the number allocated (at least 1), or -errno.
 */
int _ka_bulk_alloc(struct ka_heap *a, unsigned int slot, void **objs,
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
	ret = _ka_dev_ioctl(a->fd, KARENA_IOC_ALLOC_BULK, &b);
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
 * @a: the heap, open.
 * @slot: their slot.
 * @objs: the objects, already checked and taken off the live map.
 * @n: how many.
 *
 * The kernel checks each one again; one it refuses means the library's
 * own state is wrong, which is reported, and the rest still go back.
 */
void _ka_bulk_free(struct ka_heap *a, unsigned int slot, void **objs,
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
		ret = _ka_dev_ioctl(a->fd, KARENA_IOC_FREE_BULK, &b);
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

/* === Owner and remotes === */

/*
 * Remote: exclude the owners of every tcache of @a of the current gen, to
 * empty their magazines; a->lock held.  Return: whether any was taken.
 */
static bool ka_remote_enter(struct ka_heap *a)
{
	struct ka_tcache *tc;
	bool any = false;

	for (tc = a->tcaches; tc; tc = tc->next) {
		if (tc->gen != a->gen)
			continue;
		_ka_spin_lock(&tc->lock);
		__atomic_store_n(&tc->remote, 1, __ATOMIC_RELAXED);
		any = true;
	}
	if (!any || !_ka_lockless)
		return any;
	if (_ka_prim_membarrier())
		_ka_misuse(a, KA_MISUSE_INTERNAL, "trim", NULL,
			   "membarrier failed");
	for (tc = a->tcaches; tc; tc = tc->next)
		if (tc->gen == a->gen)
			while (__atomic_load_n(&tc->busy, __ATOMIC_ACQUIRE))
				_ka_cpu_relax();
	return true;
}

static void ka_remote_leave(struct ka_heap *a)
{
	struct ka_tcache *tc;

	for (tc = a->tcaches; tc; tc = tc->next) {
		if (tc->gen != a->gen)
			continue;
		__atomic_store_n(&tc->remote, 0, __ATOMIC_RELEASE);
		_ka_spin_unlock(&tc->lock);
	}
}

/* === Tcaches === */

/* Forget what a stale tcache holds and counted: its client is gone. */
static void ka_tcache_reset(struct ka_tcache *tc)
{
	unsigned int i;

	tc->mallocs = 0;
	tc->frees = 0;
	for (i = 0; i < KA_SLOTS; i++) {
		tc->mags[i].count = 0;
		tc->mags[i].in_use = 0;
	}
}

/* A tcache of @a for this thread, set up or recycled. */
static struct ka_tcache *ka_tcache_setup(struct ka_heap *a)
{
	struct ka_tcache *tc = _ka_tls.tc[a->tls];

	if (!tc) {
		tc = _ka_meta_alloc(sizeof(*tc));
		if (!tc)
			return NULL;
		_ka_tls.tc[a->tls] = tc;
		if (!_ka_tls.state) {
			pthread_setspecific(ka_tls_key, &_ka_tls);
			_ka_tls.state = 1;
		}
	}
	/* Not on any current list: no reader sees the reset. */
	pthread_mutex_lock(&a->lock);
	ka_tcache_reset(tc);
	tc->heap = a;
	tc->gen = a->gen;
	tc->next = a->tcaches;
	a->tcaches = tc;
	tc->linked = true;
	pthread_mutex_unlock(&a->lock);
	return tc;
}

/* This thread's tcache of @a, or NULL when there are no magazines. */
static inline struct ka_tcache *ka_tcache(struct ka_heap *a)
{
	struct ka_tcache *tc;

	if (unlikely(a->tls < 0 || _ka_tls.state == 2))
		return NULL;
	tc = _ka_tls.tc[a->tls];
	if (!(likely(tc && tc->heap == a &&
		     tc->gen == __atomic_load_n(&a->gen, __ATOMIC_ACQUIRE))))
		tc = ka_tcache_setup(a);
	/* The fast paths may use it from now on (see struct ka_tls). */
	if (tc && a == &_ka_default && !_ka_tracing)
		_ka_tls.fast = tc;
	return tc;
}

/* Make sure a magazine stack has its array, sized for the slot's batch. */
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

/* Give a magazine stack's oldest @n objects to the kernel; owner excluded. */
static void ka_mag_flush(struct ka_heap *a, unsigned int slot,
			 struct ka_mag *m, __u32 n)
{
	if (n > m->count)
		n = m->count;
	if (!n)
		return;
	_ka_bulk_free(a, slot, m->objs, n);
	memmove(m->objs, m->objs + n, (m->count - n) * sizeof(void *));
	__atomic_store_n(&m->count, m->count - n, __ATOMIC_RELAXED);
}

/* Count an object handed out (@n = 1) or taken back (-1) without a tcache. */
static void ka_count_shared(struct ka_heap *a, unsigned int slot, int n)
{
	struct ka_slot *s = &a->slots[slot];

	__atomic_fetch_add(&s->in_use, (__u64)(__s64)n, __ATOMIC_RELAXED);
	KA_STAT_ADD(a, objects_in_use, (__u64)(__s64)n);
	KA_STAT_ADD(a, bytes_in_use, (__u64)((__s64)n * s->object_size));
	if (n > 0)
		KA_STAT_ADD(a, mallocs, 1);
	else
		KA_STAT_ADD(a, frees, 1);
}

/*
 * Refill an empty magazine stack: from the depot, else from the kernel
 * (s->fill objects: see struct ka_slot).  The owner is busy or holds
 * tc->lock.  Return: objects, or -errno.
 */
static int ka_mag_refill(struct ka_heap *a, unsigned int slot,
			 struct ka_mag *m)
{
	struct ka_slot *s = &a->slots[slot];
	__u32 n;
	int ret;

	if (!ka_mag_ready(m, s))
		return -ENOMEM;
	if (_ka_depot_get(a, slot, m))
		return m->count;
	n = __atomic_load_n(&s->fill, __ATOMIC_RELAXED);
	if (!n || n > s->batch)
		n = s->batch;
	ret = _ka_bulk_alloc(a, slot, m->objs, n);
	if (ret > 0)
		__atomic_store_n(&m->count, ret, __ATOMIC_RELAXED);
	if (n < s->batch)
		__atomic_store_n(&s->fill, 2 * n, __ATOMIC_RELAXED);
	return ret;
}

/**
 * _ka_mag_alloc() - one free object of a slot, counted as handed out.
 * @a: the heap, open.
 * @slot: a ready slot.
 *
 * The slow path of the fast one in fast.h: from this thread's magazines,
 * refilled from the depot or the kernel when empty; straight from the
 * kernel for slots without magazines (debug caches, KARENA_BATCH=0,
 * heaps without a tls index, exiting threads).  When the kernel says
 * ENOMEM (quota or arena exhausted), what the heap caches is given back
 * (_ka_trim()) and the kernel asked once more.  Counted in mallocs and
 * the in-use numbers: the thread's own counters, or the heap's (atomic)
 * without a tcache.
 *
 * Return: the object (not yet marked live), or NULL with errno set.
 */
void *_ka_mag_alloc(struct ka_heap *a, unsigned int slot)
{
	struct ka_slot *s = &a->slots[slot];
	struct ka_tcache *tc;
	bool lockless, retried = false;
	struct ka_mag *m;
	void *obj = NULL;
	int ret;

	tc = s->batch ? ka_tcache(a) : NULL;
	if (!tc) {
		ret = _ka_bulk_alloc(a, slot, &obj, 1);
		if (ret == -ENOMEM && _ka_trim(a))
			ret = _ka_bulk_alloc(a, slot, &obj, 1);
		if (ret < 0) {
			errno = -ret;
			return NULL;
		}
		ka_count_shared(a, slot, 1);
		return obj;
	}
again:
	lockless = _ka_own_enter(tc);
	m = &tc->mags[slot];
	if (unlikely(!m->count)) {
		ret = ka_mag_refill(a, slot, m);
		if (ret < 0) {
			_ka_own_leave(tc, lockless);
			/* Memory pressure: give back what is cached, once. */
			if (ret == -ENOMEM && !retried && _ka_trim(a)) {
				retried = true;
				goto again;
			}
			errno = -ret;
			return NULL;
		}
	}
	obj = m->objs[m->count - 1];
	__atomic_store_n(&m->count, m->count - 1, __ATOMIC_RELAXED);
	_ka_own_add(&m->in_use, 1);
	_ka_own_add(&tc->mallocs, 1);
	_ka_own_leave(tc, lockless);
	return obj;
}

/**
 * _ka_mag_free() - take back a checked object of a slot.
 * @a: the heap, open.
 * @slot: its slot.
 * @obj: the object, already off the live map.
 *
 * Counted in frees and the in-use numbers, as _ka_mag_alloc() counts.
 */
void _ka_mag_free(struct ka_heap *a, unsigned int slot, void *obj)
{
	struct ka_slot *s = &a->slots[slot];
	struct ka_tcache *tc;
	struct ka_mag *m;
	bool lockless;

	tc = s->batch ? ka_tcache(a) : NULL;
	if (!tc) {
		ka_count_shared(a, slot, -1);
		_ka_bulk_free(a, slot, &obj, 1);
		return;
	}
	lockless = _ka_own_enter(tc);
	m = &tc->mags[slot];
	_ka_own_add(&m->in_use, -1);
	_ka_own_add(&tc->frees, 1);
	if (unlikely(!ka_mag_ready(m, s))) {
		_ka_own_leave(tc, lockless);
		_ka_bulk_free(a, slot, &obj, 1);
		return;
	}
	if (unlikely(m->count == m->cap) && !_ka_depot_put(a, slot, m))
		ka_mag_flush(a, slot, m, s->batch);
	m->objs[m->count] = obj;
	__atomic_store_n(&m->count, m->count + 1, __ATOMIC_RELAXED);
	_ka_own_leave(tc, lockless);
}

/*
 * Empty one tcache's magazines (@slot < 0: all); the owner excluded.
 * @to_depot: offer them to the depot first (a thread exiting), rather
 * than all to the kernel (a trim).
 */
static size_t ka_tcache_drain(struct ka_heap *a, struct ka_tcache *tc,
			      int slot, bool to_depot)
{
	struct ka_mag *m;
	size_t bytes = 0;
	unsigned int i;

	for (i = 1; i < KA_SLOTS; i++) {
		m = &tc->mags[i];
		if ((slot >= 0 && (int)i != slot) || !m->count)
			continue;
		bytes += (size_t)m->count * a->slots[i].object_size;
		while (to_depot && m->count && _ka_depot_put(a, i, m))
			;
		ka_mag_flush(a, i, m, m->count);
	}
	return bytes;
}

/**
 * _ka_mag_drain() - give back what every thread and the depots cache of
 * a heap.
 * @a: the heap.
 * @slot: one slot, or -1 for all.
 *
 * Context: takes a->lock and every tcache's lock; one membarrier() call
 * to exclude the owners (see the head comment), then the depots' locks.
 * Return: bytes given back.
 */
size_t _ka_mag_drain(struct ka_heap *a, int slot)
{
	struct ka_tcache *tc;
	size_t bytes = 0;

	pthread_mutex_lock(&a->lock);
	if (a->state == KA_HEAP_OPEN) {
		if (ka_remote_enter(a)) {
			for (tc = a->tcaches; tc; tc = tc->next)
				if (tc->gen == a->gen)
					bytes += ka_tcache_drain(a, tc, slot,
								 false);
			ka_remote_leave(a);
		}
		bytes += _ka_depot_drain(a, slot);
	}
	pthread_mutex_unlock(&a->lock);
	return bytes;
}

/* Add one tcache's numbers to @sum; a->lock held. */
static void ka_tcache_sum(const struct ka_heap *a,
			  const struct ka_tcache *tc, struct ka_tsum *sum)
{
	__u64 n;
	unsigned int i;

	sum->mallocs += __atomic_load_n(&tc->mallocs, __ATOMIC_RELAXED);
	sum->frees += __atomic_load_n(&tc->frees, __ATOMIC_RELAXED);
	for (i = 1; i < KA_SLOTS; i++) {
		n = __atomic_load_n(&tc->mags[i].in_use, __ATOMIC_RELAXED);
		sum->in_use[i] += n;
		sum->objects += n;
		sum->bytes += n * a->slots[i].object_size;
		n = __atomic_load_n(&tc->mags[i].count, __ATOMIC_RELAXED);
		sum->cached[i] += n;
		sum->cached_objects += n;
		sum->cached_bytes += n * a->slots[i].object_size;
	}
}

/**
 * _ka_mag_sum() - what the live threads' tcaches and the depots of a
 * heap hold and counted.
 * @a: the heap.
 * @sum: filled in.
 *
 * Racy reads of the owners' counters (see the head comment); nothing is
 * excluded, no owner is slowed down.
 *
 * Context: a->lock held.
 */
void _ka_mag_sum(struct ka_heap *a, struct ka_tsum *sum)
{
	const struct ka_tcache *tc;
	unsigned int i;
	__u64 n;

	memset(sum, 0, sizeof(*sum));
	for (tc = a->tcaches; tc; tc = tc->next)
		if (tc->gen == a->gen)
			ka_tcache_sum(a, tc, sum);
	for (i = 1; i < KA_SLOTS; i++) {
		n = _ka_depot_count(a, i);
		sum->cached[i] += n;
		sum->cached_objects += n;
		sum->cached_bytes += n * a->slots[i].object_size;
	}
}

/**
 * _ka_mag_in_use() - the tcaches' share of a slot's in-use count.
 * @a: the heap.
 * @slot: the slot.
 *
 * Context: a->lock held.
 * Return: the sum of the live threads' ka_mag.in_use (may wrap).
 */
__u64 _ka_mag_in_use(struct ka_heap *a, unsigned int slot)
{
	const struct ka_tcache *tc;
	__u64 n = 0;

	for (tc = a->tcaches; tc; tc = tc->next)
		if (tc->gen == a->gen)
			n += __atomic_load_n(&tc->mags[slot].in_use,
					     __ATOMIC_RELAXED);
	return n;
}

/**
 * _ka_slot_in_use() - objects of a slot the program holds.
 * @a: the heap.
 * @slot: the slot.
 *
 * Context: takes a->lock.
 * Return: the count (0 if the racy sum came out below 0).
 */
__u64 _ka_slot_in_use(struct ka_heap *a, unsigned int slot)
{
	__u64 n;

	pthread_mutex_lock(&a->lock);
	n = __atomic_load_n(&a->slots[slot].in_use, __ATOMIC_RELAXED) +
	    _ka_mag_in_use(a, slot);
	pthread_mutex_unlock(&a->lock);
	return (__s64)n < 0 ? 0 : n;
}

/* Fold an exiting thread's counters into the heap's; a->lock held. */
static void ka_tcache_fold(struct ka_heap *a, struct ka_tcache *tc)
{
	__u64 n, objects = 0, bytes = 0;
	unsigned int i;

	KA_STAT_ADD(a, mallocs, tc->mallocs);
	KA_STAT_ADD(a, frees, tc->frees);
	for (i = 1; i < KA_SLOTS; i++) {
		n = tc->mags[i].in_use;
		if (!n)
			continue;
		objects += n;
		bytes += n * a->slots[i].object_size;
		__atomic_fetch_add(&a->slots[i].in_use, n, __ATOMIC_RELAXED);
	}
	KA_STAT_ADD(a, objects_in_use, objects);
	KA_STAT_ADD(a, bytes_in_use, bytes);
	ka_tcache_reset(tc);
}

/*
 * The key destructor: a thread exits; its magazines go to the depots
 * (or back) and its counters are folded into the heap's, in one a->lock
 * section so that a reader sees either the tcache or its counts, never
 * both nor neither.
 */
static void ka_thread_exit(void *arg)
{
	struct ka_tls *tls = arg;
	struct ka_tcache *tc, **pp;
	struct ka_heap *a;
	unsigned int i, j;

	tls->fast = NULL;
	tls->state = 2;
	for (i = 0; i < KA_TLS_HEAPS; i++) {
		tc = tls->tc[i];
		if (!tc)
			continue;
		tls->tc[i] = NULL;
		a = tc->heap;
		if (a) {
			pthread_mutex_lock(&a->lock);
			_ka_spin_lock(&tc->lock);
			if (tc->gen == a->gen && a->state == KA_HEAP_OPEN) {
				ka_tcache_drain(a, tc, -1, true);
				ka_tcache_fold(a, tc);
			}
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
 * _ka_mag_atfork_child() - the fork child's only thread forgets that its
 * tcaches were usable: they hold the parent's client's objects, and the
 * next slow path sets them up again for the child's.
 *
 * Context: the fork child, single-threaded.
 */
void _ka_mag_atfork_child(void)
{
	_ka_tls.fast = NULL;
}

/*
 * Register for membarrier() when the library is loaded, so that owners
 * can use their tcaches without a lock.  Not in _ka_init(): with other
 * threads running, registering waits for an RCU grace period, and a fork
 * meanwhile would leave the child with _ka_init()'s lock held.  A fork
 * child inherits the registration (it belongs to the address space).
 * Priority 101: before the program's own constructors, which may
 * allocate, when the library is linked statically.
 */
static void __attribute__((constructor(101))) ka_mag_load(void)
{
	_ka_lockless = !_ka_prim_membarrier_register();
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
