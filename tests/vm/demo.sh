#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the stock Debian kernel in a VM, load karena, show what
# it does, unload it, power off.  The guest side is guest-demo.sh.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

kernel=${KERNEL:-stock}
ensure_deps
say "building karena for the $kernel kernel"
bash "$KARENA_TOP/tests/vm/build-modules.sh" "$kernel" >/dev/null
make -s -C "$KARENA_TOP" userspace >/dev/null
mkdir -p "$KARENA_BUILD/demo"
gcc -O2 -Wall -Wextra -Werror -I "$KARENA_TOP/uapi" -o "$KARENA_BUILD/demo/demo_uapi" \
	"$KARENA_TOP/tests/vm/demo_uapi.c"
say "booting the $kernel kernel in QEMU (software emulation, ~20 s)"
cd "$KARENA_TOP"
bash tests/vm/run.sh --kernel "$kernel" --results "$KARENA_BUILD/demo" \
	-- bash tests/vm/guest-demo.sh
