// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the mtrace-compatible trace (KARENA_TRACE) and the leak
 * check (KARENA_LEAKCHECK).
 *
 * The trace has glibc's mtrace(3) format, so that glibc's mtrace script
 * (Debian's libc-dev-bin) reads it:
 *
 *   = Start
 *   @ /path/prog:[0x1189] + 0x5581a2c04010 0x40     allocation
 *   @ /path/prog:[0x11a4] - 0x5581a2c04010          free
 *   @ /path/prog:[0x11c0] < 0x5581a2c04010          realloc: old ...
 *   @ /path/prog:[0x11c0] > 0x5581a2c05000 0x80     ... and new
 *   = End
 *
 * The caller is written as its object file and its offset in that file
 * (the link-time address), which is what addr2line wants, so that
 * "mtrace prog trace" can name the source line of a leak.  Every record
 * is one write() of an O_APPEND file.  "%p" in the file name becomes the
 * process id; a fork child traces to a file of its own then, and not at
 * all otherwise (two processes in one file would confuse the script).
 *
 * The leak check keeps every outstanding allocation with its size and
 * caller in a hash table (open addressing, never malloc) and prints them
 * at exit.
 */
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* === Data === */

/* Whether allocations are traced or tracked (set once at init). */
bool _ka_tracing;

/* The trace file, -1 if none. */
static int ka_trace_fd = -1;
/* The running program, for callers in the main executable. */
static char ka_exe[256];

/**
 * struct ka_track_entry - one outstanding allocation.
 * @key: its address; 0 for an empty entry, 1 for a deleted one.
 * @size: bytes asked for.
 * @caller: return address of the call.
 */
struct ka_track_entry {
	uintptr_t key;
	size_t size;
	const void *caller;
};

/* The table, guarded by ka_track_lock. */
static int ka_track_lock;
static struct ka_track_entry *ka_track;
static size_t ka_track_cap;	/* a power of two, or 0 */
static size_t ka_track_used;	/* live and deleted entries */
static size_t ka_track_live;

#define KA_TRACK_EMPTY		0
#define KA_TRACK_DELETED	1

/* === The trace === */

static void ka_trace_open(bool trunc)
{
	char path[300];
	const char *pct = strstr(_ka_opt.trace, "%p");
	int fd;

	if (pct)
		snprintf(path, sizeof(path), "%.*s%d%s",
			 (int)(pct - _ka_opt.trace), _ka_opt.trace,
			 _ka_prim_getpid(), pct + 2);
	else
		snprintf(path, sizeof(path), "%s", _ka_opt.trace);
	fd = _ka_prim_open_file(path, true, trunc);
	if (fd < 0) {
		_ka_say("KARENA_TRACE: cannot open %s: %s", path,
			strerrordesc_np(-fd));
		return;
	}
	ka_trace_fd = fd;
	_ka_prim_write(fd, "= Start\n", 8);
}

/**
 * _ka_trace_init() - open the trace and set up tracking, if asked to.
 *
 * Context: once, from _ka_init().
 */
void _ka_trace_init(void)
{
	_ka_prim_exe_path(ka_exe, sizeof(ka_exe));
	if (_ka_opt.trace[0])
		ka_trace_open(true);
	_ka_tracing = ka_trace_fd >= 0 || _ka_opt.leakcheck;
}

/**
 * _ka_trace_atfork_child() - a child traces to its own file, or not.
 */
void _ka_trace_atfork_child(void)
{
	ka_track_lock = 0;
	if (ka_trace_fd < 0)
		return;
	_ka_prim_close(ka_trace_fd);
	ka_trace_fd = -1;
	if (strstr(_ka_opt.trace, "%p"))
		ka_trace_open(true);
	_ka_tracing = ka_trace_fd >= 0 || _ka_opt.leakcheck;
}

/* dl_iterate_phdr() callback: is the caller in this object? */
struct ka_find {
	uintptr_t addr;
	uintptr_t base;
	const char *name;
	bool found;
};

static int ka_find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ka_find *f = arg;
	unsigned int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const __typeof__(info->dlpi_phdr[0]) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && f->addr >= start &&
		    f->addr < start + ph->p_memsz) {
			f->base = info->dlpi_addr;
			f->name = info->dlpi_name;
			f->found = true;
			return 1;
		}
	}
	return 0;
}

