// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the debugfs root, /sys/kernel/debug/karena/.
 *
 * debugfs is never needed for correctness: its return values are not
 * checked, and a kernel without it still runs karena.  Each layer adds
 * its own files under ka_debugfs_root.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "internal.h"

struct dentry *ka_debugfs_root;

static int version_show(struct seq_file *m, void *v)
{
	seq_printf(m, "version=%s\n", KARENA_VERSION);
	seq_printf(m, "arena_mb=%u\n", ka_arena_mb);
	seq_printf(m, "max_order=%u\n", ka_max_order);
	seq_printf(m, "min_order=%u\n", ka_min_order);
	seq_printf(m, "page_size=%lu\n", PAGE_SIZE);
	seq_printf(m, "dev_mode=%#o\n", ka_dev_mode);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(version);

/**
 * ka_debugfs_init() - create /sys/kernel/debug/karena/ and its
 * module-wide files.
 *
 * Context: Process context, module load.
 * Return: 0; debugfs failures are not errors.
 */
int ka_debugfs_init(void)
{
	ka_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("version", 0400, ka_debugfs_root, NULL,
			    &version_fops);
	return 0;
}

/**
 * ka_debugfs_exit() - remove every karena debugfs file.
 *
 * Context: Process context, module unload; no file can be open (each
 * holds a module reference).
 */
void ka_debugfs_exit(void)
{
	debugfs_remove(ka_debugfs_root);
	ka_debugfs_root = NULL;
}
