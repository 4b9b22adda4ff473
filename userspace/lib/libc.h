/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * glibc's own allocator, exported (GLIBC_2.2.5) for interposers such as
 * libkarena-preload.so, but declared in no header.
 */
#ifndef KARENA_LIB_LIBC_H
#define KARENA_LIB_LIBC_H

#include <stddef.h>

void *__libc_malloc(size_t size);
void __libc_free(void *ptr);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void *__libc_memalign(size_t alignment, size_t size);

#endif /* KARENA_LIB_LIBC_H */
