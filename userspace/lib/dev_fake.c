// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: a fake /dev/karena for the host tests only (make asan-test,
 * make bench-host).  It implements dev.c's four calls over anonymous
 * memory with the ioctl semantics of uapi/karena.h, so that the
 * library's logic (size classes, page map, bitmaps, magazines, misuse
 * detection, statistics) runs under ASan and UBSan where no module can
 * be loaded.  It is never part of libkarena: the real tests use the real
 * device in the VM.
 *
 * What it models: one buddy allocator over each client's window (offsets
 * aligned to their block size), slabs of user caches cut from it with the
 * kernel's slot layout (red zones 0xcc while allocated, 0xbb while free),
 * checked frees (EINVAL / ENOENT, stopping at the first bad entry), the
 * quota, STATS, and VM_DONTCOPY (MADV_DONTFORK on the window).  What it
 * does not: poison, slab release, several processes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define FK_PAGE		4096UL
#define FK_SHIFT	12
#define FK_MAX_ORDER	10
#define FK_QUOTA	(32UL << 20)
#define FK_WINDOW	(2 * FK_QUOTA)
#define FK_PAGES	(FK_WINDOW / FK_PAGE)
#define FK_CLIENTS	8
#define FK_CACHES	64
#define FK_FD_BASE	1000

enum { FK_FREE, FK_BUDDY, FK_SLAB, FK_BLOCK, FK_TAIL };

struct fk_cache {
	__u32 id;
	__u32 size, align, flags, stride, red_left, inuse, order, per_slab;
	__u64 *free;		/* free object offsets */
	size_t nr_free, cap_free;
	__u64 objects;
	__u64 total;		/* objects in all slabs */
};

struct fk_client {
	bool open;
	char *win;		/* where the window is mapped, or NULL */
	__u8 state[FK_PAGES];
	__u8 order[FK_PAGES];
	__u16 cache[FK_PAGES];
	__u64 slab_base[FK_PAGES];
	__u64 *free_list[FK_MAX_ORDER + 1];
	size_t nr_free[FK_MAX_ORDER + 1];
	__u8 *live;		/* one byte per 8-byte grain */
	struct fk_cache caches[FK_CACHES + 1];
	struct karena_stats st;
};

static struct fk_client *fk_clients[FK_CLIENTS];
/* The kernel serialises a client's commands; so does the fake. */
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;

static struct fk_client *fk_get(int fd)
{
	unsigned int i = fd - FK_FD_BASE;

	if (fd < FK_FD_BASE || i >= FK_CLIENTS || !fk_clients[i] ||
	    !fk_clients[i]->open)
		return NULL;
	return fk_clients[i];
}

/* === Buddy over the window === */

static void fk_push(struct fk_client *c, unsigned int o, __u64 off)
{
	c->free_list[o][c->nr_free[o]++] = off;
	c->state[off >> FK_SHIFT] = FK_BUDDY;
	c->order[off >> FK_SHIFT] = o;
}

static bool fk_take(struct fk_client *c, unsigned int o, __u64 off)
{
	size_t i;

	for (i = 0; i < c->nr_free[o]; i++) {
		if (c->free_list[o][i] == off) {
			c->free_list[o][i] = c->free_list[o][--c->nr_free[o]];
			c->state[off >> FK_SHIFT] = FK_FREE;
			return true;
		}
	}
	return false;
}

static int fk_buddy_alloc(struct fk_client *c, unsigned int order,
			  __u64 *off)
{
	unsigned int o;
	__u64 b;

	if ((c->st.bytes + (FK_PAGE << order)) > FK_QUOTA) {
		c->st.quota_failures++;
		return -ENOMEM;
	}
	for (o = order; o <= FK_MAX_ORDER && !c->nr_free[o]; o++)
		;
	if (o > FK_MAX_ORDER)
		return -ENOMEM;
	b = c->free_list[o][--c->nr_free[o]];
	c->state[b >> FK_SHIFT] = FK_FREE;
	while (o > order) {
		o--;
		fk_push(c, o, b + (FK_PAGE << o));
	}
	c->st.bytes += FK_PAGE << order;
	*off = b;
	return 0;
}

