// SPDX-License-Identifier: GPL-2.0
/*
 * make demo: allocate through the raw /dev/karena uapi, then show what
 * debugfs says about this client while it still holds the memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "karena.h"

#define NOBJ 100

static void die(const char *what)
{
	fprintf(stderr, "demo_uapi: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(void)
{
	struct karena_cache_create cc = { .object_size = 64 };
	struct karena_info info = { 0 };
	struct karena_pages blk = { .order = 2 };
	struct karena_stats st = { 0 };
	struct karena_bulk b = { 0 };
	__u64 offs[NOBJ];
	char *win;
	int fd;

	fd = open("/dev/karena", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/karena");
	if (ioctl(fd, KARENA_IOC_INFO, &info))
		die("KARENA_IOC_INFO");
	printf("abi %u, arena %llu MiB (%llu MiB free), window %llu MiB, quota %llu MiB\n",
	       info.abi_version, info.arena_bytes >> 20,
	       info.arena_free_bytes >> 20, info.window_bytes >> 20,
	       info.quota_bytes >> 20);

	win = mmap(NULL, info.window_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (win == MAP_FAILED)
		die("mmap window");

	strcpy(cc.name, "demo-64");
	if (ioctl(fd, KARENA_IOC_CACHE_CREATE, &cc))
		die("KARENA_IOC_CACHE_CREATE");
	printf("cache %u: stride %u, %u objects per %u-byte slab\n",
	       cc.cache_id, cc.object_stride, cc.objs_per_slab, cc.slab_bytes);

	b.cache_id = cc.cache_id;
	b.count = NOBJ;
	b.offsets = (uintptr_t)offs;
	if (ioctl(fd, KARENA_IOC_ALLOC_BULK, &b))
		die("KARENA_IOC_ALLOC_BULK");
	printf("%u objects, first at window offsets %#llx %#llx %#llx ...\n",
	       b.done, offs[0], offs[1], offs[2]);
	snprintf(win + offs[0], 64, "hello from object 0");
	printf("object 0 says: %s\n", win + offs[0]);

	if (ioctl(fd, KARENA_IOC_PAGES_ALLOC, &blk))
		die("KARENA_IOC_PAGES_ALLOC");
	printf("order-2 page block at window offset %#llx (zeroed: %s)\n",
	       blk.offset, win[blk.offset + 4095] ? "no" : "yes");

	if (ioctl(fd, KARENA_IOC_STATS, &st))
		die("KARENA_IOC_STATS");
	printf("this client owns %llu KiB: %llu KiB of slabs, %llu KiB of blocks, %llu objects\n",
	       st.bytes >> 10, st.slab_bytes >> 10, st.block_bytes >> 10,
	       st.objects);

	fflush(stdout);
	system("cd /sys/kernel/debug/karena;"
	       "echo '$ cat clients'; cat clients;"
	       "echo '$ grep -E \"^# name|^u\" slabinfo';"
	       "grep -E '^# name|^u' slabinfo");
	return 0;
}
