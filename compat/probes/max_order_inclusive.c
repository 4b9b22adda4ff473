// SPDX-License-Identifier: GPL-2.0
/*
 * MAX_ORDER is itself the largest order (inclusive), not one past it:
 * Linux 6.4, commit 23baf831a32c ("mm, treewide: redefine MAX_ORDER
 * sanely"), until its rename to MAX_PAGE_ORDER in 6.8.  Compiles only
 * where a MAX_ORDER block is MAX_ORDER_NR_PAGES pages.
 */
#include <linux/build_bug.h>
#include <linux/mmzone.h>

static_assert(MAX_ORDER_NR_PAGES == 1UL << MAX_ORDER);
