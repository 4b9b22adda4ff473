#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fault-injection sweep, as root in the test VM; TAP 13 on stdout.
#
# For every /dev/karena operation (open, each ioctl, mmap, first touch of
# the window, release) karena_faultsweep fails the 1st, 2nd, ... k-th
# allocation (fail-nth, over karena's fail_page and fail_slab and the
# kernel's failslab and fail_page_alloc) until the operation no longer
# reaches the fault, then runs fault storms (task-filter + make-it-fail
# at a probability) and checks that task-filter scopes karena's own
# attributes.  Then the same nth sweep over insmod of karena.ko.  Every
# run must succeed or fail with ENOMEM and change nothing; afterwards no
# client page or client is left, the arena's checker is silent, the
# kernel log has no oracle report and kmemleak finds nothing new.
#
# Environment: KARENA_KO (karena.ko), KARENA_BUILD (where
# reliability/karena_faultsweep is), RELIABILITY_SCALE (ci: the default,
# every 8th failure point of each operation and every 128th of insmod;
# soak: all of them and more storm rounds), and overrides SWEEP_MAX_K,
# SWEEP_NTH_STRIDE, SWEEP_STORM_ROUNDS,
# SWEEP_STORM_PERCENT, SWEEP_INSMOD_STRIDE, SWEEP_INSMOD_MAX_K.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
ko=${KARENA_KO:?path of karena.ko}
build=${KARENA_BUILD:-$top/build}
sweep=$build/reliability/karena_faultsweep
. "$top/tests/lib/arena.sh"
kml=/sys/kernel/debug/kmemleak

case ${RELIABILITY_SCALE:-ci} in
ci) nth_stride=8 rounds=3 stride=128 ;;
soak) nth_stride=1 rounds=100 stride=1 ;;
*) echo "Bail out! RELIABILITY_SCALE must be ci or soak"; exit 2 ;;
esac
max_k=${SWEEP_MAX_K:-2000}
nth_stride=${SWEEP_NTH_STRIDE:-$nth_stride}
rounds=${SWEEP_STORM_ROUNDS:-$rounds}
percent=${SWEEP_STORM_PERCENT:-20}
stride=${SWEEP_INSMOD_STRIDE:-$stride}
insmod_max_k=${SWEEP_INSMOD_MAX_K:-20000}
# The oracle's own pattern: a run that makes the kernel log match it fails.
pattern=$(sed -n "s/^pattern='\(.*\)'$/\1/p" "$top/tests/vm/oracle.sh")

n=0
failed=0
points=0
emit() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) n=$((n + 1)); echo "ok $n ${line#ok }" ;;
		"not ok - "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n ${line#not ok }" ;;
		failure_points=*) points=$((points + ${line#failure_points=})) ;;
		"Bail out!"*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${line#Bail out! }" ;;
		*) echo "# ${line#\# }" ;;
		esac
	done
}
ok() { printf 'ok - %s\n' "$1"; }
not_ok() { printf 'not ok - %s\n' "$1"; shift; printf '# %s\n' "$@"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1" "${3:-}"; fi; }

echo "TAP version 13"
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP the fault sweep needs root"
	exit 4
fi
if [ ! -e /sys/kernel/debug/failslab ] || [ ! -e /proc/self/fail-nth ] &&
	[ ! -e /proc/thread-self/fail-nth ]; then
	echo "1..0 # SKIP kernel without fault injection (FAILSLAB, FAULT_INJECTION_DEBUG_FS)"
	exit 4
fi
[ -x "$sweep" ] || { echo "Bail out! no $sweep (make userspace)"; exit 2; }
echo "# scale ${RELIABILITY_SCALE:-ci}: max_k=$max_k nth_stride=$nth_stride storm_rounds=$rounds storm_percent=$percent insmod_stride=$stride"
start=$(date +%s)
loaded && rmmod karena
leaks_before=0
if [ -w $kml ]; then
	echo scan >$kml
	leaks_before=$(grep -c 'unreferenced object' $kml)
fi

if ! insmod "$ko"; then
	echo "Bail out! insmod $ko"
	exit 1
fi

# karena_faultsweep; exit 1 means it printed its "not ok" lines already.
run_sweep() {
	local rc
	"$sweep" "$@"
	rc=$?
	[ $rc -le 1 ] || echo "not ok - karena_faultsweep $* exited with status $rc"
}

# The steps; their output is numbered by emit, in this shell.
steps() {
	local after leaks
	run_sweep -m filter -R "$pattern"
	run_sweep -m nth -k "$max_k" -S "$nth_stride" -R "$pattern"
	run_sweep -m storm -r "$rounds" -P "$percent" -R "$pattern"
	after=$(clients_gone)
	check everything_came_back '[ "$after" = "user=0 clients=0" ]' "$after"
	check arena_validate_clean validate_ok \
		"the arena's checker counted a problem (see dmesg)"
	check rmmod_after_sweep rmmod_soon "rmmod failed"
	run_sweep -i "$ko" -S "$stride" -k "$insmod_max_k" -R "$pattern"
	check no_module_after_insmod_sweep \
		'! loaded && [ ! -e /dev/karena ] && [ ! -e $dbg ]' \
		"karena, /dev/karena or $dbg left behind"
	if [ -w $kml ]; then
		sleep 6	# kmemleak reports objects older than 5 s only
		echo scan >$kml
		leaks=$(grep -c 'unreferenced object' $kml)
		check kmemleak_nothing_new '[ "$leaks" -le "$leaks_before" ]' \
			"kmemleak: $leaks unreferenced objects, $leaks_before before"
		[ "$leaks" -le "$leaks_before" ] || head -n 40 $kml
	fi
}

# lastpipe: emit runs in this shell, so its counts survive the pipe.
shopt -s lastpipe
steps 2>&1 | emit
[ $n -gt 0 ] || { n=1; failed=1; echo "not ok 1 - the sweep produced no result"; }
loaded && rmmod karena
echo "# figure: failure_points=$points"
echo "# figure: fault_sweep_seconds=$(($(date +%s) - start))"
echo "1..$n"
[ $failed -eq 0 ]
