#!/bin/bash
# VHD (qemu-img's vpc) and VDI interoperability with qemu-img, both
# directions, and round trips through qcow2; VMDK monolithicSparse and
# streamOptimized read (TAP).
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
build_blkrand release || { not_ok "build blkrand"; finish; }
SEED=${SEED:-$RANDOM}
echo "# SEED=$SEED"
RANDOM=$SEED

# Vessel's and qemu-img's raw flattening of $1 (format $2) must be
# byte-identical.
same_as_qemu() {
    rm -f "$T/v.raw" "$T/q.raw"
    $V img convert -f "$2" -O raw "$1" "$T/v.raw" &&
    qemu-img convert -f "$2" -O raw "$1" "$T/q.raw" &&
    cmp "$T/v.raw" "$T/q.raw"
}
# The virtual size (bytes) a tool reports for $2 (format $3).
vsize() {
    if [ "$1" = qemu ]; then qemu-img info -f "$3" --output=json "$2"
    else $V img info -f "$3" --json "$2"; fi | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1
}
# Random patterns at random offsets of image $1 (format $2, size $3 bytes)
# with qemu-io, and some zeroed ranges; the last partial block gets data.
scribble() {
    local f=$1 fmt=$2 size=$3 cmds=() i off len
    for i in 1 2 3 4 5 6; do
        off=$(( (RANDOM * 32768 + RANDOM) % (size / 512 - 256) * 512 ))
        len=$(( (RANDOM % 256 + 1) * 512 ))
        cmds+=(-c "write -P $((RANDOM % 255 + 1)) $off $len")
    done
    off=$(( (RANDOM % (size / 512 - 64)) * 512 ))
    cmds+=(-c "write -z $off 32k")
    cmds+=(-c "write -P 0x5a $((size - 4096)) 4096")
    qemu-io -f "$fmt" "${cmds[@]}" "$f" >/dev/null
}

# A raw disk with random data, a hole, a run of text and a last partial
# 1 MiB / 2 MiB block (37 MiB + 1536 bytes).
R=$T/src.raw
head -c 3M /dev/urandom > "$R"; truncate -s 9M "$R"
yes vessel | head -c 2M >> "$R"; truncate -s 30M "$R"
head -c 7M /dev/urandom >> "$R"; head -c 1536 /dev/urandom >> "$R"
RSIZE=$(stat -c %s "$R")

