/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena's one compatibility header: what differs between the kernels
 * karena builds on (Linux 6.1 to the newest Debian ships), decided by the
 * compile probes of compat/probes/ (results in karena_compat_probes.h,
 * written by compat/probe.sh before each build), never by the kernel's
 * version number.  The code is written against the newest kernel's API;
 * this header supplies it on older kernels.  Each block names its probe,
 * whose comment names the kernel change.
 */
#ifndef KARENA_COMPAT_H
#define KARENA_COMPAT_H

#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/stringify.h>

#include "karena_compat_probes.h"

/*
 * KARENA_MAX_PAGE_ORDER - the largest order alloc_pages() hands out.
 * Probes max_page_order (6.8 rename) and max_order_inclusive (6.4: until
 * then MAX_ORDER was one past the largest order).
 */
#if KARENA_HAVE_MAX_PAGE_ORDER
#define KARENA_MAX_PAGE_ORDER	MAX_PAGE_ORDER
#elif KARENA_HAVE_MAX_ORDER_INCLUSIVE
#define KARENA_MAX_PAGE_ORDER	MAX_ORDER
#else
#define KARENA_MAX_PAGE_ORDER	(MAX_ORDER - 1)
#endif

/*
 * vm_flags_set(), vm_flags_clear() - change a VMA's flags (probe
 * vm_flags_set: 6.3 made vma->vm_flags read-only).  The caller holds the
 * mmap lock for writing, as in ->mmap().
 */
#if !KARENA_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma,
				unsigned long flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * nth_page() - the @n-th page after @page in one buddy block (probe
 * nth_page: removed once a block's struct pages are always contiguous,
 * which they are then).
 */
#if !KARENA_HAVE_NTH_PAGE
#define nth_page(page, n)	((page) + (n))
#endif

/*
 * KARENA_IMPORT_NS() - MODULE_IMPORT_NS() of a namespace given as an
 * identifier (probe module_import_ns_ident: 6.13 takes a string).
 */
#if KARENA_HAVE_MODULE_IMPORT_NS_IDENT
#define KARENA_IMPORT_NS(ns)	MODULE_IMPORT_NS(ns)
#else
#define KARENA_IMPORT_NS(ns)	MODULE_IMPORT_NS(__stringify(ns))
#endif

/*
 * KARENA_GEN_PARAMS_ARGS - the parameters of a KUnit parameter generator
 * written by hand: (test, prev, desc) where the generator gets the test
 * (probe kunit_gen_params_test), (prev, desc) before.
 */
#if KARENA_HAVE_KUNIT_GEN_PARAMS_TEST
#define KARENA_GEN_PARAMS_ARGS	struct kunit *test, const void *prev, char *desc
#else
#define KARENA_GEN_PARAMS_ARGS	const void *prev, char *desc
#endif

#endif /* KARENA_COMPAT_H */