static void fk_buddy_free(struct fk_client *c, __u64 off, unsigned int order)
{
	__u64 buddy;

	c->st.bytes -= FK_PAGE << order;
	/* Zap: the real device unmaps pages that leave the client. */
	memset(c->win + off, 0, FK_PAGE << order);
	while (order < FK_MAX_ORDER) {
		buddy = off ^ (FK_PAGE << order);
		if (c->state[buddy >> FK_SHIFT] != FK_BUDDY ||
		    c->order[buddy >> FK_SHIFT] != order ||
		    !fk_take(c, order, buddy))
			break;
		off &= ~(FK_PAGE << order);
		order++;
	}
	fk_push(c, order, off);
}

/* === Commands === */

static int fk_cache_create(struct fk_client *c, struct karena_cache_create *cc)
{
	struct fk_cache *k;
	__u32 align, i;

	if (cc->flags & ~KARENA_CACHE_FLAGS || !cc->object_size ||
	    cc->object_size > 16384 || cc->cache_id)
		return -EINVAL;
	if (cc->align && (!_ka_is_pow2(cc->align) || cc->align > FK_PAGE))
		return -EINVAL;
	for (i = 1; i <= FK_CACHES && c->caches[i].id; i++)
		;
	if (i > FK_CACHES)
		return -ENOMEM;
	k = &c->caches[i];
	memset(k, 0, sizeof(*k));
	align = cc->align > 8 ? cc->align : 8;
	k->size = cc->object_size;
	k->flags = cc->flags;
	k->red_left = (cc->flags & KARENA_CACHE_REDZONE) ? _ka_align_up(8U, align) : 0;
	k->inuse = _ka_align_up(k->red_left + k->size, 8U) +
		   ((cc->flags & KARENA_CACHE_REDZONE) ? 8 : 0);
	k->stride = _ka_align_up(k->inuse, align);
	for (k->order = 0; k->order < FK_MAX_ORDER &&
	     (FK_PAGE << k->order) / k->stride < 4; k->order++)
		;
	k->per_slab = (FK_PAGE << k->order) / k->stride;
	k->id = i;
	c->st.nr_caches++;
	cc->cache_id = i;
	cc->object_stride = k->stride;
	cc->slab_bytes = FK_PAGE << k->order;
	cc->objs_per_slab = k->per_slab;
	cc->object_offset = k->red_left;
	return 0;
}

static void fk_zones(struct fk_client *c, struct fk_cache *k, __u64 obj,
		     __u8 val)
{
	if (!k->red_left)
		return;
	memset(c->win + obj - k->red_left, val, k->red_left);
	memset(c->win + obj + k->size, val, k->inuse - k->red_left - k->size);
}

static int fk_new_slab(struct fk_client *c, struct fk_cache *k)
{
	__u64 base, p;
	__u32 i;
	int ret;

	ret = fk_buddy_alloc(c, k->order, &base);
	if (ret)
		return ret;
	c->st.slab_bytes += FK_PAGE << k->order;
	for (p = 0; p < (1UL << k->order); p++) {
		c->state[(base >> FK_SHIFT) + p] = FK_SLAB;
		c->cache[(base >> FK_SHIFT) + p] = k->id;
		c->slab_base[(base >> FK_SHIFT) + p] = base;
	}
	k->total += k->per_slab;
	if (k->total > k->cap_free) {
		k->cap_free = 2 * k->total;
		k->free = realloc(k->free, k->cap_free * sizeof(*k->free));
	}
	for (i = k->per_slab; i-- > 0; ) {
		__u64 obj = base + i * k->stride + k->red_left;

		k->free[k->nr_free++] = obj;
		fk_zones(c, k, obj, 0xbb);
	}
	return 0;
}

