// SPDX-License-Identifier: GPL-2.0
/*
 * karena_fuzz: random ioctls and window operations on /dev/karena from
 * several processes and threads at once, checking karena's invariants
 * as it goes.
 *
 * Every thread owns a *private* client, driven through a model of what
 * the client owns (caches, live objects, page blocks): each command is
 * built valid and then, often, mutated (fields set to edge values or bit
 * flips, the size in the command number changed, the struct or the
 * offsets array moved to NULL, a kernel address, a read-only page, an
 * unmapped page or across a page boundary).  Whatever the kernel answers
 * must be a documented errno for that command, and the client's STATS
 * must then match the model exactly: a failed command changed nothing,
 * a partial ALLOC_BULK allocated exactly @done objects, a FREE_BULK
 * freed exactly its first @done entries.  Every object handed out holds
 * zero or this client's own stamp, never another client's; every page
 * block is zero.
 *
 * Every process also has a *shared* client that all its threads use at
 * once with garbage and with window operations: mmap at random offsets,
 * lengths, protections and flags; partial munmap; mremap; madvise;
 * mprotect; touching and scribbling mapped memory; fork while mapped
 * (the child must see no window and get EPERM); and replacing the
 * shared client (dup2 over its descriptor, i.e. close while other
 * threads are inside an ioctl on it).  There only the errno is checked.
 *
 * Each thread draws from its own generator, seeded from the run's seed
 * and its process and thread number, so a run is reproduced by its seed;
 * with one process and one thread (-p 1 -j 1) the sequence of calls is
 * exactly the same on a freshly loaded module.
 *
 * Usage: karena_fuzz [-s SEED] [-n CALLS] [-t SECONDS] [-p PROCS]
 *                    [-j THREADS] [-l]
 * Exit status: 0 if no invariant was broken, 1 if one was, 2 on a usage
 * or setup error, 4 if /dev/karena is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "karena.h"

#define FZ_DEV		"/dev/karena"
#define FZ_KERNEL_PTR	((void *)0xffff888000000000UL)
#define FZ_MAX_THREADS	16
#define FZ_MAX_CACHES	6
#define FZ_MAX_LIVE	384
#define FZ_MAX_BLOCKS	12
#define FZ_MAX_MAPS	4
#define FZ_MAX_SHARED	64
#define FZ_BLOCK_ORDER	4	/* largest order the model asks for */
#define FZ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* === Operations and counters === */

enum fz_op {
	FZ_INFO, FZ_CACHE_CREATE, FZ_CACHE_DESTROY, FZ_ALLOC_BULK,
	FZ_FREE_BULK, FZ_PAGES_ALLOC, FZ_PAGES_FREE, FZ_STATS, FZ_GARBAGE,
	FZ_MMAP, FZ_MUNMAP, FZ_MREMAP, FZ_MADVISE, FZ_MPROTECT, FZ_FORK,
	FZ_REOPEN, FZ_NR_OPS
};

static const char * const fz_op_name[FZ_NR_OPS] = {
	"INFO", "CACHE_CREATE", "CACHE_DESTROY", "ALLOC_BULK", "FREE_BULK",
	"PAGES_ALLOC", "PAGES_FREE", "STATS", "garbage_ioctl", "mmap",
	"munmap", "mremap", "madvise", "mprotect", "fork", "reopen",
};

#define FZ_NR_ERRNO 64

/**
 * struct fz_shared - results of all processes, in one shared mapping.
 * @calls: system calls made on karena (ioctl, mmap family, fork, ...).
 * @touches: accesses to mapped window memory.
 * @sigbus: of which ended in SIGBUS (a page the client does not own).
 * @budget: stop after this many calls.
 * @deadline: stop at this CLOCK_MONOTONIC time (ns).
 * @stop: set when a limit is reached or an invariant broke.
 * @violations: invariants broken.
 * @op_calls: calls per operation.
 * @op_errnos: failures per operation and errno.
 * @first: the first violation, as printed.
 */
struct fz_shared {
	__u64 calls;
	__u64 touches;
	__u64 sigbus;
	__u64 budget;
	__u64 deadline;
	int stop;
	__u64 violations;
	__u64 op_calls[FZ_NR_OPS];
	__u64 op_errnos[FZ_NR_OPS][FZ_NR_ERRNO];
	char first[512];
};

static struct fz_shared *fz;
static __u64 fz_seed;
static bool fz_log;

/* === Random numbers: splitmix64 to seed, xorshift64* per thread === */

struct fz_rng {
	__u64 s;
};

static __u64 fz_splitmix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static __u64 fz_next(struct fz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

static __u64 fz_below(struct fz_rng *r, __u64 n)
{
	return n ? fz_next(r) % n : 0;
}

static bool fz_chance(struct fz_rng *r, unsigned int pct)
{
	return fz_below(r, 100) < pct;
}

static __u64 fz_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* === The model of a private client === */

struct fz_cache {
	__u32 id;
	__u32 size;
	bool poison;
	unsigned int nlive;
	__u64 live[FZ_MAX_LIVE];
};

struct fz_block {
	__u64 off;
	__u32 order;
};

struct fz_map {
	char *addr;
	size_t len;
	int prot;
};

/**
 * struct fz_worker - one fuzzing thread.
 * @proc: process number.
 * @thread: thread number in the process.
 * @rng: this thread's generator.
 * @seq: calls this thread made.
 * @fd: the private client.
 * @info: its INFO.
 * @win: its whole window, mapped once and never changed.
 * @stamp: what this thread writes into its objects and blocks.
 * @caches: the private client's caches.
 * @ncaches: entries of @caches in use.
 * @blocks: its page blocks.
 * @nblocks: entries of @blocks in use.
 * @maps: mappings of the shared client made by this thread.
 * @nmaps: entries of @maps in use.
 * @sh_ids: cache ids seen on the shared client.
 * @sh_nids: entries of @sh_ids.
 * @sh_offs: offsets seen on the shared client.
 * @sh_noffs: entries of @sh_offs.
 * @sh_max_id: the largest cache id seen on the shared client: ids come in
 *	order, so the next ones are what another thread is about to get.
 * @names: counter for unique cache names.
 * @offs: offsets array handed to the bulk commands.
 * @buf: three pages: read-write, read-only alias of a memfd, and none.
 * @ro_rw: the read-write alias of the read-only page.
 * @last: the last command on the private client, for reports.
 */
struct fz_worker {
	int proc;
	int thread;
	struct fz_rng rng;
	__u64 seq;
	int fd;
	struct karena_info info;
	char *win;
	__u64 stamp;
	struct fz_cache caches[FZ_MAX_CACHES];
	unsigned int ncaches;
	struct fz_block blocks[FZ_MAX_BLOCKS];
	unsigned int nblocks;
	struct fz_map maps[FZ_MAX_MAPS];
	unsigned int nmaps;
	__u32 sh_ids[FZ_MAX_SHARED];
	unsigned int sh_nids;
	__u64 sh_offs[FZ_MAX_SHARED];
	unsigned int sh_noffs;
	__u32 sh_max_id;
	unsigned int names;
	__u64 offs[KARENA_MAX_BATCH + 8];
	char *buf;
	char *ro_rw;
	char last[160];
};

/* The shared client of this process: its descriptor never changes. */
static int fz_shared_fd = -1;
static size_t fz_page;

/* === Reporting === */

static void fz_violation(struct fz_worker *w, const char *fmt, ...)
{
	char msg[400];
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line),
		 "VIOLATION worker %d.%d call %llu (seed %#llx): %s",
		 w->proc, w->thread, (unsigned long long)w->seq,
		 (unsigned long long)fz_seed, msg);
	if (__atomic_fetch_add(&fz->violations, 1, __ATOMIC_SEQ_CST) == 0)
		snprintf(fz->first, sizeof(fz->first), "%s", line);
	printf("# %s\n", line);
	fflush(stdout);
	__atomic_store_n(&fz->stop, 1, __ATOMIC_SEQ_CST);
}

