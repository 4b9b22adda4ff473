// SPDX-License-Identifier: GPL-2.0
/*
 * karena_faultsweep: fail the 1st, 2nd, ... k-th allocation of one
 * /dev/karena operation until it completes without reaching the fault,
 * and check that every run either succeeded or failed cleanly.
 *
 * Faults come from four fault attributes: karena's own fail_page (buddy
 * layer) and fail_slab (slab layer), and the kernel's failslab and
 * fail_page_alloc.  The modes:
 *
 *   nth     the per-thread /proc/thread-self/fail-nth counter: should_fail()
 *           (lib/fault-inject.c) consults current->fail_nth before any
 *           attribute setting, for every attribute, so writing k makes
 *           exactly the k-th allocation of the next system call fail,
 *           whichever of the four layers makes it.  Reading the counter
 *           back says whether the fault was reached; the sweep stops when
 *           it was not.  Each attribute's @times drops by one when it
 *           injects, which tells which layer failed.
 *   storm   every attribute at once with task-filter=Y, probability P,
 *           interval 1, and /proc/thread-self/make-it-fail set only around
 *           the operation: several allocations of one call may fail.
 *   filter  proves that task-filter scopes karena's own attributes too:
 *           at probability 100, an operation of a thread without
 *           make-it-fail succeeds and one with it fails.
 *   insmod  the nth sweep over finit_module() of karena.ko (-i), from
 *           a few fault sites before ka_module_init() on.
 *
 * A clean run: the operation succeeded, or failed with a documented
 * errno and changed nothing (the client's STATS are as before); after
 * the client is closed no arena page is a client's (debugfs arena
 * user=0) and no client is listed; the arena's own checker counts no
 * new problem; the kernel log gained no line matching the oracle's
 * pattern (-R).  Needs root, debugfs, and no other karena client.
 *
 * Output: TAP result lines without numbers ("ok - ..."), and one line
 * "failure_points=N" per mode, for fault_sweep.sh.
 */
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "karena_test_util.h"

#define FS_FI		"/sys/kernel/debug"
#define FS_NR_ATTRS	4
#define FS_TIMES	1000000000L

static const char * const fs_attr_dir[FS_NR_ATTRS] = {
	KT_DEBUGFS "/fail_page", KT_DEBUGFS "/fail_slab",
	FS_FI "/failslab", FS_FI "/fail_page_alloc",
};

static const char * const fs_attr_name[FS_NR_ATTRS] = {
	"fail_page", "fail_slab", "failslab", "fail_page_alloc",
};

static int fs_nth_fd = -1;
static int fs_mif_fd = -1;
static int fs_kmsg_fd = -1;
static regex_t fs_pattern;
static bool fs_have_pattern;
static int fs_tests, fs_failed;

/* === debugfs and /proc helpers === */

static void fs_die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(2);
}

static int fs_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static long fs_read_long(const char *dir, const char *file)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return LONG_MIN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return LONG_MIN;
	buf[n] = '\0';
	return strtol(buf, NULL, 0);
}

/* Configure all four attributes; @prob 0 leaves only fail-nth active. */
static int fs_attrs_setup(int prob, bool task_filter)
{
	char v[32];
	int i, ret = 0;

	for (i = 0; i < FS_NR_ATTRS; i++) {
		snprintf(v, sizeof(v), "%d", prob);
		ret |= fs_write(fs_attr_dir[i], "probability", v);
		ret |= fs_write(fs_attr_dir[i], "interval", "1");
		ret |= fs_write(fs_attr_dir[i], "space", "0");
		ret |= fs_write(fs_attr_dir[i], "verbose", "0");
		snprintf(v, sizeof(v), "%ld", FS_TIMES);
		ret |= fs_write(fs_attr_dir[i], "times", v);
		ret |= fs_write(fs_attr_dir[i], "task-filter",
				task_filter ? "Y" : "N");
	}
	/* The kernel's attributes skip sleeping and order-0 allocations by default. */
	ret |= fs_write(FS_FI "/failslab", "ignore-gfp-wait", "N");
	ret |= fs_write(FS_FI "/fail_page_alloc", "ignore-gfp-wait", "N");
	ret |= fs_write(FS_FI "/fail_page_alloc", "min-order", "0");
	return ret;
}

