#!/bin/bash
# Build the platform devices' restore fuzz target (hw/) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/devstate/ (TAP).
# FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_devstate "-lfdt" "$ROOT"/tests/fuzz/fuzz_devstate.c "$ROOT"/src/hw/*.c "$ROOT"/src/mem/*.c "$ROOT"/src/util/*.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/devstate
fuzz_run fuzz_devstate 15
