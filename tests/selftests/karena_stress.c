// SPDX-License-Identifier: GPL-2.0
/*
 * karena_stress: threads sharing one client, for tests/reliability/load.sh.
 * Not a harness test (no _test suffix).
 *
 *   karena_stress [-t THREADS] [-s SECONDS]
 *
 * One open of /dev/karena, one window, THREADS (4) threads for SECONDS
 * (10).  Every thread allocates and frees objects in bulk, from a cache
 * all threads share and from one of its own, and page blocks of order 0
 * to 2.  A page block handed out must be zero; an object zero or a stamp
 * of one of this client's threads (an object freed by one thread may go
 * to another; the cache does not clear it).  Each thread stamps what it
 * holds with its own pattern and checks the stamp is intact just before
 * freeing (so two threads were never given the same memory).  At the
 * end the client's STATS must show exactly what is still held (nothing)
 * and the caches are destroyed.
 *
 * Prints "rounds=N objects=N pages=N failures=N"; exit status 0 when
 * every check passed, 1 otherwise.
 */
#include <getopt.h>
#include <pthread.h>
#include <time.h>

#include "karena_test_util.h"

#define MAX_THREADS	16
#define BATCH		48
#define OBJ_SIZE	80

struct worker {
	pthread_t thread;
	unsigned int id;
	__u32 own_cache;
	unsigned long rounds, objects, pages, bad;
};

static struct kt_client client;
static unsigned int nr_threads;
static __u32 shared_cache;
static time_t deadline;

static unsigned char stamp(unsigned int id)
{
	return 0x21 + id;
}

static void fail(struct worker *w, const char *what, int err)
{
	fprintf(stderr, "# thread %u: %s: %s\n", w->id, what, strerror(err));
	w->bad++;
}

/*
 * Zero when handed out (objects: or a stamp of this client's threads),
 * then ours until freed.
 */
static void take(struct worker *w, __u64 off, size_t n, bool object)
{
	const unsigned char *p = (unsigned char *)client.win + off;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] && !(object && p[i] >= stamp(0) &&
			      p[i] < stamp(nr_threads)))
			break;
	if (i < n) {
		fprintf(stderr, "# thread %u: %s at %#llx handed out with byte %zu = %#x\n",
			w->id, object ? "object" : "block",
			(unsigned long long)off, i, p[i]);
		w->bad++;
	}
	memset(client.win + off, stamp(w->id), n);
}

static void give(struct worker *w, __u64 off, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)client.win[off + i] != stamp(w->id)) {
			fprintf(stderr, "# thread %u: held %s at %#llx changed at byte %zu\n",
				w->id, what, (unsigned long long)off, i);
			w->bad++;
			return;
		}
}

static void objects(struct worker *w, __u32 cache)
{
	__u64 offs[BATCH];
	__u32 done = 0, i;
	int ret;

	ret = kt_alloc(client.fd, cache, BATCH, offs, &done);
	if (ret && ret != -ENOMEM)
		fail(w, "ALLOC_BULK", -ret);
	for (i = 0; i < done; i++)
		take(w, offs[i], OBJ_SIZE, true);
	for (i = 0; i < done; i++)
		give(w, offs[i], OBJ_SIZE, "object");
	/* Free in two bulks, the second in reverse order. */
	for (i = 0; i < done / 2; i++) {
		__u64 t = offs[done / 2 + i];

		offs[done / 2 + i] = offs[done - 1 - i];
		offs[done - 1 - i] = t;
	}
	if (done / 2) {
		ret = kt_free(client.fd, cache, done / 2, offs, NULL);
		if (ret)
			fail(w, "FREE_BULK", -ret);
	}
	if (done - done / 2) {
		ret = kt_free(client.fd, cache, done - done / 2,
			      offs + done / 2, NULL);
		if (ret)
			fail(w, "FREE_BULK", -ret);
	}
	w->objects += done;
}

static void blocks(struct worker *w)
{
	unsigned int order = w->rounds % 3;
	__u64 off;
	int ret;

	ret = kt_pages_alloc(client.fd, order, &off);
	if (ret == -ENOMEM)
		return;
	if (ret) {
		fail(w, "PAGES_ALLOC", -ret);
		return;
	}
	take(w, off, client.page << order, false);
	give(w, off, client.page << order, "block");
	ret = kt_pages_free(client.fd, off);
	if (ret)
		fail(w, "PAGES_FREE", -ret);
	w->pages += 1UL << order;
}

static void *work(void *arg)
{
	struct worker *w = arg;

	while (time(NULL) < deadline && !w->bad) {
		objects(w, shared_cache);
		objects(w, w->own_cache);
		blocks(w);
		w->rounds++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS] = { 0 };
	unsigned int threads = 4, seconds = 10, i;
	unsigned long rounds = 0, objs = 0, pages = 0, bad = 0;
	struct karena_cache_create cc;
	struct karena_stats st;
	char name[32];
	int opt, ret;

	while ((opt = getopt(argc, argv, "t:s:")) != -1) {
		if (opt == 't')
			threads = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			seconds = strtoul(optarg, NULL, 0);
		else
			threads = 0;
	}
	if (!threads || threads > MAX_THREADS || optind != argc) {
		fprintf(stderr, "usage: %s [-t THREADS (1..%d)] [-s SECONDS]\n",
			argv[0], MAX_THREADS);
		return 2;
	}
	ret = kt_open(&client);
	if (!ret)
		ret = kt_map(&client);
	if (!ret)
		ret = kt_cache_create(client.fd, "stress-shared", OBJ_SIZE, 0,
				      KARENA_CACHE_RED_ZONE, &cc);
	if (ret) {
		fprintf(stderr, "# open, map, shared cache: %s\n",
			strerror(-ret));
		return 1;
	}
	shared_cache = cc.cache_id;
	for (i = 0; i < threads; i++) {
		snprintf(name, sizeof(name), "stress-%u", i);
		ret = kt_cache_create(client.fd, name, OBJ_SIZE, 0, 0, &cc);
		if (ret) {
			fprintf(stderr, "# cache %s: %s\n", name,
				strerror(-ret));
			return 1;
		}
		w[i].own_cache = cc.cache_id;
		w[i].id = i;
	}
	nr_threads = threads;
	deadline = time(NULL) + seconds;
	for (i = 0; i < threads; i++)
		if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		rounds += w[i].rounds;
		objs += w[i].objects;
		pages += w[i].pages;
		bad += w[i].bad;
	}
	ret = kt_stats(client.fd, &st);
	if (ret || st.objects || st.block_bytes) {
		fprintf(stderr, "# STATS after every free: %s, %llu objects, %llu block bytes\n",
			strerror(-ret), (unsigned long long)st.objects,
			(unsigned long long)st.block_bytes);
		bad++;
	}
	for (i = 0; i < threads; i++)
		bad += !!kt_cache_destroy(client.fd, w[i].own_cache);
	bad += !!kt_cache_destroy(client.fd, shared_cache);
	kt_close(&client);
	printf("rounds=%lu objects=%lu pages=%lu failures=%lu\n", rounds, objs,
	       pages, bad);
	return bad ? 1 : 0;
}
