#!/bin/bash
# Build the snapshot-directory fuzz target (state file, memory table) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/snapshot/ (TAP).
# FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_snapshot "" "$ROOT"/tests/fuzz/fuzz_snapshot.c "$ROOT"/src/vmm/snapshot.c "$ROOT"/src/vmm/snapwb.c "$ROOT"/src/mem/*.c "$ROOT"/src/util/*.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/snapshot
fuzz_run fuzz_snapshot 15
