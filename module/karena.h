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

#define KARENA_VERSION "0.1.0"

#endif /* KARENA_H */
