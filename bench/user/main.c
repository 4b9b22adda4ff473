// SPDX-License-Identifier: GPL-2.0
/*
 * karena-bench: the driver.  Runs in the test VM with karena loaded.
 *
 *   karena-bench                 peak memory of every workload, then
 *                                BENCH_REPS rounds of timings
 *   karena-bench --sweep LABEL   only u.batch-fifo, its rows named LABEL
 *                                (run once per KARENA_BATCH value), and
 *                                no peers
 *
 * Timings: in each round every workload runs on every side back to back:
 * libkarena, glibc and each peer that loaded (peers.h).  The order
 * rotates: round r runs that list rotated by r / 2, and odd rounds run
 * it backwards (the exact reverse of the round before), so that over
 * the rounds each side runs in each place and before and after each
 * other side.  Round 0 is the warm-up
 * (bench/report.py drops it).  libkarena's run is bracketed by two
 * ka_heap_stats() reads, whose difference in system calls is printed
 * with the run's operations.
 *
 * Peak memory: one child process per workload and side runs the workload
 * once.  A side's peak is the child's resident high-water mark (VmHWM),
 * plus, for libkarena, the most bytes the kernel charged to the child's
 * client at the workload's high points (ka_client_stats(): window pages
 * are mapped by pfn and are not counted in the resident set).  The
 * growth during the workload (VmHWM less VmRSS at the start) is printed
 * too.  A peer's child loads the peer before it reads VmRSS, and the
 * parent loads the peers only after the peak runs, so that no side's
 * peak includes another allocator's library.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <karena.h>

#include "bench.h"

bool ub_peak_mode;
struct ub_malloc_fns ub_cur;
static __u64 ub_peak_karena;
/* Most private anonymous memory plus karena's bytes at a high point. */
static __u64 ub_peak_heap;
static unsigned long ub_scale = 100;
static struct ub_peer ub_peers[] = UB_PEERS_INIT;

/* Exit status of a peak child whose peer does not load. */
#define UB_NO_PEER	3

/* One side of a timed round. */
struct ub_entrant {
	enum ub_side side;
	struct ub_peer *peer;	/* for UB_PEER */
	double ns;		/* this round's ns per op */
};

__u64 ub_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

size_t ub_iters(size_t base)
{
	size_t n = base * ub_scale / 100;

	return n ? n : 1;
}

static __u64 ub_status_bytes(const char *field);

/* A high point of libkarena's: its client's bytes, and the heap's. */
void ub_peak_note(__u64 karena_bytes)
{
	__u64 heap = ub_status_bytes("RssAnon") + karena_bytes;

	if (karena_bytes > ub_peak_karena)
		ub_peak_karena = karena_bytes;
	if (heap > ub_peak_heap)
		ub_peak_heap = heap;
}

/*
 * At a workload's high point: karena's bytes (for libkarena), and the
 * heap: the private anonymous memory (RssAnon), which is every
 * allocator's heap and bookkeeping and no library's code, plus karena's
 * bytes, which are not in the resident set (pfn-mapped).
 */
void ub_peak_sample(enum ub_side side)
{
	struct ka_client_stats st;
	__u64 heap;

	if (!ub_peak_mode)
		return;
	if (side == UB_KARENA) {
		if (!ka_client_stats(NULL, &st))
			ub_peak_note(st.bytes);
		return;
	}
	heap = ub_status_bytes("RssAnon");
	if (heap > ub_peak_heap)
		ub_peak_heap = heap;
}

static unsigned long ub_env(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);
	unsigned long n;
	char *end;

	if (!v || !*v)
		return dflt;
	n = strtoul(v, &end, 0);
	return *end || !n ? dflt : n;
}

/* A field of /proc/self/status in bytes ("VmHWM", "VmRSS"). */
static __u64 ub_status_bytes(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	__u64 kb = 0;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtoull(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb * 1024;
}

/* What one peak-memory child measured. */
struct ub_peak {
	__u64 hwm;		/* VmHWM at the end */
	__u64 growth;	/* VmHWM at the end less VmRSS at the start */
	__u64 karena;	/* most bytes of the child's karena client */
	__u64 heap;	/* most RssAnon + karena bytes at a high point */
};

/*
 * Run @w once in a child process and measure its peak: @side, with
 * @peer's calls for UB_PEER.
 * Return: 0, UB_NO_PEER if @peer does not load, else -1.
 */
static int ub_peak_child(const struct ub_workload *w, enum ub_side side,
			 struct ub_peer *peer, struct ub_peak *res)
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		__u64 base;

		close(fds[0]);
		if (peer) {
			if (!ub_peer_load(peer))
				_exit(UB_NO_PEER);
			ub_cur = peer->fns;
		}
		base = ub_status_bytes("VmRSS");
		ub_peak_mode = true;
		if (w->run(w, side) < 0)
			_exit(1);
		ub_peak_sample(side);
		res->hwm = ub_status_bytes("VmHWM");
		res->growth = res->hwm - base;
		res->karena = ub_peak_karena;
		res->heap = ub_peak_heap;
		if (write(fds[1], res, sizeof(*res)) != sizeof(*res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(*res)) != sizeof(*res))
		memset(res, 0, sizeof(*res));
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == UB_NO_PEER)
		return UB_NO_PEER;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/*
 * P <workload> <ours> <ref> <ours growth> <ref growth> <ours karena>
 *   <ours heap> <ref heap>:
 * ours and ref are whole peaks (VmHWM, plus karena's bytes for ours),
 * the growth columns what the workload added to the resident set, the
 * heap columns the most private anonymous memory (plus karena's bytes)
 * at the workload's high points: the allocator's memory without the
 * code pages a fork child faults in again (see ub_peak_sample()).
 * Q <workload> <peer> <peak> <growth> <heap>: the same for each peer.
 */
