// SPDX-License-Identifier: GPL-2.0
/*
 * karena-stat: one report of karena's arena from debugfs: free blocks
 * per order, the fragmentation indices, the slab caches sorted by a
 * column, and the clients.  --json prints the same as one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "karena.h"
#include "tool.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: karena-stat [OPTION]...\n"
		"Report karena's buddy allocator, fragmentation, slab caches and clients.\n\n"
		"  -s, --sort=COLUMN  sort the caches by name, active, objects, size,\n"
		"                     slabs, bytes (the default) or use\n"
		"  -n, --top=N        show only the first N caches\n"
		"  -j, --json         print one JSON object instead of tables\n"
		"  -d, --debugfs=DIR  karena's debugfs directory\n"
		"                     (default $KARENA_DEBUGFS or %s)\n"
		"  -h, --help         this text\n", KA_DEFAULT_DEBUGFS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sort", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "debugfs", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum ka_slab_key key = KA_SORT_BYTES;
	const char *root = NULL;
	struct ka_snapshot *s;
	bool json = false;
	size_t top = 0;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (tool_sort_key(optarg) < 0) {
				fprintf(stderr, "karena-stat: unknown column '%s'\n",
					optarg);
				return 2;
			}
			key = tool_sort_key(optarg);
			break;
		case 'n':
			top = strtoul(optarg, NULL, 10);
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			root = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	s = ka_snapshot_read(root);
	if (!s) {
		fprintf(stderr, "karena-stat: %s\n", ka_errmsg());
		return 1;
	}
	ka_snapshot_sort(s, key);
	if (top && top < s->nr_slabs)
		s->nr_slabs = top;
	if (json) {
		ka_snapshot_json(s, stdout);
	} else {
		tool_summary(stdout, s);
		printf("\n== free blocks and fragmentation per order\n");
		tool_orders(stdout, s);
		printf("\n== slab caches, by %s\n", tool_sort_name(key));
		tool_slabs(stdout, s, 0);
		printf("\n== clients of /dev/karena\n");
		tool_clients(stdout, s);
	}
	ka_snapshot_free(s);
	return 0;
}
