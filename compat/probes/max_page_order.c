// SPDX-License-Identifier: GPL-2.0
/*
 * MAX_PAGE_ORDER, the largest order the page allocator hands out (an
 * inclusive bound): Linux 6.8, commit 5e0a760b4441 ("mm, treewide: rename
 * MAX_ORDER to MAX_PAGE_ORDER").  MAX_ORDER is gone from then on.
 */
#include <linux/mmzone.h>

int karena_probe(void);
int karena_probe(void)
{
	return MAX_PAGE_ORDER;
}
