// SPDX-License-Identifier: GPL-2.0
/*
 * libkarena's numbers against the kernel's: ka_mallinfo() against what
 * the test allocated, KARENA_IOC_STATS and debugfs (clients, slabinfo,
 * caches/<name>/stats); ka_malloc_stats() and ka_malloc_info(); the
 * KARENA_TRACE file read by glibc's own mtrace script; the
 * KARENA_LEAKCHECK report; clear errors without debugfs.
 *
 * The trace and leak tests run this program again (/proc/self/exe) as a
 * helper with the environment set, since the library reads it once.
 */
#include <pthread.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "lib_test_util.h"

/* === Helpers run as separate programs === */

/* Leaks exactly one allocation of 0x14d bytes; prints its address. */
static int helper_trace(void)
{
	void *a = ka_malloc(100), *b = ka_calloc(4, 50), *c, *leak;

	c = ka_realloc(a, 3000);
	leak = ka_malloc(0x14d);
	ka_free(b);
	ka_free(c);
	printf("%p\n", leak);
	return 0;
}

/* Leaks two allocations (77 and 5000 bytes). */
static int helper_leak(void)
{
	void *keep1 = ka_malloc(77), *keep2 = ka_malloc(5000);

	ka_free(ka_malloc(10));
	printf("%p %p\n", keep1, keep2);
	return 0;
}

/*
 * Under libkarena-preload.so: 1 MiB blocks with malloc() until 48 MiB,
 * more than the client's quota; prints how many came back and the spills
 * malloc_stats() counted.
 */
static int helper_spill(void)
{
	unsigned int i, got = 0;
	void *p[48];

	for (i = 0; i < 48; i++)
		got += !!(p[i] = malloc(1 << 20));
	printf("%u\n", got);
	fflush(stdout);
	malloc_stats();
	for (i = 0; i < 48; i++)
		free(p[i]);
	return 0;
}

/* Run this program as a helper; stdout to @out, stderr to @err. */
static int run_helper(const char *which, const char *env, const char *val,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	char cmd[1024], self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *fp;
	size_t got;
	int status;

	if (n < 0)
		return -1;
	self[n] = '\0';
	snprintf(cmd, sizeof(cmd), "%s='%s' '%s' --helper %s 2>/tmp/lib_stats_err.%d",
		 env, val, self, which, getpid());
	fp = popen(cmd, "r");
	if (!fp)
		return -1;
	got = fread(out, 1, outlen - 1, fp);
	out[got] = '\0';
	status = pclose(fp);
	snprintf(cmd, sizeof(cmd), "/tmp/lib_stats_err.%d", getpid());
	lt_read(cmd, err, errlen);
	unlink(cmd);
	return status;
}

/* === Tests === */

/* No state: the fixture exists for the timeouts (TCG, debug kernel). */
FIXTURE(stats) {
	int unused;
};

FIXTURE_SETUP(stats)
{
}

FIXTURE_TEARDOWN(stats)
{
}

TEST_F_TIMEOUT(stats, mallinfo_counts_what_was_allocated, 300)
{
	struct mallinfo2 m0, m1, m2;
	struct ka_client_stats cs;
	void *p[50], *b[3];
	unsigned int i;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	m0 = ka_mallinfo();
	for (i = 0; i < 50; i++)
		p[i] = ka_malloc(1000);		/* class 1024 */
	for (i = 0; i < 3; i++)
		b[i] = ka_malloc(60000);	/* blocks of order 4 */
	m1 = ka_mallinfo();
	EXPECT_EQ(m0.uordblks + 50 * 1024, m1.uordblks);
	EXPECT_EQ(m0.hblks + 3, m1.hblks);
	EXPECT_EQ(m0.hblkhd + 3 * 65536, m1.hblkhd);
	EXPECT_EQ(0U, m1.smblks);
	EXPECT_EQ(0U, m1.usmblks);
	EXPECT_EQ(0U, m1.fsmblks);
	/* arena is what the kernel charges; the three parts add up to it. */
	ASSERT_EQ(0, ka_client_stats(NULL, &cs));
	EXPECT_EQ(cs.bytes, m1.arena);
	EXPECT_EQ(m1.arena, m1.uordblks + m1.fordblks + m1.hblkhd);
	EXPECT_EQ(cs.block_bytes, m1.hblkhd);
	for (i = 0; i < 50; i++)
		ka_free(p[i]);
	for (i = 0; i < 3; i++)
		ka_free(b[i]);
	m2 = ka_mallinfo();
	EXPECT_EQ(m0.uordblks, m2.uordblks);
	EXPECT_EQ(m0.hblks, m2.hblks);
	/* Freed objects wait in the magazine: keepcost, and trim returns them. */
	EXPECT_LT(0U, m2.keepcost);
	EXPECT_EQ(m2.keepcost, ka_heap_trim(NULL));
	m2 = ka_mallinfo();
	EXPECT_EQ(0U, m2.keepcost);
	EXPECT_EQ(0U, m2.ordblks);
}