/* Back to the defaults: nothing injected, the kernel's filters on. */
static void fs_attrs_reset(void)
{
	int i;

	for (i = 0; i < FS_NR_ATTRS; i++) {
		fs_write(fs_attr_dir[i], "probability", "0");
		fs_write(fs_attr_dir[i], "task-filter", "N");
		fs_write(fs_attr_dir[i], "times", "1");
	}
	fs_write(FS_FI "/failslab", "ignore-gfp-wait", "Y");
	fs_write(FS_FI "/fail_page_alloc", "ignore-gfp-wait", "Y");
	fs_write(FS_FI "/fail_page_alloc", "min-order", "1");
}

/* "fail_page N, fail_slab N, failslab N, fail_page_alloc N" */
static const char *fs_attrs_str(const long *n)
{
	static char buf[160];
	size_t len = 0;
	int i;

	for (i = 0; i < FS_NR_ATTRS; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s %ld",
				i ? ", " : "", fs_attr_name[i], n[i]);
	return buf;
}

static void fs_times(long *t)
{
	int i;

	for (i = 0; i < FS_NR_ATTRS; i++)
		t[i] = fs_read_long(fs_attr_dir[i], "times");
}

/* Arm fail-nth: the @k-th fault site of this thread's next calls fails. */
static void fs_arm(unsigned int k)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%u", k);

	if (pwrite(fs_nth_fd, v, n, 0) != n)
		fs_die("write fail-nth");
}

/* What is left of the fail-nth counter. */
static int fs_read_nth(void)
{
	char v[16] = "";

	if (pread(fs_nth_fd, v, sizeof(v) - 1, 0) <= 0)
		fs_die("read fail-nth");
	return atoi(v);
}

/* Disarm fail-nth; true if the fault was reached (the counter hit 0). */
static bool fs_disarm(void)
{
	char v[16] = "";
	bool hit;

	if (pread(fs_nth_fd, v, sizeof(v) - 1, 0) <= 0)
		fs_die("read fail-nth");
	hit = strtol(v, NULL, 10) == 0;
	if (pwrite(fs_nth_fd, "0", 1, 0) != 1)
		fs_die("reset fail-nth");
	return hit;
}

static void fs_make_it_fail(bool on)
{
	if (pwrite(fs_mif_fd, on ? "1" : "0", 1, 0) != 1)
		fs_die("write make-it-fail");
}

/*
 * Kernel log lines since the last call that match the oracle's pattern;
 * each is printed as a diagnostic.  Returns how many.
 */
