#!/bin/bash
# System tests on a real distribution: boot the Debian trixie riscv64 image
# (scripts/build-rootfs.sh, docs/rootfs.md) with systemd to multi-user and
# drive it through its console (tests/system/console.py):
#
#   1. multi-user state, root on virtio-blk, DHCP (10.0.2.15) on virtio-net,
#      ssh through the port forward (and 8 MiB through it, checksummed),
#      /dev/hwrng, 32 MiB written with dd through a second virtio-blk disk
#      and read back, compared with the host's sha256 of the raw file after
#      a clean poweroff, and data the host wrote read by the guest;
#   2. persistence: on a qcow2 overlay, write a file, sync, reboot the guest
#      (the VMM restarts it within the same process), log in again, the file
#      is there; the overlay checks clean afterwards;
#   3. the virtio console: console=hvc0, root logged in on hvc0.
#
# TAP output.  VESSEL_SYSTEST_VMM=qemu runs the same tests with
# qemu-system-riscv64 and the same devices (the reference); the default is
# vessel (VESSEL=build/release/vessel).  Needs root once, to build the image.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
ROOT=$PWD
VMM=${VESSEL_SYSTEST_VMM:-vessel}
VESSEL=${VESSEL:-build/release/vessel}
CPUS=${VESSEL_SYSTEST_CPUS:-2}
# seconds: one boot to a shell; slower VMMs get more
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}
T=$(mktemp -d)
# the consoles' logs stay for inspection when a test failed
trap 'if [ "$FAILED" -eq 0 ] && [ -z "${VESSEL_SYSTEST_KEEP:-}" ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi' EXIT

case $VMM in
vessel)
    if ! "$VESSEL" run --help 2>&1 | grep -q -- '--disk'; then
        echo "ok 1 - # SKIP virtio not available ($VESSEL run has no --disk)"
        echo "1..1"
        exit 0
    fi
    ;;
qemu)
    command -v qemu-system-riscv64 >/dev/null || { not_ok "qemu-system-riscv64 installed"; finish; exit 1; }
    ;;
*) echo "VESSEL_SYSTEST_VMM must be vessel or qemu" >&2; exit 2 ;;
esac

debian_artifacts

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# vm_cmd CONSOLE APPEND NETPORT DISK... -> the array VM
#   CONSOLE uart|virtio; NETPORT a host port forwarded to the guest's 22, or
#   "" for no NIC; DISK file:format[:snapshot[:backing-dir]] (the first is
#   /dev/vda; backing-dir: a directory its backing files may come from,
#   docs/block.md "Backing files"; QEMU has no such rule)
vm_cmd() {
    local console=$1 append=$2 port=$3 d f fmt snap bdir i=0
    shift 3
    if [ "$VMM" = qemu ]; then
        VM=(qemu-system-riscv64 -machine virt -m 1G -smp "$CPUS" -bios "$FIRMWARE"
            -kernel "$ROOTFS_KERNEL" -initrd "$ROOTFS_INITRD" -append "$append")
        if [ "$console" = virtio ]; then
            VM+=(-display none -serial none -monitor none -chardev stdio,id=con0,signal=off
                 -device virtio-serial-device -device virtconsole,chardev=con0)
        else
            VM+=(-nographic)
        fi
        for d in "$@"; do
            IFS=: read -r f fmt snap bdir <<< "$d"
            VM+=(-drive "file=$f,format=$fmt,if=none,id=d$i${snap:+,snapshot=on}"
                 -device "virtio-blk-device,drive=d$i")
            i=$((i + 1))
        done
        [ -n "$port" ] && VM+=(-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22"
                               -device virtio-net-device,netdev=n0)
        VM+=(-device virtio-rng-device)
    else
        VM=("$VESSEL" run -m 1G --cpus "$CPUS" --firmware "$FIRMWARE"
            --kernel "$ROOTFS_KERNEL" --initrd "$ROOTFS_INITRD" --append "$append"
            --console "$console")
        for d in "$@"; do
            IFS=: read -r f fmt snap bdir <<< "$d"
            VM+=(--disk "$f,format=$fmt${snap:+,snapshot=on}${bdir:+,backing-dir=$bdir}")
        done
        [ -n "$port" ] && VM+=(--net "user,hostfwd=tcp:127.0.0.1:$port-:22")
    fi
}

