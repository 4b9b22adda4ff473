#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Memory pressure (TAP on stdout), as root in the test VM:
#   1. Default quotas: one user's greedy clients take all the quotas let
#      them (a client half the arena, a user three quarters) and are
#      refused with ENOMEM; a client of another user keeps working.
#   2. Quotas as large as the arena: one greedy client exhausts it; a
#      second client is refused cleanly (ENOMEM, nothing half-done) and
#      works again as soon as the greedy one is gone.
#   3. The kernel itself short of memory (a tmpfs file pins most of the
#      guest's RAM): insmod asking for more than is free fails with a
#      message and leaves nothing; a small arena loads and a client runs.
# After each part nothing of any client is left and the arena validates.
set -u
. "$(dirname "$0")/rel_lib.sh"

arena_mb=32
client=$progs/karena_client
tmp=$(mktemp -d)
chmod 0777 "$tmp"	# the clients run as other users and write there
hog=$tmp/pin/hog
gpids=()
cleanup() {
	local p
	for p in "${gpids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
unload || { echo "Bail out! karena is loaded and cannot be removed"; exit 1; }
page_kb=$(($(getconf PAGESIZE) / 1024))

# greedy UID N: start greedy client N as UID; its page count (or why
# not) in $got.  Not in $(...): its pid must reach gpids in this shell.
greedy() {
	rm -f "$tmp/ready$2"
	as_user "$1" "$client" -g -r "$tmp/ready$2" >"$tmp/greedy$2" 2>&1 &
	gpids+=($!)
	if wait_ready "$tmp/ready$2" $!; then
		got=$(sed -n 's/^greedy_pages=//p' "$tmp/greedy$2")
	else
		got="failed: $(cat "$tmp/greedy$2")"
	fi
}
stop_greedy() {
	local p
	for p in "${gpids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	gpids=()
}

# 1
insmod "$ko" arena_mb=$arena_mb dev_mode=0666
pages=$(sed -n 's/^pages=//p' $dbg/arena)
greedy 43001 1
g1=$got
greedy 43001 2
g2=$got
# What the quotas allow, less what a client's cache and objects use.
q1=$((pages / 2)) q2=$((pages / 4 * 3 - pages / 2))
why=
[[ "$g1" =~ ^[0-9]+$ ]] && [ "$g1" -le $q1 ] && [ "$g1" -ge $((q1 - 64)) ] ||
	why="first greedy client got '$g1' pages, its quota is $q1"
[[ "$g2" =~ ^[0-9]+$ ]] && [ "$g2" -le $q2 ] && [ "$g2" -ge $((q2 - 64)) ] ||
	why="$why; second greedy client of the same user got '$g2' pages, the user's quota leaves $q2"
check greedy_user_stopped_by_quotas "$why"
out=$(as_user 43002 "$client" 2>&1)
check other_user_keeps_working "$([ $? -eq 0 ] || echo "karena_client as another user: $out")"
stop_greedy
check quota_part_everything_back "$(all_back)"
rmmod_soon

# 2
insmod "$ko" arena_mb=$arena_mb client_max_mb=$arena_mb user_max_mb=$arena_mb dev_mode=0666
greedy 43001 1
g1=$got
free_pages=$(sed -n 's/^free=//p' $dbg/arena)
why=
[[ "$g1" =~ ^[0-9]+$ ]] && [ "$g1" -ge $((pages * 9 / 10)) ] ||
	why="the greedy client got '$g1' of $pages pages"
check one_client_exhausts_arena "$why"
figure "exhausted_arena: greedy_pages=$g1 of $pages, free_pages_left=$free_pages"
held=$(user_pages)
out=$(as_user 43002 "$client" 2>&1)
rc=$?
why=
[ $rc -eq 1 ] && grep -q 'Cannot allocate memory' <<<"$out" ||
	why="a client of an exhausted arena: status $rc: $out"
check exhausted_arena_refuses_with_enomem "$why"
sleep 0.5
why=
[ "$(user_pages)" = "$held" ] && [ "$(nr_clients)" = 1 ] ||
	why="after the refused client: user=$(user_pages) clients=$(nr_clients), expected user=$held clients=1"
check refused_client_left_nothing "$why"
stop_greedy
check exhausted_part_everything_back "$(all_back)"
out=$(as_user 43002 "$client" 2>&1)
check works_again_after_greedy_is_gone "$([ $? -eq 0 ] || echo "karena_client: $out")"
rmmod_soon

# 3
# A tmpfs of its own: /tmp's may be limited to half of RAM.
mkdir "$tmp/pin"
mount -t tmpfs -o size=100% none "$tmp/pin" || not_ok tmpfs_for_pressure "mount failed"
avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
pin_mb=$((avail_mb - 96))
dd if=/dev/zero of="$hog" bs=1M count=$pin_mb status=none
left_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
figure "kernel_pressure: pinned ${pin_mb} MiB in tmpfs, MemAvailable ${left_mb} MiB"
# More than is available, a whole number of 4 MiB chunks, and still
# under the half of RAM that the parameter check allows.
big=$(((left_mb + 64 + 3) / 4 * 4))
before=$(dmesg | wc -l)
if out=$(insmod "$ko" arena_mb=$big 2>&1); then
	not_ok insmod_beyond_free_memory_refused "insmod arena_mb=$big succeeded with $left_mb MiB available"
	rmmod_soon
elif [ -e /dev/karena ] || [ -e $dbg ] || loaded; then
	not_ok insmod_beyond_free_memory_refused "leftovers after the refused insmod"
elif ! dmesg | tail -n +$((before + 1)) | grep -q 'karena: arena .*obtained'; then
	not_ok insmod_beyond_free_memory_refused "no 'asked the kernel for ... obtained' message: $out $(dmesg | tail -n 3)"
else
	ok insmod_beyond_free_memory_refused
	echo "# $(dmesg | tail -n +$((before + 1)) | grep 'karena:' | tail -n 1 | sed 's/^\[ *[0-9.]*\] //')"
fi
why=
insmod "$ko" arena_mb=16 dev_mode=0666 || why="insmod arena_mb=16 failed under pressure"
if [ -z "$why" ]; then
	out=$(as_user 43002 "$client" 2>&1) || why="karena_client under pressure: $out"
	[ -n "$why" ] || why=$(all_back)
	rmmod_soon || why="$why; rmmod failed"
fi
check small_arena_works_under_kernel_pressure "$why"
rm -f "$hog"
umount "$tmp/pin" 2>/dev/null
tap_end
