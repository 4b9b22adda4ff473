// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the page map, the start bitmap and the live map of a window.
 *
 * The kernel keeps its metadata out of the window, and so does the
 * library: a stray write into the heap cannot corrupt either.  The page
 * map says what each window page is (a slab page of one slot, a block's
 * head page, another page of a block); it is learnt from the offsets the
 * kernel hands out, since each slab page belongs to exactly one cache
 * until all its objects have come back.  The start bitmap marks where
 * objects begin; the live map marks the objects the program owns.
 *
 * A free is good exactly when its address is a start whose live byte is
 * set, and it clears the byte.  The live map has a byte, not a bit, per
 * grain so that setting and clearing is a plain store that cannot lose a
 * neighbour's update: objects next to each other belong to different
 * threads, and a bit would need a locked read-modify-write on every
 * malloc and free (the fast paths' most expensive instruction).  The
 * price: 1 byte of table per 8 bytes of heap where objects live, instead
 * of 1 bit; and a double free that races with itself, the same pointer
 * freed by two threads at the same instant, can pass both checks.  The
 * duplicate then sits in two magazines; it is reported when it is handed
 * out a second time while live ("inconsistent state ... handed out
 * twice") or, at the latest, when the kernel refuses the second free of
 * a batch.  A double free in any order the program's own synchronisation
 * defines (the common case: the same thread, or a pointer passed on) is
 * found at the second free, as before.
 *
 * Start bits of a page are cleared when the page changes owner; a slab
 * released and made again at the same place for the same cache may leave
 * old starts behind, which can only turn an "invalid pointer" report into
 * a "double free" one, never let a bad free through (its live byte is
 * clear).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define BITS_PER_LONG	(8 * sizeof(unsigned long))

static size_t ka_pm_grain(__u64 off)
{
	return off >> KA_GRAIN_SHIFT;
}

/**
 * _ka_pm_init() - map the (sparse, lazily backed) tables of a window.
 * @pm: the page map.
 * @window_bytes: the window's size.
 * @page_shift: log2 of the page size.
 *
 * Return: 0, or -ENOMEM.
 */
int _ka_pm_init(struct ka_pagemap *pm, size_t window_bytes,
		unsigned int page_shift)
{
	size_t grains = window_bytes >> KA_GRAIN_SHIFT;

	memset(pm, 0, sizeof(*pm));
	pm->page_shift = page_shift;
	pm->pages = window_bytes >> page_shift;
	pm->map_bytes = pm->pages * sizeof(*pm->map);
	pm->bits_bytes = _ka_align_up(grains, BITS_PER_LONG) / 8;
	pm->live_bytes = grains;
	pm->map = _ka_prim_anon(pm->map_bytes);
	pm->start = _ka_prim_anon(pm->bits_bytes);
	pm->live = _ka_prim_anon(pm->live_bytes);
	if (!pm->map || !pm->start || !pm->live) {
		_ka_pm_destroy(pm);
		return -ENOMEM;
	}
	return 0;
}

/**
 * _ka_pm_destroy() - unmap the tables.
 * @pm: the page map.
 */
void _ka_pm_destroy(struct ka_pagemap *pm)
{
	if (pm->map)
		_ka_prim_unmap(pm->map, pm->map_bytes);
	if (pm->start)
		_ka_prim_unmap(pm->start, pm->bits_bytes);
	if (pm->live)
		_ka_prim_unmap(pm->live, pm->live_bytes);
	memset(pm, 0, sizeof(*pm));
}

/* Clear the start bits of one page: it has a new owner. */
static void ka_pm_clear_starts(struct ka_pagemap *pm, size_t page)
{
	size_t first = ka_pm_grain((__u64)page << pm->page_shift);
	size_t n = (1UL << pm->page_shift) >> KA_GRAIN_SHIFT, i;

	/* A page is a whole number of bitmap words. */
	for (i = first / BITS_PER_LONG; i < (first + n) / BITS_PER_LONG; i++)
		__atomic_store_n(&pm->start[i], 0, __ATOMIC_RELAXED);
}

/*
 * Give a page its entry.  A page that changes owner (a new slab or block
 * on a page the window showed before) loses its old start bits first.
 * Several threads may learn objects of one new slab at once, each from
 * its own ALLOC_BULK: one of them must not clear the page's start bits
 * after another has set its object's.  So the thread that changes the
 * entry holds the page as KA_PM_BUSY while it clears, and the others
 * wait until the new entry is there (a few stores; acquire pairs with
 * the release below, so their start bits come after the clearing).
 */
static void ka_pm_set(struct ka_pagemap *pm, size_t page, __u32 entry)
{
	__u32 old = __atomic_load_n(&pm->map[page], __ATOMIC_ACQUIRE);
	unsigned int spins = 0;

	for (;;) {
		if (old == entry)
			return;
		if (old == KA_PM_BUSY) {
			/* Its holder may have been preempted: let it run. */
			if (++spins % 64 == 0)
				_ka_prim_yield();
			else
				_ka_cpu_relax();
			old = __atomic_load_n(&pm->map[page], __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_compare_exchange_n(&pm->map[page], &old,
						KA_PM_BUSY, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE))
			break;
	}
	if (KA_PM_KIND(old) != KA_PM_NONE)
		ka_pm_clear_starts(pm, page);
	__atomic_store_n(&pm->map[page], entry, __ATOMIC_RELEASE);
}

/**
 * _ka_pm_learn_object() - the kernel handed out an object of a slot.
 * @pm: the page map.
 * @off: its window offset.
 * @len: its stride.
 * @slot: its slot.
 *
 * Context: the object is not yet visible to any other thread.
 */
void _ka_pm_learn_object(struct ka_pagemap *pm, __u64 off, __u32 len,
			 unsigned int slot)
{
	size_t first = off >> pm->page_shift;
	size_t last = (off + len - 1) >> pm->page_shift, p;

	for (p = first; p <= last && p < pm->pages; p++)
		ka_pm_set(pm, p, KA_PM_MKSLAB(slot));
	_ka_pm_test_and_set(pm->start, off);
}

/**
 * _ka_pm_learn_block() - the kernel handed out a page block.
 * @pm: the page map.
 * @off: its window offset.
 * @order: its order.
 */
void _ka_pm_learn_block(struct ka_pagemap *pm, __u64 off,
			unsigned int order)
{
	size_t first = off >> pm->page_shift, p;

	for (p = first + 1; p < first + (1UL << order) && p < pm->pages; p++)
		ka_pm_set(pm, p, KA_PM_TAIL);
	ka_pm_set(pm, first, KA_PM_MKBLOCK(order) | KA_PM_LIVE);
}

/**
 * _ka_pm_test_and_set() - set the bit of a window offset.
 * @bits: a bitmap.
 * @off: the offset.
 *
 * Return: whether the bit was set before.
 */
bool _ka_pm_test_and_set(unsigned long *bits, __u64 off)
{
	size_t g = ka_pm_grain(off);
	unsigned long mask = 1UL << (g % BITS_PER_LONG);

	return __atomic_fetch_or(&bits[g / BITS_PER_LONG], mask,
				 __ATOMIC_ACQ_REL) & mask;
}