# boot NAME < steps: run the steps against VM; results in $T/NAME/
boot() {
    local name=$1
    python3 tests/system/console.py --log "$T/$name.log" --out "$T/$name" \
        --timeout $((BOOT_TMO * 4)) -- "${VM[@]}" 2> "$T/$name.err"
    local rc=$?
    [ $rc -eq 0 ] || { echo "# $name: console session failed:"; sed 's/^/#   /' "$T/$name.err"; }
    return $rc
}
res() { cat "$T/$1" 2>/dev/null; }           # res main/NAME.out
rc_is() { [ "$(res "$1.rc")" = "${2:-0}" ]; }  # rc_is main/NAME [status]

APPEND="root=/dev/vda rw console=ttyS0"
SSH=(ssh -i "$ROOTFS_SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=no
     -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=60)
echo "# VMM: $VMM; image: $ROOTFS_QCOW2; kernel $ROOTFS_KERNEL_VERSION"

# --- 1. one boot: systemd, disks, network, rng ------------------------------------
# extra.raw: 64 MiB; the guest writes the first 32 MiB, the host the second
truncate -s 64M "$T/extra.raw"
head -c 32M /dev/urandom > "$T/hostdata"
dd if="$T/hostdata" of="$T/extra.raw" bs=1M seek=32 conv=notrunc status=none
host_sum=$(sha256sum < "$T/hostdata" | cut -d' ' -f1)
PORT=$(free_port)
head -c 8M /dev/urandom > "$T/payload"
payload_sum=$(sha256sum < "$T/payload" | cut -d' ' -f1)
vm_cmd uart "$APPEND" "$PORT" "$ROOTFS_QCOW2:qcow2:snap" "$T/extra.raw:raw"
ssh_cmd="${SSH[*]} -p $PORT root@127.0.0.1"
boot main <<EOF
expect $BOOT_TMO vessel-debian login:
mark login
shell 120
mark shell
run state $BOOT_TMO :: systemctl is-system-running --wait; systemctl --failed --no-legend --plain
run hostname 30 :: cat /etc/hostname
run root 30 :: findmnt -n -o SOURCE,FSTYPE /
run blk 30 :: cat /sys/block/vda/device/features >/dev/null; ls -d /sys/bus/virtio/drivers/virtio_blk/virtio* | wc -l; cat /sys/block/vdb/size
run dd 300 :: dd if=/dev/urandom of=/tmp/w bs=1M count=32 status=none && dd if=/tmp/w of=/dev/vdb bs=1M count=32 oflag=direct status=none && sync && sha256sum /tmp/w && echo 3 >/proc/sys/vm/drop_caches && dd if=/dev/vdb bs=1M count=32 iflag=direct status=none | sha256sum
run ddhost 300 :: dd if=/dev/vdb bs=1M skip=32 count=32 iflag=direct status=none | sha256sum
run ip 150 :: /usr/lib/systemd/systemd-networkd-wait-online -4 --timeout=120; ip -4 -o addr show scope global; ip -4 route show default
run rng 60 :: cat /sys/class/misc/hw_random/rng_current; dd if=/dev/hwrng bs=64 count=4 status=none | od -An -tx1 | tr -d ' \n' | wc -c
host ssh 180 :: $ssh_cmd 'cat /etc/hostname; id -un'
host sshdata 300 :: $ssh_cmd 'sha256sum' < "$T/payload"
send systemctl poweroff
exit 180
EOF
check "boots to a shell on the console (root logged in on ttyS0)" 'grep -q "^shell " "$T/main/times"'
login=$(awk '$1 == "login" { print $2 }' "$T/main/times" 2>/dev/null)
echo "# boot to login prompt: ${login:-?} s"
state=$(res main/state.out | head -n1)
check "systemd reached multi-user: is-system-running says running or degraded (got '${state}')" \
    '[ "$state" = running ] || [ "$state" = degraded ]'
[ "$state" = degraded ] && res main/state.out | sed '1d; s/^/# failed unit: /'
check "hostname is vessel-debian" '[ "$(res main/hostname.out | tr -d "\n")" = vessel-debian ]'
check "root is ext4 on /dev/vda" 'res main/root.out | grep -Eq "^/dev/vda +ext4"'
check "two virtio-blk disks, vdb is 64 MiB" 'res main/blk.out | tr "\n" " " | grep -Eq "^2 131072 $"'
g_written=$(res main/dd.out | sed -n 1p | cut -d' ' -f1)
g_read=$(res main/dd.out | sed -n 2p | cut -d' ' -f1)
check "dd 32 MiB to vdb (O_DIRECT) and read back: same sha256 in the guest" \
    'rc_is main/dd && [ -n "$g_written" ] && [ "$g_written" = "$g_read" ]'
