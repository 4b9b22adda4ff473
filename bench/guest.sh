#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of `make bench`: runs in the stock kernel's VM (started
# by bench/run.sh) and leaves raw results in OUT for bench/report.py.
#
# Usage: bench/guest.sh OUT MODULES BENCH
#   OUT      results folder (writable share)
#   MODULES  the stock kernel's karena build (module/karena.ko)
#   BENCH    the bench build (kernel/karena_bench.ko, user/karena-bench)
# Environment: BENCH_REPS, BENCH_SCALE, BENCH_ARENA_MB, BENCH_SWEEP.
set -euo pipefail

out=$1
mods=$2
bench=$3
arena_mb=${BENCH_ARENA_MB:-256}
reps=${BENCH_REPS:-9}
scale=${BENCH_SCALE:-100}
sweep=${BENCH_SWEEP:-1 2 4 8 16 32 64 128 256 1024}
dir=/sys/kernel/debug/karena_bench

say() { printf '==> [%4ds] %s\n' "$SECONDS" "$*"; }

{
	echo "kernel	$(uname -r)"
	echo "cmdline	$(cat /proc/cmdline)"
	echo "cpus	$(nproc)"
	echo "memory	$(awk '/^MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
	echo "cpu	$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "karena	arena_mb=$arena_mb"
	echo "bench	reps=$reps scale=$scale"
	echo "glibc	$(dpkg-query -W -f='${Version}' libc6 2>/dev/null || echo '?')"
	for p in libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4; do
		printf '%s=%s ' "$p" \
			"$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo '?')"
	done | sed 's/^/peers\t/; s/ $/\n/'
} >"$out/meta.txt"

insmod "$mods/module/karena.ko" arena_mb="$arena_mb"
insmod "$bench/kernel/karena_bench.ko" reps="$reps" scale="$scale" \
	arena_mb="$arena_mb"

say "in-kernel workloads: $reps rounds"
echo timing >"$dir/run"

say "fragmentation soak"
echo frag >"$dir/run"
cat /sys/kernel/debug/karena/buddyinfo >"$out/buddyinfo-ours.txt"
cat /proc/buddyinfo >"$out/buddyinfo-ref.txt"
echo release >"$dir/run"
cat "$dir/results" >"$out/kernel.txt"
rmmod karena_bench

say "userspace workloads, libkarena, glibc and the peers: peak memory, then $reps rounds"
"$bench/user/karena-bench" >"$out/user.txt"

say "refill batch sweep: $sweep"
for b in $sweep; do
	KARENA_BATCH=$b "$bench/user/karena-bench" --sweep "u.sweep-batch-$b" \
		>>"$out/user.txt"
done

rmmod karena
say "done"
