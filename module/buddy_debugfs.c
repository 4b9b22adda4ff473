// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the buddy layer's debugfs files, in /sys/kernel/debug/karena/.
 *
 *   buddyinfo       free blocks per order, one line per chunk and a total
 *                   line, in the shape of /proc/buddyinfo
 *   unusable_index  the kernel's unusable free space index per order
 *   extfrag_index   the kernel's fragmentation index per order
 *   arena           key=value summary: pages by state, bad frees, ...
 *   order_stats     per-order counters (a table)
 *   pcp             per-CPU page list counters (a table)
 *   validate        write 1 to run ka_arena_validate() (result in dmesg)
 *   hold            root-only knob that allocates blocks from the arena
 *                   and holds them, for demonstrations and teaching
 *   fail_page/      fault injection for allocations (fault-inject.rst)
 *
 * Documentation/buddy.rst shows each file with sample output and defines
 * every column.  debugfs is never needed for correctness: return values
 * of debugfs_create_*() are not checked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/math64.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "buddy_internal.h"

/* The files ka_arena_debugfs_init() made, removed at exit. */
static struct dentry *ka_dentries[9];

/* === Snapshots === */

/*
 * Free blocks per chunk and order, counted from the free lists under
 * arena->lock: a consistent picture.  Row nr_chunks is the total.
 */
static unsigned long *ka_free_counts(struct ka_arena *arena)
{
	unsigned int orders = arena->max_order + 1, o;
	struct ka_page_desc *d;
	unsigned long *counts;

	counts = kcalloc((arena->nr_chunks + 1) * orders, sizeof(*counts),
			 GFP_KERNEL);
	if (!counts)
		return NULL;
	spin_lock_irq(&arena->lock);
	for (o = 0; o < orders; o++) {
		list_for_each_entry(d, &arena->free_list[o], lru)
			counts[ka_desc_chunk(arena, d) * orders + o]++;
		counts[arena->nr_chunks * orders + o] =
			arena->nr_free_blocks[o];
	}
	spin_unlock_irq(&arena->lock);
	return counts;
}

static void ka_line_prefix(struct seq_file *m, struct ka_arena *arena,
			   unsigned int chunk)
{
	if (chunk < arena->nr_chunks)
		seq_printf(m, "Chunk %3u, arena %8s ", chunk, arena->name);
	else
		seq_printf(m, "Total    , arena %8s ", arena->name);
}

/* === buddyinfo === */

