#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print a kernel's build directory, or the kernel source tree:
#   tests/vm/kdir.sh debug|stock|src
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
if [ "${1:-stock}" = src ]; then
	ensure_ksrc
	ksrc_dir
else
	kernel_kdir "${1:-stock}"
fi
