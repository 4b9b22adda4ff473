// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: arenas, their window and their slots; initialisation and
 * fork.
 *
 * An arena opens its client lazily, at the first allocation: INFO, then
 * the window, mapped at an address aligned to the largest block
 * (PAGE_SIZE << max_order) by reserving that much more address space
 * first, so that a block aligned to its size in the window is aligned
 * in memory too:
 *
 *   reservation  |..head..|============ window ============|..tail..|
 *                ^ any    ^ aligned: MAP_FIXED device mapping       ^
 *                           (head and tail are given back)
 *
 * Slots are created in the kernel on first use too.
 *
 * fork: the kernel does not copy the window (VM_DONTCOPY), yet a child
 * such as a shell's runs on its parent's heap until it execs.  So just
 * before the fork every arena copies the window pages it owns into a
 * memfd (pwrite, which stops at a page the client no longer owns instead
 * of faulting), and the child maps that file privately where the window
 * was: the child sees the parent's heap as it was, as ordinary memory of
 * its own.  It is no karena memory any more: every arena of the child
 * forgets its client and opens one of its own at its next allocation
 * (re-creating its caches), frees of the parent's pointers are counted
 * and ignored, and realloc() copies them out (the parent's page map is
 * kept to know their sizes).  If the copy cannot be made the range is
 * reserved PROT_NONE: touching the parent's memory then faults.
 *
 * Arena structs are never freed, only recycled, so that finding the
 * arena of a pointer needs no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* === Data === */

pthread_mutex_t _ka_global_lock = PTHREAD_MUTEX_INITIALIZER;

struct ka_arena _ka_default = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
	.fork_fd = -1,
	.tls = 0,
	.is_default = true,
};

/* Every arena struct, open or recycled (list under _ka_global_lock). */
static struct ka_arena *ka_arenas = &_ka_default;
/* Arenas with magazines, by their tls index (_ka_global_lock). */
static struct ka_arena *ka_tls_owner[KA_TLS_ARENAS] = { &_ka_default };
/* Source of arena gens (atomic). */
static __u64 ka_gen_counter;

/* Windows of the parent process, copied or reserved in a fork child. */
#define KA_DEAD_WINDOWS	16
static struct ka_dead {
	char *base;
	size_t len;
	struct ka_pagemap pm;
	__u32 page_size;
	__u32 sizes[KA_SLOTS];
} ka_dead[KA_DEAD_WINDOWS];
static unsigned int ka_nr_dead;

/* Initialisation: 0 not yet, 1 running, 2 done (atomic). */
static int ka_init_state;
static pthread_mutex_t ka_init_lock = PTHREAD_MUTEX_INITIALIZER;

/**
 * _ka_next_gen() - a gen no arena had before.
 *
 * Return: the gen.
 */
__u64 _ka_next_gen(void)
{
	return __atomic_add_fetch(&ka_gen_counter, 1, __ATOMIC_RELAXED);
}

/* === Fork === */

/* Write the pages @a owns to a memfd for the child; a->lock held. */
static void ka_fork_copy(struct ka_arena *a)
{
	size_t p, start, live_end = 0, page = a->info.page_size;
	struct ka_pagemap *pm = &a->pm;
	long n;
	int fd;

	a->fork_fd = -1;
	if (a->state != KA_ARENA_OPEN || !a->base)
		return;
	fd = _ka_prim_memfd(a->win_bytes);
	if (fd < 0)
		return;
	for (p = 0; p < pm->pages; ) {
		__u32 e = __atomic_load_n(&pm->map[p], __ATOMIC_RELAXED);

		if (KA_PM_KIND(e) == KA_PM_BLOCK && (e & KA_PM_LIVE))
			live_end = p + (1UL << KA_PM_ORDER(e));
		if (!(KA_PM_KIND(e) == KA_PM_SLAB || p < live_end)) {
			p++;
			continue;
		}
		/* A run of pages to copy. */
		for (start = p++; p < pm->pages; p++) {
			e = __atomic_load_n(&pm->map[p], __ATOMIC_RELAXED);
			if (KA_PM_KIND(e) == KA_PM_BLOCK) {
				if (!(e & KA_PM_LIVE))
					break;
				live_end = p + (1UL << KA_PM_ORDER(e));
			} else if (KA_PM_KIND(e) != KA_PM_SLAB && p >= live_end) {
				break;
			}
		}
		while (start < p) {
			n = _ka_prim_pwrite(fd, a->base + start * page,
					    (p - start) * page, start * page);
			/* Stopped at a page the kernel took back: skip it. */
			start += n > 0 ? (size_t)n / page : 1;
		}
	}
	a->fork_fd = fd;
}

