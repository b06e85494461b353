#!/bin/bash
# System tests of the virtio devices (docs/virtio.md): boot Debian's kernel
# with the project's initramfs and
#  - two disks: data dd'd through virtio-blk (onto a cache=none disk,
#    O_DIRECT on the host) matches the host's sha256, readonly=on refuses
#    writes, /dev/vda is the first --disk;
#  - a qcow2 disk (cache=none) written by the guest passes `vessel img check`;
#    an ext4 disk mounted, written and unmounted passes e2fsck;
#  - snapshot=on leaves the image byte-identical and no temporary file;
#    disks (and the snapshot overlay) survive a guest reboot;
#  - /dev/hwrng (virtio-rng) gives data;
#  - --console virtio: the kernel's hvc0 console works both ways;
#  - the power button: the guest lists it and reads a press made through
#    the control API (PUT /actions shutdown) from its event device;
#  - bad input: missing disk, unknown format, malformed --disk, more
#    devices than slots, a writable image already in use by another vessel
#    (found by reading that VM's boot marker, not by sleeping): a clear
#    error, non-zero exit, no image modified.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- 1: two raw disks, dd through virtio-blk, readonly, rng, serial ----
head -c 4M /dev/urandom > "$T/src.img"
truncate -s 4M "$T/dst.img"
src_sha=$(sha "$T/src.img")
guest_run "$T/b1" "--disk $T/src.img,readonly=on --disk $T/dst.img,format=raw,cache=none" '
cat /sys/block/vda/ro /sys/block/vdb/ro
cat /sys/block/vda/serial; echo
echo vda=$(sha256sum /dev/vda | cut -d" " -f1)
dd if=/dev/vda of=/dev/vdb bs=64k 2>/dev/null && sync && echo dd-ok
echo vdb=$(sha256sum /dev/vdb | cut -d" " -f1)
if dd if=/dev/zero of=/dev/vda bs=512 count=1 2>/dev/null; then echo ro-write-accepted; else echo ro-write-refused; fi
echo rng=$(head -c 64 /dev/hwrng | wc -c)
cat /sys/class/misc/hw_random/rng_current'
rc=$?
out=$(cmd_output "$T/b1")
check "two disks: guest exits 0 (got $rc)" '[ $rc -eq 0 ]'
check "vda is the first --disk (readonly), vdb the second" '[ "$(echo "$out" | sed -n 1p)" = 1 ] && [ "$(echo "$out" | sed -n 2p)" = 0 ]'
check "GET_ID serial is the file name" 'echo "$out" | grep -qx "src.img"'
check "guest reads the host data (sha256 equal)" 'echo "$out" | grep -qx "vda=$src_sha"'
check "dd through virtio-blk (cache=none): guest copy equals the source" 'echo "$out" | grep -qx dd-ok && echo "$out" | grep -qx "vdb=$src_sha"'
check "host sees the guest-written disk (sha256 equal)" '[ "$(sha "$T/dst.img")" = "$src_sha" ]'
check "readonly=on: guest writes refused" 'echo "$out" | grep -qx ro-write-refused'
check "readonly=on: image unmodified" '[ "$(sha "$T/src.img")" = "$src_sha" ]'
check "/dev/hwrng gives 64 bytes from virtio-rng" 'echo "$out" | grep -qx rng=64 && echo "$out" | grep -q "^virtio_rng"'
[ $rc -eq 0 ] || tail -30 "$T/b1"

