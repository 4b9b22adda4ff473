// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: statistics of this process: the library's counters, the
 * kernel's KARENA_IOC_STATS, mallinfo2, the malloc_stats() table, the
 * malloc_info() JSON, and what happens at exit (leak check, exit info,
 * end of the trace).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* One slot's numbers, gathered without holding a lock while printing. */
struct ka_slot_row {
	char name[KA_NAME_LEN];
	__u32 id;
	__u32 size;
	__u32 stride;
	__u32 slab_bytes;
	__u32 batch;
	__u32 flags;
	__u64 in_use;
	__u64 cached;
	__u64 refills;
	__u64 flushes;
};

/* A sum of per-thread shares, which a racy read can see below 0. */
static __u64 ka_not_below_0(__u64 n)
{
	return (__s64)n < 0 ? 0 : n;
}

/*
 * Copy the counters of @a: the heap's (slow paths, threads without a
 * tcache, exited threads), plus the live threads' tcaches, read in one
 * a->lock section (magazine.c says how exact that is).
 */
static void ka_gather(struct ka_heap *a, struct ka_stats *st,
		      struct ka_slot_row *rows, unsigned int *nr_rows)
{
	struct ka_tsum sum;
	unsigned int i, n = 0;
	__u64 in_use;

	pthread_mutex_lock(&a->lock);
	_ka_mag_sum(a, &sum);
	for (i = 0; i < sizeof(*st) / sizeof(__u64); i++)
		((__u64 *)st)[i] = __atomic_load_n((__u64 *)&a->stats + i,
						   __ATOMIC_RELAXED);
	st->mallocs += sum.mallocs;
	st->frees += sum.frees;
	st->objects_in_use = ka_not_below_0(st->objects_in_use +
					    sum.objects);
	st->bytes_in_use = ka_not_below_0(st->bytes_in_use + sum.bytes);
	st->cached_objects = sum.cached_objects;
	st->cached_bytes = sum.cached_bytes + _ka_blocks_bytes(a);
	for (i = 1; rows && i < KA_SLOTS; i++) {
		const struct ka_slot *s = &a->slots[i];

		if (s->kind == KA_SLOT_FREE)
			continue;
		memcpy(rows[n].name, s->name, sizeof(rows[n].name));
		rows[n].id = s->id;
		rows[n].size = s->object_size;
		rows[n].stride = s->stride;
		rows[n].slab_bytes = s->slab_bytes;
		rows[n].batch = s->batch;
		rows[n].flags = s->flags;
		in_use = __atomic_load_n(&s->in_use, __ATOMIC_RELAXED);
		rows[n].in_use = ka_not_below_0(in_use + sum.in_use[i]);
		rows[n].cached = sum.cached[i];
		rows[n].refills = __atomic_load_n(&s->refills,
						  __ATOMIC_RELAXED);
		rows[n].flushes = __atomic_load_n(&s->flushes,
						  __ATOMIC_RELAXED);
		n++;
	}
	pthread_mutex_unlock(&a->lock);
	if (nr_rows)
		*nr_rows = n;
}

int ka_heap_stats(struct ka_heap *heap, struct ka_stats *st)
{
	struct ka_heap *a = _ka_heap_get(heap);

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	ka_gather(a, st, NULL, NULL);
	return 0;
}

