// SPDX-License-Identifier: GPL-2.0
/*
 * karena_isolate: isolation at scale, for tests/reliability/isolation.sh.
 * Not a harness test (no _test suffix).
 *
 *   karena_isolate [-u USERS] [-p PAGES] [-s SEED]
 *
 * Forks USERS processes (4), each running as its own user (uid and gid
 * 40000 + i), each its own client of /dev/karena.  Together they take
 * at least PAGES pages (10000) in blocks of order 0 to 3 and objects of
 * a user cache.  Every byte of a page block handed out must be zero; an
 * object may also hold what this client itself wrote to it before (a
 * user cache's slabs belong to one client, and like malloc() the cache
 * does not clear an object it hands out again unless it is poisoned),
 * never anything else.  A bad byte is reported with the client whose
 * pattern it carries, if any.  Each
 * process stamps what it holds with its own pattern, keeps up to a
 * quarter of its quota, and frees the rest in random order, so that
 * pages keep passing from one user to another.  Before freeing, each
 * block and object is checked to still carry the owner's pattern (no
 * other client was given it meanwhile).
 *
 * Prints TAP-style diagnostics and "pages_checked=N objects_checked=N";
 * exit status 0 when every check passed, 1 otherwise, 2 on bad usage.
 */
#include <getopt.h>
#include <sys/wait.h>

#include "karena_test_util.h"

#define UID_BASE	40000
#define MAX_USERS	32
#define MAX_HELD	256
#define MAX_ORDER	3
#define OBJ_SIZE	192
#define OBJ_BATCH	32

struct held {
	__u64 off;
	unsigned int order;
};

struct counts {
	unsigned long pages;
	unsigned long objects;
	unsigned long bad;
};

static unsigned char pattern(unsigned int user)
{
	return 0x40 + user;
}

/*
 * Zero on handout, or (@own_ok, for objects) this user's own pattern;
 * name a foreign pattern if that is what is there.
 */
static int check_fresh(const unsigned char *p, size_t n, unsigned int users,
		       unsigned int me, bool own_ok, const char *what)
{
	unsigned int u;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] && !(own_ok && p[i] == pattern(me)))
			break;
	if (i == n)
		return 0;
	for (u = 0; u < users; u++)
		if (p[i] == pattern(u))
			break;
	fprintf(stderr, "# user %u: %s handed out with byte %zu = %#x%s\n",
		me, what, i, p[i],
		u == users ? "" : u == me ? ": its own old pattern" :
		": another client's pattern!");
	return 1;
}

static int check_mine(const unsigned char *p, size_t n, unsigned int me,
		      const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pattern(me)) {
			fprintf(stderr, "# user %u: held %s changed at byte %zu: %#x\n",
				me, what, i, p[i]);
			return 1;
		}
	return 0;
}

static int drop_block(struct kt_client *c, struct held *h, unsigned int me,
		      struct counts *n)
{
	int ret;

	n->bad += check_mine((unsigned char *)c->win + h->off,
			     c->page << h->order, me, "block");
	ret = kt_pages_free(c->fd, h->off);
	if (ret) {
		fprintf(stderr, "# user %u: PAGES_FREE: %s\n", me,
			strerror(-ret));
		n->bad++;
	}
	return ret;
}

