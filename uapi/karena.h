/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * karena: the /dev/karena user API.
 *
 * Every command is _IOWR(KARENA_IOC_MAGIC, nr, struct ...); unknown
 * commands fail with ENOTTY.  See Documentation/userspace-api.rst.
 */
#ifndef _UAPI_KARENA_H
#define _UAPI_KARENA_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ioctl magic: unused in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define KARENA_IOC_MAGIC	0xBA

/* Version of this interface, reported by the info command. */
#define KARENA_ABI_VERSION	1

#endif /* _UAPI_KARENA_H */
