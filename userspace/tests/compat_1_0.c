// SPDX-License-Identifier: GPL-2.0
/*
 * A program written against libkarena 1.0, when a heap was called an
 * arena: built with every warning an error but the deprecation ones, so
 * that the build fails if an old name disappears (make userspace).
 */
#include <karena.h>

int main(void)
{
	struct ka_arena *a = ka_default_arena();
	struct ka_cache *c;
	struct ka_stats st;
	void *p;

	c = ka_cache_create(a, "compat", 32, 0,
			    KA_CACHE_HWALIGN | KA_CACHE_REDZONE |
			    KA_CACHE_TRACK | KA_CACHE_CONSISTENCY);
	p = ka_arena_calloc(a, 1, 10);
	ka_free(p);
	p = ka_arena_aligned_alloc(a, 64, 10);
	ka_free(p);
	ka_free(ka_arena_malloc(a, 10));
	ka_arena_trim(a);
	ka_arena_stats(a, &st);
	ka_arena_mallinfo(a);
	ka_arena_info(a, NULL);
	ka_cache_destroy(c);
	return ka_arena_client_id(a) < 0;
}
