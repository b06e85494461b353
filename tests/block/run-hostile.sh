#!/bin/bash
# Hostile images: every malformed image must give a clear error naming the
# file, never a crash or sanitizer report, and must never be modified when
# opened read-only (TAP).  Runs the ASan+UBSan build when available.
. "$(dirname "$0")/lib.sh"
V=$VESSEL_ASAN
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=99"

poke() { # FILE OFFSET HEXBYTES (e.g. "00 00 00 28")
    local f=$1 off=$2; shift 2
    local s=""; for b in $*; do s="$s\\x$b"; done
    printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
# good image: header 0, refcount table 64K, refcount block 128K, L1 192K,
# then (after one write) L2 table 256K and data 320K
fresh() {
    rm -f "$1"; $VESSEL img create -q "$1" 64M >/dev/null
    qemu-io -f qcow2 -c "write -P 0x42 0 64k" "$1" >/dev/null 2>&1 ||
        "$T/blkrand" discard "$1" 0 100 >/dev/null  # allocates L2 + data
}
build_blkrand release && cp "$T/blkrand-release" "$T/blkrand"

# expect_error NAME FILE CMD... : non-zero exit, message names the file,
# no sanitizer report, file unchanged
expect_error() {
    local name=$1 f=$2; shift 2
    local before; before=$(md5sum < "$f")
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    local after; after=$(md5sum < "$f")
    if [ $rc -ne 0 ] && [ $rc -ne 99 ] && [ $rc -lt 128 ] &&
       grep -qE "$(basename "$f")|^ERROR" "$T/err" "$T/out" &&
       ! grep -qiE 'sanitizer|runtime error' "$T/err" && [ "$before" = "$after" ]; then
        ok "$name"
    else
        not_ok "$name (rc=$rc)"; sed 's/^/# /' "$T/err" | head -n 12
    fi
}
bad() { # NAME MUTATION...: apply to a fresh image, expect errors from info/convert
    local name=$1; shift
    local f=$T/bad.qcow2; fresh "$f"; "$@" "$f"
    expect_error "$name: convert refuses" "$f" $V img convert -O raw "$f" "$T/out.raw"
}
m_trunc50()   { truncate -s 50 "$1"; }
m_trunc_l1()  { truncate -s 200000 "$1"; }
m_cbits()     { poke "$1" 20 00 00 00 28; }
m_size()      { poke "$1" 24 7f ff ff ff ff ff fe 00; }
m_l1size()    { poke "$1" 36 7f ff ff ff; }
m_l1hdr()     { poke "$1" 40 00 00 00 00 00 00 00 00; }
m_rtoff()     { poke "$1" 48 00 7f ff ff ff ff 00 00; }
m_rthdr()     { poke "$1" 48 00 00 00 00 00 00 00 00; }
m_rtclus()    { poke "$1" 56 ff ff ff ff; }
m_l1out()     { poke "$1" 196608 80 00 00 10 00 00 00 00; }
m_l1rt()      { poke "$1" 196608 80 00 00 00 00 01 00 00; }
m_l1res()     { poke "$1" 196608 80 00 00 00 00 04 00 01; }
m_l2out()     { poke "$1" 262144 80 00 10 00 00 00 00 00; }
m_l2hdr()     { poke "$1" 262144 80 00 00 00 00 00 02 00; }
m_l2comp()    { poke "$1" 262144 40 00 00 ff ff ff ff 00; }
m_incompat()  { poke "$1" 79 20; }
m_extl2()     { poke "$1" 79 10; }
m_crypt()     { poke "$1" 35 01; }
m_version()   { poke "$1" 7 07; }
m_hlen()      { poke "$1" 103 6c; }
m_nsnap()     { poke "$1" 60 7f ff ff ff; poke "$1" 64 00 00 00 00 00 03 00 00; }
m_snapoff()   { poke "$1" 63 01; poke "$1" 64 00 00 00 00 7f 00 00 00; }
m_refcord()   { poke "$1" 99 09; }
m_extlen()    { poke "$1" 112 e2 79 2a ca 00 ff ff ff; }
m_backlen()   { poke "$1" 8 00 00 00 00 00 00 00 80; poke "$1" 16 00 00 ff ff; }

bad "truncated to 50 bytes"                    m_trunc50
bad "truncated before the L1 table"            m_trunc_l1
bad "cluster_bits 40"                          m_cbits
bad "virtual size absurd"                      m_size
bad "l1_size 2^31"                             m_l1size
bad "L1 table offset 0 (the header)"           m_l1hdr
bad "refcount table beyond end of file"        m_rtoff
bad "refcount table in the header"             m_rthdr
bad "refcount_table_clusters 2^32-1"           m_rtclus
bad "L1 entry points outside the file"         m_l1out
bad "L1 entry points at the refcount table"    m_l1rt
bad "L1 entry with reserved bits"              m_l1res
bad "L2 entry points outside the file"         m_l2out
bad "L2 entry points into the header"          m_l2hdr
bad "compressed descriptor outside the file"   m_l2comp
bad "unknown incompatible feature bit 5"       m_incompat
bad "extended L2 entries (unsupported)"        m_extl2
bad "encrypted (crypt_method 1)"               m_crypt
bad "version 7"                                m_version
bad "header_length not a multiple of 8"        m_hlen
bad "nb_snapshots 2^31"                        m_nsnap
bad "snapshot table beyond end of file"        m_snapoff
bad "refcount_order 9"                         m_refcord
bad "header extension longer than the header"  m_extlen
bad "backing file name length 65535"           m_backlen

f=$T/bad.qcow2; fresh "$f"; m_incompat "$f"
check "unknown feature error is explained" bash -c "
    $V img info '$f' 2>&1 | grep -q 'unsupported incompatible feature'"
f=$T/bad.qcow2; fresh "$f"; m_l2out "$f"
expect_error "check of an image with a bad L2 entry reports, no crash" "$f" $V img check "$f"
f=$T/bad.qcow2; fresh "$f"; m_l1out "$f"
expect_error "check of an image with a bad L1 entry reports, no crash" "$f" $V img check "$f"

# backing chain problems
$VESSEL img create -q "$T/a.qcow2" 1M >/dev/null
$VESSEL img create -q -b a.qcow2 -F qcow2 "$T/b.qcow2" >/dev/null
# vessel img refuses to make a loop (run-imgsafe.sh); qemu-img rebase -u does not
qemu-img rebase -u -b b.qcow2 -F qcow2 "$T/a.qcow2" >/dev/null
expect_error "backing chain that loops" "$T/a.qcow2" $V img convert -O raw "$T/a.qcow2" "$T/out.raw"
check "loop error says so" bash -c "$V img convert -O raw '$T/b.qcow2' '$T/o.raw' 2>&1 | grep -q loop"
$VESSEL img create -q "$T/gone.qcow2" 1M >/dev/null
$VESSEL img create -q -b gone.qcow2 "$T/orphan.qcow2" >/dev/null
rm "$T/gone.qcow2"
expect_error "missing backing file" "$T/orphan.qcow2" $V img convert -O raw "$T/orphan.qcow2" "$T/out.raw"
check "missing backing file error names it" bash -c "$V img info '$T/orphan.qcow2' >/dev/null &&
    $V img convert -O raw '$T/orphan.qcow2' '$T/o.raw' 2>&1 | grep -q gone.qcow2"

# read-only opens never modify: a dirty image stays dirty under info/check
f=$T/dirty.qcow2; fresh "$f"; poke "$f" 79 01
before=$(md5sum < "$f")
$V img info "$f" >/dev/null 2>&1; $V img check "$f" >/dev/null 2>&1
$V img convert -O raw "$f" "$T/out.raw" >/dev/null 2>&1
check "read-only opens leave a dirty image untouched" test "$before" = "$(md5sum < "$f")"
finish
