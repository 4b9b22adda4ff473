// SPDX-License-Identifier: GPL-2.0
/*
 * karena: user caches, the slab caches of /dev/karena clients.
 *
 * A user cache is a slab cache of the slab layer created with
 * KA_CACHE_USER: off-slab layout (no metadata in its pages), zeroed slab
 * pages marked KA_PAGE_USER, no magazines, every free checked against the
 * slab's allocation bitmap.  Its owner hooks tie its slabs to the client:
 *
 *   slab_alloc    charge the slab to the client's quotas and give it a
 *                 place in the client's window;
 *   slab_release  take it out of the window (unmapping it from every
 *                 mapping) and uncharge it, before the slab layer returns
 *                 the pages to the buddy layer.
 *
 * Both run inside the client's own commands, which hold client->lock.
 *
 * Objects of a poisoned cache are handed out zeroed (after the slab
 * layer checked their poison), so that a client never sees the poison
 * pattern as data; objects of other caches are zero on a fresh slab and
 * hold what the client itself left in them when reused.
 *
 * Objects cross the boundary as window offsets.  An object's offset is
 * its slab's window offset plus its offset in the slab; an offset from
 * userspace is turned back into an object only through the client's own
 * window and only if the page belongs to a slab of the named cache; the
 * slab layer then checks that it is the start of a live object.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "client.h"
#include "internal.h"
#include "slab.h"

/**
 * struct kdev_ucache - one user cache of a client.
 * @cache: the slab layer's cache.
 * @client: the owning client.
 * @id: the cache id userspace uses.
 * @objects: objects allocated (client->lock).
 * @slabs: head page pfn -> xa_mk_value(window page offset) of each slab
 *	(client->lock).
 * @name: the name userspace gave.
 */
struct kdev_ucache {
	struct ka_cache *cache;
	struct kdev_client *client;
	u32 id;
	unsigned long objects;
	struct xarray slabs;
	char name[KARENA_NAME_LEN];
};

/* The uapi's cache flags are the slab layer's, bit for bit. */
static_assert(KARENA_CACHE_HWCACHE_ALIGN == KA_CACHE_HWCACHE_ALIGN);
static_assert(KARENA_CACHE_POISON == KA_CACHE_POISON);
static_assert(KARENA_CACHE_RED_ZONE == KA_CACHE_RED_ZONE);
static_assert(KARENA_CACHE_STORE_USER == KA_CACHE_STORE_USER);
static_assert(KARENA_CACHE_CONSISTENCY_CHECKS == KA_CACHE_CONSISTENCY_CHECKS);
static_assert(KDEV_UCACHE_MAX_OBJECT <= KA_CACHE_MAX_SIZE);

static int kdev_ucache_slab_alloc(struct ka_cache *cache, struct page *head,
				  unsigned int order)
{
	struct kdev_ucache *uc = ka_cache_owner(cache);
	struct kdev_client *client = uc->client;
	unsigned long bytes = PAGE_SIZE << order, pgoff;
	int ret;

	lockdep_assert_held(&client->lock);
	ret = kdev_client_charge(client, bytes);
	if (ret)
		return ret;
	ret = kdev_window_map(client, head, order, &pgoff);
	if (ret)
		goto err_uncharge;
	ret = xa_err(xa_store(&uc->slabs, page_to_pfn(head),
			      xa_mk_value(pgoff), GFP_KERNEL));
	if (ret)
		goto err_unmap;
	client->slab_bytes += bytes;
	return 0;

err_unmap:
	kdev_window_unmap(client, pgoff, order);
err_uncharge:
	kdev_client_uncharge(client, bytes);
	return ret;
}

static void kdev_ucache_slab_release(struct ka_cache *cache,
				     struct page *head, unsigned int order)
{
	struct kdev_ucache *uc = ka_cache_owner(cache);
	struct kdev_client *client = uc->client;
	unsigned long bytes = PAGE_SIZE << order;
	void *entry;

	lockdep_assert_held(&client->lock);
	entry = xa_erase(&uc->slabs, page_to_pfn(head));
	if (WARN_ON_ONCE(!entry))
		return;
	kdev_window_unmap(client, xa_to_value(entry), order);
	client->slab_bytes -= bytes;
	kdev_client_uncharge(client, bytes);
}

static const struct ka_cache_ops kdev_ucache_ops = {
	.slab_alloc = kdev_ucache_slab_alloc,
	.slab_release = kdev_ucache_slab_release,
};

/* Window offset of an object of @uc; the caller holds client->lock. */
static u64 kdev_ucache_obj_offset(struct kdev_ucache *uc, void *obj)
{
	struct page *head;
	void *entry;

	if (WARN_ON_ONCE(ka_addr_cache(ka_global_arena, obj, &head) != uc->cache))
		return U64_MAX;
	entry = xa_load(&uc->slabs, page_to_pfn(head));
	return ((u64)xa_to_value(entry) << PAGE_SHIFT) +
	       (obj - page_address(head));
}

