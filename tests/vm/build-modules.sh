#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build karena.ko (and karena_test.ko where the kernel has KUnit) against
# one of the two test kernels, in build/<kernel>/ so that both kernels'
# objects can live side by side.  Prints that directory.
#
# Usage: tests/vm/build-modules.sh debug|stock [extra make arguments]
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

kernel=${1:?usage: build-modules.sh debug|stock}
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

make -C "$kdir" M="$out" "$@" modules >"$out/build.log" 2>&1 || {
	cat "$out/build.log" >&2
	die "module build against the $kernel kernel failed"
}
# Warnings fail the build: lint must not be the first to see them.
if grep -E 'warning:|error:' "$out/build.log" >&2; then
	die "module build against the $kernel kernel has warnings"
fi
echo "$out"
