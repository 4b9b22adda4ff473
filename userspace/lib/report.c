// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: reports.  Misuse of the allocator prints exactly one line on
 * stderr, "karena: <function>(): <what> <address>", is counted in the
 * heap's statistics, and aborts the program unless KARENA_ABORT=0.
 * Nothing here allocates: lines are formatted on the stack and written
 * with one write().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The last debugfs error of this thread, for ka_errmsg(). */
static __thread char ka_errbuf[256] __attribute__((tls_model("initial-exec")));

static void ka_vsay(const char *fmt, va_list ap)
{
	char line[512];
	int n;

	memcpy(line, "karena: ", 8);
	n = vsnprintf(line + 8, sizeof(line) - 9, fmt, ap);
	if (n < 0)
		return;
	n += 8;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	_ka_prim_write(2, line, n);
}

/**
 * _ka_say() - print one "karena: ..." line on stderr.
 * @fmt: printf format, without the prefix and the newline.
 */
void _ka_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ka_vsay(fmt, ap);
	va_end(ap);
}

/**
 * _ka_fatal() - print one line and abort.
 * @fmt: printf format, without the prefix and the newline.
 */
void _ka_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ka_vsay(fmt, ap);
	va_end(ap);
	abort();
}

/**
 * _ka_misuse() - report a misuse of the allocator.
 * @heap: the heap it concerns, or NULL (counted in the default heap).
 * @kind: what was wrong.
 * @func: the API function the program called ("free", "ka_cache_free").
 * @ptr: the address.
 * @detail: more words for the line, or NULL.
 *
 * Frees of memory inherited from the parent across fork are only
 * counted: that memory is not the child's, and freeing it is harmless.
 */
void _ka_misuse(struct ka_heap *heap, enum ka_misuse kind,
		const char *func, const void *ptr, const char *detail)
{
	const char *sep = detail ? " (" : "", *end = detail ? ")" : "";

	if (!heap)
		heap = &_ka_default;
	switch (kind) {
	case KA_MISUSE_PARENT:
		KA_STAT_ADD(heap, parent_frees, 1);
		return;
	case KA_MISUSE_DOUBLE_FREE:
		KA_STAT_ADD(heap, double_frees, 1);
		_ka_say("%s(): double free detected: %p%s%s%s", func, ptr, sep,
			detail ?: "", end);
		break;
	case KA_MISUSE_INVALID:
		KA_STAT_ADD(heap, invalid_frees, 1);
		_ka_say("%s(): invalid pointer %p%s%s%s", func, ptr, sep,
			detail ?: "", end);
		break;
	case KA_MISUSE_REDZONE:
		KA_STAT_ADD(heap, redzone_errors, 1);
		_ka_say("%s(): red zone overwritten at %p%s%s%s", func, ptr,
			sep, detail ?: "", end);
		break;
	case KA_MISUSE_INTERNAL:
		_ka_say("%s(): inconsistent state at %p%s%s%s", func, ptr, sep,
			detail ?: "", end);
		break;
	}
	if (_ka_opt.abort_on_misuse)
		abort();
}

/**
 * _ka_set_errmsg() - remember why a debugfs call failed, for ka_errmsg().
 * @fmt: printf format.
 */
void _ka_set_errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ka_errbuf, sizeof(ka_errbuf), fmt, ap);
	va_end(ap);
}

const char *ka_errmsg(void)
{
	return ka_errbuf[0] ? ka_errbuf : "no error";
}