/* Count one call of @op that returned @ret with @err; true to go on. */
static bool fz_count(struct fz_worker *w, enum fz_op op, long ret, int err)
{
	w->seq++;
	__atomic_fetch_add(&fz->op_calls[op], 1, __ATOMIC_RELAXED);
	if (ret < 0)
		__atomic_fetch_add(&fz->op_errnos[op][err < FZ_NR_ERRNO ? err : 0],
				   1, __ATOMIC_RELAXED);
	if (fz_log)
		printf("# %d.%d #%llu %s -> %ld %s\n", w->proc, w->thread,
		       (unsigned long long)w->seq, fz_op_name[op], ret,
		       ret < 0 ? strerror(err) : "");
	return __atomic_add_fetch(&fz->calls, 1, __ATOMIC_RELAXED) <
	       fz->budget;
}

static bool fz_should_stop(void)
{
	return __atomic_load_n(&fz->stop, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&fz->calls, __ATOMIC_RELAXED) >= fz->budget ||
	       fz_now_ns() >= fz->deadline;
}

/* === Probing memory: SIGBUS/SIGSEGV come back as a return value === */

static __thread sigjmp_buf fz_jmp;
static __thread int fz_jmp_armed;

static void fz_signal(int sig, siginfo_t *si, void *uc)
{
	if (!fz_jmp_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	fz_jmp_armed = 0;
	siglongjmp(fz_jmp, sig);
}

/*
 * Read (and with @write, store @val to) the 8 bytes at @p, or the bytes
 * up to @len if fewer.  Returns 0 or the signal; *@out gets what was read.
 */
static int fz_access(char *p, size_t len, bool write, __u64 val,
		     __u64 *out)
{
	int sig;
	size_t i;
	__u64 v = 0;

	if (len > 8)
		len = 8;
	sig = sigsetjmp(fz_jmp, 1);
	if (sig)
		return sig;
	fz_jmp_armed = 1;
	/* Atomic accesses: the compiler may neither drop nor merge them. */
	for (i = 0; i < len; i++)
		v |= (__u64)(unsigned char)__atomic_load_n(p + i, __ATOMIC_RELAXED)
		     << (8 * i);
	if (write)
		for (i = 0; i < len; i++)
			__atomic_store_n(p + i, (char)(val >> (8 * i)),
					 __ATOMIC_RELAXED);
	fz_jmp_armed = 0;
	if (out)
		*out = v;
	return 0;
}

/* Is @p[0..@len) all zero?  Returns 0/1, or -signal. */
static int fz_all_zero(char *p, size_t len)
{
	int sig;
	size_t i;

	sig = sigsetjmp(fz_jmp, 1);
	if (sig)
		return -sig;
	fz_jmp_armed = 1;
	for (i = 0; i < len; i++)
		if (__atomic_load_n(p + i, __ATOMIC_RELAXED)) {
			fz_jmp_armed = 0;
			return 0;
		}
	fz_jmp_armed = 0;
	return 1;
}

/* === Errnos each command may return (Documentation/userspace-api.rst) === */

static bool fz_errno_ok(enum fz_op op, int err, bool shared)
{
	if (shared && err == EBADF)
		return true;
	switch (err) {
	case EFAULT:
	case EINVAL:
	case E2BIG:
		return op <= FZ_STATS;
	case ENOMEM:
		return op == FZ_CACHE_CREATE || op == FZ_ALLOC_BULK ||
		       op == FZ_PAGES_ALLOC;
	case ENOENT:
		return op == FZ_CACHE_DESTROY || op == FZ_ALLOC_BULK ||
		       op == FZ_FREE_BULK;
	case EBUSY:
		return op == FZ_CACHE_DESTROY;
	case EEXIST:
		return op == FZ_CACHE_CREATE;
	default:
		return false;
	}
}

/* === Building commands === */

/* Edge values for 32- and 64-bit fields (the syzkaller list and more). */
static const __u64 fz_edges[] = {
	0, 1, 2, 7, 8, 63, 64, 4095, 4096, 4097, 16384, 16385, 1023, 1024,
	1025, 0x7fffffff, 0x80000000, 0xfffff000, 0xffffffff, 1ULL << 32,
	1ULL << 48, 0xfffffffffffff000ULL, ~0ULL, 10, 11, 12, 31, 32,
};

static __u64 fz_edge(struct fz_rng *r)
{
	return fz_edges[fz_below(r, FZ_ARRAY_SIZE(fz_edges))];
}

/* Overwrite 1-3 random fields or bits of the struct @s of @size bytes. */
static void fz_mutate(struct fz_rng *r, void *s, size_t size)
{
	unsigned int n = 1 + fz_below(r, 3);
	unsigned char *b = s;

	while (n--) {
		size_t at;

		switch (fz_below(r, 3)) {
		case 0:
			b[fz_below(r, size)] ^= 1U << fz_below(r, 8);
			break;
		case 1: {
			__u32 v = (__u32)fz_edge(r);

			at = fz_below(r, size / 4) * 4;
			memcpy(b + at, &v, 4);
			break;
		}
		default: {
			__u64 v = fz_edge(r);

			at = fz_below(r, size / 8) * 8;
			memcpy(b + at, &v, 8);
			break;
		}
		}
	}
}

/*
 * Where a command's struct goes: a pointer to @len bytes holding @src,
 * usually a good one, sometimes NULL, a kernel address, read-only or
 * unmapped memory, or straddling a page boundary into either.
 */
static const char * const fz_place_name[] = {
	"NULL", "a kernel address", "read-only memory",
	"unmapped memory", "across into read-only memory",
	"across into unmapped memory", "good memory",
};

static void *fz_place(struct fz_worker *w, const void *src, size_t len,
		      bool allow_bad, unsigned int *where)
{
	char *rw = w->buf, *ro = w->buf + fz_page;
	size_t room;

	if (len > fz_page)
		len = fz_page;
	*where = 6;
	if (!allow_bad || fz_chance(&w->rng, 90)) {
		room = fz_page - len;
		rw += fz_below(&w->rng, room / 8 + 1) * 8;
		memcpy(rw, src, len);
		return rw;
	}
	*where = fz_below(&w->rng, 6);
	switch (*where) {
	case 0:
		return NULL;
	case 1:
		return FZ_KERNEL_PTR;
	case 2:
		/* Read-only: written through the memfd's other alias. */
		memcpy(w->ro_rw, src, len);
		return ro;
	case 3:
		return w->buf + 2 * fz_page;
	case 4:
		/* The tail lies in the read-only page. */
		memcpy(ro - len / 2, src, len / 2);
		memcpy(w->ro_rw, (const char *)src + len / 2, len - len / 2);
		return ro - len / 2;
	default:
		/* The tail lies in the unmapped page. */
		memcpy(w->ro_rw + fz_page - len / 2, src, len / 2);
		return w->buf + 2 * fz_page - len / 2;
	}
}

/* The size in the command number: usually exact, sometimes not. */
static size_t fz_cmd_size(struct fz_worker *w, size_t size, size_t ver0,
			  bool mutate)
{
	if (!mutate || fz_chance(&w->rng, 70))
		return size;
	switch (fz_below(&w->rng, 6)) {
	case 0:
		return ver0 ? ver0 - 1 : 0;
	case 1:
		return ver0;
	case 2:
		return size + 8;
	case 3:
		return size - 4;
	case 4:
		return fz_below(&w->rng, 2 * size);
	default:
		return fz_below(&w->rng, 1U << 14);
	}
}

static unsigned long fz_cmd(unsigned long cmd, size_t size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

/*
 * Issue @cmd with the struct @s (@size bytes, VER0 @ver0) on @fd,
 * mutated or misplaced when @mutate.  A tail beyond @size is zero or,
 * sometimes, not.  Returns the ioctl's result with *@err; *@back is the
 * struct as the kernel left it when it was in good memory, else NULL.
 */
static int fz_ioctl(struct fz_worker *w, int fd, unsigned long cmd, void *s,
		    size_t size, size_t ver0, bool mutate, int *err,
		    void **back, size_t *usize_out)
{
	unsigned char tmp[2 * 4096];
	size_t usize = fz_cmd_size(w, size, ver0, mutate);
	unsigned int where;
	void *p;
	int ret;

	memset(tmp, 0, sizeof(tmp));
	memcpy(tmp, s, size);
	if (usize > size && usize <= sizeof(tmp) && fz_chance(&w->rng, 30))
		tmp[size + fz_below(&w->rng, usize - size)] = 0xa5;
	p = fz_place(w, tmp, usize <= sizeof(tmp) ? usize : size, mutate,
		     &where);
	errno = 0;
	ret = ioctl(fd, fz_cmd(cmd, usize), p);
	*err = errno;
	snprintf(w->last, sizeof(w->last),
		 "ioctl nr %u, %zu bytes of struct in %s, returned %d (%s)",
		 (unsigned int)_IOC_NR(cmd), usize, fz_place_name[where], ret,
		 ret ? strerror(*err) : "ok");
	*back = NULL;
	/* The kernel writes back at most the first @size bytes. */
	if (p >= (void *)w->buf && p < (void *)(w->buf + fz_page) &&
	    (usize < size ? usize : size) <= fz_page - ((char *)p - w->buf))
		*back = p;
	if (usize_out)
		*usize_out = usize;
	return ret;
}

/* === The private client: commands checked against the model === */

static void fz_stamp_obj(struct fz_worker *w, __u64 off, __u32 size)
{
	fz_access(w->win + off, size, true, w->stamp, NULL);
}

/*
 * An object must hold zero or our own stamp, and a new object of a
 * poisoned cache nothing but zero; a new block must be zero.
 */
static void fz_check_obj(struct fz_worker *w, struct fz_cache *c, __u64 off,
			 bool fresh)
{
	size_t n = c->size < 8 ? c->size : 8;
	__u64 v, mask = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
	int sig;

	if (off + c->size > w->info.window_bytes) {
		fz_violation(w, "ALLOC_BULK offset %#llx past the window",
			     (unsigned long long)off);
		return;
	}
	if (c->poison && fresh) {
		sig = fz_all_zero(w->win + off, c->size);
		if (sig == 0) {
			size_t at = 0;

			while (at < c->size && !w->win[off + at])
				at++;
			fz_violation(w, "poisoned cache %u: new object %#llx: byte %zu is %#x",
				     c->id, (unsigned long long)off, at,
				     (unsigned char)w->win[off + at]);
		} else if (sig < 0) {
			fz_violation(w, "poisoned cache %u: object at %#llx: signal %d",
				     c->id, (unsigned long long)off, -sig);
		}
		return;
	}
	sig = fz_access(w->win + off, n, false, 0, &v);
	if (sig)
		fz_violation(w, "new object at %#llx: signal %d", (unsigned long long)off, sig);
	else if (v && v != (w->stamp & mask))
		fz_violation(w, "new object at %#llx holds %#llx, neither zero nor ours",
			     (unsigned long long)off, (unsigned long long)v);
}

static void fz_check_new_block(struct fz_worker *w, __u64 off, __u32 order)
{
	size_t len = fz_page << order;
	int z;

	if (off + len > w->info.window_bytes || off % len) {
		fz_violation(w, "PAGES_ALLOC offset %#llx order %u misplaced",
			     (unsigned long long)off, order);
		return;
	}
	z = fz_all_zero(w->win + off, len);
	if (z != 1)
		fz_violation(w, "block at %#llx order %u %s",
			     (unsigned long long)off, order,
			     z ? "gave a signal" : "not zeroed");
	fz_access(w->win + off, 8, true, w->stamp, NULL);
}

static struct fz_cache *fz_find_cache(struct fz_worker *w, __u32 id)
{
	unsigned int i;

	for (i = 0; i < w->ncaches; i++)
		if (w->caches[i].id == id)
			return &w->caches[i];
	return NULL;
}

static int fz_find_live(struct fz_cache *c, __u64 off)
{
	unsigned int i;

	for (i = 0; i < c->nlive; i++)
		if (c->live[i] == off)
			return i;
	return -1;
}

/* STATS must agree with the model exactly (reported as STATS/model). */
static void fz_check_stats(struct fz_worker *w, const char *after)
{
	struct karena_stats st;
	__u64 objects = 0, block_bytes = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < w->ncaches; i++)
		objects += w->caches[i].nlive;
	for (i = 0; i < w->nblocks; i++)
		block_bytes += fz_page << w->blocks[i].order;
	memset(&st, 0, sizeof(st));
	ret = ioctl(w->fd, KARENA_IOC_STATS, &st);
	fz_count(w, FZ_STATS, ret, errno);
	if (ret) {
		fz_violation(w, "STATS after %s: %s", after, strerror(errno));
		return;
	}
	if (st.objects != objects || st.nr_caches != w->ncaches ||
	    st.block_bytes != block_bytes)
		fz_violation(w, "after %s (%s): objects %llu/%llu caches %u/%u blocks %llu/%llu",
			     after, w->last, (unsigned long long)st.objects,
			     (unsigned long long)objects, st.nr_caches,
			     w->ncaches, (unsigned long long)st.block_bytes,
			     (unsigned long long)block_bytes);
	if (st.bytes != st.slab_bytes + st.block_bytes)
		fz_violation(w, "STATS: bytes %llu, slab %llu + block %llu",
			     (unsigned long long)st.bytes,
			     (unsigned long long)st.slab_bytes,
			     (unsigned long long)st.block_bytes);
}

static void fz_check_errno(struct fz_worker *w, enum fz_op op, int ret,
			   int err, bool shared)
{
	if (ret && !fz_errno_ok(op, err, shared))
		fz_violation(w, "%s failed with %s (%d), not a documented errno",
			     fz_op_name[op], strerror(err), err);
}

static void fz_priv_cache_create(struct fz_worker *w, bool mutate)
{
	struct karena_cache_create cc, *back;
	static const __u32 sizes[] = { 1, 7, 8, 24, 64, 100, 512, 1000, 4096,
				       9000, 16384 };
	void *bp;
	int ret, err;

	memset(&cc, 0, sizeof(cc));
	cc.object_size = sizes[fz_below(&w->rng, FZ_ARRAY_SIZE(sizes))];
	cc.flags = fz_below(&w->rng, KARENA_CACHE_FLAGS + 1);
	cc.align = fz_chance(&w->rng, 70) ? 0 : 1U << fz_below(&w->rng, 13);
	snprintf(cc.name, sizeof(cc.name), "f%d.%d-%u", w->proc, w->thread,
		 w->names++);
	if (mutate)
		fz_mutate(&w->rng, &cc, sizeof(cc));
	ret = fz_ioctl(w, w->fd, KARENA_IOC_CACHE_CREATE, &cc, sizeof(cc),
		       KARENA_CACHE_CREATE_SIZE_VER0, mutate, &err, &bp, NULL);
	fz_count(w, FZ_CACHE_CREATE, ret, err);
	fz_check_errno(w, FZ_CACHE_CREATE, ret, err, false);
	if (!mutate && ret && err != ENOMEM)
		fz_violation(w, "valid CACHE_CREATE failed: %s", strerror(err));
	if (ret)
		return;
	back = bp;
	if (!back) {
		fz_violation(w, "CACHE_CREATE succeeded with a bad struct");
		return;
	}
	if (w->ncaches == FZ_MAX_CACHES || !back->cache_id ||
	    fz_find_cache(w, back->cache_id)) {
		/* Model full (or a bad id): give it back. */
		struct karena_cache_destroy cd = { .cache_id = back->cache_id };

		if (!back->cache_id || fz_find_cache(w, back->cache_id))
			fz_violation(w, "CACHE_CREATE gave id %u twice or zero",
				     back->cache_id);
		ret = ioctl(w->fd, KARENA_IOC_CACHE_DESTROY, &cd);
		fz_count(w, FZ_CACHE_DESTROY, ret, errno);
		return;
	}
	w->caches[w->ncaches].id = back->cache_id;
	w->caches[w->ncaches].size = back->object_size;
	w->caches[w->ncaches].poison = back->flags & KARENA_CACHE_POISON;
	w->caches[w->ncaches].nlive = 0;
	w->ncaches++;
}

static void fz_priv_cache_destroy(struct fz_worker *w, bool mutate)
{
	struct karena_cache_destroy cd;
	struct fz_cache *c;
	void *bp;
	int ret, err;

	memset(&cd, 0, sizeof(cd));
	if (w->ncaches)
		cd.cache_id = w->caches[fz_below(&w->rng, w->ncaches)].id;
	else
		cd.cache_id = fz_below(&w->rng, 100);
	if (mutate)
		fz_mutate(&w->rng, &cd, sizeof(cd));
	ret = fz_ioctl(w, w->fd, KARENA_IOC_CACHE_DESTROY, &cd, sizeof(cd),
		       KARENA_CACHE_DESTROY_SIZE_VER0, mutate, &err, &bp, NULL);
	fz_count(w, FZ_CACHE_DESTROY, ret, err);
	fz_check_errno(w, FZ_CACHE_DESTROY, ret, err, false);
	/* What was asked, as the kernel read it (mutations included). */
	c = fz_find_cache(w, bp ? ((struct karena_cache_destroy *)bp)->cache_id
			     : cd.cache_id);
	if (ret) {
		if (!mutate && c && !c->nlive)
			fz_violation(w, "CACHE_DESTROY of empty cache %u: %s",
				     c->id, strerror(err));
		if (!mutate && c && c->nlive && err != EBUSY)
			fz_violation(w, "CACHE_DESTROY of busy cache %u: %s",
				     c->id, strerror(err));
		return;
	}
	if (!c || c->nlive) {
		fz_violation(w, "CACHE_DESTROY of %s cache %u succeeded",
			     c ? "a busy" : "an unknown", cd.cache_id);
		return;
	}
	*c = w->caches[--w->ncaches];
}

/* Free one new object the model has no room for. */
static void fz_free_one(struct fz_worker *w, struct fz_cache *c, __u64 off)
{
	struct karena_bulk f = {
		.cache_id = c->id, .count = 1, .offsets = (uintptr_t)&off,
	};
	int ret;

	ret = ioctl(w->fd, KARENA_IOC_FREE_BULK, &f);
	fz_count(w, FZ_FREE_BULK, ret, errno);
	if (ret)
		fz_violation(w, "free of a new object: %s", strerror(errno));
}

static void fz_priv_alloc(struct fz_worker *w, bool mutate)
{
	struct karena_bulk b, *back;
	struct fz_cache *c;
	unsigned int i, room;
	__u64 *arr = w->offs;
	void *bp;
	int ret, err;

	if (!w->ncaches) {
		fz_priv_cache_create(w, false);
		return;
	}
	c = &w->caches[fz_below(&w->rng, w->ncaches)];
	room = FZ_MAX_LIVE - c->nlive;
	memset(&b, 0, sizeof(b));
	b.cache_id = c->id;
	b.count = 1 + fz_below(&w->rng, room < 64 ? room : 64);
	if (!room)
		b.count = 1;
	if (mutate && fz_chance(&w->rng, 20)) {
		/* The offsets array: bad, or not 8-byte aligned. */
		static const __u64 bad[] = { 0, 1, 0xffff888000000000ULL };

		switch (fz_below(&w->rng, 4)) {
		case 0:
			b.offsets = bad[fz_below(&w->rng, 3)];
			break;
		case 1:
			b.offsets = (uintptr_t)(w->buf + fz_page);
			break;
		case 2:
			b.offsets = (uintptr_t)(w->buf + 2 * fz_page - 8);
			break;
		default:
			arr = (__u64 *)((char *)w->offs + 1 + fz_below(&w->rng, 7));
			b.offsets = (uintptr_t)arr;
		}
	} else {
		b.offsets = (uintptr_t)arr;
	}
	if (mutate && fz_chance(&w->rng, 60)) {
		__u64 keep = b.offsets;

		fz_mutate(&w->rng, &b, sizeof(b));
		/* A flipped pointer bit could aim the kernel at our own data. */
		if (b.offsets != keep)
			b.offsets = (uintptr_t)FZ_KERNEL_PTR;
	}
	ret = fz_ioctl(w, w->fd, KARENA_IOC_ALLOC_BULK, &b, sizeof(b),
		       KARENA_BULK_SIZE_VER0, mutate, &err, &bp, NULL);
	fz_count(w, FZ_ALLOC_BULK, ret, err);
	fz_check_errno(w, FZ_ALLOC_BULK, ret, err, false);
	if (!mutate && ret && err != ENOMEM)
		fz_violation(w, "valid ALLOC_BULK failed: %s", strerror(err));
	if (ret)
		return;
	back = bp;
	if (!back) {
		fz_violation(w, "ALLOC_BULK succeeded with a bad struct");
		return;
	}
	c = fz_find_cache(w, back->cache_id);
	if (!c || !back->done || back->done > back->count ||
	    back->offsets != (uintptr_t)arr) {
		fz_violation(w, "ALLOC_BULK succeeded: cache %u%s, done %u of %u",
			     back->cache_id, c ? "" : " (unknown)", back->done,
			     back->count);
		return;
	}
	for (i = 0; i < back->done; i++) {
		__u64 off;

		memcpy(&off, (char *)arr + 8 * i, 8);
		if (fz_find_live(c, off) >= 0)
			fz_violation(w, "ALLOC_BULK gave live object %#llx again",
				     (unsigned long long)off);
		fz_check_obj(w, c, off, true);
		if (c->nlive < FZ_MAX_LIVE) {
			fz_stamp_obj(w, off, c->size);
			c->live[c->nlive++] = off;
		} else {
			fz_free_one(w, c, off);
		}
	}
}

static void fz_priv_free(struct fz_worker *w, bool mutate)
{
	struct karena_bulk b, kb;
	struct fz_cache *c;
	unsigned int i, n, done;
	bool bad_ptr = false, fields_ok;
	size_t usize;
	void *bp;
	int ret, err;

	if (!w->ncaches) {
		fz_priv_cache_create(w, false);
		return;
	}
	c = &w->caches[fz_below(&w->rng, w->ncaches)];
	/* Freeing from an empty cache cannot be a valid call. */
	if (!c->nlive)
		mutate = true;
	n = c->nlive ? 1 + fz_below(&w->rng, c->nlive) : 1;
	/* A random selection of live objects, in random order. */
	for (i = 0; i < n; i++)
		w->offs[i] = c->nlive ? c->live[fz_below(&w->rng, c->nlive)] : 0;
	/* No duplicates in a valid call. */
	for (i = 1; i < n; i++) {
		unsigned int j;

		for (j = 0; j < i; j++)
			if (w->offs[j] == w->offs[i])
				break;
		if (j < i)
			w->offs[i--] = w->offs[--n];
	}
	if (mutate && fz_chance(&w->rng, 60)) {
		/* Corrupt one entry: interior, foreign, random, duplicate. */
		unsigned int at = fz_below(&w->rng, n);

		switch (fz_below(&w->rng, 5)) {
		case 0:
			w->offs[at] += 1 + fz_below(&w->rng, 16);
			break;
		case 1:
			w->offs[at] = w->nblocks ? w->blocks[0].off : 0;
			break;
		case 2:
			w->offs[at] = fz_next(&w->rng) % (2 * w->info.window_bytes);
			break;
		case 3:
			w->offs[at] = fz_edge(&w->rng);
			break;
		default:
			w->offs[at] = w->offs[0];
		}
	}
	memset(&b, 0, sizeof(b));
	b.cache_id = c->id;
	b.count = n;
	b.offsets = (uintptr_t)w->offs;
	if (mutate && fz_chance(&w->rng, 15)) {
		b.offsets = fz_chance(&w->rng, 50) ? 0 :
			    (uintptr_t)(w->buf + 2 * fz_page - 8);
		bad_ptr = true;
	}
	if (mutate && fz_chance(&w->rng, 40)) {
		fz_mutate(&w->rng, &b, sizeof(b));
		/* Counts past our array would read beyond it: keep them bad. */
		if (b.count > n && b.count <= KARENA_MAX_BATCH)
			b.count = n;
		/* A moved array holds entries the model cannot follow. */
		if (b.offsets != (uintptr_t)w->offs) {
			b.offsets = (uintptr_t)FZ_KERNEL_PTR;
			bad_ptr = true;
		}
	}
	ret = fz_ioctl(w, w->fd, KARENA_IOC_FREE_BULK, &b, sizeof(b),
		       KARENA_BULK_SIZE_VER0, mutate, &err, &bp, &usize);
	fz_count(w, FZ_FREE_BULK, ret, err);
	/* Could the kernel get as far as the entries?  What it read: */
	memset(&kb, 0, sizeof(kb));
	memcpy(&kb, &b, usize < sizeof(b) ? usize : sizeof(b));
	fields_ok = usize >= KARENA_BULK_SIZE_VER0 && !kb.flags && !kb.done &&
		    !kb.reserved && kb.count && kb.count <= KARENA_MAX_BATCH;
	fz_check_errno(w, FZ_FREE_BULK, ret, err, false);
	if (!mutate && ret)
		fz_violation(w, "valid FREE_BULK of %u failed: %s", n,
			     strerror(err));
	/* Refused before the struct was read, or not written back. */
	if (ret && (err == EFAULT || err == E2BIG || !bp ||
		    usize < KARENA_BULK_SIZE_VER0))
		return;	/* nothing may have changed: STATS will tell */
	if (!bp) {
		fz_violation(w, "FREE_BULK succeeded with a bad struct");
		return;
	}
	done = ((struct karena_bulk *)bp)->done;
	c = fz_find_cache(w, ((struct karena_bulk *)bp)->cache_id);
	if (ret && err == EINVAL && !done && !c)
		return;	/* refused before looking at entries */
	if (!c) {
		if (done || !ret)
			fz_violation(w, "FREE_BULK freed %u in unknown cache %u",
				     done, ((struct karena_bulk *)bp)->cache_id);
		return;
	}
	if (bad_ptr && done)
		fz_violation(w, "FREE_BULK freed %u from a bad array", done);
	if (done > b.count || (!ret && done != ((struct karena_bulk *)bp)->count)) {
		fz_violation(w, "FREE_BULK done %u of %u, ret %d", done,
			     ((struct karena_bulk *)bp)->count, ret);
		return;
	}
	for (i = 0; i < done && !bad_ptr; i++) {
		int at = fz_find_live(c, w->offs[i]);

		if (at < 0) {
			fz_violation(w, "FREE_BULK freed %#llx, not live in cache %u",
				     (unsigned long long)w->offs[i], c->id);
			return;
		}
		c->live[at] = c->live[--c->nlive];
	}
	if (!fields_ok && done)
		fz_violation(w, "FREE_BULK with a bad field reports done %u", done);
	if (ret && fields_ok && done < b.count && !bad_ptr &&
	    fz_find_live(c, w->offs[done]) >= 0)
		fz_violation(w, "FREE_BULK refused live object %#llx (%s)",
			     (unsigned long long)w->offs[done], strerror(err));
}

static void fz_priv_pages_alloc(struct fz_worker *w, bool mutate)
{
	struct karena_pages p, *back;
	void *bp;
	int ret, err;

	memset(&p, 0, sizeof(p));
	p.order = fz_below(&w->rng, FZ_BLOCK_ORDER + 1);
	if (mutate)
		fz_mutate(&w->rng, &p, sizeof(p));
	/* The model has room for small blocks only: big valid orders shrink. */
	if (p.order > FZ_BLOCK_ORDER && p.order <= w->info.max_order)
		p.order = FZ_BLOCK_ORDER;
	ret = fz_ioctl(w, w->fd, KARENA_IOC_PAGES_ALLOC, &p, sizeof(p),
		       KARENA_PAGES_SIZE_VER0, mutate, &err, &bp, NULL);
	fz_count(w, FZ_PAGES_ALLOC, ret, err);
	fz_check_errno(w, FZ_PAGES_ALLOC, ret, err, false);
	if (!mutate && ret && err != ENOMEM)
		fz_violation(w, "valid PAGES_ALLOC failed: %s", strerror(err));
	if (ret)
		return;
	back = bp;
	if (!back) {
		fz_violation(w, "PAGES_ALLOC succeeded with a bad struct");
		return;
	}
	fz_check_new_block(w, back->offset, back->order);
	if (w->nblocks == FZ_MAX_BLOCKS) {
		struct karena_pages f = { .offset = back->offset };

		ret = ioctl(w->fd, KARENA_IOC_PAGES_FREE, &f);
		fz_count(w, FZ_PAGES_FREE, ret, errno);
		if (ret)
			fz_violation(w, "PAGES_FREE of a new block: %s",
				     strerror(errno));
		return;
	}
	w->blocks[w->nblocks].off = back->offset;
	w->blocks[w->nblocks].order = back->order;
	w->nblocks++;
}

static void fz_priv_pages_free(struct fz_worker *w, bool mutate)
{
	struct karena_pages p;
	unsigned int i;
	void *bp;
	int ret, err;

	memset(&p, 0, sizeof(p));
	if (w->nblocks)
		p.offset = w->blocks[fz_below(&w->rng, w->nblocks)].off;
	if (mutate) {
		if (fz_chance(&w->rng, 50))
			p.offset += fz_page * (1 + fz_below(&w->rng, 3));
		else
			fz_mutate(&w->rng, &p, sizeof(p));
	}
	ret = fz_ioctl(w, w->fd, KARENA_IOC_PAGES_FREE, &p, sizeof(p),
		       KARENA_PAGES_SIZE_VER0, mutate, &err, &bp, NULL);
	fz_count(w, FZ_PAGES_FREE, ret, err);
	fz_check_errno(w, FZ_PAGES_FREE, ret, err, false);
	if (!mutate && w->nblocks && ret)
		fz_violation(w, "valid PAGES_FREE failed: %s", strerror(err));
	if (ret)
		return;
	if (!bp) {
		fz_violation(w, "PAGES_FREE succeeded with a bad struct");
		return;
	}
	p = *(struct karena_pages *)bp;
	for (i = 0; i < w->nblocks; i++)
		if (w->blocks[i].off == p.offset)
			break;
	if (i == w->nblocks || w->blocks[i].order != p.order) {
		fz_violation(w, "PAGES_FREE freed %#llx order %u: not our block",
			     (unsigned long long)p.offset, p.order);
		return;
	}
	w->blocks[i] = w->blocks[--w->nblocks];
}

static void fz_priv_query(struct fz_worker *w, enum fz_op op, bool mutate)
{
	union {
		struct karena_info info;
		struct karena_stats st;
	} u;
	unsigned long cmd = op == FZ_INFO ? KARENA_IOC_INFO : KARENA_IOC_STATS;
	size_t size = op == FZ_INFO ? sizeof(u.info) : sizeof(u.st);
	void *bp;
	int ret, err;

	memset(&u, 0, sizeof(u));
	if (mutate)
		fz_mutate(&w->rng, &u, size);
	ret = fz_ioctl(w, w->fd, cmd, &u, size, 4, mutate, &err, &bp, NULL);
	fz_count(w, op, ret, err);
	fz_check_errno(w, op, ret, err, false);
	if (!mutate && ret)
		fz_violation(w, "valid %s failed: %s", fz_op_name[op],
			     strerror(err));
}

/* A command number that is not one of karena's, on the private client. */
static void fz_garbage(struct fz_worker *w, int fd, bool shared)
{
	static const unsigned int magics[] = { KARENA_IOC_MAGIC, 0xb9, 0xbb,
					       0x00, 0xff, 0x6b };
	unsigned int magic = magics[fz_below(&w->rng, 6)];
	unsigned int nr = fz_below(&w->rng, 256);
	unsigned int dir = fz_below(&w->rng, 4);
	unsigned int where;
	unsigned long cmd;
	void *p;
	int ret;

	/* Not one of karena's commands, nor FIBMAP or FIGETBSZ (type 0). */
	if (magic == KARENA_IOC_MAGIC && nr <= 7 &&
	    dir == (_IOC_READ | _IOC_WRITE))
		nr += 8;
	if (magic == 0 && nr < 3)
		nr += 3;
	cmd = _IOC(dir, magic, nr, fz_below(&w->rng, 1U << 14));
	if (fz_chance(&w->rng, 5))
		cmd = 0;
	p = fz_place(w, w->offs, 64, true, &where);
	errno = 0;
	ret = ioctl(fd, cmd, p);
	fz_count(w, FZ_GARBAGE, ret, errno);
	if (ret == 0 || (errno != ENOTTY && !(shared && errno == EBADF)))
		fz_violation(w, "ioctl %#lx returned %d (%s), not ENOTTY", cmd,
			     ret, strerror(errno));
}

/* Touch a live object or block of the private client, which must work. */
static void fz_priv_touch(struct fz_worker *w)
{
	__u64 off;
	int sig;

	if (w->nblocks && fz_chance(&w->rng, 50)) {
		struct fz_block *bl = &w->blocks[fz_below(&w->rng, w->nblocks)];

		off = bl->off + fz_below(&w->rng, fz_page << bl->order) / 8 * 8;
	} else {
		struct fz_cache *c;

		if (!w->ncaches)
			return;
		c = &w->caches[fz_below(&w->rng, w->ncaches)];
		if (!c->nlive)
			return;
		off = c->live[fz_below(&w->rng, c->nlive)];
		fz_check_obj(w, c, off, false);
	}
	sig = fz_access(w->win + off, 1, true, w->stamp, NULL);
	__atomic_fetch_add(&fz->touches, 1, __ATOMIC_RELAXED);
	if (sig)
		fz_violation(w, "touching owned offset %#llx: signal %d",
			     (unsigned long long)off, sig);
}

static void fz_private_step(struct fz_worker *w)
{
	bool mutate = fz_chance(&w->rng, 35);
	unsigned int pick = fz_below(&w->rng, 100);

	if (pick < 6)
		fz_priv_cache_create(w, mutate);
	else if (pick < 10)
		fz_priv_cache_destroy(w, mutate);
	else if (pick < 36)
		fz_priv_alloc(w, mutate);
	else if (pick < 60)
		fz_priv_free(w, mutate);
	else if (pick < 68)
		fz_priv_pages_alloc(w, mutate);
	else if (pick < 76)
		fz_priv_pages_free(w, mutate);
	else if (pick < 80)
		fz_priv_query(w, FZ_INFO, mutate);
	else if (pick < 84)
		fz_priv_query(w, FZ_STATS, mutate);
	else if (pick < 88)
		fz_garbage(w, w->fd, false);
	else
		fz_priv_touch(w);
	fz_check_stats(w, mutate ? "a mutated command" : "a valid command");
}

/* === The shared client: everything at once, errnos only === */

/*
 * An offset of the shared client to free: one seen, or sometimes a guess
 * near one, which another thread may have just been handed (or be about
 * to be told of).
 */
static __u64 fz_shared_offset(struct fz_worker *w, __u64 step)
{
	__u64 off;

	if (!w->sh_noffs)
		return 0;
	off = w->sh_offs[fz_below(&w->rng, w->sh_noffs)];
	if (fz_chance(&w->rng, 20))
		off += step * fz_below(&w->rng, 9) - step * 4;
	return off;
}

static void fz_shared_ioctl(struct fz_worker *w)
{
	union {
		struct karena_info info;
		struct karena_cache_create cc;
		struct karena_cache_destroy cd;
		struct karena_bulk b;
		struct karena_pages p;
		struct karena_stats st;
	} u;
	static const struct {
		unsigned long cmd;
		size_t size, ver0;
	} cmds[] = {
		{ KARENA_IOC_INFO, sizeof(struct karena_info), 4 },
		{ KARENA_IOC_CACHE_CREATE, sizeof(struct karena_cache_create), 48 },
		{ KARENA_IOC_CACHE_DESTROY, sizeof(struct karena_cache_destroy), 8 },
		{ KARENA_IOC_ALLOC_BULK, sizeof(struct karena_bulk), 24 },
		{ KARENA_IOC_FREE_BULK, sizeof(struct karena_bulk), 24 },
		{ KARENA_IOC_PAGES_ALLOC, sizeof(struct karena_pages), 16 },
		{ KARENA_IOC_PAGES_FREE, sizeof(struct karena_pages), 16 },
		{ KARENA_IOC_STATS, sizeof(struct karena_stats), 4 },
	};
	unsigned int k = fz_below(&w->rng, 8), i, n;
	bool mutate = fz_chance(&w->rng, 50);
	__u32 id;
	void *bp;
	int ret, err;

	memset(&u, 0, sizeof(u));
	switch (k) {
	case FZ_CACHE_CREATE:
		u.cc.object_size = 1 + fz_below(&w->rng, 5000);
		u.cc.flags = fz_below(&w->rng, KARENA_CACHE_FLAGS + 1);
		snprintf(u.cc.name, sizeof(u.cc.name), "s%u", w->names++ % 40);
		break;
	case FZ_CACHE_DESTROY:
		u.cd.cache_id = w->sh_nids ? w->sh_ids[fz_below(&w->rng, w->sh_nids)] : 1;
		/* Sometimes a cache another thread is being given. */
		if (fz_chance(&w->rng, 30))
			u.cd.cache_id = w->sh_max_id + 1 + fz_below(&w->rng, 3);
		break;
	case FZ_ALLOC_BULK:
	case FZ_FREE_BULK:
		u.b.cache_id = w->sh_nids ? w->sh_ids[fz_below(&w->rng, w->sh_nids)] : 1;
		u.b.count = 1 + fz_below(&w->rng, 32);
		n = u.b.count;
		for (i = 0; i < n && k == FZ_FREE_BULK; i++)
			w->offs[i] = fz_shared_offset(w, 16);
		u.b.offsets = (uintptr_t)w->offs;
		/* Sometimes the array lives in the shared window itself. */
		if (w->nmaps && w->maps[0].len >= 8 * n && fz_chance(&w->rng, 20))
			u.b.offsets = (uintptr_t)w->maps[0].addr +
				fz_below(&w->rng, (w->maps[0].len - 8 * n) / 8 + 1) * 8;
		break;
	case FZ_PAGES_ALLOC:
		u.p.order = fz_below(&w->rng, fz_chance(&w->rng, 90) ? 4 : 12);
		break;
	case FZ_PAGES_FREE:
		u.p.offset = fz_shared_offset(w, fz_page) & ~(__u64)(fz_page - 1);
		break;
	}
	if (mutate) {
		__u64 keep = u.b.offsets;

		fz_mutate(&w->rng, &u, cmds[k].size);
		/* Never let a flipped bit aim ALLOC_BULK at our own data. */
		if ((k == FZ_ALLOC_BULK || k == FZ_FREE_BULK) &&
		    u.b.offsets != keep)
			u.b.offsets = (uintptr_t)FZ_KERNEL_PTR;
	}
	if ((k == FZ_ALLOC_BULK || k == FZ_FREE_BULK) &&
	    u.b.offsets == (uintptr_t)w->offs && u.b.count > KARENA_MAX_BATCH)
		u.b.count = KARENA_MAX_BATCH + 1;
	ret = fz_ioctl(w, fz_shared_fd, cmds[k].cmd, &u, cmds[k].size,
		       cmds[k].ver0, mutate, &err, &bp, NULL);
	fz_count(w, (enum fz_op)k, ret, err);
	fz_check_errno(w, (enum fz_op)k, ret, err, true);
	if (ret || !bp)
		return;
	switch (k) {
	case FZ_CACHE_CREATE:
		id = ((struct karena_cache_create *)bp)->cache_id;
		if (w->sh_nids < FZ_MAX_SHARED)
			w->sh_ids[w->sh_nids++] = id;
		if (id > w->sh_max_id)
			w->sh_max_id = id;
		break;
	case FZ_ALLOC_BULK: {
		struct karena_bulk *b = bp;

		if (!b->done || b->done > b->count)
			fz_violation(w, "shared ALLOC_BULK done %u of %u",
				     b->done, b->count);
		for (i = 0; i < b->done && w->sh_noffs < FZ_MAX_SHARED &&
		     b->offsets == (uintptr_t)w->offs; i++)
			w->sh_offs[w->sh_noffs++] = w->offs[i];
		break;
	}
	case FZ_PAGES_ALLOC:
		if (w->sh_noffs < FZ_MAX_SHARED)
			w->sh_offs[w->sh_noffs++] = ((struct karena_pages *)bp)->offset;
		break;
	}
	if (w->sh_noffs == FZ_MAX_SHARED && fz_chance(&w->rng, 10))
		w->sh_noffs = 0;
	if (w->sh_nids == FZ_MAX_SHARED && fz_chance(&w->rng, 10))
		w->sh_nids = 0;
}

static bool fz_mmap_errno_ok(int err)
{
	return err == EINVAL || err == ENOMEM || err == EAGAIN ||
	       err == EBADF || err == EACCES || err == EOVERFLOW ||
	       err == ENODEV;
}

static void fz_shared_mmap(struct fz_worker *w)
{
	static const int flag_sets[] = {
		MAP_SHARED, MAP_SHARED, MAP_SHARED, MAP_PRIVATE,
		MAP_SHARED | MAP_POPULATE, MAP_SHARED_VALIDATE,
		MAP_SHARED | MAP_NORESERVE, MAP_SHARED | MAP_LOCKED,
	};
	size_t pages = w->info.window_bytes / fz_page;
	size_t len, off;
	int prot, flags;
	void *p;

	if (w->nmaps == FZ_MAX_MAPS)
		return;
	len = (1 + fz_below(&w->rng, fz_chance(&w->rng, 80) ? 64 : pages + 2)) * fz_page;
	off = fz_below(&w->rng, pages + 2) * fz_page;
	if (fz_chance(&w->rng, 5))
		off += 1 + fz_below(&w->rng, fz_page - 1);
	if (fz_chance(&w->rng, 3))
		len = 0;
	prot = fz_chance(&w->rng, 80) ? PROT_READ | PROT_WRITE :
	       (int)fz_below(&w->rng, 8);
	flags = flag_sets[fz_below(&w->rng, 8)];
	p = mmap(NULL, len, prot, flags, fz_shared_fd, off);
	fz_count(w, FZ_MMAP, p == MAP_FAILED ? -1 : 0, errno);
	if (p == MAP_FAILED) {
		if (!fz_mmap_errno_ok(errno))
			fz_violation(w, "mmap len %zu off %#zx prot %#x flags %#x: %s",
				     len, off, prot, flags, strerror(errno));
		return;
	}
	if (prot & PROT_EXEC || !(flags & MAP_SHARED) ||
	    off + len > w->info.window_bytes)
		fz_violation(w, "mmap len %zu off %#zx prot %#x flags %#x succeeded",
			     len, off, prot, flags);
	w->maps[w->nmaps].addr = p;
	w->maps[w->nmaps].len = len;
	w->maps[w->nmaps].prot = prot;
	w->nmaps++;
}

static void fz_drop_map(struct fz_worker *w, unsigned int i)
{
	w->maps[i] = w->maps[--w->nmaps];
}

static void fz_shared_vma_op(struct fz_worker *w)
{
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK,
		MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
		MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, 22, 23,
	};
	unsigned int i = fz_below(&w->rng, w->nmaps);
	struct fz_map *m = &w->maps[i];
	size_t pages = m->len / fz_page, skip, len;
	int ret, a, prot;
	void *p;

	skip = fz_below(&w->rng, pages);
	len = (1 + fz_below(&w->rng, pages - skip)) * fz_page;
	switch (fz_below(&w->rng, 4)) {
	case 0:
		/* munmap the whole, a head or a tail. */
		if (fz_chance(&w->rng, 40) || pages == 1) {
			ret = munmap(m->addr, m->len);
			fz_count(w, FZ_MUNMAP, ret, errno);
			fz_drop_map(w, i);
		} else if (fz_chance(&w->rng, 50)) {
			ret = munmap(m->addr, fz_page);
			fz_count(w, FZ_MUNMAP, ret, errno);
			m->addr += fz_page;
			m->len -= fz_page;
		} else {
			ret = munmap(m->addr + m->len - fz_page, fz_page);
			fz_count(w, FZ_MUNMAP, ret, errno);
			m->len -= fz_page;
		}
		if (ret)
			fz_violation(w, "munmap: %s", strerror(errno));
		break;
	case 1:
		/* mremap: grow (refused), shrink, or move. */
		if (fz_chance(&w->rng, 30)) {
			p = mremap(m->addr, m->len, m->len + fz_page, MREMAP_MAYMOVE);
			fz_count(w, FZ_MREMAP, p == MAP_FAILED ? -1 : 0, errno);
			if (p != MAP_FAILED) {
				fz_violation(w, "mremap grew the window mapping");
				m->addr = p;
				m->len += fz_page;
			}
		} else {
			size_t nlen = (1 + fz_below(&w->rng, pages)) * fz_page;

			p = mremap(m->addr, m->len, nlen, MREMAP_MAYMOVE);
			fz_count(w, FZ_MREMAP, p == MAP_FAILED ? -1 : 0, errno);
			if (p == MAP_FAILED) {
				if (errno != ENOMEM && errno != EFAULT)
					fz_violation(w, "mremap shrink: %s",
						     strerror(errno));
			} else {
				m->addr = p;
				m->len = nlen;
			}
		}
		break;
	case 2:
		a = advice[fz_below(&w->rng, FZ_ARRAY_SIZE(advice))];
		ret = madvise(m->addr + skip * fz_page, len, a);
		fz_count(w, FZ_MADVISE, ret, errno);
		if ((a == MADV_DONTNEED || a == MADV_DOFORK ||
		     a == MADV_WIPEONFORK) && !(ret && errno == EINVAL))
			fz_violation(w, "madvise(%d) on the window: %d %s", a,
				     ret, strerror(errno));
		break;
	default:
		prot = fz_below(&w->rng, 8);
		ret = mprotect(m->addr, m->len, prot);
		fz_count(w, FZ_MPROTECT, ret, errno);
		if ((prot & PROT_EXEC) && !(ret && errno == EACCES))
			fz_violation(w, "mprotect(PROT_EXEC) on the window: %d %s",
				     ret, strerror(errno));
		else if (!(prot & PROT_EXEC) && ret)
			fz_violation(w, "mprotect(%#x): %s", prot,
				     strerror(errno));
		if (!ret)
			m->prot = prot;
	}
}

