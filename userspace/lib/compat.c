// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the names of libkarena 1.0, kept for programs built against
 * it (symbol version KARENA_1.0).  Until 1.1 a heap was called an arena,
 * which is also the name of the kernel's pool of pages.  Each is a tail
 * call of the new name, so a trace still sees the program as the caller.
 */
#include "internal.h"

#define KA_COMPAT	__attribute__((visibility("default")))

KA_COMPAT struct ka_heap *ka_default_arena(void)
{
	return ka_default_heap();
}

KA_COMPAT long ka_arena_client_id(struct ka_heap *heap)
{
	return ka_heap_client_id(heap);
}

KA_COMPAT void *ka_arena_malloc(struct ka_heap *heap, size_t size)
{
	return ka_heap_malloc(heap, size);
}

KA_COMPAT void *ka_arena_calloc(struct ka_heap *heap, size_t nmemb, size_t size)
{
	return ka_heap_calloc(heap, nmemb, size);
}

KA_COMPAT void *ka_arena_aligned_alloc(struct ka_heap *heap,
				       size_t alignment, size_t size)
{
	return ka_heap_aligned_alloc(heap, alignment, size);
}

KA_COMPAT size_t ka_arena_trim(struct ka_heap *heap)
{
	return ka_heap_trim(heap);
}

KA_COMPAT int ka_arena_stats(struct ka_heap *heap, struct ka_stats *st)
{
	return ka_heap_stats(heap, st);
}

KA_COMPAT struct mallinfo2 ka_arena_mallinfo(struct ka_heap *heap)
{
	return ka_heap_mallinfo(heap);
}

KA_COMPAT int ka_arena_info(struct ka_heap *heap, FILE *fp)
{
	return ka_heap_info(heap, fp);
}