/* The kernel's counters, through STATS and debugfs, agree. */
TEST_F_TIMEOUT(stats, kernel_numbers_agree, 300)
{
	char buf[65536], path[512], want[64], *line;
	struct ka_client_stats cs;
	struct ka_cache_kstats ks;
	struct ka_snapshot *snap;
	struct ka_cache *c;
	void *o[300], *p[40];
	unsigned int i;
	size_t j;
	long cid;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	if (lt_no_debugfs())
		SKIP(return, LT_NO_DEBUGFS);
	c = ka_cache_create(NULL, "stats.obj", 100, 0, 0);
	ASSERT_NE(NULL, c);
	for (i = 0; i < 300; i++)
		o[i] = ka_cache_alloc(c);
	for (i = 0; i < 40; i++)
		p[i] = ka_malloc(2000);		/* class 2048 */
	ka_heap_trim(NULL);	/* nothing cached: kernel objects = ours */

	cid = ka_heap_client_id(NULL);
	ASSERT_LE(0, cid) TH_LOG("%s", ka_errmsg());
	ASSERT_EQ(0, ka_cache_stats(c, &ks)) TH_LOG("%s", ka_errmsg());
	EXPECT_EQ(300U, ks.objects);
	EXPECT_EQ(100U, ks.object_size);
	EXPECT_EQ(0U, ks.errors);
	snprintf(want, sizeof(want), "u%ld.", cid);
	EXPECT_EQ(0, strncmp(ks.name, want, strlen(want)));

	/* The size class's line in slabinfo: 40 active objects. */
	ASSERT_LT(0, lt_read(LT_DEBUGFS "/slabinfo", buf, sizeof(buf)));
	snprintf(want, sizeof(want), "\nu%ld.", cid);
	for (line = strstr(buf, want); line; line = strstr(line + 1, want))
		if (strstr(line, ":malloc-2048 ") &&
		    strstr(line, ":malloc-2048 ") < strchr(line + 1, '\n'))
			break;
	ASSERT_NE(NULL, line) TH_LOG("no malloc-2048 cache of client %ld", cid);
	EXPECT_EQ(40, atol(strchr(line, ' ')));

	/* clients: our pages and objects are STATS's. */
	ASSERT_EQ(0, ka_client_stats(NULL, &cs));
	snap = ka_snapshot_read(NULL);
	ASSERT_NE(NULL, snap) TH_LOG("%s", ka_errmsg());
	for (j = 0; j < snap->nr_clients; j++)
		if ((long)snap->clients[j].id == cid)
			break;
	ASSERT_LT(j, snap->nr_clients);
	EXPECT_EQ(getpid(), snap->clients[j].pid);
	EXPECT_EQ(cs.bytes / snap->page_size, snap->clients[j].pages);
	EXPECT_EQ(cs.objects, snap->clients[j].objects);
	EXPECT_EQ(340U, cs.objects);
	EXPECT_EQ(cs.nr_caches, snap->clients[j].caches);
	EXPECT_LT(0U, snap->orders);
	EXPECT_LE(snap->free_pages, snap->pages);
	ka_snapshot_free(snap);

	snprintf(path, sizeof(path), LT_DEBUGFS "/caches/%s/objects", ks.name);
	ASSERT_LT(0, lt_read(path, buf, sizeof(buf)));
	EXPECT_EQ(300, atol(buf));

	for (i = 0; i < 300; i++)
		ka_cache_free(c, o[i]);
	for (i = 0; i < 40; i++)
		ka_free(p[i]);
	EXPECT_EQ(0, ka_cache_destroy(c));
}

static int print_stats(void *arg)
{
	void *p = ka_malloc(700);

	(void)arg;
	ka_malloc_stats();
	ka_free(p);
	return 0;
}