/* "@ file:[0xoffset] " for a caller, or "" when it cannot be named. */
static int ka_where(char *buf, size_t len, const void *caller)
{
	struct ka_find f = { .addr = (uintptr_t)caller };
	const char *file;

	if (!caller)
		return 0;
	dl_iterate_phdr(ka_find_object, &f);
	if (!f.found)
		return snprintf(buf, len, "@ [%p] ", caller);
	file = f.name;
	if (!file || !*file || !strchr(file, '/'))
		file = ka_exe[0] ? ka_exe : "?";
	return snprintf(buf, len, "@ %s:[%#lx] ", file,
			(unsigned long)(f.addr - f.base));
}

/* Append to a line, never past its end. */
static size_t ka_clamp(int n, size_t room)
{
	if (n < 0)
		return 0;
	return (size_t)n < room ? (size_t)n : room - 1;
}

static void ka_trace_emit(const void *caller, const char *fmt1,
			  const void *p1, const char *fmt2, const void *p2,
			  size_t size)
{
	char line[1024];
	size_t n;

	if (ka_trace_fd < 0)
		return;
	n = ka_clamp(ka_where(line, sizeof(line), caller), sizeof(line));
	n += ka_clamp(snprintf(line + n, sizeof(line) - n, fmt1, p1, size),
		      sizeof(line) - n);
	if (fmt2) {
		n += ka_clamp(ka_where(line + n, sizeof(line) - n, caller),
			      sizeof(line) - n);
		n += ka_clamp(snprintf(line + n, sizeof(line) - n, fmt2, p2,
				       size), sizeof(line) - n);
	}
	_ka_prim_write(ka_trace_fd, line, n);
}

/**
 * _ka_trace_alloc() - trace an allocation.
 * @caller: the program's return address.
 * @p: the memory.
 * @size: bytes asked for.
 */
void _ka_trace_alloc(const void *caller, const void *p, size_t size)
{
	ka_trace_emit(caller, "+ %p %#zx\n", p, NULL, NULL, size);
}

/**
 * _ka_trace_free() - trace a free.
 * @caller: the program's return address.
 * @p: the memory.
 */
void _ka_trace_free(const void *caller, const void *p)
{
	ka_trace_emit(caller, "- %p\n", p, NULL, NULL, 0);
}

/**
 * _ka_trace_realloc() - trace a realloc that kept or moved memory.
 * @caller: the program's return address.
 * @old: the memory before.
 * @p: the memory after.
 * @size: bytes asked for.
 */
void _ka_trace_realloc(const void *caller, const void *old, const void *p,
		       size_t size)
{
	ka_trace_emit(caller, "< %p\n", old, "> %p %#zx\n", p, size);
}

/**
 * _ka_trace_fini() - close the trace.
 */
void _ka_trace_fini(void)
{
	if (ka_trace_fd < 0)
		return;
	_ka_prim_write(ka_trace_fd, "= End\n", 6);
	_ka_prim_close(ka_trace_fd);
	ka_trace_fd = -1;
}

/* === Tracking outstanding allocations === */

static size_t ka_track_hash(uintptr_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key & (cap - 1);
}

