/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: in-kernel API for other modules (#include <karena_kernel.h>).
 *
 * karena runs a buddy page allocator over a private arena of physical
 * pages, with slab caches on top.  This header is what another module
 * includes to allocate from it; see Documentation/ for the design and
 * Documentation/naming.rst for which names are exported.
 */
#ifndef KARENA_KERNEL_H
#define KARENA_KERNEL_H

#include <linux/bits.h>
#include <linux/gfp.h>
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

/*
 * Objects: slab caches over the arena (Documentation/slab.rst), in the
 * spirit of kmem_cache_*() and kmalloc().  Nothing sleeps.  A bad free is
 * reported in SLUB's words ("Object already free", "Invalid object
 * pointer", ...), counted and ignored.
 *
 * Cache flags; the first five have the values of the KARENA_CACHE_* user
 * cache flags of uapi/karena.h.
 */
#define KA_CACHE_HWCACHE_ALIGN		0x0001U	/* align objects to cache lines */
#define KA_CACHE_POISON			0x0002U	/* poison free objects 0x6b/0xa5 */
#define KA_CACHE_RED_ZONE		0x0004U	/* red zones 0xbb/0xcc around objects */
#define KA_CACHE_STORE_USER		0x0008U	/* track last alloc/free owner */
#define KA_CACHE_CONSISTENCY_CHECKS	0x0010U	/* check the slab on every operation */
#define KA_CACHE_FREELIST_HARDENED	0x0020U	/* obfuscate in-object free pointers */
#define KA_CACHE_FREELIST_RANDOM	0x0040U	/* shuffle each new slab's free list */
#define KA_CACHE_OFFSLAB		0x0080U	/* all metadata outside the slab pages */
#define KA_CACHE_NO_MAGAZINE		0x0100U	/* no per-CPU magazines */
#define KA_CACHE_FLAGS_MASK		0x01ffU

struct ka_cache;

struct ka_cache *karena_cache_create(const char *name, unsigned int size,
				     unsigned int align, unsigned int flags,
				     void (*ctor)(void *obj));
int karena_cache_destroy(struct ka_cache *cache);
int karena_cache_shrink(struct ka_cache *cache);
void *karena_cache_alloc(struct ka_cache *cache, gfp_t gfp);
void karena_cache_free(struct ka_cache *cache, void *obj);
int karena_cache_alloc_bulk(struct ka_cache *cache, gfp_t gfp, size_t nr,
			    void **objs);
void karena_cache_free_bulk(struct ka_cache *cache, size_t nr, void **objs);

/* Untyped memory: classes of 8 to 8192 bytes, whole pages above. */
void *karena_kmalloc(size_t size, gfp_t gfp);
void *karena_krealloc(const void *p, size_t new_size, gfp_t gfp);
void karena_kfree(const void *p);
size_t karena_ksize(const void *p);
size_t karena_kmalloc_size_roundup(size_t size);

static inline void *karena_kzalloc(size_t size, gfp_t gfp)
{
	return karena_kmalloc(size, gfp | __GFP_ZERO);
}

#endif /* KARENA_KERNEL_H */
