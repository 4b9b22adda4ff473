#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Concurrency and load (TAP on stdout), as root in the test VM, for
# LOAD_SECONDS (ci 30, soak 600):
#   - two karena_stress processes, each a client shared by LOAD_THREADS
#     threads (4) allocating and freeing objects and page blocks;
#   - two karena_client -l processes, each its own client, churning
#     until they are killed with SIGKILL at the end;
#   - a reader of every readable file under debugfs/karena (caches come
#     and go while it reads);
#   - a writer of every validate and shrink trigger;
#   - CPU 1 taken offline and brought back online in a loop (when the
#     kernel allows CPU hotplug).
# Then: every stress process passed its own checks, nothing of any
# client is left, the arena and every cache validate, no cache counted
# an error.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
rel_setup
tap_start

seconds=${LOAD_SECONDS:-$(by_scale 30 600)}
threads=${LOAD_THREADS:-4}
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -w /sys/devices/system/cpu/cpu1/online ] &&
		echo 1 >/sys/devices/system/cpu/cpu1/online 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
unload || { echo "Bail out! karena is loaded and cannot be removed"; exit 1; }
insmod "$ko" dev_mode=0666 || { echo "Bail out! insmod karena.ko failed"; exit 1; }
end=$(($(date +%s) + seconds))

# Rounds over every readable debugfs file (no process substitution: the
# guest has no /dev/fd).
reader() {
	local n=0
	while [ "$(date +%s)" -lt $end ]; do
		find $dbg -type f -perm -0400 -exec cat {} + >/dev/null 2>&1
		n=$((n + 1))
	done
	echo "$n" >"$tmp/reads"
}

triggers() {
	local n=0 f
	while [ "$(date +%s)" -lt $end ]; do
		for f in $dbg/validate $dbg/caches/*/validate $dbg/caches/*/shrink; do
			[ -e "$f" ] || continue
			echo 1 2>/dev/null >"$f" && n=$((n + 1))
		done
		sleep 0.2
	done
	echo "$n" >"$tmp/triggers"
}

hotplug() {
	local n=0 cpu=/sys/devices/system/cpu/cpu1/online
	while [ "$(date +%s)" -lt $end ]; do
		echo 0 >$cpu && n=$((n + 1))
		sleep 0.5
		echo 1 >$cpu
		sleep 0.5
	done
	echo "$n" >"$tmp/hotplug"
}

for i in 1 2; do
	as_user $((41000 + i)) "$progs/karena_stress" -t "$threads" -s "$seconds" \
		>"$tmp/stress$i" 2>&1 &
	pids+=($!)
	stress[$i]=$!
done
for i in 1 2; do
	as_user $((42000 + i)) "$progs/karena_client" -l >"$tmp/churn$i" 2>&1 &
	pids+=($!)
	churn[$i]=$!
done
reader &
pids+=($!)
triggers &
pids+=($!)
if [ -w /sys/devices/system/cpu/cpu1/online ]; then
	hotplug &
	pids+=($!)
	hotplug=1
else
	hotplug=0
fi

for i in 1 2; do
	wait "${stress[$i]}"
	rc=$?
	check "shared_client_threads_$i" \
		"$([ $rc -eq 0 ] || echo "karena_stress $i: status $rc: $(tail -n 5 "$tmp/stress$i")")"
	echo "# stress $i: $(tail -n 1 "$tmp/stress$i")"
done
for i in 1 2; do
	# Still churning after the whole run, then killed holding memory.
	if kill -0 "${churn[$i]}" 2>/dev/null; then
		kill -9 "${churn[$i]}"
		wait "${churn[$i]}" 2>/dev/null
		ok "separate_client_churn_$i"
	else
		wait "${churn[$i]}"
		not_ok "separate_client_churn_$i" "karena_client -l ended early (status $?): $(tail -n 5 "$tmp/churn$i")"
	fi
done
wait
pids=()
reads=$(cat "$tmp/reads" 2>/dev/null)
trig=$(cat "$tmp/triggers" 2>/dev/null)
check debugfs_read_throughout "$([ "${reads:-0}" -gt 0 ] || echo "no round of debugfs reads finished")"
check triggers_written_throughout "$([ "${trig:-0}" -gt 0 ] || echo "no validate/shrink trigger was written")"
if [ $hotplug -eq 1 ]; then
	n=$(cat "$tmp/hotplug" 2>/dev/null)
	check cpu_hotplug_during_load "$([ "${n:-0}" -gt 0 ] || echo "CPU 1 never went offline")"
	figure "hotplug_cycles=${n:-0}"
fi
watchdog_start 120
check everything_back_after_load "$(all_back)"
why=
for f in $dbg/caches/*/validate; do
	echo 1 >"$f" || why="$why ${f%/validate}"
done
errs=$(grep -h '^errors=' $dbg/caches/*/stats 2>/dev/null | grep -vc '^errors=0$')
[ "$errs" = 0 ] || why="$why; $errs caches counted errors"
check caches_validate_no_errors "$why"
watchdog_stop
rmmod_soon || not_ok rmmod_after_load "rmmod failed"
figure "load_seconds=$seconds debugfs_read_rounds=${reads:-0} triggers=${trig:-0}"
tap_end
