// SPDX-License-Identifier: GPL-2.0
/*
 * karena: /sys/kernel/debug/karena/clients, one line per open client.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "client.h"
#include "internal.h"

static int clients_show(struct seq_file *m, void *v)
{
	struct kdev_client *c;
	unsigned long pages = 0, objects = 0, nr = 0;

	seq_printf(m, "%-6s %-7s %-16s %-6s %8s %8s %8s %8s %8s %8s\n",
		   "# id", "pid", "comm", "uid", "pages", "quota", "slab_pg",
		   "block_pg", "objects", "caches");
	mutex_lock(&kdev_clients_lock);
	list_for_each_entry(c, &kdev_clients, node) {
		mutex_lock(&c->lock);
		seq_printf(m, "%-6lu %-7d %-16s %-6u %8lu %8lu %8lu %8lu %8lu %8u\n",
			   c->id, c->pid, c->comm,
			   from_kuid_munged(&init_user_ns, c->user->uid),
			   c->bytes >> PAGE_SHIFT, c->quota >> PAGE_SHIFT,
			   c->slab_bytes >> PAGE_SHIFT,
			   c->block_bytes >> PAGE_SHIFT, c->objects,
			   c->nr_caches);
		pages += c->bytes >> PAGE_SHIFT;
		objects += c->objects;
		nr++;
		mutex_unlock(&c->lock);
	}
	mutex_unlock(&kdev_clients_lock);
	seq_printf(m, "# total: %lu clients, %lu pages, %lu objects\n", nr,
		   pages, objects);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(clients);

/**
 * kdev_client_debugfs_init() - create the clients file.
 *
 * Context: Process context, module load.
 */
void kdev_client_debugfs_init(void)
{
	debugfs_create_file("clients", 0400, ka_debugfs_root, NULL,
			    &clients_fops);
}
