#!/bin/sh
# /init of the lab initramfs (test/lab/run copies this file into it). Runs under busybox.
#
# 1. load the virtio/9p modules listed in /modules/order (dependencies first)
# 2. mount the run share (tag labrun) at /lab and say "booted"
# 3. mount the host's / (tag hostroot, read-only) at /newroot; tmpfs on /tmp, /var/tmp,
#    /run; /proc, /sys, /dev; the run share at /run/lab; extra read-write shares
# 4. chroot into it and run /run/lab/job.sh with the host's bash; power off.
# Everything here goes to the console (ttyS0 → the console log on the host), never to
# the command's stdout/stderr.
/bin/busybox --install -s /bin
export PATH=/bin
export HOME=/

log() { echo "lab-init: $*"; }
halt() {
    sync
    umount /newroot/run/lab 2>/dev/null
    umount /lab 2>/dev/null
    poweroff -f
    sleep 5
}
fail() {
    log "FAILED: $*"
    halt
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r m; do
    insmod "/modules/$m.ko" || log "insmod $m failed"
done </modules/order

opts9p=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts9p,cache=none" labrun /lab || fail "cannot mount the run share"
: >/lab/booted
# shellcheck disable=SC1091 # written by test/lab/run
. /lab/config

# The host's / (read-only). cache=loose: the host tree does not change under a test
# in ways the test cares about, and executables start much faster.
mount -t 9p -o "$opts9p,ro,cache=loose" hostroot /newroot || fail "cannot mount the host's /"

# Keep a view of the host's /tmp for the paths that must stay visible (e.g. a build
# directory under /tmp that is the cwd), then hide it under a fresh tmpfs.
if [ "${LAB_HOST_TMP_BINDS:-0}" -gt 0 ]; then
    mount --bind /newroot/tmp /hosttmp || fail "cannot bind the host's /tmp"
fi
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail "tmpfs /tmp"
mount -t tmpfs -o mode=1777 tmpfs /newroot/var/tmp || fail "tmpfs /var/tmp"
mount -t tmpfs -o mode=0755 tmpfs /newroot/run || fail "tmpfs /run"
mkdir -p /newroot/run/lab /newroot/run/lock
mount --bind /lab /newroot/run/lab || fail "bind the run share"
mount -t proc proc /newroot/proc || fail "proc"
mount -t sysfs sysfs /newroot/sys || fail "sysfs"
mount -t devtmpfs devtmpfs /newroot/dev || fail "devtmpfs"
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t debugfs debugfs /newroot/sys/kernel/debug 2>/dev/null
mount -t bpf bpf /newroot/sys/fs/bpf 2>/dev/null

i=0
while [ "$i" -lt "${LAB_HOST_TMP_BINDS:-0}" ]; do
    p=''
    eval "p=\$LAB_HOST_TMP_BIND_$i"
    if ! { mkdir -p "/newroot$p" && mount --bind "/hosttmp${p#/tmp}" "/newroot$p"; }; then
        log "cannot bind the host's $p"
    fi
    i=$((i + 1))
done
i=0
while [ "$i" -lt "${LAB_RW:-0}" ]; do
    p=''
    eval "p=\$LAB_RW_$i"
    mkdir -p "/newroot$p" 2>/dev/null
    mount -t 9p -o "$opts9p,cache=none" "labrw$i" "/newroot$p" || fail "cannot mount --rw $p"
    i=$((i + 1))
done

# Module autoloading (tc qdisc add clsact → sch_ingress, ...): the kernel runs
# /proc/sys/kernel/modprobe from the initramfs root, so hand it on to the host's
# modprobe inside the chroot.
mkdir -p /sbin
printf '#!/bin/sh\nexec /bin/chroot /newroot /sbin/modprobe "$@"\n' >/sbin/modprobe
chmod 0755 /sbin/modprobe
echo /sbin/modprobe >/proc/sys/kernel/modprobe

hostname lab
ip link set lo up 2>/dev/null
[ -x /newroot/bin/bash ] || fail "no /bin/bash on the host"
: >/lab/started
chroot /newroot /usr/bin/env -i /bin/bash /run/lab/job.sh
log "job finished (status $(cat /lab/rc 2>/dev/null))"
halt
