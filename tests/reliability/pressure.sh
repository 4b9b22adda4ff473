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
#   4. The kernel without free blocks of the chunk order (fail_page_alloc
#      fails insmod's allocations from an order up, as fragmented free
#      memory would; debug kernel): the arena is made of smaller chunks
#      down to min_order and a client runs, or, below min_order, insmod
#      fails with a message and leaves nothing.
# After each part nothing of any client is left and the arena validates.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
rel_setup
tap_start

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

# 4
fpa=/sys/kernel/debug/fail_page_alloc
fpa_keys="task-filter probability interval times verbose ignore-gfp-wait min-order"
declare -A fpa_saved
# insmod_failing ORDER ARGS...: insmod with every page allocation of
# ORDER or more of its task failing.
insmod_failing() {
	local order=$1
	shift
	echo "$order" >$fpa/min-order
	sh -c 'echo 1 >/proc/self/make-it-fail && exec insmod "$@"' insmod "$ko" "$@"
}
# The chunk order of the loaded arena, and whether a client runs on it.
arena_in_chunks_of() {
	local order
	order=$(sed -n 's/^max_order=//p' $dbg/arena)
	[ "$order" = "$1" ] || { echo "chunks of order '$order', expected $1"; return; }
	dmesg | tail -n 5 | grep -q "karena: arena: .*chunks of order $1: the kernel ran out of free blocks of order $(($1 + 1))" ||
		{ echo "no message about the smaller chunks: $(dmesg | tail -n 2)"; return; }
	out=$(as_user 43002 "$client" 2>&1) || { echo "karena_client: $out"; return; }
	all_back
}
# fallback NAME FROM: without blocks of order FROM and up, the
# arena comes in chunks of order FROM - 1 and a client runs.
fallback() {
	local why
	if ! out=$(insmod_failing "$2" arena_mb=16 dev_mode=0666 2>&1); then
		why="insmod failed without blocks of order $2: $out $(dmesg | tail -n 2)"
	else
		why=$(arena_in_chunks_of $(($2 - 1)))
		rmmod_soon || why="$why; rmmod failed"
	fi
	check "$1" "$why"
}
if [ ! -d $fpa ]; then
	for t in arena_in_smaller_chunks_without_max_order_blocks \
		arena_in_min_order_chunks_under_fragmentation \
		insmod_below_min_order_refused; do
		ok "$t # SKIP this kernel has no fail_page_alloc"
	done
else
	for k in $fpa_keys; do fpa_saved[$k]=$(cat $fpa/$k); done
	echo Y >$fpa/task-filter
	echo 0 >$fpa/verbose
	echo N >$fpa/ignore-gfp-wait
	echo 1 >$fpa/interval
	echo -1 >$fpa/times
	echo 100 >$fpa/probability

	fallback arena_in_smaller_chunks_without_max_order_blocks 10
	fallback arena_in_min_order_chunks_under_fragmentation 4

	why=
	before=$(dmesg | wc -l)
	if insmod_failing 4 arena_mb=16 min_order=4 >/dev/null 2>&1; then
		why="insmod min_order=4 succeeded without blocks of order 4"
		rmmod_soon
	elif [ -e /dev/karena ] || [ -e $dbg ] || loaded; then
		why="leftovers after the refused insmod"
	elif ! dmesg | tail -n +$((before + 1)) |
		grep -q 'karena: arena karena: asked the kernel for 16384 KiB in blocks of 4096 KiB down to 64 KiB, obtained 0 KiB'; then
		why="no 'asked the kernel for ... down to 64 KiB, obtained 0 KiB' message: $(dmesg | tail -n 2)"
	fi
	check insmod_below_min_order_refused "$why"

	for k in $fpa_keys; do echo "${fpa_saved[$k]}" >$fpa/$k; done
fi
tap_end
