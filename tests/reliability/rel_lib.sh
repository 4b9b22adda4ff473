# SPDX-License-Identifier: GPL-2.0
#
# Shared by the reliability scripts (sourced, run as root in the test VM):
# TAP output, the scale, and the checks that say "everything came back".
#
# Environment: KARENA_KO (path of karena.ko), KARENA_SELFTESTS (where the
# helper programs are), RELIABILITY_SCALE (ci, the default, or soak).

ko=${KARENA_KO:?path of karena.ko}
progs=${KARENA_SELFTESTS:-$(dirname "$0")/../../build/selftests}
scale=${RELIABILITY_SCALE:-ci}
. "$(dirname "${BASH_SOURCE[0]}")/../lib/arena.sh"
tap_n=0
tap_failed=0

case $scale in
ci | soak) ;;
*) echo "Bail out! RELIABILITY_SCALE must be ci or soak, not '$scale'"; exit 2 ;;
esac

# by_scale CI SOAK: the figure for this scale.
by_scale() { [ "$scale" = soak ] && echo "$2" || echo "$1"; }

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n $1"; }
not_ok() {
	local l
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n $1"; shift
	for l in "$@"; do echo "# $l"; done
}
# check NAME WHY: ok when WHY is empty.
check() { [ -z "$2" ] && ok "$1" || not_ok "$1" "$2"; }
figure() { echo "# figure: $1"; }
tap_end() { echo "1..$tap_n"; [ $tap_failed -eq 0 ]; }

unload() { loaded && rmmod_soon >/dev/null 2>&1; ! loaded; }

# Nothing of any client left, and the arena consistent: empty, or why not.
all_back() {
	local after
	after=$(clients_gone)
	if [ "$after" != "user=0 clients=0" ]; then
		echo "left behind: $after"
		sed 's/^/#   /' $dbg/clients
		ps -eo pid,user,stat,wchan:24,comm | grep -E 'karena|setpriv|STAT' | sed 's/^/#   /'
		return
	fi
	validate_ok || echo "arena validation failed (see dmesg)"
}

# Free memory in KiB: MemFree plus the pages on the kernel's per-CPU
# page lists (/proc/zoneinfo "count:"), which are free but not counted in
# MemFree.  Those lists grow and shrink by tens of MiB on their own: over
# 100 insmod/rmmod cycles on the stock kernel MemFree fell by 18 MiB
# while the lists grew by 17.9 and the sum moved by 0.3 MiB.  (Not after
# drop_caches: every command after that is read again over 9p, which
# under TCG costs seconds per cycle.)
rel_page_kb=$(($(getconf PAGESIZE) / 1024))
mem_free_kb() {
	local k v u free=0 pcp=0
	while read -r k v u; do
		[ "$k" = MemFree: ] && { free=$v; break; }
	done </proc/meminfo
	while read -r k v u; do
		[ "$k" = count: ] && pcp=$((pcp + v))
	done </proc/zoneinfo
	echo $((free + pcp * rel_page_kb))
}

# Run a helper program as an unprivileged user (uid = gid = $1), in
# place of the current shell: only in $(...) or in the background, where
# that shell is a subshell, so that $! is the program's own pid (a kill
# of $! must reach the program, not a subshell waiting for it).
as_user() {
	local uid=$1
	shift
	exec setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# A watchdog for a step that may hang: after $1 seconds, dump the
# blocked tasks and every CPU's backtrace to the kernel log (which the
# console keeps), and say so on stdout.  Returns its pid for
# watchdog_stop.
watchdog_start() {
	(
		sleep "$1"
		echo "# watchdog: still running after $1 s; blocked tasks and backtraces in the console log"
		echo w >/proc/sysrq-trigger
		echo l >/proc/sysrq-trigger
	) &
	watchdog_pid=$!
}
watchdog_stop() { kill "$watchdog_pid" 2>/dev/null; wait "$watchdog_pid" 2>/dev/null; true; }