/*
 * The object a window offset names, if that offset is in a slab of @uc;
 * whether it is the start of a live object is for the slab layer to say.
 * The caller holds client->lock.
 */
static void *kdev_ucache_offset_obj(struct kdev_ucache *uc, u64 offset)
{
	struct kdev_client *client = uc->client;
	struct page *page;
	void *addr;

	if (offset >> PAGE_SHIFT >= client->window_nr)
		return NULL;
	page = kdev_window_lookup(client, offset >> PAGE_SHIFT);
	if (!page)
		return NULL;
	addr = page_address(page) + (offset & ~PAGE_MASK);
	return ka_addr_cache(ka_global_arena, addr, NULL) == uc->cache ? addr : NULL;
}

static bool kdev_ucache_name_ok(const char *name)
{
	size_t len = strnlen(name, KARENA_NAME_LEN), i;

	if (!len || len == KARENA_NAME_LEN)
		return false;
	/* ASCII only: the kernel's isalnum() also accepts Latin-1 letters. */
	for (i = 0; i < len; i++)
		if (!isascii(name[i]) || (!isalnum(name[i]) &&
					  !strchr("_.-", name[i])))
			return false;
	return true;
}

static struct kdev_ucache *kdev_ucache_find(struct kdev_client *client, u32 id)
{
	lockdep_assert_held(&client->lock);
	return id ? xa_load(&client->caches, id) : NULL;
}

/* Destroy a user cache; the caller holds client->lock. */
static void kdev_ucache_free(struct kdev_client *client, struct kdev_ucache *uc,
			     bool force)
{
	lockdep_assert_held(&client->lock);
	xa_erase(&client->caches, uc->id);
	if (force)
		ka_cache_destroy_force(uc->cache);
	else
		WARN_ON_ONCE(karena_cache_destroy(uc->cache));
	WARN_ON_ONCE(!xa_empty(&uc->slabs));
	client->objects -= uc->objects;
	client->nr_caches--;
	xa_destroy(&uc->slabs);
	kfree(uc);
}

/**
 * kdev_ucache_create() - KARENA_IOC_CACHE_CREATE.
 * @client: the client.
 * @cc: the command struct, copied in; the output fields are filled.
 * @reply: the answer (@cc), written before client->lock is dropped: from
 *	then on another thread of the client may destroy the cache.
 *
 * Context: Process context; takes client->lock.
 * Return: 0; -EINVAL for a bad field, -EEXIST for a name this client
 * already uses, -ENOMEM at max_caches or without memory, -EFAULT if the
 * answer could not be written (@reply->lost; the cache is gone again).
 */
int kdev_ucache_create(struct kdev_client *client,
		       struct karena_cache_create *cc, struct kdev_reply *reply)
{
	char global[KA_CACHE_NAME_LEN];
	struct kdev_ucache *uc, *other;
	struct ka_cache_args args = {
		.arena = ka_global_arena,
		.name = global,
		.size = cc->object_size,
		.align = cc->align,
		.flags = cc->flags | KA_CACHE_USER,
		.ops = &kdev_ucache_ops,
	};
	unsigned long index;
	u32 id;
	int ret;

	if (cc->flags & ~KARENA_CACHE_FLAGS || cc->cache_id ||
	    cc->object_stride || cc->slab_bytes || cc->objs_per_slab ||
	    cc->object_offset || memchr_inv(cc->reserved, 0, sizeof(cc->reserved)))
		return -EINVAL;
	if (!cc->object_size || cc->object_size > KDEV_UCACHE_MAX_OBJECT)
		return -EINVAL;
	if (cc->align && (!is_power_of_2(cc->align) || cc->align > PAGE_SIZE))
		return -EINVAL;
	if (!kdev_ucache_name_ok(cc->name))
		return -EINVAL;

	uc = kzalloc(sizeof(*uc), GFP_KERNEL);
	if (!uc)
		return -ENOMEM;
	xa_init(&uc->slabs);
	uc->client = client;
	strscpy(uc->name, cc->name, sizeof(uc->name));
	args.owner = uc;

	mutex_lock(&client->lock);
	ret = -ENOMEM;
	if (client->nr_caches >= KDEV_MAX_UCACHES)
		goto err_unlock;
	ret = -EEXIST;
	xa_for_each(&client->caches, index, other)
		if (!strcmp(other->name, uc->name))
			goto err_unlock;
	ret = xa_alloc_cyclic(&client->caches, &id, uc, xa_limit_32b,
			      &client->next_cache_id, GFP_KERNEL);
	if (ret < 0)
		goto err_unlock;
	uc->id = id;