# 1. images made by qemu-img, read by Vessel
for spec in vpc:dynamic vpc:fixed vdi:dynamic vdi:static; do
    fmt=${spec%%:*}; sub=${spec#*:}
    o=subformat=$sub; [ "$spec" = vdi:static ] && o=static=on; [ "$spec" = vdi:dynamic ] && o=static=off
    f=$T/q-$sub.$fmt
    qemu-img convert -q -f raw -O $fmt -o $o "$R" "$f"
    scribble "$f" $fmt "$(vsize qemu "$f" $fmt)"
    check "qemu-img $fmt $sub image: same virtual size in vessel img info" \
        test "$(vsize qemu "$f" $fmt)" = "$(vsize vessel "$f" $fmt)"
    check "qemu-img $fmt $sub image with random writes reads the same" same_as_qemu "$f" $fmt
done
f=$T/q-empty.vpc
qemu-img create -q -f vpc "$f" 100M
check "an empty qemu-img VHD reads as zeros and is probed" bash -c "
    $V img info '$f' | grep -q 'file format: vpc' && $V img convert -O raw '$f' '$T/e.raw' &&
    cmp '$T/e.raw' <(head -c \$(stat -c %s '$T/e.raw') /dev/zero)"
f=$T/q-force.vpc
qemu-img create -q -f vpc -o force_size=on "$f" 10000000
check "force_size VHD (creator qem2): current size used, as qemu-img" \
    test "$(vsize qemu "$f" vpc)" = "$(vsize vessel "$f" vpc)"
# A footer whose current size is not its CHS size, under several creators:
# both tools must pick the same one.
reseal() { # FILE CREATOR CURRENT-SIZE: edit both footers, fix the checksum
    python3 - "$@" <<'PY'
import struct, sys
path, creator, cur = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(-512, 2); foot = bytearray(f.read(512))
    foot[28:32] = creator.ljust(4)[:4]; foot[48:56] = struct.pack(">Q", cur)
    foot[64:68] = bytes(4); foot[64:68] = struct.pack(">I", ~sum(foot) & 0xffffffff)
    f.seek(-512, 2); f.write(foot); f.seek(0); f.write(foot)
PY
}
for creator in "vpc " "win " "d2v " qemu; do
    f=$T/creator.vpc; rm -f "$f"; qemu-img create -q -f vpc "$f" 10M
    reseal "$f" "$creator" 10485760
    check "VHD by creator '$creator' with current size != CHS: same size as qemu-img" \
        test "$(vsize qemu "$f" vpc)" = "$(vsize vessel "$f" vpc)"
done
check "vessel img info prints the block size as cluster_size" bash -c "
    $V img info '$T/q-dynamic.vpc' | grep -q 'cluster_size: 2097152' &&
    $V img info '$T/q-dynamic.vdi' | grep -q 'cluster_size: 1048576'"
check "vessel img check: qemu-img images are clean" bash -c "
    $V img check '$T/q-dynamic.vpc' && $V img check '$T/q-dynamic.vdi' &&
    $V img check '$T/q-static.vdi'"

# 2. images written by Vessel, read by qemu-img
for spec in vpc:dynamic vpc:fixed vdi:dynamic vdi:static; do
    fmt=${spec%%:*}; sub=${spec#*:}
    f=$T/v-$sub.$fmt
    check "vessel img convert -O $fmt -o subformat=$sub: qemu-img reads it identical" bash -c "
        $V img convert -O $fmt -o subformat=$sub '$R' '$f' &&
        qemu-img compare -f raw -F $fmt '$R' '$f'"
    [ $fmt = vdi ] && check "qemu-img check passes on vessel's $sub VDI" qemu-img check -f vdi "$f"
done
check "vessel img create -f vhd makes a VHD qemu-img sizes the same" bash -c "
    $V img create -f vhd '$T/c.vhd' 1000M >/dev/null &&
    test \$(qemu-img info --output=json '$T/c.vhd' | sed -n 's/.*\"virtual-size\": \([0-9]*\).*/\1/p') = \
         \$($V img info --json '$T/c.vhd' | sed -n 's/.*\"virtual-size\": \([0-9]*\).*/\1/p')"

# thin provisioning: a 1 GiB disk with 3 MiB of data stays small
truncate -s 1G "$T/sparse.raw"
dd if=/dev/urandom of="$T/sparse.raw" bs=1M count=1 seek=500 conv=notrunc status=none
dd if=/dev/urandom of="$T/sparse.raw" bs=1M count=2 seek=1020 conv=notrunc status=none
for fmt in vpc vdi; do
    check "convert of a mostly empty 1 GiB disk to $fmt writes a small file" bash -c "
        $V img convert -O $fmt '$T/sparse.raw' '$T/sparse.$fmt' &&
        test \$(stat -c %s '$T/sparse.$fmt') -lt \$((12 << 20)) &&
        qemu-img compare -F $fmt '$T/sparse.raw' '$T/sparse.$fmt'"
done
check "convert of a zero-filled qcow2 to vdi allocates no block" bash -c "
    qemu-img create -q -f qcow2 '$T/z.qcow2' 64M &&
    qemu-io -f qcow2 -c 'write -P 0 0 16M' '$T/z.qcow2' >/dev/null &&
    $V img convert -O vdi '$T/z.qcow2' '$T/z.vdi' &&
    $V img check '$T/z.vdi' | grep -q '^0/64 '"

# random writes, discards and write-zeroes through the block layer,
# mirrored on a raw file; then qemu-img reads the same and checks
for fmt in vpc vdi; do
    f=$T/m.$fmt
    $V img create -q -f $fmt "$f" 48M >/dev/null
    rm -f "$T/m.raw"; truncate -s "$(vsize vessel "$f" $fmt)" "$T/m.raw"
    check "random I/O on a $fmt image matches a raw mirror; qemu-img agrees" bash -c "
        '$T/blkrand-release' mirror '$f' '$T/m.raw' $SEED 300 &&
        qemu-img compare -f raw -F $fmt '$T/m.raw' '$f' &&
        { [ $fmt != vdi ] || qemu-img check -f vdi '$f'; } && $V img check '$f'"
done

# 3. round trips
qemu-img convert -q -f raw -O qcow2 "$R" "$T/rt0.qcow2"
check "round trip qcow2 -> vhd -> vdi -> qcow2 keeps every byte" bash -c "
    $V img convert -O vpc '$T/rt0.qcow2' '$T/rt1.vhd' &&
    $V img convert -O vdi '$T/rt1.vhd' '$T/rt2.vdi' &&
    $V img convert -O qcow2 '$T/rt2.vdi' '$T/rt3.qcow2' &&
    qemu-img check '$T/rt3.qcow2' && qemu-img compare '$T/rt0.qcow2' '$T/rt3.qcow2'"
check "round trip vdi (qemu) -> vhd (vessel) -> vdi (qemu) keeps every byte" bash -c "
    $V img convert -O vpc '$T/q-dynamic.vdi' '$T/rt4.vhd' &&
    qemu-img convert -f vpc -O vdi '$T/rt4.vhd' '$T/rt5.vdi' &&
    qemu-img compare -f vdi -F vdi '$T/q-dynamic.vdi' '$T/rt5.vdi'"

# 4. VMDK monolithicSparse and streamOptimized read (the rest: run-vmdk-interop.sh)
same_and_sized() { same_as_qemu "$1" "$2" && [ "$(vsize qemu "$1" "$2")" = "$(vsize vessel "$1" "$2")" ]; }
for o in "" compat6=on zeroed_grain=on; do
    f=$T/q${o%%=*}.vmdk; rm -f "$f"
    qemu-img convert -q -f raw -O vmdk ${o:+-o $o} "$R" "$f"
    scribble "$f" vmdk "$RSIZE"
    check "qemu-img VMDK (${o:-default}) with random writes reads the same, same size" \
        same_and_sized "$f" vmdk
done
V6=$T/q.vmdk
check "VMDK: probed, info and check work, round trip vmdk -> vdi -> vhd -> qcow2" bash -c "
    $V img info '$V6' | grep -q 'file format: vmdk' && $V img check '$V6' &&
    $V img convert -O vdi '$V6' '$T/k.vdi' && $V img convert -O vpc '$T/k.vdi' '$T/k.vhd' &&
    $V img convert -O qcow2 '$T/k.vhd' '$T/k.qcow2' && qemu-img compare '$V6' '$T/k.qcow2'"
check "VMDK: resizing is refused with a message (writes: run-vmdk-interop.sh)" bash -c "
    ! $V img resize '$V6' +1M 2> '$T/err' && grep -q 'resizing a VMDK is not supported' '$T/err'"
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$R" "$T/so.vmdk"
check "VMDK streamOptimized (compressed grains) reads the same, same size" \
    same_and_sized "$T/so.vmdk" vmdk
# The grain directory offset only in the footer (GD_AT_END): the header
# copied to the second-to-last sector after a footer marker, ones in the
# header's field.
SZ=$(stat -c %s "$T/so.vmdk"); cp "$T/so.vmdk" "$T/end.vmdk"
dd if="$T/so.vmdk" of="$T/end.vmdk" bs=512 count=1 seek=$((SZ / 512 - 2)) conv=notrunc status=none
dd if=/dev/zero of="$T/end.vmdk" bs=512 count=1 seek=$((SZ / 512 - 3)) conv=notrunc status=none
printf '\x01' | dd of="$T/end.vmdk" bs=1 seek=$((SZ - 1536)) conv=notrunc status=none
printf '\x03' | dd of="$T/end.vmdk" bs=1 seek=$((SZ - 1536 + 12)) conv=notrunc status=none
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$T/end.vmdk" bs=1 seek=56 conv=notrunc status=none
check "VMDK streamOptimized with GD_AT_END: the footer's grain directory is used" \
    same_and_sized "$T/end.vmdk" vmdk
cp "$T/so.vmdk" "$T/bad.vmdk"
gd=$(od -An -tu8 -j 56 -N8 "$T/bad.vmdk" | tr -d ' ')
gt=$(od -An -tu4 -j $((gd * 512)) -N4 "$T/bad.vmdk" | tr -d ' ')
g0=$(od -An -tu4 -j $((gt * 512)) -N4 "$T/bad.vmdk" | tr -d ' ')
printf 'garbage!garbage!' | dd of="$T/bad.vmdk" bs=1 seek=$((g0 * 512 + 12)) conv=notrunc status=none
check "VMDK: a compressed grain that does not inflate fails the read, named" bash -c "
    ! $V img convert -O raw '$T/bad.vmdk' '$T/bad.raw' 2> '$T/err' &&
    grep -q 'compressed grain at offset $((g0 * 512))' '$T/err'"
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
put_le() { # FILE OFFSET VALUE BYTES
    local v=$3 i hex=""
    for ((i = 0; i < $4; i++)); do hex+=$(printf '\\x%02x' $((v >> (8 * i) & 255))); done
    printf "$hex" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$V6" "$T/h1.vmdk"; put_le "$T/h1.vmdk" 20 100 8
check "VMDK: a grain size that is no power of two is refused, the field named" bash -c "
    ! $V img info '$T/h1.vmdk' 2> '$T/err' && grep -q 'grain size' '$T/err' && grep -q h1.vmdk '$T/err'"
cp "$V6" "$T/h2.vmdk"; put_le "$T/h2.vmdk" 56 $((1 << 40)) 8
check "VMDK: a grain directory past the end is refused, the field named" bash -c "
    ! $V img info '$T/h2.vmdk' 2> '$T/err' && grep -q 'gd offset' '$T/err'"
cp "$V6" "$T/h3.vmdk"
gd=$(od -An -tu8 -j 56 -N8 "$T/h3.vmdk" | tr -d ' ')
gt=$(le32 "$T/h3.vmdk" $((gd * 512)))
put_le "$T/h3.vmdk" $((gt * 512)) $((0x7fffffff)) 4
check "VMDK: a grain table entry past the end fails the read and check, named" bash -c "
    ! $V img convert -O raw '$T/h3.vmdk' '$T/h3.raw' 2> '$T/err' &&
    grep -q 'grain table 0 entry 0' '$T/err' && ! $V img check '$T/h3.vmdk' > '$T/chk' &&
    grep -q 'grain table 0 entry 0' '$T/chk'"

# 5. damage
f=$T/dmg.vpc; cp "$T/v-dynamic.vpc" "$f"
printf 'XXXX' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") - 512 + 100 )) conv=notrunc status=none
check "a VHD whose end footer is damaged reads through the copy at offset 0" bash -c "
    $V img convert -O raw '$f' '$T/d.raw' && cmp <(head -c $RSIZE '$T/d.raw') '$R'"
check "vessel img check reports the damaged footer as a corruption" bash -c "
    ! $V img check '$f' > '$T/chk' 2>&1; grep -q 'footer at the end' '$T/chk' &&
    grep -q '1 errors were found' '$T/chk'"
printf 'XXXX' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
check "a VHD with both footers damaged is refused, the footer named" bash -c "
    ! $V img info '$f' 2> '$T/err' >/dev/null && grep -q 'footer' '$T/err' &&
    grep -q checksum '$T/err'"
finish
