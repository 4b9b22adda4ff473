// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: a heap's window.
 *
 * A heap opens its client lazily, at the first allocation: INFO, then
 * the window, mapped at an address aligned to the largest block
 * (PAGE_SIZE << max_order) by reserving that much more address space
 * first, so that a block aligned to its size in the window is aligned
 * in memory too:
 *
 *   reservation  |..head..|============ window ============|..tail..|
 *                ^ any    ^ aligned: MAP_FIXED device mapping       ^
 *                           (head and tail are given back)
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Map the window at an address aligned to the largest block. */
static int ka_map_window(struct ka_heap *a)
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
	ret = _ka_dev_map_window(a->fd, base, len, 0);
	if (ret) {
		_ka_prim_unmap(base, len);
		return ret;
	}
	a->win_bytes = len;
	__atomic_store_n(&a->base, base, __ATOMIC_RELEASE);
	return 0;
}

/**
 * _ka_window_open() - open a heap's client and map its window.
 * @a: the heap, with no client.
 *
 * INFO, then the window (see the head comment), then the page map sized
 * for it.
 *
 * Context: a->lock held.
 * Return: 0, or -errno with nothing left open.
 */
int _ka_window_open(struct ka_heap *a)
{
	int ret, fd;

	fd = _ka_dev_open(a->path[0] ? a->path : _ka_opt.device);
	if (fd < 0)
		return fd;
	a->fd = fd;
	memset(&a->info, 0, sizeof(a->info));
	ret = _ka_dev_ioctl(fd, KARENA_IOC_INFO, &a->info);
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
	_ka_dev_close(fd);
	a->fd = -1;
	return ret;
}

/**
 * _ka_window_close() - unmap a heap's window and close its client.
 * @a: the heap.
 *
 * Everything the client owned goes back to the kernel with the close.
 *
 * Context: a->lock held; no other thread may use the heap.
 */
void _ka_window_close(struct ka_heap *a)
{
	if (a->base) {
		char *base = a->base;

		__atomic_store_n(&a->base, NULL, __ATOMIC_RELEASE);
		_ka_prim_unmap(base, a->win_bytes);
		_ka_pm_destroy(&a->pm);
	}
	if (a->fd >= 0)
		_ka_dev_close(a->fd);
	a->fd = -1;
	a->win_bytes = 0;
}
