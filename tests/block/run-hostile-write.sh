#!/bin/bash
# Hostile images on the write path (TAP): metadata that names other
# metadata, refcount blocks shared by many table entries, headers that
# cannot be rebuilt.  Every case must end quickly in a clean error, with no
# sanitizer report, no metadata overwritten, and the image marked corrupt
# where a write was refused (qemu-img must agree).  Runs the ASan+UBSan
# build when available.
. "$(dirname "$0")/lib.sh"
V=$VESSEL_ASAN
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"

poke() { # FILE OFFSET HEXBYTES
    local f=$1 off=$2; shift 2
    local s=""; for b in $*; do s="$s\\x$b"; done
    printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
bytes() { dd if="$1" bs=1 skip="$2" count="$3" status=none | od -An -tx1 | tr -d ' \n'; }
# fails NAME SECONDS CMD...: exits non-zero (not a sanitizer or signal)
# within SECONDS
fails() {
    local name=$1 secs=$2; shift 2
    timeout "$secs" "$@" >"$T/out" 2>&1; local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 99 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] &&
       ! grep -qiE 'sanitizer|runtime error' "$T/out"; then
        ok "$name"
    else
        not_ok "$name (rc=$rc)"; sed 's/^/# /' "$T/out" | head -n 8
    fi
}
corrupt() {
    if have_qemu; then qemu-img info "$1" | grep -q 'corrupt: true'
    else $V img info "$1" | grep -q 'corrupt: true'; fi
}

# 1. 32 KiB clusters, 1-bit refcounts: the refcount table (cluster 1)
# names the all-ones refcount block (cluster 2) 4096 times, which claims
# 2^31 clusters in use.  Each allocation or check used to walk all of them.
f=$T/shared.qcow2
{
    printf '\x51\x46\x49\xfb\x00\x00\x00\x03'          # magic, version 3
    printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' # no backing
    printf '\x00\x00\x00\x0f'                           # cluster_bits 15
    printf '\x00\x00\x00\x00\x04\x00\x00\x00'           # size 64 MiB
    printf '\x00\x00\x00\x00\x00\x00\x00\x01'           # crypt 0, l1_size 1
    printf '\x00\x00\x00\x00\x00\x01\x80\x00'           # L1 at cluster 3
    printf '\x00\x00\x00\x00\x00\x00\x80\x00'           # refcount table at 1
    printf '\x00\x00\x00\x01\x00\x00\x00\x00'           # 1 cluster, 0 snapshots
    printf '\x00\x00\x00\x00\x00\x00\x00\x00'           # snapshots_offset
    printf '\x00%.0s' $(seq 24)                         # feature bits
    printf '\x00\x00\x00\x00\x00\x00\x00\x68'           # refcount_order 0, hlen 104
} > "$f"
truncate -s 32768 "$f"
printf '\x00\x00\x00\x00\x00\x01\x00\x00%.0s' $(seq 4096) >> "$f"
head -c 32768 /dev/zero | tr '\0' '\377' >> "$f"
truncate -s 131072 "$f"
cp "$f" "$T/shared2.qcow2"
fails "shared refcount block: a write fails within 10 s" 10 \
    $V img bench -w -c 1 -d 1 -s 4k "$f"
fails "shared refcount block: check reports it within 10 s" 10 \
    $V img check "$T/shared2.qcow2"
check "the check names the shared block" grep -q "more than one refcount table entry" "$T/out"

# A fresh image: header 0, refcount table 64K, refcount block 128K, L1
# 192K, then L2 256K and data 320K after the first write.
fresh() {
    rm -f "$1"; $VESSEL img create -q "$1" 64M >/dev/null
    $VESSEL img bench -w -c 1 -d 1 -s 64k "$1" >/dev/null
}

# 2. The L1 entry names the refcount block as an L2 table: a guest write
# whose "L2 entry" reads 0 (refcounts of unused clusters) would store its
# L2 entry in the refcount block.
f=$T/l2rb.qcow2; fresh "$f"
poke "$f" 196608 80 00 00 00 00 02 00 00
fails "L2 table that is a refcount block: the write is refused" 10 \
    $V img bench -w -c 1 -d 1 -s 64k -o 6553600 "$f"
check "the refcounts it would have overwritten are intact" \
    test "$(bytes "$f" $((131072 + 800)) 8)" = 0000000000000000
check "the image is marked corrupt" corrupt "$f"

# 3. An L2 entry names the refcount block as a data cluster: discarding
# it would drop the block's refcount to 0 and punch it out of the file.
f=$T/disc.qcow2; fresh "$f"
poke "$f" $((262144 + 8)) 80 00 00 00 00 02 00 00
before=$(bytes "$f" 131072 64)
# (vessel img has no discard command: the blkrand helper discards)
if [ -x "$ROOT/build/asan/vessel" ]; then build_blkrand asan; else build_blkrand release; fi
cp "$T"/blkrand-* "$T/blkrand"
fails "discarding a data cluster that is a refcount block is refused" 10 \
    "$T/blkrand" discard "$f" 65536 65536
check "the refcount block is intact" test "$before" = "$(bytes "$f" 131072 64)"
check "the image is marked corrupt" corrupt "$f"

# 4. An L1 entry with reserved bits but no L2 table: every write to its
# range fails, so check must report it (it used to skip such entries).
f=$T/l1res.qcow2; rm -f "$f"; $VESSEL img create -q "$f" 4G >/dev/null  # 8 L1 entries
poke "$f" $((196608 + 40)) 5e 00 00 00 00 00 00 00
fails "check reports an L1 entry with only reserved bits" 10 $V img check "$f"
check "... naming it" grep -q "L1 entry 5 has reserved bits set" "$T/out"

# 5. A header whose extensions fill its cluster cannot be rewritten whole;
# the corrupt bit is still set (it is written as one field).
if have_qemu; then
    f=$T/full.qcow2; rm -f "$f"
    qemu-img create -q -f qcow2 -o cluster_size=512 "$T/b.qcow2" 1M
    qemu-img create -q -f qcow2 -o cluster_size=512 -b "$T/b.qcow2" -F qcow2 "$f"
    qemu-io -f qcow2 -c "write 0 512" "$f" >/dev/null
    # zero the refcount of the L1 table's cluster (first refcount block)
    l1=$((16#$(bytes "$f" 40 8)))
    rt=$((16#$(bytes "$f" 48 8)))
    rb=$((16#$(bytes "$f" "$rt" 8)))
    poke "$f" $((rb + l1 / 512 * 2)) 00 00
    fails "a write onto the L1 table of a full-header image is refused" 10 \
        $V img bench -w -c 1 -d 1 -s 512 -o 512 "$f"
    check "its corrupt bit is set" corrupt "$f"
else
    ok "# SKIP qemu-img not installed"
    ok "# SKIP qemu-img not installed"
fi
finish