TEST_F_TIMEOUT(stats, malloc_stats_and_info, 300)
{
	char err[16384], *line;
	FILE *fp;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	ret = lt_child(print_stats, NULL, err, sizeof(err));
	ASSERT_EQ(1000, ret);
	line = strstr(err, "malloc-768");
	ASSERT_NE(NULL, line) TH_LOG("no malloc-768 line in: %s", err);
	EXPECT_NE(NULL, strstr(err, "cache ")) TH_LOG("no header: %s", err);
	EXPECT_NE(NULL, strstr(err, "kernel: "));

	fp = fopen("/tmp/lib_stats_info.json", "w");
	ASSERT_NE(NULL, fp);
	ka_free(ka_malloc(700));
	EXPECT_EQ(0, ka_malloc_info(0, fp));
	fclose(fp);
	errno = 0;
	EXPECT_EQ(-1, ka_malloc_info(1, stdout));
	EXPECT_EQ(EINVAL, errno);
	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "no python3 to parse the JSON");
	ret = system("python3 -c 'import json; d = json.load(open(\"/tmp/lib_stats_info.json\")); "
		     "assert d[\"mallinfo\"][\"arena\"] > 0; "
		     "assert any(c[\"name\"] == \"malloc-768\" for c in d[\"caches\"])'");
	EXPECT_EQ(0, ret) TH_LOG("ka_malloc_info() is not the expected JSON");
	unlink("/tmp/lib_stats_info.json");
}

/* The kernel's count of the commands this client made. */
static __u64 lt_calls(void)
{
	struct ka_client_stats cs;

	if (ka_client_stats(NULL, &cs))
		return ~0ULL;
	return cs.alloc_calls + cs.free_calls;
}

struct lt_ring {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *objs[512];
	unsigned int n;
	bool done;
};

static void *lt_consume(void *arg)
{
	struct lt_ring *q = arg;
	unsigned int i;

	pthread_mutex_lock(&q->lock);
	while (!q->done || q->n) {
		while (!q->n && !q->done)
			pthread_cond_wait(&q->cond, &q->lock);
		for (i = 0; i < q->n; i++)
			ka_free(q->objs[i]);
		q->n = 0;
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/*
 * After a warm-up, the library's steady state makes no system call:
 * pairs, batches with shuffled frees, mixed sizes, realloc growth to
 * 1 MiB, and objects freed by another thread all come from the threads'
 * magazines, the depots and the block cache.  Counted by the kernel.
 */
TEST_F_TIMEOUT(stats, steady_state_makes_no_system_call, 300)
{
	static void *objs[2000];
	struct lt_ring q = { .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER };
	unsigned int i, r;
	__u64 c = 0, calls;
	pthread_t t;
	size_t sz;
	void *p;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	for (r = 0; r < 12; r++) {
		if (r == 4)
			c = lt_calls();
		for (i = 0; i < 1000; i++)
			ka_free(ka_malloc(16 + i % 1000));
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			objs[i] = ka_malloc(16 << (i % 7));
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			ka_free(objs[(i * 997) % ARRAY_SIZE(objs)]);
		p = NULL;
		for (sz = 16; sz <= (1 << 20); sz += sz / 4 + 1) {
			p = ka_realloc(p, sz);
			ASSERT_NE(NULL, p);
		}
		ka_free(p);
	}
	EXPECT_EQ(c, lt_calls())
		TH_LOG("%llu commands in 8 rounds after warm-up",
		       (unsigned long long)(lt_calls() - c));

	pthread_create(&t, NULL, lt_consume, &q);
	for (r = 0; r < 60; r++) {
		if (r == 20)
			c = lt_calls();
		pthread_mutex_lock(&q.lock);
		while (q.n)
			pthread_cond_wait(&q.cond, &q.lock);
		for (i = 0; i < ARRAY_SIZE(q.objs); i++)
			q.objs[i] = ka_malloc(100);
		q.n = ARRAY_SIZE(q.objs);
		pthread_cond_broadcast(&q.cond);
		pthread_mutex_unlock(&q.lock);
	}
	pthread_mutex_lock(&q.lock);
	while (q.n)
		pthread_cond_wait(&q.cond, &q.lock);
	/* Before the consumer exits: its exit gives back a partial magazine. */
	calls = lt_calls();
	q.done = true;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);
	pthread_join(t, NULL);
	EXPECT_EQ(c, calls)
		TH_LOG("producer/consumer: %llu commands in 40 rounds after warm-up",
		       (unsigned long long)(calls - c));
}

/* The client's pages in debugfs' clients file. */
static long lt_client_pages(void)
{
	struct ka_snapshot *snap = ka_snapshot_read(NULL);
	long cid = ka_heap_client_id(NULL), pages = -1;
	size_t j;

	if (!snap)
		return -1;
	for (j = 0; j < snap->nr_clients; j++)
		if ((long)snap->clients[j].id == cid)
			pages = snap->clients[j].pages;
	ka_snapshot_free(snap);
	return pages;
}

/*
 * What the depots and the block cache keep goes back: with ka_trim(),
 * and by itself when the kernel refuses an allocation for want of
 * memory (the client's quota).  Seen in debugfs.
 */
TEST_F_TIMEOUT(stats, trim_and_pressure_give_memory_back, 300)
{
	static void *objs[4000];
	struct ka_client_stats cs;
	struct ka_stats st;
	long before, after;
	void *b[32], *big[6];
	unsigned int i, r, got = 0;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	if (lt_no_debugfs())
		SKIP(return, LT_NO_DEBUGFS);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i] = ka_malloc(500);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		ka_free(objs[i]);
	before = lt_client_pages();
	EXPECT_LT(0U, ka_trim());
	after = lt_client_pages();
	EXPECT_LT(after, before) TH_LOG("pages %ld -> %ld", before, after);

	/* Blocks that thrash teach the cache to keep many of them. */
	ASSERT_EQ(0, ka_client_stats(NULL, &cs));
	for (r = 0; r < 3; r++) {
		for (i = 0; i < ARRAY_SIZE(b); i++)
			b[i] = ka_malloc(256 << 10);
		for (i = 0; i < ARRAY_SIZE(b); i++)
			ka_free(b[i]);
	}
	ASSERT_EQ(0, ka_heap_stats(NULL, &st));
	EXPECT_LE(4ULL << 20, st.cached_bytes);
	/* More than the quota holds besides them: the cache must let go. */
	for (i = 0; i < ARRAY_SIZE(big); i++)
		got += !!(big[i] = ka_malloc(cs.quota_bytes / 8));
	EXPECT_EQ(ARRAY_SIZE(big), got);
	ASSERT_EQ(0, ka_heap_stats(NULL, &st));
	EXPECT_GT(4ULL << 20, st.cached_bytes);
	for (i = 0; i < ARRAY_SIZE(big); i++)
		ka_free(big[i]);
	ka_trim();
}

