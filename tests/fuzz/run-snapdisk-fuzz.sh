#!/bin/bash
# Build the "disk" section fuzz target (tests/fuzz/fuzz_snapdisk.c:
# snapdisk_scan and snapdisk_parse, which need the whole library) with
# clang + libFuzzer + ASan/UBSan and run it briefly from
# tests/fuzz/corpus/snapdisk/ (TAP).  FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build_lib
fuzz_build fuzz_snapdisk "$FUZZ_LIB" "$ROOT"/tests/fuzz/fuzz_snapdisk.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/snapdisk
fuzz_run fuzz_snapdisk 15
