#!/bin/sh
# Build the Debian trixie riscv64 root filesystem image that the system tests
# and benchmarks boot (systemd, udev, dbus, iproute2, openssh-server, iperf3,
# ioping, Debian's kernel and an initramfs that mounts root from virtio-blk).
# See docs/rootfs.md.
#
# Usage: scripts/build-rootfs.sh [--rebuild] [--quiet] [--help]
#
#   --rebuild   build again even when the cached image is intact
#   --quiet     print only the final KEY=VALUE lines
#
# Needs root (mmdebstrap --mode=root), qemu-user-static and binfmt_misc (it
# mounts binfmt_misc and enables qemu-riscv64 when needed), mmdebstrap,
# e2fsprogs, qemu-utils, openssh-client: scripts/install-deps.sh installs
# them.  The mirror is taken at run time from the host's apt sources, the
# kernel .deb from scripts/fetch-guest.sh's cache (the same kernel the
# project's initramfs uses).  About 4-6 minutes on 2 cores.
#
# Everything lives in ${VESSEL_ROOTFS_DIR:-$HOME/.cache/vessel/rootfs}.
# When the outputs are present and match $DIR/MANIFEST the script only
# verifies them (a few seconds) and prints the paths.
#
# Output (stdout), one per line:
#   ROOTFS_DIR=...  ROOTFS_RAW=...  ROOTFS_QCOW2=...  ROOTFS_KERNEL=...
#   ROOTFS_INITRD=...  ROOTFS_SSH_KEY=...  ROOTFS_KERNEL_VERSION=...
#   ROOTFS_APPEND=...
set -eu

SUITE=trixie
ARCH=riscv64
SIZE=2G
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES="systemd systemd-sysv udev dbus libpam-systemd iproute2 openssh-server
initramfs-tools e2fsprogs kmod procps iputils-ping netcat-openbsd iperf3 ioping
busybox less"
# Bump when the meaning of the outputs changes in a way the hashes below do
# not capture.
RECIPE_VERSION=1

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${VESSEL_ROOTFS_DIR:-${HOME:?HOME is not set}/.cache/vessel/rootfs}

rebuild=0 quiet=0
for a in "$@"; do
    case $a in
    --rebuild) rebuild=1 ;;
    --quiet | -q) quiet=1 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-rootfs: unknown option '$a' (try --help)" >&2; exit 2 ;;
    esac
done

say() { [ "$quiet" = 1 ] || echo "build-rootfs: $*" >&2; }
die() { echo "build-rootfs: error: $*" >&2; exit 1; }

case "$DIR/" in
"$(cd "$HERE/.." && pwd)"/*) die "VESSEL_ROOTFS_DIR ($DIR) is inside the source tree; put it elsewhere" ;;
esac

# Hash of everything that decides what the image looks like.
recipe() {
    {
        echo "recipe $RECIPE_VERSION suite $SUITE arch $ARCH size $SIZE"
        echo "packages $PACKAGES"
        cat "$0"
        for f in "$HERE"/rootfs/*; do
            echo "$f" | sed 's|.*/||'
            cat "$f"
        done
    } | sha256sum | cut -d' ' -f1
}

REQUIRED="debian.raw debian.qcow2 debian-Image debian-initrd ssh/id_ed25519 ssh/id_ed25519.pub VERSION"

outputs_ok() {
    [ -s "$DIR/MANIFEST" ] || return 1
    for f in $REQUIRED; do
        grep -q "  $f\$" "$DIR/MANIFEST" || return 1
    done
    grep -qx "recipe=$(recipe)" "$DIR/VERSION" 2>/dev/null || return 1
    (cd "$DIR" && sha256sum --quiet --strict -c MANIFEST) >/dev/null 2>&1 || return 1
}

print_paths() {
    kver=$(sed -n 's/^kernel=//p' "$DIR/VERSION")
    echo "ROOTFS_DIR=$DIR"
    echo "ROOTFS_RAW=$DIR/debian.raw"
    echo "ROOTFS_QCOW2=$DIR/debian.qcow2"
    echo "ROOTFS_KERNEL=$DIR/debian-Image"
    echo "ROOTFS_INITRD=$DIR/debian-initrd"
    echo "ROOTFS_SSH_KEY=$DIR/ssh/id_ed25519"
    echo "ROOTFS_KERNEL_VERSION=$kver"
    echo "ROOTFS_APPEND='root=/dev/vda rw console=ttyS0'"
}

if [ "$rebuild" = 0 ] && outputs_ok; then
    print_paths
    exit 0
fi

# --- host requirements ------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root, chroot); try sudo"
for t in mmdebstrap arch-test mkfs.ext4 qemu-img ssh-keygen sha256sum flock chroot; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run scripts/install-deps.sh"
done
QEMU_USER=""
for q in /usr/libexec/qemu-binfmt/riscv64-binfmt-P /usr/bin/qemu-riscv64-static /usr/bin/qemu-riscv64; do
    [ -x "$q" ] && QEMU_USER=$q && break