static int fs_kmsg_hits(const char *what)
{
	static char log[8192];
	size_t len = 0;
	char rec[1024];
	int hits = 0;
	ssize_t n;

	if (fs_kmsg_fd < 0)
		return 0;
	for (;;) {
		n = read(fs_kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (fs_have_pattern && !regexec(&fs_pattern, rec, 0, NULL, 0))
			hits++;
		/* Keep the message text of the first lines of this run. */
		if (strchr(rec, ';') && len < sizeof(log) - 1)
			len += snprintf(log + len, sizeof(log) - len, "# kernel log after %s: %s",
					what, strchr(rec, ';') + 1);
	}
	if (hits)
		fputs(log, stdout);
	return hits;
}

/* === The operations === */

enum fs_op {
	OP_OPEN, OP_INFO, OP_CACHE_CREATE, OP_CACHE_CREATE_DEBUG,
	OP_CACHE_DESTROY, OP_ALLOC_1, OP_ALLOC_64, OP_ALLOC_600,
	OP_ALLOC_WARM, OP_FREE_64, OP_FREE_600, OP_PAGES_ALLOC_0,
	OP_PAGES_ALLOC_3, OP_PAGES_ALLOC_MAX, OP_PAGES_FREE, OP_STATS,
	OP_MMAP, OP_TOUCH, OP_RELEASE, OP_NR
};

static const char * const fs_op_name[OP_NR] = {
	"open", "INFO", "CACHE_CREATE", "CACHE_CREATE_debug_flags",
	"CACHE_DESTROY", "ALLOC_BULK_1", "ALLOC_BULK_64", "ALLOC_BULK_600",
	"ALLOC_BULK_warm_slab", "FREE_BULK_64", "FREE_BULK_600",
	"PAGES_ALLOC_order0", "PAGES_ALLOC_order3", "PAGES_ALLOC_max_order",
	"PAGES_FREE", "STATS", "mmap", "first_touch", "release",
};

/**
 * struct fs_run - one run of an operation.
 * @c: the client (fd -1 for OP_OPEN before the run).
 * @cache: cache id made by the setup, or 0.
 * @n: objects allocated by the setup.
 * @offs: their offsets, then what the operation returned.
 * @block: page block offset made by the setup.
 * @before: STATS before the operation.
 * @count: objects the operation asks for.
 * @order: block order the operation asks for.
 */
struct fs_run {
	struct kt_client c;
	__u32 cache;
	__u32 n;
	__u64 offs[KARENA_MAX_BATCH];
	__u64 block;
	struct karena_stats before;
	__u32 count;
	__u32 order;
};

static __u32 fs_count(enum fs_op op)
{
	switch (op) {
	case OP_ALLOC_64:
	case OP_FREE_64:
		return 64;
	case OP_ALLOC_600:
	case OP_FREE_600:
		return 600;
	default:
		return 1;
	}
}

/* Build what the operation needs, with no fault armed. 0 or -errno. */
static int fs_setup(enum fs_op op, struct fs_run *r)
{
	__u32 done;
	int ret;

	memset(r, 0, sizeof(*r));
	r->c.fd = -1;
	r->count = fs_count(op);
	if (op == OP_OPEN)
		return 0;
	ret = kt_open(&r->c);
	if (ret)
		return ret;
	if (op == OP_TOUCH || op == OP_RELEASE || op == OP_ALLOC_1 ||
	    op == OP_ALLOC_64 || op == OP_ALLOC_600 || op == OP_PAGES_ALLOC_0 ||
	    op == OP_PAGES_ALLOC_3 || op == OP_PAGES_ALLOC_MAX) {
		ret = kt_map(&r->c);
		if (ret)
			return ret;
	}
	if (op == OP_CACHE_DESTROY || (op >= OP_ALLOC_1 && op <= OP_FREE_600) ||
	    op == OP_RELEASE) {
		struct karena_cache_create cc;

		ret = kt_cache_create(r->c.fd, "sweep", 64, 0, 0, &cc);
		if (ret)
			return ret;
		r->cache = cc.cache_id;
	}
	if (op == OP_CACHE_DESTROY || op == OP_ALLOC_WARM || op == OP_FREE_64 ||
	    op == OP_FREE_600 || op == OP_RELEASE) {
		r->n = op == OP_CACHE_DESTROY || op == OP_ALLOC_WARM ? 1 : r->count;
		if (op == OP_RELEASE)
			r->n = 100;
		ret = kt_alloc(r->c.fd, r->cache, r->n, r->offs, &done);
		if (ret)
			return ret;
		if (done != r->n)
			return -ENOMEM;
		if (op == OP_CACHE_DESTROY) {
			ret = kt_free(r->c.fd, r->cache, 1, r->offs, NULL);
			r->n = 0;
			if (ret)
				return ret;
		}
	}
	if (op == OP_PAGES_FREE || op == OP_TOUCH || op == OP_RELEASE) {
		if (op == OP_TOUCH && !r->c.win)
			return -EINVAL;
		ret = kt_pages_alloc(r->c.fd, op == OP_PAGES_FREE ? 2 : 0,
				     &r->block);
		if (ret)
			return ret;
	}
	if (op == OP_RELEASE) {
		close(r->c.fd);
		r->c.fd = -1;
	}
	r->order = op == OP_PAGES_ALLOC_3 ? 3 :
		   op == OP_PAGES_ALLOC_MAX ? r->c.info.max_order : 0;
	if (r->c.fd >= 0)
		return kt_stats(r->c.fd, &r->before);
	return 0;
}

/* The operation itself: one system call (or one memory access). */
static int fs_do(enum fs_op op, struct fs_run *r, int *sig)
{
	struct karena_info info;
	struct karena_stats st;
	void *p;

	switch (op) {
	case OP_OPEN:
		r->c.fd = open(KT_DEV, O_RDWR | O_CLOEXEC);
		return r->c.fd < 0 ? -errno : 0;
	case OP_INFO:
		return kt_info(r->c.fd, &info);
	case OP_CACHE_CREATE:
		return kt_cache_create(r->c.fd, "sweep", 64, 0, 0, NULL);
	case OP_CACHE_CREATE_DEBUG:
		return kt_cache_create(r->c.fd, "sweep", 100, 0,
				       KARENA_CACHE_FLAGS, NULL);
	case OP_CACHE_DESTROY:
		return kt_cache_destroy(r->c.fd, r->cache);
	case OP_ALLOC_1:
	case OP_ALLOC_64:
	case OP_ALLOC_600:
	case OP_ALLOC_WARM:
		return kt_alloc(r->c.fd, r->cache, r->count, r->offs + r->n,
				&r->count);
	case OP_FREE_64:
	case OP_FREE_600:
		return kt_free(r->c.fd, r->cache, r->n, r->offs, &r->count);
	case OP_PAGES_ALLOC_0:
	case OP_PAGES_ALLOC_3:
	case OP_PAGES_ALLOC_MAX:
		return kt_pages_alloc(r->c.fd, r->order, &r->block);
	case OP_PAGES_FREE:
		return kt_pages_free(r->c.fd, r->block);
	case OP_STATS:
		return kt_stats(r->c.fd, &st);
	case OP_MMAP:
		p = mmap(NULL, r->c.info.window_bytes, PROT_READ | PROT_WRITE,
			 MAP_SHARED, r->c.fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		r->c.win = p;
		return 0;
	case OP_TOUCH:
		*sig = kt_probe(r->c.win + r->block, true, NULL);
		return 0;
	case OP_RELEASE:
		/*
		 * The last reference: release runs on the way back to user.
		 * munmap itself may fail (ENOMEM): the mapping then stays.
		 */
		if (munmap(r->c.win, r->c.info.window_bytes))
			return -errno;
		r->c.win = NULL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The errno an operation may fail with under an allocation failure. */
static bool fs_errno_ok(enum fs_op op, int err)
{
	return err == ENOMEM;
}

/*
 * Check one run: a clean error that changed nothing, or a success whose
 * result is whole.  Returns NULL or what is wrong.
 */
static const char *fs_check(enum fs_op op, struct fs_run *r, int ret, int sig,
			    char *why, size_t len)
{
	struct karena_stats st;
	__u32 i;

	if (sig) {
		snprintf(why, len, "signal %d touching an owned page", sig);
		return why;
	}
	if (ret && !fs_errno_ok(op, -ret)) {
		snprintf(why, len, "failed with %s", strerror(-ret));
		return why;
	}
	if (r->c.fd < 0 || op == OP_OPEN || op == OP_RELEASE)
		return NULL;
	if (kt_stats(r->c.fd, &st)) {
		snprintf(why, len, "STATS after the run: %s", strerror(errno));
		return why;
	}
	if (ret) {
		/* Nothing changed. */
		if (st.objects != r->before.objects ||
		    st.nr_caches != r->before.nr_caches ||
		    st.block_bytes != r->before.block_bytes ||
		    st.bytes > r->before.bytes) {
			snprintf(why, len,
				 "failed but changed the client: objects %llu->%llu caches %u->%u block_bytes %llu->%llu bytes %llu->%llu",
				 (unsigned long long)r->before.objects,
				 (unsigned long long)st.objects,
				 r->before.nr_caches, st.nr_caches,
				 (unsigned long long)r->before.block_bytes,
				 (unsigned long long)st.block_bytes,
				 (unsigned long long)r->before.bytes,
				 (unsigned long long)st.bytes);
			return why;
		}
		return NULL;
	}
	switch (op) {
	case OP_CACHE_CREATE:
	case OP_CACHE_CREATE_DEBUG:
		if (st.nr_caches != r->before.nr_caches + 1)
			goto bad_count;
		break;
	case OP_CACHE_DESTROY:
		if (st.nr_caches != r->before.nr_caches - 1)
			goto bad_count;
		break;
	case OP_ALLOC_1:
	case OP_ALLOC_64:
	case OP_ALLOC_600:
	case OP_ALLOC_WARM:
		/* A partial success is fine, if it says how far it got. */
		if (!r->count || r->count > fs_count(op) ||
		    st.objects != r->before.objects + r->count)
			goto bad_count;
		for (i = 0; r->c.win && i < r->count; i++) {
			__u64 off = r->offs[r->n + i];

			if (off >= r->c.info.window_bytes ||
			    kt_probe(r->c.win + off, true, NULL) ||
			    kt_first_nonzero(r->c.win + off, 64) >= 0) {
				snprintf(why, len, "object %u at %#llx unusable or not zero",
					 i, (unsigned long long)off);
				return why;
			}
		}
		break;
	case OP_FREE_64:
	case OP_FREE_600:
		if (r->count != r->n || st.objects != r->before.objects - r->n)
			goto bad_count;
		break;
	case OP_PAGES_ALLOC_0:
	case OP_PAGES_ALLOC_3:
	case OP_PAGES_ALLOC_MAX:
		if (st.block_bytes != r->before.block_bytes +
		    ((__u64)r->c.page << r->order))
			goto bad_count;
		if (kt_probe(r->c.win + r->block, true, NULL) ||
		    kt_first_nonzero(r->c.win + r->block, r->c.page << r->order) >= 0) {
			snprintf(why, len, "block unusable or not zero");
			return why;
		}
		break;
	case OP_PAGES_FREE:
		if (st.block_bytes != r->before.block_bytes - 4 * r->c.page)
			goto bad_count;
		break;
	default:
		break;
	}
	return NULL;

bad_count:
	snprintf(why, len,
		 "succeeded but STATS disagree: objects %llu->%llu (done %u) caches %u->%u block_bytes %llu->%llu",
		 (unsigned long long)r->before.objects,
		 (unsigned long long)st.objects, r->count, r->before.nr_caches,
		 st.nr_caches, (unsigned long long)r->before.block_bytes,
		 (unsigned long long)st.block_bytes);
	return why;
}

/* Close everything; then no client may own a page. NULL or the problem. */
static const char *fs_teardown(struct fs_run *r, char *why, size_t len)
{
	long pages, clients;

	kt_close(&r->c);
	pages = kt_user_pages_settled(0);
	clients = kt_nr_clients();
	if (pages || clients) {
		snprintf(why, len, "after close: user=%ld pages, %ld clients",
			 pages, clients);
		return why;
	}
	return NULL;
}

static void fs_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	fs_tests++;
	fs_failed += !ok;
	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/**
 * fs_one() - set up, run @op once with a fault armed, check, tear down.
 * @op: the operation.
 * @k: fail-nth value (0: none, storm mode arms make-it-fail instead).
 * @storm: arm make-it-fail around the operation.
 * @hit: set if the fault was reached.
 * @injected: per attribute, faults injected in this run.
 * @why: buffer for the problem.
 * @len: its size.
 *
 * Return: NULL if the run was clean, else the problem.
 */
static const char *fs_one(enum fs_op op, unsigned int k, bool storm,
			  bool *hit, long *injected, char *why, size_t len)
{
	struct fs_run *r = calloc(1, sizeof(*r));
	long t0[FS_NR_ATTRS], t1[FS_NR_ATTRS];
	const char *bad = NULL;
	char what[96];
	int ret, sig = 0, i;

	if (!r)
		fs_die("calloc");
	ret = fs_setup(op, r);
	if (ret) {
		snprintf(why, len, "setup without faults failed: %s",
			 strerror(-ret));
		kt_close(&r->c);
		free(r);
		*hit = false;
		return why;
	}
	fs_times(t0);
	if (storm) {
		fs_make_it_fail(true);
		ret = fs_do(op, r, &sig);
		fs_make_it_fail(false);
	} else {
		fs_arm(k);
		ret = fs_do(op, r, &sig);
		*hit = fs_disarm();
	}
	fs_times(t1);
	for (i = 0; i < FS_NR_ATTRS; i++)
		injected[i] = t0[i] - t1[i];
	if (storm)
		*hit = injected[0] + injected[1] + injected[2] + injected[3] > 0;
	bad = fs_check(op, r, ret, sig, why, len);
	if (!bad)
		bad = fs_teardown(r, why, len);
	else
		kt_close(&r->c);
	snprintf(what, sizeof(what), "%s with fault %u", fs_op_name[op], k);
	if (fs_kmsg_hits(what) && !bad) {
		snprintf(why, len, "kernel log report (above)");
		bad = why;
	}
	free(r);
	return bad;
}

/* === Modes === */

static long fs_sweep_nth(int max_k, int stride, const bool *ops)
{
	long total = 0, per_attr[FS_NR_ATTRS] = { 0 };
	long injected[FS_NR_ATTRS];
	char why[512];
	int op;

	if (fs_attrs_setup(0, false)) {
		fs_result(false, "nth: cannot configure the fault attributes");
		return 0;
	}
	for (op = 0; op < OP_NR; op++) {
		long points = 0, errors = 0, attr[FS_NR_ATTRS] = { 0 };
		const char *bad = NULL;
		bool hit = true;
		int k, i;

		if (!ops[op])
			continue;
		for (k = 1; hit && k <= max_k && !bad; k += stride) {
			bad = fs_one(op, k, false, &hit, injected, why, sizeof(why));
			if (hit) {
				points++;
				for (i = 0; i < FS_NR_ATTRS; i++)
					attr[i] += injected[i];
			}
		}
		errors = kt_validate_arena();
		if (!bad && errors) {
			snprintf(why, sizeof(why), "arena validate counted %ld problems",
				 errors);
			bad = why;
		}
		total += points;
		for (i = 0; i < FS_NR_ATTRS; i++)
			per_attr[i] += attr[i];
		if (bad)
			fs_result(false, "nth %s: fault %d: %s", fs_op_name[op],
				  k - stride, bad);
		else
			fs_result(!hit, "nth %s: %ld failure points (%s)%s",
				  fs_op_name[op], points, fs_attrs_str(attr),
				  hit ? ", still failing at the limit" : "");
	}
	printf("# nth: failure points by attribute: %s\n",
	       fs_attrs_str(per_attr));
	printf("failure_points=%ld\n", total);
	fs_attrs_reset();
	return total;
}

static void fs_storm(int rounds, int prob, const bool *ops)
{
	long injected[FS_NR_ATTRS], total = 0, runs = 0;
	char why[512];
	int op, n;

	if (fs_attrs_setup(prob, true)) {
		fs_result(false, "storm: cannot configure the fault attributes");
		return;
	}
	for (op = 0; op < OP_NR; op++) {
		long hits = 0, faults = 0;
		const char *bad = NULL;
		bool hit;

		if (!ops[op])
			continue;
		for (n = 0; n < rounds && !bad; n++) {
			bad = fs_one(op, 0, true, &hit, injected, why, sizeof(why));
			hits += hit;
			faults += injected[0] + injected[1] + injected[2] + injected[3];
			runs++;
		}
		total += faults;
		if (bad)
			fs_result(false, "storm %s: round %d: %s", fs_op_name[op],
				  n, bad);
		else
			fs_result(true, "storm %s: %d runs at %d%%: %ld with faults, %ld faults",
				  fs_op_name[op], rounds, prob, hits, faults);
	}
	printf("# storm: %ld runs, %ld faults injected\n", runs, total);
	fs_attrs_reset();
}

static const char *fs_filter_word(bool without, bool with)
{
	if (without)
		return "also without";
	return with ? "only with" : "not even with";
}

/*
 * task-filter on karena's own attributes: at probability 100 a thread
 * without make-it-fail is untouched, one with it fails.
 */
static void fs_filter(void)
{
	static const struct {
		int attr;
		enum fs_op op;
	} cases[] = {
		{ 0, OP_PAGES_ALLOC_0 }, { 1, OP_ALLOC_1 },
	};
	unsigned int i;
	char why[512];

	for (i = 0; i < 2; i++) {
		const char *dir = fs_attr_dir[cases[i].attr];
		long injected[FS_NR_ATTRS];
		const char *bad_off, *bad_on = NULL;
		bool hit_off, hit_on;

		fs_attrs_setup(0, true);
		fs_write(dir, "probability", "100");
		bad_off = fs_one(cases[i].op, 0, false, &hit_off, injected,
				 why, sizeof(why));
		hit_off = injected[cases[i].attr] > 0;
		if (!bad_off)
			bad_on = fs_one(cases[i].op, 0, true, &hit_on, injected,
					why, sizeof(why));
		hit_on = injected[cases[i].attr] > 0;
		fs_attrs_reset();
		fs_result(!bad_off && !hit_off && !bad_on && hit_on,
			  "task-filter scopes karena's %s: injected %s make-it-fail",
			  fs_attr_name[cases[i].attr],
			  fs_filter_word(hit_off, hit_on));
		if (bad_off || bad_on)
			printf("# %s\n", why);
	}
}

/* === insmod === */

static bool fs_loaded(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "karena ", 7))
			found = true;
	fclose(f);
	return found;
}

static bool fs_unload(void)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (!syscall(SYS_delete_module, "karena", O_NONBLOCK))
			return true;
		usleep(100000);
	}
	return false;
}

