// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: fork.
 *
 * The kernel does not copy the window (VM_DONTCOPY), yet a child such as
 * a shell's runs on its parent's heap until it execs.  So just before the
 * fork every heap copies the window pages it owns into a memfd (pwrite,
 * which stops at a page the client no longer owns instead of faulting),
 * and the child maps that file privately where the window was: the child
 * sees the parent's heap as it was, as ordinary memory of its own.  It is
 * no karena memory any more: every heap of the child forgets its client
 * (its slots' cache ids, depots and block cache with it) and opens one of
 * its own at its next allocation (re-creating its caches), frees of the
 * parent's pointers are counted and ignored, and realloc() copies them
 * out (the parent's page map is kept to know their sizes).  If the copy
 * cannot be made the range is reserved PROT_NONE: touching the parent's
 * memory then faults.  Runs (run.c), outside the window, are copied to
 * memfds of their own and mapped the same way.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

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

/* Runs of the parent process, copied or reserved in a fork child. */
static struct ka_dead_run {
	char *base;
	size_t len;
} ka_dead_runs[KA_RUNS * 4];
static unsigned int ka_nr_dead_runs;

/* Write the pages @a owns to a memfd for the child; a->lock held. */
static void ka_fork_copy(struct ka_heap *a)
{
	size_t p, start, live_end = 0, page = a->info.page_size;
	struct ka_pagemap *pm = &a->pm;
	long n;
	int fd;

	a->fork_fd = -1;
	if (a->state != KA_HEAP_OPEN || !a->base)
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
		/* A stretch of pages to copy. */
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

/* Copy each live run of @a to a memfd of its own; runs lock held. */
static void ka_fork_copy_runs(struct ka_heap *a)
{
	size_t chunk = (size_t)a->info.page_size << a->info.max_order, len;
	struct ka_run *r;
	unsigned int i;

	for (i = 0; i < KA_RUNS; i++) {
		r = &a->runs.run[i];
		r->fork_fd = -1;
		if (!r->base || !r->live || a->state != KA_HEAP_OPEN)
			continue;
		len = (size_t)r->nr * chunk;
		r->fork_fd = _ka_prim_memfd(len);
		if (r->fork_fd >= 0 &&
		    _ka_prim_pwrite(r->fork_fd, r->base, len, 0) != (long)len) {
			_ka_prim_close(r->fork_fd);
			r->fork_fd = -1;
		}
	}
}

static void ka_atfork_prepare(void)
{
	struct ka_heap *a;

	pthread_mutex_lock(&_ka_global_lock);
	for (a = _ka_heaps; a; a = a->next) {
		pthread_mutex_lock(&a->lock);
		ka_fork_copy(a);
		pthread_mutex_lock(&a->runs.lock);
		ka_fork_copy_runs(a);
	}
}

static void ka_atfork_parent(void)
{
	struct ka_heap *a;
	unsigned int i;

	for (a = _ka_heaps; a; a = a->next) {
		for (i = 0; i < KA_RUNS; i++) {
			if (a->runs.run[i].fork_fd >= 0)
				_ka_prim_close(a->runs.run[i].fork_fd);
			a->runs.run[i].fork_fd = -1;
		}
		pthread_mutex_unlock(&a->runs.lock);
		if (a->fork_fd >= 0)
			_ka_prim_close(a->fork_fd);
		a->fork_fd = -1;
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&_ka_global_lock);
}

/* The child's copies of the parent's runs, as fork_copy's windows. */
static void ka_runs_forget(struct ka_heap *a)
{
	size_t chunk = (size_t)a->info.page_size << a->info.max_order, len;
	struct ka_run *r;
	unsigned int i;

	for (i = 0; i < KA_RUNS; i++) {
		r = &a->runs.run[i];
		if (!r->base || !r->live)
			continue;
		len = (size_t)r->nr * chunk;
		if ((r->fork_fd < 0 ||
		     _ka_prim_map_copy(r->fork_fd, r->base, len)) &&
		    !_ka_prim_reserve(r->base, len, true))
			len = 0;	/* someone else's now */
		if (r->fork_fd >= 0)
			_ka_prim_close(r->fork_fd);
		if (len && ka_nr_dead_runs < ARRAY_SIZE(ka_dead_runs)) {
			ka_dead_runs[ka_nr_dead_runs].base = r->base;
			ka_dead_runs[ka_nr_dead_runs++].len = len;
		}
	}
	_ka_runs_forget(a);
}

/* The child forgets the parent's client; see the head comment. */
static void ka_heap_forget(struct ka_heap *a)
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
		_ka_dev_close(a->fd);
	a->fd = -1;
	__atomic_store_n(&a->base, NULL, __ATOMIC_RELEASE);
	a->win_bytes = 0;
	a->tcaches = NULL;
	memset(&a->stats, 0, sizeof(a->stats));
	_ka_slots_forget(a);
	_ka_blocks_forget(&a->blocks);
	a->gen = _ka_next_gen();
	if (a->state == KA_HEAP_OPEN)
		__atomic_store_n(&a->state, KA_HEAP_NEW, __ATOMIC_RELEASE);
}

static void ka_atfork_child(void)
{
	struct ka_heap *a;

	_ka_meta_atfork_child();
	_ka_mag_atfork_child();
	for (a = _ka_heaps; a; a = a->next) {
		ka_runs_forget(a);
		ka_heap_forget(a);
	}
	pthread_mutex_init(&_ka_global_lock, NULL);
	_ka_trace_atfork_child();
}

/**
 * _ka_in_parent() - whether a pointer is in a window of the parent
 * process (in a fork child).
 * @ptr: any pointer.
 *
 * Return: true if it is.
 */
bool _ka_in_parent(const void *ptr)
{
	unsigned int i;

	for (i = 0; i < ka_nr_dead; i++)
		if ((const char *)ptr >= ka_dead[i].base &&
		    (const char *)ptr < ka_dead[i].base + ka_dead[i].len)
			return true;
	for (i = 0; i < ka_nr_dead_runs; i++)
		if ((const char *)ptr >= ka_dead_runs[i].base &&
		    (const char *)ptr < ka_dead_runs[i].base +
		    ka_dead_runs[i].len)
			return true;
	return false;
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
	for (i = 0; i < ka_nr_dead_runs; i++)
		if ((const char *)ptr == ka_dead_runs[i].base)
			return ka_dead_runs[i].len;
	return 0;
}

/**
 * _ka_fork_init() - register the fork handlers of the heaps.
 *
 * Context: once, from the library's constructor (init.c), before the
 * init lock's handlers.
 */
void _ka_fork_init(void)
{
	pthread_atfork(ka_atfork_prepare, ka_atfork_parent, ka_atfork_child);
}
