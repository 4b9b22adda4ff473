// SPDX-License-Identifier: GPL-2.0
/*
 * karena: clients of /dev/karena: creation and teardown, quotas, and
 * page blocks.
 *
 * Quotas: each client may own at most client_max_mb, and all clients of
 * one user (the opener's file credentials) together at most user_max_mb,
 * so that one user cannot exhaust the arena for the others.  Both are
 * charged before memory is taken from the arena and uncharged after it has
 * gone back; a refusal is ENOMEM and counted.
 *
 * A page block is a buddy block of state KA_PAGE_USER, described by a
 * struct kdev_block in kernel memory and found by its window page
 * offset in client->blocks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "buddy.h"
#include "client.h"
#include "internal.h"

static unsigned int client_max_mb;
module_param(client_max_mb, uint, 0444);
MODULE_PARM_DESC(client_max_mb, "Most MiB one client may own (default 0: half the arena)");

static unsigned int user_max_mb;
module_param(user_max_mb, uint, 0444);
MODULE_PARM_DESC(user_max_mb, "Most MiB all clients of one user may own (default 0: three quarters of the arena)");

LIST_HEAD(kdev_clients);
/* Guards kdev_clients; taken before any client->lock. */
DEFINE_MUTEX(kdev_clients_lock);

/* Users with at least one client. */
static LIST_HEAD(kdev_uids);
static DEFINE_SPINLOCK(kdev_uids_lock);
static unsigned long kdev_next_client_id;

/**
 * kdev_client_quota() - most bytes one client may own.
 *
 * Return: client_max_mb in bytes, or half the arena if it is 0; never
 * more than the arena.
 */
unsigned long kdev_client_quota(void)
{
	unsigned long arena = (unsigned long)ka_arena_mb << 20;
	unsigned long q = (unsigned long)client_max_mb << 20;

	return q && q < arena ? q : (client_max_mb ? arena : arena / 2);
}

/**
 * kdev_uid_quota() - most bytes all clients of one user may own.
 *
 * Return: user_max_mb in bytes, or three quarters of the arena if it is
 * 0; never more than the arena.
 */
unsigned long kdev_uid_quota(void)
{
	unsigned long arena = (unsigned long)ka_arena_mb << 20;
	unsigned long q = (unsigned long)user_max_mb << 20;

	return q && q < arena ? q : (user_max_mb ? arena : arena / 4 * 3);
}

static struct kdev_uid *kdev_uid_get(kuid_t uid)
{
	struct kdev_uid *user, *new;

	new = kzalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return NULL;

	spin_lock(&kdev_uids_lock);
	list_for_each_entry(user, &kdev_uids, node) {
		if (uid_eq(user->uid, uid)) {
			refcount_inc(&user->ref);
			spin_unlock(&kdev_uids_lock);
			kfree(new);
			return user;
		}
	}
	new->uid = uid;
	refcount_set(&new->ref, 1);
	list_add(&new->node, &kdev_uids);
	spin_unlock(&kdev_uids_lock);
	return new;
}

static void kdev_uid_put(struct kdev_uid *user)
{
	spin_lock(&kdev_uids_lock);
	if (!refcount_dec_and_test(&user->ref)) {
		spin_unlock(&kdev_uids_lock);
		return;
	}
	list_del(&user->node);
	spin_unlock(&kdev_uids_lock);
	WARN_ON_ONCE(user->bytes);
	kfree(user);
}

/**
 * kdev_client_charge() - count @bytes against the client's and its
 * user's quota.
 * @client: the client.
 * @bytes: bytes about to be taken from the arena for it.
 *
 * Context: Process context; takes client->lock's place in the order
 * (caller holds client->lock).
 * Return: 0, or -ENOMEM (counted) if either quota would be exceeded.
 */
int kdev_client_charge(struct kdev_client *client, unsigned long bytes)
{
	struct kdev_uid *user = client->user;

	lockdep_assert_held(&client->lock);
	if (client->bytes + bytes > client->quota)
		goto refuse;
	spin_lock(&kdev_uids_lock);
	if (user->bytes + bytes > kdev_uid_quota()) {
		spin_unlock(&kdev_uids_lock);
		goto refuse;
	}
	user->bytes += bytes;
	spin_unlock(&kdev_uids_lock);
	client->bytes += bytes;
	return 0;

refuse:
	client->quota_failures++;
	return -ENOMEM;
}

