#!/bin/bash
# CPU benchmark: the same bare-metal integer-mix program under Vessel and,
# when installed, under qemu-system-riscv64 (machine "spike", which also
# speaks HTIF).  Prints guest MIPS for Vessel and the Vessel/QEMU time
# ratio.  The guest verifies its own checksum, so a wrong CPU fails here.
#
# usage: bench/cpu/run.sh [runs]   (best of `runs`, default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s build/release/vessel guests >/dev/null
ELF=build/guest/bench/cpu-long.elf
RUNS=${1:-3}

best() { # command... ; prints best wall time in seconds and keeps last output
    local best=999999 t0 t1 dt
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s.%N)
        "$@" > /tmp/vessel-bench.out 2>&1 < /dev/null
        t1=$(date +%s.%N)
        dt=$(echo "$t1 - $t0" | bc -l)
        if (( $(echo "$dt < $best" | bc -l) )); then best=$dt; fi
    done
    echo "$best"
}

tv=$(best build/release/vessel run --bios "$ELF")
insns=$(awk '/^instructions/ {print $2}' /tmp/vessel-bench.out)
sum=$(awk '/^checksum/ {print $2}' /tmp/vessel-bench.out)
mips=$(echo "$insns / $tv / 1000000" | bc -l)
printf 'vessel: %.3f s, %d guest instructions, %.0f MIPS (checksum %s)\n' "$tv" "$insns" "$mips" "$sum"
if command -v qemu-system-riscv64 >/dev/null; then
    tq=$(best qemu-system-riscv64 -machine spike -nographic -bios "$ELF")
    qsum=$(awk '/^checksum/ {print $2}' /tmp/vessel-bench.out)
    [ "$qsum" = "$sum" ] || { echo "checksum mismatch: qemu $qsum vessel $sum"; exit 1; }
    printf 'qemu:   %.3f s (%.0f MIPS)\n' "$tq" "$(echo "$insns / $tq / 1000000" | bc -l)"
    printf 'ratio vessel/qemu time: %.2fx (target <= 3x); vessel MIPS target >= 300\n' \
        "$(echo "$tv / $tq" | bc -l)"
fi
