// SPDX-License-Identifier: GPL-2.0
/*
 * karena_bench: page workloads, karena's buddy layer against the kernel's
 * page allocator (alloc_pages()/__free_pages(), alloc_pages_bulk_array()).
 *
 * No side zeroes unless the workload's name ends in "-zero" (then
 * KARENA_ALLOC_ZERO against __GFP_ZERO).  The kernel is booted with
 * init_on_alloc=0 for the same reason (bench/run.sh).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/string.h>

#include "bench.h"
#include <karena_kernel.h>

/* Pages of the longest bulk array. */
#define KB_BULK_PAGES	64

static __always_inline u64 kb_pages_loop(bool ours, unsigned int order,
					 bool zero, unsigned int n)
{
	gfp_t gfp = GFP_KERNEL | (zero ? __GFP_ZERO : 0);
	unsigned int k;
	struct page *p;
	u64 start;

	start = ktime_get_ns();
	for (k = 0; k < n; k++) {
		if (ours) {
			p = karena_alloc_pages(zero ? KARENA_ALLOC_ZERO : 0,
					       order);
			if (unlikely(!p))
				return 0;
			karena_free_pages(p, order);
		} else {
			p = alloc_pages(gfp, order);
			if (unlikely(!p))
				return 0;
			__free_pages(p, order);
		}
	}
	return kb_ps_per_op(start, n);
}

/* arg: order; arg2: 1 to zero.  One op: one block allocated and freed. */
static u64 kb_pages(const struct kb_workload *w, bool ours)
{
	unsigned int n = kb_iters(w->arg <= 1 ? 60000 :
				  w->arg <= 4 ? 15000 : 1500);
	u64 ps;

	if (w->arg2)
		n = kb_iters(6000);
	migrate_disable();
	ps = ours ? kb_pages_loop(true, w->arg, w->arg2, n) :
		    kb_pages_loop(false, w->arg, w->arg2, n);
	migrate_enable();
	return ps;
}

static __always_inline u64 kb_bulk_pages_loop(bool ours, struct page **pages,
					      unsigned int nr,
					      unsigned int rounds)
{
	unsigned int r;
	u64 start;

	start = ktime_get_ns();
	for (r = 0; r < rounds; r++) {
		memset(pages, 0, nr * sizeof(*pages));
		if (ours) {
			if (karena_alloc_pages_bulk_array(0, nr, pages) != nr)
				goto fail;
			karena_free_pages_bulk_array(nr, pages);
		} else {
			if (alloc_pages_bulk_array(GFP_KERNEL, nr, pages) != nr)
				goto fail;
			release_pages(pages, nr);
		}
	}
	return kb_ps_per_op(start, (u64)rounds * nr);

fail:
	if (ours)
		karena_free_pages_bulk_array(nr, pages);
	else
		for (r = 0; r < nr; r++)
			if (pages[r])
				__free_pages(pages[r], 0);
	return 0;
}

/*
 * arg: pages per array.  The kernel has no bulk free of its own for
 * pages that are not in the page cache; release_pages() frees a whole
 * array with one pass over the per-CPU lists, so it is the reference.
 * One op: one page allocated and freed.
 */
static u64 kb_bulk_pages(const struct kb_workload *w, bool ours)
{
	unsigned int rounds = max(1U, kb_iters(60000) / w->arg);
	struct page *pages[KB_BULK_PAGES];
	u64 ps;

	if (w->arg > KB_BULK_PAGES)
		return 0;
	migrate_disable();
	ps = ours ? kb_bulk_pages_loop(true, pages, w->arg, rounds) :
		    kb_bulk_pages_loop(false, pages, w->arg, rounds);
	migrate_enable();
	return ps;
}

const struct kb_workload kb_page_workloads[] = {
	{ "k.pages-o0",		kb_pages,	0,	0 },
	{ "k.pages-o1",		kb_pages,	1,	0 },
	{ "k.pages-o3",		kb_pages,	3,	0 },
	{ "k.pages-o4",		kb_pages,	4,	0 },
	{ "k.pages-o9",		kb_pages,	9,	0 },
	{ "k.pages-o0-zero",	kb_pages,	0,	1 },
	{ "k.pages-bulk-64",	kb_bulk_pages,	64,	0 },
};

const unsigned int kb_nr_page_workloads = ARRAY_SIZE(kb_page_workloads);
