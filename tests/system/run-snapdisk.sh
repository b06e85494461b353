#!/bin/bash
# Disks in memory snapshots (docs/snapshot.md "Disks"), with the busybox
# guest driven through its console (tests/system/console.py):
#  - a writable qcow2 disk with ext4: the guest writes a file, the VM is
#    paused, snapshotted and resumed through the API (the disk is frozen:
#    GET /vm names the new overlay), the guest overwrites the file, and
#    the VM is killed;
#  - a restore onto the frozen image while the first VM still runs is
#    refused by the image lock;
#  - two restores at once with --disk-overlay both run, each sees the
#    file as it was at the snapshot, each unmounts cleanly, and e2fsck -n
#    on each overlay's disk finds nothing;
#  - a restore onto the image itself (after the first VM is gone) sees the
#    snapshot's content too;
#  - a snapshot=on VM, snapshotted and restored twice at once: both see
#    the guest's writes made before the snapshot;
#  - bad input: the frozen image changed (touch, then a write) refuses the
#    restore naming the disk; a writable raw disk refuses the snapshot
#    (naming "disks":"external") and the VM runs on;
#  - a writable raw disk with "disks":"external": the guest writes known
#    patterns to it, the snapshot copies it (sparse) into DIR/disk0.raw,
#    the guest overwrites them and is killed; two restores at once (one on
#    a temporary overlay, one with --disk-overlay) each read exactly the
#    snapshot's content from the disk (page cache dropped) and write
#    their own; the original raw file and the copy are unchanged by them;
#    a copy changed, truncated or missing refuses the restore naming it.
# Every wait is a bounded poll or a console pattern, never a sleep.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
VESSEL=$(realpath "$VESSEL")
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-snapdisk.XXXXXX")
trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT
if ! command -v curl >/dev/null || ! command -v e2fsck >/dev/null; then
    echo "ok 1 - # SKIP curl or e2fsck not installed"; exit 0
fi
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
BOOT_TMO=${BOOT_TMO:-300}
# No spaces in these: console.py's host steps run them through sh -c.
GUEST=(--kernel "$KERNEL" --initrd "$INITRD" --append console=ttyS0)

# api SOCKET METHOD PATH [BODY]: prints "STATUS BODY" (a script, so that
# console.py's host steps can call it too).
cat > "$T/api" <<'EOF'
#!/bin/bash
out=$(curl -s --max-time 60 --unix-socket "$1" -X "$2" -w '\n%{http_code}' \
      ${4:+-H 'Content-Type: application/json' -d "$4"} "http://localhost$3")
echo "$(echo "$out" | tail -n1) $(echo "$out" | sed '$d')"
EOF
chmod +x "$T/api"
API=$T/api
# snap SOCKET DIR: pause, snapshot, resume; prints the three statuses
cat > "$T/snap" <<EOF
#!/bin/bash
a=\$($API "\$1" PATCH /vm '{"state":"paused"}'); echo "pause: \$a"
b=\$($API "\$1" PUT /snapshot/create "{\"path\":\"\$2\"}"); echo "create: \$b"
c=\$($API "\$1" PATCH /vm '{"state":"running"}'); echo "resume: \$c"
$API "\$1" GET /vm
EOF
chmod +x "$T/snap"

# session NAME ARGS... < steps: a console session; results in $T/NAME/
session() {
    local name=$1; shift
    python3 tests/system/console.py --log "$T/$name.log" --out "$T/$name" \
        --timeout $((BOOT_TMO * 3)) -- "$VESSEL" run "$@" 2> "$T/$name.err"
    local rc=$?
    [ $rc -eq 0 ] || { echo "# $name: console session failed:"; sed 's/^/#   /' "$T/$name.err" | tail -20; }
    return $rc
}
res() { cat "$T/$1" 2>/dev/null; }
rc_is() { [ "$(res "$1.rc")" = "${2:-0}" ]; }

