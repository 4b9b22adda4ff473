// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: object caches and page blocks, the kernel's own objects
 * with the library's checks in front.
 *
 * An object cache is a slot of kind KA_SLOT_USER.  Without debug flags
 * its objects go through the magazines like the size classes; with any
 * of KA_CACHE_DEBUG every allocation and free is a system call, so that
 * the kernel checks poison and red zones on each, and the library checks
 * the red zones at free before that.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static bool ka_name_ok(const char *name)
{
	size_t len, i;

	if (!name)
		return false;
	len = strlen(name);
	if (!len || len >= KA_NAME_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	/* The size classes' names are the library's. */
	return strncmp(name, "malloc-", 7) != 0;
}

struct ka_cache *ka_cache_create(struct ka_heap *heap, const char *name,
				 size_t size, size_t align,
				 unsigned int flags)
{
	struct ka_heap *a = _ka_heap_get(heap);
	struct ka_cache *c;
	int ret, slot;

	if (!ka_name_ok(name) || !size || size > UINT32_MAX ||
	    (align && !_ka_is_pow2(align)) || align > UINT32_MAX ||
	    (flags & ~(KA_CACHE_HWCACHE_ALIGN | KA_CACHE_DEBUG))) {
		errno = EINVAL;
		return NULL;
	}
	ret = _ka_heap_ready(a);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	c = _ka_meta_alloc(sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	slot = _ka_slot_add(a, KA_SLOT_USER, name, size, align, flags);
	if (slot < 0) {
		_ka_meta_free(c, sizeof(*c));
		errno = -slot;
		return NULL;
	}
	c->heap = a;
	c->slot = slot;
	a->slots[slot].cache = c;
	return c;
}

void *ka_cache_alloc(struct ka_cache *cache)
{
	struct ka_heap *a;
	void *p;
	int ret;

	if (!cache) {
		errno = EINVAL;
		return NULL;
	}
	a = cache->heap;
	ret = _ka_heap_ready(a);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	p = _ka_alloc_slot(a, cache->slot);
	if (!p) {
		if (errno != EINVAL)
			errno = ENOMEM;
		return NULL;
	}
	if (unlikely(_ka_tracing)) {
		_ka_track_add(a, p, a->slots[cache->slot].object_size,
			      __builtin_return_address(0));
		_ka_trace_alloc(__builtin_return_address(0), p,
				a->slots[cache->slot].object_size);
	}
	return p;
}

void ka_cache_free(struct ka_cache *cache, void *obj)
{
	if (!cache || !obj)
		return;
	_ka_free(obj, "ka_cache_free", __builtin_return_address(0), 0,
		 cache->slot);
}

int ka_cache_destroy(struct ka_cache *cache)
{
	struct ka_heap *a;
	int ret;

	if (!cache)
		return 0;
	a = cache->heap;
	if (_ka_slot_in_use(a, cache->slot)) {
		errno = EBUSY;
		return -1;
	}
	_ka_mag_drain(a, cache->slot);
	ret = _ka_slot_remove(a, cache->slot);
	if (ret) {
		errno = -ret;
		return -1;
	}
	_ka_meta_free(cache, sizeof(*cache));
	return 0;
}

size_t ka_cache_object_size(const struct ka_cache *cache)
{
	return cache ? cache->heap->slots[cache->slot].object_size : 0;
}

void *ka_pages_alloc(struct ka_heap *heap, unsigned int order)
{
	struct ka_heap *a = _ka_heap_get(heap);
	bool fresh;
	void *p;
	int ret;

	ret = _ka_heap_ready(a);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	if (order > a->info.max_order) {
		errno = EINVAL;
		return NULL;
	}
	p = _ka_block_alloc(a, order, &fresh);
	if (!p)
		return NULL;
	if (!fresh)	/* a kept block: zeroed as the kernel's are */
		memset(p, 0, (size_t)a->info.page_size << order);
	KA_STAT_ADD(a, mallocs, 1);
	if (unlikely(_ka_tracing)) {
		_ka_track_add(a, p, (size_t)a->info.page_size << order,
			      __builtin_return_address(0));
		_ka_trace_alloc(__builtin_return_address(0), p,
				(size_t)a->info.page_size << order);
	}
	return p;
}

void ka_pages_free(void *block)
{
	_ka_init();
	_ka_free(block, "ka_pages_free", __builtin_return_address(0), 0, -1);
}
