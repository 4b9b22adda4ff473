#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lifecycle loops (TAP on stdout), as root in the test VM:
#   - insmod/rmmod idle, LOOP_IDLE times (ci 5, soak 1000);
#   - LOOP_HELD times each (ci 3, soak 200) with something holding the
#     module: a client with its fd open, a client that closed its fd but
#     keeps its window mapped, an open debugfs file: rmmod is refused
#     while it exists and succeeds once it is gone;
#   - LOOP_HELD times a client killed by SIGKILL in the middle of its
#     allocation loop: everything it had comes back.
# After every cycle nothing of any client is left and the arena
# validates; while loaded, free memory (MemFree plus the kernel's per-CPU
# page lists, mem_free_kb) is lower by at least the arena's pages
# (debugfs arena "pages="); after rmmod it is back (the module's counters
# and free memory agree).  Free memory moves by a few MiB on its own on
# the debug kernel (KASAN's quarantine of freed objects, the page cache),
# so after each cycle "back" means within LOOP_SLACK_KB (half the arena:
# the arena was returned); over all the cycles, with caches dropped
# before both readings, within LOOP_DRIFT_KB (3 MiB, less than one 4 MiB
# chunk of the arena).  Smaller leaks are for kmemleak (the oracle) and
# the module's own counters.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
rel_setup
tap_start

idle=${LOOP_IDLE:-$(by_scale 5 1000)}
held=${LOOP_HELD:-$(by_scale 3 200)}
arena_mb=16
slack=${LOOP_SLACK_KB:-$((arena_mb * 1024 / 2))}
# Under KASAN the quarantine of freed objects (up to 1/32 of RAM) moves
# MemFree by MiBs even after drop_caches: 3.4 MiB seen over 50 cycles.
# There the drift check only catches an arena not given back; the chunk
# check is the stock kernel's (make soak runs the loops there).
if dmesg | grep -q 'KernelAddressSanitizer initialized'; then
	drift=${LOOP_DRIFT_KB:-$((arena_mb * 1024 / 2))}
else
	drift=${LOOP_DRIFT_KB:-3072}
fi
client=$progs/karena_client
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unload || { echo "Bail out! karena is loaded and cannot be removed"; exit 1; }

# Free memory after dropping caches, before and after all the loops.
settled_free_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	mem_free_kb
}
base=$(settled_free_kb)
cp /proc/meminfo "$tmp/meminfo.base"

# One cycle's load half.  (Whether the arena came from the kernel is
# checked once, settled, by arena_from_kernel: within one cycle MemFree
# also moves with whatever else the kernel frees or allocates meanwhile.)
load() {
	insmod "$ko" arena_mb=$arena_mb dev_mode=0666 || echo "insmod failed"
}

# Free memory, settled, falls by at least 90 % of the arena's pages at
# insmod and comes back at rmmod.
arena_from_kernel() {
	local before loaded after pages
	before=$(settled_free_kb)
	insmod "$ko" arena_mb=$arena_mb || { echo "insmod failed"; return; }
	pages=$(arena_value pages)
	loaded=$(settled_free_kb)
	rmmod karena || { echo "rmmod failed"; return; }
	after=$(settled_free_kb)
	echo "# free memory ${before} KiB, loaded ${loaded} KiB, unloaded ${after} KiB; arena ${pages} pages" >&2
	[ $((before - loaded)) -ge $((pages * 4 * 9 / 10)) ] ||
		echo "free memory fell by $((before - loaded)) KiB at insmod, less than 90 % of the arena's $((pages * 4)) KiB"
}

# The unload half: rmmod, nothing left, free memory back.
unload_back() {
	local before=$1 now
	rmmod karena || { echo "rmmod failed"; return; }
	[ ! -e /dev/karena ] && [ ! -e $dbg ] || { echo "device or debugfs left after rmmod"; return; }
	now=$(mem_free_kb)
	[ $((before - now)) -le "$slack" ] ||
		echo "free memory is $((before - now)) KiB lower than before insmod"
}

# A cycle in which HOLDER (a function: start | stop) holds the module.
held_cycle() {
	local holder=$1 before why out
	before=$(mem_free_kb)
	why=$(load "$before")
	[ -z "$why" ] || { echo "$why"; return; }
	# Not in $(...): the holder's client and fd must live in this shell.
	$holder start >"$tmp/why"
	why=$(cat "$tmp/why")
	[ -z "$why" ] || { $holder stop >/dev/null; echo "$why"; return; }
	if out=$(rmmod karena 2>&1); then
		$holder stop >/dev/null
		echo "rmmod succeeded while held"
		return
	fi
	grep -q 'in use' <<<"$out" || { $holder stop >/dev/null; echo "unexpected rmmod error: $out"; return; }
	$holder stop >/dev/null
	why=$(all_back)
	[ -z "$why" ] || { echo "$why"; return; }
	unload_back "$before"
}

