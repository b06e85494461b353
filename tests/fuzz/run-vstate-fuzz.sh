#!/bin/bash
# Build the virtio saved-state fuzz target (the restore of blk, net,
# console, rng, input and balloon sections: src/virtio/device.c and the devices' own
# fields) with clang + libFuzzer + ASan/UBSan, let it write one seed per
# device (a section saved from a busy device), and run it briefly (TAP).
# FUZZ_SECONDS overrides 15 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-vsfuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! command -v clang >/dev/null; then
    echo "ok 1 - # SKIP clang not installed"; exit 0
fi
SRCS="$ROOT/tests/fuzz/fuzz_vstate.c $(ls "$ROOT"/src/virtio/*.c "$ROOT"/src/mem/*.c \
      "$ROOT"/src/util/*.c "$ROOT"/src/block/*.c "$ROOT"/src/net/*.c)"
PKGS="zlib libzstd liburing slirp"
# shellcheck disable=SC2086
if clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I"$ROOT/src" -I"$ROOT/tests/unit" \
      $(pkg-config --cflags $PKGS) \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -o "$T/fuzz_vstate" $SRCS $(pkg-config --libs $PKGS) -lfdt -lpthread -lm \
      > "$T/build.log" 2>&1; then
    echo "ok 1 - build fuzz_vstate (clang libFuzzer)"
else
    echo "not ok 1 - build fuzz_vstate (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
    exit 1
fi
mkdir -p "$T/corpus"
if (cd "$T" && VSTATE_SEED_DIR="$T/corpus" ./fuzz_vstate -runs=0 corpus) > "$T/seed.log" 2>&1 &&
   [ "$(ls "$T/corpus" | wc -l)" -eq 6 ]; then
    echo "ok 2 - seeds written and accepted ($(ls "$T/corpus" | tr '\n' ' '))"
else
    echo "not ok 2 - seeds"; tail -20 "$T/seed.log" | sed 's/^/# /'
    exit 1
fi
if (cd "$T" && ./fuzz_vstate -max_total_time="${FUZZ_SECONDS:-15}" -max_len=4096 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus) > "$T/fuzz.log" 2>&1; then
    echo "ok 3 - fuzz_vstate ran ${FUZZ_SECONDS:-15}s without a crash"
    grep -E 'stat::number_of_executed_units|cov:' "$T/fuzz.log" | tail -2 | sed 's/^/# /'
else
    echo "not ok 3 - fuzz_vstate found a crash"
    grep -E 'ERROR|SUMMARY|#[0-9]+ ' "$T/fuzz.log" | head -30 | sed 's/^/# /'
    ls "$T"/crash-* 2>/dev/null | sed 's/^/# reproducer: /'
    exit 1
fi
echo "1..3"