static void fs_insmod(const char *ko, const char *params, int max_k, int stride)
{
	long points = 0, loads = 0, attr[FS_NR_ATTRS] = { 0 };
	long t0[FS_NR_ATTRS], t1[FS_NR_ATTRS];
	const char *bad = NULL;
	char why[512], what[64];
	bool hit = true;
	int fd, k, ret, err, i, first;
	struct stat sb;

	if (fs_loaded() && !fs_unload()) {
		fs_result(false, "insmod sweep: karena is loaded and cannot be removed");
		return;
	}
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fs_result(false, "insmod sweep: %s: %s", ko, strerror(errno));
		return;
	}
	/* karena's own attributes do not exist before the load: fail-nth only. */
	fs_write(FS_FI "/failslab", "ignore-gfp-wait", "N");
	fs_write(FS_FI "/fail_page_alloc", "ignore-gfp-wait", "N");
	fs_write(FS_FI "/fail_page_alloc", "min-order", "0");
	for (i = 2; i < FS_NR_ATTRS; i++) {
		fs_write(fs_attr_dir[i], "times", "1000000000");
		fs_write(fs_attr_dir[i], "verbose", "0");
	}
	/*
	 * Where karena's init starts: a load refused by ka_module_init() before
	 * its first allocation (arena_mb=0) consumes only the module
	 * loader's fault sites.  Those belong to the kernel (its
	 * module_alloc() reports a failure with a stack trace, which the
	 * oracle would count): the sweep starts a few sites before.
	 */
	fs_arm(1000000);
	syscall(SYS_finit_module, fd, "arena_mb=0", 0);
	first = 1000000 - fs_read_nth();
	fs_disarm();
	fs_kmsg_hits("calibration");
	first = first > 8 ? first - 8 : 1;
	printf("# insmod: the module loader has %d fault sites before ka_module_init()\n",
	       first + 8);
	for (k = first; hit && k <= max_k && !bad; k += stride) {
		fs_times(t0);
		fs_arm(k);
		ret = syscall(SYS_finit_module, fd, params, 0);
		err = errno;
		hit = fs_disarm();
		fs_times(t1);
		for (i = 2; i < FS_NR_ATTRS; i++)
			attr[i] += t0[i] - t1[i];
		points += hit;
		snprintf(what, sizeof(what), "insmod with fault %d", k);
		if (!ret) {
			loads++;
			struct kt_client c;

			/* A debugfs failure alone may not fail the load. */
			if (kt_open(&c)) {
				snprintf(why, sizeof(why), "loaded, but /dev/karena does not work");
				bad = why;
			} else {
				kt_close(&c);
			}
			if (!fs_unload() && !bad) {
				snprintf(why, sizeof(why), "loaded, but rmmod fails");
				bad = why;
			}
		} else if (err != ENOMEM) {
			snprintf(why, sizeof(why), "insmod failed with %s", strerror(err));
			bad = why;
		} else if (fs_loaded() || !stat(KT_DEV, &sb) ||
			   !stat(KT_DEBUGFS, &sb)) {
			snprintf(why, sizeof(why), "failed insmod left the module, %s or %s behind",
				 KT_DEV, KT_DEBUGFS);
			bad = why;
		}
		if (fs_kmsg_hits(what) && !bad) {
			snprintf(why, sizeof(why), "kernel log report (above)");
			bad = why;
		}
	}
	close(fd);
	fs_attrs_reset();
	if (bad)
		fs_result(false, "insmod fault %d: %s", k - stride, bad);
	else
		fs_result(!hit, "insmod: %ld failure points, every %d of %d-%d (%s), %ld loads%s",
			  points, stride, first, k - stride, fs_attrs_str(attr), loads,
			  hit ? ", still failing at the limit" : "");
	printf("failure_points=%ld\n", points);
}

