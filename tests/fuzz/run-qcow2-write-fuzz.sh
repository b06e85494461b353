#!/bin/bash
# Build the qcow2 write-path fuzz target (fuzz_qcow2_write.c) with clang +
# libFuzzer + ASan/UBSan and run it briefly from the seed corpus
# tests/fuzz/corpus/qcow2-write/ (TAP).  FUZZ_SECONDS overrides 20 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-fuzzw.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! command -v clang >/dev/null; then
    echo "ok 1 - # SKIP clang not installed"; exit 0
fi
SRCS="$ROOT/tests/fuzz/fuzz_qcow2_write.c $(ls "$ROOT"/src/block/*.c) $ROOT/src/util/util.c $ROOT/src/util/crc32c.c"
# shellcheck disable=SC2086
if clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT/src" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -o "$T/fuzz_qcow2_write" $SRCS -lz -lzstd -lpthread -lm > "$T/build.log" 2>&1; then
    echo "ok 1 - build fuzz_qcow2_write (clang libFuzzer)"
else
    echo "not ok 1 - build fuzz_qcow2_write (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
    exit 1
fi
mkdir -p "$T/corpus"
cp "$ROOT"/tests/fuzz/corpus/qcow2-write/* "$T/corpus/"
# Inputs stay small (images of a few KiB): a cluster of at most 32 KiB,
# so every metadata walk of one input is short.
if (cd "$T" && ./fuzz_qcow2_write -max_total_time="${FUZZ_SECONDS:-20}" -max_len=65536 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus \
        "$ROOT/tests/fuzz/corpus/qcow2-write") > "$T/fuzz.log" 2>&1; then
    echo "ok 2 - fuzz_qcow2_write ran ${FUZZ_SECONDS:-20}s without a crash, leak or timeout"
    grep -E 'stat::number_of_executed_units' "$T/fuzz.log" | sed 's/^/# /'
else
    echo "not ok 2 - fuzz_qcow2_write found a crash, leak or timeout"
    grep -E 'ERROR|SUMMARY|#[0-9]+ |runtime error|  #[0-9]+ 0x' "$T/fuzz.log" | head -40 | sed 's/^/# /'
    for c in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do
        [ -f "$c" ] || continue
        echo "# reproducer (base64): $(basename "$c")"; base64 -w 76 "$c" | head -n 40 | sed 's/^/#   /'
    done
    exit 1
fi