# The data disk: ext4 on a qcow2 image.
mkdir -p "$T/d"
truncate -s 32M "$T/fs.raw"; mkfs.ext4 -q -F "$T/fs.raw"
"$VESSEL" img convert -O qcow2 "$T/fs.raw" "$T/d/data.qcow2" > /dev/null
P=$T/d/data.qcow2

# ---- 1: the first VM: write, snapshot, overwrite; restores alongside it ----
# rs NAME ARGS...: a restored VM that reads the file, unmounts, powers off
cat > "$T/rs" <<EOF
#!/bin/bash
name=\$1; shift
printf '%s\n' "run cat 60 :: cat /mnt/f" "run umount 60 :: umount /mnt && echo unmounted" \\
    "send poweroff -f" "exit 120" |
python3 "$PWD/tests/system/console.py" --log "$T/\$name.log" --out "$T/\$name" \\
    --timeout $((BOOT_TMO * 2)) -- "$VESSEL" run "\$@" 2> "$T/\$name.err"
EOF
chmod +x "$T/rs"
session vm1 "${GUEST[@]}" --disk "$P" --api-sock "$T/s1.sock" <<EOF
expect $BOOT_TMO VESSEL-BOOT-OK
expect 60 vessel:.*# 
run dmesg 30 :: dmesg -n 1
run write 60 :: mkdir -p /mnt && mount /dev/vda /mnt && echo snapshot-moment > /mnt/f && sync && cat /mnt/f
host snap 120 :: $T/snap $T/s1.sock $T/s1
run over 60 :: echo after-snapshot > /mnt/f && sync && cat /mnt/f
host lock 60 :: timeout 50 $VESSEL run ${GUEST[*]} --restore $T/s1 --disk $P < /dev/null
host ovl $((BOOT_TMO * 2)) :: $T/rs ovlA ${GUEST[*]} --restore $T/s1 --disk $P --disk-overlay $T/d/a.qcow2 & $T/rs ovlB ${GUEST[*]} --restore $T/s1 --disk $P --disk-overlay $T/d/b.qcow2 & wait
kill
EOF
snap=$(res vm1/snap.out)
check "first VM: the guest wrote the file" 'rc_is vm1/write && res vm1/write.out | grep -qx snapshot-moment'
check "snapshot create of a VM with a writable qcow2 disk: 201" 'echo "$snap" | grep -q "^create: 201"'
check "the VM resumed after the snapshot" 'echo "$snap" | grep -q "^resume: 204"'
top=$(ls "$T/d" | grep -E '^data\.[0-9a-f]{8}\.qcow2$')
check "the disk was frozen: a new overlay data.<8 hex>.qcow2 beside it" '[ -n "$top" ]'
check "GET /vm names the overlay as the disk's path" 'echo "$snap" | tail -n1 | grep -q "\"path\": *\"$T/d/$top\""'
check "the snapshot has a disk section" 'python3 - "$T/s1/state" <<"PY"
import sys
d = open(sys.argv[1], "rb").read()
assert b"disk\0\0\0\0" in d
PY'
check "the guest overwrote the file after the snapshot" 'res vm1/over.out | grep -qx after-snapshot'
check "the overlay is backed by the image, by its name" \
    '"$VESSEL" img info -U "$T/d/$top" | grep -q "backing file: data.qcow2"'
check "restore onto the frozen image while the first VM runs: refused by the lock" \
    '! rc_is vm1/lock && res vm1/lock.out | grep -qi "lock"'
for x in A B; do
    check "--disk-overlay restore $x: the file has the snapshot's content" \
        'rc_is ovl$x/cat && res ovl$x/cat.out | grep -qx snapshot-moment'
    check "--disk-overlay restore $x: unmounts cleanly and powers off" \
        'res ovl$x/umount.out | grep -qx unmounted && [ "$(res ovl$x/exit.rc)" = 0 ]'
done
check "both overlays were created over the image" \
    '"$VESSEL" img info -U "$T/d/a.qcow2" | grep -q "backing file: $P" && "$VESSEL" img info -U "$T/d/b.qcow2" | grep -q "backing file: $P"'
