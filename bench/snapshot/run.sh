#!/bin/bash
# Snapshot benchmarks (README.md beside this script).
#
# 1. A bare-metal VM through the control API (docs/api.md): the CPU
#    benchmark program runs a moment, is paused and snapshotted, then
#    restored in a new process.  Prints, per RAM size: snapshot create time
#    and memory-file size (allocated), and restore time (state read +
#    memory mapped + board restored), from vessel's own log lines, best of
#    RUNS.
# 2. The Debian kernel + initramfs guest (scripts/fetch-guest.sh) booted to
#    its shell, in Vessel and in qemu-system-riscv64 in the same run
#    (compare.py): pause latency, full snapshot time and memory-file size,
#    restore to running and to a console answer, for SIZES; one row per
#    operation with both figures, the ratio and the issue's target.
#   bench/snapshot/run.sh [runs] [sizes...]      (default: 3 512M 2G)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
shift || true
if [ $# -gt 0 ]; then SIZES=("$@"); else SIZES=(512M 2G); fi
make -s build/release/vessel guests >/dev/null
V=build/release/vessel
CPU=build/guest/bench/cpu-long.elf
# On disk, not a tmpfs: snapshot writes are meant to reach a real file system.
T=$(mktemp -d "${TMPDIR:-/var/tmp}/vessel-snapbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
api() { curl -s --max-time 30 --unix-socket "$T/s" -X "$1" ${3:+-d "$3"} "http://localhost$2"; }
echo "== bare-metal program (bench/cpu), best of $RUNS" >&2
for mem in 512M 4G; do
    best_c=""; best_r=""; size=""
    for i in $(seq "$RUNS"); do
        rm -rf "$T/snap" "$T/s"
        VESSEL_JIT=0 "$V" run -m "$mem" --bios "$CPU" --api-sock "$T/s" --paused \
            < /dev/null > /dev/null 2> "$T/log" &
        pid=$!
        for _ in $(seq 200); do [ -S "$T/s" ] && break; sleep 0.05; done
        api PATCH /vm '{"state":"running"}' > /dev/null
        api PATCH /vm '{"state":"paused"}' > /dev/null
        api PUT /snapshot/create "{\"path\":\"$T/snap\"}" > /dev/null
        api PUT /actions '{"action":"poweroff"}' > /dev/null
        wait $pid || true
        c=$(sed -n 's/.*snapshot written to .* in \([0-9]*\) us.*/\1/p' "$T/log")
        size=$(du -k "$T/snap/memory" | cut -f1)
        "$V" run -m "$mem" --bios "$CPU" --restore "$T/snap" < /dev/null > /dev/null 2> "$T/log2"
        r=$(sed -n 's/.*restored from .* in \([0-9]*\) us.*/\1/p' "$T/log2")
        if [ -z "$best_c" ] || [ "$c" -lt "$best_c" ]; then best_c=$c; fi
        if [ -z "$best_r" ] || [ "$r" -lt "$best_r" ]; then best_r=$r; fi
    done
    printf 'vessel -m %-4s: snapshot create %6d us, memory file %6d KiB allocated; restore %5d us\n' \
        "$mem" "$best_c" "$size" "$best_r"
done

echo "== Linux guest, vessel and qemu-system-riscv64 (best of $RUNS)" >&2
eval "$(scripts/fetch-guest.sh --quiet)"
python3 bench/snapshot/compare.py "$V" "$KERNEL" "$INITRD" "$FIRMWARE" "$T" "$RUNS" "${SIZES[@]}"
