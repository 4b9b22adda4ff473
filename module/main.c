// SPDX-License-Identifier: GPL-2.0
/*
 * karena: module entry points and parameters.
 *
 * Load order: validate the parameters, create the debugfs directory (never
 * required for correctness), then register /dev/karena last so that no
 * user can reach a half-initialised module.  Unload undoes it in reverse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/mm.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stat.h>
#include <kunit/visibility.h>

#include "buddy.h"
#include "internal.h"
#include "slab.h"

unsigned int ka_arena_mb = 64;
module_param_named(arena_mb, ka_arena_mb, uint, 0444);
MODULE_PARM_DESC(arena_mb, "Arena size in MiB taken from the kernel at load (default 64)");

unsigned int ka_max_order = 10;
module_param_named(max_order, ka_max_order, uint, 0444);
MODULE_PARM_DESC(max_order, "Largest buddy order, the order of the arena's chunks unless the kernel is short of free blocks that large (default 10)");

unsigned int ka_min_order = 3;
module_param_named(min_order, ka_min_order, uint, 0444);
MODULE_PARM_DESC(min_order, "Smallest chunk order accepted when the kernel has no free blocks of max_order (default 3)");

unsigned int ka_dev_mode = 0600;
module_param_named(dev_mode, ka_dev_mode, uint, 0444);
MODULE_PARM_DESC(dev_mode, "Permission bits of /dev/karena (default 0600)");

/**
 * ka_check_params() - validate the load-time parameters.
 * @arena_mb: arena size in MiB.
 * @max_order: largest buddy order.
 * @min_order: smallest chunk order accepted.
 * @dev_mode: permission bits of the device node.
 *
 * The arena must hold at least one chunk of 2^@max_order pages, be a whole
 * number of chunks, and leave at least half of RAM to the kernel;
 * @max_order must be at most KARENA_MAX_PAGE_ORDER, since each chunk comes
 * from one alloc_pages() call, and @min_order at most @max_order.  Each
 * refusal names the parameter.
 *
 * Context: Process context.
 * Return: 0 if all are valid, -EINVAL otherwise.
 */
int ka_check_params(unsigned int arena_mb, unsigned int max_order,
		    unsigned int min_order, unsigned int dev_mode)
{
	unsigned long chunk_bytes, arena_pages;

	if (max_order > KARENA_MAX_PAGE_ORDER) {
		pr_err("max_order=%u: must be below %d\n", max_order,
		       KARENA_MAX_PAGE_ORDER + 1);
		return -EINVAL;
	}
	if (min_order > max_order) {
		pr_err("min_order=%u: must not exceed max_order=%u\n",
		       min_order, max_order);
		return -EINVAL;
	}
	chunk_bytes = PAGE_SIZE << max_order;
	if (!arena_mb || ((u64)arena_mb << 20) % chunk_bytes) {
		pr_err("arena_mb=%u: must be a non-zero multiple of the %lu KiB chunk (max_order=%u)\n",
		       arena_mb, chunk_bytes >> 10, max_order);
		return -EINVAL;
	}
	arena_pages = (unsigned long)arena_mb << (20 - PAGE_SHIFT);
	if (arena_pages > totalram_pages() / 2) {
		pr_err("arena_mb=%u: more than half of RAM (%lu MiB)\n",
		       arena_mb, totalram_pages() >> (20 - PAGE_SHIFT));
		return -EINVAL;
	}
	if (dev_mode & ~0666U) {
		pr_err("dev_mode=%#o: only read/write bits (0666) are allowed\n",
		       dev_mode);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(ka_check_params);

static int __init ka_module_init(void)
{
	int ret;

	ret = ka_check_params(ka_arena_mb, ka_max_order, ka_min_order,
			      ka_dev_mode);
	if (ret)
		return ret;

	ka_debugfs_init();

	ret = ka_buddy_init();
	if (ret)
		goto err_debugfs;

	ret = ka_slab_init();
	if (ret)
		goto err_buddy;

	ret = kdev_init();
	if (ret)
		goto err_slab;

	pr_info("version %s loaded\n", KARENA_VERSION);
	return 0;

err_slab:
	ka_slab_exit();
err_buddy:
	ka_buddy_exit();
err_debugfs:
	ka_debugfs_exit();
	return ret;
}

static void __exit ka_module_exit(void)
{
	kdev_exit();
	ka_slab_exit();
	ka_buddy_exit();
	ka_debugfs_exit();
	pr_info("unloaded\n");
}

module_init(ka_module_init);
module_exit(ka_module_exit);

MODULE_DESCRIPTION("Buddy page allocator and slab caches over a private arena, for kernel and user space");
MODULE_AUTHOR("The karena developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(KARENA_VERSION);
