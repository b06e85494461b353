#!/bin/bash
# qcow2 interoperability with qemu-img, both directions (TAP).
. "$(dirname "$0")/lib.sh"
if ! have_qemu; then echo "ok 1 - # SKIP qemu-img/qemu-io not installed"; exit 0; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
V=$VESSEL_ASAN
build_blkrand release || { not_ok "build blkrand"; finish; }

qio() { qemu-io -f qcow2 "$@" >/dev/null; }
# Vessel's and qemu-img's raw flattening of $1 must be byte-identical.
same_as_qemu() {
    rm -f "$T/v.raw" "$T/q.raw"
    $V img convert -O raw "$1" "$T/v.raw" &&
    qemu-img convert -O raw "$1" "$T/q.raw" &&
    cmp "$T/v.raw" "$T/q.raw"
}
fill() { # write a recognisable pattern with qemu-io at a few places
    qio -c "write -P 0x11 0 70k" -c "write -P 0x22 1M 4k" \
        -c "write -P 0x33 3000k 300k" -c "write -z 1040k 8k" \
        -c "write -P 0x44 7M 1M" -c "discard 7M 64k" "$1"
}

# 1. images made by qemu-img, read by Vessel
for cs in 4k 64k 2M 512; do
  for compat in 0.10 1.1; do
    f=$T/q-$cs-$compat.qcow2
    qemu-img create -q -f qcow2 -o cluster_size=$cs,compat=$compat "$f" 16M
    fill "$f"
    check "qemu-img image cluster_size=$cs compat=$compat reads the same" same_as_qemu "$f"
  done
done
f=$T/refc.qcow2
qemu-img create -q -f qcow2 -o refcount_bits=4 "$f" 16M; fill "$f"
check "qemu-img image refcount_bits=4 reads the same" same_as_qemu "$f"

head -c 6M /dev/urandom > "$T/rand.raw"; head -c 2M /dev/zero >> "$T/rand.raw"
yes vessel | head -c 8M >> "$T/rand.raw"
qemu-img convert -q -c -O qcow2 "$T/rand.raw" "$T/z.qcow2"
check "compressed (zlib) image reads the same" same_as_qemu "$T/z.qcow2"
qemu-img convert -q -c -O qcow2 -o compression_type=zstd "$T/rand.raw" "$T/zs.qcow2"
check "compressed (zstd) image reads the same" same_as_qemu "$T/zs.qcow2"
qemu-img convert -q -c -O qcow2 -o cluster_size=4k "$T/rand.raw" "$T/z4.qcow2"
check "compressed 4k-cluster image reads the same" same_as_qemu "$T/z4.qcow2"

# backing chain raw <- qcow2 <- qcow2 (relative names, from another cwd)
mkdir -p "$T/chain"
head -c 16M /dev/urandom > "$T/chain/base.raw"
(cd "$T/chain" && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 &&
 qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2)
qio -c "write -P 0x55 64k 128k" -c "write -z 4M 1M" "$T/chain/mid.qcow2"
qio -c "write -P 0x66 100k 8k" -c "write -P 0x77 15M 1M" "$T/chain/top.qcow2"
check "backing chain qcow2->qcow2->raw reads the same" same_as_qemu "$T/chain/top.qcow2"
check "vessel img info shows the backing file" \
    bash -c "$V img info '$T/chain/top.qcow2' | grep -q 'backing file: mid.qcow2'"
check "vessel img create -b without SIZE says the size it took from the backing file" \
    bash -c "cd '$T/chain' && $V img create -f qcow2 -b top.qcow2 -F qcow2 over.qcow2 | grep -q 'size=16777216 '"

# snapshots made by qemu-img
f=$T/snap.qcow2
qemu-img create -q -f qcow2 "$f" 16M
qio -c "write -P 0x10 0 1M" "$f"; qemu-img snapshot -c one "$f"
qio -c "write -P 0x20 512k 1M" "$f"; qemu-img snapshot -c two "$f"
qio -c "write -P 0x30 0 4M" "$f"
check "qemu-img snapshots listed by vessel" \
    bash -c "$V img snapshot -l '$f' | grep -q 'one' && $V img snapshot -l '$f' | grep -q 'two'"
cp "$f" "$T/snapq.qcow2"
qemu-img snapshot -a one "$T/snapq.qcow2"
check "vessel snapshot -a matches qemu-img snapshot -a" bash -c "
    $V img snapshot -a one '$f' && qemu-img check '$f' && qemu-img compare '$f' '$T/snapq.qcow2'"
check "vessel snapshot -d on qemu-made snapshot" bash -c "
    $V img snapshot -d two '$f' && qemu-img check '$f' && qemu-img snapshot -l '$f' | grep -qv two"

# 2. images written by Vessel, checked by qemu-img
for o in cluster_size=4k cluster_size=64k cluster_size=2M compat=0.10 \
         refcount_bits=64 cluster_size=512,refcount_bits=8; do
    q=$T/w.qcow2; r=$T/w.raw; rm -f "$q" "$r" "$r".*
    $V img create -q -o "$o" "$q" 48M >/dev/null; truncate -s 48M "$r"
    check "vessel random writes/discards/snapshots ($o): matches raw, qemu-img check clean" bash -c "
        '$T/blkrand-release' mirror '$q' '$r' 11 400 snap &&
        qemu-img check '$q' && qemu-img compare '$q' '$r'"