/*
 * Under the interposer, a request over the quota goes to the system
 * allocator (a spill): counted by malloc_stats(), the first one said in
 * one line on stderr; KARENA_SPILL=0 refuses it instead.
 */
TEST_F_TIMEOUT(stats, spills_are_said_counted_and_refusable, 300)
{
	char out[256], err[16384], env[1200], dir[512], *s;
	ssize_t n;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	ASSERT_LT(0, n);
	dir[n] = '\0';
	*strrchr(dir, '/') = '\0';
	snprintf(env, sizeof(env), "%s/../userspace/libkarena-preload.so",
		 dir);
	if (access(env, R_OK))
		SKIP(return, "no libkarena-preload.so beside the tests");
	ret = run_helper("spill", "LD_PRELOAD", env, out, sizeof(out), err,
			 sizeof(err));
	ASSERT_EQ(0, ret) TH_LOG("helper: %s", err);
	EXPECT_EQ(48, atoi(out));
	s = strstr(err, "karena: the client's quota or the arena is full: ");
	ASSERT_NE(NULL, s) TH_LOG("no spill reason in: %s", err);
	s = strstr(s, "spilling to the system allocator from now on\n");
	ASSERT_NE(NULL, s) TH_LOG("no spill line in: %s", err);
	EXPECT_EQ(NULL, strstr(s + 1, "spilling to the system allocator"));
	s = strstr(err, "spills: ");
	ASSERT_NE(NULL, s) TH_LOG("no spills line in: %s", err);
	EXPECT_LT(0, atoi(s + 8));

	ret = run_helper("spill", "KARENA_SPILL=0 LD_PRELOAD", env, out,
			 sizeof(out), err, sizeof(err));
	ASSERT_EQ(0, ret) TH_LOG("helper: %s", err);
	EXPECT_GT(48, atoi(out));
	EXPECT_LT(0, atoi(out));
	EXPECT_EQ(NULL, strstr(err, "spilling"));
	s = strstr(err, "spills: ");
	ASSERT_NE(NULL, s) TH_LOG("no spills line in: %s", err);
	EXPECT_EQ(0, atoi(s + 8));
}

