#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Inside the test VM: run the requested test phases on the booted kernel,
# each writing TAP or KTAP to $KARENA_RESULTS/<phase>.tap, with the oracle
# after every phase (results in oracle.tap).
#
# Usage (from check.sh through run.sh): guest-check.sh PHASE...
# Phases: lifecycle kunit selftests interposer reliability
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kernel=${KARENA_KERNEL:?}
results=${KARENA_RESULTS:?}
build=${KARENA_BUILD:-$top/build}
export KARENA_KO=$build/$kernel/module/karena.ko
export KARENA_TEST_KO=$build/$kernel/tests/kunit/karena_test.ko
export KARENA_SELFTESTS=$build/selftests
oracle=$top/tests/vm/oracle.sh

# A kernel that turned lockdep off while booting cannot check our
# locking: exit 99, and run.sh boots it once more.
"$oracle" --init
if [ $? -eq 3 ]; then
	echo "karena: this boot turned lockdep off before any test ran (above); no test run"
	exit 99
fi
: >"$results/oracle.tap"
echo "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 / 1024 " MiB" }' /proc/meminfo)"

check_oracle() {
	"$oracle" "$@" >>"$results/oracle.tap" || tail -n 60 "$results/oracle.tap"
}

# Drop karena modules a failed phase may have left behind.
unload_all() {
	rmmod karena_test 2>/dev/null
	rmmod karena 2>/dev/null
	true
}

phase_lifecycle() {
	bash "$top/tests/selftests/lifecycle.sh"
}

# KUnit suites run at insmod of karena_test.ko and print KTAP to the
# kernel log (debugfs keeps only the last parameter of a parameterised
# case in 6.1, so the log is the complete record).
phase_kunit() {
	local from
	if [ ! -e /sys/kernel/debug/kunit ]; then
		echo "1..0 # SKIP kernel has no KUnit"
		return 0
	fi
	insmod "$KARENA_KO" || { echo "not ok 1 - insmod karena.ko"; return 1; }
	from=$(dmesg | wc -l)
	insmod "$KARENA_TEST_KO" ||
		echo "not ok 1 - insmod karena_test.ko"
	dmesg | tail -n +$((from + 1)) | sed 's/^\[ *[0-9.]*\] //'
	rmmod karena_test
	rmmod karena || echo "not ok - rmmod karena after KUnit"
}

# The device is opened to every user here, so that the tests can check
# per-user limits and cross-user isolation with unprivileged users.
phase_selftests() {
	local t name rc start
	insmod "$KARENA_KO" ${KARENA_SELFTEST_PARAMS-dev_mode=0666} ||
		{ echo "not ok 1 - insmod karena.ko"; return 1; }
	# lib_stress_test's fork_during_first_call is a race of the library's
	# own: its 100 rounds run on the stock kernel, 20 on the debug one,
	# where each exec costs seconds.
	[ "$kernel" = debug ] && export LT_FORK_INIT_ROUNDS=20
	for t in "$KARENA_SELFTESTS"/*_test; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		start=$(date +%s)
		timeout 600 "$t" >"$results/selftest-$name.tap" 2>&1
		rc=$?
		[ $rc -eq 124 ] && echo "not ok - $name timed out" >>"$results/selftest-$name.tap"
		echo "# selftest $name: $(($(date +%s) - start)) s"
	done
	rmmod karena || echo "not ok - rmmod karena after selftests"
}

# libkarena's LD_PRELOAD interposer under real programs (python3,
# sqlite3, sort, gcc), tests/selftests/interposer.sh; a larger arena than
# the default 64 MiB, so that the programs fit in a client's quota.
phase_interposer() {
	local rc
	insmod "$KARENA_KO" dev_mode=0666 arena_mb=${KARENA_INTERPOSER_ARENA_MB:-192} ||
		{ echo "not ok 1 - insmod karena.ko"; return 1; }
	KARENA_BUILD=$build timeout 900 bash "$top/tests/selftests/interposer.sh"
	rc=$?
	rmmod karena || { echo "not ok - rmmod karena after interposer"; rc=1; }
	return $rc
}

# Reliability (Documentation/reliability.rst): each script of
# tests/reliability loads and unloads karena itself and writes its TAP to
# reliability-<script>.tap; RELIABILITY_SCALE (ci or soak) sizes them.
phase_reliability() {
	local t name rc start why lockdep=0
	"$oracle" --lockdep >/dev/null && lockdep=1
	for name in ${KARENA_RELIABILITY:-lifecycle_loops isolation pressure load fault_sweep fuzz}; do
		t=$top/tests/reliability/$name.sh
		if [ ! -x "$t" ]; then
			echo "not ok - reliability $name: no $t"
			continue
		fi
		start=$(date +%s)
		timeout "${RELIABILITY_TIMEOUT:-3600}" "$t" >"$results/reliability-$name.tap" 2>&1
		rc=$?
		echo "# reliability $name: $(($(date +%s) - start)) s"
		# Name the script that turned lockdep off, if one did (the
		# oracle after the phase only sees that it is off).
		if [ "$lockdep" = 1 ] && ! why=$("$oracle" --lockdep); then
			lockdep=0
			{
				echo "not ok - lockdep_still_on_after_$name"
				echo "# lockdep turned itself off during $name; the kernel log says:"
				echo "$why"
			} >>"$results/reliability-$name.tap"
		fi
		# 4: the kselftest status of a script that skipped itself.
		if [ $rc -ne 0 ] && [ $rc -ne 4 ] &&
			! grep -q '^not ok' "$results/reliability-$name.tap"; then
			echo "not ok - $name ended with status $rc" >>"$results/reliability-$name.tap"
		fi
		unload_all
	done
}

status=0
for phase in "$@"; do
	echo "=== phase $phase on the $kernel kernel"
	start=$(date +%s)
	"phase_$phase" >"$results/$phase.tap" 2>&1 || status=1
	for f in "$results/$phase.tap" "$results"/selftest-*.tap; do
		[ -f "$f" ] || continue
		[ "$phase" = selftests ] || [ "$f" = "$results/$phase.tap" ] || continue
		grep -E '^ *(not )?ok |^ *# (Subtest|SKIP|FAIL|[a-z_]+: pass:)|Totals|^# (selftest|reliability) [a-z_]+: [0-9]+ s$' "$f" | tail -n 400
	done
	for f in "$results"/reliability-*.tap; do
		[ "$phase" = reliability ] && [ -f "$f" ] || continue
		# A failure's diagnostics (the "# " lines after it) too, so that
		# the log shows what went wrong without the results folder.
		awk '/^ *ok |^# figure:/ { diag = 0; print; next }
		     /^ *not ok / { diag = 40; print; next }
		     diag > 0 && /^ *#/ { diag--; print; next }
		     { diag = 0 }' "$f" | tail -n 200
	done
	unload_all
	echo "    ($(($(date +%s) - start)) s)"
	check_oracle "oracle after $phase ($kernel)"
done
check_oracle --final "oracle at the end ($kernel)" || status=1
# The whole kernel log, beside the console (which leaves KERN_DEBUG out).
dmesg >"$results/dmesg.log"
cat "$results/oracle.tap"
exit $status