for x in a b; do
    "$VESSEL" img convert -O raw "$T/d/$x.qcow2" "$T/$x.raw" > /dev/null 2>&1
    check "e2fsck -n on the disk of overlay $x finds nothing" 'e2fsck -fn "$T/$x.raw" > "$T/fsck.$x" 2>&1'
done
check "the first VM's image is unchanged by the overlay restores" \
    '"$VESSEL" img check -U "$P" > /dev/null'

# ---- 2: restore onto the image itself (the first VM is gone) ----
"$T/rs" r1 "${GUEST[@]}" --restore "$T/s1" --disk "$P"
check "restore onto the image: the file has the snapshot's content" \
    'rc_is r1/cat && res r1/cat.out | grep -qx snapshot-moment'
"$VESSEL" img convert -O raw "$P" "$T/p.raw" > /dev/null 2>&1
check "restore onto the image: e2fsck -n after the clean poweroff finds nothing" \
    'res r1/umount.out | grep -qx unmounted && e2fsck -fn "$T/p.raw" > "$T/fsck.p" 2>&1'
# The image was written by that restored VM: the snapshot refuses it now.
timeout 120 "$VESSEL" run "${GUEST[@]}" --restore "$T/s1" --disk "$P" < /dev/null > "$T/changed.out" 2>&1
rc=$?
check "the image written since the snapshot: restore refused, naming the disk" \
    '[ $rc -ne 0 ] && grep -q "data.qcow2" "$T/changed.out" && grep -q "changed since the snapshot" "$T/changed.out"'

# ---- 3: a changed image (touch) refuses the restore; nothing created ----
mkdir -p "$T/e"
"$VESSEL" img convert -O qcow2 "$T/fs.raw" "$T/e/data.qcow2" > /dev/null
session vm2 "${GUEST[@]}" --disk "$T/e/data.qcow2" --api-sock "$T/s2.sock" <<EOF
expect $BOOT_TMO VESSEL-BOOT-OK
expect 60 vessel:.*# 
host snap 120 :: $T/snap $T/s2.sock $T/s2
kill
EOF
check "second snapshot: 201" 'res vm2/snap.out | grep -q "^create: 201"'
touch "$T/e/data.qcow2"
timeout 120 "$VESSEL" run "${GUEST[@]}" --restore "$T/s2" --disk "$T/e/data.qcow2" \
    --disk-overlay "$T/e/new.qcow2" < /dev/null > "$T/touched.out" 2>&1
rc=$?
check "a touched image: restore refused naming the disk and what differs" \
    '[ $rc -ne 0 ] && grep -q "e/data.qcow2" "$T/touched.out" && grep -q "modification time" "$T/touched.out"'
check "the refused restore created no overlay" '[ ! -e "$T/e/new.qcow2" ]'
timeout 120 "$VESSEL" run "${GUEST[@]}" --restore "$T/s2" --disk "$T/fs.raw,format=raw" \
    < /dev/null > "$T/other.out" 2>&1
rc=$?
check "a restore naming another file: refused, naming the snapshot's disk" \
    '[ $rc -ne 0 ] && grep -q "e/data.qcow2" "$T/other.out"'

# ---- 4: snapshot=on, restored twice at once ----
session vm3 "${GUEST[@]}" --disk "$T/fs.raw,format=raw,snapshot=on" --api-sock "$T/s3.sock" <<EOF
expect $BOOT_TMO VESSEL-BOOT-OK
expect 60 vessel:.*# 
run dmesg 30 :: dmesg -n 1
run write 60 :: mkdir -p /mnt && mount /dev/vda /mnt && echo snapshot-moment > /mnt/f && sync && cat /mnt/f
host snap 120 :: $T/snap $T/s3.sock $T/s3
run over 60 :: echo after-snapshot > /mnt/f && sync && cat /mnt/f
kill
EOF
check "snapshot=on: snapshot create 201" 'res vm3/snap.out | grep -q "^create: 201"'
check "snapshot=on: the guest's writes are in the snapshot as disk0.qcow2 over the image" \
    '"$VESSEL" img info -U "$T/s3/disk0.qcow2" | grep -q "backing file: $T/fs.raw"'