# ---- 2: qcow2 + snapshot=on + ext4, and a reboot in between ----
"$VESSEL" img create -f qcow2 "$T/q.qcow2" 16M > /dev/null
head -c 2M /dev/urandom > "$T/snap.img"
snap_sha=$(sha "$T/snap.img")
truncate -s 32M "$T/fs.img"; mkfs.ext4 -q -F "$T/fs.img"
mkdir -p "$T/tmp"
# First boot: write, then reboot; second boot (same command line): verify
# that everything written before the reboot is still there.
b64=$(printf '%s\n' '
if [ "$(head -c 4 /dev/vdb)" != BOOT ]; then
  dd if=/dev/urandom of=/run/r bs=64k count=16 2>/dev/null
  dd if=/run/r of=/dev/vda bs=64k seek=16 2>/dev/null
  echo q1=$(sha256sum /run/r | cut -d" " -f1)
  printf BOOT | dd of=/dev/vdb conv=notrunc 2>/dev/null
  mount /dev/vdc /mnt && echo hello-ext4 > /mnt/x && umount /mnt
  sync; echo first-boot; reboot -f
fi
echo q2=$(dd if=/dev/vda bs=64k skip=16 count=16 2>/dev/null | sha256sum | cut -d" " -f1)
mount /dev/vdc /mnt && cat /mnt/x && umount /mnt
echo second-boot' | base64 -w0)
TMPDIR="$T/tmp" timeout 180 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" \
    --disk "$T/q.qcow2,cache=none" --disk "$T/snap.img,snapshot=on" --disk "$T/fs.img,format=raw" \
    --append "console=ttyS0 quiet vessel.cmd=$b64" < /dev/null > "$T/b2.raw" 2>&1
rc=$?
tr -d '\r' < "$T/b2.raw" > "$T/b2"
q1=$(sed -n 's/^q1=//p' "$T/b2"); q2=$(sed -n 's/^q2=//p' "$T/b2")
check "reboot: guest rebooted once and powered off (exit $rc)" '[ $rc -eq 0 ] && grep -qx first-boot "$T/b2" && grep -qx second-boot "$T/b2"'
check "reboot: disks and the snapshot overlay survive it" '[ -n "$q1" ] && [ "$q1" = "$q2" ] && grep -qx hello-ext4 "$T/b2"'
"$VESSEL" img convert -f qcow2 -O raw "$T/q.qcow2" "$T/q.raw" > /dev/null 2>&1
check "qcow2 (cache=none): host reads what the guest wrote" '[ "$(dd if="$T/q.raw" bs=64k skip=16 count=16 2>/dev/null | sha256sum | cut -d" " -f1)" = "$q1" ]'
check "qcow2: vessel img check clean" '"$VESSEL" img check "$T/q.qcow2" > "$T/check.log" 2>&1'
check "snapshot=on: image byte-identical after the guest wrote to it" '[ "$(sha "$T/snap.img")" = "$snap_sha" ]'
check "snapshot=on: no temporary overlay left behind" '[ -z "$(ls -A "$T/tmp")" ]'
check "ext4: e2fsck clean and the file is there" 'e2fsck -fn "$T/fs.img" > /dev/null 2>&1 && debugfs -R "cat /x" "$T/fs.img" 2>/dev/null | grep -qx hello-ext4'
[ $rc -eq 0 ] || tail -30 "$T/b2"

# ---- 3: --console virtio: hvc0 carries output and host input ----
# console=hvc0 alone: the kernel's and /init's output (the boot marker)
# travel over virtio-console; the command's stdin is /dev/null, so it reads
# the host's typing from /dev/hvc0 itself.
b64=$(printf '%s\n' 'grep -o "hvc0.*" /proc/consoles | cut -c1-4
exec 3<>/dev/hvc0; echo READY-ON-HVC >&3
read -r l <&3; echo "got=$l"' | base64 -w0)
coproc VM { timeout 300 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" --console virtio \
    --append "console=hvc0 quiet vessel.cmd=$b64" 2>&1; }
vm_pid=$VM_PID
seen=0
while IFS= read -r -t 240 line <&"${VM[0]}"; do
    echo "$line" >> "$T/b3"
    case $line in *READY-ON-HVC*) seen=1; echo "typed-on-the-host" >&"${VM[1]}"; break ;; esac
done
cat <&"${VM[0]}" >> "$T/b3"; wait "$vm_pid"; rc=$?
tr -d '\r' < "$T/b3" > "$T/b3c"
check "--console virtio: guest output on hvc0 reaches stdout" '[ $seen = 1 ]'
check "--console virtio: console=hvc0 alone carries the boot marker" 'grep -q "^VESSEL-BOOT-OK" "$T/b3c"'
check "--console virtio: hvc0 is a registered console" 'grep -qx hvc0 "$T/b3c"'
check "--console virtio: host stdin reaches the guest on hvc0" 'grep -qx "got=typed-on-the-host" "$T/b3c" && [ $rc -eq 0 ]'
[ $rc -eq 0 ] || tail -20 "$T/b3c"

# ---- 3b: the power button (virtio-input, docs/machine.md) ----
# The guest binds virtio_input and evdev, opens the event device, says
# so, and reads four events; the host then presses the button through the
# control API.  struct input_event on riscv64 is 24 bytes: a 16-byte
# timeval, then u16 type, u16 code, s32 value (od -tu2: fields 9, 10, 11).
S="$T/api3.sock"
guest_run "$T/b3b" "--api-sock $S" '
cat /proc/bus/input/devices
e=$(ls /sys/class/input/input0 | grep -m1 "^event")
exec 3</dev/input/$e; echo READY-FOR-THE-BUTTON
dd bs=24 count=4 <&3 2>/dev/null | od -An -v -tu2 -w24' &
vm_pid=$!
pressed=0
if wait_for "grep -q READY-FOR-THE-BUTTON \"$T/b3b.raw\" 2>/dev/null" 240; then
    r=$(api PUT /actions '{"action":"shutdown"}'); [ "${r%% *}" = 202 ] && pressed=1
fi
wait "$vm_pid"; rc=$?
out=$(cmd_output "$T/b3b")
check "power button: the guest's kernel lists the Vessel Power Button with KEY_POWER" \
    'echo "$out" | grep -q "Name=\"Vessel Power Button\"" && echo "$out" | grep -q "^B: KEY=10000000000000"'
check "power button: PUT /actions shutdown answers 202" '[ $pressed = 1 ]'
check "power button: the guest reads KEY_POWER 1, SYN, KEY_POWER 0, SYN" \
    '[ "$(echo "$out" | awk "NF == 12 { print \$9, \$10, \$11 }" | tr "\n" ,)" = "1 116 1,0 0 0,1 116 0,0 0 0," ] && [ $rc -eq 0 ]'
[ $rc -eq 0 ] || tail -20 "$T/b3b"

# ---- 4: bad input ----
truncate -s 1M "$T/a.img"; a_sha=$(sha "$T/a.img")
bad() { # name expected-status grep-pattern vessel-args...
    local name=$1 want=$2 pat=$3; shift 3
    "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" "$@" < /dev/null > "$T/bad.out" 2>&1
    local r=$?
    if [ $r -eq "$want" ] && grep -q -- "$pat" "$T/bad.out"; then ok "$name (exit $r)"
    else not_ok "$name (exit $r)"; sed 's/^/# /' "$T/bad.out" | tail -5; fi
}
bad "missing disk file" 1 "$T/nope.img: cannot open" --disk "$T/nope.img"
bad "unknown format" 2 "unknown format 'qed'" --disk "$T/a.img,format=qed"
bad "malformed --disk option value" 2 "readonly='maybe'" --disk "$T/a.img,readonly=maybe"
bad "unknown --disk option" 2 "unknown option 'bogus'" --disk "$T/a.img,bogus=1"
bad "--disk without a file name" 2 "no file name" --disk ",format=raw"
bad "--disk option without a value" 2 "has no value" --disk "$T/a.img,readonly"
bad "bad cache mode" 2 "cache='fast'" --disk "$T/a.img,cache=fast"
args=(); for i in 1 2 3 4 5 6 7 8; do args+=(--disk "$T/a.img,readonly=on"); done
bad "more devices than slots (8 disks + rng)" 2 "too many virtio devices" "${args[@]}"
bad "--console with a bad value" 2 "expected uart or virtio" --console serial
bad "qcow2 format on a raw file" 1 "a.img" --disk "$T/a.img,format=qcow2"
check "bad input left the image unmodified" '[ "$(sha "$T/a.img")" = "$a_sha" ]'

# The lock: VM A holds lock.img (writable) at an interactive shell; a
# second vessel must be refused, with A's image untouched.
truncate -s 1M "$T/lock.img"; lock_sha=$(sha "$T/lock.img")
coproc A { timeout 300 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" \
    --disk "$T/lock.img" --append "console=ttyS0 quiet" 2>&1; }
a_pid=$A_PID
booted=0
while IFS= read -r -t 240 line <&"${A[0]}"; do
    case $line in *VESSEL-BOOT-OK*) booted=1; break ;; esac
done
check "lock: first VM booted with the image" '[ $booted = 1 ]'
bad "lock: second vessel refused the same writable image" 1 "locked by another process" --disk "$T/lock.img"
bad "lock: readonly=on refused too while it is written" 1 "locked by another process" --disk "$T/lock.img,readonly=on"
bad "lock: snapshot=on refused too while it is written" 1 "locked by another process" --disk "$T/lock.img,snapshot=on"
echo 'poweroff -f' >&"${A[1]}"
cat <&"${A[0]}" > /dev/null; wait "$a_pid"
check "lock: image unmodified by the refused opens" '[ "$(sha "$T/lock.img")" = "$lock_sha" ]'
args=(); for i in 1 2; do args+=(--disk "$T/lock.img,readonly=on"); done
guest_run "$T/b5" "${args[*]}" 'cat /sys/block/vdb/ro'
rc=$?
check "lock: two read-only opens of one image share it" '[ $rc -eq 0 ] && [ "$(cmd_output "$T/b5")" = 1 ]'
finish