/* glibc's mtrace script reads KARENA_TRACE and finds exactly the leak. */
TEST_F_TIMEOUT(stats, trace_read_by_mtrace, 300)
{
	char out[4096], err[4096], report[8192], cmd[1024], trace[128];
	char exe[512], leak[64], *line;
	unsigned int leaks = 0;
	FILE *fp;
	ssize_t n;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	if (access("/usr/bin/mtrace", X_OK))
		SKIP(return, "no mtrace script (Debian package libc-dev-bin)");
	snprintf(trace, sizeof(trace), "/tmp/lib_stats_trace.%d", getpid());
	ret = run_helper("trace", "KARENA_TRACE", trace, out, sizeof(out),
			 err, sizeof(err));
	ASSERT_EQ(0, ret) TH_LOG("helper: %s", err);
	n = sscanf(out, "%63s", leak);
	ASSERT_EQ(1, n);
	ASSERT_LT(0, lt_read(trace, report, sizeof(report)));
	EXPECT_EQ(0, strncmp(report, "= Start\n", 8)) TH_LOG("%s", report);
	EXPECT_NE(NULL, strstr(report, "= End\n"));
	EXPECT_NE(NULL, strstr(report, " < ")) TH_LOG("realloc: %s", report);
	EXPECT_NE(NULL, strstr(report, " > "));

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "mtrace '%s' '%s'", exe, trace);
	fp = popen(cmd, "r");
	ASSERT_NE(NULL, fp);
	n = fread(report, 1, sizeof(report) - 1, fp);
	report[n > 0 ? n : 0] = '\0';
	pclose(fp);
	EXPECT_NE(NULL, strstr(report, "Memory not freed:")) TH_LOG("%s", report);
	for (line = strstr(report, "\n0x"); line; line = strstr(line + 1, "\n0x")) {
		unsigned long long addr, size;

		if (sscanf(line + 1, "%llx %llx", &addr, &size) != 2)
			continue;	/* not a leak line */
		leaks++;
		EXPECT_EQ(strtoull(leak, NULL, 16), addr) TH_LOG("%s", report);
		EXPECT_EQ(0x14dU, size);
		/* The caller resolves to this file. */
		EXPECT_NE(NULL, strstr(line, "lib_stats_test.c"))
			TH_LOG("caller not resolved: %s", report);
	}
	EXPECT_EQ(1U, leaks) TH_LOG("%s", report);
	unlink(trace);
}

TEST_F_TIMEOUT(stats, leakcheck_report, 300)
{
	char out[256], err[4096], a[64], b[64], *p;
	int ret;

	if (lt_no_device())
		SKIP(return, LT_NO_DEVICE);
	ret = run_helper("leak", "KARENA_LEAKCHECK", "1", out, sizeof(out), err,
			 sizeof(err));
	ASSERT_EQ(0, ret) TH_LOG("helper: %s", err);
	ret = sscanf(out, "%63s %63s", a, b);
	ASSERT_EQ(2, ret);
	EXPECT_NE(NULL, strstr(err, "karena: leak check: 2 allocations (5077 bytes) not freed"))
		TH_LOG("%s", err);
	p = strstr(err, a);
	EXPECT_NE(NULL, p) TH_LOG("%s not reported: %s", a, err);
	if (p)
		EXPECT_EQ(0, strncmp(p + strlen(a), " 77 bytes from ", 15));
	p = strstr(err, b);
	EXPECT_NE(NULL, p) TH_LOG("%s not reported: %s", b, err);
	if (p)
		EXPECT_EQ(0, strncmp(p + strlen(b), " 5000 bytes from ", 17));
}

TEST_F_TIMEOUT(stats, debugfs_errors_are_clear, 300)
{
	struct ka_snapshot *s;
	int status;
	pid_t pid;

	errno = 0;
	s = ka_snapshot_read("/nonexistent/karena");
	EXPECT_EQ(NULL, s);
	EXPECT_EQ(ENOENT, errno);
	EXPECT_NE(NULL, strstr(ka_errmsg(), "debugfs is not mounted"))
		TH_LOG("%s", ka_errmsg());

	errno = 0;
	s = ka_snapshot_read("/sys/kernel/debug/no-such-module");
	EXPECT_EQ(NULL, s);
	EXPECT_EQ(ENOENT, errno);
	if (!access("/sys/kernel/debug/karena", F_OK) ||
	    !access("/sys/kernel/debug/kunit", F_OK))
		EXPECT_NE(NULL, strstr(ka_errmsg(), "not loaded"))
			TH_LOG("%s", ka_errmsg());

	if (geteuid() != 0 || access(LT_DEBUGFS, F_OK))
		SKIP(return, "needs root and karena's debugfs to test EACCES");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		s = ka_snapshot_read(NULL);
		if (s || errno != EACCES ||
		    !strstr(ka_errmsg(), "readable by root only"))
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--helper"))
		return !strcmp(argv[2], "trace") ? helper_trace() :
		       !strcmp(argv[2], "spill") ? helper_spill() :
		       helper_leak();
	return test_harness_run(argc, argv);
}
