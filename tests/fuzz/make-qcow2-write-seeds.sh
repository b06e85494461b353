#!/bin/bash
# Regenerate the seed corpus of fuzz_qcow2_write (tests/fuzz/corpus/
# qcow2-write/): small images made by vessel and qemu-img (512-byte to 4 KiB
# clusters so that they stay a few KiB), healthy and broken, each prefixed
# with an operation sequence in the target's input format:
#   u16 L (little endian), L bytes of operations, the image file.
# One operation is: op (1 byte), offset (4 bytes, in 512-byte sectors) and
# offset within the sector (2), length (3), snapshot name (1), and for op 7
# (resize) the new size in sectors (3).
#   tests/fuzz/make-qcow2-write-seeds.sh [VESSEL]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=${1:-$ROOT/build/release/vessel}
OUT=$ROOT/tests/fuzz/corpus/qcow2-write
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-seeds.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$OUT"

# op NAME SECTOR LEN [SNAP] [RESIZE_SECTORS] -> hex bytes of one operation
op() {
    local n=$1 sec=$2 len=$3 snap=${4:-0} rs=${5:-}
    local code
    case $n in write) code=0;; discard) code=1;; zeroes) code=2;; read) code=3;;
        snap-c) code=4;; snap-a) code=5;; snap-d) code=6;; resize) code=7;;
        check) code=8;; repair) code=9;; reopen) code=10;; flush) code=11;;
        status) code=12;; info) code=13;; esac
    printf '%02x' "$code"
    printf '%08x' "$sec" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/'
    printf '0000'
    printf '%06x' "$len" | sed 's/\(..\)\(..\)\(..\)/\3\2\1/'
    printf '%02x' "$snap"
    [ -n "$rs" ] && printf '%06x' "$rs" | sed 's/\(..\)\(..\)\(..\)/\3\2\1/'
    return 0
}
# seed NAME IMAGE OPS...: write the seed file
seed() {
    local name=$1 img=$2; shift 2
    local hex; hex=$(printf '%s' "$@")
    local len=$(( ${#hex} / 2 ))
    { printf '%04x' "$len" | sed 's/\(..\)\(..\)/\\x\2\\x\1/' | xargs -0 printf
      printf '%s' "$hex" | xxd -r -p
      cat "$img"; } > "$OUT/$name"
}

MIX=( "$(op write 0 4096)" "$(op snap-c 0 0 1)" "$(op write 8 1000)"
      "$(op discard 0 2048)" "$(op zeroes 16 4096)" "$(op snap-a 0 0 1)"
      "$(op resize 0 0 0 8192)" "$(op write 4000 65536)" "$(op repair 0 0)"
      "$(op snap-d 0 0 1)" "$(op reopen 0 0)" "$(op write 1 513)"
      "$(op check 0 0)" "$(op status 0 0)" "$(op read 0 65536)" )

mk() { # NAME create-options... : a fresh image with a little data
    local f=$T/$1; shift
    "$V" img create -q "$@" "$f" 1M >/dev/null
    qemu-io -f qcow2 -c "write -P 0x5a 0 3k" -c "write -P 0x33 64k 1k" \
        -c "write -z 8k 4k" "$f" >/dev/null
    echo "$f"
}
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

seed v3-512 "$(mk a -o cluster_size=512)" "${MIX[@]}"
seed v2-1k "$(mk b -o cluster_size=1024,compat=0.10)" "${MIX[@]}"
seed rc1-512 "$(mk c -o cluster_size=512,refcount_bits=1)" "${MIX[@]}"
seed rc64-4k "$(mk d -o cluster_size=4096,refcount_bits=64)" "${MIX[@]}"
f=$(mk e -o cluster_size=512)
qemu-img snapshot -c s0 "$f"; qemu-io -f qcow2 -c "write -P 0x77 0 1k" "$f" >/dev/null
seed snap-512 "$f" "$(op snap-a 0 0 0)" "$(op write 0 600)" "$(op snap-d 0 0 0)" "${MIX[@]}"
# broken refcounts: the refcount of the L1 table (cluster 3) zeroed
f=$(mk g -o cluster_size=512)
poke "$f" $((1024 + 6)) '\x00\x00'
seed zero-l1-refcount "$f" "$(op write 100 512)" "$(op repair 0 0)" "$(op write 100 512)"
# the L2 table's refcount zeroed, and a dirty image
f=$(mk h -o cluster_size=512)
poke "$f" $((1024 + 8)) '\x00\x00'
seed zero-l2-refcount "$f" "$(op write 200 512)" "$(op reopen 0 0)" "$(op repair 0 0)"
f=$(mk i -o cluster_size=512); poke "$f" 79 '\x01'
seed dirty "$f" "${MIX[@]}"
f=$(mk j -o cluster_size=512); poke "$f" 79 '\x02'
seed corrupt-bit "$f" "$(op write 0 512)" "$(op repair 0 0)" "$(op reopen 0 0)" "$(op write 0 512)"
# compressed clusters
head -c 65536 /dev/zero | tr '\0' 'x' > "$T/x.raw"
qemu-img convert -q -c -O qcow2 -o cluster_size=1024 "$T/x.raw" "$T/comp.qcow2"
seed compressed "$T/comp.qcow2" "$(op write 1 100)" "$(op discard 2 1024)" "${MIX[@]}"
ls -l "$OUT"
