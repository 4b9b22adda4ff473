// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the kernel's view, read from debugfs.
 *
 *   buddyinfo        free blocks per order ("Total" line)
 *   unusable_index   unusable free space index per order
 *   extfrag_index    fragmentation index per order
 *   slabinfo         every cache, slabinfo 2.1
 *   clients          one line per client
 *   caches/<name>/stats   one cache, key=value
 *
 * debugfs is root's and may not be mounted at all: every failure sets
 * errno and a message for ka_errmsg() that says which of the two, or
 * that karena is not loaded.  These functions are for programs and
 * tools, not for the allocator: they use malloc and stdio.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/**
 * _ka_debugfs_root() - karena's debugfs directory.
 * @buf: gets it.
 * @len: room in @buf.
 * @root: what the caller asked for, or NULL for KARENA_DEBUGFS or the
 *	default.
 *
 * Return: 0, or -ENAMETOOLONG.
 */
int _ka_debugfs_root(char *buf, size_t len, const char *root)
{
	_ka_init();
	if (!root)
		root = _ka_opt.debugfs;
	if ((size_t)snprintf(buf, len, "%s", root) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Explain why @path could not be read (@err, a negative errno). */
static void ka_explain(const char *root, const char *path, int err)
{
	char mounts[16384], parent[300], *slash;
	bool mounted;

	if (err == -EACCES || err == -EPERM) {
		_ka_set_errmsg("cannot read %s: %s (debugfs is readable by root only)",
			       path, strerrordesc_np(-err));
		return;
	}
	if (err != -ENOENT) {
		_ka_set_errmsg("cannot read %s: %s", path, strerrordesc_np(-err));
		return;
	}
	snprintf(parent, sizeof(parent), "%s", root);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	mounted = _ka_prim_read_file("/proc/self/mounts", mounts,
				     sizeof(mounts)) > 0;
	if (mounted) {
		char needle[320];

		snprintf(needle, sizeof(needle), " %s debugfs ", parent);
		mounted = strstr(mounts, needle);
	}
	if (!mounted)
		_ka_set_errmsg("debugfs is not mounted at %s (mount -t debugfs none %s)",
			       parent, parent);
	else
		_ka_set_errmsg("karena is not loaded: %s does not exist", root);
}

/*
 * Read a whole debugfs file into a malloc'd buffer.  Return it, or NULL
 * with errno set and the reason for ka_errmsg().
 */
static char *ka_slurp(const char *root, const char *name)
{
	size_t len = 65536;
	char path[400], *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	for (;;) {
		buf = malloc(len);
		if (!buf) {
			errno = ENOMEM;
			_ka_set_errmsg("out of memory reading %s", path);
			return NULL;
		}
		n = _ka_prim_read_file(path, buf, len);
		if (n < 0) {
			free(buf);
			ka_explain(root, path, n);
			errno = -n;
			return NULL;
		}
		if ((size_t)n < len - 1)
			return buf;
		free(buf);
		len *= 2;
	}
}

/* Numbers after "arena <name>" on the "Total" line of an order table. */
static unsigned int ka_total_line(const char *text, double *vals,
				  unsigned int *chunks)
{
	const char *line = text, *p;
	unsigned int n = 0;
	char *end;
	double v;

	*chunks = 0;
	for (; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (!strncmp(line, "Chunk", 5))
			(*chunks)++;
		if (strncmp(line, "Total", 5))
			continue;
		p = strstr(line, "arena");
		if (!p)
			return 0;
		p += 5;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ' && *p != '\n')
			p++;	/* the arena's name */
		while (n < KA_MAX_ORDERS) {
			v = strtod(p, &end);
			if (end == p)
				break;
			vals[n++] = v;
			p = end;
		}
		break;
	}
	return n;
}

static int ka_parse_slabinfo(struct ka_snapshot *s, const char *text)
{
	const char *line;
	size_t cap = 0;

	for (line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		struct ka_slab_row r;

		memset(&r, 0, sizeof(r));
		if (*line == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line,
			   "%63s %lu %lu %lu %lu %lu : tunables %lu %lu %lu : slabdata %lu %lu %lu",
			   r.name, &r.active_objs, &r.num_objs, &r.objsize,
			   &r.objperslab, &r.pagesperslab, &r.limit,
			   &r.batchcount, &r.sharedfactor, &r.active_slabs,
			   &r.num_slabs, &r.sharedavail) != 12)
			continue;
		if (s->nr_slabs == cap) {
			struct ka_slab_row *rows;

			cap = cap ? 2 * cap : 64;
			rows = realloc(s->slabs, cap * sizeof(*rows));
			if (!rows)
				return -ENOMEM;
			s->slabs = rows;
		}
		s->slabs[s->nr_slabs++] = r;
	}
	return 0;
}

/*
 * "id pid comm uid pages quota slab_pg block_pg objects caches"; the
 * command name may have spaces, so it is whatever lies between the first
 * two and the last seven fields.  @line is modified.
 */
static int ka_parse_client(struct ka_client_row *r, char *line)
{
	char *tok[40], *save = NULL, *t;
	unsigned long v[7];
	int n = 0, i;
	char *end;

	memset(r, 0, sizeof(*r));
	for (t = strtok_r(line, " \t\n", &save); t && n < 40;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	if (n < 10)
		return -1;
	r->id = strtoul(tok[0], &end, 10);
	if (*end)
		return -1;
	r->pid = strtol(tok[1], &end, 10);
	if (*end)
		return -1;
	for (i = 0; i < 7; i++) {
		v[i] = strtoul(tok[n - 7 + i], &end, 10);
		if (*end)
			return -1;
	}
	for (i = 2; i < n - 7; i++) {
		if (i > 2)
			strncat(r->comm, " ", sizeof(r->comm) - strlen(r->comm) - 1);
		strncat(r->comm, tok[i], sizeof(r->comm) - strlen(r->comm) - 1);
	}
	r->uid = v[0];
	r->pages = v[1];
	r->quota_pages = v[2];
	r->slab_pages = v[3];
	r->block_pages = v[4];
	r->objects = v[5];
	r->caches = v[6];
	return 0;
}

static int ka_parse_clients(struct ka_snapshot *s, const char *text)
{
	const char *line;
	size_t cap = 0;

	for (line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		struct ka_client_row r;
		char one[256];
		size_t len = strcspn(line, "\n");

		if (*line == '#' || len >= sizeof(one))
			continue;
		memcpy(one, line, len);
		one[len] = '\0';
		if (ka_parse_client(&r, one))
			continue;
		if (s->nr_clients == cap) {
			struct ka_client_row *rows;

			cap = cap ? 2 * cap : 16;
			rows = realloc(s->clients, cap * sizeof(*rows));
			if (!rows)
				return -ENOMEM;
			s->clients = rows;
		}
		s->clients[s->nr_clients++] = r;
	}
	return 0;
}

/* The value of "key=" in a key=value text, or -1 when missing. */
static long long ka_kv(const char *text, const char *key)
{
	size_t len = strlen(key);
	const char *line;

	for (line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (!strncmp(line, key, len) && line[len] == '=')
			return strtoll(line + len + 1, NULL, 0);
	return -1;
}

struct ka_snapshot *ka_snapshot_read(const char *root_arg)
{
	char root[300], *text;
	double vals[KA_MAX_ORDERS];
	struct ka_snapshot *s;
	unsigned int i, n, chunks;
	long long v;
	int ret;

	ret = _ka_debugfs_root(root, sizeof(root), root_arg);
	if (ret) {
		errno = -ret;
		_ka_set_errmsg("debugfs path too long");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}

	text = ka_slurp(root, "buddyinfo");
	if (!text)
		goto err;
	n = ka_total_line(text, vals, &chunks);
	free(text);
	s->orders = n;
	s->chunks = chunks;
	for (i = 0; i < n; i++) {
		s->nr_free[i] = vals[i];
		s->free_pages += (unsigned long)vals[i] << i;
	}

	text = ka_slurp(root, "unusable_index");
	if (!text)
		goto err;
	n = ka_total_line(text, vals, &chunks);
	free(text);
	for (i = 0; i < n && i < s->orders; i++)
		s->unusable[i] = vals[i];

	text = ka_slurp(root, "extfrag_index");
	if (!text)
		goto err;
	n = ka_total_line(text, vals, &chunks);
	free(text);
	for (i = 0; i < n && i < s->orders; i++)
		s->extfrag[i] = vals[i];

	text = ka_slurp(root, "arena");
	if (!text)
		goto err;
	v = ka_kv(text, "pages");
	s->pages = v > 0 ? v : 0;
	free(text);

	text = ka_slurp(root, "version");
	if (!text)
		goto err;
	v = ka_kv(text, "page_size");
	s->page_size = v > 0 ? v : 4096;
	free(text);

	text = ka_slurp(root, "slabinfo");
	if (!text)
		goto err;
	ret = ka_parse_slabinfo(s, text);
	free(text);
	if (ret)
		goto err_nomem;

	text = ka_slurp(root, "clients");
	if (!text)
		goto err;
	ret = ka_parse_clients(s, text);
	free(text);
	if (ret)
		goto err_nomem;
	return s;

err_nomem:
	errno = ENOMEM;
	_ka_set_errmsg("out of memory");
err:
	ret = errno;
	ka_snapshot_free(s);
	errno = ret;
	return NULL;
}

void ka_snapshot_free(struct ka_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->slabs);
	free(snap->clients);
	free(snap);
}

/* For qsort, which has no context argument. */
static __thread enum ka_slab_key ka_sort_key;
static __thread unsigned long ka_sort_page;

static double ka_slab_value(const struct ka_slab_row *r)
{
	switch (ka_sort_key) {
	case KA_SORT_ACTIVE:
		return r->active_objs;
	case KA_SORT_OBJECTS:
		return r->num_objs;
	case KA_SORT_SIZE:
		return r->objsize;
	case KA_SORT_SLABS:
		return r->num_slabs;
	case KA_SORT_BYTES:
		return (double)r->num_slabs * r->pagesperslab * ka_sort_page;
	case KA_SORT_USE:
		return r->num_objs ? (double)r->active_objs / r->num_objs : 0;
	default:
		return 0;
	}
}

static int ka_slab_cmp(const void *x, const void *y)
{
	const struct ka_slab_row *a = x, *b = y;
	double va, vb;

	if (ka_sort_key == KA_SORT_NAME)
		return strcmp(a->name, b->name);
	va = ka_slab_value(a);
	vb = ka_slab_value(b);
	if (va != vb)
		return va < vb ? 1 : -1;
	return strcmp(a->name, b->name);
}

void ka_snapshot_sort(struct ka_snapshot *snap, enum ka_slab_key key)
{
	if (!snap || !snap->nr_slabs)
		return;
	ka_sort_key = key;
	ka_sort_page = snap->page_size;
	qsort(snap->slabs, snap->nr_slabs, sizeof(*snap->slabs), ka_slab_cmp);
}

/* A JSON string: the names here are [A-Za-z0-9_.:-] and comm. */
static void ka_json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", *s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

int ka_snapshot_json(const struct ka_snapshot *snap, FILE *fp)
{
	unsigned int i;
	size_t j;

	if (!snap || !fp) {
		errno = EINVAL;
		return -1;
	}
	fprintf(fp, "{\"page_size\": %lu, \"pages\": %lu, \"free_pages\": %lu, \"chunks\": %u,\n",
		snap->page_size, snap->pages, snap->free_pages, snap->chunks);
	fprintf(fp, " \"buddyinfo\": [");
	for (i = 0; i < snap->orders; i++)
		fprintf(fp, "%s%lu", i ? ", " : "", snap->nr_free[i]);
	fprintf(fp, "],\n \"unusable_index\": [");
	for (i = 0; i < snap->orders; i++)
		fprintf(fp, "%s%.3f", i ? ", " : "", snap->unusable[i]);
	fprintf(fp, "],\n \"extfrag_index\": [");
	for (i = 0; i < snap->orders; i++)
		fprintf(fp, "%s%.3f", i ? ", " : "", snap->extfrag[i]);
	fprintf(fp, "],\n \"slabinfo\": [");
	for (j = 0; j < snap->nr_slabs; j++) {
		const struct ka_slab_row *r = &snap->slabs[j];

		fprintf(fp, "%s\n  {\"name\": ", j ? "," : "");
		ka_json_str(fp, r->name);
		fprintf(fp, ", \"active_objs\": %lu, \"num_objs\": %lu", r->active_objs,
			r->num_objs);
		fprintf(fp, ", \"objsize\": %lu, \"objperslab\": %lu", r->objsize,
			r->objperslab);
		fprintf(fp, ", \"pagesperslab\": %lu, \"limit\": %lu", r->pagesperslab,
			r->limit);
		fprintf(fp, ", \"batchcount\": %lu, \"sharedfactor\": %lu",
			r->batchcount, r->sharedfactor);
		fprintf(fp, ", \"active_slabs\": %lu, \"num_slabs\": %lu", r->active_slabs,
			r->num_slabs);
		fprintf(fp, ", \"sharedavail\": %lu}", r->sharedavail);
	}
	fprintf(fp, "],\n \"clients\": [");
	for (j = 0; j < snap->nr_clients; j++) {
		const struct ka_client_row *c = &snap->clients[j];

		fprintf(fp, "%s\n  {\"id\": %lu, \"pid\": %ld, \"comm\": ",
			j ? "," : "", c->id, c->pid);
		ka_json_str(fp, c->comm);
		fprintf(fp, ", \"uid\": %lu, \"pages\": %lu, \"quota_pages\": %lu",
			c->uid, c->pages, c->quota_pages);
		fprintf(fp, ", \"slab_pages\": %lu, \"block_pages\": %lu", c->slab_pages,
			c->block_pages);
		fprintf(fp, ", \"objects\": %lu, \"caches\": %lu}", c->objects,
			c->caches);
	}
	fprintf(fp, "]}\n");
	return ferror(fp) ? -1 : 0;
}

long ka_heap_client_id(struct ka_heap *heap)
{
	struct ka_heap *a = _ka_heap_get(heap);
	struct ka_client_stats cs;
	struct ka_snapshot s;
	char root[300], *text;
	long id = -1, pid;
	size_t i, n = 0;
	int ret;

	ret = _ka_heap_ready(a);
	if (ret) {
		errno = -ret;
		_ka_set_errmsg("the arena has no client: %s", strerrordesc_np(-ret));
		return -1;
	}
	_ka_debugfs_root(root, sizeof(root), NULL);
	text = ka_slurp(root, "clients");
	if (!text)
		return -1;
	memset(&s, 0, sizeof(s));
	ret = ka_parse_clients(&s, text);
	free(text);
	if (ret) {
		free(s.clients);
		errno = ENOMEM;
		return -1;
	}
	pid = _ka_prim_getpid();
	ka_client_stats(a, &cs);
	for (i = 0; i < s.nr_clients; i++) {
		const struct ka_client_row *c = &s.clients[i];

		if (c->pid != pid)
			continue;
		n++;
		/* Several clients of this process: the numbers decide. */
		if (id < 0 || (c->caches == cs.nr_caches &&
			       c->objects == cs.objects &&
			       c->pages == cs.bytes >> a->page_shift))
			id = c->id;
	}
	free(s.clients);
	if (id < 0) {
		errno = ESRCH;
		_ka_set_errmsg("no client of process %ld in %s/clients", pid,
			       root);
	}
	(void)n;
	return id;
}

int ka_cache_stats(struct ka_cache *cache, struct ka_cache_kstats *st)
{
	char root[300], name[300];
	struct ka_slot *s;
	long id;
	char *text;

	if (!cache || !st) {
		errno = EINVAL;
		return -1;
	}
	id = ka_heap_client_id(cache->heap);
	if (id < 0)
		return -1;
	s = &cache->heap->slots[cache->slot];
	_ka_debugfs_root(root, sizeof(root), NULL);
	snprintf(name, sizeof(name), "caches/u%ld.%u:%s/stats", id, s->id,
		 s->name);
	text = ka_slurp(root, name);
	if (!text)
		return -1;
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "u%ld.%u:%s", id, s->id, s->name);
	st->object_size = ka_kv(text, "object_size");
	st->slab_size = ka_kv(text, "slab_size");
	st->objs_per_slab = ka_kv(text, "objs_per_slab");
	st->order = ka_kv(text, "order");
	st->objects = ka_kv(text, "objects");
	st->total_objects = ka_kv(text, "total_objects");
	st->slabs = ka_kv(text, "slabs");
	st->alloc_slowpath = ka_kv(text, "alloc_slowpath");
	st->free_slowpath = ka_kv(text, "free_slowpath");
	st->alloc_slab = ka_kv(text, "alloc_slab");
	st->free_slab = ka_kv(text, "free_slab");
	st->errors = ka_kv(text, "errors");
	free(text);
	return 0;
}
