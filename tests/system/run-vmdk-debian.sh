#!/bin/bash
# A Debian guest boots from a VMDK disk (docs/block.md "VMDK"): the cached
# Debian trixie riscv64 qcow2 image (scripts/build-rootfs.sh) is converted
# with `vessel img convert -O vmdk` (monolithicSparse), booted to
# multi-user with the VMDK as its writable root disk (/dev/vda); the guest
# writes a file and syncs, powers off; then qemu-img checks the VMDK
# clean, reads the file back through a raw copy, and e2fsck finds the
# file system clean.  One boot (CI time).  TAP output.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
CPUS=${VESSEL_SYSTEST_CPUS:-2}
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}
T=$(mktemp -d)
trap 'if [ "$FAILED" -eq 0 ] && [ -z "${VESSEL_SYSTEST_KEEP:-}" ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi' EXIT

if ! "$VESSEL" run --help 2>&1 | grep -q -- '--disk'; then
    echo "ok 1 - # SKIP virtio not available ($VESSEL run has no --disk)"; echo "1..1"; exit 0
fi
for tool in qemu-img e2fsck debugfs; do
    command -v $tool >/dev/null || { echo "ok 1 - # SKIP $tool not installed"; echo "1..1"; exit 0; }
done
debian_artifacts

D=$T/debian.vmdk
check "vessel img convert -O vmdk: the Debian qcow2 image becomes a monolithicSparse VMDK" \
    '"$VESSEL" img convert -O vmdk "$ROOTFS_QCOW2" "$D" && qemu-img info "$D" | grep -q "create type: monolithicSparse"'
check "qemu-img reads the VMDK identical to the qcow2" 'qemu-img compare -q -f qcow2 -F vmdk "$ROOTFS_QCOW2" "$D"'

token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
VM=("$VESSEL" run -m 1G --cpus "$CPUS" --firmware "$FIRMWARE" --kernel "$ROOTFS_KERNEL"
    --initrd "$ROOTFS_INITRD" --append "root=/dev/vda rw console=ttyS0" --console uart
    --disk "$D,format=vmdk")
python3 tests/system/console.py --log "$T/boot.log" --out "$T/boot" \
    --timeout $((BOOT_TMO * 3)) -- "${VM[@]}" 2> "$T/boot.err" <<EOF
expect $BOOT_TMO vessel-debian login:
shell 120
run state $BOOT_TMO :: systemctl is-system-running --wait
run root 30 :: findmnt -n -o SOURCE,FSTYPE,OPTIONS /
run write 120 :: echo $token > /root/vmdk.txt && sync && cat /root/vmdk.txt
send systemctl poweroff
exit 180
EOF
rc=$?
[ $rc -eq 0 ] || sed 's/^/# console: /' "$T/boot.err"
res() { cat "$T/boot/$1" 2>/dev/null; }
state=$(res state.out | head -n1)
check "the guest reached multi-user from the VMDK (is-system-running: '$state')" \
    '[ "$state" = running ] || [ "$state" = degraded ]'
check "root is ext4 on /dev/vda, mounted read-write" 'res root.out | grep -Eq "^/dev/vda +ext4 +rw"'
check "the guest wrote and synced a file" '[ "$(res write.out | tr -d "\n")" = "$token" ]'
check "clean poweroff: the VMM exits with status 0 (got $(res exit.rc))" '[ "$(res exit.rc)" = 0 ]'
check "qemu-img check -f vmdk: the VMDK is clean after the guest's writes" 'qemu-img check -q -f vmdk "$D"'
check "vessel img check: clean, no unclean-shutdown flag" \
    '"$VESSEL" img check "$D" > "$T/check.out" 2>&1 && ! grep -q unclean "$T/check.out"'
check "the file is in the image (read through a raw copy made by qemu-img)" \
    'qemu-img convert -f vmdk -O raw "$D" "$T/root.raw" &&
     [ "$(debugfs -R "cat /root/vmdk.txt" "$T/root.raw" 2>/dev/null | tr -d "\n")" = "$token" ]'
check "e2fsck -fn: the guest's file system is clean" 'e2fsck -fn "$T/root.raw" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; false; }'
finish
