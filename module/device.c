// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the character device /dev/karena.
 *
 * Each open file is a client (client.c); this file turns ioctls into
 * client operations.  Every command struct is copied in whole before the
 * command runs.  A command that hands something out writes its answer
 * itself, under client->lock and without faulting (see client.h for
 * why); the others' answers are copied out after them, with no client
 * lock held.  Structs are size-tolerant: the size in
 * the command number may be shorter than ours (the rest reads as zero,
 * down to the command's VER0 size) or longer (the rest must be zero,
 * else -E2BIG), the pattern of dma-heap and copy_struct_from_user().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/uaccess.h>

#include "buddy.h"
#include "client.h"
#include "internal.h"

/* Largest command struct, for the on-stack copy. */
union kdev_ioc_buf {
	struct karena_info info;
	struct karena_cache_create cache_create;
	struct karena_cache_destroy cache_destroy;
	struct karena_bulk bulk;
	struct karena_pages pages;
	struct karena_stats stats;
};

static bool kdev_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static int kdev_ioc_info(struct kdev_client *client, struct karena_info *info)
{
	/* Output fields must come in zero, like the reserved ones. */
	if (!kdev_zeroed(info, sizeof(*info)))
		return -EINVAL;
	info->abi_version = KARENA_ABI_VERSION;
	info->page_size = PAGE_SIZE;
	info->max_order = ka_arena_max_order(ka_global_arena);
	info->max_batch = KARENA_MAX_BATCH;
	info->max_object_size = KDEV_UCACHE_MAX_OBJECT;
	info->max_caches = KDEV_MAX_UCACHES;
	info->arena_bytes = (u64)ka_arena_nr_pages(ka_global_arena) << PAGE_SHIFT;
	info->arena_free_bytes = (u64)ka_arena_nr_free(ka_global_arena) << PAGE_SHIFT;
	info->window_bytes = (u64)client->window_nr << PAGE_SHIFT;
	info->quota_bytes = client->quota;
	info->user_quota_bytes = kdev_uid_quota();
	return 0;
}

static int kdev_ioc_pages_alloc(struct kdev_client *client,
				struct karena_pages *p,
				struct kdev_reply *reply)
{
	if (p->flags || p->offset || !kdev_zeroed(p->reserved, sizeof(p->reserved)))
		return -EINVAL;
	return kdev_client_block_alloc(client, p->order, &p->offset, reply);
}

static int kdev_ioc_pages_free(struct kdev_client *client,
			       struct karena_pages *p)
{
	if (p->flags || p->order || !kdev_zeroed(p->reserved, sizeof(p->reserved)))
		return -EINVAL;
	return kdev_client_block_free(client, p->offset, &p->order);
}

/* Commands that free something, which no rollback could undo. */
static bool kdev_ioc_is_free(unsigned int nr)
{
	return nr == _IOC_NR(KARENA_IOC_CACHE_DESTROY) ||
	       nr == _IOC_NR(KARENA_IOC_FREE_BULK) ||
	       nr == _IOC_NR(KARENA_IOC_PAGES_FREE);
}

/* Commands that hand something out and write their answer themselves. */
static bool kdev_ioc_is_alloc(unsigned int nr)
{
	return nr == _IOC_NR(KARENA_IOC_CACHE_CREATE) ||
	       nr == _IOC_NR(KARENA_IOC_ALLOC_BULK) ||
	       nr == _IOC_NR(KARENA_IOC_PAGES_ALLOC);
}

/*
 * How often a command that hands something out is tried again when its
 * answer could not be written without a fault after the memory had been
 * faulted in (another thread unmapped or protected it in between, or it
 * was reclaimed): then it fails with EFAULT.
 */
#define KDEV_REPLY_TRIES	16

/**
 * kdev_reply_write() - write part of a command's answer to userspace
 * without faulting.
 * @reply: the command's reply; @reply->lost is set if the write fails.
 * @to: where in userspace (the struct, @reply->uarg, or an array the
 *	command was given).
 * @from: what to write.
 * @len: how many bytes.
 *
 * The caller holds client->lock, so a fault that would need the mmap_lock
 * (or the window's lock, if @to is in the window) must not be taken: the
 * write is made with page faults disabled, into memory that device.c (or
 * the command, for an array) made present just before.  On failure the
 * caller undoes the command under the same lock hold, so that no other
 * thread can have seen its result.
 *
 * Context: Process context; caller holds client->lock.
 * Return: 0, or -EFAULT.
 */
int kdev_reply_write(struct kdev_reply *reply, void __user *to,
		     const void *from, size_t len)
{
	if (!copy_to_user_nofault(to, from, len))
		return 0;
	reply->lost = true;
	return -EFAULT;
}

/**
 * struct kdev_ioc_desc - one command of the ioctl table.
 * @size: size of the kernel's struct.
 * @min_size: smallest size a caller may pass (the VER0 size).
 */
struct kdev_ioc_desc {
	u16 size;
	u16 min_size;
};

#define KDEV_IOC(cmd, type, ver0) \
	[_IOC_NR(cmd)] = { .size = sizeof(type), .min_size = (ver0) }

static const struct kdev_ioc_desc kdev_ioc_table[] = {
	KDEV_IOC(KARENA_IOC_INFO, struct karena_info, KARENA_INFO_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_CACHE_CREATE, struct karena_cache_create,
		 KARENA_CACHE_CREATE_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_CACHE_DESTROY, struct karena_cache_destroy,
		 KARENA_CACHE_DESTROY_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_ALLOC_BULK, struct karena_bulk, KARENA_BULK_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_FREE_BULK, struct karena_bulk, KARENA_BULK_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_PAGES_ALLOC, struct karena_pages, KARENA_PAGES_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_PAGES_FREE, struct karena_pages, KARENA_PAGES_SIZE_VER0),
	KDEV_IOC(KARENA_IOC_STATS, struct karena_stats, KARENA_STATS_SIZE_VER0),
};

