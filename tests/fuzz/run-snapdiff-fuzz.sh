#!/bin/bash
# Build the diff-snapshot fuzz target (parent, memdiff, the chain walk) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/snapdiff/ (TAP).
# FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_snapdiff "" "$ROOT"/tests/fuzz/fuzz_snapdiff.c "$ROOT"/src/vmm/snapdiff.c "$ROOT"/src/vmm/snapshot.c "$ROOT"/src/vmm/snapwb.c "$ROOT"/src/mem/*.c "$ROOT"/src/util/*.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/snapdiff
fuzz_run fuzz_snapdiff 15
