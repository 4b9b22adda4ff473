// SPDX-License-Identifier: GPL-2.0
/*
 * karena-top: a live view of karena's slab caches and clients, like
 * slabtop.  On a terminal it redraws every DELAY seconds and reads
 * single keys (q quits; a, o, s, b, u, n pick the sort column); with
 * -n/--once, or when stdout is not a terminal, it prints the frames one
 * after another with no escape sequences.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "karena.h"
#include "tool.h"

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	tty_raw = false;
}

/* Single keys without Enter, no echo. */
static void tty_keys(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty))
		return;
	t = saved_tty;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		tty_raw = true;
		atexit(tty_restore);
	}
}

static unsigned int screen_rows(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row)
		return ws.ws_row;
	return 24;
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: karena-top [OPTION]...\n"
		"Show karena's slab caches and clients, refreshed.\n\n"
		"  -d, --delay=SECONDS  between refreshes (default 2)\n"
		"  -n, --iterations=N   stop after N refreshes\n"
		"      --once           one refresh, for scripts (-n 1)\n"
		"  -s, --sort=COLUMN    name, active, objects, size, slabs, bytes, use\n"
		"  -D, --debugfs=DIR    karena's debugfs directory\n"
		"  -h, --help           this text\n"
		"Keys: q quit, n name, a active, o objects, s size, l slabs,\n"
		"      b bytes, u use\n");
}

static int key_sort(int ch)
{
	switch (ch) {
	case 'n': return KA_SORT_NAME;
	case 'a': return KA_SORT_ACTIVE;
	case 'o': return KA_SORT_OBJECTS;
	case 's': return KA_SORT_SIZE;
	case 'l': return KA_SORT_SLABS;
	case 'b': return KA_SORT_BYTES;
	case 'u': return KA_SORT_USE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },
		{ "sort", required_argument, NULL, 's' },
		{ "debugfs", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum ka_slab_key key = KA_SORT_BYTES;
	long iterations = -1, i;
	const char *root = NULL;
	double delay = 2.0;
	bool live;
	int c;

	while ((c = getopt_long(argc, argv, "d:n:s:D:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			delay = strtod(optarg, NULL);
			if (delay < 0.1)
				delay = 0.1;
			break;
		case 'n':
			iterations = strtol(optarg, NULL, 10);
			break;
		case '1':
			iterations = 1;
			break;
		case 's':
			if (tool_sort_key(optarg) < 0) {
				fprintf(stderr, "karena-top: unknown column '%s'\n",
					optarg);
				return 2;
			}
			key = tool_sort_key(optarg);
			break;
		case 'D':
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
	live = isatty(STDOUT_FILENO) && iterations != 1 &&
	       getenv("TERM") && strcmp(getenv("TERM"), "dumb");
	if (live)
		tty_keys();

	for (i = 0; iterations < 0 || i < iterations; i++) {
		struct ka_snapshot *s = ka_snapshot_read(root);
		unsigned int rows = screen_rows();
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		time_t now = time(NULL);
		char stamp[32], ch;
		size_t max;

		if (!s) {
			fprintf(stderr, "karena-top: %s\n", ka_errmsg());
			return 1;
		}
		ka_snapshot_sort(s, key);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
		if (live)
			fputs("\033[H\033[2J", stdout);
		else if (i)
			putchar('\n');
		printf("karena-top %s, sorted by %s%s\n", stamp,
		       tool_sort_name(key), live ? " (q quits)" : "");
		tool_summary(stdout, s);
		putchar('\n');
		tool_orders(stdout, s);
		putchar('\n');
		tool_clients(stdout, s);
		putchar('\n');
		/* On a terminal, as many caches as fit. */
		max = 0;
		if (live) {
			unsigned int used = 10 + s->nr_clients + 2;

			max = rows > used + 2 ? rows - used - 2 : 1;
		}
		tool_slabs(stdout, s, max);
		fflush(stdout);
		ka_snapshot_free(s);
		if (iterations >= 0 && i + 1 >= iterations)
			break;
		if (!tty_raw) {
			struct timespec ts = {
				.tv_sec = (time_t)delay,
				.tv_nsec = (long)((delay - (time_t)delay) * 1e9),
			};

			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&pfd, 1, (int)(delay * 1000)) > 0 &&
		    read(STDIN_FILENO, &ch, 1) == 1) {
			if (ch == 'q')
				break;
			if (key_sort(ch) >= 0)
				key = key_sort(ch);
		}
	}
	tty_restore();
	return 0;
}
