#!/bin/bash
# Build the control-API request fuzz target (tests/fuzz/fuzz_api.c: method,
# path and body through api_dispatch and every handler, against a VM that
# is created and never started) with clang + libFuzzer + ASan/UBSan, and
# run it briefly from the documented requests (tests/fuzz/corpus/api)
# (TAP).  The target needs the whole VMM, so the library is compiled here,
# two files at a time.  FUZZ_SECONDS overrides 15 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/vessel-apifuzz.XXXXXX")
trap 'rm -rf "$T"' EXIT
if ! command -v clang >/dev/null; then
    echo "ok 1 - # SKIP clang not installed"; exit 0
fi
PKGS="zlib libzstd liburing slirp libmicrohttpd jansson"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -I$ROOT/src $(pkg-config --cflags $PKGS)
        -fsanitize=address,undefined -fno-sanitize-recover=all"
export CFLAGS T ROOT
# shellcheck disable=SC2016
if (cd "$ROOT" && find src -name '*.c' -not -path 'src/cli/*' | sort |
        xargs -P2 -I{} sh -c 'mkdir -p "$T/obj/$(dirname {})" &&
            clang $CFLAGS -fsanitize=fuzzer-no-link -c {} -o "$T/obj/{}.o"') \
        > "$T/build.log" 2>&1 &&
   # shellcheck disable=SC2086
   clang $CFLAGS -fsanitize=fuzzer -o "$T/fuzz_api" "$ROOT/tests/fuzz/fuzz_api.c" \
        $(find "$T/obj" -name '*.o' | sort) $(pkg-config --libs $PKGS) -lfdt -lpthread -lm \
        >> "$T/build.log" 2>&1; then
    echo "ok 1 - build fuzz_api (clang libFuzzer)"
else
    echo "not ok 1 - build fuzz_api (clang libFuzzer)"; sed 's/^/# /' "$T/build.log" | tail -20
    exit 1
fi
mkdir -p "$T/corpus"
cp "$ROOT"/tests/fuzz/corpus/api/* "$T/corpus/"
if (cd "$T" && ./fuzz_api -max_total_time="${FUZZ_SECONDS:-15}" -max_len=4096 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 corpus) > "$T/fuzz.log" 2>&1; then
    echo "ok 2 - fuzz_api ran ${FUZZ_SECONDS:-15}s without a crash"
    grep -E 'stat::number_of_executed_units' "$T/fuzz.log" | sed 's/^/# /'
else
    echo "not ok 2 - fuzz_api found a crash"
    grep -E 'ERROR|SUMMARY|#[0-9]+ |fuzz_api' "$T/fuzz.log" | head -30 | sed 's/^/# /'
    for c in "$T"/crash-* "$T"/leak-*; do
        [ -f "$c" ] && echo "# reproducer $(basename "$c"): $(od -An -c "$c" | head -4 | tr -s ' ')"
    done
    exit 1
fi
