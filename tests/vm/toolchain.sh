#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make (once per machine) the toolchain root of a newer Debian kernel:
# that suite's linux-headers, linux-kbuild, the compiler the headers name
# and the libc and binutils they run on, plus the stock linux-image for
# the VM, all unpacked with dpkg -x into the cache.  Nothing is installed
# into the host: the suite is a private apt source (its own sources list,
# state and cache under $KARENA_CACHE/apt-SUITE) used only to download,
# and builds run chrooted into the root in a private mount namespace
# (tests/vm/in-root.sh), so that the suite's kbuild programs run against
# the suite's own libc.
#
# The root is keyed by the versions of the packages it is made of, as the
# suite's package index names them today (refreshed once a day), so a new
# point release or kernel ABI makes a new root and no version is written
# down here.  A warm cache returns at once.
#
# Usage: tests/vm/toolchain.sh SUITE     (trixie, sid; prints the root)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

suite=${1:?usage: toolchain.sh SUITE}
case "$suite" in
*[!a-z0-9-]* | "") die "toolchain.sh: bad suite name '$suite'" ;;
esac
ensure_deps

mkdir -p "$KARENA_CACHE"
exec 9>"$KARENA_CACHE/toolchain-$suite.lock"
flock 9

apt_dir=$KARENA_CACHE/apt-$suite
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
	"$apt_dir/sources.list.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
	>"$apt_dir/sources.list"
# An empty status file: apt resolves every dependency, as for a new root.
: >"$apt_dir/status"
apt_opts=(-q -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	-o "Dir::Etc::sourceparts=$apt_dir/sources.list.d"
	-o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/status"
	-o "Dir::Cache=$apt_dir/cache" -o "Debug::NoLocking=1"
	-o "APT::Install-Recommends=0" -o "APT::Architecture=amd64"
	-o "APT::Architectures::=amd64")
apt_get() { apt-get "${apt_opts[@]}" "$@"; }
apt_cache() { apt-cache "${apt_opts[@]}" "$@"; }

# The index is refreshed once a day; offline, the last one is used.
stamp=$apt_dir/state/lists/.karena-updated
if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
	say "refreshing the package index of Debian $suite"
	if apt_get update >"$apt_dir/update.log" 2>&1; then
		touch "$stamp"
	elif [ -e "$stamp" ]; then
		say "cannot refresh the $suite index; using the one from $(date -r "$stamp")"
	else
		cat "$apt_dir/update.log" >&2
		die "cannot download the package index of Debian $suite"
	fi
fi

# The root this index and this script resolve to is noted once per index
# refresh, so that a warm cache answers without asking apt again.
resolved=$apt_dir/resolved-root
me=$(sha256sum "$0" | cut -c1-12)
if [ "$resolved" -nt "$stamp" ] && read -r sum root <"$resolved" &&
	[ "$sum" = "$me" ] && [ -f "$root/.karena-built" ]; then
	echo "$root"
	exit 0
fi

# The packages of the root: the headers (which depend on linux-kbuild and
# on the compiler they were built with) and what kbuild's recipes run
# (perl: kernel-doc, which W=1 runs on 6.12).
tools="linux-headers-amd64 make libc6-dev bash dash coreutils sed grep gawk
findutils diffutils xz-utils kmod perl"
# shellcheck disable=SC2086
plan=$(apt_get install --download-only -s $tools 2>&1) ||
	{ echo "$plan" >&2; die "cannot resolve the $suite toolchain packages"; }

# The stock kernel image and its modules: the image metapackage's
# dependencies named linux-image-*, linux-binary-* or linux-modules-*
# (Debian splits them since 7.x), without the initramfs tooling.
image_pkgs() {
	local todo=(linux-image-amd64) seen=" " p d
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		[[ "$seen" == *" $p "* ]] && continue
		seen+="$p "
		echo "$p"
		for d in $(apt_cache depends "$p" 2>/dev/null |
			awk '$1 == "Depends:" { print $2 }' |
			grep -E '^linux-(image|binary|modules)-' || true); do
			todo+=("$d")
		done
	done
}
images=$(image_pkgs | grep -vx linux-image-amd64)
[ -n "$images" ] || die "no linux-image in Debian $suite"

