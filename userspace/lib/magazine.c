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
 * A thread that exits gives all its magazines back and folds its
 * counters into the arena's (the key destructor).  A tcache whose gen is
 * not its arena's (the arena was closed, or this is a fork child) holds
 * objects of a client that is gone: they are dropped, not given back.
 *
 * No atomic read-modify-write on the fast paths.  Only the owner pushes
 * and pops, and only the owner writes its counters (struct ka_tcounts,
 * ka_mag.in_use): relaxed loads and stores, which are plain moves on
 * x86-64.  Remotes reach the tcaches through the arena's list, under
 * arena->lock, which keeps a tcache from being freed meanwhile:
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
 *     owner                          remote (arena->lock held)
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
/* Owners use their tcache without tc->lock: membarrier is registered. */
static bool ka_lockless;

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
 * @objs: the objects, already checked and taken off the live map.
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

/* === Owner and remotes === */

/* Owner: add to one of its own counters (no read-modify-write). */
static inline void ka_own_add(__u64 *c, __u64 n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/*
 * Owner: start using the magazines.  Return: true when lockless (then
 * ka_own_leave(tc, true)), false with tc->lock held.
 */
static inline bool ka_own_enter(struct ka_tcache *tc)
{
	if (likely(ka_lockless)) {
		__atomic_store_n(&tc->busy, 1, __ATOMIC_RELAXED);
		/* Ordered for the CPU by a remote's membarrier(). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		/* Pairs with the release in ka_remote_leave(). */
		if (likely(!__atomic_load_n(&tc->remote, __ATOMIC_ACQUIRE)))
			return true;
		__atomic_store_n(&tc->busy, 0, __ATOMIC_RELEASE);
	}
	_ka_spin_lock(&tc->lock);
	return false;
}

static inline void ka_own_leave(struct ka_tcache *tc, bool lockless)
{
	if (lockless)
		/* Pairs with the acquire in ka_remote_enter(). */
		__atomic_store_n(&tc->busy, 0, __ATOMIC_RELEASE);
	else
		_ka_spin_unlock(&tc->lock);
}

/*
 * Remote: exclude the owners of every tcache of @a of the current gen, to
 * empty their magazines; a->lock held.  Return: whether any was taken.
 */
static bool ka_remote_enter(struct ka_arena *a)
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
	if (!any || !ka_lockless)
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

static void ka_remote_leave(struct ka_arena *a)
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

	memset(&tc->counts, 0, sizeof(tc->counts));
	for (i = 0; i < KA_SLOTS; i++) {
		tc->mags[i].count = 0;
		tc->mags[i].in_use = 0;
	}
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
	/* Not on any current list: no reader sees the reset. */
	pthread_mutex_lock(&a->lock);
	ka_tcache_reset(tc);
	tc->arena = a;
	tc->gen = a->gen;
	tc->next = a->tcaches;
	a->tcaches = tc;
	tc->linked = true;
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

/* Give a magazine's oldest @n objects back; the owner excluded. */
static void ka_mag_flush(struct ka_arena *a, unsigned int slot,
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
static void ka_count_shared(struct ka_arena *a, unsigned int slot, int n)
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

/**
 * _ka_mag_alloc() - one free object of a slot, counted as handed out.
 * @a: the arena, open.
 * @slot: a ready slot.
 *
 * From this thread's magazine, refilled with one ALLOC_BULK when empty;
 * straight from the kernel for slots without magazines (debug caches,
 * KARENA_BATCH=0, arenas without a tls index, exiting threads).  Counted
 * in mallocs and the in-use numbers: the thread's own counters, or the
 * arena's (atomic) without a tcache.
 *
 * Return: the object (not yet marked live), or NULL with errno set.
 */
void *_ka_mag_alloc(struct ka_arena *a, unsigned int slot)
{
	struct ka_slot *s = &a->slots[slot];
	struct ka_tcache *tc;
	struct ka_mag *m;
	void *obj = NULL;
	bool lockless;
	int ret;

	tc = s->batch ? ka_tcache(a) : NULL;
	if (!tc) {
		ret = _ka_bulk_alloc(a, slot, &obj, 1);
		if (ret < 0) {
			errno = -ret;
			return NULL;
		}
		ka_count_shared(a, slot, 1);
		return obj;
	}
	lockless = ka_own_enter(tc);
	m = &tc->mags[slot];
	if (unlikely(!m->count)) {
		ret = ka_mag_ready(m, s) ? _ka_bulk_alloc(a, slot, m->objs,
							  s->batch) : -ENOMEM;
		if (ret < 0) {
			ka_own_leave(tc, lockless);
			errno = -ret;
			return NULL;
		}
		__atomic_store_n(&m->count, ret, __ATOMIC_RELAXED);
	}
	obj = m->objs[m->count - 1];
	__atomic_store_n(&m->count, m->count - 1, __ATOMIC_RELAXED);
	ka_own_leave(tc, lockless);
	ka_own_add(&m->in_use, 1);
	ka_own_add(&tc->counts.mallocs, 1);
	ka_own_add(&tc->counts.objects, 1);
	ka_own_add(&tc->counts.bytes, s->object_size);
	return obj;
}

/**
 * _ka_mag_free() - take back a checked object of a slot.
 * @a: the arena, open.
 * @slot: its slot.
 * @obj: the object, already off the live map.
 *
 * Counted in frees and the in-use numbers, as _ka_mag_alloc() counts.
 */
void _ka_mag_free(struct ka_arena *a, unsigned int slot, void *obj)
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
	ka_own_add(&tc->mags[slot].in_use, -1);
	ka_own_add(&tc->counts.frees, 1);
	ka_own_add(&tc->counts.objects, -1);
	ka_own_add(&tc->counts.bytes, -(__u64)s->object_size);
	lockless = ka_own_enter(tc);
	m = &tc->mags[slot];
	if (unlikely(!ka_mag_ready(m, s))) {
		ka_own_leave(tc, lockless);
		_ka_bulk_free(a, slot, &obj, 1);
		return;
	}
	if (unlikely(m->count == m->cap))
		ka_mag_flush(a, slot, m, s->batch);
	m->objs[m->count] = obj;
	__atomic_store_n(&m->count, m->count + 1, __ATOMIC_RELAXED);
	ka_own_leave(tc, lockless);
}

/* Empty one tcache's magazines (@slot < 0: all); the owner excluded. */
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
 * Context: takes a->lock and every tcache's lock; one membarrier() call
 * to exclude the owners (see the head comment).
 * Return: bytes given back.
 */
size_t _ka_mag_drain(struct ka_arena *a, int slot)
{
	struct ka_tcache *tc;
	size_t bytes = 0;

	pthread_mutex_lock(&a->lock);
	if (a->state == KA_ARENA_OPEN && ka_remote_enter(a)) {
		for (tc = a->tcaches; tc; tc = tc->next)
			if (tc->gen == a->gen)
				bytes += ka_tcache_drain(a, tc, slot);
		ka_remote_leave(a);
	}
	pthread_mutex_unlock(&a->lock);
	return bytes;
}

/* Add one tcache's numbers to @sum; a->lock held. */
static void ka_tcache_sum(const struct ka_arena *a,
			  const struct ka_tcache *tc, struct ka_tsum *sum)
{
	const struct ka_tcounts *c = &tc->counts;
	__u64 n;
	unsigned int i;

	sum->counts.mallocs += __atomic_load_n(&c->mallocs, __ATOMIC_RELAXED);
	sum->counts.frees += __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
	sum->counts.objects += __atomic_load_n(&c->objects, __ATOMIC_RELAXED);
	sum->counts.bytes += __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
	for (i = 1; i < KA_SLOTS; i++) {
		sum->in_use[i] += __atomic_load_n(&tc->mags[i].in_use,
						  __ATOMIC_RELAXED);
		n = __atomic_load_n(&tc->mags[i].count, __ATOMIC_RELAXED);
		sum->cached[i] += n;
		sum->cached_objects += n;
		sum->cached_bytes += n * a->slots[i].object_size;
	}
}

/**
 * _ka_mag_sum() - what the live threads' tcaches of an arena hold and
 * counted.
 * @a: the arena.
 * @sum: filled in.
 *
 * Racy reads of the owners' counters (see the head comment); nothing is
 * excluded, no owner is slowed down.
 *
 * Context: a->lock held.
 */
void _ka_mag_sum(struct ka_arena *a, struct ka_tsum *sum)
{
	const struct ka_tcache *tc;

	memset(sum, 0, sizeof(*sum));
	for (tc = a->tcaches; tc; tc = tc->next)
		if (tc->gen == a->gen)
			ka_tcache_sum(a, tc, sum);
}

/**
 * _ka_mag_in_use() - the tcaches' share of a slot's in-use count.
 * @a: the arena.
 * @slot: the slot.
 *
 * Context: a->lock held.
 * Return: the sum of the live threads' ka_mag.in_use (may wrap).
 */
__u64 _ka_mag_in_use(struct ka_arena *a, unsigned int slot)
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
 * @a: the arena.
 * @slot: the slot.
 *
 * Context: takes a->lock.
 * Return: the count (0 if the racy sum came out below 0).
 */
__u64 _ka_slot_in_use(struct ka_arena *a, unsigned int slot)
{
	__u64 n;

	pthread_mutex_lock(&a->lock);
	n = __atomic_load_n(&a->slots[slot].in_use, __ATOMIC_RELAXED) +
	    _ka_mag_in_use(a, slot);
	pthread_mutex_unlock(&a->lock);
	return (__s64)n < 0 ? 0 : n;
}

/* Fold an exiting thread's counters into the arena's; a->lock held. */
static void ka_tcache_fold(struct ka_arena *a, struct ka_tcache *tc)
{
	unsigned int i;

	KA_STAT_ADD(a, mallocs, tc->counts.mallocs);
	KA_STAT_ADD(a, frees, tc->counts.frees);
	KA_STAT_ADD(a, objects_in_use, tc->counts.objects);
	KA_STAT_ADD(a, bytes_in_use, tc->counts.bytes);
	for (i = 1; i < KA_SLOTS; i++)
		if (tc->mags[i].in_use)
			__atomic_fetch_add(&a->slots[i].in_use,
					   tc->mags[i].in_use,
					   __ATOMIC_RELAXED);
	ka_tcache_reset(tc);
}

/*
 * The key destructor: a thread exits; its magazines go back and its
 * counters are folded into the arena's, in one a->lock section so that a
 * reader sees either the tcache or its counts, never both nor neither.
 */
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
			if (tc->gen == a->gen && a->state == KA_ARENA_OPEN) {
				ka_tcache_drain(a, tc, -1);
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
	ka_lockless = !_ka_prim_membarrier_register();
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
