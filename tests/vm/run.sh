#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG), run one command inside it, and return the
# command's exit status.
#
# The guest sees the host root read-only (so host-built programs run
# unchanged) and a results folder writable at the same path.  The command
# runs as root in a bash, chrooted into the host root, in the current
# directory; its output streams to our stdout, the guest console goes to a
# log file.
#
# Usage: tests/vm/run.sh [--kernel debug|stock|trixie|sid] [--results DIR] [--log FILE]
#                        [--timeout SECONDS] [--shell] [--] COMMAND...
# Environment: VM_MEM (MiB), VM_CPUS, VM_TIMEOUT (s), VM_APPEND (extra
# kernel command line).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

kernel=debug
results=
log=
shell=0
timeout=$VM_TIMEOUT
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--shell) shell=1; shift ;;
	--) shift; break ;;
	-*) die "run.sh: unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || [ $shell -eq 1 ] || die "run.sh: no command given"

image=$(kernel_image "$kernel")
[ -r "$image" ] || die "no $kernel kernel image at $image (run tests/vm/build-kernel.sh)"

results=${results:-$(mktemp -d "${TMPDIR:-/tmp}/karena-vm.XXXXXX")}
mkdir -p "$results"
results=$(cd "$results" && pwd)
log=${log:-$results/console.log}
rm -f "$results/rc" "$results/output.log"

# The command, run by the guest's init through bash.
{
	echo "cd $(printf '%q' "$PWD") || exit 125"
	echo "export KARENA_KERNEL=$kernel KARENA_RESULTS=$(printf '%q' "$results")" \
		"KARENA_BUILD=$(printf '%q' "$KARENA_BUILD")"
	if [ $shell -eq 1 ]; then
		echo 'exec bash -i </dev/console >/dev/console 2>&1'
	else
		printf '%q ' "$@"
		echo
	fi
} >"$results/cmd.sh"

# initramfs: static busybox, /init, and for the stock kernel the modules
# that reach the 9p share (built in on the debug kernel).
work=$(mktemp -d "${TMPDIR:-/tmp}/karena-initrd.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/modules" "$work/root/proc" \
	"$work/root/sys" "$work/root/dev"
cp /bin/busybox "$work/root/bin/busybox"
cp "$KARENA_TOP/tests/vm/init.sh" "$work/root/init"
chmod +x "$work/root/init"
# A newer Debian kernel's modules are in its toolchain root.
mroot=()
if [ "$kernel" = stock ]; then
	kver=$(stock_kver)
elif is_suite_kernel "$kernel"; then
	root=$(suite_root "$kernel")
	kver=$(cat "$root/karena-kver")
	mroot=(-d "$root")
fi
if [ -n "${kver:-}" ]; then
	for m in virtio_pci 9pnet_virtio 9p; do
		modprobe "${mroot[@]}" -S "$kver" --show-depends "$m" ||
			die "cannot resolve module $m of kernel $kver"
	done |
		awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' |
		while read -r ko; do
			name=$(basename "$ko")
			case "$ko" in
			*.xz) xz -dc "$ko" >"$work/root/modules/${name%.xz}"; name=${name%.xz} ;;
			*) cp "$ko" "$work/root/modules/$name" ;;
			esac
			echo "$name" >>"$work/root/modules/order"
		done
fi
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# On the debug kernel, slow emulation can make ACPI's PCI interrupt link
# setup time out ("can't derive routing for PCI INT A"), leaving virtio
# (the 9p shares) without interrupts and the guest stalled: route PCI
# interrupts without ACPI there.
quirks=
[ "$kernel" = debug ] && quirks=pci=noacpi
append="console=ttyS0 panic=-1 oops=panic log_buf_len=8M $quirks karena.results=$results ${VM_APPEND:-}"
qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp "$VM_CPUS" -m "$VM_MEM"
	-kernel "$image" -initrd "$work/initrd.gz" -append "$append"
	-nographic -no-reboot -monitor none
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap")

if [ $shell -eq 1 ]; then
	"${qemu[@]}"
	exit 0
fi

# Boot, and watch that the guest reaches its command within
# VM_BOOT_TIMEOUT seconds.  Under heavy host load the guest has been seen
# to stall before that (virtio interrupt routing); such a boot is killed
# and tried once more, since nothing of the test has run yet.
boot() {
	local waited=0
	: >"$results/output.log"
	timeout --foreground "$timeout" "${qemu[@]}" </dev/null >"$log" 2>&1 &
	qpid=$!
	tail -n +1 -F --pid=$qpid "$results/output.log" 2>/dev/null &
	tpid=$!
	while kill -0 $qpid 2>/dev/null &&
		! grep -q 'karena-init: running' "$log" 2>/dev/null; do
		if [ $waited -ge "${VM_BOOT_TIMEOUT:-300}" ]; then
			say "guest did not reach its command in ${waited}s; killing it"
			kill $qpid 2>/dev/null
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	qrc=0
	wait $qpid || qrc=$?
	sleep 0.3
	kill $tpid 2>/dev/null || true
	wait $tpid 2>/dev/null || true
	grep -q 'karena-init: running' "$log"
}

start=$(date +%s.%N)
if ! boot; then
	cp "$log" "$log.first-boot"
	say "retrying the boot once (first console kept in $log.first-boot)"
	boot || true
elif [ "$(cat "$results/rc" 2>/dev/null)" = 99 ]; then
	# guest-check.sh: the kernel was unhealthy before any test ran.
	cp "$log" "$log.first-boot"
	cp "$results/output.log" "$results/output.log.first-boot"
	rm -f "$results/rc"
	say "the guest found its kernel unhealthy before any test; booting once more (first console kept in $log.first-boot)"
	boot || true
fi
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
echo "$elapsed" >"$results/vm-seconds"

if [ $qrc -eq 124 ]; then
	say "VM timed out after ${timeout}s ($kernel kernel); console: $log"
	tail -n 40 "$log" >&2
	exit 124
fi
if [ ! -f "$results/rc" ]; then
	say "VM ended without a result ($kernel kernel, qemu rc $qrc); console: $log"
	tail -n 40 "$log" >&2
	exit 125
fi
exit "$(cat "$results/rc")"