# name=version of every package: the key of the root.
versions=$({
	awk '$1 == "Inst" { gsub(/[()]/, "", $3); print $2 "=" $3 }' <<<"$plan"
	for p in $images; do
		echo "$p=$(apt_cache show --no-all-versions "$p" | awk '/^Version:/ { print $2; exit }')"
	done
} | sort -u)
key=$(sha256sum <<<"$versions" | cut -c1-12)
root=$KARENA_CACHE/toolchain-$suite-$key
if [ -f "$root/.karena-built" ]; then
	echo "$me $root" >"$resolved"
	echo "$root"
	exit 0
fi

say "making the Debian $suite toolchain in $root ($(wc -l <<<"$versions") packages)"
t0=$(date +%s)
log=$apt_dir/download.log
# shellcheck disable=SC2086
apt_get install --download-only -y $tools >"$log" 2>&1 ||
	{ tail -n 30 "$log" >&2; die "downloading the $suite toolchain failed"; }
debs=$apt_dir/cache/archives
# shellcheck disable=SC2086
(cd "$debs" && apt_get download $images) >>"$log" 2>&1 ||
	{ tail -n 30 "$log" >&2; die "downloading the $suite kernel image failed"; }

rm -rf "$root" "$root.tmp"
mkdir -p "$root.tmp/usr/bin" "$root.tmp/usr/sbin" "$root.tmp/usr/lib" \
	"$root.tmp/usr/lib64"
# The merged-/usr layout that base-files makes when it is installed.
for d in bin sbin lib lib64; do
	ln -s "usr/$d" "$root.tmp/$d"
done
while IFS= read -r pv; do
	p=${pv%%=*}
	v=${pv#*=}
	# Epochs are written %3a in the file names.
	f=$(ls "$debs/${p}_${v/:/%3a}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || die "$p $v was not downloaded"
	dpkg -x "$f" "$root.tmp" || die "cannot unpack $f"
done <<<"$versions"
echo "$versions" >"$root.tmp/karena-packages"

# What the kernel's headers were built with (CONFIG_CC_VERSION_TEXT is
# the compiler's --version line, e.g. "x86_64-linux-gnu-gcc-14 (Debian
# 14.2.0-19) 14.2.0"): its first word is the compiler to run.
hdr=$(ls -d "$root.tmp"/usr/src/linux-headers-*-amd64 | head -n 1)
[ -d "$hdr" ] || die "no linux-headers-*-amd64 in the $suite root"
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' "$hdr/.config")
[ -n "$cc" ] || die "no CONFIG_CC_VERSION_TEXT in $hdr/.config"
[ -x "$root.tmp/usr/bin/$cc" ] ||
	die "the $suite headers name $cc, which their dependencies did not bring"
kver=$(basename "$hdr")
kver=${kver#linux-headers-}
# /boot/vmlinuz-KVER, or since 7.x the modules folder's vmlinuz.
vmlinuz=
for f in "boot/vmlinuz-$kver" "usr/lib/modules/$kver/vmlinuz"; do
	[ -f "$root.tmp/$f" ] && vmlinuz=$f && break
done
[ -n "$vmlinuz" ] || die "no vmlinuz of $kver in the $suite kernel image packages"
[ -d "$root.tmp/lib/modules/$kver/kernel" ] ||
	die "no modules of $kver in the $suite kernel image packages"
# modules.dep, which the image's maintainer scripts would have made: the
# suite's own depmod reads its compressed modules.
chroot "$root.tmp" /usr/bin/env PATH=/usr/sbin:/usr/bin depmod -a "$kver" ||
	die "depmod of $kver in the $suite root failed"
echo "$kver" >"$root.tmp/karena-kver"
echo "$cc" >"$root.tmp/karena-cc"
echo "$vmlinuz" >"$root.tmp/karena-vmlinuz"
# The links that the packages' maintainer scripts would have made
# (update-alternatives), and the mount points of in-root.sh.
ln -sf gawk "$root.tmp/usr/bin/awk"
mkdir -p "$root.tmp/proc" "$root.tmp/dev" "$root.tmp/tmp"

touch "$root.tmp/.karena-built"
mv "$root.tmp" "$root"
# Older roots of this suite are of no more use.
for old in "$KARENA_CACHE/toolchain-$suite-"*; do
	[ "$old" = "$root" ] || [ ! -d "$old" ] || rm -rf "$old"
done
echo "$me $root" >"$resolved"
# Downloaded packages the index no longer has are of no more use either.
apt_get autoclean >>"$log" 2>&1 || true
say "Debian $suite toolchain ready: kernel $kver, $cc, $(($(date +%s) - t0)) s"
echo "$root"
