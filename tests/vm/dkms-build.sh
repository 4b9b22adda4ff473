#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check dkms.conf: "dkms add" and "dkms build" of karena against one test
# kernel's headers, in a DKMS tree and source tree of their own under
# $KARENA_BUILD (nothing is written to /var/lib/dkms or /usr/src).  A
# newer Debian kernel builds in its toolchain root, with Debian 12's dkms
# script copied in (the root has no dkms of its own).
#
# Usage: tests/vm/dkms-build.sh stock|trixie|sid
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

kernel=${1:?usage: dkms-build.sh KERNEL}
command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms)"
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$KARENA_TOP/dkms.conf")
kver=$(sed -n 's/^#define KARENA_VERSION "\(.*\)"$/\1/p' "$KARENA_TOP/module/include/karena_kernel.h")
[ "$ver" = "$kver" ] ||
	die "dkms.conf's PACKAGE_VERSION $ver is not KARENA_VERSION $kver"

kdir=$(kernel_kdir "$kernel")
# dkms signs what it builds, making a key in /var/lib/dkms when there is
# none: give it a tmpfs there, in a mount namespace of its own.
run=(unshare -m --propagation private -- bash -c
	'mkdir -p /var/lib/dkms && mount -t tmpfs dkms /var/lib/dkms && exec "$@"' dkms)
case "$kernel" in
stock) release=$(stock_kver) ;;
*)
	root=$(suite_root "$kernel")
	release=$(cat "$root/karena-kver")
	# In the root, dkms's key goes to the root's own /var/lib/dkms.
	run=(bash "$KARENA_TOP/tests/vm/in-root.sh" "$root")
	;;
esac

tree=$KARENA_BUILD/dkms-$kernel
rm -rf "$tree"
mkdir -p "$tree/dkms" "$tree/src/karena-$ver" "$tree/bin"
# What a source package ships: the module, its build and its probes.
(cd "$KARENA_TOP" && git ls-files -co --exclude-standard -- Kbuild Makefile \
	dkms.conf module uapi compat tests/kunit tests/vm/kdir.sh tests/lib/common.sh |
	grep -v '^compat/generated/' | xargs cp --parents -t "$tree/src/karena-$ver")
cp "$(command -v dkms)" "$tree/bin/dkms"

opts=(-m karena -v "$ver" -k "$release" --dkmstree "$tree/dkms"
	--sourcetree "$tree/src" --kernelsourcedir "$kdir")
# dkms runs the tree's "make clean": without KARENA_BUILD from our
# environment, or it would remove this run's own build folder.
"${run[@]}" env -u KARENA_BUILD bash "$tree/bin/dkms" add "${opts[@]}"
"${run[@]}" env -u KARENA_BUILD bash "$tree/bin/dkms" build "${opts[@]}" || {
	cat "$tree/dkms/karena/$ver/build/make.log" 2>/dev/null >&2
	die "dkms build against the $kernel kernel failed"
}
ko=$(find "$tree/dkms/karena/$ver/$release" -name 'karena.ko*' | head -n 1)
[ -n "$ko" ] || die "dkms build left no karena.ko for $release"
say "dkms build against $release: $ko"
