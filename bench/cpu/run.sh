#!/bin/bash
# CPU benchmark: the same bare-metal integer-mix program (bench/cpu/bench.c,
# long form) under Vessel and QEMU (bench/cpu/baremetal.sh): guest MIPS for
# Vessel and the time ratio.  The guest verifies its own checksum, so a
# wrong CPU fails here.
#
# usage: bench/cpu/run.sh [runs]   (best of `runs`, default 3)
exec "$(dirname "$0")/baremetal.sh" build/guest/bench/cpu-long.elf "${1:-3}"
