/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What karena-stat and karena-top share: the sort keys by name and the
 * tables they print from a ka_snapshot.
 */
#ifndef KARENA_TOOL_H
#define KARENA_TOOL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "karena.h"

static const struct {
	const char *name;
	enum ka_slab_key key;
} tool_sort_keys[] = {
	{ "name", KA_SORT_NAME },
	{ "active", KA_SORT_ACTIVE },
	{ "objects", KA_SORT_OBJECTS },
	{ "size", KA_SORT_SIZE },
	{ "slabs", KA_SORT_SLABS },
	{ "bytes", KA_SORT_BYTES },
	{ "use", KA_SORT_USE },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TOOL_NR_KEYS ARRAY_SIZE(tool_sort_keys)

/* A sort key by name; -1 when unknown. */
static inline int tool_sort_key(const char *name)
{
	unsigned int i;

	for (i = 0; i < TOOL_NR_KEYS; i++)
		if (!strcmp(name, tool_sort_keys[i].name))
			return tool_sort_keys[i].key;
	return -1;
}

static inline const char *tool_sort_name(enum ka_slab_key key)
{
	unsigned int i;

	for (i = 0; i < TOOL_NR_KEYS; i++)
		if (tool_sort_keys[i].key == key)
			return tool_sort_keys[i].name;
	return "?";
}

/* Bytes as "12.3M", "640K", "812". */
static inline const char *tool_bytes(unsigned long long b, char *buf,
				     size_t len)
{
	if (b >= 10ULL << 20)
		snprintf(buf, len, "%lluM", b >> 20);
	else if (b >= 1ULL << 20)
		snprintf(buf, len, "%.1fM", b / 1048576.0);
	else if (b >= 10ULL << 10)
		snprintf(buf, len, "%lluK", b >> 10);
	else
		snprintf(buf, len, "%llu", b);
	return buf;
}

/* One line: the arena's size and use. */
static inline void tool_summary(FILE *fp, const struct ka_snapshot *s)
{
	unsigned long long total = (unsigned long long)s->pages * s->page_size;
	unsigned long long active = 0, objs = 0, slab_bytes = 0;
	char b1[16], b2[16], b3[16];
	size_t i;

	for (i = 0; i < s->nr_slabs; i++) {
		active += s->slabs[i].active_objs;
		objs += s->slabs[i].num_objs;
		slab_bytes += (unsigned long long)s->slabs[i].num_slabs *
			      s->slabs[i].pagesperslab * s->page_size;
	}
	fprintf(fp, "arena %s in %u chunks of order %u: ",
		tool_bytes(total, b1, sizeof(b1)), s->chunks,
		s->orders ? s->orders - 1 : 0);
	fprintf(fp, "%s free (%lu of %lu pages), ",
		tool_bytes((unsigned long long)s->free_pages * s->page_size,
			   b2, sizeof(b2)), s->free_pages, s->pages);
	fprintf(fp, "%s in %zu slab caches (%llu of %llu objects active), %zu clients\n",
		tool_bytes(slab_bytes, b3, sizeof(b3)), s->nr_slabs, active,
		objs, s->nr_clients);
}

/* Free blocks and the two fragmentation indices, one column per order. */
static inline void tool_orders(FILE *fp, const struct ka_snapshot *s)
{
	unsigned int o;

	fprintf(fp, "%-15s", "order");
	for (o = 0; o < s->orders; o++)
		fprintf(fp, " %6u", o);
	fprintf(fp, "\n%-15s", "free blocks");
	for (o = 0; o < s->orders; o++)
		fprintf(fp, " %6lu", s->nr_free[o]);
	fprintf(fp, "\n%-15s", "unusable index");
	for (o = 0; o < s->orders; o++)
		fprintf(fp, " %6.3f", s->unusable[o]);
	fprintf(fp, "\n%-15s", "extfrag index");
	for (o = 0; o < s->orders; o++)
		fprintf(fp, " %6.3f", s->extfrag[o]);
	fprintf(fp, "\n");
}

/* The slabinfo table, at most @max rows (0: all). */
static inline void tool_slabs(FILE *fp, const struct ka_snapshot *s,
			      size_t max)
{
	char b[16];
	size_t i;

	fprintf(fp, "%-28s %8s %8s %7s %8s %7s %6s %8s %5s\n", "cache",
		"active", "objects", "objsize", "obj/slab", "pg/slab", "slabs",
		"bytes", "use%");
	for (i = 0; i < s->nr_slabs && (!max || i < max); i++) {
		const struct ka_slab_row *r = &s->slabs[i];

		fprintf(fp, "%-28s %8lu %8lu %7lu %8lu %7lu %6lu %8s %5.1f\n",
			r->name, r->active_objs, r->num_objs, r->objsize,
			r->objperslab, r->pagesperslab, r->num_slabs,
			tool_bytes((unsigned long long)r->num_slabs *
				   r->pagesperslab * s->page_size, b, sizeof(b)),
			r->num_objs ? 100.0 * r->active_objs / r->num_objs : 0.0);
	}
}

/* The clients table. */
static inline void tool_clients(FILE *fp, const struct ka_snapshot *s)
{
	char b1[16], b2[16];
	size_t i;

	fprintf(fp, "%-6s %-7s %-16s %-6s %8s %8s %8s %8s %8s %6s\n", "client",
		"pid", "comm", "uid", "memory", "quota", "slab_pg", "block_pg",
		"objects", "caches");
	for (i = 0; i < s->nr_clients; i++) {
		const struct ka_client_row *c = &s->clients[i];

		fprintf(fp, "%-6lu %-7ld %-16s %-6lu %8s %8s %8lu %8lu %8lu %6lu\n",
			c->id, c->pid, c->comm, c->uid,
			tool_bytes((unsigned long long)c->pages * s->page_size,
				   b1, sizeof(b1)),
			tool_bytes((unsigned long long)c->quota_pages *
				   s->page_size, b2, sizeof(b2)),
			c->slab_pages, c->block_pages, c->objects, c->caches);
	}
	if (!s->nr_clients)
		fprintf(fp, "(no clients)\n");
}

#endif /* KARENA_TOOL_H */