/**
 * kdev_client_uncharge() - give back what kdev_client_charge() took.
 * @client: the client.
 * @bytes: bytes that went back to the arena.
 *
 * Context: Process context; caller holds client->lock.
 */
void kdev_client_uncharge(struct kdev_client *client, unsigned long bytes)
{
	lockdep_assert_held(&client->lock);
	if (WARN_ON_ONCE(bytes > client->bytes))
		bytes = client->bytes;
	client->bytes -= bytes;
	spin_lock(&kdev_uids_lock);
	client->user->bytes -= bytes;
	spin_unlock(&kdev_uids_lock);
}

/**
 * kdev_client_create() - make the client of a newly opened file.
 * @file: the file being opened.
 *
 * The client belongs to the opening process's mm and is charged to the
 * user of the file's credentials.
 *
 * Context: Process context (open).
 * Return: the client, or an ERR_PTR.
 */
struct kdev_client *kdev_client_create(struct file *file)
{
	struct kdev_client *client;
	int ret = -ENOMEM;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client)
		return ERR_PTR(-ENOMEM);

	mutex_init(&client->lock);
	mutex_init(&client->window_lock);
	xa_init(&client->window_pages);
	xa_init_flags(&client->caches, XA_FLAGS_ALLOC1);
	xa_init(&client->blocks);
	client->quota = kdev_client_quota();
	client->pid = task_tgid_nr(current);
	get_task_comm(client->comm, current);

	client->user = kdev_uid_get(file->f_cred->fsuid);
	if (!client->user)
		goto err_free;
	ret = kdev_window_init(client);
	if (ret)
		goto err_user;

	mmgrab(current->mm);
	client->mm = current->mm;

	mutex_lock(&kdev_clients_lock);
	client->id = ++kdev_next_client_id;
	list_add_tail(&client->node, &kdev_clients);
	mutex_unlock(&kdev_clients_lock);
	return client;

err_user:
	kdev_uid_put(client->user);
err_free:
	kfree(client);
	return ERR_PTR(ret);
}

/**
 * struct kdev_block - a page block owned by a client.
 * @head: first page.
 * @pgoff: window page offset of @head.
 * @order: the block is 2^@order pages.
 */
struct kdev_block {
	struct page *head;
	unsigned long pgoff;
	unsigned int order;
};

/* Unmap, uncharge and free one block; the caller holds client->lock. */
static void kdev_block_release(struct kdev_client *client,
			       struct kdev_block *block)
{
	unsigned long bytes = PAGE_SIZE << block->order;

	lockdep_assert_held(&client->lock);
	xa_erase(&client->blocks, block->pgoff);
	kdev_window_unmap(client, block->pgoff, block->order);
	ka_free_pages(ka_global_arena, block->head, block->order);
	client->block_bytes -= bytes;
	kdev_client_uncharge(client, bytes);
	kfree(block);
}

/**
 * kdev_client_destroy() - return everything a client owns, then free it.
 * @client: the client; its file has no references left, so no mapping of
 *	its window exists any more.
 *
 * Context: Process context (release of the last file reference).
 */
void kdev_client_destroy(struct kdev_client *client)
{
	struct kdev_block *block;
	unsigned long pgoff;

	mutex_lock(&kdev_clients_lock);
	list_del(&client->node);
	mutex_unlock(&kdev_clients_lock);

	mutex_lock(&client->lock);
	kdev_ucaches_destroy(client);
	xa_for_each(&client->blocks, pgoff, block)
		kdev_block_release(client, block);
	WARN_ON_ONCE(client->bytes);
	kdev_window_exit(client);
	mutex_unlock(&client->lock);

	xa_destroy(&client->blocks);
	xa_destroy(&client->caches);
	mmdrop(client->mm);
	kdev_uid_put(client->user);
	kfree(client);
}

