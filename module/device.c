// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the character device /dev/karena.
 *
 * Each open file is a client.  The ioctl interface is defined in
 * uapi/karena.h; until a command is implemented it answers -ENOTTY, as
 * every unknown command does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "internal.h"

static int karena_open(struct inode *inode, struct file *file)
{
	return 0;
}

static int karena_release(struct inode *inode, struct file *file)
{
	return 0;
}

static long karena_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations karena_fops = {
	.owner = THIS_MODULE,
	.open = karena_open,
	.release = karena_release,
	.unlocked_ioctl = karena_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
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
 * Return: 0 or the error of misc_register().
 */
int karena_device_init(void)
{
	int ret;

	karena_misc.mode = karena_dev_mode;
	ret = misc_register(&karena_misc);
	if (ret)
		pr_err("cannot register /dev/%s: %d\n", karena_misc.name, ret);
	return ret;
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
}
