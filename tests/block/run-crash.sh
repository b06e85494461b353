#!/bin/bash
# Crash consistency: SIGKILL a writer at random points; the image must stay
# readable and `vessel img check --repair` must make it clean (TAP).
. "$(dirname "$0")/lib.sh"
V=$VESSEL
build_blkrand release || { not_ok "build blkrand"; finish; }
ROUNDS=${CRASH_ROUNDS:-10}
for round in $(seq 1 "$ROUNDS"); do
    cs=$([ $((round % 2)) = 0 ] && echo 4k || echo 64k)
    q=$T/c$round.qcow2
    $V img create -q -o cluster_size=$cs "$q" 64M >/dev/null
    stop=$((RANDOM % 300 + 3))
    coproc W { exec "$T/blkrand-release" crash "$q" "$round"; }
    pid=$W_PID
    i=0
    while read -r _ <&"${W[0]}"; do
        i=$((i + 1)); [ "$i" -ge "$stop" ] && break
    done
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    check "round $round ($cs clusters, killed after $i steps): image readable" \
        $V img convert -O raw "$q" "$T/c.raw"
    rm -f "$T/c.raw"
    check "round $round: check --repair leaves it clean" bash -c "
        $V img check --repair '$q'; $V img check '$q' && { ! command -v qemu-img >/dev/null || qemu-img check '$q'; }"
done

# A dirty image (v3 incompatible bit 0) is repaired when opened read-write.
q=$T/dirty.qcow2
$V img create -q "$q" 16M >/dev/null
"$T/blkrand-release" discard "$q" 0 4096 >/dev/null
# leak a cluster: bump the refcount of cluster 8 (past the last used one) to 1
# by hand, then set the dirty bit
printf '\x00\x01' | dd of="$q" bs=1 seek=$((2 * 65536 + 8 * 2)) conv=notrunc status=none
printf '\x01' | dd of="$q" bs=1 seek=79 conv=notrunc status=none
check "dirty image: check reports the leak" bash -c "$V img check '$q'; [ \$? -eq 3 ]"
check "dirty image: read-write open repairs and clears the bit" bash -c "
    $V img snapshot -c s '$q' && $V img check '$q' && ! $V img info --json '$q' | grep -q 'dirty-flag\": true' &&
    { ! command -v qemu-img >/dev/null || qemu-img check '$q'; }"
finish