done
[ -n "$QEMU_USER" ] || die "no qemu-riscv64 user emulator; install qemu-user-static (scripts/install-deps.sh)"
[ -r "$KEYRING" ] || die "$KEYRING missing; install debian-archive-keyring"

# binfmt_misc: riscv64 ELF files must run through qemu-user in the chroot
BINFMT=/proc/sys/fs/binfmt_misc
if ! [ -e "$BINFMT/register" ]; then
    say "mounting binfmt_misc"
    mount -t binfmt_misc binfmt_misc "$BINFMT" || die "cannot mount binfmt_misc on $BINFMT"
fi
if ! grep -qx enabled "$BINFMT/qemu-riscv64" 2>/dev/null; then
    say "enabling the qemu-riscv64 binfmt handler"
    if command -v update-binfmts >/dev/null 2>&1 &&
        update-binfmts --enable qemu-riscv64 >/dev/null 2>&1 &&
        grep -qx enabled "$BINFMT/qemu-riscv64" 2>/dev/null; then
        :
    else
        # register by hand; F: the interpreter is opened now, so it works
        # inside the chroot too
        [ -e "$BINFMT/qemu-riscv64" ] && echo -1 >"$BINFMT/qemu-riscv64"
        printf '%s' ':qemu-riscv64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$QEMU_USER"':FP' \
            >"$BINFMT/register" || die "cannot register qemu-riscv64 with binfmt_misc"
    fi
fi
grep -q '^flags:.*F' "$BINFMT/qemu-riscv64" ||
    die "the qemu-riscv64 binfmt handler lacks the F flag (needed inside a chroot)"

mkdir -p "$DIR" || die "cannot create $DIR"
exec 9>"$DIR/.lock"
flock 9 || die "cannot lock $DIR/.lock"
if [ "$rebuild" = 0 ] && outputs_ok; then
    print_paths
    exit 0
fi

# --- the kernel: the very package scripts/fetch-guest.sh unpacked ----------------
say "getting the kernel package from the guest cache (scripts/fetch-guest.sh)"
GUEST=$("$HERE/fetch-guest.sh" --quiet) || die "scripts/fetch-guest.sh failed"
GDIR=$(echo "$GUEST" | sed -n 's/^VESSEL_GUEST_DIR=//p')
KVER=$(echo "$GUEST" | sed -n 's/^KERNEL_VERSION=//p')
[ -n "$KVER" ] || die "scripts/fetch-guest.sh printed no KERNEL_VERSION"
KDEB=$(ls "$GDIR/debs/linux-image-${KVER}_"*"_$ARCH.deb" 2>/dev/null | head -n1)
[ -n "$KDEB" ] || die "no linux-image-$KVER .deb in $GDIR/debs"

# --- the test SSH key (kept across rebuilds) --------------------------------------
mkdir -p "$DIR/ssh"
chmod 700 "$DIR/ssh"
if ! [ -s "$DIR/ssh/id_ed25519" ] || ! [ -s "$DIR/ssh/id_ed25519.pub" ]; then
    rm -f "$DIR/ssh/id_ed25519" "$DIR/ssh/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C vessel-test -f "$DIR/ssh/id_ed25519" ||
        die "ssh-keygen failed"
fi

# --- the Debian mirror, from the host's apt sources -------------------------------
. "$HERE/lib-apt.sh"
cands=$(mirror_candidates)
[ -n "$cands" ] || die "no Debian archive found in $APT_ETC/sources.list{,.d/*.list,.d/*.sources}"

# keep the host's proxy settings, nothing else of its apt configuration
proxy_opts=$(apt-config dump 2>/dev/null | grep -E '^Acquire::[A-Za-z]+::Proxy(::[^ ]+)? ' || true)