/* Read, and sometimes scribble over, mapped memory of the shared client. */
static void fz_shared_touch(struct fz_worker *w)
{
	struct fz_map *m = &w->maps[fz_below(&w->rng, w->nmaps)];
	char *p = m->addr + fz_below(&w->rng, m->len);
	bool write = (m->prot & PROT_WRITE) && fz_chance(&w->rng, 50);
	int sig;

	sig = fz_access(p, 1, write, fz_next(&w->rng), NULL);
	__atomic_fetch_add(&fz->touches, 1, __ATOMIC_RELAXED);
	if (sig == SIGBUS)
		__atomic_fetch_add(&fz->sigbus, 1, __ATOMIC_RELAXED);
	else if (sig == SIGSEGV && (m->prot & PROT_READ))
		fz_violation(w, "SIGSEGV touching a readable window mapping");
	else if (!sig && m->prot == PROT_NONE)
		/* (x86 cannot map write-only: PROT_WRITE reads too) */
		fz_violation(w, "read through a PROT_NONE window mapping worked");
}

/*
 * fork while mapped: the child has no window (VM_DONTCOPY) and may not
 * use the parent's clients (EPERM).
 */
static void fz_fork(struct fz_worker *w)
{
	int status, ret;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid != 0)
		fz_count(w, FZ_FORK, pid < 0 ? -1 : 0, errno);
	if (pid < 0)
		return;
	if (pid == 0) {
		struct karena_info info;
		int code = 0;

		if (fz_access(w->win, 1, false, 0, NULL) != SIGSEGV)
			code |= 1;
		memset(&info, 0, sizeof(info));
		if (ioctl(w->fd, KARENA_IOC_INFO, &info) != -1 || errno != EPERM)
			code |= 2;
		if (mmap(NULL, fz_page, PROT_READ, MAP_SHARED, w->fd, 0) != MAP_FAILED ||
		    errno != EPERM)
			code |= 4;
		_exit(code);
	}
	while ((ret = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (ret != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		/* 1: window visible, 2: ioctl not EPERM, 4: mmap not EPERM */
		fz_violation(w, "fork child: status %#x", status);
}

/* Replace the shared client while other threads may be inside an ioctl. */
static void fz_reopen(struct fz_worker *w)
{
	int fd = open(FZ_DEV, O_RDWR | O_CLOEXEC), ret;

	if (fd < 0) {
		fz_count(w, FZ_REOPEN, -1, errno);
		fz_violation(w, "open: %s", strerror(errno));
		return;
	}
	ret = dup3(fd, fz_shared_fd, O_CLOEXEC);
	fz_count(w, FZ_REOPEN, ret < 0 ? -1 : 0, errno);
	close(fd);
	w->sh_nids = 0;
	w->sh_noffs = 0;
}

static void fz_shared_step(struct fz_worker *w)
{
	unsigned int pick = fz_below(&w->rng, 1000);

	if (pick < 450)
		fz_shared_ioctl(w);
	else if (pick < 500)
		fz_garbage(w, fz_shared_fd, true);
	else if (pick < 600 || (pick < 990 && !w->nmaps))
		fz_shared_mmap(w);
	else if (pick < 750)
		fz_shared_vma_op(w);
	else if (pick < 990)
		fz_shared_touch(w);
	else if (pick < 994)
		fz_fork(w);
	else
		fz_reopen(w);
}

/* === Workers === */

static int fz_open_private(struct fz_worker *w)
{
	void *p;

	w->fd = open(FZ_DEV, O_RDWR | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	memset(&w->info, 0, sizeof(w->info));
	if (ioctl(w->fd, KARENA_IOC_INFO, &w->info))
		return -errno;
	p = mmap(NULL, w->info.window_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 w->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	w->win = p;
	w->ncaches = 0;
	w->nblocks = 0;
	w->stamp = fz_splitmix(fz_next(&w->rng)) | 1;
	return 0;
}

/*
 * Give the private client up with whatever it owns and open a new one:
 * sometimes close before munmap (the mapping keeps the client alive).
 */
static void fz_private_restart(struct fz_worker *w)
{
	int ret;

	if (fz_chance(&w->rng, 50)) {
		close(w->fd);
		munmap(w->win, w->info.window_bytes);
	} else {
		munmap(w->win, w->info.window_bytes);
		close(w->fd);
	}
	ret = fz_open_private(w);
	fz_count(w, FZ_REOPEN, ret, -ret);
	if (ret)
		fz_violation(w, "reopening the private client: %s", strerror(-ret));
}

static int fz_worker_init(struct fz_worker *w)
{
	char *p;
	int mfd, ret;

	p = mmap(NULL, 3 * fz_page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	w->buf = p;
	/* Page 1 read-only, written through a second (read-write) alias. */
	mfd = memfd_create("karena_fuzz", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, fz_page))
		return -errno;
	if (mmap(p + fz_page, fz_page, PROT_READ, MAP_SHARED | MAP_FIXED, mfd, 0) ==
	    MAP_FAILED)
		return -errno;
	w->ro_rw = mmap(NULL, fz_page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	if (w->ro_rw == MAP_FAILED)
		return -errno;
	if (mprotect(p + 2 * fz_page, fz_page, PROT_NONE))
		return -errno;
	ret = fz_open_private(w);
	return ret;
}

static void *fz_worker_run(void *arg)
{
	struct fz_worker *w = arg;
	int ret = fz_worker_init(w);

	if (ret) {
		fz_violation(w, "worker setup: %s", strerror(-ret));
		return NULL;
	}
	while (!fz_should_stop()) {
		unsigned int i;

		for (i = 0; i < 16; i++) {
			if (fz_chance(&w->rng, 55))
				fz_private_step(w);
			else
				fz_shared_step(w);
		}
		if (fz_below(&w->rng, 4000) == 0)
			fz_private_restart(w);
	}
	/* Leave with everything allocated: release must take it all back. */
	munmap(w->win, w->info.window_bytes);
	close(w->fd);
	while (w->nmaps) {
		w->nmaps--;
		munmap(w->maps[w->nmaps].addr, w->maps[w->nmaps].len);
	}
	return NULL;
}

static int fz_process(int proc, int threads)
{
	struct fz_worker *ws = calloc(threads, sizeof(*ws));
	pthread_t tids[FZ_MAX_THREADS];
	int t;

	if (!ws)
		return 2;
	fz_shared_fd = open(FZ_DEV, O_RDWR | O_CLOEXEC);
	if (fz_shared_fd < 0)
		return 2;
	for (t = 0; t < threads; t++) {
		ws[t].proc = proc;
		ws[t].thread = t;
		ws[t].rng.s = fz_splitmix(fz_seed ^ ((__u64)proc << 32) ^ t) | 1;
		if (pthread_create(&tids[t], NULL, fz_worker_run, &ws[t]))
			return 2;
	}
	for (t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	close(fz_shared_fd);
	free(ws);
	return 0;
}

static void fz_usage(void)
{
	fprintf(stderr, "usage: karena_fuzz [-s SEED] [-n CALLS] [-t SECONDS]\n"
		"                   [-p PROCS] [-j THREADS] [-l]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long calls = 100000, seed = 0;
	unsigned int seconds = 60, procs = 2, threads = 2, i;
	struct sigaction sa;
	bool seeded = false;
	__u64 start, elapsed;
	int opt, status, fd, failed = 0;
	pid_t pids[64];

	while ((opt = getopt(argc, argv, "s:n:t:p:j:l")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'n':
			calls = strtoull(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			procs = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			threads = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			fz_log = true;
			break;
		default:
			fz_usage();
		}
	}
	if (!procs || procs > 64 || !threads || threads > FZ_MAX_THREADS ||
	    optind != argc)
		fz_usage();
	if (!seeded)
		seed = fz_splitmix(fz_now_ns() ^ getpid());
	fz_seed = seed;
	fz_page = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("# karena_fuzz: seed=%#llx procs=%u threads=%u calls=%llu seconds=%u\n",
	       seed, procs, threads, calls, seconds);
	printf("# reproduce: karena_fuzz -s %#llx -p %u -j %u -n %llu -t %u\n",
	       seed, procs, threads, calls, seconds);

	fd = open(FZ_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("# %s: %s\n", FZ_DEV, strerror(errno));
		return errno == ENOENT ? 4 : 2;
	}
	close(fd);

	fz = mmap(NULL, sizeof(*fz), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fz == MAP_FAILED)
		return 2;
	start = fz_now_ns();
	fz->budget = calls;
	fz->deadline = start + (__u64)seconds * 1000000000ULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fz_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 2;
		if (pids[i] == 0)
			_exit(fz_process(i, threads));
	}
	for (i = 0; i < procs; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			printf("# process %u ended with status %#x\n", i, status);
			failed = 1;
		}
	}
	elapsed = fz_now_ns() - start;

	for (i = 0; i < FZ_NR_OPS; i++) {
		char errs[256] = "";
		size_t len = 0;
		int e;

		for (e = 0; e < FZ_NR_ERRNO; e++)
			if (fz->op_errnos[i][e] && len < sizeof(errs) - 40)
				len += snprintf(errs + len, sizeof(errs) - len,
						" %s=%llu", e ? strerrorname_np(e) : "other",
						(unsigned long long)fz->op_errnos[i][e]);
		printf("# %-14s %9llu calls;%s\n", fz_op_name[i],
		       (unsigned long long)fz->op_calls[i], errs);
	}
	printf("# touches=%llu sigbus=%llu\n", (unsigned long long)fz->touches,
	       (unsigned long long)fz->sigbus);
	printf("fuzz: seed=%#llx calls=%llu seconds=%.1f calls_per_second=%.0f violations=%llu\n",
	       seed, (unsigned long long)fz->calls, elapsed / 1e9,
	       fz->calls / (elapsed / 1e9), (unsigned long long)fz->violations);
	if (fz->violations)
		printf("# first: %s\n", fz->first);
	return fz->violations || failed ? 1 : 0;
}
