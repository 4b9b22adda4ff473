#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The /dev/karena fuzzer, as root in the test VM; TAP 13 on stdout.
#
# Loads karena.ko, runs karena_fuzz (random and mutated ioctls, mmap,
# munmap, mremap, madvise, mprotect, touches, fork and close-while-busy
# from several processes and threads, checking invariants as it goes),
# then checks that everything came back: no client page (debugfs arena
# user=0), no client listed, the arena's checker silent, the kernel log
# free of oracle reports, rmmod possible.
#
# Environment: KARENA_KO (karena.ko), KARENA_BUILD (where
# reliability/karena_fuzz is), RELIABILITY_SCALE (ci: the default, about
# 45 s of fuzzing; soak: 10^6 calls at least, with more processes and
# threads), and overrides FUZZ_CALLS, FUZZ_SECONDS, FUZZ_SEED, FUZZ_PROCS,
# FUZZ_THREADS.  A finding prints its seed and the command line that
# reproduces the run.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"
rel_setup
top=$KARENA_TOP
fuzz=$KARENA_BUILD/reliability/karena_fuzz

calls=${FUZZ_CALLS:-1000000}
seconds=${FUZZ_SECONDS:-$(by_scale 45 3600)}
procs=${FUZZ_PROCS:-$(by_scale 2 4)}
threads=${FUZZ_THREADS:-$(by_scale 2 4)}
seed=${FUZZ_SEED:-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}
seed=0x${seed#0x}
pattern=$(sed -n "s/^pattern='\(.*\)'$/\1/p" "$top/tests/vm/oracle.sh")

tap_start
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP the fuzzer needs root (it loads karena.ko)"
	exit 4
fi
[ -x "$fuzz" ] || { echo "Bail out! no $fuzz (make userspace)"; exit 2; }
loaded && rmmod karena
if ! insmod "$ko"; then
	echo "Bail out! insmod $ko"
	exit 1
fi
log_from=$(dmesg | wc -l)

out=$("$fuzz" -s "$seed" -n "$calls" -t "$seconds" -p "$procs" -j "$threads" 2>&1)
rc=$?
sed 's/^\([^#]\)/# \1/' <<<"$out"
summary=$(grep '^fuzz: ' <<<"$out")
done_calls=$(sed -n 's/.* calls=\([0-9]*\) .*/\1/p' <<<"$summary")
done_secs=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<<"$summary")
check_that "fuzzer: ${done_calls:-0} calls in ${done_secs:-?} s, no invariant broken (seed $seed)" \
	'[ $rc -eq 0 ] && [ -n "$done_calls" ]' \
	"karena_fuzz exited with $rc; reproduce with: $fuzz -s $seed -p $procs -j $threads -n $calls -t $seconds"

after=$(clients_gone)
check_that everything_came_back '[ "$after" = "user=0 clients=0" ]' "$after"
check_that arena_validate_clean validate_ok "the arena's checker counted a problem (see dmesg)"
hits=$(dmesg | tail -n +$((log_from + 1)) | grep -E "$pattern")
check_that kernel_log_clean '[ -z "$hits" ]' "$(head -n 40 <<<"$hits")"
check_that rmmod_after_fuzz rmmod_soon "rmmod failed"

figure "fuzz_calls=${done_calls:-0}"
figure "fuzz_seconds=${done_secs:-0}"
figure "fuzz_seed=$seed"
tap_end