WORK=$DIR/.work
unmount_work() {
    # never leave anything mounted below the work tree
    [ -d "$WORK/root" ] || return 0
    for m in $(awk -v w="$WORK/root" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}
# On failure the work tree stays for inspection; the next run removes it.
trap unmount_work EXIT
trap 'exit 130' INT TERM
unmount_work
rm -rf "$WORK"
mkdir -p "$WORK"
rm -f "$DIR/MANIFEST"

# the kernel .deb is a host path: bind-mount it into the chroot for apt
hookdir=""
[ -d /usr/share/mmdebstrap/hooks/file-mirror-automount ] &&
    hookdir=/usr/share/mmdebstrap/hooks/file-mirror-automount

pkgs=$(echo $PACKAGES | tr ' ' ',')
built=0
for m in $cands; do
    snapshot=""
    case $m in
    */archive/*/[0-9]*T[0-9]*Z) snapshot='Acquire::Check-Valid-Until "false"' ;;
    esac
    say "mmdebstrap: $SUITE/$ARCH from the host's Debian mirror (log: $DIR/build.log)"
    rm -rf "$WORK/root"
    set -- --mode=root --variant=minbase --architectures="$ARCH" --format=directory \
        --include="$pkgs" --include="$KDEB" \
        --aptopt='Acquire::Languages "none"' --aptopt='Acquire::Retries "3"' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --setup-hook="$HERE/rootfs/setup-hook.sh \"\$1\"" \
        --customize-hook="$HERE/rootfs/customize-hook.sh \"\$1\""
    [ -n "$hookdir" ] && set -- "$@" --hook-dir="$hookdir"
    [ -n "$snapshot" ] && set -- "$@" --aptopt="$snapshot"
    if [ -n "$proxy_opts" ]; then
        while IFS= read -r l; do
            set -- "$@" --aptopt="$l;"
        done <<EOF
$proxy_opts
EOF
    fi
    start=$(date +%s)
    if VESSEL_ROOTFS_PUBKEY="$DIR/ssh/id_ed25519.pub" \
        mmdebstrap "$@" "$SUITE" "$WORK/root" \
        "deb [signed-by=$KEYRING] $m $SUITE main" >"$DIR/build.log" 2>&1; then
        built=1
        say "mmdebstrap took $(($(date +%s) - start)) s"
        break
    fi
    say "mmdebstrap failed with this mirror (see $DIR/build.log); trying the next one"
done
[ "$built" = 1 ] || { tail -n 30 "$DIR/build.log" >&2; die "mmdebstrap failed"; }

R=$WORK/root
img=$R/boot/vmlinux-$KVER
initrd=$R/boot/initrd.img-$KVER
[ -s "$img" ] || die "no /boot/vmlinux-$KVER in the image"
[ -s "$initrd" ] || die "no /boot/initrd.img-$KVER in the image (see $DIR/build.log)"
magic=$(dd if="$img" bs=1 skip=56 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')
[ "$magic" = 52534305 ] || die "$img is not a RISC-V Image (magic at 56 is '$magic')"
# the kernel must be the cached package itself, and the initramfs must hold
# what mounts root from virtio-blk, and fsck
kpv=$(dpkg-deb -f "$KDEB" Version)
[ "$(chroot "$R" dpkg-query -W -f='${Version}' "linux-image-$KVER" 2>/dev/null)" = "$kpv" ] ||
    die "linux-image-$KVER $kpv is not what got installed"
listing=$(chroot "$R" lsinitramfs "/boot/initrd.img-$KVER" 2>/dev/null) || die "cannot list $initrd"
for want in virtio_mmio.ko virtio_blk.ko ext4.ko sbin/fsck.ext4; do
    echo "$listing" | grep -q "$want" || die "the initramfs lacks $want"
done
[ -s "$R/etc/hostname" ] || die "the customize hook did not run"
# a fixed machine id: an empty one makes every boot of a snapshot a first
# boot (mmdebstrap empties it at the end, so it is written here)
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$R/etc/machine-id"
echo >>"$R/etc/machine-id"

say "making the ext4 image ($SIZE)"
cp "$img" "$WORK/debian-Image"
cp "$initrd" "$WORK/debian-initrd"
truncate -s "$SIZE" "$WORK/debian.raw"
mkfs.ext4 -q -F -L vessel-root -E root_owner=0:0 -d "$R" "$WORK/debian.raw" >"$WORK/mkfs.log" 2>&1 ||
    { cat "$WORK/mkfs.log" >&2; die "mkfs.ext4 -d failed"; }
e2fsck -fn "$WORK/debian.raw" >"$WORK/fsck.log" 2>&1 ||
    { cat "$WORK/fsck.log" >&2; die "the new file system does not check clean"; }
say "converting to qcow2"
qemu-img convert -f raw -O qcow2 "$WORK/debian.raw" "$WORK/debian.qcow2" ||
    die "qemu-img convert failed"

{
    echo "kernel=$KVER"
    echo "kernel-deb=$(basename "$KDEB") sha256:$(sha256sum "$KDEB" | cut -d' ' -f1)"
    echo "suite=$SUITE"
    echo "arch=$ARCH"
    echo "size=$SIZE"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "recipe=$(recipe)"
    # the installed packages, for the record
    chroot "$R" dpkg-query -W -f='package=${Package} ${Version}\n' 2>/dev/null | sort
} >"$WORK/VERSION"

for f in debian.raw debian.qcow2 debian-Image debian-initrd VERSION; do
    mv "$WORK/$f" "$DIR/$f"
done
(cd "$DIR" && sha256sum $REQUIRED) >"$DIR/MANIFEST.tmp"
mv "$DIR/MANIFEST.tmp" "$DIR/MANIFEST"
outputs_ok || die "the outputs do not verify against $DIR/MANIFEST"
rm -rf "$WORK"
say "done: Debian $SUITE $ARCH, Linux $KVER"
print_paths
