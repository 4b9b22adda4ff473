// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the character device /dev/karena.
 *
 * Each open file is a client (client.c); this file turns ioctls into
 * client operations.  Every command struct is copied in whole before the
 * command runs and copied out after it, never while a client lock is
 * held (see client.h for why).  Structs are size-tolerant: the size in
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
union karena_ioc_buf {
	struct karena_info info;
	struct karena_cache_create cache_create;
	struct karena_cache_destroy cache_destroy;
	struct karena_bulk bulk;
	struct karena_pages pages;
	struct karena_stats stats;
};

static bool karena_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static int karena_ioc_info(struct karena_client *client,
			   struct karena_info *info)
{
	/* Output fields must come in zero, like the reserved ones. */
	if (!karena_zeroed(info, sizeof(*info)))
		return -EINVAL;
	info->abi_version = KARENA_ABI_VERSION;
	info->page_size = PAGE_SIZE;
	info->max_order = ka_arena_max_order(karena_arena);
	info->max_batch = KARENA_MAX_BATCH;
	info->max_object_size = KARENA_USER_MAX_OBJECT;
	info->max_caches = KARENA_USER_MAX_CACHES;
	info->arena_bytes = (u64)ka_arena_nr_pages(karena_arena) << PAGE_SHIFT;
	info->arena_free_bytes = (u64)ka_arena_nr_free(karena_arena) << PAGE_SHIFT;
	info->window_bytes = (u64)client->window_nr << PAGE_SHIFT;
	info->quota_bytes = client->quota;
	info->user_quota_bytes = karena_user_quota();
	return 0;
}

static int karena_ioc_pages_alloc(struct karena_client *client,
				  struct karena_pages *p)
{
	if (p->flags || p->offset || !karena_zeroed(p->reserved, sizeof(p->reserved)))
		return -EINVAL;
	return karena_pages_alloc(client, p->order, &p->offset);
}

static int karena_ioc_pages_free(struct karena_client *client,
				 struct karena_pages *p)
{
	if (p->flags || p->order || !karena_zeroed(p->reserved, sizeof(p->reserved)))
		return -EINVAL;
	return karena_pages_free(client, p->offset, &p->order);
}

/* Commands that free something, which no rollback could undo. */
static bool karena_ioc_is_free(unsigned int nr)
{
	return nr == _IOC_NR(KARENA_IOC_CACHE_DESTROY) ||
	       nr == _IOC_NR(KARENA_IOC_FREE_BULK) ||
	       nr == _IOC_NR(KARENA_IOC_PAGES_FREE);
}

/* Undo a successful command whose result could not reach userspace. */
static void karena_ioc_rollback(struct karena_client *client,
				unsigned int nr, union karena_ioc_buf *buf)
{
	unsigned int order;

	switch (nr) {
	case _IOC_NR(KARENA_IOC_PAGES_ALLOC):
		karena_pages_free(client, buf->pages.offset, &order);
		break;
	case _IOC_NR(KARENA_IOC_CACHE_CREATE): {
		struct karena_cache_destroy cd = {
			.cache_id = buf->cache_create.cache_id,
		};

		karena_user_cache_destroy(client, &cd);
		break;
	}
	case _IOC_NR(KARENA_IOC_ALLOC_BULK):
		karena_user_rollback_alloc(client, &buf->bulk);
		break;
	}
}

/**
 * struct karena_ioc_desc - one command of the ioctl table.
 * @size: size of the kernel's struct.
 * @min_size: smallest size a caller may pass (the VER0 size).
 */
struct karena_ioc_desc {
	u16 size;
	u16 min_size;
};

#define KARENA_IOC(cmd, type, ver0) \
	[_IOC_NR(cmd)] = { .size = sizeof(type), .min_size = (ver0) }

static const struct karena_ioc_desc karena_ioc_table[] = {
	KARENA_IOC(KARENA_IOC_INFO, struct karena_info, KARENA_INFO_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_CACHE_CREATE, struct karena_cache_create,
		   KARENA_CACHE_CREATE_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_CACHE_DESTROY, struct karena_cache_destroy,
		   KARENA_CACHE_DESTROY_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_ALLOC_BULK, struct karena_bulk, KARENA_BULK_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_FREE_BULK, struct karena_bulk, KARENA_BULK_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_PAGES_ALLOC, struct karena_pages, KARENA_PAGES_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_PAGES_FREE, struct karena_pages, KARENA_PAGES_SIZE_VER0),
	KARENA_IOC(KARENA_IOC_STATS, struct karena_stats, KARENA_STATS_SIZE_VER0),
};