static int fk_alloc_bulk(struct fk_client *c, struct karena_bulk *b)
{
	__u64 *offs = (__u64 *)(uintptr_t)b->offsets;
	struct fk_cache *k;
	__u32 n = 0;

	if (b->flags || b->done || !b->count || b->count > KARENA_MAX_BATCH)
		return -EINVAL;
	if (!b->cache_id || b->cache_id > FK_CACHES ||
	    !c->caches[b->cache_id].id)
		return -ENOENT;
	k = &c->caches[b->cache_id];
	while (n < b->count) {
		if (!k->nr_free && fk_new_slab(c, k))
			break;
		offs[n] = k->free[--k->nr_free];
		c->live[offs[n] >> 3] = 1;
		fk_zones(c, k, offs[n], 0xcc);
		n++;
	}
	if (!n)
		return -ENOMEM;
	k->objects += n;
	c->st.objects += n;
	c->st.objects_allocated += n;
	c->st.alloc_calls++;
	b->done = n;
	return 0;
}

static int fk_free_bulk(struct fk_client *c, struct karena_bulk *b)
{
	__u64 *offs = (__u64 *)(uintptr_t)b->offsets;
	struct fk_cache *k;
	__u32 i;
	int ret = 0;

	if (b->flags || b->done || !b->count || b->count > KARENA_MAX_BATCH)
		return -EINVAL;
	if (!b->cache_id || b->cache_id > FK_CACHES ||
	    !c->caches[b->cache_id].id)
		return -ENOENT;
	k = &c->caches[b->cache_id];
	for (i = 0; i < b->count; i++) {
		__u64 off = offs[i], pg = off >> FK_SHIFT;

		if (off >= FK_WINDOW || c->state[pg] != FK_SLAB ||
		    c->cache[pg] != k->id || off < k->red_left ||
		    (off - k->red_left - c->slab_base[pg]) % k->stride) {
			ret = -EINVAL;
			break;
		}
		if (!c->live[off >> 3]) {
			ret = -ENOENT;
			break;
		}
		c->live[off >> 3] = 0;
		fk_zones(c, k, off, 0xbb);
		k->free[k->nr_free++] = off;
	}
	k->objects -= i;
	c->st.objects -= i;
	c->st.objects_freed += i;
	if (ret)
		c->st.bad_frees++;
	else
		c->st.free_calls++;
	b->done = i;
	return ret;
}

static int fk_pages_alloc(struct fk_client *c, struct karena_pages *p)
{
	__u64 off, i;
	int ret;

	if (p->flags || p->offset || p->order > FK_MAX_ORDER)
		return -EINVAL;
	ret = fk_buddy_alloc(c, p->order, &off);
	if (ret)
		return ret;
	c->state[off >> FK_SHIFT] = FK_BLOCK;
	c->order[off >> FK_SHIFT] = p->order;
	for (i = 1; i < (1UL << p->order); i++)
		c->state[(off >> FK_SHIFT) + i] = FK_TAIL;
	c->st.block_bytes += FK_PAGE << p->order;
	c->st.alloc_calls++;
	p->offset = off;
	return 0;
}

static int fk_pages_free(struct fk_client *c, struct karena_pages *p)
{
	__u64 pg = p->offset >> FK_SHIFT, i;
	unsigned int order;

	if (p->offset >= FK_WINDOW || (p->offset & (FK_PAGE - 1)) ||
	    c->state[pg] != FK_BLOCK) {
		c->st.bad_frees++;
		return -EINVAL;
	}
	order = c->order[pg];
	for (i = 0; i < (1UL << order); i++)
		c->state[pg + i] = FK_FREE;
	c->st.block_bytes -= FK_PAGE << order;
	c->st.free_calls++;
	fk_buddy_free(c, p->offset, order);
	p->order = order;
	return 0;
}

/* === The device calls === */

