#!/bin/bash
# Host instructions Vessel executes per guest instruction, counted by
# valgrind's cachegrind: for crypto.elf (bench/cpu/crypto.c) and for the
# busybox boot to poweroff (bench/boot's guest).  Unlike wall time, the
# count does not move with the host's load, so a change of a few percent
# in the translator's code shows on a noisy host in one run.  It is not
# the time: cache misses and branch mispredictions are not in it.
#
# --smc-check=all: translated code is written through a second mapping
# and patched in place (links), which valgrind must see.  The sandbox is
# off: valgrind's own system calls are not in its filter.
#
# usage: bench/cpu/hostinsns.sh [vessel binary]   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/../.."
VESSEL=${1:-build/release/vessel}
command -v valgrind >/dev/null || { echo "hostinsns.sh: valgrind is not installed (apt install valgrind)" >&2; exit 1; }
[ "$VESSEL" != build/release/vessel ] || make -s build/release/vessel
make -s build/guest/bench/crypto.elf >/dev/null
eval "$(scripts/fetch-guest.sh --quiet)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Prints the host instruction count of one run of "$@" (its output in $T/out).
host_insns() {
    valgrind --tool=cachegrind --cache-sim=no --smc-check=all \
        --cachegrind-out-file="$T/cg" "$@" > "$T/out" 2> "$T/vg" < /dev/null ||
        { tail -20 "$T/out" "$T/vg" >&2; echo "hostinsns.sh: run failed: $*" >&2; return 1; }
    sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$T/vg" | tr -d ,
}

h=$(host_insns "$VESSEL" run --sandbox off --bios build/guest/bench/crypto.elf)
g=$(awk '/^instructions/ {print $2}' "$T/out")
printf 'crypto.elf: %d host instructions for %d guest instructions: %.3f per guest instruction\n' \
    "$h" "$g" "$(echo "$h / $g" | bc -l)"

CMD=$(printf 'poweroff -f\n' | base64 -w0)
h=$(VESSEL_STATS=1 host_insns "$VESSEL" run --sandbox off --cpus 1 -m 512M --kernel "$KERNEL" \
      --initrd "$INITRD" --firmware "$FIRMWARE" --append "console=ttyS0 quiet vessel.cmd=$CMD")
g=$(sed -n 's/.*vessel: stats:.* instret=\([0-9]*\).*/\1/p' "$T/out" "$T/vg" | tail -1)
printf 'busybox boot: %d host instructions for %d guest instructions: %.3f per guest instruction\n' \
    "$h" "$g" "$(echo "$h / $g" | bc -l)"