static void fs_usage(void)
{
	fprintf(stderr,
		"usage: karena_faultsweep -m nth|storm|filter [-o OP,...] [-k MAX_K] [-S STRIDE]\n"
		"                         [-r ROUNDS] [-P PERCENT] [-R REGEX]\n"
		"       karena_faultsweep -i KARENA_KO [-a PARAMS] [-k MAX_K] [-S STRIDE] [-R REGEX]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *ko = NULL, *params = "", *only = NULL;
	int max_k = 2000, rounds = 20, prob = 20, stride = 1, opt, i;
	bool ops[OP_NR];
	char path[64];

	while ((opt = getopt(argc, argv, "m:o:k:r:P:R:i:a:S:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'k':
			max_k = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'P':
			prob = atoi(optarg);
			break;
		case 'R':
			if (regcomp(&fs_pattern, optarg, REG_EXTENDED | REG_NOSUB))
				fs_usage();
			fs_have_pattern = true;
			break;
		case 'i':
			ko = optarg;
			break;
		case 'a':
			params = optarg;
			break;
		case 'S':
			stride = atoi(optarg);
			break;
		default:
			fs_usage();
		}
	}
	if ((!mode && !ko) || stride < 1 || max_k < 1 || optind != argc)
		fs_usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < OP_NR; i++) {
		char pat[64];

		snprintf(pat, sizeof(pat), ",%s,", fs_op_name[i]);
		if (only) {
			char list[512];

			snprintf(list, sizeof(list), ",%s,", only);
			ops[i] = strstr(list, pat);
		} else {
			ops[i] = true;
		}
	}

	snprintf(path, sizeof(path), "/proc/thread-self/fail-nth");
	fs_nth_fd = open(path, O_RDWR | O_CLOEXEC);
	fs_mif_fd = open("/proc/thread-self/make-it-fail", O_RDWR | O_CLOEXEC);
	if (fs_nth_fd < 0 || fs_mif_fd < 0) {
		printf("1..0 # SKIP no fault injection (CONFIG_FAULT_INJECTION)\n");
		return 4;
	}
	fs_kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fs_kmsg_fd >= 0)
		lseek(fs_kmsg_fd, 0, SEEK_END);

	if (ko) {
		fs_insmod(ko, params, max_k, stride);
	} else {
		if (access(KT_DEV, F_OK) || access(fs_attr_dir[0], F_OK)) {
			printf("not ok - karena.ko not loaded, or no debugfs\n");
			return 1;
		}
		if (kt_nr_clients() != 0) {
			printf("not ok - other karena clients exist\n");
			return 1;
		}
		if (!strcmp(mode, "nth"))
			fs_sweep_nth(max_k, stride, ops);
		else if (!strcmp(mode, "storm"))
			fs_storm(rounds, prob, ops);
		else if (!strcmp(mode, "filter"))
			fs_filter();
		else
			fs_usage();
	}
	return fs_failed ? 1 : 0;
}
