#!/bin/bash
# `vessel img` commands that would destroy their own input (TAP): an output
# that is an input (same file by any name, or in the input's backing
# chain), self-backed images, sizes that overflow.  Each must exit 1 with
# a message and leave every file unchanged.  Runs the ASan+UBSan build
# when available.
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
cd "$T" || exit 1

sum() { md5sum < "$1"; }
# refused NAME PATTERN FILE... -- CMD...: exit status 1, stderr matches
# PATTERN, every FILE unchanged, no sanitizer report
refused() {
    local name=$1 pat=$2; shift 2
    fresh
    local files=() sums=()
    while [ "$1" != -- ]; do files+=("$1"); sums+=("$(sum "$1")"); shift; done
    shift
    "$@" > "$T/out" 2> "$T/err"; local rc=$? same=1 i
    for i in "${!files[@]}"; do [ "$(sum "${files[$i]}")" = "${sums[$i]}" ] || same=0; done
    if [ $rc -eq 1 ] && grep -q -- "$pat" "$T/err" && [ $same = 1 ] &&
       ! grep -qiE 'sanitizer|runtime error' "$T/err"; then ok "$name"
    else not_ok "$name (exit $rc, unchanged=$same)"; sed 's/^/# /' "$T/err" "$T/out" | head -n 6; fi
}

truncate -s 4M s.raw
printf 'vessel-data' | dd of=s.raw bs=1 conv=notrunc status=none
# fresh: each case starts from the same files, whatever the previous did:
# s.qcow2 (data), link.qcow2 -> s.qcow2, hard.qcow2 = s.qcow2 (hard link),
# over.qcow2 backed by s.qcow2, top.qcow2 backed by over.qcow2
fresh() {
    rm -f ./*.qcow2
    qemu-img convert -f raw -O qcow2 s.raw s.qcow2
    ln -s s.qcow2 link.qcow2
    ln s.qcow2 hard.qcow2
    qemu-img create -q -f qcow2 -b s.qcow2 -F qcow2 over.qcow2
    qemu-img create -q -f qcow2 -b over.qcow2 -F qcow2 top.qcow2
}

# ---- convert onto its own input ----
SAME="is the same file as"
refused "convert onto its own source is refused" "$SAME" s.qcow2 -- \
    $V img convert -O qcow2 s.qcow2 s.qcow2
refused "convert onto a symlink to its source is refused" "$SAME" s.qcow2 -- \
    $V img convert -O qcow2 s.qcow2 link.qcow2
refused "convert from a hard link onto its other name is refused" "$SAME" s.qcow2 -- \
    $V img convert -O raw hard.qcow2 s.qcow2
refused "convert onto the source's backing file is refused" "a backing file of the input" \
    s.qcow2 over.qcow2 -- $V img convert -O qcow2 over.qcow2 s.qcow2
refused "convert onto the backing file through a symlink is refused" "a backing file of the input" \
    s.qcow2 over.qcow2 -- $V img convert -O qcow2 over.qcow2 link.qcow2
refused "convert -U onto its own source is refused too" "$SAME" s.qcow2 -- \
    $V img convert -U -O qcow2 s.qcow2 s.qcow2
fresh
check "convert to another file still works" $V img convert -O qcow2 over.qcow2 copy.qcow2
check "  and the copy holds the data" qemu-img compare over.qcow2 copy.qcow2

# ---- self-backed images ----
OWN="cannot be backed by"
refused "create -b X X is refused" "$OWN" s.qcow2 -- $V img create -b s.qcow2 s.qcow2
refused "create -b through a symlink to itself is refused" "$OWN" s.qcow2 -- \
    $V img create -b link.qcow2 s.qcow2
refused "create -b onto an image whose chain holds the target is refused" "would loop" \
    s.qcow2 over.qcow2 -- $V img create -b over.qcow2 -F qcow2 s.qcow2
refused "rebase -b R R is refused" "$OWN" over.qcow2 -- $V img rebase -b over.qcow2 over.qcow2
refused "rebase -u -b R R is refused" "$OWN" over.qcow2 -- $V img rebase -u -b over.qcow2 over.qcow2
refused "rebase onto a symlink to itself is refused" "$OWN" s.qcow2 -- \
    $V img rebase -u -b link.qcow2 s.qcow2
refused "rebase onto an image whose chain holds the image is refused" "would loop" \
    s.qcow2 over.qcow2 top.qcow2 -- $V img rebase -u -b top.qcow2 s.qcow2
fresh
check "an ordinary create -b still works" $V img create -q -b s.qcow2 -F qcow2 new.qcow2
check "an ordinary rebase still works" $V img rebase -b over.qcow2 -F qcow2 new.qcow2

# ---- sizes ----
qemu-img create -q -f qcow2 big.img 2T
refused "bench -s 1T names the size and the limit" "-s 1099511627776 (1 TiB) with -d 64.*limit of 1 GiB" \
    big.img -- $V img bench -c 1 -s 1T big.img
qemu-img create -q -f qcow2 -o cluster_size=2M huge.img 2305843009213693952
refused "bench with SIZE x DEPTH overflowing 64 bits is refused, not run" "limit of 1 GiB" \
    huge.img -- $V img bench -c 1 -s 2305843009213693952 -d 8 huge.img
check "bench -s 1M -d 4 runs" $V img bench -c 4 -s 1M -d 4 big.img
refused "resize +SIZE that wraps around 64 bits is refused" "overflows 64 bits" s.qcow2 -- \
    $V img resize s.qcow2 +18446744073709551104
check "the image is still clean" $V img check s.qcow2

# ---- backing files outside the image's directory (docs/block.md) ----
mkdir -p base vm
qemu-img convert -f raw -O qcow2 s.raw base/b.qcow2
qemu-img create -q -f qcow2 -b "$T/base/b.qcow2" -F qcow2 vm/o.qcow2
refused "convert refuses a backing file outside the image's directory" "allow its directory" \
    vm/o.qcow2 -- $V img convert -O raw vm/o.qcow2 out.raw
check "--backing-dir allows it" $V img convert --backing-dir "$T/base" -O raw vm/o.qcow2 out.raw
check "the data came through the allowed backing file" cmp -n 4194304 out.raw s.raw
check "--backing-dir=DIR works for bench too" $V img bench -c 4 --backing-dir="$T/base" vm/o.qcow2
finish
