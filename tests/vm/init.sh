#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of karena's test VM initramfs.  Mounts the host root read-only
# over 9p and the results folder writable at the same path as on the host,
# then runs the command that run.sh left in the results folder, chrooted
# into the host root, and powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

for m in $(cat /modules/order 2>/dev/null); do
	insmod "/modules/$m" || echo "karena-init: insmod $m failed"
done

results=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	karena.results=*) results=${arg#karena.results=} ;;
	esac
done

opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /host
if ! mount -t 9p -o "$opts,ro" hostroot /host; then
	echo "karena-init: cannot mount the host root"
	poweroff -f
fi
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mount -t debugfs debugfs /host/sys/kernel/debug
mount -t tmpfs tmp /host/tmp
mount -t tmpfs run /host/run
mkdir -p /host/dev/shm /host/dev/pts
mount -t tmpfs shm /host/dev/shm
mount -t devpts pts /host/dev/pts 2>/dev/null
# A results folder under a path the guest covers (/tmp) gets its
# mount point made on the guest's tmpfs.
mkdir -p "/host$results" 2>/dev/null
mount -t 9p -o "$opts" results "/host$results" ||
	echo "karena-init: cannot mount the results folder"

echo "karena-init: running the command"
HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	chroot /host /bin/bash "$results/cmd.sh" >"/host$results/output.log" 2>&1
echo $? >"/host$results/rc"
sync
echo "karena-init: done"
poweroff -f