"$T/rs" sA "${GUEST[@]}" --restore "$T/s3" --disk "$T/fs.raw,format=raw,snapshot=on" &
"$T/rs" sB "${GUEST[@]}" --restore "$T/s3" --disk "$T/fs.raw,format=raw,snapshot=on" &
wait
for x in A B; do
    check "snapshot=on restore $x (two at once): the file has the snapshot's content" \
        'rc_is s$x/cat && res s$x/cat.out | grep -qx snapshot-moment'
done
check "snapshot=on: the image is still pristine" 'e2fsck -fn "$T/fs.raw" > /dev/null 2>&1 && ! debugfs -R "stat /f" "$T/fs.raw" 2>/dev/null | grep -q Inode'

# ---- 5: a writable raw disk: snapshot refused, the VM runs on ----
truncate -s 8M "$T/raw.img"
session vm4 "${GUEST[@]}" --disk "$T/raw.img,format=raw" --api-sock "$T/s4.sock" <<EOF
expect $BOOT_TMO VESSEL-BOOT-OK
expect 60 vessel:.*# 
host snap 120 :: $T/snap $T/s4.sock $T/s4
run alive 60 :: echo still-running
kill
EOF
check "a writable raw disk: snapshot refused with 400 naming the disk and what works" \
    'res vm4/snap.out | grep "^create: 400" | grep -q "raw.img" && res vm4/snap.out | grep "^create:" | grep -q "qcow2" &&
     res vm4/snap.out | grep "^create:" | grep -q "disks.*external"'
check "the refused snapshot left no directory behind" '[ ! -e "$T/s4" ]'
check "the VM runs on after the refused snapshot" \
    'res vm4/snap.out | grep -q "^resume: 204" && res vm4/alive.out | grep -qx still-running'

# ---- 6: a writable raw disk, "disks":"external" ----
# snapx SOCKET DIR: a bad "disks" value, then pause, snapshot with copies, resume
cat > "$T/snapx" <<EOF
#!/bin/bash
x=\$($API "\$1" PUT /snapshot/create "{\"path\":\"\$2\",\"disks\":\"internal\"}"); echo "bad: \$x"
a=\$($API "\$1" PATCH /vm '{"state":"paused"}'); echo "pause: \$a"
b=\$($API "\$1" PUT /snapshot/create "{\"path\":\"\$2\",\"disks\":\"external\"}"); echo "create: \$b"
c=\$($API "\$1" PATCH /vm '{"state":"running"}'); echo "resume: \$c"
$API "\$1" GET /vm
EOF
chmod +x "$T/snapx"
# snapfull SOCKET: a snapshot into a tmpfs with room for the memory but not
# for the disk's copy (root only: prints "skip" when it cannot mount one)
cat > "$T/snapfull" <<EOF
#!/bin/bash
mkdir -p "$T/full"
m=\$(( \$(stat -c %b "$T/s5/memory") * 512 + (12 << 20) ))
mount -t tmpfs -o size=\$m tmpfs "$T/full" 2>/dev/null || { echo skip; exit 0; }
a=\$($API "\$1" PATCH /vm '{"state":"paused"}'); echo "pause: \$a"
b=\$($API "\$1" PUT /snapshot/create "{\"path\":\"$T/full/snap\",\"disks\":\"external\"}"); echo "create: \$b"
echo "left: \$(ls -A "$T/full" | tr '\n' ' ')"
c=\$($API "\$1" PATCH /vm '{"state":"running"}'); echo "resume: \$c"
$API "\$1" GET /vm
umount "$T/full"
EOF
chmod +x "$T/snapfull"
# rr NAME ARGS...: a restored VM reads both patterns from the disk itself
# (page cache dropped), writes its own name at 8 MiB, powers off
cat > "$T/rr" <<EOF
#!/bin/bash
name=\$1; shift
printf '%s\n' "run drop 30 :: echo 3 > /proc/sys/vm/drop_caches" \\
    "run a 120 :: head -c 4194304 /dev/vda | md5sum" \\
    "run b 120 :: dd if=/dev/vda bs=1048576 skip=32 count=1 2>/dev/null | md5sum" \\
    "run w 60 :: echo restore-\$name | dd of=/dev/vda bs=512 seek=16384 conv=fsync 2>/dev/null && echo written" \\
    "send poweroff -f" "exit 120" |