static void ub_peaks(void)
{
	bool absent[ARRAY_SIZE(ub_peers)] = { false };
	struct ub_peak ours, ref, pk;
	size_t i, j;
	int ret;

	for (i = 0; i < ub_nr_workloads; i++) {
		const struct ub_workload *w = &ub_workloads[i];

		for (j = 0; j < ARRAY_SIZE(ub_peers) && !w->karena_only; j++) {
			if (absent[j])
				continue;
			ret = ub_peak_child(w, UB_PEER, &ub_peers[j], &pk);
			if (ret == UB_NO_PEER) {
				absent[j] = true;
				continue;
			}
			if (ret) {
				fprintf(stderr, "karena-bench: %s: %s's peak run failed\n",
					w->name, ub_peers[j].name);
				continue;
			}
			printf("Q\t%s\t%s\t%llu\t%llu\t%llu\n", w->name,
			       ub_peers[j].name, (unsigned long long)pk.hwm,
			       (unsigned long long)pk.growth,
			       (unsigned long long)pk.heap);
		}
		if (ub_peak_child(w, UB_KARENA, NULL, &ours) ||
		    ub_peak_child(w, UB_GLIBC, NULL, &ref)) {
			fprintf(stderr, "karena-bench: %s: peak run failed\n",
				w->name);
			continue;
		}
		printf("P\t%s\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n",
		       w->name, (unsigned long long)(ours.hwm + ours.karena),
		       (unsigned long long)ref.hwm,
		       (unsigned long long)(ours.growth + ours.karena),
		       (unsigned long long)ref.growth,
		       (unsigned long long)ours.karena,
		       (unsigned long long)ours.heap,
		       (unsigned long long)ref.heap);
		fflush(stdout);
	}
}

/* libkarena's system calls so far: the commands ka_stats counts. */
static __u64 ub_calls(void)
{
	struct ka_stats st;

	if (ka_heap_stats(NULL, &st))
		return 0;
	return st.refills + st.flushes + st.block_calls;
}

/* Run one side of @w once; libkarena's calls and ops into @calls, @ops. */
static double ub_run(const struct ub_workload *w, struct ub_entrant *e,
		     __u64 *calls, size_t *ops)
{
	__u64 before;
	double ns;

	if (e->side == UB_PEER) {
		ub_cur = e->peer->fns;
		return w->run(w, UB_PEER);
	}
	if (e->side != UB_KARENA)
		return w->run(w, e->side);
	ub_extra_calls = 0;
	ub_ops = 0;
	before = ub_calls();
	ns = w->run(w, UB_KARENA);
	*calls = ub_calls() - before + ub_extra_calls;
	*ops = ub_ops;
	return ns;
}

/*
 * One round of @w on the @n sides of @all (libkarena, glibc, then the
 * peers), in the order of round @rep (see the head of this file).
 */
static int ub_time(const struct ub_workload *w, const char *label,
		   unsigned int rep, struct ub_entrant *all, size_t n)
{
	size_t k, i, ops = 0;
	__u64 calls = 0;

	if (w->karena_only)
		n = 2;
	for (k = 0; k < n; k++) {
		i = (rep / 2 + (rep & 1 ? n - 1 - k : k)) % n;
		all[i].ns = ub_run(w, &all[i], &calls, &ops);
		if (all[i].ns < 0) {
			fprintf(stderr, "karena-bench: %s failed (%s): %s\n",
				w->name, all[i].peer ? all[i].peer->name :
				all[i].side == UB_KARENA ? "libkarena" :
				"glibc", strerror(errno));
			return -1;
		}
	}
	printf("R\t%s\t%u\t%.3f\t%.3f\n", label, rep, all[0].ns, all[1].ns);
	for (i = 2; i < n; i++)
		printf("A\t%s\t%u\t%s\t%.3f\n", label, rep, all[i].peer->name,
		       all[i].ns);
	printf("C\t%s\t%u\t%llu\t%zu\n", label, rep,
	       (unsigned long long)calls, ops);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct ub_entrant all[2 + ARRAY_SIZE(ub_peers)] = {
		{ .side = UB_KARENA }, { .side = UB_GLIBC },
	};
	unsigned long reps = ub_env("BENCH_REPS", 9);
	const char *sweep = NULL;
	size_t i, n = 2;
	unsigned int rep;
	int ret = 0;

	if (argc == 3 && !strcmp(argv[1], "--sweep")) {
		sweep = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: karena-bench [--sweep LABEL]\n");
		return 2;
	}
	ub_scale = ub_env("BENCH_SCALE", 100);
	ub_workloads_init();

	if (sweep) {
		for (i = 0; i < ub_nr_workloads; i++)
			if (!strcmp(ub_workloads[i].name, "u.batch-fifo"))
				break;
		for (rep = 0; rep < reps && i < ub_nr_workloads; rep++)
			if (ub_time(&ub_workloads[i], sweep, rep, all, n))
				return 1;
		return 0;
	}

	ub_peers_tls(argv);
	ub_peaks();
	for (i = 0; i < ARRAY_SIZE(ub_peers); i++)
		if (ub_peer_load(&ub_peers[i])) {
			all[n].side = UB_PEER;
			all[n++].peer = &ub_peers[i];
		}
	for (rep = 0; rep < reps; rep++)
		for (i = 0; i < ub_nr_workloads; i++)
			if (ub_time(&ub_workloads[i], ub_workloads[i].name, rep,
				    all, n))
				ret = 1;
	return ret;
}