/**
 * kdev_client_block_alloc() - give the client a zeroed page block.
 * @client: the client.
 * @order: block order, at most the arena's max_order.
 * @offset: set to the block's window offset; part of @reply's struct.
 * @reply: the answer, written before client->lock is dropped.
 *
 * Context: Process context; takes client->lock.
 * Return: 0, -EINVAL for a bad order, -ENOMEM if a quota, the window or
 * the arena is exhausted, -EFAULT if the answer could not be written
 * (@reply->lost; nothing is left allocated).
 */
int kdev_client_block_alloc(struct kdev_client *client, unsigned int order,
			    u64 *offset, struct kdev_reply *reply)
{
	struct kdev_block *block;
	unsigned long bytes;
	int ret;

	if (order > ka_arena_max_order(ka_global_arena))
		return -EINVAL;
	bytes = PAGE_SIZE << order;
	block = kzalloc(sizeof(*block), GFP_KERNEL);
	if (!block)
		return -ENOMEM;
	block->order = order;

	mutex_lock(&client->lock);
	ret = kdev_client_charge(client, bytes);
	if (ret)
		goto err_unlock;
	block->head = ka_alloc_pages(ka_global_arena, KARENA_ALLOC_ZERO, order);
	if (!block->head) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	ka_block_set_owner(ka_global_arena, block->head, KA_PAGE_USER, client);
	ret = kdev_window_map(client, block->head, order, &block->pgoff);
	if (ret)
		goto err_free_pages;
	ret = xa_err(xa_store(&client->blocks, block->pgoff, block,
			      GFP_KERNEL));
	if (ret)
		goto err_unmap;

	*offset = (u64)block->pgoff << PAGE_SHIFT;
	ret = kdev_reply_write(reply, reply->uarg, reply->buf, reply->len);
	if (ret)
		goto err_erase;
	client->block_bytes += bytes;
	client->alloc_calls++;
	mutex_unlock(&client->lock);
	return 0;

err_erase:
	xa_erase(&client->blocks, block->pgoff);
err_unmap:
	kdev_window_unmap(client, block->pgoff, order);
err_free_pages:
	ka_free_pages(ka_global_arena, block->head, order);
err_uncharge:
	kdev_client_uncharge(client, bytes);
err_unlock:
	mutex_unlock(&client->lock);
	kfree(block);
	return ret;
}

/**
 * kdev_client_block_free() - take a page block back from the client.
 * @client: the client.
 * @offset: window offset of the block's first page.
 * @order: set to the block's order.
 *
 * The block is unmapped from every mapping of the window before it goes
 * back to the arena.
 *
 * Context: Process context; takes client->lock.
 * Return: 0, or -EINVAL (counted) if @offset is not the start of a page
 * block of this client.
 */
int kdev_client_block_free(struct kdev_client *client, u64 offset,
			   unsigned int *order)
{
	struct kdev_block *block = NULL;

	mutex_lock(&client->lock);
	if (!(offset & ~PAGE_MASK) && offset >> PAGE_SHIFT < client->window_nr)
		block = xa_load(&client->blocks, offset >> PAGE_SHIFT);
	if (!block) {
		client->bad_frees++;
		mutex_unlock(&client->lock);
		return -EINVAL;
	}
	*order = block->order;
	kdev_block_release(client, block);
	client->free_calls++;
	mutex_unlock(&client->lock);
	return 0;
}

/**
 * kdev_client_stats() - fill the KARENA_IOC_STATS answer.
 * @client: the client.
 * @st: the command struct; on entry everything but @st->flags is checked
 *	to be zero.
 *
 * Context: Process context; takes client->lock.
 * Return: 0, or -EINVAL if an input field is not zero.
 */
int kdev_client_stats(struct kdev_client *client, struct karena_stats *st)
{
	if (memchr_inv(st, 0, sizeof(*st)))
		return -EINVAL;

	mutex_lock(&client->lock);
	st->nr_caches = client->nr_caches;
	st->bytes = client->bytes;
	st->slab_bytes = client->slab_bytes;
	st->block_bytes = client->block_bytes;
	st->objects = client->objects;
	st->alloc_calls = client->alloc_calls;
	st->free_calls = client->free_calls;
	st->objects_allocated = client->objects_allocated;
	st->objects_freed = client->objects_freed;
	st->bad_frees = client->bad_frees;
	st->quota_failures = client->quota_failures;
	mutex_unlock(&client->lock);
	return 0;
}
