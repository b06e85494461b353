#!/bin/bash
# Block layer benchmark: sequential and random 4 KiB reads and writes on a
# qcow2 image (empty / fully allocated, with / without a backing file),
# through Vessel's block layer (`vessel img bench`, the asynchronous API)
# and through `qemu-img bench` on the same file.  Prints one table with
# the time ratio vessel/qemu per row (target: <= 1.5 everywhere).
#   bench/block/run.sh [COUNT] [REPEATS]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=${VESSEL:-$ROOT/build/release/vessel}
COUNT=${1:-50000}
REPS=${2:-3}
SIZE=128M
RAND_STEP=$((4096 * 7919))   # prime number of clusters: visits every 4K block
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
command -v qemu-img >/dev/null || { echo "qemu-img not installed"; exit 1; }
[ -x "$V" ] || { echo "build vessel first (make)"; exit 1; }

# templates
qemu-img create -q -f qcow2 "$T/empty.qcow2" $SIZE
head -c $SIZE /dev/urandom > "$T/data.raw"
qemu-img convert -q -O qcow2 "$T/data.raw" "$T/full.qcow2"
qemu-img create -q -f qcow2 -b full.qcow2 -F qcow2 "$T/ov-empty.qcow2"
cp "$T/full.qcow2" "$T/base2.qcow2"
qemu-img create -q -f qcow2 -b base2.qcow2 -F qcow2 "$T/ov-full.qcow2"
qemu-io -f qcow2 -c "write -P 0x5c 0 $SIZE" "$T/ov-full.qcow2" >/dev/null

secs() { sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p'; }
best() { # TOOL TEMPLATE ARGS... -> best time of $REPS runs
    local tool=$1 tmpl=$2; shift 2
    local b="" t
    for _ in $(seq "$REPS"); do
        rm -f "$T/work.qcow2"   # may be a link to a template: never write through it
        case " $* " in
            *" -w "*) cp --sparse=always "$T/$tmpl" "$T/work.qcow2" ;;
            *) ln -sf "$tmpl" "$T/work.qcow2" ;;   # reads: no copy needed
        esac
        if [ "$tool" = qemu ]; then
            t=$(qemu-img bench -f qcow2 -t writeback -d 64 -c "$COUNT" -s 4096 "$@" "$T/work.qcow2" | secs)
        else
            t=$("$V" img bench -f qcow2 -d 64 -c "$COUNT" -s 4096 "$@" "$T/work.qcow2" | secs)
        fi
        [ -z "$b" ] || awk -v a="$t" -v b="$b" 'BEGIN{exit !(a<b)}' && b=$t
    done
    echo "$b"
}
printf '%-26s %-11s %10s %10s %8s\n' image operation "vessel s" "qemu s" ratio
worst=0
for img in empty full ov-empty ov-full; do
    for op in seq-read rand-read seq-write rand-write; do
        args=()
        case $op in rand-*) args+=(-S $RAND_STEP) ;; esac
        case $op in *-write) args+=(-w) ;; esac
        # the backing file of ov-* must be present next to the work copy
        vt=$(best vessel "$img.qcow2" "${args[@]}")
        qt=$(best qemu "$img.qcow2" "${args[@]}")
        ratio=$(awk -v a="$vt" -v b="$qt" 'BEGIN{printf "%.2f", (b>0? a/b : 0)}')
        name=$img; [ "$img" = ov-empty ] && name="empty, with backing"
        [ "$img" = ov-full ] && name="full, with backing"
        [ "$img" = full ] && name="full (allocated)"
        printf '%-26s %-11s %10s %10s %8s\n' "$name" "$op" "$vt" "$qt" "$ratio"
        worst=$(awk -v a="$ratio" -v w="$worst" 'BEGIN{print (a>w? a : w)}')
    done
done
echo "worst ratio: $worst (target <= 1.5)"