check "the guest reads the host's 32 MiB from vdb unchanged" '[ "$(res main/ddhost.out | cut -d" " -f1)" = "$host_sum" ]'
check "clean poweroff: the VMM exits with status 0 (got $(res main/exit.rc))" 'rc_is main/exit'
file_sum=$(head -c 32M "$T/extra.raw" | sha256sum | cut -d' ' -f1)
check "after poweroff the host's file holds what the guest wrote (sha256)" \
    '[ -n "$g_written" ] && [ "$file_sum" = "$g_written" ]'
check "DHCP gave the NIC 10.0.2.15, default route via 10.0.2.2" \
    'res main/ip.out | grep -q "inet 10.0.2.15/" && res main/ip.out | grep -q "default via 10.0.2.2"'
check "ssh root@127.0.0.1 -p $PORT reaches the guest through the port forward" \
    'rc_is main/ssh && [ "$(res main/ssh.out | tr "\n" " ")" = "vessel-debian root " ]'
rc_is main/ssh || res main/ssh.out | sed 's/^/# ssh: /'
check "8 MiB host -> guest over TCP arrive intact (sha256)" \
    '[ "$(res main/sshdata.out | cut -d" " -f1)" = "$payload_sum" ]'
check "/dev/hwrng is virtio_rng and gives data" \
    'res main/rng.out | grep -q "^virtio_rng" && [ "$(res main/rng.out | tail -n1)" = 512 ]'

# --- 2. persistence across a guest reboot (qcow2 overlay) -------------------------
if [ "$VMM" = qemu ]; then
    qemu-img create -q -f qcow2 -b "$ROOTFS_QCOW2" -F qcow2 "$T/overlay.qcow2"
else
    "$VESSEL" img create -f qcow2 -b "$ROOTFS_QCOW2" -F qcow2 "$T/overlay.qcow2" > /dev/null
fi
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The overlay is in $T, its backing file elsewhere: allow that directory.
vm_cmd uart "$APPEND" "" "$T/overlay.qcow2:qcow2::$(dirname "$ROOTFS_QCOW2")"
boot persist <<EOF
expect $BOOT_TMO vessel-debian login:
shell 120
run boot1 60 :: cat /proc/sys/kernel/random/boot_id
run write 120 :: echo $token > /root/persist.txt && sync && cat /root/persist.txt
send reboot
expect $BOOT_TMO OpenSBI v
expect $BOOT_TMO vessel-debian login:
shell 120
run boot2 60 :: cat /proc/sys/kernel/random/boot_id
run read 60 :: cat /root/persist.txt
send systemctl poweroff
exit 180
EOF
check "persistence: file written before the reboot" '[ "$(res persist/write.out | tr -d "\n")" = "$token" ]'
check "persistence: the guest rebooted within the same VMM process (new boot id)" \
    '[ -n "$(res persist/boot2.out)" ] && [ "$(res persist/boot1.out)" != "$(res persist/boot2.out)" ]'
check "persistence: the file is still there after the reboot" '[ "$(res persist/read.out | tr -d "\n")" = "$token" ]'
check "persistence: clean poweroff after the reboot (status $(res persist/exit.rc))" 'rc_is persist/exit'
check "the overlay checks clean (qemu-img check)" 'qemu-img check -q "$T/overlay.qcow2"'

# --- 3. the virtio console -----------------------------------------------------------
vm_cmd virtio "root=/dev/vda rw console=hvc0" "" "$ROOTFS_QCOW2:qcow2:snap"
boot hvc <<EOF
expect $BOOT_TMO vessel-debian login:
shell 120
run tty 30 :: tty 0<&2; cat /sys/class/tty/console/active
send systemctl poweroff
exit 180
EOF
check "hvc0: root logged in on the virtio console" 'res hvc/tty.out | grep -qx /dev/hvc0'
check "hvc0: it is the kernel's console" 'res hvc/tty.out | sed -n 2p | grep -qw hvc0'
check "hvc0: clean poweroff (status $(res hvc/exit.rc))" 'rc_is hvc/exit'
finish
