#!/bin/bash
# Build the vm.json fuzz target (the daemon's VM definition) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/vmjson/ (TAP).
# FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_vmjson "$(pkg-config --cflags --libs jansson)" "$ROOT"/tests/fuzz/fuzz_vmjson.c "$ROOT"/src/daemon/*.c "$ROOT"/src/util/util.c "$ROOT"/src/util/safefile.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/vmjson
fuzz_run fuzz_vmjson 15
