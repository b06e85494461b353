#!/bin/bash
# Build the vesseld request fuzz target (tests/fuzz/fuzz_daemon_api.c:
# method, path and body through rest_dispatch, every handler and the store,
# on a temporary store, never starting a process) with clang + libFuzzer +
# ASan/UBSan and run it briefly from tests/fuzz/corpus/daemon/ (TAP).
# FUZZ_SECONDS overrides 15 s.
. "$(dirname "$0")/lib.sh"
fuzz_init
fuzz_build fuzz_daemon_api "$(pkg-config --cflags --libs jansson libmicrohttpd)" \
    "$ROOT"/tests/fuzz/fuzz_daemon_api.c \
    $(ls "$ROOT"/src/daemon/*.c | grep -v /main.c) "$ROOT"/src/util/*.c
fuzz_seeds "$ROOT"/tests/fuzz/corpus/daemon
fuzz_run fuzz_daemon_api 15
