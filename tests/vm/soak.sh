#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make soak: the reliability scripts at full size (RELIABILITY_SCALE=soak),
# results in build/soak/<kernel>/; ends with the figures each script
# reached (cycles, pages checked, failure points, fuzzer calls, ...) and
# the usual "N passed, N failed, N skipped" line per kernel.
#
# The fault sweep, the fuzzer, isolation, load and memory pressure run on
# the debug kernel (SOAK_DEBUG); the 1800 insmod/rmmod cycles of the
# lifecycle loops run on the stock kernel (SOAK_STOCK), where a cycle
# takes about a second under TCG instead of 5 to 20 (a KASAN module load).
# Either list may be set, empty to skip that kernel.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"

export RELIABILITY_SCALE=soak
export VM_TIMEOUT=${SOAK_TIMEOUT:-14400}
export RELIABILITY_TIMEOUT=$VM_TIMEOUT RELIABILITY_VM_TIMEOUT=$VM_TIMEOUT
debug_scripts=${SOAK_DEBUG-fault_sweep fuzz isolation load pressure}
stock_scripts=${SOAK_STOCK-lifecycle_loops}
t0=$(date +%s)
rc=0
for k in debug stock; do
	scripts=${k}_scripts
	[ -n "${!scripts}" ] || continue
	KARENA_RELIABILITY=${!scripts} RELIABILITY_KERNELS=$k \
		CHECK_OUT=$KARENA_BUILD/soak/$k \
		bash "$KARENA_TOP/tests/vm/check.sh" --only reliability --kernels $k || rc=1
done
echo
echo "soak figures ($(($(date +%s) - t0)) s):"
for f in "$KARENA_BUILD"/soak/*/*-reliability/reliability-*.tap; do
	[ -f "$f" ] || continue
	k=$(basename "$(dirname "$f")")
	s=$(basename "$f" .tap)
	sed -n "s/^# figure: /  ${k%-reliability} ${s#reliability-}: /p" "$f"
done
exit $rc
