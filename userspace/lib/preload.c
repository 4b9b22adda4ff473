// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena-preload.so: the malloc family of an unmodified program on
 * karena, through LD_PRELOAD.
 *
 * The first call decides, once per process: if the default heap opens,
 * every allocation comes from karena; if not, one line on stderr says so
 * (KARENA_QUIET=1: none) and everything goes to the system allocator
 * (KARENA_REQUIRE=1: abort instead).  Calls made while that decision is
 * being taken (the library's own initialisation allocating) go to the
 * system allocator too, through glibc's __libc_* entry points, which
 * need no dlsym().
 *
 * A pointer that is in no karena window is the system allocator's (made
 * before the decision, or spilled): free(), realloc() and
 * malloc_usable_size() hand it back there.  Spills: a request karena
 * cannot serve (larger than the largest page block, or the client's
 * quota exhausted) goes to the system allocator unless KARENA_SPILL=0,
 * and is counted.  Misuse of karena memory is reported as the library
 * reports it (abort by default).
 *
 * fork: the child has no window; the library opens a new client at the
 * child's first allocation (heap.c), and frees of the parent's memory
 * are ignored.  exec starts afresh.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast.h"
#include "libc.h"

#define KA_EXPORT	__attribute__((visibility("default")))
#define KA_CALLER	__builtin_return_address(0)

enum ka_mode {
	KA_MODE_UNDECIDED,
	KA_MODE_KARENA,
	KA_MODE_SYSTEM,
};

/* === Data === */

/* enum ka_mode, decided once (atomic). */
static int ka_mode;
/* Serialises the decision. */
static pthread_mutex_t ka_mode_lock = PTHREAD_MUTEX_INITIALIZER;
/* This thread is taking the decision: its allocations are the system's. */
static __thread int ka_deciding __attribute__((tls_model("initial-exec")));
/* The system's malloc_usable_size(), found with dlsym(). */
static size_t (*ka_next_usable)(void *ptr);

static bool ka_decide(void)
{
	const char *dev;
	int ret;

	if (ka_deciding)
		return false;
	ka_deciding = 1;
	pthread_mutex_lock(&ka_mode_lock);
	if (ka_mode == KA_MODE_UNDECIDED) {
		_ka_init();
		ka_next_usable = (size_t (*)(void *))dlsym(RTLD_NEXT,
							   "malloc_usable_size");
		ret = _ka_heap_ready(&_ka_default);
		dev = _ka_opt.device;
		if (ret && _ka_opt.require)
			_ka_fatal("%s: %s (KARENA_REQUIRE=1)", dev,
				  strerrordesc_np(-ret));
		if (ret && !_ka_opt.quiet)
			_ka_say("%s: %s; using the system allocator", dev,
				strerrordesc_np(-ret));
		__atomic_store_n(&ka_mode, ret ? KA_MODE_SYSTEM : KA_MODE_KARENA,
				 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&ka_mode_lock);
	ka_deciding = 0;
	return ka_mode == KA_MODE_KARENA;
}

static inline bool ka_on(void)
{
	int mode = __atomic_load_n(&ka_mode, __ATOMIC_ACQUIRE);

	if (likely(mode == KA_MODE_KARENA))
		return !ka_deciding;
	if (mode == KA_MODE_SYSTEM)
		return false;
	return ka_decide();
}

/*
 * Whether to hand a failed request to the system allocator.  The first
 * spill of a process says so on stderr, with the reason (KARENA_QUIET=1:
 * not); malloc_stats() and the JSON statistics count them all.
 */
static bool ka_spill(void)
{
	static int said;
	int err = errno;

	if (!_ka_opt.spill)
		return false;
	if (!__atomic_fetch_add(&_ka_default.stats.spills, 1,
				__ATOMIC_RELAXED) && !_ka_opt.quiet &&
	    !__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		_ka_say("%s: spilling to the system allocator from now on",
			err == ENOMEM ? "the client's quota or the arena is full" :
			strerrordesc_np(err));
	errno = err;
	return true;
}

static void *ka_malloc_spill(size_t size, size_t align, unsigned int flags,
			     const void *caller)
{
	void *p = _ka_alloc(&_ka_default, size, align, flags, caller);

	if (likely(p) || !ka_spill())
		return p;
	if (flags & KA_ZERO)
		return __libc_calloc(1, size);
	return align > KA_MALLOC_ALIGN ? __libc_memalign(align, size) :
	       __libc_malloc(size);
}

/* === The interposed functions === */

KA_EXPORT void *malloc(size_t size)
{
	void *p = _ka_malloc_fast(size, 0);

	if (likely(p))
		return p;
	if (!ka_on())
		return __libc_malloc(size);
	return ka_malloc_spill(size, 0, 0, KA_CALLER);
}

KA_EXPORT void free(void *ptr)
{
	int saved;

	if (likely(_ka_free_fast(ptr)) || !ptr)
		return;
	if (!ka_on()) {
		/* Undecided or system: no karena memory exists yet. */
		if (__atomic_load_n(&ka_mode, __ATOMIC_ACQUIRE) !=
		    KA_MODE_KARENA)
			__libc_free(ptr);
		else if (!_ka_heap_of(ptr, &(bool){ false }))
			__libc_free(ptr);
		return;
	}
	saved = errno;
	if (_ka_free(ptr, "free", KA_CALLER, KA_FOREIGN_OK, -1) ==
	    KA_OWNER_FOREIGN)
		__libc_free(ptr);
	errno = saved;
}

KA_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	p = _ka_malloc_fast(bytes, KA_ZERO);
	if (likely(p))
		return p;
	if (!ka_on())
		return __libc_calloc(nmemb, size);
	return ka_malloc_spill(bytes, 0, KA_ZERO, KA_CALLER);
}

KA_EXPORT void *realloc(void *ptr, size_t size)
{
	enum ka_owner owner;
	size_t usable;
	void *p;

	if (!ka_on())
		return __libc_realloc(ptr, size);
	if (!ptr)
		return ka_malloc_spill(size, 0, 0, KA_CALLER);
	p = _ka_realloc(ptr, size, KA_CALLER, KA_FOREIGN_OK, &owner);
	if (owner == KA_OWNER_FOREIGN)
		return __libc_realloc(ptr, size);
	if (p || !size || owner != KA_OWNER_KARENA || !ka_spill())
		return p;
	/* Karena cannot hold the new size: move to the system allocator. */
	usable = _ka_usable(ptr, "realloc", 0, &owner);
	p = __libc_malloc(size);
	if (p) {
		memcpy(p, ptr, usable < size ? usable : size);
		_ka_free(ptr, "realloc", KA_CALLER, 0, -1);
	}
	return p;
}

KA_EXPORT void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, bytes);
}

