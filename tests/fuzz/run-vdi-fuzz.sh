#!/bin/bash
# Build the VDI parser fuzz target (fuzz_vdi.c) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/vdi/ (TAP).
# FUZZ_SECONDS overrides 20 s.  The seeds are small images with 4 KiB
# blocks made by tests/fuzz/make-vdisk-seeds.py.
. "$(dirname "$0")/lib.sh"
fuzz_init
# shellcheck disable=SC2046
fuzz_build fuzz_vdi "-lz -lzstd" "$ROOT/tests/fuzz/fuzz_vdi.c" $(ls "$ROOT"/src/block/*.c) \
    "$ROOT/src/util/util.c" "$ROOT/src/util/crc32c.c"
fuzz_seeds "$ROOT/tests/fuzz/corpus/vdi"
fuzz_run fuzz_vdi 20 65536