static void ka_atfork_prepare(void)
{
	struct ka_arena *a;

	pthread_mutex_lock(&_ka_global_lock);
	for (a = ka_arenas; a; a = a->next) {
		pthread_mutex_lock(&a->lock);
		ka_fork_copy(a);
	}
}

static void ka_atfork_parent(void)
{
	struct ka_arena *a;

	for (a = ka_arenas; a; a = a->next) {
		if (a->fork_fd >= 0)
			_ka_prim_close(a->fork_fd);
		a->fork_fd = -1;
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&_ka_global_lock);
}

/* The child forgets the parent's client; see the head comment. */
static void ka_arena_forget(struct ka_arena *a)
{
	unsigned int i;

	pthread_mutex_init(&a->lock, NULL);
	if (a->base) {
		/* The window is not in the child: the copy, or a reservation. */
		if ((a->fork_fd < 0 ||
		     _ka_prim_map_copy(a->fork_fd, a->base, a->win_bytes)) &&
		    !_ka_prim_reserve(a->base, a->win_bytes, true))
			a->win_bytes = 0;	/* someone else's now */
		if (a->win_bytes && ka_nr_dead < KA_DEAD_WINDOWS) {
			struct ka_dead *d = &ka_dead[ka_nr_dead++];

			d->base = a->base;
			d->len = a->win_bytes;
			d->pm = a->pm;	/* kept: the sizes of the objects */
			d->page_size = a->info.page_size;
			for (i = 1; i < KA_SLOTS; i++)
				d->sizes[i] = a->slots[i].object_size;
		} else {
			_ka_pm_destroy(&a->pm);
		}
		memset(&a->pm, 0, sizeof(a->pm));
	}
	if (a->fork_fd >= 0)
		_ka_prim_close(a->fork_fd);
	a->fork_fd = -1;
	if (a->fd >= 0)
		_ka_prim_close(a->fd);
	a->fd = -1;
	__atomic_store_n(&a->base, NULL, __ATOMIC_RELEASE);
	a->win_bytes = 0;
	a->tcaches = NULL;
	memset(&a->stats, 0, sizeof(a->stats));
	for (i = 1; i < KA_SLOTS; i++) {
		a->slots[i].id = 0;
		a->slots[i].refills = 0;
		a->slots[i].flushes = 0;
		a->slots[i].in_use = 0;
	}
	a->gen = _ka_next_gen();
	if (a->state == KA_ARENA_OPEN)
		__atomic_store_n(&a->state, KA_ARENA_NEW, __ATOMIC_RELEASE);
}

static void ka_atfork_child(void)
{
	struct ka_arena *a;

	_ka_meta_atfork_child();
	for (a = ka_arenas; a; a = a->next)
		ka_arena_forget(a);
	pthread_mutex_init(&_ka_global_lock, NULL);
	_ka_trace_atfork_child();
}

/*
 * Fork handling is registered when the library is loaded (priority 101:
 * before a statically linked program's own constructors, which may
 * allocate), never in _ka_init(): glibc holds its atfork lock from the
 * prepare handlers to the parent/child ones, so a thread registering
 * handlers inside _ka_init() while another forks would deadlock with a
 * prepare handler waiting for _ka_init().  The init lock's handlers are
 * registered last, so that their prepare runs first: a fork waits for a
 * _ka_init() in progress (which takes no other lock), then the arenas'
 * prepare takes the global and arena locks.  Without them, a fork in the
 * middle of _ka_init() left the child with the init lock held for ever.
 */
static void ka_init_atfork_prepare(void)
{
	pthread_mutex_lock(&ka_init_lock);
}

static void ka_init_atfork_parent(void)
{
	pthread_mutex_unlock(&ka_init_lock);
}

static void ka_init_atfork_child(void)
{
	pthread_mutex_init(&ka_init_lock, NULL);
}

static void __attribute__((constructor(101))) ka_init_load(void)
{
	pthread_atfork(ka_atfork_prepare, ka_atfork_parent, ka_atfork_child);
	pthread_atfork(ka_init_atfork_prepare, ka_init_atfork_parent,
		       ka_init_atfork_child);
}

