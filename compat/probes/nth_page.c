// SPDX-License-Identifier: GPL-2.0
/*
 * nth_page(), the n-th struct page after a page in a possibly
 * discontiguous memmap: removed by the series "mm: remove nth_page()"
 * (2025; in 6.12, gone by 7.x), once the struct pages of a buddy block or
 * folio were made contiguous on every memory model.
 */
#include <linux/mm.h>

struct page *karena_probe(struct page *page);
struct page *karena_probe(struct page *page)
{
	return nth_page(page, 1);
}
