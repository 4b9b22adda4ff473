// SPDX-License-Identifier: GPL-2.0
/*
 * A worked example of libkarena: count the words of a text with
 *
 *   - ka_malloc()/ka_realloc() for the words and a growing array,
 *   - an object cache for the hash table's nodes (one kernel slab cache,
 *     visible in debugfs as u<client>.<id>:example.node),
 *   - a page block for a physically contiguous scratch buffer,
 *
 * then show what the library and the kernel counted.  With --then CMD
 * it runs CMD (say, karena-stat) while everything is still allocated.
 *
 * Build: cc example.c $(pkg-config --cflags --libs karena)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <karena.h>

struct node {
	struct node *next;
	char *word;
	unsigned long count;
};

#define BUCKETS 256

static const char text[] = {
	"the buddy allocator splits blocks in halves and merges them back the slab allocator cuts blocks into objects of one size and keeps free objects in magazines so that most allocations need no lock and the kernel hands these objects to userspace through a window"
};

static unsigned int hash(const char *s)
{
	unsigned int h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % BUCKETS;
}

int main(int argc, char **argv)
{
	struct node *table[BUCKETS] = { NULL }, *n, *next;
	struct ka_cache_kstats ks;
	struct ka_cache *nodes;
	struct mallinfo2 mi;
	char **words = NULL, *copy, *w, *save;
	size_t nr = 0, i;
	unsigned char *buf;

	/* 1. An object cache: every node is an object of one kernel slab cache. */
	nodes = ka_cache_create(NULL, "example.node", sizeof(struct node), 0, 0);
	if (!nodes) {
		fprintf(stderr, "ka_cache_create: %s\n", strerror(errno));
		return 1;
	}

	/* 2. The malloc family: words, and an array that grows with realloc. */
	copy = ka_malloc(sizeof(text));
	memcpy(copy, text, sizeof(text));
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		unsigned int h = hash(w);

		for (n = table[h]; n && strcmp(n->word, w); n = n->next)
			;
		if (!n) {
			n = ka_cache_alloc(nodes);
			n->word = ka_malloc(strlen(w) + 1);
			strcpy(n->word, w);
			n->count = 0;
			n->next = table[h];
			table[h] = n;
			words = ka_realloc(words, (nr + 1) * sizeof(*words));
			words[nr++] = n->word;
		}
		n->count++;
	}
	printf("%zu distinct words; counts of the first five:", nr);
	for (i = 0; i < 5 && i < nr; i++)
		for (n = table[hash(words[i])]; n; n = n->next)
			if (n->word == words[i])
				printf(" %s=%lu", n->word, n->count);
	printf("\n");

	/* 3. A page block: 2^4 physically contiguous pages, zeroed. */
	buf = ka_pages_alloc(NULL, 4);
	printf("page block of order 4 at %p (aligned to its size: %s)\n",
	       (void *)buf, ((unsigned long)buf & (16 * 4096 - 1)) ? "no" : "yes");

	/* 4. What the library counted, mallinfo2-style. */
	mi = ka_mallinfo();
	printf("mallinfo: arena=%zu uordblks=%zu fordblks=%zu hblks=%zu hblkhd=%zu keepcost=%zu\n",
	       mi.arena, mi.uordblks, mi.fordblks, mi.hblks, mi.hblkhd,
	       mi.keepcost);

	/* 5. What the kernel counted for the node cache (needs debugfs). */
	if (!ka_cache_stats(nodes, &ks))
		printf("kernel cache %s: %llu objects of %llu bytes in %llu slabs\n",
		       ks.name, (unsigned long long)ks.objects,
		       (unsigned long long)ks.object_size,
		       (unsigned long long)ks.slabs);
	else
		printf("kernel cache statistics: %s\n", ka_errmsg());

	if (argc > 2 && !strcmp(argv[1], "--then")) {
		fflush(stdout);
		if (system(argv[2]))
			fprintf(stderr, "example: '%s' failed\n", argv[2]);
	}

	/* 6. Give everything back; the cache must be empty to go. */
	ka_pages_free(buf);
	for (i = 0; i < BUCKETS; i++) {
		for (n = table[i]; n; n = next) {
			next = n->next;
			ka_free(n->word);
			ka_cache_free(nodes, n);
		}
	}
	ka_free(words);
	ka_free(copy);
	if (ka_cache_destroy(nodes))
		fprintf(stderr, "ka_cache_destroy: %s\n", strerror(errno));
	mi = ka_mallinfo();
	printf("after freeing: uordblks=%zu hblks=%zu\n", mi.uordblks, mi.hblks);
	return 0;
}
