# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers for karena's test VM scripts: where things live, how to
# install what is missing, and how to find the two kernels.
#
# Every knob is an environment variable with a default, so `make VAR=...`
# and plain shell use both work.

KARENA_TOP=${KARENA_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KARENA_CACHE=${KARENA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/karena}
KARENA_BUILD=${KARENA_BUILD:-$KARENA_TOP/build}
VM_MEM=${VM_MEM:-1024}
VM_CPUS=${VM_CPUS:-2}
VM_TIMEOUT=${VM_TIMEOUT:-1500}

# Debian packages the VM, the kernel builds and the checkers need.
KARENA_DEPS="qemu-system-x86 busybox-static cpio kmod linux-source-6.1 bc flex
bison libelf-dev libssl-dev dwarves sparse linux-image-amd64
linux-headers-amd64 xz-utils gcc make libc-dev-bin gawk sqlite3 python3 dkms"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'karena: %s\n' "$*" >&2; exit 1; }

# Install whatever Debian package is missing; quiet when nothing is.
ensure_deps() {
	local missing=() p sudo=
	for p in $KARENA_DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	say "installing Debian packages: ${missing[*]}"
	$sudo apt-get update -q >&2 ||
		die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install failed: ${missing[*]}"
}

# The newest stock Debian kernel that has both an image and headers.
stock_kver() {
	local v best=
	for v in $(ls /lib/modules 2>/dev/null | sort -V); do
		[ -e "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v/build" ] &&
			best=$v
	done
	[ -n "$best" ] || die "no stock kernel with headers (apt-get install linux-image-amd64 linux-headers-amd64)"
	echo "$best"
}

# Version of the Debian kernel source package, e.g. 6.1.192-2.
source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
		die "linux-source-6.1 is not installed"
}

# The extracted kernel source tree (checkpatch, kernel-doc, selftest
# harness, and the debug kernel all come from it).
ksrc_dir() {
	echo "$KARENA_CACHE/src/linux-source-$(source_version)"
}

ensure_ksrc() {
	local dir tarball
	dir=$(ksrc_dir)
	[ -f "$dir/.karena-extracted" ] && return 0
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || die "linux-source-6.1 tarball missing in /usr/src"
	say "extracting $(basename "$tarball") into the cache"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	tar -xf "$tarball" -C "$dir.tmp" --strip-components=1 ||
		die "cannot extract $tarball"
	touch "$dir.tmp/.karena-extracted"
	mv "$dir.tmp" "$dir"
}

# Output directory of the debug kernel, keyed by the fragment and the
# source version so that a change to either builds a new one.
debug_kdir() {
	local key
	key=$({ source_version; cat "$KARENA_TOP/tests/vm/debug.config"; } |
		sha256sum | cut -c1-12)
	echo "$KARENA_CACHE/kernel-debug-$key"
}

# The stock kernels of newer Debian suites, each named after its suite:
# tests/vm/toolchain.sh unpacks its image, headers and compiler into a
# root in the cache, and builds run in that root (tests/vm/in-root.sh).
KARENA_SUITES="trixie sid"

is_suite_kernel() {
	[[ " $KARENA_SUITES " == *" $1 "* ]]
}

# suite -> its toolchain root (made on first use)
suite_root() {
	bash "$KARENA_TOP/tests/vm/toolchain.sh" "$1"
}

# kernel name -> directory to build modules against (for a suite kernel,
# a path inside its root)
kernel_kdir() {
	case "$1" in
	debug) debug_kdir ;;
	stock) echo "/lib/modules/$(stock_kver)/build" ;;
	*)
		is_suite_kernel "$1" ||
			die "unknown kernel '$1' (expected debug, stock or one of: $KARENA_SUITES)"
		echo "/usr/src/linux-headers-$(cat "$(suite_root "$1")/karena-kver")"
		;;
	esac
}

# kernel name -> bootable image
kernel_image() {
	local root
	case "$1" in
	debug) echo "$(debug_kdir)/arch/x86/boot/bzImage" ;;
	stock) echo "/boot/vmlinuz-$(stock_kver)" ;;
	*)
		is_suite_kernel "$1" ||
			die "unknown kernel '$1' (expected debug, stock or one of: $KARENA_SUITES)"
		root=$(suite_root "$1")
		echo "$root/$(cat "$root/karena-vmlinuz")"
		;;
	esac
}