/**
 * _ka_init() - read the environment and set up thread handling and tracing.
 *
 * Context: called by every entry point; cheap after the first time.
 */
void _ka_init(void)
{
	if (likely(__atomic_load_n(&ka_init_state, __ATOMIC_ACQUIRE) == 2))
		return;
	pthread_mutex_lock(&ka_init_lock);
	if (!ka_init_state) {
		ka_init_state = 1;
		_ka_options_read();
		_ka_default.gen = _ka_next_gen();
		_ka_mag_thread_init();
		_ka_trace_init();
		__atomic_store_n(&ka_init_state, 2, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&ka_init_lock);
}

/* === Opening a client === */

/* Map the window at an address aligned to the largest block. */
static int ka_map_window(struct ka_arena *a)
{
	size_t align = (size_t)a->info.page_size << a->info.max_order;
	size_t len = a->info.window_bytes;
	char *res, *base;
	int ret;

	res = _ka_prim_reserve(NULL, len + align, false);
	if (!res)
		return -ENOMEM;
	base = (char *)_ka_align_up((uintptr_t)res, align);
	if (base > res)
		_ka_prim_unmap(res, base - res);
	if (res + align > base)
		_ka_prim_unmap(base + len, res + align - base);
	ret = _ka_prim_map_window(a->fd, base, len);
	if (ret) {
		_ka_prim_unmap(base, len);
		return ret;
	}
	a->win_bytes = len;
	__atomic_store_n(&a->base, base, __ATOMIC_RELEASE);
	return 0;
}

/* Open the client of @a; a->lock is held. */
static int ka_arena_open_locked(struct ka_arena *a)
{
	int ret, fd;

	fd = _ka_prim_open(a->path[0] ? a->path : _ka_opt.device);
	if (fd < 0)
		return fd;
	a->fd = fd;
	memset(&a->info, 0, sizeof(a->info));
	ret = _ka_prim_ioctl(fd, KARENA_IOC_INFO, &a->info);
	if (ret)
		goto err_close;
	ret = -EPROTO;
	if (a->info.abi_version != KARENA_ABI_VERSION ||
	    !_ka_is_pow2(a->info.page_size) || !a->info.window_bytes ||
	    a->info.max_order >= KA_ORDERS)
		goto err_close;
	a->page_shift = __builtin_ctz(a->info.page_size);
	ret = ka_map_window(a);
	if (ret)
		goto err_close;
	ret = _ka_pm_init(&a->pm, a->win_bytes, a->page_shift);
	if (ret)
		goto err_unmap;
	return 0;

err_unmap:
	_ka_prim_unmap(a->base, a->win_bytes);
	__atomic_store_n(&a->base, NULL, __ATOMIC_RELEASE);
	a->win_bytes = 0;
err_close:
	_ka_prim_close(fd);
	a->fd = -1;
	return ret;
}

/**
 * _ka_arena_ready() - make sure an arena has its client and window.
 * @a: the arena.
 *
 * Context: Any thread; takes a->lock the first time.
 * Return: 0, or -errno of the failed open (remembered: the default arena
 * tries once per process).
 */
int _ka_arena_ready(struct ka_arena *a)
{
	int ret;

	if (likely(__atomic_load_n(&a->state, __ATOMIC_ACQUIRE) ==
		   KA_ARENA_OPEN))
		return 0;
	_ka_init();
	pthread_mutex_lock(&a->lock);
	if (a->state == KA_ARENA_NEW) {
		ret = ka_arena_open_locked(a);
		if (ret) {
			a->err = -ret;
			a->state = KA_ARENA_FAILED;
		} else {
			__atomic_store_n(&a->state, KA_ARENA_OPEN,
					 __ATOMIC_RELEASE);
		}
	}
	ret = a->state == KA_ARENA_OPEN ? 0 : -a->err;
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/**
 * _ka_arena_get() - an arena argument, NULL meaning the default one.
 * @arena: the argument.
 *
 * Return: the arena (not necessarily open).
 */
struct ka_arena *_ka_arena_get(struct ka_arena *arena)
{
	_ka_init();
	return arena ?: &_ka_default;
}

/**
 * _ka_arena_of() - the arena whose window holds a pointer.
 * @ptr: any pointer.
 * @parent: set when @ptr is in a window of the parent process.
 *
 * Context: Any thread, no lock.
 * Return: the arena, or NULL.
 */
struct ka_arena *_ka_arena_of(const void *ptr, bool *parent)
{
	struct ka_arena *a;
	unsigned int i;

	*parent = false;
	if (likely(_ka_in_window(&_ka_default, ptr)))
		return &_ka_default;
	for (a = __atomic_load_n(&ka_arenas, __ATOMIC_ACQUIRE); a;
	     a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE))
		if (a != &_ka_default && _ka_in_window(a, ptr))
			return a;
	for (i = 0; i < ka_nr_dead; i++)
		if ((const char *)ptr >= ka_dead[i].base &&
		    (const char *)ptr < ka_dead[i].base + ka_dead[i].len)
			*parent = true;
	return NULL;
}

/**
 * _ka_parent_usable() - the size of an allocation of the parent process.
 * @ptr: a pointer into a parent window (in a fork child).
 *
 * Return: its usable bytes, or 0 if it is not the start of an object or
 * block the parent had when it forked.
 */
size_t _ka_parent_usable(const void *ptr)
{
	const struct ka_dead *d;
	__u64 off;
	__u32 e;
	unsigned int i;

	for (i = 0; i < ka_nr_dead; i++) {
		d = &ka_dead[i];
		if ((const char *)ptr < d->base ||
		    (const char *)ptr >= d->base + d->len || !d->pm.map)
			continue;
		off = (const char *)ptr - d->base;
		e = _ka_pm_entry(&d->pm, off);
		if (KA_PM_KIND(e) == KA_PM_SLAB && _ka_pm_live(&d->pm, off))
			return d->sizes[KA_PM_SLOT(e)];
		if (KA_PM_KIND(e) == KA_PM_BLOCK && (e & KA_PM_LIVE) &&
		    !(off & (d->page_size - 1)))
			return (size_t)d->page_size << KA_PM_ORDER(e);
		return 0;
	}
	return 0;
}

/* === Slots === */

/* Objects per refill and flush: KARENA_BATCH, at most ~128 KiB of them. */
static __u32 ka_slot_batch(const struct ka_arena *a, const struct ka_slot *s)
{
	__u32 batch = _ka_opt.batch, budget;

	if (s->flags & KA_CACHE_DEBUG)
		return 0;
	budget = (128U << 10) / s->stride;
	if (budget < 4)
		budget = 4;
	if (batch > budget)
		batch = budget;
	if (batch > a->info.max_batch)
		batch = a->info.max_batch;
	return batch;
}

/* Create a slot's kernel cache; a->lock is held and the arena open. */
static int ka_slot_create_locked(struct ka_arena *a, struct ka_slot *s)
{
	struct karena_cache_create cc;
	int ret;

	memset(&cc, 0, sizeof(cc));
	cc.flags = s->flags;
	cc.object_size = s->object_size;
	cc.align = s->align;
	memcpy(cc.name, s->name, sizeof(cc.name));
	ret = _ka_prim_ioctl(a->fd, KARENA_IOC_CACHE_CREATE, &cc);
	if (ret)
		return ret;
	s->stride = cc.object_stride;
	s->object_offset = cc.object_offset;
	s->slab_bytes = cc.slab_bytes;
	s->batch = ka_slot_batch(a, s);
	KA_STAT_ADD(a, caches, 1);
	__atomic_store_n(&s->id, cc.cache_id, __ATOMIC_RELEASE);
	return 0;
}

/**
 * _ka_slot_ready() - make sure a slot's cache exists in this client.
 * @a: the arena, open.
 * @slot: the slot.
 *
 * After a fork the caches of the parent's client are re-created here.
 *
 * Return: 0, or -errno.
 */
int _ka_slot_ready(struct ka_arena *a, unsigned int slot)
{
	struct ka_slot *s = &a->slots[slot];
	int ret = 0;

	if (likely(__atomic_load_n(&s->id, __ATOMIC_ACQUIRE)))
		return 0;
	pthread_mutex_lock(&a->lock);
	if (s->kind == KA_SLOT_FREE)
		ret = -EINVAL;
	else if (!s->id)
		ret = ka_slot_create_locked(a, s);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/**
 * _ka_slot_add() - a new slot and its kernel cache.
 * @a: the arena, open.
 * @kind: enum ka_slot_kind.
 * @name: the kernel cache name.
 * @size: object size.
 * @align: alignment (0: the kernel's default).
 * @flags: KA_CACHE_* flags.
 *
 * Return: the slot, or -errno (EEXIST for a name in use, ENOMEM when
 * every slot or the kernel's max_caches is taken).
 */
int _ka_slot_add(struct ka_arena *a, int kind, const char *name,
		 __u32 size, __u32 align, __u32 flags)
{
	struct ka_slot *s;
	unsigned int i;
	int ret;

	if (strlen(name) >= KA_NAME_LEN)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	for (i = 1; i < KA_SLOTS; i++)
		if (a->slots[i].kind != KA_SLOT_FREE &&
		    !strcmp(a->slots[i].name, name)) {
			pthread_mutex_unlock(&a->lock);
			return -EEXIST;
		}
	for (i = 1; i < KA_SLOTS && a->slots[i].kind != KA_SLOT_FREE; i++)
		;
	if (i == KA_SLOTS) {
		pthread_mutex_unlock(&a->lock);
		return -ENOMEM;
	}
	s = &a->slots[i];
	memset(s, 0, sizeof(*s));
	/*
	 * A slot used before: the live threads' shares of its in_use summed
	 * to 0 with the slot's own when it was removed (nothing was out), but
	 * each may not be 0 (an object allocated by one thread and freed by
	 * another).  They stay with the threads; this compensates.
	 */
	s->in_use = -_ka_mag_in_use(a, i);
	strcpy(s->name, name);
	s->object_size = size;
	s->align = align;
	s->flags = flags;
	ret = ka_slot_create_locked(a, s);
	if (!ret)
		s->kind = kind;
	pthread_mutex_unlock(&a->lock);
	return ret ? ret : (int)i;
}

/**
 * _ka_slot_remove() - destroy a slot's cache and free the slot.
 * @a: the arena.
 * @slot: the slot; its objects should all be back in the kernel.
 *
 * Context: a->lock not held.
 * Return: 0, or -EBUSY when the kernel still has objects of it out (the
 * slot stays).
 */
int _ka_slot_remove(struct ka_arena *a, unsigned int slot)
{
	struct ka_slot *s = &a->slots[slot];
	struct karena_cache_destroy cd;
	int ret = 0;

	pthread_mutex_lock(&a->lock);
	if (s->id && a->fd >= 0) {
		memset(&cd, 0, sizeof(cd));
		cd.cache_id = s->id;
		ret = _ka_prim_ioctl(a->fd, KARENA_IOC_CACHE_DESTROY, &cd);
		if (ret == -ENOENT)
			ret = 0;
	}
	if (!ret) {
		memset(s, 0, sizeof(*s));
		__atomic_fetch_sub(&a->stats.caches, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/**
 * _ka_class_slot() - the slot of a size class, created on first use.
 * @a: the arena, open.
 * @class: the class.
 *
 * Return: the slot, or 0 with errno set.
 */
unsigned int _ka_class_slot(struct ka_arena *a, unsigned int class)
{
	unsigned int slot = __atomic_load_n(&a->class_slot[class],
					    __ATOMIC_ACQUIRE);
	char name[KA_NAME_LEN];
	int ret;

	if (likely(slot))
		return slot;
	snprintf(name, sizeof(name), "malloc-%zu", _ka_class_size(class));
	ret = _ka_slot_add(a, KA_SLOT_CLASS, name, _ka_class_size(class),
			   KA_MALLOC_ALIGN, _ka_opt.debug_flags);
	if (ret == -EEXIST) {
		/* Another thread made it first. */
		slot = __atomic_load_n(&a->class_slot[class], __ATOMIC_ACQUIRE);
		if (slot)
			return slot;
	}
	if (ret < 0) {
		errno = -ret;
		return 0;
	}
	__atomic_store_n(&a->class_slot[class], ret, __ATOMIC_RELEASE);
	return ret;
}

/**
 * _ka_aligned_slot() - the slot of objects of 2^@shift bytes aligned to
 * their size, created on first use.
 * @a: the arena, open.
 * @shift: 5 (32 bytes) to the page shift.
 *
 * Return: the slot, or 0 with errno set.
 */
unsigned int _ka_aligned_slot(struct ka_arena *a, unsigned int shift)
{
	unsigned int slot = __atomic_load_n(&a->aligned_slot[shift],
					    __ATOMIC_ACQUIRE);
	char name[KA_NAME_LEN];
	int ret;

	if (likely(slot))
		return slot;
	snprintf(name, sizeof(name), "malloc-a%lu", 1UL << shift);
	ret = _ka_slot_add(a, KA_SLOT_ALIGNED, name, 1U << shift, 1U << shift,
			   _ka_opt.debug_flags);
	if (ret == -EEXIST) {
		slot = __atomic_load_n(&a->aligned_slot[shift],
				       __ATOMIC_ACQUIRE);
		if (slot)
			return slot;
	}
	if (ret < 0) {
		errno = -ret;
		return 0;
	}
	__atomic_store_n(&a->aligned_slot[shift], ret, __ATOMIC_RELEASE);
	return ret;
}

/* === Public: arenas === */

struct ka_arena *ka_open(const char *path)
{
	struct ka_arena *a;
	unsigned int i;
	int fd;

	_ka_init();
	if (!path)
		path = _ka_opt.device;
	if (strlen(path) >= sizeof(a->path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	/* Fail now, not at the first allocation, if the device is unusable. */
	fd = _ka_prim_open(path);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	_ka_prim_close(fd);

	pthread_mutex_lock(&_ka_global_lock);
	for (a = ka_arenas; a; a = a->next)
		if (!a->is_default && a->state == KA_ARENA_FAILED &&
		    a->err == EBADF)
			break;	/* a closed one, to recycle */
	if (!a) {
		a = _ka_meta_alloc(sizeof(*a));
		if (!a) {
			pthread_mutex_unlock(&_ka_global_lock);
			errno = ENOMEM;
			return NULL;
		}
		pthread_mutex_init(&a->lock, NULL);
		a->fork_fd = -1;
		a->next = ka_arenas;
		__atomic_store_n(&ka_arenas, a, __ATOMIC_RELEASE);
	}
	pthread_mutex_lock(&a->lock);
	a->fd = -1;
	a->err = 0;
	strcpy(a->path, path);
	a->gen = _ka_next_gen();
	a->tls = -1;
	for (i = 1; i < KA_TLS_ARENAS; i++) {
		if (!ka_tls_owner[i]) {
			ka_tls_owner[i] = a;
			a->tls = i;
			break;
		}
	}
	__atomic_store_n(&a->state, KA_ARENA_NEW, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&_ka_global_lock);
	return a;
}

void ka_close(struct ka_arena *arena)
{
	struct ka_arena *a = arena;
	struct ka_cache *caches[KA_SLOTS];
	unsigned int i, n = 0;

	if (!a)
		return;
	if (a->is_default) {
		errno = EINVAL;
		return;
	}
	if (_ka_opt.leakcheck)
		_ka_leak_report(a);
	pthread_mutex_lock(&_ka_global_lock);
	pthread_mutex_lock(&a->lock);
	/* Other threads' magazines of this arena go stale with the gen. */
	a->gen = _ka_next_gen();
	a->tcaches = NULL;
	if (a->tls >= 0)
		ka_tls_owner[a->tls] = NULL;
	a->tls = -1;
	if (a->base) {
		char *base = a->base;

		__atomic_store_n(&a->base, NULL, __ATOMIC_RELEASE);
		_ka_prim_unmap(base, a->win_bytes);
		_ka_pm_destroy(&a->pm);
	}
	if (a->fd >= 0)
		_ka_prim_close(a->fd);
	a->fd = -1;
	a->win_bytes = 0;
	for (i = 1; i < KA_SLOTS; i++)
		if (a->slots[i].kind == KA_SLOT_USER && a->slots[i].cache)
			caches[n++] = a->slots[i].cache;
	memset(a->slots, 0, sizeof(a->slots));
	memset(a->class_slot, 0, sizeof(a->class_slot));
	memset(a->aligned_slot, 0, sizeof(a->aligned_slot));
	memset(&a->stats, 0, sizeof(a->stats));
	/* Recyclable: see ka_open(). */
	a->err = EBADF;
	__atomic_store_n(&a->state, KA_ARENA_FAILED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&_ka_global_lock);
	for (i = 0; i < n; i++)
		_ka_meta_free(caches[i], sizeof(struct ka_cache));
}

struct ka_arena *ka_default_arena(void)
{
	int ret;

	_ka_init();
	ret = _ka_arena_ready(&_ka_default);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return &_ka_default;
}