KA_EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
	int saved = errno, ret;
	void *p;

	ret = _ka_memalign_check(alignment, true);
	if (ret)
		return ret;
	if (!ka_on())
		p = __libc_memalign(alignment, size);
	else
		p = ka_malloc_spill(size, alignment, 0, KA_CALLER);
	ret = p ? 0 : ENOMEM;
	errno = saved;
	if (p)
		*memptr = p;
	return ret;
}

KA_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	if (_ka_memalign_check(alignment, false)) {
		errno = EINVAL;
		return NULL;
	}
	if (!ka_on())
		return __libc_memalign(alignment, size);
	return ka_malloc_spill(size, alignment, 0, KA_CALLER);
}

KA_EXPORT void *memalign(size_t alignment, size_t size)
{
	size_t align = 1;

	while (align && align < alignment)
		align <<= 1;
	if (!align) {
		errno = EINVAL;
		return NULL;
	}
	if (!ka_on())
		return __libc_memalign(align, size);
	return ka_malloc_spill(size, align, 0, KA_CALLER);
}

KA_EXPORT void *valloc(size_t size)
{
	if (!ka_on())
		return __libc_memalign(4096, size);
	return ka_malloc_spill(size, _ka_default.info.page_size, 0, KA_CALLER);
}

KA_EXPORT void *pvalloc(size_t size)
{
	size_t page;

	if (!ka_on())
		page = 4096;
	else
		page = _ka_default.info.page_size;
	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	size = size ? _ka_align_up(size, page) : page;
	if (!ka_on())
		return __libc_memalign(page, size);
	return ka_malloc_spill(size, page, 0, KA_CALLER);
}

KA_EXPORT size_t malloc_usable_size(void *ptr)
{
	enum ka_owner owner = KA_OWNER_FOREIGN;
	size_t n = 0;

	if (!ptr)
		return 0;
	if (ka_on())
		n = _ka_usable(ptr, "malloc_usable_size", KA_FOREIGN_OK,
			       &owner);
	if (owner == KA_OWNER_FOREIGN && ka_next_usable)
		n = ka_next_usable(ptr);
	return n;
}

/* The statistics functions report karena's numbers when it is in use. */

KA_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 (*next)(void);

	if (ka_on())
		return ka_mallinfo();
	next = (struct mallinfo2 (*)(void))dlsym(RTLD_NEXT, "mallinfo2");
	if (next)
		return next();
	return (struct mallinfo2){ 0 };
}

KA_EXPORT void malloc_stats(void)
{
	void (*next)(void);

	if (ka_on()) {
		ka_malloc_stats();
		return;
	}
	next = (void (*)(void))dlsym(RTLD_NEXT, "malloc_stats");
	if (next)
		next();
}

KA_EXPORT int malloc_info(int options, FILE *fp)
{
	int (*next)(int options, FILE *fp);

	if (ka_on())
		return ka_malloc_info(options, fp);
	next = (int (*)(int, FILE *))dlsym(RTLD_NEXT, "malloc_info");
	return next ? next(options, fp) : -1;
}

KA_EXPORT int malloc_trim(size_t pad)
{
	int (*next)(size_t pad);

	if (ka_on())
		return ka_trim() > 0;
	next = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
	return next ? next(pad) : 0;
}