	/* Unique by construction: the client and cache ids come first. */
	scnprintf(global, sizeof(global), "u%lu.%u:%s", client->id, id, uc->name);
	uc->cache = ka_cache_create(&args);
	if (IS_ERR(uc->cache)) {
		ret = PTR_ERR(uc->cache);
		goto err_erase;
	}
	client->nr_caches++;

	cc->cache_id = id;
	cc->object_stride = ka_cache_stride(uc->cache);
	cc->slab_bytes = ka_cache_slab_bytes(uc->cache);
	cc->objs_per_slab = ka_cache_objs_per_slab(uc->cache);
	cc->object_offset = ka_cache_object_offset(uc->cache);
	ret = kdev_reply_write(reply, reply->uarg, reply->buf, reply->len);
	if (ret)
		kdev_ucache_free(client, uc, false);
	mutex_unlock(&client->lock);
	return ret;

err_erase:
	xa_erase(&client->caches, id);
err_unlock:
	mutex_unlock(&client->lock);
	kfree(uc);
	return ret;
}

/**
 * kdev_ucache_destroy() - KARENA_IOC_CACHE_DESTROY.
 * @client: the client.
 * @cd: the command struct, copied in.
 *
 * Context: Process context; takes client->lock.
 * Return: 0; -EINVAL for a bad field, -ENOENT if the client has no such
 * cache, -EBUSY while objects of it are allocated.
 */
int kdev_ucache_destroy(struct kdev_client *client,
			struct karena_cache_destroy *cd)
{
	struct kdev_ucache *uc;
	int ret = 0;

	if (cd->flags || cd->reserved)
		return -EINVAL;
	mutex_lock(&client->lock);
	uc = kdev_ucache_find(client, cd->cache_id);
	if (!uc)
		ret = -ENOENT;
	else if (uc->objects)
		ret = -EBUSY;
	else
		kdev_ucache_free(client, uc, false);
	mutex_unlock(&client->lock);
	return ret;
}

/**
 * kdev_ucaches_destroy() - destroy every user cache of a client
 * that is going away, with whatever objects are still allocated.
 * @client: the client.
 *
 * Context: Process context; caller holds client->lock.
 */
void kdev_ucaches_destroy(struct kdev_client *client)
{
	struct kdev_ucache *uc;
	unsigned long index;

	xa_for_each(&client->caches, index, uc)
		kdev_ucache_free(client, uc, true);
}

/*
 * An array of @nr entries, @nr chosen by userspace (up to
 * KARENA_MAX_BATCH): when it cannot be had the caller gets ENOMEM, and
 * the kernel log gets no allocation-failure report (vmalloc's carries a
 * stack trace).
 */
static void *kdev_ucache_array(unsigned int nr, size_t size)
{
	return kvmalloc_array(nr, size, GFP_KERNEL | __GFP_NOWARN);
}

/* The @nr window offsets at @uoffs, copied in; or an ERR_PTR. */
static u64 *kdev_ucache_offsets(u64 uoffs, unsigned int nr)
{
	u64 *offs = kdev_ucache_array(nr, sizeof(*offs));

	if (!offs)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(offs, u64_to_user_ptr(uoffs),
			   array_size(nr, sizeof(*offs)))) {
		kvfree(offs);
		return ERR_PTR(-EFAULT);
	}
	return offs;
}

static int kdev_ucache_bulk_check(const struct karena_bulk *b)
{
	if (b->flags || b->done || b->reserved)
		return -EINVAL;
	if (!b->count || b->count > KARENA_MAX_BATCH)
		return -EINVAL;
	return 0;
}

/* Free @nr objects that the client never learnt about; client->lock held. */
static void kdev_ucache_undo_alloc(struct kdev_ucache *uc,
				   void **objs, unsigned int nr)
{
	struct kdev_client *client = uc->client;
	unsigned int done;

	/* No other thread can have freed them: the lock was never dropped. */
	if (WARN_ON_ONCE(ka_cache_free_bulk_checked(uc->cache, nr, objs, &done)))
		nr = done;
	uc->objects -= nr;
	client->objects -= nr;
}

/**
 * kdev_ucache_alloc_bulk() - KARENA_IOC_ALLOC_BULK.
 * @client: the client.
 * @b: the command struct, copied in; @b->done is set.
 * @reply: the answer (@b), written with the offsets before client->lock
 *	is dropped: from then on another thread of the client may free the
 *	objects.
 *
 * The offsets array is read and written back first, which faults it in
 * (a store another thread makes there meanwhile may be lost; the array
 * is the kernel's to fill during the call).
 *
 * Context: Process context; takes client->lock.
 * Return: 0 if at least one object was allocated; -EINVAL, -ENOENT,
 * -ENOMEM if none could be, -EFAULT if the offsets array cannot be
 * written or the answer could not be (@reply->lost); nothing stays
 * allocated then.
 */