int ka_client_stats(struct ka_heap *heap, struct ka_client_stats *st)
{
	struct ka_heap *a = _ka_heap_get(heap);
	struct karena_stats ks;
	int ret;

	if (!st) {
		errno = EINVAL;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	ret = _ka_heap_ready(a);
	if (!ret) {
		memset(&ks, 0, sizeof(ks));
		ret = _ka_dev_ioctl(a->fd, KARENA_IOC_STATS, &ks);
	}
	if (ret) {
		errno = -ret;
		return -1;
	}
	st->nr_caches = ks.nr_caches;
	st->bytes = ks.bytes;
	st->slab_bytes = ks.slab_bytes;
	st->block_bytes = ks.block_bytes;
	st->objects = ks.objects;
	st->alloc_calls = ks.alloc_calls;
	st->free_calls = ks.free_calls;
	st->objects_allocated = ks.objects_allocated;
	st->objects_freed = ks.objects_freed;
	st->bad_frees = ks.bad_frees;
	st->quota_failures = ks.quota_failures;
	st->quota_bytes = a->info.quota_bytes;
	st->window_bytes = a->info.window_bytes;
	return 0;
}

/*
 * mallinfo2 from the library's and the kernel's numbers; @kept: bytes of
 * the block cache, which the kernel counts as the client's blocks.
 */
static struct mallinfo2 ka_mallinfo_of(const struct ka_stats *st,
				       const struct ka_client_stats *cs,
				       __u64 kept)
{
	struct mallinfo2 mi;
	__u64 objects = st->bytes_in_use - st->block_bytes;

	memset(&mi, 0, sizeof(mi));
	mi.arena = cs->bytes;
	mi.ordblks = st->cached_objects;
	mi.hblks = st->blocks_in_use;
	mi.hblkhd = st->block_bytes;
	mi.uordblks = objects;
	mi.fordblks = (cs->slab_bytes > objects ? cs->slab_bytes - objects : 0) +
		      kept;
	mi.keepcost = st->cached_bytes;
	return mi;
}

struct mallinfo2 ka_heap_mallinfo(struct ka_heap *heap)
{
	struct ka_client_stats cs;
	struct ka_stats st;
	__u64 kept;

	ka_client_stats(heap, &cs);
	ka_heap_stats(heap, &st);
	kept = _ka_blocks_bytes(_ka_heap_get(heap));
	return ka_mallinfo_of(&st, &cs, kept);
}

struct mallinfo2 ka_mallinfo(void)
{
	return ka_heap_mallinfo(NULL);
}

void ka_malloc_stats(void)
{
	struct ka_slot_row rows[KA_SLOTS];
	struct ka_heap *a = _ka_heap_get(NULL);
	struct ka_client_stats cs;
	struct ka_stats st;
	unsigned int n, i;

	memset(&st, 0, sizeof(st));
	ka_client_stats(a, &cs);
	ka_gather(a, &st, rows, &n);
	fprintf(stderr, "karena: default heap, %s, window %llu KiB, quota %llu KiB\n",
		a->state == KA_HEAP_OPEN ? _ka_opt.device : "not open",
		(unsigned long long)cs.window_bytes >> 10,
		(unsigned long long)cs.quota_bytes >> 10);
	fprintf(stderr, "%-20s %6s %6s %5s %9s %9s %8s %8s\n", "cache", "size",
		"stride", "batch", "in_use", "cached", "refills", "flushes");
	for (i = 0; i < n; i++)
		fprintf(stderr, "%-20s %6u %6u %5u %9llu %9llu %8llu %8llu\n",
			rows[i].name, rows[i].size, rows[i].stride,
			rows[i].batch, (unsigned long long)rows[i].in_use,
			(unsigned long long)rows[i].cached,
			(unsigned long long)rows[i].refills,
			(unsigned long long)rows[i].flushes);
	fprintf(stderr, "%-20s %6s %6s %5s %9llu %9llu\n", "total", "", "", "",
		(unsigned long long)st.objects_in_use,
		(unsigned long long)st.cached_objects);
	fprintf(stderr,
		"in use: %llu bytes in %llu objects, %llu page blocks (%llu bytes)\n",
		(unsigned long long)st.bytes_in_use,
		(unsigned long long)st.objects_in_use,
		(unsigned long long)st.blocks_in_use,
		(unsigned long long)st.block_bytes);
	fprintf(stderr, "calls: %llu mallocs, %llu frees, %llu refills, ",
		(unsigned long long)st.mallocs, (unsigned long long)st.frees,
		(unsigned long long)st.refills);
	fprintf(stderr, "%llu flushes, %llu block calls\n",
		(unsigned long long)st.flushes,
		(unsigned long long)st.block_calls);
	fprintf(stderr, "kernel: %llu bytes (%llu slab, %llu block), %llu objects, ",
		(unsigned long long)cs.bytes,
		(unsigned long long)cs.slab_bytes,
		(unsigned long long)cs.block_bytes,
		(unsigned long long)cs.objects);
	fprintf(stderr, "%llu bad frees, %llu quota failures\n",
		(unsigned long long)cs.bad_frees,
		(unsigned long long)cs.quota_failures);
	fprintf(stderr, "misuse: %llu double frees, %llu invalid frees, %llu red zones, ",
		(unsigned long long)st.double_frees,
		(unsigned long long)st.invalid_frees,
		(unsigned long long)st.redzone_errors);
	fprintf(stderr, "%llu parent frees\n",
		(unsigned long long)st.parent_frees);
	fprintf(stderr, "kept: %llu free objects in magazines and depots, ",
		(unsigned long long)st.cached_objects);
	fprintf(stderr, "%llu bytes with kept page blocks\n",
		(unsigned long long)st.cached_bytes);
	fprintf(stderr, "spills: %llu requests handed to the system allocator\n",
		(unsigned long long)st.spills);
}

#define KA_JSON_U64(fp, sep, name, v) \
	fprintf(fp, "%s\"%s\": %llu", sep, name, (unsigned long long)(v))

int ka_heap_info(struct ka_heap *heap, FILE *fp)
{
	struct ka_slot_row rows[KA_SLOTS];
	struct ka_heap *a = _ka_heap_get(heap);
	struct ka_client_stats cs;
	struct mallinfo2 mi;
	struct ka_stats st;
	unsigned int n, i;

	if (!fp) {
		errno = EINVAL;
		return -1;
	}
	memset(&st, 0, sizeof(st));
	ka_client_stats(a, &cs);
	ka_gather(a, &st, rows, &n);
	mi = ka_mallinfo_of(&st, &cs, _ka_blocks_bytes(a));

	fprintf(fp, "{\"version\": 1, \"pid\": %d, \"device\": \"%s\",\n",
		_ka_prim_getpid(), a->path[0] ? a->path : _ka_opt.device);
	fprintf(fp, " \"mallinfo\": {");
	KA_JSON_U64(fp, "", "arena", mi.arena);
	KA_JSON_U64(fp, ", ", "ordblks", mi.ordblks);
	KA_JSON_U64(fp, ", ", "smblks", mi.smblks);
	KA_JSON_U64(fp, ", ", "hblks", mi.hblks);
	KA_JSON_U64(fp, ", ", "hblkhd", mi.hblkhd);
	KA_JSON_U64(fp, ", ", "usmblks", mi.usmblks);
	KA_JSON_U64(fp, ", ", "fsmblks", mi.fsmblks);
	KA_JSON_U64(fp, ", ", "uordblks", mi.uordblks);
	KA_JSON_U64(fp, ", ", "fordblks", mi.fordblks);
	KA_JSON_U64(fp, ", ", "keepcost", mi.keepcost);
	fprintf(fp, "},\n \"stats\": {");
	KA_JSON_U64(fp, "", "mallocs", st.mallocs);
	KA_JSON_U64(fp, ", ", "frees", st.frees);
	KA_JSON_U64(fp, ", ", "bytes_in_use", st.bytes_in_use);
	KA_JSON_U64(fp, ", ", "objects_in_use", st.objects_in_use);
	KA_JSON_U64(fp, ", ", "blocks_in_use", st.blocks_in_use);
	KA_JSON_U64(fp, ", ", "block_bytes", st.block_bytes);
	KA_JSON_U64(fp, ", ", "cached_objects", st.cached_objects);
	KA_JSON_U64(fp, ", ", "cached_bytes", st.cached_bytes);
	KA_JSON_U64(fp, ", ", "refills", st.refills);
	KA_JSON_U64(fp, ", ", "flushes", st.flushes);
	KA_JSON_U64(fp, ", ", "block_calls", st.block_calls);
	KA_JSON_U64(fp, ", ", "caches", st.caches);
	KA_JSON_U64(fp, ", ", "spills", st.spills);
	KA_JSON_U64(fp, ", ", "double_frees", st.double_frees);
	KA_JSON_U64(fp, ", ", "invalid_frees", st.invalid_frees);
	KA_JSON_U64(fp, ", ", "redzone_errors", st.redzone_errors);
	KA_JSON_U64(fp, ", ", "parent_frees", st.parent_frees);
	fprintf(fp, "},\n \"client\": {");
	KA_JSON_U64(fp, "", "nr_caches", cs.nr_caches);
	KA_JSON_U64(fp, ", ", "bytes", cs.bytes);
	KA_JSON_U64(fp, ", ", "slab_bytes", cs.slab_bytes);
	KA_JSON_U64(fp, ", ", "block_bytes", cs.block_bytes);
	KA_JSON_U64(fp, ", ", "objects", cs.objects);
	KA_JSON_U64(fp, ", ", "alloc_calls", cs.alloc_calls);
	KA_JSON_U64(fp, ", ", "free_calls", cs.free_calls);
	KA_JSON_U64(fp, ", ", "objects_allocated", cs.objects_allocated);
	KA_JSON_U64(fp, ", ", "objects_freed", cs.objects_freed);
	KA_JSON_U64(fp, ", ", "bad_frees", cs.bad_frees);
	KA_JSON_U64(fp, ", ", "quota_failures", cs.quota_failures);
	KA_JSON_U64(fp, ", ", "quota_bytes", cs.quota_bytes);
	KA_JSON_U64(fp, ", ", "window_bytes", cs.window_bytes);
	fprintf(fp, "},\n \"caches\": [");
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s\n  {\"name\": \"%s\"", i ? "," : "",
			rows[i].name);
		KA_JSON_U64(fp, ", ", "cache_id", rows[i].id);
		KA_JSON_U64(fp, ", ", "object_size", rows[i].size);
		KA_JSON_U64(fp, ", ", "stride", rows[i].stride);
		KA_JSON_U64(fp, ", ", "slab_bytes", rows[i].slab_bytes);
		KA_JSON_U64(fp, ", ", "batch", rows[i].batch);
		KA_JSON_U64(fp, ", ", "flags", rows[i].flags);
		KA_JSON_U64(fp, ", ", "in_use", rows[i].in_use);
		KA_JSON_U64(fp, ", ", "cached", rows[i].cached);
		KA_JSON_U64(fp, ", ", "refills", rows[i].refills);
		KA_JSON_U64(fp, ", ", "flushes", rows[i].flushes);
		fprintf(fp, "}");
	}
	fprintf(fp, "]}\n");
	return ferror(fp) ? -1 : 0;
}