static long karena_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct karena_client *client = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct karena_ioc_desc *desc;
	unsigned int nr = _IOC_NR(cmd);
	size_t usize = _IOC_SIZE(cmd);
	union karena_ioc_buf buf;
	int ret;

	if (_IOC_TYPE(cmd) != KARENA_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE) ||
	    nr >= ARRAY_SIZE(karena_ioc_table))
		return -ENOTTY;
	nr = array_index_nospec(nr, ARRAY_SIZE(karena_ioc_table));
	desc = &karena_ioc_table[nr];
	if (!desc->size)
		return -ENOTTY;
	if (current->mm != client->mm)
		return -EPERM;
	if (usize < desc->min_size)
		return -EINVAL;

	ret = copy_struct_from_user(&buf, desc->size, uarg, usize);
	if (ret)
		return ret;
	/*
	 * A free cannot be rolled back like an allocation: make sure its
	 * reply can be written before anything is freed, by writing the
	 * caller's own bytes back unchanged.
	 */
	if (karena_ioc_is_free(nr) &&
	    copy_to_user(uarg, &buf, min_t(size_t, usize, desc->size)))
		return -EFAULT;

	switch (nr) {
	case _IOC_NR(KARENA_IOC_INFO):
		ret = karena_ioc_info(client, &buf.info);
		break;
	case _IOC_NR(KARENA_IOC_CACHE_CREATE):
		ret = karena_user_cache_create(client, &buf.cache_create);
		break;
	case _IOC_NR(KARENA_IOC_CACHE_DESTROY):
		ret = karena_user_cache_destroy(client, &buf.cache_destroy);
		break;
	case _IOC_NR(KARENA_IOC_ALLOC_BULK):
		ret = karena_user_alloc_bulk(client, &buf.bulk);
		break;
	case _IOC_NR(KARENA_IOC_FREE_BULK):
		ret = karena_user_free_bulk(client, &buf.bulk);
		break;
	case _IOC_NR(KARENA_IOC_PAGES_ALLOC):
		ret = karena_ioc_pages_alloc(client, &buf.pages);
		break;
	case _IOC_NR(KARENA_IOC_PAGES_FREE):
		ret = karena_ioc_pages_free(client, &buf.pages);
		break;
	case _IOC_NR(KARENA_IOC_STATS):
		ret = karena_client_stats(client, &buf.stats);
		break;
	default:
		return -ENOTTY;
	}

	/*
	 * FREE_BULK reports how far it got even when it fails; every other
	 * command writes back only on success.
	 */
	if (ret && nr != _IOC_NR(KARENA_IOC_FREE_BULK))
		return ret;
	if (copy_to_user(uarg, &buf, min_t(size_t, usize, desc->size))) {
		if (!ret)
			karena_ioc_rollback(client, nr, &buf);
		return -EFAULT;
	}
	return ret;
}

static int karena_open(struct inode *inode, struct file *file)
{
	struct karena_client *client;

	client = karena_client_create(file);
	if (IS_ERR(client))
		return PTR_ERR(client);
	/* All mappings of this file live in the client's address_space. */
	file->f_mapping = client->inode->i_mapping;
	file->private_data = client;
	return 0;
}

static int karena_release(struct inode *inode, struct file *file)
{
	karena_client_destroy(file->private_data);
	return 0;
}

static int karena_mmap(struct file *file, struct vm_area_struct *vma)
{
	return karena_window_mmap(file->private_data, vma);
}

static const struct file_operations karena_fops = {
	.owner = THIS_MODULE,
	.open = karena_open,
	.release = karena_release,
	.unlocked_ioctl = karena_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = karena_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice karena_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &karena_fops,
};

/**
 * karena_device_init() - register /dev/karena with mode dev_mode.
 *
 * Context: Process context, module load; called last, once everything a
 * client can reach is ready.
 * Return: 0 or a negative errno.
 */
int karena_device_init(void)
{
	int ret;

	ret = karena_fs_init();
	if (ret) {
		pr_err("cannot mount the karena pseudo filesystem: %d\n", ret);
		return ret;
	}
	karena_misc.mode = karena_dev_mode;
	ret = misc_register(&karena_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", karena_misc.name, ret);
		karena_fs_exit();
		return ret;
	}
	karena_client_debugfs_init();
	return 0;
}

/**
 * karena_device_exit() - unregister /dev/karena.
 *
 * Context: Process context, module unload; no client exists (each open
 * file holds a module reference).
 */
void karena_device_exit(void)
{
	misc_deregister(&karena_misc);
	karena_fs_exit();
}
