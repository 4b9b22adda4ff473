#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build karena.ko (and karena_test.ko where the kernel has KUnit) against
# one of the test kernels, in build/<kernel>/ so that every kernel's
# objects can live side by side.  Prints that directory.
#
# Usage: tests/vm/build-modules.sh debug|stock|trixie|sid [extra make arguments]
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

kernel=${1:?usage: build-modules.sh KERNEL}
shift
[ "$kernel" = debug ] && bash "$KARENA_TOP/tests/vm/build-kernel.sh" >/dev/null
kdir=$(kernel_kdir "$kernel")
out=$KARENA_BUILD/$kernel
mkdir -p "$out"

# Mirror the module sources; cp -u keeps unchanged files' times, so
# Kbuild rebuilds only what changed.
(cd "$KARENA_TOP" && find Kbuild module uapi tests/kunit -type f \
	\( -name Kbuild -o -name '*.c' -o -name '*.h' \) -print0 |
	xargs -0 cp -pu --parents -t "$out")

# A newer Debian kernel builds in its toolchain root, with its compiler.
run=()
if is_suite_kernel "$kernel"; then
	run=(bash "$KARENA_TOP/tests/vm/in-root.sh" "$(suite_root "$kernel")")
fi
# The compile probes first: their header decides module/compat.h.
"${run[@]}" bash "$KARENA_TOP/compat/probe.sh" "$kdir" "$out" "$@" \
	>"$out/probes.log" 2>&1 || {
	cat "$out/probes.log" >&2
	die "compile probes against the $kernel kernel failed"
}
"${run[@]}" make -C "$kdir" M="$out" "$@" modules >"$out/build.log" 2>&1 || {
	cat "$out/build.log" >&2
	die "module build against the $kernel kernel failed"
}
# Without KUnit in the kernel (the stock ones), karena_test.ko is not
# built: compile its objects all the same, so that the suites keep
# building on every kernel.
config=$kdir/.config
is_suite_kernel "$kernel" && config=$(suite_root "$kernel")$config
if ! grep -q '^CONFIG_KUNIT=[ym]' "$config"; then
	objs=$(cd "$KARENA_TOP" && ls tests/kunit/*.c | sed 's/\.c$/.o/')
	# shellcheck disable=SC2086
	"${run[@]}" make -C "$kdir" M="$out" "$@" CONFIG_KUNIT=y $objs \
		>>"$out/build.log" 2>&1 || {
		cat "$out/build.log" >&2
		die "KUnit objects against the $kernel kernel failed to compile"
	}
fi
# Warnings fail the build: lint must not be the first to see them.
if grep -E 'warning:|error:' "$out/build.log" >&2; then
	die "module build against the $kernel kernel has warnings"
fi
echo "$out"
