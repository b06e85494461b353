#!/bin/bash
# Integer crypto benchmark: the same bare-metal program (bench/cpu/crypto.c:
# SHA-256 with unrolled rounds, 2048-bit multiprecision products, the work
# that dominates a Linux boot's instruction count) under Vessel and, when
# installed, under qemu-system-riscv64 (machine "spike", which also speaks
# HTIF), best of `runs` each, in the same run.  The guest checks
# SHA-256("abc") and its own checksum, and the two emulators' checksums
# must agree.
#
# usage: bench/cpu/crypto.sh [runs]   (best of `runs`, default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s build/release/vessel build/guest/bench/crypto.elf >/dev/null
ELF=build/guest/bench/crypto.elf
RUNS=${1:-5}
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
    printf 'qemu:   %.3f s\n' "$tq"
    printf 'qemu/vessel time: %.2fx (how many times faster than QEMU Vessel ran)\n' \
        "$(echo "$tq / $tv" | bc -l)"
fi
