/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: in-kernel API for other modules.
 *
 * karena runs a buddy page allocator over a private arena of physical
 * pages, with slab caches on top.  This header is what another module
 * includes to allocate from it; see Documentation/ for the design.
 */
#ifndef KARENA_H
#define KARENA_H

#include <linux/bits.h>
#include <linux/types.h>

#define KARENA_VERSION "0.1.0"

struct page;

/*
 * Pages: a buddy allocator over karena's arena (Documentation/buddy.rst).
 * Blocks are 2^order physically contiguous pages aligned to their size,
 * order at most the module's max_order parameter.  Bad frees are refused
 * (-EINVAL), counted and reported, never trusted.
 */
#define KARENA_ALLOC_ZERO	BIT(0)	/* zero the pages */
#define KARENA_ALLOC_NOPCP	BIT(1)	/* bypass the per-CPU page lists */

struct page *karena_alloc_pages(unsigned int flags, unsigned int order);
int karena_free_pages(struct page *page, unsigned int order);
unsigned long karena_alloc_pages_bulk_array(unsigned int flags,
					    unsigned long nr,
					    struct page **pages);
void karena_free_pages_bulk_array(unsigned long nr, struct page **pages);

#endif /* KARENA_H */
