#!/bin/bash
# System test of VHD and VDI disks used by a VM (docs/block.md "VHD",
# "VDI"), with the busybox guest: a dynamic VHD made by vessel and a
# dynamic VDI made by qemu-img, both given without format= (probed), are
# written by the guest (2.5 MiB of random data across block boundaries,
# fsync, caches dropped) and read back identical in the guest; qemu-img
# then reads the same bytes at the same places, and qemu-img check (VDI)
# and vessel img check find both images clean; a second boot reads the
# data again (the formats given this time: format=vhd, format=vdi); a
# streamOptimized VMDK holding data is refused writable; with snapshot=on the guest's writes go to an overlay and the
# VHD is unchanged.
set -u
cd "$(dirname "$0")/../.."
. tests/system/lib.sh
VESSEL=${VESSEL:-build/release/vessel}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
if ! guest_artifacts > "$T/fetch.log" 2>&1; then
    cat "$T/fetch.log"; not_ok "fetch guest artifacts"; finish; exit 1
fi
if ! command -v qemu-img > /dev/null; then echo "ok 1 - # SKIP qemu-img not installed"; exit 0; fi

"$VESSEL" img create -q -f vpc "$T/d.vhd" 64M > /dev/null
qemu-img create -q -f vdi "$T/d.vdi" 64M
# 40 pieces of 64 KiB from 1984 KiB on: across the 2 MiB VHD block line and
# the 1 MiB VDI block lines.
W='dd if=/dev/urandom of=/tmp/p bs=64k count=40 2>/dev/null
for d in vda vdb; do
  dd if=/tmp/p of=/dev/$d bs=64k seek=31 conv=fsync 2>/dev/null && echo $d-written
done
echo 3 > /proc/sys/vm/drop_caches
echo pattern=$(md5sum < /tmp/p | cut -c1-32)
for d in vda vdb; do
  echo $d=$(dd if=/dev/$d bs=64k skip=31 count=40 2>/dev/null | md5sum | cut -c1-32)
done'
guest_run "$T/w" "--disk $T/d.vhd --disk $T/d.vdi" "$W"
rc=$?
out=$(cmd_output "$T/w")
val() { echo "$out" | sed -n "s/^$1=//p"; }
pat=$(val pattern)
check "guest writes both disks and powers off (exit $rc)" \
    '[ $rc -eq 0 ] && echo "$out" | grep -qx vda-written && echo "$out" | grep -qx vdb-written'
[ $rc -eq 0 ] || tail -20 "$T/w"
check "the guest reads its data back from the VHD" '[ -n "$pat" ] && [ "$(val vda)" = "$pat" ]'
check "the guest reads its data back from the VDI" '[ -n "$pat" ] && [ "$(val vdb)" = "$pat" ]'

host_sum() { # IMAGE FMT: md5 of the guest's range as qemu-img reads it
    qemu-img convert -f "$2" -O raw "$1" "$T/flat.raw" &&
    dd if="$T/flat.raw" bs=64k skip=31 count=40 2>/dev/null | md5sum | cut -c1-32
}
check "qemu-img reads the guest's bytes from the VHD" '[ "$(host_sum "$T/d.vhd" vpc)" = "$pat" ]'
check "qemu-img reads the guest's bytes from the VDI" '[ "$(host_sum "$T/d.vdi" vdi)" = "$pat" ]'
check "qemu-img check: the VDI is clean" 'qemu-img check -q -f vdi "$T/d.vdi"'
check "vessel img check: both images are clean" \
    '"$VESSEL" img check "$T/d.vhd" > /dev/null && "$VESSEL" img check "$T/d.vdi" > /dev/null'

guest_run "$T/r" "--disk $T/d.vhd,format=vhd --disk $T/d.vdi,format=vdi" \
    'for d in vda vdb; do echo $d=$(dd if=/dev/$d bs=64k skip=31 count=40 2>/dev/null | md5sum | cut -c1-32); done'
rc=$?
out=$(cmd_output "$T/r")
check "second boot, format=vhd and format=vdi given: the same data from both disks (exit $rc)" \
    '[ $rc -eq 0 ] && [ "$(val vda)" = "$pat" ] && [ "$(val vdb)" = "$pat" ]'
[ $rc -eq 0 ] || tail -20 "$T/r"

# streamOptimized is written append-only (as qemu-img): one that already
# holds data cannot be a writable disk (monolithicSparse can: its own tests
# in tests/block/run-vmdk-interop.sh and run-vmdk-debian.sh).
head -c 65536 /dev/urandom > "$T/grain.raw"
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$T/grain.raw" "$T/d.vmdk"
check "a writable streamOptimized format=vmdk disk holding data is refused, naming the file" \
    '! timeout 60 "$VESSEL" run --kernel "$KERNEL" --initrd "$INITRD" --disk "$T/d.vmdk,format=vmdk" \
         < /dev/null > "$T/vmdk.out" 2>&1 && grep -q "d.vmdk" "$T/vmdk.out"'

# snapshot=on: a qcow2 overlay over the VHD (backing format vpc) takes the
# guest's writes; the VHD keeps its data.
guest_run "$T/s" "--disk $T/d.vhd,snapshot=on" \
    'dd if=/dev/zero of=/dev/vda bs=64k seek=31 count=40 conv=fsync 2>/dev/null
echo 3 > /proc/sys/vm/drop_caches
echo vda=$(dd if=/dev/vda bs=64k skip=31 count=40 2>/dev/null | md5sum | cut -c1-32)'
rc=$?
out=$(cmd_output "$T/s")
zero=$(head -c 2621440 /dev/zero | md5sum | cut -c1-32)
check "snapshot=on over the VHD: the guest sees its writes (exit $rc)" \
    '[ $rc -eq 0 ] && [ "$(val vda)" = "$zero" ]'
check "snapshot=on over the VHD: the VHD keeps its data" '[ "$(host_sum "$T/d.vhd" vpc)" = "$pat" ]'
[ $rc -eq 0 ] || tail -20 "$T/s"
finish