done
q=$T/w1.qcow2; r=$T/w1.raw; rm -f "$q" "$r"
$V img create -o refcount_bits=1 "$q" 32M >/dev/null; truncate -s 32M "$r"
check "vessel writes with refcount_bits=1: qemu-img check clean" bash -c "
    '$T/blkrand-release' mirror '$q' '$r' 5 300 && qemu-img check '$q' && qemu-img compare '$q' '$r'"

# overlay written by Vessel over a qemu-made chain
cp "$T/chain/top.qcow2" "$T/chain/top2.qcow2"
qemu-img convert -O raw "$T/chain/top2.qcow2" "$T/chain/top2.raw"
check "vessel writes into an overlay (copy-on-write over the chain)" bash -c "
    '$T/blkrand-release' mirror '$T/chain/top2.qcow2' '$T/chain/top2.raw' 3 300 snap &&
    qemu-img check '$T/chain/top2.qcow2' && qemu-img compare '$T/chain/top2.qcow2' '$T/chain/top2.raw'"

# thin provisioning
$V img create "$T/big.qcow2" 10G >/dev/null
check "new 10G image takes under 1 MiB" test "$(stat -c %s "$T/big.qcow2")" -lt 1048576
check "qemu-img reads vessel-created 10G image" qemu-img check "$T/big.qcow2"
check "vessel img info --json parses as qemu's keys" bash -c "
    $V img info --json '$T/big.qcow2' | grep -q '\"virtual-size\": 10737418240'"

# discard punches the host file
q=$T/d.qcow2; $V img create -q "$q" 64M >/dev/null
qio -c "write -P 0x5a 0 32M" "$q"
before=$(stat -c %b "$q")
check "discard of 24M frees clusters: host file shrinks, qemu-img check clean, reads zero" bash -c "
    '$T/blkrand-release' discard '$q' 4194304 25165824 && [ \$(stat -c %b '$q') -lt \$(( $before - 40000 )) ] &&
    qemu-img check '$q' && ! qemu-io -f qcow2 -c 'read -P 0 4M 24M' -c 'read -P 0x5a 0 4M' '$q' | grep -q 'verification failed'"
$V img create -q "$T/aio.qcow2" 16M >/dev/null
check "async requests with flush barriers complete in order, data correct" bash -c "
    '$T/blkrand-release' aio '$T/aio.qcow2' && qemu-img check '$T/aio.qcow2'"
check "vessel convert qcow2 -> qcow2 flattening a chain, qemu-img compare" bash -c "
    $V img convert -O qcow2 '$T/chain/top.qcow2' '$T/flat.qcow2' &&
    qemu-img check '$T/flat.qcow2' && qemu-img compare '$T/flat.qcow2' '$T/chain/top.qcow2' &&
    ! qemu-img info '$T/flat.qcow2' | grep -q backing"
check "vessel convert raw -> qcow2 -> raw round trip" bash -c "
    $V img convert -O qcow2 '$T/rand.raw' '$T/rt.qcow2' && $V img convert -O raw '$T/rt.qcow2' '$T/rt.raw' &&
    cmp '$T/rand.raw' '$T/rt.raw' && qemu-img check '$T/rt.qcow2'"

# commit and rebase, checked by qemu-img
mkdir -p "$T/cm"; head -c 8M /dev/urandom > "$T/cm/b.raw"
qemu-img convert -q -O qcow2 "$T/cm/b.raw" "$T/cm/b.qcow2"
$V img create -b b.qcow2 -F qcow2 "$T/cm/o.qcow2" >/dev/null
qio -c "write -P 0x99 1M 2M" -c "write -z 6M 64k" "$T/cm/o.qcow2"
qemu-img convert -O raw "$T/cm/o.qcow2" "$T/cm/expect.raw"
check "vessel img commit: backing holds the overlay's data, both clean" bash -c "
    $V img commit '$T/cm/o.qcow2' && qemu-img check '$T/cm/b.qcow2' && qemu-img check '$T/cm/o.qcow2' &&
    qemu-img compare '$T/cm/b.qcow2' '$T/cm/expect.raw' && qemu-img compare '$T/cm/o.qcow2' '$T/cm/expect.raw'"
qemu-img create -q -f qcow2 "$T/cm/empty.qcow2" 8M
check "vessel img rebase (safe) onto an empty base keeps content" bash -c "
    $V img rebase -b empty.qcow2 -F qcow2 '$T/cm/o.qcow2' && qemu-img check '$T/cm/o.qcow2' &&
    qemu-img compare '$T/cm/o.qcow2' '$T/cm/expect.raw' &&
    qemu-img info '$T/cm/o.qcow2' | grep -q 'backing file: empty.qcow2'"
check "vessel img resize grows, qemu-img sees the size" bash -c "
    $V img resize '$T/cm/o.qcow2' +1G && qemu-img info --output=json '$T/cm/o.qcow2' | grep -q '\"virtual-size\": 1082130432' &&
    qemu-img check '$T/cm/o.qcow2'"
check "vessel snapshot create is seen by qemu-img" bash -c "
    $V img snapshot -c vsnap '$T/cm/o.qcow2' && qemu-img snapshot -l '$T/cm/o.qcow2' | grep -q vsnap &&
    qemu-img check '$T/cm/o.qcow2'"
check "vessel img check agrees with qemu-img on a clean image" $V img check "$T/cm/o.qcow2"
finish
