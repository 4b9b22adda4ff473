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
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
rel_setup
top=$KARENA_TOP
sweep=$KARENA_BUILD/reliability/karena_faultsweep
kml=/sys/kernel/debug/kmemleak

max_k=${SWEEP_MAX_K:-2000}
nth_stride=${SWEEP_NTH_STRIDE:-$(by_scale 8 1)}
rounds=${SWEEP_STORM_ROUNDS:-$(by_scale 3 100)}
percent=${SWEEP_STORM_PERCENT:-20}
stride=${SWEEP_INSMOD_STRIDE:-$(by_scale 128 1)}
insmod_max_k=${SWEEP_INSMOD_MAX_K:-20000}
# The oracle's own pattern: a run that makes the kernel log match it fails.
pattern=$(sed -n "s/^pattern='\(.*\)'$/\1/p" "$top/tests/vm/oracle.sh")

# The results of karena_faultsweep and of the steps below, numbered
# again in this shell: "ok [N] - NAME" and "not ok [N] - NAME" lines,
# "Bail out!" as a failure, failure_points=N summed, the rest as
# diagnostics.
points=0
emit() {
	local line name
	while IFS= read -r line; do
		name=${line#*ok }
		name=${name#"${name%%[!0-9]*}"}
		name=${name# }
		name=${name#- }
		case $line in
		"ok "*) ok "$name" ;;
		"not ok "*) not_ok "$name" ;;
		failure_points=*) points=$((points + ${line#failure_points=})) ;;
		"Bail out!"*) not_ok "${line#Bail out! }" ;;
		*) echo "# ${line#\# }" ;;
		esac
	done
}

tap_start
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
echo "# scale $scale: max_k=$max_k nth_stride=$nth_stride storm_rounds=$rounds storm_percent=$percent insmod_stride=$stride"
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

# The steps, in a subshell of the pipe; emit numbers their results.
steps() {
	local after leaks
	run_sweep -m filter -R "$pattern"
	run_sweep -m nth -k "$max_k" -S "$nth_stride" -R "$pattern"
	run_sweep -m storm -r "$rounds" -P "$percent" -R "$pattern"
	after=$(clients_gone)
	check_that everything_came_back '[ "$after" = "user=0 clients=0" ]' "$after"
	check_that arena_validate_clean validate_ok \
		"the arena's checker counted a problem (see dmesg)"
	check_that rmmod_after_sweep rmmod_soon "rmmod failed"
	run_sweep -i "$ko" -S "$stride" -k "$insmod_max_k" -R "$pattern"
	check_that no_module_after_insmod_sweep \
		'! loaded && [ ! -e /dev/karena ] && [ ! -e $dbg ]' \
		"karena, /dev/karena or $dbg left behind"
	if [ -w $kml ]; then
		sleep 6	# kmemleak reports objects older than 5 s only
		echo scan >$kml
		leaks=$(grep -c 'unreferenced object' $kml)
		check_that kmemleak_nothing_new '[ "$leaks" -le "$leaks_before" ]' \
			"kmemleak: $leaks unreferenced objects, $leaks_before before"
		[ "$leaks" -le "$leaks_before" ] || head -n 40 $kml
	fi
}

# lastpipe: emit runs in this shell, so its counts survive the pipe.
shopt -s lastpipe
steps 2>&1 | emit
[ "$tap_n" -gt 0 ] || not_ok "the sweep produced no result"
loaded && rmmod karena
figure "failure_points=$points"
figure "fault_sweep_seconds=$(($(date +%s) - start))"
tap_end
