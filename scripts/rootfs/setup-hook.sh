#!/bin/sh
# mmdebstrap --setup-hook for scripts/build-rootfs.sh: runs before any
# package is unpacked.  $1 = the root directory being built.
set -eu
R=$1
S=$(dirname "$0")
# /etc/fstab must exist before the kernel's postinst builds the initramfs:
# initramfs-tools adds fsck only for file systems listed there.
install -D -m 0644 "$S/fstab" "$R/etc/fstab"
install -D -m 0644 "$S/initramfs.conf" "$R/etc/initramfs-tools/conf.d/vessel.conf"
install -D -m 0755 "$S/initramfs-hook" "$R/etc/initramfs-tools/hooks/vessel-virtio"
