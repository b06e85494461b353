#!/bin/bash
# Build the VMDK descriptor parser fuzz target (fuzz_vmdkdesc.c) with
# clang + libFuzzer + ASan/UBSan and run it briefly from
# tests/fuzz/corpus/vmdkdesc/ (TAP).  FUZZ_SECONDS overrides 20 s.  The
# seeds are descriptors as qemu-img writes them (every subformat) and a
# hand-written one with FLAT offsets, ZERO and VMFS extents and ddb keys.
. "$(dirname "$0")/lib.sh"
fuzz_init
# shellcheck disable=SC2046
fuzz_build fuzz_vmdkdesc "-lz -lzstd" "$ROOT/tests/fuzz/fuzz_vmdkdesc.c" \
    $(ls "$ROOT"/src/block/*.c) "$ROOT/src/util/util.c" "$ROOT/src/util/crc32c.c"
fuzz_seeds "$ROOT/tests/fuzz/corpus/vmdkdesc"
fuzz_run fuzz_vmdkdesc 20 16384
