#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-host: libkarena's malloc family natively, over the fake
# device of userspace/lib/dev_fake.c (no VM, no system call), against
# glibc, mimalloc, jemalloc and tcmalloc in the same process
# (userspace/tests/host_bench.c).
#
#   1. install the peers' libraries if missing (libmimalloc2.0,
#      libjemalloc2, libtcmalloc-minimal4);
#   2. build host_bench (userspace/Makefile: the objects of the asan
#      host test, at -O2, without sanitizers) and run it;
#   3. the table goes to stdout and to $KARENA_BUILD/bench/bench-host.txt.
#
# Environment: BENCH_HOST_ITERS (malloc+free pairs per run, 1000000; the
# other workloads scale with it), BENCH_HOST_ROUNDS (9, the first a
# warm-up).
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"

KARENA_DEPS="gcc make libc-dev-bin libmimalloc2.0 libjemalloc2
libtcmalloc-minimal4"
ensure_deps

out=$KARENA_BUILD/bench
mkdir -p "$out"
say "building and running host_bench"
make -s -C "$KARENA_TOP/userspace" O="$KARENA_BUILD/userspace" bench-host \
	BENCH_HOST_ARGS="${BENCH_HOST_ITERS:-1000000} ${BENCH_HOST_ROUNDS:-9}" |
	tee "$out/bench-host.txt"