int _ka_dev_open(const char *path)
{
	struct fk_client *c;
	unsigned int i, o;
	__u64 off;

	if (strcmp(path, KA_DEFAULT_DEVICE))
		return -ENOENT;
	for (i = 0; i < FK_CLIENTS && fk_clients[i] && fk_clients[i]->open; i++)
		;
	if (i == FK_CLIENTS)
		return -EMFILE;
	c = fk_clients[i];
	if (c)
		memset(c, 0, sizeof(*c));
	else
		c = calloc(1, sizeof(*c));
	fk_clients[i] = c;
	c->open = true;
	c->live = calloc(FK_WINDOW >> 3, 1);
	for (o = 0; o <= FK_MAX_ORDER; o++)
		c->free_list[o] = calloc(FK_PAGES, sizeof(__u64));
	for (off = 0; off < FK_WINDOW; off += FK_PAGE << FK_MAX_ORDER)
		fk_push(c, FK_MAX_ORDER, off);
	return FK_FD_BASE + i;
}

void _ka_dev_close(int fd)
{
	struct fk_client *c = fk_get(fd);
	unsigned int o, i;

	if (!c)
		return;
	c->open = false;
	free(c->live);
	for (o = 0; o <= FK_MAX_ORDER; o++)
		free(c->free_list[o]);
	for (i = 0; i <= FK_CACHES; i++)
		free(c->caches[i].free);
}

static int fk_ioctl(int fd, unsigned long cmd, void *arg);

int _ka_dev_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	pthread_mutex_lock(&fk_lock);
	ret = fk_ioctl(fd, cmd, arg);
	pthread_mutex_unlock(&fk_lock);
	return ret;
}

static int fk_ioctl(int fd, unsigned long cmd, void *arg)
{
	struct fk_client *c = fk_get(fd);
	struct karena_info *info = arg;
	struct karena_cache_destroy *cd = arg;

	if (!c)
		return -EBADF;
	switch (cmd) {
	case KARENA_IOC_INFO:
		info->abi_version = KARENA_ABI_VERSION;
		info->page_size = FK_PAGE;
		info->max_order = FK_MAX_ORDER;
		info->max_batch = KARENA_MAX_BATCH;
		info->max_object_size = 16384;
		info->max_caches = FK_CACHES;
		info->window_bytes = FK_WINDOW;
		info->quota_bytes = FK_QUOTA;
		return 0;
	case KARENA_IOC_CACHE_CREATE:
		return fk_cache_create(c, arg);
	case KARENA_IOC_CACHE_DESTROY:
		if (!cd->cache_id || cd->cache_id > FK_CACHES ||
		    !c->caches[cd->cache_id].id)
			return -ENOENT;
		if (c->caches[cd->cache_id].objects)
			return -EBUSY;
		free(c->caches[cd->cache_id].free);
		memset(&c->caches[cd->cache_id], 0, sizeof(struct fk_cache));
		c->st.nr_caches--;
		return 0;
	case KARENA_IOC_ALLOC_BULK:
		return fk_alloc_bulk(c, arg);
	case KARENA_IOC_FREE_BULK:
		return fk_free_bulk(c, arg);
	case KARENA_IOC_PAGES_ALLOC:
		return fk_pages_alloc(c, arg);
	case KARENA_IOC_PAGES_FREE:
		return fk_pages_free(c, arg);
	case KARENA_IOC_STATS:
		memcpy(arg, &c->st, sizeof(c->st));
		return 0;
	}
	return -ENOTTY;
}

int _ka_dev_map_window(int fd, void *addr, size_t len, __u64 off)
{
	struct fk_client *c = fk_get(fd);
	void *p;

	if (!c || off > FK_WINDOW || len > FK_WINDOW - off)
		return -EINVAL;
	if (off) {
		/* Part of the window again: an alias of its shared pages. */
		if (!c->win)
			return -EINVAL;
		p = mremap(c->win + off, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   addr);
		return p == MAP_FAILED ? -errno : 0;
	}
	p = mmap(addr, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* The device's window is VM_DONTCOPY. */
	madvise(p, len, MADV_DONTFORK);
	c->win = p;
	return 0;
}
