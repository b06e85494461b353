#!/bin/bash
# Build the qcow2 parser fuzz target with clang + libFuzzer + ASan/UBSan and
# run it briefly from the seed corpus (TAP).  FUZZ_SECONDS overrides 25 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-fuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! command -v clang >/dev/null; then
    echo "ok 1 - # SKIP clang not installed"; exit 0
fi
SRCS="$ROOT/tests/fuzz/fuzz_qcow2.c $(ls "$ROOT"/src/block/*.c) $ROOT/src/util/util.c $ROOT/src/util/crc32c.c"
# shellcheck disable=SC2086
if clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT/src" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -o "$T/fuzz_qcow2" $SRCS -lz -lzstd -lpthread -lm > "$T/build.log" 2>&1; then
    echo "ok 1 - build fuzz_qcow2 (clang libFuzzer)"
else
    echo "not ok 1 - build fuzz_qcow2 (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
    exit 1
fi
mkdir -p "$T/corpus"
cp "$ROOT"/tests/fuzz/corpus/qcow2/* "$T/corpus/"
if (cd "$T" && ./fuzz_qcow2 -max_total_time="${FUZZ_SECONDS:-25}" -max_len=262144 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus \
        "$ROOT/tests/fuzz/corpus/qcow2") > "$T/fuzz.log" 2>&1; then
    echo "ok 2 - fuzz_qcow2 ran ${FUZZ_SECONDS:-25}s without a crash"
    grep -E 'stat::number_of_executed_units' "$T/fuzz.log" | sed 's/^/# /'
else
    echo "not ok 2 - fuzz_qcow2 found a crash"
    grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$T/fuzz.log" | head -30 | sed 's/^/# /'
    ls "$T"/crash-* 2>/dev/null | sed 's/^/# reproducer: /'
    exit 1
fi
