#!/bin/bash
# Build the VHDX parser fuzz target (fuzz_vhdx.c) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/vhdx/ (TAP).
# FUZZ_SECONDS overrides 20 s.  The seeds are pieces of real images cut
# by tests/fuzz/make-vhdx-seeds.py (the input format is in fuzz_vhdx.c).
. "$(dirname "$0")/lib.sh"
fuzz_init
# shellcheck disable=SC2046
fuzz_build fuzz_vhdx "-lz -lzstd" "$ROOT/tests/fuzz/fuzz_vhdx.c" $(ls "$ROOT"/src/block/*.c) \
    "$ROOT/src/util/util.c" "$ROOT/src/util/crc32c.c"
fuzz_seeds "$ROOT/tests/fuzz/corpus/vhdx"
fuzz_run fuzz_vhdx 20 65536
