#!/bin/bash
# Build the saved-state fuzz target (sections + hart restore) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/sstate/ (TAP).
# FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_sstate "" "$ROOT"/tests/fuzz/fuzz_sstate.c "$ROOT"/src/cpu/riscv/*.c "$ROOT"/src/mem/*.c "$ROOT"/src/util/*.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/sstate
fuzz_run fuzz_sstate 15