static int buddyinfo_show(struct seq_file *m, void *v)
{
	struct ka_arena *arena = m->private;
	unsigned int orders = arena->max_order + 1, c, o;
	unsigned long *counts = ka_free_counts(arena);

	if (!counts)
		return -ENOMEM;
	for (c = 0; c <= arena->nr_chunks; c++) {
		ka_line_prefix(m, arena, c);
		for (o = 0; o < orders; o++)
			seq_printf(m, "%6lu ", counts[c * orders + o]);
		seq_putc(m, '\n');
	}
	kfree(counts);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(buddyinfo);

/* === Fragmentation indices (mm/vmstat.c) === */

/**
 * ka_fill_contig() - the inputs of the fragmentation indices for one order.
 * @nr_free: free blocks per order, @orders entries.
 * @orders: number of orders (max_order + 1).
 * @order: the order j asked about.
 * @info: filled with F, B and S_j as mm/vmstat.c defines them.
 *
 * Context: Any context.
 */
void ka_fill_contig(const unsigned long *nr_free, unsigned int orders,
		    unsigned int order, struct ka_contig_info *info)
{
	unsigned int o;

	memset(info, 0, sizeof(*info));
	for (o = 0; o < orders; o++) {
		info->free_blocks_total += nr_free[o];
		info->free_pages += nr_free[o] << o;
		if (o >= order)
			info->free_blocks_suitable += nr_free[o] << (o - order);
	}
}
EXPORT_SYMBOL_IF_KUNIT(ka_fill_contig);

/**
 * ka_unusable_index() - the unusable free space index, times 1000.
 * @order: the order j.
 * @info: from ka_fill_contig().
 *
 * U_j = (F - S_j * 2^j) / F, or 1 if nothing is free (mm/vmstat.c).
 *
 * Context: Any context.
 * Return: U_j * 1000, 0..1000.
 */
int ka_unusable_index(unsigned int order, const struct ka_contig_info *info)
{
	if (!info->free_pages)
		return 1000;
	return div64_u64((info->free_pages -
			  (info->free_blocks_suitable << order)) * 1000ULL,
			 info->free_pages);
}
EXPORT_SYMBOL_IF_KUNIT(ka_unusable_index);

/**
 * ka_extfrag_index() - the fragmentation index, times 1000.
 * @order: the order j.
 * @info: from ka_fill_contig().
 *
 * As __fragmentation_index() in mm/vmstat.c: 0 if nothing is free, -1 if
 * a block of order j is free (the allocation would succeed), else
 * 1 - (1 + F / 2^j) / B.  Near 0: too little memory; near 1: too
 * fragmented.
 *
 * Context: Any context.
 * Return: FI_j * 1000, -1000 or 0..1000.
 */
int ka_extfrag_index(unsigned int order, const struct ka_contig_info *info)
{
	unsigned long requested = 1UL << order;

	if (!info->free_blocks_total)
		return 0;
	if (info->free_blocks_suitable)
		return -1000;
	return 1000 - div64_u64(1000 + div64_u64(info->free_pages * 1000ULL,
						 requested),
				info->free_blocks_total);
}
EXPORT_SYMBOL_IF_KUNIT(ka_extfrag_index);

static int ka_index_show(struct seq_file *m, bool extfrag)
{
	struct ka_arena *arena = m->private;
	unsigned int orders = arena->max_order + 1, c, o;
	unsigned long *counts = ka_free_counts(arena);
	struct ka_contig_info info;
	int index;

	if (!counts)
		return -ENOMEM;
	for (c = 0; c <= arena->nr_chunks; c++) {
		ka_line_prefix(m, arena, c);
		for (o = 0; o < orders; o++) {
			ka_fill_contig(&counts[c * orders], orders, o, &info);
			if (extfrag) {
				index = ka_extfrag_index(o, &info);
				seq_printf(m, "%2d.%03d ", index / 1000,
					   abs(index) % 1000);
			} else {
				index = ka_unusable_index(o, &info);
				seq_printf(m, "%d.%03d ", index / 1000,
					   index % 1000);
			}
		}
		seq_putc(m, '\n');
	}
	kfree(counts);
	return 0;
}

static int unusable_index_show(struct seq_file *m, void *v)
{
	return ka_index_show(m, false);
}
DEFINE_SHOW_ATTRIBUTE(unusable_index);

static int extfrag_index_show(struct seq_file *m, void *v)
{
	return ka_index_show(m, true);
}
DEFINE_SHOW_ATTRIBUTE(extfrag_index);

/* === arena: the summary === */

static const char * const ka_bad_free_key[KA_BAD_NR] = {
	[KA_BAD_OUTSIDE]	= "bad_free_outside",
	[KA_BAD_INTERIOR]	= "bad_free_interior",
	[KA_BAD_ORDER]		= "bad_free_wrong_order",
	[KA_BAD_FREE]		= "bad_free_already_free",
};

static int arena_show(struct seq_file *m, void *v)
{
	struct ka_arena *arena = m->private;
	unsigned long state[KA_PAGE_NR_STATES], blocks = 0, flags;
	int largest = -1;
	unsigned int s, o;

	/* Every lock, so that the states add up to the total. */
	mutex_lock(&arena->validate_lock);
	ka_pcp_lock_all(arena, &flags);
	spin_lock(&arena->lock);
	state[KA_PAGE_FREE] = arena->nr_free;
	for (s = KA_PAGE_PCP; s < KA_PAGE_NR_STATES; s++)
		state[s] = atomic_long_read(&arena->nr_state[s]);
	for (o = 0; o <= arena->max_order; o++) {
		blocks += arena->nr_free_blocks[o];
		if (arena->nr_free_blocks[o])
			largest = o;
	}
	spin_unlock(&arena->lock);
	ka_pcp_unlock_all(arena, flags);
	mutex_unlock(&arena->validate_lock);

	seq_printf(m, "name=%s\n", arena->name);
	seq_printf(m, "chunks=%u\n", arena->nr_chunks);
	seq_printf(m, "max_order=%u\n", arena->max_order);
	seq_printf(m, "pages=%lu\n", arena->nr_pages);
	for (s = 0; s < KA_PAGE_NR_STATES; s++)
		seq_printf(m, "%s=%lu\n", ka_page_state_name(s), state[s]);
	seq_printf(m, "free_blocks=%lu\n", blocks);
	seq_printf(m, "largest_free_order=%d\n", largest);
	seq_puts(m, "pcp_high=");
	for (o = 0; o < KA_PCP_ORDERS; o++)
		seq_printf(m, "%u%c", arena->pcp_high[o],
			   o + 1 < KA_PCP_ORDERS ? ' ' : '\n');
	seq_puts(m, "pcp_batch=");
	for (o = 0; o < KA_PCP_ORDERS; o++)
		seq_printf(m, "%u%c", arena->pcp_batch[o],
			   o + 1 < KA_PCP_ORDERS ? ' ' : '\n');
	for (s = 0; s < KA_BAD_NR; s++)
		seq_printf(m, "%s=%ld\n", ka_bad_free_key[s],
			   atomic_long_read(&arena->bad_free[s]));
	seq_printf(m, "validate_runs=%ld\n",
		   atomic_long_read(&arena->validate_runs));
	seq_printf(m, "validate_failures=%ld\n",
		   atomic_long_read(&arena->validate_failures));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(arena);

/* === order_stats and pcp: tables === */

static int order_stats_show(struct seq_file *m, void *v)
{
	struct ka_arena *arena = m->private;
	unsigned long free[KA_MAX_ORDER + 1], splits[KA_MAX_ORDER + 1];
	unsigned long merges[KA_MAX_ORDER + 1];
	unsigned int o;

	spin_lock_irq(&arena->lock);
	for (o = 0; o <= arena->max_order; o++) {
		free[o] = arena->nr_free_blocks[o];
		splits[o] = arena->stats[o].splits;
		merges[o] = arena->stats[o].merges;
	}
	spin_unlock_irq(&arena->lock);

	seq_printf(m, "%5s %11s %11s %11s %11s %11s %11s\n", "order",
		   "free_blocks", "allocs", "frees", "splits", "merges",
		   "failures");
	for (o = 0; o <= arena->max_order; o++) {
		struct ka_order_stats *st = &arena->stats[o];

		seq_printf(m, "%5u %11lu %11ld %11ld %11lu %11lu %11ld\n", o,
			   free[o], atomic_long_read(&st->allocs),
			   atomic_long_read(&st->frees), splits[o], merges[o],
			   atomic_long_read(&st->failures));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(order_stats);

static int pcp_show(struct seq_file *m, void *v)
{
	struct ka_arena *arena = m->private;
	unsigned int cpu, o;

	seq_printf(m, "%4s %7s %7s %7s %7s %11s %11s %11s\n", "cpu", "order0",
		   "order1", "order2", "order3", "hits", "refills", "drains");
	for_each_possible_cpu(cpu) {
		struct ka_pcp *pcp = per_cpu_ptr(arena->pcp, cpu);
		unsigned int count[KA_PCP_ORDERS];
		unsigned long hits, refills, drains;

		spin_lock_irq(&pcp->lock);
		for (o = 0; o < KA_PCP_ORDERS; o++)
			count[o] = pcp->count[o];
		hits = pcp->hits;
		refills = pcp->refills;
		drains = pcp->drains;
		spin_unlock_irq(&pcp->lock);

		seq_printf(m, "%4u", cpu);
		for (o = 0; o < KA_PCP_ORDERS; o++)
			seq_printf(m, " %7u", count[o]);
		seq_printf(m, " %11lu %11lu %11lu\n", hits, refills, drains);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pcp);

/* === validate: write-only trigger === */

static ssize_t validate_write(struct file *file, const char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct ka_arena *arena = file->private_data;
	unsigned int val;
	int ret;

	ret = kstrtouint_from_user(buf, count, 0, &val);
	if (ret)
		return ret;
	if (val != 1)
		return -EINVAL;
	ret = ka_arena_validate(arena);
	if (ret < 0)
		return ret;
	if (ret)
		pr_err("validate: arena %s: %d problems\n", arena->name, ret);
	else
		pr_info("validate: arena %s: ok, %lu pages checked\n",
			arena->name, arena->nr_pages);
	return count;
}

static const struct file_operations validate_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= validate_write,
};

/* === hold: allocate by hand === */

/*
 * Blocks allocated through the hold file, linked through their head
 * descriptor's lru (the owner's link while allocated) and owned by
 * &ka_hold_list.  All three are protected by ka_hold_lock.
 */
static DEFINE_MUTEX(ka_hold_lock);
static LIST_HEAD(ka_hold_list);
static unsigned long ka_hold_blocks, ka_hold_pages;

static int ka_hold_alloc(struct ka_arena *arena, unsigned int order,
			 unsigned long count)
{
	unsigned long i;

	lockdep_assert_held(&ka_hold_lock);
	for (i = 0; i < count; i++) {
		struct page *page = ka_alloc_pages(arena, 0, order);

		if (!page)
			return -ENOMEM;
		ka_block_set_owner(arena, page, KA_PAGE_BLOCK, &ka_hold_list);
		list_add_tail(&ka_page_desc(arena, page)->lru, &ka_hold_list);
		ka_hold_blocks++;
		ka_hold_pages += 1UL << order;
		cond_resched();
	}
	return 0;
}

/* Free every @nth held block, the first included; then drain the lists. */
static void ka_hold_free(struct ka_arena *arena, unsigned long nth)
{
	struct ka_page_desc *d, *tmp;
	unsigned long i = 0;

	lockdep_assert_held(&ka_hold_lock);
	list_for_each_entry_safe(d, tmp, &ka_hold_list, lru) {
		unsigned int order = d->order;

		if (i++ % nth)
			continue;
		list_del(&d->lru);
		ka_hold_blocks--;
		ka_hold_pages -= 1UL << order;
		ka_free_pages(arena, ka_desc_page(arena, d), order);
		cond_resched();
	}
	ka_drain_pcp(arena);
}

static int hold_show(struct seq_file *m, void *v)
{
	mutex_lock(&ka_hold_lock);
	seq_printf(m, "blocks=%lu\npages=%lu\n", ka_hold_blocks,
		   ka_hold_pages);
	mutex_unlock(&ka_hold_lock);
	return 0;
}

static int hold_open(struct inode *inode, struct file *file)
{
	return single_open(file, hold_show, inode->i_private);
}

/*
 * "alloc ORDER COUNT": hold COUNT more blocks (-ENOMEM, keeping those
 * obtained, if the arena runs out); "fill ORDER": hold blocks of ORDER
 * until the arena has none left; "free_every N": free the first held
 * block and every N-th after it; "free": free all.
 */
static ssize_t hold_write(struct file *file, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	struct ka_arena *arena = file_inode(file)->i_private;
	unsigned long n;
	unsigned int order;
	char buf[48];
	int ret = -EINVAL;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';

	mutex_lock(&ka_hold_lock);
	if (sscanf(buf, "alloc %u %lu", &order, &n) == 2) {
		if (order <= arena->max_order && n && n <= arena->nr_pages)
			ret = ka_hold_alloc(arena, order, n);
	} else if (sscanf(buf, "fill %u", &order) == 1) {
		if (order <= arena->max_order) {
			ka_hold_alloc(arena, order, arena->nr_pages);
			ret = 0;
		}
	} else if (sscanf(buf, "free_every %lu", &n) == 1) {
		if (n) {
			ka_hold_free(arena, n);
			ret = 0;
		}
	} else if (!strcmp(strim(buf), "free")) {
		ka_hold_free(arena, 1);
		ret = 0;
	}
	mutex_unlock(&ka_hold_lock);
	return ret ? ret : count;
}

static const struct file_operations hold_fops = {
	.owner		= THIS_MODULE,
	.open		= hold_open,
	.read		= seq_read,
	.write		= hold_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};

/**
 * ka_arena_debugfs_init() - add an arena's files to a debugfs directory.
 * @arena: the arena; outlives the files (ka_arena_debugfs_exit() first).
 * @parent: the directory (karena/), possibly an error pointer.
 *
 * Only one arena (the module's) has files at a time.
 *
 * Context: Process context.
 */
void ka_arena_debugfs_init(struct ka_arena *arena, struct dentry *parent)
{
	struct dentry **d = ka_dentries;

	*d++ = debugfs_create_file("buddyinfo", 0444, parent, arena,
				   &buddyinfo_fops);
	*d++ = debugfs_create_file("unusable_index", 0444, parent, arena,
				   &unusable_index_fops);
	*d++ = debugfs_create_file("extfrag_index", 0444, parent, arena,
				   &extfrag_index_fops);
	*d++ = debugfs_create_file("arena", 0444, parent, arena,
				   &arena_fops);
	*d++ = debugfs_create_file("order_stats", 0444, parent, arena,
				   &order_stats_fops);
	*d++ = debugfs_create_file("pcp", 0444, parent, arena, &pcp_fops);
	*d++ = debugfs_create_file("validate", 0200, parent, arena,
				   &validate_fops);
	*d++ = debugfs_create_file("hold", 0600, parent, arena, &hold_fops);
	*d++ = ka_fail_debugfs(arena, parent);
}

/**
 * ka_arena_debugfs_exit() - remove the files ka_arena_debugfs_init() made
 * and free the blocks held through the hold file.
 * @arena: the arena given to ka_arena_debugfs_init().
 *
 * Context: Process context; no file can be open (each holds a module
 * reference).
 */
void ka_arena_debugfs_exit(struct ka_arena *arena)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ka_dentries); i++) {
		debugfs_remove(ka_dentries[i]);
		ka_dentries[i] = NULL;
	}
	mutex_lock(&ka_hold_lock);
	ka_hold_free(arena, 1);
	mutex_unlock(&ka_hold_lock);
}
