# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The shell library of karena's scripts (sourced; TAP output is
# tests/lib/tap.sh's):
#   - on the host (tests/vm/*.sh, tests/lint.sh, bench/run.sh): where
#     things live, how to install what is missing, how to find the two
#     kernels;
#   - as root in the test VM (tests/selftests/lifecycle.sh,
#     tests/reliability/*.sh): the module and its arena as debugfs shows
#     them, and the reliability scripts' setup and checks.
# Sourcing it only defines variables and functions.
#
# Every knob is an environment variable with a default, so `make VAR=...`
# and plain shell use both work.
#
# Guest helpers use builtins where a loop runs them thousands of times:
# under TCG on the debug kernel every fork+exec costs a good part of a
# second.

# === Where things live ===

KARENA_TOP=${KARENA_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KARENA_CACHE=${KARENA_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/karena}
KARENA_BUILD=${KARENA_BUILD:-$KARENA_TOP/build}
VM_MEM=${VM_MEM:-1024}
VM_CPUS=${VM_CPUS:-2}
VM_TIMEOUT=${VM_TIMEOUT:-1500}

# === Host: packages and kernels ===

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

# === Guest: the module and its arena (debugfs) ===

dbg=/sys/kernel/debug/karena

loaded() { grep -q '^karena ' /proc/modules; }

# rmmod, retried for up to 2 s (a release may be deferred).
rmmod_soon() {
	local _
	for _ in $(seq 20); do
		rmmod karena 2>/dev/null && return 0
		sleep 0.1
	done
	rmmod karena
}

# Unload karena if it is loaded; fails if it is still loaded after.
unload() { loaded && rmmod_soon >/dev/null 2>&1; ! loaded; }

# Wait (TCG is slow: up to 60 s) for FILE, as long as PID lives.
wait_ready() {
	local _
	for _ in $(seq 600); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# arena_value KEY: KEY's value in debugfs arena (key=value lines).
arena_value() {
	local k v
	while IFS='=' read -r k v; do
		[ "$k" = "$1" ] && { echo "$v"; return; }
	done <$dbg/arena
}

# Pages of the arena that clients own (state "user" in the arena
# summary), and the clients listed in debugfs.  When no client is left
# both must be 0.  (The arena's free page count is no measure: karena's
# own caches keep a few slabs cached across clients.)
user_pages() { arena_value user; }
nr_clients() {
	local l n=0
	while read -r l; do
		[ "${l:0:1}" = "#" ] || n=$((n + 1))
	done <$dbg/clients
	echo $n
}

# Wait up to 5 s (a release may be deferred) for every client to be
# gone and its pages back; print "user=N clients=M".
clients_gone() {
	local _
	for _ in $(seq 50); do
		[ "$(user_pages)" = 0 ] && [ "$(nr_clients)" = 0 ] && break
		sleep 0.1
	done
	echo "user=$(user_pages) clients=$(nr_clients)"
}

# Run the arena's checker; fails if it counted a problem.
validate_ok() {
	local before after
	before=$(arena_value validate_failures)
	echo 1 >$dbg/validate || return 1
	after=$(arena_value validate_failures)
	[ -n "$before" ] && [ "$before" = "$after" ]
}

# Nothing of any client left, and the arena consistent: empty, or why not.
all_back() {
	local after
	after=$(clients_gone)
	if [ "$after" != "user=0 clients=0" ]; then
		echo "left behind: $after"
		sed 's/^/#   /' $dbg/clients
		ps -eo pid,user,stat,wchan:24,comm | grep -E 'karena|setpriv|STAT' | sed 's/^/#   /'
		return
	fi
	validate_ok || echo "arena validation failed (see dmesg)"
}

# === Guest: the reliability scripts (tests/reliability) ===

# Their setup: $ko from KARENA_KO (karena.ko, required), $progs from
# KARENA_SELFTESTS (the helper programs), $scale from RELIABILITY_SCALE
# (ci, the default, or soak; anything else bails out), and the page size
# for mem_free_kb.
rel_setup() {
	ko=${KARENA_KO:?path of karena.ko}
	progs=${KARENA_SELFTESTS:-$KARENA_TOP/build/selftests}
	scale=${RELIABILITY_SCALE:-ci}
	rel_page_kb=$(($(getconf PAGESIZE) / 1024))	# for mem_free_kb
	case $scale in
	ci | soak) ;;
	*) echo "Bail out! RELIABILITY_SCALE must be ci or soak, not '$scale'"; exit 2 ;;
	esac
}

# by_scale CI SOAK: the figure for this scale.
by_scale() { [ "$scale" = soak ] && echo "$2" || echo "$1"; }

# Free memory in KiB: MemFree plus the pages on the kernel's per-CPU
# page lists (/proc/zoneinfo "count:"), which are free but not counted in
# MemFree.  Those lists grow and shrink by tens of MiB on their own: over
# 100 insmod/rmmod cycles on the stock kernel MemFree fell by 18 MiB
# while the lists grew by 17.9 and the sum moved by 0.3 MiB.  (Not after
# drop_caches: every command after that is read again over 9p, which
# under TCG costs seconds per cycle.)
mem_free_kb() {
	local k v u free=0 pcp=0
	while read -r k v u; do
		[ "$k" = MemFree: ] && { free=$v; break; }
	done </proc/meminfo
	while read -r k v u; do
		[ "$k" = count: ] && pcp=$((pcp + v))
	done </proc/zoneinfo
	echo $((free + pcp * rel_page_kb))
}

# Run a helper program as an unprivileged user (uid = gid = $1), in
# place of the current shell: only in $(...) or in the background, where
# that shell is a subshell, so that $! is the program's own pid (a kill
# of $! must reach the program, not a subshell waiting for it).
as_user() {
	local uid=$1
	shift
	exec setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# A watchdog for a step that may hang: after $1 seconds, dump the
# blocked tasks and every CPU's backtrace to the kernel log (which the
# console keeps), and say so on stdout.  Returns its pid for
# watchdog_stop.
watchdog_start() {
	(
		sleep "$1"
		echo "# watchdog: still running after $1 s; blocked tasks and backtraces in the console log"
		echo w >/proc/sysrq-trigger
		echo l >/proc/sysrq-trigger
	) &
	watchdog_pid=$!
}
watchdog_stop() { kill "$watchdog_pid" 2>/dev/null; wait "$watchdog_pid" 2>/dev/null; true; }
