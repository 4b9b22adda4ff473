/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The peers: mimalloc, jemalloc and tcmalloc beside glibc's malloc, in
 * the same process (karena-bench in the VM, host_bench on the host).
 *
 * Each peer is Debian's shared library, loaded with dlopen(RTLD_LOCAL):
 * its malloc, calloc, realloc and free come from its own handle with
 * dlsym(), so it keeps a heap of its own, and it never becomes the
 * process's malloc (glibc's stays that, for stdio and everything else).
 * A peer that is not installed, or does not load, is left out: its
 * columns stay empty.
 *
 * jemalloc's TLS is in the initial-exec model (2.6 KiB), more than the
 * static TLS that glibc keeps spare for dlopen(); ub_peers_tls() makes
 * room by running the program again with a glibc tunable.
 */
#ifndef KARENA_BENCH_PEERS_H
#define KARENA_BENCH_PEERS_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The calls the workloads make. */
struct ub_malloc_fns {
	void *(*malloc)(size_t size);
	void *(*calloc)(size_t nmemb, size_t size);
	void *(*realloc)(void *ptr, size_t size);
	void (*free)(void *ptr);
};

/* One peer allocator. */
struct ub_peer {
	const char *name;	/* column name */
	const char *soname;	/* what dlopen() loads */
	const char *package;	/* the Debian package that ships it */
	void *handle;		/* dlopen()'s handle, NULL if not loaded */
	struct ub_malloc_fns fns;
};

/* Initialiser of the peers' table, in column order. */
#define UB_PEER(n, so, pkg)	{ .name = n, .soname = so, .package = pkg }
#define UB_PEERS_INIT {							\
	UB_PEER("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),	\
	UB_PEER("jemalloc", "libjemalloc.so.2", "libjemalloc2"),	\
	UB_PEER("tcmalloc", "libtcmalloc_minimal.so.4",			\
		"libtcmalloc-minimal4"),				\
}

/* The glibc tunable that gives dlopen() room for initial-exec TLS. */
#define UB_TLS_TUNABLE	"glibc.rtld.optional_static_tls=8192"

/**
 * ub_peers_tls() - make room for the peers' static TLS.
 * @argv: the program's arguments, to run it again with.
 *
 * Runs the program again (once) with UB_TLS_TUNABLE added to
 * GLIBC_TUNABLES; only the dynamic loader reads it.  If that fails, the
 * program goes on, and a peer that does not fit is left out.
 */
static inline void ub_peers_tls(char **argv)
{
	const char *old = getenv("GLIBC_TUNABLES");
	char buf[512];

	if (old && strstr(old, "glibc.rtld.optional_static_tls"))
		return;
	snprintf(buf, sizeof(buf), "%s%s" UB_TLS_TUNABLE, old ? old : "",
		 old && *old ? ":" : "");
	if (setenv("GLIBC_TUNABLES", buf, 1))
		return;
	execv("/proc/self/exe", argv);
}

/**
 * ub_peer_load() - load one peer and resolve its calls.
 * @p: the peer.
 *
 * Return: true if @p is usable; false (and a line on stderr) if not.
 */
static inline bool ub_peer_load(struct ub_peer *p)
{
	void *h = dlopen(p->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "bench: %s left out: %s (package %s)\n",
			p->name, dlerror(), p->package);
		return false;
	}
	p->fns.malloc = (void *(*)(size_t))dlsym(h, "malloc");
	p->fns.calloc = (void *(*)(size_t, size_t))dlsym(h, "calloc");
	p->fns.realloc = (void *(*)(void *, size_t))dlsym(h, "realloc");
	p->fns.free = (void (*)(void *))dlsym(h, "free");
	if (!p->fns.malloc || !p->fns.calloc || !p->fns.realloc ||
	    !p->fns.free) {
		fprintf(stderr, "bench: %s left out: %s lacks a malloc call\n",
			p->name, p->soname);
		dlclose(h);
		return false;
	}
	p->handle = h;
	return true;
}

#endif /* KARENA_BENCH_PEERS_H */
