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
dbg=/sys/kernel/debug/karena
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

loaded() { grep -q '^karena ' /proc/modules; }
unload() { loaded && rmmod_soon >/dev/null 2>&1; ! loaded; }

# rmmod, retried for up to 2 s (a release may be deferred).
rmmod_soon() {
	local i
	for i in $(seq 20); do
		rmmod karena 2>/dev/null && return 0
		sleep 0.1
	done
	rmmod karena
}

# Wait (TCG is slow: up to 60 s) for FILE, as long as PID lives.
wait_ready() {
	local i
	for i in $(seq 600); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Builtins only where a loop runs them thousands of times: under TCG on
# the debug kernel every fork+exec costs a good part of a second.

# arena_value KEY: KEY's value in debugfs arena (key=value lines).
arena_value() {
	local k v
	while IFS== read -r k v; do
		[ "$k" = "$1" ] && { echo "$v"; return; }
	done <$dbg/arena
}

# Pages owned by clients and the clients listed; both 0 when none is left.
user_pages() { arena_value user; }
nr_clients() {
	local l n=0
	while read -r l; do
		[ "${l:0:1}" = "#" ] || n=$((n + 1))
	done <$dbg/clients
	echo $n
}

# Wait up to 5 s for every client to be gone; print "user=N clients=M".
clients_gone() {
	local i
	for i in $(seq 50); do
		[ "$(user_pages)" = 0 ] && [ "$(nr_clients)" = 0 ] && break
		sleep 0.1
	done
	echo "user=$(user_pages) clients=$(nr_clients)"
}

# Run the arena's checker; fails if it counted a problem.
validate_ok() {
	local before after
	before=$(arena_value validate_failures)
	echo 1 >$dbg/validate || return 1
	after=$(arena_value validate_failures)
	[ -n "$before" ] && [ "$before" = "$after" ]
}

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

# MemFree in KiB.  (Not after drop_caches: every command after that is
# read again over 9p, which under TCG costs seconds per cycle.)
mem_free_kb() {
	local k v u
	while read -r k v u; do
		[ "$k" = MemFree: ] && { echo "$v"; return; }
	done </proc/meminfo
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
