// SPDX-License-Identifier: GPL-2.0
/*
 * karena-bench: the driver.  Runs in the test VM with karena loaded.
 *
 *   karena-bench                 peak memory of every workload, then
 *                                BENCH_REPS rounds of timings
 *   karena-bench --sweep LABEL   only u.batch-fifo, its rows named LABEL
 *                                (run once per KARENA_BATCH value)
 *
 * Timings: in each round every workload runs on both sides back to back,
 * libkarena first in even rounds and glibc first in odd ones; round 0 is
 * the warm-up (bench/report.py drops it).
 *
 * Peak memory: one child process per workload and side runs the workload
 * once.  A side's peak is the child's resident high-water mark (VmHWM),
 * plus, for libkarena, the most bytes the kernel charged to the child's
 * client at the workload's high points (ka_client_stats(): window pages
 * are mapped by pfn and are not counted in the resident set).  The
 * growth during the workload (VmHWM less VmRSS at the start) is printed
 * too.
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
static __u64 ub_peak_karena;
static unsigned long ub_scale = 100;

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

void ub_peak_note(__u64 karena_bytes)
{
	if (karena_bytes > ub_peak_karena)
		ub_peak_karena = karena_bytes;
}

void ub_peak_sample(bool ours)
{
	struct ka_client_stats st;

	if (!ub_peak_mode || !ours)
		return;
	if (!ka_client_stats(NULL, &st))
		ub_peak_note(st.bytes);
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
};

/* Run @w once in a child process and measure its peak. */
static int ub_peak_child(const struct ub_workload *w, bool ours,
			 struct ub_peak *res)
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
		__u64 base = ub_status_bytes("VmRSS");

		close(fds[0]);
		ub_peak_mode = true;
		if (w->run(w, ours) < 0)
			_exit(1);
		ub_peak_sample(ours);
		res->hwm = ub_status_bytes("VmHWM");
		res->growth = res->hwm - base;
		res->karena = ub_peak_karena;
		if (write(fds[1], res, sizeof(*res)) != sizeof(*res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(*res)) != sizeof(*res))
		memset(res, 0, sizeof(*res));
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/*
 * P <workload> <ours> <ref> <ours growth> <ref growth> <ours karena>:
 * ours and ref are whole peaks (VmHWM, plus karena's bytes for ours),
 * the growth columns what the workload added to the resident set.
 */
static void ub_peaks(void)
{
	struct ub_peak ours, ref;
	size_t i;

	for (i = 0; i < ub_nr_workloads; i++) {
		const struct ub_workload *w = &ub_workloads[i];

		if (ub_peak_child(w, true, &ours) ||
		    ub_peak_child(w, false, &ref)) {
			fprintf(stderr, "karena-bench: %s: peak run failed\n",
				w->name);
			continue;
		}
		printf("P\t%s\t%llu\t%llu\t%llu\t%llu\t%llu\n", w->name,
		       (unsigned long long)(ours.hwm + ours.karena),
		       (unsigned long long)ref.hwm,
		       (unsigned long long)(ours.growth + ours.karena),
		       (unsigned long long)ref.growth,
		       (unsigned long long)ours.karena);
		fflush(stdout);
	}
}

static int ub_time(const struct ub_workload *w, const char *label,
		   unsigned int rep)
{
	double ours, ref;

	if (rep & 1) {
		ref = w->run(w, false);
		ours = w->run(w, true);
	} else {
		ours = w->run(w, true);
		ref = w->run(w, false);
	}
	if (ours < 0 || ref < 0) {
		fprintf(stderr, "karena-bench: %s failed: %s\n", w->name,
			strerror(errno));
		return -1;
	}
	printf("R\t%s\t%u\t%.3f\t%.3f\n", label, rep, ours, ref);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long reps = ub_env("BENCH_REPS", 9);
	const char *sweep = NULL;
	unsigned int rep;
	int ret = 0;
	size_t i;

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
			if (ub_time(&ub_workloads[i], sweep, rep))
				return 1;
		return 0;
	}

	ub_peaks();
	for (rep = 0; rep < reps; rep++)
		for (i = 0; i < ub_nr_workloads; i++)
			if (ub_time(&ub_workloads[i], ub_workloads[i].name, rep))
				ret = 1;
	return ret;
}
