#!/bin/sh
# mmdebstrap --customize-hook for scripts/build-rootfs.sh: runs after every
# package is installed.  $1 = the root directory being built.
# Environment: VESSEL_ROOTFS_PUBKEY (the test key to authorize for root).
set -eu
R=$1
S=$(dirname "$0")

echo vessel-debian >"$R/etc/hostname"
cat >"$R/etc/hosts" <<HOSTS
127.0.0.1	localhost
127.0.1.1	vessel-debian
::1		localhost ip6-localhost ip6-loopback
HOSTS

# network: systemd-networkd, DHCP on en*/eth*
install -D -m 0644 "$S/20-wired.network" "$R/etc/systemd/network/20-wired.network"
chroot "$R" systemctl enable systemd-networkd.service >/dev/null 2>&1

# console: root logged in automatically on ttyS0 and hvc0
install -D -m 0644 "$S/serial-getty-autologin.conf" \
    "$R/etc/systemd/system/serial-getty@.service.d/autologin.conf"

# credentials for tests: root password "vessel", the test key for ssh
echo 'root:vessel' | chroot "$R" chpasswd
install -d -m 0700 "$R/root/.ssh"
install -m 0600 "$VESSEL_ROOTFS_PUBKEY" "$R/root/.ssh/authorized_keys"
# a VM on a user-mode network has no DNS for the client: do not look it up
mkdir -p "$R/etc/ssh/sshd_config.d"
printf 'UseDNS no\nPermitRootLogin prohibit-password\n' >"$R/etc/ssh/sshd_config.d/vessel.conf"

# no first-boot machinery (every snapshot=on boot would be a first boot;
# build-rootfs.sh writes /etc/machine-id after mmdebstrap, which empties it)
ln -sf /dev/null "$R/etc/systemd/system/systemd-firstboot.service"
# nothing periodic that would disturb tests and benchmarks
for t in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
    dpkg-db-backup.timer; do
    ln -sf /dev/null "$R/etc/systemd/system/$t"
done
ln -sf /dev/null "$R/etc/systemd/system/e2scrub_reap.service"

# the mirror the image was built from is a property of the build host: leave
# none in the image (configure one by hand to use apt in the guest)
rm -f "$R/etc/apt/sources.list.d/"*
echo '# configure a Debian mirror here to use apt in the guest' >"$R/etc/apt/sources.list"
rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin
