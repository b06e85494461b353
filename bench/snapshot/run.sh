#!/bin/bash
# Snapshot benchmarks (README.md "Benchmarks"; figures in docs/snapshot.md
# "Numbers").
#
# 1. A bare-metal VM through the control API (docs/api.md): the CPU
#    benchmark program runs a moment, is paused and snapshotted, then
#    restored in a new process.  Prints, per RAM size: snapshot create time
#    and memory-file size (allocated), and restore time (state read +
#    memory mapped + board restored), from vessel's own log lines, best of
#    RUNS.
#    Then diff snapshots: a guest whose memory changes over time
#    (tests/cli/guest/mem_churn.c, 512 MiB) gets a full snapshot after it
#    filled its 16 MiB, then three diffs, each after a few million more
#    instructions; per snapshot its create time (best of RUNS) and its
#    memory file (data bytes written, allocated KiB; from the last run),
#    and the restore time of the chain's last diff and of the full one
#    alone (best of RUNS).
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
CHURN=build/guest/cli/mem_churn.elf
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

# Poll for a condition, at most 20 s.
wait_for() { for _ in $(seq 400); do eval "$1" && return 0; sleep 0.05; done; return 1; }
insns() { api GET /vm | python3 -c 'import json,sys; print(json.load(sys.stdin)["instructions"])'; }
# The create time (us) and data bytes of the snapshot written to $2, from log $1.
created() { sed -n "s|.* snapshot written to $2 in \([0-9]*\) us (\([0-9]*\) bytes.*|\1 \2|p" "$1"; }
# Restore $1 paused in a new process, then power it off: vessel's restore time (us).
restore_us() {
    rm -f "$T/s"
    VESSEL_JIT=0 "$V" run -m 512M --bios "$CHURN" --restore "$1" --paused --api-sock "$T/s" \
        < /dev/null > /dev/null 2> "$T/log2" &
    local pid=$!
    wait_for "[ -S $T/s ]" && api PUT /actions '{"action":"poweroff"}' > /dev/null
    wait $pid || true
    sed -n 's/.*restored from .* in \([0-9]*\) us.*/\1/p' "$T/log2"
}
min() { if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }
echo "== diff snapshots (tests/cli/guest/mem_churn.c, 512 MiB), best of $RUNS" >&2
declare -A best_create bytes
best_chain=""; best_full=""
for i in $(seq "$RUNS"); do
    rm -rf "$T/full" "$T"/d[123] "$T/s"
    VESSEL_JIT=0 "$V" run -m 512M --bios "$CHURN" --api-sock "$T/s" --paused \
        < /dev/null > "$T/out" 2> "$T/log" &
    pid=$!
    wait_for "[ -S $T/s ]"
    api PATCH /vm '{"state":"running"}' > /dev/null
    wait_for "grep -q ready $T/out"
    api PATCH /vm '{"state":"paused"}' > /dev/null
    sync
    api PUT /snapshot/create "{\"path\":\"$T/full\"}" > /dev/null
    for k in 1 2 3; do
        from=$(insns)
        api PATCH /vm '{"state":"running"}' > /dev/null
        wait_for "[ \$(insns) -gt $((from + 4000000)) ]"
        api PATCH /vm '{"state":"paused"}' > /dev/null
        sync
        api PUT /snapshot/create "{\"path\":\"$T/d$k\",\"type\":\"diff\"}" > /dev/null
    done
    api PUT /actions '{"action":"poweroff"}' > /dev/null
    wait $pid || true
    for s in full d1 d2 d3; do
        read -r us b < <(created "$T/log" "$T/$s")
        best_create[$s]=$(min "${best_create[$s]:-}" "$us")
        bytes[$s]=$b
    done
    best_chain=$(min "$best_chain" "$(restore_us "$T/d3")")
    best_full=$(min "$best_full" "$(restore_us "$T/full")")
done
for s in full d1 d2 d3; do
    printf 'vessel -m 512M %-4s snapshot: create %6d us, %8d bytes of memory written, %6d KiB allocated\n' \
        "$s" "${best_create[$s]}" "${bytes[$s]}" "$(du -k "$T/$s/memory" | cut -f1)"
done
printf 'vessel -m 512M restore: the chain full+3 diffs %5d us, the full snapshot alone %5d us\n' \
    "$best_chain" "$best_full"

echo "== Linux guest, vessel and qemu-system-riscv64 (best of $RUNS)" >&2
eval "$(scripts/fetch-guest.sh --quiet)"
python3 bench/snapshot/compare.py "$V" "$KERNEL" "$INITRD" "$FIRMWARE" "$T" "$RUNS" "${SIZES[@]}"
