#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a command chrooted into a toolchain root made by toolchain.sh, in a
# private mount namespace: the checkout and the build folder are bound at
# their own paths inside it, so that the root's make, compiler and kbuild
# programs run against the root's own libc on the host's files.  Nothing
# is mounted outside the namespace, and it all goes with the command.
#
# Usage: tests/vm/in-root.sh ROOT COMMAND...
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

root=${1:?usage: in-root.sh ROOT COMMAND...}
shift
[ -f "$root/.karena-built" ] || die "in-root.sh: $root is no toolchain root"
[ $# -gt 0 ] || die "in-root.sh: no command given"
mkdir -p "$KARENA_BUILD"
build=$(cd "$KARENA_BUILD" && pwd)

# Inside the new namespace: bind, then chroot and run the command in the
# same directory with a plain environment.
# shellcheck disable=SC2016
exec unshare -m --propagation private -- bash -euc '
	root=$1 top=$2 build=$3 cwd=$4
	shift 4
	for d in "$top" "$build"; do
		mkdir -p "$root$d"
		mount --bind "$d" "$root$d"
	done
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount -t tmpfs tmp "$root/tmp"
	exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/usr/sbin HOME=/tmp \
		LANG=C /usr/bin/bash -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
' in-root "$root" "$KARENA_TOP" "$build" "$PWD" "$@"
