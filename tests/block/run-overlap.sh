#!/bin/bash
# Metadata overlap checks against qemu-img (TAP): an image whose refcount
# for a metadata cluster was zeroed must not get guest data (or a new
# table) written over that metadata by any writing `vessel img` command.
# The write is refused with a message naming the structure and the repair
# command, the image is marked corrupt so that qemu-img/qemu-io agree it
# is, `vessel img check -r all` repairs it and writes work again.
# Runs the ASan+UBSan build when available.
. "$(dirname "$0")/lib.sh"
V=$VESSEL_ASAN
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"
if ! have_qemu; then
    echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0
fi

poke() { # FILE OFFSET HEXBYTES
    local f=$1 off=$2; shift 2
    local s=""; for b in $*; do s="$s\\x$b"; done
    printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
cluster_md5() { dd if="$1" bs=65536 skip="$2" count=1 status=none | md5sum; }
# A fresh image: header 0, refcount table cluster 1, refcount block 2,
# L1 3, then (after the write) L2 4 and data 5; refcounts are 16-bit, the
# one of cluster C at 128K + 2C.  broken FILE C zeroes cluster C's refcount.
broken() {
    rm -f "$1"; $VESSEL img create -q "$1" 64M >/dev/null
    qemu-io -f qcow2 -c "write -P 0x42 0 64k" "$1" >/dev/null
    poke "$1" $((131072 + $2 * 2)) 00 00
}
corrupt_per_qemu() { qemu-img info "$1" | grep -q 'corrupt: true'; }
# refused NAME KIND CLUSTER FILE CMD...: the command fails without a
# sanitizer report, names KIND and the repair command, leaves the
# metadata cluster as it was, and the image is corrupt for qemu too.
refused() {
    local name=$1 kind=$2 c=$3 f=$4; shift 4
    local before; before=$(cluster_md5 "$f" "$c")
    "$@" >"$T/out" 2>&1; local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 99 ] && [ $rc -lt 128 ] &&
       grep -q "$kind" "$T/out" && grep -q "vessel img check -r all" "$T/out" &&
       grep -q "$(basename "$f")" "$T/out" &&
       [ "$before" = "$(cluster_md5 "$f" "$c")" ] && corrupt_per_qemu "$f"; then
        ok "$name"
    else
        not_ok "$name (rc=$rc)"; sed 's/^/# /' "$T/out" | head -n 8
    fi
}

# 1. guest data onto the active L1 table (img bench -w writes guest data)
f=$T/l1.qcow2; broken "$f" 3
check "qemu-img check sees the zeroed L1 refcount" bash -c \
    "qemu-img check '$f' 2>&1 | grep -q 'ERROR cluster 3 refcount=0 reference=1'"
before=$(cluster_md5 "$f" 3)
$V img bench -w -c 1 -d 1 -s 64k -o 64k "$f" >"$T/out" 2>&1; rc=$?
check "a guest write that would land on the L1 table fails" \
    test $rc -ne 0 -a $rc -ne 99
check "the L1 table is intact" test "$before" = "$(cluster_md5 "$f" 3)"
check "qemu-img info: corrupt: true" corrupt_per_qemu "$f"
check "qemu-io refuses to open it read-write" bash -c \
    "! qemu-io -f qcow2 -c 'write 0 512' '$f' 2>&1 | grep -q wrote"
check "qemu-img check reports the corruption (exit 2)" bash -c \
    "qemu-img check '$f' >/dev/null 2>&1; test \$? -eq 2"
check "guest data is still readable (qemu-io read-only)" bash -c \
    "qemu-io -r -f qcow2 -c 'read -P 0x42 0 64k' '$f' | grep -q 'read 65536'"
check "vessel img info shows corrupt: true" bash -c \
    "$V img info '$f' | grep -q 'corrupt: true'"
check "vessel refuses a read-write open, naming the repair" bash -c \
    "! $V img bench -w -c 1 -s 4k '$f' >'$T/o2' 2>&1; grep -q 'check -r all' '$T/o2'"
check "vessel img check reports it (exit 2)" bash -c \
    "$V img check '$f' >/dev/null 2>&1; test \$? -eq 2"
check "vessel img check -r all repairs it" $V img check -r all "$f"
check "qemu-img check: clean after the repair" qemu-img check "$f"
check "qemu-img info: corrupt: false" bash -c \
    "qemu-img info '$f' | grep -q 'corrupt: false'"
check "writes work again" $V img bench -w -c 1 -d 1 -s 64k -o 64k "$f"
check "qemu reads both clusters" bash -c \
    "qemu-io -r -f qcow2 -c 'read -P 0x42 0 64k' -c 'read -P 0xa5 64k 64k' '$f' |
     grep -c 'read 65536' | grep -q 2"
check "qemu-img check: clean after the write" qemu-img check "$f"

# 2. commit writes the overlay's data into a base whose L2 refcount is 0
f=$T/base.qcow2; broken "$f" 4
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/ov.qcow2"
qemu-io -f qcow2 -c "write -P 0x55 64k 64k" "$T/ov.qcow2" >/dev/null
refused "commit onto an L2 table is refused" "active L2 table" 4 "$f" \
    $V img commit "$T/ov.qcow2"
check "the message names the guest offset" grep -q "guest offset 0x10000" "$T/out"

# 3. a snapshot's new L1 table onto a refcount block
f=$T/rb.qcow2; broken "$f" 2
refused "snapshot -c onto a refcount block is refused" "refcount block" 2 "$f" \
    $V img snapshot -c s1 "$f"
check "no snapshot was recorded" bash -c "! qemu-img snapshot -l '$f' | grep -q s1"

# 4. resize's new L1 table onto the refcount table
f=$T/rt.qcow2; broken "$f" 1
refused "resize onto the refcount table is refused" "refcount table" 1 "$f" \
    $V img resize "$f" 1G
check "virtual size unchanged" bash -c \
    "qemu-img info '$f' | grep -q '(67108864 bytes)'"

# 5. qemu-img's repair is accepted by vessel too, and the reverse for a
# corruption qemu itself flagged
f=$T/l1.qcow2; broken "$f" 3
$V img bench -w -c 1 -d 1 -s 64k -o 64k "$f" >/dev/null 2>&1
check "qemu-img check -r all repairs an image vessel marked" \
    qemu-img check -r all "$f"
check "vessel writes it after qemu's repair" \
    $V img bench -w -c 1 -d 1 -s 64k -o 64k "$f"
f=$T/q.qcow2; broken "$f" 3
qemu-io -f qcow2 -c "write -P 0x43 64k 64k" "$f" >/dev/null 2>&1
check "an image qemu marked corrupt is refused read-write by vessel" bash -c \
    "! $V img bench -w -c 1 -s 4k '$f' >/dev/null 2>&1"
check "vessel img check -r all repairs qemu's corrupt image" \
    $V img check -r all "$f"
check "qemu-io writes it after vessel's repair" bash -c \
    "qemu-io -f qcow2 -c 'write -P 0x44 64k 64k' '$f' | grep -q wrote"
check "qemu-img check: clean" qemu-img check "$f"
finish
