// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: a heap's slots, the kernel user caches behind its size
 * classes, aligned classes and object caches.
 *
 * A class's cache is created in the kernel at the class's first use, an
 * object cache's at ka_cache_create(); after a fork every cache is
 * created again in the child's new client at its first use there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Objects per refill and flush: KARENA_BATCH, at most ~128 KiB of them. */
static __u32 ka_slot_batch(const struct ka_heap *a, const struct ka_slot *s)
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

/* Create a slot's kernel cache; a->lock is held and the heap open. */
static int ka_slot_create_locked(struct ka_heap *a, struct ka_slot *s)
{
	struct karena_cache_create cc;
	int ret;

	memset(&cc, 0, sizeof(cc));
	cc.flags = s->flags;
	cc.object_size = s->object_size;
	cc.align = s->align;
	memcpy(cc.name, s->name, sizeof(cc.name));
	ret = _ka_dev_ioctl(a->fd, KARENA_IOC_CACHE_CREATE, &cc);
	if (ret)
		return ret;
	s->stride = cc.object_stride;
	s->object_offset = cc.object_offset;
	s->slab_bytes = cc.slab_bytes;
	s->batch = ka_slot_batch(a, s);
	s->fill = s->batch / 8 ? s->batch / 8 : 1;
	KA_STAT_ADD(a, caches, 1);
	__atomic_store_n(&s->id, cc.cache_id, __ATOMIC_RELEASE);
	return 0;
}

/**
 * _ka_slot_ready() - make sure a slot's cache exists in this client.
 * @a: the heap, open.
 * @slot: the slot.
 *
 * After a fork the caches of the parent's client are re-created here.
 *
 * Return: 0, or -errno.
 */
int _ka_slot_ready(struct ka_heap *a, unsigned int slot)
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
 * @a: the heap, open.
 * @kind: enum ka_slot_kind.
 * @name: the kernel cache name.
 * @size: object size.
 * @align: alignment (0: the kernel's default).
 * @flags: KA_CACHE_* flags.
 *
 * Return: the slot, or -errno (EEXIST for a name in use, ENOMEM when
 * every slot or the kernel's max_caches is taken).
 */
int _ka_slot_add(struct ka_heap *a, int kind, const char *name,
		 __u32 size, __u32 align, __u32 flags)
{
	struct ka_slot *s;
	unsigned int i;
	__u64 stale;
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
	_ka_depot_destroy(&s->depot);
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->depot.lock, NULL);
	/*
	 * A slot used before: the live threads' shares of its in_use summed
	 * to 0 with the slot's own when it was removed (nothing was out), but
	 * each may not be 0 (an object allocated by one thread and freed by
	 * another).  They stay with the threads, who count the heap's bytes
	 * from them at the slot's new size (_ka_slot_remove() took them out
	 * at the old one); this compensates, in the slot and in the heap's
	 * bytes.
	 */
	stale = _ka_mag_in_use(a, i);
	s->in_use = -stale;
	KA_STAT_ADD(a, bytes_in_use, -stale * size);
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
 * @a: the heap.
 * @slot: the slot; its objects should all be back in the kernel.
 *
 * Context: a->lock not held.
 * Return: 0, or -EBUSY when the kernel still has objects of it out (the
 * slot stays).
 */
int _ka_slot_remove(struct ka_heap *a, unsigned int slot)
{
	struct ka_slot *s = &a->slots[slot];
	struct karena_cache_destroy cd;
	int ret = 0;

	pthread_mutex_lock(&a->lock);
	if (s->id && a->fd >= 0) {
		memset(&cd, 0, sizeof(cd));
		cd.cache_id = s->id;
		ret = _ka_dev_ioctl(a->fd, KARENA_IOC_CACHE_DESTROY, &cd);
		if (ret == -ENOENT)
			ret = 0;
	}
	if (!ret) {
		/* The threads' stale shares now count 0 bytes: see above. */
		KA_STAT_ADD(a, bytes_in_use,
			    _ka_mag_in_use(a, slot) * s->object_size);
		_ka_depot_destroy(&s->depot);
		memset(s, 0, sizeof(*s));
		pthread_mutex_init(&s->depot.lock, NULL);
		__atomic_fetch_sub(&a->stats.caches, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/**
 * _ka_class_slot() - the slot of a size class, created on first use.
 * @a: the heap, open.
 * @class: the class.
 *
 * Return: the slot, or 0 with errno set.
 */
unsigned int _ka_class_slot(struct ka_heap *a, unsigned int class)
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
 * @a: the heap, open.
 * @shift: 5 (32 bytes) to the page shift.
 *
 * Return: the slot, or 0 with errno set.
 */
unsigned int _ka_aligned_slot(struct ka_heap *a, unsigned int shift)
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

/**
 * _ka_slots_forget() - forget the caches of a client that is gone (a
 * fork child): they are created again in the next client on first use.
 * @a: the heap.
 *
 * The slots keep what they are (name, size, flags); their ids, counters
 * and depots' objects belonged to the old client.
 *
 * Context: the fork child, single-threaded.
 */
void _ka_slots_forget(struct ka_heap *a)
{
	unsigned int i;

	for (i = 1; i < KA_SLOTS; i++) {
		a->slots[i].id = 0;
		a->slots[i].refills = 0;
		a->slots[i].flushes = 0;
		a->slots[i].in_use = 0;
		_ka_depot_forget(&a->slots[i].depot);
	}
}

/**
 * _ka_slots_clear() - drop every slot of a closed heap.
 * @a: the heap, its client closed.
 *
 * Context: a->lock held.
 */
void _ka_slots_clear(struct ka_heap *a)
{
	unsigned int i;

	for (i = 1; i < KA_SLOTS; i++) {
		_ka_depot_destroy(&a->slots[i].depot);
		memset(&a->slots[i], 0, sizeof(a->slots[i]));
		pthread_mutex_init(&a->slots[i].depot.lock, NULL);
	}
	memset(a->class_slot, 0, sizeof(a->class_slot));
	memset(a->aligned_slot, 0, sizeof(a->aligned_slot));
}
