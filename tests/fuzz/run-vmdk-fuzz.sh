#!/bin/bash
# Build the VMDK parser fuzz target (fuzz_vmdk.c) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/vmdk/ (TAP).
# FUZZ_SECONDS overrides 20 s.  The seeds are monolithicSparse and
# streamOptimized images of 1 MiB made by qemu-img
# (tests/fuzz/make-vdisk-seeds.py).
. "$(dirname "$0")/lib.sh"
fuzz_init
# shellcheck disable=SC2046
fuzz_build fuzz_vmdk "-lz -lzstd" "$ROOT/tests/fuzz/fuzz_vmdk.c" $(ls "$ROOT"/src/block/*.c) \
    "$ROOT/src/util/util.c" "$ROOT/src/util/crc32c.c"
fuzz_seeds "$ROOT/tests/fuzz/corpus/vmdk"
fuzz_run fuzz_vmdk 20 393216
