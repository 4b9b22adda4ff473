// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: heaps.
 *
 * A heap is one client of /dev/karena: the default one, which the
 * malloc family uses, and any opened with ka_open().  It opens its
 * client at its first allocation (window.c), creates its caches on
 * first use (slot.c), and forgets its client in a fork child (fork.c).
 *
 * Heap structs are never freed, only recycled, so that finding the heap
 * of a pointer needs no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* === Data === */

pthread_mutex_t _ka_global_lock = PTHREAD_MUTEX_INITIALIZER;

struct ka_heap _ka_default = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
	.fork_fd = -1,
	.tls = 0,
	.is_default = true,
};

struct ka_heap *_ka_heaps = &_ka_default;
/* Heaps with magazines, by their tls index (_ka_global_lock). */
static struct ka_heap *ka_tls_owner[KA_TLS_HEAPS] = { &_ka_default };
/* Source of heap gens (atomic). */
static __u64 ka_gen_counter;

/**
 * _ka_next_gen() - a gen no heap had before.
 *
 * Return: the gen.
 */
__u64 _ka_next_gen(void)
{
	return __atomic_add_fetch(&ka_gen_counter, 1, __ATOMIC_RELAXED);
}

/* === Finding and opening === */

/**
 * _ka_heap_ready() - make sure a heap has its client and window.
 * @a: the heap.
 *
 * Context: Any thread; takes a->lock the first time.
 * Return: 0, or -errno of the failed open (remembered: the default heap
 * tries once per process).
 */
int _ka_heap_ready(struct ka_heap *a)
{
	int ret;

	if (likely(__atomic_load_n(&a->state, __ATOMIC_ACQUIRE) ==
		   KA_HEAP_OPEN))
		return 0;
	_ka_init();
	pthread_mutex_lock(&a->lock);
	if (a->state == KA_HEAP_NEW) {
		ret = _ka_window_open(a);
		if (ret) {
			a->err = -ret;
			a->state = KA_HEAP_FAILED;
		} else {
			__atomic_store_n(&a->state, KA_HEAP_OPEN,
					 __ATOMIC_RELEASE);
		}
	}
	ret = a->state == KA_HEAP_OPEN ? 0 : -a->err;
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/**
 * _ka_heap_get() - a heap argument, NULL meaning the default one.
 * @heap: the argument.
 *
 * Return: the heap (not necessarily open).
 */
struct ka_heap *_ka_heap_get(struct ka_heap *heap)
{
	_ka_init();
	return heap ?: &_ka_default;
}

/**
 * _ka_heap_of() - the heap whose window holds a pointer.
 * @ptr: any pointer.
 * @parent: set when @ptr is in a window of the parent process.
 *
 * Context: Any thread, no lock.
 * Return: the heap, or NULL.
 */
struct ka_heap *_ka_heap_of(const void *ptr, bool *parent)
{
	struct ka_heap *a;

	*parent = false;
	if (likely(_ka_in_window(&_ka_default, ptr)))
		return &_ka_default;
	for (a = __atomic_load_n(&_ka_heaps, __ATOMIC_ACQUIRE); a;
	     a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE))
		if (a != &_ka_default && _ka_in_window(a, ptr))
			return a;
	*parent = _ka_in_parent(ptr);
	return NULL;
}

/* === Public === */

struct ka_heap *ka_open(const char *path)
{
	struct ka_heap *a;
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
	fd = _ka_dev_open(path);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	_ka_dev_close(fd);

	pthread_mutex_lock(&_ka_global_lock);
	for (a = _ka_heaps; a; a = a->next)
		if (!a->is_default && a->state == KA_HEAP_FAILED &&
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
		pthread_mutex_init(&a->blocks.lock, NULL);
		a->next = _ka_heaps;
		__atomic_store_n(&_ka_heaps, a, __ATOMIC_RELEASE);
	}
	pthread_mutex_lock(&a->lock);
	a->fd = -1;
	a->err = 0;
	strcpy(a->path, path);
	a->gen = _ka_next_gen();
	a->tls = -1;
	for (i = 1; i < KA_TLS_HEAPS; i++) {
		if (!ka_tls_owner[i]) {
			ka_tls_owner[i] = a;
			a->tls = i;
			break;
		}
	}
	__atomic_store_n(&a->state, KA_HEAP_NEW, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&_ka_global_lock);
	return a;
}

void ka_close(struct ka_heap *heap)
{
	struct ka_heap *a = heap;
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
	/* Other threads' magazines of this heap go stale with the gen. */
	a->gen = _ka_next_gen();
	a->tcaches = NULL;
	if (a->tls >= 0)
		ka_tls_owner[a->tls] = NULL;
	a->tls = -1;
	_ka_runs_close(a);
	_ka_window_close(a);
	for (i = 1; i < KA_SLOTS; i++)
		if (a->slots[i].kind == KA_SLOT_USER && a->slots[i].cache)
			caches[n++] = a->slots[i].cache;
	_ka_slots_clear(a);
	_ka_blocks_forget(&a->blocks);
	memset(&a->stats, 0, sizeof(a->stats));
	/* Recyclable: see ka_open(). */
	a->err = EBADF;
	__atomic_store_n(&a->state, KA_HEAP_FAILED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&_ka_global_lock);
	for (i = 0; i < n; i++)
		_ka_meta_free(caches[i], sizeof(struct ka_cache));
}

struct ka_heap *ka_default_heap(void)
{
	int ret;

	_ka_init();
	ret = _ka_heap_ready(&_ka_default);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return &_ka_default;
}
