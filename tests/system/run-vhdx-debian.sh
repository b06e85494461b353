#!/bin/bash
# System test: the Debian trixie riscv64 image (scripts/build-rootfs.sh)
# boots from a dynamic VHDX (docs/block.md "VHDX"), one boot:
#   - the cached qcow2 image is converted with vessel img convert -O vhdx
#     (thin: the file is far smaller than the virtual disk);
#   - the guest boots from it (format probed) to multi-user with root on
#     /dev/vda, writes a file with random contents, syncs, powers off;
#   - qemu-img check finds the VHDX clean, and qemu-img reads the same disk
#     Vessel reads (both flattened to raw and compared);
#   - e2fsck -fn finds the root filesystem clean, and debugfs reads the
#     guest's file from it with the checksum the guest printed.
# TAP output.  Needs qemu-img and e2fsprogs (debugfs, e2fsck).
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
CPUS=${VESSEL_SYSTEST_CPUS:-2}
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}
T=$(mktemp -d)
trap 'if [ "$FAILED" -eq 0 ] && [ -z "${VESSEL_SYSTEST_KEEP:-}" ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi' EXIT
for tool in qemu-img e2fsck debugfs; do
    command -v $tool > /dev/null || PATH=$PATH:/sbin:/usr/sbin
    command -v $tool > /dev/null || { echo "ok 1 - # SKIP $tool not installed"; echo "1..1"; exit 0; }
done
debian_artifacts
res() { cat "$T/$1" 2>/dev/null; }
rc_is() { [ "$(res "$1.rc")" = "${2:-0}" ]; }

D=$T/root.vhdx
check "vessel img convert -O vhdx of the Debian qcow2 (dynamic), thin" \
    '"$VESSEL" img convert -O vhdx "$ROOTFS_QCOW2" "$D" &&
     [ $(du -k "$D" | cut -f1) -lt $(( $("$VESSEL" img info --json "$D" | sed -n "s/.*\"virtual-size\": \([0-9]*\).*/\1/p") / 1024 / 2 )) ]'
"$VESSEL" img info "$D" | sed 's/^/# /'

token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
VM=("$VESSEL" run -m 1G --cpus "$CPUS" --firmware "$FIRMWARE" --kernel "$ROOTFS_KERNEL"
    --initrd "$ROOTFS_INITRD" --append "root=/dev/vda rw console=ttyS0" --console uart
    --disk "$D")
python3 tests/system/console.py --log "$T/main.log" --out "$T/main" \
    --timeout $((BOOT_TMO * 4)) -- "${VM[@]}" 2> "$T/main.err" <<EOF
expect $BOOT_TMO vessel-debian login:
shell 120
run state $BOOT_TMO :: systemctl is-system-running --wait
run root 30 :: findmnt -n -o SOURCE,FSTYPE /
run write 120 :: head -c 3M /dev/urandom > /root/vhdx-test.bin && echo $token >> /root/vhdx-test.bin && sync && sha256sum /root/vhdx-test.bin
send systemctl poweroff
exit 180
EOF
[ $? -eq 0 ] || sed 's/^/# console: /' "$T/main.err"
state=$(res main/state.out | head -n1)
check "boots from the VHDX to multi-user (is-system-running: '$state')" \
    '[ "$state" = running ] || [ "$state" = degraded ]'
check "root is ext4 on /dev/vda" 'res main/root.out | grep -Eq "^/dev/vda +ext4"'
g_sum=$(res main/write.out | cut -d' ' -f1)
check "the guest wrote its file and synced" 'rc_is main/write && [ ${#g_sum} = 64 ]'
check "clean poweroff (status $(res main/exit.rc))" 'rc_is main/exit'
check "qemu-img check: the VHDX the guest wrote is clean" 'qemu-img check -q -f vhdx "$D"'
check "vessel img check: clean too" '"$VESSEL" img check "$D" > /dev/null'
check "qemu-img and Vessel read the same disk" \
    'qemu-img convert -f vhdx -O raw "$D" "$T/q.raw" && "$VESSEL" img convert -f vhdx -O raw "$D" "$T/v.raw" &&
     cmp "$T/q.raw" "$T/v.raw"'
check "e2fsck -fn: the root filesystem is clean" 'e2fsck -fn "$T/q.raw" > "$T/fsck" 2>&1'
check "the guest's file, read from the image by debugfs, has the guest's checksum" \
    'debugfs -R "dump /root/vhdx-test.bin $T/got.bin" "$T/q.raw" > /dev/null 2>&1 &&
     [ "$(sha256sum < "$T/got.bin" | cut -d" " -f1)" = "$g_sum" ] && tail -c 25 "$T/got.bin" | grep -q "$token"'
finish