int ka_malloc_info(int options, FILE *fp)
{
	if (options) {
		errno = EINVAL;
		return -1;
	}
	return ka_heap_info(NULL, fp);
}

/*
 * KARENA_EXIT_INFO: the default heap's JSON, then this client's lines of
 * debugfs' clients file and slabinfo, read while the client still
 * exists, as proof of where the memory came from.
 */
static void ka_exit_info(void)
{
	char root[300], path[400], line[512];
	struct ka_heap *a = &_ka_default;
	FILE *fp, *in;
	long id;
	int fd;

	if (!_ka_opt.exit_info[0] || a->state != KA_HEAP_OPEN)
		return;
	fd = _ka_prim_open_file(_ka_opt.exit_info, true, false);
	if (fd < 0)
		return;
	fp = fdopen(fd, "a");
	if (!fp) {
		_ka_prim_close(fd);
		return;
	}
	ka_heap_info(a, fp);
	id = ka_heap_client_id(a);
	if (id >= 0 && !_ka_debugfs_root(root, sizeof(root), NULL)) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "%ld ", id);
		snprintf(path, sizeof(path), "%s/clients", root);
		in = fopen(path, "r");
		while (in && fgets(line, sizeof(line), in))
			if (!strncmp(line, prefix, strlen(prefix)))
				fprintf(fp, "debugfs clients: %s", line);
		if (in)
			fclose(in);
		snprintf(prefix, sizeof(prefix), "u%ld.", id);
		snprintf(path, sizeof(path), "%s/slabinfo", root);
		in = fopen(path, "r");
		while (in && fgets(line, sizeof(line), in))
			if (!strncmp(line, prefix, strlen(prefix)))
				fprintf(fp, "debugfs slabinfo: %s", line);
		if (in)
			fclose(in);
	} else {
		fprintf(fp, "debugfs: %s\n", ka_errmsg());
	}
	fclose(fp);
}

/* At exit: the leak check, the exit info, the end of the trace. */
static void __attribute__((destructor)) ka_fini(void)
{
	if (__atomic_load_n(&_ka_default.state, __ATOMIC_ACQUIRE) ==
	    KA_HEAP_OPEN) {
		_ka_leak_report(&_ka_default);
		ka_exit_info();
	}
	_ka_trace_fini();
}