python3 "$PWD/tests/system/console.py" --log "$T/\$name.log" --out "$T/\$name" \\
    --timeout $((BOOT_TMO * 2)) -- "$VESSEL" run "\$@" 2> "$T/\$name.err"
EOF
chmod +x "$T/rr"
mkdir -p "$T/r"
R=$T/r/raw.img
truncate -s 64M "$R"
want_a=$(yes snapshot-moment | head -c 4194304 | md5sum | cut -d' ' -f1)
want_b=$(yes second-region | head -c 1048576 | md5sum | cut -d' ' -f1)
want_o=$(yes after-snapshot | head -c 4194304 | md5sum | cut -d' ' -f1)
session vm5 "${GUEST[@]}" --disk "$R,format=raw" --api-sock "$T/s5.sock" <<EOF
expect $BOOT_TMO VESSEL-BOOT-OK
expect 60 vessel:.*# 
run dmesg 30 :: dmesg -n 1
run write 120 :: yes snapshot-moment | head -c 4194304 > /dev/vda && yes second-region | head -c 1048576 | dd of=/dev/vda bs=1048576 seek=32 2>/dev/null && sync && echo written
host snap 300 :: $T/snapx $T/s5.sock $T/s5
run over 120 :: yes after-snapshot | head -c 4194304 > /dev/vda && sync && echo overwritten
run big 120 :: yes big-data | head -c 29360128 | dd of=/dev/vda bs=1048576 seek=34 iflag=fullblock oflag=direct 2>/dev/null && echo big
host full 300 :: $T/snapfull $T/s5.sock
run alive 60 :: echo still-running
kill
EOF
snap=$(res vm5/snap.out)
check "raw: a bad \"disks\" value is refused with 400 naming the field" \
    'echo "$snap" | grep "^bad: 400" | grep -q "disks"'
check "raw: the guest wrote both patterns" 'res vm5/write.out | grep -qx written'
check "raw: snapshot with \"disks\":\"external\": 201, the VM resumed" \
    'echo "$snap" | grep -q "^create: 201" && echo "$snap" | grep -q "^resume: 204"'
check "raw: the VM still writes to its raw file (GET /vm)" \
    'echo "$snap" | tail -n1 | grep -q "\"path\": *\"$R\""'
check "raw: the guest overwrote the disk after the snapshot" 'res vm5/over.out | grep -qx overwritten'
C=$T/s5/disk0.raw
full=$(res vm5/full.out)
if [ "$full" = skip ]; then
    ok "raw: a full disk during the copy # SKIP cannot mount a tmpfs (not root)"
else
    check "raw: a full disk during the copy: 500 naming the copy and the full disk" \
        'res vm5/big.out | grep -qx big && echo "$full" | grep "^create: 500" | grep "disk0.raw" | grep -q "No space left"'
    check "raw: the failed snapshot left nothing behind" 'echo "$full" | grep -qx "left: "'
    check "raw: the VM runs on its raw file after the failed snapshot" \
        'echo "$full" | grep -q "^resume: 204" && echo "$full" | tail -n1 | grep -q "\"path\": *\"$R\"" &&
         res vm5/alive.out | grep -qx still-running'
