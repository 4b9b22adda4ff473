#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: lint, build against every kernel, then boot each kernel in a
# VM and run the test phases there with the oracle after each.  Ends with
# a per-kernel/per-suite table and the line "N passed, N failed, N skipped".
#
# Usage: tests/vm/check.sh [--only "PHASES"] [--kernels "debug stock trixie sid"]
#   PHASES: lifecycle kunit selftests interposer reliability (default:
#   all; --only skips lint)
# The newer Debian kernels (trixie, sid) run only the phases also named
# in SUITE_PHASES (default: lifecycle, or all when --kernels names the
# kernels; make check-full: all but reliability).  A full run also builds
# karena with dkms against the headers of the kernels in DKMS_KERNELS
# (stock; make check-full: all, every one but the debug kernel).
# Environment: RELIABILITY_KERNELS (debug): where the reliability phase
# runs, in a VM of its own with RELIABILITY_VM_TIMEOUT (1800 s);
# RELIABILITY_SCALE (ci) and the other knobs of tests/reliability
# (LOOP_*, ISO_*, LOAD_*, FUZZ_*, SWEEP_*) are passed to the guest.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

phases="lifecycle kunit selftests interposer reliability"
kernels="debug stock $KARENA_SUITES"
lint=1
suite_phases=${SUITE_PHASES:-lifecycle}
while [ $# -gt 0 ]; do
	case "$1" in
	--only) phases=$2; lint=0; shift 2 ;;
	--kernels) kernels=$2; suite_phases=${SUITE_PHASES:-$phases}; shift 2 ;;
	*) die "check.sh: unknown argument $1" ;;
	esac
done

out=${CHECK_OUT:-$KARENA_BUILD/check}
rm -rf "$out"
mkdir -p "$out/host"
host_tap=$out/host/build.tap
: >"$host_tap"
t0=$(date +%s)

# Record a host-side step as one TAP result; its output is kept on failure.
step() {
	local name=$1 log
	shift
	log=$out/host/$(tr ' /' '__' <<<"$name").log
	say "$name"
	if "$@" >"$log" 2>&1; then
		ok "$name" >>"$host_tap"
		return 0
	fi
	not_ok "$name" >>"$host_tap"
	tail -n 60 "$log" >&2
	return 1
}

ensure_deps
if [ $lint -eq 1 ] || [[ " $kernels " == *" debug "* ]]; then
	step "debug kernel" bash "$KARENA_TOP/tests/vm/build-kernel.sh"
fi
if [ $lint -eq 1 ]; then
	step "make lint" bash "$KARENA_TOP/tests/lint.sh"
fi
step "userspace build" make -C "$KARENA_TOP" userspace KARENA_BUILD="$KARENA_BUILD"
step "libkarena asan-test" make -C "$KARENA_TOP/userspace" asan-test \
	O="$KARENA_BUILD/userspace"
# One VM boot: run.sh KERNEL into DIR (the kernel column of the summary)
# with PHASES, then note a boot that died or timed out.
boot() {
	local k=$1 dir=$2 rc
	shift 2
	say "booting the $k kernel: $*"
	mkdir -p "$dir"
	(cd "$KARENA_TOP" && bash tests/vm/run.sh --kernel "$k" --results "$dir" \
		--timeout "${boot_timeout:-$VM_TIMEOUT}" \
		-- env "${guest_env[@]}" bash tests/vm/guest-check.sh "$@")
	rc=$?
	echo "$(basename "$dir") VM: $(cat "$dir/vm-seconds" 2>/dev/null || echo '?') s" >>"$out/host/times"
	if [ $rc -ge 124 ] || [ ! -s "$dir/oracle.tap" ]; then
		echo "not ok - VM run on the $k kernel (rc $rc, console: $dir/console.log)" >>"$dir/vm.tap"
	fi
}

# The guest starts with a clean environment: pass the reliability knobs.
guest_env=(KARENA_GUEST=1)
while IFS= read -r v; do
	guest_env+=("$v")
done < <(env | grep -E '^((RELIABILITY|LOOP|ISO|LOAD|FUZZ|SWEEP)_[A-Z_]*|KARENA_RELIABILITY)=' || true)

for k in $kernels; do
	kphases=$phases
	if is_suite_kernel "$k"; then
		kphases=$(tr ' ' '\n' <<<"$phases" | grep -xF "$(tr ' ' '\n' <<<"$suite_phases")" | tr '\n' ' ')
	fi
	# A newer Debian kernel: its toolchain root first (cached; cold, it
	# is downloaded and unpacked here, and the step's time says so).
	if is_suite_kernel "$k"; then
		s0=$(date +%s)
		step "toolchain for the $k kernel" bash "$KARENA_TOP/tests/vm/toolchain.sh" "$k" || continue
		echo "$k toolchain: $(($(date +%s) - s0)) s" >>"$out/host/times"
	fi
	# W=1 on the kernels lint does not build against.
	w1=()
	is_suite_kernel "$k" && w1=(W=1)
	step "modules for the $k kernel" bash "$KARENA_TOP/tests/vm/build-modules.sh" "$k" "${w1[@]}" || continue
	dkms_kernels=${DKMS_KERNELS:-stock}
	[ "$dkms_kernels" = all ] && dkms_kernels="stock $KARENA_SUITES"
	if [[ " $dkms_kernels " == *" $k "* ]] && [ $lint -eq 1 ]; then
		step "dkms build for the $k kernel" bash "$KARENA_TOP/tests/vm/dkms-build.sh" "$k"
	fi
	# The interposer (real programs under libkarena) and reliability
	# phases boot on their own, so that each has a VM_TIMEOUT of its own.
	main=$(tr ' ' '\n' <<<"$kphases" | grep -vxE 'interposer|reliability' | tr '\n' ' ')
	[ -n "${main// /}" ] && boot "$k" "$out/$k" $main
	[[ " $kphases " == *" interposer "* ]] && boot "$k" "$out/$k-interposer" interposer
	[[ " $kphases " == *" reliability "* ]] &&
		[[ " ${RELIABILITY_KERNELS:-debug} " == *" $k "* ]] &&
		boot_timeout=${RELIABILITY_VM_TIMEOUT:-1800} \
		boot "$k" "$out/$k-reliability" reliability
done

echo
cat "$out/host/times" 2>/dev/null
echo "total: $(($(date +%s) - t0)) s"
summary=$(find "$out" -name '*.tap' | sort | xargs awk -f "$KARENA_TOP/tests/vm/summarize.awk")
echo "$summary"
tail -n 1 <<<"$summary" | grep -q ' 0 failed' && exit 0
exit 1
