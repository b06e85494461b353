#!/bin/bash
# VHD (vpc), VDI, VHDX and VMDK against qemu-img on the same files (issue 16's
# benchmark): conversion qcow2 -> FMT and FMT -> qcow2 (also qcow2 ->
# qcow2, qcow2 -> raw, raw -> qcow2; both tools' defaults, neither syncs
# the output; one row with -t writeback, both sync) of a 1 GiB disk
# holding DATA MiB of random data in 1 MiB pieces spread over it, and
# sequential and random 4 KiB reads through each driver (`vessel img bench`
# against `qemu-img bench`).  Each row is timed REPS times, alternating
# the two tools, best kept; the ratio is vessel/qemu (target: <= 1.2).
#   bench/vdisk/run.sh [REPS] [DATA_MIB]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=${VESSEL:-$ROOT/build/release/vessel}
REPS=${1:-3}
DATA=${2:-256}
T=$(mktemp -d "${TMPDIR:-/var/tmp}/vessel-vdbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
command -v qemu-img > /dev/null || { echo "qemu-img not installed"; exit 1; }
[ -x "$V" ] || { echo "build vessel first (make)"; exit 1; }

# ms of one run of "$@"
ms() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; echo 999999; return; }
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
}
# best of REPS for each tool, alternating: prints "VESSEL_MS QEMU_MS"
pair() { # VESSEL_CMD... -- QEMU_CMD...
    local -a a=() b=()
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift; b=("$@")
    local bv=999999 bq=999999 i x
    for i in $(seq "$REPS"); do
        x=$(ms "${a[@]}"); [ "$x" -lt "$bv" ] && bv=$x
        x=$(ms "${b[@]}"); [ "$x" -lt "$bq" ] && bq=$x
    done
    echo "$bv $bq"
}
row() { # LABEL VESSEL_MS QEMU_MS
    printf '%-28s %8s %8s %7s\n' "$1" "$2" "$3" \
        "$(python3 -c "print('%.2f' % ($2 / max($3, 1)))")"
}

# The source: a qcow2 with DATA MiB of random data in 1 MiB pieces at
# every (1024 / DATA)-th MiB, written through qemu-io.
qemu-img create -q -f qcow2 "$T/src.qcow2" 1G
head -c $((DATA << 20)) /dev/urandom > "$T/data"
step=$((1024 / DATA)); [ "$step" -lt 1 ] && step=1
cmds=()
for i in $(seq 0 $((DATA - 1))); do
    cmds+=(-c "write -P $((i % 250 + 1)) $((i * step))M 1M")
done
qemu-io -f qcow2 "${cmds[@]}" "$T/src.qcow2" > /dev/null

printf '%-28s %8s %8s %7s\n' "row ($REPS runs, best)" "vessel" "qemu" "ratio"
printf '%-28s %8s %8s %7s\n' "" "ms" "ms" ""
for fmt in vpc vdi vhdx; do
    read -r a b < <(pair "$V" img convert -O $fmt "$T/src.qcow2" "$T/v.$fmt" -- \
                         qemu-img convert -O $fmt "$T/src.qcow2" "$T/q.$fmt")
    row "convert qcow2 -> $fmt" "$a" "$b"
    read -r a b < <(pair "$V" img convert -O qcow2 "$T/q.$fmt" "$T/v.back.qcow2" -- \
                         qemu-img convert -O qcow2 "$T/q.$fmt" "$T/q.back.qcow2")
    row "convert $fmt -> qcow2" "$a" "$b"
    read -r a b < <(pair "$V" img bench -c 100000 "$T/q.$fmt" -- \
                         qemu-img bench -f $fmt -c 100000 "$T/q.$fmt")
    row "$fmt: 100k sequential reads" "$a" "$b"
    read -r a b < <(pair "$V" img bench -c 100000 -S $((4096 * 7919)) "$T/q.$fmt" -- \
                         qemu-img bench -f $fmt -c 100000 -S $((4096 * 7919)) "$T/q.$fmt")
    row "$fmt: 100k random reads" "$a" "$b"
done
# The convert loop is shared by every format: qcow2 -> qcow2 / raw and
# raw -> qcow2 as well.
for fmt in qcow2 raw; do
    read -r a b < <(pair "$V" img convert -O $fmt "$T/src.qcow2" "$T/v.o.$fmt" -- \
                         qemu-img convert -O $fmt "$T/src.qcow2" "$T/q.o.$fmt")
    row "convert qcow2 -> $fmt" "$a" "$b"
done
read -r a b < <(pair "$V" img convert -O qcow2 "$T/q.o.raw" "$T/v.back.qcow2" -- \
                     qemu-img convert -O qcow2 "$T/q.o.raw" "$T/q.back.qcow2")
row "convert raw -> qcow2" "$a" "$b"
# With the output synced before the command returns (-t writeback, both).
read -r a b < <(pair "$V" img convert -t writeback -O qcow2 "$T/src.qcow2" "$T/v.o.qcow2" -- \
                     qemu-img convert -t writeback -O qcow2 "$T/src.qcow2" "$T/q.o.qcow2")
row "qcow2 -> qcow2 -t writeback" "$a" "$b"
# VMDK: monolithicSparse (read and written in place) and streamOptimized
# (compressed, written append-only); writes: 4 KiB requests into a new
# monolithicSparse image (made by the same tool, inside the timing).
for sub in monolithicSparse streamOptimized; do
    read -r a b < <(pair "$V" img convert -O vmdk -o subformat=$sub "$T/src.qcow2" "$T/v.vmdk" -- \
                         qemu-img convert -O vmdk -o subformat=$sub "$T/src.qcow2" "$T/q.vmdk")
    row "convert qcow2 -> vmdk ${sub:0:6}" "$a" "$b"
    read -r a b < <(pair "$V" img convert -O qcow2 "$T/q.vmdk" "$T/v.back.qcow2" -- \
                         qemu-img convert -O qcow2 "$T/q.vmdk" "$T/q.back.qcow2")
    row "convert vmdk ${sub:0:6} -> qcow2" "$a" "$b"
    read -r a b < <(pair "$V" img bench -c 100000 "$T/q.vmdk" -- \
                         qemu-img bench -f vmdk -c 100000 "$T/q.vmdk")
    row "vmdk ${sub:0:6}: 100k seq reads" "$a" "$b"
    read -r a b < <(pair "$V" img bench -c 100000 -S $((4096 * 7919)) "$T/q.vmdk" -- \
                         qemu-img bench -f vmdk -c 100000 -S $((4096 * 7919)) "$T/q.vmdk")
    row "vmdk ${sub:0:6}: 100k rnd reads" "$a" "$b"
done
for kind in seq rnd; do
    S=4096; [ $kind = rnd ] && S=$((4096 * 7919))
    read -r a b < <(pair bash -c "rm -f '$T/w.vmdk'; '$V' img create -f vmdk '$T/w.vmdk' 1G &&
                                  '$V' img bench -w -c 50000 -S $S '$T/w.vmdk'" -- \
                         bash -c "rm -f '$T/w.vmdk'; qemu-img create -q -f vmdk '$T/w.vmdk' 1G &&
                                  qemu-img bench -w -f vmdk -c 50000 -S $S '$T/w.vmdk'")
    row "vmdk: 50k $kind writes (new)" "$a" "$b"
done
