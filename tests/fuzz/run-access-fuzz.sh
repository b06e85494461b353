#!/bin/bash
# Build the vesseld access file fuzz target (tests/fuzz/fuzz_access.c:
# src/daemon/access.c's parser and role decision, names resolved by a
# fixed table) with clang + libFuzzer + ASan/UBSan and run it briefly from
# tests/fuzz/corpus/access/ (TAP).  FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_access "$(pkg-config --cflags --libs jansson)" \
    "$ROOT"/tests/fuzz/fuzz_access.c "$ROOT"/src/daemon/access.c "$ROOT"/src/util/util.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/access
fuzz_run fuzz_access 15
