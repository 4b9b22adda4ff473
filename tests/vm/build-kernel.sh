#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once per machine) the debug kernel that karena's tests run on:
# tinyconfig + tests/vm/debug.config from Debian's linux-source-6.1, built
# out of tree in the cache.  A warm cache returns at once.
#
# Usage: tests/vm/build-kernel.sh        (prints the build directory)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

ensure_deps
ensure_ksrc
src=$(ksrc_dir)
out=$(debug_kdir)
frag="$KARENA_TOP/tests/vm/debug.config"

# One build at a time per machine: others wait here, then find it built.
mkdir -p "$KARENA_CACHE"
exec 9>"$KARENA_CACHE/kernel-build.lock"
flock 9

if [ -f "$out/.karena-built" ]; then
	echo "$out"
	exit 0
fi

say "building the debug kernel in $out (about 10 minutes on 2 cores)"
mkdir -p "$out"
log="$out/build.log"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
	make -C "$src" O="$out" olddefconfig
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "kernel configuration failed (log: $log)"; }

# tinyconfig drops whatever lacks a dependency: insist on every line.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF "$line" "$out/.config" || { say "not set: $line"; bad=1; } ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }; sym=${sym%% *}
		grep -q "^$sym=" "$out/.config" && { say "set but must not be: $sym"; bad=1; } ;;
	esac
done <"$frag"
[ $bad -eq 0 ] || die "debug kernel configuration is missing options (see above)"

make -C "$src" O="$out" -j"$(($(nproc) + 1))" bzImage modules >>"$log" 2>&1 ||
	{ tail -n 40 "$log" >&2; die "kernel build failed (log: $log)"; }
touch "$out/.karena-built"
say "debug kernel ready: $out/arch/x86/boot/bzImage"
echo "$out"
