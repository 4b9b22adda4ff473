#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: karena's allocators against the kernel's, glibc's and the
# peers' (mimalloc, jemalloc, tcmalloc), side by side in one boot of the
# stock Debian kernel (the debug kernel's KASAN, lockdep and kmemleak
# hooks would distort every figure).
#
#   1. install what is missing (the VM's packages, gnuplot-nox, the
#      peers' libraries: the VM sees the host's root filesystem, so
#      karena-bench dlopen()s them there);
#   2. build karena.ko and karena_bench.ko against the stock kernel,
#      libkarena and karena-bench;
#   3. boot the VM once, run bench/guest.sh in it;
#   4. bench/report.py: the table, $KARENA_BUILD/bench/bench-results.tsv
#      and the plots beside it.
#
# The kernel is booted with init_on_alloc=0: Debian turns it on, which
# makes SLUB and the page allocator zero every allocation while karena
# zeroes only on request; the "-zero" workloads compare zeroing on both.
#
# Environment: BENCH_REPS (9 rounds, the first a warm-up), BENCH_SCALE
# (iterations in percent, 100), BENCH_ARENA_MB (256), BENCH_SWEEP (batch
# sizes), BENCH_TIMEOUT (s, 2400), and the VM's VM_MEM, VM_CPUS, VM_APPEND.
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"

BENCH_ARENA_MB=${BENCH_ARENA_MB:-256}
export BENCH_REPS=${BENCH_REPS:-9} BENCH_SCALE=${BENCH_SCALE:-100}
export BENCH_ARENA_MB BENCH_SWEEP=${BENCH_SWEEP:-}
out=$KARENA_BUILD/bench
start=$(date +%s)

KARENA_DEPS="$KARENA_DEPS gnuplot-nox libmimalloc2.0 libjemalloc2
libtcmalloc-minimal4"
ensure_deps

say "building karena.ko for the stock kernel"
mods=$(bash "$KARENA_TOP/tests/vm/build-modules.sh" stock)

say "building karena_bench.ko"
kdir=$(kernel_kdir stock)
mkdir -p "$out/kernel/include"
cp -pu "$KARENA_TOP"/bench/kernel/Kbuild "$KARENA_TOP"/bench/kernel/*.[ch] \
	"$out/kernel/"
cp -pu "$KARENA_TOP/module/include/karena_kernel.h" "$out/kernel/include/"
make -C "$kdir" M="$out/kernel" W=1 \
	KBUILD_EXTRA_SYMBOLS="$mods/Module.symvers" modules \
	>"$out/kernel/build.log" 2>&1 || {
	cat "$out/kernel/build.log" >&2
	die "karena_bench.ko does not build"
}
if grep -E 'warning:|error:' "$out/kernel/build.log" >&2; then
	die "karena_bench.ko builds with warnings"
fi

say "building libkarena and karena-bench"
make -s -C "$KARENA_TOP/userspace" O="$KARENA_BUILD/userspace" >&2
make -s -C "$KARENA_TOP/bench/user" O="$out/user" \
	LIB="$KARENA_BUILD/userspace" >&2

say "running the workloads in the stock kernel's VM ($VM_CPUS CPUs, $VM_MEM MiB)"
rm -rf "$out/vm"
mkdir -p "$out/vm"
cd "$KARENA_TOP"
VM_APPEND="init_on_alloc=0 ${VM_APPEND:-}" \
	bash tests/vm/run.sh --kernel stock --results "$out/vm" \
	--timeout "${BENCH_TIMEOUT:-2400}" -- \
	env BENCH_REPS="$BENCH_REPS" BENCH_SCALE="$BENCH_SCALE" \
	BENCH_ARENA_MB="$BENCH_ARENA_MB" BENCH_SWEEP="$BENCH_SWEEP" \
	bash bench/guest.sh "$out/vm" "$mods" "$out" ||
	die "the benchmark VM failed (console: $out/vm/console.log)"

python3 "$KARENA_TOP/bench/report.py" "$out/vm" "$out"
say "make bench took $(( $(date +%s) - start )) s; results in $out"