/* One user's share: @want pages through blocks and objects. */
static void run_user(unsigned int me, unsigned int users, unsigned long want,
		     unsigned int seed, struct counts *n)
{
	struct held held[MAX_HELD];
	__u64 objs[OBJ_BATCH];
	struct karena_cache_create cc;
	unsigned int nr = 0, keep, i;
	struct kt_client c;
	__u32 done;
	int ret;

	if (setgid(UID_BASE + me) || setuid(UID_BASE + me)) {
		fprintf(stderr, "# user %u: setuid: %s\n", me, strerror(errno));
		n->bad++;
		return;
	}
	ret = kt_open(&c);
	if (!ret)
		ret = kt_map(&c);
	if (!ret)
		ret = kt_cache_create(c.fd, "isolate", OBJ_SIZE, 0, 0, &cc);
	if (ret) {
		fprintf(stderr, "# user %u: open, map, cache: %s\n", me,
			strerror(-ret));
		n->bad++;
		return;
	}
	/* A quarter of the client's quota stays held at any time. */
	keep = c.info.quota_bytes / 4 / (c.page << MAX_ORDER);
	keep = keep < 4 ? 4 : keep > MAX_HELD ? MAX_HELD : keep;
	srandom(seed + me);
	while (n->pages < want && !n->bad) {
		struct held *h;

		if (nr == keep) {
			i = random() % nr;
			drop_block(&c, &held[i], me, n);
			held[i] = held[--nr];
		}
		h = &held[nr];
		h->order = random() % (MAX_ORDER + 1);
		ret = kt_pages_alloc(c.fd, h->order, &h->off);
		if (ret == -ENOMEM && nr) {
			/* The arena is shared: give one back, retry. */
			drop_block(&c, &held[--nr], me, n);
			continue;
		}
		if (ret) {
			fprintf(stderr, "# user %u: PAGES_ALLOC: %s\n", me,
				strerror(-ret));
			n->bad++;
			break;
		}
		n->bad += check_fresh((unsigned char *)c.win + h->off,
				      c.page << h->order, users, me, false,
				      "block");
		memset(c.win + h->off, pattern(me), c.page << h->order);
		n->pages += 1UL << h->order;
		nr++;

		/* Objects: slabs of a user cache move between clients too. */
		if (random() % 4)
			continue;
		ret = kt_alloc(c.fd, cc.cache_id, OBJ_BATCH, objs, &done);
		if (ret && ret != -ENOMEM) {
			fprintf(stderr, "# user %u: ALLOC_BULK: %s\n", me,
				strerror(-ret));
			n->bad++;
			break;
		}
		for (i = 0; i < done; i++) {
			unsigned char *o = (unsigned char *)c.win + objs[i];

			n->bad += check_fresh(o, OBJ_SIZE, users, me, true,
					      "object");
			memset(o, pattern(me), OBJ_SIZE);
		}
		for (i = 0; i < done; i++)
			n->bad += check_mine((unsigned char *)c.win + objs[i],
					     OBJ_SIZE, me, "object");
		n->objects += done;
		ret = done ? kt_free(c.fd, cc.cache_id, done, objs, NULL) : 0;
		if (ret) {
			fprintf(stderr, "# user %u: FREE_BULK: %s\n", me,
				strerror(-ret));
			n->bad++;
		}
	}
	while (nr)
		drop_block(&c, &held[--nr], me, n);
	kt_close(&c);
}

int main(int argc, char **argv)
{
	unsigned int users = 4, seed = 1, u;
	unsigned long pages = 10000;
	struct counts total = { 0 };
	int fds[MAX_USERS][2];
	pid_t pid[MAX_USERS];
	int opt, status;

	while ((opt = getopt(argc, argv, "u:p:s:")) != -1) {
		switch (opt) {
		case 'u':
			users = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			pages = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || users < 2 || users > MAX_USERS || !pages)
		goto usage;

	for (u = 0; u < users; u++) {
		if (pipe(fds[u]))
			return perror("pipe"), 1;
		pid[u] = fork();
		if (pid[u] < 0)
			return perror("fork"), 1;
		if (!pid[u]) {
			struct counts n = { 0 };

			close(fds[u][0]);
			run_user(u, users, (pages + users - 1) / users, seed,
				 &n);
			if (write(fds[u][1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(n.bad ? 1 : 0);
		}
		close(fds[u][1]);
	}
	for (u = 0; u < users; u++) {
		struct counts n = { 0, 0, 1 };

		if (read(fds[u][0], &n, sizeof(n)) != sizeof(n))
			fprintf(stderr, "# user %u: no counts\n", u);
		close(fds[u][0]);
		waitpid(pid[u], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			n.bad += !n.bad;
		total.pages += n.pages;
		total.objects += n.objects;
		total.bad += n.bad;
	}
	printf("pages_checked=%lu objects_checked=%lu users=%u failures=%lu\n",
	       total.pages, total.objects, users, total.bad);
	return total.bad || total.pages < pages ? 1 : 0;
usage:
	fprintf(stderr, "usage: %s [-u USERS (2..%d)] [-p PAGES] [-s SEED]\n",
		argv[0], MAX_USERS);
	return 2;
}
