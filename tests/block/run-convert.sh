#!/bin/bash
# vessel img convert (src/cli/img_convert.c): every output format reads
# the same as the source in qemu-img and stays thin (holes and all-zero
# data are not allocated); -t decides whether the output is synced; a
# read error or a write error in the middle of the copy stops it with a
# message naming the image, without hanging, and removes the output it
# created (TAP).
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
cd "$T" || exit 1

# 64 MiB source: 1 MiB pieces of data across the 2 MiB copy chunks (so
# the reader's ring of buffers wraps many times), a 1 MiB range written
# with zeros (allocated data that is all zero), a partial last cluster.
qemu-img create -q -f qcow2 src.qcow2 64M
qemu-io -f qcow2 -c "write -P 0x11 0 1M" -c "write -P 0x22 3M 1M" \
    -c "write -P 0x33 17M 64k" -c "write -P 0 20M 1M" \
    -c "write -P 0x44 40960k 2M" -c "write -P 0x55 63M 1M" \
    -c "write -P 0x66 12M 512" src.qcow2 > /dev/null
# Bytes of data a thin copy holds: 1+1+1+2 MiB, 64 KiB, one 64 KiB piece
# for the 512 bytes at 12M (the zero range is not data).
DATA=$(( (5 << 20) + 65536 + 65536 ))

# Bytes qemu-img maps as data in image $1 (format $2).
mapped() {
    qemu-img map -f "$2" --output=json "$1" | python3 -c '
import json, sys
print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]))'
}
for fmt in qcow2 raw vpc vdi; do
    check "convert qcow2 -> $fmt reads the same (qemu-img compare)" bash -c "
        $V img convert -O $fmt src.qcow2 o.$fmt &&
        qemu-img compare -q -f qcow2 -F $fmt src.qcow2 o.$fmt"
done
check "qcow2 output is clean (qemu-img check)" qemu-img check -q o.qcow2
check "vdi output is clean (qemu-img check)" qemu-img check -q -f vdi o.vdi
check "qcow2 output allocates only the non-zero 64 KiB pieces ($DATA bytes)" \
    test "$(mapped o.qcow2 qcow2)" = "$DATA"
check "raw output keeps the holes (file allocation <= data + 64 KiB)" \
    test $(( $(stat -c %b o.raw) * 512 )) -le $(( DATA + 65536 ))
# VHD and VDI blocks are 2 MiB / 1 MiB: a block is allocated when any
# piece in it holds data; the zero range and the holes stay unallocated.
check "vdi output allocates only the blocks holding data (7 MiB)" \
    test "$(mapped o.vdi vdi)" = $((7 << 20))
check "vpc output allocates only the blocks holding data (12 MiB)" \
    test "$(mapped o.vpc vpc)" = $((12 << 20))
check "back to qcow2 from vpc and vdi: still thin" bash -c "
    $V img convert -O qcow2 o.vpc b1.qcow2 && $V img convert -O qcow2 o.vdi b2.qcow2 &&
    test \$(qemu-img map --output=json b1.qcow2 | grep -c '\"data\": true') -ge 1 &&
    qemu-img compare -q src.qcow2 b1.qcow2 && qemu-img compare -q src.qcow2 b2.qcow2 &&
    test \"\$(qemu-img map -f qcow2 --output=json b1.qcow2 | python3 -c '
import json, sys
print(sum(e[\"length\"] for e in json.load(sys.stdin) if e[\"data\"]))')\" = $DATA"

# -t: the output is fdatasynced before convert returns only when asked.
if command -v strace > /dev/null; then
    syncs() { strace -f -e trace=fsync,fdatasync -o "$T/st" "$@" > /dev/null 2>&1; grep -c sync "$T/st"; }
    for fmt in qcow2 vdi; do
        d=$(syncs $VESSEL img convert -O $fmt src.qcow2 s.$fmt)
        w=$(syncs $VESSEL img convert -t writeback -O $fmt src.qcow2 s.$fmt)
        u=$(syncs $VESSEL img convert -t unsafe -O $fmt src.qcow2 s.$fmt)
        check "-O $fmt: -t writeback syncs once more than the default ($w vs $d)" test "$w" = $((d + 1))
        check "-O $fmt: -t unsafe is the default ($u vs $d)" test "$u" = "$d"
    done
    # VHDX orders its BAT updates through its log with syncs of its own;
    # an output nobody needs consistent after a host crash skips them.
    d=$(syncs $VESSEL img convert -O vhdx src.qcow2 s.vhdx)
    w=$(syncs $VESSEL img convert -t writeback -O vhdx src.qcow2 s.vhdx)
    check "-O vhdx: the default skips the log's ordering syncs ($d, -t writeback $w)" \
        bash -c "[ $d -le 1 ] && [ $w -gt $((d + 1)) ]"
else
    ok "# SKIP strace not installed (sync count)"
fi
check "-t writeback output reads the same" bash -c "
    $V img convert -t writeback -O qcow2 src.qcow2 w.qcow2 && qemu-img compare -q src.qcow2 w.qcow2"
check "-t with an unknown mode is refused, naming the accepted ones, nothing created" bash -c "
    ! $V img convert -t fast -O qcow2 src.qcow2 bad.qcow2 2> err &&
    grep -q \"unknown cache mode 'fast' for -t\" err && grep -q writeback err && test ! -e bad.qcow2"
check "-T is accepted (the source is only read)" bash -c "
    $V img convert -T none -O raw src.qcow2 t.raw && qemu-img compare -q src.qcow2 t.raw"

# A read error in the middle: the L2 entry of the cluster at 63 MiB
# points past the end of the file.  The data before it has been written;
# convert exits 1 naming the source, and does not hang.
cp src.qcow2 bad.qcow2
host=$(qemu-img map --output=json bad.qcow2 | python3 -c '
import json, sys
print([e["offset"] for e in json.load(sys.stdin) if e["start"] == 63 << 20][0])')
python3 - bad.qcow2 "$host" <<'PY'
import struct, sys
path, host = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
old = struct.pack(">Q", host | 1 << 63)
i = data.index(old)
data[i:i + 8] = struct.pack(">Q", (1 << 40) | 1 << 63)
open(path, "wb").write(data)
PY
check "a read error mid-copy fails with a message naming the source" bash -c "
    ! timeout 60 $V img convert -O qcow2 bad.qcow2 rb.qcow2 2> err; rc=\$?
    cat err; test \$rc -ne 124 && grep -q bad.qcow2 err"
check "the incomplete output it created is removed, saying so" bash -c "
    test ! -e rb.qcow2 && grep -q 'removed the incomplete rb.qcow2' err"
check "an output that existed before is not removed" bash -c "
    echo old > ex.qcow2 && ! $V img convert -O qcow2 bad.qcow2 ex.qcow2 2> err &&
    test -e ex.qcow2 && ! grep -q removed err"
# A write error in the middle: the qcow2 output may not grow past 3 MiB
# (it needs 5 MiB and more).
check "a write error mid-copy fails with a message naming the output" bash -c "
    ( trap '' XFSZ; ulimit -f 3072; ! timeout 60 $V img convert -O qcow2 src.qcow2 wb.qcow2 2> err ); rc=\$?
    cat err; test \$rc -eq 0 && grep -q 'wb.qcow2: writing data' err && test ! -e wb.qcow2"
finish
