// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: initialisation, once per process, at the first call.
 *
 * Reads the environment, sets up the threads' magazine destructor and
 * tracing, and hands out the default heap's first gen.  Nothing here
 * opens the device: a heap does that at its first allocation (heap.c).
 */
#include <pthread.h>

#include "internal.h"

/* Initialisation: 0 not yet, 1 running, 2 done (atomic). */
static int ka_init_state;
static pthread_mutex_t ka_init_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Fork handling (fork.c's, then the init lock's) is registered when the
 * library is loaded (priority 101:
 * before a statically linked program's own constructors, which may
 * allocate), never in _ka_init(): glibc holds its atfork lock from the
 * prepare handlers to the parent/child ones, so a thread registering
 * handlers inside _ka_init() while another forks would deadlock with a
 * prepare handler waiting for _ka_init().  The init lock's handlers are
 * registered last, so that their prepare runs first: a fork waits for a
 * _ka_init() in progress (which takes no other lock), then the heaps'
 * prepare takes the global and heap locks.  Without them, a fork in the
 * middle of _ka_init() left the child with the init lock held for ever.
 */
static void ka_init_atfork_prepare(void)
{
	pthread_mutex_lock(&ka_init_lock);
}

static void ka_init_atfork_parent(void)
{
	pthread_mutex_unlock(&ka_init_lock);
}

static void ka_init_atfork_child(void)
{
	pthread_mutex_init(&ka_init_lock, NULL);
}

static void __attribute__((constructor(101))) ka_init_load(void)
{
	_ka_fork_init();
	pthread_atfork(ka_init_atfork_prepare, ka_init_atfork_parent,
		       ka_init_atfork_child);
}

/**
 * _ka_init() - read the environment and set up thread handling and tracing.
 *
 * Context: called by every entry point; cheap after the first time.
 */
void _ka_init(void)
{
	if (likely(__atomic_load_n(&ka_init_state, __ATOMIC_ACQUIRE) == 2))
		return;
	pthread_mutex_lock(&ka_init_lock);
	if (!ka_init_state) {
		ka_init_state = 1;
		_ka_options_read();
		_ka_default.gen = _ka_next_gen();
		_ka_mag_thread_init();
		_ka_trace_init();
		__atomic_store_n(&ka_init_state, 2, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&ka_init_lock);
}