fi
check "raw: the copy DIR/disk0.raw has the disk's size" '[ "$(stat -c %s "$C")" = $((64 << 20)) ]'
check "raw: the copy is sparse (under 16 MiB allocated of 64)" \
    '[ $(( $(stat -c %b "$C") * 512 )) -lt $((16 << 20)) ]'
check "raw: the copy holds the snapshot-time patterns" \
    '[ "$(head -c 4194304 "$C" | md5sum | cut -d" " -f1)" = "$want_a" ] &&
     [ "$(dd if="$C" bs=1M skip=32 count=1 2>/dev/null | md5sum | cut -d" " -f1)" = "$want_b" ]'
check "raw: the original file has the post-snapshot writes" \
    '[ "$(head -c 4194304 "$R" | md5sum | cut -d" " -f1)" = "$want_o" ]'
orig_sum=$(md5sum < "$R")
copy_sum=$(md5sum < "$C")
"$T/rr" rA "${GUEST[@]}" --restore "$T/s5" --disk "$R,format=raw" &
"$T/rr" rB "${GUEST[@]}" --restore "$T/s5" --disk "$R,format=raw" --disk-overlay "$T/r/b.qcow2" &
wait
for x in A B; do
    check "raw restore $x (two at once): the disk holds the snapshot's first pattern" \
        'rc_is r$x/a && res r$x/a.out | grep -q "^$want_a"'
    check "raw restore $x: and the second" 'rc_is r$x/b && res r$x/b.out | grep -q "^$want_b"'
    check "raw restore $x: writes to its disk and powers off" \
        'res r$x/w.out | grep -qx written && [ "$(res r$x/exit.rc)" = 0 ]'
done
check "raw: the original raw file is unchanged by the restores" '[ "$(md5sum < "$R")" = "$orig_sum" ]'
check "raw: the copy is unchanged by the restores" '[ "$(md5sum < "$C")" = "$copy_sum" ]'
check "raw: --disk-overlay is a qcow2 overlay over the copy, holding the restore's write" \
    '"$VESSEL" img info -U "$T/r/b.qcow2" | grep -q "backing file: $C" &&
     "$VESSEL" img convert --backing-dir "$T/s5" -O raw "$T/r/b.qcow2" "$T/b.raw" > /dev/null 2>&1 &&
     dd if="$T/b.raw" bs=512 skip=16384 count=1 2>/dev/null | grep -qa restore-rB'
# Bad copies: refused naming the copy and what differs; nothing created.
cp -a "$C" "$T/copy.keep"
bad_restore() { # NAME: a restore with an overlay; its output in $T/NAME.out
    timeout 120 "$VESSEL" run "${GUEST[@]}" --restore "$T/s5" --disk "$R,format=raw" \
        --disk-overlay "$T/r/$1.qcow2" < /dev/null > "$T/$1.out" 2>&1
}
touch "$C"
bad_restore touched; rc=$?
check "raw: a copy touched since: restore refused naming disk0.raw and its modification time" \
    '[ $rc -ne 0 ] && grep -q "disk0.raw" "$T/touched.out" &&
     grep -q "modification time" "$T/touched.out" && [ ! -e "$T/r/touched.qcow2" ]'
cp -a "$T/copy.keep" "$C"; truncate -s 32M "$C"
bad_restore truncated; rc=$?
check "raw: a truncated copy: restore refused naming disk0.raw and its size" \
    '[ $rc -ne 0 ] && grep -q "disk0.raw" "$T/truncated.out" &&
     grep -q "its size" "$T/truncated.out" && [ ! -e "$T/r/truncated.qcow2" ]'
rm -f "$C"
bad_restore missing; rc=$?
check "raw: a missing copy: restore refused naming disk0.raw" \
    '[ $rc -ne 0 ] && grep -q "disk0.raw.*No such file" "$T/missing.out" && [ ! -e "$T/r/missing.qcow2" ]'
check "raw: the original raw file is unchanged by the refused restores" \
    '[ "$(md5sum < "$R")" = "$orig_sum" ]'
finish
