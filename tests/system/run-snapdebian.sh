#!/bin/bash
# A memory snapshot of the Debian systemd image (docs/snapshot.md), TAP.
# The guest mounts an ext4 data disk (writable qcow2), writes a file and
# syncs it, then writes a second file it does not sync: at the snapshot
# that file's data is only in the guest's page cache.  After the snapshot
# the original VM overwrites both and is killed.  The snapshot is restored
# in a new process on its own overlay (--disk-overlay): the guest shell
# answers at once (no boot), both files read back with their snapshot-time
# contents, the guest syncs and unmounts with no ext4 error in its kernel
# log, and the host's e2fsck finds the data disk clean.  The root disk is
# snapshot=on, so its writes are part of the snapshot too.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
BOOT_TMO=${VESSEL_SYSTEST_BOOT_TIMEOUT:-300}
T=$(mktemp -d)
trap 'if [ "$FAILED" -eq 0 ]; then rm -rf "$T"; else echo "# logs kept in $T"; fi' EXIT
for t in curl mkfs.ext4 e2fsck; do
    command -v "$t" > /dev/null || { echo "ok 1 - # SKIP $t not installed"; echo "1..1"; exit 0; }
done
debian_artifacts

truncate -s 128M "$T/fs.img" && mkfs.ext4 -q -F "$T/fs.img" &&
    "$VESSEL" img convert -O qcow2 "$T/fs.img" "$T/data.qcow2" && rm -f "$T/fs.img"
S="$T/api.sock"
VM=("$VESSEL" run -m 1G --cpus 2 --firmware "$FIRMWARE" --kernel "$ROOTFS_KERNEL"
    --initrd "$ROOTFS_INITRD" --append "root=/dev/vda rw console=ttyS0"
    --disk "$ROOTFS_QCOW2,format=qcow2,snapshot=on")
SNAP="curl -s -f --max-time 300 --unix-socket $S -X PUT -d '{\"path\":\"$T/snap\",\"resume\":true}' http://localhost/snapshot/create"

# gen NAME MIB: deterministic file contents, and the same on the host.
GEN='gen() { yes "$1" | head -c $(($2 * 1048576)); }'
eval "$GEN"
sum_a=$(gen snapshot-a 8 | sha256sum | cut -d' ' -f1)
sum_b=$(gen snapshot-b 8 | sha256sum | cut -d' ' -f1)

python3 tests/system/console.py --log "$T/orig.log" --out "$T/orig" --timeout $((BOOT_TMO * 3)) \
    -- "${VM[@]}" --disk "$T/data.qcow2,format=qcow2" --api-sock "$S" 2> "$T/orig.err" <<EOF
expect $BOOT_TMO vessel-debian login:
shell 120
run state $BOOT_TMO :: systemctl is-system-running --wait
run mount 60 :: mount /dev/vdb /mnt && $GEN && gen snapshot-a 8 > /mnt/a && sync && gen snapshot-b 8 > /mnt/b && awk '/^Dirty:/ {print \$2}' /proc/meminfo
host snap 300 :: $SNAP
run after 60 :: $GEN && gen later-a 8 > /mnt/a && gen later-b 8 > /mnt/b && sync && echo overwritten
kill
EOF
check "the original boots, writes, is snapshotted, and goes on" \
    '[ "$(cat "$T/orig/mount.rc" 2>/dev/null)" = 0 ] && [ "$(cat "$T/orig/snap.rc" 2>/dev/null)" = 0 ] &&
     grep -qx overwritten "$T/orig/after.out" 2>/dev/null'
check "unsynced data was in the page cache at the snapshot (Dirty > 0 kB)" \
    '[ "$(tail -n1 "$T/orig/mount.out" 2>/dev/null)" -gt 0 ]'
check "the snapshot holds state, memory and the root disk's writes" \
    '[ -f "$T/snap/state" ] && [ -f "$T/snap/memory" ] && ls "$T"/snap/disk*.qcow2 > /dev/null 2>&1'

python3 tests/system/console.py --log "$T/rest.log" --out "$T/rest" --timeout $((BOOT_TMO * 2)) \
    -- "${VM[@]}" --disk "$T/data.qcow2,format=qcow2" --disk-overlay "$T/r.qcow2" \
    --restore "$T/snap" 2> "$T/rest.err" <<EOF
send
shell 60
run files 120 :: sha256sum /mnt/a /mnt/b
run umount 120 :: sync && umount /mnt && echo unmounted
run dmesg 60 :: dmesg | grep -ci 'ext4.*error\|I/O error' || true
send systemctl poweroff
exit 180
EOF
check "the restored guest answers without booting" \
    '[ "$(cat "$T/rest/files.rc" 2>/dev/null)" = 0 ] && ! grep -q "Linux version" "$T/rest.log"'
check "both files have their contents of the snapshot moment (b was only in the page cache)" \
    'grep -q "^$sum_a  /mnt/a" "$T/rest/files.out" && grep -q "^$sum_b  /mnt/b" "$T/rest/files.out"'
check "the guest syncs and unmounts with no ext4 or I/O error" \
    'grep -qx unmounted "$T/rest/umount.out" && [ "$(tail -n1 "$T/rest/dmesg.out")" = 0 ]'
check "the restored VM powers off cleanly" '[ "$(cat "$T/rest/exit.rc" 2>/dev/null)" = 0 ]'
check "the restore's data disk passes e2fsck" \
    '"$VESSEL" img convert -O raw "$T/r.qcow2" "$T/r.raw" && e2fsck -fn "$T/r.raw" > "$T/fsck" 2>&1'
finish