pid=
start_client() {
	rm -f "$tmp/ready"
	"$client" "$@" -r "$tmp/ready" >"$tmp/client.out" 2>&1 &
	pid=$!
	wait_ready "$tmp/ready" $pid ||
		echo "karena_client $* never got ready: $(cat "$tmp/client.out")"
}
stop_client() {
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	true
}

fd_holder() {
	case $1 in
	start) start_client -w ;;
	stop) stop_client ;;
	esac
}

map_holder() {
	case $1 in
	start)
		start_client -c
		[ -e "$tmp/ready" ] || return
		grep -q /dev/karena /proc/$pid/maps || echo "the client has no window mapped"
		! ls -l /proc/$pid/fd | grep -q /dev/karena || echo "the client still has its fd open"
		;;
	stop) stop_client ;;
	esac
}

debugfs_holder() {
	case $1 in
	start) exec 3<$dbg/arena ;;
	stop) exec 3<&- ;;
	esac
}

# A cycle with a client killed mid-allocation: no refusal to check.
kill_cycle() {
	local before why rc
	before=$(mem_free_kb)
	why=$(load "$before")
	[ -z "$why" ] || { echo "$why"; return; }
	rm -f "$tmp/ready"
	"$client" -l -r "$tmp/ready" >"$tmp/client.out" 2>&1 &
	pid=$!
	wait_ready "$tmp/ready" $pid || { echo "karena_client -l failed: $(cat "$tmp/client.out")"; return; }
	sleep 0.$((RANDOM % 5))
	kill -9 $pid
	wait $pid 2>/dev/null
	rc=$?
	[ $rc -eq 137 ] || { echo "karena_client -l ended with status $rc before the kill: $(cat "$tmp/client.out")"; return; }
	why=$(all_back)
	[ -z "$why" ] || { echo "$why"; return; }
	unload_back "$before"
}

cycles=0
# loop NAME COUNT FUNCTION [ARG]: COUNT cycles, stop at the first failure.
loop() {
	local name=$1 count=$2 i why=
	shift 2
	for i in $(seq "$count"); do
		why=$("$@")
		[ -z "$why" ] || { why="cycle $i: $why"; break; }
		cycles=$((cycles + 1))
	done
	unload
	check "${name}_${count}_cycles" "$why"
}

idle_cycle() {
	local before why
	before=$(mem_free_kb)
	why=$(load "$before")
	[ -z "$why" ] || { echo "$why"; return; }
	unload_back "$before"
}

why=$(arena_from_kernel 2>"$tmp/memfree")
cat "$tmp/memfree"
check memfree_falls_by_the_arena "$why"
for v in ${LOOP_VARIANTS:-idle client mapping debugfs sigkill}; do
	case $v in
	idle) loop insmod_rmmod_idle "$idle" idle_cycle ;;
	client) loop rmmod_refused_with_client_open "$held" held_cycle fd_holder ;;
	mapping) loop rmmod_refused_with_live_mapping "$held" held_cycle map_holder ;;
	debugfs) loop rmmod_refused_with_debugfs_open "$held" held_cycle debugfs_holder ;;
	sigkill) loop sigkill_mid_allocation_gives_back "$held" kill_cycle ;;
	*) not_ok "loop_variant_$v" "LOOP_VARIANTS: no variant '$v' (idle client mapping debugfs sigkill)" ;;
	esac
done

now=$(settled_free_kb)
# Where free memory went: every /proc/meminfo field that moved by 256 KiB
# or more over the loops (Percpu, Slab, VmallocUsed, ... against the
# arena).
moved=$(awk 'NR == FNR { v[$1] = $2; next }
	     $1 in v && ($2 - v[$1] >= 256 || v[$1] - $2 >= 256) {
		printf "%s %+d KiB; ", $1, $2 - v[$1] }' "$tmp/meminfo.base" /proc/meminfo)
check memfree_back_after_all_cycles \
	"$([ $((base - now)) -le "$drift" ] || echo "free memory is $((base - now)) KiB lower than before the loops (/proc/meminfo: $moved)")"
figure "lifecycle_cycles=$cycles memfree_drift_kb=$((base - now))"
tap_end
