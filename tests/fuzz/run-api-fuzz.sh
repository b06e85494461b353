#!/bin/bash
# Build the control-API request fuzz target (tests/fuzz/fuzz_api.c: method,
# path and body through api_dispatch and every handler, against a VM that
# is created and never started) with clang + libFuzzer + ASan/UBSan, and
# run it briefly from the documented requests (tests/fuzz/corpus/api)
# (TAP).  The target needs the whole VMM (fuzz_build_lib).  FUZZ_SECONDS
# overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build_lib
fuzz_build fuzz_api "$FUZZ_LIB" "$ROOT"/tests/fuzz/fuzz_api.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/api
fuzz_run fuzz_api 15
