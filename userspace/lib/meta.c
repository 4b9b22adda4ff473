// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: memory for the library's own bookkeeping (tcaches, magazine
 * arrays, heaps, the leak table).  It never comes from malloc, which the
 * interposer is, but from anonymous mappings: power-of-two classes of 64
 * bytes to 64 KiB carved from 1 MiB chunks with a free list per class,
 * and a mapping of its own for anything larger.  Memory is zeroed.
 */
#include <string.h>

#include "internal.h"

#define KA_META_MIN_SHIFT	6
#define KA_META_MAX_SHIFT	16
#define KA_META_CHUNK		0x100000UL

/* A free piece, on its class's list. */
struct ka_meta_free {
	struct ka_meta_free *next;
};

/* Guards everything below. */
static int ka_meta_lock;
static struct ka_meta_free *ka_meta_lists[KA_META_MAX_SHIFT + 1];
static char *ka_meta_cur;
static size_t ka_meta_left;

static unsigned int ka_meta_shift(size_t size)
{
	unsigned int shift = KA_META_MIN_SHIFT;

	while ((1UL << shift) < size)
		shift++;
	return shift;
}

/**
 * _ka_meta_alloc() - zeroed bookkeeping memory.
 * @size: bytes.
 *
 * Context: Any thread; never calls malloc.
 * Return: the memory, or NULL.
 */
void *_ka_meta_alloc(size_t size)
{
	unsigned int shift = ka_meta_shift(size);
	struct ka_meta_free *f;
	void *p = NULL;

	if (shift > KA_META_MAX_SHIFT)
		return _ka_prim_anon(size);
	_ka_spin_lock(&ka_meta_lock);
	f = ka_meta_lists[shift];
	if (f) {
		ka_meta_lists[shift] = f->next;
		p = f;
	} else {
		if (ka_meta_left < (1UL << shift)) {
			/* The tail of the old chunk is lost: a few KiB at most. */
			ka_meta_cur = _ka_prim_anon(KA_META_CHUNK);
			ka_meta_left = ka_meta_cur ? KA_META_CHUNK : 0;
		}
		if (ka_meta_left >= (1UL << shift)) {
			p = ka_meta_cur;
			ka_meta_cur += 1UL << shift;
			ka_meta_left -= 1UL << shift;
		}
	}
	_ka_spin_unlock(&ka_meta_lock);
	if (p && f)
		memset(p, 0, 1UL << shift);
	return p;
}

/**
 * _ka_meta_free() - give bookkeeping memory back.
 * @p: from _ka_meta_alloc(), or NULL.
 * @size: the size it was asked with.
 */
void _ka_meta_free(void *p, size_t size)
{
	unsigned int shift = ka_meta_shift(size);
	struct ka_meta_free *f = p;

	if (!p)
		return;
	if (shift > KA_META_MAX_SHIFT) {
		_ka_prim_unmap(p, size);
		return;
	}
	_ka_spin_lock(&ka_meta_lock);
	f->next = ka_meta_lists[shift];
	ka_meta_lists[shift] = f;
	_ka_spin_unlock(&ka_meta_lock);
}

/**
 * _ka_meta_atfork_child() - the lock may have been held by a thread that
 * does not exist in the child.
 */
void _ka_meta_atfork_child(void)
{
	ka_meta_lock = 0;
}