int kdev_ucache_alloc_bulk(struct kdev_client *client, struct karena_bulk *b,
			   struct kdev_reply *reply)
{
	u64 __user *uoffs = u64_to_user_ptr(b->offsets);
	struct kdev_ucache *uc;
	unsigned int n, i;
	void **objs;
	u64 *offs;
	int ret;

	ret = kdev_ucache_bulk_check(b);
	if (ret)
		return ret;
	objs = kdev_ucache_array(b->count, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	offs = kdev_ucache_offsets(b->offsets, b->count);
	if (IS_ERR(offs)) {
		kvfree(objs);
		return PTR_ERR(offs);
	}
	if (copy_to_user(uoffs, offs, array_size(b->count, sizeof(*offs)))) {
		ret = -EFAULT;
		goto out_free;
	}

	mutex_lock(&client->lock);
	uc = kdev_ucache_find(client, b->cache_id);
	if (!uc) {
		ret = -ENOENT;
		goto out_unlock;
	}
	n = ka_cache_alloc_some(uc->cache, GFP_KERNEL, b->count, objs);
	if (!n) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	for (i = 0; i < n; i++) {
		/*
		 * The slab layer checked the poison; the client gets the
		 * object zeroed, as it gets every fresh object.
		 */
		if (ka_cache_flags(uc->cache) & KA_CACHE_POISON)
			memset(objs[i], 0, ka_cache_object_size(uc->cache));
		offs[i] = kdev_ucache_obj_offset(uc, objs[i]);
	}
	uc->objects += n;
	client->objects += n;
	b->done = n;
	ret = kdev_reply_write(reply, uoffs, offs, n * sizeof(*offs));
	if (!ret)
		ret = kdev_reply_write(reply, reply->uarg, reply->buf,
				       reply->len);
	if (ret) {
		kdev_ucache_undo_alloc(uc, objs, n);
		goto out_unlock;
	}
	client->objects_allocated += n;
	client->alloc_calls++;

out_unlock:
	mutex_unlock(&client->lock);
out_free:
	kvfree(offs);
	kvfree(objs);
	return ret;
}

/*
 * Free the objects at @offs[0..nr) of the cache @id, stopping at the
 * first bad one, which is counted as a bad free.  Sets *@done to the
 * objects freed (on error, the index of the refused entry).
 */
static int kdev_ucache_free_offsets(struct kdev_client *client, u32 id,
				    const u64 *offs, void **objs,
				    unsigned int nr, unsigned int *done)
{
	struct kdev_ucache *uc;
	unsigned int valid, freed;
	int ret;

	lockdep_assert_held(&client->lock);
	*done = 0;
	uc = kdev_ucache_find(client, id);
	if (!uc)
		return -ENOENT;
	for (valid = 0; valid < nr; valid++) {
		objs[valid] = kdev_ucache_offset_obj(uc, offs[valid]);
		if (!objs[valid])
			break;
	}
	ret = ka_cache_free_bulk_checked(uc->cache, valid, objs, &freed);
	if (!ret && valid < nr)
		ret = -EINVAL;
	if (ret)
		client->bad_frees++;
	uc->objects -= freed;
	client->objects -= freed;
	client->objects_freed += freed;
	*done = freed;
	return ret;
}

/**
 * kdev_ucache_free_bulk() - KARENA_IOC_FREE_BULK.
 * @client: the client.
 * @b: the command struct, copied in; @b->done is set, also on error.
 *
 * Context: Process context; takes client->lock.
 * Return: 0 if all were freed; -EINVAL, -ENOENT (see uapi/karena.h),
 * -EFAULT if the offsets cannot be read (nothing is freed then).
 */
int kdev_ucache_free_bulk(struct kdev_client *client, struct karena_bulk *b)
{
	unsigned int done = 0;
	void **objs;
	u64 *offs;
	int ret;

	ret = kdev_ucache_bulk_check(b);
	/*
	 * @done goes back to userspace even when the call fails: until the
	 * first entry is looked at, nothing has been freed.
	 */
	b->done = 0;
	if (ret)
		return ret;
	offs = kdev_ucache_offsets(b->offsets, b->count);
	if (IS_ERR(offs))
		return PTR_ERR(offs);
	objs = kdev_ucache_array(b->count, sizeof(*objs));
	if (!objs) {
		kvfree(offs);
		return -ENOMEM;
	}

	mutex_lock(&client->lock);
	ret = kdev_ucache_free_offsets(client, b->cache_id, offs, objs,
				       b->count, &done);
	if (!ret)
		client->free_calls++;
	mutex_unlock(&client->lock);

	b->done = done;
	kvfree(objs);
	kvfree(offs);
	return ret;
}
