#!/bin/bash
# VHDX interoperability with qemu-img, both directions: images qemu-img
# makes read byte-identical, images Vessel writes read identical by
# qemu-img and pass qemu-img check, round trips through every format, a
# dirty log replayed (read-only into memory, read-write into the file) as
# qemu-img replays it, a crash of a writer in the middle of allocations,
# hostile images refused naming the field (TAP).
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
build_blkrand release || { not_ok "build blkrand"; finish; }
SEED=${SEED:-$RANDOM}
echo "# SEED=$SEED"
RANDOM=$SEED
DIRTY=$ROOT/tests/block/vhdx-dirty.py
MIB=1048576

same_as_qemu() {  # IMAGE FMT: Vessel's and qemu-img's raw flattening agree
    rm -f "$T/v.raw" "$T/q.raw"
    $V img convert -f "$2" -O raw "$1" "$T/v.raw" &&
    qemu-img convert -f "$2" -O raw "$1" "$T/q.raw" &&
    cmp "$T/v.raw" "$T/q.raw"
}
vsize() {  # qemu|vessel IMAGE FMT
    if [ "$1" = qemu ]; then qemu-img info -f "$3" --output=json "$2"
    else $V img info -f "$3" --json "$2"; fi | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1
}
scribble() {  # IMAGE FMT SIZE: random patterns at random offsets, a zeroed run, the last sector
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

# A raw disk: random data, a hole, text, and a last partial 1 MiB block.
R=$T/src.raw
head -c 3M /dev/urandom > "$R"; truncate -s 9M "$R"
yes vessel | head -c 2M >> "$R"; truncate -s 30M "$R"
head -c 7M /dev/urandom >> "$R"; head -c 1536 /dev/urandom >> "$R"

# 1. images made by qemu-img, read by Vessel
for o in subformat=dynamic subformat=fixed "subformat=dynamic,block_size=1M" \
         "subformat=dynamic,block_state_zero=off"; do
    f=$T/q-$RANDOM.vhdx
    qemu-img convert -q -f raw -O vhdx -o "$o" "$R" "$f"
    scribble "$f" vhdx "$(vsize qemu "$f" vhdx)"
    check "qemu-img vhdx ($o): same virtual size in vessel img info" \
        test "$(vsize qemu "$f" vhdx)" = "$(vsize vessel "$f" vhdx)"
    check "qemu-img vhdx ($o) with random writes reads the same" same_as_qemu "$f" vhdx
    check "qemu-img vhdx ($o): vessel img check finds it clean" $V img check "$f"
done
qemu-img create -q -f vhdx "$T/q-empty.vhdx" 3G
check "an empty qemu-img VHDX is probed, reads zeros, block size as qemu-img" bash -c "
    $V img info '$T/q-empty.vhdx' > '$T/info' && grep -q 'file format: vhdx' '$T/info' &&
    grep -q 'cluster_size: 16777216' '$T/info' &&
    $V img convert -O raw '$T/q-empty.vhdx' '$T/e.raw' && test \$(stat -c %s '$T/e.raw') = 3221225472 &&
    test \$(du -k '$T/e.raw' | cut -f1) -lt 1024"

# 2. images written by Vessel, read by qemu-img
for o in subformat=dynamic subformat=fixed "subformat=dynamic,block_size=1M" \
         "subformat=fixed,block_size=256M"; do
    f=$T/v-$RANDOM.vhdx
    check "vessel img convert -O vhdx -o $o: qemu-img reads it identical, check clean" bash -c "
        $V img convert -O vhdx -o $o '$R' '$f' && qemu-img check -f vhdx '$f' &&
        qemu-img compare -f raw -F vhdx '$R' '$f' && $V img check '$f'"
done
check "vessel img create -f vhdx: the sizes and the block size qemu-img sees" bash -c "
    $V img create -f vhdx '$T/c.vhdx' 1000M >/dev/null &&
    qemu-img info --output=json '$T/c.vhdx' > '$T/qi' &&
    grep -q '\"virtual-size\": 1048576000' '$T/qi' && grep -q '\"cluster-size\": 8388608' '$T/qi' &&
    $V img create -f vhdx -o block_size=2M '$T/c2.vhdx' 200G >/dev/null &&
    qemu-img info --output=json '$T/c2.vhdx' | grep -q '\"cluster-size\": 2097152'"
check "vessel img create -f vhdx refuses a block size that is no power of two, naming it" bash -c "
    ! $V img create -f vhdx -o block_size=3M '$T/bad.vhdx' 1G 2> '$T/err' &&
    grep -q block_size '$T/err' && ! test -e '$T/bad.vhdx'"

# random I/O through the block layer, mirrored on a raw file (1 MiB blocks
# so that many allocations go through the log)
f=$T/m.vhdx
$V img create -q -f vhdx -o block_size=1M "$f" 48M >/dev/null
rm -f "$T/m.raw"; truncate -s 48M "$T/m.raw"
check "random I/O on a vhdx matches a raw mirror; qemu-img agrees and checks it clean" bash -c "
    '$T/blkrand-release' mirror '$f' '$T/m.raw' $SEED 300 &&
    qemu-img check -f vhdx '$f' && qemu-img compare -f raw -F vhdx '$T/m.raw' '$f' &&
    $V img check '$f'"

# thin provisioning
truncate -s 1G "$T/sparse.raw"
dd if=/dev/urandom of="$T/sparse.raw" bs=1M count=1 seek=500 conv=notrunc status=none
dd if=/dev/urandom of="$T/sparse.raw" bs=1M count=2 seek=1020 conv=notrunc status=none
check "convert of a mostly empty 1 GiB disk to vhdx writes a small file" bash -c "
    $V img convert -O vhdx '$T/sparse.raw' '$T/sparse.vhdx' &&
    test \$(du -k '$T/sparse.vhdx' | cut -f1) -lt \$((30 * 1024)) &&
    qemu-img compare -F vhdx '$T/sparse.raw' '$T/sparse.vhdx'"

# 3. round trips
qemu-img convert -q -f raw -O qcow2 "$R" "$T/rt0.qcow2"
check "round trip qcow2 -> vhdx -> vpc -> vdi -> qcow2 keeps every byte" bash -c "
    $V img convert -O vhdx '$T/rt0.qcow2' '$T/rt1.vhdx' &&
    $V img convert -O vpc '$T/rt1.vhdx' '$T/rt2.vhd' &&
    $V img convert -O vdi '$T/rt2.vhd' '$T/rt3.vdi' &&
    $V img convert -O qcow2 '$T/rt3.vdi' '$T/rt4.qcow2' &&
    qemu-img check '$T/rt4.qcow2' && qemu-img compare '$T/rt0.qcow2' '$T/rt4.qcow2'"
for fmt in raw qcow2 vpc vdi; do
    check "vhdx <-> $fmt both ways keeps every byte" bash -c "
        $V img convert -O $fmt '$T/rt1.vhdx' '$T/x.$fmt' &&
        $V img convert -f $fmt -O vhdx '$T/x.$fmt' '$T/x.vhdx' &&
        qemu-img compare -f raw -F vhdx '$R' '$T/x.vhdx'"
done
qemu-img convert -q -f raw -O vmdk "$R" "$T/rt.vmdk"
check "vmdk -> vhdx keeps every byte" bash -c "
    $V img convert -O vhdx '$T/rt.vmdk' '$T/k.vhdx' && qemu-img compare -f raw -F vhdx '$R' '$T/k.vhdx'"

# 4. a dirty log: two entries of one sequence (a data sector, a zeroed
# sector), a stale entry of another LogGuid
mk_dirty() {  # NAME: $T/NAME.vhdx dirty, $T/NAME.exp its expected contents
    qemu-img convert -q -f raw -O vhdx -o block_size=1M "$R" "$T/$1.vhdx"
    cp "$R" "$T/$1.exp"
    python3 "$DIRTY" "$T/$1.vhdx" $((MIB + 4096)) $((31 * MIB + 8192)) "$T/$1.exp"
}
mk_dirty d1
check "dirty log: qemu-img refuses it read-only (the log is really pending)" bash -c "
    ! qemu-img convert -f vhdx -O raw '$T/d1.vhdx' '$T/q.raw' 2> '$T/err' && grep -q replay '$T/err'"
sum=$(md5sum < "$T/d1.vhdx")
check "dirty log: a read-only vessel open reads the replayed data, file untouched" bash -c "
    $V img convert -f vhdx -O raw '$T/d1.vhdx' '$T/v.raw' && cmp '$T/v.raw' '$T/d1.exp' &&
    test \"\$(md5sum < '$T/d1.vhdx')\" = '$sum'"
check "dirty log: vessel img check reports it (exit 2), naming the log" bash -c "
    $V img check '$T/d1.vhdx' > '$T/chk'; test \$? = 2 && grep -q 'log' '$T/chk'"
cp "$T/d1.vhdx" "$T/d1q.vhdx"
check "dirty log: qemu-img check -r all replays it to the same data" bash -c "
    qemu-img check -q -r all '$T/d1q.vhdx' && qemu-img convert -f vhdx -O raw '$T/d1q.vhdx' '$T/q.raw' &&
    cmp '$T/q.raw' '$T/d1.exp'"
check "dirty log: vessel img check --repair replays it; then qemu-img opens it read-only, same data" bash -c "
    $V img check --repair '$T/d1.vhdx' > '$T/chk' && grep -q '1 corruptions' '$T/chk' &&
    qemu-img convert -f vhdx -O raw '$T/d1.vhdx' '$T/q.raw' && cmp '$T/q.raw' '$T/d1.exp' &&
    qemu-img check -f vhdx '$T/d1.vhdx' && $V img check '$T/d1.vhdx'"
mk_dirty d2
dd if=/dev/zero of="$T/d2.exp" bs=4096 count=1 conv=notrunc status=none
check "dirty log: a read-write vessel open (a discard) replays it first" bash -c "
    '$T/blkrand-release' discard '$T/d2.vhdx' 0 4096 &&
    qemu-img convert -f vhdx -O raw '$T/d2.vhdx' '$T/q.raw' && cmp '$T/q.raw' '$T/d2.exp'"
mk_dirty d3
python3 - "$T/d3.vhdx" <<'PY'
import struct, sys
# Point entry 1's data descriptor past the end of the file; fix its CRC.
with open(sys.argv[1], "r+b") as f:
    f.seek(1 << 20); e = bytearray(f.read(8192))
    struct.pack_into("<Q", e, 64 + 16, 1 << 50)
    struct.pack_into("<I", e, 4, 0)
    t = []
    for i in range(256):
        c = i
        for _ in range(8): c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        t.append(c)
    c = 0xFFFFFFFF
    for b in e: c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    struct.pack_into("<I", e, 4, c ^ 0xFFFFFFFF)
    f.seek(1 << 20); f.write(e)
PY
check "dirty log: a descriptor pointing outside the file is refused, named" bash -c "
    ! $V img info '$T/d3.vhdx' 2> '$T/err' >/dev/null && grep -q 'descriptor 0' '$T/err' &&
    grep -q 'd3.vhdx' '$T/err'"

# 5. a writer killed in the middle of allocations (a convert with 1 MiB
# blocks, killed once the file has grown past a random size): the next
# open replays what its log holds; both tools then see the same, clean
# image whose every 64 KiB piece is the source's or zeros
# A loaded host can let the convert finish before the poll sees the size:
# then it is run again, to a smaller size (the kill must land while it
# runs: its status says so), up to five times.
head -c 160M /dev/urandom > "$T/big.raw"
f=$T/crash.vhdx
want=$(( (40 + RANDOM % 80) * MIB ))   # past the first commit (32 blocks)
for _ in 1 2 3 4 5; do
    rm -f "$f"
    $V img convert -O vhdx -o block_size=1M "$T/big.raw" "$f" &
    pid=$!
    until [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -ge $want ] || ! kill -0 $pid 2>/dev/null; do :; done
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; rc=$?
    echo "# convert ended with status $rc at $(stat -c %s "$f") bytes (aimed at $want)"
    [ $rc = 137 ] && break
    want=$(( want / 2 > 36 * MIB ? want / 2 : 36 * MIB ))
done
cp "$f" "$T/crashq.vhdx"
check "the killed writer left its log pending (qemu-img refuses a read-only open)" bash -c "
    ! qemu-img info -f vhdx '$f' 2> '$T/err' && grep -q replay '$T/err'"
check "after a killed writer: vessel replays and finds the image clean; qemu-img agrees" bash -c "
    qemu-img check -q -r all '$T/crashq.vhdx' && $V img check --repair '$f' &&
    $V img check '$f' && qemu-img check -f vhdx '$f' &&
    qemu-img compare -f vhdx -F vhdx '$f' '$T/crashq.vhdx'"
check "after a killed writer: every 64 KiB piece is the source's or zeros" bash -c "
    $V img convert -O raw '$f' '$T/crash.raw' && python3 - '$T/big.raw' '$T/crash.raw' <<'PY'
import sys
a, b = open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb')
z, bad = bytes(65536), 0
while True:
    x, y = a.read(65536), b.read(65536)
    if not x:
        break
    bad += y != x and y != z
sys.exit(1 if bad else 0)
PY"

# 6. hostile images: refused naming the file and the field
$V img convert -O vhdx "$R" "$T/h.vhdx"
hostile() {  # NAME WHAT-THE-MESSAGE-SAYS PYTHON-EDIT (f: the open file, h/rt helpers)
    cp "$T/h.vhdx" "$T/$1.vhdx"
    python3 - "$T/$1.vhdx" "$3" <<'PY'
import struct, sys
t = []
for i in range(256):
    c = i
    for _ in range(8): c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    t.append(c)
def crc(b):
    c = 0xFFFFFFFF
    for x in b: c = t[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
def reseal(f, off, n):
    f.seek(off); b = bytearray(f.read(n)); struct.pack_into("<I", b, 4, 0)
    struct.pack_into("<I", b, 4, crc(b)); f.seek(off); f.write(b)
def put(f, off, fmt, v):
    f.seek(off); f.write(struct.pack(fmt, v))
with open(sys.argv[1], "r+b") as f:
    exec(sys.argv[2])
PY
    check "hostile vhdx ($1) refused: $2" bash -c "
        ! $V img info '$T/$1.vhdx' 2> '$T/err' >/dev/null && grep -q '$2' '$T/err' &&
        grep -q '$1.vhdx' '$T/err'"
}
hostile crc1 "CRC-32C" "put(f, 65536 + 20, '<I', 7); put(f, 131072 + 20, '<I', 7)"
hostile rtcrc "region tables" "put(f, 196608 + 40, '<I', 7); put(f, 262144 + 40, '<I', 7)"
# regions: the BAT over the metadata region (both tables)
hostile overlap "overlaps" "[ (put(f, o + 32, '<Q', 2 << 20), reseal(f, o, 65536)) for o in (196608, 262144) ]"
hostile pastend "past the end" "[ (put(f, o + 32, '<Q', 1 << 40), reseal(f, o, 65536)) for o in (196608, 262144) ]"
hostile required "unknown region" "[ (put(f, o + 8, '<I', 3), f.seek(o + 80), f.write(bytes(range(16)) + struct.pack('<QII', 9 << 20, 1 << 20, 1)), reseal(f, o, 65536)) for o in (196608, 262144) ]"
hostile blocksize "BlockSize" "put(f, (2 << 20) + 65536, '<I', 3 << 20)"
hostile disksize "virtual disk size" "put(f, (2 << 20) + 65536 + 8, '<Q', 1 << 60)"
hostile batentry "BAT entry" "put(f, 3 << 20, '<Q', (1 << 44) | 6)"
hostile parent "differencing" "put(f, (2 << 20) + 65536 + 4, '<I', 2)"
finish