static void ka_track_insert(struct ka_track_entry *tab, size_t cap,
			    const struct ka_track_entry *e)
{
	size_t i = ka_track_hash(e->key, cap);

	while (tab[i].key > KA_TRACK_DELETED)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

/* Make room for one more entry; ka_track_lock held. */
static bool ka_track_grow(void)
{
	size_t cap = ka_track_cap ? ka_track_cap : 4096, i;
	struct ka_track_entry *tab;

	if (ka_track_used + 1 <= ka_track_cap / 4 * 3)
		return true;
	while (ka_track_live * 2 >= cap)
		cap *= 2;
	tab = _ka_meta_alloc(cap * sizeof(*tab));
	if (!tab)
		return false;
	for (i = 0; i < ka_track_cap; i++)
		if (ka_track[i].key > KA_TRACK_DELETED)
			ka_track_insert(tab, cap, &ka_track[i]);
	_ka_meta_free(ka_track, ka_track_cap * sizeof(*tab));
	ka_track = tab;
	ka_track_cap = cap;
	ka_track_used = ka_track_live;
	return true;
}

/**
 * _ka_track_add() - remember an outstanding allocation.
 * @heap: its heap.
 * @p: the memory.
 * @size: bytes asked for.
 * @caller: the program's return address.
 */
void _ka_track_add(struct ka_heap *heap, const void *p, size_t size,
		   const void *caller)
{
	struct ka_track_entry e = {
		.key = (uintptr_t)p, .size = size, .caller = caller,
	};

	(void)heap;
	if (!_ka_opt.leakcheck)
		return;
	_ka_spin_lock(&ka_track_lock);
	if (ka_track_grow()) {
		ka_track_insert(ka_track, ka_track_cap, &e);
		ka_track_used++;
		ka_track_live++;
	}
	_ka_spin_unlock(&ka_track_lock);
}

/**
 * _ka_track_del() - forget an allocation that was freed.
 * @heap: its heap.
 * @p: the memory.
 */
void _ka_track_del(struct ka_heap *heap, const void *p)
{
	size_t i;

	(void)heap;
	if (!_ka_opt.leakcheck)
		return;
	_ka_spin_lock(&ka_track_lock);
	if (ka_track_cap) {
		i = ka_track_hash((uintptr_t)p, ka_track_cap);
		while (ka_track[i].key != KA_TRACK_EMPTY) {
			if (ka_track[i].key == (uintptr_t)p) {
				ka_track[i].key = KA_TRACK_DELETED;
				ka_track_live--;
				break;
			}
			i = (i + 1) & (ka_track_cap - 1);
		}
	}
	_ka_spin_unlock(&ka_track_lock);
}

/**
 * _ka_leak_report() - print the outstanding allocations of a heap.
 * @heap: the heap; its entries are dropped.
 *
 * One summary line, then one line per allocation with its caller, on
 * stderr:
 *
 *   karena: leak check: 1 allocation (64 bytes) not freed
 *   karena: leak: 0x7f3a40000010 64 bytes from /path/prog:[0x1189]
 */
void _ka_leak_report(struct ka_heap *heap)
{
	unsigned long count = 0, bytes = 0;
	char where[300];
	size_t i;

	if (!_ka_opt.leakcheck)
		return;
	_ka_spin_lock(&ka_track_lock);
	for (i = 0; i < ka_track_cap; i++)
		if (ka_track[i].key > KA_TRACK_DELETED &&
		    _ka_in_window(heap, (void *)ka_track[i].key)) {
			count++;
			bytes += ka_track[i].size;
		}
	_ka_say("leak check: %lu allocation%s (%lu bytes) not freed", count,
		count == 1 ? "" : "s", bytes);
	for (i = 0; i < ka_track_cap; i++) {
		if (ka_track[i].key <= KA_TRACK_DELETED ||
		    !_ka_in_window(heap, (void *)ka_track[i].key))
			continue;
		if (ka_where(where, sizeof(where), ka_track[i].caller) <= 2)
			strcpy(where, "@ ? ");
		/* "@ file:[0x..] " -> "file:[0x..]" */
		where[strlen(where) - 1] = '\0';
		_ka_say("leak: %p %zu bytes from %s", (void *)ka_track[i].key,
			ka_track[i].size, where + 2);
		ka_track[i].key = KA_TRACK_DELETED;
		ka_track_live--;
	}
	_ka_spin_unlock(&ka_track_lock);
}
