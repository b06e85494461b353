#!/bin/bash
# VMDK interoperability with qemu-img, both directions, for every
# subformat; round trips through qcow2, vpc and vdi; thin provisioning;
# random writes mirrored on a raw file; hostile images and descriptors
# refused with the file and field named (TAP).
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
build_blkrand release || { not_ok "build blkrand"; finish; }
SEED=${SEED:-$RANDOM}
echo "# SEED=$SEED"
RANDOM=$SEED

same_as_qemu() { # FILE: vessel's and qemu-img's raw flattening are identical
    rm -f "$T/v.raw" "$T/q.raw"
    $V img convert -f vmdk -O raw "$1" "$T/v.raw" &&
    qemu-img convert -f vmdk -O raw "$1" "$T/q.raw" && cmp "$T/v.raw" "$T/q.raw"
}
vsize() { # TOOL FILE
    if [ "$1" = qemu ]; then qemu-img info -f vmdk --output=json "$2"
    else $V img info -f vmdk --json "$2"; fi |
        sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1
}
same_and_sized() { same_as_qemu "$1" && [ "$(vsize qemu "$1")" = "$(vsize vessel "$1")" ]; }
# Random patterns at random offsets with qemu-io, a zeroed range, data in
# the last partial grain.
scribble() { # FILE SIZE
    local f=$1 size=$2 cmds=() i off len
    for i in 1 2 3 4 5 6; do
        off=$(( (RANDOM * 32768 + RANDOM) % (size / 512 - 256) * 512 ))
        len=$(( (RANDOM % 256 + 1) * 512 ))
        cmds+=(-c "write -P $((RANDOM % 255 + 1)) $off $len")
    done
    off=$(( (RANDOM % (size / 512 - 64)) * 512 ))
    cmds+=(-c "write -z $off 32k")
    cmds+=(-c "write -P 0x5a $((size - 1536)) 1536")
    qemu-io -f vmdk "${cmds[@]}" "$f" >/dev/null
}
put_le() { # FILE OFFSET VALUE BYTES
    local v=$3 i hex=""
    for ((i = 0; i < $4; i++)); do hex+=$(printf '\\x%02x' $((v >> (8 * i) & 255))); done
    printf "$hex" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
le() { od -An -tu"$3" -j "$2" -N"$3" "$1" | tr -d ' '; }   # FILE OFFSET BYTES
refused() { # FILE WORDS...: vessel img info fails naming the file and each word
    local f=$1; shift
    ! $V img info "$f" 2> "$T/err" || return 1
    grep -q "$(basename "$f")" "$T/err" || { cat "$T/err"; return 1; }
    for w in "$@"; do grep -q -- "$w" "$T/err" || { cat "$T/err"; return 1; }; done
}

# A disk with random data, a hole, text and a last partial grain
# (37 MiB + 1536 bytes).
R=$T/src.raw
head -c 3M /dev/urandom > "$R"; truncate -s 9M "$R"
yes vessel | head -c 2M >> "$R"; truncate -s 30M "$R"
head -c 7M /dev/urandom >> "$R"; head -c 1536 /dev/urandom >> "$R"
RSIZE=$(stat -c %s "$R")

# 1. every subformat qemu-img makes, with random writes, read by vessel
for sub in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat \
           streamOptimized; do
    f=$T/q-$sub.vmdk
    qemu-img convert -q -f raw -O vmdk -o subformat=$sub "$R" "$f"
    [ $sub != streamOptimized ] && scribble "$f" "$RSIZE"
    check "qemu-img $sub (random writes, holes, partial last grain) reads the same" \
        same_and_sized "$f"
done
# qemu-io's first write gives a descriptor file a new CID, printed
# without leading zeros; when it is shorter than the old one, the old
# text's last byte stays after the NUL that now ends the text (seen with
# qemu-io 7.2, about one write in 16).  That state, made here for sure:
# vessel must read the image as qemu-img does, and write it.
check "a descriptor file with a stale byte after its NUL (qemu-io's shorter CID) reads the same" \
    bash -c "qemu-img create -q -f vmdk -o subformat=monolithicFlat '$T/cid.vmdk' 1M &&
    qemu-io -f vmdk -c 'write -P 3 0 512' '$T/cid.vmdk' >/dev/null &&
    perl -0777 -pi -e 's/^CID=[0-9a-f]+\\n/CID=abcdef1\\n/m; s/\\n\\0\\0/\\n\\0\\n/' '$T/cid.vmdk' &&
    perl -0777 -ne 'exit !/CID=abcdef1\\n.*\\n\\0\\n\\0/s' '$T/cid.vmdk' &&
    rm -f '$T/c.raw' && $V img convert -O raw '$T/cid.vmdk' '$T/c.raw' &&
    qemu-img compare -f vmdk -F raw '$T/cid.vmdk' '$T/c.raw' &&
    $V img bench -w -c 4 -s 4096 '$T/cid.vmdk' >/dev/null &&
    grep -aq '^CID=[0-9a-f]\\{8\\}\$' '$T/cid.vmdk' && qemu-img check -f vmdk '$T/cid.vmdk' &&
    rm -f '$T/c.raw' && $V img convert -O raw '$T/cid.vmdk' '$T/c.raw' &&
    qemu-img compare -f vmdk -F raw '$T/cid.vmdk' '$T/c.raw'"
# vessel renews the CID (as 8 digits) at its first write after an open, as
# qemu-img does, so a child disk can tell its parent changed; a
# read-only use leaves it
cid() { grep -a '^CID=' "$1" | cut -d= -f2; }
for sub in monolithicSparse monolithicFlat; do
    f=$T/cidw-$sub.vmdk
    check "a vessel write renews the CID of a qemu-img $sub; a read keeps it; qemu-img check clean" \
        bash -c "$(declare -f cid)
        qemu-img create -q -f vmdk -o subformat=$sub '$f' 4M &&
        c0=\$(cid '$f') && rm -f '$T/c.raw' && $V img convert -O raw '$f' '$T/c.raw' &&
        [ \"\$(cid '$f')\" = \"\$c0\" ] &&
        $V img bench -w -c 20 -s 4096 '$f' >/dev/null && c1=\$(cid '$f') &&
        [ \"\$c1\" != \"\$c0\" ] && [[ \$c1 =~ ^[0-9a-f]{8}\$ ]] &&
        qemu-img check -f vmdk '$f' >/dev/null && $V img check '$f' >/dev/null &&
        rm -f '$T/c.raw' && $V img convert -O raw '$f' '$T/c.raw' &&
        qemu-img compare -f vmdk -F raw '$f' '$T/c.raw'"
done
# extents of 2 GiB: a 5 GiB disk with data at both sides of each boundary
f=$T/q-big.vmdk
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse "$f" 5G
qemu-io -f vmdk -c "write -P 7 $(( (2 << 30) - 4096 )) 8192" \
    -c "write -P 9 $(( (4 << 30) - 512 )) 1024" -c "write -P 3 $(( (5 << 30) - 512 )) 512" \
    "$f" >/dev/null
check "twoGbMaxExtentSparse of 5 GiB: data across the extent boundaries reads the same" \
    bash -c "$V img convert -O qcow2 '$f' '$T/big.qcow2' &&
             qemu-img compare -f vmdk -F qcow2 '$f' '$T/big.qcow2'"
check "img info: a descriptor file's disk size counts its extents, as qemu-img's" bash -c "
    [ \"\$($V img info '$f' | grep '^disk size')\" = \"\$(qemu-img info '$f' | grep '^disk size')\" ]"
check "qemu-img images pass vessel img check" bash -c "
    for s in monolithicSparse twoGbMaxExtentSparse streamOptimized; do
        $V img check '$T/q-'\$s.vmdk || exit 1; done"

# 2. written by vessel, read by qemu-img
for sub in monolithicSparse streamOptimized monolithicFlat twoGbMaxExtentSparse \
           twoGbMaxExtentFlat; do
    f=$T/v-$sub.vmdk
    check "vessel img convert -O vmdk -o subformat=$sub: qemu-img reads it identical, check clean" \
        bash -c "$V img convert -O vmdk -o subformat=$sub '$R' '$f' &&
                 qemu-img compare -f raw -F vmdk '$R' '$f' && qemu-img check -f vmdk '$f' &&
                 $V img check '$f'"
done
truncate -s 3000M "$T/z3.raw"
for sub in monolithicSparse streamOptimized monolithicFlat twoGbMaxExtentSparse \
           twoGbMaxExtentFlat; do
    f=$T/c-$sub.vmdk
    check "vessel img create -f vmdk -o subformat=$sub: qemu-img sees the size, reads zeros" \
        bash -c "$V img create -f vmdk -o subformat=$sub '$f' 3000M >/dev/null &&
                 test \$(qemu-img info -f vmdk --output=json '$f' |
                         sed -n 's/.*\"virtual-size\": \([0-9]*\).*/\1/p' | head -n1) = \$((3000 << 20)) &&
                 qemu-img info '$f' | grep -q 'create type: $sub' &&
                 qemu-img compare -f vmdk -F raw '$f' '$T/z3.raw'"
done
check "qemu-io writes into vessel-made images of every writable subformat" bash -c "
    for s in monolithicSparse twoGbMaxExtentSparse monolithicFlat; do
        qemu-io -f vmdk -c 'write -P 0x11 1M 128k' '$T/c-'\$s.vmdk >/dev/null &&
        qemu-img check -f vmdk '$T/c-'\$s.vmdk >/dev/null || exit 1
        $V img convert -O raw '$T/c-'\$s.vmdk '$T/c.raw' &&
        qemu-img compare -f vmdk -F raw '$T/c-'\$s.vmdk '$T/c.raw' || exit 1
    done"

check "an empty qemu-img streamOptimized image takes vessel's in-order writes; qemu-img reads them" \
    bash -c "qemu-img create -q -f vmdk -o subformat=streamOptimized '$T/qs.vmdk' 64M &&
             $V img bench -w -d 1 -c 100 -s 65536 -S 65536 '$T/qs.vmdk' >/dev/null &&
             qemu-img check -f vmdk '$T/qs.vmdk' &&
             qemu-io -f vmdk -c 'read -P 0xa5 0 6553600' '$T/qs.vmdk' | grep -q '^read 6553600/' &&
             ! qemu-io -f vmdk -c 'read -P 0xa5 0 6553600' '$T/qs.vmdk' | grep -q 'verification failed'"

# random writes, discards and write-zeroes through the block layer on a
# monolithicSparse image (vessel's, then qemu's), mirrored on a raw file
for who in vessel qemu; do
    f=$T/m-$who.vmdk
    if [ $who = vessel ]; then $V img create -f vmdk "$f" 48M >/dev/null
    else qemu-img create -q -f vmdk "$f" 48M; fi
    rm -f "$T/m.raw"; truncate -s 48M "$T/m.raw"
    check "random I/O on a $who-made monolithicSparse matches a raw mirror; qemu-img agrees" \
        bash -c "'$T/blkrand-release' mirror '$f' '$T/m.raw' $SEED 300 &&
                 qemu-img compare -f raw -F vmdk '$T/m.raw' '$f' &&
                 qemu-img check -f vmdk '$f' && $V img check '$f' &&
                 test \$(od -An -tu1 -j 72 -N1 '$f' | tr -d ' ') = 0"
done

# 3. round trips
qemu-img convert -q -f raw -O qcow2 "$R" "$T/rt0.qcow2"
check "round trip qcow2 -> vmdk -> vpc -> vmdk(stream) -> vdi -> vmdk -> qcow2 keeps every byte" \
    bash -c "$V img convert -O vmdk '$T/rt0.qcow2' '$T/rt1.vmdk' &&
             $V img convert -O vpc '$T/rt1.vmdk' '$T/rt2.vhd' &&
             $V img convert -O vmdk -o subformat=streamOptimized '$T/rt2.vhd' '$T/rt3.vmdk' &&
             $V img convert -O vdi '$T/rt3.vmdk' '$T/rt4.vdi' &&
             $V img convert -O vmdk '$T/rt4.vdi' '$T/rt5.vmdk' &&
             $V img convert -O qcow2 '$T/rt5.vmdk' '$T/rt6.qcow2' &&
             qemu-img check '$T/rt6.qcow2' && qemu-img compare '$T/rt0.qcow2' '$T/rt6.qcow2'"
check "round trip through qemu-img: vessel vmdk -> qemu vdi/vpc -> vessel vmdk" bash -c "
    qemu-img convert -f vmdk -O vdi '$T/rt1.vmdk' '$T/rt7.vdi' &&
    $V img convert -O vmdk '$T/rt7.vdi' '$T/rt8.vmdk' &&
    qemu-img convert -f vmdk -O vpc '$T/rt8.vmdk' '$T/rt9.vhd' &&
    $V img convert -O vmdk -o subformat=streamOptimized '$T/rt9.vhd' '$T/rt10.vmdk' &&
    qemu-img compare -f raw -F vmdk '$R' '$T/rt10.vmdk'"

# 4. thin provisioning: a 1 GiB disk with 3 MiB of data stays small
truncate -s 1G "$T/sparse.raw"
dd if=/dev/urandom of="$T/sparse.raw" bs=1M count=1 seek=500 conv=notrunc status=none
dd if=/dev/urandom of="$T/sparse.raw" bs=1M count=2 seek=1020 conv=notrunc status=none
for sub in monolithicSparse streamOptimized; do
    check "convert of a mostly empty 1 GiB disk to $sub writes a small file" bash -c "
        $V img convert -O vmdk -o subformat=$sub '$T/sparse.raw' '$T/sparse-$sub.vmdk' &&
        test \$(du -k '$T/sparse-$sub.vmdk' | cut -f1) -lt 8192 &&
        qemu-img compare -F vmdk '$T/sparse.raw' '$T/sparse-$sub.vmdk'"
done

# 5. writes where they are not supported: refused with a message
check "a streamOptimized image holding data is not rewritten (append-only)" bash -c "
    ! $V img bench -w -c 1 '$T/v-streamOptimized.vmdk' 2> '$T/err' &&
    grep -q 'append-only' '$T/err' && grep -q 'v-streamOptimized.vmdk' '$T/err'"
# descriptor files are written too: FLAT in place, SPARSE extents as
# monolithicSparse; 4500 MiB crosses two 2 GiB extent boundaries
for spec in monolithicFlat:48M:300 twoGbMaxExtentSparse:4500M:30 twoGbMaxExtentFlat:4500M:30; do
    IFS=: read -r sub size steps <<< "$spec"
    f=$T/w-$sub.vmdk
    $V img create -f vmdk -o subformat=$sub "$f" "$size" >/dev/null
    rm -f "$T/m.raw"; truncate -s "$size" "$T/m.raw"
    check "random I/O on a vessel-made $sub ($size) matches a raw mirror; qemu-img agrees" \
        bash -c "'$T/blkrand-release' mirror '$f' '$T/m.raw' $SEED $steps &&
                 qemu-img compare -f raw -F vmdk '$T/m.raw' '$f' && qemu-img check -f vmdk '$f'"
done
rm -f "$T/m.raw" "$T"/w-twoGb*

# 6. check: tables, the redundant directory, grains used twice, the
# unclean-shutdown byte
H=$T/m-vessel.vmdk
rgd=$(le "$H" 48 8); gd=$(le "$H" 56 8)
cp "$H" "$T/k1.vmdk"; put_le "$T/k1.vmdk" $((rgd * 512)) 0 4
check "check: a redundant directory that disagrees is a corruption" bash -c "
    ! $V img check '$T/k1.vmdk' > '$T/out' 2>&1; grep -q 'redundant' '$T/out'"
cp "$H" "$T/k2.vmdk"; qemu-io -f vmdk -c 'write -P 1 0 64k' "$T/k2.vmdk" >/dev/null
gt=$(le "$T/k2.vmdk" $((gd * 512)) 4); rgt=$(le "$T/k2.vmdk" $((rgd * 512)) 4)
g0=$(le "$T/k2.vmdk" $((gt * 512)) 4)
for t in $gt $rgt; do put_le "$T/k2.vmdk" $((t * 512 + 4 * 300)) "$g0" 4; done
check "check: one grain named by two entries is a corruption" bash -c "
    [ '$g0' != 0 ] && ! $V img check '$T/k2.vmdk' > '$T/out' 2>&1 &&
    grep -q 'both use sector $g0' '$T/out'"
cp "$H" "$T/k3.vmdk"; printf '\x01' | dd of="$T/k3.vmdk" bs=1 seek=72 conv=notrunc status=none
check "check: the unclean-shutdown byte is reported" bash -c "
    $V img check '$T/k3.vmdk' 2>&1 | grep -q 'unclean shutdown'"

# 7. hostile images
F=$T/q-monolithicSparse.vmdk
cp "$F" "$T/h1.vmdk"; put_le "$T/h1.vmdk" 20 100 8
check "hostile: grain size no power of two" refused "$T/h1.vmdk" 'grain size'
cp "$F" "$T/h2.vmdk"; put_le "$T/h2.vmdk" 56 $((1 << 40)) 8
check "hostile: grain directory past the end" refused "$T/h2.vmdk" 'gd offset'
cp "$F" "$T/h3.vmdk"; put_le "$T/h3.vmdk" 12 $((1 << 50)) 8
check "hostile: absurd capacity" refused "$T/h3.vmdk" 'capacity'
cp "$F" "$T/h4.vmdk"; g=$(le "$F" 56 8); put_le "$T/h4.vmdk" $((g * 512)) 4000000000 4
check "hostile: grain table outside the file" refused "$T/h4.vmdk" 'gd offset entry 0'
cp "$T/v-streamOptimized.vmdk" "$T/h5.vmdk"
sz=$(stat -c %s "$T/h5.vmdk"); fgd=$(le "$T/h5.vmdk" $((sz - 1024 + 56)) 8)
fgt=$(le "$T/h5.vmdk" $((fgd * 512)) 4); fg0=$(le "$T/h5.vmdk" $((fgt * 512)) 4)
put_le "$T/h5.vmdk" $((fg0 * 512 + 8)) 4000000 4
check "hostile: a compressed grain whose length lies fails the read, named" bash -c "
    ! $V img convert -O raw '$T/h5.vmdk' '$T/h5.raw' 2> '$T/err' &&
    grep -q 'grain marker at offset $((fg0 * 512))' '$T/err' && grep -q h5.vmdk '$T/err'"
D=$T/desc; mkdir -p "$D/sub"; truncate -s 1M "$D/flat.img" "$D/sub/in.img" "$T/outside.img"
mkdesc() { # NAME EXTENT-LINES...
    local n=$1; shift
    { printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
      printf 'createType="monolithicFlat"\n'; printf '%s\n' "$@"; } > "$D/$n"
}
mkdesc ok.vmdk 'RW 1024 FLAT "flat.img" 0' 'RW 2048 FLAT "sub/in.img" 0' 'RW 100 ZERO'
check "writes into RDONLY and ZERO extents fail (EROFS; messages: test_vmdk.c)" bash -c "
    sed 's/^RW 1024 FLAT/RDONLY 1024 FLAT/' '$D/ok.vmdk' > '$D/ro.vmdk' &&
    ! $V img bench -w -c 1 '$D/ro.vmdk' 2> '$T/err' && grep -q 'Read-only file system' '$T/err' &&
    ! $V img bench -w -c 1 -o $((3072 * 512)) -s 512 '$D/ok.vmdk' 2> '$T/err' &&
    grep -q 'Read-only file system' '$T/err' &&
    $V img bench -w -c 1 -o $((1024 * 512)) -s 512 '$D/ok.vmdk'"
check "a hand-written descriptor: FLAT in a subdirectory and ZERO extents read" bash -c "
    $V img info '$D/ok.vmdk' | grep -q '(1624064 bytes)' &&
    qemu-img compare -f vmdk -F vmdk '$D/ok.vmdk' '$D/ok.vmdk' &&
    $V img convert -O raw '$D/ok.vmdk' '$T/ok.raw' && qemu-img compare -F vmdk '$T/ok.raw' '$D/ok.vmdk'"
mkdesc past.vmdk 'RW 4096 FLAT "flat.img" 0'
check "hostile: a FLAT extent past the end of its file" refused "$D/past.vmdk" 'extent 1' 'past the end'
mkdesc up.vmdk 'RW 1024 FLAT "../outside.img" 0'
check "hostile: an extent that climbs out of the directory (..)" refused "$D/up.vmdk" 'outside the directory'
mkdesc abs.vmdk "RW 1024 FLAT \"$T/outside.img\" 0"
check "hostile: an absolute extent path outside the directory" refused "$D/abs.vmdk" 'outside the directory'
ln -sf "$T/outside.img" "$D/link.img"
mkdesc link.vmdk 'RW 1024 FLAT "link.img" 0'
check "hostile: a symlink out of the directory" refused "$D/link.vmdk" 'resolves to'
mkdesc self.vmdk 'RW 1 FLAT "self.vmdk" 0'
check "hostile: an extent that is the descriptor itself (loop)" refused "$D/self.vmdk" 'descriptor file itself'
$V img create -f vmdk -o subformat=twoGbMaxExtentSparse "$D/t.vmdk" 4K >/dev/null
mkdesc twice.vmdk 'RW 8 SPARSE "t-s001.vmdk"' 'RW 8 SPARSE "t-s001.vmdk"'
check "hostile: a sparse extent file used twice" refused "$D/twice.vmdk" 'extents 1 and 2'
mkdesc key.vmdk 'RW 1024 FLAT "flat.img" 0' 'evil=1'
check "hostile: an unknown descriptor key" refused "$D/key.vmdk" 'line 7' 'unknown key'
mkdesc many.vmdk; yes 'RW 1 ZERO' | head -n 4100 >> "$D/many.vmdk"
check "hostile: more than 4096 extents" refused "$D/many.vmdk" 'more than 4096 extents'
mkdesc long.vmdk "RW 1024 FLAT \"$(head -c 2000 /dev/zero | tr '\0' a)\" 0"
check "hostile: a line over 1024 bytes" refused "$D/long.vmdk" 'longer than 1024'
mkdesc par.vmdk 'RW 1024 FLAT "flat.img" 0'; sed -i 's/parentCID=ffffffff/parentCID=01020304/' "$D/par.vmdk"
check "a VMDK with a parent is refused" refused "$D/par.vmdk" 'parent'
cp "$T/q-twoGbMaxExtentSparse.vmdk" "$D/cap.vmdk"; cp "$T/q-twoGbMaxExtentSparse-s001.vmdk" "$D/"
sed -i 's/^RW [0-9]* SPARSE/RW 64 SPARSE/' "$D/cap.vmdk"
check "hostile: a sparse extent whose header capacity differs from its line" \
    refused "$D/cap.vmdk" 'header capacity'
finish
