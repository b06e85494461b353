#!/bin/bash
# Floating-point benchmark: the same bare-metal program of F/D kernels
# (bench/cpu/fp.c: a Mandelbrot set, a matrix product with fused
# multiply-adds, a square-root and divide recurrence, a single-precision
# saxpy) under Vessel and QEMU (bench/cpu/baremetal.sh).  The guest checks
# its checksum of every result's bits, so a CPU that rounds or raises
# flags differently fails here too.
#
# usage: bench/cpu/fp.sh [runs]   (best of `runs`, default 5)
exec "$(dirname "$0")/baremetal.sh" build/guest/bench/fp.elf "${1:-5}"
