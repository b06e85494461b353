#!/bin/bash
# Build the diff-snapshot fuzz target (parent, memdiff, the chain walk) with clang +
# libFuzzer + ASan/UBSan and run it briefly (TAP).  FUZZ_SECONDS overrides
# 15 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-fuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! command -v clang >/dev/null; then
    echo "ok 1 - # SKIP clang not installed"; exit 0
fi
SRCS="$ROOT/tests/fuzz/fuzz_snapdiff.c $ROOT/src/vmm/snapdiff.c $ROOT/src/vmm/snapshot.c $(ls "$ROOT"/src/mem/*.c "$ROOT"/src/util/*.c)"
# shellcheck disable=SC2086
if clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT/src" \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -o "$T/fuzz_snapdiff" $SRCS -lpthread -lm > "$T/build.log" 2>&1; then
    echo "ok 1 - build fuzz_snapdiff (clang libFuzzer)"
else
    echo "not ok 1 - build fuzz_snapdiff (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
    exit 1
fi
mkdir -p "$T/corpus"
cp "$ROOT"/tests/fuzz/corpus/snapdiff/* "$T/corpus/"
if (cd "$T" && ./fuzz_snapdiff -max_total_time="${FUZZ_SECONDS:-15}" -max_len=4096 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus) > "$T/fuzz.log" 2>&1; then
    echo "ok 2 - fuzz_snapdiff ran ${FUZZ_SECONDS:-15}s without a crash"
    grep -E 'stat::number_of_executed_units' "$T/fuzz.log" | sed 's/^/# /'
else
    echo "not ok 2 - fuzz_snapdiff found a crash"
    grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$T/fuzz.log" | head -30 | sed 's/^/# /'
    ls "$T"/crash-* 2>/dev/null | sed 's/^/# reproducer: /'
    exit 1
fi
