#!/bin/bash
# Runs one of the bare-metal benchmark guests (bench/cpu/*.c: they print
# "checksum" and "instructions" over HTIF and exit non-zero on a wrong
# checksum) under Vessel and, when installed, under qemu-system-riscv64
# (machine "spike", which also speaks HTIF), best of `runs` each, in the
# same run; the two checksums must agree.  Used by run.sh, fp.sh and
# crypto.sh.
#
# usage: bench/cpu/baremetal.sh ELF runs
set -euo pipefail
cd "$(dirname "$0")/../.."
ELF=$1
RUNS=$2
make -s build/release/vessel "$ELF" >/dev/null
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

best() { # command... ; prints the best wall time in seconds, fails on a bad run
    local best=999999 t0 t1 dt
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s.%N)
        "$@" > "$OUT" 2>&1 < /dev/null || { cat "$OUT" >&2; echo "failed: $*" >&2; return 1; }
        t1=$(date +%s.%N)
        dt=$(echo "$t1 - $t0" | bc -l)
        if (( $(echo "$dt < $best" | bc -l) )); then best=$dt; fi
    done
    echo "$best"
}

tv=$(best build/release/vessel run --bios "$ELF")
insns=$(awk '/^instructions/ {print $2}' "$OUT")
sum=$(awk '/^checksum/ {print $2}' "$OUT")
printf 'vessel: %.3f s, %d guest instructions, %.0f MIPS (checksum %s)\n' \
    "$tv" "$insns" "$(echo "$insns / $tv / 1000000" | bc -l)" "$sum"
if command -v qemu-system-riscv64 >/dev/null; then
    tq=$(best qemu-system-riscv64 -machine spike -nographic -bios "$ELF")
    qsum=$(awk '/^checksum/ {print $2}' "$OUT")
    [ "$qsum" = "$sum" ] || { echo "checksum mismatch: qemu $qsum vessel $sum"; exit 1; }
    printf 'qemu:   %.3f s (%.0f MIPS at Vessel'"'"'s instruction count)\n' \
        "$tq" "$(echo "$insns / $tq / 1000000" | bc -l)"
    printf 'qemu/vessel time: %.2fx (how many times faster than QEMU Vessel ran)\n' \
        "$(echo "$tq / $tv" | bc -l)"
fi
