#!/bin/bash
# Integer crypto benchmark: the same bare-metal program (bench/cpu/crypto.c:
# SHA-256 with unrolled rounds, 2048-bit multiprecision products, the work
# that dominates a Linux boot's instruction count) under Vessel and QEMU
# (bench/cpu/baremetal.sh).  The guest checks SHA-256("abc") and its own
# checksum.
#
# usage: bench/cpu/crypto.sh [runs]   (best of `runs`, default 5)
exec "$(dirname "$0")/baremetal.sh" build/guest/bench/crypto.elf "${1:-5}"