static int kdev_ioc_run(struct kdev_client *client, unsigned int nr,
			union kdev_ioc_buf *buf, struct kdev_reply *reply)
{
	switch (nr) {
	case _IOC_NR(KARENA_IOC_INFO):
		return kdev_ioc_info(client, &buf->info);
	case _IOC_NR(KARENA_IOC_CACHE_CREATE):
		return kdev_ucache_create(client, &buf->cache_create, reply);
	case _IOC_NR(KARENA_IOC_CACHE_DESTROY):
		return kdev_ucache_destroy(client, &buf->cache_destroy);
	case _IOC_NR(KARENA_IOC_ALLOC_BULK):
		return kdev_ucache_alloc_bulk(client, &buf->bulk, reply);
	case _IOC_NR(KARENA_IOC_FREE_BULK):
		return kdev_ucache_free_bulk(client, &buf->bulk);
	case _IOC_NR(KARENA_IOC_PAGES_ALLOC):
		return kdev_ioc_pages_alloc(client, &buf->pages, reply);
	case _IOC_NR(KARENA_IOC_PAGES_FREE):
		return kdev_ioc_pages_free(client, &buf->pages);
	case _IOC_NR(KARENA_IOC_STATS):
		return kdev_client_stats(client, &buf->stats);
	}
	return -ENOTTY;
}

static long kdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kdev_client *client = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct kdev_ioc_desc *desc;
	unsigned int nr = _IOC_NR(cmd);
	size_t usize = _IOC_SIZE(cmd);
	union kdev_ioc_buf in, buf;
	struct kdev_reply reply;
	unsigned int tries;
	size_t len;
	int ret;

	if (_IOC_TYPE(cmd) != KARENA_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE) ||
	    nr >= ARRAY_SIZE(kdev_ioc_table))
		return -ENOTTY;
	nr = array_index_nospec(nr, ARRAY_SIZE(kdev_ioc_table));
	desc = &kdev_ioc_table[nr];
	if (!desc->size)
		return -ENOTTY;
	if (current->mm != client->mm)
		return -EPERM;
	if (usize < desc->min_size)
		return -EINVAL;

	len = min_t(size_t, usize, desc->size);
	ret = copy_struct_from_user(&in, desc->size, uarg, usize);
	if (ret)
		return ret;
	reply.uarg = uarg;
	reply.buf = &buf;
	reply.len = len;

	for (tries = 0; ; tries++) {
		/*
		 * Write the caller's own bytes back: this faults the struct
		 * in, writable, for a command that answers under the client
		 * lock, and makes sure that a free's answer can be written
		 * before anything is freed (a free cannot be rolled back).
		 * After a lost answer it also takes back whatever part of
		 * that answer reached the caller.
		 */
		if ((kdev_ioc_is_free(nr) || kdev_ioc_is_alloc(nr) ||
		     tries) && copy_to_user(uarg, &in, len))
			return -EFAULT;
		if (tries == KDEV_REPLY_TRIES)
			return -EFAULT;
		buf = in;
		reply.lost = false;
		ret = kdev_ioc_run(client, nr, &buf, &reply);
		if (!reply.lost)
			break;
	}
	if (kdev_ioc_is_alloc(nr))
		return ret;

	/*
	 * FREE_BULK reports how far it got even when it fails; every other
	 * command writes back only on success.
	 */
	if (ret && nr != _IOC_NR(KARENA_IOC_FREE_BULK))
		return ret;
	if (copy_to_user(uarg, &buf, len))
		return -EFAULT;
	return ret;
}

static int kdev_open(struct inode *inode, struct file *file)
{
	struct kdev_client *client;

	client = kdev_client_create(file);
	if (IS_ERR(client))
		return PTR_ERR(client);
	/* All mappings of this file live in the client's address_space. */
	file->f_mapping = client->inode->i_mapping;
	file->private_data = client;
	return 0;
}

static int kdev_release(struct inode *inode, struct file *file)
{
	kdev_client_destroy(file->private_data);
	return 0;
}

static int kdev_mmap(struct file *file, struct vm_area_struct *vma)
{
	return kdev_window_mmap(file->private_data, vma);
}

static const struct file_operations kdev_fops = {
	.owner = THIS_MODULE,
	.open = kdev_open,
	.release = kdev_release,
	.unlocked_ioctl = kdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = kdev_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice kdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &kdev_fops,
};

/**
 * kdev_init() - register /dev/karena with mode dev_mode.
 *
 * Context: Process context, module load; called last, once everything a
 * client can reach is ready.
 * Return: 0 or a negative errno.
 */
int kdev_init(void)
{
	int ret;

	ret = kdev_fs_init();
	if (ret) {
		pr_err("cannot mount the karena pseudo filesystem: %d\n", ret);
		return ret;
	}
	kdev_misc.mode = ka_dev_mode;
	ret = misc_register(&kdev_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", kdev_misc.name, ret);
		kdev_fs_exit();
		return ret;
	}
	kdev_client_debugfs_init();
	return 0;
}

/**
 * kdev_exit() - unregister /dev/karena.
 *
 * Context: Process context, module unload; no client exists (each open
 * file holds a module reference).
 */
void kdev_exit(void)
{
	misc_deregister(&kdev_misc);
	kdev_fs_exit();
}
